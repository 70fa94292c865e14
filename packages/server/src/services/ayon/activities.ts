/**
 * AYON activities (ayon.md §12): comments with mentions, references, reactions, watchers, activity
 * categories, mention suggestions, attached project files, the activity batch operations and the
 * activity feed GraphQL reads.
 *
 * An activity belongs to one entity (its `origin` reference). Creating one also records:
 * - the `author` reference (the user who wrote it),
 * - `mention` references parsed from the markdown body (`[label](task:<id>)`, `[label](user:<name>)`;
 *   a user mention of a project team mentions every member),
 * - `watching` references for the entity's watchers and `relation` references for the entity's
 *   neighbourhood (task assignees and versions, a folder's task assignees, a version's author, task
 *   and task assignees),
 * first one wins when the same thing is referenced twice. Everything of one request (the activity,
 * its references, files linked to it, the watch activity of a first-time commenter, the
 * `activity.*` events) is written in one transaction; the events are published after the commit.
 */
import type { Kysely, Transaction } from 'kysely';
import { sql } from 'kysely';
import type { Database } from '../../store/schema.js';
import { isUniqueViolation } from '../../store/db.js';
import type { AyonCoreDeps } from './index.js';
import type { AyonActor, AyonUser } from './users.js';
import type { AyonEventInput, AyonEventRecord } from './events.js';
import type { Project } from './projects.js';
import { AyonError, badRequest, conflict, forbidden, notFound } from './errors.js';
import { ENTITY_NAME_RE, isEntityType, isPlainObject, isoTime, jsonListLike, newAyonId, normalizeId, parseJson, versionName, type EntityType } from './rules.js';
import { TABLES, workfileName } from './entity-models.js';
import { projectGroups } from './access.js';

type Db = Kysely<Database> | Transaction<Database>;

export const ACTIVITY_TYPES = ['comment', 'watch', 'reviewable', 'status.change', 'assignee.add', 'assignee.remove', 'version.publish', 'version.review', 'attrib.change'] as const;
export const REFERENCE_TYPES = ['origin', 'mention', 'author', 'relation', 'watching'] as const;
const REFERENCED_TYPES = new Set(['activity', 'user', 'folder', 'task', 'product', 'version', 'representation', 'workfile', 'team']);
/** activity.* events of these are broadcast but not stored (they already come from stored events). */
const DO_NOT_TRACK = new Set(['status.change', 'assignee.add', 'assignee.remove', 'version.publish']);
export const MAX_BODY_LENGTH = 2000;
/** markdown links, not images */
const LINK_RE = /(?<!!)\[(.*?)\]\((.*?)\)/g;
const CHECKLIST_RE = /^\s*[-*]\s*\[[ xX]\]/m;
const NAME_LIST_RE = /^[a-zA-Z0-9_.\-]+$/;

/** Access levels of activity categories (AYON's EntityAccessHelper). */
export const ACCESS = { none: 0, read: 10, update: 20, manage: 30 } as const;

export interface ActivityRef {
  referenceType: string;
  entityType: string;
  entityId: string | null;
  entityName: string | null;
  data: Record<string, unknown>;
}

interface ActivityRow {
  seq: number;
  project_name: string;
  id: string;
  activity_type: string;
  body: string;
  tags: string;
  data: string;
  author: string | null;
  category: string | null;
  created_at: number;
  updated_at: number;
}

/** One row of the feed: a reference joined with its activity. */
export interface FeedRow {
  refSeq: number;
  referenceId: string;
  referenceType: string;
  entityType: string;
  entityId: string | null;
  entityName: string | null;
  referenceData: Record<string, unknown>;
  active: boolean;
  createdAt: number;
  updatedAt: number;
  activityId: string;
  activityType: string;
  body: string;
  tags: string[];
  activityData: Record<string, unknown>;
  projectName: string;
}

export interface FeedArgs {
  activityIds?: string[] | null;
  activityTypes?: string[] | null;
  entityIds?: string[] | null;
  entityNames?: string[] | null;
  entityType?: string | null;
  changedAfter?: string | null;
  changedBefore?: string | null;
  referenceTypes?: string[] | null;
  tags?: string[] | null;
  categories?: Array<string | null> | null;
  authors?: string[] | null;
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

const refKey = (r: { entityType: string; entityId: string | null; entityName: string | null }) => `${r.entityType}:${r.entityId ?? r.entityName ?? ''}`;

function parseTime(v: unknown, what: string): number {
  if (typeof v !== 'string' || !v.trim()) throw badRequest(`Invalid ${what}`);
  const s = v.trim();
  // ISO-8601 (AYON parses with datetime.fromisoformat); a missing offset means UTC
  const withZone = /[zZ]|[+-]\d\d:?\d\d$/.test(s) || !/T|\s\d/.test(s) ? s : `${s}Z`;
  const ms = Date.parse(withZone.replace(' ', 'T'));
  if (!Number.isFinite(ms)) throw badRequest(`Invalid ${what}: ${v}`);
  return ms;
}

function stringList(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw badRequest(`${what} must be a list of strings`);
  return v as string[];
}

function encodeFeedCursor(createdAt: number, seq: number): string {
  return Buffer.from(JSON.stringify([createdAt, seq])).toString('base64');
}

function decodeFeedCursor(c: string | null | undefined): [number, number] | null {
  if (c === null || c === undefined || c === '') return null;
  try {
    const v = JSON.parse(Buffer.from(c, 'base64').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && Number.isInteger(v[0]) && Number.isInteger(v[1])) return [v[0], v[1]];
  } catch {
    /* fall through */
  }
  throw badRequest('Invalid cursor');
}

/** Whether two bodies differ only in the state of their checkboxes (what non-authors may change). */
function onlyCheckboxesChanged(a: string, b: string): boolean {
  const unify = (t: string) => t.replace(/\s*\[[ xX]\]\s*/g, '[checkbox]');
  return unify(a) === unify(b);
}

export function createActivitiesService(core: AyonCoreDeps) {
  const { store, projects, users, events, bus } = core;
  const { db } = store;

  // ------------------------------------------------------------------------------ helpers

  /** Project teams (project.data.teams: [{name, members: [{name}]}]). */
  function teamsOf(p: Project): Array<{ name: string; members: string[] }> {
    const teams = p.data.teams;
    if (!Array.isArray(teams)) return [];
    return teams
      .filter((t): t is Record<string, unknown> => isPlainObject(t) && typeof t.name === 'string')
      .map((t) => ({
        name: t.name as string,
        members: Array.isArray(t.members) ? (t.members as unknown[]).map((m) => (isPlainObject(m) ? m.name : m)).filter((m): m is string => typeof m === 'string') : [],
      }));
  }

  /** Mentions in a markdown body, as references. */
  function extractMentions(body: string, p: Project): ActivityRef[] {
    const out: ActivityRef[] = [];
    const seen = new Set<string>();
    const teams = new Map(teamsOf(p).map((t) => [t.name, t.members]));
    const add = (r: ActivityRef) => {
      const k = refKey(r);
      if (!seen.has(k)) {
        seen.add(k);
        out.push(r);
      }
    };
    for (const m of body.matchAll(LINK_RE)) {
      const parts = m[2].split(':');
      if (parts.length !== 2) continue;
      const [type, target] = parts;
      if (!REFERENCED_TYPES.has(type) || !target) continue;
      if (type === 'user' || type === 'team') {
        const members = teams.get(target);
        if (members && type === 'user') for (const u of members) add({ referenceType: 'mention', entityType: 'user', entityId: null, entityName: u, data: {} });
        else if (type === 'user') add({ referenceType: 'mention', entityType: 'user', entityId: null, entityName: target, data: {} });
        else add({ referenceType: 'mention', entityType: 'team', entityId: null, entityName: target, data: {} });
        continue;
      }
      const id = normalizeId(target);
      if (!id) continue; // not an entity id: AYON would fail on it; we skip it
      add({ referenceType: 'mention', entityType: type, entityId: id, entityName: null, data: {} });
    }
    return out;
  }

  async function loadEntity(q: Db, project: string, type: EntityType, idRaw: unknown): Promise<Record<string, any>> {
    const id = normalizeId(idRaw);
    if (!id) throw badRequest(`Invalid ${type} id`);
    const row = await (q as any).selectFrom(TABLES[type]).selectAll().where('project_name', '=', project).where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound(`${type.charAt(0).toUpperCase()}${type.slice(1)} ${id} not found`);
    return row;
  }

  function entityName(type: EntityType, row: Record<string, any>): string {
    if (type === 'version') return versionName(row.version);
    if (type === 'workfile') return workfileName(row.path);
    return row.name;
  }

  /** data.origin of an activity on this entity. */
  function originOf(type: EntityType, row: Record<string, any>): Record<string, unknown> {
    const o: Record<string, unknown> = { type, id: row.id, name: entityName(type, row) };
    if (type === 'task') o.subtype = row.task_type;
    else if (type === 'folder') o.subtype = row.folder_type;
    else if (type === 'product') o.subtype = row.product_type;
    if (type === 'folder' || type === 'task') o.label = row.label ?? null;
    return o;
  }

  /** data.parents: a task's folder; a version's folder and product. */
  async function parentsOf(q: Db, project: string, type: EntityType, row: Record<string, any>): Promise<Array<Record<string, unknown>>> {
    const folderItem = (f: Record<string, any>) => ({ type: 'folder', subtype: f.folder_type, id: f.id, name: f.name, label: f.label ?? null });
    if (type === 'task') {
      const f = await q.selectFrom('ayon_folders').selectAll().where('project_name', '=', project).where('id', '=', row.folder_id).executeTakeFirst();
      return f ? [folderItem(f)] : [];
    }
    if (type === 'version') {
      const pr = await q.selectFrom('ayon_products').selectAll().where('project_name', '=', project).where('id', '=', row.product_id).executeTakeFirst();
      if (!pr) return [];
      const f = await q.selectFrom('ayon_folders').selectAll().where('project_name', '=', project).where('id', '=', pr.folder_id).executeTakeFirst();
      return [...(f ? [folderItem(f)] : []), { type: 'product', subtype: pr.product_type, id: pr.id, name: pr.name }];
    }
    return [];
  }

  /** relation references: who and what an activity on this entity concerns. */
  async function relationsOf(q: Db, project: string, type: EntityType, row: Record<string, any>): Promise<ActivityRef[]> {
    const out: ActivityRef[] = [];
    const assignee = (name: string): ActivityRef => ({ referenceType: 'relation', entityType: 'user', entityId: null, entityName: name, data: { role: 'assignee' } });
    if (type === 'folder') {
      const tasks = await q.selectFrom('ayon_tasks').select('assignees').where('project_name', '=', project).where('folder_id', '=', row.id).execute();
      for (const t of tasks) for (const a of parseJson<string[]>(t.assignees, [])) out.push(assignee(a));
    } else if (type === 'task') {
      for (const a of parseJson<string[]>(row.assignees, [])) out.push(assignee(a));
      const versions = await q.selectFrom('ayon_versions').select('id').where('project_name', '=', project).where('task_id', '=', row.id).orderBy('seq').execute();
      for (const v of versions) out.push({ referenceType: 'relation', entityType: 'version', entityId: v.id, entityName: null, data: {} });
    } else if (type === 'version') {
      if (row.author) out.push({ referenceType: 'relation', entityType: 'user', entityId: null, entityName: row.author, data: { role: 'author' } });
      if (row.task_id) {
        out.push({ referenceType: 'relation', entityType: 'task', entityId: row.task_id, entityName: null, data: {} });
        const t = await q.selectFrom('ayon_tasks').select('assignees').where('project_name', '=', project).where('id', '=', row.task_id).executeTakeFirst();
        for (const a of parseJson<string[]>(t?.assignees, [])) out.push(assignee(a));
      }
    }
    return out;
  }

  /** Users watching an entity: the `watcher` of its watch activities, in the order they started. */
  async function watcherList(q: Db, project: string, type: string, id: string): Promise<string[]> {
    const rows = await q
      .selectFrom('ayon_activity_refs as r')
      .innerJoin('ayon_activities as a', (j) => j.onRef('a.project_name', '=', 'r.project_name').onRef('a.id', '=', 'r.activity_id'))
      .select(['a.data'])
      .where('r.project_name', '=', project)
      .where('r.reference_type', '=', 'origin')
      .where('r.entity_type', '=', type)
      .where('r.entity_id', '=', id)
      .where('a.activity_type', '=', 'watch')
      .orderBy('a.seq')
      .execute();
    const out: string[] = [];
    for (const r of rows) {
      const w = parseJson<Record<string, unknown>>(r.data, {}).watcher;
      if (typeof w === 'string' && !out.includes(w)) out.push(w);
    }
    return out;
  }

  /** Files of the project with these ids, as data.files items (unknown ids are left out, as AYON). */
  async function filesInfo(q: Db, project: string, ids: string[]): Promise<Array<Record<string, unknown>>> {
    const norm = ids.map((i) => normalizeId(i)).filter((i): i is string => !!i);
    if (!norm.length) return [];
    const rows = await q.selectFrom('ayon_files').selectAll().where('project_name', '=', project).where('id', 'in', norm).execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    return norm
      .filter((id, i) => byId.has(id) && norm.indexOf(id) === i)
      .map((id) => {
        const r = byId.get(id)!;
        return { id: r.id, size: Number(r.size), author: r.author, filename: r.filename, mime: r.mime, created_at: isoTime(r.created_at), updated_at: isoTime(r.updated_at) };
      });
  }

  /** Activity categories of the project (project.config.activityCategories), with the caller's access level. */
  function categoriesOf(p: Project, actor: AyonUser): Array<Record<string, unknown>> {
    const raw = p.config.activityCategories ?? p.data.activityCategories;
    if (!Array.isArray(raw)) return [];
    const out: Array<Record<string, unknown>> = [];
    for (const c of raw) {
      if (!isPlainObject(c) || typeof c.name !== 'string') continue;
      let level: number;
      if (actor.isManager) level = ACCESS.manage;
      else if (!isPlainObject(c.access)) level = ACCESS.update;
      else {
        const acc = c.access as Record<string, unknown>;
        const groups = projectGroups(actor as AyonActor, p.name);
        const levels = [acc[actor.name], acc[`user:${actor.name}`], acc['*'], ...groups.map((g) => acc[`group:${g}`])].filter((v): v is number => typeof v === 'number');
        level = levels.length ? Math.max(...levels) : ACCESS.none;
      }
      if (level < ACCESS.read) continue;
      const item: Record<string, unknown> = { ...c, accessLevel: level };
      if (actor.isGuest) delete item.access;
      out.push(item);
    }
    return out;
  }

  const accessibleCategories = (p: Project, actor: AyonUser, level: number) =>
    categoriesOf(p, actor)
      .filter((c) => (c.accessLevel as number) >= level)
      .map((c) => c.name as string);

  function summaryOf(activityId: string, activityType: string, refs: ActivityRef[]) {
    return {
      activity_id: activityId,
      activity_type: activityType,
      references: refs.filter((r) => r.entityId).map((r) => ({ entity_id: r.entityId, entity_type: r.entityType, reference_type: r.referenceType })),
    };
  }

  /** What one request collects: events to store with the change, and events only to broadcast. */
  interface Unit {
    q: Transaction<Database>;
    stored: AyonEventInput[];
    volatile: AyonEventInput[];
  }

  function eventFor(activityType: string, e: AyonEventInput): { store: boolean; event: AyonEventInput } {
    return { store: !DO_NOT_TRACK.has(activityType), event: e };
  }

  function pushEvent(u: Unit, activityType: string, e: AyonEventInput) {
    const { store: keep, event } = eventFor(activityType, e);
    (keep ? u.stored : u.volatile).push(event);
  }

  /** Runs `fn` in one transaction, then publishes its events. */
  async function inUnit<T>(ctx: { sender?: string | null; senderType?: string | null }, fn: (u: Unit) => Promise<T>): Promise<T> {
    const { result, records, volatile } = await db.transaction().execute(async (trx) => {
      const u: Unit = { q: trx, stored: [], volatile: [] };
      const result = await fn(u);
      const records = await events.dispatch(trx, u.stored, ctx);
      return { result, records, volatile: u.volatile };
    });
    events.publish(records);
    publishVolatile(volatile, ctx);
    return result;
  }

  function publishVolatile(list: AyonEventInput[], ctx: { sender?: string | null; senderType?: string | null }) {
    const now = Date.now();
    for (const e of list) {
      const id = newAyonId();
      const r: AyonEventRecord = {
        id,
        hash: id,
        topic: e.topic,
        project: e.project ?? null,
        user: e.user ?? null,
        sender: e.sender ?? ctx.sender ?? null,
        senderType: e.senderType ?? ctx.senderType ?? null,
        dependsOn: null,
        status: 'finished',
        description: e.description ?? '',
        summary: e.summary ?? {},
        payload: e.payload ?? {},
        createdAt: now,
        updatedAt: now,
      };
      bus.publish('ayon.event', r);
    }
  }

  async function insertRefs(q: Db, project: string, activityId: string, refs: ActivityRef[], at: number) {
    if (!refs.length) return;
    const rows = refs.map((r) => ({
      project_name: project,
      id: newAyonId(),
      activity_id: activityId,
      reference_type: r.referenceType,
      entity_type: r.entityType,
      entity_id: r.entityId,
      entity_name: r.entityName,
      ref_key: r.entityId ?? r.entityName ?? '',
      active: 1,
      data: JSON.stringify(r.data ?? {}),
      created_at: at,
      updated_at: at,
    }));
    for (let i = 0; i < rows.length; i += 200) await q.insertInto('ayon_activity_refs').values(rows.slice(i, i + 200)).execute();
  }

  async function activityRow(q: Db, project: string, idRaw: unknown): Promise<ActivityRow> {
    const id = normalizeId(idRaw);
    const row = id ? await q.selectFrom('ayon_activities').selectAll().where('project_name', '=', project).where('id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw notFound('Activity not found');
    return row as ActivityRow;
  }

  async function refsOf(q: Db, project: string, activityId: string): Promise<Array<ActivityRef & { id: string }>> {
    const rows = await q.selectFrom('ayon_activity_refs').selectAll().where('project_name', '=', project).where('activity_id', '=', activityId).orderBy('seq').execute();
    return rows.map((r) => ({ id: r.id, referenceType: r.reference_type, entityType: r.entity_type, entityId: r.entity_id, entityName: r.entity_name, data: parseJson(r.data, {}) }));
  }

  // ------------------------------------------------------------------------------ create

  interface CreateInput {
    activityType: string;
    id?: string | null;
    body: string;
    tags: string[];
    files: string[] | null;
    timestamp: number | null;
    data: Record<string, unknown>;
  }

  /** Validates a create body (REST and batch operations). */
  function parseCreate(actor: AyonActor, body: Record<string, unknown>): CreateInput {
    const t = body.activityType;
    if (typeof t !== 'string' || !(ACTIVITY_TYPES as readonly string[]).includes(t)) throw badRequest(`Invalid activity type: ${String(t)}`);
    if (!actor.isService && t !== 'comment') throw badRequest('Humans can only create comments');
    let id: string | null = null;
    if (body.id !== undefined && body.id !== null) {
      id = normalizeId(body.id);
      if (!id) throw badRequest('Invalid activity id');
    }
    const text = body.body ?? '';
    if (typeof text !== 'string') throw badRequest('body must be a string');
    if (Array.from(text).length > MAX_BODY_LENGTH) throw badRequest(`${t.charAt(0).toUpperCase()}${t.slice(1)} body is too long`);
    const tags = body.tags === undefined || body.tags === null ? [] : stringList(body.tags, 'tags');
    const files = body.files === undefined || body.files === null ? null : stringList(body.files, 'files');
    const timestamp = body.timestamp === undefined || body.timestamp === null ? null : parseTime(body.timestamp, 'timestamp');
    if (body.data !== undefined && body.data !== null && !isPlainObject(body.data)) throw badRequest('data must be an object');
    const data = isPlainObject(body.data) ? { ...(body.data as Record<string, unknown>) } : {};
    return { activityType: t, id, body: text, tags, files, timestamp, data };
  }

  /** Writes one activity of `actor` on an entity, in `u`. Returns its id. */
  async function createIn(
    u: Unit,
    actor: AyonActor,
    p: Project,
    type: EntityType,
    entity: Record<string, any>,
    input: CreateInput,
    opts: { bump?: boolean; ensureWatching?: boolean } = {},
  ): Promise<string> {
    const q = u.q;
    const id = input.id ?? newAyonId();
    if (await q.selectFrom('ayon_activities').select('id').where('project_name', '=', p.name).where('id', '=', id).executeTakeFirst()) throw conflict(`Activity ${id} already exists`);
    const at = input.timestamp ?? Date.now();
    const data: Record<string, unknown> = { ...input.data };
    data.origin = originOf(type, entity);
    data.parents = await parentsOf(q, p.name, type, entity);
    if (input.activityType === 'comment' && CHECKLIST_RE.test(input.body)) data.hasChecklist = true;
    else delete data.hasChecklist;
    data.author = actor.name;

    const refs: ActivityRef[] = [];
    const seen = new Set<string>();
    const add = (r: ActivityRef) => {
      const k = refKey(r);
      if (seen.has(k)) return;
      seen.add(k);
      refs.push(r);
    };
    add({ referenceType: 'origin', entityType: type, entityId: entity.id, entityName: null, data: {} });
    add({ referenceType: 'author', entityType: 'user', entityId: null, entityName: actor.name, data: {} });
    for (const m of extractMentions(input.body, p)) add(m);
    if (input.activityType !== 'watch' && input.activityType !== 'attrib.change') {
      for (const w of await watcherList(q, p.name, type, entity.id)) add({ referenceType: 'watching', entityType: 'user', entityId: null, entityName: w, data: {} });
      for (const r of await relationsOf(q, p.name, type, entity)) add(r);
    }
    if (input.files !== null) data.files = await filesInfo(q, p.name, input.files);

    const category = typeof data.category === 'string' ? data.category : null;
    await q
      .insertInto('ayon_activities')
      .values({
        project_name: p.name,
        id,
        activity_type: input.activityType,
        body: input.body,
        tags: JSON.stringify(input.tags),
        data: JSON.stringify(data),
        author: actor.name,
        category,
        created_at: at,
        updated_at: at,
      })
      .execute();
    await insertRefs(q, p.name, id, refs, at);
    if (input.files !== null && (data.files as unknown[]).length) {
      await q
        .updateTable('ayon_files')
        .set({ activity_id: id, updated_at: Date.now() })
        .where('project_name', '=', p.name)
        .where('id', 'in', (data.files as Array<{ id: string }>).map((f) => f.id))
        .execute();
    }
    if (opts.bump) await (q as any).updateTable(TABLES[type]).set({ updated_at: Date.now() }).where('project_name', '=', p.name).where('id', '=', entity.id).execute();

    pushEvent(u, input.activityType, {
      topic: 'activity.created',
      project: p.name,
      user: actor.name,
      description: `Created ${input.activityType} activity`,
      summary: summaryOf(id, input.activityType, refs),
      payload: { body: input.body },
    });

    if (opts.ensureWatching && !actor.isService) {
      const watchers = await watcherList(q, p.name, type, entity.id);
      if (!watchers.includes(actor.name)) await setWatchersIn(u, actor, p, type, entity, [...watchers, actor.name]);
    }
    return id;
  }

  /** Checks a category of a new or edited activity against what the caller may write. */
  function checkCategory(actor: AyonActor, p: Project, data: Record<string, unknown>) {
    if (actor.isManager) return;
    const c = data.category;
    if (c === undefined || c === null) return;
    if (typeof c !== 'string' || !accessibleCategories(p, actor, ACCESS.update).includes(c)) throw forbidden('You cannot use this activity category');
  }

  function entityTypeOf(raw: string): EntityType {
    const t = raw.endsWith('s') && isEntityType(raw.slice(0, -1)) ? raw.slice(0, -1) : raw;
    if (!isEntityType(t)) throw badRequest(`Invalid entity type: ${raw}`);
    return t;
  }

  /** POST /projects/{p}/{type}/{id}/activities → {id} */
  async function create(actor: AyonActor, projectName: string, typeRaw: string, entityId: string, body: Record<string, unknown>, ctx: { sender?: string | null; senderType?: string | null } = {}) {
    const type = entityTypeOf(typeRaw);
    const input = parseCreate(actor, body);
    const p = await projects.resolve(actor, projectName);
    if (actor.isGuest) throw forbidden('Guests cannot create activities');
    checkCategory(actor, p, input.data);
    try {
      const id = await inUnit(ctx, async (u) => {
        const entity = await loadEntity(u.q, p.name, type, entityId);
        return createIn(u, actor, p, type, entity, input, { bump: true, ensureWatching: true });
      });
      return { id };
    } catch (err) {
      // a concurrent request took the same activity id between the check and the insert
      if (isUniqueViolation(err)) throw conflict(`Activity ${input.id ?? ''} already exists`.replace('  ', ' '));
      throw err;
    }
  }

  // ------------------------------------------------------------------------------ update

  interface PatchInput {
    body: string | null;
    tags: string[] | null;
    files: string[] | null;
    appendFiles: boolean;
    data: Record<string, unknown> | null;
  }

  function parsePatch(body: Record<string, unknown>): PatchInput {
    const text = body.body;
    if (text !== undefined && text !== null && typeof text !== 'string') throw badRequest('body must be a string');
    if (body.data !== undefined && body.data !== null && !isPlainObject(body.data)) throw badRequest('data must be an object');
    if (body.appendFiles !== undefined && body.appendFiles !== null && typeof body.appendFiles !== 'boolean') throw badRequest('appendFiles must be a boolean');
    return {
      body: typeof text === 'string' ? text : null,
      tags: body.tags === undefined || body.tags === null ? null : stringList(body.tags, 'tags'),
      files: body.files === undefined || body.files === null ? null : stringList(body.files, 'files'),
      appendFiles: body.appendFiles === true,
      data: isPlainObject(body.data) ? { ...(body.data as Record<string, unknown>) } : null,
    };
  }

  async function updateIn(u: Unit, actor: AyonActor, p: Project, activityIdRaw: unknown, input: PatchInput) {
    const q = u.q;
    const row = await activityRow(q, p.name, activityIdRaw);
    const data = parseJson<Record<string, unknown>>(row.data, {});
    const author = typeof data.author === 'string' ? data.author : row.author;
    const owner = author === actor.name || actor.isManager;
    if (!owner) {
      // others may only tick or untick the checkboxes of a comment
      if (input.files !== null || input.data !== null || input.tags !== null) throw forbidden('You are not the owner, you cannot modify the activity');
      if (input.body !== null && !onlyCheckboxesChanged(row.body, input.body)) throw forbidden('You are not the owner, you cannot modify the comment');
    }
    const body = input.body ?? row.body;
    const t = row.activity_type;
    if (Array.from(body).length > MAX_BODY_LENGTH) throw badRequest(`${t.charAt(0).toUpperCase()}${t.slice(1)} body is too long`);
    if (input.data) {
      delete input.data.author;
      checkCategory(actor, p, input.data);
      Object.assign(data, input.data);
    }
    delete data.hasChecklist;
    if (t === 'comment' && CHECKLIST_RE.test(body)) data.hasChecklist = true;
    const tags = input.tags ?? parseJson<string[]>(row.tags, []);
    const now = Date.now();

    // mentions: drop the ones no longer in the body, add new ones (first reference of a thing wins)
    const existing = await refsOf(q, p.name, row.id);
    const mentions = extractMentions(body, p);
    const mentionKeys = new Set(mentions.map(refKey));
    const drop = existing.filter((r) => r.referenceType === 'mention' && !mentionKeys.has(refKey(r))).map((r) => r.id);
    const kept = existing.filter((r) => !drop.includes(r.id));
    const keptKeys = new Set(kept.map(refKey));
    const added = mentions.filter((m) => !keptKeys.has(refKey(m)));

    let files: string[] | null = null;
    if (input.files !== null) {
      files = [...input.files];
      if (input.appendFiles) for (const f of (data.files as Array<{ id?: string }> | undefined) ?? []) if (f.id && !files.includes(f.id)) files.push(f.id);
      const info = await filesInfo(q, p.name, files);
      if (info.length) data.files = info;
      else delete data.files;
      files = info.map((f) => f.id as string);
    }

    await q
      .updateTable('ayon_activities')
      .set({ body, tags: JSON.stringify(tags), data: JSON.stringify(data), category: typeof data.category === 'string' ? data.category : null, updated_at: now })
      .where('project_name', '=', p.name)
      .where('id', '=', row.id)
      .execute();
    if (files !== null) {
      let unlink = q.updateTable('ayon_files').set({ activity_id: null, updated_at: now }).where('project_name', '=', p.name).where('activity_id', '=', row.id);
      if (files.length) unlink = unlink.where('id', 'not in', files);
      await unlink.execute();
      if (files.length) await q.updateTable('ayon_files').set({ activity_id: row.id, updated_at: now }).where('project_name', '=', p.name).where('id', 'in', files).execute();
    }
    if (drop.length) await q.deleteFrom('ayon_activity_refs').where('project_name', '=', p.name).where('id', 'in', drop).execute();
    await q.updateTable('ayon_activity_refs').set({ updated_at: now }).where('project_name', '=', p.name).where('activity_id', '=', row.id).execute();
    await insertRefs(q, p.name, row.id, added, now);

    pushEvent(u, t, {
      topic: 'activity.updated',
      project: p.name,
      user: actor.name,
      description: `Updated ${t} activity`,
      summary: summaryOf(row.id, t, [...kept, ...added]),
      payload: { body },
    });
    return row.id;
  }

  /** PATCH /projects/{p}/activities/{id} */
  async function update(actor: AyonActor, projectName: string, activityId: string, body: Record<string, unknown>, ctx: { sender?: string | null; senderType?: string | null } = {}) {
    const input = parsePatch(body);
    const p = await projects.resolve(actor, projectName);
    if (actor.isGuest) throw forbidden('Guests cannot modify activities');
    await inUnit(ctx, (u) => updateIn(u, actor, p, activityId, input));
  }

  // ------------------------------------------------------------------------------ delete

  async function deleteIn(u: Unit, actor: AyonActor, p: Project, activityIdRaw: unknown) {
    const q = u.q;
    const row = await activityRow(q, p.name, activityIdRaw);
    const data = parseJson<Record<string, unknown>>(row.data, {});
    const author = typeof data.author === 'string' ? data.author : row.author;
    if (!actor.isManager && author && author !== actor.name) throw forbidden('You are not the author of this activity');
    const refs = await refsOf(q, p.name, row.id);
    const now = Date.now();
    await q.updateTable('ayon_files').set({ activity_id: null, updated_at: now }).where('project_name', '=', p.name).where('activity_id', '=', row.id).execute();
    await q.deleteFrom('ayon_activity_refs').where('project_name', '=', p.name).where('activity_id', '=', row.id).execute();
    await q.deleteFrom('ayon_activities').where('project_name', '=', p.name).where('id', '=', row.id).execute();
    pushEvent(u, row.activity_type, {
      topic: 'activity.deleted',
      project: p.name,
      user: actor.name,
      description: `Deleted ${row.activity_type} activity`,
      summary: summaryOf(row.id, row.activity_type, refs),
    });
    return row.id;
  }

  /** DELETE /projects/{p}/activities/{id} */
  async function remove(actor: AyonActor, projectName: string, activityId: string, ctx: { sender?: string | null; senderType?: string | null } = {}) {
    const p = await projects.resolve(actor, projectName);
    if (actor.isGuest) throw forbidden('Guests cannot delete activities');
    await inUnit(ctx, (u) => deleteIn(u, actor, p, activityId));
  }

  // ------------------------------------------------------------------------------ reactions

  async function react(actor: AyonActor, projectName: string, activityId: string, reaction: unknown, action: 'add' | 'remove', ctx: { sender?: string | null; senderType?: string | null } = {}) {
    if (typeof reaction !== 'string' || !reaction || reaction.length > 64) throw badRequest('reaction must be a non-empty string');
    if (action === 'remove' && !ENTITY_NAME_RE.test(reaction)) throw badRequest(`Invalid reaction: ${reaction}`);
    const p = await projects.resolve(actor, projectName);
    if (actor.isGuest) throw forbidden('Guests cannot react to activities');
    await inUnit(ctx, async (u) => {
      const row = await activityRow(u.q, p.name, activityId);
      const data = parseJson<Record<string, unknown>>(row.data, {});
      let reactions = Array.isArray(data.reactions) ? (data.reactions as Array<Record<string, unknown>>) : [];
      if (action === 'add') {
        if (reactions.some((r) => r.reaction === reaction && r.userName === actor.name)) return;
        reactions = [...reactions, { reaction, userName: actor.name, fullName: actor.fullName || null, timestamp: new Date().toISOString() }];
      } else {
        const before = reactions.length;
        reactions = reactions.filter((r) => r.reaction !== reaction || r.userName !== actor.name);
        if (reactions.length === before) return;
      }
      data.reactions = reactions;
      await u.q.updateTable('ayon_activities').set({ data: JSON.stringify(data) }).where('project_name', '=', p.name).where('id', '=', row.id).execute();
      const refs = await refsOf(u.q, p.name, row.id);
      // AYON broadcasts reaction changes without storing the event
      u.volatile.push({
        topic: 'activity.updated',
        project: p.name,
        user: actor.name,
        description: '',
        summary: { activity_id: row.id, activity_type: row.activity_type, references: refs.map((r) => ({ entity_id: r.entityId, entity_type: r.entityType, reference_type: r.referenceType })) },
      });
    });
  }

  // ------------------------------------------------------------------------------ watchers

  async function setWatchersIn(u: Unit, actor: AyonActor, p: Project, type: EntityType, entity: Record<string, any>, watchers: string[]) {
    const q = u.q;
    const current = await watcherList(q, p.name, type, entity.id);
    const gone = current.filter((w) => !watchers.includes(w));
    const fresh = watchers.filter((w, i) => !current.includes(w) && watchers.indexOf(w) === i);
    if (gone.length) {
      const rows = await q
        .selectFrom('ayon_activity_refs as r')
        .innerJoin('ayon_activities as a', (j) => j.onRef('a.project_name', '=', 'r.project_name').onRef('a.id', '=', 'r.activity_id'))
        .select(['a.id', 'a.data'])
        .where('r.project_name', '=', p.name)
        .where('r.reference_type', '=', 'origin')
        .where('r.entity_type', '=', type)
        .where('r.entity_id', '=', entity.id)
        .where('a.activity_type', '=', 'watch')
        .execute();
      const ids = rows.filter((r) => gone.includes(parseJson<Record<string, unknown>>(r.data, {}).watcher as string)).map((r) => r.id);
      if (ids.length) {
        await q.deleteFrom('ayon_activity_refs').where('project_name', '=', p.name).where('activity_id', 'in', ids).execute();
        await q.deleteFrom('ayon_activities').where('project_name', '=', p.name).where('id', 'in', ids).execute();
      }
    }
    for (const w of fresh) {
      await createIn(u, actor, p, type, entity, { activityType: 'watch', id: null, body: '', tags: [], files: null, timestamp: null, data: { watcher: w } });
    }
  }

  async function getWatchers(actor: AyonActor, projectName: string, typeRaw: string, entityId: string) {
    const type = entityTypeOf(typeRaw);
    const p = await projects.resolve(actor, projectName);
    if (actor.isGuest) return { watchers: [] };
    const entity = await loadEntity(db, p.name, type, entityId);
    return { watchers: await watcherList(db, p.name, type, entity.id) };
  }

  async function setWatchers(actor: AyonActor, projectName: string, typeRaw: string, entityId: string, body: Record<string, unknown>, ctx: { sender?: string | null; senderType?: string | null } = {}) {
    const type = entityTypeOf(typeRaw);
    const watchers = stringList(body.watchers, 'watchers');
    for (const w of watchers) if (!NAME_LIST_RE.test(w)) throw badRequest(`Invalid user name: ${w}`);
    const p = await projects.resolve(actor, projectName);
    if (actor.isGuest) throw forbidden('Guests cannot modify watchers');
    await core.access.ensureWrite(actor, p.name);
    await inUnit(ctx, async (u) => {
      const entity = await loadEntity(u.q, p.name, type, entityId);
      await setWatchersIn(u, actor, p, type, entity, watchers);
    });
  }

  // ------------------------------------------------------------------------------ categories

  async function categories(actor: AyonActor, projectName: string) {
    const p = await projects.resolve(actor, projectName);
    return { categories: categoriesOf(p, actor) };
  }

  // ------------------------------------------------------------------------------ suggestions

  /** Drops null/undefined values (AYON answers with response_model_exclude_none). */
  function compact<T>(v: T): T {
    if (Array.isArray(v)) return v.map(compact) as T;
    if (isPlainObject(v)) {
      const o: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) o[k] = compact(x);
      return o as T;
    }
    return v;
  }

  async function suggest(actor: AyonActor, projectName: string, body: Record<string, unknown>) {
    const type = body.entityType;
    if (type !== 'folder' && type !== 'task' && type !== 'version') throw badRequest('entityType must be one of folder, task, version');
    const p = await projects.resolve(actor, projectName);
    if (actor.isGuest) return { users: [], teams: [], tasks: [], versions: [] };
    const entity = await loadEntity(db, p.name, type, body.entityId);

    // relevant users: the caller, managers, and users with access to the project
    const all = (await users.listAll()).filter(
      (u) => u.active && (u.name === actor.name || (!u.isService && !u.isGuest && (u.isAdmin || u.isManager || projectGroups(u as AyonActor, p.name).length > 0))),
    );
    const relevance = new Map<string, number>(all.map((u) => [u.name, 0]));
    const bump = (name: string | null | undefined, by: number) => {
      if (name && relevance.has(name)) relevance.set(name, relevance.get(name)! + by);
    };
    const folderItem = (f: Record<string, any>) => ({ id: f.id, folderType: f.folder_type, name: f.name, label: f.label ?? null, thumbnailId: f.thumbnail_id ?? null, createdAt: isoTime(f.created_at) });
    const taskItem = (t: Record<string, any>, f: Record<string, any> | undefined, rel: number) => ({
      id: t.id,
      taskType: t.task_type,
      name: t.name,
      label: t.label ?? null,
      thumbnailId: t.thumbnail_id ?? null,
      createdAt: isoTime(t.created_at),
      parent: f ? folderItem(f) : null,
      relevance: rel,
    });
    const versionItem = (v: Record<string, any>, pr: Record<string, any> | undefined) => ({
      id: v.id,
      version: v.version,
      name: versionName(v.version),
      createdAt: isoTime(v.created_at),
      parent: pr ? { id: pr.id, name: pr.name, productType: pr.product_type, createdAt: isoTime(pr.created_at) } : null,
      relevance: 0,
    });
    const folderRows = async (ids: string[]) =>
      new Map(ids.length ? (await db.selectFrom('ayon_folders').selectAll().where('project_name', '=', p.name).where('id', 'in', [...new Set(ids)]).execute()).map((f) => [f.id, f]) : []);
    const productRows = async (ids: string[]) =>
      new Map(ids.length ? (await db.selectFrom('ayon_products').selectAll().where('project_name', '=', p.name).where('id', 'in', [...new Set(ids)]).execute()).map((x) => [x.id, x]) : []);

    const tasks: unknown[] = [];
    const versions: unknown[] = [];
    if (type === 'folder') {
      // users with tasks in the subtree; the tasks of the subtree (direct children first)
      const sub = await db
        .selectFrom('ayon_tasks as t')
        .innerJoin('ayon_folders as f', (j) => j.onRef('f.project_name', '=', 't.project_name').onRef('f.id', '=', 't.folder_id'))
        .selectAll('t')
        .select(['f.path as folder_path'])
        .where('t.project_name', '=', p.name)
        .where((eb) => eb.or([eb('f.path', '=', entity.path), eb('f.path', 'like', `${String(entity.path).replace(/[!%_]/g, (c) => `!${c}`)}/%`)]))
        .orderBy('t.name')
        .execute();
      const folders = await folderRows(sub.map((t) => t.folder_id));
      for (const t of sub) {
        for (const a of parseJson<string[]>(t.assignees, [])) bump(a, 1);
        tasks.push(taskItem(t, folders.get(t.folder_id), t.folder_path === entity.path ? 10 : 0));
      }
    } else if (type === 'task') {
      for (const a of parseJson<string[]>(entity.assignees, [])) bump(a, 1);
      const vs = await db.selectFrom('ayon_versions').selectAll().where('project_name', '=', p.name).where('task_id', '=', entity.id).orderBy('version').execute();
      const prs = await productRows(vs.map((v) => v.product_id));
      for (const v of vs) versions.push(versionItem(v, prs.get(v.product_id)));
      const sib = await db.selectFrom('ayon_tasks').selectAll().where('project_name', '=', p.name).where('folder_id', '=', entity.folder_id).orderBy('name').execute();
      const folders = await folderRows([entity.folder_id]);
      for (const t of sib) tasks.push(taskItem(t, folders.get(t.folder_id), 0));
    } else {
      // version: commenters ×15, its author ×10, assignees of its task ×5, authors of sibling versions ×1
      const commenters = await db
        .selectFrom('ayon_activity_refs as r')
        .innerJoin('ayon_activities as a', (j) => j.onRef('a.project_name', '=', 'r.project_name').onRef('a.id', '=', 'r.activity_id'))
        .select(['a.author'])
        .where('r.project_name', '=', p.name)
        .where('r.reference_type', '=', 'origin')
        .where('r.entity_id', '=', entity.id)
        .execute();
      for (const c of commenters) bump(c.author, 15);
      bump(entity.author, 10);
      if (entity.task_id) {
        const t = await db.selectFrom('ayon_tasks').select('assignees').where('project_name', '=', p.name).where('id', '=', entity.task_id).executeTakeFirst();
        for (const a of parseJson<string[]>(t?.assignees, [])) bump(a, 5);
      }
      const siblings = await db.selectFrom('ayon_versions').selectAll().where('project_name', '=', p.name).where('product_id', '=', entity.product_id).orderBy('version').execute();
      for (const v of siblings) bump(v.author, 1);
      const prs = await productRows([entity.product_id]);
      for (const v of siblings) if (v.id !== entity.id) versions.push(versionItem(v, prs.get(v.product_id)));
      const pr = prs.get(entity.product_id);
      if (pr) {
        const ts = await db.selectFrom('ayon_tasks').selectAll().where('project_name', '=', p.name).where('folder_id', '=', pr.folder_id).orderBy('name').execute();
        const folders = await folderRows([pr.folder_id]);
        for (const t of ts) tasks.push(taskItem(t, folders.get(t.folder_id), 0));
      }
    }
    const userItems = all
      .map((u) => ({ name: u.name, fullName: u.fullName || null, relevance: relevance.get(u.name) ?? 0 }))
      .sort((a, b) => b.relevance - a.relevance || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const teams = teamsOf(p)
      .map((t) => ({ name: t.name, relevance: 0 }))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    return compact({ users: userItems, teams, tasks, versions });
  }

  // ------------------------------------------------------------------------------ batch operations

  /** POST /projects/{p}/operations/activities */
  async function operations(actor: AyonActor, projectName: string, body: Record<string, unknown>, ctx: { sender?: string | null; senderType?: string | null } = {}) {
    if (!Array.isArray(body.operations)) throw badRequest('operations must be a list');
    const canFail = body.canFail === true;
    const p = await projects.resolve(actor, projectName);
    if (actor.isGuest) throw forbidden('Guests cannot modify activities');
    const ops = (body.operations as unknown[]).map((o) => {
      if (!isPlainObject(o)) throw badRequest('Each operation must be an object');
      const op: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(o)) op[k.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase())] = v;
      if (op.type !== 'create' && op.type !== 'update' && op.type !== 'delete') throw badRequest(`Invalid operation type: ${String(op.type)}`);
      return { id: typeof op.id === 'string' && op.id ? op.id : newAyonId(), type: op.type as 'create' | 'update' | 'delete', activityId: op.activityId, data: op.data };
    });

    const runOne = async (u: Unit, op: (typeof ops)[number]) => {
      const data = isPlainObject(op.data) ? Object.fromEntries(Object.entries(op.data).map(([k, v]) => [k.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()), v])) : null;
      if (op.type === 'create') {
        if (!data) throw badRequest('Data is required for create operation');
        const input = parseCreate(actor, data);
        checkCategory(actor, p, input.data);
        const type = entityTypeOf(String(data.entityType ?? ''));
        const entity = await loadEntity(u.q, p.name, type, data.entityId);
        return createIn(u, actor, p, type, entity, input);
      }
      if (!op.activityId) throw badRequest(`Activity ID is required for ${op.type} operation`);
      if (op.type === 'update') {
        if (!data) throw badRequest('Data is required for update operation');
        return updateIn(u, actor, p, op.activityId, parsePatch(data));
      }
      return deleteIn(u, actor, p, op.activityId);
    };
    const failure = (op: (typeof ops)[number], err: unknown) => {
      if (isUniqueViolation(err)) err = conflict('Activity already exists');
      if (!(err instanceof AyonError)) throw err;
      return { id: op.id, type: op.type, success: false, status: err.status, detail: err.message, activityId: null };
    };

    const results: Array<Record<string, unknown>> = [];
    if (canFail) {
      for (const op of ops) {
        try {
          const activityId = await inUnit(ctx, (u) => runOne(u, op));
          results.push({ id: op.id, type: op.type, success: true, status: null, detail: null, activityId });
        } catch (err) {
          results.push(failure(op, err));
        }
      }
      return { operations: results, success: results.every((r) => r.success) };
    }
    const rollback = new Error('rollback');
    try {
      await inUnit(ctx, async (u) => {
        for (const op of ops) {
          try {
            const activityId = await runOne(u, op);
            results.push({ id: op.id, type: op.type, success: true, status: null, detail: null, activityId });
          } catch (err) {
            results.push(failure(op, err));
            throw rollback;
          }
        }
      });
      return { operations: results, success: true };
    } catch (err) {
      if (err === rollback) return { operations: results, success: false };
      throw err;
    }
  }

  // ------------------------------------------------------------------------------ feed (GraphQL)

  /**
   * The activity feed of a project: references joined with their activities, filtered like AYON's
   * `activities` resolver, paged by (created_at, seq) keyset. `first/after` ascending; `last/before`
   * newest first (endCursor = the oldest row of the page, hasPreviousPage = older rows exist).
   */
  async function feed(actor: AyonActor, p: Project, args: FeedArgs, root?: { entityType: EntityType; entityId: string }) {
    let referenceTypes = args.referenceTypes ?? null;
    let entityType = args.entityType ?? null;
    let entityIds = args.entityIds ?? null;
    if (!(entityType && entityIds)) {
      if (root) {
        entityType = root.entityType;
        entityIds = [root.entityId];
      } else if (!args.activityIds) referenceTypes = referenceTypes ?? ['origin'];
    }
    const names = (l: string[], what: string) => {
      for (const n of l) if (!NAME_LIST_RE.test(n)) throw badRequest(`Invalid ${what}: ${n}`);
      return l;
    };
    let q = db
      .selectFrom('ayon_activity_refs as r')
      .innerJoin('ayon_activities as a', (j) => j.onRef('a.project_name', '=', 'r.project_name').onRef('a.id', '=', 'r.activity_id'))
      .select([
        'r.seq as ref_seq',
        'r.id as reference_id',
        'r.reference_type',
        'r.entity_type',
        'r.entity_id',
        'r.entity_name',
        'r.data as reference_data',
        'r.active',
        'r.created_at',
        'r.updated_at',
        'a.id as activity_id',
        'a.activity_type',
        'a.body',
        'a.tags',
        'a.data as activity_data',
      ])
      .where('r.project_name', '=', p.name);
    // an empty IN list matches nothing (a NUL placeholder would be rejected by PostgreSQL)
    const nothing = sql<boolean>`1 = 0`;
    if (args.activityIds) {
      const ids = args.activityIds.map((i) => normalizeId(i)).filter((i): i is string => !!i);
      q = ids.length ? q.where('a.id', 'in', ids) : q.where(nothing);
    }
    if (args.changedBefore) q = q.where('r.updated_at', '<', parseTime(args.changedBefore, 'changedBefore'));
    if (args.changedAfter) q = q.where('r.updated_at', '>', parseTime(args.changedAfter, 'changedAfter'));
    if (args.activityTypes) {
      const types = [...names(args.activityTypes, 'activity type')];
      const checklist = types.includes('checklist');
      const plain = types.filter((t) => t !== 'checklist');
      q = q.where((eb) => {
        const conds = [];
        if (checklist && !plain.includes('comment')) conds.push(eb.and([eb('a.activity_type', '=', 'comment'), eb('a.data', 'like', '%"hasChecklist":true%')]));
        conds.push(plain.length ? eb('a.activity_type', 'in', plain) : nothing);
        return eb.or(conds);
      });
    }
    if (referenceTypes) q = referenceTypes.length ? q.where('r.reference_type', 'in', names(referenceTypes, 'reference type')) : q.where(nothing);
    if (args.tags && args.tags.length) for (const t of names(args.tags, 'tag')) q = q.where(sql<boolean>`${sql.ref('a.tags')} like ${jsonListLike(t)} escape '!'`);
    if (!actor.isManager) {
      const cats = accessibleCategories(p, actor, ACCESS.read);
      q = q.where((eb) => eb.or([eb('a.category', 'is', null), cats.length ? eb('a.category', 'in', cats) : nothing]));
    }
    if (args.categories && args.categories.length) {
      const cats = args.categories.filter((c): c is string => typeof c === 'string');
      const withNull = args.categories.some((c) => c === null);
      q = q.where((eb) => eb.or([...(withNull ? [eb('a.category', 'is', null)] : []), cats.length ? eb('a.category', 'in', cats) : nothing]));
    }
    if (entityIds) {
      const ids = entityIds.map((i) => normalizeId(i) ?? i);
      q = ids.length ? q.where('r.entity_id', 'in', ids) : q.where(nothing);
    }
    if (entityType) q = q.where('r.entity_type', '=', entityType);
    if (args.entityNames) q = args.entityNames.length ? q.where('r.entity_name', 'in', names(args.entityNames, 'entity name')) : q.where(nothing);
    if (args.authors) q = args.authors.length ? q.where('a.author', 'in', args.authors) : q.where(nothing);

    const desc = typeof args.last === 'number' && typeof args.first !== 'number';
    const size = Math.max(0, Math.min(desc ? (args.last as number) : typeof args.first === 'number' ? args.first : 100, 5000));
    const cursor = decodeFeedCursor(desc ? args.before : args.after);
    if (cursor) {
      const [c, s] = cursor;
      q = q.where((eb) =>
        desc
          ? eb.or([eb('r.created_at', '<', c), eb.and([eb('r.created_at', '=', c), eb('r.seq', '<', s)])])
          : eb.or([eb('r.created_at', '>', c), eb.and([eb('r.created_at', '=', c), eb('r.seq', '>', s)])]),
      );
    }
    const dir = desc ? 'desc' : 'asc';
    const rows = await q
      .orderBy('r.created_at', dir)
      .orderBy('r.seq', dir)
      .limit(size + 1)
      .execute();
    const more = rows.length > size;
    const page = rows.slice(0, size).map(
      (r): FeedRow => ({
        refSeq: Number(r.ref_seq),
        referenceId: r.reference_id,
        referenceType: r.reference_type,
        entityType: r.entity_type,
        entityId: r.entity_id,
        entityName: r.entity_name,
        referenceData: parseJson(r.reference_data, {}),
        active: Number(r.active) === 1,
        createdAt: Number(r.created_at),
        updatedAt: Number(r.updated_at),
        activityId: r.activity_id,
        activityType: r.activity_type,
        body: r.body,
        tags: parseJson<string[]>(r.tags, []),
        activityData: parseJson(r.activity_data, {}),
        projectName: p.name,
      }),
    );
    const cur = (r: FeedRow) => encodeFeedCursor(r.createdAt, r.refSeq);
    return {
      rows: page,
      cursorOf: cur,
      pageInfo: {
        hasNextPage: desc ? cursor !== null : more,
        hasPreviousPage: desc ? more : cursor !== null,
        startCursor: page.length ? cur(page[0]) : null,
        endCursor: page.length ? cur(page[page.length - 1]) : null,
      },
    };
  }

  /** Category colours of a project, for the feed's `category` field. */
  function categoryColors(p: Project): Map<string, string | null> {
    const raw = p.config.activityCategories ?? p.data.activityCategories;
    const m = new Map<string, string | null>();
    if (Array.isArray(raw)) for (const c of raw) if (isPlainObject(c) && typeof c.name === 'string') m.set(c.name, typeof c.color === 'string' ? c.color : null);
    return m;
  }

  return {
    create,
    update,
    remove,
    react,
    getWatchers,
    setWatchers,
    categories,
    suggest,
    operations,
    feed,
    categoryColors,
    extractMentions,
  };
}

export type ActivitiesService = ReturnType<typeof createActivitiesService>;
