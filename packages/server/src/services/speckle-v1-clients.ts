/**
 * v1 API clients (UserAppClient): a record per connector document (Rhino file, Grasshopper canvas…)
 * naming the stream it sends to or receives from. Access follows that stream: whoever may read the
 * stream may read its clients, writers may change them; the client's owner always may.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { isAdmin, notFound, permit, type V1Actor, type V1Caller } from './speckle-v1-access.js';
import { CLIENT_FIELDS, checkFields, iso, objectId, project, selectDocs, type Doc, type ListQuery } from './speckle-v1-documents.js';
import * as repo from './speckle-v1-store.js';
import type { ClientRec } from './speckle-v1-store.js';
import { assertUsers, ownedBy, userCards, type V1Context } from './speckle-v1-streams.js';

type Db = Kysely<Database>;

const CLIENT_DOC_FIELDS = ['role', 'documentName', 'documentGuid', 'documentType', 'documentLocation', 'online'] as const;

export function clientDoc(c: ClientRec, comments: string[]): Doc {
  const out: Doc = {
    _id: c.id,
    owner: c.ownerId,
    private: c.private,
    anonymousComments: c.anonymousComments,
    canRead: c.canRead,
    canWrite: c.canWrite,
    comments,
  };
  for (const k of CLIENT_DOC_FIELDS) if (c.doc[k] !== undefined) out[k] = c.doc[k];
  if (c.streamId !== null) out.streamId = c.streamId;
  out.createdAt = iso(c.createdAt);
  out.updatedAt = iso(c.updatedAt);
  return out;
}

export type CreatedClient = { anonymous: true; id: string } | { anonymous: false; client: Doc };

export function createV1ClientsService(ctx: V1Context) {
  const { db, tx } = ctx;

  async function load(d: Db, id: string): Promise<ClientRec> {
    const c = await repo.clientById(d, id);
    if (!c) throw notFound();
    return c;
  }

  /** The client's owner (and admins) may do anything; others need `op` on the client's stream. */
  async function permitClient(d: Db, actor: V1Actor, c: ClientRec, op: 'read' | 'write', modKeys?: string[]): Promise<void> {
    if (actor && (isAdmin(actor) || actor.userId === c.ownerId)) {
      permit(actor, ownedBy(actor), op);
      return;
    }
    const stream = c.streamId ? await repo.streamByStreamId(d, c.streamId) : undefined;
    permit(actor, stream, op, { modKeys });
  }

  /** A client may name only a stream the caller can read. */
  async function assertStream(d: Db, actor: V1Caller, streamId: unknown): Promise<void> {
    if (streamId === undefined || streamId === null) return;
    const s = await repo.streamByStreamId(d, streamId as string);
    if (!s) throw notFound(`Stream ${String(streamId).slice(0, 64)} not found.`);
    permit(actor, s, 'read');
  }

  async function create(actor: V1Actor, body: Doc): Promise<CreatedClient> {
    // v1: an anonymous caller (or one asking for it) gets a temporary id; nothing is stored
    if (!actor || body.isAnonymous === true) return { anonymous: true, id: `temp-${objectId()}` };
    permit(actor, ownedBy(actor), 'write');
    const fields = checkFields(body, CLIENT_FIELDS, { strict: true });
    return tx(async (trx) => {
      await assertStream(trx, actor, fields.streamId);
      await assertUsers(trx, [...((fields.canRead as string[]) ?? []), ...((fields.canWrite as string[]) ?? [])], 'canRead/canWrite');
      const now = Date.now();
      const doc: Doc = { online: true };
      for (const k of CLIENT_DOC_FIELDS) if (fields[k] !== undefined) doc[k] = fields[k];
      const c: ClientRec = {
        id: objectId(now),
        ownerId: actor.userId,
        streamId: (fields.streamId as string | null | undefined) ?? null,
        private: fields.private === true,
        anonymousComments: fields.anonymousComments === true,
        doc,
        createdAt: now,
        updatedAt: now,
        canRead: (fields.canRead as string[]) ?? [],
        canWrite: (fields.canWrite as string[]) ?? [],
      };
      await repo.insertClient(trx, c);
      return { anonymous: false, client: clientDoc(c, []) };
    });
  }

  async function list(actor: V1Caller, q: ListQuery): Promise<Doc[]> {
    permit(actor, ownedBy(actor), 'read');
    const clients = await repo.clientsWhere(db, { ownerId: actor.userId });
    return selectDocs(clients.map((c) => clientDoc(c, [])), { ...q, criteria: [] }).map((d) => project(d, q));
  }

  async function get(actor: V1Caller, id: string): Promise<Doc> {
    const c = await load(db, id);
    await permitClient(db, actor, c, 'read');
    const d = clientDoc(c, []);
    const owner = (await userCards(db, [c.ownerId])).get(c.ownerId);
    if (owner) d.owner = owner;
    return d;
  }

  async function update(actor: V1Caller, id: string, body: Doc): Promise<string[]> {
    const fields = checkFields(body, CLIENT_FIELDS, { strict: true });
    await tx(async (trx) => {
      const c = await load(trx, id);
      await permitClient(trx, actor, c, 'write', Object.keys(body));
      for (const [k, v] of Object.entries(fields)) {
        switch (k) {
          case 'owner':
            await assertUsers(trx, [v as string], 'owner');
            c.ownerId = v as string;
            break;
          case 'streamId':
            if (v !== c.streamId) await assertStream(trx, actor, v);
            c.streamId = v as string | null;
            break;
          case 'private':
            c.private = v as boolean;
            break;
          case 'anonymousComments':
            c.anonymousComments = v as boolean;
            break;
          case 'canRead':
          case 'canWrite':
            await assertUsers(trx, v as string[], k);
            c[k] = v as string[];
            break;
          default:
            c.doc[k] = v;
        }
      }
      c.updatedAt = Date.now();
      await repo.saveClient(trx, c);
    });
    return Object.keys(body);
  }

  async function remove(actor: V1Caller, id: string): Promise<void> {
    await tx(async (trx) => {
      const c = await load(trx, id);
      await permitClient(trx, actor, c, 'write');
      await repo.deleteClient(trx, id);
    });
  }

  async function ofStream(actor: V1Actor, streamId: string, q: ListQuery): Promise<Doc[]> {
    const s = await repo.streamByStreamId(db, streamId);
    permit(actor, s, 'read');
    const clients = await repo.clientsWhere(db, { streamId });
    return selectDocs(clients.map((c) => clientDoc(c, [])), q).map((d) => project(d, q));
  }

  return { create, list, get, update, remove, ofStream };
}

export type V1ClientsService = ReturnType<typeof createV1ClientsService>;
