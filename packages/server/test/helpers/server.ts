/**
 * A real Atrium server for HTTP tests: fresh database of the given kind, fresh data directory,
 * listening on a free loopback port. Users and tokens are made through the same services the CLI uses.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type AtriumConfig, type DatabaseConfig } from '../../src/config.js';
import { buildApp, type AtriumApp } from '../../src/app.js';
import type { ServerRole } from '../../src/domain/roles.js';
import { createTestDatabase, storeKinds, type StoreKind } from './stores.js';

export { storeKinds, type StoreKind };

export interface TestServer {
  url: string;
  app: AtriumApp;
  config: AtriumConfig;
  createUser(opts?: { email?: string; name?: string; password?: string; admin?: boolean; role?: ServerRole }): Promise<{ id: string; email: string; name: string; password: string }>;
  createToken(userId: string, scopes: string[], opts?: { name?: string; lifespanMs?: number }): Promise<string>;
  close(): Promise<void>;
}

let counter = 0;

/**
 * `opts.database`: share an existing database (e.g. another test server's `config.database`) instead of
 * creating a fresh one — two nodes of one deployment. A shared database is not dropped by `close`.
 */
export async function startTestServer(
  kind: StoreKind,
  env: Record<string, string> = {},
  opts: { database?: DatabaseConfig } = {},
): Promise<TestServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'atrium-srv-'));
  const tdb = opts.database ? { config: opts.database, drop: async () => {} } : await createTestDatabase(kind);
  const config = loadConfig({
    ATRIUM_PORT: '0',
    ATRIUM_HOST: '127.0.0.1',
    ATRIUM_DATA_DIR: dataDir,
    ATRIUM_LOG_LEVEL: 'silent',
    ATRIUM_JOB_POLL_MS: '50',
    ...env,
  });
  config.database = tdb.config;
  const app = await buildApp(config, { logger: false });
  const url = await app.listen();
  // the canonical URL is the address actually bound (port 0 → a free port)
  config.publicUrl = url;
  return {
    url,
    app,
    config,
    async createUser(opts = {}) {
      const n = ++counter;
      const password = opts.password ?? `password-${n}-secret`;
      const u = await app.services.identity.createUser({
        email: opts.email ?? `user${n}-${Date.now()}@example.com`,
        name: opts.name ?? `User ${n}`,
        password,
        role: opts.role ?? (opts.admin ? 'admin' : 'user'),
      });
      return { id: u.id, email: u.email, name: u.name, password };
    },
    async createToken(userId, scopes, opts = {}) {
      const { token } = await app.services.identity.mintToken({
        userId,
        name: opts.name ?? 'test token',
        scopes,
        lifespanMs: opts.lifespanMs,
      });
      return token;
    },
    async close() {
      await app.close();
      await tdb.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
