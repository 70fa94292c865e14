/**
 * v1 comments: attached to a stream (by its short id), a project, an object or another comment.
 * v1 comments carry no permission lists, so Atrium decides from the resource the thread hangs on:
 * reading a comment needs read access to it (or owning it, or being assigned); replying needs comment
 * access; editing and deleting are for the comment's owner and admins.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { isAdmin, notAuthorised, notFound, notOwner, permit, type Guarded, type V1Actor, type V1Caller } from './speckle-v1-access.js';
import { COMMENT_FIELDS, bad, checkFields, iso, objectId, project, selectDocs, type Doc, type ListQuery } from './speckle-v1-documents.js';
import * as repo from './speckle-v1-store.js';
import type { CommentRec } from './speckle-v1-store.js';
import { assertUsers, ownedBy, type V1Context } from './speckle-v1-streams.js';

type Db = Kysely<Database>;
export type CommentTarget = 'streams' | 'projects' | 'objects' | 'comments';

const TARGETS: Record<string, CommentTarget> = {
  stream: 'streams',
  streams: 'streams',
  project: 'projects',
  projects: 'projects',
  object: 'objects',
  objects: 'objects',
  comment: 'comments',
  comments: 'comments',
};

/** Deepest reply chain followed when looking for the resource a thread hangs on. */
const MAX_THREAD_DEPTH = 100;

export function commentDoc(c: CommentRec, replies: string[]): Doc {
  const out: Doc = {
    _id: c.id,
    owner: c.ownerId,
    comments: replies,
    ...c.doc,
    resource: { resourceType: c.resourceType, resourceId: c.resourceId },
    assignedTo: c.assignedTo,
    createdAt: iso(c.createdAt),
    updatedAt: iso(c.updatedAt),
  };
  return out;
}

export function createV1CommentsService(ctx: V1Context) {
  const { db, tx } = ctx;

  function targetType(type: string): CommentTarget {
    const t = TARGETS[type];
    if (!t) throw notFound('Resource not found.');
    return t;
  }

  /** The permission-bearing resource of a (non-comment) target, with the key comments name it by. */
  async function resource(d: Db, type: Exclude<CommentTarget, 'comments'>, id: string): Promise<{ guard: Guarded; key: string }> {
    switch (type) {
      case 'streams': {
        const s = await repo.streamByStreamId(d, id);
        if (!s) throw notFound();
        return { guard: s, key: s.streamId };
      }
      case 'projects': {
        const p = await repo.projectById(d, id);
        if (!p) throw notFound();
        return { guard: p, key: p.id };
      }
      case 'objects': {
        const o = (await repo.objectsByIds(d, [id])).get(id);
        if (!o) throw notFound();
        return { guard: o, key: o.id };
      }
    }
  }

  /** The resource at the top of a comment's thread. */
  async function rootOf(d: Db, c: CommentRec): Promise<Guarded> {
    let cur = c;
    for (let depth = 0; cur.resourceType === 'comments'; depth++) {
      if (depth > MAX_THREAD_DEPTH) throw notFound();
      const parent = await repo.commentById(d, cur.resourceId);
      if (!parent) throw notFound();
      cur = parent;
    }
    return (await resource(d, cur.resourceType as Exclude<CommentTarget, 'comments'>, cur.resourceId)).guard;
  }

  const ownsComment = (actor: V1Actor, c: CommentRec) => actor !== null && (isAdmin(actor) || (c.ownerId !== null && c.ownerId === actor.userId));

  async function permitComment(d: Db, actor: V1Actor, c: CommentRec, op: 'read' | 'comment' | 'write' | 'delete', modKeys?: string[]): Promise<void> {
    if (ownsComment(actor, c)) {
      permit(actor!, ownedBy(actor!), op === 'read' ? 'read' : 'write');
      return;
    }
    switch (op) {
      case 'read':
        if (actor && c.assignedTo.includes(actor.userId)) return permit(actor, ownedBy(actor), 'read');
        return permit(actor, await rootOf(d, c), 'read');
      case 'comment':
        return permit(actor, await rootOf(d, c), 'comment');
      case 'write':
        for (const k of modKeys ?? []) if (k === 'owner') throw notAuthorised('Protected field, you are not authorised to edit owner.');
        throw notAuthorised('You are not authorised to write.');
      case 'delete':
        throw notOwner('comment');
    }
  }

  async function loadComment(d: Db, id: string): Promise<CommentRec> {
    const c = await repo.commentById(d, id);
    if (!c) throw notFound();
    return c;
  }

  async function docs(d: Db, comments: CommentRec[]): Promise<Doc[]> {
    const replies = await repo.commentIdsOn(d, 'comments', comments.map((c) => c.id));
    return comments.map((c) => commentDoc(c, replies.get(c.id) ?? []));
  }

  async function createOn(actor: V1Actor, type: string, id: string, body: Doc): Promise<Doc> {
    const target = targetType(type);
    const fields = checkFields(body, COMMENT_FIELDS, { strict: true });
    if (typeof fields.text !== 'string' || !fields.text.trim()) throw bad('A comment needs a text.');
    return tx(async (trx) => {
      let key: string;
      if (target === 'comments') {
        const parent = await loadComment(trx, id);
        await permitComment(trx, actor, parent, 'comment');
        key = parent.id;
      } else {
        const r = await resource(trx, target, id);
        permit(actor, r.guard, 'comment');
        key = r.key;
      }
      const assignedTo = (fields.assignedTo as string[] | undefined) ?? [];
      await assertUsers(trx, assignedTo, 'assignedTo');
      const now = Date.now();
      const doc: Doc = { flagged: false, otherResources: [], closed: false, labels: [], view: {} };
      for (const [k, v] of Object.entries(fields)) if (k !== 'owner' && k !== 'assignedTo') doc[k] = v;
      const c: CommentRec = {
        id: objectId(now),
        ownerId: actor?.userId ?? null,
        resourceType: target,
        resourceId: key,
        doc,
        createdAt: now,
        updatedAt: now,
        assignedTo,
      };
      await repo.insertComment(trx, c);
      return commentDoc(c, []);
    });
  }

  async function listOn(actor: V1Actor, type: string, id: string): Promise<Doc[]> {
    const target = targetType(type);
    let key: string;
    if (target === 'comments') {
      const c = await loadComment(db, id);
      await permitComment(db, actor, c, 'read');
      key = c.id;
    } else {
      const r = await resource(db, target, id);
      permit(actor, r.guard, 'read');
      key = r.key;
    }
    return docs(db, await repo.commentsOn(db, target, key));
  }

  async function get(actor: V1Actor, id: string): Promise<Doc> {
    const c = await loadComment(db, id);
    await permitComment(db, actor, c, 'read');
    return (await docs(db, [c]))[0];
  }

  async function update(actor: V1Caller, id: string, body: Doc): Promise<string[]> {
    const fields = checkFields(body, COMMENT_FIELDS, { strict: true });
    if ('text' in fields && (typeof fields.text !== 'string' || !fields.text.trim())) throw bad('A comment needs a text.');
    await tx(async (trx) => {
      const c = await loadComment(trx, id);
      await permitComment(trx, actor, c, 'write', Object.keys(body));
      for (const [k, v] of Object.entries(fields)) {
        if (k === 'assignedTo') {
          await assertUsers(trx, v as string[], k);
          c.assignedTo = v as string[];
        } else if (k === 'owner') {
          await assertUsers(trx, [v as string], k);
          c.ownerId = v as string;
        } else c.doc[k] = v;
      }
      c.updatedAt = Date.now();
      await repo.saveComment(trx, c);
    });
    return Object.keys(body);
  }

  async function remove(actor: V1Caller, id: string): Promise<void> {
    await tx(async (trx) => {
      const c = await loadComment(trx, id);
      await permitComment(trx, actor, c, 'delete');
      await repo.deleteComment(trx, c.id);
    });
  }

  /** The caller's comments and those assigned to them (`assignedOnly`: only the latter). */
  async function mine(actor: V1Caller, q: ListQuery, assignedOnly: boolean): Promise<Doc[]> {
    permit(actor, ownedBy(actor), 'read');
    const comments = await repo.commentsOfUser(db, actor.userId, assignedOnly);
    return selectDocs(await docs(db, comments), q).map((d) => project(d, q));
  }

  return { createOn, listOn, get, update, remove, mine };
}

export type V1CommentsService = ReturnType<typeof createV1CommentsService>;
