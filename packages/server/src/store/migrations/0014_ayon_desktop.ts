/**
 * AYON secrets, installers, dependency packages, actions: tables. (Scaffold: filled in by the work on this area.)
 */
import type { Kysely } from 'kysely';
import type { MigrationContext } from './index.js';

export async function up(_db: Kysely<any>, _ctx: MigrationContext): Promise<void> {}
