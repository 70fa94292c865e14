/**
 * The GraphQL engine of the Speckle face: SDL modules + resolver maps → one executable schema,
 * and the request handling Apollo Server gives the real server (400 for syntax/validation/variable
 * errors, 200 with `errors[]` otherwise, batched arrays, `extensions.code` on every error).
 */
import {
  GraphQLError,
  GraphQLObjectType,
  GraphQLScalarType,
  GraphQLSchema,
  buildSchema,
  execute,
  getOperationAST,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLFieldResolver,
  type GraphQLFormattedError,
} from 'graphql';
import { isAppError } from '../../../domain/errors.js';
import type { SpeckleContext } from './context.js';

export type ResolverMap = Record<
  string,
  | Record<string, GraphQLFieldResolver<any, SpeckleContext, any> | { subscribe: Function; resolve?: Function }>
  | GraphQLScalarType
>;

export interface SchemaModule {
  typeDefs: string;
  resolvers: ResolverMap;
}

/** Builds one schema from modules (each may `extend type Query/Mutation/…`) and attaches resolvers. */
export function buildExecutableSchema(modules: SchemaModule[]): GraphQLSchema {
  const sdl = modules.map((m) => m.typeDefs).join('\n');
  const schema = buildSchema(sdl);
  for (const mod of modules) {
    for (const [typeName, value] of Object.entries(mod.resolvers)) {
      const type = schema.getType(typeName);
      if (!type) throw new Error(`resolvers given for unknown type ${typeName}`);
      if (value instanceof GraphQLScalarType) {
        if (!(type instanceof GraphQLScalarType)) throw new Error(`${typeName} is not a scalar`);
        type.serialize = value.serialize;
        type.parseValue = value.parseValue;
        type.parseLiteral = value.parseLiteral;
        continue;
      }
      if (!(type instanceof GraphQLObjectType)) throw new Error(`${typeName} is not an object type`);
      const fields = type.getFields();
      for (const [fieldName, r] of Object.entries(value)) {
        const field = fields[fieldName];
        if (!field) throw new Error(`resolver for unknown field ${typeName}.${fieldName}`);
        if (typeof r === 'function') field.resolve = r as GraphQLFieldResolver<any, any>;
        else {
          field.subscribe = r.subscribe as never;
          if (r.resolve) field.resolve = r.resolve as never;
        }
      }
    }
  }
  return schema;
}

export interface GraphQLRequestBody {
  query?: unknown;
  variables?: unknown;
  operationName?: unknown;
}

export interface GraphQLHttpResult {
  status: number;
  body: unknown;
}

/** Shapes an error as Speckle's formatError does; never leaks internals of unexpected errors. */
export function formatError(err: GraphQLError, log?: (e: unknown) => void): GraphQLFormattedError {
  const orig = err.originalError;
  const base: GraphQLFormattedError = {
    message: err.message,
    ...(err.locations ? { locations: err.locations } : {}),
    ...(err.path ? { path: err.path } : {}),
  };
  if (orig && isAppError(orig)) {
    return { ...base, extensions: { code: orig.code, statusCode: orig.status, ...(orig.info ?? {}) } };
  }
  if (orig && !(orig instanceof GraphQLError)) {
    log?.(orig);
    return { ...base, message: 'Internal Server Error', extensions: { code: 'INTERNAL_SERVER_ERROR', statusCode: 500 } };
  }
  return { ...base, extensions: { code: (err.extensions?.code as string) ?? 'INTERNAL_SERVER_ERROR', ...(err.extensions ?? {}) } };
}

const badRequest = (message: string, code: string): GraphQLHttpResult => ({
  status: 400,
  body: { errors: [{ message, extensions: { code } }] },
});

/** Caches parsed + validated documents by query text (clients send the same few documents). */
class DocumentCache {
  private map = new Map<string, { doc: DocumentNode; errors: readonly GraphQLError[] }>();
  constructor(private max = 500) {}
  get(q: string) {
    const hit = this.map.get(q);
    if (hit) {
      this.map.delete(q);
      this.map.set(q, hit);
    }
    return hit;
  }
  set(q: string, v: { doc: DocumentNode; errors: readonly GraphQLError[] }) {
    this.map.set(q, v);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
  }
}

export function createGraphQLExecutor(schema: GraphQLSchema, opts: { logError?: (e: unknown) => void } = {}) {
  const cache = new DocumentCache();

  function prepare(query: string): { doc: DocumentNode; errors: readonly GraphQLError[] } | GraphQLError {
    const hit = cache.get(query);
    if (hit) return hit;
    let doc: DocumentNode;
    try {
      doc = parse(query, { maxTokens: 50_000 });
    } catch (e) {
      return e as GraphQLError;
    }
    const errors = validate(schema, doc, specifiedRules);
    const entry = { doc, errors };
    cache.set(query, entry);
    return entry;
  }

  async function runOne(body: GraphQLRequestBody, ctx: SpeckleContext, allowMutations: boolean): Promise<GraphQLHttpResult> {
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      return badRequest('POST body must be a JSON object.', 'BAD_REQUEST');
    if (typeof body.query !== 'string' || !body.query.trim())
      return badRequest('GraphQL operations must contain a non-empty `query` or a `persistedQuery` extension.', 'BAD_REQUEST');
    if (body.variables !== undefined && body.variables !== null && (typeof body.variables !== 'object' || Array.isArray(body.variables)))
      return badRequest('`variables` in a POST body should be an object, not an array or a scalar.', 'BAD_REQUEST');
    if (body.operationName !== undefined && body.operationName !== null && typeof body.operationName !== 'string')
      return badRequest('`operationName` in a POST body must be a string if provided.', 'BAD_REQUEST');
    const prepared = prepare(body.query);
    if (prepared instanceof GraphQLError) {
      return { status: 400, body: { errors: [{ ...formatError(prepared), extensions: { code: 'GRAPHQL_PARSE_FAILED' } }] } };
    }
    if (prepared.errors.length) {
      return {
        status: 400,
        body: { errors: prepared.errors.map((e) => ({ ...formatError(e), extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })) },
      };
    }
    const operationName = (body.operationName as string | undefined) ?? undefined;
    const op = getOperationAST(prepared.doc, operationName);
    if (!op) return badRequest('Could not determine which operation to run: name it with `operationName`.', 'BAD_REQUEST');
    if (!allowMutations && op.operation !== 'query')
      return { status: 405, body: { errors: [{ message: 'Only queries can be sent with GET.', extensions: { code: 'BAD_REQUEST' } }] } };
    if (op.operation === 'subscription')
      return badRequest('Subscriptions are served over the websocket at /graphql.', 'BAD_REQUEST');
    const result = (await execute({
      schema,
      document: prepared.doc,
      contextValue: ctx,
      variableValues: (body.variables as Record<string, unknown> | null | undefined) ?? undefined,
      operationName,
    })) as ExecutionResult;
    // Variable coercion failures come back without `data`: Apollo answers those with 400.
    if (!('data' in result) || result.data === undefined) {
      return {
        status: 400,
        body: { errors: (result.errors ?? []).map((e) => ({ ...formatError(e), extensions: { code: 'BAD_USER_INPUT' } })) },
      };
    }
    const out: Record<string, unknown> = {};
    if (result.errors?.length) out.errors = result.errors.map((e) => formatError(e, opts.logError));
    out.data = result.data;
    return { status: 200, body: out };
  }

  /** Handles a POST body: one operation or a batch (array). */
  async function handle(body: unknown, ctx: SpeckleContext, allowMutations = true): Promise<GraphQLHttpResult> {
    if (Array.isArray(body)) {
      if (body.length === 0) return badRequest('No operations found in request.', 'BAD_REQUEST');
      if (body.length > 100) return badRequest('Too many operations in one batch (max 100).', 'BAD_REQUEST');
      const results = [];
      for (const b of body) results.push(await runOne(b as GraphQLRequestBody, ctx, allowMutations));
      return { status: 200, body: results.map((r) => r.body) };
    }
    return runOne(body as GraphQLRequestBody, ctx, allowMutations);
  }

  return { handle, schema };
}

export type GraphQLExecutor = ReturnType<typeof createGraphQLExecutor>;
