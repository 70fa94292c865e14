/**
 * Filesystem blob store.
 *
 * Layout under the root:
 *   <key>          one file per blob, at the key's path (keys are validated, so the path stays inside)
 *   .tmp/          writes in progress, probe files, and prefixes being deleted; never listed or served
 *
 * Each blob file starts with a small header holding its size, SHA-256 and content type, followed by
 * the content. Data and metadata are therefore published together by one atomic rename: a reader
 * never sees new bytes with an old content type, or the reverse.
 *
 *   offset 0   8 bytes  magic "ATRBLOB1"
 *          8   8 bytes  content size, unsigned big-endian
 *         16  32 bytes  SHA-256 of the content
 *         48   2 bytes  length n of the content type, unsigned big-endian (0: none)
 *         50   n bytes  content type (ASCII)
 *       50+n            content
 *
 * put: write header + content to .tmp/<name>.part, fill in size and hash, fsync, rename onto the key's
 * path, fsync the directory. A crash before the rename leaves only the temp file, which no read
 * path looks at; `openFsBlobStore` removes temp files of processes that are gone.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsc, promises as fsp, type Dirent } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  assertSafeBlobKey,
  assertSafeBlobPrefix,
  BlobCorruptError,
  BlobKeyConflictError,
  BodyMeter,
  bodyChunks,
  checkContentType,
  checkMaxBytes,
  checkRange,
  isSafeBlobKey,
  knownBodySize,
  resolveRange,
  BlobTooLargeError,
  type BlobInfo,
  type BlobPutOptions,
  type BlobRead,
  type BlobStore,
} from './index.js';

const MAGIC = Buffer.from('ATRBLOB1', 'latin1');
const HEADER_FIXED = 50;
const TMP_DIR = '.tmp';
/** Writes are batched into chunks of about this size. */
const WRITE_BATCH = 256 * 1024;
/** Temp entries of other hosts (shared volumes) are removed once this old. */
const FOREIGN_TEMP_MAX_AGE_MS = 24 * 60 * 60 * 1000;

/** Temp names carry who made them: <host tag>-<pid>-<process incarnation>-<random>.<purpose> */
const HOST_TAG = createHash('sha256').update(os.hostname()).digest('hex').slice(0, 16);
const INCARNATION = randomBytes(6).toString('hex');
const TEMP_NAME = /^([0-9a-f]{16})-(\d+)-([0-9a-f]{12})-[0-9a-f]{16}\.(part|del|probe)$/;

const isWindows = process.platform === 'win32';
const O_NOFOLLOW = isWindows ? 0 : fsc.O_NOFOLLOW;

type Header = { size: number; sha256: string; contentType?: string; dataOffset: number };

function encodeHeader(size: number, sha256: Buffer, contentType: string | undefined): Buffer {
  const ct = Buffer.from(contentType ?? '', 'latin1');
  const h = Buffer.alloc(HEADER_FIXED + ct.length);
  MAGIC.copy(h, 0);
  h.writeBigUInt64BE(BigInt(size), 8);
  sha256.copy(h, 16);
  h.writeUInt16BE(ct.length, 48);
  ct.copy(h, HEADER_FIXED);
  return h;
}

const errCode = (e: unknown): string | undefined => (e as NodeJS.ErrnoException)?.code;

async function readFully(fh: FileHandle, length: number, position: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === length ? buf : buf.subarray(0, got);
}

async function writeFully(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    done += bytesWritten;
  }
}

/** fsync a directory so renames/creations/removals in it survive a crash (not possible on Windows). */
async function fsyncDir(dir: string): Promise<void> {
  if (isWindows) return;
  const fh = await fsp.open(dir, fsc.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errCode(e) === 'EPERM';
  }
}

/** Is this temp entry in .tmp left over from a writer that cannot finish any more? */
function isStaleTemp(name: string, mtimeMs: number, now: number): boolean {
  const m = TEMP_NAME.exec(name);
  if (!m) return true; // not ours: nothing we write looks like this
  const [, host, pidText, incarnation] = m;
  const pid = Number(pidText);
  if (host === HOST_TAG) {
    if (pid === process.pid) return incarnation !== INCARNATION; // an earlier process that had our pid
    if (!pidAlive(pid)) return true;
  }
  return now - mtimeMs > FOREIGN_TEMP_MAX_AGE_MS;
}

/** UTF-8 byte order of full keys, as S3 lists: a directory sorts as its name followed by '/'. */
function compareEntries(a: Dirent, b: Dirent): number {
  return Buffer.compare(
    Buffer.from(a.isDirectory() ? `${a.name}/` : a.name),
    Buffer.from(b.isDirectory() ? `${b.name}/` : b.name),
  );
}

export class FsBlobStore implements BlobStore {
  readonly kind = 'fs' as const;
  readonly root: string;
  private readonly tmpDir: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.tmpDir = path.join(this.root, TMP_DIR);
  }

  /** Creates the root and temp directory and removes temp entries of writers that are gone. */
  async init(): Promise<void> {
    await fsp.mkdir(this.tmpDir, { recursive: true });
    await this.removeStaleTemps();
  }

  async removeStaleTemps(): Promise<void> {
    const now = Date.now();
    for (const name of await fsp.readdir(this.tmpDir)) {
      const p = path.join(this.tmpDir, name);
      const st = await fsp.lstat(p).catch(() => null);
      if (st && isStaleTemp(name, st.mtimeMs, now)) await fsp.rm(p, { recursive: true, force: true });
    }
  }

  /** The file of a (validated) key. */
  private pathOf(key: string): string {
    const p = path.join(this.root, ...key.split('/'));
    // Defence in depth: validation already guarantees this.
    if (!p.startsWith(this.root + path.sep)) throw new Error('blob path escapes the store root');
    return p;
  }

  private tempPath(purpose: 'part' | 'del' | 'probe'): string {
    const name = `${HOST_TAG}-${process.pid}-${INCARNATION}-${randomBytes(8).toString('hex')}.${purpose}`;
    return path.join(this.tmpDir, name);
  }

  async put(
    key: string,
    body: NodeJS.ReadableStream | Buffer | string,
    opts: BlobPutOptions = {},
  ): Promise<BlobInfo & { sha256: string }> {
    assertSafeBlobKey(key);
    const contentType = checkContentType(opts.contentType);
    const maxBytes = checkMaxBytes(opts.maxBytes);
    const known = knownBodySize(body);
    if (maxBytes !== undefined && known !== undefined && known > maxBytes) throw new BlobTooLargeError(maxBytes);

    const target = this.pathOf(key);
    const tmp = this.tempPath('part');
    const fh = await fsp.open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o644);
    let closed = false;
    let published = false;
    try {
      const meter = new BodyMeter(maxBytes);
      let position = encodeHeader(0, Buffer.alloc(32), contentType).length;
      let batch: Buffer[] = [];
      let batched = 0;
      const flush = async () => {
        if (batched === 0) return;
        const buf = batch.length === 1 ? batch[0] : Buffer.concat(batch, batched);
        batch = [];
        batched = 0;
        await writeFully(fh, buf, position);
        position += buf.length;
      };
      for await (const chunk of bodyChunks(body)) {
        meter.add(chunk);
        batch.push(chunk);
        batched += chunk.length;
        if (batched >= WRITE_BATCH) await flush();
      }
      await flush();
      const sha = meter.digest();
      await writeFully(fh, encodeHeader(meter.size, sha, contentType), 0);
      await fh.sync();
      await fh.close();
      closed = true;
      await this.publish(tmp, target, key);
      published = true;
      return { size: meter.size, sha256: sha.toString('hex'), ...(contentType ? { contentType } : {}) };
    } finally {
      if (!closed) await fh.close().catch(() => {});
      if (!published) await fsp.rm(tmp, { force: true }).catch(() => {});
    }
  }

  /** Renames a finished temp file onto its key, creating parent directories, durably. */
  private async publish(tmp: string, target: string, key: string): Promise<void> {
    const dir = path.dirname(target);
    // A concurrent delete may prune the (empty) parent directories while we create them or
    // before we rename into them: ENOENT then means "make them again".
    const retries = 50;
    for (let attempt = 0; ; attempt++) {
      let firstCreated: string | undefined;
      try {
        firstCreated = await fsp.mkdir(dir, { recursive: true });
      } catch (e) {
        if (errCode(e) === 'ENOENT' && attempt < retries) continue;
        if (errCode(e) === 'EEXIST' || errCode(e) === 'ENOTDIR') throw new BlobKeyConflictError(key);
        throw e;
      }
      try {
        await fsp.rename(tmp, target);
      } catch (e) {
        const code = errCode(e);
        if (code === 'ENOENT' && attempt < retries) continue;
        if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR' || (code === 'EPERM' && isWindows))
          throw new BlobKeyConflictError(key);
        throw e;
      }
      await fsyncDir(dir);
      if (firstCreated) {
        // New directories are durable only once their own parents are synced.
        for (let d = path.dirname(dir), stop = path.dirname(firstCreated); ; d = path.dirname(d)) {
          await fsyncDir(d);
          if (d === stop || d.length <= this.root.length) break;
        }
      }
      return;
    }
  }

  /** Opens a blob's file and reads its header; null when there is no blob under the key. */
  private async open(key: string): Promise<{ fh: FileHandle; header: Header } | null> {
    let fh: FileHandle;
    try {
      fh = await fsp.open(this.pathOf(key), fsc.O_RDONLY | O_NOFOLLOW);
    } catch (e) {
      const code = errCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP' || code === 'EISDIR') return null;
      throw e;
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) {
        await fh.close();
        return null;
      }
      const fixed = await readFully(fh, HEADER_FIXED, 0);
      if (fixed.length < HEADER_FIXED || !fixed.subarray(0, 8).equals(MAGIC)) throw new BlobCorruptError(key, 'bad header');
      const ctLength = fixed.readUInt16BE(48);
      const ct = ctLength ? (await readFully(fh, ctLength, HEADER_FIXED)).toString('latin1') : undefined;
      const size = Number(fixed.readBigUInt64BE(8));
      const dataOffset = HEADER_FIXED + ctLength;
      if (dataOffset + size !== st.size) throw new BlobCorruptError(key, 'size does not match header');
      return {
        fh,
        header: { size, sha256: fixed.subarray(16, 48).toString('hex'), contentType: ct, dataOffset },
      };
    } catch (e) {
      await fh.close().catch(() => {});
      throw e;
    }
  }

  async get(key: string, range?: { start: number; end?: number }): Promise<BlobRead | null> {
    assertSafeBlobKey(key);
    const wanted = checkRange(range);
    const opened = await this.open(key);
    if (!opened) return null;
    const { fh, header } = opened;
    try {
      const served = wanted ? resolveRange(wanted, header.size) : undefined;
      const start = served?.start ?? 0;
      const end = served?.end ?? header.size - 1;
      const base = { size: header.size, ...(header.contentType ? { contentType: header.contentType } : {}) };
      if (end < start) {
        // empty blob, no range: nothing to read
        await fh.close();
        return { ...base, stream: Readable.from([]) };
      }
      // The stream reads from the handle opened above, so it keeps this version even if the key
      // is overwritten or deleted meanwhile; it closes the handle when it ends or is destroyed.
      const stream = fh.createReadStream({ start: header.dataOffset + start, end: header.dataOffset + end, autoClose: true });
      return { ...base, stream, ...(served ? { range: served } : {}) };
    } catch (e) {
      await fh.close().catch(() => {});
      throw e;
    }
  }

  async stat(key: string): Promise<BlobInfo | null> {
    assertSafeBlobKey(key);
    const opened = await this.open(key);
    if (!opened) return null;
    await opened.fh.close();
    const { size, sha256, contentType } = opened.header;
    return { size, sha256, ...(contentType ? { contentType } : {}) };
  }

  async delete(key: string): Promise<void> {
    assertSafeBlobKey(key);
    const p = this.pathOf(key);
    try {
      await fsp.unlink(p);
    } catch (e) {
      const code = errCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      // unlink of a directory (the key is only a prefix of other keys): no blob here
      if ((code === 'EISDIR' || code === 'EPERM') && (await fsp.lstat(p).catch(() => null))?.isDirectory() !== false) return;
      throw e;
    }
    await fsyncDir(path.dirname(p)).catch(() => {});
    await this.pruneEmptyParents(path.dirname(p));
  }

  async deletePrefix(prefix: string): Promise<void> {
    const bare = assertSafeBlobPrefix(prefix, { allowEmpty: false });
    const dir = this.pathOf(bare);
    const st = await fsp.lstat(dir).catch((e) => {
      if (errCode(e) === 'ENOENT' || errCode(e) === 'ENOTDIR') return null;
      throw e;
    });
    if (!st?.isDirectory()) return;
    // Move the whole subtree out of sight in one rename, then remove it at leisure: readers see
    // every key under the prefix vanish at once, and a crash midway leaves only a temp entry.
    const staging = this.tempPath('del');
    try {
      await fsp.rename(dir, staging);
    } catch (e) {
      if (errCode(e) === 'ENOENT') return;
      throw e;
    }
    await fsyncDir(path.dirname(dir)).catch(() => {});
    await fsp.rm(staging, { recursive: true, force: true });
    await this.pruneEmptyParents(path.dirname(dir));
  }

  /** Removes directories left empty by a delete, up to (not including) the root. */
  private async pruneEmptyParents(dir: string): Promise<void> {
    for (let d = dir; d.length > this.root.length && d.startsWith(this.root + path.sep); d = path.dirname(d)) {
      try {
        await fsp.rmdir(d);
      } catch {
        return; // not empty (or gone): stop
      }
    }
  }

  async *list(prefix: string): AsyncGenerator<string> {
    const bare = assertSafeBlobPrefix(prefix, { allowEmpty: true });
    yield* this.walk(bare ? this.pathOf(bare) : this.root, bare ? `${bare}/` : '');
  }

  private async *walk(dir: string, keyPrefix: string): AsyncGenerator<string> {
    let entries: Dirent[];
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch (e) {
      const code = errCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR') return; // absent, or removed while listing
      throw e;
    }
    entries.sort(compareEntries);
    for (const entry of entries) {
      const key = keyPrefix + entry.name;
      // Skips .tmp and anything else no valid key could have produced.
      if (!isSafeBlobKey(key)) continue;
      if (entry.isDirectory()) yield* this.walk(path.join(dir, entry.name), `${key}/`);
      else if (entry.isFile()) yield key;
    }
  }

  /** Writes, syncs and removes a probe file: fails when the root is gone, read-only or full. */
  async ping(): Promise<void> {
    const probe = this.tempPath('probe');
    const fh = await fsp.open(probe, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o644);
    try {
      await writeFully(fh, Buffer.from('atrium readiness probe\n'), 0);
      await fh.sync();
    } finally {
      await fh.close();
      await fsp.rm(probe, { force: true });
    }
  }

  async close(): Promise<void> {}
}

export async function openFsBlobStore(root: string): Promise<FsBlobStore> {
  const store = new FsBlobStore(root);
  await store.init();
  return store;
}
