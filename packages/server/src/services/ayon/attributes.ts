/**
 * The attribute schema (ayon.md §9): built-in attributes, admin-defined ones, and the validation of
 * values written to `attrib`. Schema changes apply live (no restart): the in-memory copy is dropped on
 * every write here and, on other nodes, through the event bus.
 */
import type { Store } from '../../store/db.js';
import type { EventBus } from '../events.js';
import { AyonError, badRequest, forbidden, invalidData, notFound } from './errors.js';
import { ATTRIBUTE_NAME_RE, isPlainObject, parseJson } from './rules.js';

export const ATTRIBUTE_SCOPES = ['project', 'folder', 'task', 'product', 'version', 'representation', 'workfile', 'user', 'list'] as const;
export type AttributeScope = (typeof ATTRIBUTE_SCOPES)[number];
export const ATTRIBUTE_TYPES = [
  'string',
  'integer',
  'float',
  'boolean',
  'datetime',
  'list_of_strings',
  'list_of_integers',
  'list_of_any',
  'list_of_submodels',
  'dict',
] as const;
export type AttributeType = (typeof ATTRIBUTE_TYPES)[number];

export interface EnumItem {
  value: unknown;
  label?: string;
  [k: string]: unknown;
}

export interface AttributeData {
  type: AttributeType;
  title?: string | null;
  description?: string | null;
  example?: unknown;
  default?: unknown;
  gt?: number | null;
  ge?: number | null;
  lt?: number | null;
  le?: number | null;
  minLength?: number | null;
  maxLength?: number | null;
  minItems?: number | null;
  maxItems?: number | null;
  regex?: string | null;
  enum?: EnumItem[] | null;
  inherit?: boolean | null;
  [k: string]: unknown;
}

export interface AttributeDef {
  name: string;
  position: number;
  scope: AttributeScope[];
  builtin: boolean;
  data: AttributeData;
}

const P = 'project', F = 'folder', T = 'task', S = 'product', V = 'version', R = 'representation', W = 'workfile', U = 'user', L = 'list';

/** Built-in attributes, deployed on start when missing (AYON's setup/attributes). */
export const BUILTIN_ATTRIBUTES: Array<{ name: string; scope: AttributeScope[]; data: AttributeData }> = [
  {
    name: 'priority',
    scope: [P, F, T],
    data: {
      type: 'string',
      title: 'Priority',
      default: 'normal',
      example: 'normal',
      enum: [
        { value: 'urgent', label: 'Urgent', color: '#ff5252', icon: 'keyboard_double_arrow_up' },
        { value: 'high', label: 'High', color: '#ff9800', icon: 'keyboard_arrow_up' },
        { value: 'normal', label: 'Normal', color: '#9e9e9e', icon: 'check_indeterminate_small' },
        { value: 'low', label: 'Low', color: '#4caf50', icon: 'keyboard_arrow_down' },
      ],
    },
  },
  { name: 'fps', scope: [P, F, V, R, T], data: { type: 'float', title: 'FPS', default: 25, example: 25, gt: 0, description: 'Frame rate' } },
  { name: 'resolutionWidth', scope: [P, F, V, R, T], data: { type: 'integer', title: 'Width', default: 1920, example: 1920, gt: 0, lt: 50000, description: 'Horizontal resolution' } },
  { name: 'resolutionHeight', scope: [P, F, V, R, T], data: { type: 'integer', title: 'Height', default: 1080, example: 1080, gt: 0, lt: 50000, description: 'Vertical resolution' } },
  { name: 'pixelAspect', scope: [P, F, V, R, T], data: { type: 'float', title: 'Pixel aspect', default: 1.0, example: 1.0, gt: 0 } },
  { name: 'clipIn', scope: [P, F, V, R, T], data: { type: 'integer', title: 'Clip In', default: 1, example: 1 } },
  { name: 'clipOut', scope: [P, F, V, R, T], data: { type: 'integer', title: 'Clip Out', default: 1, example: 1 } },
  { name: 'frameStart', scope: [P, F, V, R, T], data: { type: 'integer', title: 'Start frame', default: 1001, example: 1001 } },
  { name: 'frameEnd', scope: [P, F, V, R, T], data: { type: 'integer', title: 'End frame', default: 1001, example: 1001 } },
  { name: 'handleStart', scope: [P, F, V, R, T], data: { type: 'integer', title: 'Handle start', default: 0, example: 0 } },
  { name: 'handleEnd', scope: [P, F, V, R, T], data: { type: 'integer', title: 'Handle end', default: 0, example: 0 } },
  { name: 'fullName', scope: [U], data: { type: 'string', title: 'Full name', example: 'Jane Doe' } },
  { name: 'email', scope: [U], data: { type: 'string', title: 'E-Mail', example: 'jane.doe@example.com' } },
  { name: 'avatarUrl', scope: [U], data: { type: 'string', title: 'Avatar URL' } },
  { name: 'developerMode', scope: [U], data: { type: 'boolean', title: 'Developer mode', default: false } },
  { name: 'productGroup', scope: [S], data: { type: 'string', title: 'Product group' } },
  { name: 'intent', scope: [V], data: { type: 'string', title: 'Intent' } },
  { name: 'machine', scope: [V], data: { type: 'string', title: 'Machine', example: 'workstation42' } },
  { name: 'source', scope: [V], data: { type: 'string', title: 'Source' } },
  { name: 'comment', scope: [V], data: { type: 'string', title: 'Comment' } },
  { name: 'site', scope: [V], data: { type: 'string', title: 'Site', example: 'workstation42' } },
  { name: 'families', scope: [V], data: { type: 'list_of_strings', title: 'Families' } },
  { name: 'colorSpace', scope: [V], data: { type: 'string', title: 'Color space', example: 'rec709' } },
  { name: 'path', scope: [R], data: { type: 'string', title: 'Path' } },
  { name: 'template', scope: [R], data: { type: 'string', title: 'Template' } },
  { name: 'extension', scope: [R, W], data: { type: 'string', title: 'File extension' } },
  { name: 'startDate', scope: [P, F, T], data: { type: 'datetime', title: 'Start date' } },
  { name: 'endDate', scope: [P, F, T], data: { type: 'datetime', title: 'End date' } },
  { name: 'description', scope: [P, F, T, S, V, R, W], data: { type: 'string', title: 'Description', inherit: false } },
  { name: 'entityListCategory', scope: [L], data: { type: 'string', title: 'Category', inherit: false } },
];

/** The keys every attribute's `data` carries on the wire (the client reads `data["default"]`). */
const DATA_KEYS = ['type', 'title', 'description', 'example', 'default', 'gt', 'ge', 'lt', 'le', 'minLength', 'maxLength', 'minItems', 'maxItems', 'regex', 'enum'] as const;

export function attributeWire(def: AttributeDef) {
  const data: Record<string, unknown> = {};
  for (const k of DATA_KEYS) data[k] = def.data[k] ?? null;
  for (const [k, v] of Object.entries(def.data)) if (!(k in data)) data[k] = v;
  data.inherit = def.data.inherit ?? true;
  return { name: def.name, position: def.position, scope: def.scope, builtin: def.builtin, data };
}

/** Validates an attribute definition sent by an admin; returns the normalised data. */
export function parseAttributeData(data: unknown): AttributeData {
  if (!isPlainObject(data)) throw badRequest('Attribute data must be an object');
  const type = data.type;
  if (typeof type !== 'string' || !(ATTRIBUTE_TYPES as readonly string[]).includes(type))
    throw badRequest(`Invalid attribute type: ${String(type)}`);
  for (const k of ['gt', 'ge', 'lt', 'le', 'minLength', 'maxLength', 'minItems', 'maxItems'] as const) {
    const v = data[k];
    if (v !== undefined && v !== null && (typeof v !== 'number' || !Number.isFinite(v))) throw badRequest(`Attribute ${k} must be a number`);
  }
  if (data.regex !== undefined && data.regex !== null) {
    if (typeof data.regex !== 'string') throw badRequest('Attribute regex must be a string');
    try {
      new RegExp(data.regex);
    } catch {
      throw badRequest('Attribute regex is not a valid regular expression');
    }
  }
  if (data.enum !== undefined && data.enum !== null) {
    if (!Array.isArray(data.enum) || data.enum.some((e) => !isPlainObject(e) || !('value' in e)))
      throw badRequest('Attribute enum must be a list of {value, label} items');
  }
  if (data.inherit !== undefined && data.inherit !== null && typeof data.inherit !== 'boolean') throw badRequest('Attribute inherit must be a boolean');
  const out = { ...data, type } as AttributeData;
  if (out.default !== undefined && out.default !== null) out.default = coerceValue('default', out, out.default);
  return out;
}

function fail(name: string, msg: string): never {
  throw invalidData(`Invalid data provided: attrib -> ${name}: ${msg}`);
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** Coerces one value to the attribute's type and checks its constraints (including zero-valued bounds). */
export function coerceValue(name: string, data: AttributeData, value: unknown): unknown {
  let v: unknown = value;
  switch (data.type) {
    case 'string':
      if (typeof v === 'number' && Number.isFinite(v)) v = String(v);
      if (typeof v !== 'string') fail(name, 'str type expected');
      break;
    case 'integer':
      if (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v)) v = Number(v);
      if (typeof v === 'number' && Number.isFinite(v) && Number.isInteger(v)) break;
      fail(name, 'value is not a valid integer');
    // eslint-disable-next-line no-fallthrough
    case 'float':
      if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) v = Number(v);
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(name, 'value is not a valid float');
      break;
    case 'boolean':
      if (typeof v === 'string') {
        const l = v.toLowerCase();
        if (['true', '1', 'yes', 'on'].includes(l)) v = true;
        else if (['false', '0', 'no', 'off'].includes(l)) v = false;
      } else if (v === 0 || v === 1) v = v === 1;
      if (typeof v !== 'boolean') fail(name, 'value could not be parsed to a boolean');
      break;
    case 'datetime':
      if (typeof v !== 'string' || Number.isNaN(Date.parse(v))) fail(name, 'invalid datetime format');
      break;
    case 'list_of_strings':
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) fail(name, 'value is not a valid list of strings');
      break;
    case 'list_of_integers':
      if (!Array.isArray(v) || v.some((x) => !isInt(x))) fail(name, 'value is not a valid list of integers');
      break;
    case 'list_of_any':
      if (!Array.isArray(v)) fail(name, 'value is not a valid list');
      break;
    case 'list_of_submodels':
      if (!Array.isArray(v) || v.some((x) => !isPlainObject(x))) fail(name, 'value is not a valid list of objects');
      break;
    case 'dict':
      if (!isPlainObject(v)) fail(name, 'value is not a valid dict');
      break;
  }
  if (typeof v === 'number') {
    if (data.gt !== undefined && data.gt !== null && !(v > data.gt)) fail(name, `ensure this value is greater than ${data.gt}`);
    if (data.ge !== undefined && data.ge !== null && !(v >= data.ge)) fail(name, `ensure this value is greater than or equal to ${data.ge}`);
    if (data.lt !== undefined && data.lt !== null && !(v < data.lt)) fail(name, `ensure this value is less than ${data.lt}`);
    if (data.le !== undefined && data.le !== null && !(v <= data.le)) fail(name, `ensure this value is less than or equal to ${data.le}`);
  }
  if (typeof v === 'string') {
    if (data.minLength !== undefined && data.minLength !== null && v.length < data.minLength) fail(name, `ensure this value has at least ${data.minLength} characters`);
    if (data.maxLength !== undefined && data.maxLength !== null && v.length > data.maxLength) fail(name, `ensure this value has at most ${data.maxLength} characters`);
    if (data.regex && !new RegExp(data.regex).test(v)) fail(name, `string does not match regex "${data.regex}"`);
  }
  if (Array.isArray(v)) {
    if (data.minItems !== undefined && data.minItems !== null && v.length < data.minItems) fail(name, `ensure this value has at least ${data.minItems} items`);
    if (data.maxItems !== undefined && data.maxItems !== null && v.length > data.maxItems) fail(name, `ensure this value has at most ${data.maxItems} items`);
  }
  if (Array.isArray(data.enum) && data.enum.length) {
    const allowed = data.enum.map((e) => e.value);
    const values = Array.isArray(v) ? v : [v];
    for (const x of values)
      if (!allowed.some((a) => a === x)) fail(name, `value is not permitted; permitted: ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
  }
  return v;
}

export function createAttributesService(store: Store, bus: EventBus) {
  const { db } = store;
  let cache: AttributeDef[] | null = null;
  const byScope = new Map<string, Map<string, AttributeDef>>();

  bus.subscribe('ayon.attributes.changed', () => invalidateLocal());

  function invalidateLocal() {
    cache = null;
    byScope.clear();
  }
  function invalidate() {
    invalidateLocal();
    bus.publish('ayon.attributes.changed', {});
  }

  /** Inserts the built-in attributes that are missing (after admin-defined ones keep their positions). */
  async function ensureBuiltins(): Promise<void> {
    const existing = await db.selectFrom('ayon_attributes').select(['name', 'position']).execute();
    const names = new Set(existing.map((r) => r.name));
    let pos = existing.reduce((m, r) => Math.max(m, r.position + 1), 0);
    const missing = BUILTIN_ATTRIBUTES.filter((a) => !names.has(a.name));
    for (const a of missing) {
      await db
        .insertInto('ayon_attributes')
        .values({ name: a.name, position: existing.length === 0 ? BUILTIN_ATTRIBUTES.indexOf(a) : pos++, scope: JSON.stringify(a.scope), builtin: 1, data: JSON.stringify(a.data) })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
    }
    invalidateLocal();
  }

  async function list(): Promise<AttributeDef[]> {
    if (cache) return cache;
    const rows = await db.selectFrom('ayon_attributes').selectAll().orderBy('position').orderBy('name').execute();
    cache = rows.map((r) => ({
      name: r.name,
      position: r.position,
      scope: parseJson<AttributeScope[]>(r.scope, []),
      builtin: r.builtin === 1,
      data: parseJson<AttributeData>(r.data, { type: 'string' }),
    }));
    return cache;
  }

  /** name → definition, for attributes whose scope includes `scope`. */
  async function forScope(scope: string): Promise<Map<string, AttributeDef>> {
    const hit = byScope.get(scope);
    if (hit && cache) return hit;
    const m = new Map<string, AttributeDef>();
    for (const a of await list()) if (a.scope.includes(scope as AttributeScope)) m.set(a.name, a);
    byScope.set(scope, m);
    return m;
  }

  /**
   * Cleans an `attrib` object for an entity of `scope`: unknown names are dropped (as AYON does),
   * values coerced and checked. `patch`: null values are kept (they mean "remove / inherit again");
   * otherwise null values are dropped.
   */
  async function validate(scope: string, attrib: unknown, opts: { patch: boolean }): Promise<Record<string, unknown>> {
    if (attrib === undefined) return {};
    if (!isPlainObject(attrib)) throw invalidData('Invalid data provided: attrib: value is not a valid dict');
    const defs = await forScope(scope);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(attrib)) {
      const def = defs.get(k);
      if (!def) continue;
      if (v === null) {
        if (opts.patch) out[k] = null;
        continue;
      }
      out[k] = coerceValue(k, def.data, v);
    }
    return out;
  }

  /** Attribute values a project starts with: every project-scope default. */
  async function projectDefaults(): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const [name, def] of await forScope('project')) if (def.data.default !== undefined && def.data.default !== null) out[name] = def.data.default;
    return out;
  }

  /** Names of attributes that propagate to children (inherit is not false). */
  async function inheritable(): Promise<Set<string>> {
    return new Set((await list()).filter((a) => a.data.inherit !== false).map((a) => a.name));
  }

  async function get(name: string): Promise<AttributeDef> {
    const a = (await list()).find((x) => x.name === name);
    if (!a) throw notFound(`Attribute ${name} not found`);
    return a;
  }

  function parseScope(scope: unknown): AttributeScope[] {
    if (!Array.isArray(scope) || scope.some((s) => typeof s !== 'string' || !(ATTRIBUTE_SCOPES as readonly string[]).includes(s)))
      throw badRequest(`Invalid attribute scope: expected a list of ${ATTRIBUTE_SCOPES.join(', ')}`);
    return [...new Set(scope as AttributeScope[])];
  }

  /** PUT /api/attributes/{name}: create or replace (admins only). */
  async function put(isAdmin: boolean, name: string, body: { data?: unknown; scope?: unknown; position?: unknown; builtin?: unknown }) {
    if (!isAdmin) throw forbidden('Only administrators are allowed to modify attributes');
    if (!ATTRIBUTE_NAME_RE.test(name)) throw badRequest(`Invalid attribute name "${name}"`);
    const data = parseAttributeData(body.data);
    const scope = parseScope(body.scope);
    const all = await list();
    const existing = all.find((a) => a.name === name);
    let position = typeof body.position === 'number' && Number.isInteger(body.position) ? body.position : existing?.position ?? all.length;
    if (position < 0) position = 0;
    const values = { position, scope: JSON.stringify(scope), data: JSON.stringify(data) };
    if (existing) await db.updateTable('ayon_attributes').set(values).where('name', '=', name).execute();
    else await db.insertInto('ayon_attributes').values({ name, builtin: 0, ...values }).execute();
    invalidate();
  }

  /** PATCH /api/attributes/{name}: partial update. */
  async function patch(isAdmin: boolean, name: string, body: { data?: unknown; scope?: unknown; position?: unknown }) {
    if (!isAdmin) throw forbidden('Only administrators are allowed to modify attributes');
    const a = await get(name);
    const data = body.data !== undefined ? parseAttributeData({ ...a.data, ...(isPlainObject(body.data) ? body.data : {}) }) : a.data;
    const scope = body.scope !== undefined ? parseScope(body.scope) : a.scope;
    const position = typeof body.position === 'number' && Number.isInteger(body.position) ? body.position : a.position;
    await db.updateTable('ayon_attributes').set({ data: JSON.stringify(data), scope: JSON.stringify(scope), position }).where('name', '=', name).execute();
    invalidate();
  }

  async function remove(isAdmin: boolean, name: string) {
    if (!isAdmin) throw forbidden('Only administrators are allowed to modify attributes');
    const res = await db.deleteFrom('ayon_attributes').where('name', '=', name).executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) throw notFound(`Attribute ${name} not found`);
    invalidate();
  }

  /** PUT /api/attributes: replace the list (deleteMissing removes the others). */
  async function setAll(isAdmin: boolean, body: { attributes?: unknown; deleteMissing?: unknown }) {
    if (!isAdmin) throw forbidden('Only administrators are allowed to modify attributes');
    if (!Array.isArray(body.attributes)) throw badRequest('attributes must be a list');
    const parsed = body.attributes.map((a, i) => {
      if (!isPlainObject(a) || typeof a.name !== 'string' || !ATTRIBUTE_NAME_RE.test(a.name)) throw badRequest('Invalid attribute name');
      return {
        name: a.name,
        position: typeof a.position === 'number' ? a.position : i,
        scope: parseScope(a.scope),
        builtin: a.builtin === true,
        data: parseAttributeData(a.data),
      };
    });
    await db.transaction().execute(async (trx) => {
      if (body.deleteMissing === true) {
        const keep = parsed.map((p) => p.name);
        let q = trx.deleteFrom('ayon_attributes');
        if (keep.length) q = q.where('name', 'not in', keep);
        await q.execute();
      }
      for (const p of parsed) {
        const values = { position: p.position, scope: JSON.stringify(p.scope), data: JSON.stringify(p.data) };
        const hit = await trx.selectFrom('ayon_attributes').select('name').where('name', '=', p.name).executeTakeFirst();
        if (hit) await trx.updateTable('ayon_attributes').set(values).where('name', '=', p.name).execute();
        else await trx.insertInto('ayon_attributes').values({ name: p.name, builtin: p.builtin ? 1 : 0, ...values }).execute();
      }
    });
    invalidate();
  }

  return { ensureBuiltins, list, forScope, validate, projectDefaults, inheritable, get, put, patch, remove, setAll, invalidate };
}

export type AttributesService = ReturnType<typeof createAttributesService>;
export { AyonError };
