/**
 * The PySpeckle v1 collections: streams, objects, projects, API clients and comments, kept apart from
 * the v3 projects/models/versions (a v1 stream is a mutable list of mutable objects; a v3 version is an
 * immutable, content-addressed graph), with one permission table for every v1 list of user ids.
 * A v1 user IS an Atrium user: `v1_profiles` only adds what v1 shows and Atrium's users lack (surname).
 */
import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.js';

export async function up(db: Kysely<any>, { bigint, bool }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('v1_profiles')
    .addColumn('user_id', 'varchar(32)', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('surname', 'varchar(512)', (c) => c.notNull().defaultTo(''))
    .addColumn('logins', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('v1_streams')
    .addColumn('id', 'varchar(24)', (c) => c.primaryKey())
    .addColumn('stream_id', 'varchar(32)', (c) => c.notNull().unique())
    .addColumn('owner_id', 'varchar(32)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('private', bool, (c) => c.notNull())
    .addColumn('anonymous_comments', bool, (c) => c.notNull().defaultTo(0))
    .addColumn('objects', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('doc', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('v1_streams_owner').on('v1_streams').column('owner_id').execute();

  await db.schema
    .createTable('v1_objects')
    .addColumn('id', 'varchar(24)', (c) => c.primaryKey())
    .addColumn('owner_id', 'varchar(32)', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('private', bool, (c) => c.notNull().defaultTo(0))
    .addColumn('anonymous_comments', bool, (c) => c.notNull().defaultTo(0))
    .addColumn('type', 'varchar(1024)', (c) => c.notNull())
    .addColumn('hash', 'varchar(128)', (c) => c.notNull())
    .addColumn('doc', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('v1_objects_hash').on('v1_objects').column('hash').execute();

  await db.schema
    .createTable('v1_projects')
    .addColumn('id', 'varchar(24)', (c) => c.primaryKey())
    .addColumn('owner_id', 'varchar(32)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('private', bool, (c) => c.notNull())
    .addColumn('anonymous_comments', bool, (c) => c.notNull().defaultTo(0))
    .addColumn('doc', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('v1_projects_owner').on('v1_projects').column('owner_id').execute();

  // a project's streams, in order (by streamId, as v1 keeps them)
  await db.schema
    .createTable('v1_project_streams')
    .addColumn('project_id', 'varchar(24)', (c) => c.notNull().references('v1_projects.id').onDelete('cascade'))
    .addColumn('stream_id', 'varchar(32)', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('v1_project_streams_pk', ['project_id', 'stream_id'])
    .execute();
  await db.schema.createIndex('v1_project_streams_stream').on('v1_project_streams').column('stream_id').execute();

  await db.schema
    .createTable('v1_clients')
    .addColumn('id', 'varchar(24)', (c) => c.primaryKey())
    .addColumn('owner_id', 'varchar(32)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('stream_id', 'varchar(32)')
    .addColumn('private', bool, (c) => c.notNull().defaultTo(0))
    .addColumn('anonymous_comments', bool, (c) => c.notNull().defaultTo(0))
    .addColumn('doc', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('v1_clients_owner').on('v1_clients').column('owner_id').execute();
  await db.schema.createIndex('v1_clients_stream').on('v1_clients').column('stream_id').execute();

  await db.schema
    .createTable('v1_comments')
    .addColumn('id', 'varchar(24)', (c) => c.primaryKey())
    .addColumn('owner_id', 'varchar(32)', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('resource_type', 'varchar(16)', (c) => c.notNull())
    .addColumn('resource_id', 'varchar(32)', (c) => c.notNull())
    .addColumn('doc', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('v1_comments_resource').on('v1_comments').columns(['resource_type', 'resource_id', 'created_at']).execute();
  await db.schema.createIndex('v1_comments_owner').on('v1_comments').column('owner_id').execute();

  // every v1 list of user ids: canRead / canWrite (streams, objects, projects, clients),
  // permRead / permWrite (a project's `permissions`), assignedTo (comments); seq keeps list order
  await db.schema
    .createTable('v1_user_lists')
    .addColumn('resource_type', 'varchar(16)', (c) => c.notNull())
    .addColumn('resource_id', 'varchar(24)', (c) => c.notNull())
    .addColumn('list', 'varchar(16)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(32)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('v1_user_lists_pk', ['resource_type', 'resource_id', 'list', 'user_id'])
    .execute();
  await db.schema.createIndex('v1_user_lists_user').on('v1_user_lists').columns(['user_id', 'resource_type', 'list']).execute();
}
