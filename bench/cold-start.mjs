#!/usr/bin/env node
// Cold start and idle memory of the Atrium server.
//
// Builds nothing: run `npm run build` first (it times packages/server/dist as it is).
//
// For each store (SQLite, the embedded default; then PostgreSQL, for information) and each of
// N runs it spawns `node packages/server/dist/main.js serve` directly (no wrapper) on a fresh
// data dir (and, on PostgreSQL, a fresh database) on a free loopback port, and times
//   - spawn → the "Atrium listening at" log line,
//   - spawn → the first 200 from GET /readiness (polled every 5 ms),
//   - the server's own CPU time (user+sys, /proc/<pid>/stat) at that moment, which other work on the
//     machine inflates much less than the wall-clock figures,
// then stops it and starts it again on the same data dir ("restart": migrations already applied).
// Then, per store, a warm server (ready, then 20 serverInfo requests) is left idle for ~5 s and
// VmRSS / VmHWM of the node process are read from /proc/<pid>/status.
//
// Usage: node bench/cold-start.mjs [--runs 10] [--idle-seconds 5] [--mem-runs 3] [--no-pg]
// PostgreSQL: BENCH_PG_URL (admin URL; default postgres://atrium@127.0.0.1:54329/postgres, the one
// scripts/test-postgres.sh start prints). When it cannot be reached the PostgreSQL part is skipped.
// Only 127.0.0.1 is used. Every process started is stopped and every temp dir/database removed,
// also on Ctrl-C; every wait is bounded in time.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MAIN = path.join(ROOT, 'packages/server/dist/main.js');
const HOST = '127.0.0.1';
const TARGET_MS = 1000;
const TARGET_RSS_MB = 150;
const POLL_MS = 5;
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const SERVER_INFO_QUERY =
  'query Server {\n  serverInfo {\n    name\n    company\n    description\n    adminContact\n    canonicalUrl\n    version\n    scopes {\n      name\n      description\n    }\n    authStrategies {\n      id\n      name\n      icon\n    }\n    workspaces {\n      workspacesEnabled\n    }\n  }\n}';

// ---------- arguments ----------
const argv = process.argv.slice(2);
function opt(name, def) {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(argv[i + 1]);
  if (!Number.isInteger(v) || v < 1 || v > 1000) die(`--${name} needs a whole number from 1 to 1000`);
  return v;
}
const RUNS = opt('runs', 10);
const IDLE_S = opt('idle-seconds', 5);
const MEM_RUNS = opt('mem-runs', 3);
const WITH_PG = !argv.includes('--no-pg');
const PG_ADMIN_URL = process.env.BENCH_PG_URL || 'postgres://atrium@127.0.0.1:54329/postgres';

function die(msg) {
  console.error(`cold-start: ${msg}`);
  process.exit(2);
}
if (!fs.existsSync(MAIN)) die(`${path.relative(process.cwd(), MAIN)} is missing: run \`npm run build\` first`);

// ---------- cleanup of everything this script starts ----------
const children = new Set(); // live server processes
const tmpDirs = new Set();
const databases = new Set(); // PostgreSQL databases created here
let pgClient; // admin connection, opened only when PostgreSQL is measured
let cleaned = false;

function cleanupSync() {
  cleaned = true;
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {}
  }
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
  if (databases.size) {
    // synchronous on purpose (we may be on the way out): psql when present, otherwise a child node with pg
    const names = [...databases];
    const code = `const pg=require('pg');const c=new pg.Client(process.argv[1]);c.connect().then(async()=>{for(const n of process.argv.slice(2))await c.query('drop database if exists "'+n+'" with (force)');await c.end()}).catch(e=>{console.error(e.message);process.exit(1)})`;
    spawnSync(process.execPath, ['-e', code, PG_ADMIN_URL, ...names], { cwd: ROOT, stdio: 'inherit', timeout: 15_000 });
  }
}
async function cleanup() {
  if (cleaned) return;
  cleaned = true;
  await Promise.all([...children].map((c) => stopServer(c)));
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
  tmpDirs.clear();
  if (pgClient) {
    for (const n of [...databases]) {
      await pgClient.query(`drop database if exists "${n}" with (force)`).catch(() => {});
      databases.delete(n);
    }
    await pgClient.end().catch(() => {});
  }
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    console.error(`\ncold-start: ${sig}, cleaning up`);
    cleanupSync();
    process.exit(130);
  });
}
process.on('exit', () => {
  if (!cleaned) cleanupSync();
});

// ---------- helpers ----------
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function request(port, method, urlPath, body) {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: HOST,
        port,
        method,
        path: urlPath,
        agent: false,
        timeout: 2000,
        headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {},
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', () => resolve({ status: 0 }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0 }));
    req.end(body);
  });
}

function serverEnv(port, dataDir, dbUrl) {
  const env = {};
  // nothing from the caller's ATRIUM_* settings leaks in (an ATRIUM_ADMIN_EMAIL would change what starting does)
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ATRIUM_')) env[k] = v;
  Object.assign(env, {
    ATRIUM_HOST: HOST,
    ATRIUM_PORT: String(port),
    ATRIUM_DATA_DIR: dataDir,
    ATRIUM_LOG_LEVEL: 'info', // the "listening" line is logged at info
  });
  if (dbUrl) env.ATRIUM_DATABASE_URL = dbUrl;
  return env;
}

/** Spawns the server and resolves when /readiness first answers 200, with both timings in ms. */
async function startServer({ dataDir, dbUrl }) {
  const port = await freePort();
  const env = serverEnv(port, dataDir, dbUrl);
  const t0 = performance.now();
  const child = spawn(process.execPath, [MAIN, 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let listenMs;
  let exited = null;
  let out = '';
  let tail = '';
  const onData = (chunk) => {
    const s = chunk.toString('utf8');
    if (listenMs === undefined) {
      out += s;
      if (out.includes('Atrium listening at')) {
        listenMs = performance.now() - t0;
        out = '';
      } else if (out.length > 65536) out = out.slice(-4096);
    }
    tail = (tail + s).slice(-4000);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  child.on('exit', (code, signal) => {
    exited = { code, signal };
    children.delete(child);
  });

  const deadline = t0 + START_TIMEOUT_MS;
  for (;;) {
    if (exited) throw new Error(`server exited before ready (${JSON.stringify(exited)}):\n${tail}`);
    if (performance.now() > deadline) {
      await stopServer(child);
      throw new Error(`server not ready within ${START_TIMEOUT_MS} ms:\n${tail}`);
    }
    const res = await request(port, 'GET', '/readiness');
    if (res.status === 200) break;
    await sleep(POLL_MS);
  }
  const readyMs = performance.now() - t0;
  const cpuMs = cpuMsOf(child.pid);
  // the log line is written before the first request can be answered; give the pipe a moment
  for (let i = 0; listenMs === undefined && i < 200 && !exited; i++) await sleep(5);
  return { child, port, readyMs, listenMs, cpuMs };
}

function stopServer(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      children.delete(child);
      return resolve();
    }
    const t = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(t);
      children.delete(child);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function newDataDir() {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'atrium-bench-cold-'));
  tmpDirs.add(d);
  return d;
}
function removeDataDir(d) {
  fs.rmSync(d, { recursive: true, force: true });
  tmpDirs.delete(d);
}

let dbSeq = 0;
async function newDatabase() {
  const name = `atrium_bench_cold_${process.pid}_${++dbSeq}`;
  await pgClient.query(`create database "${name}"`);
  databases.add(name);
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  return { name, url: u.toString() };
}
async function dropDatabase(name) {
  await pgClient.query(`drop database if exists "${name}" with (force)`);
  databases.delete(name);
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
/** user + system CPU time the process has used so far (clock-tick resolution, usually 10 ms) */
function cpuMsOf(pid) {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return NaN;
  }
}

function procStatus(pid) {
  const txt = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(txt)?.[1] ?? NaN);
  return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM'), anonKb: kb('RssAnon'), fileKb: kb('RssFile') };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const stats = (xs) => ({ min: Math.min(...xs), median: median(xs), max: Math.max(...xs) });
const ms = (x) => `${Math.round(x)} ms`;
const mb = (kb) => `${(kb / 1024).toFixed(1)} MB`;
const pad = (s, n) => String(s).padEnd(n);

function row(label, xs, fmt, target, targetLabel) {
  const s = stats(xs);
  const ratio = target ? `   median = ${(s.median / target).toFixed(2)}× the ${targetLabel} target` : '';
  console.log(`  ${pad(label, 38)} min ${pad(fmt(s.min), 9)} median ${pad(fmt(s.median), 9)} max ${pad(fmt(s.max), 9)}${ratio}`);
}

// ---------- measurements ----------
async function coldStarts(kind) {
  const fresh = { ready: [], listen: [], cpu: [] };
  const restart = { ready: [], listen: [], cpu: [] };
  for (let i = 0; i < RUNS; i++) {
    const dataDir = newDataDir();
    const db = kind === 'postgres' ? await newDatabase() : undefined;
    try {
      const a = await startServer({ dataDir, dbUrl: db?.url });
      await stopServer(a.child);
      const b = await startServer({ dataDir, dbUrl: db?.url });
      await stopServer(b.child);
      fresh.ready.push(a.readyMs);
      fresh.listen.push(a.listenMs ?? NaN);
      fresh.cpu.push(a.cpuMs);
      restart.ready.push(b.readyMs);
      restart.listen.push(b.listenMs ?? NaN);
      restart.cpu.push(b.cpuMs);
      process.stderr.write(`  ${kind} run ${i + 1}/${RUNS}: fresh ready ${ms(a.readyMs)}, restart ready ${ms(b.readyMs)}\n`);
    } finally {
      if (db) await dropDatabase(db.name);
      removeDataDir(dataDir);
    }
  }
  return { fresh, restart };
}

async function idleMemory(kind) {
  const out = [];
  for (let i = 0; i < MEM_RUNS; i++) {
    const dataDir = newDataDir();
    const db = kind === 'postgres' ? await newDatabase() : undefined;
    try {
      const s = await startServer({ dataDir, dbUrl: db?.url });
      try {
        const atReady = procStatus(s.child.pid);
        const body = JSON.stringify({ query: SERVER_INFO_QUERY });
        for (let j = 0; j < 20; j++) {
          const r = await request(s.port, 'POST', '/graphql', body);
          if (r.status !== 200 || !r.body.includes('"serverInfo"')) throw new Error(`serverInfo answered ${r.status}: ${r.body?.slice(0, 300)}`);
        }
        await sleep(IDLE_S * 1000);
        const idle = procStatus(s.child.pid);
        out.push({ readyKb: atReady.rssKb, ...idle });
        process.stderr.write(`  ${kind} memory ${i + 1}/${MEM_RUNS}: VmRSS at ready ${mb(atReady.rssKb)}, after ${IDLE_S} s idle ${mb(idle.rssKb)}\n`);
      } finally {
        await stopServer(s.child);
      }
    } finally {
      if (db) await dropDatabase(db.name);
      removeDataDir(dataDir);
    }
  }
  return out;
}

function bareNode() {
  // the floor under every figure: starting and exiting node itself, and loading the server's modules
  const bare = [];
  const load = [];
  const loadCode = `import(${JSON.stringify(path.join(ROOT, 'packages/server/dist/app.js'))}).then(()=>process.exit(0))`;
  for (let i = 0; i < RUNS; i++) {
    let t = performance.now();
    spawnSync(process.execPath, ['-e', '0'], { stdio: 'ignore', timeout: 10_000 });
    bare.push(performance.now() - t);
    t = performance.now();
    spawnSync(process.execPath, ['-e', loadCode], { cwd: ROOT, stdio: 'ignore', timeout: 20_000 });
    load.push(performance.now() - t);
  }
  return { bare, load };
}

function report(kind, cold, mem) {
  console.log(`\n${kind === 'sqlite' ? 'SQLite (embedded default)' : 'PostgreSQL (for information)'} — ${RUNS} runs`);
  row('fresh data dir: spawn → listening', cold.fresh.listen, ms);
  row('fresh data dir: spawn → /readiness', cold.fresh.ready, ms, TARGET_MS, '1 s');
  row('  server CPU time (user+sys) to ready', cold.fresh.cpu, ms);
  row('restart (migrated): → listening', cold.restart.listen, ms);
  row('restart (migrated): → /readiness', cold.restart.ready, ms, TARGET_MS, '1 s');
  row('  server CPU time (user+sys) to ready', cold.restart.cpu, ms);
  if (mem.length) {
    console.log(`  idle memory, ${mem.length} warm server(s), read after ${IDLE_S} s idle:`);
    row('VmRSS at first ready', mem.map((m) => m.readyKb), mb);
    row(`VmRSS after ${IDLE_S} s idle`, mem.map((m) => m.rssKb), mb, TARGET_RSS_MB * 1024, '150 MB');
    row('  of which RssAnon (heap etc.)', mem.map((m) => m.anonKb), mb);
    row('  of which RssFile (code, libs)', mem.map((m) => m.fileKb), mb);
    row('VmHWM (peak)', mem.map((m) => m.hwmKb), mb);
  }
  const s = stats(cold.fresh.ready);
  const r = mem.length ? median(mem.map((m) => m.rssKb)) : NaN;
  console.log(
    `  => cold start median ${ms(s.median)} = ${(s.median / TARGET_MS).toFixed(2)}× the 1 s target` +
      (mem.length ? `; idle VmRSS median ${mb(r)} = ${(r / 1024 / TARGET_RSS_MB).toFixed(2)}× the 150 MB target` : ''),
  );
}

async function main() {
  console.log(`cold-start bench — ${new Date().toISOString()}`);
  console.log(
    `machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model?.trim()}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, ${os.platform()} ${os.release()}`,
  );
  console.log(`load average at start: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} (other work on this machine skews every figure)`);
  console.log(`server: ${path.relative(process.cwd(), MAIN)} (not rebuilt by this script), /readiness polled every ${POLL_MS} ms`);

  process.stderr.write('node itself…\n');
  const base = bareNode();
  console.log(`\nbaseline — ${RUNS} runs`);
  row('node -e 0 (spawn → exit)', base.bare, ms);
  row('node importing dist/app.js → exit', base.load, ms);

  process.stderr.write('SQLite…\n');
  const sqCold = await coldStarts('sqlite');
  const sqMem = await idleMemory('sqlite');
  report('sqlite', sqCold, sqMem);

  if (WITH_PG) {
    let pg;
    try {
      pg = (await import('pg')).default;
      pgClient = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
      await pgClient.connect();
    } catch (e) {
      pgClient = undefined;
      console.log(`\nPostgreSQL skipped: cannot reach ${PG_ADMIN_URL} (${e.message}); start one with scripts/test-postgres.sh start or set BENCH_PG_URL`);
    }
    if (pgClient) {
      const v = (await pgClient.query('show server_version')).rows[0].server_version;
      const fsync = (await pgClient.query('show fsync')).rows[0].fsync;
      process.stderr.write('PostgreSQL…\n');
      const pgCold = await coldStarts('postgres');
      const pgMem = await idleMemory('postgres');
      report('postgres', pgCold, pgMem);
      console.log(`  (PostgreSQL ${v} on 127.0.0.1, fsync=${fsync}; a fresh database per run)`);
    }
  }
  console.log(`\nload average at the end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

main()
  .then(cleanup)
  .catch(async (e) => {
    console.error(`cold-start: ${e.stack ?? e}`);
    await cleanup();
    process.exit(1);
  });
