/**
 * AYON addons, bundles, settings and overrides: tables.
 *
 * - ayon_addons: one row per installed addon version. The package's files live in the blob store under
 *   `addons/<name>/<version>/<generation>/` (the zip as `package.zip`, each extracted file as
 *   `files/<n>`); `files` maps package paths to those numbers, so file names never become blob keys
 *   and a reinstall (new generation) replaces the whole package at once. Settings schema/defaults
 *   are copied here from the package (they are read on every settings request).
 * - ayon_bundles: AYON's bundles table (flags as columns, the rest in `data`); partial unique indexes
 *   keep one production and one staging bundle.
 * - ayon_addon_settings: every stored override, keyed by scope: `studio` (variant), `project`
 *   (project + variant), `project_site` (project + site + user) and `site` (site + user). Unused key
 *   columns hold ''.
 */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './index.js';

export async function up(db: Kysely<any>, { bigint, bool }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('ayon_addons')
    .addColumn('name', 'varchar(128)', (c) => c.notNull())
    .addColumn('version', 'varchar(128)', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('generation', 'varchar(32)', (c) => c.notNull())
    .addColumn('meta', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('files', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('settings_schema', 'text')
    .addColumn('settings_defaults', 'text')
    .addColumn('site_schema', 'text')
    .addColumn('site_defaults', 'text')
    .addColumn('zip_size', bigint, (c) => c.notNull())
    .addColumn('zip_sha256', 'varchar(64)', (c) => c.notNull())
    .addColumn('created_by', 'varchar(128)')
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('ayon_addons_pk', ['name', 'version'])
    .execute();

  await db.schema
    .createTable('ayon_bundles')
    .addColumn('name', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('data', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('is_production', bool, (c) => c.notNull().defaultTo(0))
    .addColumn('is_staging', bool, (c) => c.notNull().defaultTo(0))
    .addColumn('is_dev', bool, (c) => c.notNull().defaultTo(0))
    .addColumn('is_archived', bool, (c) => c.notNull().defaultTo(0))
    .addColumn('active_user', 'varchar(128)')
    .addColumn('created_at', bigint, (c) => c.notNull())
    .execute();
  // at most one production and one staging bundle, whatever concurrent writers do
  for (const flag of ['is_production', 'is_staging']) {
    await db.schema
      .createIndex(`ayon_bundles_one_${flag.slice(3)}`)
      .on('ayon_bundles')
      .column(flag)
      .unique()
      .where(sql.ref(flag), '=', 1)
      .execute();
  }

  await db.schema
    .createTable('ayon_addon_settings')
    .addColumn('addon_name', 'varchar(128)', (c) => c.notNull())
    .addColumn('addon_version', 'varchar(128)', (c) => c.notNull())
    .addColumn('scope', 'varchar(16)', (c) => c.notNull())
    .addColumn('project_name', 'varchar(64)', (c) => c.notNull().defaultTo(''))
    .addColumn('variant', 'varchar(255)', (c) => c.notNull().defaultTo(''))
    .addColumn('site_id', 'varchar(255)', (c) => c.notNull().defaultTo(''))
    .addColumn('user_name', 'varchar(128)', (c) => c.notNull().defaultTo(''))
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('ayon_addon_settings_pk', ['addon_name', 'addon_version', 'scope', 'project_name', 'variant', 'site_id', 'user_name'])
    .execute();
}
