/**
 * The one write path of the six hierarchy entity types (ayon.md §6, §7): REST create/update/delete
 * run here as one-operation batches, `POST …/operations` and its background variant as many.
 * Validation, access checks, the write itself and the `entity.*` events live here, once.
 *
 * A batch with canFail=false runs in one transaction: operations in order, stopping at the first
 * failure, which rolls everything back (no events either). canFail=true gives every operation its
 * own transaction.
 *
 * Speed: before running a batch, the rows it references (by id), the sibling names it may collide
 * with, version numbers and thumbnails are loaded in a few IN queries; creates are then checked
 * against that state in memory and written with multi-row INSERTs (flushed before anything that has
 * to read the database again). A 1,000-create batch is a few dozen statements, not thousands.
 */
import type { Kysely, Transaction } from 'kysely';
import { sql } from 'kysely';
import type { Store } from '../../store/db.js';
import type { Database } from '../../store/schema.js';
import { isUniqueViolation } from '../../store/db.js';
import { AyonError, badRequest, conflict, forbidden, invalidData, notFound } from './errors.js';
import {
  ENTITY_NAME_RE,
  LABEL_RE,
  MAX_NAME_LENGTH,
  camelizeKeys,
  isEntityType,
  isPlainObject,
  mergePatch,
  newAyonId,
  normalizeId,
  parseJson,
  slugify,
  type EntityType,
} from './rules.js';
import { coerceValue, type AttributeDef } from './attributes.js';
import type { AttributesService } from './attributes.js';
import { bulkInsert } from './bulk.js';
import { TABLES, inheritedForChildOf, pickInheritable, type Row, versionLabel } from './entity-models.js';
import { defaultStatus, type Project, type AyonProjectsService } from './projects.js';
import type { AyonEventInput, AyonEvents } from './events.js';
import type { AyonActor, AyonUser, AyonUsersService } from './users.js';
import type { AccessPolicy } from './access.js';

type Trx = Transaction<Database>;
type AnyDb = Kysely<any>;

export interface OperationInput {
  id: string;
  type: 'create' | 'update' | 'delete';
  entityType: EntityType;
  entityId: string | null;
  data: Record<string, unknown> | null;
  force: boolean;
  asUser: string | null;
}

export interface OperationResult {
  id: string;
  type: string;
  entityType: string;
  entityId: string | null;
  success: boolean;
  status: number;
  detail?: string;
  errorCode?: string;
}

export interface OperationsResponse {
  operations: OperationResult[];
  success: boolean;
}

export interface RunOptions {
  canFail?: boolean;
  raiseOnError?: boolean;
  sender?: string | null;
  senderType?: string | null;
  onProgress?: (done: number, total: number) => void;
}

const CHUNK = 300;
const PARENT_COLUMN: Record<string, string> = {
  folder: 'parent_key',
  task: 'folder_id',
  product: 'folder_id',
  representation: 'version_id',
};

function chunks<T>(list: T[], n = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += n) out.push(list.slice(i, i + n));
  return out;
}

/** Validates the operations list of a request (shape errors answer the whole request with 400). */
export function parseOperations(raw: unknown): OperationInput[] {
  if (!Array.isArray(raw)) throw badRequest('operations must be a list');
  const seen = new Set<string>();
  const out: OperationInput[] = [];
  for (const item of raw) {
    if (!isPlainObject(item)) throw badRequest('Every operation must be an object');
    const o = camelizeKeys(item);
    if (o.type !== 'create' && o.type !== 'update' && o.type !== 'delete') throw badRequest(`Invalid operation type: ${String(o.type)}`);
    if (!isEntityType(o.entityType)) throw badRequest(`Invalid entity type: ${String(o.entityType)}`);
    let entityId: string | null = null;
    if (o.entityId !== undefined && o.entityId !== null) {
      entityId = normalizeId(o.entityId);
      if (!entityId) throw badRequest(`Invalid entity id: ${String(o.entityId)}`);
    }
    if (o.type !== 'create') {
      if (!entityId) throw badRequest('entity_id is required for update/delete');
      const key = `${o.entityType}:${entityId}`;
      if (seen.has(key)) throw badRequest(`Duplicate operation for ${o.entityType} ${entityId}`);
      seen.add(key);
    }
    if (o.data !== undefined && o.data !== null && !isPlainObject(o.data)) throw badRequest('Operation data must be an object');
    if ((o.type === 'create' || o.type === 'update') && (o.data === undefined || o.data === null)) throw badRequest(`data is required for ${o.type}`);
    if (o.asUser !== undefined && o.asUser !== null && typeof o.asUser !== 'string') throw badRequest('asUser must be a string');
    out.push({
      id: typeof o.id === 'string' && o.id ? o.id : newAyonId(),
      type: o.type,
      entityType: o.entityType,
      entityId,
      data: (o.data as Record<string, unknown> | undefined) ?? null,
      force: o.force === true,
      asUser: (o.asUser as string | undefined) ?? null,
    });
  }
  return out;
}

/** Attribute schema and project snapshot a batch works with (read before its transaction). */
interface Snapshot {
  project: Project;
  defs: Record<EntityType, Map<string, AttributeDef>>;
  inheritable: Set<string>;
  folderTypes: Set<string>;
  taskTypes: Set<string>;
  statuses: Set<string>;
}

function validateAttrib(defs: Map<string, AttributeDef>, attrib: unknown, patch: boolean): Record<string, unknown> {
  if (attrib === undefined) return {};
  if (!isPlainObject(attrib)) throw invalidData('Invalid data provided: attrib: value is not a valid dict');
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(attrib)) {
    const def = defs.get(k);
    if (!def) continue;
    if (v === null) {
      if (patch) out[k] = null;
      continue;
    }
    out[k] = coerceValue(k, def.data, v);
  }
  return out;
}

const fieldError = (field: string, msg: string) => invalidData(`Invalid data provided: ${field}: ${msg}`);

function str(v: unknown, field: string, opts: { nullable?: boolean; max?: number } = {}): string | null {
  if (v === null && opts.nullable) return null;
  if (typeof v !== 'string') throw fieldError(field, 'str type expected');
  if (opts.max && v.length > opts.max) throw fieldError(field, `ensure this value has at most ${opts.max} characters`);
  return v;
}
function entityName(v: unknown, field = 'name'): string {
  const s = str(v, field, { max: MAX_NAME_LENGTH })!;
  if (!ENTITY_NAME_RE.test(s)) throw fieldError(field, `string does not match regex "${ENTITY_NAME_RE.source}"`);
  return s;
}
function label(v: unknown): string | null {
  if (v === null || v === undefined || v === '') return null;
  const s = str(v, 'label', { max: MAX_NAME_LENGTH })!;
  if (!LABEL_RE.test(s)) throw fieldError('label', `string does not match regex "${LABEL_RE.source}"`);
  return s;
}
function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw fieldError(field, 'value is not a valid boolean');
  return v;
}
function strList(v: unknown, field: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw fieldError(field, 'value is not a valid list of strings');
  return [...new Set(v as string[])];
}
function idField(v: unknown, field: string, nullable: boolean): string | null {
  if (v === null || v === undefined) {
    if (nullable) return null;
    throw fieldError(field, 'field required');
  }
  const id = normalizeId(v);
  if (!id) throw fieldError(field, 'value is not a valid entity id');
  return id;
}
function dataObj(v: unknown): Record<string, unknown> {
  if (!isPlainObject(v)) throw fieldError('data', 'value is not a valid dict');
  return v;
}

/** data.subtasks on tasks (ayon.md §6.2). */
function normalizeSubtasks(data: Record<string, unknown>): Record<string, unknown> {
  if (!('subtasks' in data)) return data;
  const raw = data.subtasks;
  if (raw === null) return data;
  if (!Array.isArray(raw)) throw fieldError('data.subtasks', 'value is not a valid list');
  if (raw.length === 0) {
    const { subtasks: _s, ...rest } = data;
    return rest;
  }
  const ids = new Set<string>();
  const names = new Set<string>();
  const subtasks = raw.map((item) => {
    if (!isPlainObject(item)) throw fieldError('data.subtasks', 'every subtask must be an object');
    const lbl = typeof item.label === 'string' ? item.label : '';
    let name = typeof item.name === 'string' && item.name ? item.name : slugify(lbl);
    if (!name) throw fieldError('data.subtasks', 'a subtask needs a name or a label');
    if (!ENTITY_NAME_RE.test(name)) throw fieldError('data.subtasks', `invalid subtask name "${name}"`);
    if (typeof item.description === 'string' && item.description.length > 2048) throw fieldError('data.subtasks', 'description is too long');
    const id = typeof item.id === 'string' && item.id ? item.id : newAyonId();
    if (ids.has(id)) throw fieldError('data.subtasks', `duplicate subtask id ${id}`);
    if (names.has(name.toLowerCase())) throw fieldError('data.subtasks', `duplicate subtask name ${name}`);
    ids.add(id);
    names.add(name.toLowerCase());
    name = String(name);
    return {
      ...item,
      id,
      name,
      label: lbl || name,
      assignees: Array.isArray(item.assignees) ? item.assignees : [],
      isDone: item.isDone === true,
    };
  });
  return { ...data, subtasks, subtaskSyncId: Date.now() };
}

function files(v: unknown): Array<Record<string, unknown>> {
  if (!Array.isArray(v)) throw fieldError('files', 'value is not a valid list');
  return v.map((f, i) => {
    if (!isPlainObject(f)) throw fieldError(`files -> ${i}`, 'value is not a valid dict');
    const ff = camelizeKeys(f);
    if (typeof ff.path !== 'string') throw fieldError(`files -> ${i} -> path`, 'field required');
    let size = ff.size ?? 0;
    if (typeof size === 'string' && /^\d+$/.test(size)) size = Number(size);
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 0) throw fieldError(`files -> ${i} -> size`, 'value is not a valid integer');
    const hashType = ff.hashType ?? 'md5';
    if (!['md5', 'sha1', 'sha256', 'op3'].includes(hashType as string)) throw fieldError(`files -> ${i} -> hashType`, 'unexpected value');
    const id = ff.id === undefined || ff.id === null ? newAyonId() : normalizeId(ff.id) ?? (typeof ff.id === 'string' ? ff.id : null);
    if (!id) throw fieldError(`files -> ${i} -> id`, 'invalid id');
    return { ...ff, id, name: typeof ff.name === 'string' ? ff.name : ff.path.split(/[\\/]/).pop(), path: ff.path, size, hash: ff.hash ?? null, hashType };
  });
}

const TOPIC_FOR: Record<string, string> = {
  name: 'renamed',
  label: 'label_changed',
  status: 'status_changed',
  tags: 'tags_changed',
  attrib: 'attrib_changed',
  data: 'data_changed',
  active: 'active_changed',
  thumbnailId: 'thumbnail_changed',
  folderType: 'type_changed',
  taskType: 'type_changed',
  productType: 'product_type_changed',
  productBaseType: 'product_base_type_changed',
  assignees: 'assignees_changed',
  author: 'author_changed',
  files: 'files_changed',
  traits: 'traits_changed',
  parentId: 'parent_changed',
  folderId: 'folder_changed',
  taskId: 'task_changed',
  productId: 'product_changed',
  versionId: 'version_changed',
  version: 'version_changed',
  path: 'path_changed',
};

/** Column of a camelCase field. */
const COLUMN: Record<string, string> = {
  name: 'name',
  label: 'label',
  status: 'status',
  tags: 'tags',
  active: 'active',
  thumbnailId: 'thumbnail_id',
  folderType: 'folder_type',
  taskType: 'task_type',
  productType: 'product_type',
  productBaseType: 'product_base_type',
  assignees: 'assignees',
  author: 'author',
  parentId: 'parent_id',
  folderId: 'folder_id',
  taskId: 'task_id',
  productId: 'product_id',
  versionId: 'version_id',
  version: 'version',
  path: 'path',
  createdBy: 'created_by',
  updatedBy: 'updated_by',
};

const FIELDS: Record<EntityType, string[]> = {
  folder: ['name', 'label', 'folderType', 'parentId', 'thumbnailId', 'status', 'tags', 'attrib', 'data', 'active'],
  task: ['name', 'label', 'taskType', 'folderId', 'assignees', 'thumbnailId', 'status', 'tags', 'attrib', 'data', 'active'],
  product: ['name', 'folderId', 'productType', 'productBaseType', 'status', 'tags', 'attrib', 'data', 'active'],
  version: ['version', 'productId', 'taskId', 'thumbnailId', 'author', 'status', 'tags', 'attrib', 'data', 'active'],
  representation: ['name', 'versionId', 'files', 'traits', 'status', 'tags', 'attrib', 'data', 'active'],
  workfile: ['path', 'taskId', 'thumbnailId', 'createdBy', 'updatedBy', 'status', 'tags', 'attrib', 'data', 'active'],
};

export function createOperationsService(deps: {
  store: Store;
  attributes: AttributesService;
  projects: AyonProjectsService;
  events: AyonEvents;
  users: AyonUsersService;
  access: AccessPolicy;
}) {
  const { store, attributes, projects, events, users, access } = deps;
  const { db } = store;

  async function snapshot(project: Project): Promise<Snapshot> {
    const defs = {} as Record<EntityType, Map<string, AttributeDef>>;
    for (const t of ['folder', 'task', 'product', 'version', 'representation', 'workfile'] as EntityType[]) defs[t] = new Map(await attributes.forScope(t));
    return {
      project,
      defs,
      inheritable: await attributes.inheritable(),
      folderTypes: new Set(project.folderTypes.map((t) => t.name as string)),
      taskTypes: new Set(project.taskTypes.map((t) => t.name as string)),
      statuses: new Set(project.statuses.map((s) => s.name as string)),
    };
  }

  /**
   * One batch in one transaction. Holds the prefetched state: rows by id, sibling-name owners,
   * version numbers, hero versions, thumbnails, and the rows waiting to be inserted.
   */
  class Batch {
    known = new Map<string, Map<string, Row | null>>();
    names = new Map<string, Map<string, string | null>>();
    heroes = new Map<string, string | null>();
    thumbs = new Map<string, boolean>();
    pending = new Map<string, Row[]>();
    events: AyonEventInput[] = [];
    productTypes = new Set<string>();
    constructor(
      readonly trx: Trx,
      readonly snap: Snapshot,
    ) {
      for (const t of Object.keys(TABLES)) {
        this.known.set(t, new Map());
        this.names.set(t, new Map());
      }
    }
    get project() {
      return this.snap.project.name;
    }
    get q(): AnyDb {
      return this.trx as unknown as AnyDb;
    }

    async flush(): Promise<void> {
      for (const [table, rows] of this.pending) await bulkInsert(this.trx, store.dialect, table, rows);
      this.pending.clear();
    }

    queueInsert(type: EntityType, row: Row) {
      const table = TABLES[type];
      let list = this.pending.get(table);
      if (!list) this.pending.set(table, (list = []));
      list.push(row);
      this.known.get(type)!.set(row.id, row);
    }

    async row(type: EntityType, id: string): Promise<Row | null> {
      const m = this.known.get(type)!;
      if (m.has(id)) return m.get(id)!;
      await this.flush();
      const r = await this.q.selectFrom(TABLES[type]).selectAll().where('project_name', '=', this.project).where('id', '=', id).executeTakeFirst();
      m.set(id, r ?? null);
      return r ?? null;
    }

    forget(type: EntityType, ids: Iterable<string>, deleted: boolean) {
      const m = this.known.get(type)!;
      for (const id of ids) {
        if (deleted) m.set(id, null);
        else m.delete(id);
      }
    }

    nameKey(parent: string, name: string) {
      return `${parent}\u0000${name}`;
    }

    /** The active entity owning this name under this parent (case-insensitive), or null. */
    async nameOwner(type: EntityType, parent: string, nameLower: string): Promise<string | null> {
      const m = this.names.get(type)!;
      const key = this.nameKey(parent, nameLower);
      if (m.has(key)) return m.get(key)!;
      await this.flush();
      let q = this.q.selectFrom(TABLES[type]).select('id').where('project_name', '=', this.project).where('active', '=', 1);
      if (type === 'version') q = q.where('product_id', '=', parent).where('version', '=', Number(nameLower));
      else if (type === 'workfile') q = q.where('path', '=', nameLower);
      else q = q.where(PARENT_COLUMN[type], '=', parent).where('name_lower', '=', nameLower);
      const r = await q.executeTakeFirst();
      m.set(key, r?.id ?? null);
      return r?.id ?? null;
    }

    setName(type: EntityType, parent: string, nameLower: string, owner: string | null) {
      this.names.get(type)!.set(this.nameKey(parent, nameLower), owner);
    }

    async heroOf(productId: string): Promise<string | null> {
      if (this.heroes.has(productId)) return this.heroes.get(productId)!;
      await this.flush();
      const r = await this.q
        .selectFrom('ayon_versions')
        .select('id')
        .where('project_name', '=', this.project)
        .where('product_id', '=', productId)
        .where('version', '<', 0)
        .where('active', '=', 1)
        .executeTakeFirst();
      this.heroes.set(productId, r?.id ?? null);
      return r?.id ?? null;
    }

    async thumbnailExists(id: string): Promise<boolean> {
      if (this.thumbs.has(id)) return this.thumbs.get(id)!;
      const r = await this.q.selectFrom('ayon_thumbnails').select('id').where('project_name', '=', this.project).where('id', '=', id).executeTakeFirst();
      this.thumbs.set(id, !!r);
      return !!r;
    }

    /** Loads, in a few queries, everything the operations refer to. */
    async prefetch(ops: OperationInput[]): Promise<void> {
      const ids = new Map<EntityType, Set<string>>();
      const add = (t: EntityType, id: unknown) => {
        const n = normalizeId(id);
        if (!n) return;
        let s = ids.get(t);
        if (!s) ids.set(t, (s = new Set()));
        s.add(n);
      };
      const names = new Map<EntityType, Set<string>>();
      /** parents under which names are looked up; null: any parent (a rename of an existing entity) */
      const parents = new Map<EntityType, Set<string> | null>();
      const addName = (t: EntityType, n: unknown, parent: string | null) => {
        if (typeof n !== 'string') return;
        let s = names.get(t);
        if (!s) names.set(t, (s = new Set()));
        s.add(t === 'workfile' ? n : n.toLowerCase());
        if (parents.get(t) === null) return;
        if (parent === null) parents.set(t, null);
        else {
          let ps = parents.get(t);
          if (!ps) parents.set(t, (ps = new Set()));
          ps.add(parent);
        }
      };
      const versionProducts = new Set<string>();
      const thumbs = new Set<string>();
      for (const op of ops) {
        if (op.entityId) add(op.entityType, op.entityId);
        const d = op.data ? camelizeKeys(op.data) : {};
        if (op.type === 'create' && !op.entityId && d.id) add(op.entityType, d.id);
        if (d.parentId) add('folder', d.parentId);
        if (d.folderId) add('folder', d.folderId);
        if (d.productId) {
          add('product', d.productId);
          const p = normalizeId(d.productId);
          if (p && op.entityType === 'version') versionProducts.add(p);
        }
        if (d.taskId) add('task', d.taskId);
        if (d.versionId) add('version', d.versionId);
        if (d.thumbnailId && normalizeId(d.thumbnailId)) thumbs.add(normalizeId(d.thumbnailId)!);
        if (op.type !== 'delete') {
          const t = op.entityType;
          const parentRef = t === 'folder' ? (d.parentId === undefined ? undefined : normalizeId(d.parentId) ?? '') : t === 'representation' ? d.versionId : d.folderId;
          const parent = op.type === 'create' && t !== 'workfile' ? (t === 'folder' ? (parentRef as string | undefined) ?? '' : normalizeId(parentRef)) : null;
          addName(t, t === 'workfile' ? d.path : d.name, parent);
        }
      }
      for (const [t, set] of ids) {
        const m = this.known.get(t)!;
        for (const part of chunks([...set])) {
          const rows = await this.q.selectFrom(TABLES[t]).selectAll().where('project_name', '=', this.project).where('id', 'in', part).execute();
          for (const r of rows) m.set(r.id, r);
        }
        for (const id of set) if (!m.has(id)) m.set(id, null);
      }
      // parents of the entities being updated, for moves and path checks
      for (const [t, set] of names) {
        if (t === 'version') continue;
        for (const part of chunks([...set])) {
          const q: any = this.q.selectFrom(TABLES[t]).where('project_name', '=', this.project).where('active', '=', 1);
          if (t === 'workfile') {
            const rows = await q.select(['id', 'path']).where('path', 'in', part).execute();
            for (const r of rows) this.setName(t, '', r.path, r.id);
          } else {
            const col = PARENT_COLUMN[t];
            const ps = parents.get(t);
            const byParent = ps ? [...ps] : null;
            const parts = byParent ? chunks(byParent) : [null];
            for (const pp of parts) {
              let qq = q.select(['id', 'name_lower', col]).where('name_lower', 'in', part);
              if (pp) qq = qq.where(col, 'in', pp);
              const rows: Row[] = await qq.execute();
              for (const r of rows) this.setName(t, r[col], r.name_lower, r.id);
            }
          }
        }
      }
      // names not found under the parents the creates use are free
      for (const op of ops) {
        if (op.type !== 'create') continue;
        const d = camelizeKeys(op.data ?? {});
        const t = op.entityType;
        if (t === 'version' || typeof (t === 'workfile' ? d.path : d.name) !== 'string') continue;
        const n = t === 'workfile' ? (d.path as string) : (d.name as string).toLowerCase();
        const parent = t === 'workfile' ? '' : t === 'folder' ? normalizeId(d.parentId) ?? '' : normalizeId(t === 'representation' ? d.versionId : d.folderId);
        if (parent === null) continue;
        const key = this.nameKey(parent, n);
        if (!this.names.get(t)!.has(key)) this.names.get(t)!.set(key, null);
      }
      if (versionProducts.size) {
        for (const part of chunks([...versionProducts])) {
          const rows = await this.q
            .selectFrom('ayon_versions')
            .select(['id', 'product_id', 'version'])
            .where('project_name', '=', this.project)
            .where('active', '=', 1)
            .where('product_id', 'in', part)
            .execute();
          for (const p of part) if (!this.heroes.has(p)) this.heroes.set(p, null);
          for (const r of rows) {
            this.setName('version', r.product_id, String(r.version), r.id);
            if (r.version < 0) this.heroes.set(r.product_id, r.id);
          }
        }
        for (const op of ops) {
          if (op.type !== 'create' || op.entityType !== 'version') continue;
          const d = camelizeKeys(op.data ?? {});
          const p = normalizeId(d.productId);
          if (p && typeof d.version === 'number') {
            const key = this.nameKey(p, String(d.version));
            if (!this.names.get('version')!.has(key)) this.names.get('version')!.set(key, null);
          }
        }
      }
      if (thumbs.size) {
        for (const part of chunks([...thumbs])) {
          const rows = await this.q.selectFrom('ayon_thumbnails').select('id').where('project_name', '=', this.project).where('id', 'in', part).execute();
          for (const r of rows) this.thumbs.set(r.id, true);
        }
        for (const t of thumbs) if (!this.thumbs.has(t)) this.thumbs.set(t, false);
      }
    }
  }

  // ------------------------------------------------------------------ field parsing

  async function checkRef(b: Batch, type: EntityType, id: string, field: string): Promise<Row> {
    const r = await b.row(type, id);
    if (!r) throw conflict(`${field}: ${type} ${id} does not exist in project ${b.project}`, 'foreign-key-violation');
    return r;
  }

  async function parseCommon(b: Batch, type: EntityType, d: Record<string, unknown>, patch: boolean, out: Row, changes: string[]) {
    if (d.status !== undefined) {
      const s = str(d.status, 'status')!;
      if (!b.snap.statuses.has(s)) throw conflict(`Status "${s}" is not defined in project ${b.project}`, 'foreign-key-violation');
      out.status = s;
      changes.push('status');
    }
    if (d.tags !== undefined) {
      out.tags = JSON.stringify(d.tags === null ? [] : strList(d.tags, 'tags'));
      changes.push('tags');
    }
    if (d.active !== undefined) {
      out.active = bool(d.active, 'active') ? 1 : 0;
      changes.push('active');
    }
    if (d.thumbnailId !== undefined && type !== 'product' && type !== 'representation') {
      const t = idField(d.thumbnailId, 'thumbnailId', true);
      if (t && !(await b.thumbnailExists(t))) throw conflict(`Thumbnail ${t} does not exist`, 'foreign-key-violation');
      out.thumbnail_id = t;
      changes.push('thumbnailId');
    }
    if (d.attrib !== undefined && d.attrib !== null) {
      out.__attrib = validateAttrib(b.snap.defs[type], d.attrib, patch);
      changes.push('attrib');
    } else if (d.attrib === null && !patch) out.__attrib = {};
    if (d.data !== undefined) {
      if (d.data === null && patch) throw fieldError('data', 'none is not an allowed value');
      out.__data = type === 'task' ? normalizeSubtasks(dataObj(d.data)) : dataObj(d.data);
      changes.push('data');
    }
  }

  // ------------------------------------------------------------------ create

  async function create(b: Batch, op: OperationInput, actor: AyonUser): Promise<{ id: string; events: AyonEventInput[] }> {
    const type = op.entityType;
    const d = camelizeKeys(op.data ?? {});
    const idRaw = op.entityId ?? d.id;
    const id = idRaw === undefined || idRaw === null ? newAyonId() : idField(idRaw, 'id', false)!;
    // an id the server generates is new; a client's is checked (prefetched for the whole batch)
    if (idRaw !== undefined && idRaw !== null && (await b.row(type, id))) throw conflict(`${cap(type)} with id ${id} already exists`, 'unique-violation');
    const now = Date.now();
    const row: Row = {
      project_name: b.project,
      id,
      status: '',
      tags: '[]',
      attrib: '{}',
      data: '{}',
      active: 1,
      created_by: actor.name,
      updated_by: actor.name,
      created_at: now,
      updated_at: now,
    };
    const changes: string[] = [];
    await parseCommon(b, type, d, false, row, changes);
    if (row.__attrib) row.attrib = JSON.stringify(row.__attrib);
    if (row.__data) row.data = JSON.stringify(row.__data);
    delete row.__attrib;
    delete row.__data;
    if (!row.status) row.status = defaultStatus(b.snap.project, type) ?? '';
    let parentId: string | null = null;
    let path = '';

    switch (type) {
      case 'folder': {
        const name = entityName(d.name);
        row.name = name;
        row.name_lower = name.toLowerCase();
        row.label = label(d.label);
        const ft = d.folderType === undefined || d.folderType === null ? (b.snap.project.folderTypes[0]?.name as string) : str(d.folderType, 'folderType')!;
        if (!b.snap.folderTypes.has(ft)) throw conflict(`Folder type "${ft}" is not defined in project ${b.project}`, 'foreign-key-violation');
        row.folder_type = ft;
        parentId = idField(d.parentId, 'parentId', true);
        if (parentId === id) throw badRequest('Folder cannot be its own parent');
        const parent = parentId ? await checkRef(b, 'folder', parentId, 'parentId') : null;
        row.parent_id = parentId;
        row.parent_key = parentId ?? '';
        row.path = parent ? `${parent.path}/${name}` : name;
        row.inherited = JSON.stringify(inheritedForChildOf(parent, b.snap.inheritable));
        row.thumbnail_id ??= null;
        path = row.path;
        if (row.active && (await b.nameOwner('folder', row.parent_key, row.name_lower)))
          throw conflict(`Folder with name '${name}' already exists.`, 'unique-violation');
        if (row.active) b.setName('folder', row.parent_key, row.name_lower, id);
        break;
      }
      case 'task': {
        const name = entityName(d.name);
        row.name = name;
        row.name_lower = name.toLowerCase();
        row.label = label(d.label);
        if (d.taskType === undefined || d.taskType === null) throw fieldError('taskType', 'field required');
        const tt = str(d.taskType, 'taskType')!;
        if (!b.snap.taskTypes.has(tt)) throw conflict(`Task type "${tt}" is not defined in project ${b.project}`, 'foreign-key-violation');
        row.task_type = tt;
        parentId = idField(d.folderId, 'folderId', false)!;
        const folder = await checkRef(b, 'folder', parentId, 'folderId');
        row.folder_id = parentId;
        row.assignees = JSON.stringify(d.assignees === undefined || d.assignees === null ? [] : strList(d.assignees, 'assignees'));
        row.thumbnail_id ??= null;
        path = `${folder.path}/${name}`;
        if (row.active && (await b.nameOwner('task', parentId, row.name_lower))) throw conflict(`Task with name '${name}' already exists.`, 'unique-violation');
        if (row.active) b.setName('task', parentId, row.name_lower, id);
        break;
      }
      case 'product': {
        const name = entityName(d.name);
        row.name = name;
        row.name_lower = name.toLowerCase();
        parentId = idField(d.folderId, 'folderId', false)!;
        const folder = await checkRef(b, 'folder', parentId, 'folderId');
        row.folder_id = parentId;
        if (d.productType === undefined || d.productType === null) throw fieldError('productType', 'field required');
        row.product_type = str(d.productType, 'productType', { max: 128 })!;
        if (!row.product_type) throw fieldError('productType', 'ensure this value has at least 1 characters');
        row.product_base_type = d.productBaseType === undefined || d.productBaseType === null ? null : str(d.productBaseType, 'productBaseType', { max: 128 });
        b.productTypes.add(row.product_type);
        path = `${folder.path}/${name}`;
        if (row.active && (await b.nameOwner('product', parentId, row.name_lower))) throw conflict(`Product with name '${name}' already exists.`, 'unique-violation');
        if (row.active) b.setName('product', parentId, row.name_lower, id);
        break;
      }
      case 'version': {
        const v = d.version;
        if (typeof v !== 'number' || !Number.isInteger(v)) throw fieldError('version', 'value is not a valid integer');
        row.version = v;
        parentId = idField(d.productId, 'productId', false)!;
        const product = await checkRef(b, 'product', parentId, 'productId');
        row.product_id = parentId;
        row.task_id = idField(d.taskId, 'taskId', true);
        if (row.task_id) await checkRef(b, 'task', row.task_id, 'taskId');
        row.thumbnail_id ??= null;
        let author = d.author === undefined || d.author === null || d.author === '' ? actor.name : str(d.author, 'author', { max: 128 });
        if (author !== actor.name && !actor.isAdmin) throw forbidden('Only admins can create versions for other users');
        row.author = author;
        const folder = await b.row('folder', product.folder_id);
        path = `${folder?.path ?? ''}/${product.name}/${versionLabel(v)}`;
        if (row.active) {
          if (v < 0 && (await b.heroOf(parentId))) throw conflict('Hero version already exists.', 'constraint-violation');
          if (await b.nameOwner('version', parentId, String(v))) throw conflict(`Version ${v} of product ${product.name} already exists.`, 'unique-violation');
          b.setName('version', parentId, String(v), id);
          if (v < 0) b.heroes.set(parentId, id);
        }
        break;
      }
      case 'representation': {
        const name = entityName(d.name);
        row.name = name;
        row.name_lower = name.toLowerCase();
        parentId = idField(d.versionId, 'versionId', false)!;
        const version = await checkRef(b, 'version', parentId, 'versionId');
        row.version_id = parentId;
        row.files = JSON.stringify(d.files === undefined || d.files === null ? [] : files(d.files));
        if (d.traits !== undefined && d.traits !== null && !isPlainObject(d.traits)) throw fieldError('traits', 'value is not a valid dict');
        row.traits = d.traits === undefined || d.traits === null ? null : JSON.stringify(d.traits);
        const product = await b.row('product', version.product_id);
        const folder = product ? await b.row('folder', product.folder_id) : null;
        path = `${folder?.path ?? ''}/${product?.name ?? ''}/${versionLabel(version.version)}/${name}`;
        if (row.active && (await b.nameOwner('representation', parentId, row.name_lower)))
          throw conflict(`Representation with name '${name}' already exists.`, 'unique-violation');
        if (row.active) b.setName('representation', parentId, row.name_lower, id);
        break;
      }
      case 'workfile': {
        const p = str(d.path, 'path', { max: 4096 })!;
        if (!p) throw fieldError('path', 'ensure this value has at least 1 characters');
        row.path = p;
        parentId = idField(d.taskId, 'taskId', false)!;
        await checkRef(b, 'task', parentId, 'taskId');
        row.task_id = parentId;
        row.thumbnail_id ??= null;
        if (d.createdBy !== undefined && d.createdBy !== null) row.created_by = str(d.createdBy, 'createdBy', { max: 128 });
        row.updated_by = d.updatedBy !== undefined && d.updatedBy !== null ? str(d.updatedBy, 'updatedBy', { max: 128 }) : row.created_by;
        path = p;
        if (await b.nameOwner('workfile', '', p)) throw conflict(`Workfile with path '${p}' already exists.`, 'unique-violation');
        b.setName('workfile', '', p, id);
        break;
      }
    }
    b.queueInsert(type, row);
    const nameOf = type === 'version' ? versionLabel(row.version) : type === 'workfile' ? row.path : row.name;
    return {
      id,
      events: [
        {
          topic: `entity.${type}.created`,
          project: b.project,
          user: actor.name,
          summary: { entityId: id, parentId },
          description: `${cap(type)} ${nameOf} created`,
          payload: {},
        },
      ].map((e) => ({ ...e, summary: { ...e.summary, ...(path ? { entityPath: path } : {}) } })),
    };
  }

  // ------------------------------------------------------------------ update

  async function folderHasVersions(b: Batch, folderId: string): Promise<boolean> {
    await b.flush();
    const r = await b.q
      .selectFrom('ayon_versions as v')
      .innerJoin('ayon_products as p', (j: any) => j.onRef('p.id', '=', 'v.product_id').onRef('p.project_name', '=', 'v.project_name'))
      .select('v.id')
      .where('v.project_name', '=', b.project)
      .where('p.folder_id', '=', folderId)
      .limit(1)
      .executeTakeFirst();
    return !!r;
  }

  /** Folder ids of the subtree under `folderId` (itself included), with path and attributes. */
  async function subtree(b: Batch, folderId: string): Promise<Row[]> {
    await b.flush();
    const rows = await sql<Row>`
      WITH RECURSIVE sub(id) AS (
        SELECT id FROM ayon_folders WHERE project_name = ${b.project} AND id = ${folderId}
        UNION ALL
        SELECT f.id FROM ayon_folders f JOIN sub ON f.project_name = ${b.project} AND f.parent_key = sub.id
      )
      SELECT f.id, f.parent_id, f.path, f.attrib, f.inherited FROM ayon_folders f JOIN sub ON f.id = sub.id
      WHERE f.project_name = ${b.project}`.execute(b.trx);
    return rows.rows;
  }

  /** Recomputes paths and inherited attributes below `root` (after a rename, move or attrib change). */
  async function refreshSubtree(b: Batch, root: Row) {
    const rows = await subtree(b, root.id);
    const byParent = new Map<string, Row[]>();
    for (const r of rows) {
      if (r.id === root.id) continue;
      const l = byParent.get(r.parent_id) ?? [];
      l.push(r);
      byParent.set(r.parent_id, l);
    }
    const queue: Array<{ parent: Row; path: string; childInherited: Record<string, unknown> }> = [
      { parent: root, path: root.path, childInherited: inheritedForChildOf(root, b.snap.inheritable) },
    ];
    const touched: string[] = [];
    // rows whose only change is `inherited` are updated together, grouped by the new value
    const inheritedOnly = new Map<string, string[]>();
    for (let qi = 0; qi < queue.length; qi++) {
      const { parent, path, childInherited } = queue[qi];
      for (const child of byParent.get(parent.id) ?? []) {
        const name = child.path.split('/').pop()!;
        const newPath = `${path}/${name}`;
        const inherited = JSON.stringify(childInherited);
        if (newPath !== child.path) {
          await b.q.updateTable('ayon_folders').set({ path: newPath, inherited }).where('project_name', '=', b.project).where('id', '=', child.id).execute();
          touched.push(child.id);
        } else if (inherited !== child.inherited) {
          const l = inheritedOnly.get(inherited) ?? [];
          l.push(child.id);
          inheritedOnly.set(inherited, l);
          touched.push(child.id);
        }
        const updated = { ...child, path: newPath, inherited };
        queue.push({ parent: updated, path: newPath, childInherited: inheritedForChildOf(updated, b.snap.inheritable) });
      }
    }
    for (const [inherited, ids] of inheritedOnly) {
      for (const part of chunks(ids)) await b.q.updateTable('ayon_folders').set({ inherited }).where('project_name', '=', b.project).where('id', 'in', part).execute();
    }
    b.forget('folder', touched, false);
  }

  async function update(b: Batch, op: OperationInput, actor: AyonUser): Promise<{ id: string; events: AyonEventInput[] }> {
    const type = op.entityType;
    const id = op.entityId!;
    const cur = await b.row(type, id);
    if (!cur) throw notFound(`${cap(type)} ${id} not found`);
    const d = camelizeKeys(op.data ?? {});
    const set: Row = {};
    const changes: string[] = [];
    await parseCommon(b, type, d, true, set, changes);
    let parentId: string | null = null;
    const t = type;
    const allowed = new Set(FIELDS[t]);
    for (const k of Object.keys(d)) if (!allowed.has(k)) delete d[k];

    if (set.__attrib) {
      set.attrib = JSON.stringify(mergePatch(parseJson(cur.attrib, {}), set.__attrib));
      delete set.__attrib;
    }
    if (set.__data) {
      const merged = mergePatch(parseJson(cur.data, {}), set.__data);
      set.data = JSON.stringify(t === 'task' && 'subtasks' in set.__data && set.__data.subtasks === undefined ? merged : merged);
      delete set.__data;
    }
    if (set.thumbnail_id !== undefined) {
      // a new thumbnail bumps data.thumbnailHash so caches refresh
      const base = set.data !== undefined ? parseJson<Record<string, unknown>>(set.data, {}) : parseJson<Record<string, unknown>>(cur.data, {});
      set.data = JSON.stringify({ ...base, thumbnailHash: newAyonId().slice(0, 6) });
    }
    const nameChange = d.name !== undefined && d.name !== cur.name;

    switch (t) {
      case 'folder': {
        parentId = cur.parent_id;
        if (d.name !== undefined) {
          set.name = entityName(d.name);
          set.name_lower = set.name.toLowerCase();
          if (set.name !== cur.name) changes.push('name');
        }
        if (d.label !== undefined) {
          set.label = label(d.label);
          changes.push('label');
        }
        if (d.folderType !== undefined) {
          const ft = str(d.folderType, 'folderType')!;
          if (!b.snap.folderTypes.has(ft)) throw conflict(`Folder type "${ft}" is not defined in project ${b.project}`, 'foreign-key-violation');
          set.folder_type = ft;
          if (ft !== cur.folder_type) changes.push('folderType');
        }
        let newParent: Row | null | undefined;
        if (d.parentId !== undefined) {
          const p = idField(d.parentId, 'parentId', true);
          if (p === id) throw badRequest('Folder cannot be its own parent');
          if (p !== cur.parent_id) {
            newParent = p ? await checkRef(b, 'folder', p, 'parentId') : null;
            if (newParent) {
              const sub = await subtree(b, id);
              if (sub.some((r) => r.id === newParent!.id)) throw badRequest('Folder cannot be moved to one of its descendants');
            }
            set.parent_id = p;
            set.parent_key = p ?? '';
            parentId = p;
            changes.push('parentId');
          }
        }
        const protectedChange =
          (set.name !== undefined && set.name !== cur.name) || (set.folder_type !== undefined && set.folder_type !== cur.folder_type) || newParent !== undefined;
        if (protectedChange && !op.force && (await folderHasVersions(b, id))) {
          const key = set.name !== undefined && set.name !== cur.name ? 'name' : newParent !== undefined ? 'parent_id' : 'folder_type';
          throw forbidden(`Cannot change ${key} of a folder with published versions`);
        }
        const parentKey = set.parent_key ?? cur.parent_key;
        const nameLower = set.name_lower ?? cur.name_lower;
        const active = set.active ?? cur.active;
        if (active && (parentKey !== cur.parent_key || nameLower !== cur.name_lower || !cur.active)) {
          const owner = await b.nameOwner('folder', parentKey, nameLower);
          if (owner && owner !== id) throw conflict(`Folder with name '${set.name ?? cur.name}' already exists.`, 'unique-violation');
        }
        if (newParent !== undefined || set.name !== undefined) {
          const parentRow = newParent !== undefined ? newParent : cur.parent_id ? await b.row('folder', cur.parent_id) : null;
          set.path = parentRow ? `${parentRow.path}/${set.name ?? cur.name}` : set.name ?? cur.name;
          if (newParent !== undefined) set.inherited = JSON.stringify(inheritedForChildOf(parentRow, b.snap.inheritable));
        }
        break;
      }
      case 'task': {
        parentId = cur.folder_id;
        if (d.name !== undefined) {
          set.name = entityName(d.name);
          set.name_lower = set.name.toLowerCase();
          if (set.name !== cur.name) changes.push('name');
        }
        if (d.label !== undefined) {
          set.label = label(d.label);
          changes.push('label');
        }
        if (d.taskType !== undefined) {
          const tt = str(d.taskType, 'taskType')!;
          if (!b.snap.taskTypes.has(tt)) throw conflict(`Task type "${tt}" is not defined in project ${b.project}`, 'foreign-key-violation');
          set.task_type = tt;
          if (tt !== cur.task_type) changes.push('taskType');
        }
        if (d.assignees !== undefined) {
          set.assignees = JSON.stringify(d.assignees === null ? [] : strList(d.assignees, 'assignees'));
          changes.push('assignees');
        }
        if (d.folderId !== undefined) {
          const f = idField(d.folderId, 'folderId', false)!;
          if (f !== cur.folder_id) {
            await checkRef(b, 'folder', f, 'folderId');
            set.folder_id = f;
            parentId = f;
            changes.push('folderId');
          }
        }
        await checkSiblingName(b, 'task', id, cur, set, 'folder_id');
        break;
      }
      case 'product': {
        parentId = cur.folder_id;
        if (d.name !== undefined) {
          set.name = entityName(d.name);
          set.name_lower = set.name.toLowerCase();
          if (set.name !== cur.name) changes.push('name');
        }
        if (d.productType !== undefined) {
          set.product_type = str(d.productType, 'productType', { max: 128 })!;
          b.productTypes.add(set.product_type);
          changes.push('productType');
        }
        if (d.productBaseType !== undefined) {
          set.product_base_type = d.productBaseType === null ? null : str(d.productBaseType, 'productBaseType', { max: 128 });
          changes.push('productBaseType');
        }
        if (d.folderId !== undefined) {
          const f = idField(d.folderId, 'folderId', false)!;
          if (f !== cur.folder_id) {
            await checkRef(b, 'folder', f, 'folderId');
            set.folder_id = f;
            parentId = f;
            changes.push('folderId');
          }
        }
        await checkSiblingName(b, 'product', id, cur, set, 'folder_id');
        break;
      }
      case 'version': {
        parentId = cur.product_id;
        if (d.version !== undefined) {
          if (typeof d.version !== 'number' || !Number.isInteger(d.version)) throw fieldError('version', 'value is not a valid integer');
          set.version = d.version;
          if (d.version !== cur.version) changes.push('version');
        }
        if (d.productId !== undefined) {
          const p = idField(d.productId, 'productId', false)!;
          if (p !== cur.product_id) {
            await checkRef(b, 'product', p, 'productId');
            set.product_id = p;
            parentId = p;
            changes.push('productId');
          }
        }
        if (d.taskId !== undefined) {
          const tk = idField(d.taskId, 'taskId', true);
          if (tk) await checkRef(b, 'task', tk, 'taskId');
          set.task_id = tk;
          changes.push('taskId');
        }
        if (d.author !== undefined) {
          const a = d.author === null ? null : str(d.author, 'author', { max: 128 });
          if (a !== cur.author && !actor.isAdmin) throw forbidden('Only admins can change the author of a version');
          set.author = a;
          changes.push('author');
        }
        const product = set.product_id ?? cur.product_id;
        const number = set.version ?? cur.version;
        const active = set.active ?? cur.active;
        if (active && (product !== cur.product_id || number !== cur.version || !cur.active)) {
          if (number < 0) {
            const hero = await b.heroOf(product);
            if (hero && hero !== id) throw conflict('Hero version already exists.', 'constraint-violation');
          }
          const owner = await b.nameOwner('version', product, String(number));
          if (owner && owner !== id) throw conflict(`Version ${number} already exists.`, 'unique-violation');
          b.setName('version', cur.product_id, String(cur.version), null);
          b.setName('version', product, String(number), id);
          if (cur.version < 0) b.heroes.set(cur.product_id, null);
          if (number < 0) b.heroes.set(product, id);
        }
        break;
      }
      case 'representation': {
        parentId = cur.version_id;
        if (d.name !== undefined) {
          set.name = entityName(d.name);
          set.name_lower = set.name.toLowerCase();
          if (set.name !== cur.name) changes.push('name');
        }
        if (d.versionId !== undefined) {
          const v = idField(d.versionId, 'versionId', false)!;
          if (v !== cur.version_id) {
            await checkRef(b, 'version', v, 'versionId');
            set.version_id = v;
            parentId = v;
            changes.push('versionId');
          }
        }
        if (d.files !== undefined) {
          set.files = JSON.stringify(d.files === null ? [] : files(d.files));
          changes.push('files');
        }
        if (d.traits !== undefined) {
          if (d.traits === null) set.traits = null;
          else if (!isPlainObject(d.traits)) throw fieldError('traits', 'value is not a valid dict');
          else set.traits = JSON.stringify(mergePatch(parseJson(cur.traits, {}), d.traits));
          changes.push('traits');
        }
        await checkSiblingName(b, 'representation', id, cur, set, 'version_id');
        break;
      }
      case 'workfile': {
        parentId = cur.task_id;
        if (d.path !== undefined) {
          const p = str(d.path, 'path', { max: 4096 })!;
          if (p !== cur.path) {
            const owner = await b.nameOwner('workfile', '', p);
            if (owner && owner !== id) throw conflict(`Workfile with path '${p}' already exists.`, 'unique-violation');
            b.setName('workfile', '', cur.path, null);
            b.setName('workfile', '', p, id);
            set.path = p;
            changes.push('path');
          }
        }
        if (d.taskId !== undefined) {
          const tk = idField(d.taskId, 'taskId', false)!;
          if (tk !== cur.task_id) {
            await checkRef(b, 'task', tk, 'taskId');
            set.task_id = tk;
            parentId = tk;
            changes.push('taskId');
          }
        }
        if (d.createdBy !== undefined) set.created_by = d.createdBy === null ? null : str(d.createdBy, 'createdBy', { max: 128 });
        set.updated_by = d.updatedBy !== undefined && d.updatedBy !== null ? str(d.updatedBy, 'updatedBy', { max: 128 }) : actor.name;
        break;
      }
    }
    if (t !== 'workfile') set.updated_by = actor.name;
    set.updated_at = Date.now();
    for (const k of Object.keys(set)) if (set[k] === undefined) delete set[k];
    await b.flush();
    await b.q.updateTable(TABLES[t]).set(set).where('project_name', '=', b.project).where('id', '=', id).execute();
    const updated = { ...cur, ...set };
    b.known.get(t)!.set(id, updated);
    if (t === 'folder') {
      if (cur.active && (updated.parent_key !== cur.parent_key || updated.name_lower !== cur.name_lower || !updated.active))
        b.setName('folder', cur.parent_key, cur.name_lower, null);
      if (updated.active) b.setName('folder', updated.parent_key, updated.name_lower, id);
      if (set.path !== undefined || set.attrib !== undefined || set.inherited !== undefined) await refreshSubtree(b, updated);
    }

    const evs: AyonEventInput[] = [];
    const seen = new Set<string>();
    let entityPath: string | null | undefined;
    for (const c of changes) {
      const topicSuffix = TOPIC_FOR[c];
      if (!topicSuffix || seen.has(topicSuffix)) continue;
      // as AYON: a field patched to the value it already had is no change (no event)
      const stored = c === 'attrib' || c === 'data' ? c : COLUMN[c];
      if (stored && set[stored] !== undefined && String(set[stored]) === String(cur[stored])) continue;
      seen.add(topicSuffix);
      if (entityPath === undefined) entityPath = await pathOf(b, t, updated); // once per update, even when null
      const summary: Record<string, unknown> = { entityId: id, parentId, ...(entityPath ? { entityPath } : {}) };
      const col = COLUMN[c];
      if (col && ['name', 'status', 'label', 'folder_type', 'task_type', 'product_type', 'author', 'active', 'thumbnail_id', 'version', 'path'].includes(col)) {
        const v = updated[col];
        summary.value = col === 'active' ? v === 1 || v === true : v;
      } else if (c === 'tags') summary.value = parseJson(updated.tags, []);
      evs.push({
        topic: `entity.${t}.${topicSuffix}`,
        project: b.project,
        user: actor.name,
        summary,
        description: `${cap(t)} ${describe(t, updated)} ${topicSuffix.replace('_', ' ')}`,
      });
    }
    void nameChange;
    return { id, events: evs };
  }

  /** The entity's path as AYON's change events carry it (`entityPath`): folder path, then names below it. */
  async function pathOf(b: Batch, t: EntityType, row: Row): Promise<string | null> {
    switch (t) {
      case 'folder':
      case 'workfile':
        return (row.path as string) ?? null;
      case 'task':
      case 'product': {
        const folder = await b.row('folder', row.folder_id as string);
        return folder ? `${folder.path}/${row.name}` : null;
      }
      case 'version': {
        const product = await b.row('product', row.product_id as string);
        const folder = product ? await b.row('folder', product.folder_id as string) : null;
        return folder ? `${folder.path}/${product!.name}/${versionLabel(row.version as number)}` : null;
      }
      case 'representation': {
        const version = await b.row('version', row.version_id as string);
        return version ? `${(await pathOf(b, 'version', version)) ?? ''}/${row.name}` : null;
      }
    }
  }

  async function checkSiblingName(b: Batch, t: EntityType, id: string, cur: Row, set: Row, parentCol: string) {
    const parent = set[parentCol] ?? cur[parentCol];
    const nameLower = set.name_lower ?? cur.name_lower;
    const active = set.active ?? cur.active;
    if (active && (parent !== cur[parentCol] || nameLower !== cur.name_lower || !cur.active)) {
      const owner = await b.nameOwner(t, parent, nameLower);
      if (owner && owner !== id) throw conflict(`${cap(t)} with name '${set.name ?? cur.name}' already exists.`, 'unique-violation');
    }
    if (cur.active) b.setName(t, cur[parentCol], cur.name_lower, null);
    if (active) b.setName(t, parent, nameLower, id);
  }

  // ------------------------------------------------------------------ delete

  async function deleteWhere(b: Batch, table: string, column: string, ids: string[]) {
    for (const part of chunks(ids)) await b.q.deleteFrom(table).where('project_name', '=', b.project).where(column, 'in', part).execute();
  }
  async function idsWhere(b: Batch, table: string, column: string, ids: string[]): Promise<string[]> {
    const out: string[] = [];
    for (const part of chunks(ids)) {
      const rows = await b.q.selectFrom(table).select('id').where('project_name', '=', b.project).where(column, 'in', part).execute();
      for (const r of rows) out.push(r.id);
    }
    return out;
  }

  /** Removes entities and what hangs below them (AYON's ON DELETE CASCADE / SET NULL), and their links. */
  async function cascade(b: Batch, sets: { folders?: string[]; tasks?: string[]; products?: string[]; versions?: string[]; representations?: string[]; workfiles?: string[] }) {
    const folders = sets.folders ?? [];
    const tasks = [...(sets.tasks ?? []), ...(await idsWhere(b, 'ayon_tasks', 'folder_id', folders))];
    const products = [...(sets.products ?? []), ...(await idsWhere(b, 'ayon_products', 'folder_id', folders))];
    const versions = [...(sets.versions ?? []), ...(await idsWhere(b, 'ayon_versions', 'product_id', products))];
    const representations = [...(sets.representations ?? []), ...(await idsWhere(b, 'ayon_representations', 'version_id', versions))];
    const workfiles = [...(sets.workfiles ?? []), ...(await idsWhere(b, 'ayon_workfiles', 'task_id', tasks))];
    const all = [...folders, ...tasks, ...products, ...versions, ...representations, ...workfiles];
    for (const part of chunks(all)) {
      await b.q
        .deleteFrom('ayon_links')
        .where('project_name', '=', b.project)
        .where((eb: any) => eb.or([eb('input_id', 'in', part), eb('output_id', 'in', part)]))
        .execute();
    }
    for (const part of chunks(tasks))
      await b.q.updateTable('ayon_versions').set({ task_id: null }).where('project_name', '=', b.project).where('task_id', 'in', part).execute();
    await deleteWhere(b, 'ayon_representations', 'id', representations);
    await deleteWhere(b, 'ayon_workfiles', 'id', workfiles);
    await deleteWhere(b, 'ayon_versions', 'id', versions);
    await deleteWhere(b, 'ayon_products', 'id', products);
    await deleteWhere(b, 'ayon_tasks', 'id', tasks);
    await deleteWhere(b, 'ayon_folders', 'id', folders);
    b.forget('folder', folders, true);
    b.forget('task', tasks, true);
    b.forget('product', products, true);
    b.forget('version', versions, true);
    b.forget('representation', representations, true);
    b.forget('workfile', workfiles, true);
    // version rows that pointed at deleted tasks changed: drop them from the cache
    const vm = b.known.get('version')!;
    for (const [vid, r] of vm) if (r && tasks.includes(r.task_id)) vm.delete(vid);
    for (const t of Object.keys(TABLES)) b.names.get(t)!.clear();
    b.heroes.clear();
  }

  async function remove(b: Batch, op: OperationInput, actor: AyonUser): Promise<{ id: string; events: AyonEventInput[] }> {
    const type = op.entityType;
    const id = op.entityId!;
    const cur = await b.row(type, id);
    if (!cur) throw notFound(`${cap(type)} ${id} not found`);
    if (op.force && !actor.isManager) throw forbidden('Only managers can force delete');
    await b.flush();
    let parentId: string | null = null;
    switch (type) {
      case 'folder': {
        parentId = cur.parent_id;
        const folders = (await subtree(b, id)).map((r) => r.id);
        const products = await idsWhere(b, 'ayon_products', 'folder_id', folders);
        if (products.length && !op.force) throw conflict('Unable to delete a folder with products or tasks.', 'delete-folder-with-children');
        await cascade(b, { folders });
        break;
      }
      case 'task':
        parentId = cur.folder_id;
        await cascade(b, { tasks: [id] });
        break;
      case 'product':
        parentId = cur.folder_id;
        await cascade(b, { products: [id] });
        break;
      case 'version':
        parentId = cur.product_id;
        await cascade(b, { versions: [id] });
        break;
      case 'representation':
        parentId = cur.version_id;
        await cascade(b, { representations: [id] });
        break;
      case 'workfile':
        parentId = cur.task_id;
        await cascade(b, { workfiles: [id] });
        break;
    }
    return {
      id,
      events: [
        {
          topic: `entity.${type}.deleted`,
          project: b.project,
          user: actor.name,
          summary: { entityId: id, parentId },
          description: `${cap(type)} ${describe(type, cur)} deleted`,
        },
      ],
    };
  }

  // ------------------------------------------------------------------ running batches

  async function resolveActors(actor: AyonActor, ops: OperationInput[]): Promise<Map<string, AyonUser>> {
    const map = new Map<string, AyonUser>();
    for (const op of ops) {
      if (!op.asUser || op.asUser === actor.name || map.has(op.asUser)) continue;
      const isService = actor.serviceUser?.isService || actor.isService;
      if (!isService) throw forbidden('You are not allowed to perform operations as another user');
      const u = await users.loadByName(op.asUser);
      if (!u) throw notFound(`User ${op.asUser} not found`);
      map.set(op.asUser, u);
    }
    return map;
  }

  function failure(op: OperationInput, err: unknown, log?: (e: unknown) => void): OperationResult {
    if (err instanceof AyonError) return { id: op.id, type: op.type, entityType: op.entityType, entityId: op.entityId, success: false, status: err.status, detail: err.message, errorCode: err.errorCode };
    if (isUniqueViolation(err))
      return { id: op.id, type: op.type, entityType: op.entityType, entityId: op.entityId, success: false, status: 409, detail: 'Entity already exists', errorCode: 'unique-violation' };
    log?.(err);
    return { id: op.id, type: op.type, entityType: op.entityType, entityId: op.entityId, success: false, status: 500, detail: 'Internal server error' };
  }

  async function runOne(b: Batch, op: OperationInput, actor: AyonUser): Promise<{ result: OperationResult; events: AyonEventInput[] }> {
    const fn = op.type === 'create' ? create : op.type === 'update' ? update : remove;
    const { id, events: evs } = await fn(b, op, actor);
    return {
      result: { id: op.id, type: op.type, entityType: op.entityType, entityId: id, success: true, status: op.type === 'create' ? 201 : 204 },
      events: evs,
    };
  }

  async function finishBatch(b: Batch, evs: AyonEventInput[], opts: RunOptions) {
    await b.flush();
    if (b.productTypes.size) {
      for (const name of b.productTypes) {
        await b.q.insertInto('ayon_product_types').values({ name, data: '{}' }).onConflict((oc: any) => oc.column('name').doNothing()).execute();
      }
    }
    return events.dispatch(b.trx, evs, { sender: opts.sender, senderType: opts.senderType });
  }

  /**
   * Runs a batch. Returns the per-operation results; with raiseOnError (and canFail=false) the first
   * failure is thrown instead, as the REST endpoints need.
   */
  async function run(actor: AyonActor, projectName: string, ops: OperationInput[], opts: RunOptions = {}, log?: (e: unknown) => void): Promise<OperationsResponse> {
    const project = await projects.resolve(actor, projectName);
    await access.ensureWrite(actor, project.name);
    const asUsers = await resolveActors(actor, ops);
    const snap = await snapshot(project);
    const actorOf = (op: OperationInput): AyonUser => (op.asUser && op.asUser !== actor.name ? asUsers.get(op.asUser)! : actor);
    for (const u of asUsers.values()) await access.ensureWrite({ ...actor, ...u } as AyonActor, project.name);

    if (opts.canFail) {
      const results: OperationResult[] = [];
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i];
        try {
          const records = await db.transaction().execute(async (trx) => {
            const b = new Batch(trx, snap);
            await b.prefetch([op]);
            const { result, events: evs } = await runOne(b, op, actorOf(op));
            results.push(result);
            return finishBatch(b, evs, opts);
          });
          events.publish(records);
        } catch (err) {
          results.push(failure(op, err, log));
        }
        opts.onProgress?.(i + 1, ops.length);
      }
      return { operations: results, success: results.every((r) => r.success) };
    }

    for (let attempt = 0; ; attempt++) {
      const results: OperationResult[] = [];
      let failed: { op: OperationInput; err: unknown } | null = null;
      const rollback = new Error('rollback');
      try {
        const records = await db.transaction().execute(async (trx) => {
          const b = new Batch(trx, snap);
          await b.prefetch(ops);
          const evs: AyonEventInput[] = [];
          for (let i = 0; i < ops.length; i++) {
            const op = ops[i];
            try {
              const r = await runOne(b, op, actorOf(op));
              results.push(r.result);
              evs.push(...r.events);
            } catch (err) {
              failed = { op, err };
              results.push(failure(op, err, log));
              throw rollback;
            }
            opts.onProgress?.(i + 1, ops.length);
          }
          return finishBatch(b, evs, opts);
        });
        events.publish(records);
        return { operations: results, success: true };
      } catch (err) {
        if (err === rollback && failed) {
          const f = failed as { op: OperationInput; err: unknown };
          if (isUniqueViolation(f.err) && attempt < 2) continue; // a concurrent writer won a race: check again
          if (opts.raiseOnError) {
            if (f.err instanceof AyonError) throw f.err;
            const r = results[results.length - 1];
            throw new AyonError(r.status, r.detail ?? 'Operation failed', r.errorCode);
          }
          return { operations: results, success: false };
        }
        if (isUniqueViolation(err) && attempt < 2) continue;
        if (isUniqueViolation(err)) {
          const r: OperationResult = { ...failure(ops[ops.length - 1], err), detail: 'Entity is locked by another operation' };
          if (opts.raiseOnError) throw new AyonError(409, 'Entity is locked by another operation');
          return { operations: [...results, r], success: false };
        }
        throw err;
      }
    }
  }

  return { run, parseOperations };
}

export type OperationsService = ReturnType<typeof createOperationsService>;

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
function describe(type: EntityType, row: Row): string {
  if (type === 'version') return versionLabel(row.version);
  if (type === 'workfile') return row.path;
  if (type === 'folder') return `/${row.path}`;
  return row.name;
}

export { pickInheritable };
