#!/usr/bin/env node
// Ingest through the Speckle REST transport vs. a plain bulk insert of the same rows, same database,
// same run: the ratio the Speckle data issue asks for (target ≥ 0.5).
//
// Builds nothing: run `npm run build` first. A server is built in-process from packages/server/dist
// on a free 127.0.0.1 port with a fresh data dir (and, for PostgreSQL, a fresh database).
//   1. N specklepy-shaped objects (default 100,000; ~470-byte JSON each, 32-hex ids) are cut into
//      batches like specklepy's (< 1,000,000 chars, < 20,000 objects) and gzipped BEFORE timing.
//   2. REST ingest: 4 concurrent senders, each batch POST /api/diff then POST /objects (multipart,
//      application/gzip), as specklepy's BatchSender does → objects/s, MB/s.
//   3. Bulk insert: the same rows into the same `objects` table (another project) with Kysely, one
//      transaction per batch, 500-row INSERTs, sequential → objects/s.
//   4. ratio = REST objects/s ÷ bulk objects/s.
// Usage: node bench/objects-ingest-ratio.mjs [--objects 100000] [--no-pg]
// PostgreSQL: BENCH_PG_URL (default postgres://atrium@127.0.0.1:54329/postgres); skipped if unreachable.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'packages/server/dist');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const N = Number(arg('objects', '100000'));
const withPg = !process.argv.includes('--no-pg');
const pgAdmin = process.env.BENCH_PG_URL ?? 'postgres://atrium@127.0.0.1:54329/postgres';

const { loadConfig } = await import(path.join(dist, 'config.js'));
const { buildApp } = await import(path.join(dist, 'app.js'));

function makeObjects(n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const id = randomBytes(16).toString('hex');
    const verts = Array.from({ length: 24 }, (_, k) => ((i * 31 + k * 7) % 1000) / 10);
    out.push(`{"id":"${id}","speckle_type":"Objects.Geometry.Mesh","totalChildrenCount":0,"applicationId":"app-${i}","units":"m","name":"element ${i}","vertices":[${verts.join(',')}],"faces":[3,0,1,2,3,3,4,5,3,6,7,8],"properties":{"category":"Walls","level":"Level ${i % 12}","mark":"W-${i}"}}`);
  }
  return out;
}

function batches(texts) {
  const out = [];
  let cur = [];
  let size = 0;
  for (const t of texts) {
    if (cur.length && (size + t.length >= 1_000_000 || cur.length >= 20_000)) {
      out.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(t);
    size += t.length;
  }
  if (cur.length) out.push(cur);
  return out.map((b) => ({ ids: b.map((t) => t.slice(7, 39)), texts: b, gz: gzipSync(`[${b.join(',')}]`), chars: size }));
}

async function freshPgDb() {
  const pg = (await import('pg')).default;
  const c = new pg.Client({ connectionString: pgAdmin });
  await c.connect();
  const name = `atrium_bench_${randomBytes(6).toString('hex')}`;
  await c.query(`create database ${name}`);
  await c.end();
  const u = new URL(pgAdmin);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    drop: async () => {
      const d = new pg.Client({ connectionString: pgAdmin });
      await d.connect();
      await d.query(`drop database if exists ${name} with (force)`);
      await d.end();
    },
  };
}

async function run(kind) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atrium-ingest-'));
  let pgdb;
  const env = { ATRIUM_PORT: '0', ATRIUM_HOST: '127.0.0.1', ATRIUM_DATA_DIR: dir, ATRIUM_LOG_LEVEL: 'silent', ATRIUM_JOB_WORKERS: '0' };
  if (kind === 'postgres') {
    pgdb = await freshPgDb();
    env.ATRIUM_DATABASE_URL = pgdb.url;
  }
  const app = await buildApp(loadConfig(env), { logger: false });
  const url = await app.listen();
  try {
    const user = await app.services.identity.createUser({ email: 'bench@example.com', name: 'Bench', password: 'bench password', role: 'admin' });
    const { token } = await app.services.identity.mintToken({ userId: user.id, name: 'b', scopes: ['streams:read', 'streams:write', 'profile:read'] });
    const auth = await app.services.identity.authenticateToken(token);
    const p1 = await app.services.projects.createProject(auth, { name: 'rest' });
    const p2 = await app.services.projects.createProject(auth, { name: 'bulk' });
    const texts = makeObjects(N);
    const bs = batches(texts);
    const mb = bs.reduce((a, b) => a + b.chars, 0) / 1e6;

    // REST ingest, 4 senders
    let next = 0;
    const t0 = performance.now();
    const sender = async () => {
      for (;;) {
        const b = bs[next++];
        if (!b) return;
        const diff = await fetch(`${url}/api/diff/${p1.id}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ objects: JSON.stringify(b.ids) }).toString(),
        });
        if (diff.status !== 200) throw new Error(`diff ${diff.status}`);
        await diff.arrayBuffer();
        const form = new FormData();
        form.append('batch-1', new Blob([b.gz], { type: 'application/gzip' }), 'batch-1');
        const up = await fetch(`${url}/objects/${p1.id}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
        if (up.status !== 201) throw new Error(`upload ${up.status}: ${await up.text()}`);
      }
    };
    await Promise.all([sender(), sender(), sender(), sender()]);
    const restS = (performance.now() - t0) / 1000;

    // plain bulk insert of the same rows
    const db = app.store.db;
    const t1 = performance.now();
    for (const b of bs) {
      await db.transaction().execute(async (trx) => {
        for (let i = 0; i < b.texts.length; i += 500) {
          const rows = b.texts.slice(i, i + 500).map((t, k) => ({ project_id: p2.id, id: b.ids[i + k], speckle_type: 'Objects.Geometry.Mesh', total_children_count: null, data: t, created_at: Date.now() }));
          await trx.insertInto('objects').values(rows).execute();
        }
      });
    }
    const bulkS = (performance.now() - t1) / 1000;
    const count = async (pid) => Number((await db.selectFrom('objects').select((eb) => eb.fn.countAll().as('n')).where('project_id', '=', pid).executeTakeFirstOrThrow()).n);
    const [c1, c2] = [await count(p1.id), await count(p2.id)];
    if (c1 !== N || c2 !== N) throw new Error(`stored ${c1} / ${c2}, expected ${N}`);
    const rest = N / restS;
    const bulk = N / bulkS;
    console.log(`${kind}: ${N} objects, ${mb.toFixed(1)} MB JSON in ${bs.length} batches`);
    console.log(`  REST ingest (4 senders): ${restS.toFixed(2)} s = ${rest.toFixed(0)} objects/s, ${(mb / restS).toFixed(1)} MB/s`);
    console.log(`  plain bulk insert:       ${bulkS.toFixed(2)} s = ${bulk.toFixed(0)} objects/s, ${(mb / bulkS).toFixed(1)} MB/s`);
    console.log(`  ratio REST / bulk = ${(rest / bulk).toFixed(2)} (target ≥ 0.5)`);
  } finally {
    await app.close();
    await pgdb?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`objects ingest ratio — ${new Date().toISOString()}, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
await run('sqlite');
if (withPg) {
  try {
    await run('postgres');
  } catch (e) {
    console.log(`postgres: skipped or failed: ${e.message}`);
  }
}
