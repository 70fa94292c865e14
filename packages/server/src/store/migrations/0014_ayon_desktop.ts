/**
 * AYON secrets, installers, dependency packages, action configs.
 *
 * - `ayon_secrets`: name → value (admins only; values stored as given — Atrium has no server-wide
 *   encryption key in its configuration yet, see services/ayon/desktop.ts).
 * - `ayon_desktop_packages`: one row per installer or dependency package manifest. The file itself is a
 *   blob; `blob_key` is set only once an upload completed and its checksum matched, so a failed or
 *   interrupted upload never makes a file visible.
 * - `ayon_action_configs`: the stored configuration of an action per user, addon, identifier, project.
 */
import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.js';

export async function up(db: Kysely<any>, { bigint }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('ayon_secrets')
    .addColumn('name', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('ayon_desktop_packages')
    // installer | dependency_package
    .addColumn('kind', 'varchar(24)', (c) => c.notNull())
    .addColumn('filename', 'varchar(255)', (c) => c.notNull())
    // windows | linux | darwin
    .addColumn('platform', 'varchar(16)', (c) => c.notNull())
    // installer version (installers) or the installer version a package was made with (packages)
    .addColumn('version', 'varchar(255)', (c) => c.notNull())
    // the manifest as the client sent it (camelCase JSON, known fields only)
    .addColumn('manifest', 'text', (c) => c.notNull())
    .addColumn('blob_key', 'varchar(1024)')
    .addColumn('blob_size', bigint)
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('ayon_desktop_packages_pk', ['kind', 'filename'])
    .execute();

  await db.schema
    .createTable('ayon_action_configs')
    .addColumn('user_name', 'varchar(255)', (c) => c.notNull())
    .addColumn('addon_name', 'varchar(255)', (c) => c.notNull())
    .addColumn('identifier', 'varchar(255)', (c) => c.notNull())
    // '' for actions outside a project
    .addColumn('project_name', 'varchar(255)', (c) => c.notNull())
    .addColumn('addon_version', 'varchar(255)', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('ayon_action_configs_pk', ['user_name', 'addon_name', 'identifier', 'project_name'])
    .execute();
}
