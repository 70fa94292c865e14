#!/usr/bin/env node
// Subscription delivery latency: from a mutation's commit to the websocket event at a subscriber.
//
// Runs Atrium from source (re-executes itself under `node --import tsx`), in this process, on a fresh
// SQLite data dir and — when reachable — on a fresh PostgreSQL database, with one node and with two
// nodes sharing the database (events crossing through LISTEN/NOTIFY). A client subscribes with the
// legacy protocol (`graphql-ws`, what specklepy and the web app use) to specklepy's exact
// `projectVersionsUpdated` document; the bench then creates versions one at a time through GraphQL
// (`versionMutations.create` over HTTP) and times, for each:
//   commit → event   the service publishes right after its transaction commits; a bus listener stamps
//                    that moment on the node that ran the mutation; the subscriber stamps the arrival;
//   request → event  from sending the HTTP mutation to the arrival (an upper bound, what a user sees).
// A fan-out run repeats the single-node case with many subscribed sockets and times the last arrival.
// Everything runs in one process and one clock; client and servers share the event loop, so the
// figures include that contention.
//
// Usage: node bench/subscription-latency.mjs [--iterations 200] [--subscribers 100] [--no-pg]
// PostgreSQL: BENCH_PG_URL (admin URL; default postgres://atrium@127.0.0.1:54329/postgres, the one
// scripts/test-postgres.sh start prints). Temp dirs and databases are removed at the end.

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
    console.error(`subscription-latency: --${name} needs a whole number`);
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
const { SpeckleChannels } = await import(path.join(ROOT, 'packages/server/src/services/projects.ts'));

const SUB_VERSIONS =
  'subscription ProjectVersionsUpdated($id: String!) {data:projectVersionsUpdated(id:$id) {id modelId type version {id referencedObject message sourceApplication createdAt previewUrl authorUser {id name bio company verified role avatar}}}}';
const CREATE_VERSION = 'mutation Create($input: CreateVersionInput!) {data:versionMutations {data:create(input:$input) {id}}}';

const cleanups = [];
async function cleanup() {
  while (cleanups.length) await cleanups.pop()().catch(() => {});
}
process.on('SIGINT', () => cleanup().finally(() => process.exit(130)));

async function startNode(database) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'atrium-bench-sub-'));
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

/** a legacy-protocol subscriber; resolves once acknowledged and subscribed */
async function subscriber(url, token, projectId, onEvent) {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/graphql`, ['graphql-ws', 'graphql-transport-ws']);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  let acked;
  const ack = new Promise((r) => (acked = r));
  ws.on('message', (raw) => {
    const t = performance.now();
    const m = JSON.parse(String(raw));
    if (m.type === 'connection_ack') acked();
    else if (m.type === 'data') onEvent(m.payload.data.data, t);
    else if (m.type === 'error' || m.type === 'connection_error') console.error('subscription error', JSON.stringify(m));
  });
  ws.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: `Bearer ${token}` } }));
  await ack;
  ws.send(JSON.stringify({ id: '1', type: 'start', payload: { query: SUB_VERSIONS, variables: { id: projectId } } }));
  cleanups.push(async () => ws.close());
  return ws;
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  return { n: s.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: s[s.length - 1] };
}
const fmt = (x) => x.toFixed(2).padStart(7);

/**
 * One scenario: the mutation goes to `writer`, `subscribers` sockets listen on `reader`.
 * Returns per-iteration latencies (ms): commit→event (last subscriber) and request→event.
 */
async function scenario(writer, reader, nSubscribers) {
  const { services } = writer.app;
  const user = await services.identity.createUser({ email: `bench-${Date.now()}-${Math.random()}@example.com`, name: 'Bench', password: 'bench-password-1', role: 'user' });
  const { token } = await services.identity.mintToken({ userId: user.id, name: 'bench', scopes: ['streams:read', 'streams:write', 'profile:read'] });
  const auth = await services.identity.authenticateToken(token);
  const project = await services.projects.createProject(auth, { name: 'bench' });
  const model = await services.projects.getModelByName(project.id, 'main');

  const publishedAt = new Map();
  const off = services.bus.subscribe(SpeckleChannels.versions, (p) => {
    if (p.projectId === project.id && p.type === 'CREATED') publishedAt.set(p.versionId, performance.now());
  });
  const arrivals = new Map(); // versionId → [times]
  const waiters = new Map();
  const onEvent = (msg, t) => {
    if (msg.type !== 'CREATED') return;
    const list = arrivals.get(msg.id) ?? [];
    list.push(t);
    arrivals.set(msg.id, list);
    if (list.length === nSubscribers) waiters.get(msg.id)?.();
  };
  for (let i = 0; i < nSubscribers; i++) await subscriber(reader.url, token, project.id, onEvent);
  // the subscriptions are live once the reader's bus has their listeners
  const base = reader.app.services.bus.listenerCount(SpeckleChannels.versions);
  const deadline = Date.now() + 10_000;
  while (reader.app.services.bus.listenerCount(SpeckleChannels.versions) < (reader === writer ? 1 : 0) + nSubscribers && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
  }
  void base;

  const commitToEvent = [];
  const requestToEvent = [];
  for (let i = 0; i < WARMUP + ITERATIONS; i++) {
    const objectId = `${i.toString(16).padStart(8, '0')}${'b'.repeat(24)}`;
    await writer.app.store.db
      .insertInto('objects')
      .values({ project_id: project.id, id: objectId, speckle_type: 'Base', total_children_count: null, data: JSON.stringify({ id: objectId }), created_at: Date.now() })
      .execute();
    let versionId;
    let arrived;
    const allArrived = new Promise((r) => (arrived = r));
    const sentAt = performance.now();
    const res = await fetch(`${writer.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: CREATE_VERSION, variables: { input: { projectId: project.id, modelId: model.id, objectId, message: `v${i}`, sourceApplication: 'py' } } }),
    });
    const body = await res.json();
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    versionId = body.data.data.data.id;
    if ((arrivals.get(versionId)?.length ?? 0) === nSubscribers) arrived();
    else waiters.set(versionId, arrived);
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error(`event for ${versionId} not received in 10 s`)), 10_000));
    await Promise.race([allArrived, timeout]);
    waiters.delete(versionId);
    const last = Math.max(...arrivals.get(versionId));
    if (i >= WARMUP) {
      commitToEvent.push(last - publishedAt.get(versionId));
      requestToEvent.push(last - sentAt);
    }
  }
  off();
  return { commitToEvent: stats(commitToEvent), requestToEvent: stats(requestToEvent) };
}

const rows = [];
function report(name, r) {
  rows.push({ name, ...r });
  console.log(
    `${name.padEnd(44)} commit→event p50 ${fmt(r.commitToEvent.p50)} p99 ${fmt(r.commitToEvent.p99)} max ${fmt(r.commitToEvent.max)} ms | request→event p50 ${fmt(r.requestToEvent.p50)} p99 ${fmt(r.requestToEvent.p99)} ms`,
  );
}

try {
  console.log(`subscription latency: ${ITERATIONS} versions per scenario (after ${WARMUP} warm-up), node ${process.version}, ${os.cpus().length} CPUs`);
  const sqlite = await startNode();
  report('sqlite, 1 node, 1 subscriber', await scenario(sqlite, sqlite, 1));
  report(`sqlite, 1 node, ${SUBSCRIBERS} subscribers (last arrival)`, await scenario(sqlite, sqlite, SUBSCRIBERS));

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
    report('postgres, 1 node, 1 subscriber', await scenario(a, a, 1));
    report('postgres, 2 nodes (A writes, B delivers), 1 sub', await scenario(a, b, 1));
    report(`postgres, 2 nodes, ${SUBSCRIBERS} subscribers on B (last)`, await scenario(a, b, SUBSCRIBERS));
  }
  const worst = Math.max(...rows.map((r) => r.commitToEvent.p99));
  console.log(`worst commit→event p99: ${worst.toFixed(2)} ms (target: every event within 750 ms)`);
} finally {
  await cleanup();
}
