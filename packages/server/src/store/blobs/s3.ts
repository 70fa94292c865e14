/**
 * S3-compatible blob store (AWS S3, MinIO, Ceph, moto …) through the AWS SDK v3.
 *
 * Every key lives at `<config prefix>/<key>` in the bucket. S3 publishes an object only when its
 * PutObject or CompleteMultipartUpload succeeds, so readers never see a partial blob.
 *
 * put reads up to one part of the body first: a body that fits is sent with one PutObject whose
 * metadata carries its SHA-256 (so stat can return it); a longer one streams through lib-storage's
 * `Upload` as a multipart upload, hashed and counted on the way. Crossing `maxBytes` fails the body
 * stream, which makes `Upload` abort the multipart upload, so no parts are left behind.
 *
 * The content type given to put is sent as the object's Content-Type and also kept in metadata:
 * S3 servers invent a default type when none is given, and stat/get report only what put was told.
 */
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ConfigError, type BlobConfig } from '../../config.js';
import {
  assertSafeBlobKey,
  assertSafeBlobPrefix,
  BlobRangeNotSatisfiableError,
  InvalidBlobKeyError,
  MAX_BLOB_KEY_BYTES,
  BlobTooLargeError,
  BodyMeter,
  bodyChunks,
  checkContentType,
  checkMaxBytes,
  checkRange,
  isSafeBlobKey,
  knownBodySize,
  resolveRange,
  type BlobInfo,
  type BlobPutOptions,
  type BlobRead,
  type BlobStore,
} from './index.js';

type S3BlobConfig = Extract<BlobConfig, { kind: 's3' }>;

/** Multipart part size: S3's minimum is 5 MiB. Memory per upload is about partSize × (queueSize + 1). */
const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 4;
const META_SHA256 = 'atrium-sha256';
const META_CONTENT_TYPE = 'atrium-content-type';

interface S3ErrorShape {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}
const s3Error = (e: unknown): S3ErrorShape => (typeof e === 'object' && e !== null ? (e as S3ErrorShape) : {});
const isNotFound = (e: unknown): boolean => {
  const { name, $metadata } = s3Error(e);
  if (name === 'NoSuchBucket') return false;
  return name === 'NoSuchKey' || name === 'NotFound' || $metadata?.httpStatusCode === 404;
};
const isInvalidRange = (e: unknown): boolean => {
  const { name, Code, $metadata } = s3Error(e);
  return name === 'InvalidRange' || Code === 'InvalidRange' || $metadata?.httpStatusCode === 416;
};

/** The configured key prefix as `a/b/` (or ''), validated like a key. */
function normalizeConfigPrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return '';
  try {
    assertSafeBlobKey(trimmed);
  } catch (e) {
    throw new ConfigError(`invalid configuration:\n  ATRIUM_S3_PREFIX: ${(e as Error).message}`);
  }
  return `${trimmed}/`;
}

export class S3BlobStore implements BlobStore {
  readonly kind = 's3' as const;
  readonly bucket: string;
  /** '' or 'a/b/': prepended to every key */
  readonly prefix: string;
  readonly client: S3Client;

  constructor(cfg: S3BlobConfig) {
    if (Boolean(cfg.accessKeyId) !== Boolean(cfg.secretAccessKey))
      throw new ConfigError('invalid configuration:\n  ATRIUM_S3_ACCESS_KEY and ATRIUM_S3_SECRET_KEY must be set together');
    this.bucket = cfg.bucket;
    this.prefix = normalizeConfigPrefix(cfg.prefix);
    const clientConfig: S3ClientConfig = {
      region: cfg.region,
      forcePathStyle: cfg.forcePathStyle,
      // Checksums only where S3 requires them: many S3-compatible servers reject the newer
      // default CRC32 trailers, and every write is hashed (SHA-256) here anyway.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    };
    if (cfg.endpoint) clientConfig.endpoint = cfg.endpoint;
    // Without keys, the SDK's default chain applies (environment, shared config, instance role).
    if (cfg.accessKeyId && cfg.secretAccessKey)
      clientConfig.credentials = { accessKeyId: cfg.accessKeyId, secretAccessKey: cfg.secretAccessKey };
    this.client = new S3Client(clientConfig);
  }

  /** The object name of a (validated) key; S3's 1024-byte limit applies with the prefix included. */
  private objectKey(key: string): string {
    const name = this.prefix + key;
    if (Buffer.byteLength(name, 'utf8') > MAX_BLOB_KEY_BYTES)
      throw new InvalidBlobKeyError(key, `longer than ${MAX_BLOB_KEY_BYTES} bytes with the configured prefix ${JSON.stringify(this.prefix)}`);
    return name;
  }

  async put(
    key: string,
    body: NodeJS.ReadableStream | Buffer | string,
    opts: BlobPutOptions = {},
  ): Promise<BlobInfo & { sha256: string }> {
    assertSafeBlobKey(key);
    const Key = this.objectKey(key);
    const contentType = checkContentType(opts.contentType);
    const maxBytes = checkMaxBytes(opts.maxBytes);
    const known = knownBodySize(body);
    if (maxBytes !== undefined && known !== undefined && known > maxBytes) throw new BlobTooLargeError(maxBytes);

    const meter = new BodyMeter(maxBytes);
    const chunks = bodyChunks(body);
    let uploadBody: Readable | undefined;
    let finished = false;
    try {
      // Read up to one part: if the body ends within it, one PutObject with the hash in metadata.
      const head: Buffer[] = [];
      let headBytes = 0;
      let ended = false;
      while (headBytes <= PART_SIZE) {
        const next = await chunks.next();
        if (next.done) {
          ended = true;
          break;
        }
        meter.add(next.value);
        head.push(next.value);
        headBytes += next.value.length;
      }
      const metadata: Record<string, string> = contentType ? { [META_CONTENT_TYPE]: contentType } : {};
      const common = { Bucket: this.bucket, Key, ...(contentType ? { ContentType: contentType } : {}) };

      if (ended) {
        const data = Buffer.concat(head, headBytes);
        const sha256 = meter.digest().toString('hex');
        await this.client.send(
          new PutObjectCommand({ ...common, Body: data, ContentLength: data.length, Metadata: { ...metadata, [META_SHA256]: sha256 } }),
        );
        finished = true;
        return { size: data.length, sha256, ...(contentType ? { contentType } : {}) };
      }

      // Multipart: replay what was read, then the rest, counting and hashing as it goes. An error
      // here (maxBytes crossed, source failed) fails the Upload, which aborts the multipart upload.
      async function* everything(): AsyncGenerator<Buffer> {
        while (head.length) yield head.shift()!;
        for (;;) {
          const next = await chunks.next();
          if (next.done) return;
          meter.add(next.value);
          yield next.value;
        }
      }
      uploadBody = Readable.from(everything());
      const upload = new Upload({
        client: this.client,
        params: { ...common, Body: uploadBody, Metadata: metadata },
        partSize: PART_SIZE,
        queueSize: QUEUE_SIZE,
        leavePartsOnError: false,
      });
      await upload.done();
      finished = true;
      return { size: meter.size, sha256: meter.digest().toString('hex'), ...(contentType ? { contentType } : {}) };
    } catch (e) {
      throw meter.tooLarge ?? e;
    } finally {
      if (!finished) {
        // Stop reading (and destroy) the caller's stream when we gave up early. Not awaited: a
        // stalled source must not hold up the error.
        uploadBody?.destroy();
        void chunks.return(undefined).catch(() => {});
      }
    }
  }

  async get(key: string, range?: { start: number; end?: number }): Promise<BlobRead | null> {
    assertSafeBlobKey(key);
    const wanted = checkRange(range);
    let res;
    try {
      res = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.objectKey(key),
          ...(wanted ? { Range: `bytes=${wanted.start}-${wanted.end ?? ''}` } : {}),
        }),
      );
    } catch (e) {
      if (isNotFound(e)) return null;
      if (wanted && isInvalidRange(e)) {
        const info = await this.stat(key);
        if (!info) return null;
        throw new BlobRangeNotSatisfiableError(info.size);
      }
      throw e;
    }
    const stream = res.Body as Readable;
    const contentType = res.Metadata?.[META_CONTENT_TYPE];
    const ct = contentType ? { contentType } : {};
    if (!wanted) return { stream, size: res.ContentLength ?? 0, ...ct };

    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.ContentRange ?? '');
    if (m) return { stream, size: Number(m[3]), range: { start: Number(m[1]), end: Number(m[2]) }, ...ct };
    // The server ignored the Range header and sent the whole object (some do for empty objects).
    const size = res.ContentLength ?? 0;
    let served: { start: number; end: number };
    try {
      served = resolveRange(wanted, size);
    } catch (e) {
      stream.destroy();
      throw e;
    }
    if (served.start !== 0 || served.end !== size - 1) {
      stream.destroy();
      throw new Error('the S3 server ignored a Range request');
    }
    return { stream, size, range: served, ...ct };
  }

  async stat(key: string): Promise<BlobInfo | null> {
    assertSafeBlobKey(key);
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
      const contentType = res.Metadata?.[META_CONTENT_TYPE];
      const sha256 = res.Metadata?.[META_SHA256];
      return { size: res.ContentLength ?? 0, ...(contentType ? { contentType } : {}), ...(sha256 ? { sha256 } : {}) };
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  async delete(key: string): Promise<void> {
    assertSafeBlobKey(key);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
  }

  async deletePrefix(prefix: string): Promise<void> {
    const bare = assertSafeBlobPrefix(prefix, { allowEmpty: false });
    const batch: string[] = [];
    const flush = async () => {
      if (!batch.length) return;
      const res = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      batch.length = 0;
      if (res.Errors?.length) {
        const first = res.Errors[0];
        throw new Error(`S3 could not delete ${res.Errors.length} object(s), first ${first.Key}: ${first.Code} ${first.Message}`);
      }
    };
    for await (const objectKey of this.objectKeys(this.objectKey(`${bare}/`))) {
      batch.push(objectKey);
      if (batch.length === 1000) await flush();
    }
    await flush();
  }

  /** Every object key (with the config prefix) starting with `objectPrefix`, in S3's order. */
  private async *objectKeys(objectPrefix: string): AsyncGenerator<string> {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: objectPrefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) if (o.Key !== undefined) yield o.Key;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async *list(prefix: string): AsyncGenerator<string> {
    const bare = assertSafeBlobPrefix(prefix, { allowEmpty: true });
    for await (const objectKey of this.objectKeys(this.objectKey(bare ? `${bare}/` : ''))) {
      const key = objectKey.slice(this.prefix.length);
      // Objects put in the bucket by other tools under names no valid key has are not ours.
      if (isSafeBlobKey(key)) yield key;
    }
  }

  async ping(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}

export async function openS3BlobStore(cfg: S3BlobConfig): Promise<S3BlobStore> {
  return new S3BlobStore(cfg);
}
