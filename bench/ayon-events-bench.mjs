#!/usr/bin/env node
// AYON events and event jobs: REST dispatch rate and enroll throughput/latency, on an empty events
// table and with 1,000,000 events in it.
//
// Per store (SQLite, then PostgreSQL) it spawns `node packages/server/dist/main.js serve` on a fresh
// data dir / database, makes an admin (CLI) and a service user, then measures (phase "empty"):
//   - POST /api/events dispatch rate (8 concurrent senders, `ayon_api.dispatch_event` bodies);
//   - enroll jobs/s with 1, 4 and 16 concurrent workers (each: POST /api/enroll → PATCH finished,
//     distinct senders, until 204), and the enroll request latency p50/p99;
//   - the latency of an enroll that finds nothing to do (204).
// Then it stops the server, bulk-inserts 1,000,000 events straight into `ayon_events` (one
// INSERT … SELECT over a generated series), starts it again and measures the same (phase "1M"). The seed is
// built to hurt: 700k entity.* events, 100k log.*, 100k source-topic events older than the 3-day
// window, and 50k source-topic events inside the window that already have a finished job (so the
// enroll scan has to step over them) plus those 50k jobs. It prints the ratio 1M / empty of the
// enroll latencies.
//
// Usage: node bench/ayon-events-bench.mjs [--no-pg] [--sources 400] [--seed 1000000]
// PostgreSQL: BENCH_PG_URL (default postgres://atrium@127.0.0.1:54329/postgres, from
// scripts/test-postgres.sh start); unreachable → skipped, said so. 127.0.0.1 only; everything
// started is stopped and every temp dir/database removed.

import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MAIN = path.join(ROOT, 'packages/server/dist/main.js');
const require = createRequire(path.join(ROOT, 'packages/server/package.json'));
const argv = process.argv.slice(2);
const num = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  return i < 0 ? def : Number(argv[i + 1]);
};
const SOURCES = num('sources', 400);
const SEED = num('seed', 1_000_000);
const WITH_PG = !argv.includes('--no-pg');
const PG_URL = process.env.BENCH_PG_URL || 'postgres://atrium@127.0.0.1:54329/postgres';
const SRC = 'bench.source';
const TGT = 'bench.processed';
const DAY = 86_400_000;

if (!fs.existsSync(MAIN)) {
  console.error('packages/server/dist/main.js is missing: run `npm run build` first');
  process.exit(2);
}

const children = new Set();
const tmpDirs = new Set();
const dbs = new Set();
function cleanup() {
  for (const c of children) try { c.kill('SIGKILL'); } catch {}
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
  if (dbs.size) {
    const names = [...dbs];
    spawnSync(process.execPath, ['-e', `const pg=require('pg');const c=new pg.Client(${JSON.stringify(PG_URL)});c.connect().then(async()=>{for(const n of ${JSON.stringify(names)})await c.query('drop database if exists '+n+' with (force)');await c.end()})`], { cwd: path.join(ROOT, 'packages/server'), timeout: 30_000 });
  }
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

const freePort = () => new Promise((res) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); }); });
const pct = (a, p) => { const v = [...a].sort((x, y) => x - y); return v.length ? v[Math.min(v.length - 1, Math.round((p / 100) * (v.length - 1)))] : NaN; };
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');

async function startServer(kind) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atrium-evbench-'));
  tmpDirs.add(dir);
  const port = await freePort();
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ATRIUM_'))), ATRIUM_PORT: String(port), ATRIUM_HOST: '127.0.0.1', ATRIUM_DATA_DIR: dir, ATRIUM_LOG_LEVEL: 'warn' };
  let dbUrl = null;
  if (kind === 'postgres') {
    const pg = require('pg');
    const name = `atrium_evbench_${randomBytes(4).toString('hex')}`;
    const c = new pg.Client(PG_URL);
    await c.connect();
    await c.query(`create database ${name}`);
    await c.end();
    dbs.add(name);
    dbUrl = PG_URL.replace(/\/[^/]*$/, `/${name}`);
    env.ATRIUM_DATABASE_URL = dbUrl;
  }
  const cli = spawnSync(process.execPath, [MAIN, 'users', 'create', '--email', 'bench@example.com', '--name', 'Bench', '--password', 'bench-password-1', '--admin'], { env, encoding: 'utf8' });
  if (cli.status !== 0) throw new Error(cli.stderr);
  const s = { kind, dir, dbUrl, env, child: null };
  s.start = async () => {
    const child = spawn(process.execPath, [MAIN, 'serve'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    children.add(child);
    s.child = child;
    for (let i = 0; i < 300; i++) {
      try { if ((await fetch(`http://127.0.0.1:${port}/health`)).status === 200) return; } catch {}
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('server did not start');
  };
  s.stop = async () => {
    const child = s.child;
    if (!child || child.exitCode !== null) return;
    const done = new Promise((res) => child.once('exit', res));
    child.kill('SIGTERM');
    await done;
    children.delete(child);
  };
  await s.start();
  const ayon = `http://127.0.0.1:${port}/ayon`;
  const login = await (await fetch(`${ayon}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'bench@example.com', password: 'bench-password-1' }) })).json();
  const admin = { authorization: `Bearer ${login.token}` };
  const key = randomBytes(16).toString('hex');
  const r = await fetch(`${ayon}/api/users/bench_svc`, { method: 'PUT', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify({ apiKey: key, data: { isService: true } }) });
  if (r.status !== 204) throw new Error(`service user: ${r.status}`);
  return Object.assign(s, { ayon, admin, svc: { 'x-api-key': key } });
}

async function call(url, method, headers, body) {
  const res = await fetch(url, { method, headers: { ...headers, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

/** REST dispatch of `n` source events by 8 concurrent senders; returns events/s. */
async function dispatch(s, n) {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < n) {
      const i = next++;
      const r = await call(`${s.ayon}/api/events`, 'POST', s.admin, { topic: SRC, sender: 'bench', hash: null, project: null, user: null, description: `source ${i}`, summary: { i }, payload: {}, finished: true, store: true });
      if (r.status !== 200) throw new Error(`dispatch ${r.status}`);
    }
  }));
  return n / ((performance.now() - t0) / 1000);
}

/** W workers enroll → finish until 204; returns jobs/s and enroll latencies. */
async function workers(s, w) {
  const lat = [];
  let jobs = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: w }, async (_, k) => {
    for (;;) {
      const a = performance.now();
      const r = await call(`${s.ayon}/api/enroll`, 'POST', s.svc, { sourceTopic: SRC, targetTopic: TGT, sender: `bench-w${k}` });
      lat.push(performance.now() - a);
      if (r.status === 204) return;
      if (r.status !== 200) throw new Error(`enroll ${r.status} ${JSON.stringify(r.json)}`);
      jobs++;
      const p = await call(`${s.ayon}/api/events/${r.json.id}`, 'PATCH', s.svc, { status: 'finished' });
      if (p.status !== 204) throw new Error(`patch ${p.status}`);
    }
  }));
  return { jobs, perSec: jobs / ((performance.now() - t0) / 1000), p50: pct(lat, 50), p99: pct(lat, 99) };
}

async function idleEnroll(s) {
  const lat = [];
  for (let i = 0; i < 30; i++) {
    const a = performance.now();
    const r = await call(`${s.ayon}/api/enroll`, 'POST', s.svc, { sourceTopic: SRC, targetTopic: TGT, sender: 'bench-idle' });
    lat.push(performance.now() - a);
    if (r.status !== 204) throw new Error(`idle enroll ${r.status}`);
  }
  return pct(lat, 50);
}

async function phase(s, label) {
  const out = { label, dispatch: [], runs: {} };
  for (const w of [1, 4, 16]) {
    out.dispatch.push(await dispatch(s, SOURCES));
    out.runs[w] = await workers(s, w);
    if (out.runs[w].jobs !== SOURCES) throw new Error(`expected ${SOURCES} jobs, got ${out.runs[w].jobs}`);
  }
  out.idle = await idleEnroll(s);
  out.dispatchPerSec = out.dispatch.reduce((a, b) => a + b, 0) / out.dispatch.length;
  return out;
}

/** 1M events straight into the table (see the header for the mix). */
async function seed(s) {
  const now = Date.now();
  const n = SEED;
  const entity = Math.round(n * 0.7);
  const logs = Math.round(n * 0.1);
  const old = Math.round(n * 0.1);
  const done = Math.floor((n - entity - logs - old) / 2);
  const t0 = performance.now();
  // columns: id, hash, topic, sender, sender_type, project_name, user_name, depends_on, status, retries, description, summary, payload, created_at, updated_at
  if (s.kind === 'sqlite') {
    const Database = require('libsql');
    const db = new Database(path.join(s.dir, 'atrium.db'));
    db.exec('PRAGMA busy_timeout = 10000');
    const ins = (count, idExpr, topicExpr, dep, created) =>
      db.exec(`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < ${count})
        INSERT INTO ayon_events (id, hash, topic, sender, sender_type, project_name, user_name, depends_on, status, retries, description, summary, payload, created_at, updated_at)
        SELECT ${idExpr}, 'seed-' || ${idExpr}, ${topicExpr}, 'seed', 'api', 'bench', 'bench', ${dep}, 'finished', 0, 'seeded event ' || x, '{"entityId":"' || x || '"}', '{}', ${created}, ${created} FROM c`);
    db.exec('BEGIN');
    ins(entity, "printf('e%031x', x)", "'entity.' || (CASE x % 4 WHEN 0 THEN 'folder' WHEN 1 THEN 'task' WHEN 2 THEN 'version' ELSE 'product' END) || '.created'", 'NULL', `${now - 30 * DAY} + x * 3`);
    ins(logs, "printf('l%031x', x)", "'log.info'", 'NULL', `${now - 5 * DAY} + x * 4`);
    ins(old, "printf('o%031x', x)", `'${SRC}'`, 'NULL', `${now - 30 * DAY} + x * 20`);
    ins(done, "printf('s%031x', x)", `'${SRC}'`, 'NULL', `${now - 2 * DAY} + x * 3`);
    ins(done, "printf('j%031x', x)", `'${TGT}'`, "printf('s%031x', x)", `${now - 2 * DAY} + x * 3 + 1`);
    db.exec('COMMIT');
    db.close();
  } else {
    const pg = require('pg');
    const c = new pg.Client(s.dbUrl);
    await c.connect();
    const ins = (count, p, topicExpr, dep, created) =>
      c.query(`INSERT INTO ayon_events (id, hash, topic, sender, sender_type, project_name, user_name, depends_on, status, retries, description, summary, payload, created_at, updated_at)
        SELECT '${p}' || lpad(to_hex(x), 31, '0'), 'seed-${p}' || x, ${topicExpr}, 'seed', 'api', 'bench', 'bench', ${dep}, 'finished', 0, 'seeded event ' || x, '{"entityId":"' || x || '"}', '{}', ${created}, ${created} FROM generate_series(1, ${count}) x`);
    await ins(entity, 'e', "'entity.' || (CASE x % 4 WHEN 0 THEN 'folder' WHEN 1 THEN 'task' WHEN 2 THEN 'version' ELSE 'product' END) || '.created'", 'NULL', `${now - 30 * DAY}::bigint + x * 3`);
    await ins(logs, 'l', "'log.info'", 'NULL', `${now - 5 * DAY}::bigint + x * 4`);
    await ins(old, 'o', `'${SRC}'`, 'NULL', `${now - 30 * DAY}::bigint + x * 20`);
    await ins(done, 's', `'${SRC}'`, 'NULL', `${now - 2 * DAY}::bigint + x * 3`);
    await ins(done, 'j', `'${TGT}'`, "'s' || lpad(to_hex(x), 31, '0')", `${now - 2 * DAY}::bigint + x * 3 + 1`);
    await c.query('ANALYZE ayon_events'); // what autovacuum does shortly after a bulk load
    await c.end();
  }
  return { rows: entity + logs + old + 2 * done, seconds: (performance.now() - t0) / 1000, done };
}

async function bench(kind) {
  const s = await startServer(kind);
  try {
    const empty = await phase(s, 'empty');
    // the seed writes straight into the database with the server stopped (an outside writer on a
    // live SQLite file is not something Atrium supports), then the server starts again
    await s.stop();
    const sd = await seed(s);
    await s.start();
    console.log(`${kind}: seeded ${sd.rows.toLocaleString()} events in ${sd.seconds.toFixed(1)} s (${sd.done.toLocaleString()} in-window sources already processed)`);
    const big = await phase(s, '1M');
    console.log(`\n${kind}                         | empty table        | ${sd.rows.toLocaleString()} events | ratio`);
    console.log(`dispatch (REST, 8 senders)     | ${f1(empty.dispatchPerSec).padStart(8)} events/s | ${f1(big.dispatchPerSec).padStart(8)} events/s | ${(big.dispatchPerSec / empty.dispatchPerSec).toFixed(2)}`);
    for (const w of [1, 4, 16]) {
      const a = empty.runs[w];
      const b = big.runs[w];
      console.log(`enroll+finish, ${String(w).padStart(2)} workers      | ${f1(a.perSec).padStart(8)} jobs/s   | ${f1(b.perSec).padStart(8)} jobs/s   | ${(b.perSec / a.perSec).toFixed(2)}`);
      console.log(`  enroll latency p50 / p99     | ${f1(a.p50)} / ${f1(a.p99)} ms | ${f1(b.p50)} / ${f1(b.p99)} ms | p50 ×${(b.p50 / a.p50).toFixed(2)}`);
    }
    console.log(`enroll with nothing to do (204) p50 | ${f1(empty.idle)} ms | ${f1(big.idle)} ms | ×${(big.idle / empty.idle).toFixed(2)}`);
  } finally {
    await s.stop();
  }
}

console.log(`ayon-events-bench: node ${process.version}, ${os.cpus().length} cpus (${os.cpus()[0]?.model.trim()}), load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}, ${SOURCES} sources per run`);
await bench('sqlite');
if (WITH_PG) {
  let ok = false;
  try {
    const pg = require('pg');
    const c = new pg.Client(PG_URL);
    await c.connect();
    await c.end();
    ok = true;
  } catch {
    console.log(`PostgreSQL at ${PG_URL} not reachable: skipped`);
  }
  if (ok) await bench('postgres');
}
console.log(`load at end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
process.exit(0);
