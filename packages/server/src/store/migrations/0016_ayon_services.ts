/**
 * AYON services and hosts registry (ayon.md §12; AYON's `hosts` and `services` tables): hosts are AYON
 * service hosts (ASH) that announce themselves with heartbeats; services are the addon services an
 * administrator asked a host to run. Atrium only keeps the records — it does not run containers.
 *
 * JSON is text, booleans 0/1, times epoch ms. AYON's services.hostname is a foreign key to hosts; here
 * the registry checks that the host exists (no foreign key, so both dialects behave alike).
 */
import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.js';

export async function up(db: Kysely<any>, { bigint, bool }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('ayon_hosts')
    .addColumn('name', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('last_seen', bigint, (c) => c.notNull())
    .addColumn('health', 'text', (c) => c.notNull().defaultTo('{}'))
    .execute();

  await db.schema
    .createTable('ayon_services')
    .addColumn('name', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('hostname', 'varchar(255)', (c) => c.notNull())
    .addColumn('addon_name', 'varchar(255)', (c) => c.notNull())
    .addColumn('addon_version', 'varchar(255)', (c) => c.notNull())
    .addColumn('service', 'varchar(255)', (c) => c.notNull())
    .addColumn('should_run', bool, (c) => c.notNull().defaultTo(1))
    .addColumn('is_running', bool, (c) => c.notNull().defaultTo(0))
    .addColumn('last_seen', bigint)
    .addColumn('data', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('created_at', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('ayon_services_hostname').on('ayon_services').column('hostname').execute();
}
