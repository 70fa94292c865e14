/** Users, tokens, apps, OAuth-like codes, server settings: the one identity system of all faces. */
import { sql, type Kysely } from 'kysely';
import type { MigrationContext } from './index.js';

export async function up(db: Kysely<any>, { bigint, bool }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
    .addColumn('email', 'varchar(320)', (c) => c.notNull())
    .addColumn('email_lower', 'varchar(320)', (c) => c.notNull().unique())
    .addColumn('name', 'varchar(512)', (c) => c.notNull())
    .addColumn('bio', 'text')
    .addColumn('company', 'varchar(512)')
    .addColumn('avatar', 'text')
    .addColumn('verified', bool, (c) => c.notNull().defaultTo(0))
    .addColumn('server_role', 'varchar(32)', (c) => c.notNull())
    .addColumn('password_digest', 'text')
    .addColumn('username', 'varchar(128)', (c) => c.unique())
    .addColumn('is_service', bool, (c) => c.notNull().defaultTo(0))
    .addColumn('data', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('updated_at', bigint, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
    .addColumn('digest', 'varchar(64)', (c) => c.notNull())
    .addColumn('owner_id', 'varchar(32)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'varchar(512)', (c) => c.notNull())
    .addColumn('last_chars', 'varchar(8)', (c) => c.notNull())
    .addColumn('kind', 'varchar(32)', (c) => c.notNull())
    .addColumn('app_id', 'varchar(64)')
    .addColumn('revoked', bool, (c) => c.notNull().defaultTo(0))
    .addColumn('lifespan_ms', bigint, (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('last_used', bigint, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('api_tokens_owner').on('api_tokens').column('owner_id').execute();

  await db.schema
    .createTable('token_scopes')
    .addColumn('token_id', 'varchar(32)', (c) => c.notNull().references('api_tokens.id').onDelete('cascade'))
    .addColumn('scope', 'varchar(128)', (c) => c.notNull())
    .addPrimaryKeyConstraint('token_scopes_pk', ['token_id', 'scope'])
    .execute();

  await db.schema
    .createTable('token_resource_access')
    .addColumn('token_id', 'varchar(32)', (c) => c.notNull().references('api_tokens.id').onDelete('cascade'))
    .addColumn('resource_type', 'varchar(32)', (c) => c.notNull())
    .addColumn('resource_id', 'varchar(64)', (c) => c.notNull())
    .addPrimaryKeyConstraint('token_resource_access_pk', ['token_id', 'resource_type', 'resource_id'])
    .execute();

  await db.schema
    .createTable('server_apps')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('secret_digest', 'varchar(64)', (c) => c.notNull())
    .addColumn('name', 'varchar(256)', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('terms_link', 'text')
    .addColumn('logo', 'text')
    .addColumn('public', bool, (c) => c.notNull().defaultTo(1))
    .addColumn('trust_by_default', bool, (c) => c.notNull().defaultTo(0))
    .addColumn('author_id', 'varchar(32)', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('redirect_url', 'text')
    .addColumn('created_at', bigint, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('server_app_scopes')
    .addColumn('app_id', 'varchar(64)', (c) => c.notNull().references('server_apps.id').onDelete('cascade'))
    .addColumn('scope', 'varchar(128)', (c) => c.notNull())
    .addPrimaryKeyConstraint('server_app_scopes_pk', ['app_id', 'scope'])
    .execute();

  await db.schema
    .createTable('authorization_codes')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('app_id', 'varchar(64)', (c) => c.notNull().references('server_apps.id').onDelete('cascade'))
    .addColumn('user_id', 'varchar(32)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('challenge', 'text', (c) => c.notNull())
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('lifespan_ms', bigint, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('refresh_tokens')
    .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
    .addColumn('digest', 'varchar(64)', (c) => c.notNull())
    .addColumn('app_id', 'varchar(64)', (c) => c.notNull().references('server_apps.id').onDelete('cascade'))
    .addColumn('user_id', 'varchar(32)', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', bigint, (c) => c.notNull())
    .addColumn('lifespan_ms', bigint, (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('server_config')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('name', 'varchar(512)', (c) => c.notNull())
    .addColumn('company', 'varchar(512)')
    .addColumn('description', 'text')
    .addColumn('admin_contact', 'varchar(512)')
    .addColumn('terms_of_service', 'text')
    .addColumn('invite_only', bool, (c) => c.notNull().defaultTo(0))
    .addColumn('guest_mode_enabled', bool, (c) => c.notNull().defaultTo(0))
    .execute();
  await db
    .insertInto('server_config')
    .values({
      id: 1,
      name: 'My new Speckle Server',
      company: 'Unknown Company',
      description: 'This a community deployment of a Speckle Server.',
      admin_contact: 'n/a',
      terms_of_service: 'n/a',
      invite_only: 0,
      guest_mode_enabled: 0,
    })
    .execute();
  void sql;
}
