/**
 * Version analytics datasets — the DuckDB files the "SpecklePy Model Data Analytics" workflow
 * downloads (Atrium, and Speckle's hosted server):
 *
 *   GET /api/v1/projects/{projectId}/models/{modelId}/versions/{versionId}/download      → {versionId}.duckdb
 *   GET /api/v1/projects/{projectId}/models/{modelId}/versions/{versionId}/eav/download  → {versionId}.eav.duckdb
 *
 * `client.version.downloadDataset(ids, options)` / `downloadEavDataset(ids, options)` stream the file
 * with the client's credentials, reporting progress as bytes arrive. With `file`, the bytes go to
 * `<file>.part`, which is renamed to `file` once complete (an interrupted download never leaves a
 * truncated file under the final name); without it they are returned in memory.
 *
 * Failures: a dataset that is not built (yet) → DatasetNotAvailableError (HTTP 404; `retryAfterMs`
 * when the server is building it); 401/403 → SpeckleAuthError; anything else → SpeckleTransportError.
 * Whether a dataset exists can be asked first with GraphQL `Version.objectKey` (non-null once built).
 */
import fs from 'node:fs';
import { SpeckleAuthError, SpeckleError, SpeckleTransportError } from '../errors.js';
import { parseRetryAfter, type SpeckleTransport } from '../transport.js';

export type VersionDatasetKind = 'main' | 'eav';

export interface VersionDatasetIds {
  projectId: string;
  modelId: string;
  versionId: string;
}

export interface DatasetDownloadProgress {
  receivedBytes: number;
  /** the file's size from Content-Length; null when the server did not send one */
  totalBytes: number | null;
}

export interface DatasetDownloadOptions {
  /** where to write the file; without it the bytes are returned in `bytes` */
  file?: string;
  /** called as bytes arrive (and once at the end) */
  onProgress?: (progress: DatasetDownloadProgress) => void;
  signal?: AbortSignal;
}

export interface DatasetDownload {
  /** the file name the server gives (`{versionId}.duckdb` / `{versionId}.eav.duckdb`) */
  fileName: string;
  size: number;
  /** the server's ETag without quotes (Atrium: the file's SHA-256), when sent */
  etag: string | null;
  /** the path written, with `file` */
  file?: string;
  /** the content, without `file` */
  bytes?: Uint8Array;
}

/** The dataset of the version does not exist (yet): HTTP 404 from the download route. */
export class DatasetNotAvailableError extends SpeckleError {
  readonly status = 404;
  /** the server's error code, e.g. DATASET_NOT_READY, DATASET_BUILD_FAILED or NOT_FOUND_ERROR */
  readonly code: string | undefined;
  /** how long the server asks to wait before retrying (it is building the dataset) */
  readonly retryAfterMs: number | undefined;
  readonly body: string;
  constructor(message: string, body: string, code: string | undefined, retryAfterMs: number | undefined) {
    super(message);
    this.body = body;
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }
}

/** The route of a dataset, relative to the server URL. */
export function versionDatasetPath(ids: VersionDatasetIds, kind: VersionDatasetKind): string {
  const seg = (s: string) => encodeURIComponent(s);
  return `/api/v1/projects/${seg(ids.projectId)}/models/${seg(ids.modelId)}/versions/${seg(ids.versionId)}/${kind === 'eav' ? 'eav/' : ''}download`;
}

function errorOf(body: string): { message?: string; code?: string } {
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    const e = parsed.error;
    if (typeof e === 'string') return { message: e };
    if (e && typeof e === 'object') {
      const { message, code } = e as { message?: unknown; code?: unknown };
      return { message: typeof message === 'string' ? message : undefined, code: typeof code === 'string' ? code : undefined };
    }
  } catch {
    /* not JSON */
  }
  return {};
}

function fileNameOf(disposition: string | null, fallback: string): string {
  const m = disposition ? /filename="?([^";]+)"?/i.exec(disposition) : null;
  return m ? m[1] : fallback;
}

/** Downloads one dataset of a version with `transport`'s credentials and retries. */
export async function downloadVersionDataset(
  transport: SpeckleTransport,
  ids: VersionDatasetIds,
  kind: VersionDatasetKind,
  options: DatasetDownloadOptions = {},
): Promise<DatasetDownload> {
  for (const k of ['projectId', 'modelId', 'versionId'] as const) {
    if (typeof ids?.[k] !== 'string' || !ids[k]) throw new SpeckleError(`downloading a dataset needs a ${k}`);
  }
  const route = versionDatasetPath(ids, kind);
  const response = await transport.request(route, { method: 'GET', headers: { Accept: 'application/octet-stream' }, signal: options.signal });
  if (response.status !== 200) {
    const body = await response.text().catch(() => '');
    const { message, code } = errorOf(body);
    if (response.status === 404) {
      throw new DatasetNotAvailableError(
        message ?? `no ${kind === 'eav' ? 'EAV ' : ''}dataset for version ${ids.versionId}`,
        body,
        code,
        parseRetryAfter(response.headers.get('retry-after')),
      );
    }
    if (response.status === 401 || response.status === 403) {
      throw new SpeckleAuthError(message ?? `not allowed to download the dataset (HTTP ${response.status})`, response.status, body);
    }
    throw new SpeckleTransportError(`GET ${route} answered HTTP ${response.status}: ${body.slice(0, 300)}`, { status: response.status, body });
  }

  const lengthHeader = response.headers.get('content-length');
  const totalBytes = lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : null;
  const fileName = fileNameOf(response.headers.get('content-disposition'), `${ids.versionId}${kind === 'eav' ? '.eav' : ''}.duckdb`);
  const etag = response.headers.get('etag')?.replace(/^W\//, '').replace(/"/g, '') ?? null;
  let receivedBytes = 0;
  const report = () => options.onProgress?.({ receivedBytes, totalBytes });

  const partFile = options.file ? `${options.file}.part` : undefined;
  const out = partFile ? fs.createWriteStream(partFile) : undefined;
  const chunks: Uint8Array[] = [];
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  try {
    if (!response.body) throw new SpeckleTransportError(`GET ${route} answered without a body`, { status: response.status });
    reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      receivedBytes += value.byteLength;
      if (out) {
        if (!out.write(value))
          await new Promise<void>((resolve, reject) => {
            // each wait removes its listeners again (a long download waits many times)
            const onDrain = () => {
              out.off('error', onError);
              resolve();
            };
            const onError = (err: Error) => {
              out.off('drain', onDrain);
              reject(err);
            };
            out.once('drain', onDrain);
            out.once('error', onError);
          });
      } else chunks.push(value);
      report();
    }
    if (totalBytes !== null && receivedBytes !== totalBytes) {
      throw new SpeckleTransportError(`GET ${route}: the download ended after ${receivedBytes} of ${totalBytes} bytes`, { status: response.status });
    }
    if (out && partFile && options.file) {
      await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
      await fs.promises.rename(partFile, options.file);
    }
  } catch (err) {
    // release the connection: a body left unread would keep it (and the server's response) open
    await reader?.cancel().catch(() => undefined);
    if (out) {
      out.destroy();
      await fs.promises.rm(partFile!, { force: true }).catch(() => undefined);
    }
    if (err instanceof SpeckleError) throw err;
    if (options.signal?.aborted) throw new SpeckleTransportError(`GET ${route} was aborted`, { cause: err });
    throw new SpeckleTransportError(`GET ${route} failed while reading: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  report();
  if (options.file) return { fileName, size: receivedBytes, etag, file: options.file };
  const bytes = new Uint8Array(receivedBytes);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.byteLength;
  }
  return { fileName, size: receivedBytes, etag, bytes };
}
