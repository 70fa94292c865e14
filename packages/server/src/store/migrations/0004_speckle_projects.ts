/**
 * Speckle's data: projects (streams) with their members, models (branches), versions (commits),
 * received-version receipts, invites, and the content-addressed objects of each project.
 */
import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.js';

export async function up(db: Kysely<any>, { bigint, bool, serial }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('projects')
    .addColumn('id', 'varchar(10)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(512)', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('visibility', 'varchar(16)', (c) => c.notNull())
    .addColumn('allow_public_comments', bool, (c) => c.notNull().defaultTo(0))
    .addColumn('cloned_from', 'varchar(10)')
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('projects_updated').on('projects').columns(['updated_at', 'id']).execute();

  await db.schema
    .createTable('project_acl')
    .addColumn('project_id', 'varchar(10)', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('user_id', 'varchar(32)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('role', 'varchar(16)', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('project_acl_pk', ['project_id', 'user_id'])
    .execute();
  await db.schema.createIndex('project_acl_user').on('project_acl').column('user_id').execute();

  await db.schema
    .createTable('models')
    .addColumn('id', 'varchar(10)', (c) => c.primaryKey())
    .addColumn('project_id', 'varchar(10)', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('name', 'varchar(512)', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('author_id', 'varchar(32)', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .addUniqueConstraint('models_project_name', ['project_id', 'name'])
    .execute();
  await db.schema.createIndex('models_project_updated').on('models').columns(['project_id', 'updated_at']).execute();

  await db.schema
    .createTable('versions')
    .addColumn('id', 'varchar(10)', (c) => c.primaryKey())
    .addColumn('project_id', 'varchar(10)', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('model_id', 'varchar(10)', (c) => c.notNull().references('models.id').onDelete('cascade'))
    .addColumn('referenced_object', 'varchar(255)', (c) => c.notNull())
    .addColumn('author_id', 'varchar(32)', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('message', 'text')
    .addColumn('source_application', 'varchar(1024)')
    .addColumn('total_children_count', 'integer')
    .addColumn('parents', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('created_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('versions_model_created').on('versions').columns(['model_id', 'created_at']).execute();
  await db.schema.createIndex('versions_project_created').on('versions').columns(['project_id', 'created_at']).execute();

  await db.schema
    .createTable('version_receipts')
    .addColumn('id', serial, (c) => c.primaryKey())
    .addColumn('version_id', 'varchar(10)', (c) => c.notNull().references('versions.id').onDelete('cascade'))
    .addColumn('user_id', 'varchar(32)', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('source_application', 'varchar(1024)', (c) => c.notNull())
    .addColumn('message', 'text')
    .addColumn('created_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('version_receipts_version').on('version_receipts').column('version_id').execute();

  await db.schema
    .createTable('project_invites')
    .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
    .addColumn('project_id', 'varchar(10)', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('inviter_id', 'varchar(32)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('target_user_id', 'varchar(32)', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('target_email', 'varchar(320)')
    .addColumn('role', 'varchar(16)', (c) => c.notNull())
    .addColumn('token', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('project_invites_project').on('project_invites').column('project_id').execute();

  await db.schema
    .createTable('objects')
    .addColumn('project_id', 'varchar(10)', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('id', 'varchar(255)', (c) => c.notNull())
    .addColumn('speckle_type', 'varchar(1024)', (c) => c.notNull().defaultTo('Base'))
    .addColumn('total_children_count', 'integer')
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('objects_pk', ['project_id', 'id'])
    // an ordinary rowid table: WITHOUT ROWID made SQLite inserts 2–2.5× slower for no read gain
    .execute();
}
