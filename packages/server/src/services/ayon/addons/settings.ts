/**
 * Addon settings without pydantic: a JSON Schema (the subset settings models use) validates values,
 * defaults come from the schema's `default`s overlaid with the package's defaults file, and
 * overrides are stored and merged the way AYON does it (objects merge key by key, everything else —
 * arrays included — replaces).
 *
 * Supported keywords: type (string or list), enum, const, properties, required,
 * additionalProperties (boolean or schema), items, minItems, maxItems, uniqueItems, minimum,
 * maximum, exclusiveMinimum, exclusiveMaximum, multipleOf, minLength, maxLength, pattern, anyOf,
 * oneOf, allOf, not, $ref to `#/definitions/…` or `#/$defs/…` (what pydantic's `.schema()` emits),
 * and `default`. Unknown keywords (title, description, widget hints, scope …) are ignored.
 */
import { isPlainObject } from '../rules.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Obj = Record<string, unknown>;

export interface SettingsError {
  loc: (string | number)[];
  msg: string;
  type: string;
}

const clone = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));

function deref(root: Obj, s: unknown, depth = 0): Obj {
  if (!isPlainObject(s)) return {};
  if (typeof s.$ref === 'string' && depth < 32) {
    const m = /^#\/(definitions|\$defs)\/(.+)$/.exec(s.$ref);
    const defs = m ? (root[m[1]] as Obj | undefined) : undefined;
    const target = m && isPlainObject(defs) ? defs[decodeURIComponent(m[2]).replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
    const { $ref: _r, ...rest } = s;
    return { ...deref(root, target, depth + 1), ...rest };
  }
  return s;
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

const deepEqual = (a: unknown, b: unknown): boolean => JSON.stringify(canon(a)) === JSON.stringify(canon(b));
function canon(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canon);
  if (isPlainObject(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])]));
  return v;
}

/** Errors of `value` against `schema` (empty when valid). */
export function validateSettings(schema: Obj, value: unknown): SettingsError[] {
  const errors: SettingsError[] = [];
  const root = schema;
  const check = (sch: unknown, v: unknown, loc: (string | number)[], depth: number) => {
    if (depth > 64 || errors.length > 100) return;
    if (sch === false) {
      errors.push({ loc, msg: 'no value is allowed here', type: 'value_error' });
      return;
    }
    const s = deref(root, sch);
    const t = typeOf(v);
    if (s.type !== undefined) {
      const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
      const ok = types.some((ty) => ty === t || (ty === 'number' && t === 'integer'));
      if (!ok) {
        errors.push({ loc, msg: `value is not a valid ${types.join(' or ')}`, type: `type_error.${types[0]}` });
        return;
      }
    }
    if (Array.isArray(s.enum) && !s.enum.some((e) => deepEqual(e, v)))
      errors.push({ loc, msg: `value is not a valid enumeration member; permitted: ${s.enum.map((e) => JSON.stringify(e)).join(', ')}`, type: 'type_error.enum' });
    if ('const' in s && !deepEqual(s.const, v)) errors.push({ loc, msg: `unexpected value; permitted: ${JSON.stringify(s.const)}`, type: 'value_error.const' });
    if (t === 'string') {
      const str = v as string;
      const len = [...str].length;
      if (typeof s.minLength === 'number' && len < s.minLength) errors.push({ loc, msg: `ensure this value has at least ${s.minLength} characters`, type: 'value_error.any_str.min_length' });
      if (typeof s.maxLength === 'number' && len > s.maxLength) errors.push({ loc, msg: `ensure this value has at most ${s.maxLength} characters`, type: 'value_error.any_str.max_length' });
      if (typeof s.pattern === 'string') {
        let re: RegExp | null = null;
        try {
          re = new RegExp(s.pattern, 'u');
        } catch {
          re = null;
        }
        if (re && !re.test(str)) errors.push({ loc, msg: `string does not match regex "${s.pattern}"`, type: 'value_error.str.regex' });
      }
    }
    if (t === 'number' || t === 'integer') {
      const n = v as number;
      if (typeof s.minimum === 'number' && n < s.minimum) errors.push({ loc, msg: `ensure this value is greater than or equal to ${s.minimum}`, type: 'value_error.number.not_ge' });
      if (typeof s.maximum === 'number' && n > s.maximum) errors.push({ loc, msg: `ensure this value is less than or equal to ${s.maximum}`, type: 'value_error.number.not_le' });
      if (typeof s.exclusiveMinimum === 'number' && n <= s.exclusiveMinimum) errors.push({ loc, msg: `ensure this value is greater than ${s.exclusiveMinimum}`, type: 'value_error.number.not_gt' });
      if (typeof s.exclusiveMaximum === 'number' && n >= s.exclusiveMaximum) errors.push({ loc, msg: `ensure this value is less than ${s.exclusiveMaximum}`, type: 'value_error.number.not_lt' });
      if (typeof s.multipleOf === 'number' && s.multipleOf > 0 && Math.abs(n / s.multipleOf - Math.round(n / s.multipleOf)) > 1e-9)
        errors.push({ loc, msg: `ensure this value is a multiple of ${s.multipleOf}`, type: 'value_error.number.not_multiple' });
    }
    if (t === 'array') {
      const arr = v as unknown[];
      if (typeof s.minItems === 'number' && arr.length < s.minItems) errors.push({ loc, msg: `ensure this value has at least ${s.minItems} items`, type: 'value_error.list.min_items' });
      if (typeof s.maxItems === 'number' && arr.length > s.maxItems) errors.push({ loc, msg: `ensure this value has at most ${s.maxItems} items`, type: 'value_error.list.max_items' });
      if (s.uniqueItems === true && new Set(arr.map((x) => JSON.stringify(canon(x)))).size !== arr.length) errors.push({ loc, msg: 'the list has duplicated items', type: 'value_error.list.unique_items' });
      if (s.items !== undefined && !Array.isArray(s.items)) arr.forEach((x, i) => check(s.items, x, [...loc, i], depth + 1));
    }
    if (t === 'object') {
      const o = v as Obj;
      const props = isPlainObject(s.properties) ? s.properties : {};
      if (Array.isArray(s.required)) for (const r of s.required) if (typeof r === 'string' && !(r in o)) errors.push({ loc: [...loc, r], msg: 'field required', type: 'value_error.missing' });
      for (const [k, x] of Object.entries(o)) {
        if (k in props) check(props[k], x, [...loc, k], depth + 1);
        else if (s.additionalProperties === false) errors.push({ loc: [...loc, k], msg: 'extra fields not permitted', type: 'value_error.extra' });
        else if (isPlainObject(s.additionalProperties)) check(s.additionalProperties, x, [...loc, k], depth + 1);
      }
    }
    const sub = (list: unknown) => (Array.isArray(list) ? list : []).map((x) => {
      const saved = errors.length;
      check(x, v, loc, depth + 1);
      const ok = errors.length === saved;
      errors.length = saved;
      return ok;
    });
    if (Array.isArray(s.allOf)) for (const x of s.allOf) check(x, v, loc, depth + 1);
    if (Array.isArray(s.anyOf) && !sub(s.anyOf).some(Boolean)) errors.push({ loc, msg: 'value does not match any of the allowed schemas', type: 'value_error.any_of' });
    if (Array.isArray(s.oneOf) && sub(s.oneOf).filter(Boolean).length !== 1) errors.push({ loc, msg: 'value must match exactly one of the allowed schemas', type: 'value_error.one_of' });
    if (s.not !== undefined && sub([s.not])[0]) errors.push({ loc, msg: 'value matches a schema it must not match', type: 'value_error.not' });
  };
  check(schema, value, [], 0);
  return errors;
}

/** The defaults a schema declares: `default` values, nested objects filled from their properties. */
export function schemaDefaults(schema: Obj): Obj {
  const walk = (sch: unknown, depth: number): unknown => {
    const s = deref(schema, sch);
    if (depth > 32) return undefined;
    let base: unknown = s.default !== undefined ? clone(s.default) : undefined;
    if (isPlainObject(s.properties) && (base === undefined || isPlainObject(base))) {
      const o: Obj = isPlainObject(base) ? base : {};
      for (const [k, p] of Object.entries(s.properties)) {
        const d = walk(p, depth + 1);
        if (d !== undefined) o[k] = isPlainObject(o[k]) && isPlainObject(d) ? mergeSettings(d, o[k] as Obj) : o[k] === undefined ? d : o[k];
      }
      if (Object.keys(o).length || base !== undefined || s.type === 'object') base = o;
    }
    return base;
  };
  const d = walk(schema, 0);
  return isPlainObject(d) ? d : {};
}

/** `over` applied on `base`: objects merge key by key, anything else replaces. Inputs are not modified. */
export function mergeSettings(base: Obj, over: Obj | null | undefined): Obj {
  const out: Obj = clone(base) ?? {};
  if (!over) return out;
  for (const [k, v] of Object.entries(over)) {
    if (isPlainObject(v) && isPlainObject(out[k])) out[k] = mergeSettings(out[k] as Obj, v);
    else out[k] = clone(v);
  }
  return out;
}

/**
 * The overrides to store when a client sends full settings values: every key whose value differs
 * from `original` (the current effective settings at that level) or that was overridden already,
 * plus explicitly pinned paths, minus explicitly unpinned ones (AYON's extract_overrides).
 */
export function extractOverrides(original: Obj, next: Obj, existing: Obj, pins: string[][] = [], unpins: string[][] = []): Obj {
  const isPinned = (p: string[]) => pins.some((x) => x.length === p.length && x.every((s, i) => s === p[i]));
  const crawl = (orig: Obj, nw: Obj, ex: Obj, path: string[]): Obj => {
    const target: Obj = {};
    const keys = new Set([...Object.keys(orig), ...Object.keys(nw)]);
    for (const k of keys) {
      const o = orig[k];
      const n = nw[k];
      const p = [...path, k];
      if (n === undefined) continue;
      if (isPlainObject(o) && isPlainObject(n)) {
        if (isPinned(p)) target[k] = clone(n);
        else if (!deepEqual(o, n) || k in ex) {
          const sub = crawl(o, n, isPlainObject(ex[k]) ? (ex[k] as Obj) : {}, p);
          target[k] = sub;
        }
      } else if (!deepEqual(o, n) || k in ex || isPinned(p)) target[k] = clone(n);
    }
    return target;
  };
  const result = crawl(original, next, existing, []);
  for (const p of unpins) removePath(result, p);
  return result;
}

/** Removes the value at `path` and any objects left empty by it. True when something was removed. */
export function removePath(obj: Obj, path: string[]): boolean {
  if (!path.length) return false;
  const [head, ...rest] = path;
  if (!(head in obj)) return false;
  if (!rest.length) {
    delete obj[head];
    return true;
  }
  const child = obj[head];
  if (!isPlainObject(child)) return false;
  const removed = removePath(child, rest);
  if (removed && !Object.keys(child).length) delete obj[head];
  return removed;
}

export function getPath(obj: unknown, path: string[]): unknown {
  let cur = obj;
  for (const p of path) {
    if (!isPlainObject(cur) || !(p in cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

export function setPath(obj: Obj, path: string[], value: unknown): void {
  let cur = obj;
  for (const p of path.slice(0, -1)) {
    if (!isPlainObject(cur[p])) cur[p] = {};
    cur = cur[p] as Obj;
  }
  cur[path[path.length - 1]] = clone(value);
}

/**
 * The overridden fields in AYON's settings-form shape: `{"root_a_b": {path, type?, value?, level,
 * inGroup, scope}}` for every overridden branch, list and leaf.
 */
export function listOverrides(overrides: Obj, level: string, crumbs: string[] = []): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(overrides)) {
    const path = [...crumbs, k];
    const id = `root_${path.join('_')}`;
    const scope = ['studio', 'project'];
    if (isPlainObject(v)) {
      out[id] = { path, type: 'branch', level, inGroup: null, scope };
      Object.assign(out, listOverrides(v, level, path));
    } else if (Array.isArray(v)) out[id] = { path, type: 'list', level, inGroup: null, scope, value: v };
    else out[id] = { path, value: v, level, inGroup: null, scope };
  }
  return out;
}

/** Top-level scopes a schema declares with AYON's `scope` field hint (default studio + project). */
export function schemaScopes(schema: Obj): Set<string> {
  const scopes = new Set<string>();
  const props = isPlainObject(schema.properties) ? schema.properties : {};
  for (const p of Object.values(props)) {
    const s = deref(schema, p);
    const sc = Array.isArray(s.scope) ? (s.scope as string[]) : ['studio', 'project'];
    for (const x of sc) scopes.add(x);
  }
  if (!Object.keys(props).length) {
    scopes.add('studio');
    scopes.add('project');
  }
  return scopes;
}

/**
 * A copy of `overrides` without the fields whose `scope` hint leaves out `project` (walking into
 * nested objects): what a project may keep once its frozen full copy of the settings is released.
 */
export function projectScopedOverrides(schema: Obj, overrides: Obj): Obj {
  const walk = (node: unknown, over: Obj): Obj => {
    const s = deref(schema, node);
    const props = isPlainObject(s.properties) ? s.properties : null;
    if (!props) return clone(over);
    const out: Obj = {};
    for (const [k, v] of Object.entries(over)) {
      const p = deref(schema, props[k]);
      if (props[k] === undefined) {
        out[k] = clone(v);
        continue;
      }
      const sc = Array.isArray(p.scope) ? (p.scope as string[]) : ['studio', 'project'];
      if (!sc.includes('project')) continue;
      out[k] = isPlainObject(v) ? walk(props[k], v) : clone(v);
    }
    return out;
  };
  return walk(schema, overrides);
}
