/**
 * Writes the two DuckDB files of a version dataset with @duckdb/node-api (speckle.md §10.4–§10.6):
 *
 *   {versionId}.duckdb      objects(id, data JSON, speckle_type), root(id, data JSON), blobs(id, content)
 *   {versionId}.eav.duckdb  properties(object_id, path, value_text, value_num, type, units,
 *                           internal_definition_name), proxies(proxy_type, proxy_id, name,
 *                           member_application_id, object_id, data JSON)
 *
 * Rows go in through DuckDB's appender; indexes are created after the bulk insert; `finish` checkpoints
 * and closes the database, so the file on disk is complete and needs no WAL. A writer is used on a
 * temporary file only: the caller publishes the file (BlobStore.put) after `finish`, and removes it
 * either way. Appending is synchronous (it runs on the calling thread), so callers append in bounded
 * batches and yield to the event loop between them.
 */
import fs from 'node:fs';
import { DuckDBInstance, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import type { EavRow, ProxyRow } from './datasets-eav.js';

export const MAIN_SCHEMA = [
  'CREATE TABLE objects (id VARCHAR PRIMARY KEY, data JSON, speckle_type VARCHAR)',
  'CREATE TABLE root (id VARCHAR PRIMARY KEY, data JSON)',
  'CREATE TABLE blobs (id VARCHAR PRIMARY KEY, content BLOB NOT NULL)',
];

export const EAV_SCHEMA = [
  `CREATE TABLE properties (
     object_id VARCHAR NOT NULL,
     path VARCHAR NOT NULL,
     value_text VARCHAR,
     value_num DOUBLE,
     type VARCHAR NOT NULL,
     units VARCHAR,
     internal_definition_name VARCHAR)`,
  `CREATE TABLE proxies (
     proxy_type VARCHAR NOT NULL,
     proxy_id VARCHAR,
     name VARCHAR,
     member_application_id VARCHAR,
     object_id VARCHAR,
     data JSON)`,
];

export const EAV_INDEXES = [
  'CREATE INDEX idx_props_path ON properties(path)',
  'CREATE INDEX idx_props_obj ON properties(object_id)',
  'CREATE INDEX idx_proxies_obj ON proxies(object_id)',
];

export interface DuckDbSettings {
  /** DuckDB worker threads (index builds, checkpoints) */
  threads: number;
  /** e.g. '1GB'; DuckDB spills to `tempDirectory` beyond it */
  memoryLimit: string;
  tempDirectory: string;
}

const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
const isHigh = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLow = (code: number) => code >= 0xdc00 && code <= 0xdfff;

/**
 * JSON text with every `\uXXXX` escape of a lone surrogate replaced by `\ufffd`. JavaScript accepts
 * such escapes (they are how a Speckle object carries a string that is not valid Unicode), but they
 * have no UTF-8 form, so DuckDB's JSON type (and every strict reader) rejects them. Escaped pairs and
 * everything else are kept byte for byte; text without surrogate escapes is returned as is.
 */
export function wellFormedJsonText(text: string): string {
  if (!SURROGATE_ESCAPE.test(text)) return text;
  let out = '';
  let from = 0;
  for (let i = text.indexOf('\\'); i !== -1 && i < text.length; i = text.indexOf('\\', i)) {
    if (text[i + 1] !== 'u') {
      i += 2; // any other escape, \\ included, is two characters
      continue;
    }
    const code = parseInt(text.slice(i + 2, i + 6), 16);
    if (isHigh(code) && text[i + 6] === '\\' && text[i + 7] === 'u' && isLow(parseInt(text.slice(i + 8, i + 12), 16))) {
      i += 12;
      continue;
    }
    if (isHigh(code) || isLow(code)) {
      out += `${text.slice(from, i)}\\ufffd`;
      from = i + 6;
    }
    i += 6;
  }
  return from === 0 ? text : out + text.slice(from);
}

async function open(file: string, settings: DuckDbSettings): Promise<{ instance: DuckDBInstance; con: DuckDBConnection }> {
  for (const f of [file, `${file}.wal`]) fs.rmSync(f, { force: true });
  const instance = await DuckDBInstance.create(file, {
    threads: String(settings.threads),
    memory_limit: settings.memoryLimit,
    temp_directory: settings.tempDirectory,
    // nothing in a dataset build reads files or the network
    autoinstall_known_extensions: 'false',
  });
  try {
    return { instance, con: await instance.connect() };
  } catch (err) {
    instance.closeSync();
    throw err;
  }
}

abstract class DatasetFileWriter {
  private closed = false;
  protected constructor(
    readonly file: string,
    protected readonly instance: DuckDBInstance,
    protected readonly con: DuckDBConnection,
  ) {}

  /** Checkpoints and closes; afterwards the file is complete and stands alone (no WAL). */
  protected async close(): Promise<void> {
    await this.con.run('CHECKPOINT');
    this.closeQuietly();
    if (fs.existsSync(`${this.file}.wal`)) throw new Error('DuckDB left a write-ahead log after the checkpoint');
  }

  /** Releases the database without finishing it (after a failure); never throws. */
  abort(): void {
    this.closeQuietly();
  }

  private closeQuietly(): void {
    if (this.closed) return;
    this.closed = true;
    for (const close of [() => this.closeAppenders(), () => this.con.closeSync(), () => this.instance.closeSync()]) {
      try {
        close();
      } catch {
        /* already failed; closing is best effort */
      }
    }
  }

  protected abstract closeAppenders(): void;
}

/** `{versionId}.duckdb`: the version's objects, root last. */
export class MainDatasetWriter extends DatasetFileWriter {
  private rows = 0;
  private constructor(file: string, instance: DuckDBInstance, con: DuckDBConnection, private readonly objects: DuckDBAppender) {
    super(file, instance, con);
  }

  static async create(file: string, settings: DuckDbSettings): Promise<MainDatasetWriter> {
    const { instance, con } = await open(file, settings);
    try {
      for (const ddl of MAIN_SCHEMA) await con.run(ddl);
      return new MainDatasetWriter(file, instance, con, await con.createAppender('objects'));
    } catch (err) {
      con.closeSync();
      instance.closeSync();
      throw err;
    }
  }

  /** One row of `objects`; `data` is the object's JSON text as stored. */
  appendObject(id: string, data: string, speckleType: string | null): void {
    this.objects.appendVarchar(id);
    this.objects.appendVarchar(wellFormedJsonText(data));
    if (speckleType === null) this.objects.appendNull();
    else this.objects.appendVarchar(speckleType);
    this.objects.endRow();
    this.rows++;
  }

  /**
   * Appends the root as the last row of `objects` and the one row of `root`, checks that every `data`
   * is valid JSON, and closes the file. Returns the number of `objects` rows.
   */
  async finish(root: { id: string; data: string; speckleType: string | null }): Promise<number> {
    this.appendObject(root.id, root.data, root.speckleType);
    this.objects.closeSync();
    const app = await this.con.createAppender('root');
    app.appendVarchar(root.id);
    app.appendVarchar(wellFormedJsonText(root.data));
    app.endRow();
    app.closeSync();
    // the appender does not validate JSON columns: a stored object that is not JSON must not ship
    const bad = await this.con.run('SELECT id FROM objects WHERE NOT json_valid(data) LIMIT 1');
    const rows = await bad.getRows();
    if (rows.length > 0) throw new InvalidObjectJsonError(String(rows[0][0]));
    await this.close();
    return this.rows;
  }

  protected closeAppenders(): void {
    this.objects.closeSync();
  }
}

/** A stored object whose text is not JSON: the dataset cannot be correct. */
export class InvalidObjectJsonError extends Error {
  constructor(readonly objectId: string) {
    super(`object ${objectId} is not valid JSON`);
    this.name = 'InvalidObjectJsonError';
  }
}

/** `{versionId}.eav.duckdb`: flattened properties and proxies. */
export class EavDatasetWriter extends DatasetFileWriter {
  private propertyRows = 0;
  private proxies: DuckDBAppender | null = null;
  private constructor(file: string, instance: DuckDBInstance, con: DuckDBConnection, private readonly properties: DuckDBAppender) {
    super(file, instance, con);
  }

  static async create(file: string, settings: DuckDbSettings): Promise<EavDatasetWriter> {
    const { instance, con } = await open(file, settings);
    try {
      for (const ddl of EAV_SCHEMA) await con.run(ddl);
      return new EavDatasetWriter(file, instance, con, await con.createAppender('properties'));
    } catch (err) {
      con.closeSync();
      instance.closeSync();
      throw err;
    }
  }

  get rowCount(): number {
    return this.propertyRows;
  }

  appendRows(objectId: string, rows: readonly EavRow[]): void {
    const a = this.properties;
    for (const r of rows) {
      a.appendVarchar(objectId);
      a.appendVarchar(r.path);
      a.appendVarchar(r.valueText);
      if (r.valueNum === null) a.appendNull();
      else a.appendDouble(r.valueNum);
      a.appendVarchar(r.type);
      if (r.units === null) a.appendNull();
      else a.appendVarchar(r.units);
      if (r.internalDefinitionName === null) a.appendNull();
      else a.appendVarchar(r.internalDefinitionName);
      a.endRow();
    }
    this.propertyRows += rows.length;
  }

  async appendProxies(rows: readonly ProxyRow[]): Promise<void> {
    if (rows.length === 0) return;
    const a = (this.proxies ??= await this.con.createAppender('proxies'));
    const text = (v: string | null) => (v === null ? a.appendNull() : a.appendVarchar(v));
    for (const r of rows) {
      a.appendVarchar(r.proxyType);
      text(r.proxyId);
      text(r.name);
      text(r.memberApplicationId);
      text(r.objectId);
      text(r.data);
      a.endRow();
    }
  }

  /** Flushes, creates the indexes, closes the file. Returns the number of `properties` rows. */
  async finish(): Promise<number> {
    this.properties.closeSync();
    this.proxies?.closeSync();
    for (const ddl of EAV_INDEXES) await this.con.run(ddl);
    await this.close();
    return this.propertyRows;
  }

  protected closeAppenders(): void {
    this.properties.closeSync();
    this.proxies?.closeSync();
  }
}
