/**
 * The content-addressed objects of Speckle projects: validated, stored as JSON text per project,
 * and read back by id in bounded chunks. Rules (Speckle's `createObjectsBatchedAndNoClosures`):
 * the id is `hash`, else `id`, else the md5 of the object's JSON, and must be exactly 32 characters;
 * the stored text is `JSON.stringify(obj)`; an object longer than the configured limit is refused;
 * inserts go in chunks of at most 500 objects / 2 MB, each sorted by id, and never overwrite.
 * One batch is one transaction: a batch that fails anywhere leaves nothing behind.
 */
import crypto from 'node:crypto';
import { sql } from 'kysely';
import type { AtriumConfig } from '../config.js';
import type { Store } from '../store/db.js';
import type { ObjectsTable } from '../store/schema.js';
import { AppError } from '../domain/errors.js';

export interface StoredObject {
  projectId: string;
  id: string;
  speckleType: string;
  /** null for REST uploads, as Speckle stores them */
  totalChildrenCount: number | null;
  /** the object's JSON text, including `__closure` */
  data: string;
  createdAt: number;
}

/** One row of an id-keyed read: the id and the stored JSON text. */
export interface ObjectText {
  id: string;
  data: string;
}

export interface InsertOptions {
  /** GraphQL `objectCreate` computes totalChildrenCount (= number of `__closure` keys); REST stores null. */
  countChildren?: boolean;
}

/** Rows per INSERT and characters of JSON per INSERT (Speckle: 500 objects / 2 MB). */
export const INSERT_CHUNK_OBJECTS = 500;
export const INSERT_CHUNK_CHARS = 2_000_000;
/** Ids per lookup query (diff, getobjects, object-stream: Speckle reads 1000 ids at a time). */
export const READ_CHUNK_IDS = 1000;
/** A read query aims at this many characters of JSON, so a chunk of large objects is fetched in smaller slices. */
const READ_SLICE_TARGET_CHARS = 8_000_000;
const READ_SLICE_MIN = 8;
const READ_SLICE_START = 100;
const MAX_ID_LENGTH = 255;
const MAX_SPECKLE_TYPE_LENGTH = 1024;
const MiB = 1024 * 1024;

type Row = ObjectsTable;

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Speckle's OBJECT_HANDLING_ERROR message for an id that is not 32 characters long. */
export const invalidIdMessage = (id: unknown) =>
  `Invalid object ID. Object ID: ${String(id)}. Object ID's must be hashes represented by a string of 32 characters.`;

/** Speckle's message for an object over the size limit; sizes in MB (2 decimals, rounded up so "over" stays visible). */
export function objectTooLargeMessage(id: unknown, chars: number, limitBytes: number): string {
  const mb = Math.ceil((chars / MiB) * 100) / 100;
  return `Object too large. Object ID: ${String(id)}. (${mb} MB is > than limit, ${limitBytes / MiB} MB)`;
}

/** The `__closure` keys of a parsed object: every descendant a receiver must download. */
export function closureIdsOf(obj: unknown): string[] {
  if (!isPlainObject(obj)) return [];
  const c = obj.__closure;
  return isPlainObject(c) ? Object.keys(c) : [];
}

/** True for errors after which re-running the whole transaction is the right answer (PostgreSQL). */
function isRetryableTxError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === '40P01' || code === '40001';
}

const validId = (id: unknown): id is string => typeof id === 'string' && id.length > 0 && id.length <= MAX_ID_LENGTH;

/**
 * The text an object arrived as, attached by the upload parser (non-enumerable, so it never leaks
 * into a re-serialisation). When present and safe it is stored verbatim, so downloads are
 * byte-for-byte what the client sent and re-hash to the same ids (speckle.md §8.6).
 */
export const SOURCE_TEXT: unique symbol = Symbol('atrium.objects.sourceText');

/** Verbatim text is kept only when it can go on one `id\tjson` line as is. */
const fitsOnOneLine = (text: string) => !/[\t\n\r]/.test(text);

export function createObjectsService(store: Store, config: AtriumConfig) {
  const { db } = store;
  const maxObjectChars = config.limits.objectSizeBytes;

  /** Validates one incoming object and turns it into the row to store. */
  function prepare(projectId: string, raw: unknown, now: number, opts: InsertOptions): Row {
    if (!isPlainObject(raw)) throw new AppError('OBJECT_HANDLING_ERROR', 'Invalid object. Every object must be a JSON object with an "id".');
    const obj = raw;
    const source = (raw as { [SOURCE_TEXT]?: string })[SOURCE_TEXT];
    let rewritten = false;
    if (obj.hash !== undefined && obj.hash !== null) {
      rewritten = obj.id !== obj.hash;
      obj.id = obj.hash;
    } else if (!obj.id) {
      obj.id = crypto.createHash('md5').update(JSON.stringify(obj)).digest('hex');
      rewritten = true;
    }
    const id = obj.id;
    if (typeof id !== 'string' || id.length !== 32) throw new AppError('OBJECT_HANDLING_ERROR', invalidIdMessage(id));
    const data = source !== undefined && !rewritten && fitsOnOneLine(source) ? source : JSON.stringify(obj);
    if (data.length > maxObjectChars) throw new AppError('OBJECT_HANDLING_ERROR', objectTooLargeMessage(id, data.length, maxObjectChars));
    const type = typeof obj.speckle_type === 'string' && obj.speckle_type ? obj.speckle_type.slice(0, MAX_SPECKLE_TYPE_LENGTH) : 'Base';
    return {
      project_id: projectId,
      id,
      speckle_type: type,
      total_children_count: opts.countChildren ? closureIdsOf(obj).length : null,
      data,
      created_at: now,
    };
  }

  /**
   * Inserts every object `source()` yields, in one transaction, in sorted chunks of ≤ 500 objects /
   * ≤ 2 MB; existing (project, id) rows are left as they are. `source` is a factory so the batch can
   * be replayed when PostgreSQL aborts the transaction for a deadlock between concurrent uploads.
   * Returns how many objects the batch held (duplicates included).
   */
  async function insertFrom(
    projectId: string,
    source: () => AsyncIterable<unknown> | Iterable<unknown>,
    opts: InsertOptions = {},
    onId?: (id: string) => void,
  ): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await db.transaction().execute(async (trx) => {
          const now = Date.now();
          let chunk: Row[] = [];
          let chars = 0;
          let count = 0;
          const flush = async () => {
            if (!chunk.length) return;
            chunk.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
            if (store.dialect === 'postgres') {
              // one statement over typed arrays: building a 500-row VALUES list costs more than running it
              await sql`INSERT INTO objects (project_id, id, speckle_type, total_children_count, data, created_at)
                SELECT ${projectId}, u.id, u.speckle_type, u.total_children_count, u.data, ${now}::bigint
                FROM unnest(${chunk.map((r) => r.id)}::text[], ${chunk.map((r) => r.speckle_type)}::text[],
                            ${chunk.map((r) => r.total_children_count)}::int[], ${chunk.map((r) => r.data)}::text[])
                  AS u(id, speckle_type, total_children_count, data)
                ON CONFLICT (project_id, id) DO NOTHING`.execute(trx);
            } else {
              await trx
                .insertInto('objects')
                .values(chunk)
                .onConflict((oc) => oc.columns(['project_id', 'id']).doNothing())
                .execute();
            }
            chunk = [];
            chars = 0;
          };
          for await (const raw of source()) {
            const row = prepare(projectId, raw, now, opts);
            count++;
            onId?.(row.id);
            if (chunk.length && (chunk.length >= INSERT_CHUNK_OBJECTS || chars + row.data.length > INSERT_CHUNK_CHARS)) await flush();
            chunk.push(row);
            chars += row.data.length;
          }
          await flush();
          return count;
        });
      } catch (err) {
        if (attempt < 3 && isRetryableTxError(err)) continue;
        throw err;
      }
    }
  }

  /** Inserts an in-memory batch (GraphQL `objectCreate`); returns the ids in input order. */
  async function insertBatch(projectId: string, objects: unknown[], opts: InsertOptions = {}): Promise<string[]> {
    let ids: string[] = [];
    await insertFrom(
      projectId,
      () => {
        ids = [];
        // objects are mutated by prepare (id from hash/md5): work on copies so a replay sees the input
        return objects.map((o) => (isPlainObject(o) ? { ...o } : o));
      },
      opts,
      (id) => ids.push(id),
    );
    return ids;
  }

  /** For each requested id (checked 1000 at a time), whether the project has it; yields one chunk at a time. */
  async function* hasObjectsChunks(projectId: string, ids: string[]): AsyncGenerator<Array<[string, boolean]>> {
    for (let i = 0; i < ids.length; i += READ_CHUNK_IDS) {
      const chunk = ids.slice(i, i + READ_CHUNK_IDS);
      const lookup = [...new Set(chunk.filter(validId))];
      const found = new Set<string>();
      if (lookup.length) {
        const rows = await db.selectFrom('objects').select('id').where('project_id', '=', projectId).where('id', 'in', lookup).execute();
        for (const r of rows) found.add(r.id);
      }
      yield chunk.map((id) => [id, found.has(id)] as [string, boolean]);
    }
  }

  async function hasObjects(projectId: string, ids: string[]): Promise<Record<string, boolean>> {
    const out: Record<string, boolean> = {};
    for await (const chunk of hasObjectsChunks(projectId, ids)) for (const [id, has] of chunk) out[id] = has;
    return out;
  }

  async function getObject(projectId: string, id: string): Promise<StoredObject | null> {
    if (!validId(id)) return null;
    const r = await db.selectFrom('objects').selectAll().where('project_id', '=', projectId).where('id', '=', id).executeTakeFirst();
    return r
      ? { projectId: r.project_id, id: r.id, speckleType: r.speckle_type, totalChildrenCount: r.total_children_count, data: r.data, createdAt: Number(r.created_at) }
      : null;
  }

  /**
   * The stored objects among `ids`, as rows are read: chunks of 1000 requested ids, each ordered by
   * id. Within a chunk the rows are fetched in slices sized so one query holds about 8 MB of JSON,
   * so a chunk of big mesh data chunks never sits in memory at once.
   */
  async function* streamObjects(projectId: string, ids: Iterable<string>): AsyncGenerator<ObjectText> {
    const all = Array.isArray(ids) ? (ids as string[]) : [...ids];
    let slice = READ_SLICE_START;
    for (let i = 0; i < all.length; i += READ_CHUNK_IDS) {
      const chunk = [...new Set(all.slice(i, i + READ_CHUNK_IDS).filter(validId))].sort();
      for (let pos = 0; pos < chunk.length; ) {
        const part = chunk.slice(pos, pos + slice);
        pos += part.length;
        const rows = await db
          .selectFrom('objects')
          .select(['id', 'data'])
          .where('project_id', '=', projectId)
          .where('id', 'in', part)
          .orderBy('id')
          .execute();
        let chars = 0;
        for (const r of rows) {
          chars += r.data.length;
          yield r;
        }
        if (rows.length) {
          const perRow = Math.max(1, chars / rows.length);
          slice = Math.max(READ_SLICE_MIN, Math.min(READ_CHUNK_IDS, Math.floor(READ_SLICE_TARGET_CHARS / perRow)));
        } else slice = Math.min(READ_CHUNK_IDS, slice * 2);
      }
    }
  }

  /** Child ids (closure keys) of a stored object. */
  function getClosureIds(root: StoredObject | Record<string, unknown>): string[] {
    if ('data' in root && typeof root.data === 'string' && 'projectId' in root) return closureIdsOf(JSON.parse(root.data));
    return closureIdsOf(root);
  }

  /**
   * One page of an object's children for GraphQL `Object.children` (simple mode): closure entries
   * with depth ≤ `depth`, ordered by id, after `cursor` (the last id of the previous page).
   */
  async function childrenPage(
    projectId: string,
    parentData: Record<string, unknown>,
    opts: { limit: number; depth: number; cursor?: string | null },
  ): Promise<{ objects: StoredObject[]; cursor: string | null }> {
    const closure = isPlainObject(parentData.__closure) ? parentData.__closure : {};
    const candidates = Object.entries(closure)
      .filter(([id, d]) => validId(id) && (typeof d !== 'number' || d <= opts.depth))
      .map(([id]) => id)
      .filter((id) => !opts.cursor || id > opts.cursor)
      .sort();
    const limit = Math.max(0, opts.limit);
    const objects: StoredObject[] = [];
    let pos = 0;
    while (pos < candidates.length && objects.length < limit) {
      const part = candidates.slice(pos, pos + READ_CHUNK_IDS);
      pos += part.length;
      const rows = await db.selectFrom('objects').selectAll().where('project_id', '=', projectId).where('id', 'in', part).orderBy('id').execute();
      rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      for (const r of rows) {
        if (objects.length >= limit) break;
        objects.push({ projectId, id: r.id, speckleType: r.speckle_type, totalChildrenCount: r.total_children_count, data: r.data, createdAt: Number(r.created_at) });
      }
    }
    const last = objects[objects.length - 1];
    const more = last ? candidates.some((id) => id > last.id) : false;
    return { objects, cursor: more && last ? last.id : null };
  }

  return { prepare, insertFrom, insertBatch, hasObjects, hasObjectsChunks, getObject, streamObjects, getClosureIds, childrenPage };
}

export type ObjectsService = ReturnType<typeof createObjectsService>;
