/**
 * AYON's QueryFilter (ayon.md §11.5), evaluated in memory against an entity. Keys are '/' or '.'
 * separated; the first element names a field (camelCase or snake_case), the rest walk into JSON
 * (`attrib.fps`, `data.x.y`). Operators are normalised (lower case, '-' and '_' removed).
 */
import { badRequest } from './errors.js';
import { isPlainObject } from './rules.js';

export interface QueryCondition {
  key: string;
  value?: unknown;
  operator?: string;
}
export interface QueryFilter {
  conditions?: Array<QueryCondition | QueryFilter>;
  operator?: string;
}

const OPS = new Set(['eq', 'ne', 'lt', 'gt', 'lte', 'gte', 'like', 'isnull', 'notnull', 'in', 'notin', 'includes', 'excludes', 'includesall', 'excludesall', 'includesany', 'excludesany']);
const KEY_PART = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function parseQueryFilter(raw: unknown): QueryFilter | null {
  if (raw === null || raw === undefined || raw === '') return null;
  let v = raw;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      throw badRequest('filter is not valid JSON');
    }
  }
  check(v, 0);
  return v as QueryFilter;
}

function check(f: unknown, depth: number) {
  if (depth > 10) throw badRequest('filter is nested too deeply');
  if (!isPlainObject(f)) throw badRequest('filter must be an object');
  if (f.operator !== undefined && f.operator !== 'and' && f.operator !== 'or') throw badRequest('filter operator must be "and" or "or"');
  if (f.conditions === undefined) return;
  if (!Array.isArray(f.conditions)) throw badRequest('filter conditions must be a list');
  for (const c of f.conditions) {
    if (isPlainObject(c) && 'conditions' in c) check(c, depth + 1);
    else {
      if (!isPlainObject(c) || typeof c.key !== 'string') throw badRequest('every filter condition needs a key');
      for (const part of c.key.split(/[./]/)) if (!KEY_PART.test(part)) throw badRequest(`invalid filter key "${c.key}"`);
      const op = normOp(c.operator);
      if (!OPS.has(op)) throw badRequest(`unknown filter operator "${String(c.operator)}"`);
      const val = c.value;
      if ((op === 'in' || op === 'notin') && !Array.isArray(val)) throw badRequest(`operator ${op} needs a list`);
      if (val === null && op !== 'isnull' && op !== 'notnull') throw badRequest('null values are only allowed with isnull/notnull');
      if (Array.isArray(val) && val.some((x) => typeof x !== typeof val[0] || !['string', 'number'].includes(typeof x)))
        throw badRequest('filter lists must hold strings or numbers of one type');
    }
  }
}

const normOp = (op: unknown) => (typeof op === 'string' ? op.toLowerCase().replace(/[-_]/g, '') : 'eq');
const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

/** Reads a key from an entity object (fields camelCase). */
export function readKey(entity: Record<string, unknown>, key: string): unknown {
  const parts = key.split(/[./]/);
  let v: unknown = entity[camel(parts[0])] ?? entity[parts[0]] ?? entity[snake(parts[0])];
  for (const p of parts.slice(1)) {
    if (!isPlainObject(v)) return undefined;
    v = v[p];
  }
  return v;
}

function likeToRegex(pattern: string): RegExp {
  const escaped = pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*').replace(/_/g, '.');
  return new RegExp(`^${escaped}$`, 'is');
}

function cond(c: QueryCondition, entity: Record<string, unknown>): boolean {
  const op = normOp(c.operator);
  let v = readKey(entity, c.key);
  const target = c.value;
  if (typeof target === 'boolean' && (op === 'eq' || op === 'ne')) v = v === true;
  switch (op) {
    case 'isnull':
      return v === null || v === undefined;
    case 'notnull':
      return v !== null && v !== undefined;
    case 'eq':
      if (Array.isArray(target)) return Array.isArray(v) && v.length === 0 && target.length === 0;
      return v === target || (typeof v === 'number' && typeof target === 'string' && String(v) === target);
    case 'ne':
      if (Array.isArray(target)) return !(Array.isArray(v) && v.length === 0);
      return v !== target;
    case 'lt':
      return v !== undefined && v !== null && (v as number) < (target as number);
    case 'gt':
      return v !== undefined && v !== null && (v as number) > (target as number);
    case 'lte':
      return v !== undefined && v !== null && (v as number) <= (target as number);
    case 'gte':
      return v !== undefined && v !== null && (v as number) >= (target as number);
    case 'like':
      return v !== undefined && v !== null && likeToRegex(String(target)).test(String(v));
    case 'in':
      return (target as unknown[]).includes(v);
    case 'notin':
      return !(target as unknown[]).includes(v);
    case 'includes':
      return Array.isArray(v) && v.includes(target);
    case 'excludes':
      return !Array.isArray(v) || !v.includes(target);
    case 'includesall':
      return Array.isArray(v) && (Array.isArray(target) ? target : [target]).every((t) => (v as unknown[]).includes(t));
    case 'excludesall':
      return !Array.isArray(v) || !(Array.isArray(target) ? target : [target]).every((t) => (v as unknown[]).includes(t));
    case 'includesany':
      return Array.isArray(v) && (Array.isArray(target) ? target : [target]).some((t) => (v as unknown[]).includes(t));
    case 'excludesany':
      return !Array.isArray(v) || !(Array.isArray(target) ? target : [target]).some((t) => (v as unknown[]).includes(t));
  }
  return false;
}

export function evaluateFilter(f: QueryFilter, entity: Record<string, unknown>): boolean {
  const conds = f.conditions ?? [];
  if (!conds.length) return true;
  const results = conds.map((c) => ('conditions' in c ? evaluateFilter(c as QueryFilter, entity) : cond(c as QueryCondition, entity)));
  return f.operator === 'or' ? results.some(Boolean) : results.every(Boolean);
}
