#!/usr/bin/env node
// AYON `/ws` fan-out latency: from an entity change's commit to its event at every subscribed socket.
//
// Runs Atrium from source (re-executes itself under `node --import tsx`), in this process, on a fresh
// SQLite data dir and — when reachable — on a fresh PostgreSQL database, with one node and with two
// nodes sharing the database (events crossing through LISTEN/NOTIFY). N sockets open `/ayon/ws`, send
// AYON's auth message (a session token from login, `subscribe: ["entity.folder"]`); the bench then
// creates folders one at a time over HTTP (`POST /ayon/api/projects/{p}/folders`, what ayon_api's
// create_folder sends) and times, for each:
//   commit → event   `entity.folder.created` is published on the bus right after its transaction
//                    commits; a bus listener on the writing node stamps that moment; each socket stamps
//                    its arrival. Reported: every delivery, and the last of the N per folder;
//   request → event  from sending the HTTP request to the last arrival (what a user sees, an upper bound).
// Everything runs in one process and one clock; the clients and servers share the event loop (and the
// machine's 2 cores), so the figures include that contention.
//
// Usage: node bench/ayon-ws-fanout.mjs [--iterations 200] [--subscribers 100] [--no-pg]
// PostgreSQL: BENCH_PG_URL (admin URL; default postgres://atrium@127.0.0.1:54329/postgres, the one
// scripts/test-postgres.sh start prints). 127.0.0.1 only; temp dirs and databases are removed at the end.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

if (!process.env.ATRIUM_BENCH_UNDER_TSX) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    cwd: ROOT,
    env: { ...process.env, ATRIUM_BENCH_UNDER_TSX: '1' },
  });
  process.exit(r.status ?? 1);
}

const argv = process.argv.slice(2);
function opt(name, def) {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(argv[i + 1]);
  if (!Number.isInteger(v) || v < 1 || v > 100_000) {
    console.error(`ayon-ws-fanout: --${name} needs a whole number`);
    process.exit(2);
  }
  return v;
}
const ITERATIONS = opt('iterations', 200);
const WARMUP = 20;
const SUBSCRIBERS = opt('subscribers', 100);
const WITH_PG = !argv.includes('--no-pg');
const PG_ADMIN_URL = process.env.BENCH_PG_URL || 'postgres://atrium@127.0.0.1:54329/postgres';

const { default: WebSocket } = await import('ws');
const { default: pg } = await import('pg');
const { loadConfig } = await import(path.join(ROOT, 'packages/server/src/config.ts'));
const { buildApp } = await import(path.join(ROOT, 'packages/server/src/app.ts'));

const cleanups = [];
async function cleanup() {
  while (cleanups.length) await cleanups.pop()().catch(() => {});
}
process.on('SIGINT', () => cleanup().finally(() => process.exit(130)));

async function startNode(database) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'atrium-bench-ayonws-'));
  const config = loadConfig({ ATRIUM_PORT: '0', ATRIUM_HOST: '127.0.0.1', ATRIUM_DATA_DIR: dataDir, ATRIUM_LOG_LEVEL: 'silent' });
  if (database) config.database = database;
  const app = await buildApp(config, { logger: false });
  const url = await app.listen();
  config.publicUrl = url;
  cleanups.push(async () => {
    await app.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  return { app, url, config };
}

async function tempPgDatabase() {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2000 });
  await admin.connect();
  const name = `atrium_bench_${Math.random().toString(16).slice(2, 12)}`;
  await admin.query(`create database ${name}`);
  await admin.end();
  cleanups.push(async () => {
    const c = new pg.Client({ connectionString: PG_ADMIN_URL });
    await c.connect();
    await c.query(`drop database if exists ${name} with (force)`);
    await c.end();
  });
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  return { kind: 'postgres', url: u.toString(), poolSize: 10 };
}

async function http(base, method, p, token, body) {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 400) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** an authenticated /ws socket; `onEvent(msg, t)` for every pushed event */
async function subscriber(url, token, onEvent) {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ayon/ws`);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.on('message', (raw) => {
    const t = performance.now();
    const m = JSON.parse(String(raw));
    if (m.topic !== 'heartbeat') onEvent(m, t);
  });
  ws.send(JSON.stringify({ topic: 'auth', token, subscribe: ['entity.folder'] }));
  cleanups.push(async () => ws.close());
  return ws;
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  return { n: s.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: s[s.length - 1] };
}
const fmt = (x) => x.toFixed(2).padStart(7);

let seq = 0;
/** Folders are written on `writer`; `nSubscribers` sockets listen on `reader`. */
async function scenario(writer, reader, nSubscribers) {
  const n = ++seq;
  const email = `bench-ws-${n}-${Date.now()}@example.com`;
  await writer.app.services.identity.createUser({ email, name: 'Bench', password: 'bench-password-1', role: 'admin' });
  const { token } = await writer.app.services.ayon.users.login(email, 'bench-password-1');
  const base = `${writer.url}/ayon`;
  const project = `bench_ws_${n}_${Math.random().toString(16).slice(2, 8)}`;
  const preset = await http(base, 'GET', '/api/anatomy/presets/__primary__', token);
  await http(base, 'POST', '/api/projects', token, { name: project, code: project.slice(0, 10), anatomy: preset, library: false });

  const committedAt = new Map();
  const off = writer.app.services.bus.subscribe('ayon.event', (e) => {
    if (e.topic === 'entity.folder.created' && e.project === project) committedAt.set(e.summary.entityId, performance.now());
  });
  const arrivals = new Map(); // folder id → [times]
  const waiters = new Map();
  const onEvent = (m, t) => {
    if (m.topic !== 'entity.folder.created' || m.project !== project) return;
    const id = m.summary.entityId;
    const list = arrivals.get(id) ?? [];
    list.push(t);
    arrivals.set(id, list);
    if (list.length === nSubscribers) waiters.get(id)?.();
  };
  for (let i = 0; i < nSubscribers; i++) await subscriber(reader.url, token, onEvent);
  // auth has no reply: wait until a probe folder reaches every socket (also brings the relay up)
  for (let tries = 0; ; tries++) {
    const probe = await http(base, 'POST', `/api/projects/${project}/folders`, token, { name: `probe_${tries}`, folderType: 'Folder' });
    await new Promise((r) => setTimeout(r, 200));
    if ((arrivals.get(probe.id)?.length ?? 0) === nSubscribers) break;
    if (tries > 50) throw new Error('subscribers never all received a probe event');
  }

  const all = [];
  const last = [];
  const request = [];
  for (let i = 0; i < WARMUP + ITERATIONS; i++) {
    let arrived;
    const allArrived = new Promise((r) => (arrived = r));
    const sentAt = performance.now();
    const { id } = await http(base, 'POST', `/api/projects/${project}/folders`, token, { name: `f_${i}`, folderType: 'Folder' });
    if ((arrivals.get(id)?.length ?? 0) === nSubscribers) arrived();
    else waiters.set(id, arrived);
    let timer;
    const timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`event for ${id} not received by all in 10 s`)), 10_000)));
    await Promise.race([allArrived, timeout]);
    clearTimeout(timer);
    waiters.delete(id);
    if (i >= WARMUP) {
      const c = committedAt.get(id);
      const times = arrivals.get(id);
      for (const t of times) all.push(t - c);
      last.push(Math.max(...times) - c);
      request.push(Math.max(...times) - sentAt);
    }
  }
  off();
  return { all: stats(all), last: stats(last), request: stats(request) };
}

const rows = [];
function report(name, r) {
  rows.push({ name, ...r });
  console.log(
    `${name.padEnd(46)} commit→event every delivery p50 ${fmt(r.all.p50)} p99 ${fmt(r.all.p99)} | last of N p50 ${fmt(r.last.p50)} p99 ${fmt(r.last.p99)} max ${fmt(r.last.max)} | request→last p50 ${fmt(r.request.p50)} p99 ${fmt(r.request.p99)} ms`,
  );
}

try {
  console.log(`AYON /ws fan-out: ${ITERATIONS} folders per scenario (after ${WARMUP} warm-up), node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  const sqlite = await startNode();
  report('sqlite, 1 node, 1 subscriber', await scenario(sqlite, sqlite, 1));
  report(`sqlite, 1 node, ${SUBSCRIBERS} subscribers`, await scenario(sqlite, sqlite, SUBSCRIBERS));

  let pgdb;
  if (WITH_PG) {
    try {
      pgdb = await tempPgDatabase();
    } catch (err) {
      console.log(`PostgreSQL not reachable at ${PG_ADMIN_URL} (${err.message}); skipping its scenarios`);
    }
  }
  if (pgdb) {
    const a = await startNode(pgdb);
    const b = await startNode(pgdb);
    report(`postgres, 1 node, ${SUBSCRIBERS} subscribers`, await scenario(a, a, SUBSCRIBERS));
    report('postgres, 2 nodes (A writes, B delivers), 1 sub', await scenario(a, b, 1));
    report(`postgres, 2 nodes, ${SUBSCRIBERS} subscribers on B`, await scenario(a, b, SUBSCRIBERS));
  }
  console.log(`load at end ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
} finally {
  await cleanup();
}
