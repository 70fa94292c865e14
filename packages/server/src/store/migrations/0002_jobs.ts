/** The durable job queue: claimed with a lease, retried with back-off, dead after max_attempts. */
import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.js';

export async function up(db: Kysely<any>, { bigint, serial }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('jobs')
    .addColumn('id', serial, (c) => c.primaryKey())
    .addColumn('type', 'varchar(128)', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    .addColumn('run_at', bigint, (c) => c.notNull())
    .addColumn('lease_until', bigint)
    .addColumn('locked_by', 'varchar(128)')
    .addColumn('last_error', 'text')
    .addColumn('dedupe_key', 'varchar(256)')
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .addColumn('finished_at', bigint)
    .execute();
  await db.schema.createIndex('jobs_claim').on('jobs').columns(['status', 'run_at']).execute();
  await db.schema.createIndex('jobs_dedupe').on('jobs').columns(['type', 'dedupe_key']).execute();
}
