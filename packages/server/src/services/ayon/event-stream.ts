/**
 * AYON events beyond the write path (ayon.md §11): the events REST API (dispatch, get, update,
 * delete, eventops), the GraphQL `events` listing, the enroll job queue and retention.
 *
 * Jobs are events: an enrolled job is an event of the target topic whose `depends_on` is the
 * source event and whose `hash` is sha256(JSON [target, source id]). The unique `hash` is the only
 * concurrency guard, as upstream: claiming inserts with ON CONFLICT DO NOTHING, so when several
 * workers (or several server processes on one PostgreSQL) race for one source, exactly one insert
 * lands and the others move on ("another worker won"). Restarting a failed job is a conditional
 * UPDATE (… WHERE status IN ('failed','restarted')), so it too is handed to one worker only.
 *
 * Every stored or broadcast change is published on the bus channel `ayon.event` (the record shape
 * of events.ts plus `progress` and `store`) for the /ws fan-out.
 */
import { createHash } from 'node:crypto';
import { sql, type Expression, type ExpressionBuilder, type Selectable, type SqlBool } from 'kysely';
import type { AyonCoreDeps } from './index.js';
import type { AyonEventRecord } from './events.js';
import type { AyonActor } from './users.js';
import { AyonError, badRequest, forbidden, notFound } from './errors.js';
import { isPlainObject, isoTime, newAyonId, parseJson } from './rules.js';
import { evaluateFilter, parseQueryFilter, type QueryFilter } from './query-filter.js';
import { isUniqueViolation } from '../../store/db.js';
import type { Database } from '../../store/schema.js';

export const EVENT_STATUSES = ['pending', 'in_progress', 'finished', 'failed', 'aborted', 'restarted'] as const;
const TOPIC_RE = /^[a-zA-Z0-9_][a-zA-Z0-9_.*\-:]*$/;
const RESTARTABLE = new Set(['installer.install_from_url', 'dependency_package.install_from_url', 'addon.install_from_url']);
const USER_EVENTS = new Set(['action.launcher']);
const DAY = 86_400_000;

type EventRow = Selectable<Database['ayon_events']>;

/** What /ws and other listeners receive on the bus channel `ayon.event`. */
export interface AyonEventMessage extends AyonEventRecord {
  progress?: number;
  store?: boolean;
  retries?: number;
}

export interface EnrollResult {
  id: string;
  dependsOn: string;
  hash: string;
  status: string;
}

export interface EventListArgs {
  ids?: string[] | null;
  topics?: string[] | null;
  projects?: string[] | null;
  statuses?: string[] | null;
  states?: string[] | null;
  users?: string[] | null;
  includeLogs?: boolean | null;
  hasChildren?: boolean | null;
  newerThan?: string | null;
  olderThan?: string | null;
  filter?: string | null;
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
}

const rowRecord = (r: EventRow): AyonEventRecord => ({
  id: r.id,
  hash: r.hash,
  topic: r.topic,
  project: r.project_name,
  user: r.user_name,
  sender: r.sender,
  senderType: r.sender_type,
  dependsOn: r.depends_on,
  status: r.status,
  description: r.description,
  summary: parseJson<Record<string, unknown>>(r.summary, {}),
  payload: parseJson<Record<string, unknown>>(r.payload, {}),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

/** GET /api/events/{id} body. */
export function eventModel(r: EventRow) {
  const rec = rowRecord(r);
  return { ...rec, retries: Number(r.retries), createdAt: isoTime(rec.createdAt), updatedAt: isoTime(rec.updatedAt) };
}

/** The index-friendly SQL for one topic pattern: `*` → `%`, plus a range on the literal prefix. */
function topicCondition(eb: ExpressionBuilder<any, any>, col: string, pattern: string): Expression<SqlBool> {
  if (!pattern.includes('*')) return eb(col, '=', pattern);
  const like = pattern.replace(/\*/g, '%');
  const prefix = pattern.slice(0, pattern.indexOf('*'));
  const parts: Expression<SqlBool>[] = [];
  if (prefix) {
    const upper = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
    parts.push(eb(col, '>=', prefix), eb(col, '<', upper));
  }
  if (like !== `${prefix}%`) parts.push(eb(col, 'like', like));
  return parts.length ? eb.and(parts) : eb.lit(true) as never;
}

const encodeCursor = (seq: number) => Buffer.from(JSON.stringify([Number(seq)])).toString('base64');
function decodeCursor(c: unknown): number | null {
  if (typeof c !== 'string' || !c) return null;
  try {
    const v = JSON.parse(Buffer.from(c, 'base64').toString('utf8'));
    return Array.isArray(v) && Number.isInteger(v[0]) ? v[0] : null;
  } catch {
    return null;
  }
}

function parseTime(v: unknown, name: string): number | null {
  if (v === null || v === undefined || v === '') return null;
  const t = typeof v === 'number' ? v : Date.parse(String(v));
  if (!Number.isFinite(t)) throw badRequest(`${name} must be an ISO datetime`);
  return t;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : v === null || v === undefined ? null : String(v));

function checkTopic(t: unknown, what: string): string {
  if (typeof t !== 'string' || !TOPIC_RE.test(t) || t.length > 255) throw badRequest(`Invalid ${what}`);
  return t;
}

export function createEventStreamService(core: AyonCoreDeps) {
  const { store, bus } = core;
  const db = store.db;
  const like = store.dialect === 'postgres' ? 'ilike' : 'like';

  function publish(rec: AyonEventRecord, extra: { progress?: number; store?: boolean; retries?: number } = {}) {
    const msg: AyonEventMessage = { ...rec, ...extra };
    bus.publish('ayon.event', msg);
  }

  // ---- enroll scan positions ("watermarks"), see runEnroll. A change that can make an already
  // handled source eligible again lowers them, on every node (the bus is relayed between nodes).
  const REOPEN = 'ayon.enroll.reopen';
  const WATERMARK_TTL = 60_000;
  const WATERMARK_LAG = 30_000;
  const watermarks = new Map<string, { c: number; s: number; at: number }>();
  let reopenCount = 0;
  bus.subscribe(REOPEN, (m) => {
    reopenCount++;
    const at = Number((m as { at?: unknown })?.at ?? 0);
    for (const [k, w] of watermarks) if (w.c >= at - 1) watermarks.set(k, { c: at - 1, s: 0, at: w.at });
  });
  /** Sources created at or after `createdAt` may have become eligible again. */
  const reopen = (createdAt: number) => bus.publish(REOPEN, { at: createdAt });
  /** After an update of `r` from its old state: the event itself (as a source) and, for a job leaving finished/failed, its source. */
  async function reopenAfterUpdate(r: EventRow, after: EventRow) {
    let at = Number(r.created_at);
    if (r.depends_on && (r.status === 'finished' || r.status === 'failed') && (after.status !== r.status || Number(after.retries) !== Number(r.retries))) {
      const src = await db.selectFrom('ayon_events').select('created_at').where('id', '=', r.depends_on).executeTakeFirst();
      if (src) at = Math.min(at, Number(src.created_at));
    }
    reopen(at);
  }

  async function loadRow(id: string): Promise<EventRow | undefined> {
    const norm = id.replace(/-/g, '').toLowerCase();
    if (!/^[0-9a-f]{32}$/.test(norm)) return undefined;
    return (await db.selectFrom('ayon_events').selectAll().where('id', '=', norm).executeTakeFirst()) as EventRow | undefined;
  }

  function canSeeProject(actor: AyonActor, project: string | null): boolean {
    return project === null || core.access.canRead(actor, project);
  }

  // ------------------------------------------------------------------ REST

  /** POST /api/events (§11.1, §11.2). Returns the event id. */
  async function dispatch(actor: AyonActor, body: Record<string, unknown>, hdr: { sender: string | null; senderType: string | null }): Promise<{ id: string }> {
    if (!actor.isManager) throw forbidden('Not allowed to update this event');
    const topic = checkTopic(body.topic, 'topic');
    if (topic.includes('*')) throw badRequest('Invalid topic');
    for (const k of ['summary', 'payload'] as const)
      if (body[k] !== undefined && body[k] !== null && !isPlainObject(body[k])) throw badRequest(`${k} must be an object`);
    const finished = body.finished === undefined || body.finished === null ? true : body.finished === true;
    const storeIt = body.store === undefined || body.store === null ? true : body.store === true;
    const id = newAyonId();
    const now = Date.now();
    const rec: AyonEventRecord = {
      id,
      hash: str(body.hash) || id,
      topic,
      project: str(body.project ?? body.projectName),
      user: actor.name,
      sender: str(body.sender) ?? hdr.sender,
      senderType: str(body.senderType) ?? hdr.senderType ?? 'api',
      dependsOn: str(body.dependsOn) ? str(body.dependsOn)!.replace(/-/g, '').toLowerCase() : null,
      status: finished ? 'finished' : 'pending',
      description: str(body.description) ?? '',
      summary: (body.summary as Record<string, unknown>) ?? {},
      payload: (body.payload as Record<string, unknown>) ?? {},
      createdAt: now,
      updatedAt: now,
    };
    if (!storeIt) {
      publish(rec, { progress: finished ? 100 : 0, store: false });
      return { id };
    }
    if (rec.dependsOn) {
      const dep = await db.selectFrom('ayon_events').select('id').where('id', '=', rec.dependsOn).executeTakeFirst();
      if (!dep) throw new AyonError(409, 'Event depends on non-existing event');
    }
    const values = {
      id: rec.id,
      hash: rec.hash,
      topic: rec.topic,
      sender: rec.sender,
      sender_type: rec.senderType,
      project_name: rec.project,
      user_name: rec.user,
      depends_on: rec.dependsOn,
      status: rec.status,
      retries: 0,
      description: rec.description,
      summary: JSON.stringify(rec.summary),
      payload: JSON.stringify(rec.payload),
      created_at: now,
      updated_at: now,
    };
    if (body.reuse === true) {
      const existing = await db.selectFrom('ayon_events').select(['id', 'created_at']).where('hash', '=', rec.hash).executeTakeFirst();
      if (existing) {
        const child = await db.selectFrom('ayon_events').select('id').where('depends_on', '=', existing.id).executeTakeFirst();
        if (child) throw new AyonError(409, 'Unable to reuse the event. Another event depends on it');
        const { id: _i, hash: _h, created_at: _c, ...rest } = values;
        await db.updateTable('ayon_events').set(rest).where('id', '=', existing.id).execute();
        reopen(0);
        publish({ ...rec, id: existing.id, createdAt: Number(existing.created_at) }, { progress: finished ? 100 : 0, store: true });
        return { id: existing.id };
      }
    }
    try {
      await db.insertInto('ayon_events').values(values).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new AyonError(409, 'Event with the same hash already exists');
      throw err;
    }
    publish(rec, { progress: finished ? 100 : 0, store: true });
    return { id };
  }

  /** GET /api/events/{id}. */
  async function get(actor: AyonActor, id: string) {
    if (actor.isGuest) throw forbidden('Guests are not allowed to get events this way');
    const r = await loadRow(id);
    if (!r) throw notFound('Event not found');
    if (!actor.isManager && !canSeeProject(actor, r.project_name)) throw notFound('Event not found');
    return eventModel(r);
  }

  /** PATCH /api/events/{id} (permission rules of §11.1). */
  async function update(actor: AyonActor, id: string, body: Record<string, unknown>): Promise<void> {
    if (actor.isGuest) throw forbidden('Not allowed to update this event');
    const r = await loadRow(id);
    if (!r) throw notFound('Event not found');
    const status = body.status === undefined || body.status === null ? null : body.status;
    if (status !== null && (typeof status !== 'string' || !(EVENT_STATUSES as readonly string[]).includes(status)))
      throw badRequest(`Invalid event status. Allowed: ${EVENT_STATUSES.join(', ')}`);
    let progress: number | undefined;
    if (body.progress !== undefined && body.progress !== null) {
      if (typeof body.progress !== 'number' || !Number.isFinite(body.progress) || body.progress < 0 || body.progress > 100)
        throw badRequest('progress must be a number between 0 and 100');
      progress = body.progress;
    }
    if (body.retries !== undefined && body.retries !== null && (!Number.isInteger(body.retries) || (body.retries as number) < 0))
      throw badRequest('retries must be a non-negative integer');
    for (const k of ['summary', 'payload'] as const)
      if (body[k] !== undefined && body[k] !== null && !isPlainObject(body[k])) throw badRequest(`${k} must be an object`);
    for (const k of ['sender', 'project', 'projectName', 'user', 'description'] as const)
      if (body[k] !== undefined && body[k] !== null && typeof body[k] !== 'string') throw badRequest(`${k} must be a string`);

    if (status !== null && status !== r.status) {
      if (USER_EVENTS.has(r.topic)) {
        if (actor.name !== r.user_name && !actor.isAdmin) throw forbidden('Not allowed to update status of this event');
      } else if (!actor.isService && r.depends_on === null && !RESTARTABLE.has(r.topic)) {
        throw forbidden('Not allowed to update status of this event');
      }
    }
    if (!actor.isManager) {
      // upstream inverts this test (non-managers may patch only events that are NOT theirs); the
      // documented intent is the other way round, which is what Atrium does
      if (r.user_name !== actor.name) throw forbidden('Not allowed to update this event');
      if (typeof body.user === 'string' && body.user !== actor.name) throw forbidden('Not allowed to change user of this event');
      if (r.project_name && !canSeeProject(actor, r.project_name)) throw forbidden('Not allowed to update this event');
    }
    const now = Date.now();
    const set: Record<string, unknown> = { updated_at: now };
    if (typeof body.sender === 'string') set.sender = body.sender;
    const project = (body.projectName ?? body.project) as string | undefined | null;
    if (typeof project === 'string' && project) set.project_name = project;
    set.user_name = (typeof body.user === 'string' && body.user) || r.user_name || actor.name;
    if (status !== null) set.status = status;
    if (typeof body.description === 'string') set.description = body.description;
    if (isPlainObject(body.summary)) set.summary = JSON.stringify(body.summary);
    if (isPlainObject(body.payload)) set.payload = JSON.stringify(body.payload);
    if (typeof body.retries === 'number') set.retries = body.retries;
    await db.updateTable('ayon_events').set(set).where('id', '=', r.id).execute();
    const after = { ...r, ...set } as EventRow;
    await reopenAfterUpdate(r, after);
    publish(rowRecord(after), { progress: progress ?? (after.status === 'finished' ? 100 : undefined), store: true, retries: Number(after.retries) });
  }

  /** DELETE /api/events/{id}: admins only. */
  async function remove(actor: AyonActor, id: string): Promise<void> {
    if (!actor.isAdmin) throw forbidden('Not allowed to delete events');
    const r = await loadRow(id);
    if (!r) throw notFound('Event not found');
    await db.deleteFrom('ayon_events').where('id', '=', r.id).execute();
    if (r.depends_on) {
      const src = await db.selectFrom('ayon_events').select('created_at').where('id', '=', r.depends_on).executeTakeFirst();
      if (src) reopen(Number(src.created_at));
    }
  }

  /** The object QueryFilter keys are read from (columns camelCase; project/user aliases; JSON traversal). */
  const filterView = (r: EventRow): Record<string, unknown> => ({
    ...rowRecord(r),
    projectName: r.project_name,
    userName: r.user_name,
    retries: Number(r.retries),
  });

  /** POST /api/eventops: `{"type": "delete" | "restart", "filter": QueryFilter}` (admins). */
  async function eventOps(actor: AyonActor, body: Record<string, unknown>): Promise<{ count: number }> {
    if (!actor.isAdmin) throw forbidden('Only administrators can do this');
    const type = body.type;
    if (type !== 'delete' && type !== 'restart') throw badRequest('type must be "delete" or "restart"');
    const f = parseQueryFilter(body.filter);
    if (!f || !f.conditions?.length) throw badRequest('Filter without conditions is not allowed');
    let count = 0;
    let from = 0;
    for (;;) {
      const rows = (await db.selectFrom('ayon_events').selectAll().where('seq', '>', from).orderBy('seq').limit(2000).execute()) as EventRow[];
      if (!rows.length) break;
      from = Number(rows[rows.length - 1].seq);
      const hit = rows.filter((r) => evaluateFilter(f, filterView(r)));
      if (!hit.length) continue;
      const ids = hit.map((r) => r.id);
      if (type === 'delete') await db.deleteFrom('ayon_events').where('id', 'in', ids).execute();
      else await db.updateTable('ayon_events').set({ status: 'restarted', updated_at: Date.now() }).where('id', 'in', ids).execute();
      count += ids.length;
    }
    if (count) reopen(0);
    return { count };
  }

  // ------------------------------------------------------------------ GraphQL events

  /** The `events(...)` connection: keyset on seq, ascending with `first`, descending with `last`. */
  async function list(actor: AyonActor, args: EventListArgs) {
    const empty = { edges: [], pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null }, totalCount: 0 };
    if (actor.isGuest) return empty;
    const desc = typeof args.last === 'number' && typeof args.first !== 'number';
    const size = Math.max(0, Math.min(desc ? (args.last as number) : typeof args.first === 'number' ? args.first : 100, 5000));
    const cursor = decodeCursor(desc ? args.before : args.after);
    const statuses = args.statuses ?? args.states ?? null;
    const newer = parseTime(args.newerThan, 'newerThan');
    const older = parseTime(args.olderThan, 'olderThan');
    const ids = args.ids ? args.ids.map((i) => i.replace(/-/g, '').toLowerCase()) : null;
    if ((ids && !ids.length) || (args.topics && !args.topics.length) || (args.projects && !args.projects.length) || (statuses && !statuses.length) || (args.users && !args.users.length))
      return empty;
    let readable: string[] | null = null;
    if (!actor.isManager) readable = Object.entries(actor.ayon.accessGroups ?? {}).filter(([, g]) => g.length).map(([p]) => p.toLowerCase());
    const words = (args.filter ?? '').split(/\s+/).filter((w) => w.length >= 3);

    let q = db.selectFrom('ayon_events as e').selectAll('e');
    if (ids) q = q.where('e.id', 'in', ids);
    else if (!actor.isManager) q = q.where('e.user_name', '=', actor.name);
    if (readable) {
      const list = readable;
      q = q.where((eb) => (list.length ? eb.or([eb('e.project_name', 'is', null), eb(eb.fn('lower', ['e.project_name']), 'in', list)]) : eb('e.project_name', 'is', null)));
    }
    if (args.topics) {
      const topics = args.topics;
      q = q.where((eb) => eb.or(topics.map((t) => topicCondition(eb, 'e.topic', t))));
    } else if (!args.includeLogs) {
      q = q.where((eb) => eb.or([eb('e.topic', '<', 'log.'), eb('e.topic', '>=', 'log/')]));
    }
    if (args.projects) q = q.where('e.project_name', 'in', args.projects);
    if (statuses) q = q.where('e.status', 'in', statuses);
    if (args.users) q = q.where('e.user_name', 'in', args.users);
    if (typeof args.hasChildren === 'boolean') {
      const want = args.hasChildren;
      q = q.where((eb) => {
        const ex = eb.exists(eb.selectFrom('ayon_events as c').select(sql`1`.as('one')).whereRef('c.depends_on', '=', 'e.id'));
        return want ? ex : eb.not(ex);
      });
    }
    if (newer !== null) q = q.where('e.created_at', '>', newer);
    if (older !== null) q = q.where('e.created_at', '<', older);
    for (const w of words) {
      const pat = `%${w.replace(/[%_]/g, '')}%`;
      q = q.where((eb) => eb.or(['e.topic', 'e.project_name', 'e.user_name', 'e.description'].map((c) => eb(c as 'e.topic', like as 'like', pat))));
    }
    if (cursor !== null) q = q.where('e.seq', desc ? '<' : '>', cursor);
    const rows = (await q.orderBy('e.seq', desc ? 'desc' : 'asc').limit(size + 1).execute()) as EventRow[];
    const more = rows.length > size;
    const page = rows.slice(0, size);
    return {
      edges: page.map((r) => ({ node: r, cursor: encodeCursor(Number(r.seq)) })),
      pageInfo: {
        hasNextPage: desc ? cursor !== null : more,
        hasPreviousPage: desc ? more : cursor !== null,
        startCursor: page.length ? encodeCursor(Number(page[0].seq)) : null,
        endCursor: page.length ? encodeCursor(Number(page[page.length - 1].seq)) : null,
      },
      totalCount: null,
    };
  }

  /** `hasChildren` of a page of event nodes, in one query. */
  async function withChildren(ids: string[]): Promise<Set<string>> {
    if (!ids.length) return new Set();
    const rows = await db.selectFrom('ayon_events').select('depends_on').distinct().where('depends_on', 'in', ids).execute();
    return new Set(rows.map((r) => r.depends_on as string));
  }

  // ------------------------------------------------------------------ enroll

  const inflight = new Set<string>();
  const orphanResults = new Map<string, { at: number; result: EnrollResult | null }>();

  /** The key identical enroll requests share (same caller, same body). */
  function enrollKey(actor: AyonActor, body: unknown): string {
    return createHash('sha256').update(actor.name).update('\0').update(JSON.stringify(body ?? null)).digest('hex');
  }

  interface EnrollOpts {
    sources: string | string[];
    target: string;
    sender: string;
    senderType: string | null;
    user: string;
    description: string;
    sequential: boolean;
    filter: QueryFilter | null;
    maxRetries: number;
    since: number | null;
    days: number;
    ignoreSenderTypes: string[];
  }

  function parseEnroll(actor: AyonActor, body: Record<string, unknown>, hdr: { sender: string | null; senderType: string | null }): EnrollOpts {
    const src = body.sourceTopic;
    let sources: string | string[];
    if (typeof src === 'string') sources = checkTopic(src, 'source topic');
    else if (Array.isArray(src) && src.length && src.every((s) => typeof s === 'string')) sources = src.map((s) => checkTopic(s, 'source topic'));
    else throw badRequest('sourceTopic must be a topic or a list of topics');
    const target = checkTopic(body.targetTopic, 'target topic');
    if (target.includes('*')) throw badRequest('Target topic must not contain wildcards');
    let days = 3;
    if (body.ignoreOlderThan !== undefined && body.ignoreOlderThan !== null && body.ignoreOlderThan !== '') {
      const n = Number(body.ignoreOlderThan);
      if (!Number.isFinite(n) || n < 0) throw badRequest('ignoreOlderThan must be a number of days');
      days = n;
    }
    let maxRetries = 3;
    if (body.maxRetries !== undefined && body.maxRetries !== null) {
      if (!Number.isInteger(body.maxRetries) || (body.maxRetries as number) < 0) throw badRequest('maxRetries must be a non-negative integer');
      maxRetries = body.maxRetries as number;
    }
    const ist = body.ignoreSenderTypes;
    if (ist !== undefined && ist !== null && (!Array.isArray(ist) || ist.some((x) => typeof x !== 'string'))) throw badRequest('ignoreSenderTypes must be a list of strings');
    const srcLabel = Array.isArray(sources) ? sources.join(', ') : sources;
    return {
      sources,
      target,
      sender: str(body.sender) || hdr.sender || 'ayon_server',
      senderType: str(body.senderType) ?? hdr.senderType ?? null,
      user: actor.name,
      description: str(body.description) || `Convert from ${srcLabel} to ${target}`,
      sequential: body.sequential === true,
      filter: parseQueryFilter(body.filter),
      maxRetries,
      since: days > 0 ? Date.now() - days * DAY : null,
      days,
      ignoreSenderTypes: (ist as string[] | undefined) ?? [],
    };
  }

  /** POST /api/enroll (§11.4). `null` = nothing to do (204). */
  async function enroll(actor: AyonActor, body: Record<string, unknown>, hdr: { sender: string | null; senderType: string | null }, key = enrollKey(actor, body)): Promise<EnrollResult | null> {
    if (!actor.isService) throw forbidden('Only services can enroll for jobs');
    const opts = parseEnroll(actor, body, hdr);
    const cached = orphanResults.get(key);
    if (cached) {
      orphanResults.delete(key);
      if (Date.now() - cached.at < 60_000 && cached.result) return cached.result;
    }
    if (inflight.has(key)) throw new AyonError(503, 'Enroll request is already running');
    inflight.add(key);
    try {
      return await runEnroll(opts);
    } finally {
      inflight.delete(key);
    }
  }

  /** Keeps the answer of a request whose client went away, for the next identical request (60 s). */
  function keepOrphanResult(key: string, result: EnrollResult | null) {
    const now = Date.now();
    for (const [k, v] of orphanResults) if (now - v.at > 60_000) orphanResults.delete(k);
    orphanResults.set(key, { at: now, result });
  }

  const PAGE = 1000;

  async function sourcePage(o: EnrollOpts, after: { c: number; s: number } | null, from: { c: number; s: number } | null) {
    let q = db
      .selectFrom('ayon_events as s')
      .leftJoin('ayon_events as t', (j) => j.onRef('t.depends_on', '=', 's.id').on('t.topic', '=', o.target))
      .selectAll('s')
      .select(['t.id as t_id', 't.status as t_status', 't.sender as t_sender', 't.hash as t_hash', 't.retries as t_retries'])
      .where('s.status', '=', 'finished');
    if (typeof o.sources === 'string') {
      const pat = o.sources;
      q = q.where((eb) => topicCondition(eb, 's.topic', pat));
    } else q = q.where('s.topic', 'in', o.sources);
    if (o.since !== null) q = q.where('s.updated_at', '>', o.since);
    if (o.ignoreSenderTypes.length) {
      const ist = o.ignoreSenderTypes;
      q = q.where((eb) => eb.or([eb('s.sender_type', 'is', null), eb('s.sender_type', 'not in', ist)]));
    }
    q = q.where((eb) => {
      let x = eb
        .selectFrom('ayon_events as x')
        .select(sql`1`.as('one'))
        .whereRef('x.depends_on', '=', 's.id')
        .where('x.topic', '=', o.target)
        .where((b) => b.or([b('x.status', '=', 'finished'), b.and([b('x.status', '=', 'failed'), b('x.retries', '>', o.maxRetries)])]));
      if (o.since !== null) x = x.where('x.updated_at', '>', o.since);
      return eb.not(eb.exists(x));
    });
    if (from) {
      const f = from;
      // the plain range first, so both planners use it on the (topic, status, created_at) index
      q = q.where('s.created_at', '>=', f.c).where((eb) => eb.or([eb('s.created_at', '>', f.c), eb('s.seq', '>=', f.s)]));
    }
    if (after) {
      const a = after;
      q = q.where('s.created_at', '>=', a.c).where((eb) => eb.or([eb('s.created_at', '>', a.c), eb('s.seq', '>', a.s)]));
    }
    return q.orderBy('s.created_at').orderBy('s.seq').limit(PAGE).execute();
  }

  /**
   * Walks the eligible sources in creation order. Sources that are done (a finished job, or a
   * failed one out of retries) are stepped over by the anti-join, but with a long history of done
   * sources inside the window that walk grows with the history; so each node remembers, per kind
   * of request, where the first eligible source was (never later than 30 s ago, to cover commits
   * that land late and clock skew between nodes) and starts there next time. Updates that can make
   * an older source eligible again (reopenAfterUpdate, deletes, eventops, retention) lower that
   * position on every node, and it is forgotten after a minute, so a full walk still happens now
   * and then. It only decides where to look: claiming is guarded by the unique hash as before.
   */
  async function runEnroll(o: EnrollOpts): Promise<EnrollResult | null> {
    const sig = JSON.stringify([o.sources, o.target, o.maxRetries, o.ignoreSenderTypes, o.days, o.filter]);
    const started = Date.now();
    const seen = reopenCount;
    let wm = watermarks.get(sig);
    if (wm && started - wm.at > WATERMARK_TTL) {
      watermarks.delete(sig);
      wm = undefined;
    }
    const from = wm ? { c: wm.c, s: wm.s } : null;
    let after: { c: number; s: number } | null = null;
    let first = true;
    for (;;) {
      const rows = await sourcePage(o, after, from);
      if (first) {
        first = false;
        const head = rows[0] as unknown as EventRow | undefined;
        const cap = started - WATERMARK_LAG;
        const next = head && Number(head.created_at) < cap ? { c: Number(head.created_at), s: Number(head.seq) } : { c: cap, s: 0 };
        if (reopenCount === seen && (!wm || next.c > wm.c || (next.c === wm.c && next.s > wm.s))) {
          if (!wm && watermarks.size >= 1000) for (const [k, v] of watermarks) if (started - v.at > WATERMARK_TTL || watermarks.size >= 1000) watermarks.delete(k);
          watermarks.set(sig, { ...next, at: wm?.at ?? started });
        }
      }
      for (const row of rows) {
        const src = row as unknown as EventRow & { t_id: string | null; t_status: string | null; t_sender: string | null; t_hash: string | null; t_retries: number | null };
        if (o.filter && !evaluateFilter(o.filter, filterView(src))) continue;
        if (src.t_id) {
          if (src.t_status === 'failed' || src.t_status === 'restarted') {
            const now = Date.now();
            const res = await db
              .updateTable('ayon_events')
              .set({
                status: 'pending',
                retries: src.t_status === 'failed' ? sql`retries + 1` : sql`retries`,
                sender: o.sender,
                user_name: o.user,
                description: 'Restarting failed event',
                updated_at: now,
              } as never)
              .where('id', '=', src.t_id)
              .where('status', '=', src.t_status)
              .executeTakeFirst();
            if (Number(res.numUpdatedRows) === 1) {
              const t = await loadRow(src.t_id);
              if (t) publish(rowRecord(t), { progress: 0, store: true, retries: Number(t.retries) });
              return { id: src.t_id, dependsOn: src.id, hash: src.t_hash as string, status: 'pending' };
            }
            // another worker restarted it first
            if (o.sequential) return null;
            continue;
          }
          if (src.t_sender !== o.sender) {
            if (o.sequential) return null;
            continue;
          }
          return { id: src.t_id, dependsOn: src.id, hash: src.t_hash as string, status: src.t_status as string };
        }
        const claimed = await claim(o, src);
        if (claimed) return claimed;
        if (o.sequential) return null;
      }
      if (rows.length < PAGE) return null;
      const last = rows[rows.length - 1] as unknown as EventRow;
      after = { c: Number(last.created_at), s: Number(last.seq) };
    }
  }

  /** Inserts the job event; `null` when another worker's insert of the same hash won. */
  async function claim(o: EnrollOpts, src: EventRow): Promise<EnrollResult | null> {
    const id = newAyonId();
    const hash = createHash('sha256').update(JSON.stringify([o.target, src.id])).digest('hex');
    const now = Date.now();
    const rec: AyonEventRecord = {
      id,
      hash,
      topic: o.target,
      project: src.project_name,
      user: o.user,
      sender: o.sender,
      senderType: o.senderType,
      dependsOn: src.id,
      status: 'pending',
      description: o.description,
      summary: {},
      payload: {},
      createdAt: now,
      updatedAt: now,
    };
    let inserted: { id: string } | undefined;
    try {
      inserted = await db
        .insertInto('ayon_events')
        .values({
          id,
          hash,
          topic: o.target,
          sender: o.sender,
          sender_type: o.senderType,
          project_name: src.project_name,
          user_name: o.user,
          depends_on: src.id,
          status: 'pending',
          retries: 0,
          description: o.description,
          summary: '{}',
          payload: '{}',
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) => oc.column('hash').doNothing())
        .returning('id')
        .executeTakeFirst();
    } catch (err) {
      if (isUniqueViolation(err)) return null;
      throw err;
    }
    if (!inserted) return null;
    publish(rec, { progress: 0, store: true, retries: 0 });
    return { id, dependsOn: src.id, hash, status: 'pending' };
  }

  // ------------------------------------------------------------------ retention

  /** Env ATRIUM_AYON_EVENT_RETENTION_DAYS (unset/0: keep finished events forever); log.* 7 days. */
  function retentionDays(): number | null {
    const v = process.env.ATRIUM_AYON_EVENT_RETENTION_DAYS;
    if (!v) return null;
    const n = Number(v);
    return Number.isFinite(n) && n > 0 ? n : null;
  }

  /**
   * Deletes log.* events older than 7 days and, with a retention set, finished events not updated
   * within it that no kept event depends on. Batched, so a large purge never holds a long lock.
   */
  async function purge(now = Date.now(), opts: { eventDays?: number | null; logDays?: number } = {}): Promise<number> {
    const eventDays = opts.eventDays !== undefined ? opts.eventDays : retentionDays();
    const logDays = opts.logDays ?? 7;
    let total = 0;
    const batch = async (build: () => Promise<Array<{ id: string }>>) => {
      for (;;) {
        const ids = (await build()).map((r) => r.id);
        if (!ids.length) return;
        await db.deleteFrom('ayon_events').where('id', 'in', ids).execute();
        total += ids.length;
        if (ids.length < 500) return;
      }
    };
    const logCut = now - logDays * DAY;
    await batch(() =>
      db.selectFrom('ayon_events').select('id').where('topic', '>=', 'log.').where('topic', '<', 'log/').where('created_at', '<', logCut).limit(500).execute(),
    );
    if (eventDays) {
      const cut = now - eventDays * DAY;
      await batch(() =>
        db
          .selectFrom('ayon_events as e')
          .select('e.id')
          .where('e.updated_at', '<', cut)
          .where('e.status', '=', 'finished')
          .where((eb) => eb.not(eb.exists(eb.selectFrom('ayon_events as c').select(sql`1`.as('one')).whereRef('c.depends_on', '=', 'e.id').where('c.updated_at', '>=', cut))))
          .limit(500)
          .execute(),
      );
    }
    if (total) reopen(0);
    return total;
  }

  let timer: NodeJS.Timeout | null = null;
  let users = 0;
  /** Starts the hourly purge (reference-counted: each face instance starts and stops it). */
  function startRetention(everyMs = 3_600_000) {
    users++;
    if (timer) return;
    const run = () => void purge().catch(() => {});
    timer = setInterval(run, everyMs);
    timer.unref();
    setTimeout(run, 5_000).unref();
  }
  function stopRetention() {
    users = Math.max(0, users - 1);
    if (!users && timer) {
      clearInterval(timer);
      timer = null;
    }
  }

  return {
    dispatch,
    get,
    update,
    remove,
    eventOps,
    list,
    withChildren,
    enroll,
    enrollKey,
    keepOrphanResult,
    purge,
    startRetention,
    stopRetention,
    publish,
  };
}

export type EventStreamService = ReturnType<typeof createEventStreamService>;
