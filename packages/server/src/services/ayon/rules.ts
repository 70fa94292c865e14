/**
 * AYON's name and id rules (ayon.md §1.3), JSON helpers and time formatting. Pure functions.
 */
import { randomUUID } from 'node:crypto';
import { badRequest } from './errors.js';

export const ENTITY_NAME_RE = /^[a-zA-Z0-9_]([a-zA-Z0-9_.\-]*[a-zA-Z0-9_])?$/;
export const PROJECT_NAME_RE = /^[a-zA-Z0-9_]+$/;
export const PROJECT_CODE_RE = /^[a-zA-Z0-9_][a-zA-Z0-9_]*[a-zA-Z0-9_]$/;
export const USER_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.\-]*[a-zA-Z0-9]$/;
export const ATTRIBUTE_NAME_RE = /^[a-zA-Z0-9]{2,64}$/;
export const TYPE_NAME_RE = /^[a-zA-Z0-9_][a-zA-Z0-9_ \-]{1,64}[a-zA-Z0-9_]$/;
export const LABEL_RE = /^[^';]*$/;
export const EMAIL_RE = /^[a-zA-Z0-9_.+-]+@[a-zA-Z0-9-]+\.[a-zA-Z0-9-.]+$/;
export const COLOR_RE = /^#(?:[0-9a-fA-F]{3}){1,2}$/;
export const SERVICE_KEY_RE = /^[a-zA-Z0-9]{32}$/;
export const MAX_NAME_LENGTH = 255;

export const ENTITY_TYPES = ['folder', 'task', 'product', 'version', 'representation', 'workfile'] as const;
export type EntityType = (typeof ENTITY_TYPES)[number];
export const isEntityType = (s: unknown): s is EntityType => typeof s === 'string' && (ENTITY_TYPES as readonly string[]).includes(s);

/** New 32-hex id (what `uuid1().hex` looks like on the wire). */
export const newAyonId = (): string => randomUUID().replace(/-/g, '');

/** Normalises an entity id: lower-case, dashes of a UUID removed; null when it is not 32 hex digits. */
export function normalizeId(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const s = v.length === 36 ? v.replace(/-/g, '') : v;
  const l = s.toLowerCase();
  return /^[0-9a-f]{32}$/.test(l) ? l : null;
}

/** An id from a path or body field, or a 400. */
export function requireId(v: unknown, what = 'id'): string {
  const id = normalizeId(v);
  if (!id) throw badRequest(`Invalid ${what}: expected 32 hexadecimal characters`);
  return id;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parseJson<T>(s: string | null | undefined, fallback: T): T {
  if (s === null || s === undefined || s === '') return fallback;
  try {
    return JSON.parse(s) as T;
  } catch {
    return fallback;
  }
}

/** Epoch ms → ISO-8601 with an explicit offset, as AYON writes datetimes. */
export function isoTime(ms: number | null | undefined): string | null {
  if (ms === null || ms === undefined) return null;
  return new Date(Number(ms)).toISOString().replace('Z', '+00:00');
}

/** Keys of a body in camelCase; snake_case keys are accepted and converted (camel wins on conflict). */
export function camelizeKeys(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    if (k.includes('_')) {
      const c = k.replace(/_([a-z0-9])/g, (_m, ch: string) => ch.toUpperCase());
      if (!(c in body)) out[c] = v;
    } else out[k] = v;
  }
  return out;
}

/** Turns "Block out" into "block_out": a subtask name from its label. */
export function slugify(label: string): string {
  return label
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9_.\-]+/g, '_')
    .replace(/^[^a-z0-9_]+|[^a-z0-9_]+$/g, '')
    .replace(/_+/g, '_');
}

/** Shallow merge where null removes a key (AYON's patch rule for attrib, data, traits). */
export function mergePatch(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

/** Stable JSON of an array of strings, for tags/assignees columns. */
export const jsonList = (l: string[]): string => JSON.stringify(l);

/** SQL LIKE pattern that finds `"value"` inside a JSON array text, with `!` as the escape character. */
export function jsonListLike(value: string): string {
  const needle = JSON.stringify(value);
  return `%${needle.replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

export function versionName(v: number): string {
  return v < 0 ? 'HERO' : `v${String(v).padStart(3, '0')}`;
}
