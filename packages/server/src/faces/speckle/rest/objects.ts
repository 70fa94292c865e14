/**
 * Speckle's REST object transport (reference §8.4): has-objects diff, multipart batch upload,
 * single object, object with its children, getobjects and the v2 object-stream.
 *
 * Uploads never hold a whole part in memory: each multipart part is spooled (in memory up to
 * SPOOL_MEMORY_BYTES, then to a file under `<dataDir>/tmp/uploads`), then read back through gunzip
 * and a streaming JSON-array splitter, and inserted in bounded chunks inside ONE transaction per
 * part. Spooling first keeps the database transaction off the network: a slow client never holds
 * the (single-writer) SQLite connection or a PostgreSQL pool connection while it trickles bytes in,
 * and the spooled part can be replayed when PostgreSQL aborts a transaction for a deadlock.
 *
 * Limits: a part may be at most `limits.uploadPartBytes` as sent (413 `File size too large (n > max)`);
 * a gzip part may inflate to at most DECOMPRESSION_FACTOR × that (default 100 MB × 10 = 1000 MiB),
 * which refuses gzip bombs while leaving room for JSON's usual 4–10× ratio; one element of the array
 * may be at most 2 × `limits.objectSizeBytes` + 1 MiB of text before it is parsed (the exact object
 * size rule is applied after parsing, by the objects service).
 *
 * Downloads stream rows as they are read, through gzip (Content-Encoding set here, so the global
 * compression plugin leaves the body alone), with backpressure; every `id\tjson` line ends in `\n`
 * and line-breaking characters inside JSON strings are written as `\uXXXX` escapes.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { randomUUID } from 'node:crypto';
import { Readable, pipeline, type Writable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import type { Services } from '../../../services/index.js';
import { AppError, isAppError } from '../../../domain/errors.js';
import { AUTHZ_MESSAGES } from '../../../domain/authz.js';
import { SOURCE_TEXT, closureIdsOf, objectTooLargeMessage } from '../../../services/objects.js';

// ------------------------------------------------------------------ limits and messages

/**
 * Most ids one diff or object-stream request may carry (objectloader2 sends 15,000 per request; the
 * .NET SDK diffs 100,000). getobjects has no such cap: specklepy's receive asks for a model's whole
 * closure in ONE request, so only the request body limit (100 MB ≈ 2 million ids) bounds it.
 */
export const MAX_IDS_PER_REQUEST = 100_000;
/** A gzip part may inflate to this many times the part limit. */
export const DECOMPRESSION_FACTOR = 10;
/** Parts up to this size stay in memory; bigger ones are spooled to a temporary file. */
const SPOOL_MEMORY_BYTES = 8 * 1024 * 1024;
/** Response bytes gathered before one write into the gzip stream. */
const WRITE_BATCH_CHARS = 64 * 1024;
/**
 * gzip level of object responses: level 1 compresses Speckle JSON about 3× faster than the default
 * (6) for ~15% more bytes; on a small host the CPU, not the network, bounds how fast objects go out.
 */
const RESPONSE_GZIP_LEVEL = 1;

const MSG = {
  badBody:
    'Invalid body. Please provide a JSON object containing the property "objects" of type string. The value must be a JSON string representation of an array of object IDs.',
  badMultipart: 'Failed to parse request headers and body content as valid multipart/form-data.',
  gzipNotJson: 'Failed to parse data.',
  notJson: 'Failed to parse data. Batch is not in JSON format.',
  notArray: 'Failed to parse data. Batch is expected to be wrapped in a JSON array.',
  badContentType: 'Invalid ContentType header. This route only accepts "application/gzip", "text/plain" or "application/json".',
  insertFailed: 'Error inserting object in the database. Check server logs for details',
  notFound: 'Failed to find object.',
  tooMany: (n: number) => `Too many object ids in one request: ${n} (at most ${MAX_IDS_PER_REQUEST}).`,
  tooLarge: (n: number, max: number) => `File size too large (${n} > ${max})`,
};

const GZIP_TYPES = new Set(['application/gzip', 'application/x-gzip']);
const PLAIN_TYPES = new Set(['text/plain', 'application/json', 'application/octet-stream']);

// ------------------------------------------------------------------ streaming JSON array splitter

/** The batch is not valid JSON, or is JSON but not an array. */
export class BatchFormatError extends Error {
  constructor(readonly kind: 'not-json' | 'not-array') {
    super(kind === 'not-json' ? 'batch is not valid JSON' : 'batch is not a JSON array');
  }
}

/** A part (or its inflated content) is over its byte limit. */
export class PartTooLargeError extends Error {
  constructor(readonly bytes: number, readonly limit: number) {
    super(MSG.tooLarge(bytes, limit));
  }
}

const enum S {
  Before,
  Open,
  Next,
  In,
  After,
  Done,
  NotArray,
}
const NOT_ARRAY_PROBE_BYTES = 1024 * 1024;
const enum E {
  Composite,
  String,
  Literal,
}

const isWs = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * Splits a JSON array arriving in byte chunks into its top-level elements, each parsed with
 * JSON.parse. It tracks only what it must — string/escape state and bracket depth — and works on
 * bytes (every structural character is ASCII, and UTF-8 never puts ASCII bytes inside a multi-byte
 * character). Memory: the current element only, capped at `maxElementBytes`.
 */
export class JsonArraySplitter {
  private state = S.Before;
  private kind = E.Composite;
  private depth = 0;
  private inString = false;
  private escapePending = false;
  private parts: Buffer[] = [];
  private partBytes = 0;
  private head: Buffer | null = null;

  constructor(private readonly maxElementBytes: number, private readonly objectLimitBytes: number) {}

  /** Feeds one chunk; returns the elements completed in it. */
  push(chunk: Buffer): unknown[] {
    const out: unknown[] = [];
    const len = chunk.length;
    let i = 0;
    let start = this.state === S.In ? 0 : -1;
    let nextBs = -2; // -2: not looked up yet in this chunk; -1: none left
    if (this.state === S.NotArray) {
      this.keepNotArray(chunk);
      return out;
    }
    while (i < len) {
      const st: S = this.state;
      if (st === S.In) {
        if (this.inString) {
          if (this.escapePending) {
            this.escapePending = false;
            i++;
            continue;
          }
          if (nextBs === -2 || (nextBs !== -1 && nextBs < i)) nextBs = chunk.indexOf(0x5c, i);
          const q = chunk.indexOf(0x22, i);
          if (nextBs !== -1 && (q === -1 || nextBs < q)) {
            if (nextBs + 1 >= len) {
              this.escapePending = true;
              i = len;
            } else i = nextBs + 2;
            continue;
          }
          if (q === -1) {
            i = len;
            continue;
          }
          this.inString = false;
          i = q + 1;
          if (this.kind === E.String) {
            out.push(this.complete(chunk, start, i));
            start = -1;
          }
          continue;
        }
        const c = chunk[i];
        if (this.kind === E.Literal) {
          if (c === 0x2c || c === 0x5d || isWs(c)) {
            out.push(this.complete(chunk, start, i));
            start = -1;
            continue; // the delimiter is read again in the After state
          }
          i++;
          continue;
        }
        if (c === 0x22) this.inString = true;
        else if (c === 0x7b || c === 0x5b) this.depth++;
        else if (c === 0x7d || c === 0x5d) {
          if (--this.depth === 0) {
            i++;
            out.push(this.complete(chunk, start, i));
            start = -1;
            continue;
          }
        }
        i++;
        continue;
      }
      const c = chunk[i];
      if (isWs(c)) {
        i++;
        continue;
      }
      switch (st) {
        case S.Before:
          if (c === 0x5b) {
            this.state = S.Open;
            i++;
            break;
          }
          if (!/[{"\-0-9tfn]/.test(String.fromCharCode(c))) throw new BatchFormatError('not-json');
          // maybe JSON, but not an array: read on (a little) to tell which message applies
          this.state = S.NotArray;
          this.parts = [];
          this.partBytes = 0;
          this.keepNotArray(chunk.subarray(i));
          i = len;
          break;
        case S.Open:
        case S.Next:
          if (c === 0x5d && st === S.Open) {
            this.state = S.Done;
            i++;
            break;
          }
          if (c === 0x5d || c === 0x2c) throw new BatchFormatError('not-json');
          this.state = S.In;
          start = i;
          this.parts = [];
          this.partBytes = 0;
          this.head = null;
          this.depth = 0;
          if (c === 0x7b || c === 0x5b) {
            this.kind = E.Composite;
            this.depth = 1;
          } else if (c === 0x22) {
            this.kind = E.String;
            this.inString = true;
          } else this.kind = E.Literal;
          i++;
          break;
        case S.After:
          if (c === 0x2c) this.state = S.Next;
          else if (c === 0x5d) this.state = S.Done;
          else throw new BatchFormatError('not-json');
          i++;
          break;
        case S.Done:
          throw new BatchFormatError('not-json');
      }
    }
    if (this.state === S.In && start >= 0) {
      const piece = chunk.subarray(start, len);
      if (!this.head) this.head = Buffer.from(piece.subarray(0, 512));
      this.parts.push(piece);
      this.partBytes += piece.length;
      if (this.partBytes > this.maxElementBytes) this.tooLarge(this.partBytes, this.head);
    }
    return out;
  }

  /** Call after the last chunk: throws unless a whole array was read. */
  end(): void {
    if (this.state === S.NotArray) {
      try {
        JSON.parse(Buffer.concat(this.parts).toString('utf8'));
      } catch {
        throw new BatchFormatError('not-json');
      }
      throw new BatchFormatError('not-array');
    }
    if (this.state !== S.Done) throw new BatchFormatError('not-json');
  }

  /** A document that does not start with "[": kept (up to 1 MiB) only to tell invalid JSON from valid non-arrays. */
  private keepNotArray(piece: Buffer) {
    this.parts.push(piece);
    this.partBytes += piece.length;
    if (this.partBytes > NOT_ARRAY_PROBE_BYTES) {
      const first = this.parts[0][0];
      throw new BatchFormatError(first === 0x7b ? 'not-array' : 'not-json');
    }
  }

  private complete(chunk: Buffer, start: number, end: number): unknown {
    let text: string;
    if (this.parts.length) {
      const total = this.partBytes + (end - start);
      if (total > this.maxElementBytes) this.tooLarge(total, this.head);
      this.parts.push(chunk.subarray(start, end));
      text = Buffer.concat(this.parts, total).toString('utf8');
      this.parts = [];
      this.partBytes = 0;
    } else {
      if (end - start > this.maxElementBytes) this.tooLarge(end - start, chunk.subarray(start, start + 512));
      text = chunk.toString('utf8', start, end);
    }
    this.state = S.After;
    this.inString = false;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new BatchFormatError('not-json');
    }
    if (value !== null && typeof value === 'object' && !Array.isArray(value))
      Object.defineProperty(value, SOURCE_TEXT, { value: text.trim(), enumerable: false });
    return value;
  }

  private tooLarge(bytes: number, start: Buffer | null): never {
    const head = (start ?? Buffer.alloc(0)).toString('utf8');
    const m = /^\{\s*"(?:id|hash)"\s*:\s*"([^"\\]{0,255})"/.exec(head);
    throw new AppError('OBJECT_HANDLING_ERROR', objectTooLargeMessage(m ? m[1] : 'unknown', bytes, this.objectLimitBytes));
  }
}

/** Parsed elements of a JSON array read from byte chunks. */
export async function* parseJsonArray(input: AsyncIterable<Buffer>, maxElementBytes: number, objectLimitBytes: number): AsyncGenerator<unknown> {
  const splitter = new JsonArraySplitter(maxElementBytes, objectLimitBytes);
  for await (const chunk of input) {
    for (const value of splitter.push(chunk as Buffer)) yield value;
  }
  splitter.end();
}

/** Inflates a gzip stream, refusing to produce more than `cap` bytes. */
async function* gunzipCapped(source: Readable, cap: number): AsyncGenerator<Buffer> {
  const gunzip = zlib.createGunzip({ chunkSize: 64 * 1024 });
  pipeline(source, gunzip, () => {});
  let n = 0;
  for await (const chunk of gunzip) {
    n += (chunk as Buffer).length;
    if (n > cap) throw new PartTooLargeError(n, cap);
    yield chunk as Buffer;
  }
}

// ------------------------------------------------------------------ spooling a part

interface Spool {
  size: number;
  open(): Readable;
  dispose(): Promise<void>;
}

/**
 * Reads one multipart file stream to its end, keeping it in memory up to SPOOL_MEMORY_BYTES and in a
 * temporary file beyond. Over `limit` bytes, stops keeping and only counts (the stream is drained so
 * the client reads a clean 413).
 */
async function spoolPart(file: Readable, limit: number, tmpDir: string): Promise<Spool | { tooLarge: number }> {
  const chunks: Buffer[] = [];
  let inMemory = 0;
  let total = 0;
  let fh: fs.promises.FileHandle | null = null;
  let filePath: string | null = null;
  const cleanup = async () => {
    chunks.length = 0;
    if (fh) await fh.close().catch(() => {});
    fh = null;
    if (filePath) await fs.promises.rm(filePath, { force: true }).catch(() => {});
  };
  try {
    for await (const c of file) {
      const chunk = c as Buffer;
      total += chunk.length;
      if (total > limit) {
        if (fh || chunks.length) await cleanup();
        continue;
      }
      if (!fh && inMemory + chunk.length > SPOOL_MEMORY_BYTES) {
        await fs.promises.mkdir(tmpDir, { recursive: true });
        filePath = path.join(tmpDir, `part-${randomUUID()}`);
        fh = await fs.promises.open(filePath, 'wx', 0o600);
        for (const b of chunks) await fh.write(b);
        chunks.length = 0;
      }
      if (fh) await fh.write(chunk);
      else {
        chunks.push(chunk);
        inMemory += chunk.length;
      }
    }
  } catch (err) {
    await cleanup();
    throw err;
  }
  if (total > limit) {
    await cleanup();
    return { tooLarge: total };
  }
  if (fh) {
    await (fh as fs.promises.FileHandle).close();
    fh = null;
    const p = filePath!;
    return {
      size: total,
      open: () => fs.createReadStream(p, { highWaterMark: 256 * 1024 }),
      dispose: () => fs.promises.rm(p, { force: true }).catch(() => {}),
    };
  }
  return { size: total, open: () => Readable.from(chunks), dispose: async () => void (chunks.length = 0) };
}

/** Spool files a crashed process left behind (older than an hour: no upload of this process is that slow to spool). */
async function removeStaleSpools(dir: string) {
  try {
    const cutoff = Date.now() - 3600_000;
    for (const name of await fs.promises.readdir(dir)) {
      if (!name.startsWith('part-')) continue;
      const p = path.join(dir, name);
      const st = await fs.promises.stat(p).catch(() => null);
      if (st && st.mtimeMs < cutoff) await fs.promises.rm(p, { force: true }).catch(() => {});
    }
  } catch {
    /* no directory yet */
  }
}

async function drain(stream: Readable) {
  for await (const _chunk of stream) {
    /* discard */
  }
}

// ------------------------------------------------------------------ streaming responses

/** The client went away: stop producing. */
class ClientGone extends Error {}

/** Writes with backpressure; rejects when the stream closes before draining. */
function writeWithBackpressure(stream: Writable, data: Buffer): Promise<void> {
  if (stream.destroyed || stream.writableEnded) return Promise.reject(new ClientGone());
  if (stream.write(data)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: unknown) => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      stream.off('error', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new ClientGone());
    stream.on('drain', onDrain);
    stream.on('close', onClose);
    stream.on('error', onClose);
  });
}

const LINE_BREAKER = /[\r\v\f\x1c-\x1e\x85\u2028\u2029]/;
const LINE_BREAKERS = /[\r\v\f\x1c-\x1e\x85\u2028\u2029]/g;
/** Escapes characters that Python's splitlines (or objectloader) would treat as line ends. */
export function escapeLineBreakers(json: string): string {
  if (!LINE_BREAKER.test(json)) return json;
  return json.replace(LINE_BREAKERS, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A gzip response body being produced: batched writes, `id\tjson\n` lines or a JSON array. */
class GzipBody {
  readonly gz = zlib.createGzip({ level: RESPONSE_GZIP_LEVEL });
  private pending: string[] = [];
  private pendingChars = 0;
  private flushedOnce = false;
  private count = 0;

  constructor(private readonly mode: 'text' | 'json' | 'raw') {
    if (mode === 'json') this.push('[');
  }

  push(s: string) {
    this.pending.push(s);
    this.pendingChars += s.length;
  }

  async object(id: string, json: string) {
    const safe = escapeLineBreakers(json);
    if (this.mode === 'text') this.push(`${id}\t${safe}\n`);
    else {
      if (this.count > 0) this.push(',');
      this.push(safe);
    }
    this.count++;
    // the first object goes out at once (time to first byte), then writes are batched
    if (this.pendingChars >= WRITE_BATCH_CHARS || !this.flushedOnce) await this.write();
  }

  async write() {
    if (!this.pending.length) return;
    const data = Buffer.from(this.pending.join(''), 'utf8');
    this.pending = [];
    this.pendingChars = 0;
    await writeWithBackpressure(this.gz, data);
    if (!this.flushedOnce) {
      // get the first bytes to the client now instead of when gzip's buffer fills
      this.flushedOnce = true;
      this.gz.flush();
    }
  }

  async end() {
    if (this.mode === 'json') this.push(']');
    await this.write();
    this.gz.end();
  }
}

/**
 * Sends a gzip body that `produce` fills. The status and headers go out first; an error while
 * producing (a database failure) cuts the body short, which clients detect.
 */
function sendGzip(req: FastifyRequest, reply: FastifyReply, contentType: string, mode: 'text' | 'json' | 'raw', produce: (body: GzipBody) => Promise<void>) {
  const body = new GzipBody(mode);
  reply.status(200).header('content-encoding', 'gzip').header('content-type', contentType).send(body.gz);
  void (async () => {
    try {
      await produce(body);
      await body.end();
    } catch (err) {
      if (err instanceof ClientGone) return;
      req.log.error({ err }, 'failed while streaming objects');
      body.gz.destroy(err as Error);
    }
  })();
  return reply;
}

// ------------------------------------------------------------------ attribute masks (lodash pick/omit by dotted path)

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null;

function pathOf(obj: Json, p: string): string[] {
  return p in obj ? [p] : p.split('.');
}

export function pickPaths(obj: Json, paths: string[]): Json {
  const out: Json = {};
  for (const p of paths) {
    const keys = pathOf(obj, p);
    let src: unknown = obj;
    let ok = true;
    for (const k of keys) {
      if (isObj(src) && Object.prototype.hasOwnProperty.call(src, k)) src = (src as Json)[k];
      else {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    let dst: Json = out;
    for (let i = 0; i < keys.length - 1; i++) {
      const k = keys[i];
      if (!isObj(dst[k])) dst[k] = /^\d+$/.test(keys[i + 1]) ? [] : {};
      dst = dst[k] as Json;
    }
    dst[keys[keys.length - 1]] = src;
  }
  return out;
}

export function omitPaths(obj: Json, paths: string[]): Json {
  for (const p of paths) {
    const keys = pathOf(obj, p);
    let cur: unknown = obj;
    for (let i = 0; i < keys.length - 1 && isObj(cur); i++) cur = (cur as Json)[keys[i]];
    if (isObj(cur)) delete (cur as Json)[keys[keys.length - 1]];
  }
  return obj;
}

type AttributeMask = { include: string[] } | { exclude: string[] };

/** The strict body of object-stream: `{objectIds: [≥1 strings], attributeMask?: {include|exclude: [≥1 strings]}}`. */
function parseObjectStreamBody(body: unknown): { ids: string[]; mask?: AttributeMask } | string {
  if (!isObj(body) || Array.isArray(body)) return 'Expected a JSON object body';
  for (const k of Object.keys(body)) if (k !== 'objectIds' && k !== 'attributeMask') return `Unrecognized key in body: "${k}"`;
  const ids = body.objectIds;
  if (!Array.isArray(ids) || ids.length === 0) return 'objectIds: expected an array with at least one object id';
  if (!ids.every((s) => typeof s === 'string')) return 'objectIds: every object id must be a string';
  if (ids.length > MAX_IDS_PER_REQUEST) return MSG.tooMany(ids.length);
  if (body.attributeMask === undefined) return { ids: ids as string[] };
  const m = body.attributeMask;
  if (!isObj(m) || Array.isArray(m)) return 'attributeMask: expected {"include": [...]} or {"exclude": [...]}';
  const keys = Object.keys(m);
  if (keys.length !== 1 || (keys[0] !== 'include' && keys[0] !== 'exclude'))
    return 'attributeMask: expected exactly one of "include" or "exclude"';
  const list = m[keys[0]];
  if (!Array.isArray(list) || list.length === 0 || !list.every((s) => typeof s === 'string'))
    return `attributeMask.${keys[0]}: expected an array with at least one attribute path`;
  return { ids: ids as string[], mask: keys[0] === 'include' ? { include: list as string[] } : { exclude: list as string[] } };
}

/** The `objects` property of a diff/getobjects body: a JSON string of an id array. */
function idsFromBody(body: unknown, maxIds = Infinity): string[] {
  const objects = isObj(body) ? (body as Json).objects : undefined;
  let ids: unknown;
  try {
    if (typeof objects !== 'string') throw new Error('not a string');
    ids = JSON.parse(objects);
  } catch {
    throw new AppError('USER_INPUT_ERROR', MSG.badBody);
  }
  if (!Array.isArray(ids) || !ids.every((s) => typeof s === 'string')) throw new AppError('USER_INPUT_ERROR', MSG.badBody);
  if (ids.length > maxIds) throw new AppError('USER_INPUT_ERROR', MSG.tooMany(ids.length));
  return ids as string[];
}

// ------------------------------------------------------------------ routes

export async function speckleObjectRoutes(app: FastifyInstance, opts: { services: Services }) {
  const { services } = opts;
  const { limits, dataDir } = services.config;
  const partLimit = limits.uploadPartBytes;
  const inflatedLimit = partLimit * DECOMPRESSION_FACTOR;
  const maxElementBytes = limits.objectSizeBytes * 2 + 1024 * 1024;
  const tmpDir = path.join(dataDir, 'tmp', 'uploads');
  void removeStaleSpools(tmpDir);

  await app.register(multipart, {
    limits: { fileSize: Number.MAX_SAFE_INTEGER, parts: 10_000, fieldSize: 1024 * 1024 },
    throwFileSizeLimit: false,
  });
  // any other body type reaches the handlers (which answer Speckle's 400s) instead of a 415
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));

  /**
   * REST permission statuses of §8.4 (empty bodies): read — public projects for anyone, a missing
   * project 404 for a signed-in caller and 401 for an anonymous one, everything else 401; write — 401.
   */
  async function restDenial(req: FastifyRequest, projectId: string, need: 'read' | 'write'): Promise<number | null> {
    const { result } = await services.projects.check(req.speckleAuth, projectId, need);
    if (result.ok) return null;
    if (need === 'read' && result.denial === 'ProjectNotFound') return req.speckleAuth.auth ? 404 : 401;
    return 401;
  }

  // Every object route answers OPTIONS (CORS *), also without a preflight's headers.
  const corsAll = { cors: { strictPreflight: false } };
  for (const url of [
    '/api/diff/:projectId',
    '/objects/:projectId',
    '/objects/:projectId/:objectId',
    '/objects/:projectId/:objectId/single',
    '/api/getobjects/:projectId',
    '/api/v2/projects/:projectId/object-stream',
    '/api/v2/projects/:projectId/object-stream/',
  ]) {
    app.options(url, { config: corsAll }, async (_req, reply) => reply.status(204).send());
  }

  // --------------------------------------------------------------- POST /api/diff/:projectId
  app.post<{ Params: { projectId: string } }>('/api/diff/:projectId', async (req, reply) => {
    const denied = await restDenial(req, req.params.projectId, 'write');
    if (denied) return reply.status(denied).send();
    const ids = idsFromBody(req.body, MAX_IDS_PER_REQUEST);
    const projectId = req.params.projectId;
    return sendGzip(req, reply, 'application/json', 'raw', async (body) => {
      const seen = new Set<string>();
      body.push('{');
      for await (const chunk of services.objects.hasObjectsChunks(projectId, ids)) {
        for (const [id, has] of chunk) {
          if (seen.has(id)) continue;
          body.push(`${seen.size ? ',' : ''}${JSON.stringify(id)}:${has}`);
          seen.add(id);
        }
        await body.write();
      }
      body.push('}');
    });
  });

  // --------------------------------------------------------------- POST /objects/:projectId
  app.post<{ Params: { projectId: string } }>('/objects/:projectId', async (req, reply) => {
    const projectId = req.params.projectId;
    const denied = await restDenial(req, projectId, 'write');
    if (denied) return reply.status(denied).send();
    const fail = (status: number, message: string) => reply.status(status).type('text/plain; charset=utf-8').send(message);
    if (!req.isMultipart()) return fail(400, MSG.badMultipart);

    let failure: { status: number; message: string } | null = null;
    let objects = 0;
    try {
      const parts = req.parts({
        isPartAFile: (_field, contentType, fileName) =>
          fileName !== undefined || (contentType !== undefined && contentType !== 'text/plain' && (GZIP_TYPES.has(contentType) || PLAIN_TYPES.has(contentType))),
      });
      for await (const part of parts) {
        if (part.type !== 'file') continue;
        if (failure) {
          await drain(part.file);
          continue;
        }
        const mime = part.mimetype.toLowerCase();
        const gzip = GZIP_TYPES.has(mime);
        if (!gzip && !PLAIN_TYPES.has(mime)) {
          failure = { status: 400, message: MSG.badContentType };
          await drain(part.file);
          continue;
        }
        const spooled = await spoolPart(part.file, partLimit, tmpDir);
        if ('tooLarge' in spooled) {
          failure = { status: 413, message: MSG.tooLarge(spooled.tooLarge, partLimit) };
          continue;
        }
        try {
          const source = () => {
            const raw = spooled.open();
            return parseJsonArray(gzip ? gunzipCapped(raw, inflatedLimit) : raw, maxElementBytes, limits.objectSizeBytes);
          };
          objects += await services.objects.insertFrom(projectId, source);
        } catch (err) {
          failure = uploadFailure(req, err, gzip);
        } finally {
          await spooled.dispose();
        }
      }
    } catch (err) {
      req.log.info({ err }, 'malformed multipart upload');
      failure ??= { status: 400, message: MSG.badMultipart };
    }
    if (failure) return fail(failure.status, failure.message);
    req.log.debug({ objects }, 'objects uploaded');
    return reply.status(201).send();
  });

  function uploadFailure(req: FastifyRequest, err: unknown, gzip: boolean): { status: number; message: string } {
    if (err instanceof PartTooLargeError) return { status: 413, message: err.message };
    if (err instanceof BatchFormatError) {
      // Speckle answers every unreadable gzip part with the short message; plain parts say why
      if (gzip) return { status: 400, message: MSG.gzipNotJson };
      return { status: 400, message: err.kind === 'not-array' ? MSG.notArray : MSG.notJson };
    }
    if (isAppError(err) && err.code === 'OBJECT_HANDLING_ERROR') return { status: 400, message: `Error inserting object in the database: ${err.message}` };
    // zlib: not gzip data, or a truncated gzip stream
    if (gzip && typeof (err as { code?: unknown })?.code === 'string' && String((err as { code: string }).code).startsWith('Z_'))
      return { status: 400, message: MSG.gzipNotJson };
    req.log.error({ err }, 'failed to insert an uploaded batch');
    return { status: 400, message: MSG.insertFailed };
  }

  // --------------------------------------------------------------- GET /objects/:projectId/:objectId/single
  app.get<{ Params: { projectId: string; objectId: string } }>('/objects/:projectId/:objectId/single', async (req, reply) => {
    const denied = await restDenial(req, req.params.projectId, 'read');
    if (denied) return reply.status(denied).send();
    const obj = await services.objects.getObject(req.params.projectId, req.params.objectId);
    if (!obj) return reply.status(404).type('text/plain; charset=utf-8').send(MSG.notFound);
    const data = JSON.parse(obj.data) as Json;
    data.totalChildrenCount = obj.totalChildrenCount;
    return reply.type('application/json; charset=utf-8').send(JSON.stringify(data));
  });

  // --------------------------------------------------------------- GET /objects/:projectId/:objectId
  app.get<{ Params: { projectId: string; objectId: string } }>('/objects/:projectId/:objectId', async (req, reply) => {
    const { projectId, objectId } = req.params;
    const denied = await restDenial(req, projectId, 'read');
    if (denied) return reply.status(denied).send();
    const obj = await services.objects.getObject(projectId, objectId);
    if (!obj) return reply.status(404).type('text/plain; charset=utf-8').send(MSG.notFound);
    const data = JSON.parse(obj.data) as Json;
    data.totalChildrenCount = obj.totalChildrenCount;
    const children = closureIdsOf(data)
      .filter((id) => id !== obj.id)
      .sort();
    const text = req.headers.accept === 'text/plain';
    return sendGzip(req, reply, text ? 'text/plain; charset=UTF-8' : 'application/json', text ? 'text' : 'json', async (body) => {
      await body.object(obj.id, JSON.stringify(data));
      for await (const row of services.objects.streamObjects(projectId, children)) await body.object(row.id, row.data);
    });
  });

  // --------------------------------------------------------------- POST /api/getobjects/:projectId
  app.post<{ Params: { projectId: string } }>('/api/getobjects/:projectId', async (req, reply) => {
    const projectId = req.params.projectId;
    const denied = await restDenial(req, projectId, 'read');
    if (denied) return reply.status(denied).send();
    const ids = idsFromBody(req.body);
    const text = req.headers.accept === 'text/plain';
    return sendGzip(req, reply, text ? 'text/plain; charset=UTF-8' : 'application/json', text ? 'text' : 'json', async (body) => {
      for await (const row of services.objects.streamObjects(projectId, ids)) await body.object(row.id, row.data);
    });
  });

  // --------------------------------------------------------------- POST /api/v2/projects/:projectId/object-stream
  const objectStream = async (req: FastifyRequest<{ Params: { projectId: string } }>, reply: FastifyReply) => {
    const projectId = req.params.projectId;
    const { result } = await services.projects.check(req.speckleAuth, projectId, 'read');
    if (!result.ok) {
      const status = result.denial === 'ProjectNotFound' ? 404 : req.speckleAuth.auth ? 403 : 401;
      const message = result.denial === 'MissingScope' ? `Your auth token does not have the required scope: ${result.scope}.` : AUTHZ_MESSAGES[result.denial];
      return reply.status(status).send({ error: message });
    }
    const parsed = parseObjectStreamBody(req.body);
    if (typeof parsed === 'string') return reply.status(400).send({ error: parsed });
    const { ids, mask } = parsed;
    return sendGzip(req, reply, 'text/plain; charset=UTF-8', 'text', async (body) => {
      for await (const row of services.objects.streamObjects(projectId, ids)) {
        if (!mask) await body.object(row.id, row.data);
        else {
          const data = JSON.parse(row.data) as Json;
          const masked = 'include' in mask ? pickPaths(data, mask.include) : omitPaths(data, mask.exclude);
          await body.object(row.id, JSON.stringify(masked));
        }
      }
    });
  };
  app.post('/api/v2/projects/:projectId/object-stream', objectStream);
  app.post('/api/v2/projects/:projectId/object-stream/', objectStream);
}
