/**
 * v1 projects: a set of streams shared with a set of users. `canRead`/`canWrite` say who may see and
 * manage the project; `permissions.canRead`/`permissions.canWrite` are what the project grants on its
 * streams, and adding or removing users and streams propagates them as v1 did (a grant is pulled from
 * a stream only when no other project holding that stream grants it too).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { notFound, permit, type V1Actor, type V1Caller } from './speckle-v1-access.js';
import {
  PROJECT_DEFAULTS,
  PROJECT_FIELDS,
  bad,
  checkFields,
  isPlainObject,
  iso,
  objectId,
  project as projectFields,
  selectDocs,
  strList,
  userIdList,
  type Doc,
  type ListQuery,
} from './speckle-v1-documents.js';
import * as repo from './speckle-v1-store.js';
import type { ProjectRec, StreamRec } from './speckle-v1-store.js';
import { assertUsers, ownedBy, type V1Context } from './speckle-v1-streams.js';

type Db = Kysely<Database>;

const PROJECT_COLUMNS = new Set(['_id', 'owner', 'private', 'anonymousComments', 'canRead', 'canWrite', 'comments', 'streams', 'permissions', 'createdAt', 'updatedAt']);

export function projectDoc(p: ProjectRec, comments: string[]): Doc {
  return {
    _id: p.id,
    owner: p.ownerId,
    private: p.private,
    anonymousComments: p.anonymousComments,
    canRead: p.canRead,
    canWrite: p.canWrite,
    comments,
    ...p.doc,
    streams: p.streams,
    permissions: { canRead: p.permRead, canWrite: p.permWrite },
    createdAt: iso(p.createdAt),
    updatedAt: iso(p.updatedAt),
  };
}

/** The stream fields v1 answers with after a project change. */
const streamSummary = (s: StreamRec): Doc => ({
  _id: s.id,
  canRead: s.canRead,
  canWrite: s.canWrite,
  name: s.doc.name ?? null,
  streamId: s.streamId,
  owner: s.ownerId,
});

function parsePermissions(v: unknown): { canRead?: string[]; canWrite?: string[] } {
  if (!isPlainObject(v)) throw bad('Field permissions must be an object {canRead, canWrite}.');
  const out: { canRead?: string[]; canWrite?: string[] } = {};
  for (const [k, x] of Object.entries(v)) {
    if (k !== 'canRead' && k !== 'canWrite') throw bad(`Field permissions.${k.slice(0, 40)} is not known (canRead, canWrite).`);
    out[k] = userIdList(x, `permissions.${k}`) as string[];
  }
  return out;
}

const without = (xs: string[], x: string) => xs.filter((y) => y !== x);
const withAdded = (xs: string[], x: string) => (xs.includes(x) ? xs : [...xs, x]);

export function createV1ProjectsService(ctx: V1Context) {
  const { db, tx } = ctx;

  async function load(d: Db, id: string): Promise<ProjectRec> {
    const p = await repo.projectById(d, id);
    if (!p) throw notFound();
    return p;
  }

  async function loadStream(d: Db, streamId: string): Promise<StreamRec> {
    const s = await repo.streamByStreamId(d, streamId);
    if (!s) throw notFound();
    return s;
  }

  async function assertUser(d: Db, userId: string): Promise<void> {
    if (!(await repo.existingUserIds(d, [userId])).has(userId)) throw notFound('User not found.');
  }

  async function doc(d: Db, p: ProjectRec): Promise<Doc> {
    const comments = await repo.commentIdsOn(d, 'projects', [p.id]);
    return projectDoc(p, comments.get(p.id) ?? []);
  }

  /** Streams newly put in a project must exist and be writable by the caller (else a project grant would reach streams that are not the caller's to share). */
  async function assertAddableStreams(trx: Db, actor: V1Caller, streamIds: string[]): Promise<void> {
    if (!streamIds.length) return;
    const found = await repo.streamsByStreamIds(trx, streamIds);
    const byId = new Map(found.map((s) => [s.streamId, s]));
    const missing = streamIds.filter((id) => !byId.has(id));
    if (missing.length) throw bad(`Unknown streams: ${missing.slice(0, 5).join(', ')}.`);
    for (const s of found) permit(actor, s, 'write');
  }

  async function applyFields(trx: Db, actor: V1Caller, p: ProjectRec, fields: Doc, body: Doc, creating: boolean): Promise<void> {
    for (const [k, v] of Object.entries(fields)) {
      switch (k) {
        case 'owner':
          if (creating) break;
          await assertUsers(trx, [v as string], 'owner');
          p.ownerId = v as string;
          break;
        case 'private':
          p.private = v as boolean;
          break;
        case 'anonymousComments':
          p.anonymousComments = v as boolean;
          break;
        case 'canRead':
        case 'canWrite':
          await assertUsers(trx, v as string[], k);
          p[k] = v as string[];
          break;
        default:
          if (!PROJECT_COLUMNS.has(k)) p.doc[k] = v;
      }
    }
    if (body.permissions !== undefined) {
      const perms = parsePermissions(body.permissions);
      await assertUsers(trx, [...(perms.canRead ?? []), ...(perms.canWrite ?? [])], 'permissions');
      if (perms.canRead) p.permRead = perms.canRead;
      if (perms.canWrite) p.permWrite = perms.canWrite;
    }
    if (body.streams !== undefined) {
      const streams = [...new Set(strList(10_000, 64)(body.streams, 'streams') as string[])];
      await assertAddableStreams(trx, actor, streams.filter((s) => !p.streams.includes(s)));
      p.streams = streams;
    }
  }

  async function create(actor: V1Caller, body: Doc): Promise<Doc> {
    permit(actor, ownedBy(actor), 'write');
    const fields = checkFields(body, PROJECT_FIELDS, { strict: false });
    return tx(async (trx) => {
      const now = Date.now();
      const p: ProjectRec = {
        id: objectId(now),
        ownerId: actor.userId,
        private: true,
        anonymousComments: false,
        doc: PROJECT_DEFAULTS(),
        streams: [],
        createdAt: now,
        updatedAt: now,
        canRead: [],
        canWrite: [],
        permRead: [],
        permWrite: [],
      };
      await applyFields(trx, actor, p, fields, body, true);
      await repo.insertProject(trx, p);
      return projectDoc(p, []);
    });
  }

  async function list(actor: V1Caller, q: ListQuery): Promise<Doc[]> {
    permit(actor, ownedBy(actor), 'read');
    const projects = await repo.projectsOfUser(db, actor.userId);
    const comments = await repo.commentIdsOn(db, 'projects', projects.map((p) => p.id));
    return selectDocs(projects.map((p) => projectDoc(p, comments.get(p.id) ?? [])), q).map((d) => projectFields(d, q));
  }

  async function get(actor: V1Actor, id: string): Promise<Doc> {
    const p = await load(db, id);
    permit(actor, p, 'read');
    return doc(db, p);
  }

  async function update(actor: V1Caller, id: string, body: Doc): Promise<string[]> {
    const fields = checkFields(body, PROJECT_FIELDS, { strict: false });
    await tx(async (trx) => {
      const p = await load(trx, id);
      permit(actor, p, 'write', { modKeys: Object.keys(body) });
      await applyFields(trx, actor, p, fields, body, false);
      p.updatedAt = Date.now();
      await repo.saveProject(trx, p);
    });
    return Object.keys(body);
  }

  /** Deletes the project and pulls its grants from its streams; returns the streams changed. */
  async function remove(actor: V1Caller, id: string): Promise<Doc[]> {
    return tx(async (trx) => {
      const p = await load(trx, id);
      permit(actor, p, 'delete', { kind: 'project' });
      const streams = await repo.streamsByStreamIds(trx, p.streams);
      const others = await repo.projectsHoldingStreams(trx, p.streams, p.id);
      const modified: StreamRec[] = [];
      for (const s of streams) {
        const holding = others.filter((o) => o.streams.includes(s.streamId));
        let changed = false;
        for (const uid of p.permRead) {
          if (!holding.some((o) => o.permRead.includes(uid)) && s.canRead.includes(uid)) ((s.canRead = without(s.canRead, uid)), (changed = true));
        }
        for (const uid of p.permWrite) {
          if (!holding.some((o) => o.permWrite.includes(uid)) && s.canWrite.includes(uid)) ((s.canWrite = without(s.canWrite, uid)), (changed = true));
        }
        if (changed) {
          s.updatedAt = Date.now();
          await repo.saveStream(trx, s, { canRead: true, canWrite: true });
          modified.push(s);
        }
      }
      await repo.deleteProject(trx, p.id);
      await repo.deleteCommentThreads(trx, 'projects', [p.id]);
      return modified.map((s) => ({ _id: s.id, canWrite: s.canWrite, canRead: s.canRead, streamId: s.streamId, owner: s.ownerId }));
    });
  }

  async function addStream(actor: V1Caller, id: string, streamId: string): Promise<{ project: Doc; stream: Doc }> {
    return tx(async (trx) => {
      const p = await load(trx, id);
      permit(actor, p, 'write');
      const s = await loadStream(trx, streamId);
      permit(actor, s, 'write');
      p.streams = withAdded(p.streams, s.streamId);
      for (const uid of [...p.permRead, p.ownerId]) s.canRead = withAdded(s.canRead, uid);
      for (const uid of [...p.permWrite, p.ownerId]) s.canWrite = withAdded(s.canWrite, uid);
      const now = Date.now();
      p.updatedAt = now;
      s.updatedAt = now;
      await repo.saveStream(trx, s, { canRead: true, canWrite: true });
      await repo.saveProject(trx, p);
      return { project: await doc(trx, p), stream: streamSummary(s) };
    });
  }

  async function removeStream(actor: V1Caller, id: string, streamId: string): Promise<{ project: Doc; stream: Doc }> {
    return tx(async (trx) => {
      const p = await load(trx, id);
      permit(actor, p, 'write');
      const s = await loadStream(trx, streamId);
      permit(actor, s, 'write');
      p.streams = without(p.streams, s.streamId);
      const others = await repo.projectsHoldingStreams(trx, [s.streamId], p.id);
      for (const uid of p.permRead) if (!others.some((o) => o.permRead.includes(uid))) s.canRead = without(s.canRead, uid);
      for (const uid of p.permWrite) if (!others.some((o) => o.permWrite.includes(uid))) s.canWrite = without(s.canWrite, uid);
      const now = Date.now();
      p.updatedAt = now;
      s.updatedAt = now;
      await repo.saveStream(trx, s, { canRead: true, canWrite: true });
      await repo.saveProject(trx, p);
      return { project: await doc(trx, p), stream: streamSummary(s) };
    });
  }

  /** Read on the project, write on every project stream (v1's add-user default). */
  async function addUser(actor: V1Caller, id: string, userId: string): Promise<void> {
    await tx(async (trx) => {
      const p = await load(trx, id);
      permit(actor, p, 'write');
      await assertUser(trx, userId);
      for (const s of await repo.streamsByStreamIds(trx, p.streams)) await repo.addToList(trx, 'stream', s.id, 'canWrite', userId);
      p.canRead = withAdded(p.canRead, userId);
      p.permWrite = withAdded(p.permWrite, userId);
      p.updatedAt = Date.now();
      await repo.saveProject(trx, p);
    });
  }

  async function upgradeUser(actor: V1Caller, id: string, userId: string): Promise<void> {
    await tx(async (trx) => {
      const p = await load(trx, id);
      permit(actor, p, 'write');
      await assertUser(trx, userId);
      for (const s of await repo.streamsByStreamIds(trx, p.streams)) {
        await repo.addToList(trx, 'stream', s.id, 'canWrite', userId);
        await repo.addToList(trx, 'stream', s.id, 'canRead', userId);
      }
      p.permWrite = withAdded(p.permWrite, userId);
      p.permRead = withAdded(p.permRead, userId);
      p.updatedAt = Date.now();
      await repo.saveProject(trx, p);
    });
  }

  async function removeUser(actor: V1Caller, id: string, userId: string) {
    return tx(async (trx) => {
      const p = await load(trx, id);
      permit(actor, p, 'write');
      await assertUser(trx, userId);
      const others = await repo.projectsHoldingStreams(trx, p.streams, p.id);
      const streams = new Map((await repo.streamsByStreamIds(trx, p.streams)).map((s) => [s.streamId, s]));
      const both: string[] = [];
      const writeOnly: string[] = [];
      const readOnly: string[] = [];
      for (const streamId of p.streams) {
        const s = streams.get(streamId);
        if (!s) continue;
        const holding = others.filter((o) => o.streams.includes(streamId));
        const pullWrite = !holding.some((o) => o.permWrite.includes(userId)) && s.canWrite.includes(userId);
        const pullRead = !holding.some((o) => o.permRead.includes(userId)) && s.canRead.includes(userId);
        if (pullWrite && pullRead) both.push(streamId);
        else if (pullWrite) writeOnly.push(streamId);
        else if (pullRead) readOnly.push(streamId);
      }
      const ids = (list: string[]) => list.map((sid) => streams.get(sid)!.id);
      await repo.removeFromList(trx, 'stream', ids([...both, ...writeOnly]), 'canWrite', userId);
      await repo.removeFromList(trx, 'stream', ids([...both, ...readOnly]), 'canRead', userId);
      p.permWrite = without(p.permWrite, userId);
      p.permRead = without(p.permRead, userId);
      p.canWrite = without(p.canWrite, userId);
      p.canRead = without(p.canRead, userId);
      p.updatedAt = Date.now();
      await repo.saveProject(trx, p);
      return { project: await doc(trx, p), streamsToPullBothFrom: both, streamsToPullWriteFrom: writeOnly, streamsToPullReadFrom: readOnly };
    });
  }

  async function downgradeUser(actor: V1Caller, id: string, userId: string) {
    return tx(async (trx) => {
      const p = await load(trx, id);
      permit(actor, p, 'write');
      await assertUser(trx, userId);
      const others = await repo.projectsHoldingStreams(trx, p.streams, p.id);
      const streams = new Map((await repo.streamsByStreamIds(trx, p.streams)).map((s) => [s.streamId, s]));
      const readAndPullWrite: string[] = [];
      const addToRead: string[] = [];
      for (const streamId of p.streams) {
        const s = streams.get(streamId);
        if (!s) continue;
        const holding = others.filter((o) => o.streams.includes(streamId));
        if (!holding.some((o) => o.permWrite.includes(userId)) && s.canWrite.includes(userId)) readAndPullWrite.push(streamId);
        else if (s.canRead.includes(userId)) addToRead.push(streamId);
      }
      for (const sid of readAndPullWrite) {
        const s = streams.get(sid)!;
        await repo.removeFromList(trx, 'stream', [s.id], 'canWrite', userId);
        await repo.addToList(trx, 'stream', s.id, 'canRead', userId);
      }
      for (const sid of addToRead) await repo.addToList(trx, 'stream', streams.get(sid)!.id, 'canRead', userId);
      p.permWrite = without(p.permWrite, userId);
      p.permRead = withAdded(p.permRead, userId);
      p.updatedAt = Date.now();
      await repo.saveProject(trx, p);
      return { project: await doc(trx, p), streamsToAddReadAndPullWrite: readAndPullWrite, streamsToAddToRead: addToRead };
    });
  }

  return { create, list, get, update, remove, addStream, removeStream, addUser, removeUser, upgradeUser, downgradeUser };
}

export type V1ProjectsService = ReturnType<typeof createV1ProjectsService>;
