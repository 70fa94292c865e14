/**
 * Pure helpers of the PySpeckle v1 area: ids as v1 makes them (24-hex ObjectIds, short stream ids),
 * the field rules of each v1 document, and query-to-mongo style list queries (fields, omit, sort,
 * limit, offset and equality criteria) applied to documents in memory. No I/O here.
 */
import { createHash, randomBytes } from 'node:crypto';
import { AppError } from '../domain/errors.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Doc = Record<string, unknown>;

// ------------------------------------------------------------------ ids

let counter = randomBytes(3).readUIntBE(0, 3);
const processRandom = randomBytes(5).toString('hex');

/** A MongoDB-style ObjectId: 4-byte seconds, 5 random bytes (per process), 3-byte counter; 24 lower-hex. */
export function objectId(now = Date.now()): string {
  counter = (counter + 1) % 0xffffff;
  const secs = Math.floor(now / 1000).toString(16).padStart(8, '0').slice(-8);
  return secs + processRandom + counter.toString(16).padStart(6, '0');
}

export const isObjectId = (s: unknown): s is string => typeof s === 'string' && /^[0-9a-f]{24}$/.test(s);

const SHORT_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A stream's short id (v1 used shortid): 10 URL-safe characters. */
export function shortId(): string {
  const bytes = randomBytes(10);
  let s = '';
  for (const b of bytes) s += SHORT_ALPHABET[b % SHORT_ALPHABET.length];
  return s;
}

/** Anything that can name a v1 resource in a URL: bounded, printable, no path separators. */
export const isResourceKey = (s: unknown): s is string => typeof s === 'string' && s.length > 0 && s.length <= 64 && /^[A-Za-z0-9_.~-]+$/.test(s);

export const md5Hex = (s: string): string => createHash('md5').update(s).digest('hex');

export const iso = (ms: number): string => new Date(ms).toISOString();

// ------------------------------------------------------------------ value checks

export const bad = (message: string): AppError => new AppError('USER_INPUT_ERROR', message);

export const isPlainObject = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);

const MAX_DEPTH = 64;

/** Checks that `v` is plain JSON (what a JSON body can hold) and not absurdly deep. */
export function assertJson(v: unknown, field: string, depth = 0): void {
  if (depth > MAX_DEPTH) throw bad(`Field ${field} is nested too deeply.`);
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw bad(`Field ${field} must be a finite number.`);
    return;
  }
  if (Array.isArray(v)) {
    for (const x of v) assertJson(x, field, depth + 1);
    return;
  }
  if (isPlainObject(v)) {
    for (const [k, x] of Object.entries(v)) {
      if (k.startsWith('$')) throw bad(`Field ${field} holds a key starting with "$": ${k.slice(0, 40)}.`);
      if (k === '__proto__') throw bad(`Field ${field} holds a key named __proto__.`);
      assertJson(x, field, depth + 1);
    }
    return;
  }
  throw bad(`Field ${field} is not JSON.`);
}

type Check = (v: unknown, field: string) => unknown;

export const str =
  (max = 100_000, nullable = false): Check =>
  (v, f) => {
    if (v === null && nullable) return null;
    if (typeof v !== 'string') throw bad(`Field ${f} must be a string${nullable ? ' or null' : ''}.`);
    if (v.length > max) throw bad(`Field ${f} is too long (max ${max} characters).`);
    return v;
  };

export const bool: Check = (v, f) => {
  if (typeof v !== 'boolean') throw bad(`Field ${f} must be true or false.`);
  return v;
};

export const strList =
  (maxItems = 10_000, maxLen = 1024): Check =>
  (v, f) => {
    if (!Array.isArray(v)) throw bad(`Field ${f} must be a list of strings.`);
    if (v.length > maxItems) throw bad(`Field ${f} has too many items (max ${maxItems}).`);
    for (const x of v) {
      if (typeof x !== 'string') throw bad(`Field ${f} must be a list of strings.`);
      if (x.length > maxLen) throw bad(`Field ${f} holds a string that is too long.`);
    }
    return v;
  };

export const obj: Check = (v, f) => {
  if (!isPlainObject(v)) throw bad(`Field ${f} must be an object.`);
  assertJson(v, f);
  return v;
};

export const objOrNull: Check = (v, f) => (v === null ? null : obj(v, f));

export const objList: Check = (v, f) => {
  if (!Array.isArray(v) || v.some((x) => !isPlainObject(x))) throw bad(`Field ${f} must be a list of objects.`);
  assertJson(v, f);
  return v;
};

export const anyList: Check = (v, f) => {
  if (!Array.isArray(v)) throw bad(`Field ${f} must be a list.`);
  assertJson(v, f);
  return v;
};

export const anyJson: Check = (v, f) => {
  assertJson(v, f);
  return v;
};

/** Ids of users (canRead, canWrite, assignedTo…): a list of distinct strings; existence is checked by the caller. */
export const userIdList: Check = (v, f) => {
  const list = strList(10_000, 64)(v, f) as string[];
  return [...new Set(list)];
};

/** How each field of a document is checked; `null` means "ignored when sent" (computed or server-set). */
export type FieldRules = Record<string, Check | null>;

const RESOURCE_BASE: FieldRules = {
  _id: null,
  owner: str(64),
  private: bool,
  anonymousComments: bool,
  canRead: userIdList,
  canWrite: userIdList,
  comments: null,
  createdAt: null,
  updatedAt: null,
  __v: null,
  deleted: bool,
};

export const STREAM_FIELDS: FieldRules = {
  ...RESOURCE_BASE,
  streamId: null,
  name: str(1024),
  description: str(100_000),
  commitMessage: str(100_000),
  tags: strList(1000, 1024),
  baseProperties: obj,
  globalMeasures: obj,
  isComputedResult: bool,
  objects: null, // handled by the service (saved objects and placeholders)
  layers: objList,
  viewerLayers: anyList,
  parent: str(64, true),
  children: strList(100_000, 64),
  ancestors: anyList,
  onlineEditable: bool,
  jobNumber: str(1024),
};

export const STREAM_DEFAULTS = (): Doc => ({
  name: 'Speckle Stream',
  description: 'This is a simple speckle stream.',
  tags: [],
  baseProperties: {},
  globalMeasures: {},
  isComputedResult: false,
  layers: [],
  viewerLayers: [],
  parent: null,
  children: [],
  ancestors: [],
  deleted: false,
  onlineEditable: false,
  jobNumber: '',
});

export const OBJECT_FIELDS: FieldRules = {
  ...RESOURCE_BASE,
  type: str(1024),
  name: str(1024, true),
  geometryHash: str(128, true),
  hash: str(128),
  applicationId: str(1024, true),
  properties: objOrNull,
  partOf: null,
  parent: str(64, true),
  children: strList(100_000, 64),
  ancestors: strList(100_000, 64),
};

export const PROJECT_FIELDS: FieldRules = {
  ...RESOURCE_BASE,
  name: str(1024),
  description: str(100_000),
  tags: strList(1000, 1024),
  streams: null, // handled by the service
  permissions: null, // handled by the service
  jobNumber: str(1024),
};

export const PROJECT_DEFAULTS = (): Doc => ({
  name: 'A Simple Speckle Project',
  description: 'This is a project, which basically helps you share a set a of streams with a set of users.',
  tags: [],
  deleted: false,
  jobNumber: '',
});

/** UserAppClient is a strict schema in v1: fields it does not know are dropped. */
export const CLIENT_FIELDS: FieldRules = {
  ...RESOURCE_BASE,
  deleted: null,
  role: str(128),
  documentName: str(1024),
  documentGuid: str(128),
  documentType: str(1024),
  documentLocation: str(4096),
  streamId: str(64, true),
  online: bool,
  isAnonymous: null,
};

/** The v1 Comment schema (strict): `resource` is set from the URL, `owner` by the server. */
export const COMMENT_FIELDS: FieldRules = {
  _id: null,
  owner: str(64),
  comments: null,
  createdAt: null,
  updatedAt: null,
  __v: null,
  resource: null,
  text: str(100_000),
  flagged: bool,
  otherResources: (v, f) => {
    if (!Array.isArray(v)) throw bad(`Field ${f} must be a list of {resourceType, resourceId}.`);
    return v.map((x) => {
      if (!isPlainObject(x) || typeof x.resourceType !== 'string' || typeof x.resourceId !== 'string')
        throw bad(`Field ${f} must be a list of {resourceType, resourceId}.`);
      return { resourceType: x.resourceType.slice(0, 64), resourceId: x.resourceId.slice(0, 64) };
    });
  },
  closed: bool,
  assignedTo: userIdList,
  labels: strList(1000, 1024),
  priority: str(256, true),
  status: str(256, true),
  view: obj,
  screenshot: str(10_000_000, true),
};

/**
 * Checks the fields of `body` against `rules`: returns the accepted fields (ignored ones dropped) in
 * the order they were sent. `strict`: unknown fields are dropped (v1 strict schemas); otherwise kept
 * as plain JSON (v1 non-strict schemas store whatever clients send).
 */
export function checkFields(body: Doc, rules: FieldRules, opts: { strict: boolean }): Doc {
  const out: Doc = {};
  for (const [k, v] of Object.entries(body)) {
    if (k.length > 256 || k.startsWith('$') || k.includes('\0')) throw bad(`Invalid field name: ${k.slice(0, 40)}.`);
    if (Object.prototype.hasOwnProperty.call(rules, k)) {
      const rule = rules[k];
      if (rule === null) continue;
      out[k] = rule(v, k);
    } else if (!opts.strict) {
      if (k === '__proto__' || k === 'constructor' || k === 'prototype') throw bad(`Invalid field name: ${k}.`);
      assertJson(v, k);
      out[k] = v;
    }
  }
  return out;
}

// ------------------------------------------------------------------ list queries (query-to-mongo subset)

export interface Criterion {
  path: string[];
  op: 'eq' | 'ne' | 'in' | 'exists' | 'missing';
  values: unknown[];
}

export interface ListQuery {
  fields?: string[];
  omit?: string[];
  sort?: Array<{ path: string[]; dir: 1 | -1 }>;
  limit?: number;
  offset?: number;
  criteria: Criterion[];
  populatePermissions?: boolean;
}

export const EMPTY_QUERY: ListQuery = { criteria: [] };
export const MAX_LIST_LIMIT = 100_000;

function coerce(raw: string): unknown {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (raw === 'null') return null;
  if (/^-?\d+(\.\d+)?$/.test(raw) && raw.length < 16) return Number(raw);
  return raw;
}

const pathOf = (k: string): string[] => {
  const parts = k.split('.');
  if (parts.some((p) => !p || p.length > 128 || p === '__proto__' || p.startsWith('$'))) throw bad(`Invalid query field: ${k.slice(0, 40)}.`);
  return parts;
};

const listOf = (v: unknown): string[] => String(Array.isArray(v) ? v.join(',') : v).split(',').map((s) => s.trim()).filter(Boolean);

function nonNegativeInt(v: unknown, name: string, max: number): number {
  const s = String(Array.isArray(v) ? v[0] : v);
  if (!/^\d+$/.test(s)) throw bad(`Query parameter ${name} must be a whole number.`);
  return Math.min(Number(s), max);
}

/**
 * Parses the query string of a v1 list/get call. Reserved: fields, omit, sort, limit, offset (and skip),
 * populatePermissions; every other key is a criterion: `key=value` (equality; `a,b` is a list),
 * `key!=value` (arrives as key "key!"), a bare `key` (exists) and `!key` (missing).
 */
export function parseListQuery(q: Record<string, unknown> | undefined): ListQuery {
  const out: ListQuery = { criteria: [] };
  if (!q) return out;
  const keys = Object.keys(q);
  if (keys.length > 64) throw bad('Too many query parameters.');
  for (const key of keys) {
    const v = q[key];
    switch (key) {
      case 'fields':
        out.fields = listOf(v).map((f) => pathOf(f).join('.'));
        continue;
      case 'omit':
        out.omit = listOf(v).map((f) => pathOf(f).join('.'));
        continue;
      case 'sort':
        out.sort = listOf(v).map((s) => {
          const dir: 1 | -1 = s.startsWith('-') ? -1 : 1;
          return { path: pathOf(s.replace(/^[-+]/, '')), dir };
        });
        continue;
      case 'limit':
        out.limit = nonNegativeInt(v, 'limit', MAX_LIST_LIMIT);
        continue;
      case 'offset':
      case 'skip':
        out.offset = nonNegativeInt(v, key, Number.MAX_SAFE_INTEGER);
        continue;
      case 'populatePermissions':
        out.populatePermissions = String(v) !== 'false' && String(v) !== '0';
        continue;
      case 'access_token':
        continue;
    }
    const raw = Array.isArray(v) ? v.map(String).join(',') : String(v ?? '');
    if (key.endsWith('!')) {
      out.criteria.push({ path: pathOf(key.slice(0, -1)), op: 'ne', values: [coerce(raw)] });
    } else if (key.startsWith('!') && raw === '') {
      out.criteria.push({ path: pathOf(key.slice(1)), op: 'missing', values: [] });
    } else if (raw === '') {
      out.criteria.push({ path: pathOf(key), op: 'exists', values: [] });
    } else if (raw.includes(',')) {
      out.criteria.push({ path: pathOf(key), op: 'in', values: raw.split(',').map(coerce) });
    } else {
      out.criteria.push({ path: pathOf(key), op: 'eq', values: [coerce(raw)] });
    }
  }
  return out;
}

function valueAt(doc: unknown, path: string[]): unknown {
  let cur: unknown = doc;
  for (const p of path) {
    if (!isPlainObject(cur) || !Object.prototype.hasOwnProperty.call(cur, p)) return undefined;
    cur = cur[p];
  }
  return cur;
}

const sameValue = (have: unknown, want: unknown): boolean => {
  // Mongo semantics: an array field matches when one of its items matches
  if (Array.isArray(have)) return have.some((h) => sameValue(h, want));
  if (want === null) return have === null || have === undefined;
  return have === want || (typeof have === 'number' && typeof want === 'string' && String(have) === want) || (typeof have === 'string' && typeof want === 'number' && have === String(want));
};

export function matches(doc: Doc, criteria: Criterion[]): boolean {
  return criteria.every((c) => {
    const v = valueAt(doc, c.path);
    switch (c.op) {
      case 'eq':
        return sameValue(v, c.values[0]);
      case 'ne':
        return !sameValue(v, c.values[0]);
      case 'in':
        return c.values.some((w) => sameValue(v, w));
      case 'exists':
        return v !== undefined;
      case 'missing':
        return v === undefined;
    }
  });
}

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === undefined || a === null) return -1;
  if (b === undefined || b === null) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = typeof a === 'string' ? a : JSON.stringify(a);
  const sb = typeof b === 'string' ? b : JSON.stringify(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** Filters, sorts and pages documents (stable: equal keys keep their order). */
export function selectDocs<T extends Doc>(docs: T[], q: ListQuery): T[] {
  let out = q.criteria.length ? docs.filter((d) => matches(d, q.criteria)) : docs.slice();
  if (q.sort?.length) {
    const keyed = out.map((d, i) => ({ d, i }));
    keyed.sort((x, y) => {
      for (const s of q.sort!) {
        const c = compare(valueAt(x.d, s.path), valueAt(y.d, s.path));
        if (c !== 0) return c * s.dir;
      }
      return x.i - y.i;
    });
    out = keyed.map((k) => k.d);
  }
  const offset = q.offset ?? 0;
  if (offset || q.limit !== undefined) out = out.slice(offset, q.limit !== undefined && q.limit > 0 ? offset + q.limit : undefined);
  return out;
}

/** Fields every projected get keeps (v1's PrepareQuery), so a caller can tell what it may do. */
export const ENFORCED_FIELDS = ['type', 'private', 'canRead', 'canWrite', 'owner'];

/** `fields` keeps `_id` and the listed (top-level or dotted) fields; `omit` removes them. */
export function project(doc: Doc, q: ListQuery, enforced: string[] = []): Doc {
  let out: Doc = doc;
  if (q.fields?.length) {
    const keep = new Set([...q.fields.map((f) => f.split('.')[0]), ...(q.omit === undefined ? enforced : [])]);
    out = {};
    if ('_id' in doc) out._id = doc._id;
    for (const [k, v] of Object.entries(doc)) {
      if (!keep.has(k)) continue;
      const nested = q.fields.filter((f) => f.startsWith(`${k}.`)).map((f) => f.slice(k.length + 1));
      out[k] = nested.length && isPlainObject(v) && !q.fields.includes(k) ? project(v, { criteria: [], fields: nested }) : v;
      if (nested.length && isPlainObject(v) && !q.fields.includes(k)) delete (out[k] as Doc)._id;
    }
  }
  if (q.omit?.length) {
    if (out === doc) out = { ...doc };
    for (const f of q.omit) {
      const path = f.split('.');
      if (path.length === 1) {
        delete out[f];
        continue;
      }
      const top = out[path[0]];
      if (isPlainObject(top)) {
        out[path[0]] = omitPath(top, path.slice(1));
      }
    }
  }
  return out;
}

function omitPath(doc: Doc, path: string[]): Doc {
  const copy = { ...doc };
  if (path.length === 1) delete copy[path[0]];
  else if (isPlainObject(copy[path[0]])) copy[path[0]] = omitPath(copy[path[0]] as Doc, path.slice(1));
  return copy;
}

/** Whether a query asks for a field (so the caller may skip loading it). */
export const wantsField = (q: ListQuery, field: string): boolean =>
  !(q.omit?.includes(field) ?? false) && (!q.fields?.length || q.fields.some((f) => f === field || f.startsWith(`${field}.`)));
