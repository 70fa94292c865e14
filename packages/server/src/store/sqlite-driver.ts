/**
 * The SQLite driver: two connections to one WAL database, so that reads do not queue behind writes.
 *
 * Kysely's own SQLite driver has one connection behind one mutex: while a transaction is open (a
 * large object upload keeps one open for seconds while it parses the body) every other query of
 * every request waits for it. Here:
 *
 * - transactions and writes run on the writer connection, one at a time (a mutex, as before);
 * - SELECTs outside a transaction run at once on a reader connection (`query_only`), which in WAL
 *   mode sees the last committed state and never waits for the writer;
 * - inside a transaction everything runs on the writer (a transaction reads its own writes).
 *
 * An in-memory database cannot be shared between connections; it gets the single writer only.
 * libsql's calls are synchronous, so a statement never interleaves with another on one connection.
 */
import type { DatabaseConnection, Dialect, Driver, Kysely, QueryResult, TransactionSettings } from 'kysely';
import { CompiledQuery, RawNode, SelectQueryNode, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler } from 'kysely';

/** The part of a libsql (better-sqlite3-compatible) database the driver uses. */
export interface SqliteHandle {
  prepare(sql: string): {
    reader: boolean;
    all(params: readonly unknown[]): unknown[];
    run(params: readonly unknown[]): { changes?: number | bigint | null; lastInsertRowid?: number | bigint | null };
  };
  close(): void;
}

class Mutex {
  private tail: Promise<void> = Promise.resolve();
  /** resolves with the release function once every earlier holder has released */
  lock(): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const ready = this.tail.then(() => release);
    this.tail = this.tail.then(() => held);
    return ready;
  }
}

type Statement = ReturnType<SqliteHandle['prepare']> & { isReader?: boolean };

/**
 * Prepared statements per connection, by SQL text (most used kept): preparing costs more than running
 * the small queries a request makes (a token lookup, a project row).
 */
const STATEMENT_CACHE_SIZE = 500;
const statements = new WeakMap<SqliteHandle, Map<string, Statement>>();

function prepared(db: SqliteHandle, text: string): Statement {
  let cache = statements.get(db);
  if (!cache) statements.set(db, (cache = new Map()));
  let stmt = cache.get(text);
  if (stmt) {
    cache.delete(text); // most recently used last
  } else {
    stmt = db.prepare(text) as Statement;
    stmt.isReader = stmt.reader;
    if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  }
  cache.set(text, stmt);
  return stmt;
}

function run(db: SqliteHandle, q: CompiledQuery): QueryResult<unknown> {
  // BEGIN/COMMIT/ROLLBACK and schema changes are not worth keeping
  const stmt = q.parameters.length || SelectQueryNode.is(q.query) ? prepared(db, q.sql) : (db.prepare(q.sql) as Statement);
  if (stmt.isReader ?? stmt.reader) return { rows: stmt.all(q.parameters) };
  const { changes, lastInsertRowid } = stmt.run(q.parameters);
  return {
    numAffectedRows: changes !== undefined && changes !== null ? BigInt(changes) : undefined,
    insertId: lastInsertRowid !== undefined && lastInsertRowid !== null ? BigInt(lastInsertRowid) : undefined,
    rows: [],
  };
}

const isRead = (q: CompiledQuery) => SelectQueryNode.is(q.query) || (RawNode.is(q.query) && /^\s*select\b/i.test(q.sql));

class RoutedConnection implements DatabaseConnection {
  /** the writer's release function while this connection runs a transaction */
  release: (() => void) | null = null;
  constructor(private driver: RoutingSqliteDriver) {}

  async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    const { writer, reader } = this.driver;
    if (this.release) return run(writer, q) as QueryResult<R>;
    if (reader && isRead(q)) return run(reader, q) as QueryResult<R>;
    const release = await this.driver.writerLock.lock();
    try {
      return run(writer, q) as QueryResult<R>;
    } finally {
      release();
    }
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming queries are not supported on SQLite');
  }
}

export class RoutingSqliteDriver implements Driver {
  readonly writerLock = new Mutex();
  constructor(
    readonly writer: SqliteHandle,
    readonly reader: SqliteHandle | null,
  ) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new RoutedConnection(this);
  }

  async beginTransaction(connection: DatabaseConnection, _settings: TransactionSettings): Promise<void> {
    const c = connection as RoutedConnection;
    c.release = await this.writerLock.lock();
    try {
      run(this.writer, CompiledQuery.raw('begin'));
    } catch (err) {
      c.release();
      c.release = null;
      throw err;
    }
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await this.end(connection as RoutedConnection, 'commit');
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await this.end(connection as RoutedConnection, 'rollback');
  }

  private async end(c: RoutedConnection, verb: 'commit' | 'rollback') {
    try {
      run(this.writer, CompiledQuery.raw(verb));
    } finally {
      c.release?.();
      c.release = null;
    }
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    // a transaction always ends through commit or rollback; this only guards against a leak
    const c = connection as RoutedConnection;
    c.release?.();
    c.release = null;
  }

  async destroy(): Promise<void> {
    this.reader?.close();
    this.writer.close();
  }
}

export function routingSqliteDialect(writer: SqliteHandle, reader: SqliteHandle | null): Dialect {
  return {
    createDriver: () => new RoutingSqliteDriver(writer, reader),
    createQueryCompiler: () => new SqliteQueryCompiler(),
    createAdapter: () => new SqliteAdapter(),
    createIntrospector: (db: Kysely<any>) => new SqliteIntrospector(db),
  };
}
