/**
 * Runs AYON GraphQL requests: parse and validate (cached per query text and schema), execute, and
 * shape errors as AYON does (`extensions.status` carries the HTTP status of handled errors). The
 * schema is rebuilt when the attribute schema changes.
 */
import { GraphQLError, execute, getOperationAST, parse, specifiedRules, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import { AyonError } from '../../../services/ayon/errors.js';
import type { AyonServices } from '../../../services/ayon/index.js';
import { buildAyonSchema, type AyonGqlContext } from './schema.js';

export function createAyonGraphQL(ayon: AyonServices, log: (e: unknown) => void) {
  let schema: GraphQLSchema | null = null;
  let schemaKey = '';
  const docs = new Map<string, { doc: DocumentNode; errors: readonly GraphQLError[] }>();

  async function currentSchema(): Promise<GraphQLSchema> {
    const attrs = await ayon.attributes.list();
    const key = JSON.stringify(attrs.map((a) => [a.name, a.scope, a.data.type]));
    if (!schema || key !== schemaKey) {
      schema = buildAyonSchema(attrs);
      schemaKey = key;
      docs.clear();
    }
    return schema;
  }

  function formatError(e: GraphQLError) {
    const orig = e.originalError;
    const base: Record<string, unknown> = { message: e.message };
    if (e.locations) base.locations = e.locations;
    if (e.path) base.path = e.path;
    if (orig instanceof AyonError) return { ...base, message: orig.message, extensions: { status: orig.status } };
    if (orig && !(orig instanceof GraphQLError)) {
      log(orig);
      return { ...base, message: 'Internal server error', extensions: { status: 500 } };
    }
    return { ...base, extensions: { status: 400, ...(e.extensions ?? {}) } };
  }

  async function handle(body: unknown, ctx: Omit<AyonGqlContext, 'cache'>): Promise<{ status: number; body: unknown }> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return { status: 400, body: { code: 400, detail: 'GraphQL request must be a JSON object' } };
    const b = body as { query?: unknown; variables?: unknown; operationName?: unknown };
    if (typeof b.query !== 'string' || !b.query.trim()) return { status: 400, body: { code: 400, detail: 'Missing GraphQL query' } };
    if (b.variables !== undefined && b.variables !== null && (typeof b.variables !== 'object' || Array.isArray(b.variables)))
      return { status: 400, body: { code: 400, detail: 'variables must be an object' } };
    const s = await currentSchema();
    let prepared = docs.get(b.query);
    if (!prepared) {
      let doc: DocumentNode;
      try {
        doc = parse(b.query, { maxTokens: 100_000 });
      } catch (e) {
        return { status: 200, body: { data: null, errors: [formatError(e as GraphQLError)] } };
      }
      prepared = { doc, errors: validate(s, doc, specifiedRules) };
      if (docs.size > 500) docs.delete(docs.keys().next().value as string);
      docs.set(b.query, prepared);
    }
    if (prepared.errors.length) return { status: 200, body: { data: null, errors: prepared.errors.map(formatError) } };
    const operationName = typeof b.operationName === 'string' ? b.operationName : undefined;
    const op = getOperationAST(prepared.doc, operationName);
    if (!op) return { status: 200, body: { data: null, errors: [{ message: 'Could not determine the operation to run', extensions: { status: 400 } }] } };
    if (op.operation !== 'query') return { status: 200, body: { data: null, errors: [{ message: 'Only queries are supported', extensions: { status: 400 } }] } };
    const result = await execute({
      schema: s,
      document: prepared.doc,
      contextValue: { ...ctx, cache: new Map() },
      variableValues: (b.variables as Record<string, unknown> | null | undefined) ?? undefined,
      operationName,
    });
    const out: Record<string, unknown> = { data: result.data ?? null };
    if (result.errors?.length) out.errors = result.errors.map(formatError);
    return { status: 200, body: out };
  }

  return { handle, currentSchema };
}

export type AyonGraphQL = ReturnType<typeof createAyonGraphQL>;
