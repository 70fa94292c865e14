/**
 * Version analytics datasets (speckle.md §10): for every version, two DuckDB files built from the
 * version's objects and stored as blobs — `{versionId}.duckdb` (objects, root, blobs) and
 * `{versionId}.eav.duckdb` (properties, proxies; rules in datasets-eav.ts).
 *
 * When they are built
 * - A version created on this node (event `speckle.project.versions` CREATED, also when relayed from
 *   another node) enqueues a durable job `speckle.dataset.build` (dedupe key: the version id).
 * - A version without datasets (created before this feature, or whose event was lost in a crash) is
 *   queued on demand by the first GraphQL `objectKey` or download that finds nothing; the download
 *   answers 404 until the files are ready.
 * - `atrium datasets rebuild` builds missing, failed and outdated datasets in the CLI process.
 *
 * How a build publishes, and why nothing half-written is ever served
 * 1. The main file is written to `<dataDir>/tmp/datasets/<pid>-<random>/`, checkpointed and closed;
 * 2. it is streamed into the blob store with `put`, which is atomic (readers see the old blob or the
 *    whole new one);
 * 3. only then a `version_datasets` row (status ready, key, size, sha256) is written. Downloads and
 *    `Version.objectKey` read that row, so a crash at any point before it leaves nothing visible: at
 *    most a temporary directory (removed at the next start) and an unreferenced blob that the retried
 *    job overwrites. The EAV file follows the same three steps right after, so `objectKey` (main)
 *    becomes non-null before the EAV file is ready, as on Speckle's hosted server.
 * A crashed job (kill -9) keeps its lease until it expires; the queue then hands it to a worker again.
 *
 * Faults
 * - root object missing from the project, or not JSON → the build fails at once (no retry) and a
 *   `failed` row records the reason; downloads answer 404 naming it; `atrium datasets rebuild` retries;
 * - objects of the closure missing → the job fails and is retried with back-off (a client may still be
 *   uploading); after its last attempt a `failed` row records how many were missing;
 * - any other error → retried; after the last attempt a `failed` row records it. A `failed` row never
 *   replaces a `ready` one (a failed rebuild keeps serving the previous file).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import os from 'node:os';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type { AtriumConfig } from '../config.js';
import type { Store } from '../store/db.js';
import type { Database, VersionDatasetsTable } from '../store/schema.js';
import type { BlobRead, BlobStore } from '../store/blobs/index.js';
import type { Job, JobQueue } from '../jobs/queue.js';
import type { AuthContext } from './identity.js';
import type { EventBus } from './events.js';
import { SpeckleChannels, type ProjectEvent, type ProjectsService, type Version, type VersionEvent } from './projects.js';
import type { AuthzDenial } from '../domain/authz.js';
import {
  DATASET_FORMAT,
  RowSink,
  extractObjectRows,
  isPlainObject,
  newEavStats,
  proxyRows,
  rootProxySlots,
  type EavStats,
  type ProxyEntry,
} from './datasets-eav.js';
import type { DuckDbSettings } from './datasets-writer.js';

/** DuckDB's native binding costs ~1 s to load: it is loaded when the first build runs, not at start. */
let writerModule: Promise<typeof import('./datasets-writer.js')> | undefined;
const loadWriters = () => (writerModule ??= import('./datasets-writer.js'));

export const DATASET_BUILD_JOB = 'speckle.dataset.build';
export const DATASET_KINDS = ['main', 'eav'] as const;
export type DatasetKind = (typeof DATASET_KINDS)[number];

/** Attempts of a build job before its failure is recorded for good. */
export const DATASET_JOB_ATTEMPTS = 5;
/** Ids per object query, and the JSON characters one query aims at (big objects are read fewer at a time). */
const READ_IDS_MAX = 1000;
const READ_IDS_MIN = 8;
const READ_TARGET_CHARS = 8_000_000;
/** Temporary build directories carry who made them: <host>-<pid>-<process incarnation>-<random>. */
const HOST_TAG = createHash('sha256').update(os.hostname()).digest('hex').slice(0, 12);
const INCARNATION = randomBytes(6).toString('hex');
const FOREIGN_TEMP_MAX_AGE_MS = 24 * 60 * 60 * 1000;
/** Object queries in flight at once on PostgreSQL (each on its own pooled connection). */
const READ_AHEAD_PG = 3;
/** On-demand enqueues of one version from one node are at most this often. */
const ENSURE_INTERVAL_MS = 10_000;
const MAX_ID_LENGTH = 255;

export interface DatasetRecord {
  versionId: string;
  projectId: string;
  kind: DatasetKind;
  status: 'ready' | 'failed';
  blobKey: string | null;
  size: number | null;
  sha256: string | null;
  rowCount: number | null;
  format: number;
  error: string | null;
  buildMs: number | null;
  builtAt: number;
}

export interface BuildProgress {
  phase: DatasetKind;
  /** objects read so far in this phase (root included at the end) */
  done: number;
  total: number;
}

export interface BuildOptions {
  /** rebuild files that are already ready and current */
  force?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: BuildProgress) => void;
}

export interface BuildResult {
  versionId: string;
  built: DatasetKind[];
  skipped: DatasetKind[];
  objects: number;
  propertyRows: number | null;
  stats: EavStats;
  ms: number;
}

/** A build that cannot succeed as things are; `permanent` ones are not retried by the job. */
export class DatasetBuildError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
    this.name = 'DatasetBuildError';
  }
}

/** Where a download stands (the face maps each case to HTTP). */
export type DownloadLookup =
  | { status: 'denied'; denial: AuthzDenial; anonymous: boolean }
  | { status: 'not-found'; what: 'project' | 'model' | 'version' }
  | { status: 'pending'; queued: boolean }
  | { status: 'failed'; error: string }
  | { status: 'ready'; record: DatasetRecord; fileName: string };

/**
 * Where a build's file is stored. Every build writes new keys (`buildId`), so a rebuild never changes
 * the bytes behind a key a reader may hold: the row is switched to the new key, then the old blob goes.
 */
export const datasetBlobKey = (projectId: string, versionId: string, kind: DatasetKind, buildId: string) =>
  `${datasetBlobPrefix(projectId, versionId)}/${versionId}-${buildId}${kind === 'eav' ? '.eav' : ''}.duckdb`;
export const datasetBlobPrefix = (projectId: string, versionId: string) => `datasets/${projectId}/${versionId}`;
export const datasetFileName = (versionId: string, kind: DatasetKind) => `${versionId}${kind === 'eav' ? '.eav' : ''}.duckdb`;

const toRecord = (r: VersionDatasetsTable): DatasetRecord => ({
  versionId: r.version_id,
  projectId: r.project_id,
  kind: r.kind as DatasetKind,
  status: r.status as DatasetRecord['status'],
  blobKey: r.blob_key,
  size: r.size === null ? null : Number(r.size),
  sha256: r.sha256,
  rowCount: r.row_count === null ? null : Number(r.row_count),
  format: Number(r.format),
  error: r.error,
  buildMs: r.build_ms === null ? null : Number(r.build_ms),
  builtAt: Number(r.built_at),
});

const validId = (id: unknown): id is string => typeof id === 'string' && id.length > 0 && id.length <= MAX_ID_LENGTH;

export interface DatasetsLogger {
  info(o: object, m?: string): void;
  warn(o: object, m?: string): void;
  error(o: object, m?: string): void;
}
const silent: DatasetsLogger = { info() {}, warn() {}, error() {} };

export function createDatasetsService(deps: {
  store: Store;
  blobs: BlobStore;
  jobs: JobQueue;
  config: AtriumConfig;
  bus: EventBus;
  projects: ProjectsService;
  logger?: DatasetsLogger;
  /** DuckDB resources per build (default: 2 threads, 1 GB, spilling under the temp directory) */
  duckdb?: Partial<Pick<DuckDbSettings, 'threads' | 'memoryLimit'>>;
}) {
  const { store, blobs, jobs, config, bus, projects } = deps;
  const db: Kysely<Database> = store.db;
  let logger = deps.logger ?? silent;
  const tmpRoot = path.join(config.dataDir, 'tmp', 'datasets');
  const recentlyEnsured = new Map<string, number>();

  // ---------------------------------------------------------------- records

  async function records(versionId: string): Promise<Partial<Record<DatasetKind, DatasetRecord>>> {
    if (!validId(versionId)) return {};
    const rows = await db.selectFrom('version_datasets').selectAll().where('version_id', '=', versionId).execute();
    const out: Partial<Record<DatasetKind, DatasetRecord>> = {};
    for (const r of rows) out[r.kind as DatasetKind] = toRecord(r);
    return out;
  }

  async function record(versionId: string, kind: DatasetKind): Promise<DatasetRecord | null> {
    return (await records(versionId))[kind] ?? null;
  }

  /** Upserts a row; a `failed` row never replaces a `ready` one. Returns false when the version is gone. */
  async function writeRecord(row: VersionDatasetsTable): Promise<boolean> {
    const exists = await db.selectFrom('versions').select('id').where('id', '=', row.version_id).executeTakeFirst();
    if (!exists) return false;
    try {
      await db.transaction().execute(async (trx) => {
        const current = await trx
          .selectFrom('version_datasets')
          .select('status')
          .where('version_id', '=', row.version_id)
          .where('kind', '=', row.kind)
          .executeTakeFirst();
        if (current && current.status === 'ready' && row.status !== 'ready') return;
        if (current) {
          const { version_id: _v, kind: _k, ...rest } = row;
          await trx.updateTable('version_datasets').set(rest).where('version_id', '=', row.version_id).where('kind', '=', row.kind).execute();
        } else await trx.insertInto('version_datasets').values(row).execute();
      });
      return true;
    } catch (err) {
      // the version was deleted between the check and the write (foreign key), or a concurrent
      // builder inserted first: the second case is retried once as an update
      const still = await db.selectFrom('versions').select('id').where('id', '=', row.version_id).executeTakeFirst();
      if (!still) return false;
      const current = await db.selectFrom('version_datasets').select('status').where('version_id', '=', row.version_id).where('kind', '=', row.kind).executeTakeFirst();
      if (!current) throw err;
      if (current.status === 'ready' && row.status !== 'ready') return true;
      const { version_id: _v, kind: _k, ...rest } = row;
      await db.updateTable('version_datasets').set(rest).where('version_id', '=', row.version_id).where('kind', '=', row.kind).execute();
      return true;
    }
  }

  async function recordFailure(projectId: string, versionId: string, message: string): Promise<void> {
    const now = Date.now();
    for (const kind of DATASET_KINDS) {
      await writeRecord({
        version_id: versionId,
        kind,
        project_id: projectId,
        status: 'failed',
        blob_key: null,
        size: null,
        sha256: null,
        row_count: null,
        format: DATASET_FORMAT,
        error: message.slice(0, 2000),
        build_ms: null,
        built_at: now,
      });
    }
  }

  // ---------------------------------------------------------------- queueing

  async function enqueueBuild(projectId: string, versionId: string, opts: { force?: boolean } = {}): Promise<number> {
    return jobs.enqueue(DATASET_BUILD_JOB, { projectId, versionId, force: !!opts.force }, { dedupeKey: versionId, maxAttempts: DATASET_JOB_ATTEMPTS });
  }

  /**
   * Queues a build for a version that has no ready (or failed) main and EAV datasets; at most once per
   * ENSURE_INTERVAL_MS per version and node. Returns true when a job is (now) queued or running.
   */
  async function ensureQueued(version: Pick<Version, 'id' | 'projectId'>, known?: Partial<Record<DatasetKind, DatasetRecord>>): Promise<boolean> {
    const recs = known ?? (await records(version.id));
    const missing = DATASET_KINDS.some((k) => !recs[k]);
    if (!missing) return false;
    const last = recentlyEnsured.get(version.id);
    const now = Date.now();
    if (last !== undefined && now - last < ENSURE_INTERVAL_MS) return true;
    if (recentlyEnsured.size > 10_000) recentlyEnsured.clear();
    recentlyEnsured.set(version.id, now);
    await enqueueBuild(version.projectId, version.id);
    return true;
  }

  // ---------------------------------------------------------------- reading objects

  /**
   * The stored objects among `ids` (unique, valid), slice by slice (rows of a slice in no particular
   * order): at most 1000 ids per query, fewer when rows are big, so one query holds about
   * READ_TARGET_CHARS of JSON. On PostgreSQL a few slices are fetched ahead on separate connections,
   * so the server decompresses and sends the next rows while this process handles the current ones.
   */
  async function* readObjects(projectId: string, ids: readonly string[]): AsyncGenerator<Array<{ id: string; speckle_type: string; data: string }>> {
    const ahead = store.dialect === 'postgres' ? READ_AHEAD_PG : 1;
    let slice = 100;
    let pos = 0;
    const inflight: Array<Promise<Array<{ id: string; speckle_type: string; data: string }>>> = [];
    const launch = () => {
      const part = ids.slice(pos, pos + slice);
      pos += part.length;
      const p = db.selectFrom('objects').select(['id', 'speckle_type', 'data']).where('project_id', '=', projectId).where('id', 'in', part).execute();
      p.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
      inflight.push(p);
    };
    while (pos < ids.length && inflight.length < ahead) launch();
    while (inflight.length > 0) {
      const rows = await inflight.shift()!;
      let chars = 0;
      for (const r of rows) chars += r.data.length;
      slice = rows.length
        ? Math.max(READ_IDS_MIN, Math.min(READ_IDS_MAX, Math.floor(READ_TARGET_CHARS / Math.max(1, chars / rows.length))))
        : Math.min(READ_IDS_MAX, slice * 2);
      while (pos < ids.length && inflight.length < ahead) launch();
      yield rows;
    }
  }

  // ---------------------------------------------------------------- building

  function duckdbSettings(dir: string): DuckDbSettings {
    return { threads: deps.duckdb?.threads ?? 2, memoryLimit: deps.duckdb?.memoryLimit ?? '1GB', tempDirectory: path.join(dir, 'spill') };
  }

  function newTempDir(): string {
    fs.mkdirSync(tmpRoot, { recursive: true });
    const dir = path.join(tmpRoot, `${HOST_TAG}-${process.pid}-${INCARNATION}-${randomBytes(6).toString('hex')}`);
    fs.mkdirSync(dir);
    return dir;
  }

  /**
   * Removes temporary build directories left by processes that are gone: on this host, those whose
   * process no longer runs (or is a later process that reuses the pid); of other hosts sharing the
   * data directory, those older than a day.
   */
  function cleanupTemp(): number {
    let removed = 0;
    let entries: string[];
    try {
      entries = fs.readdirSync(tmpRoot);
    } catch {
      return 0;
    }
    for (const name of entries) {
      const m = /^([0-9a-f]{12})-(\d+)-([0-9a-f]{12})-[0-9a-f]{12}$/.exec(name);
      if (!m) continue;
      const dir = path.join(tmpRoot, name);
      let gone: boolean;
      if (m[1] !== HOST_TAG) {
        try {
          gone = Date.now() - fs.statSync(dir).mtimeMs > FOREIGN_TEMP_MAX_AGE_MS;
        } catch {
          continue;
        }
      } else if (Number(m[2]) === process.pid) {
        gone = m[3] !== INCARNATION;
      } else {
        try {
          process.kill(Number(m[2]), 0);
          gone = false;
        } catch (err) {
          gone = (err as NodeJS.ErrnoException).code !== 'EPERM';
        }
      }
      if (!gone) continue;
      fs.rmSync(dir, { recursive: true, force: true });
      removed++;
    }
    return removed;
  }

  function checkAborted(signal: AbortSignal | undefined): void {
    if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('dataset build aborted');
  }

  async function putFile(key: string, file: string): Promise<{ size: number; sha256: string }> {
    const info = await blobs.put(key, fs.createReadStream(file), { contentType: 'application/octet-stream' });
    return { size: info.size, sha256: info.sha256 };
  }

  /**
   * Builds whatever datasets of the version are missing, failed or outdated (everything with `force`)
   * and publishes each one as soon as it is complete: main first, then EAV.
   */
  async function build(projectId: string, versionId: string, opts: BuildOptions = {}): Promise<BuildResult> {
    const started = Date.now();
    const version = await projects.getVersion(projectId, versionId);
    if (!version) throw new DatasetBuildError(`version ${versionId} of project ${projectId} does not exist (deleted?)`, true);
    const existing = await records(versionId);
    const current = (k: DatasetKind) => existing[k]?.status === 'ready' && existing[k]!.format === DATASET_FORMAT && !opts.force;
    const todo = DATASET_KINDS.filter((k) => !current(k));
    const result: BuildResult = { versionId, built: [], skipped: DATASET_KINDS.filter((k) => current(k)), objects: 0, propertyRows: null, stats: newEavStats(), ms: 0 };
    if (todo.length === 0) return { ...result, ms: Date.now() - started };

    const rootRow = await db
      .selectFrom('objects')
      .select(['id', 'speckle_type', 'data'])
      .where('project_id', '=', projectId)
      .where('id', '=', version.referencedObject)
      .executeTakeFirst();
    if (!rootRow) throw new DatasetBuildError(`the version's root object ${version.referencedObject} is not in the project`, true);
    let root: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(rootRow.data);
      if (!isPlainObject(parsed)) throw new Error('not an object');
      root = parsed;
    } catch {
      throw new DatasetBuildError(`the version's root object ${rootRow.id} is not a JSON object`, true);
    }
    const closure = isPlainObject(root.__closure) ? Object.keys(root.__closure).filter((id) => validId(id) && id !== rootRow.id) : [];
    closure.sort();
    const total = closure.length + 1;
    result.objects = total;
    const rootSpeckleType = typeof root.speckle_type === 'string' ? root.speckle_type : rootRow.speckle_type;

    const dir = newTempDir();
    const buildId = randomBytes(6).toString('hex');
    try {
      /** Stores a finished dataset file and records it as ready (or cleans up when the version went away). */
      const publish = async (kind: 'main' | 'eav', file: string, rows: number, t0: number) => {
        checkAborted(opts.signal);
        const key = datasetBlobKey(projectId, versionId, kind, buildId);
        const { size, sha256 } = await putFile(key, file);
        fs.rmSync(file, { force: true });
        const ok = await writeRecord({
          version_id: versionId,
          kind,
          project_id: projectId,
          status: 'ready',
          blob_key: key,
          size,
          sha256,
          row_count: rows,
          format: DATASET_FORMAT,
          error: null,
          build_ms: Date.now() - t0,
          built_at: Date.now(),
        });
        if (!ok) {
          await deleteBlobs(projectId, versionId);
          throw new DatasetBuildError(`version ${versionId} was deleted during the build`, true);
        }
        await removeUnreferenced(projectId, versionId, [key]);
        result.built.push(kind);
      };

      // ------------------------------------------------ main: objects (root last), root, blobs
      if (todo.includes('main')) {
        const t0 = Date.now();
        const file = path.join(dir, 'main.duckdb');
        const { MainDatasetWriter } = await loadWriters();
        const writer = await MainDatasetWriter.create(file, duckdbSettings(dir));
        let found = 0;
        let rows: number;
        try {
          const seen = new Set<string>();
          for await (const batch of readObjects(projectId, closure)) {
            checkAborted(opts.signal);
            for (const r of batch) {
              seen.add(r.id);
              writer.appendObject(r.id, r.data, r.speckle_type);
              found++;
            }
            opts.onProgress?.({ phase: 'main', done: found, total });
            await yieldToLoop();
          }
          if (found < closure.length) {
            const firstMissing = closure.find((id) => !seen.has(id));
            throw new DatasetBuildError(
              `${closure.length - found} of the ${closure.length} objects in the root's closure are missing from the project (first: ${firstMissing})`,
              false,
            );
          }
          rows = await writer.finish({ id: rootRow.id, data: rootRow.data, speckleType: rootSpeckleType });
          opts.onProgress?.({ phase: 'main', done: total, total });
        } catch (err) {
          writer.abort();
          if (err instanceof (await loadWriters()).InvalidObjectJsonError) throw new DatasetBuildError(err.message, true);
          throw err;
        }
        await publish('main', file, rows, t0);
      }

      // ------------------------------------------------ eav: properties, proxies
      if (todo.includes('eav')) {
        const t0 = Date.now();
        const file = path.join(dir, 'eav.duckdb');
        const { EavDatasetWriter } = await loadWriters();
        const writer = await EavDatasetWriter.create(file, duckdbSettings(dir));
        let rows: number;
        try {
          const stats = result.stats;
          const byApplicationId = new Map<string, string[]>();
          const noteApplicationId = (obj: Record<string, unknown>, id: string) => {
            if (typeof obj.applicationId !== 'string') return;
            const list = byApplicationId.get(obj.applicationId);
            if (!list) byApplicationId.set(obj.applicationId, [id]);
            else if (list[list.length - 1] !== id) list.push(id);
          };
          const slots = rootProxySlots(root);
          const wanted = new Set(slots.flatMap((slot) => ('ref' in slot ? [slot.ref] : [])));
          const referenced = new Map<string, Record<string, unknown>>();
          let done = 0;
          for await (const batch of readObjects(projectId, closure)) {
            checkAborted(opts.signal);
            for (const r of batch) {
              let obj: unknown;
              try {
                obj = JSON.parse(r.data);
              } catch {
                throw new DatasetBuildError(`object ${r.id} is not valid JSON`, true);
              }
              done++;
              if (!isPlainObject(obj)) continue;
              if (wanted.has(r.id)) referenced.set(r.id, obj);
              noteApplicationId(obj, r.id);
              writer.appendRows(r.id, extractObjectRows(obj, new RowSink(stats)));
            }
            opts.onProgress?.({ phase: 'eav', done, total });
            await yieldToLoop();
          }
          noteApplicationId(root, rootRow.id);
          writer.appendRows(rootRow.id, extractObjectRows(root, new RowSink(stats)));
          // proxies in the order the root lists them; references to objects that are not in the version are skipped
          const entries: ProxyEntry[] = slots.flatMap((slot) => {
            if ('proxy' in slot) return [slot];
            const proxy = referenced.get(slot.ref);
            return proxy ? [{ type: slot.type, proxy }] : [];
          });
          const { proxies, levelRows } = proxyRows(entries, byApplicationId, stats);
          await writer.appendProxies(proxies);
          for (const { objectId, row } of levelRows) writer.appendRows(objectId, [row]);
          rows = await writer.finish();
          opts.onProgress?.({ phase: 'eav', done: total, total });
        } catch (err) {
          writer.abort();
          throw err;
        }
        await publish('eav', file, rows, t0);
        result.propertyRows = rows;
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    if (result.stats.truncated || result.stats.droppedRows)
      logger.warn({ projectId, versionId, ...result.stats }, 'dataset values were cut or dropped by the EAV caps');
    return { ...result, ms: Date.now() - started };
  }

  async function deleteBlobs(projectId: string, versionId: string): Promise<void> {
    await blobs.deletePrefix(datasetBlobPrefix(projectId, versionId)).catch(() => undefined);
  }

  /**
   * Deletes the version's blobs that no row points at (files of earlier builds, and of builds that
   * crashed between storing and recording), keeping `keep`. A concurrent build of the same version
   * may lose its not-yet-recorded file this way; its download then finds the blob missing and the
   * version is built again.
   */
  async function removeUnreferenced(projectId: string, versionId: string, keep: string[]): Promise<void> {
    const referenced = new Set(keep);
    for (const r of Object.values(await records(versionId))) if (r?.blobKey) referenced.add(r.blobKey);
    try {
      for await (const key of blobs.list(datasetBlobPrefix(projectId, versionId))) {
        if (!referenced.has(key)) await blobs.delete(key);
      }
    } catch (err) {
      logger.warn({ projectId, versionId, err: String(err) }, 'could not remove old dataset files');
    }
  }

  /** The job handler of `speckle.dataset.build`. */
  async function runJob(job: Job, ctx: { signal: AbortSignal }): Promise<void> {
    const p = job.payload as { projectId?: unknown; versionId?: unknown; force?: unknown };
    if (typeof p?.projectId !== 'string' || typeof p.versionId !== 'string') return; // malformed: nothing to do
    const { projectId, versionId } = p;
    try {
      const r = await build(projectId, versionId, { force: p.force === true, signal: ctx.signal });
      if (r.built.length) logger.info({ projectId, versionId, built: r.built, objects: r.objects, propertyRows: r.propertyRows, ms: r.ms }, 'version dataset built');
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      const message = err instanceof Error ? err.message : String(err);
      const permanent = err instanceof DatasetBuildError && err.permanent;
      if (permanent || job.attempts >= job.maxAttempts) {
        await recordFailure(projectId, versionId, message);
        logger.error({ projectId, versionId, attempt: job.attempts, err: message }, 'version dataset failed');
        if (permanent) return;
      }
      throw err;
    }
  }

  // ---------------------------------------------------------------- reading for the faces

  /** Where the dataset of a version stands for this caller; queues a build when none exists. */
  async function lookupDownload(
    auth: AuthContext,
    ids: { projectId: string; modelId: string; versionId: string },
    kind: DatasetKind,
  ): Promise<DownloadLookup> {
    const { result } = await projects.check(auth, ids.projectId, 'read');
    if (!result.ok) {
      if (result.denial === 'ProjectNotFound') return { status: 'not-found', what: 'project' };
      return { status: 'denied', denial: result.denial, anonymous: !auth.auth };
    }
    const version = await projects.getVersion(ids.projectId, ids.versionId);
    if (!version) return { status: 'not-found', what: 'version' };
    if (version.modelId !== ids.modelId) return { status: 'not-found', what: (await projects.getModel(ids.projectId, ids.modelId)) ? 'version' : 'model' };
    const recs = await records(version.id);
    const rec = recs[kind];
    if (rec?.status === 'ready' && rec.blobKey) return { status: 'ready', record: rec, fileName: datasetFileName(version.id, kind) };
    if (rec?.status === 'failed') return { status: 'failed', error: rec.error ?? 'the dataset could not be built' };
    const queued = await ensureQueued(version, recs);
    return { status: 'pending', queued };
  }

  /** Opens a ready dataset's blob (null when the blob vanished). */
  async function open(rec: DatasetRecord, range?: { start: number; end?: number }): Promise<BlobRead | null> {
    if (!rec.blobKey) return null;
    return blobs.get(rec.blobKey, range);
  }

  /** A ready record whose blob is gone (restored backup, manual deletion): forget it and build again. */
  async function forgetMissing(rec: DatasetRecord): Promise<void> {
    await db
      .deleteFrom('version_datasets')
      .where('version_id', '=', rec.versionId)
      .where('kind', '=', rec.kind)
      .where('built_at', '=', rec.builtAt)
      .execute();
    recentlyEnsured.delete(rec.versionId);
    await enqueueBuild(rec.projectId, rec.versionId);
  }

  /** Versions of a project (or of every project) whose datasets are missing, failed or outdated (or all, with force). */
  async function versionsToBuild(opts: { projectId?: string; force?: boolean } = {}): Promise<Array<{ projectId: string; versionId: string }>> {
    let q = db.selectFrom('versions').select(['versions.id as versionId', 'versions.project_id as projectId']);
    if (opts.projectId) q = q.where('versions.project_id', '=', opts.projectId);
    const all = await q.orderBy('versions.created_at').orderBy('versions.id').execute();
    if (opts.force) return all;
    const ready = new Map<string, number>();
    let rq = db.selectFrom('version_datasets').select(['version_id', 'format']).where('status', '=', 'ready');
    if (opts.projectId) rq = rq.where('project_id', '=', opts.projectId);
    for (const r of await rq.execute()) if (Number(r.format) === DATASET_FORMAT) ready.set(r.version_id, (ready.get(r.version_id) ?? 0) + 1);
    return all.filter((v) => (ready.get(v.versionId) ?? 0) < DATASET_KINDS.length);
  }

  // ---------------------------------------------------------------- lifecycle

  const unsubscribe: Array<() => void> = [];

  /** Subscribes to version and project events (builds on create, cleans blobs on delete) and clears stale temp files. */
  function start(opts: { logger?: DatasetsLogger } = {}): void {
    if (opts.logger) logger = opts.logger;
    if (unsubscribe.length) return;
    try {
      const n = cleanupTemp();
      if (n) logger.info({ removed: n }, 'removed temporary dataset files of stopped processes');
    } catch (err) {
      logger.warn({ err: String(err) }, 'could not clean temporary dataset files');
    }
    unsubscribe.push(
      bus.subscribe(SpeckleChannels.versions, (payload) => {
        const e = payload as VersionEvent;
        if (!e || typeof e.versionId !== 'string' || typeof e.projectId !== 'string') return;
        if (e.type === 'CREATED') {
          enqueueBuild(e.projectId, e.versionId).catch((err: unknown) =>
            logger.error({ versionId: e.versionId, err: String(err) }, 'could not queue the dataset build'),
          );
        } else if (e.type === 'DELETED') {
          // a move publishes DELETED then CREATED for the same version: only a version that is gone loses its files
          projects
            .getVersion(e.projectId, e.versionId)
            .then((v) => (v ? undefined : deleteBlobs(e.projectId, e.versionId)))
            .catch(() => undefined);
        }
      }),
      bus.subscribe(SpeckleChannels.project, (payload) => {
        const e = payload as ProjectEvent;
        if (e?.type === 'DELETED' && typeof e.projectId === 'string' && /^[A-Za-z0-9_-]+$/.test(e.projectId)) {
          blobs.deletePrefix(`datasets/${e.projectId}`).catch(() => undefined);
        }
      }),
    );
  }

  function stop(): void {
    for (const u of unsubscribe.splice(0)) u();
  }

  return {
    records,
    record,
    recordFailure,
    enqueueBuild,
    ensureQueued,
    build,
    runJob,
    lookupDownload,
    open,
    forgetMissing,
    versionsToBuild,
    cleanupTemp,
    start,
    stop,
  };
}

export type DatasetsService = ReturnType<typeof createDatasetsService>;
