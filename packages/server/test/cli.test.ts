import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, storeKinds, type TestDatabase } from './helpers/stores.js';

const MAIN = path.resolve(__dirname, '../src/main.ts');
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

function envFor(db: TestDatabase, dataDir: string): Record<string, string> {
  const env: Record<string, string> = { ...(process.env as Record<string, string>), ATRIUM_DATA_DIR: dataDir, ATRIUM_LOG_LEVEL: 'silent' };
  delete env.ATRIUM_DATABASE_URL;
  if (db.config.kind === 'postgres') env.ATRIUM_DATABASE_URL = db.config.url;
  return env;
}

function atrium(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { env, encoding: 'utf8', timeout: 60_000 });
}

async function scratch(kind: 'sqlite' | 'postgres') {
  const db = await createTestDatabase(kind);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'atrium-cli-'));
  if (db.config.kind === 'sqlite') db.config.file = path.join(dataDir, 'atrium.db');
  cleanups.push(async () => {
    await db.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  return envFor(db, dataDir);
}

describe('atrium serve settings', () => {
  it('exits with code 2 and names the variable when a setting is invalid', () => {
    const r = atrium(['serve'], { ...(process.env as Record<string, string>), ATRIUM_PORT: 'eighty' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('ATRIUM_PORT="eighty": must be a whole number');
  });

  it('exits with code 2 on a database URL that is neither postgres nor sqlite', () => {
    const r = atrium(['serve', '--database-url', 'mysql://x'], process.env as Record<string, string>);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('ATRIUM_DATABASE_URL');
  });

  it('exits with code 2 on an unknown flag', () => {
    expect(atrium(['serve', '--no-such-flag'], process.env as Record<string, string>).status).toBe(2);
  });
});

describe.each(storeKinds)('atrium users/tokens/migrate on %s', (kind) => {
  it('migrates, creates an admin, and prints only a working token', async () => {
    const env = await scratch(kind);
    const m = atrium(['migrate'], env);
    expect(m.status, m.stderr).toBe(0);
    expect(m.stdout).toContain('0001_identity');
    expect(atrium(['migrate'], env).stdout).toContain('database is up to date');

    const u = atrium(['users', 'create', '--email', 'Root@Example.com', '--name', 'Root', '--password', 'a strong password', '--admin'], env);
    expect(u.status, u.stderr).toBe(0);
    expect(u.stdout).toMatch(/^[0-9a-f]{10}\tRoot@Example.com\tadmin\n$/);

    const t = atrium(['tokens', 'create', '--user', 'root@example.com', '--name', 'ci', '--scopes', 'profile:read,streams:read', '--lifespan', '30d'], env);
    expect(t.status, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/^[0-9a-f]{42}\n$/);

    const dup = atrium(['users', 'create', '--email', 'root@example.com', '--name', 'Again', '--password', 'a strong password'], env);
    expect(dup.status).toBe(2);
    expect(dup.stderr).toContain('Email taken');

    const badScope = atrium(['tokens', 'create', '--user', 'root@example.com', '--name', 'x', '--scopes', 'streams:fly'], env);
    expect(badScope.status).toBe(2);
    expect(badScope.stdout).toBe('');
    const badLife = atrium(['tokens', 'create', '--user', 'root@example.com', '--name', 'x', '--lifespan', 'forever'], env);
    expect(badLife.status).toBe(2);
    const noUser = atrium(['tokens', 'create', '--user', 'ghost@example.com', '--name', 'x'], env);
    expect(noUser.status).toBe(1);
    expect(noUser.stderr).toContain('no user with email ghost@example.com');
  });
});

describe('atrium serve process', () => {
  it('creates the first admin from ATRIUM_ADMIN_EMAIL, serves, and on SIGTERM finishes in-flight requests before exiting 0', async () => {
    const env = await scratch('sqlite');
    Object.assign(env, {
      ATRIUM_PORT: '0',
      ATRIUM_ADMIN_EMAIL: 'boot@example.com',
      ATRIUM_ADMIN_PASSWORD: 'boot password 1',
      ATRIUM_LOG_LEVEL: 'info',
    });
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 30_000);
      child.stdout.on('data', () => {
        const m = /Atrium listening at (http:\/\/[^"\s]+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
    });
    const login = await fetch(`${url}/auth/local/login?challenge=x`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/json', authorization: '' },
      body: JSON.stringify({ email: 'boot@example.com', password: 'boot password 1' }),
    });
    expect(login.status).toBe(302);
    // a request still in flight when SIGTERM arrives is answered: its body is only half sent at that moment
    const body = JSON.stringify({ query: '{ serverInfo { version } }' });
    const answered = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => {
        child.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(10)), 500);
      }, 200);
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const res = await answered;
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ data: { serverInfo: { version: '2.31.14' } } });
    expect(await exited).toBe(0);
    // nothing secret in the logs
    expect(out).not.toContain('boot password 1');
    expect(out).toContain('shutting down');
  });
});
