/**
 * The SQL of the PySpeckle v1 area (tables of migration 0020): every function takes the executor to
 * use, so a service call runs all of its reads and writes inside one transaction. Documents are kept
 * as a few columns (ids, owner, flags) plus the JSON of their other fields; lists of user ids live in
 * `v1_user_lists`, in order.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { Doc } from './speckle-v1-documents.js';

export type Executor = Kysely<Database>;

/** Lists of user ids a v1 resource holds. */
export type ListName = 'canRead' | 'canWrite' | 'permRead' | 'permWrite' | 'assignedTo';
export type ResourceKind = 'stream' | 'object' | 'project' | 'client' | 'comment';

const CHUNK = 500;
const chunks = <T>(xs: T[]): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += CHUNK) out.push(xs.slice(i, i + CHUNK));
  return out;
};

const parseDoc = (s: string): Doc => {
  const v = JSON.parse(s) as unknown;
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Doc) : {};
};

// ------------------------------------------------------------------ user lists

export type Lists = Partial<Record<ListName, string[]>>;

export async function loadLists(db: Executor, kind: ResourceKind, ids: string[]): Promise<Map<string, Lists>> {
  const out = new Map<string, Lists>();
  for (const id of ids) out.set(id, {});
  for (const part of chunks([...new Set(ids)])) {
    if (!part.length) continue;
    const rows = await db
      .selectFrom('v1_user_lists')
      .select(['resource_id', 'list', 'user_id', 'seq'])
      .where('resource_type', '=', kind)
      .where('resource_id', 'in', part)
      .orderBy('seq')
      .execute();
    for (const r of rows) {
      const lists = out.get(r.resource_id)!;
      (lists[r.list as ListName] ??= []).push(r.user_id);
    }
  }
  return out;
}

/** Replaces one list of a resource with `userIds` (in that order). */
export async function replaceList(db: Executor, kind: ResourceKind, id: string, list: ListName, userIds: string[]): Promise<void> {
  await db.deleteFrom('v1_user_lists').where('resource_type', '=', kind).where('resource_id', '=', id).where('list', '=', list).execute();
  const unique = [...new Set(userIds)];
  for (const part of chunks(unique.map((u, i) => ({ u, i })))) {
    await db
      .insertInto('v1_user_lists')
      .values(part.map(({ u, i }) => ({ resource_type: kind, resource_id: id, list, user_id: u, seq: i })))
      .execute();
  }
}

/** Appends `userId` to a list unless it is already there. */
export async function addToList(db: Executor, kind: ResourceKind, id: string, list: ListName, userId: string): Promise<void> {
  const max = await db
    .selectFrom('v1_user_lists')
    .select((eb) => eb.fn.max('seq').as('m'))
    .where('resource_type', '=', kind)
    .where('resource_id', '=', id)
    .where('list', '=', list)
    .executeTakeFirst();
  const seq = max?.m === null || max?.m === undefined ? 0 : Number(max.m) + 1;
  await db
    .insertInto('v1_user_lists')
    .values({ resource_type: kind, resource_id: id, list, user_id: userId, seq })
    .onConflict((oc) => oc.columns(['resource_type', 'resource_id', 'list', 'user_id']).doNothing())
    .execute();
}

export async function removeFromList(db: Executor, kind: ResourceKind, ids: string[], list: ListName, userId: string): Promise<void> {
  for (const part of chunks(ids)) {
    if (!part.length) continue;
    await db
      .deleteFrom('v1_user_lists')
      .where('resource_type', '=', kind)
      .where('resource_id', 'in', part)
      .where('list', '=', list)
      .where('user_id', '=', userId)
      .execute();
  }
}

export async function deleteLists(db: Executor, kind: ResourceKind, ids: string[]): Promise<void> {
  for (const part of chunks(ids)) {
    if (part.length) await db.deleteFrom('v1_user_lists').where('resource_type', '=', kind).where('resource_id', 'in', part).execute();
  }
}

/** Ids of the resources of `kind` where `userId` is in one of `lists`. */
export async function resourcesListing(db: Executor, kind: ResourceKind, userId: string, lists: ListName[]): Promise<string[]> {
  const rows = await db
    .selectFrom('v1_user_lists')
    .select('resource_id')
    .distinct()
    .where('user_id', '=', userId)
    .where('resource_type', '=', kind)
    .where('list', 'in', lists)
    .execute();
  return rows.map((r) => r.resource_id);
}

// ------------------------------------------------------------------ users

export interface UserCard {
  _id: string;
  name: string;
  surname: string;
  email: string;
  company: string | null;
  role: string;
  avatar: string | null;
  verified: boolean;
  createdAt: number;
  updatedAt: number;
  logins: number;
}

export async function loadUsers(db: Executor, ids: string[]): Promise<Map<string, UserCard>> {
  const out = new Map<string, UserCard>();
  for (const part of chunks([...new Set(ids)])) {
    if (!part.length) continue;
    const rows = await db
      .selectFrom('users')
      .leftJoin('v1_profiles', 'v1_profiles.user_id', 'users.id')
      .select([
        'users.id',
        'users.name',
        'users.email',
        'users.company',
        'users.server_role',
        'users.avatar',
        'users.verified',
        'users.created_at',
        'users.updated_at',
        'v1_profiles.surname',
        'v1_profiles.logins',
        'v1_profiles.updated_at as profile_updated_at',
      ])
      .where('users.id', 'in', part)
      .execute();
    for (const r of rows) {
      out.set(r.id, {
        _id: r.id,
        name: r.name,
        surname: r.surname ?? '',
        email: r.email,
        company: r.company,
        role: r.server_role,
        avatar: r.avatar,
        verified: r.verified === 1,
        createdAt: r.created_at,
        updatedAt: Math.max(r.updated_at, r.profile_updated_at ?? 0),
        logins: r.logins ?? 0,
      });
    }
  }
  return out;
}

export async function existingUserIds(db: Executor, ids: string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const part of chunks([...new Set(ids)])) {
    if (!part.length) continue;
    const rows = await db.selectFrom('users').select('id').where('id', 'in', part).execute();
    for (const r of rows) out.add(r.id);
  }
  return out;
}

export async function upsertProfile(db: Executor, userId: string, patch: { surname?: string; loginsDelta?: number }): Promise<void> {
  const now = Date.now();
  const row = await db.selectFrom('v1_profiles').select(['surname', 'logins']).where('user_id', '=', userId).executeTakeFirst();
  if (!row) {
    await db
      .insertInto('v1_profiles')
      .values({ user_id: userId, surname: patch.surname ?? '', logins: patch.loginsDelta ?? 0, created_at: now, updated_at: now })
      .execute();
    return;
  }
  await db
    .updateTable('v1_profiles')
    .set({
      surname: patch.surname ?? row.surname,
      logins: row.logins + (patch.loginsDelta ?? 0),
      updated_at: now,
    })
    .where('user_id', '=', userId)
    .execute();
}

/** Case-insensitive substring search on name, surname and email (archived users excluded). */
export async function searchUsers(db: Executor, text: string, limit: number): Promise<string[]> {
  const like = `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const rows = await db
    .selectFrom('users')
    .leftJoin('v1_profiles', 'v1_profiles.user_id', 'users.id')
    .select('users.id')
    .where('users.server_role', '!=', 'archived')
    .where((eb) =>
      eb.or([
        eb(eb.fn('lower', ['users.name']), 'like', like),
        eb(eb.fn('lower', ['v1_profiles.surname']), 'like', like),
        eb('users.email_lower', 'like', like),
      ]),
    )
    .orderBy('users.name')
    .orderBy('users.id')
    .limit(limit)
    .execute();
  return rows.map((r) => r.id);
}

/** How many admins the server has (counting stops at 2: enough to know one may step down). */
export async function countAdmins(db: Executor): Promise<number> {
  return (await db.selectFrom('users').select('id').where('server_role', '=', 'admin').limit(2).execute()).length;
}

// ------------------------------------------------------------------ streams

export interface StreamRec {
  id: string;
  streamId: string;
  ownerId: string;
  private: boolean;
  anonymousComments: boolean;
  objects: string[];
  doc: Doc;
  createdAt: number;
  updatedAt: number;
  canRead: string[];
  canWrite: string[];
}

type StreamRow = Database['v1_streams'];

async function streamRecs(db: Executor, rows: StreamRow[]): Promise<StreamRec[]> {
  const lists = await loadLists(db, 'stream', rows.map((r) => r.id));
  return rows.map((r) => ({
    id: r.id,
    streamId: r.stream_id,
    ownerId: r.owner_id,
    private: r.private === 1,
    anonymousComments: r.anonymous_comments === 1,
    objects: JSON.parse(r.objects) as string[],
    doc: parseDoc(r.doc),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    canRead: lists.get(r.id)?.canRead ?? [],
    canWrite: lists.get(r.id)?.canWrite ?? [],
  }));
}

export async function streamsByStreamIds(db: Executor, streamIds: string[]): Promise<StreamRec[]> {
  const rows: StreamRow[] = [];
  for (const part of chunks([...new Set(streamIds)])) {
    if (part.length) rows.push(...(await db.selectFrom('v1_streams').selectAll().where('stream_id', 'in', part).execute()));
  }
  return streamRecs(db, rows);
}

export async function streamByStreamId(db: Executor, streamId: string): Promise<StreamRec | undefined> {
  return (await streamsByStreamIds(db, [streamId]))[0];
}

/** Streams the user owns or is listed on (canRead, canWrite), oldest first. */
export async function streamsOfUser(db: Executor, userId: string): Promise<StreamRec[]> {
  const listed = await resourcesListing(db, 'stream', userId, ['canRead', 'canWrite']);
  const owned = await db.selectFrom('v1_streams').selectAll().where('owner_id', '=', userId).execute();
  const rows = [...owned];
  const ownedIds = new Set(owned.map((r) => r.id));
  const more = listed.filter((id) => !ownedIds.has(id));
  for (const part of chunks(more)) {
    if (part.length) rows.push(...(await db.selectFrom('v1_streams').selectAll().where('id', 'in', part).execute()));
  }
  rows.sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : 1));
  return streamRecs(db, rows);
}

export async function insertStream(db: Executor, s: StreamRec): Promise<void> {
  await db
    .insertInto('v1_streams')
    .values({
      id: s.id,
      stream_id: s.streamId,
      owner_id: s.ownerId,
      private: s.private ? 1 : 0,
      anonymous_comments: s.anonymousComments ? 1 : 0,
      objects: JSON.stringify(s.objects),
      doc: JSON.stringify(s.doc),
      created_at: s.createdAt,
      updated_at: s.updatedAt,
    })
    .execute();
  await replaceList(db, 'stream', s.id, 'canRead', s.canRead);
  await replaceList(db, 'stream', s.id, 'canWrite', s.canWrite);
}

/** Writes the columns and, when `lists` says so, the user lists of a stream. */
export async function saveStream(db: Executor, s: StreamRec, lists: { canRead?: boolean; canWrite?: boolean } = {}): Promise<void> {
  await db
    .updateTable('v1_streams')
    .set({
      owner_id: s.ownerId,
      private: s.private ? 1 : 0,
      anonymous_comments: s.anonymousComments ? 1 : 0,
      objects: JSON.stringify(s.objects),
      doc: JSON.stringify(s.doc),
      updated_at: s.updatedAt,
    })
    .where('id', '=', s.id)
    .execute();
  if (lists.canRead) await replaceList(db, 'stream', s.id, 'canRead', s.canRead);
  if (lists.canWrite) await replaceList(db, 'stream', s.id, 'canWrite', s.canWrite);
}

export async function deleteStreams(db: Executor, recs: StreamRec[]): Promise<void> {
  const ids = recs.map((r) => r.id);
  for (const part of chunks(ids)) if (part.length) await db.deleteFrom('v1_streams').where('id', 'in', part).execute();
  await deleteLists(db, 'stream', ids);
  const sids = recs.map((r) => r.streamId);
  for (const part of chunks(sids)) if (part.length) await db.deleteFrom('v1_project_streams').where('stream_id', 'in', part).execute();
}

export async function touchStream(db: Executor, id: string): Promise<void> {
  await db.updateTable('v1_streams').set({ updated_at: Date.now() }).where('id', '=', id).execute();
}

// ------------------------------------------------------------------ objects

export interface ObjectRec {
  id: string;
  ownerId: string | null;
  private: boolean;
  anonymousComments: boolean;
  type: string;
  hash: string;
  doc: Doc;
  createdAt: number;
  updatedAt: number;
  canRead: string[];
  canWrite: string[];
}

type ObjectRow = Database['v1_objects'];

async function objectRecs(db: Executor, rows: ObjectRow[]): Promise<ObjectRec[]> {
  const lists = await loadLists(db, 'object', rows.map((r) => r.id));
  return rows.map((r) => ({
    id: r.id,
    ownerId: r.owner_id,
    private: r.private === 1,
    anonymousComments: r.anonymous_comments === 1,
    type: r.type,
    hash: r.hash,
    doc: parseDoc(r.doc),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    canRead: lists.get(r.id)?.canRead ?? [],
    canWrite: lists.get(r.id)?.canWrite ?? [],
  }));
}

export async function objectsByIds(db: Executor, ids: string[]): Promise<Map<string, ObjectRec>> {
  const rows: ObjectRow[] = [];
  for (const part of chunks([...new Set(ids)])) {
    if (part.length) rows.push(...(await db.selectFrom('v1_objects').selectAll().where('id', 'in', part).execute()));
  }
  return new Map((await objectRecs(db, rows)).map((o) => [o.id, o]));
}

export async function existingObjectIds(db: Executor, ids: string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const part of chunks([...new Set(ids)])) {
    if (!part.length) continue;
    for (const r of await db.selectFrom('v1_objects').select('id').where('id', 'in', part).execute()) out.add(r.id);
  }
  return out;
}

export async function objectsByHashes(db: Executor, hashes: string[]): Promise<ObjectRec[]> {
  const rows: ObjectRow[] = [];
  for (const part of chunks([...new Set(hashes)])) {
    if (part.length) rows.push(...(await db.selectFrom('v1_objects').selectAll().where('hash', 'in', part).orderBy('created_at').execute()));
  }
  return objectRecs(db, rows);
}

export async function insertObjects(db: Executor, objs: ObjectRec[]): Promise<void> {
  for (const part of chunks(objs)) {
    if (!part.length) continue;
    await db
      .insertInto('v1_objects')
      .values(
        part.map((o) => ({
          id: o.id,
          owner_id: o.ownerId,
          private: o.private ? 1 : 0,
          anonymous_comments: o.anonymousComments ? 1 : 0,
          type: o.type,
          hash: o.hash,
          doc: JSON.stringify(o.doc),
          created_at: o.createdAt,
          updated_at: o.updatedAt,
        })),
      )
      .execute();
  }
  for (const o of objs) {
    if (o.canRead.length) await replaceList(db, 'object', o.id, 'canRead', o.canRead);
    if (o.canWrite.length) await replaceList(db, 'object', o.id, 'canWrite', o.canWrite);
  }
}

export async function saveObject(db: Executor, o: ObjectRec, lists: { canRead?: boolean; canWrite?: boolean } = {}): Promise<void> {
  await db
    .updateTable('v1_objects')
    .set({
      owner_id: o.ownerId,
      private: o.private ? 1 : 0,
      anonymous_comments: o.anonymousComments ? 1 : 0,
      type: o.type,
      hash: o.hash,
      doc: JSON.stringify(o.doc),
      updated_at: o.updatedAt,
    })
    .where('id', '=', o.id)
    .execute();
  if (lists.canRead) await replaceList(db, 'object', o.id, 'canRead', o.canRead);
  if (lists.canWrite) await replaceList(db, 'object', o.id, 'canWrite', o.canWrite);
}

export async function deleteObject(db: Executor, id: string): Promise<void> {
  await db.deleteFrom('v1_objects').where('id', '=', id).execute();
  await deleteLists(db, 'object', [id]);
}

// ------------------------------------------------------------------ projects

export interface ProjectRec {
  id: string;
  ownerId: string;
  private: boolean;
  anonymousComments: boolean;
  doc: Doc;
  streams: string[];
  createdAt: number;
  updatedAt: number;
  canRead: string[];
  canWrite: string[];
  permRead: string[];
  permWrite: string[];
}

type ProjectRow = Database['v1_projects'];

async function projectRecs(db: Executor, rows: ProjectRow[]): Promise<ProjectRec[]> {
  const ids = rows.map((r) => r.id);
  const lists = await loadLists(db, 'project', ids);
  const streams = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const part of chunks(ids)) {
    if (!part.length) continue;
    const links = await db.selectFrom('v1_project_streams').selectAll().where('project_id', 'in', part).orderBy('seq').execute();
    for (const l of links) streams.get(l.project_id)!.push(l.stream_id);
  }
  return rows.map((r) => {
    const l = lists.get(r.id) ?? {};
    return {
      id: r.id,
      ownerId: r.owner_id,
      private: r.private === 1,
      anonymousComments: r.anonymous_comments === 1,
      doc: parseDoc(r.doc),
      streams: streams.get(r.id) ?? [],
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      canRead: l.canRead ?? [],
      canWrite: l.canWrite ?? [],
      permRead: l.permRead ?? [],
      permWrite: l.permWrite ?? [],
    };
  });
}

export async function projectById(db: Executor, id: string): Promise<ProjectRec | undefined> {
  const row = await db.selectFrom('v1_projects').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? (await projectRecs(db, [row]))[0] : undefined;
}

export async function projectsOfUser(db: Executor, userId: string): Promise<ProjectRec[]> {
  const listed = await resourcesListing(db, 'project', userId, ['canRead', 'canWrite']);
  const rows = await db.selectFrom('v1_projects').selectAll().where('owner_id', '=', userId).execute();
  const have = new Set(rows.map((r) => r.id));
  const more = listed.filter((id) => !have.has(id));
  for (const part of chunks(more)) {
    if (part.length) rows.push(...(await db.selectFrom('v1_projects').selectAll().where('id', 'in', part).execute()));
  }
  rows.sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : 1));
  return projectRecs(db, rows);
}

/** Projects other than `exceptId` that hold any of `streamIds`. */
export async function projectsHoldingStreams(db: Executor, streamIds: string[], exceptId: string): Promise<ProjectRec[]> {
  const ids = new Set<string>();
  for (const part of chunks([...new Set(streamIds)])) {
    if (!part.length) continue;
    const rows = await db.selectFrom('v1_project_streams').select('project_id').where('stream_id', 'in', part).execute();
    for (const r of rows) if (r.project_id !== exceptId) ids.add(r.project_id);
  }
  const rows: ProjectRow[] = [];
  for (const part of chunks([...ids])) {
    if (part.length) rows.push(...(await db.selectFrom('v1_projects').selectAll().where('id', 'in', part).execute()));
  }
  return projectRecs(db, rows);
}

export async function insertProject(db: Executor, p: ProjectRec): Promise<void> {
  await db
    .insertInto('v1_projects')
    .values({
      id: p.id,
      owner_id: p.ownerId,
      private: p.private ? 1 : 0,
      anonymous_comments: p.anonymousComments ? 1 : 0,
      doc: JSON.stringify(p.doc),
      created_at: p.createdAt,
      updated_at: p.updatedAt,
    })
    .execute();
  await saveProjectLists(db, p);
}

/** Writes the columns, the stream list and every user list of a project. */
export async function saveProject(db: Executor, p: ProjectRec): Promise<void> {
  await db
    .updateTable('v1_projects')
    .set({
      owner_id: p.ownerId,
      private: p.private ? 1 : 0,
      anonymous_comments: p.anonymousComments ? 1 : 0,
      doc: JSON.stringify(p.doc),
      updated_at: p.updatedAt,
    })
    .where('id', '=', p.id)
    .execute();
  await saveProjectLists(db, p);
}

async function saveProjectLists(db: Executor, p: ProjectRec): Promise<void> {
  await db.deleteFrom('v1_project_streams').where('project_id', '=', p.id).execute();
  const streams = [...new Set(p.streams)];
  for (const part of chunks(streams.map((s, i) => ({ s, i })))) {
    if (part.length) await db.insertInto('v1_project_streams').values(part.map(({ s, i }) => ({ project_id: p.id, stream_id: s, seq: i }))).execute();
  }
  await replaceList(db, 'project', p.id, 'canRead', p.canRead);
  await replaceList(db, 'project', p.id, 'canWrite', p.canWrite);
  await replaceList(db, 'project', p.id, 'permRead', p.permRead);
  await replaceList(db, 'project', p.id, 'permWrite', p.permWrite);
}

export async function deleteProject(db: Executor, id: string): Promise<void> {
  await db.deleteFrom('v1_project_streams').where('project_id', '=', id).execute();
  await db.deleteFrom('v1_projects').where('id', '=', id).execute();
  await deleteLists(db, 'project', [id]);
}

// ------------------------------------------------------------------ API clients

export interface ClientRec {
  id: string;
  ownerId: string;
  streamId: string | null;
  private: boolean;
  anonymousComments: boolean;
  doc: Doc;
  createdAt: number;
  updatedAt: number;
  canRead: string[];
  canWrite: string[];
}

type ClientRow = Database['v1_clients'];

async function clientRecs(db: Executor, rows: ClientRow[]): Promise<ClientRec[]> {
  const lists = await loadLists(db, 'client', rows.map((r) => r.id));
  return rows.map((r) => ({
    id: r.id,
    ownerId: r.owner_id,
    streamId: r.stream_id,
    private: r.private === 1,
    anonymousComments: r.anonymous_comments === 1,
    doc: parseDoc(r.doc),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    canRead: lists.get(r.id)?.canRead ?? [],
    canWrite: lists.get(r.id)?.canWrite ?? [],
  }));
}

export async function clientById(db: Executor, id: string): Promise<ClientRec | undefined> {
  const row = await db.selectFrom('v1_clients').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? (await clientRecs(db, [row]))[0] : undefined;
}

export async function clientsWhere(db: Executor, where: { ownerId?: string; streamId?: string }): Promise<ClientRec[]> {
  let q = db.selectFrom('v1_clients').selectAll();
  if (where.ownerId !== undefined) q = q.where('owner_id', '=', where.ownerId);
  if (where.streamId !== undefined) q = q.where('stream_id', '=', where.streamId);
  return clientRecs(db, await q.orderBy('created_at').orderBy('id').execute());
}

export async function insertClient(db: Executor, c: ClientRec): Promise<void> {
  await db
    .insertInto('v1_clients')
    .values({
      id: c.id,
      owner_id: c.ownerId,
      stream_id: c.streamId,
      private: c.private ? 1 : 0,
      anonymous_comments: c.anonymousComments ? 1 : 0,
      doc: JSON.stringify(c.doc),
      created_at: c.createdAt,
      updated_at: c.updatedAt,
    })
    .execute();
  await replaceList(db, 'client', c.id, 'canRead', c.canRead);
  await replaceList(db, 'client', c.id, 'canWrite', c.canWrite);
}

export async function saveClient(db: Executor, c: ClientRec): Promise<void> {
  await db
    .updateTable('v1_clients')
    .set({
      owner_id: c.ownerId,
      stream_id: c.streamId,
      private: c.private ? 1 : 0,
      anonymous_comments: c.anonymousComments ? 1 : 0,
      doc: JSON.stringify(c.doc),
      updated_at: c.updatedAt,
    })
    .where('id', '=', c.id)
    .execute();
  await replaceList(db, 'client', c.id, 'canRead', c.canRead);
  await replaceList(db, 'client', c.id, 'canWrite', c.canWrite);
}

export async function deleteClient(db: Executor, id: string): Promise<void> {
  await db.deleteFrom('v1_clients').where('id', '=', id).execute();
  await deleteLists(db, 'client', [id]);
}

// ------------------------------------------------------------------ comments

export interface CommentRec {
  id: string;
  ownerId: string | null;
  resourceType: string;
  resourceId: string;
  doc: Doc;
  createdAt: number;
  updatedAt: number;
  assignedTo: string[];
}

type CommentRow = Database['v1_comments'];

async function commentRecs(db: Executor, rows: CommentRow[]): Promise<CommentRec[]> {
  const lists = await loadLists(db, 'comment', rows.map((r) => r.id));
  return rows.map((r) => ({
    id: r.id,
    ownerId: r.owner_id,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    doc: parseDoc(r.doc),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    assignedTo: lists.get(r.id)?.assignedTo ?? [],
  }));
}

export async function commentById(db: Executor, id: string): Promise<CommentRec | undefined> {
  const row = await db.selectFrom('v1_comments').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? (await commentRecs(db, [row]))[0] : undefined;
}

export async function commentsOn(db: Executor, resourceType: string, resourceId: string): Promise<CommentRec[]> {
  const rows = await db
    .selectFrom('v1_comments')
    .selectAll()
    .where('resource_type', '=', resourceType)
    .where('resource_id', '=', resourceId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return commentRecs(db, rows);
}

/** Ids of the comments on each resource, in creation order (a document's `comments`). */
export async function commentIdsOn(db: Executor, resourceType: string, resourceIds: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>(resourceIds.map((id) => [id, []]));
  for (const part of chunks([...new Set(resourceIds)])) {
    if (!part.length) continue;
    const rows = await db
      .selectFrom('v1_comments')
      .select(['id', 'resource_id'])
      .where('resource_type', '=', resourceType)
      .where('resource_id', 'in', part)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    for (const r of rows) out.get(r.resource_id)?.push(r.id);
  }
  return out;
}

/** Comments the user owns or is assigned to (`assignedOnly`: only the latter). */
export async function commentsOfUser(db: Executor, userId: string, assignedOnly: boolean): Promise<CommentRec[]> {
  const assigned = await resourcesListing(db, 'comment', userId, ['assignedTo']);
  const rows: CommentRow[] = assignedOnly ? [] : await db.selectFrom('v1_comments').selectAll().where('owner_id', '=', userId).execute();
  const have = new Set(rows.map((r) => r.id));
  const more = assigned.filter((id) => !have.has(id));
  for (const part of chunks(more)) {
    if (part.length) rows.push(...(await db.selectFrom('v1_comments').selectAll().where('id', 'in', part).execute()));
  }
  rows.sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : 1));
  return commentRecs(db, rows);
}

export async function insertComment(db: Executor, c: CommentRec): Promise<void> {
  await db
    .insertInto('v1_comments')
    .values({
      id: c.id,
      owner_id: c.ownerId,
      resource_type: c.resourceType,
      resource_id: c.resourceId,
      doc: JSON.stringify(c.doc),
      created_at: c.createdAt,
      updated_at: c.updatedAt,
    })
    .execute();
  if (c.assignedTo.length) await replaceList(db, 'comment', c.id, 'assignedTo', c.assignedTo);
}

export async function saveComment(db: Executor, c: CommentRec): Promise<void> {
  await db.updateTable('v1_comments').set({ owner_id: c.ownerId, doc: JSON.stringify(c.doc), updated_at: c.updatedAt }).where('id', '=', c.id).execute();
  await replaceList(db, 'comment', c.id, 'assignedTo', c.assignedTo);
}

/** Deletes one comment and its replies. */
export async function deleteComment(db: Executor, id: string): Promise<void> {
  await deleteCommentThreads(db, 'comments', [id]);
  await db.deleteFrom('v1_comments').where('id', '=', id).execute();
  await deleteLists(db, 'comment', [id]);
}

/** Deletes the comments on a resource and, recursively, their replies. */
export async function deleteCommentThreads(db: Executor, resourceType: string, resourceIds: string[]): Promise<void> {
  let frontier: Array<[string, string[]]> = [[resourceType, resourceIds]];
  const seen = new Set<string>();
  while (frontier.length) {
    const next: string[] = [];
    for (const [type, ids] of frontier) {
      for (const part of chunks(ids)) {
        if (!part.length) continue;
        const rows = await db.selectFrom('v1_comments').select('id').where('resource_type', '=', type).where('resource_id', 'in', part).execute();
        for (const r of rows) if (!seen.has(r.id)) (seen.add(r.id), next.push(r.id));
      }
    }
    frontier = next.length ? [['comments', next]] : [];
  }
  const all = [...seen];
  for (const part of chunks(all)) if (part.length) await db.deleteFrom('v1_comments').where('id', 'in', part).execute();
  await deleteLists(db, 'comment', all);
}
