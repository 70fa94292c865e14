/**
 * AYON core: attribute schema, anatomy presets, projects, the six hierarchy entity types, links,
 * thumbnails, project files, the events table (entity.* events are written here in the same
 * transaction as the change) and durable background-operation state.
 *
 * Layout (see services/ayon/README.md for the reasoning):
 * - every hierarchy table has `seq` as its primary key (SQLite: the rowid, so rows are clustered in
 *   creation order; PostgreSQL: a bigserial) plus UNIQUE (project_name, id). `seq` is the keyset
 *   paging key of GraphQL connections, like AYON's creation_order;
 * - folders keep a materialised `path` ("a/b/c") and `inherited`: the merged own attributes of
 *   their ancestors (inheritable ones only), so a page of folders or tasks with `allAttrib` is read
 *   without walking the tree (project attrib ⊕ inherited ⊕ own, merged in memory);
 * - JSON is text and booleans are 0/1 on both dialects; times are epoch milliseconds.
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './index.js';

export async function up(db: Kysely<any>, { bigint, bool, serial }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('ayon_attributes')
    .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('builtin', bool, (c) => c.notNull().defaultTo(0))
    .addColumn('data', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('ayon_anatomy_presets')
    .addColumn('name', 'varchar(128)', (c) => c.primaryKey())
    .addColumn('version', 'varchar(32)', (c) => c.notNull())
    .addColumn('is_primary', bool, (c) => c.notNull().defaultTo(0))
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .execute();

  // Access groups: project_name '_' holds the studio-wide definition, a project name its override.
  await db.schema
    .createTable('ayon_access_groups')
    .addColumn('name', 'varchar(128)', (c) => c.notNull())
    .addColumn('project_name', 'varchar(64)', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull().defaultTo('{}'))
    .addPrimaryKeyConstraint('ayon_access_groups_pk', ['name', 'project_name'])
    .execute();

  await db.schema
    .createTable('ayon_projects')
    .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('name_lower', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('code', 'varchar(64)', (c) => c.notNull())
    .addColumn('code_lower', 'varchar(64)', (c) => c.notNull().unique())
    .addColumn('label', 'text')
    .addColumn('library', bool, (c) => c.notNull().defaultTo(0))
    .addColumn('active', bool, (c) => c.notNull().defaultTo(1))
    .addColumn('skeleton', bool, (c) => c.notNull().defaultTo(0))
    .addColumn('attrib', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('data', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('config', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('folder_types', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('task_types', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('statuses', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('thumbnail_id', 'varchar(32)')
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .execute();

  // Columns every hierarchy entity has.
  const common = (t: any) =>
    t
      .addColumn('seq', serial, (c: any) => c.primaryKey())
      .addColumn('project_name', 'varchar(64)', (c: any) =>
        c.notNull().references('ayon_projects.name').onDelete('cascade').onUpdate('cascade'),
      )
      .addColumn('id', 'varchar(32)', (c: any) => c.notNull())
      .addColumn('status', 'varchar(128)', (c: any) => c.notNull())
      .addColumn('tags', 'text', (c: any) => c.notNull().defaultTo('[]'))
      .addColumn('attrib', 'text', (c: any) => c.notNull().defaultTo('{}'))
      .addColumn('data', 'text', (c: any) => c.notNull().defaultTo('{}'))
      .addColumn('active', bool, (c: any) => c.notNull().defaultTo(1))
      .addColumn('created_by', 'varchar(128)')
      .addColumn('updated_by', 'varchar(128)')
      .addColumn('created_at', bigint, (c: any) => c.notNull())
      .addColumn('updated_at', bigint, (c: any) => c.notNull());

  await common(db.schema.createTable('ayon_folders'))
    .addColumn('name', 'varchar(255)', (c: any) => c.notNull())
    .addColumn('name_lower', 'varchar(255)', (c: any) => c.notNull())
    .addColumn('label', 'text')
    .addColumn('folder_type', 'varchar(128)', (c: any) => c.notNull())
    .addColumn('parent_id', 'varchar(32)')
    // parent_id, or '' for root folders: one unique index covers both (NULLs never collide)
    .addColumn('parent_key', 'varchar(32)', (c: any) => c.notNull())
    .addColumn('path', 'text', (c: any) => c.notNull())
    .addColumn('thumbnail_id', 'varchar(32)')
    .addColumn('inherited', 'text', (c: any) => c.notNull().defaultTo('{}'))
    .execute();
  await db.schema.createIndex('ayon_folders_id').on('ayon_folders').columns(['project_name', 'id']).unique().execute();
  await db.schema.createIndex('ayon_folders_project_seq').on('ayon_folders').columns(['project_name', 'seq']).execute();
  await db.schema.createIndex('ayon_folders_parent').on('ayon_folders').columns(['project_name', 'parent_key']).execute();
  await db.schema.createIndex('ayon_folders_path').on('ayon_folders').columns(['project_name', 'path']).execute();
  await db.schema
    .createIndex('ayon_folders_unique_name')
    .on('ayon_folders')
    .columns(['project_name', 'parent_key', 'name_lower'])
    .unique()
    .where(sql.ref('active'), '=', 1)
    .execute();

  await common(db.schema.createTable('ayon_tasks'))
    .addColumn('name', 'varchar(255)', (c: any) => c.notNull())
    .addColumn('name_lower', 'varchar(255)', (c: any) => c.notNull())
    .addColumn('label', 'text')
    .addColumn('task_type', 'varchar(128)', (c: any) => c.notNull())
    .addColumn('folder_id', 'varchar(32)', (c: any) => c.notNull())
    .addColumn('assignees', 'text', (c: any) => c.notNull().defaultTo('[]'))
    .addColumn('thumbnail_id', 'varchar(32)')
    .execute();
  await db.schema.createIndex('ayon_tasks_id').on('ayon_tasks').columns(['project_name', 'id']).unique().execute();
  await db.schema.createIndex('ayon_tasks_project_seq').on('ayon_tasks').columns(['project_name', 'seq']).execute();
  await db.schema.createIndex('ayon_tasks_folder').on('ayon_tasks').columns(['project_name', 'folder_id']).execute();
  await db.schema
    .createIndex('ayon_tasks_unique_name')
    .on('ayon_tasks')
    .columns(['project_name', 'folder_id', 'name_lower'])
    .unique()
    .where(sql.ref('active'), '=', 1)
    .execute();

  await common(db.schema.createTable('ayon_products'))
    .addColumn('name', 'varchar(255)', (c: any) => c.notNull())
    .addColumn('name_lower', 'varchar(255)', (c: any) => c.notNull())
    .addColumn('folder_id', 'varchar(32)', (c: any) => c.notNull())
    .addColumn('product_type', 'varchar(128)', (c: any) => c.notNull())
    .addColumn('product_base_type', 'varchar(128)')
    .execute();
  await db.schema.createIndex('ayon_products_id').on('ayon_products').columns(['project_name', 'id']).unique().execute();
  await db.schema.createIndex('ayon_products_project_seq').on('ayon_products').columns(['project_name', 'seq']).execute();
  await db.schema.createIndex('ayon_products_folder').on('ayon_products').columns(['project_name', 'folder_id']).execute();
  await db.schema
    .createIndex('ayon_products_unique_name')
    .on('ayon_products')
    .columns(['project_name', 'folder_id', 'name_lower'])
    .unique()
    .where(sql.ref('active'), '=', 1)
    .execute();

  await common(db.schema.createTable('ayon_versions'))
    .addColumn('version', 'integer', (c: any) => c.notNull())
    .addColumn('product_id', 'varchar(32)', (c: any) => c.notNull())
    .addColumn('task_id', 'varchar(32)')
    .addColumn('thumbnail_id', 'varchar(32)')
    .addColumn('author', 'varchar(128)')
    .execute();
  await db.schema.createIndex('ayon_versions_id').on('ayon_versions').columns(['project_name', 'id']).unique().execute();
  await db.schema.createIndex('ayon_versions_project_seq').on('ayon_versions').columns(['project_name', 'seq']).execute();
  await db.schema
    .createIndex('ayon_versions_product')
    .on('ayon_versions')
    .columns(['project_name', 'product_id', 'version'])
    .execute();
  await db.schema.createIndex('ayon_versions_task').on('ayon_versions').columns(['project_name', 'task_id']).execute();
  await db.schema
    .createIndex('ayon_versions_unique_version')
    .on('ayon_versions')
    .columns(['project_name', 'product_id', 'version'])
    .unique()
    .where(sql.ref('active'), '=', 1)
    .execute();

  await common(db.schema.createTable('ayon_representations'))
    .addColumn('name', 'varchar(255)', (c: any) => c.notNull())
    .addColumn('name_lower', 'varchar(255)', (c: any) => c.notNull())
    .addColumn('version_id', 'varchar(32)', (c: any) => c.notNull())
    .addColumn('files', 'text', (c: any) => c.notNull().defaultTo('[]'))
    .addColumn('traits', 'text')
    .execute();
  await db.schema
    .createIndex('ayon_representations_id')
    .on('ayon_representations')
    .columns(['project_name', 'id'])
    .unique()
    .execute();
  await db.schema
    .createIndex('ayon_representations_project_seq')
    .on('ayon_representations')
    .columns(['project_name', 'seq'])
    .execute();
  await db.schema
    .createIndex('ayon_representations_version')
    .on('ayon_representations')
    .columns(['project_name', 'version_id'])
    .execute();
  await db.schema
    .createIndex('ayon_representations_unique_name')
    .on('ayon_representations')
    .columns(['project_name', 'version_id', 'name_lower'])
    .unique()
    .where(sql.ref('active'), '=', 1)
    .execute();

  await common(db.schema.createTable('ayon_workfiles'))
    .addColumn('path', 'text', (c: any) => c.notNull())
    .addColumn('task_id', 'varchar(32)', (c: any) => c.notNull())
    .addColumn('thumbnail_id', 'varchar(32)')
    .execute();
  await db.schema.createIndex('ayon_workfiles_id').on('ayon_workfiles').columns(['project_name', 'id']).unique().execute();
  await db.schema.createIndex('ayon_workfiles_project_seq').on('ayon_workfiles').columns(['project_name', 'seq']).execute();
  await db.schema.createIndex('ayon_workfiles_task').on('ayon_workfiles').columns(['project_name', 'task_id']).execute();
  await db.schema.createIndex('ayon_workfiles_path').on('ayon_workfiles').columns(['project_name', 'path']).unique().execute();

  await db.schema
    .createTable('ayon_link_types')
    .addColumn('project_name', 'varchar(64)', (c) =>
      c.notNull().references('ayon_projects.name').onDelete('cascade').onUpdate('cascade'),
    )
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('link_type', 'varchar(128)', (c) => c.notNull())
    .addColumn('input_type', 'varchar(32)', (c) => c.notNull())
    .addColumn('output_type', 'varchar(32)', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('position', 'integer', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('ayon_link_types_pk', ['project_name', 'name'])
    .execute();

  await db.schema
    .createTable('ayon_links')
    .addColumn('seq', serial, (c) => c.primaryKey())
    .addColumn('project_name', 'varchar(64)', (c) =>
      c.notNull().references('ayon_projects.name').onDelete('cascade').onUpdate('cascade'),
    )
    .addColumn('id', 'varchar(32)', (c) => c.notNull())
    .addColumn('name', 'text')
    .addColumn('link_type', 'varchar(255)', (c) => c.notNull())
    .addColumn('input_id', 'varchar(32)', (c) => c.notNull())
    .addColumn('input_type', 'varchar(32)', (c) => c.notNull())
    .addColumn('output_id', 'varchar(32)', (c) => c.notNull())
    .addColumn('output_type', 'varchar(32)', (c) => c.notNull())
    .addColumn('author', 'varchar(128)')
    .addColumn('data', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('created_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('ayon_links_id').on('ayon_links').columns(['project_name', 'id']).unique().execute();
  await db.schema.createIndex('ayon_links_input').on('ayon_links').columns(['project_name', 'input_id']).execute();
  await db.schema.createIndex('ayon_links_output').on('ayon_links').columns(['project_name', 'output_id']).execute();
  await db.schema
    .createIndex('ayon_links_unique')
    .on('ayon_links')
    .columns(['project_name', 'input_id', 'output_id', 'link_type'])
    .unique()
    .execute();

  await db.schema
    .createTable('ayon_thumbnails')
    .addColumn('project_name', 'varchar(64)', (c) =>
      c.notNull().references('ayon_projects.name').onDelete('cascade').onUpdate('cascade'),
    )
    .addColumn('id', 'varchar(32)', (c) => c.notNull())
    .addColumn('mime', 'varchar(64)', (c) => c.notNull())
    .addColumn('size', bigint, (c) => c.notNull())
    .addColumn('blob_key', 'varchar(255)', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('ayon_thumbnails_pk', ['project_name', 'id'])
    .execute();

  await db.schema
    .createTable('ayon_files')
    .addColumn('project_name', 'varchar(64)', (c) =>
      c.notNull().references('ayon_projects.name').onDelete('cascade').onUpdate('cascade'),
    )
    .addColumn('id', 'varchar(32)', (c) => c.notNull())
    .addColumn('filename', 'text', (c) => c.notNull())
    .addColumn('mime', 'varchar(255)', (c) => c.notNull())
    .addColumn('size', bigint, (c) => c.notNull())
    .addColumn('blob_key', 'varchar(255)', (c) => c.notNull())
    .addColumn('author', 'varchar(128)')
    .addColumn('activity_id', 'varchar(32)')
    .addColumn('version_id', 'varchar(32)')
    .addColumn('label', 'text')
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('ayon_files_pk', ['project_name', 'id'])
    .execute();
  await db.schema.createIndex('ayon_files_version').on('ayon_files').columns(['project_name', 'version_id']).execute();

  // Product types seen so far (AYON's global list, upserted on every product write).
  await db.schema
    .createTable('ayon_product_types')
    .addColumn('name', 'varchar(128)', (c) => c.primaryKey())
    .addColumn('data', 'text', (c) => c.notNull().defaultTo('{}'))
    .execute();

  // AYON's events table. entity.* events are inserted here in the transaction of the change;
  // /api/events, the enroll queue and /ws are built on it later.
  await db.schema
    .createTable('ayon_events')
    .addColumn('seq', serial, (c) => c.primaryKey())
    .addColumn('id', 'varchar(32)', (c) => c.notNull().unique())
    .addColumn('hash', 'varchar(128)', (c) => c.notNull().unique())
    .addColumn('topic', 'varchar(255)', (c) => c.notNull())
    .addColumn('sender', 'varchar(255)')
    .addColumn('sender_type', 'varchar(255)')
    .addColumn('project_name', 'varchar(64)')
    .addColumn('user_name', 'varchar(128)')
    .addColumn('depends_on', 'varchar(32)')
    .addColumn('status', 'varchar(32)', (c) => c.notNull())
    .addColumn('retries', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('summary', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('payload', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('ayon_events_topic').on('ayon_events').columns(['topic', 'seq']).execute();
  await db.schema.createIndex('ayon_events_project').on('ayon_events').columns(['project_name', 'seq']).execute();
  await db.schema.createIndex('ayon_events_depends').on('ayon_events').column('depends_on').execute();

  // Background batch operations: durable state, polled by the client.
  await db.schema
    .createTable('ayon_background_ops')
    .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
    .addColumn('project_name', 'varchar(64)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(32)')
    .addColumn('status', 'varchar(32)', (c) => c.notNull())
    .addColumn('progress', 'real')
    .addColumn('result', 'text')
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .execute();
}
