/**
 * The SQLite store's two connections (store/sqlite-driver.ts): reads outside a transaction do not wait
 * for an open transaction and see only committed data; writes still run one at a time; a transaction
 * reads its own writes; a failed transaction leaves nothing and frees the writer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { openStore, type Store } from '../src/store/db.js';
import { createTestDatabase, type TestDatabase } from './helpers/stores.js';

interface T {
  notes: { id: number; text: string };
}

describe('SQLite store with a reader and a writer connection', () => {
  let tdb: TestDatabase;
  let store: Store;

  const open = async () => {
    tdb = await createTestDatabase('sqlite');
    store = await openStore(tdb.config);
    await sql`create table notes (id integer primary key, text text not null)`.execute(store.db);
    return store.db as unknown as import('kysely').Kysely<T>;
  };

  afterEach(async () => {
    await store?.close();
    await tdb?.drop();
  });

  it('answers a read while a transaction is open, without the uncommitted row, and with it after the commit', async () => {
    const db = await open();
    let finish!: () => void;
    const held = new Promise<void>((r) => (finish = r));
    let inserted!: () => void;
    const insertedP = new Promise<void>((r) => (inserted = r));
    const tx = db.transaction().execute(async (trx) => {
      await trx.insertInto('notes').values({ id: 1, text: 'pending' }).execute();
      // the transaction reads its own write
      expect(await trx.selectFrom('notes').selectAll().execute()).toEqual([{ id: 1, text: 'pending' }]);
      inserted();
      await held;
    });
    await insertedP;
    // with one connection behind a mutex this read would wait for `finish()` and the test would time out
    const during = await Promise.race([
      db.selectFrom('notes').selectAll().execute(),
      new Promise<'blocked'>((r) => setTimeout(() => r('blocked'), 2000)),
    ]);
    expect(during).toEqual([]);
    const raw = await sql<{ n: number }>`select count(*) as n from notes`.execute(db);
    expect(raw.rows[0].n).toBe(0);
    finish();
    await tx;
    expect(await db.selectFrom('notes').selectAll().execute()).toEqual([{ id: 1, text: 'pending' }]);
  });

  it('makes a write outside a transaction wait for the open transaction, then apply', async () => {
    const db = await open();
    let finish!: () => void;
    const held = new Promise<void>((r) => (finish = r));
    const order: string[] = [];
    let started!: () => void;
    const startedP = new Promise<void>((r) => (started = r));
    const tx = db.transaction().execute(async (trx) => {
      await trx.insertInto('notes').values({ id: 1, text: 'tx' }).execute();
      started();
      await held;
      order.push('commit');
    });
    await startedP;
    const write = db
      .insertInto('notes')
      .values({ id: 2, text: 'outside' })
      .execute()
      .then(() => order.push('write'));
    await new Promise((r) => setTimeout(r, 50));
    expect(order).toEqual([]);
    finish();
    await Promise.all([tx, write]);
    expect(order).toEqual(['commit', 'write']);
    expect((await db.selectFrom('notes').select('id').orderBy('id').execute()).map((r) => r.id)).toEqual([1, 2]);
  });

  it('rolls a failed transaction back and frees the writer for the next one', async () => {
    const db = await open();
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('notes').values({ id: 1, text: 'lost' }).execute();
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await db.selectFrom('notes').selectAll().execute()).toEqual([]);
    await db.transaction().execute((trx) => trx.insertInto('notes').values({ id: 2, text: 'kept' }).execute());
    expect(await db.selectFrom('notes').selectAll().execute()).toEqual([{ id: 2, text: 'kept' }]);
  });

  it('runs concurrent transactions one after the other, none lost', async () => {
    const db = await open();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        db.transaction().execute(async (trx) => {
          const n = (await trx.selectFrom('notes').select('id').execute()).length;
          await new Promise((r) => setTimeout(r, 1));
          await trx.insertInto('notes').values({ id: i + 1, text: `seen ${n}` }).execute();
        }),
      ),
    );
    const rows = await db.selectFrom('notes').select('text').execute();
    // each transaction saw all the earlier ones: the counts are 0..19, each once
    expect(rows.map((r) => Number(r.text.slice(5))).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });
});
