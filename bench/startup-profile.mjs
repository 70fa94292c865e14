#!/usr/bin/env node
// Where the cold start goes: starts the built server once under `node --cpu-prof` on a fresh data dir
// (SQLite, or PostgreSQL when BENCH_PG_URL… is given with --pg), waits for the first 200 of /readiness,
// stops it, and sums the CPU profile's samples
//   - by "owner": the outermost frame of each sample that belongs to a file (a package under
//     node_modules, or a file of packages/server/dist); this charges a require()/import chain to the
//     package that started it, its compile time included;
//   - by self time of the leaf frame's package, GC and node's own internals.
// Builds nothing (run `npm run build` first). Usage: node bench/startup-profile.mjs [--top 25] [--pg]
// Uses only 127.0.0.1; stops the server and removes its temp dir (and database) whatever happens.

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
const argv = process.argv.slice(2);
const TOP = Number(argv[argv.indexOf('--top') + 1]) || 25;
const USE_PG = argv.includes('--pg');
const PG_ADMIN_URL = process.env.BENCH_PG_URL || 'postgres://atrium@127.0.0.1:54329/postgres';
if (!fs.existsSync(MAIN)) {
  console.error('startup-profile: packages/server/dist/main.js is missing: run `npm run build` first');
  process.exit(2);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'atrium-bench-prof-'));
const dbName = USE_PG ? `atrium_bench_prof_${process.pid}` : undefined;
let child;
function cleanup() {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
  if (dbName) psql(`drop database if exists "${dbName}" with (force)`);
}
function psql(sqlText) {
  const code = `const pg=require('pg');const c=new pg.Client(process.argv[1]);c.connect().then(()=>c.query(process.argv[2])).then(()=>c.end()).catch(e=>{console.error(e.message);process.exit(1)})`;
  const r = spawnSync(process.execPath, ['-e', code, PG_ADMIN_URL, sqlText], { cwd: ROOT, stdio: 'inherit', timeout: 15_000 });
  if (r.status !== 0) throw new Error(`PostgreSQL at ${PG_ADMIN_URL}: ${sqlText} failed`);
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => process.exit(130));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const freePort = () =>
  new Promise((resolve, reject) => {
    const s = net.createServer().on('error', reject);
    s.listen(0, HOST, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
const get = (port, p) =>
  new Promise((resolve) => {
    const req = http.get({ host: HOST, port, path: p, agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
  });

async function main() {
  const port = await freePort();
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ATRIUM_')) env[k] = v;
  Object.assign(env, { ATRIUM_HOST: HOST, ATRIUM_PORT: String(port), ATRIUM_DATA_DIR: path.join(tmp, 'data'), ATRIUM_LOG_LEVEL: 'warn' });
  if (dbName) {
    psql(`create database "${dbName}"`);
    const u = new URL(PG_ADMIN_URL);
    u.pathname = `/${dbName}`;
    env.ATRIUM_DATABASE_URL = u.toString();
  }
  const profDir = path.join(tmp, 'prof');
  const t0 = performance.now();
  child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, '--cpu-prof-interval=100', MAIN, 'serve'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  let readyMs;
  while (performance.now() - t0 < 30_000) {
    if (child.exitCode !== null) throw new Error('server exited before it was ready');
    if ((await get(port, '/readiness')) === 200) {
      readyMs = performance.now() - t0;
      break;
    }
    await sleep(5);
  }
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
  if (readyMs === undefined) throw new Error('server not ready within 30 s');
  const file = fs.readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error('no CPU profile was written');
  analyse(JSON.parse(fs.readFileSync(path.join(profDir, file), 'utf8')), readyMs);
}

function ownerOf(url) {
  if (!url) return undefined;
  if (url.startsWith('node:')) return undefined;
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const dist = url.indexOf('/packages/server/dist/');
  if (dist >= 0) return `atrium: ${url.slice(dist + '/packages/server/dist/'.length)}`;
  return url.replace(/^file:\/\//, '');
}

function analyse(profile, readyMs) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const outer = new Map(); // outermost owner of each sample's stack
  const self = new Map(); // leaf package / special
  let total = 0;
  // the profile's own clock: startTime..endTime in µs; samples until the server was stopped
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    const leaf = byId.get(profile.samples[i]);
    const fn = leaf.callFrame.functionName;
    if (fn === '(idle)') continue;
    total += dt;
    let o;
    for (let id = leaf.id; id !== undefined; id = parent.get(id)) {
      const own = ownerOf(byId.get(id).callFrame.url);
      if (own) o = own;
    }
    const special = ['(garbage collector)', '(program)'].includes(fn) ? fn : undefined;
    const key = o ?? special ?? 'node internals (module loader, bootstrap)';
    outer.set(key, (outer.get(key) ?? 0) + dt);
    const sk = special ?? ownerOf(leaf.callFrame.url) ?? 'node internals';
    self.set(sk, (self.get(sk) ?? 0) + dt);
  }
  const wallMs = (profile.endTime - profile.startTime) / 1000;
  console.log(`spawn → /readiness ${Math.round(readyMs)} ms (under the profiler, slower than without)`);
  console.log(`profile: ${Math.round(wallMs)} ms from profiler start to exit, ${Math.round(total)} ms on the CPU (idle excluded)\n`);
  const print = (title, m) => {
    console.log(title);
    const rows = [...m.entries()].sort((a, b) => b[1] - a[1]);
    for (const [k, v] of rows.slice(0, TOP)) console.log(`  ${v.toFixed(0).padStart(6)} ms  ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
    const rest = rows.slice(TOP).reduce((s, [, v]) => s + v, 0);
    if (rest) console.log(`  ${rest.toFixed(0).padStart(6)} ms  ${((100 * rest) / total).toFixed(1).padStart(5)}%  (${rows.length - TOP} more)`);
    console.log('');
  };
  print('CPU time by outermost owner (a require/import chain is charged to the package that started it):', outer);
  print('CPU self time by leaf:', self);
}

main().catch((e) => {
  console.error(`startup-profile: ${e.message}`);
  process.exitCode = 1;
});
