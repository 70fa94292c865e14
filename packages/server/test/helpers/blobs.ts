/**
 * Real blob stores for tests: every blob test runs on the filesystem and, when
 * ATRIUM_TEST_S3_ENDPOINT points at an S3-compatible server (the test command starts moto), on S3
 * too. Each call gets an empty store of its own (a temp directory, or a new bucket).
 *
 * Besides the store, each test store has a `backdoor` that looks at what is physically stored,
 * bypassing the store, so tests can prove that nothing was written or left behind.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  AbortMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import type { BlobConfig } from '../../src/config.js';
import { openBlobStore, type BlobStore } from '../../src/store/blobs/index.js';
import { randomHex } from '../../src/domain/ids.js';

export type BlobStoreKind = 'fs' | 's3';

const s3Endpoint = process.env.ATRIUM_TEST_S3_ENDPOINT;
if (process.env.ATRIUM_REQUIRE_S3 === '1' && !s3Endpoint) {
  throw new Error('ATRIUM_REQUIRE_S3=1 but ATRIUM_TEST_S3_ENDPOINT is not set: S3 blob tests would be skipped');
}

/** The blob store kinds this run covers. */
export const blobStoreKinds: BlobStoreKind[] = s3Endpoint ? ['fs', 's3'] : ['fs'];

/** Settings of the test S3 server: any region, access key "test"/"test", path-style URLs. */
export function testS3Config(bucket: string, prefix = ''): Extract<BlobConfig, { kind: 's3' }> {
  if (!s3Endpoint) throw new Error('ATRIUM_TEST_S3_ENDPOINT is not set');
  return {
    kind: 's3',
    endpoint: s3Endpoint,
    region: 'us-east-1',
    bucket,
    accessKeyId: 'test',
    secretAccessKey: 'test',
    forcePathStyle: true,
    prefix,
  };
}

export function rawS3Client(): S3Client {
  if (!s3Endpoint) throw new Error('ATRIUM_TEST_S3_ENDPOINT is not set');
  return new S3Client({
    endpoint: s3Endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
}

export interface BlobBackdoor {
  /** Everything physically stored: fs, every file and directory around and under the root; S3, every object and pending multipart upload in the bucket. */
  rawEntries(): Promise<string[]>;
  /** Writes in progress or abandoned: fs, temp files in `.tmp`; S3, multipart uploads not completed. */
  pendingWrites(): Promise<string[]>;
}

export interface TestBlobStore {
  kind: BlobStoreKind;
  store: BlobStore;
  config: BlobConfig;
  backdoor: BlobBackdoor;
  /** fs: the directory holding the root (the root is `<outer>/root`) */
  outer?: string;
  /** S3: a client that talks to the bucket directly */
  raw?: S3Client;
  dispose(): Promise<void>;
}

function walk(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    const rel = path.relative(base, p);
    if (e.isDirectory()) out.push(`${rel}/`, ...walk(p, base));
    else out.push(`${rel} (${fs.lstatSync(p).size})`);
  }
  return out.sort();
}

async function allObjectKeys(client: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) keys.push(o.Key!);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

async function multipartUploads(client: S3Client, bucket: string): Promise<Array<{ Key: string; UploadId: string }>> {
  const res = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return (res.Uploads ?? []).map((u) => ({ Key: u.Key!, UploadId: u.UploadId! }));
}

/** An empty store of the given kind; S3 stores use a key prefix so that prefixing is always exercised. */
export async function freshBlobStore(kind: BlobStoreKind, opts: { s3Prefix?: string } = {}): Promise<TestBlobStore> {
  if (kind === 'fs') {
    const outer = fs.mkdtempSync(path.join(os.tmpdir(), 'atrium-blobs-'));
    const config: BlobConfig = { kind: 'fs', root: path.join(outer, 'root') };
    const store = await openBlobStore(config);
    return {
      kind,
      store,
      config,
      outer,
      backdoor: {
        rawEntries: async () => walk(outer),
        pendingWrites: async () => fs.readdirSync(path.join(outer, 'root', '.tmp')).sort(),
      },
      dispose: async () => {
        await store.close();
        fs.rmSync(outer, { recursive: true, force: true });
      },
    };
  }
  const bucket = `atrium-test-${randomHex(12)}`;
  const raw = rawS3Client();
  await raw.send(new CreateBucketCommand({ Bucket: bucket }));
  const config = testS3Config(bucket, opts.s3Prefix ?? 'tenant-1/blobs');
  const store = await openBlobStore(config);
  return {
    kind,
    store,
    config,
    raw,
    backdoor: {
      rawEntries: async () => [
        ...(await allObjectKeys(raw, bucket)),
        ...(await multipartUploads(raw, bucket)).map((u) => `multipart upload of ${u.Key}`),
      ].sort(),
      pendingWrites: async () => (await multipartUploads(raw, bucket)).map((u) => u.Key).sort(),
    },
    dispose: async () => {
      await store.close();
      for (const u of await multipartUploads(raw, bucket))
        await raw.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }));
      for (const key of await allObjectKeys(raw, bucket)) await raw.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      await raw.send(new DeleteBucketCommand({ Bucket: bucket }));
      raw.destroy();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Bodies

/** Deterministic pseudo-random bytes (xorshift32), different for each seed. */
export function patternBytes(size: number, seed: number): Buffer {
  const words = new Uint32Array(Math.ceil(size / 4));
  let x = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  return Buffer.from(words.buffer, 0, size);
}

/** A stream of unknown length producing `data` in chunks, yielding to the event loop between chunks. */
export function chunkedStream(data: Buffer, chunkSize = 64 * 1024): Readable {
  return Readable.from(
    (async function* () {
      for (let i = 0; i < data.length; i += chunkSize) {
        yield data.subarray(i, Math.min(i + chunkSize, data.length));
        await new Promise((r) => setImmediate(r));
      }
    })(),
    { objectMode: false },
  );
}

/** A stream that sends `first`, then waits until `finish()` to send `rest` and end (or `fail()` to error). */
export function gatedStream(first: Buffer, rest: Buffer): { stream: Readable; finish(): void; fail(err: Error): void } {
  let open!: (ok: boolean) => void;
  let failure: Error | undefined;
  const gate = new Promise<boolean>((r) => (open = r));
  const stream = Readable.from(
    (async function* () {
      for (let i = 0; i < first.length; i += 1024 * 1024) yield first.subarray(i, i + 1024 * 1024);
      if (!(await gate)) throw failure;
      for (let i = 0; i < rest.length; i += 1024 * 1024) yield rest.subarray(i, i + 1024 * 1024);
    })(),
    { objectMode: false },
  );
  return {
    stream,
    finish: () => open(true),
    fail: (err) => {
      failure = err;
      open(false);
    },
  };
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer | string>) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks);
}

export async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const k of it) out.push(k);
  return out;
}

/** Polls `check` until it returns true (or fails the test after `timeoutMs`). */
export async function waitUntil(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
