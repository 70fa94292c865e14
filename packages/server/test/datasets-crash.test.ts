/**
 * A server killed with SIGKILL in the middle of a dataset build: nothing of the build is visible (no
 * dataset row, no blob under datasets/), and after a restart the job's lease expires, the queue hands
 * the job out again, the new process clears the dead one's temporary files, and the rebuilt files
 * are complete DuckDB databases. Runs `atrium serve` (src/main.ts under tsx) as a child process on
 * every store kind; the test process shares its database and data directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { loadConfig } from '../src/config.js';
import { openStore } from '../src/store/db.js';
import { migrateToLatest } from '../src/store/migrations/index.js';
import { openBlobStore } from '../src/store/blobs/index.js';
import { createJobQueue } from '../src/jobs/queue.js';
import { createServices } from '../src/services/index.js';
import { DATASET_BUILD_JOB } from '../src/services/datasets.js';
import { createTestDatabase, storeKinds } from './helpers/stores.js';
import { revitLikeVersion } from '../../../bench/datasets-model.mjs';

const MAIN = path.resolve(__dirname, '../src/main.ts');
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs: number, everyMs = 10): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

function serve(env: Record<string, string>): { child: ChildProcess; exited: Promise<unknown>; log: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return { child, exited, log: () => log };
}

describe.each(storeKinds)('a dataset build killed with SIGKILL on %s', (kind) => {
  it('leaves nothing visible, and the job is retried to completion after a restart', { timeout: 240_000 }, async () => {
    const tdb = await createTestDatabase(kind);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'atrium-datasets-crash-'));
    if (tdb.config.kind === 'sqlite') tdb.config.file = path.join(dataDir, 'atrium.db');
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      ATRIUM_DATA_DIR: dataDir,
      ATRIUM_PORT: '0',
      ATRIUM_LOG_LEVEL: 'info',
      ATRIUM_JOB_POLL_MS: '50',
    };
    delete env.ATRIUM_DATABASE_URL;
    if (tdb.config.kind === 'postgres') env.ATRIUM_DATABASE_URL = tdb.config.url;
    const config = loadConfig(env);
    config.database = tdb.config;

    const store = await openStore(tdb.config);
    await migrateToLatest(store);
    const blobs = await openBlobStore(config.blobs);
    cleanups.push(async () => {
      await blobs.close();
      await store.close();
      await tdb.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });
    const jobs = createJobQueue(store);
    const services = createServices({ store, blobs, jobs, config });
    const user = await services.identity.createUser({ email: 'crash@example.com', name: 'Crash', password: 'password-crash-1', role: 'user' });
    const { token } = await services.identity.mintToken({ userId: user.id, name: 't', scopes: ['streams:read', 'streams:write'] });
    const auth = (await services.identity.authenticateToken(token))!;
    const project = await services.projects.createProject(auth, { name: 'Crash' });
    const modelId = (await services.projects.getModelByName(project.id, 'main'))!.id;
    // big enough that the build takes a while on any machine
    const model = revitLikeVersion({ elements: 6000, seed: 21, extraParameters: 20 });
    await services.objects.insertBatch(project.id, [...model.children, model.root]);
    const version = await services.projects.createVersion(auth, { projectId: project.id, modelId, objectId: model.root.id });
    // this process has no worker and no event listener: the job is queued here for the server to run
    const jobId = await services.datasets.enqueueBuild(project.id, version.id);

    const tmpRoot = path.join(dataDir, 'tmp', 'datasets');
    const first = serve(env);
    const building = await until(
      'the build to start writing its main file',
      () => {
        if (first.child.exitCode !== null) throw new Error(`server exited: ${first.log()}`);
        const dirs = fs.existsSync(tmpRoot) ? fs.readdirSync(tmpRoot) : [];
        const dir = dirs.find((d) => d.split('-')[1] === String(first.child.pid) && fs.existsSync(path.join(tmpRoot, d, 'main.duckdb')));
        return dir ? path.join(tmpRoot, dir) : null;
      },
      120_000,
    );
    first.child.kill('SIGKILL');
    await first.exited;

    // nothing visible: no row, no blob; the job is still leased to the dead worker
    expect(await services.datasets.records(version.id)).toEqual({});
    const keys: string[] = [];
    for await (const k of blobs.list('datasets')) keys.push(k);
    expect(keys).toEqual([]);
    const job = await jobs.get(jobId);
    expect(job).toMatchObject({ type: DATASET_BUILD_JOB, status: 'running', attempts: 1 });
    expect(fs.existsSync(building)).toBe(true);

    // restart: the new process removes the dead one's temporary files, and retries once the lease expires
    const second = serve(env);
    await until('the temporary files of the killed build to be removed', () => !fs.existsSync(building), 60_000, 50);
    const recs = await until(
      'the retried build',
      async () => {
        if (second.child.exitCode !== null) throw new Error(`server exited: ${second.log()}`);
        const r = await services.datasets.records(version.id);
        return r.main?.status === 'ready' && r.eav?.status === 'ready' ? r : null;
      },
      150_000,
      200,
    );
    expect(await jobs.get(jobId)).toMatchObject({ status: 'done', attempts: 2 });

    const file = path.join(dataDir, 'check.duckdb');
    for (const [k, expectRows] of [
      ['main', model.expected.objectCount],
      ['eav', recs.eav!.rowCount],
    ] as const) {
      const blob = (await blobs.get(recs[k]!.blobKey!))!;
      const chunks: Buffer[] = [];
      for await (const c of blob.stream) chunks.push(c as Buffer);
      fs.writeFileSync(file, Buffer.concat(chunks));
      const instance = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
      const con = await instance.connect();
      const n = (await con.runAndReadAll(`SELECT COUNT(*) AS n FROM ${k === 'main' ? 'objects' : 'properties'}`)).getRows()[0][0];
      con.closeSync();
      instance.closeSync();
      expect(Number(n)).toBe(expectRows);
      fs.rmSync(file);
    }
    second.child.kill('SIGTERM');
    await second.exited;
  });
});
