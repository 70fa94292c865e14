/**
 * `operations` — specklepy's `operations.send / receive / serialize / deserialize`.
 *
 * ```ts
 * const objectId = await operations.send(base, { client, projectId });      // root id
 * await client.version.create({ objectId, modelId, projectId, message: 'first' });
 * const received = await operations.receive(objectId, { client, projectId });
 * ```
 *
 * send: serialises with detaching (ids as specklepy computes them), drops repeated objects, cuts the
 * records into batches as specklepy's BatchSender does (a batch grows while its size stays under
 * 1 000 000 characters and it has fewer than 20 000 objects; the first object always fits) and uploads
 * them with 4 batches in flight: per batch `POST /api/diff` for the ids, then only the missing objects in
 * one gzipped multipart part (`POST /objects`, 201 expected). The first failure stops new batches and is
 * thrown once the ones in flight are done.
 *
 * receive: `GET /objects/{p}/{id}/single`, then one `POST /api/getobjects/{p}` with every id of the
 * root's `__closure` (lines `id\tjson`, streamed), then rebuilds the Base objects.
 *
 * Unlike specklepy there is no default on-disk cache: pass `cache` (e.g. a Map) to keep objects
 * between calls — receive then asks the server only for what the cache lacks, and answers from the
 * cache alone when it holds the root.
 */
import { SpeckleError } from './errors.js';
import type { Base } from './objects/base.js';
import { deserialize as deserializeJson, type DeserializeOptions } from './objects/deserializer.js';
import { serialize as serializeBase, type ObjectRecord } from './objects/serializer.js';
import { ServerObjectTransport, type ObjectRoutesClient } from './serverTransport.js';

/** Where objects are kept between calls; a `Map<string, string>` will do. */
export interface ObjectCache {
  get(id: string): string | undefined;
  set(id: string, json: string): unknown;
  has(id: string): boolean;
}

export interface SendProgress {
  /** distinct objects to store, root included */
  totalObjects: number;
  /** objects in finished batches (asked with /api/diff, uploaded when missing) */
  processedObjects: number;
  /** of those, how many the server lacked and were uploaded */
  uploadedObjects: number;
  totalBatches: number;
  finishedBatches: number;
}

export interface SendOptions {
  /** an authenticated client (specklepy: ServerTransport(project_id, client)) */
  client: ObjectRoutesClient & { readonly isAuthenticated?: boolean };
  projectId: string;
  onProgress?: (progress: SendProgress) => void;
  signal?: AbortSignal;
  /** batches in flight at once (specklepy: 4 threads) */
  concurrency?: number;
  /** a batch stays under this many characters (specklepy: 1 000 000) */
  maxBatchSize?: number;
  /** a batch holds fewer objects than this (specklepy: 20 000) */
  maxBatchLength?: number;
  /** also store every record here (specklepy writes its local SQLite cache) */
  cache?: ObjectCache;
}

export interface ReceiveProgress {
  /** the root and every object of its closure */
  totalObjects: number;
  /** objects at hand so far (downloaded or found in the cache) */
  receivedObjects: number;
}

export interface ReceiveOptions {
  client: ObjectRoutesClient;
  projectId: string;
  onProgress?: (progress: ReceiveProgress) => void;
  /** problems that do not stop receiving (children the server did not return) */
  onWarning?: (message: string) => void;
  signal?: AbortSignal;
  /** objects already at hand; downloaded ones are added to it */
  cache?: ObjectCache;
}

export const SEND_DEFAULTS = Object.freeze({ concurrency: 4, maxBatchSize: 1_000_000, maxBatchLength: 20_000 });

/** specklepy's BatchSender rule for cutting the stream of records into batches. */
export function makeBatches(
  records: readonly ObjectRecord[],
  maxBatchSize: number = SEND_DEFAULTS.maxBatchSize,
  maxBatchLength: number = SEND_DEFAULTS.maxBatchLength,
): ObjectRecord[][] {
  const batches: ObjectRecord[][] = [];
  let current: ObjectRecord[] = [];
  let size = 0;
  for (const record of records) {
    const length = record.json.length;
    if (current.length === 0 || (size + length < maxBatchSize && current.length < maxBatchLength)) {
      current.push(record);
      size += length;
      continue;
    }
    batches.push(current);
    current = [record];
    size = length;
  }
  if (current.length) batches.push(current);
  return batches;
}

/** The records of an object graph as send() stores them: serialised with detaching, repeats dropped. */
export function recordsToSend(base: Base): { id: string; records: ObjectRecord[] } {
  const { id, records } = serializeBase(base, { detach: true });
  const seen = new Set<string>();
  const unique: ObjectRecord[] = [];
  for (const r of records) {
    if (seen.has(r.id)) continue;
    seen.add(r.id);
    unique.push(r);
  }
  return { id, records: unique };
}

/** Sends an object graph to a project and returns the root object's id. */
export async function send(base: Base, options: SendOptions): Promise<string> {
  const { client, projectId } = options;
  if (client.isAuthenticated === false) {
    throw new SpeckleError('sending needs an authenticated client: call authenticateWithToken first');
  }
  const transport = new ServerObjectTransport(client, projectId);
  const { id, records } = recordsToSend(base);
  if (options.cache) for (const r of records) options.cache.set(r.id, r.json);

  const batches = makeBatches(
    records,
    options.maxBatchSize ?? SEND_DEFAULTS.maxBatchSize,
    options.maxBatchLength ?? SEND_DEFAULTS.maxBatchLength,
  );
  const progress: SendProgress = {
    totalObjects: records.length,
    processedObjects: 0,
    uploadedObjects: 0,
    totalBatches: batches.length,
    finishedBatches: 0,
  };
  options.onProgress?.({ ...progress });

  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < batches.length) {
      const batch = batches[next++];
      try {
        if (options.signal?.aborted) throw new SpeckleError('sending was aborted', { cause: options.signal.reason });
        const known = await transport.hasObjects(
          batch.map((r) => r.id),
          { signal: options.signal },
        );
        const missing = batch.filter((r) => !known[r.id]);
        if (missing.length) {
          await transport.uploadBatch(
            missing.map((r) => r.json),
            { signal: options.signal },
          );
        }
        progress.processedObjects += batch.length;
        progress.uploadedObjects += missing.length;
        progress.finishedBatches += 1;
        options.onProgress?.({ ...progress });
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  const concurrency = Math.max(1, options.concurrency ?? SEND_DEFAULTS.concurrency);
  await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, worker));
  if (failure) throw failure.error;
  return id;
}

/** Downloads an object and everything it references from a project and rebuilds it. */
export async function receive(objectId: string, options: ReceiveOptions): Promise<Base> {
  const { cache } = options;
  const cachedRoot = cache?.get(objectId);
  if (cachedRoot) {
    // like specklepy: a cached root means its children are cached too — no network at all
    return deserializeJson(cachedRoot, { objects: cache, onWarning: options.onWarning });
  }

  const transport = new ServerObjectTransport(options.client, options.projectId);
  const rootJson = await transport.getObject(objectId, { signal: options.signal });
  let root: unknown;
  try {
    root = JSON.parse(rootJson);
  } catch (err) {
    throw new SpeckleError(`object ${objectId} from the server is not valid JSON`, { cause: err });
  }
  const closure = root && typeof root === 'object' ? (root as { __closure?: unknown }).__closure : undefined;
  const childIds = closure && typeof closure === 'object' ? Object.keys(closure) : [];

  const objects = new Map<string, string>();
  const progress: ReceiveProgress = { totalObjects: childIds.length + 1, receivedObjects: 1 };
  const missing: string[] = [];
  for (const childId of childIds) {
    const hit = cache?.get(childId);
    if (hit) {
      objects.set(childId, hit);
      progress.receivedObjects++;
    } else {
      missing.push(childId);
    }
  }
  options.onProgress?.({ ...progress });

  // specklepy sends this request even when nothing is missing; so does this SDK
  let sinceReport = 0;
  await transport.getObjects(
    missing,
    (id, json) => {
      if (!objects.has(id)) progress.receivedObjects++;
      objects.set(id, json);
      cache?.set(id, json);
      if (++sinceReport >= 1000) {
        sinceReport = 0;
        options.onProgress?.({ ...progress });
      }
    },
    { signal: options.signal },
  );
  objects.set(objectId, rootJson);
  cache?.set(objectId, rootJson);
  options.onProgress?.({ ...progress });

  const notReturned = missing.filter((id) => !objects.has(id));
  if (notReturned.length) {
    options.onWarning?.(`the server did not return ${notReturned.length} of the ${missing.length} objects asked for (first: ${notReturned[0]})`);
  }
  return deserializeJson(rootJson, { objects, onWarning: options.onWarning });
}

/**
 * specklepy `operations.serialize(base)`: the root's JSON text. Without `detach` (the default, like
 * specklepy without write transports) nothing is detached or chunked.
 */
export function serialize(base: Base, options: { detach?: boolean } = {}): string {
  return serializeBase(base, { detach: options.detach ?? false }).json;
}

/** specklepy `operations.deserialize(obj_string, read_transport)`. */
export function deserialize(json: string, options: DeserializeOptions = {}): Base {
  return deserializeJson(json, options);
}

/** specklepy's `operations` module. */
export const operations = Object.freeze({ send, receive, serialize, deserialize });
