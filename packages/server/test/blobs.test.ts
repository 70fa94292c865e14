/**
 * Blob stores: one behaviour suite run on the filesystem store and, when ATRIUM_TEST_S3_ENDPOINT is
 * set, on a real S3-compatible server (moto in the test command). Then what only one store has:
 * crash leftovers and directory layout (fs), multipart uploads and key prefixes (S3).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config.js';
import {
  assertSafeBlobKey,
  assertSafeBlobPrefix,
  BlobCorruptError,
  BlobKeyConflictError,
  BlobRangeNotSatisfiableError,
  BlobTooLargeError,
  InvalidBlobKeyError,
  openBlobStore,
  type BlobStore,
} from '../src/store/blobs/index.js';
import {
  blobStoreKinds,
  chunkedStream,
  collect,
  freshBlobStore,
  gatedStream,
  patternBytes,
  readAll,
  testS3Config,
  waitUntil,
  type TestBlobStore,
} from './helpers/blobs.js';

const MiB = 1024 * 1024;
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const byteOrder = (keys: string[]) => [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

async function text(store: BlobStore, key: string, range?: { start: number; end?: number }): Promise<string | null> {
  const r = await store.get(key, range);
  return r ? (await readAll(r.stream)).toString('utf8') : null;
}

// ---------------------------------------------------------------------------------------------
// Keys

/** [what it is, key] — every one a way to reach outside the store, confuse a filesystem or hide a name. */
const unsafeKeys: Array<[string, unknown]> = [
  ['empty', ''],
  ['absolute path', '/etc/passwd'],
  ['root alone', '/'],
  ['parent segment', '../secret.txt'],
  ['parent segment mid-key', 'a/../../secret.txt'],
  ['parent segment at the end', 'a/..'],
  ['lone parent', '..'],
  ['dot segment', './a'],
  ['dot segment mid-key', 'a/./b'],
  ['lone dot', '.'],
  ['dot-leading (hidden) segment', 'a/.hidden'],
  ["the store's temp directory", '.tmp/x'],
  ['backslash', 'a\\b'],
  ['backslash parent', '..\\secret.txt'],
  ['NUL', 'a\0b'],
  ['newline', 'a\nb'],
  ['carriage return', 'a\rb'],
  ['tab', 'a\tb'],
  ['DEL', 'a\x7fb'],
  ['C1 control (NEL)', 'a\u0085b'],
  ['terminal escape', '\x1b[31mred'],
  ['empty segment', 'a//b'],
  ['trailing slash', 'a/'],
  ['UNC-style leading double slash', '//server/share'],
  ['1025 bytes', 'a'.repeat(1025)],
  ['1026 bytes in 513 characters', 'é'.repeat(513)],
  ['segment of 256 bytes', `a/${'b'.repeat(256)}`],
  ['drive letter', 'C:/Windows/win.ini'],
  ['drive-relative path', 'c:secret'],
  ['NTFS alternate data stream', 'a/b:stream'],
  ['segment ending in a dot', 'a/b.'],
  ['segment ending in a space', 'a/b '],
  ['segment starting with a space', ' a'],
  ['right-to-left override', 'a/\u202etxt.exe'],
  ['zero-width space', 'a\u200bb'],
  ['byte order mark', '\ufeffa'],
  ['line separator', 'a\u2028b'],
  ['lone surrogate', 'a\ud800b'],
  ['decomposed Unicode (not NFC)', 'cafe\u0301'],
  ['Windows device name', 'con'],
  ['Windows device name with extension', 'a/NUL.txt'],
  ['wildcard', 'a/*'],
  ['question mark', 'a?b'],
  ['pipe', 'a|b'],
  ['angle brackets', 'a<b>'],
  ['double quote', 'a"b'],
  ['a number', 42],
  ['null', null],
  ['undefined', undefined],
];

const safeKeys = [
  'datasets/ab12cd34ef/v1.duckdb',
  'ayon/projects/foo/thumbnails/0123456789abcdef0123456789abcdef',
  'a',
  'projets/café/été 2024.txt',
  'with space/file name (1).txt',
  "odd/a-b_c~d@e+f=g,h;i!j$k&l'm[n]o{p}q#r%s^t`u",
  '%2e%2e/%2fetc', // percent signs are literal characters: nothing decodes keys
  'emoji/😀.png',
];

/** A key of exactly `bytes` UTF-8 bytes, in segments of at most 255 bytes. */
function keyOfBytes(bytes: number): string {
  const segments: string[] = [];
  let left = bytes;
  while (left > 0) {
    if (segments.length) left -= 1; // the '/'
    let take = Math.min(255, left);
    if (left - take === 1) take -= 1; // never leave room for a '/' alone
    segments.push(String.fromCharCode(97 + (segments.length % 26)).repeat(take));
    left -= take;
  }
  const key = segments.join('/');
  if (Buffer.byteLength(key) !== bytes) throw new Error(`keyOfBytes(${bytes}) made ${Buffer.byteLength(key)} bytes`);
  return key;
}

describe('blob keys', () => {
  it.each(unsafeKeys)('assertSafeBlobKey rejects %s with InvalidBlobKeyError', (_what, key) => {
    expect(() => assertSafeBlobKey(key)).toThrow(InvalidBlobKeyError);
    try {
      assertSafeBlobKey(key);
    } catch (e) {
      expect(e).toBeInstanceOf(Error);
      expect((e as InvalidBlobKeyError).status).toBe(400);
      // the message names the key without echoing control characters into logs
      expect((e as Error).message).not.toMatch(/[\x00-\x1f\x7f-\x9f\u200b\u202e\u2028\ufeff]/);
    }
  });

  it('assertSafeBlobKey accepts ordinary service keys, unusual but harmless characters, and exactly 1024 bytes', () => {
    for (const key of [...safeKeys, keyOfBytes(1024)]) expect(() => assertSafeBlobKey(key), key).not.toThrow();
  });

  it('assertSafeBlobPrefix takes a folder with or without trailing slash, allows "" only for listing, and rejects what keys reject', () => {
    expect(assertSafeBlobPrefix('a/b/', { allowEmpty: false })).toBe('a/b');
    expect(assertSafeBlobPrefix('a/b', { allowEmpty: false })).toBe('a/b');
    expect(assertSafeBlobPrefix('', { allowEmpty: true })).toBe('');
    expect(() => assertSafeBlobPrefix('', { allowEmpty: false })).toThrow(InvalidBlobKeyError);
    for (const p of ['/', '..', '../', 'a//', 'a//b/', '/a', 'a/../b/', '.tmp/'])
      expect(() => assertSafeBlobPrefix(p, { allowEmpty: true }), p).toThrow(InvalidBlobKeyError);
  });
});

// ---------------------------------------------------------------------------------------------
// Behaviour shared by every store

describe.each(blobStoreKinds)('blob store on %s', (kind) => {
  let t: TestBlobStore;
  let store: BlobStore;
  beforeEach(async () => {
    t = await freshBlobStore(kind);
    store = t.store;
  });
  afterEach(async () => {
    await t.dispose();
  });

  it('round-trips text with the size, sha256 and content type it was put with', async () => {
    const body = 'héllo wörld\n';
    const put = await store.put('notes/hello.txt', body, { contentType: 'text/plain; charset=utf-8' });
    expect(put).toEqual({ size: Buffer.byteLength(body), sha256: sha256(body), contentType: 'text/plain; charset=utf-8' });
    const got = await store.get('notes/hello.txt');
    expect(got?.size).toBe(Buffer.byteLength(body));
    expect(got?.contentType).toBe('text/plain; charset=utf-8');
    expect((await readAll(got!.stream)).toString('utf8')).toBe(body);
    expect(await store.stat('notes/hello.txt')).toMatchObject({ size: Buffer.byteLength(body), contentType: 'text/plain; charset=utf-8' });
  });

  it('round-trips every byte value unchanged (binary safe)', async () => {
    const bytes = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), patternBytes(100_001, 3)]);
    const put = await store.put('bin/all-bytes', bytes);
    expect(put.size).toBe(bytes.length);
    expect(put.sha256).toBe(sha256(bytes));
    const back = await readAll((await store.get('bin/all-bytes'))!.stream);
    expect(back.equals(bytes)).toBe(true);
  });

  it('stores an empty blob and reads it back as zero bytes', async () => {
    expect(await store.put('empty', Buffer.alloc(0))).toEqual({ size: 0, sha256: sha256('') });
    const got = await store.get('empty');
    expect(got?.size).toBe(0);
    expect((await readAll(got!.stream)).length).toBe(0);
    expect((await store.stat('empty'))?.size).toBe(0);
  });

  it(
    'streams a 20 MB body of unknown length in and out unchanged, and serves ranges across part boundaries',
    async () => {
      const data = patternBytes(20 * MiB + 123, 7);
      const put = await store.put('datasets/ab12cd34ef/v1.duckdb', chunkedStream(data), { contentType: 'application/octet-stream' });
      expect(put.size).toBe(data.length);
      expect(put.sha256).toBe(sha256(data));
      expect((await store.stat('datasets/ab12cd34ef/v1.duckdb'))?.size).toBe(data.length);

      const got = await store.get('datasets/ab12cd34ef/v1.duckdb');
      expect(got?.size).toBe(data.length);
      expect(got?.contentType).toBe('application/octet-stream');
      expect(sha256(await readAll(got!.stream))).toBe(sha256(data));

      for (const [start, end] of [
        [8 * MiB - 100, 8 * MiB + 100],
        [16 * MiB - 1, 16 * MiB],
        [data.length - 10, data.length - 1],
      ]) {
        const part = await store.get('datasets/ab12cd34ef/v1.duckdb', { start, end });
        expect(part?.range).toEqual({ start, end });
        expect(part?.size).toBe(data.length);
        expect((await readAll(part!.stream)).equals(data.subarray(start, end + 1))).toBe(true);
      }
    },
    180_000,
  );

  it('reports no content type when put was given none, and an overwrite replaces the content type', async () => {
    await store.put('k', 'one', { contentType: 'text/csv' });
    expect((await store.stat('k'))?.contentType).toBe('text/csv');
    await store.put('k', 'two');
    expect((await store.stat('k'))?.contentType).toBeUndefined();
    const got = await store.get('k');
    got!.stream.resume(); // drain: an unread stream holds its file handle or connection
    expect(got?.contentType).toBeUndefined();
    expect(await text(store, 'k')).toBe('two');
  });

  it('get and stat answer null for an absent key (also with a range), and deleting an absent key succeeds', async () => {
    expect(await store.get('absent/key')).toBeNull();
    expect(await store.get('absent/key', { start: 0, end: 10 })).toBeNull();
    expect(await store.stat('absent/key')).toBeNull();
    await expect(store.delete('absent/key')).resolves.toBeUndefined();
  });

  it('serves inclusive byte ranges like HTTP Range, clamping an end past the blob and reporting the whole size', async () => {
    await store.put('digits', '0123456789', { contentType: 'text/plain' });
    const cases: Array<[{ start: number; end?: number }, string, { start: number; end: number }]> = [
      [{ start: 0, end: 0 }, '0', { start: 0, end: 0 }],
      [{ start: 3, end: 6 }, '3456', { start: 3, end: 6 }],
      [{ start: 7 }, '789', { start: 7, end: 9 }],
      [{ start: 5, end: 100 }, '56789', { start: 5, end: 9 }],
      [{ start: 9, end: 9 }, '9', { start: 9, end: 9 }],
      [{ start: 0 }, '0123456789', { start: 0, end: 9 }],
    ];
    for (const [range, expected, served] of cases) {
      const r = await store.get('digits', range);
      expect(r?.size, JSON.stringify(range)).toBe(10);
      expect(r?.range, JSON.stringify(range)).toEqual(served);
      expect(r?.contentType).toBe('text/plain');
      expect((await readAll(r!.stream)).toString(), JSON.stringify(range)).toBe(expected);
    }
  });

  it('refuses a range that starts at or past the end with BlobRangeNotSatisfiableError carrying the blob size', async () => {
    await store.put('digits', '0123456789');
    await store.put('empty', '');
    for (const [key, range, size] of [
      ['digits', { start: 10 }, 10],
      ['digits', { start: 11, end: 20 }, 10],
      ['empty', { start: 0 }, 0],
    ] as const) {
      const err = await store.get(key, range).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, `${key} ${JSON.stringify(range)}`).toBeInstanceOf(BlobRangeNotSatisfiableError);
      expect((err as BlobRangeNotSatisfiableError).size).toBe(size);
    }
  });

  it('rejects malformed ranges (negative or fractional start, end before start) with a RangeError', async () => {
    await store.put('digits', '0123456789');
    for (const range of [{ start: -1 }, { start: 1.5 }, { start: 5, end: 4 }, { start: Number.NaN }])
      await expect(store.get('digits', range), JSON.stringify(range)).rejects.toThrow(RangeError);
  });

  it('delete removes only the named key, and deleting it again is not an error', async () => {
    await store.put('a/1', 'one');
    await store.put('a/2', 'two');
    await store.delete('a/1');
    expect(await store.stat('a/1')).toBeNull();
    expect(await store.get('a/1')).toBeNull();
    expect(await text(store, 'a/2')).toBe('two');
    await store.delete('a/1');
    expect(await collect(store.list(''))).toEqual(['a/2']);
  });

  it('list yields every key under a folder prefix, in UTF-8 byte order, and nothing outside it', async () => {
    const keys = ['b', 'a/b', 'a-b', 'a/c/d', 'a/c/e', 'ab', 'z/y/x', 'é/1', 'Z'];
    for (const k of keys) await store.put(k, k);
    expect(await collect(store.list(''))).toEqual(byteOrder(keys));
    expect(await collect(store.list('a'))).toEqual(['a/b', 'a/c/d', 'a/c/e']);
    expect(await collect(store.list('a/'))).toEqual(['a/b', 'a/c/d', 'a/c/e']);
    expect(await collect(store.list('a/c'))).toEqual(['a/c/d', 'a/c/e']);
    expect(await collect(store.list('a/b'))).toEqual([]); // a blob, not a folder
    expect(await collect(store.list('nothing/here'))).toEqual([]);
  });

  it('deletePrefix removes every key under the folder (with or without trailing slash) and nothing that only shares leading characters', async () => {
    for (const k of ['p/a', 'p/b/c', 'p/b/d', 'pq/x', 'p-x', 'other/p/a']) await store.put(k, k);
    await store.deletePrefix('p');
    expect(await collect(store.list(''))).toEqual(['other/p/a', 'p-x', 'pq/x']);
    expect(await store.get('p/b/c')).toBeNull();

    await store.put('p/again', 'x');
    await store.deletePrefix('p/');
    expect(await collect(store.list('p'))).toEqual([]);

    await store.deletePrefix('p-x'); // a blob, not a folder: untouched
    expect(await text(store, 'p-x')).toBe('p-x');
    await expect(store.deletePrefix('never/existed')).resolves.toBeUndefined();
  });

  it('puts and deletes racing in the same folder all succeed (a delete emptying a folder never breaks a put into it)', async () => {
    for (let i = 0; i < 60; i++)
      await Promise.all([store.put(`race/a/k${i}`, `v${i}`), i > 0 ? store.delete(`race/a/k${i - 1}`) : undefined]);
    expect(await collect(store.list('race'))).toEqual(['race/a/k59']);
    expect(await text(store, 'race/a/k59')).toBe('v59');
  });

  it('deletePrefix refuses the empty prefix instead of wiping the store', async () => {
    await store.put('keep/me', 'x');
    await expect(store.deletePrefix('')).rejects.toThrow(InvalidBlobKeyError);
    expect(await text(store, 'keep/me')).toBe('x');
  });

  it(
    'overwrite is atomic: concurrent readers see the whole old or the whole new blob, never a mix or a truncation',
    async () => {
      const A = Buffer.alloc(1 * MiB, 0x61);
      const B = Buffer.alloc(9 * MiB, 0x62); // more than one S3 part: multipart on S3
      await store.put('doc', A);
      let writing = true;
      const seen = { a: 0, b: 0 };
      const reader = async () => {
        while (writing) {
          const r = await store.get('doc');
          expect(r).not.toBeNull();
          const data = await readAll(r!.stream);
          expect(r!.size).toBe(data.length);
          if (data.equals(A)) seen.a++;
          else if (data.equals(B)) seen.b++;
          else throw new Error(`a reader saw a partial blob of ${data.length} bytes`);
        }
      };
      const writer = async () => {
        try {
          for (let i = 0; i < 4; i++) {
            await store.put('doc', chunkedStream(B));
            await store.put('doc', chunkedStream(A));
          }
        } finally {
          writing = false;
        }
      };
      await Promise.all([writer(), reader(), reader(), reader()]);
      // the test only proves something if readers really raced the writer through both versions
      expect(seen.a).toBeGreaterThan(0);
      expect(seen.b).toBeGreaterThan(0);
    },
    180_000,
  );

  it(
    'a put in progress is invisible: get, stat and list show the old content (or nothing) until it completes',
    async () => {
      await store.put('report.pdf', 'old report', { contentType: 'application/pdf' });
      const over = { first: patternBytes(10 * MiB, 1), rest: patternBytes(3 * MiB, 2) };
      const fresh = { first: patternBytes(10 * MiB, 3), rest: patternBytes(1000, 4) };
      const g1 = gatedStream(over.first, over.rest);
      const g2 = gatedStream(fresh.first, fresh.rest);
      const p1 = store.put('report.pdf', g1.stream, { contentType: 'application/x-new' });
      const p2 = store.put('brand/new.bin', g2.stream);
      await waitUntil(async () => (await t.backdoor.pendingWrites()).length === 2, 'both writes are under way');

      expect(await store.stat('report.pdf')).toMatchObject({ size: 10, contentType: 'application/pdf' });
      expect(await text(store, 'report.pdf')).toBe('old report');
      expect(await store.stat('brand/new.bin')).toBeNull();
      expect(await store.get('brand/new.bin')).toBeNull();
      expect(await collect(store.list(''))).toEqual(['report.pdf']);

      g1.finish();
      g2.finish();
      expect((await p1).size).toBe(13 * MiB);
      expect((await p2).sha256).toBe(sha256(Buffer.concat([fresh.first, fresh.rest])));
      const now = await store.get('report.pdf');
      expect(now?.contentType).toBe('application/x-new');
      expect((await readAll(now!.stream)).equals(Buffer.concat([over.first, over.rest]))).toBe(true);
      expect(await t.backdoor.pendingWrites()).toEqual([]);
    },
    120_000,
  );

  it(
    'a body stream that fails mid-way rejects the put, keeps the previous content and leaves no partial write',
    async () => {
      await store.put('upload.bin', 'previous');
      const g = gatedStream(patternBytes(10 * MiB, 5), Buffer.alloc(0));
      const putting = store.put('upload.bin', g.stream);
      await waitUntil(async () => (await t.backdoor.pendingWrites()).length === 1, 'the write is under way');
      g.fail(new Error('client went away'));
      await expect(putting).rejects.toThrow('client went away');
      expect(await text(store, 'upload.bin')).toBe('previous');
      expect(await t.backdoor.pendingWrites()).toEqual([]);
    },
    120_000,
  );

  it('a reader that has started keeps the version it opened when the blob is replaced or deleted', async () => {
    const A = Buffer.alloc(300_000, 0x61);
    const B = Buffer.alloc(200_000, 0x62);
    await store.put('v', A);
    const beforeOverwrite = await store.get('v');
    await store.put('v', B);
    const beforeDelete = await store.get('v');
    await store.delete('v');
    expect((await readAll(beforeOverwrite!.stream)).equals(A)).toBe(true);
    expect((await readAll(beforeDelete!.stream)).equals(B)).toBe(true);
    expect(await store.get('v')).toBeNull();
  });

  it('maxBytes: a Buffer or string over the limit is refused with BlobTooLargeError before anything is written', async () => {
    const before = await t.backdoor.rawEntries();
    const err = await store.put('too/big', Buffer.alloc(1001), { maxBytes: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlobTooLargeError);
    expect((err as BlobTooLargeError).status).toBe(413);
    await expect(store.put('too/big', 'x'.repeat(11), { maxBytes: 10 })).rejects.toThrow(BlobTooLargeError);
    expect(await store.stat('too/big')).toBeNull();
    expect(await t.backdoor.rawEntries()).toEqual(before);
  });

  it(
    'maxBytes: a stream crossing the limit mid-way aborts, leaves nothing behind, and an overwritten blob keeps its content',
    async () => {
      await store.put('kept', 'original');
      const before = await t.backdoor.rawEntries();
      const data = patternBytes(20 * MiB, 9);
      await expect(store.put('huge/new', chunkedStream(data), { maxBytes: 12 * MiB })).rejects.toThrow(BlobTooLargeError);
      await expect(store.put('kept', chunkedStream(data), { maxBytes: 12 * MiB })).rejects.toThrow(BlobTooLargeError);
      expect(await store.stat('huge/new')).toBeNull();
      expect(await text(store, 'kept')).toBe('original');
      expect(await t.backdoor.pendingWrites()).toEqual([]);
      expect(await t.backdoor.rawEntries()).toEqual(before);
    },
    180_000,
  );

  it('maxBytes: a body of exactly maxBytes is stored', async () => {
    const data = patternBytes(100_000, 11);
    expect((await store.put('exact', chunkedStream(data, 7_000), { maxBytes: 100_000 })).size).toBe(100_000);
    expect((await store.put('exact-buffer', data, { maxBytes: 100_000 })).size).toBe(100_000);
    expect((await readAll((await store.get('exact'))!.stream)).equals(data)).toBe(true);
  });

  it('every unsafe key and prefix is rejected with InvalidBlobKeyError by every method, and nothing is stored or removed', async () => {
    if (t.outer) fs.writeFileSync(path.join(t.outer, 'secret.txt'), 'outside the store');
    await store.put('a/b', 'inside');
    const before = await t.backdoor.rawEntries();
    for (const [what, key] of unsafeKeys) {
      const k = key as string;
      await expect(store.put(k, 'x'), `put: ${what}`).rejects.toThrow(InvalidBlobKeyError);
      await expect(store.put(k, chunkedStream(Buffer.from('x'))), `put stream: ${what}`).rejects.toThrow(InvalidBlobKeyError);
      await expect(store.get(k), `get: ${what}`).rejects.toThrow(InvalidBlobKeyError);
      await expect(store.get(k, { start: 0 }), `get range: ${what}`).rejects.toThrow(InvalidBlobKeyError);
      await expect(store.stat(k), `stat: ${what}`).rejects.toThrow(InvalidBlobKeyError);
      await expect(store.delete(k), `delete: ${what}`).rejects.toThrow(InvalidBlobKeyError);
      if (k === '' || k === 'a/') continue; // a listable prefix ('' = everything, 'a/' = folder a)
      await expect(collect(store.list(k)), `list: ${what}`).rejects.toThrow(InvalidBlobKeyError);
      await expect(store.deletePrefix(k), `deletePrefix: ${what}`).rejects.toThrow(InvalidBlobKeyError);
    }
    for (const prefix of ['/', '..', '../', 'a//', '/a/'])
      await expect(store.deletePrefix(prefix), `deletePrefix ${prefix}`).rejects.toThrow(InvalidBlobKeyError);
    expect(await t.backdoor.rawEntries()).toEqual(before);
    expect(await text(store, 'a/b')).toBe('inside');
  });

  it('keys with unusual but legal characters, and a key of the longest allowed length, round-trip and list unchanged', async () => {
    // S3 limits the whole object name (configured prefix included) to 1024 bytes
    const room = 1024 - (t.config.kind === 's3' ? Buffer.byteLength(`${t.config.prefix.replace(/\/+$/, '')}/`) : 0);
    const keys = [...safeKeys, keyOfBytes(room)];
    for (const k of keys) await store.put(k, `content of ${k}`);
    for (const k of keys) expect(await text(store, k), k).toBe(`content of ${k}`);
    expect(await collect(store.list(''))).toEqual(byteOrder(keys));
    if (t.config.kind === 's3')
      await expect(store.put(keyOfBytes(room + 1), 'x')).rejects.toThrow(InvalidBlobKeyError);
  });

  it('ping succeeds on a reachable, writable store and leaves nothing behind', async () => {
    const before = await t.backdoor.rawEntries();
    await expect(store.ping()).resolves.toBeUndefined();
    expect(await t.backdoor.rawEntries()).toEqual(before);
  });
});

// ---------------------------------------------------------------------------------------------
// Filesystem only

const crashWriter = fileURLToPath(new URL('./helpers/blobs-crash-writer.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

describe('filesystem blob store', () => {
  let t: TestBlobStore;
  let root: string;
  beforeEach(async () => {
    t = await freshBlobStore('fs');
    root = (t.config as { root: string }).root;
  });
  afterEach(async () => {
    await t.dispose();
  });

  const tmpEntries = () => fs.readdirSync(path.join(root, '.tmp'));

  it('keeps each blob at <root>/<key> and nothing in .tmp once a put has finished', async () => {
    await t.store.put('datasets/ab12cd34ef/v1.duckdb', 'duck');
    expect(fs.statSync(path.join(root, 'datasets', 'ab12cd34ef', 'v1.duckdb')).isFile()).toBe(true);
    expect(tmpEntries()).toEqual([]);
  });

  it(
    'a writer killed mid-put (SIGKILL) leaves only a temp file: the old content stays, the new key never appears, and the next open removes the leftover',
    async () => {
      await t.store.put('notes.txt', 'old notes', { contentType: 'text/plain' });
      const children = ['notes.txt', 'brand/new.bin'].map((key) => {
        const child = spawn(process.execPath, ['--import', 'tsx', crashWriter, root, key], {
          cwd: repoRoot,
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr!.on('data', (d) => (stderr += d));
        const exited = once(child, 'exit');
        return { child, exited, stderr: () => stderr };
      });
      try {
        await waitUntil(() => {
          for (const c of children)
            if (c.child.exitCode !== null) throw new Error(`crash writer exited early: ${c.stderr()}`);
          const parts = tmpEntries().filter((n) => n.endsWith('.part'));
          return parts.length === 2 && parts.every((n) => fs.statSync(path.join(root, '.tmp', n)).size >= 2 * MiB);
        }, 'both children have written 2 MiB');
      } finally {
        for (const c of children) c.child.kill('SIGKILL');
        await Promise.all(children.map((c) => c.exited));
      }

      expect(tmpEntries().filter((n) => n.endsWith('.part'))).toHaveLength(2);
      expect(await text(t.store, 'notes.txt')).toBe('old notes');
      expect(await t.store.stat('notes.txt')).toMatchObject({ size: 9, contentType: 'text/plain' });
      expect(await t.store.get('brand/new.bin')).toBeNull();
      expect(await collect(t.store.list(''))).toEqual(['notes.txt']);
      expect(fs.existsSync(path.join(root, 'brand'))).toBe(false);

      const reopened = await openBlobStore(t.config);
      expect(tmpEntries()).toEqual([]);
      expect(await text(reopened, 'notes.txt')).toBe('old notes');
    },
    60_000,
  );

  it('opening the store again does not remove the temp file of a write still running in a live process', async () => {
    const g = gatedStream(patternBytes(2 * MiB, 1), patternBytes(10, 2));
    const putting = t.store.put('live', g.stream);
    await waitUntil(() => tmpEntries().length === 1, 'the write is under way');
    await openBlobStore(t.config);
    expect(tmpEntries()).toHaveLength(1);
    g.finish();
    expect((await putting).size).toBe(2 * MiB + 10);
    expect((await t.store.stat('live'))?.size).toBe(2 * MiB + 10);
  });

  it('stray files in .tmp and hidden files in the root are never listed or served; stray temp files are removed on open', async () => {
    await t.store.put('real', 'r');
    fs.writeFileSync(path.join(root, '.tmp', 'garbage.part'), 'half a blob');
    fs.writeFileSync(path.join(root, '.hidden'), 'not a blob');
    expect(await collect(t.store.list(''))).toEqual(['real']);
    await openBlobStore(t.config);
    expect(tmpEntries()).toEqual([]);
    expect(await collect(t.store.list(''))).toEqual(['real']);
  });

  it('a temp file of a writer on another host (shared volume) is kept while fresh and removed on open once a day old', async () => {
    const foreign = path.join(root, '.tmp', `${'0'.repeat(16)}-4242-${'a'.repeat(12)}-${'b'.repeat(16)}.part`);
    fs.writeFileSync(foreign, 'another machine is writing this');
    await openBlobStore(t.config);
    expect(fs.existsSync(foreign)).toBe(true);
    const dayAndHourAgo = new Date(Date.now() - 25 * 3600 * 1000);
    fs.utimesSync(foreign, dayAndHourAgo, dayAndHourAgo);
    await openBlobStore(t.config);
    expect(fs.existsSync(foreign)).toBe(false);
  });

  it('a key that needs a directory where a blob is (or the reverse) fails with BlobKeyConflictError and changes nothing', async () => {
    await t.store.put('a/b', 'blob at a/b');
    await expect(t.store.put('a/b/c', 'x')).rejects.toThrow(BlobKeyConflictError);
    expect(await text(t.store, 'a/b')).toBe('blob at a/b');

    await t.store.put('d/e/f', 'deep');
    await expect(t.store.put('d/e', 'x')).rejects.toThrow(BlobKeyConflictError);
    expect(await t.store.stat('d/e')).toBeNull(); // a directory is not a blob
    await t.store.delete('d/e'); // nor is deleting it an error, or harmful
    expect(await text(t.store, 'd/e/f')).toBe('deep');
    expect(tmpEntries()).toEqual([]);
  });

  it('delete and deletePrefix remove the directories they leave empty', async () => {
    await t.store.put('deep/er/still/x', 'x');
    await t.store.put('p/q/r/s', 's');
    await t.store.delete('deep/er/still/x');
    await t.store.deletePrefix('p/q');
    expect(fs.readdirSync(root).sort()).toEqual(['.tmp']);
    expect(tmpEntries()).toEqual([]);
  });

  it('a file with a damaged header is reported as BlobCorruptError, never served as content', async () => {
    fs.writeFileSync(path.join(root, 'broken'), 'this file was not written by the store');
    await expect(t.store.get('broken')).rejects.toThrow(BlobCorruptError);
    await expect(t.store.stat('broken')).rejects.toThrow(BlobCorruptError);
  });

  it('ping fails when the root is no longer a writable directory', async () => {
    await t.store.ping();
    fs.rmSync(root, { recursive: true });
    fs.writeFileSync(root, 'a file where the root was');
    await expect(t.store.ping()).rejects.toThrow();
  });
});

// ---------------------------------------------------------------------------------------------
// S3 only

describe('S3 blob store configuration', () => {
  const base = {
    kind: 's3' as const,
    endpoint: 'http://127.0.0.1:9',
    region: 'us-east-1',
    bucket: 'b-b-b',
    forcePathStyle: true,
    prefix: '',
  };

  it('an unsafe ATRIUM_S3_PREFIX is a ConfigError', async () => {
    for (const prefix of ['../x', 'a//b', 'a\\b', '.hidden'])
      await expect(openBlobStore({ ...base, prefix }), prefix).rejects.toThrow(ConfigError);
  });

  it('an access key without a secret (or the reverse) is a ConfigError', async () => {
    await expect(openBlobStore({ ...base, accessKeyId: 'id' })).rejects.toThrow(ConfigError);
    await expect(openBlobStore({ ...base, secretAccessKey: 'secret' })).rejects.toThrow(ConfigError);
  });
});

describe.runIf(blobStoreKinds.includes('s3'))('S3 blob store', () => {
  let t: TestBlobStore;
  beforeEach(async () => {
    t = await freshBlobStore('s3');
  });
  afterEach(async () => {
    await t.dispose();
  });
  const cfg = () => t.config as Extract<TestBlobStore['config'], { kind: 's3' }>;

  it(
    'a 20 MB stream goes up as a multipart upload (its ETag counts 3 parts) and reads back unchanged',
    async () => {
      const data = patternBytes(20 * MiB + 5, 13);
      await t.store.put('big', chunkedStream(data));
      const head = await t.raw!.send(new HeadObjectCommand({ Bucket: cfg().bucket, Key: 'tenant-1/blobs/big' }));
      expect(head.ETag).toMatch(/-3"$/);
      expect(sha256(await readAll((await t.store.get('big'))!.stream))).toBe(sha256(data));
    },
    180_000,
  );

  it('a body that fits in one part is sent in one request and stat reports its sha256', async () => {
    const data = patternBytes(3 * MiB, 17);
    const put = await t.store.put('small', chunkedStream(data));
    const head = await t.raw!.send(new HeadObjectCommand({ Bucket: cfg().bucket, Key: 'tenant-1/blobs/small' }));
    expect(head.ETag).not.toMatch(/-\d+"$/);
    expect((await t.store.stat('small'))?.sha256).toBe(put.sha256);
  });

  it('keys live under the configured prefix; objects outside it are neither listed, served nor deleted', async () => {
    const bucket = cfg().bucket;
    for (const Key of ['outside/x', 'tenant-1/blobsX/y', 'tenant-1/other'])
      await t.raw!.send(new PutObjectCommand({ Bucket: bucket, Key, Body: 'not ours' }));
    await t.store.put('x', 'ours');
    expect(await t.backdoor.rawEntries()).toEqual(['outside/x', 'tenant-1/blobs/x', 'tenant-1/blobsX/y', 'tenant-1/other']);
    expect(await collect(t.store.list(''))).toEqual(['x']);
    expect(await t.store.get('outside/x')).toBeNull();
    await t.store.deletePrefix('outside');
    await t.store.delete('x');
    expect(await t.backdoor.rawEntries()).toEqual(['outside/x', 'tenant-1/blobsX/y', 'tenant-1/other']);
  });

  it('a trailing or leading slash in the configured prefix is the same prefix', async () => {
    const other = await openBlobStore(testS3Config(cfg().bucket, '/tenant-1/blobs/'));
    await t.store.put('shared', 'one object');
    expect(await text(other, 'shared')).toBe('one object');
    await other.close();
  });

  it('ping fails for a bucket that does not exist and for an endpoint that does not answer', async () => {
    const missing = await openBlobStore(testS3Config(`${cfg().bucket}-missing`));
    await expect(missing.ping()).rejects.toThrow();
    await missing.close();
    const unreachable = await openBlobStore({ ...testS3Config(cfg().bucket), endpoint: 'http://127.0.0.1:9' });
    await expect(unreachable.ping()).rejects.toThrow();
    await unreachable.close();
  });
});
