#!/usr/bin/env node
/**
 * Version dataset benchmark: for versions of ~10k and ~100k objects shaped like a Revit export
 * (bench/datasets-model.mjs), measures
 *   - time from `createVersion` to `objectKey` non-null (main file built and published) and to the EAV
 *     file being published, through the real path: event → durable job → worker (default poll 500 ms);
 *   - build time of each file as recorded by the server, and the file sizes and row counts;
 *   - the CPU time the process spent over those spans (all threads; DuckDB uses 2), which says more
 *     than wall time on a machine shared with other work.
 * Runs an in-process Atrium (packages/server/dist; `npm run build` first) on SQLite in a temporary
 * directory, or on PostgreSQL with BENCH_PG_URL=postgres://… (a database is created and dropped).
 *
 *   node bench/datasets-build.mjs [objects…]        default: 10000 100000
 *   BENCH_JOB_POLL_MS=50 node bench/datasets-build.mjs 100000
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { revitLikeVersion, DEFAULT_LEVELS, DEFAULT_CATEGORIES } from './datasets-model.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, '../packages/server/dist');
const { loadConfig } = await import(path.join(dist, 'config.js'));
const { buildApp } = await import(path.join(dist, 'app.js'));

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const targets = sizes.length ? sizes : [10_000, 100_000];
const pgUrl = process.env.BENCH_PG_URL;

async function pgAdmin(sql) {
  const { default: pg } = await import(path.join(here, '../node_modules/pg/lib/index.js'));
  const c = new pg.Client({ connectionString: pgUrl });
  await c.connect();
  await c.query(sql);
  await c.end();
}

const fmtMs = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`);
const fmtMB = (b) => `${(b / 1024 / 1024).toFixed(1)} MB`;

async function run(objects) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'atrium-bench-datasets-'));
  const dbName = `atrium_bench_${Date.now().toString(36)}`;
  const env = { ATRIUM_DATA_DIR: dataDir, ATRIUM_PORT: '0', ATRIUM_LOG_LEVEL: 'warn', ATRIUM_JOB_POLL_MS: process.env.BENCH_JOB_POLL_MS ?? '500' };
  if (pgUrl) {
    await pgAdmin(`create database ${dbName}`);
    const u = new URL(pgUrl);
    u.pathname = `/${dbName}`;
    env.ATRIUM_DATABASE_URL = u.toString();
  }
  const app = await buildApp(loadConfig(env), { logger: false });
  await app.listen();
  const s = app.services;
  try {
    const user = await s.identity.createUser({ email: 'bench@example.com', name: 'Bench', password: 'password-bench', role: 'user' });
    const { token } = await s.identity.mintToken({ userId: user.id, name: 'bench', scopes: ['streams:read', 'streams:write'] });
    const auth = await s.identity.authenticateToken(token);
    const project = await s.projects.createProject(auth, { name: `bench ${objects}` });
    const modelId = (await s.projects.getModelByName(project.id, 'main')).id;

    // elements ×2 (element + mesh) + collections ≈ objects
    const collections = DEFAULT_LEVELS.length * (DEFAULT_CATEGORIES.length + 1);
    const elements = Math.max(1, Math.round((objects - 1 - collections) / 2));
    const t0 = performance.now();
    const model = revitLikeVersion({ elements, seed: 1 });
    const tGen = performance.now();
    const all = [...model.children, model.root];
    for (let i = 0; i < all.length; i += 5000) await s.objects.insertBatch(project.id, all.slice(i, i + 5000));
    const tIns = performance.now();

    const cpu = () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    };
    const created = performance.now();
    const cpu0 = cpu();
    let cpuAtObjectKey = 0;
    const version = await s.projects.createVersion(auth, { projectId: project.id, modelId, objectId: model.root.id });
    let objectKeyAt = 0;
    let recs;
    for (;;) {
      recs = await s.datasets.records(version.id);
      if (!objectKeyAt && recs.main?.status === 'ready') {
        objectKeyAt = performance.now();
        cpuAtObjectKey = cpu() - cpu0;
      }
      if (recs.main?.status === 'failed' || recs.eav?.status === 'failed') throw new Error(`build failed: ${recs.main?.error ?? recs.eav?.error}`);
      if (recs.eav?.status === 'ready') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const eavAt = performance.now();
    const cpuAtEav = cpu() - cpu0;
    return {
      objects: model.expected.objectCount,
      elements,
      database: pgUrl ? 'postgres' : 'sqlite',
      generateMs: tGen - t0,
      insertMs: tIns - tGen,
      toObjectKeyMs: objectKeyAt - created,
      toEavMs: eavAt - created,
      cpuToObjectKeyMs: cpuAtObjectKey,
      cpuToEavMs: cpuAtEav,
      mainBuildMs: recs.main.buildMs,
      eavBuildMs: recs.eav.buildMs,
      mainBytes: recs.main.size,
      eavBytes: recs.eav.size,
      propertyRows: recs.eav.rowCount,
    };
  } finally {
    await app.close();
    if (pgUrl) await pgAdmin(`drop database if exists ${dbName} with (force)`);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

console.log(`# version datasets benchmark — ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, node ${process.version}`);
const rows = [];
for (const n of targets) {
  const r = await run(n);
  rows.push(r);
  console.log(JSON.stringify(r));
}
console.log('\n| objects | db | create → objectKey (CPU) | create → EAV ready (CPU) | main build | EAV build | main file | EAV file | property rows |');
console.log('|---:|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.objects.toLocaleString('en')} | ${r.database} | ${fmtMs(r.toObjectKeyMs)} (${fmtMs(r.cpuToObjectKeyMs)}) | ${fmtMs(r.toEavMs)} (${fmtMs(r.cpuToEavMs)}) | ${fmtMs(r.mainBuildMs)} | ${fmtMs(r.eavBuildMs)} | ${fmtMB(r.mainBytes)} | ${fmtMB(r.eavBytes)} | ${r.propertyRows.toLocaleString('en')} |`);
}
console.log(`(load after: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')})`);
