/**
 * AYON projects (ayon.md §5): create/deploy from an anatomy, list, read, patch, delete, rename, and
 * the project's anatomy, roots and per-site root overrides.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Store } from '../../store/db.js';
import type { BlobStore } from '../../store/blobs/index.js';
import type { AyonProjectsTable, Database } from '../../store/schema.js';
import type { IdentityService } from '../identity.js';
import { isUniqueViolation } from '../../store/db.js';
import { AyonError, badRequest, conflict, forbidden, notFound } from './errors.js';
import {
  COLOR_RE,
  ENTITY_TYPES,
  LABEL_RE,
  PROJECT_CODE_RE,
  PROJECT_NAME_RE,
  isEntityType,
  isPlainObject,
  isoTime,
  mergePatch,
  newAyonId,
  parseJson,
} from './rules.js';
import { anatomyToProject, projectToAnatomy, type AnatomyService } from './anatomy.js';
import type { AttributesService } from './attributes.js';
import type { AyonEventInput, AyonEvents } from './events.js';
import type { AyonActor, AyonUsersService } from './users.js';
import { userData } from './users.js';
import type { AccessPolicy } from './access.js';

type Db = Kysely<Database> | Transaction<Database>;

export interface LinkTypeDef {
  name: string;
  linkType: string;
  inputType: string;
  outputType: string;
  data: Record<string, unknown>;
}

export interface Project {
  name: string;
  code: string;
  label: string | null;
  library: boolean;
  active: boolean;
  skeleton: boolean;
  attrib: Record<string, unknown>;
  data: Record<string, unknown>;
  config: Record<string, unknown>;
  folderTypes: Array<Record<string, unknown>>;
  taskTypes: Array<Record<string, unknown>>;
  statuses: Array<Record<string, unknown>>;
  tags: Array<Record<string, unknown>>;
  linkTypes: LinkTypeDef[];
  thumbnailId: string | null;
  createdAt: number;
  updatedAt: number;
}

export function rowToProject(r: AyonProjectsTable, linkTypes: LinkTypeDef[]): Project {
  return {
    name: r.name,
    code: r.code,
    label: r.label,
    library: r.library === 1,
    active: r.active === 1,
    skeleton: r.skeleton === 1,
    attrib: parseJson(r.attrib, {}),
    data: parseJson(r.data, {}),
    config: parseJson(r.config, {}),
    folderTypes: parseJson(r.folder_types, []),
    taskTypes: parseJson(r.task_types, []),
    statuses: parseJson(r.statuses, []),
    tags: parseJson(r.tags, []),
    linkTypes,
    thumbnailId: r.thumbnail_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** The REST ProjectModel. */
export function projectModel(p: Project) {
  return {
    name: p.name,
    code: p.code,
    ...(p.label ? { label: p.label } : {}),
    library: p.library,
    folderTypes: p.folderTypes,
    taskTypes: p.taskTypes,
    linkTypes: p.linkTypes.map((l) => ({ name: l.name, linkType: l.linkType, inputType: l.inputType, outputType: l.outputType, data: l.data })),
    statuses: p.statuses,
    tags: p.tags,
    config: p.config,
    attrib: p.attrib,
    data: p.data,
    active: p.active,
    ...(p.thumbnailId ? { thumbnailId: p.thumbnailId } : {}),
    ownAttrib: Object.keys(p.attrib),
    createdAt: isoTime(p.createdAt),
    updatedAt: isoTime(p.updatedAt),
  };
}

/** The status an entity of this type gets when none is given: the first whose scope includes it. */
export function defaultStatus(p: Project, entityType: string): string | null {
  for (const s of p.statuses) {
    const scope: readonly string[] = Array.isArray(s.scope) ? (s.scope as string[]) : ENTITY_TYPES;
    if (scope.includes(entityType)) return s.name as string;
  }
  return (p.statuses[0]?.name as string | undefined) ?? null;
}

/** code_lower of a project being purged: codes never start with '!' */
const DELETING = '!';

const camelToSnake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function checkTypeList(v: unknown, what: string, extra?: (item: Record<string, unknown>) => void): Array<Record<string, unknown>> {
  if (!Array.isArray(v)) throw badRequest(`${what} must be a list`);
  const seen = new Set<string>();
  return v.map((item) => {
    if (!isPlainObject(item) || typeof item.name !== 'string' || !item.name.trim() || item.name.length > 100)
      throw badRequest(`Every item of ${what} needs a name of 1 to 100 characters`);
    if (seen.has(item.name)) throw badRequest(`Duplicate name "${item.name}" in ${what}`);
    seen.add(item.name);
    if (item.color !== undefined && item.color !== null && (typeof item.color !== 'string' || !COLOR_RE.test(item.color)))
      throw badRequest(`Invalid color in ${what}: ${String(item.color)}`);
    extra?.(item);
    return item;
  });
}

export function createAyonProjectsService(deps: {
  store: Store;
  blobs: BlobStore;
  identity: IdentityService;
  attributes: AttributesService;
  anatomy: AnatomyService;
  events: AyonEvents;
  users: AyonUsersService;
  access: AccessPolicy;
  log?: (e: unknown) => void;
}) {
  const { store, blobs, identity, attributes, anatomy, events, access, log } = deps;
  const { db } = store;

  async function linkTypesOf(q: Db, name: string): Promise<LinkTypeDef[]> {
    const rows = await q.selectFrom('ayon_link_types').selectAll().where('project_name', '=', name).orderBy('position').orderBy('name').execute();
    return rows.map((r) => ({ name: r.name, linkType: r.link_type, inputType: r.input_type, outputType: r.output_type, data: parseJson(r.data, {}) }));
  }

  /** The project by name (case-insensitive), or null. */
  async function find(name: string, q: Db = db): Promise<Project | null> {
    if (typeof name !== 'string' || !name || name.length > 64) return null;
    const r = await q
      .selectFrom('ayon_projects')
      .selectAll()
      .where('name_lower', '=', name.toLowerCase())
      .where('code_lower', 'not like', `${DELETING}%`)
      .executeTakeFirst();
    return r ? rowToProject(r, await linkTypesOf(q, r.name)) : null;
  }

  /** For project routes: resolves the name, checks read access, refuses skeletons (404) unless allowed. */
  async function resolve(actor: AyonActor, name: string, opts: { allowSkeleton?: boolean; q?: Db } = {}): Promise<Project> {
    const p = await find(name, opts.q);
    if (!p) throw notFound(`Project ${name} not found`);
    if (p.skeleton && !opts.allowSkeleton) throw notFound(`Project ${p.name} is a skeleton and cannot be used in this endpoint`);
    access.ensureRead(actor, p.name);
    return p;
  }

  async function list(actor: AyonActor, q: Record<string, unknown>) {
    const bool = (v: unknown) => (v === undefined || v === null || v === '' ? undefined : v === true || v === 'true' || v === '1');
    let sel = db.selectFrom('ayon_projects').selectAll().where('code_lower', 'not like', `${DELETING}%`);
    const active = bool(q.active);
    const library = bool(q.library);
    const skeleton = bool(q.skeleton) ?? false;
    if (active !== undefined) sel = sel.where('active', '=', active ? 1 : 0);
    if (library !== undefined) sel = sel.where('library', '=', library ? 1 : 0);
    if (!skeleton) sel = sel.where('skeleton', '=', 0);
    if (typeof q.name === 'string' && q.name) {
      const pattern = q.name.toLowerCase().replace(/[!_]/g, (c) => `!${c}`);
      sel = sel.where((eb) => eb('name_lower', 'like', pattern.includes('%') ? pattern : `%${pattern}%`));
    }
    const order = q.order === 'createdAt' ? 'created_at' : q.order === 'updatedAt' ? 'updated_at' : 'name_lower';
    const desc = bool(q.desc) === true;
    const rows = (await sel.orderBy(order, desc ? 'desc' : 'asc').execute()).filter((r) => access.canRead(actor, r.name));
    const page = Math.max(1, Number(q.page) || 1);
    const length = Number(q.length) > 0 ? Number(q.length) : undefined;
    const slice = length ? rows.slice((page - 1) * length, page * length) : rows;
    return {
      detail: 'OK',
      count: rows.length,
      projects: slice.map((r) => {
        const data = parseJson<Record<string, unknown>>(r.data, {});
        return {
          name: r.name,
          code: r.code,
          ...(r.label ? { label: r.label } : {}),
          ...(typeof data.color === 'string' ? { color: data.color } : {}),
          active: r.active === 1,
          library: r.library === 1,
          skeleton: r.skeleton === 1,
          pinned: false,
          createdAt: isoTime(r.created_at),
          updatedAt: isoTime(r.updated_at),
        };
      }),
    };
  }

  /** All projects the actor can read, as full models (GraphQL `projects`). */
  async function listFull(actor: AyonActor, opts: { name?: string | null; includeSkeleton?: boolean } = {}): Promise<Project[]> {
    let sel = db.selectFrom('ayon_projects').selectAll().where('code_lower', 'not like', `${DELETING}%`);
    if (opts.name) sel = sel.where('name_lower', '=', opts.name.toLowerCase());
    if (!opts.includeSkeleton) sel = sel.where('skeleton', '=', 0);
    const rows = await sel.orderBy('name').execute();
    const lts = await db.selectFrom('ayon_link_types').selectAll().orderBy('position').orderBy('name').execute();
    return rows
      .filter((r) => access.canRead(actor, r.name))
      .map((r) =>
        rowToProject(
          r,
          lts.filter((l) => l.project_name === r.name).map((l) => ({ name: l.name, linkType: l.link_type, inputType: l.input_type, outputType: l.output_type, data: parseJson(l.data, {}) })),
        ),
      );
  }

  async function insertLinkTypes(q: Db, project: string, linkTypes: LinkTypeDef[]) {
    if (!linkTypes.length) return;
    await q
      .insertInto('ayon_link_types')
      .values(
        linkTypes.map((l, i) => ({
          project_name: project,
          name: l.name,
          link_type: l.linkType,
          input_type: l.inputType,
          output_type: l.outputType,
          data: JSON.stringify(l.data ?? {}),
          position: i,
        })),
      )
      .execute();
  }

  /** POST /api/projects: deploys a project from an anatomy (201, no body). */
  async function create(actor: AyonActor, body: Record<string, unknown>, sender?: { sender?: string | null; senderType?: string | null }) {
    access.ensureManager(actor, 'You are not allowed to create projects');
    const name = body.name;
    const code = body.code;
    if (typeof name !== 'string' || !PROJECT_NAME_RE.test(name) || name.length > 64) throw badRequest(`Invalid project name "${String(name)}"`);
    if (typeof code !== 'string' || !PROJECT_CODE_RE.test(code) || code.length > 64) throw badRequest(`Invalid project code "${String(code)}"`);
    if (body.label !== undefined && body.label !== null && (typeof body.label !== 'string' || !LABEL_RE.test(body.label))) throw badRequest('Invalid project label');
    if (body.color !== undefined && body.color !== null && (typeof body.color !== 'string' || !COLOR_RE.test(body.color))) throw badRequest('Invalid project color');
    const data = isPlainObject(body.data) ? { ...body.data } : {};
    // the client sends `data.skeleton` for create_project(skeleton=True): accepted as an alias
    const skeleton = body.skeleton === true || data.skeleton === true;
    delete data.skeleton;
    if (typeof body.color === 'string') data.color = body.color;

    let preset: Record<string, unknown>;
    if (isPlainObject(body.anatomy)) preset = body.anatomy;
    else if (typeof body.anatomyPreset === 'string' && body.anatomyPreset) preset = await anatomy.get(body.anatomyPreset);
    else preset = await anatomy.get('__primary__');
    const fields = anatomyToProject(preset);
    const attrib = { ...(await attributes.projectDefaults()), ...(await attributes.validate('project', fields.attrib, { patch: false })) };
    if (!fields.statuses.length) throw badRequest('The anatomy defines no statuses');
    if (!fields.folderTypes.length) throw badRequest('The anatomy defines no folder types');

    const existing = await find(name);
    if (!existing && purging.has(name)) throw conflict(`Project ${name} is being deleted; try again shortly`);
    const now = Date.now();
    const values = {
      code,
      code_lower: code.toLowerCase(),
      label: typeof body.label === 'string' ? body.label : null,
      library: body.library === true ? 1 : 0,
      active: 1,
      skeleton: skeleton ? 1 : 0,
      attrib: JSON.stringify(attrib),
      data: JSON.stringify(data),
      config: JSON.stringify(fields.config),
      folder_types: JSON.stringify(fields.folderTypes),
      task_types: JSON.stringify(fields.taskTypes),
      statuses: JSON.stringify(fields.statuses),
      tags: JSON.stringify(fields.tags),
      updated_at: now,
    };
    let records;
    try {
      records = await db.transaction().execute(async (trx) => {
        if (existing) {
          // posting the name of a skeleton project as a full project promotes it
          if (!(existing.skeleton && !skeleton)) throw conflict(`Project ${existing.name} (${existing.code}) already exists`);
          await trx.updateTable('ayon_projects').set(values).where('name', '=', existing.name).execute();
          await trx.deleteFrom('ayon_link_types').where('project_name', '=', existing.name).execute();
          await insertLinkTypes(trx, existing.name, fields.linkTypes);
        } else {
          const codeClash = await trx.selectFrom('ayon_projects').select(['name', 'code']).where('code_lower', '=', code.toLowerCase()).executeTakeFirst();
          if (codeClash) throw conflict(`Project ${codeClash.name} (${codeClash.code}) already exists`);
          await trx.insertInto('ayon_projects').values({ name, name_lower: name.toLowerCase(), created_at: now, thumbnail_id: null, ...values }).execute();
          await insertLinkTypes(trx, name, fields.linkTypes);
        }
        return events.dispatch(trx, [{ topic: 'entity.project.created', project: name, user: actor.name, description: `Created project ${name}` }], sender);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`Project ${name} (${code}) already exists`);
      throw err;
    }
    events.publish(records);
    if (body.assignUsers !== false) await assignDefaultUsers(name);
  }

  async function assignDefaultUsers(project: string) {
    for (const r of await identity.listUserRecords()) {
      const ayon = userData(r);
      if (!ayon.defaultAccessGroups?.length || r.role === 'admin' || r.isService || ayon.isManager) continue;
      const groups = { ...(ayon.accessGroups ?? {}), [project]: ayon.defaultAccessGroups };
      await identity.setUserFaceFields(r.id, { data: { ...r.data, ayon: { ...ayon, accessGroups: groups } } });
    }
  }

  /** Entity tables with a column holding a project type name (for renames and in-use checks). */
  const TYPE_COLUMNS = {
    folderTypes: [['ayon_folders', 'folder_type']],
    taskTypes: [['ayon_tasks', 'task_type']],
    statuses: ENTITY_TYPES.map((t) => [`ayon_${t}s`, 'status']),
  } as const;

  /** Applies a new type list: renames through `original_name`, refuses to drop a type in use. */
  async function replaceTypes(trx: Transaction<Database>, project: string, key: keyof typeof TYPE_COLUMNS, oldList: Array<Record<string, unknown>>, newList: Array<Record<string, unknown>>) {
    const newNames = new Set(newList.map((t) => t.name as string));
    const renamed = new Map<string, string>();
    for (const t of newList) {
      const orig = t.original_name;
      if (typeof orig === 'string' && orig !== t.name && oldList.some((o) => o.name === orig)) renamed.set(orig, t.name as string);
      t.original_name = t.name;
    }
    for (const [from, to] of renamed) {
      for (const [table, column] of TYPE_COLUMNS[key]) {
        await (trx as Kysely<any>).updateTable(table).set({ [column]: to }).where('project_name', '=', project).where(column, '=', from).execute();
      }
    }
    for (const o of oldList) {
      const n = o.name as string;
      if (newNames.has(n) || renamed.has(n)) continue;
      for (const [table, column] of TYPE_COLUMNS[key]) {
        const used = await (trx as Kysely<any>).selectFrom(table).select('id').where('project_name', '=', project).where(column, '=', n).limit(1).executeTakeFirst();
        if (used) throw conflict(`Cannot remove ${key === 'statuses' ? 'status' : key === 'folderTypes' ? 'folder type' : 'task type'} "${n}": it is in use`);
      }
    }
  }

  function parseLinkTypes(v: unknown): LinkTypeDef[] {
    if (!Array.isArray(v)) throw badRequest('linkTypes must be a list');
    const out: LinkTypeDef[] = [];
    for (const l of v) {
      if (!isPlainObject(l)) throw badRequest('Invalid link type');
      let linkType = (l.linkType ?? l.link_type) as unknown;
      let inputType = (l.inputType ?? l.input_type) as unknown;
      let outputType = (l.outputType ?? l.output_type) as unknown;
      if (typeof l.name === 'string' && l.name.split('|').length === 3) [linkType, inputType, outputType] = l.name.split('|');
      if (typeof linkType !== 'string' || !linkType || !isEntityType(inputType) || !isEntityType(outputType)) throw badRequest('Invalid link type');
      const { name: _n, linkType: _a, inputType: _b, outputType: _c, link_type: _d, input_type: _e, output_type: _f, data, ...rest } = l;
      const name = `${linkType}|${inputType}|${outputType}`;
      if (out.some((x) => x.name === name)) throw badRequest(`Duplicate link type ${name}`);
      out.push({ name, linkType, inputType, outputType, data: { ...rest, ...(isPlainObject(data) ? data : {}) } });
    }
    return out;
  }

  /** PATCH /api/projects/{p} (204). Dicts are merged one level (null deletes), lists replaced. */
  async function update(actor: AyonActor, name: string, body: Record<string, unknown>, sender?: { sender?: string | null; senderType?: string | null }) {
    const p = await resolve(actor, name, { allowSkeleton: true });
    access.ensureManager(actor, 'You are not allowed to modify projects');
    const set: Partial<AyonProjectsTable> = {};
    const changed: string[] = [];
    const ev: AyonEventInput[] = [];
    if (body.library !== undefined) {
      if (typeof body.library !== 'boolean') throw badRequest('library must be a boolean');
      set.library = body.library ? 1 : 0;
      changed.push('library');
    }
    if (body.active !== undefined) {
      if (typeof body.active !== 'boolean') throw badRequest('active must be a boolean');
      set.active = body.active ? 1 : 0;
      changed.push('active');
    }
    if (body.code !== undefined) {
      if (typeof body.code !== 'string' || !PROJECT_CODE_RE.test(body.code)) throw badRequest(`Invalid project code "${String(body.code)}"`);
      set.code = body.code;
      set.code_lower = body.code.toLowerCase();
      changed.push('code');
    }
    if (body.label !== undefined) {
      if (body.label !== null && (typeof body.label !== 'string' || !LABEL_RE.test(body.label))) throw badRequest('Invalid project label');
      set.label = body.label as string | null;
      changed.push('label');
    }
    let attrib = p.attrib;
    if (body.attrib !== undefined) {
      const patch = await attributes.validate('project', body.attrib, { patch: true });
      attrib = mergePatch(p.attrib, patch);
      // a null reverts to the attribute's default
      const defaults = await attributes.projectDefaults();
      for (const [k, v] of Object.entries(patch)) if (v === null && defaults[k] !== undefined) attrib[k] = defaults[k];
      set.attrib = JSON.stringify(attrib);
      changed.push('attrib');
    }
    if (body.data !== undefined) {
      if (!isPlainObject(body.data)) throw badRequest('data must be an object');
      set.data = JSON.stringify(mergePatch(p.data, body.data));
      changed.push('data');
    }
    if (body.config !== undefined) {
      if (!isPlainObject(body.config)) throw badRequest('config must be an object');
      set.config = JSON.stringify(mergePatch(p.config, body.config));
      changed.push('config');
    }
    const folderTypes = body.folderTypes !== undefined ? checkTypeList(body.folderTypes, 'folderTypes') : null;
    const taskTypes = body.taskTypes !== undefined ? checkTypeList(body.taskTypes, 'taskTypes') : null;
    const statuses =
      body.statuses !== undefined
        ? checkTypeList(body.statuses, 'statuses', (s) => {
            if (s.scope !== undefined && s.scope !== null && (!Array.isArray(s.scope) || s.scope.some((x) => !isEntityType(x)))) throw badRequest('Invalid status scope');
          })
        : null;
    const tags = body.tags !== undefined ? checkTypeList(body.tags, 'tags') : null;
    const linkTypes = body.linkTypes !== undefined ? parseLinkTypes(body.linkTypes) : null;
    if (folderTypes && !folderTypes.length) throw badRequest('A project needs at least one folder type');
    if (statuses && !statuses.length) throw badRequest('A project needs at least one status');

    const records = await db.transaction().execute(async (trx) => {
      if (folderTypes) {
        await replaceTypes(trx, p.name, 'folderTypes', p.folderTypes, folderTypes);
        set.folder_types = JSON.stringify(folderTypes);
        changed.push('folderTypes');
      }
      if (taskTypes) {
        await replaceTypes(trx, p.name, 'taskTypes', p.taskTypes, taskTypes);
        set.task_types = JSON.stringify(taskTypes);
        changed.push('taskTypes');
      }
      if (statuses) {
        await replaceTypes(trx, p.name, 'statuses', p.statuses, statuses);
        set.statuses = JSON.stringify(statuses);
        changed.push('statuses');
      }
      if (tags) {
        set.tags = JSON.stringify(tags.map((t) => ({ ...t, original_name: t.name })));
        changed.push('tags');
      }
      if (linkTypes) {
        const keep = linkTypes.map((l) => l.name);
        let del = trx.deleteFrom('ayon_links').where('project_name', '=', p.name);
        if (keep.length) del = del.where('link_type', 'not in', keep);
        await del.execute();
        await trx.deleteFrom('ayon_link_types').where('project_name', '=', p.name).execute();
        await insertLinkTypes(trx, p.name, linkTypes);
        changed.push('linkTypes');
      }
      set.updated_at = Date.now();
      try {
        await trx.updateTable('ayon_projects').set(set).where('name', '=', p.name).execute();
      } catch (err) {
        if (isUniqueViolation(err)) throw conflict(`Project code ${String(body.code)} is already in use`);
        throw err;
      }
      const kind = p.skeleton ? 'project_skeleton' : 'project';
      for (const c of changed) ev.push({ topic: `entity.${kind}.${camelToSnake(c)}_changed`, project: p.name, user: actor.name, summary: { entityName: p.name }, description: `Project ${p.name} ${c} changed` });
      ev.push({ topic: `entity.${kind}.changed`, project: p.name, user: actor.name, summary: { entityName: p.name }, description: `Project ${p.name} changed` });
      return events.dispatch(trx, ev, sender);
    });
    events.publish(records);
  }

  /**
   * DELETE /api/projects/{p} (204). The project disappears at once (its code is freed, its name stays
   * reserved); its entities, files and thumbnails are purged in the background in chunks, so a
   * project of hundreds of thousands of entities answers well within the client's 10 s timeout.
   */
  async function remove(actor: AyonActor, name: string, sender?: { sender?: string | null; senderType?: string | null }) {
    const p = await find(name);
    if (!p) throw notFound(`Project ${name} not found`);
    access.ensureManager(actor, 'You are not allowed to delete projects');
    const records = await db.transaction().execute(async (trx) => {
      await trx.updateTable('ayon_projects').set({ code_lower: `${DELETING}${newAyonId().slice(0, 16)}`, active: 0, updated_at: Date.now() }).where('name', '=', p.name).execute();
      return events.dispatch(trx, [{ topic: 'entity.project.deleted', project: p.name, user: actor.name, description: `Deleted project ${p.name}` }], sender);
    });
    events.publish(records);
    startPurge(p.name);
    // unassign users
    for (const r of await identity.listUserRecords()) {
      const ayon = userData(r);
      const groups = ayon.accessGroups ?? {};
      const key = Object.keys(groups).find((k) => k.toLowerCase() === p.name.toLowerCase());
      if (!key) continue;
      const { [key]: _gone, ...rest } = groups;
      await identity.setUserFaceFields(r.id, { data: { ...r.data, ayon: { ...ayon, accessGroups: rest } } });
    }
  }

  const purging = new Map<string, Promise<void>>();
  const PURGE_CHUNK = 5000;

  /** Deletes what a deleted project held, chunk by chunk, then the project row itself. */
  async function purge(name: string): Promise<void> {
    const keys = [
      ...(await db.selectFrom('ayon_thumbnails').select('blob_key').where('project_name', '=', name).execute()),
      ...(await db.selectFrom('ayon_files').select('blob_key').where('project_name', '=', name).execute()),
    ].map((r) => r.blob_key);
    for (const t of ['ayon_links', 'ayon_representations', 'ayon_workfiles', 'ayon_versions', 'ayon_products', 'ayon_tasks', 'ayon_folders'] as const) {
      for (;;) {
        const res = await sql`DELETE FROM ${sql.table(t)} WHERE project_name = ${name} AND seq IN (SELECT seq FROM ${sql.table(t)} WHERE project_name = ${name} LIMIT ${PURGE_CHUNK})`.execute(db);
        if (Number(res.numAffectedRows ?? 0) < PURGE_CHUNK) break;
      }
    }
    await db.transaction().execute(async (trx) => {
      for (const t of ['ayon_link_types', 'ayon_thumbnails', 'ayon_files'] as const) await trx.deleteFrom(t).where('project_name', '=', name).execute();
      await trx.deleteFrom('ayon_projects').where('name', '=', name).where('code_lower', 'like', `${DELETING}%`).execute();
    });
    for (const k of keys) await blobs.delete(k).catch(() => undefined);
  }

  function startPurge(name: string) {
    if (purging.has(name)) return;
    const job = purge(name)
      .catch((err) => log?.(err))
      .finally(() => purging.delete(name));
    purging.set(name, job);
  }

  /** At start: finishes the purges an earlier process left. */
  async function resumePurges(): Promise<void> {
    const rows = await db.selectFrom('ayon_projects').select('name').where('code_lower', 'like', `${DELETING}%`).execute();
    for (const r of rows) startPurge(r.name);
  }

  /** Waits for running purges (shutdown, tests). */
  async function drain(): Promise<void> {
    await Promise.allSettled([...purging.values()]);
  }

  /** POST /api/projects/{p}/rename {name, code?}. */
  async function rename(actor: AyonActor, name: string, body: Record<string, unknown>) {
    const p = await resolve(actor, name, { allowSkeleton: true });
    access.ensureManager(actor, 'You are not allowed to rename projects');
    const newName = body.name;
    if (typeof newName !== 'string' || !PROJECT_NAME_RE.test(newName) || newName.length > 64) throw badRequest(`Invalid project name "${String(newName)}"`);
    const code = body.code;
    if (code !== undefined && code !== null && (typeof code !== 'string' || !PROJECT_CODE_RE.test(code))) throw badRequest('Invalid project code');
    if (newName.toLowerCase() !== p.name.toLowerCase() && (await find(newName))) throw conflict(`Project ${newName} already exists`);
    try {
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable('ayon_projects')
          .set({ name: newName, name_lower: newName.toLowerCase(), ...(typeof code === 'string' ? { code, code_lower: code.toLowerCase() } : {}), updated_at: Date.now() })
          .where('name', '=', p.name)
          .execute();
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict('Project name or code already in use');
      throw err;
    }
  }

  async function getAnatomy(actor: AyonActor, name: string) {
    const p = await resolve(actor, name, { allowSkeleton: true });
    return projectToAnatomy(p);
  }

  /** POST /api/projects/{p}/anatomy: applies a whole anatomy to an existing project (204). */
  async function setAnatomy(actor: AyonActor, name: string, anatomyBody: unknown) {
    if (!isPlainObject(anatomyBody)) throw badRequest('Anatomy must be an object');
    const f = anatomyToProject(anatomyBody);
    await update(actor, name, {
      folderTypes: f.folderTypes,
      taskTypes: f.taskTypes,
      statuses: f.statuses,
      tags: f.tags,
      linkTypes: f.linkTypes.map((l) => ({ linkType: l.linkType, inputType: l.inputType, outputType: l.outputType, data: l.data })),
      attrib: f.attrib,
      config: f.config,
    });
  }

  /** GET /api/projects/{p}/roots: the caller's root overrides, per site. */
  async function rootOverrides(actor: AyonActor, name: string) {
    const p = await resolve(actor, name, { allowSkeleton: true });
    const all = actor.ayon.roots ?? {};
    return all[p.name] ?? {};
  }

  async function setRootOverrides(actor: AyonActor, name: string, siteId: string, roots: unknown) {
    const p = await resolve(actor, name, { allowSkeleton: true });
    if (!isPlainObject(roots)) throw badRequest('Roots must be an object');
    if (!/^[a-zA-Z0-9_.\-]{1,128}$/.test(siteId)) throw badRequest('Invalid site id');
    const r = await identity.getUserRecord(actor.id);
    if (!r) throw forbidden();
    const ayon = userData(r);
    const all = { ...(ayon.roots ?? {}) };
    const site: Record<string, string> = { ...(all[p.name]?.[siteId] ?? {}) };
    for (const [k, v] of Object.entries(roots)) {
      if (v === null || v === '') delete site[k];
      else if (typeof v === 'string') site[k] = v;
      else throw badRequest('Root paths must be strings');
    }
    all[p.name] = { ...(all[p.name] ?? {}), [siteId]: site };
    await identity.setUserFaceFields(actor.id, { data: { ...r.data, ayon: { ...ayon, roots: all } } });
  }

  /** GET /api/projects/{p}/siteRoots?site_id=… | platform=…: root name → path. */
  async function siteRoots(actor: AyonActor, name: string, q: { siteId?: string; platform?: string }) {
    const p = await resolve(actor, name, { allowSkeleton: true });
    const roots = isPlainObject(p.config.roots) ? p.config.roots : {};
    let platform = q.platform;
    if (!platform && !q.siteId) throw badRequest('Either site_id or platform must be given');
    if (platform && !['windows', 'linux', 'darwin'].includes(platform)) throw badRequest('platform must be windows, linux or darwin');
    platform ??= 'linux';
    const out: Record<string, string> = {};
    for (const [rootName, v] of Object.entries(roots)) if (isPlainObject(v) && typeof v[platform] === 'string') out[rootName] = v[platform] as string;
    if (q.siteId) {
      const overrides = (actor.ayon.roots ?? {})[p.name]?.[q.siteId] ?? {};
      Object.assign(out, overrides);
    }
    return out;
  }

  return {
    find,
    resolve,
    resumePurges,
    drain,
    list,
    listFull,
    create,
    update,
    remove,
    rename,
    getAnatomy,
    setAnatomy,
    rootOverrides,
    setRootOverrides,
    siteRoots,
    linkTypesOf,
  };
}

export type AyonProjectsService = ReturnType<typeof createAyonProjectsService>;
export { AyonError };
