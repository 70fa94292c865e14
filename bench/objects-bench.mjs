#!/usr/bin/env node
// Throughput and memory of Atrium's Speckle object routes.
//
// Runs the server from source (node --import tsx packages/server/src/main.ts serve; nothing to build)
// on a fresh data dir and a free loopback port, creates a user, a token and a project, then measures:
//
//   1. ingest — specklepy's send: objects batched as specklepy batches them (< 1,000,000 chars of
//      JSON or 20,000 objects), 4 concurrent senders, each batch = POST /api/diff (form) then
//      POST /objects (one gzip part with the missing objects). Reports objects/s and MB/s of JSON.
//      A second pass re-sends everything (diff says "all present", nothing uploaded).
//   2. object-stream — objectloader2's request: 15,000 random ids, N runs; time to the first body
//      byte and to the end (median / max), and getobjects (specklepy's receive) for the same ids.
//   3. one big part — a single ~100 MB multipart part (plain JSON, the largest part the default
//      limit accepts as sent) and a gzip part inflating to ~100 MB; the server's VmRSS is sampled
//      from /proc every 20 ms while it receives and stores the part: baseline, peak, and time; meanwhile
//      another client reads the project (GraphQL) one request after the other: median and max wait.
//
// Usage: node bench/objects-bench.mjs [--objects 100000] [--runs 10] [--big-mb 100] [--pg]
// --pg: also on PostgreSQL (BENCH_PG_URL, default postgres://atrium@127.0.0.1:54329/postgres; a fresh
// database is created and dropped). BENCH_SERVER_NODE_ARGS: extra node flags for the server process
// (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"). Every process started is stopped, every temp dir removed.

import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MAIN = path.join(ROOT, 'packages/server/src/main.ts');
const HOST = '127.0.0.1';

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) {
    console.error(`objects-bench: --${name} needs a positive number`);
    process.exit(2);
  }
  return v;
};
const OBJECTS = opt('objects', 100_000);
const RUNS = opt('runs', 10);
const BIG_MB = opt('big-mb', 100);
const WITH_PG = argv.includes('--pg');
const PG_ADMIN_URL = process.env.BENCH_PG_URL || 'postgres://atrium@127.0.0.1:54329/postgres';

const children = new Set();
const tempDirs = new Set();
function cleanupSync() {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {}
  }
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
}
process.on('exit', cleanupSync);
process.on('SIGINT', () => process.exit(130));

const md5 = (s) => crypto.createHash('md5').update(s).digest('hex');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, HOST, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function request(port, method, urlPath, { headers = {}, body, onFirstByte } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: HOST, port, method, path: urlPath, headers }, (res) => {
      const chunks = [];
      let first = true;
      res.on('data', (c) => {
        if (first) {
          first = false;
          onFirstByte?.();
        }
        chunks.push(c);
      });
      res.on('end', () => {
        let buf = Buffer.concat(chunks);
        if (res.headers['content-encoding'] === 'gzip') buf = zlib.gunzipSync(buf);
        resolve({ status: res.statusCode, body: buf });
      });
      res.on('error', reject);
    });
    req.setTimeout(600_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

function cli(env, args) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`atrium ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

function rssKb(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

async function startServer(dbUrl) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'atrium-objbench-'));
  tempDirs.add(dataDir);
  const port = await freePort();
  const env = { ...process.env, ATRIUM_DATA_DIR: dataDir, ATRIUM_PORT: String(port), ATRIUM_HOST: HOST, ATRIUM_LOG_LEVEL: 'warn', ATRIUM_JOB_WORKERS: '0' };
  if (dbUrl) env.ATRIUM_DATABASE_URL = dbUrl;
  else delete env.ATRIUM_DATABASE_URL;
  cli(env, ['migrate']);
  cli({ ...env, ATRIUM_NEW_USER_PASSWORD: 'bench-password-1' }, ['users', 'create', '--email', 'bench@example.com', '--name', 'Bench', '--admin']);
  const token = cli(env, ['tokens', 'create', '--user', 'bench@example.com', '--name', 'bench']);
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS || '').split(' ').filter(Boolean); // e.g. --cpu-prof
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', MAIN, 'serve'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
  children.add(child);
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const r = await request(port, 'GET', '/readiness');
      if (r.status === 200) break;
    } catch {}
    if (Date.now() > deadline) throw new Error('server did not become ready');
    await new Promise((r) => setTimeout(r, 50));
  }
  const gql = await request(port, 'POST', '/graphql', {
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: 'mutation { projectMutations { create(input: {name: "bench"}) { id } } }' }),
  });
  const projectId = JSON.parse(gql.body.toString()).data.projectMutations.create.id;
  return {
    port,
    token,
    projectId,
    pid: child.pid,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      children.delete(child);
      fs.rmSync(dataDir, { recursive: true, force: true });
      tempDirs.delete(dataDir);
    },
  };
}

/** specklepy-like objects: mostly small elements, with a mesh data chunk every 20th object. */
function makeObjects(n, tag) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const o =
      i % 20 === 0
        ? { speckle_type: 'Speckle.Core.Models.DataChunk', totalChildrenCount: 0, applicationId: null, data: Array.from({ length: 500 }, (_, j) => Math.round((i * 0.37 + j * 1.13) * 1000) / 1000) }
        : {
            speckle_type: 'Objects.BuiltElements.Wall',
            totalChildrenCount: 0,
            applicationId: `${tag}-${i}`,
            name: `Wall ${i}`,
            height: 3 + (i % 7) * 0.25,
            units: 'm',
            parameters: { fireRating: `${(i % 4) * 30} min`, level: `Level ${i % 12}`, material: 'Concrete' },
          };
    o.id = md5(JSON.stringify(o));
    out.push({ id: o.id, json: JSON.stringify(o) });
  }
  return out;
}

const auth = (s) => ({ authorization: `Bearer ${s.token}` });
function multipartBody(parts) {
  const boundary = `----atriumbench${crypto.randomBytes(8).toString('hex')}`;
  const chunks = [];
  parts.forEach((p, i) => {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="batch-${i + 1}"; filename="batch-${i + 1}"\r\nContent-Type: ${p.type}\r\n\r\n`));
    chunks.push(p.data);
    chunks.push(Buffer.from('\r\n'));
  });
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), type: `multipart/form-data; boundary=${boundary}` };
}

async function sendBatch(s, batch) {
  const ids = batch.map((o) => o.id);
  const d = await request(s.port, 'POST', `/api/diff/${s.projectId}`, {
    headers: { ...auth(s), 'content-type': 'application/x-www-form-urlencoded', accept: 'text/plain' },
    body: new URLSearchParams({ objects: JSON.stringify(ids) }).toString(),
  });
  if (d.status !== 200) throw new Error(`diff ${d.status}`);
  const have = JSON.parse(d.body.toString());
  const missing = batch.filter((o) => !have[o.id]);
  if (!missing.length) return 0;
  const mp = multipartBody([{ type: 'application/gzip', data: zlib.gzipSync(`[${missing.map((o) => o.json).join(',')}]`) }]);
  const u = await request(s.port, 'POST', `/objects/${s.projectId}`, { headers: { ...auth(s), 'content-type': mp.type }, body: mp.body });
  if (u.status !== 201) throw new Error(`upload ${u.status}: ${u.body}`);
  return missing.length;
}

/** specklepy's BatchSender: < 1,000,000 chars or 20,000 objects per batch, 4 threads. */
async function ingest(s, objects) {
  const batches = [];
  let cur = [];
  let size = 0;
  for (const o of objects) {
    if (cur.length && (size + o.json.length >= 1_000_000 || cur.length >= 20_000)) {
      batches.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(o);
    size += o.json.length;
  }
  if (cur.length) batches.push(cur);
  let next = 0;
  let uploaded = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < batches.length) uploaded += await sendBatch(s, batches[next++]);
    }),
  );
  return { ms: performance.now() - t0, uploaded, batches: batches.length };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function streamTimes(s, ids, route) {
  const ttfb = [];
  const total = [];
  for (let r = 0; r < RUNS; r++) {
    // 15,000 distinct ids (objectloader2 never repeats one), chosen at random
    const pool = [...ids];
    const n = Math.min(15_000, pool.length);
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(Math.random() * (pool.length - i));
      [pool[i], pool[j]] = [pool[j], pool[i]];
    }
    const sample = pool.slice(0, n);
    const body =
      route === 'object-stream'
        ? JSON.stringify({ objectIds: sample })
        : JSON.stringify({ objects: JSON.stringify(sample) });
    const urlPath = route === 'object-stream' ? `/api/v2/projects/${s.projectId}/object-stream/` : `/api/getobjects/${s.projectId}`;
    const t0 = performance.now();
    let first = 0;
    const res = await request(s.port, 'POST', urlPath, {
      headers: { ...auth(s), 'content-type': 'application/json', accept: 'text/plain', 'accept-encoding': 'gzip' },
      body,
      onFirstByte: () => (first = performance.now() - t0),
    });
    total.push(performance.now() - t0);
    ttfb.push(first);
    const lines = res.body.toString().split('\n').length - 1;
    if (res.status !== 200 || lines !== sample.length) throw new Error(`${route}: ${res.status}, ${lines} lines`);
  }
  return { ttfbMedian: median(ttfb), ttfbMax: Math.max(...ttfb), totalMedian: median(total), totalMax: Math.max(...total) };
}

async function bigPart(s, type, data) {
  const mp = multipartBody([{ type, data }]);
  const base = rssKb(s.pid);
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, rssKb(s.pid))), 20);
  // meanwhile another client keeps reading (specklepy's project query, one at a time): how long do reads wait?
  const reads = [];
  let uploading = true;
  const reader = (async () => {
    const body = JSON.stringify({ query: `query { project(id: "${s.projectId}") { id name } }` });
    while (uploading) {
      const t = performance.now();
      const q = await request(s.port, 'POST', '/graphql', { headers: { ...auth(s), 'content-type': 'application/json' }, body });
      if (q.status !== 200) throw new Error(`read during upload: ${q.status}`);
      reads.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const t0 = performance.now();
  const r = await request(s.port, 'POST', `/objects/${s.projectId}`, { headers: { ...auth(s), 'content-type': mp.type }, body: mp.body });
  const ms = performance.now() - t0;
  uploading = false;
  await reader;
  clearInterval(timer);
  peak = Math.max(peak, rssKb(s.pid));
  if (r.status !== 201) throw new Error(`big part: ${r.status} ${r.body}`);
  return { ms, baseMb: base / 1024, peakMb: peak / 1024, reads: reads.length, readMedian: median(reads), readMax: Math.max(...reads) };
}

function bigObjects(targetBytes, tag) {
  const out = [];
  let size = 2;
  for (let i = 0; size < targetBytes - 2000; i++) {
    const o = { speckle_type: 'Base', applicationId: `${tag}-${i}`, payload: crypto.randomBytes(360).toString('base64'), values: [i, i * 2, i * 3] };
    o.id = md5(JSON.stringify(o));
    const j = JSON.stringify(o);
    out.push(j);
    size += j.length + 1;
  }
  return out;
}

async function runOn(label, dbUrl) {
  console.log(`\n== ${label} ==`);
  const s = await startServer(dbUrl);
  try {
    const objects = makeObjects(OBJECTS, label);
    const mb = objects.reduce((a, o) => a + o.json.length, 0) / 1e6;
    const first = await ingest(s, objects);
    console.log(
      `ingest: ${OBJECTS} objects (${mb.toFixed(1)} MB JSON) in ${first.batches} batches, 4 senders: ${(first.ms / 1000).toFixed(2)} s = ${Math.round(
        OBJECTS / (first.ms / 1000),
      )} objects/s, ${(mb / (first.ms / 1000)).toFixed(1)} MB/s`,
    );
    const again = await ingest(s, objects);
    console.log(`re-send (diff only, ${again.uploaded} uploaded): ${(again.ms / 1000).toFixed(2)} s = ${Math.round(OBJECTS / (again.ms / 1000))} objects/s`);

    const ids = objects.map((o) => o.id);
    const os2 = await streamTimes(s, ids, 'object-stream');
    console.log(
      `object-stream ${Math.min(15000, ids.length)} ids × ${RUNS}: first byte median ${os2.ttfbMedian.toFixed(0)} ms (max ${os2.ttfbMax.toFixed(0)}), complete median ${os2.totalMedian.toFixed(0)} ms (max ${os2.totalMax.toFixed(0)})`,
    );
    const go = await streamTimes(s, ids, 'getobjects');
    console.log(
      `getobjects ${Math.min(15000, ids.length)} ids × ${RUNS}: first byte median ${go.ttfbMedian.toFixed(0)} ms (max ${go.ttfbMax.toFixed(0)}), complete median ${go.totalMedian.toFixed(0)} ms (max ${go.totalMax.toFixed(0)})`,
    );

    const plain = bigObjects(BIG_MB * 1e6, `${label}-plain`);
    const plainBody = Buffer.from(`[${plain.join(',')}]`);
    const p = await bigPart(s, 'application/json', plainBody);
    console.log(
      `one ${(plainBody.length / 1e6).toFixed(0)} MB plain part (${plain.length} objects): ${(p.ms / 1000).toFixed(2)} s, server RSS ${p.baseMb.toFixed(0)} MB before, peak ${p.peakMb.toFixed(0)} MB; ${p.reads} project reads meanwhile: median ${p.readMedian.toFixed(0)} ms, max ${p.readMax.toFixed(0)} ms`,
    );
    const gzObjs = bigObjects(BIG_MB * 1e6, `${label}-gzip`);
    const gzBody = zlib.gzipSync(`[${gzObjs.join(',')}]`, { level: 1 });
    const g = await bigPart(s, 'application/gzip', gzBody);
    console.log(
      `one gzip part, ${(gzBody.length / 1e6).toFixed(0)} MB inflating to ${BIG_MB} MB (${gzObjs.length} objects): ${(g.ms / 1000).toFixed(2)} s, server RSS ${g.baseMb.toFixed(0)} MB before, peak ${g.peakMb.toFixed(0)} MB; ${g.reads} project reads meanwhile: median ${g.readMedian.toFixed(0)} ms, max ${g.readMax.toFixed(0)} ms`,
    );
  } finally {
    await s.stop();
  }
}

async function main() {
  console.log(`objects-bench: node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${OBJECTS} objects, ${RUNS} runs, ${BIG_MB} MB parts`);
  await runOn('sqlite');
  if (WITH_PG) {
    const pg = (await import('pg')).default;
    const name = `atrium_objbench_${crypto.randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    await admin.query(`create database ${name}`);
    const url = new URL(PG_ADMIN_URL);
    url.pathname = `/${name}`;
    try {
      await runOn('postgres', url.toString());
    } finally {
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    }
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
