/**
 * Version analytics datasets (speckle.md §10): one row per built (or failed) DuckDB file of a version.
 * A row with status `ready` is written only after its blob was stored completely, so a row is the
 * only way a dataset becomes visible; a crash before that leaves at most an unreferenced blob.
 */
import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.js';

export async function up(db: Kysely<any>, { bigint }: MigrationContext): Promise<void> {
  await db.schema
    .createTable('version_datasets')
    .addColumn('version_id', 'varchar(10)', (c) => c.notNull().references('versions.id').onDelete('cascade'))
    // main ({versionId}.duckdb) | eav ({versionId}.eav.duckdb)
    .addColumn('kind', 'varchar(8)', (c) => c.notNull())
    .addColumn('project_id', 'varchar(10)', (c) => c.notNull())
    // ready | failed
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('blob_key', 'varchar(1024)')
    .addColumn('size', bigint)
    .addColumn('sha256', 'varchar(64)')
    // rows of `objects` (main) or of `properties` (eav)
    .addColumn('row_count', bigint)
    // version of the building rules that produced the file (services/datasets-eav.ts DATASET_FORMAT)
    .addColumn('format', 'integer', (c) => c.notNull())
    .addColumn('error', 'text')
    .addColumn('build_ms', bigint)
    .addColumn('built_at', bigint, (c) => c.notNull())
    .addPrimaryKeyConstraint('version_datasets_pk', ['version_id', 'kind'])
    .execute();
  await db.schema.createIndex('version_datasets_project').on('version_datasets').column('project_id').execute();
}
