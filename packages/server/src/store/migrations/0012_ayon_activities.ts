/**
 * AYON activities (ayon.md §12): one row per activity (comment, watch, reviewable, status.change …) and
 * one row per reference of an activity (origin, author, mention, relation, watching). The GraphQL feed
 * is the join of both, one row per reference, paged by (reference created_at, reference seq) like
 * AYON's (created_at, creation_order).
 *
 * - `seq` is the creation order (SQLite rowid / PostgreSQL bigserial);
 * - a reference names either an entity (`entity_id`) or a user/team (`entity_name`); `ref_key` holds
 *   whichever is set so that one unique index keeps one reference per referenced thing per activity,
 *   as AYON's reference set does;
 * - `author` and `category` copy data.author / data.category so the feed can filter on them in SQL;
 * - reactions, files, origin, parents, author and watcher live in the activity's `data` JSON, as in AYON.
 */
import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.js';

export async function up(db: Kysely<any>, { bigint, bool, serial }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('ayon_activities')
    .addColumn('seq', serial, (c) => c.primaryKey())
    .addColumn('project_name', 'varchar(64)', (c) => c.notNull().references('ayon_projects.name').onDelete('cascade').onUpdate('cascade'))
    .addColumn('id', 'varchar(32)', (c) => c.notNull())
    .addColumn('activity_type', 'varchar(64)', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('data', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('author', 'varchar(128)')
    .addColumn('category', 'varchar(128)')
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('ayon_activities_id').on('ayon_activities').columns(['project_name', 'id']).unique().execute();

  await db.schema
    .createTable('ayon_activity_refs')
    .addColumn('seq', serial, (c) => c.primaryKey())
    .addColumn('project_name', 'varchar(64)', (c) => c.notNull().references('ayon_projects.name').onDelete('cascade').onUpdate('cascade'))
    .addColumn('id', 'varchar(32)', (c) => c.notNull())
    .addColumn('activity_id', 'varchar(32)', (c) => c.notNull())
    .addColumn('reference_type', 'varchar(32)', (c) => c.notNull())
    .addColumn('entity_type', 'varchar(32)', (c) => c.notNull())
    .addColumn('entity_id', 'varchar(32)')
    .addColumn('entity_name', 'varchar(255)')
    .addColumn('ref_key', 'varchar(255)', (c) => c.notNull())
    .addColumn('active', bool, (c) => c.notNull().defaultTo(1))
    .addColumn('data', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('ayon_activity_refs_unique')
    .on('ayon_activity_refs')
    .columns(['project_name', 'activity_id', 'entity_type', 'ref_key'])
    .unique()
    .execute();
  await db.schema.createIndex('ayon_activity_refs_entity').on('ayon_activity_refs').columns(['project_name', 'entity_id', 'created_at', 'seq']).execute();
  await db.schema.createIndex('ayon_activity_refs_page').on('ayon_activity_refs').columns(['project_name', 'created_at', 'seq']).execute();
}
