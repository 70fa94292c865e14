/**
 * A small, strict zip reader for addon packages (node:zlib only): the central directory is read from
 * the end-of-central-directory record, every entry is checked before anything is extracted, and
 * extraction verifies sizes and CRC-32. Refused: anything that is not a zip, encrypted entries, ZIP64,
 * compression other than stored/deflate, names with `..`/`.` segments, absolute paths, backslashes,
 * drive letters or NUL, symbolic links, duplicate names, more than `maxEntries` entries, and a
 * declared or actual uncompressed total above `maxTotalBytes` (zip bombs: inflation stops at the
 * declared size of each entry).
 */
import { crc32, inflateRawSync } from 'node:zlib';

export class ZipError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ZipError';
  }
}

export interface ZipEntry {
  name: string;
  isDir: boolean;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

export interface ZipLimits {
  maxEntries: number;
  maxTotalBytes: number;
}

const EOCD_SIG = 0x06054b50;
const CEN_SIG = 0x02014b50;
const LOC_SIG = 0x04034b50;

/** Problems with an entry name, or null. Names use '/' (APPNOTE 4.4.17). */
export function entryNameProblem(name: string): string | null {
  if (!name) return 'empty name';
  if (name.includes('\0')) return 'NUL in name';
  if (name.includes('\\')) return 'backslash in name';
  if (name.startsWith('/')) return 'absolute path';
  if (/^[a-zA-Z]:/.test(name)) return 'drive letter';
  const segs = name.replace(/\/$/, '').split('/');
  for (const s of segs) {
    if (s === '..' || s === '.') return `'${s}' segment`;
    if (s === '') return 'empty segment';
  }
  return null;
}

/** Reads and checks the central directory. Throws ZipError with the reason. */
export function readZipDirectory(buf: Buffer, limits: ZipLimits): ZipEntry[] {
  if (buf.length < 22) throw new ZipError('not a zip file');
  // the EOCD record is in the last 22 + 65535 bytes (comment)
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === EOCD_SIG) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipError('not a zip file');
  const disk = buf.readUInt16LE(eocd + 4);
  const cdDisk = buf.readUInt16LE(eocd + 6);
  const count = buf.readUInt16LE(eocd + 10);
  const cdSize = buf.readUInt32LE(eocd + 12);
  const cdOffset = buf.readUInt32LE(eocd + 16);
  if (disk !== 0 || cdDisk !== 0) throw new ZipError('multi-disk zips are not supported');
  if (count === 0xffff || cdOffset === 0xffffffff || cdSize === 0xffffffff) throw new ZipError('ZIP64 archives are not supported');
  if (count > limits.maxEntries) throw new ZipError(`too many entries (${count} > ${limits.maxEntries})`);
  if (cdOffset + cdSize > eocd) throw new ZipError('corrupt central directory');
  const entries: ZipEntry[] = [];
  const seen = new Set<string>();
  let total = 0;
  let p = cdOffset;
  for (let n = 0; n < count; n++) {
    if (p + 46 > eocd || buf.readUInt32LE(p) !== CEN_SIG) throw new ZipError('corrupt central directory');
    const madeBy = buf.readUInt16LE(p + 4) >> 8;
    const flags = buf.readUInt16LE(p + 8);
    const method = buf.readUInt16LE(p + 10);
    const crc = buf.readUInt32LE(p + 16);
    const compressedSize = buf.readUInt32LE(p + 20);
    const size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const external = buf.readUInt32LE(p + 38);
    const localOffset = buf.readUInt32LE(p + 42);
    if (p + 46 + nameLen > eocd) throw new ZipError('corrupt central directory');
    const rawName = buf.subarray(p + 46, p + 46 + nameLen);
    const name = flags & 0x800 ? rawName.toString('utf8') : rawName.toString('latin1');
    p += 46 + nameLen + extraLen + commentLen;
    if (flags & 0x1) throw new ZipError(`encrypted entry ${JSON.stringify(name)}`);
    if (compressedSize === 0xffffffff || size === 0xffffffff || localOffset === 0xffffffff) throw new ZipError('ZIP64 archives are not supported');
    const problem = entryNameProblem(name);
    if (problem) throw new ZipError(`unsafe entry name ${JSON.stringify(name.slice(0, 200))}: ${problem}`);
    // unix mode in the high 16 bits of the external attributes (made by unix = 3, macOS = 19)
    const mode = external >>> 16;
    if ((madeBy === 3 || madeBy === 19) && (mode & 0o170000) === 0o120000) throw new ZipError(`symbolic link entry ${JSON.stringify(name)}`);
    const isDir = name.endsWith('/');
    const key = name.replace(/\/$/, '');
    if (seen.has(key)) throw new ZipError(`duplicate entry ${JSON.stringify(name)}`);
    seen.add(key);
    if (!isDir && method !== 0 && method !== 8) throw new ZipError(`unsupported compression method ${method} in ${JSON.stringify(name)}`);
    if (method === 0 && compressedSize !== size) throw new ZipError(`corrupt stored entry ${JSON.stringify(name)}`);
    total += size;
    if (total > limits.maxTotalBytes) throw new ZipError(`uncompressed content exceeds ${limits.maxTotalBytes} bytes`);
    if (localOffset + 30 > cdOffset) throw new ZipError('corrupt local header offset');
    entries.push({ name, isDir, method, crc, compressedSize, size, localOffset });
  }
  // a path must not be both a file and a directory ("a" and "a/b")
  for (const e of entries) {
    const segs = e.name.replace(/\/$/, '').split('/');
    for (let i = 1; i < segs.length; i++) {
      const parent = segs.slice(0, i).join('/');
      const pe = entries.find((x) => !x.isDir && x.name === parent);
      if (pe) throw new ZipError(`entry ${JSON.stringify(e.name)} is inside the file ${JSON.stringify(parent)}`);
    }
  }
  return entries;
}

/** The bytes of one entry, inflated, with size and CRC-32 checked. */
export function readZipEntry(buf: Buffer, e: ZipEntry): Buffer {
  const p = e.localOffset;
  if (buf.readUInt32LE(p) !== LOC_SIG) throw new ZipError(`corrupt local header of ${JSON.stringify(e.name)}`);
  const nameLen = buf.readUInt16LE(p + 26);
  const extraLen = buf.readUInt16LE(p + 28);
  const start = p + 30 + nameLen + extraLen;
  const end = start + e.compressedSize;
  if (end > buf.length) throw new ZipError(`truncated entry ${JSON.stringify(e.name)}`);
  const raw = buf.subarray(start, end);
  let out: Buffer;
  if (e.method === 0) out = Buffer.from(raw);
  else {
    try {
      // never inflate past the declared size: a bomb stops here
      out = inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) });
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ERR_BUFFER_TOO_LARGE') throw new ZipError(`entry ${JSON.stringify(e.name)} inflates past its declared size`);
      throw new ZipError(`corrupt deflate data in ${JSON.stringify(e.name)}`);
    }
  }
  if (out.length !== e.size) throw new ZipError(`size mismatch in ${JSON.stringify(e.name)}`);
  if ((crc32(out) >>> 0) !== e.crc >>> 0) throw new ZipError(`CRC mismatch in ${JSON.stringify(e.name)}`);
  return out;
}
