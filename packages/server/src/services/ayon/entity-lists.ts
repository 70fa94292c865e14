/**
 * AYON entity lists, their items and list folders (ayon.md §12 "Entity lists", §8.5).
 *
 * A list holds entities of one type (folder, task, product, version, representation, workfile) in an
 * order; items carry their own label, attributes (overrides of the entity's attributes and values of
 * the list's own attribute definitions), data and tags. As in AYON every write loads the list and its
 * items, changes them in memory (positions are renumbered 0…n-1 afterwards) and saves the result in
 * one transaction together with an `entity_list.created|changed|deleted` event; only rows that really
 * changed are written. On PostgreSQL the list row is locked first, so concurrent writes to one list
 * queue up instead of losing each other's positions.
 *
 * Access: the project (read to read, write to change, core.access) and then the list's own levels,
 * as AYON computes them: 0 none, 10 read, 20 update items, 30 manage (rename, access, delete,
 * attribute definitions). Managers and the owner manage; a user named in `access` gets that level;
 * everyone else with project access gets full access (AYON's lists are "default open"). Guests see
 * only lists that name them (`guest:<email>`) or all guests (`__guests__`), and never write.
 *
 * Deliberate differences from AYON (see the report of this area): a single-item PATCH with `position`
 * moves the item there (AYON renumbers right after setting it, so the move is lost); creating a list
 * or item with an id that exists is 409 (AYON overwrites); `GET …/entities` of an empty list is an
 * empty answer (AYON 404s); known attribute values are type-checked (400).
 */
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../store/schema.js';
import type { AyonEntityListItemsTable, AyonEntityListsTable, AyonEntityListFoldersTable } from '../../store/schema-ayon-lists.js';
import { isUniqueViolation } from '../../store/db.js';
import type { AyonCoreDeps } from './index.js';
import { AyonError, badRequest, conflict, forbidden, notFound } from './errors.js';
import { ATTRIBUTE_NAME_RE, ENTITY_TYPES, isEntityType, isPlainObject, isoTime, newAyonId, normalizeId, parseJson, type EntityType } from './rules.js';
import { coerceValue, parseAttributeData, type AttributeData } from './attributes.js';
import { bulkInsert } from './bulk.js';
import { decodeCursor, encodeCursor, DEFAULT_PAGE, MAX_PAGE, type PageArgs } from './queries.js';
import { TABLES, type Row } from './entity-models.js';
import type { AyonEventInput } from './events.js';
import type { AyonActor } from './users.js';

type Db = Kysely<Database> | Transaction<Database>;
type Sender = { sender?: string | null; senderType?: string | null };
type Dict = Record<string, unknown>;

type ListCols = Omit<AyonEntityListsTable, 'seq'>;
type ItemCols = Omit<AyonEntityListItemsTable, 'seq'>;
type FolderCols = Omit<AyonEntityListFoldersTable, 'seq'>;
export type ListRow = ListCols & { seq: number };
export type ItemRow = ItemCols & { seq: number };
export type FolderRow = FolderCols & { seq: number };

export const LIST_NONE = 0;
export const LIST_READ = 10;
export const LIST_UPDATE = 20;
export const LIST_MANAGE = 30;
const LEVELS = [LIST_NONE, LIST_READ, LIST_UPDATE, LIST_MANAGE];

/** An item while a write works on it (camelCase, parsed JSON). */
export interface Item {
  id: string;
  entityId: string;
  position: number;
  label: string | null;
  attrib: Dict;
  data: Dict;
  tags: string[];
  folderPath: string;
  createdBy: string | null;
  updatedBy: string | null;
  createdAt: number;
  updatedAt: number;
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** AYON's dict_patch: one level, null removes the key. */
function dictPatch(old: Dict, patch: Dict): Dict {
  const out = { ...old };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

function optDict(v: unknown, what: string): Dict | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isPlainObject(v)) throw badRequest(`${what} must be an object`);
  return v;
}

function optTags(v: unknown, what = 'tags'): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((t) => typeof t !== 'string')) throw badRequest(`${what} must be a list of strings`);
  return v as string[];
}

function optString(v: unknown, what: string, max = 255): string | null | undefined {
  if (v === undefined) return undefined;
  if (v === null) return null;
  if (typeof v !== 'string') throw badRequest(`${what} must be a string`);
  if (v.length > max) throw badRequest(`${what} is too long (${max} characters at most)`);
  return v;
}

function optInt(v: unknown, what: string): number | null | undefined {
  if (v === undefined) return undefined;
  if (v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw badRequest(`${what} must be an integer`);
  return v;
}

function optBool(v: unknown, what: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw badRequest(`${what} must be a boolean`);
  return v;
}

function optId(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  const id = normalizeId(v);
  if (!id) throw badRequest(`Invalid ${what}: expected 32 hexadecimal characters`);
  return id;
}

/** `access` of a list or list folder: {user|"guest:<email>"|"__guests__"|"!team": level}. */
function parseAccess(v: unknown): Dict | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isPlainObject(v)) throw badRequest('access must be an object');
  for (const [k, level] of Object.entries(v)) {
    if (typeof level !== 'number' || !LEVELS.includes(level)) throw badRequest(`access -> ${k}: value is not a valid access level (0, 10, 20 or 30)`);
  }
  return v;
}

/** Attribute definitions of a list: [{name, data}]. */
export interface ListAttributeDef {
  name: string;
  data: AttributeData;
}

function listDefs(row: Pick<ListRow, 'attributes'>): Map<string, AttributeData> {
  const out = new Map<string, AttributeData>();
  for (const d of parseJson<ListAttributeDef[]>(row.attributes, [])) if (d && typeof d.name === 'string' && isPlainObject(d.data)) out.set(d.name, d.data);
  return out;
}

function itemFromRow(r: ItemRow): Item {
  return {
    id: r.id,
    entityId: r.entity_id,
    position: r.position,
    label: r.label,
    attrib: parseJson(r.attrib, {}),
    data: parseJson(r.data, {}),
    tags: parseJson(r.tags, []),
    folderPath: r.folder_path,
    createdBy: r.created_by,
    updatedBy: r.updated_by,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

/** The list's `data` as AYON sends it: stored data plus `count` (and `attributes` once defined). */
export function listData(row: Pick<ListRow, 'data' | 'item_count' | 'attributes'>): Dict {
  const data: Dict = { ...parseJson<Dict>(row.data, {}) };
  delete data.publicLinks;
  data.count = Number(row.item_count);
  const defs = parseJson<unknown[]>(row.attributes, []);
  if (defs.length) data.attributes = defs;
  return data;
}

/** REST model of an item (EntityListItemModel). */
function itemModel(i: Item) {
  return {
    id: i.id,
    entityId: i.entityId,
    position: i.position,
    label: i.label,
    attrib: i.attrib,
    data: i.data,
    tags: i.tags,
    folderPath: i.folderPath,
    createdBy: i.createdBy,
    updatedBy: i.updatedBy,
    createdAt: isoTime(i.createdAt),
    updatedAt: isoTime(i.updatedAt),
  };
}

/** One page of keyset-paged rows (ascending `first/after` or newest-first `last/before`). */
function pageSize(page: PageArgs): { desc: boolean; size: number; cursor: number | null } {
  const desc = page.last !== undefined && page.last !== null && (page.first === undefined || page.first === null);
  let size = desc ? page.last! : page.first ?? DEFAULT_PAGE;
  if (!Number.isInteger(size) || size < 0) throw badRequest('first/last must be a non-negative integer');
  size = Math.min(size, MAX_PAGE);
  return { desc, size, cursor: decodeCursor(desc ? page.before : page.after) };
}

/** From an entity up to its folder: each step's parent type and the column naming it. */
const PARENT_CHAIN: Record<EntityType, Array<[EntityType, string]>> = {
  folder: [],
  task: [['folder', 'folder_id']],
  product: [['folder', 'folder_id']],
  version: [['product', 'product_id'], ['folder', 'folder_id']],
  representation: [['version', 'version_id'], ['product', 'product_id'], ['folder', 'folder_id']],
  workfile: [['task', 'task_id'], ['folder', 'folder_id']],
};

export function createEntityListsService(core: AyonCoreDeps) {
  const { store, projects, access, events, attributes } = core;
  const { db } = store;

  // ------------------------------------------------------------------ access

  /** The actor's level on a list (AYON's EntityAccessHelper with default_open). */
  function levelOf(actor: AyonActor, row: Pick<ListRow, 'owner' | 'access'>): number {
    const acc = parseJson<Dict>(row.access, {});
    if (actor.isGuest) {
      const v = acc[`guest:${actor.email}`] ?? acc.__guests__;
      return typeof v === 'number' ? v : LIST_NONE;
    }
    if (actor.isManager) return LIST_MANAGE;
    if (row.owner && row.owner === actor.name) return LIST_MANAGE;
    const v = acc[actor.name];
    if (typeof v === 'number') return v;
    return LIST_MANAGE;
  }

  function ensureLevel(actor: AyonActor, row: ListRow, level: number) {
    const have = levelOf(actor, row);
    if (have >= level) return;
    if (have < LIST_READ) throw forbidden(`Access denied to entity list ${row.label}`);
    throw forbidden(level >= LIST_MANAGE ? `Cannot admin entity list ${row.label}` : `Cannot update entity list ${row.label}`);
  }

  async function projectFor(actor: AyonActor, projectName: string, write: boolean) {
    const p = await projects.resolve(actor, projectName);
    if (write) await access.ensureWrite(actor, p.name);
    return p;
  }

  // ------------------------------------------------------------------ entities behind items

  /**
   * Folder path ("a/b") of each entity of `type`: proves the entities exist in the project and
   * gives the path AYON stores with an item. A missing one is 404 "<Type> <id> not found".
   */
  async function folderPaths(q: Db, project: string, type: EntityType, ids: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const want = [...new Set(ids)];
    for (let i = 0; i < want.length; i += 500) {
      const part = want.slice(i, i + 500);
      // join up the parent chain to the folder; the entity itself is `e`
      let query = q.selectFrom(`${TABLES[type]} as e`) as any;
      let prev = 'e';
      PARENT_CHAIN[type].forEach(([parent, column], k) => {
        const alias = `p${k}`;
        const from = prev;
        query = query.innerJoin(`${TABLES[parent]} as ${alias}`, (jn: any) => jn.onRef(`${alias}.project_name`, '=', `${from}.project_name`).onRef(`${alias}.id`, '=', `${from}.${column}`));
        prev = alias;
      });
      const rows: Array<{ id: string; path: string }> = await query
        .select(['e.id as id', `${prev}.path as path`])
        .where('e.project_name', '=', project)
        .where('e.id', 'in', part)
        .execute();
      for (const r of rows) out.set(r.id, r.path);
    }
    for (const id of want) if (!out.has(id)) throw notFound(`${cap(type)} ${id} not found`);
    return out;
  }

  // ------------------------------------------------------------------ the in-memory list a write works on

  interface Working {
    project: string;
    row: ListRow;
    items: Item[];
    /** item rows as loaded (id → serialised state), to write only what changed */
    before: Map<string, string>;
    actor: AyonActor;
    now: number;
    /** attribute definitions for item attrib: the list's own and the entity type's */
    listDefs: Map<string, AttributeData>;
    entityDefs: Map<string, { data: AttributeData }>;
  }

  /** what an item holds besides its position (a change here updates updatedAt/By) */
  const itemContent = (i: Item) => JSON.stringify([i.entityId, i.label, i.attrib, i.data, i.tags, i.folderPath]);
  const itemState = (i: Item) => `${i.position}:${itemContent(i)}`;

  /** Checks the known attribute values of an item (list-defined first, then the entity type's); unknown names are kept as sent. */
  function cleanItemAttrib(w: Working, attrib: unknown, what = 'attrib'): Dict | undefined {
    const a = optDict(attrib, what);
    if (!a) return a;
    const out: Dict = {};
    for (const [k, v] of Object.entries(a)) {
      if (v === null) {
        out[k] = null;
        continue;
      }
      const def = w.listDefs.get(k) ?? w.entityDefs.get(k)?.data;
      out[k] = def ? coerceValue(k, def, v) : v;
    }
    return out;
  }

  function normalizePositions(w: Working) {
    w.items.forEach((it, i) => (it.position = i));
  }

  function findItem(w: Working, id: string): Item {
    const it = w.items.find((x) => x.id === id);
    if (!it) throw notFound(`Item ID ${id} not found in ${w.row.label}`);
    return it;
  }

  interface ItemInput {
    id?: string;
    entityId?: string;
    position?: number | null;
    label?: string | null;
    attrib?: Dict;
    data?: Dict;
    tags?: string[];
    /** keys present in the body (merge mode patches only what was sent) */
    sent: Set<string>;
    /** the body said `"id": null` */
    nullId: boolean;
  }

  function parseItemInput(w: Working, raw: unknown, idx?: number): ItemInput {
    const where = idx === undefined ? '' : `items -> ${idx} -> `;
    if (!isPlainObject(raw)) throw badRequest(`${where}item must be an object`);
    const b: Dict = {};
    for (const [k, v] of Object.entries(raw)) b[k.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())] = v;
    const label = optString(b.label, `${where}label`, 1024);
    return {
      id: optId(b.id, `${where}item id`),
      entityId: optId(b.entityId, `${where}entity id`),
      position: optInt(b.position, `${where}position`),
      label,
      attrib: cleanItemAttrib(w, b.attrib, `${where}attrib`),
      data: optDict(b.data, `${where}data`),
      tags: optTags(b.tags, `${where}tags`),
      sent: new Set(Object.keys(b)),
      nullId: 'id' in b && b.id === null,
    };
  }

  /** AYON's EntityList.add: insert at `position` (Python list.insert semantics) or append. */
  function addItem(w: Working, entityId: string, inp: Omit<ItemInput, 'entityId' | 'sent' | 'nullId'>, normalize = true, paths?: Map<string, string>) {
    const id = inp.id ?? newAyonId();
    if (w.items.some((x) => x.id === id)) throw conflict(`Entity list item ${id} already exists`);
    const item: Item = {
      id,
      entityId,
      position: inp.position ?? 99999999,
      label: inp.label ?? null,
      attrib: stripNulls(inp.attrib ?? {}),
      data: stripNulls(inp.data ?? {}),
      tags: inp.tags ?? [],
      folderPath: paths?.get(entityId) ?? '',
      createdBy: w.actor.name,
      updatedBy: w.actor.name,
      createdAt: w.now,
      updatedAt: w.now,
    };
    if (inp.position !== undefined && inp.position !== null) {
      const n = w.items.length;
      const at = inp.position < 0 ? Math.max(0, n + inp.position) : Math.min(inp.position, n);
      w.items.splice(at, 0, item);
    } else w.items.push(item);
    if (normalize) normalizePositions(w);
    return item;
  }

  function stripNulls(d: Dict): Dict {
    const out: Dict = {};
    for (const [k, v] of Object.entries(d)) if (v !== null) out[k] = v;
    return out;
  }

  /** AYON's EntityList.update with merge_fields (attrib/data patched one level, tags replaced). */
  function updateItem(w: Working, item: Item, inp: ItemInput, folderPath?: string) {
    if (inp.entityId !== undefined && inp.entityId !== item.entityId) {
      item.entityId = inp.entityId;
      item.folderPath = folderPath ?? item.folderPath;
    }
    if (inp.label !== undefined && inp.label !== null) item.label = inp.label;
    if (inp.attrib !== undefined) item.attrib = dictPatch(item.attrib, inp.attrib);
    if (inp.data !== undefined) item.data = dictPatch(item.data, inp.data);
    if (inp.tags !== undefined) item.tags = inp.tags;
  }

  async function loadWorking(trx: Transaction<Database>, actor: AyonActor, project: string, listIdRaw: string, level: number): Promise<Working> {
    const id = normalizeId(listIdRaw);
    if (!id) throw notFound(`Entity list ${listIdRaw} not found`);
    let q = trx.selectFrom('ayon_entity_lists').selectAll().where('project_name', '=', project).where('id', '=', id);
    if (store.dialect === 'postgres') q = q.forUpdate();
    const row = (await q.executeTakeFirst()) as ListRow | undefined;
    if (!row) throw notFound(`Entity list ${id} not found`);
    ensureLevel(actor, row, level);
    const itemRows = (await trx
      .selectFrom('ayon_entity_list_items')
      .selectAll()
      .where('project_name', '=', project)
      .where('list_id', '=', id)
      .orderBy('position')
      .orderBy('seq')
      .execute()) as ItemRow[];
    const items = itemRows.map(itemFromRow);
    return {
      project,
      row,
      items,
      before: new Map(items.map((i) => [i.id, itemState(i)])),
      actor,
      now: Date.now(),
      listDefs: listDefs(row),
      entityDefs: await attributes.forScope(row.entity_type),
    };
  }

  /** Writes what changed (items and the list row) and the event; returns the event records. */
  async function save(trx: Transaction<Database>, w: Working, mode: 'created' | 'changed', listSet: Partial<ListCols> = {}, sender?: Sender) {
    const current = new Set(w.items.map((i) => i.id));
    const removed = [...w.before.keys()].filter((id) => !current.has(id));
    for (let i = 0; i < removed.length; i += 500)
      await trx.deleteFrom('ayon_entity_list_items').where('project_name', '=', w.project).where('list_id', '=', w.row.id).where('id', 'in', removed.slice(i, i + 500)).execute();
    const added = w.items.filter((i) => !w.before.has(i.id));
    if (added.length) {
      const ids = added.map((i) => i.id);
      for (let i = 0; i < ids.length; i += 500) {
        const clash = await trx.selectFrom('ayon_entity_list_items').select('id').where('project_name', '=', w.project).where('id', 'in', ids.slice(i, i + 500)).executeTakeFirst();
        if (clash) throw conflict(`Entity list item ${clash.id} already exists`);
      }
      try {
        await bulkInsert(
          trx,
          store.dialect,
          'ayon_entity_list_items',
          added.map((i) => ({
            project_name: w.project,
            id: i.id,
            list_id: w.row.id,
            entity_id: i.entityId,
            position: i.position,
            label: i.label,
            attrib: JSON.stringify(i.attrib),
            data: JSON.stringify(i.data),
            tags: JSON.stringify(i.tags),
            folder_path: i.folderPath,
            created_by: i.createdBy,
            updated_by: i.updatedBy,
            created_at: i.createdAt,
            updated_at: i.updatedAt,
          })),
        );
      } catch (err) {
        if (isUniqueViolation(err)) throw conflict('Entity list item already exists');
        throw err;
      }
    }
    for (const i of w.items) {
      const was = w.before.get(i.id);
      if (was === undefined || was === itemState(i)) continue;
      const contentChanged = was.slice(was.indexOf(':') + 1) !== itemContent(i);
      const set: Partial<ItemCols> = { position: i.position };
      if (contentChanged) {
        Object.assign(set, {
          entity_id: i.entityId,
          label: i.label,
          attrib: JSON.stringify(i.attrib),
          data: JSON.stringify(i.data),
          tags: JSON.stringify(i.tags),
          folder_path: i.folderPath,
          updated_by: w.actor.name,
          updated_at: w.now,
        });
      }
      await trx.updateTable('ayon_entity_list_items').set(set).where('project_name', '=', w.project).where('id', '=', i.id).execute();
    }
    const set: Partial<ListCols> = { ...listSet, item_count: w.items.length, updated_at: w.now, updated_by: w.actor.name };
    try {
      await trx.updateTable('ayon_entity_lists').set(set).where('project_name', '=', w.project).where('id', '=', w.row.id).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`Entity list with label '${String(listSet.label)}' already exists`);
      throw err;
    }
    const next = { ...w.row, ...set } as ListRow;
    const summary = { id: next.id, entity_list_type: next.entity_list_type, entity_type: next.entity_type, label: next.label, count: w.items.length };
    const ev: AyonEventInput = { topic: `entity_list.${mode}`, project: w.project, user: w.actor.name, summary, description: `Entity list ${next.label} ${mode}` };
    return { records: await events.dispatch(trx, [ev], sender), summary };
  }

  /** Runs a write on one list in one transaction; publishes the event after the commit. */
  async function withList<T>(
    actor: AyonActor,
    projectName: string,
    listId: string,
    level: number,
    sender: Sender | undefined,
    fn: (w: Working, trx: Transaction<Database>) => Promise<{ listSet?: Partial<ListCols>; result?: T } | void>,
  ): Promise<T | undefined> {
    const p = await projectFor(actor, projectName, true);
    const { records, result } = await db.transaction().execute(async (trx) => {
      const w = await loadWorking(trx, actor, p.name, listId, level);
      const r = (await fn(w, trx)) ?? {};
      const saved = await save(trx, w, 'changed', r.listSet ?? {}, sender);
      return { records: saved.records, result: r.result };
    });
    events.publish(records);
    return result;
  }

  // ------------------------------------------------------------------ lists

  /** POST /projects/{p}/lists → 201 EntityListSummary {id, entityListType, entityType, label, count}. */
  async function create(actor: AyonActor, projectName: string, body: Dict, sender?: Sender) {
    const p = await projectFor(actor, projectName, true);
    const id = optId(body.id, 'entity list id') ?? newAyonId();
    const entityType = body.entityType;
    if (!isEntityType(entityType)) throw badRequest(`entityType must be one of ${ENTITY_TYPES.join(', ')}`);
    const label = optString(body.label, 'label');
    if (!label) throw badRequest('Label is required');
    const listType = body.entityListType === undefined ? 'generic' : optString(body.entityListType, 'entityListType', 128);
    if (!listType) throw badRequest('Entity list type is required');
    const acc = parseAccess(body.access) ?? {};
    const attrib = await attributes.validate('list', optDict(body.attrib, 'attrib') ?? {}, { patch: false });
    const rawAttrib = optDict(body.attrib, 'attrib') ?? {};
    for (const [k, v] of Object.entries(rawAttrib)) if (!(k in attrib) && v !== null) attrib[k] = v; // unknown names kept, as AYON stores them
    const data = optDict(body.data, 'data') ?? {};
    const template = optDict(body.template, 'template') ?? {};
    const tags = optTags(body.tags) ?? [];
    const owner = optString(body.owner, 'owner', 128) ?? actor.name;
    const active = optBool(body.active, 'active') ?? true;
    const folderId = optId(body.entityListFolderId, 'entityListFolderId') ?? null;
    if (body.items !== undefined && body.items !== null && !Array.isArray(body.items)) throw badRequest('items must be a list');
    const rawItems = (body.items as unknown[] | undefined) ?? [];
    const { records, summary } = await db.transaction().execute(async (trx) => {
      const exists = await trx.selectFrom('ayon_entity_lists').select(['id', 'label']).where('project_name', '=', p.name).where((eb) => eb.or([eb('id', '=', id), eb('label', '=', label)])).executeTakeFirst();
      if (exists?.id === id) throw conflict(`Entity list ${id} already exists`);
      if (exists) throw conflict(`Entity list with label '${label}' already exists`);
      if (folderId) {
        const f = await trx.selectFrom('ayon_entity_list_folders').select('id').where('project_name', '=', p.name).where('id', '=', folderId).executeTakeFirst();
        if (!f) throw conflict(`Entity list folder ${folderId} does not exist`);
      }
      const now = Date.now();
      const row: ListRow = {
        seq: 0,
        project_name: p.name,
        id,
        entity_list_type: listType,
        entity_type: entityType,
        entity_list_folder_id: folderId,
        label,
        owner,
        access: JSON.stringify(acc),
        template: JSON.stringify(template),
        attrib: JSON.stringify(attrib),
        data: JSON.stringify(stripServerKeys(data)),
        tags: JSON.stringify(tags),
        attributes: '[]',
        item_count: 0,
        active: active ? 1 : 0,
        created_by: actor.name,
        updated_by: actor.name,
        created_at: now,
        updated_at: now,
      };
      const { seq: _seq, ...values } = row;
      try {
        await trx.insertInto('ayon_entity_lists').values(values).execute();
      } catch (err) {
        if (isUniqueViolation(err)) throw conflict(`Entity list with label '${label}' already exists`);
        throw err;
      }
      const w: Working = { project: p.name, row, items: [], before: new Map(), actor, now, listDefs: new Map(), entityDefs: await attributes.forScope(entityType) };
      const inputs = rawItems.map((r, i) => parseItemInput(w, r, i));
      inputs.forEach((inp, i) => {
        if (!inp.entityId) throw badRequest(`items -> ${i} -> entityId: field required`);
      });
      const paths = await folderPaths(trx, p.name, entityType, inputs.map((i) => i.entityId!));
      for (const inp of inputs) addItem(w, inp.entityId!, inp, true, paths);
      return save(trx, w, 'created', {}, sender);
    });
    events.publish(records);
    return { id: summary.id, entityListType: summary.entity_list_type, entityType: summary.entity_type, label: summary.label, count: summary.count };
  }

  function stripServerKeys(d: Dict): Dict {
    const { count: _c, attributes: _a, ...rest } = d;
    return rest;
  }

  /** PATCH /projects/{p}/lists/{id} (204): label, access, attrib/data (patched), tags, owner, active, folder. */
  async function update(actor: AyonActor, projectName: string, listId: string, body: Dict, sender?: Sender) {
    const label = body.label === undefined ? undefined : optString(body.label, 'label');
    if (body.label !== undefined && !label) throw badRequest('Label is required');
    const acc = parseAccess(body.access);
    const attribPatch = optDict(body.attrib, 'attrib');
    const dataPatch = optDict(body.data, 'data');
    const tags = optTags(body.tags);
    const owner = optString(body.owner, 'owner', 128);
    const active = optBool(body.active, 'active');
    const folderId = 'entityListFolderId' in body ? (body.entityListFolderId === null ? null : optId(body.entityListFolderId, 'entityListFolderId')) : undefined;
    await withList(actor, projectName, listId, LIST_MANAGE, sender, async (w, trx) => {
      const set: Partial<ListCols> = {};
      if (label !== undefined && label !== null) set.label = label;
      if (acc !== undefined) set.access = JSON.stringify(acc);
      if (attribPatch !== undefined) {
        const checked = await attributes.validate('list', attribPatch, { patch: true });
        for (const [k, v] of Object.entries(attribPatch)) if (!(k in checked)) checked[k] = v;
        set.attrib = JSON.stringify(dictPatch(parseJson(w.row.attrib, {}), checked));
      }
      if (dataPatch !== undefined) set.data = JSON.stringify(stripServerKeys(dictPatch(parseJson(w.row.data, {}), dataPatch)));
      if (tags !== undefined) set.tags = JSON.stringify(tags);
      if (owner !== undefined && owner !== null) set.owner = owner;
      if (active !== undefined) set.active = active ? 1 : 0;
      if (folderId !== undefined) {
        if (folderId) {
          const f = await trx.selectFrom('ayon_entity_list_folders').select('id').where('project_name', '=', w.project).where('id', '=', folderId).executeTakeFirst();
          if (!f) throw conflict(`Entity list folder ${folderId} does not exist`);
        }
        set.entity_list_folder_id = folderId;
      }
      if (set.label && set.label !== w.row.label) {
        const dup = await trx.selectFrom('ayon_entity_lists').select('id').where('project_name', '=', w.project).where('label', '=', set.label).where('id', '!=', w.row.id).executeTakeFirst();
        if (dup) throw conflict(`Entity list with label '${set.label}' already exists`);
      }
      return { listSet: set };
    });
  }

  /** DELETE /projects/{p}/lists/{id} (204). */
  async function remove(actor: AyonActor, projectName: string, listId: string, sender?: Sender) {
    const p = await projectFor(actor, projectName, true);
    const records = await db.transaction().execute(async (trx) => {
      const w = await loadWorking(trx, actor, p.name, listId, LIST_MANAGE);
      await trx.deleteFrom('ayon_entity_list_items').where('project_name', '=', p.name).where('list_id', '=', w.row.id).execute();
      await trx.deleteFrom('ayon_entity_lists').where('project_name', '=', p.name).where('id', '=', w.row.id).execute();
      const summary = {
        id: w.row.id,
        entity_list_type: w.row.entity_list_type,
        entity_list_folder_id: w.row.entity_list_folder_id,
        entity_type: w.row.entity_type,
        label: w.row.label,
        count: w.items.length,
      };
      return events.dispatch(trx, [{ topic: 'entity_list.deleted', project: p.name, user: actor.name, summary, description: `Deleted entity list ${w.row.label}` }], sender);
    });
    events.publish(records);
  }

  async function loadRow(project: string, listIdRaw: string): Promise<ListRow> {
    const id = normalizeId(listIdRaw);
    const row = id ? ((await db.selectFrom('ayon_entity_lists').selectAll().where('project_name', '=', project).where('id', '=', id).executeTakeFirst()) as ListRow | undefined) : undefined;
    if (!row) throw notFound(`Entity list ${id ?? listIdRaw} not found`);
    return row;
  }

  /** GET /projects/{p}/lists/{id} → EntityListModel (items unless metadataOnly; guests: metadata only, trimmed). */
  async function get(actor: AyonActor, projectName: string, listId: string, opts: { metadataOnly?: boolean } = {}) {
    if (actor.isGuest && !opts.metadataOnly) throw forbidden('Guest users can only request metadata only');
    const p = await projectFor(actor, projectName, false);
    const row = await loadRow(p.name, listId);
    const level = levelOf(actor, row);
    if (level < LIST_READ) throw forbidden(`Access denied to entity list ${row.label}`);
    let items: Item[] = [];
    if (!opts.metadataOnly) {
      const rows = (await db
        .selectFrom('ayon_entity_list_items')
        .selectAll()
        .where('project_name', '=', p.name)
        .where('list_id', '=', row.id)
        .orderBy('position')
        .orderBy('seq')
        .execute()) as ItemRow[];
      items = rows.map(itemFromRow);
    }
    const model = listModel(row, items, level);
    if (actor.isGuest) {
      model.attrib = {};
      const acc = model.access as Dict;
      model.access = Object.fromEntries(Object.entries(acc).filter(([k]) => k === '__guests__' || k === `guest:${actor.email}`));
      model.owner = null;
      model.createdBy = null;
      model.updatedBy = null;
      model.data = {};
    }
    return model;
  }

  function listModel(row: ListRow, items: Item[], level: number) {
    return {
      id: row.id,
      entityListType: row.entity_list_type,
      entityListFolderId: row.entity_list_folder_id,
      entityType: row.entity_type,
      label: row.label,
      access: parseJson<Dict>(row.access, {}),
      attrib: parseJson<Dict>(row.attrib, {}),
      data: listData(row),
      template: parseJson<Dict>(row.template, {}),
      tags: parseJson<string[]>(row.tags, []),
      items: items.map(itemModel),
      owner: row.owner as string | null,
      createdBy: row.created_by as string | null,
      updatedBy: row.updated_by as string | null,
      createdAt: isoTime(row.created_at),
      updatedAt: isoTime(row.updated_at),
      active: row.active === 1,
      accessLevel: level,
    };
  }

  /** POST …/lists/{id}/materialize: AYON answers 501 too (after its access checks). */
  async function materialize(actor: AyonActor, projectName: string, listId: string) {
    const p = await projectFor(actor, projectName, true);
    const row = await loadRow(p.name, listId);
    ensureLevel(actor, row, LIST_MANAGE);
    throw new AyonError(501, 'Materialize entity list is not implemented yet');
  }

  // ------------------------------------------------------------------ attribute definitions

  /** GET …/lists/{id}/attributes → [{name, data}]. */
  async function getAttributes(actor: AyonActor, projectName: string, listId: string) {
    const p = await projectFor(actor, projectName, false);
    const row = await loadRow(p.name, listId);
    ensureLevel(actor, row, LIST_READ);
    return parseJson<ListAttributeDef[]>(row.attributes, []);
  }

  /** PUT …/lists/{id}/attributes [{name, data}]: replaces the definitions; names may not shadow studio attributes. */
  async function setAttributes(actor: AyonActor, projectName: string, listId: string, body: unknown, sender?: Sender) {
    if (!Array.isArray(body)) throw badRequest('The body must be a list of attribute definitions');
    const studio = new Set((await attributes.list()).map((a) => a.name));
    const seen = new Set<string>();
    const defs: ListAttributeDef[] = body.map((d, i) => {
      if (!isPlainObject(d)) throw badRequest(`${i}: attribute definition must be an object`);
      const name = d.name;
      if (typeof name !== 'string' || !ATTRIBUTE_NAME_RE.test(name)) throw badRequest(`${i} -> name: string does not match regex "${ATTRIBUTE_NAME_RE.source}"`);
      if (studio.has(name)) throw badRequest(`Entity list attribute ${name} cannot shadow an existing studio attribute`);
      if (seen.has(name)) throw badRequest(`Entity list attribute ${name} is defined twice`);
      seen.add(name);
      const data = parseAttributeData(d.data);
      const clean: Dict = {};
      for (const [k, v] of Object.entries(data)) if (v !== null && v !== undefined) clean[k] = v;
      return { name, data: clean as AttributeData };
    });
    await withList(actor, projectName, listId, LIST_MANAGE, sender, async () => ({ listSet: { attributes: JSON.stringify(defs) } }));
  }

  // ------------------------------------------------------------------ items

  /** POST …/lists/{id}/items → 201. */
  async function createItem(actor: AyonActor, projectName: string, listId: string, body: Dict, sender?: Sender) {
    return withList(actor, projectName, listId, LIST_UPDATE, sender, async (w, trx) => {
      const inp = parseItemInput(w, body);
      if (!inp.entityId) throw badRequest('entityId: field required');
      const paths = await folderPaths(trx, w.project, w.row.entity_type as EntityType, [inp.entityId]);
      const item = addItem(w, inp.entityId, inp, true, paths);
      return { result: { id: item.id } };
    });
  }

  /** PATCH …/lists/{id}/items/{itemId}: entityId, position (moves the item), label, attrib/data (patched), tags. */
  async function updateItemById(actor: AyonActor, projectName: string, listId: string, itemIdRaw: string, body: Dict, sender?: Sender) {
    await withList(actor, projectName, listId, LIST_UPDATE, sender, async (w, trx) => {
      const itemId = normalizeId(itemIdRaw) ?? itemIdRaw;
      const item = findItem(w, itemId);
      const inp = parseItemInput(w, body);
      let path: string | undefined;
      if (inp.entityId && inp.entityId !== item.entityId) path = (await folderPaths(trx, w.project, w.row.entity_type as EntityType, [inp.entityId])).get(inp.entityId);
      updateItem(w, item, inp, path);
      if (inp.position !== undefined && inp.position !== null) {
        const from = w.items.indexOf(item);
        w.items.splice(from, 1);
        const n = w.items.length;
        const at = inp.position < 0 ? Math.max(0, n + inp.position) : Math.min(inp.position, n);
        w.items.splice(at, 0, item);
        normalizePositions(w);
      }
    });
  }

  /** DELETE …/lists/{id}/items/{itemId}. */
  async function deleteItem(actor: AyonActor, projectName: string, listId: string, itemIdRaw: string, sender?: Sender) {
    await withList(actor, projectName, listId, LIST_UPDATE, sender, async (w) => {
      const item = findItem(w, normalizeId(itemIdRaw) ?? itemIdRaw);
      w.items.splice(w.items.indexOf(item), 1);
      normalizePositions(w);
    });
  }

  /** PATCH …/lists/{id}/items {items, mode: replace|merge|delete}. */
  async function updateItems(actor: AyonActor, projectName: string, listId: string, body: Dict, sender?: Sender) {
    const mode = body.mode ?? 'replace';
    if (mode !== 'replace' && mode !== 'merge' && mode !== 'delete') throw badRequest("mode: value is not a valid enumeration member; permitted: 'replace', 'merge', 'delete'");
    if (!Array.isArray(body.items) || body.items.length < 1) throw badRequest('items: ensure this value has at least 1 items');
    const rawItems = body.items as unknown[];
    await withList(actor, projectName, listId, LIST_UPDATE, sender, async (w, trx) => {
      const inputs = rawItems.map((r, i) => parseItemInput(w, r, i));
      const type = w.row.entity_type as EntityType;
      if (mode === 'delete') {
        for (const inp of inputs) {
          if (inp.nullId) continue;
          // an item without an id gets a fresh one (AYON's default), which is then not found
          const item = findItem(w, inp.id ?? newAyonId());
          w.items.splice(w.items.indexOf(item), 1);
        }
        normalizePositions(w);
        return;
      }
      if (mode === 'replace') {
        inputs.forEach((inp) => {
          if (!inp.entityId) throw badRequest('Entity ID is required in replace mode');
        });
        const paths = await folderPaths(trx, w.project, type, inputs.map((i) => i.entityId!));
        const old = new Map(w.items.map((i) => [i.id, i]));
        w.items = [];
        inputs.forEach((inp, i) => {
          const item = addItem(w, inp.entityId!, { ...inp, position: i }, true, paths);
          const prev = inp.id ? old.get(inp.id) : undefined;
          if (prev) {
            // same id again: the row stays (its creation time and author too)
            item.createdAt = prev.createdAt;
            item.createdBy = prev.createdBy;
          }
        });
        return;
      }
      // merge
      const existing = new Set(w.items.map((i) => i.id));
      const newEntityIds = inputs.filter((inp) => inp.entityId && !(inp.id && existing.has(inp.id) && w.items.find((x) => x.id === inp.id)!.entityId === inp.entityId)).map((inp) => inp.entityId!);
      const paths = newEntityIds.length ? await folderPaths(trx, w.project, type, newEntityIds) : new Map<string, string>();
      inputs.forEach((inp, i) => {
        if (inp.id && existing.has(inp.id)) {
          const item = findItem(w, inp.id);
          updateItem(w, item, { ...inp, label: inp.sent.has('label') ? inp.label : undefined }, inp.entityId ? paths.get(inp.entityId) : undefined);
          item.position = inp.position ?? i;
        } else {
          if (!inp.entityId) throw badRequest('Entity ID is required in for new items');
          addItem(w, inp.entityId, { ...inp, position: null }, false, paths).position = inp.position ?? w.items.length - 1;
        }
      });
      // stable sort by position, then 0…n-1 (AYON's merge)
      w.items = w.items.map((it, k) => ({ it, k })).sort((a, b) => a.it.position - b.it.position || a.k - b.k).map((x) => x.it);
      normalizePositions(w);
    });
  }

  /** POST …/lists/{id}/order {order: [itemId…]}: every item exactly once (204). */
  async function setItemsOrder(actor: AyonActor, projectName: string, listId: string, body: Dict, sender?: Sender) {
    const order = body.order;
    if (!Array.isArray(order) || order.length < 1 || order.some((x) => typeof x !== 'string')) throw badRequest('order: ensure this value has at least 1 items');
    await withList(actor, projectName, listId, LIST_UPDATE, sender, async (w) => {
      const ids = (order as string[]).map((x) => normalizeId(x) ?? x);
      if (ids.length !== w.items.length || new Set(ids).size !== ids.length) throw badRequest('The order must contain each item ID exactly once');
      const byId = new Map(w.items.map((i) => [i.id, i]));
      if (ids.some((id) => !byId.has(id))) throw badRequest('The list of item IDs must be the same as the current items in the list');
      w.items = ids.map((id) => byId.get(id)!);
      normalizePositions(w);
    });
  }

  /** GET …/lists/{id}/entities → {entityType, entityIds}. */
  async function getEntities(actor: AyonActor, projectName: string, listId: string) {
    const p = await projectFor(actor, projectName, false);
    const row = await loadRow(p.name, listId);
    ensureLevel(actor, row, LIST_READ);
    const rows = await db.selectFrom('ayon_entity_list_items').select('entity_id').distinct().where('project_name', '=', p.name).where('list_id', '=', row.id).execute();
    return { entityType: row.entity_type, entityIds: rows.map((r) => r.entity_id) };
  }

  // ------------------------------------------------------------------ list folders

  function folderModel(r: FolderRow) {
    return { id: r.id, label: r.label, parentId: r.parent_id, position: r.position, owner: r.owner, access: parseJson<Dict>(r.access, {}), data: parseJson<Dict>(r.data, {}) };
  }

  function parseFolderData(v: unknown): Dict | undefined {
    const d = optDict(v, 'data');
    if (!d) return d;
    if (d.color !== undefined && d.color !== null && typeof d.color !== 'string') throw badRequest('data -> color: str type expected');
    if (d.icon !== undefined && d.icon !== null && typeof d.icon !== 'string') throw badRequest('data -> icon: str type expected');
    if (d.scope !== undefined && d.scope !== null) optTags(d.scope, 'data -> scope');
    return d;
  }

  function folderLabel(v: unknown): string {
    if (typeof v !== 'string' || v.length < 1) throw badRequest('label: ensure this value has at least 1 characters');
    if (v.length > 255) throw badRequest('label: ensure this value has at most 255 characters');
    return v;
  }

  async function listFolders(actor: AyonActor, projectName: string) {
    const p = await projectFor(actor, projectName, false);
    const rows = (await db.selectFrom('ayon_entity_list_folders').selectAll().where('project_name', '=', p.name).orderBy('parent_key').orderBy('position').orderBy('label').execute()) as FolderRow[];
    return { folders: rows.map(folderModel) };
  }

  async function createFolder(actor: AyonActor, projectName: string, body: Dict) {
    const p = await projectFor(actor, projectName, true);
    const id = optId(body.id, 'folder id') ?? newAyonId();
    const label = folderLabel(body.label);
    const parentId = optId(body.parentId, 'parentId') ?? null;
    const acc = parseAccess(body.access) ?? {};
    const data = parseFolderData(body.data) ?? {};
    await db.transaction().execute(async (trx) => {
      const exists = await trx.selectFrom('ayon_entity_list_folders').select('id').where('project_name', '=', p.name).where('id', '=', id).executeTakeFirst();
      if (exists) throw conflict('Folder with the given ID already exists');
      if (parentId) {
        const parent = await trx.selectFrom('ayon_entity_list_folders').select('id').where('project_name', '=', p.name).where('id', '=', parentId).executeTakeFirst();
        if (!parent) throw conflict(`Parent folder ${parentId} does not exist`);
      }
      try {
        await trx
          .insertInto('ayon_entity_list_folders')
          .values({
            project_name: p.name,
            id,
            label,
            label_lower: label.toLowerCase(),
            parent_id: parentId,
            parent_key: parentId ?? '',
            position: 0,
            owner: actor.name,
            access: JSON.stringify(acc),
            data: JSON.stringify(stripNulls(data)),
          })
          .execute();
      } catch (err) {
        if (isUniqueViolation(err)) throw conflict(`Folder with label '${label}' already exists here`);
        throw err;
      }
    });
    return { id };
  }

  async function loadFolder(q: Db, project: string, idRaw: string, actor: AyonActor, what: string): Promise<FolderRow> {
    const id = normalizeId(idRaw);
    const row = id ? ((await q.selectFrom('ayon_entity_list_folders').selectAll().where('project_name', '=', project).where('id', '=', id).executeTakeFirst()) as FolderRow | undefined) : undefined;
    if (!row) throw notFound('Entity list folder not found');
    if (!actor.isManager && row.owner !== actor.name) throw forbidden(`Only owner or manager can ${what} this folder`);
    return row;
  }

  async function updateFolder(actor: AyonActor, projectName: string, folderId: string, body: Dict) {
    const p = await projectFor(actor, projectName, true);
    const label = body.label === undefined || body.label === null ? undefined : folderLabel(body.label);
    const parentId = 'parentId' in body ? (body.parentId === null ? null : optId(body.parentId, 'parentId')) : undefined;
    const acc = parseAccess(body.access);
    const data = parseFolderData(body.data);
    await db.transaction().execute(async (trx) => {
      const row = await loadFolder(trx, p.name, folderId, actor, 'update');
      const set: Partial<FolderCols> = {};
      if (label !== undefined) {
        set.label = label;
        set.label_lower = label.toLowerCase();
      }
      if (parentId !== undefined) {
        if (parentId) {
          // no cycles: the new parent may be neither the folder nor one of its descendants
          const all = await trx.selectFrom('ayon_entity_list_folders').select(['id', 'parent_id']).where('project_name', '=', p.name).execute();
          const parentOf = new Map(all.map((f) => [f.id, f.parent_id]));
          if (!parentOf.has(parentId)) throw conflict(`Parent folder ${parentId} does not exist`);
          for (let cur: string | null | undefined = parentId; cur; cur = parentOf.get(cur)) if (cur === row.id) throw badRequest('A folder cannot be moved into itself or its subfolder');
        }
        set.parent_id = parentId;
        set.parent_key = parentId ?? '';
      }
      if (acc !== undefined) set.access = JSON.stringify(acc);
      if (data !== undefined) set.data = JSON.stringify(dictPatch(parseJson(row.data, {}), data));
      if (!Object.keys(set).length) return;
      try {
        await trx.updateTable('ayon_entity_list_folders').set(set).where('project_name', '=', p.name).where('id', '=', row.id).execute();
      } catch (err) {
        if (isUniqueViolation(err)) throw conflict(`Folder with label '${label ?? row.label}' already exists here`);
        throw err;
      }
    });
  }

  /** DELETE …/entityListFolders/{id}: subfolders go too; lists in them move to the root. */
  async function deleteFolder(actor: AyonActor, projectName: string, folderId: string) {
    const p = await projectFor(actor, projectName, true);
    await db.transaction().execute(async (trx) => {
      const row = await loadFolder(trx, p.name, folderId, actor, 'delete');
      const all = await trx.selectFrom('ayon_entity_list_folders').select(['id', 'parent_id']).where('project_name', '=', p.name).execute();
      const gone = new Set([row.id]);
      for (let grew = true; grew; ) {
        grew = false;
        for (const f of all) if (f.parent_id && gone.has(f.parent_id) && !gone.has(f.id)) (gone.add(f.id), (grew = true));
      }
      const ids = [...gone];
      for (let i = 0; i < ids.length; i += 500) {
        const part = ids.slice(i, i + 500);
        await trx.updateTable('ayon_entity_lists').set({ entity_list_folder_id: null }).where('project_name', '=', p.name).where('entity_list_folder_id', 'in', part).execute();
        await trx.deleteFrom('ayon_entity_list_folders').where('project_name', '=', p.name).where('id', 'in', part).execute();
      }
    });
  }

  /** POST …/entityListFolders/order {order: [id…]}: positions in that order. */
  async function setFoldersOrder(actor: AyonActor, projectName: string, body: Dict) {
    const p = await projectFor(actor, projectName, true);
    const order = body.order;
    if (!Array.isArray(order) || order.length < 1 || order.some((x) => typeof x !== 'string')) throw badRequest('order: ensure this value has at least 1 items');
    await db.transaction().execute(async (trx) => {
      for (const [pos, raw] of (order as string[]).entries()) {
        const id = normalizeId(raw);
        if (!id) continue;
        await trx.updateTable('ayon_entity_list_folders').set({ position: pos }).where('project_name', '=', p.name).where('id', '=', id).execute();
      }
    });
  }

  // ------------------------------------------------------------------ GraphQL reads

  /** A page of the lists the actor may read (`ids` filter), in creation order. */
  async function listPage(actor: AyonActor, project: string, opts: { ids?: string[] | null; page: PageArgs }) {
    const { desc, size, cursor } = pageSize(opts.page);
    const ids = opts.ids ? opts.ids.map((x) => normalizeId(x)).filter((x): x is string => !!x) : null;
    const want = size + 1;
    const out: ListRow[] = [];
    let from = cursor;
    if (!(ids && ids.length === 0)) {
      for (;;) {
        let q = db.selectFrom('ayon_entity_lists').selectAll().where('project_name', '=', project);
        if (ids) q = q.where('id', 'in', ids);
        if (from !== null) q = q.where('seq', desc ? '<' : '>', from);
        const chunk = Math.max(want, 200);
        const rows = (await q.orderBy('seq', desc ? 'desc' : 'asc').limit(chunk).execute()) as ListRow[];
        for (const r of rows) {
          if (levelOf(actor, r) < LIST_READ) continue;
          out.push(r);
          if (out.length >= want) break;
        }
        if (rows.length < chunk || out.length >= want) break;
        from = Number(rows[rows.length - 1].seq);
      }
    }
    const more = out.length > size;
    const rows = out.slice(0, size);
    return {
      rows: rows.map((r) => ({ row: r, level: levelOf(actor, r) })),
      hasNextPage: desc ? cursor !== null : more,
      hasPreviousPage: desc ? more : cursor !== null,
      startCursor: rows.length ? encodeCursor(rows[0].seq) : null,
      endCursor: rows.length ? encodeCursor(rows[rows.length - 1].seq) : null,
    };
  }

  /** A page of a list's items in position order, with the listed entity's row (items whose entity is gone are skipped). */
  async function itemPage(project: string, list: Pick<ListRow, 'id' | 'entity_type'>, page: PageArgs) {
    const { desc, size, cursor } = pageSize(page);
    const table = TABLES[list.entity_type as EntityType];
    let q = db
      .selectFrom('ayon_entity_list_items as i')
      .innerJoin(`${table} as e` as 'ayon_folders as e', (j) => j.onRef('e.project_name', '=', 'i.project_name').onRef('e.id', '=', 'i.entity_id'))
      .selectAll('i')
      .select((eb) => eb.ref('e.seq').as('entity_seq'))
      .where('i.project_name', '=', project)
      .where('i.list_id', '=', list.id);
    if (cursor !== null) q = q.where('i.position', desc ? '<' : '>', cursor);
    const found = (await q.orderBy('i.position', desc ? 'desc' : 'asc').limit(size + 1).execute()) as Array<ItemRow & { entity_seq: number }>;
    const more = found.length > size;
    const rows = found.slice(0, size);
    const entityRows = rows.length ? await core.queries.byIds(list.entity_type as EntityType, project, rows.map((r) => r.entity_id)) : new Map<string, Row>();
    return {
      rows: rows.map((r) => ({ item: itemFromRow(r), entity: entityRows.get(r.entity_id) ?? null })),
      hasNextPage: desc ? cursor !== null : more,
      hasPreviousPage: desc ? more : cursor !== null,
      startCursor: rows.length ? encodeCursor(rows[0].position) : null,
      endCursor: rows.length ? encodeCursor(rows[rows.length - 1].position) : null,
    };
  }

  return {
    levelOf,
    create,
    update,
    remove,
    get,
    materialize,
    getAttributes,
    setAttributes,
    createItem,
    updateItem: updateItemById,
    deleteItem,
    updateItems,
    setItemsOrder,
    getEntities,
    listFolders,
    createFolder,
    updateFolder,
    deleteFolder,
    setFoldersOrder,
    listPage,
    itemPage,
    listDefs,
  };
}

export type EntityListsService = ReturnType<typeof createEntityListsService>;
export type ListItem = Item;
