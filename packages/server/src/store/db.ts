/**
 * Opens the database: SQLite (libsql, embedded default) or PostgreSQL (pg), both behind Kysely.
 * Timestamps are epoch milliseconds (BIGINT), booleans are 0/1 integers and JSON is text on both
 * dialects, so repositories read the same shapes whichever store is underneath.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { routingSqliteDialect } from './sqlite-driver.js';
import type { DatabaseConfig } from '../config.js';
import type { Database } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Store {
  db: Kysely<Database>;
  dialect: Dialect;
  close(): Promise<void>;
  /** Cheap round trip used by /readiness. */
  ping(): Promise<void>;
}

export async function openStore(cfg: DatabaseConfig): Promise<Store> {
  if (cfg.kind === 'sqlite') {
    const { default: SqliteDatabase } = await import('libsql');
    if (cfg.file !== ':memory:') fs.mkdirSync(path.dirname(cfg.file), { recursive: true });
    const raw = new SqliteDatabase(cfg.file);
    raw.exec('PRAGMA journal_mode = WAL');
    raw.exec('PRAGMA synchronous = NORMAL');
    raw.exec('PRAGMA foreign_keys = ON');
    raw.exec('PRAGMA busy_timeout = 5000');
    // a second connection serves reads while the first is inside a transaction (sqlite-driver.ts)
    let reader: InstanceType<typeof SqliteDatabase> | null = null;
    if (cfg.file !== ':memory:') {
      reader = new SqliteDatabase(cfg.file);
      reader.exec('PRAGMA query_only = ON');
      reader.exec('PRAGMA busy_timeout = 5000');
    }
    const db = new Kysely<Database>({ dialect: routingSqliteDialect(raw as never, reader as never) });
    return {
      db,
      dialect: 'sqlite',
      close: () => db.destroy(),
      ping: async () => {
        await sql`select 1`.execute(db);
      },
    };
  }
  const pg = await import('pg');
  const types = pg.default.types;
  types.setTypeParser(20, (v: string) => Number(v)); // int8 → number (epoch ms, counts)
  const pool = new pg.default.Pool({ connectionString: cfg.url, max: cfg.poolSize });
  // A pool error on an idle client must not crash the process.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    dialect: 'postgres',
    close: () => db.destroy(),
    ping: async () => {
      await sql`select 1`.execute(db);
    },
  };
}

/** True when the error is a unique-constraint violation on either dialect. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === '23505' || /UNIQUE constraint failed/i.test(e?.message ?? '') || e?.code === 'SQLITE_CONSTRAINT_UNIQUE';
}
