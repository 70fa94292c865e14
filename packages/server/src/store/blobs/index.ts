/**
 * Blob store: the one interface services use for files, thumbnails, datasets and installers.
 * Two implementations: the filesystem under the data directory (default) and S3-compatible storage.
 *
 * Keys are '/'-separated logical names chosen by services (`datasets/ab12cd34ef/v1.duckdb`).
 * Every key and prefix passes `assertSafeBlobKey` / `assertSafeBlobPrefix` before either store does
 * any I/O, so nothing that reaches a path or an S3 request can escape its root.
 */
import { createHash, type Hash } from 'node:crypto';
import type { BlobConfig } from '../../config.js';
import { AppError } from '../../domain/errors.js';

export interface BlobInfo {
  size: number;
  contentType?: string;
  /** hex SHA-256 of the content, when the store knows it (fs: always; S3: blobs written in one request) */
  sha256?: string;
}

export interface BlobRead {
  /** The requested bytes. Consume or destroy it: an unread stream holds a file handle or connection. */
  stream: NodeJS.ReadableStream;
  /** Size of the whole blob (not of the range), as in the `/size` of an HTTP Content-Range. */
  size: number;
  contentType?: string;
  /** Present when a range was asked for: the inclusive byte offsets actually served (end clamped to size-1). */
  range?: { start: number; end: number };
}

export interface BlobPutOptions {
  contentType?: string;
  /** Abort with a BlobTooLargeError, leaving nothing behind, once the body exceeds this many bytes. */
  maxBytes?: number;
}

export interface BlobStore {
  readonly kind: 'fs' | 's3';
  /**
   * Streams body into the store atomically: readers never see a partial blob (they see the previous
   * content, or nothing, until the put completes). Returns size and sha256 (hex) of what was written.
   * With maxBytes: aborts with a BlobTooLargeError and leaves nothing behind (an overwritten blob keeps
   * its previous content).
   */
  put(key: string, body: NodeJS.ReadableStream | Buffer | string, opts?: BlobPutOptions): Promise<BlobInfo & { sha256: string }>;
  /**
   * null when absent. range is inclusive byte offsets like HTTP Range; `end` past the last byte is
   * clamped. A start at or past the end of the blob throws BlobRangeNotSatisfiableError (HTTP 416).
   * A reader that has started keeps the version it opened even if the blob is replaced meanwhile.
   */
  get(key: string, range?: { start: number; end?: number }): Promise<BlobRead | null>;
  stat(key: string): Promise<BlobInfo | null>;
  /** No error if absent. */
  delete(key: string): Promise<void>;
  /**
   * Removes every key under a prefix, taken as whole segments: `deletePrefix('a/b')` (or 'a/b/')
   * removes `a/b/x` and `a/b/c/d`, never `a/bc`. The empty prefix is refused (InvalidBlobKeyError).
   */
  deletePrefix(prefix: string): Promise<void>;
  /**
   * Every key under a prefix (whole segments, as for deletePrefix; '' lists all keys), in
   * lexicographic order of their UTF-8 bytes (the order S3 lists in).
   */
  list(prefix: string): AsyncIterable<string>;
  /** Readiness probe: throws when the store cannot be reached/written. */
  ping(): Promise<void>;
  /** Releases connections; the store is unusable afterwards. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Errors

/** A key for messages and logs: quoted, truncated, every non-printable-ASCII character escaped. */
function showKey(key: unknown): string {
  if (typeof key !== 'string') return String(key);
  const cut = key.length > 80 ? key.slice(0, 80) + '...' : key;
  return `"${cut.replace(/[^\x20-\x7e]|["\\]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}

/** The key or prefix is not a safe blob key; thrown before any I/O. Maps to HTTP 400. */
export class InvalidBlobKeyError extends AppError {
  constructor(key: unknown, reason: string) {
    super('BAD_REQUEST_ERROR', `invalid blob key ${showKey(key)}: ${reason}`, { reason });
    this.name = 'InvalidBlobKeyError';
  }
}

/** The body exceeded `maxBytes`; nothing was stored. Maps to HTTP 413. */
export class BlobTooLargeError extends AppError {
  readonly maxBytes: number;
  constructor(maxBytes: number) {
    super('PAYLOAD_TOO_LARGE', `blob exceeds the limit of ${maxBytes} bytes`, { maxBytes });
    this.name = 'BlobTooLargeError';
    this.maxBytes = maxBytes;
  }
}

/** A range that starts at or past the end of the blob. Faces answer 416 with `Content-Range: bytes * /size`. */
export class BlobRangeNotSatisfiableError extends Error {
  readonly code = 'RANGE_NOT_SATISFIABLE';
  readonly size: number;
  constructor(size: number) {
    super(`range not satisfiable: blob has ${size} bytes`);
    this.name = 'BlobRangeNotSatisfiableError';
    this.size = size;
  }
}

/**
 * Filesystem only: the key would need a directory where a blob is (put `a/b/c` while `a/b` exists)
 * or the reverse. S3 has no directories and accepts both. Maps to HTTP 409.
 */
export class BlobKeyConflictError extends AppError {
  constructor(key: string) {
    super('CONFLICT', `blob key ${showKey(key)} conflicts with an existing key that is a prefix of it, or that it is a prefix of`);
    this.name = 'BlobKeyConflictError';
  }
}

/** A stored blob that cannot be read back (bad header). Never expected; maps to HTTP 500. */
export class BlobCorruptError extends AppError {
  constructor(key: string, detail: string) {
    super('INTERNAL', `blob ${showKey(key)} is unreadable: ${detail}`);
    this.name = 'BlobCorruptError';
  }
}

// ---------------------------------------------------------------------------------------------
// Keys

/** S3's limit, in UTF-8 bytes. */
export const MAX_BLOB_KEY_BYTES = 1024;
/** NAME_MAX of common filesystems, in UTF-8 bytes. */
export const MAX_BLOB_SEGMENT_BYTES = 255;

// Control characters (C0, DEL, C1), invisible format characters (bidi overrides, zero-width, BOM),
// line/paragraph separators, backslash, and the characters Windows forbids in names (':' also opens
// NTFS alternate data streams and drive-relative paths).
const FORBIDDEN_CHAR = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\\:*?"<>|]/u;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// Names Windows maps to devices, with or without an extension.
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;

function keyProblem(key: unknown): string | null {
  if (typeof key !== 'string') return 'not a string';
  if (key === '') return 'empty';
  if (Buffer.byteLength(key, 'utf8') > MAX_BLOB_KEY_BYTES) return `longer than ${MAX_BLOB_KEY_BYTES} bytes`;
  if (LONE_SURROGATE.test(key)) return 'not well-formed Unicode';
  const bad = FORBIDDEN_CHAR.exec(key);
  if (bad) return `contains forbidden character U+${bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  if (key.normalize('NFC') !== key) return 'not in Unicode normal form C';
  if (key.startsWith('/')) return 'absolute path';
  for (const segment of key.split('/')) {
    if (segment === '') return 'empty segment';
    if (segment === '.' || segment === '..') return `'${segment}' segment`;
    if (segment.startsWith('.')) return 'segment starts with a dot';
    if (segment.endsWith('.')) return 'segment ends with a dot';
    if (segment !== segment.trim()) return 'segment starts or ends with whitespace';
    if (Buffer.byteLength(segment, 'utf8') > MAX_BLOB_SEGMENT_BYTES) return `segment longer than ${MAX_BLOB_SEGMENT_BYTES} bytes`;
    if (WINDOWS_DEVICE.test(segment)) return 'segment is a reserved device name';
  }
  return null;
}

/**
 * Throws InvalidBlobKeyError unless `key` is a safe blob key: 1–1024 UTF-8 bytes of well-formed NFC
 * text, '/'-separated non-empty segments of at most 255 bytes, no '.'/'..' or dot-leading segments
 * (the filesystem store keeps its own files under such names), no segment that starts or ends with
 * whitespace or ends with a dot, no control or invisible format characters, no backslash or
 * `: * ? " < > |`, no Windows device names.
 */
export function assertSafeBlobKey(key: unknown): asserts key is string {
  const problem = keyProblem(key);
  if (problem) throw new InvalidBlobKeyError(key, problem);
}

export const isSafeBlobKey = (key: unknown): key is string => keyProblem(key) === null;

/**
 * Validates a prefix for list/deletePrefix and returns it without its trailing '/': '' (everything)
 * or a safe key naming a "folder". `allowEmpty: false` refuses '' (deletePrefix never wipes a store).
 */
export function assertSafeBlobPrefix(prefix: unknown, opts: { allowEmpty: boolean }): string {
  if (typeof prefix !== 'string') throw new InvalidBlobKeyError(prefix, 'not a string');
  if (prefix === '') {
    if (opts.allowEmpty) return '';
    throw new InvalidBlobKeyError(prefix, 'empty prefix (would remove every blob)');
  }
  const bare = prefix.endsWith('/') && prefix !== '/' ? prefix.slice(0, -1) : prefix;
  const problem = keyProblem(bare);
  if (problem) throw new InvalidBlobKeyError(prefix, problem);
  return bare;
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the implementations (not part of the interface)

/** Content types go into HTTP headers and S3 metadata: printable ASCII only. */
export function checkContentType(contentType: unknown): string | undefined {
  if (contentType === undefined) return undefined;
  if (typeof contentType !== 'string' || !/^[\x20-\x7e]{1,255}$/.test(contentType) || contentType.trim() !== contentType)
    throw new TypeError('contentType must be 1-255 printable ASCII characters without surrounding spaces');
  return contentType;
}

export function checkMaxBytes(maxBytes: unknown): number | undefined {
  if (maxBytes === undefined) return undefined;
  if (typeof maxBytes !== 'number' || !Number.isSafeInteger(maxBytes) || maxBytes < 0)
    throw new TypeError('maxBytes must be a non-negative integer');
  return maxBytes;
}

/** Validates a requested range's shape (not whether it fits the blob). */
export function checkRange(range: unknown): { start: number; end?: number } | undefined {
  if (range === undefined) return undefined;
  const r = range as { start?: unknown; end?: unknown };
  if (typeof r !== 'object' || r === null || typeof r.start !== 'number' || !Number.isSafeInteger(r.start) || r.start < 0)
    throw new RangeError('range.start must be a non-negative integer');
  if (r.end !== undefined && (typeof r.end !== 'number' || !Number.isSafeInteger(r.end) || r.end < r.start))
    throw new RangeError('range.end must be an integer not below range.start');
  return { start: r.start, end: r.end as number | undefined };
}

/** Resolves a valid range against a blob's size: inclusive bounds, end clamped; throws 416 when empty. */
export function resolveRange(range: { start: number; end?: number }, size: number): { start: number; end: number } {
  if (range.start >= size) throw new BlobRangeNotSatisfiableError(size);
  return { start: range.start, end: Math.min(range.end ?? size - 1, size - 1) };
}

/** The body as a sequence of Buffers. Stops (and, for a stream, destroys it) if the consumer stops early. */
export async function* bodyChunks(body: NodeJS.ReadableStream | Buffer | Uint8Array | string): AsyncGenerator<Buffer> {
  if (typeof body === 'string') {
    yield Buffer.from(body, 'utf8');
    return;
  }
  if (body instanceof Uint8Array) {
    yield Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    return;
  }
  if (!body || typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] !== 'function')
    throw new TypeError('blob body must be a Buffer, a string or a readable stream');
  for await (const chunk of body as AsyncIterable<unknown>) {
    if (typeof chunk === 'string') yield Buffer.from(chunk, 'utf8');
    else if (chunk instanceof Uint8Array)
      yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    else throw new TypeError('blob body stream must produce Buffers or strings');
  }
}

/** Size known before reading, for bodies that are not streams. */
export function knownBodySize(body: unknown): number | undefined {
  if (typeof body === 'string') return Buffer.byteLength(body, 'utf8');
  if (body instanceof Uint8Array) return body.byteLength;
  return undefined;
}

/** Counts and hashes bytes as they pass, throwing BlobTooLargeError the moment the limit is crossed. */
export class BodyMeter {
  size = 0;
  /** set once the limit was crossed, whoever caught the error thrown then */
  tooLarge?: BlobTooLargeError;
  private readonly hash: Hash = createHash('sha256');
  constructor(private readonly maxBytes?: number) {}
  add(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.maxBytes !== undefined && this.size > this.maxBytes) throw (this.tooLarge = new BlobTooLargeError(this.maxBytes));
    this.hash.update(chunk);
  }
  digest(): Buffer {
    return this.hash.digest();
  }
}

// ---------------------------------------------------------------------------------------------

/** Opens the configured blob store (creating the filesystem root if needed). */
export async function openBlobStore(cfg: BlobConfig): Promise<BlobStore> {
  if (cfg.kind === 'fs') {
    const { openFsBlobStore } = await import('./fs.js');
    return openFsBlobStore(cfg.root);
  }
  const { openS3BlobStore } = await import('./s3.js');
  return openS3BlobStore(cfg);
}
