/**
 * Links and link types (ayon.md §10). A link type is "name|inputType|outputType"; a link joins an
 * input entity to an output entity of those types in one project.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Store } from '../../store/db.js';
import type { Database } from '../../store/schema.js';
import { isUniqueViolation } from '../../store/db.js';
import { badRequest, conflict, notFound } from './errors.js';
import { camelizeKeys, isEntityType, isPlainObject, newAyonId, normalizeId, parseJson } from './rules.js';
import { TABLES } from './entity-models.js';
import type { AyonProjectsService } from './projects.js';
import type { AyonEventInput, AyonEvents } from './events.js';
import type { AyonActor } from './users.js';
import type { AccessPolicy } from './access.js';

type Db = Kysely<Database> | Transaction<Database>;

export function createLinksService(deps: { store: Store; projects: AyonProjectsService; events: AyonEvents; access: AccessPolicy }) {
  const { store, projects, events, access } = deps;
  const { db } = store;

  function splitType(name: unknown): [string, string, string] {
    if (typeof name !== 'string' || !name) throw badRequest('Link type is not specified');
    const parts = name.split('|');
    if (parts.length !== 3 || !parts[0] || !isEntityType(parts[1]) || !isEntityType(parts[2]))
      throw badRequest("Link type must be in the format 'name|inputType|outputType'");
    if (!/^[a-zA-Z0-9_][a-zA-Z0-9_ .\-]{0,99}$/.test(parts[0])) throw badRequest(`Invalid link type name "${parts[0]}"`);
    return parts as [string, string, string];
  }

  async function listTypes(actor: AyonActor, projectName: string) {
    const p = await projects.resolve(actor, projectName);
    return { types: p.linkTypes.map((l) => ({ name: l.name, linkType: l.linkType, inputType: l.inputType, outputType: l.outputType, data: l.data })) };
  }

  /** PUT …/links/types/{name}: upsert. A body without `data` is taken as the data itself (the client sends it un-nested). */
  async function putType(actor: AyonActor, projectName: string, name: string, body: Record<string, unknown>) {
    const p = await projects.resolve(actor, projectName);
    access.ensureManager(actor, 'You are not allowed to modify link types');
    const [linkType, inputType, outputType] = splitType(name);
    const data = 'data' in body && isPlainObject(body.data) ? body.data : body;
    if (!isPlainObject(data)) throw badRequest('Link type data must be an object');
    const existing = await db.selectFrom('ayon_link_types').select('name').where('project_name', '=', p.name).where('name', '=', name).executeTakeFirst();
    if (existing) await db.updateTable('ayon_link_types').set({ data: JSON.stringify(data) }).where('project_name', '=', p.name).where('name', '=', name).execute();
    else {
      const pos = p.linkTypes.length;
      await db
        .insertInto('ayon_link_types')
        .values({ project_name: p.name, name, link_type: linkType, input_type: inputType, output_type: outputType, data: JSON.stringify(data), position: pos })
        .execute();
    }
  }

  async function deleteType(actor: AyonActor, projectName: string, name: string) {
    const p = await projects.resolve(actor, projectName);
    access.ensureManager(actor, 'You are not allowed to modify link types');
    await db.transaction().execute(async (trx) => {
      const res = await trx.deleteFrom('ayon_link_types').where('project_name', '=', p.name).where('name', '=', name).executeTakeFirst();
      if (Number(res.numDeletedRows) === 0) throw notFound(`Link type ${name} not found`);
      await trx.deleteFrom('ayon_links').where('project_name', '=', p.name).where('link_type', '=', name).execute();
    });
  }

  async function insertLink(q: Db, project: string, linkTypes: Set<string>, actor: AyonActor, raw: Record<string, unknown>) {
    const body = camelizeKeys(raw);
    const typeName = body.linkType ?? body.link;
    if (typeName === undefined || typeName === null || typeName === '') throw badRequest('Link type is not specified');
    const [, inputType, outputType] = splitType(typeName);
    if (!linkTypes.has(typeName as string)) throw badRequest('Unsupported link type.');
    const input = normalizeId(body.input);
    const output = normalizeId(body.output);
    if (!input) throw badRequest('Invalid input id');
    if (!output) throw badRequest('Invalid output id');
    if (input === output) throw badRequest('Cannot link an entity to itself.');
    const inRow = await q.selectFrom(TABLES[inputType as keyof typeof TABLES]).select('id').where('project_name', '=', project).where('id', '=', input).executeTakeFirst();
    if (!inRow) throw notFound(`Input entity ${input} not found.`);
    const outRow = await q.selectFrom(TABLES[outputType as keyof typeof TABLES]).select('id').where('project_name', '=', project).where('id', '=', output).executeTakeFirst();
    if (!outRow) throw notFound(`Output entity ${output} not found.`);
    const id = body.id !== undefined && body.id !== null ? normalizeId(body.id) : newAyonId();
    if (!id) throw badRequest('Invalid link id');
    if (body.name !== undefined && body.name !== null && typeof body.name !== 'string') throw badRequest('Link name must be a string');
    if (body.data !== undefined && body.data !== null && !isPlainObject(body.data)) throw badRequest('Link data must be an object');
    const dup = await q
      .selectFrom('ayon_links')
      .select('id')
      .where('project_name', '=', project)
      .where('input_id', '=', input)
      .where('output_id', '=', output)
      .where('link_type', '=', typeName as string)
      .executeTakeFirst();
    if (dup) throw conflict('Link already exists.');
    try {
      await q
        .insertInto('ayon_links')
        .values({
          project_name: project,
          id,
          name: (body.name as string | undefined) ?? null,
          link_type: typeName as string,
          input_id: input,
          input_type: inputType,
          output_id: output,
          output_type: outputType,
          author: actor.name,
          data: JSON.stringify(body.data ?? {}),
          created_at: Date.now(),
        })
        .execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict('Link already exists.');
      throw err;
    }
    const event: AyonEventInput = {
      topic: 'link.created',
      project,
      user: actor.name,
      summary: { id, linkType: typeName, inputType, outputType, inputId: input, outputId: output },
      description: `Link ${typeName} created`,
    };
    return { id, input, output, linkType: typeName as string, event };
  }

  /** POST …/links → {id} (200). */
  async function create(actor: AyonActor, projectName: string, body: Record<string, unknown>, sender?: { sender?: string | null; senderType?: string | null }) {
    const p = await projects.resolve(actor, projectName);
    await access.ensureWrite(actor, p.name);
    const types = new Set(p.linkTypes.map((l) => l.name));
    const { id, records } = await db.transaction().execute(async (trx) => {
      const r = await insertLink(trx, p.name, types, actor, body);
      return { id: r.id, records: await events.dispatch(trx, [r.event], sender) };
    });
    events.publish(records);
    return { id };
  }

  /** POST …/links/bulk {links:[…]} → {created:[…]}, all or nothing. */
  async function createMany(actor: AyonActor, projectName: string, links: unknown, sender?: { sender?: string | null; senderType?: string | null }) {
    const p = await projects.resolve(actor, projectName);
    await access.ensureWrite(actor, p.name);
    if (!Array.isArray(links)) throw badRequest('links must be a list');
    const types = new Set(p.linkTypes.map((l) => l.name));
    const { created, records } = await db.transaction().execute(async (trx) => {
      const out = [];
      const evs: AyonEventInput[] = [];
      for (const l of links) {
        if (!isPlainObject(l)) throw badRequest('Every link must be an object');
        const r = await insertLink(trx, p.name, types, actor, l);
        out.push({ id: r.id, input: r.input, output: r.output, linkType: r.linkType });
        evs.push(r.event);
      }
      return { created: out, records: await events.dispatch(trx, evs, sender) };
    });
    events.publish(records);
    return { created };
  }

  async function remove(actor: AyonActor, projectName: string, idRaw: string, sender?: { sender?: string | null; senderType?: string | null }) {
    const p = await projects.resolve(actor, projectName);
    await access.ensureWrite(actor, p.name);
    const id = normalizeId(idRaw);
    const records = await db.transaction().execute(async (trx) => {
      const row = id ? await trx.selectFrom('ayon_links').selectAll().where('project_name', '=', p.name).where('id', '=', id).executeTakeFirst() : undefined;
      if (!row) throw notFound(`Link ${idRaw} not found.`);
      await trx.deleteFrom('ayon_links').where('project_name', '=', p.name).where('id', '=', row.id).execute();
      return events.dispatch(
        trx,
        [
          {
            topic: 'link.deleted',
            project: p.name,
            user: actor.name,
            summary: { id: row.id, linkType: row.link_type, inputType: row.input_type, outputType: row.output_type, inputId: row.input_id, outputId: row.output_id },
            description: `Link ${row.link_type} deleted`,
          },
        ],
        sender,
      );
    });
    events.publish(records);
  }

  return { listTypes, putType, deleteType, create, createMany, remove, parseJson };
}

export type LinksService = ReturnType<typeof createLinksService>;
