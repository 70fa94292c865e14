/**
 * Job queue indexes the first jobs migration lacked:
 * - a partial unique index so that at most one live (queued or running) job exists per
 *   (type, dedupe_key), enforced by the database even when two nodes enqueue at once;
 * - an index for finding running jobs whose lease has expired (crash recovery).
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './index.js';

export async function up(db: Kysely<any>, _ctx: MigrationContext): Promise<void> {
  // The predicate text must match the ON CONFLICT target in jobs/queue.ts word for word.
  await sql`create unique index jobs_dedupe_live on jobs (type, dedupe_key) where dedupe_key is not null and status in ('queued', 'running')`.execute(db);
  await db.schema.createIndex('jobs_lease').on('jobs').columns(['status', 'lease_until']).execute();
}
