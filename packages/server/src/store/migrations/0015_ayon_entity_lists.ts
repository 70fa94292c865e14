/**
 * AYON entity lists, their items and list folders (ayon.md §12 "Entity lists").
 *
 * - `ayon_entity_lists`: one row per list; `seq` is the creation order and the GraphQL cursor (AYON's
 *   creation_order). Labels are unique per project, as AYON's `entity_lists_name` index makes them.
 *   `attributes` holds the list's own item-attribute definitions (AYON keeps them in data.attributes),
 *   `item_count` the number of items (AYON's data.count).
 * - `ayon_entity_list_items`: items in `position` order (0…n-1, normalised after every write), with the
 *   folder path of the listed entity, as AYON stores it.
 * - `ayon_entity_list_folders`: the folders lists are sorted into; labels unique per parent
 *   (case-insensitive).
 *
 * Every table references the project with ON DELETE/UPDATE CASCADE, so purging or renaming a project
 * takes its lists along. JSON is text, booleans 0/1, times epoch ms.
 */
import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.js';

export async function up(db: Kysely<any>, { bigint, bool, serial }: MigrationContext): Promise<void> {
  const project = (c: any) => c.notNull().references('ayon_projects.name').onDelete('cascade').onUpdate('cascade');

  await db.schema
    .createTable('ayon_entity_list_folders')
    .addColumn('seq', serial, (c) => c.primaryKey())
    .addColumn('project_name', 'varchar(64)', project)
    .addColumn('id', 'varchar(32)', (c) => c.notNull())
    .addColumn('label', 'varchar(255)', (c) => c.notNull())
    .addColumn('label_lower', 'varchar(255)', (c) => c.notNull())
    .addColumn('parent_id', 'varchar(32)')
    // parent_id or '' for root folders: one unique index covers both
    .addColumn('parent_key', 'varchar(32)', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('owner', 'varchar(128)')
    .addColumn('access', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('data', 'text', (c) => c.notNull().defaultTo('{}'))
    .execute();
  await db.schema.createIndex('ayon_entity_list_folders_id').on('ayon_entity_list_folders').columns(['project_name', 'id']).unique().execute();
  await db.schema
    .createIndex('ayon_entity_list_folders_label')
    .on('ayon_entity_list_folders')
    .columns(['project_name', 'parent_key', 'label_lower'])
    .unique()
    .execute();

  await db.schema
    .createTable('ayon_entity_lists')
    .addColumn('seq', serial, (c) => c.primaryKey())
    .addColumn('project_name', 'varchar(64)', project)
    .addColumn('id', 'varchar(32)', (c) => c.notNull())
    .addColumn('entity_list_type', 'varchar(128)', (c) => c.notNull())
    .addColumn('entity_type', 'varchar(32)', (c) => c.notNull())
    .addColumn('entity_list_folder_id', 'varchar(32)')
    .addColumn('label', 'varchar(255)', (c) => c.notNull())
    .addColumn('owner', 'varchar(128)')
    .addColumn('access', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('template', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('attrib', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('data', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('attributes', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('item_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('active', bool, (c) => c.notNull().defaultTo(1))
    .addColumn('created_by', 'varchar(128)')
    .addColumn('updated_by', 'varchar(128)')
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('ayon_entity_lists_id').on('ayon_entity_lists').columns(['project_name', 'id']).unique().execute();
  await db.schema.createIndex('ayon_entity_lists_label').on('ayon_entity_lists').columns(['project_name', 'label']).unique().execute();
  await db.schema.createIndex('ayon_entity_lists_project_seq').on('ayon_entity_lists').columns(['project_name', 'seq']).execute();

  await db.schema
    .createTable('ayon_entity_list_items')
    .addColumn('seq', serial, (c) => c.primaryKey())
    .addColumn('project_name', 'varchar(64)', project)
    .addColumn('id', 'varchar(32)', (c) => c.notNull())
    .addColumn('list_id', 'varchar(32)', (c) => c.notNull())
    .addColumn('entity_id', 'varchar(32)', (c) => c.notNull())
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('label', 'text')
    .addColumn('attrib', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('data', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('folder_path', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_by', 'varchar(128)')
    .addColumn('updated_by', 'varchar(128)')
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('ayon_entity_list_items_id').on('ayon_entity_list_items').columns(['project_name', 'id']).unique().execute();
  await db.schema.createIndex('ayon_entity_list_items_list').on('ayon_entity_list_items').columns(['project_name', 'list_id', 'position']).execute();
  await db.schema.createIndex('ayon_entity_list_items_entity').on('ayon_entity_list_items').columns(['project_name', 'entity_id']).execute();
}
