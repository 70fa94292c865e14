/**
 * Bulk inserts for the batch write path: many rows in one statement with a single JSON parameter
 * (SQLite `json_each`, PostgreSQL `json_populate_recordset`). A VALUES list of 200 rows × 20
 * columns costs more to build and prepare than to run; one JSON document does not.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Dialect } from '../../store/db.js';

const IDENT = /^[a-z_][a-z0-9_]*$/;
const CHUNK = 2000;

export async function bulkInsert(db: Kysely<any> | Transaction<any>, dialect: Dialect, table: string, rows: Array<Record<string, unknown>>): Promise<void> {
  if (!rows.length) return;
  const cols = Object.keys(rows[0]);
  for (const c of [table, ...cols]) if (!IDENT.test(c)) throw new Error(`bulkInsert: bad identifier ${c}`);
  const colList = sql.raw(cols.join(', '));
  for (let i = 0; i < rows.length; i += CHUNK) {
    const part = rows.slice(i, i + CHUNK);
    if (dialect === 'sqlite') {
      const json = JSON.stringify(part.map((r) => cols.map((c) => (r[c] === undefined ? null : r[c]))));
      const extracts = sql.raw(cols.map((_c, k) => `json_extract(value, '$[${k}]')`).join(', '));
      await sql`INSERT INTO ${sql.raw(table)} (${colList}) SELECT ${extracts} FROM json_each(${json})`.execute(db);
    } else {
      const json = JSON.stringify(part.map((r) => Object.fromEntries(cols.map((c) => [c, r[c] === undefined ? null : r[c]]))));
      await sql`INSERT INTO ${sql.raw(table)} (${colList}) SELECT ${colList} FROM json_populate_recordset(NULL::${sql.raw(table)}, ${json}::json)`.execute(db);
    }
  }
}
