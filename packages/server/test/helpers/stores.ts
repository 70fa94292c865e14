/**
 * Real databases for tests: every store test runs on SQLite and, when ATRIUM_TEST_PG_URL points at a
 * PostgreSQL server (the test command starts one), on PostgreSQL too. Each call gets a fresh,
 * migrated database of its own.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { DatabaseConfig } from '../../src/config.js';
import { openStore, type Store } from '../../src/store/db.js';
import { migrateToLatest } from '../../src/store/migrations/index.js';
import { randomHex } from '../../src/domain/ids.js';

export type StoreKind = 'sqlite' | 'postgres';

const pgUrl = process.env.ATRIUM_TEST_PG_URL;
if (process.env.ATRIUM_REQUIRE_PG === '1' && !pgUrl) {
  throw new Error('ATRIUM_REQUIRE_PG=1 but ATRIUM_TEST_PG_URL is not set: PostgreSQL tests would be skipped');
}

/** The store kinds this run covers. */
export const storeKinds: StoreKind[] = pgUrl ? ['sqlite', 'postgres'] : ['sqlite'];

export interface TestDatabase {
  config: DatabaseConfig;
  /** removes the database (PostgreSQL) or its directory (SQLite) */
  drop(): Promise<void>;
}

/** Creates an empty database of the given kind (not migrated). */
export async function createTestDatabase(kind: StoreKind): Promise<TestDatabase> {
  if (kind === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atrium-test-'));
    return {
      config: { kind: 'sqlite', file: path.join(dir, 'atrium.db') },
      drop: async () => fs.rmSync(dir, { recursive: true, force: true }),
    };
  }
  if (!pgUrl) throw new Error('ATRIUM_TEST_PG_URL is not set');
  const name = `atrium_t_${randomHex(12)}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(pgUrl);
  url.pathname = `/${name}`;
  return {
    config: { kind: 'postgres', url: url.toString(), poolSize: 10 },
    drop: async () => {
      const c = new pg.Client({ connectionString: pgUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/** A fresh migrated store; `close` closes it and drops the database. */
export async function freshStore(kind: StoreKind): Promise<Store & { dropAll(): Promise<void> }> {
  const tdb = await createTestDatabase(kind);
  const store = await openStore(tdb.config);
  await migrateToLatest(store);
  return Object.assign(store, {
    dropAll: async () => {
      await store.close();
      await tdb.drop();
    },
  });
}
