/**
 * Versioned migrations, applied in order on start and by `atrium migrate`. The same files run on
 * SQLite and PostgreSQL; the context gives the column types that differ between them.
 */
import { Migrator, type Kysely, type Migration, type MigrationResultSet } from 'kysely';
import type { Dialect, Store } from '../db.js';
import * as m0001 from './0001_identity.js';
import * as m0002 from './0002_jobs.js';
import * as m0003 from './0003_jobs_live.js';
import * as m0004 from './0004_speckle_projects.js';
import * as m0005 from './0005_datasets.js';
import * as m0020 from './0020_speckle_v1.js';
import * as m0010 from './0010_ayon_core.js';
import * as m0011 from './0011_ayon_event_jobs.js';
import * as m0012 from './0012_ayon_activities.js';
import * as m0013 from './0013_ayon_addons.js';
import * as m0014 from './0014_ayon_desktop.js';
import * as m0015 from './0015_ayon_entity_lists.js';
import * as m0016 from './0016_ayon_services.js';

export interface MigrationContext {
  dialect: Dialect;
  /** 64-bit integer: epoch ms, sizes */
  bigint: 'bigint' | 'integer';
  /** 0/1 flag */
  bool: 'smallint' | 'integer';
  /** auto-increment integer key */
  serial: 'bigserial' | 'integer';
}

type Step = { up(db: Kysely<any>, ctx: MigrationContext): Promise<void> };

/** Append new migrations here; never edit one that has shipped. */
const steps: Record<string, Step> = {
  '0001_identity': m0001,
  '0002_jobs': m0002,
  '0003_jobs_live': m0003,
  '0004_speckle_projects': m0004,
  '0005_datasets': m0005,
  '0020_speckle_v1': m0020,
  '0010_ayon_core': m0010,
  '0011_ayon_event_jobs': m0011,
  '0012_ayon_activities': m0012,
  '0013_ayon_addons': m0013,
  '0014_ayon_desktop': m0014,
  '0015_ayon_entity_lists': m0015,
  '0016_ayon_services': m0016,
};

export async function migrateToLatest(store: Store): Promise<string[]> {
  const ctx: MigrationContext =
    store.dialect === 'postgres'
      ? { dialect: 'postgres', bigint: 'bigint', bool: 'smallint', serial: 'bigserial' }
      : { dialect: 'sqlite', bigint: 'integer', bool: 'integer', serial: 'integer' };
  const migrations: Record<string, Migration> = {};
  for (const [name, step] of Object.entries(steps)) {
    migrations[name] = { up: (db) => step.up(db, ctx) };
  }
  const migrator = new Migrator({
    db: store.db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'atrium_migrations',
    migrationLockTableName: 'atrium_migrations_lock',
    // areas number their migrations in ranges (Speckle 0004–0009, AYON 0010–0019, v1 0020–0029…):
    // a database may have applied a later range before an earlier one gains a file
    allowUnorderedMigrations: true,
  });
  const { error, results }: MigrationResultSet = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
