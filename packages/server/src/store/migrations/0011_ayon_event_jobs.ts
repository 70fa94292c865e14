/**
 * AYON event jobs: indexes the enroll queue, the GraphQL `events` listing and retention read
 * through, so they stay index lookups with millions of rows in `ayon_events` (no new tables:
 * jobs are events whose `depends_on` names their source event).
 *
 * - (topic, status, created_at): enroll's source scan — `topic = $src AND status = 'finished'`
 *   ordered by creation, and the sequential-worker check;
 * - (depends_on, topic): the job of a source for a target topic (the LEFT JOIN and the
 *   "already finished" anti-join), and `hasChildren`;
 * - (user_name, seq): non-managers list their own events;
 * - (updated_at): retention purges old events in time order.
 */
import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.js';

export async function up(db: Kysely<any>, _ctx: MigrationContext): Promise<void> {
  await db.schema.createIndex('ayon_events_enroll_source').on('ayon_events').columns(['topic', 'status', 'created_at']).execute();
  await db.schema.createIndex('ayon_events_job').on('ayon_events').columns(['depends_on', 'topic']).execute();
  await db.schema.createIndex('ayon_events_user').on('ayon_events').columns(['user_name', 'seq']).execute();
  await db.schema.createIndex('ayon_events_updated').on('ayon_events').column('updated_at').execute();
}
