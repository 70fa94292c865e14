/**
 * v1 streams and objects. A stream is a document with an ordered list of object ids; objects are
 * mutable documents, saved in bulk and de-duplicated by hash (md5 of the object as sent, unless the
 * client gives one). Every write runs in one transaction: a call that fails stores nothing.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { allowed, isAdmin, notFound, permit, type V1Actor, type V1Caller } from './speckle-v1-access.js';
import {
  ENFORCED_FIELDS,
  OBJECT_FIELDS,
  STREAM_DEFAULTS,
  STREAM_FIELDS,
  bad,
  checkFields,
  isObjectId,
  isPlainObject,
  iso,
  md5Hex,
  objectId,
  project,
  selectDocs,
  shortId,
  type Doc,
  type ListQuery,
} from './speckle-v1-documents.js';
import * as repo from './speckle-v1-store.js';
import type { ObjectRec, StreamRec } from './speckle-v1-store.js';

export interface V1Context {
  db: Kysely<Database>;
  tx<T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T>;
}

/** Most objects one request may create or reference. */
export const MAX_OBJECTS_PER_REQUEST = 100_000;

type Db = Kysely<Database>;

// ------------------------------------------------------------------ shared helpers

/** Throws unless every id names an existing user. */
export async function assertUsers(db: Db, ids: string[], field: string): Promise<void> {
  if (!ids.length) return;
  const have = await repo.existingUserIds(db, ids);
  const missing = ids.filter((id) => !have.has(id));
  if (missing.length) throw bad(`Field ${field} names unknown users: ${missing.slice(0, 5).join(', ')}.`);
}

export interface UserCardOut {
  _id: string;
  name: string;
  surname: string;
  email: string;
  company: string | null;
}

export async function userCards(db: Db, ids: string[]): Promise<Map<string, UserCardOut>> {
  const users = await repo.loadUsers(db, ids);
  return new Map([...users].map(([id, u]) => [id, { _id: u._id, name: u.name, surname: u.surname, email: u.email, company: u.company }]));
}

/** A private resource of the caller: permitting an operation on it checks only the token's scopes. */
export const ownedBy = (actor: V1Caller) => ({ ownerId: actor.userId, private: true, anonymousComments: false, canRead: [], canWrite: [] });

const placeholders = (ids: string[]) => ids.map((id) => ({ type: 'Placeholder', _id: id }));

export function defaultLayer(count: number): Doc {
  return {
    name: 'Default Generated Speckle Layer',
    guid: randomUUID(),
    orderIndex: 0,
    startIndex: 0,
    objectCount: count,
    topology: `0;0-${count} `,
    properties: { color: { a: 1, hex: 'Black' } },
  };
}

// ------------------------------------------------------------------ documents

export function streamDoc(s: StreamRec, comments: string[]): Doc {
  return {
    _id: s.id,
    streamId: s.streamId,
    owner: s.ownerId,
    private: s.private,
    anonymousComments: s.anonymousComments,
    canRead: s.canRead,
    canWrite: s.canWrite,
    comments,
    ...s.doc,
    objects: s.objects,
    createdAt: iso(s.createdAt),
    updatedAt: iso(s.updatedAt),
  };
}

export function objectDoc(o: ObjectRec, comments: string[]): Doc {
  return {
    _id: o.id,
    owner: o.ownerId,
    private: o.private,
    anonymousComments: o.anonymousComments,
    canRead: o.canRead,
    canWrite: o.canWrite,
    comments,
    type: o.type,
    hash: o.hash,
    ...o.doc,
    createdAt: iso(o.createdAt),
    updatedAt: iso(o.updatedAt),
  };
}

const OBJECT_COLUMNS = new Set(['_id', 'owner', 'private', 'anonymousComments', 'canRead', 'canWrite', 'comments', 'type', 'hash', 'createdAt', 'updatedAt']);
const STREAM_COLUMNS = new Set(['_id', 'streamId', 'owner', 'private', 'anonymousComments', 'canRead', 'canWrite', 'comments', 'objects', 'createdAt', 'updatedAt']);

// ------------------------------------------------------------------ objects

interface PreparedObject {
  raw: Doc;
  fields: Doc;
  hash: string;
}

function prepareNewObject(raw: Doc, where: string): PreparedObject {
  const fields = checkFields(raw, OBJECT_FIELDS, { strict: false });
  if (typeof fields.type !== 'string' || !fields.type.trim()) throw bad(`${where}: an object needs a type.`);
  if (fields.type === 'Placeholder') throw bad(`${where}: a Placeholder needs the _id of an existing object.`);
  const hash = typeof fields.hash === 'string' && fields.hash ? fields.hash : md5Hex(JSON.stringify(raw));
  return { raw, fields, hash };
}

/**
 * v1's bulk save: objects whose hash matches an object the caller can read are not stored again
 * (the existing id is used); the others are created, owned by the caller. Ids come back in order.
 */
async function bulkSave(trx: Db, actor: V1Caller, prepared: PreparedObject[]): Promise<string[]> {
  if (!prepared.length) return [];
  const existing = await repo.objectsByHashes(trx, prepared.map((p) => p.hash));
  const byHash = new Map<string, string>();
  for (const o of existing) if (!byHash.has(o.hash) && allowed(actor, o, 'read')) byHash.set(o.hash, o.id);
  const now = Date.now();
  const toCreate: ObjectRec[] = [];
  const users: string[] = [];
  const ids = prepared.map((p) => {
    const known = byHash.get(p.hash);
    if (known) return known;
    const { fields } = p;
    const doc: Doc = { name: null, geometryHash: null, applicationId: null, properties: null, parent: null, children: [], ancestors: [], deleted: false };
    for (const [k, v] of Object.entries(fields)) if (!OBJECT_COLUMNS.has(k)) doc[k] = v;
    const rec: ObjectRec = {
      id: objectId(now),
      ownerId: actor.userId,
      private: fields.private === true,
      anonymousComments: fields.anonymousComments === true,
      type: fields.type as string,
      hash: p.hash,
      doc,
      createdAt: now,
      updatedAt: now,
      canRead: (fields.canRead as string[] | undefined) ?? [],
      canWrite: (fields.canWrite as string[] | undefined) ?? [],
    };
    users.push(...rec.canRead, ...rec.canWrite);
    byHash.set(p.hash, rec.id);
    toCreate.push(rec);
    return rec.id;
  });
  await assertUsers(trx, users, 'canRead/canWrite');
  await repo.insertObjects(trx, toCreate);
  return ids;
}

/**
 * The `objects` of a stream body: saved objects (created or de-duplicated), `{type: 'Placeholder', _id}`,
 * objects that carry an `_id`, or bare id strings (references to existing objects). Returns the ids.
 */
async function resolveObjectList(trx: Db, actor: V1Caller, items: unknown): Promise<string[]> {
  if (!Array.isArray(items)) throw bad('Field objects must be a list.');
  if (items.length > MAX_OBJECTS_PER_REQUEST) throw bad(`Too many objects in one request (max ${MAX_OBJECTS_PER_REQUEST}).`);
  const slots: Array<{ ref: string } | { create: number }> = [];
  const toCreate: PreparedObject[] = [];
  items.forEach((item, i) => {
    if (typeof item === 'string') {
      if (!isObjectId(item)) throw bad(`objects[${i}] is not an object id.`);
      slots.push({ ref: item });
    } else if (isPlainObject(item)) {
      if (item.type === 'Placeholder' || item._id !== undefined) {
        if (!isObjectId(item._id)) throw bad(`objects[${i}]: _id must be an object id.`);
        slots.push({ ref: item._id });
      } else {
        slots.push({ create: toCreate.length });
        toCreate.push(prepareNewObject(item, `objects[${i}]`));
      }
    } else throw bad(`objects[${i}] must be an object or an object id.`);
  });
  const refs = [...new Set(slots.flatMap((s) => ('ref' in s ? [s.ref] : [])))];
  const have = await repo.existingObjectIds(trx, refs);
  const missing = refs.filter((id) => !have.has(id));
  if (missing.length) throw bad(`Unknown object ids: ${missing.slice(0, 5).join(', ')}.`);
  const created = await bulkSave(trx, actor, toCreate);
  return slots.map((s) => ('ref' in s ? s.ref : created[s.create]));
}

// ------------------------------------------------------------------ the service

export function createV1StreamsService(ctx: V1Context) {
  const { db, tx } = ctx;

  async function commentIds(kind: 'streams' | 'objects', keys: string[]): Promise<Map<string, string[]>> {
    return repo.commentIdsOn(db, kind, keys);
  }

  async function loadStream(d: Db, streamId: string): Promise<StreamRec> {
    const s = await repo.streamByStreamId(d, streamId);
    if (!s) throw notFound();
    return s;
  }

  /** Applies checked stream fields to a record (columns, lists, doc); returns whether lists changed. */
  async function applyStreamFields(trx: Db, actor: V1Caller, s: StreamRec, fields: Doc, raw: Doc, creating: boolean) {
    const changed = { canRead: false, canWrite: false };
    for (const [k, v] of Object.entries(fields)) {
      switch (k) {
        case 'owner':
          if (creating) break;
          await assertUsers(trx, [v as string], 'owner');
          s.ownerId = v as string;
          break;
        case 'private':
          s.private = v as boolean;
          break;
        case 'anonymousComments':
          s.anonymousComments = v as boolean;
          break;
        case 'canRead':
        case 'canWrite':
          await assertUsers(trx, v as string[], k);
          s[k] = v as string[];
          changed[k] = true;
          break;
        default:
          if (!STREAM_COLUMNS.has(k)) s.doc[k] = v;
      }
    }
    if (raw.objects !== undefined) s.objects = await resolveObjectList(trx, actor, raw.objects);
    return changed;
  }

  async function create(actor: V1Caller, body: Doc): Promise<Doc> {
    permit(actor, ownedBy(actor), 'write');
    const fields = checkFields(body, STREAM_FIELDS, { strict: false });
    return tx(async (trx) => {
      const now = Date.now();
      const s: StreamRec = {
        id: objectId(now),
        streamId: shortId(),
        ownerId: actor.userId,
        private: true,
        anonymousComments: false,
        objects: [],
        doc: STREAM_DEFAULTS(),
        createdAt: now,
        updatedAt: now,
        canRead: [],
        canWrite: [],
      };
      await applyStreamFields(trx, actor, s, fields, body, true);
      await repo.insertStream(trx, s);
      return { ...streamDoc(s, []), objects: placeholders(s.objects) };
    });
  }

  async function list(actor: V1Caller, q: ListQuery): Promise<Doc[]> {
    permitScope(actor);
    const streams = await repo.streamsOfUser(db, actor.userId);
    const comments = await commentIds('streams', streams.map((s) => s.streamId));
    let docs = streams.map((s) => streamDoc(s, comments.get(s.streamId) ?? []));
    docs = selectDocs(docs, q).map((d) => project(d, q));
    const cards = q.populatePermissions ? await userCards(db, docs.flatMap((d) => [...((d.canRead as string[]) ?? []), ...((d.canWrite as string[]) ?? [])])) : null;
    return docs.map((d) => {
      const out = { ...d };
      if (Array.isArray(out.objects)) out.objects = placeholders(out.objects as string[]);
      if (cards) {
        for (const k of ['canRead', 'canWrite'] as const) {
          if (Array.isArray(out[k])) out[k] = (out[k] as string[]).map((id) => cards.get(id) ?? { _id: id });
        }
      }
      return out;
    });
  }

  function permitScope(actor: V1Caller) {
    // listing one's own streams needs the read scope, even when every stream is public
    permit(actor, ownedBy(actor), 'read');
  }

  async function get(actor: V1Actor, streamId: string, q: ListQuery): Promise<Doc> {
    const s = await loadStream(db, streamId);
    permit(actor, s, 'read');
    const comments = await commentIds('streams', [s.streamId]);
    const d = project(streamDoc(s, comments.get(s.streamId) ?? []), q, ENFORCED_FIELDS);
    const objects = Array.isArray(d.objects) ? (d.objects as string[]) : undefined;
    if (!Array.isArray(d.layers) || d.layers.length === 0) d.layers = objects ? [defaultLayer(objects.length)] : [];
    if (objects) d.objects = placeholders(objects);
    return d;
  }

  /** Returns the fields patched (the keys of the body, as v1's message lists them). */
  async function update(actor: V1Caller, streamId: string, body: Doc): Promise<string[]> {
    const keys = Object.keys(body).filter((k) => k !== 'streamId');
    const fields = checkFields(body, STREAM_FIELDS, { strict: false });
    await tx(async (trx) => {
      const s = await loadStream(trx, streamId);
      permit(actor, s, 'write', { modKeys: Object.keys(body) });
      const changed = await applyStreamFields(trx, actor, s, fields, body, false);
      s.updatedAt = Date.now();
      await repo.saveStream(trx, s, changed);
    });
    return keys;
  }

  /** Deletes the stream and the children the caller may delete too; returns the deleted stream ids. */
  async function remove(actor: V1Caller, streamId: string): Promise<string[]> {
    return tx(async (trx) => {
      const s = await loadStream(trx, streamId);
      permit(actor, s, 'delete', { kind: 'stream' });
      const children = (await repo.streamsByStreamIds(trx, ((s.doc.children as string[]) ?? []).filter((c) => c !== s.streamId))).filter(
        (c) => isAdmin(actor) || c.ownerId === actor.userId,
      );
      const gone = [...children, s];
      await repo.deleteStreams(trx, gone);
      await repo.deleteCommentThreads(trx, 'streams', gone.map((g) => g.streamId));
      return gone.map((g) => g.streamId);
    });
  }

  async function clone(actor: V1Caller, streamId: string, body: Doc): Promise<{ clone: Doc; parent: Doc }> {
    const name = body.name;
    if (name !== undefined && name !== null && typeof name !== 'string') throw bad('Field name must be a string.');
    if (typeof name === 'string' && name.length > 1024) throw bad('Field name is too long (max 1024 characters).');
    return tx(async (trx) => {
      const src = await loadStream(trx, streamId);
      permit(actor, src, 'read');
      const now = Date.now();
      const doc = structuredClone(src.doc);
      const c: StreamRec = {
        ...src,
        id: objectId(now),
        streamId: shortId(),
        objects: [...src.objects],
        doc: { ...doc, parent: src.streamId, children: [], name: name ? name : `${String(src.doc.name ?? 'Speckle Stream')} (clone)` },
        createdAt: now,
        updatedAt: now,
        canRead: [...src.canRead],
        canWrite: [...src.canWrite],
      };
      if (actor.userId !== src.ownerId) {
        c.ownerId = actor.userId;
        c.canRead = [src.ownerId];
        c.canWrite = [];
      }
      await repo.insertStream(trx, c);
      src.doc.children = [...((src.doc.children as string[]) ?? []), c.streamId];
      src.updatedAt = now;
      await repo.saveStream(trx, src);
      const comments = await repo.commentIdsOn(trx, 'streams', [src.streamId]);
      const strip = (d: Doc) => {
        delete d.objects;
        delete d.layers;
        return d;
      };
      return { clone: strip(streamDoc(c, [])), parent: strip(streamDoc(src, comments.get(src.streamId) ?? [])) };
    });
  }

  async function diff(actor: V1Actor, a: string, b: string) {
    if (a === b) throw bad('Cannot diff a stream with itself.');
    const [first, second] = await Promise.all([repo.streamByStreamId(db, a), repo.streamByStreamId(db, b)]);
    if (!first || !second) throw bad('Failed to find streams.');
    permit(actor, first, 'read');
    permit(actor, second, 'read');
    const inSecond = new Set(second.objects);
    const inFirst = new Set(first.objects);
    const layersA = (first.doc.layers as Doc[] | undefined) ?? [];
    const layersB = (second.doc.layers as Doc[] | undefined) ?? [];
    const guidsA = new Set(layersA.map((l) => l.guid));
    const guidsB = new Set(layersB.map((l) => l.guid));
    return {
      objects: {
        common: first.objects.filter((id) => inSecond.has(id)),
        inA: first.objects.filter((id) => !inSecond.has(id)),
        inB: second.objects.filter((id) => !inFirst.has(id)),
      },
      layers: {
        common: layersA.filter((l) => guidsB.has(l.guid)),
        inA: layersA.filter((l) => !guidsB.has(l.guid)),
        inB: layersB.filter((l) => !guidsA.has(l.guid)),
      },
    };
  }

  async function listObjects(actor: V1Actor, streamId: string, q: ListQuery): Promise<Doc[]> {
    const s = await loadStream(db, streamId);
    permit(actor, s, 'read');
    const objects = await repo.objectsByIds(db, s.objects);
    const comments = await commentIds('objects', [...objects.keys()]);
    const docs = s.objects.flatMap((id) => {
      const o = objects.get(id);
      return o ? [objectDoc(o, comments.get(id) ?? [])] : [];
    });
    return selectDocs(docs, q).map((d) => project(d, q));
  }

  // ---------------------------------------------------------------- objects

  async function loadObject(d: Db, id: string): Promise<ObjectRec> {
    const o = (await repo.objectsByIds(d, [id])).get(id);
    if (!o) throw notFound();
    return o;
  }

  async function createObjects(actor: V1Caller, body: unknown): Promise<string[]> {
    const items = Array.isArray(body) ? body : [body];
    if (items.length > MAX_OBJECTS_PER_REQUEST) throw bad(`Too many objects in one request (max ${MAX_OBJECTS_PER_REQUEST}).`);
    permit(actor, ownedBy(actor), 'write');
    return tx((trx) => resolveObjectList(trx, actor, items));
  }

  async function getObject(actor: V1Actor, id: string, q: ListQuery): Promise<Doc> {
    const o = await loadObject(db, id);
    permit(actor, o, 'read');
    const comments = await commentIds('objects', [id]);
    return project(objectDoc(o, comments.get(id) ?? []), q, ENFORCED_FIELDS);
  }

  async function getBulk(actor: V1Actor, ids: unknown, q: ListQuery): Promise<Doc[]> {
    if (!Array.isArray(ids) || ids.some((x) => typeof x !== 'string' || x.length > 64))
      throw bad('The body must be a list of object ids.');
    if (ids.length > MAX_OBJECTS_PER_REQUEST) throw bad(`Too many object ids (max ${MAX_OBJECTS_PER_REQUEST}).`);
    const wanted = ids as string[];
    const objects = await repo.objectsByIds(db, wanted.filter(isObjectId));
    const comments = await commentIds('objects', [...objects.keys()]);
    const visible = new Map<string, Doc>();
    for (const [id, o] of objects) {
      if (!allowed(actor, o, 'read')) continue;
      const d = objectDoc(o, comments.get(id) ?? []);
      if (q.criteria.length && !selectDocs([d], { criteria: q.criteria }).length) continue;
      visible.set(id, project(d, q, ENFORCED_FIELDS));
    }
    return wanted.map((id) => visible.get(id) ?? { _id: id, type: 'String', value: 'You do not have permissions to view this object' });
  }

  async function updateObject(actor: V1Caller, id: string, body: Doc): Promise<void> {
    const fields = checkFields(body, OBJECT_FIELDS, { strict: false });
    if ('type' in fields && (typeof fields.type !== 'string' || !fields.type.trim())) throw bad('Field type must not be empty.');
    await tx(async (trx) => {
      const o = await loadObject(trx, id);
      permit(actor, o, 'write', { modKeys: Object.keys(body) });
      const lists = { canRead: false, canWrite: false };
      for (const [k, v] of Object.entries(fields)) {
        switch (k) {
          case 'owner':
            await assertUsers(trx, [v as string], 'owner');
            o.ownerId = v as string;
            break;
          case 'private':
            o.private = v as boolean;
            break;
          case 'anonymousComments':
            o.anonymousComments = v as boolean;
            break;
          case 'type':
            o.type = v as string;
            break;
          case 'hash':
            o.hash = v as string;
            break;
          case 'canRead':
          case 'canWrite':
            await assertUsers(trx, v as string[], k);
            o[k] = v as string[];
            lists[k] = true;
            break;
          default:
            if (!OBJECT_COLUMNS.has(k)) o.doc[k] = v;
        }
      }
      o.updatedAt = Date.now();
      await repo.saveObject(trx, o, lists);
    });
  }

  async function setProperties(actor: V1Caller, id: string, body: Doc): Promise<void> {
    const fields = checkFields(body, {}, { strict: false });
    await tx(async (trx) => {
      const o = await loadObject(trx, id);
      permit(actor, o, 'write');
      const current = isPlainObject(o.doc.properties) ? o.doc.properties : {};
      o.doc.properties = { ...current, ...fields };
      o.updatedAt = Date.now();
      await repo.saveObject(trx, o);
    });
  }

  async function removeObject(actor: V1Caller, id: string): Promise<void> {
    await tx(async (trx) => {
      const o = await loadObject(trx, id);
      permit(actor, o, 'delete', { kind: 'object' });
      await repo.deleteObject(trx, id);
      await repo.deleteCommentThreads(trx, 'objects', [id]);
    });
  }

  return {
    create,
    list,
    get,
    update,
    remove,
    clone,
    diff,
    listObjects,
    objects: { create: createObjects, get: getObject, getBulk, update: updateObject, setProperties, remove: removeObject },
  };
}

export type V1StreamsService = ReturnType<typeof createV1StreamsService>;
