import { describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { openStore } from '../src/store/db.js';
import { migrateToLatest } from '../src/store/migrations/index.js';
import { createTestDatabase, storeKinds } from './helpers/stores.js';

describe.each(storeKinds)('migrations on %s', (kind) => {
  it('creates every table once and is a no-op when run again', async () => {
    const tdb = await createTestDatabase(kind);
    const store = await openStore(tdb.config);
    try {
      const first = await migrateToLatest(store);
      expect(first).toContain('0001_identity');
      expect(first).toContain('0002_jobs');
      expect(await migrateToLatest(store)).toEqual([]);
      const row = await store.db.selectFrom('server_config').selectAll().executeTakeFirstOrThrow();
      expect(row.name).toBe('My new Speckle Server');
      await sql`select count(*) from jobs`.execute(store.db);
    } finally {
      await store.close();
      await tdb.drop();
    }
  });
});
