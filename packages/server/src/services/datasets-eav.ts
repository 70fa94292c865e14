/**
 * Flattening rules of the EAV dataset (`{versionId}.eav.duckdb`, speckle.md §10.5–§10.7): how one
 * parsed Speckle object becomes rows of `properties(object_id, path, value_text, value_num, type,
 * units, internal_definition_name)`, and how the root's proxy lists become `proxies` rows and
 * `proxy.level` properties. Pure functions, no I/O. The README section "Version analytics datasets"
 * repeats these rules for users.
 *
 * Which objects produce rows (dispatch on `speckle_type`, missing → ""):
 * - contains `InstanceProxy` → root scalars, `proxy.transform.tx|ty|tz` (elements 3, 7, 11 of a
 *   16-element `transform`, finite numbers only, units = the object's `units`) and
 *   `proxy.transform.matrix` (the 16 values as compact JSON, with units);
 * - "" or starts with `Objects.Data.` (DataObject, RevitObject, …) → root scalars, the `properties`
 *   walk, Material Quantities, `location`, `displayValue` references, `elements`;
 * - ends with `.Layer` or contains `Collection` → root scalars, the `properties` walk, `elements`;
 * - anything else (geometry, data chunks, proxies, plain Base) → no rows.
 *
 * Root scalars: the fields name, type, family, category, level, units, speckle_type, applicationId,
 * definitionId, ifcType, path, when their value is a string, number or boolean; the path is the key
 * itself (so `path = 'category'` is the Revit category).
 *
 * The `properties` walk: paths are dotted (`properties.Parameters.Instance Parameters.Dimensions.Length`);
 * at most PROPERTIES_MAX_DEPTH levels of nesting below `properties`; the top-level keys
 * `Autodesk Material` and `Document` are skipped; nulls and arrays are skipped; a dict with both `name`
 * and `value` is a parameter → one row at the dict's path with its scalar `value`, `units` and
 * `internalDefinitionName` (a non-scalar value is skipped); `Structure` under a path ending in
 * `.Type Parameters` and any `Material Quantities` dict are not walked; other dicts are walked;
 * scalars give one row. `properties["Material Quantities"]` gives, per material,
 * `properties.Material Quantities.{materialCategory or Unknown}.{material}.{area|volume}` from
 * `{value, units}`. `location` gives `location.x|y|z` (finite numbers, units = `location.units`);
 * `displayValue[i]` gives `displayValue.{i}.referencedId` (its `referencedId`, else its `id`);
 * `elements` gives one row whose text is the compact JSON array of the children's ids (none when empty).
 *
 * Typing of a value: boolean → `boolean` ('true'/'false'); a finite number → `number`, text
 * `String(n)` (JavaScript's rendering: 1.0 → '1', 1e21 → '1e+21'); a string 'true'/'false' in any case
 * → `boolean` (text kept as written); a blank string or one matching /.-.-/ (UUID-like) → `string`; a
 * string that reads as a finite decimal number (optional sign, digits, optional fraction, optional
 * exponent, surrounding whitespace allowed — '12.50', ' -3e2 ') → `number` with `value_num` parsed and
 * the text kept as written; every other string (including 'NaN', 'Infinity', '0x10', '1,5') →
 * `string`. `value_num` is set only for `number`; `value_text` is always set.
 *
 * Caps and clean-up (Atrium's choices; the real server's are not public):
 * - strings are made well-formed UTF-16 before they are written: a lone surrogate (JSON `"\ud800"`,
 *   the only way a Speckle object can carry bytes that are not UTF-8) becomes U+FFFD; NUL is kept;
 * - `value_text` longer than MAX_VALUE_TEXT_CHARS characters is cut there and ends with '…' (its type
 *   and `value_num` are those of the whole value); `elements` and `proxy.transform.matrix` are never
 *   cut (they are bounded by the object size limit, and cutting would break their JSON);
 * - paths, units and internal definition names longer than MAX_LABEL_CHARS are cut the same way;
 * - an object yields at most MAX_ROWS_PER_OBJECT rows; the rest are dropped (and counted);
 * - the walk is iterative (an explicit stack), so deeply nested JSON cannot overflow the call stack;
 *   nesting below the depth cap is ignored.
 * NaN and ±Infinity cannot occur as numbers: stored objects are strict JSON (the object routes refuse
 * the `NaN`/`Infinity` literals Python's json module may write); as strings they are typed `string`.
 *
 * Proxies (`proxies` table, Atrium's schema from §10.6): the root's lists `renderMaterialProxies`,
 * `colorProxies`, `levelProxies`, `groupProxies` and `instanceDefinitionProxies` (entries inline, or
 * references to objects of the version) give one row per proxy × member applicationId, with the
 * member resolved to the Speckle ids of the version's objects carrying that applicationId (one row
 * per match; `object_id` NULL when none matches; a proxy without members gives one row with NULL
 * member). For every resolved member of a level proxy, a property row
 * `(object_id, 'proxy.level', level name, 'string')` is added, the level name being the proxy's
 * `value.name`, else its `name`.
 */

/** Version of these rules; stored with each dataset so `atrium datasets rebuild` can find outdated files. */
export const DATASET_FORMAT = 1;
/** Levels of nesting walked below `properties` (the ports' MAX_DEPTH). */
export const PROPERTIES_MAX_DEPTH = 10;
/** Characters of `value_text` kept (then '…'). */
export const MAX_VALUE_TEXT_CHARS = 65_536;
/** Characters of a path, unit or internal definition name kept (then '…'). */
export const MAX_LABEL_CHARS = 4_096;
/** Rows one object may produce. */
export const MAX_ROWS_PER_OBJECT = 20_000;

export const ROOT_SCALAR_FIELDS = [
  'name',
  'type',
  'family',
  'category',
  'level',
  'units',
  'speckle_type',
  'applicationId',
  'definitionId',
  'ifcType',
  'path',
] as const;

/** Top-level keys of `properties` that are never walked. */
export const EXCLUDED_TOP_LEVEL: ReadonlySet<string> = new Set(['Autodesk Material', 'Document']);

export type EavType = 'string' | 'number' | 'boolean';

export interface EavRow {
  path: string;
  valueText: string;
  valueNum: number | null;
  type: EavType;
  units: string | null;
  internalDefinitionName: string | null;
}

export interface EavStats {
  /** values, paths or labels that were cut to their cap */
  truncated: number;
  /** rows dropped because their object reached MAX_ROWS_PER_OBJECT */
  droppedRows: number;
}

export const newEavStats = (): EavStats => ({ truncated: 0, droppedRows: 0 });

type Json = Record<string, unknown>;
type Scalar = string | number | boolean;

export const isPlainObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isScalar = (v: unknown): v is Scalar => typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const stringOrNull = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const has = (o: Json, k: string) => Object.prototype.hasOwnProperty.call(o, k);

const UUID_LIKE = /.-.-/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const ANY_SURROGATE = /[\ud800-\udfff]/;
/** What .NET's double.TryParse(NumberStyles.Float) accepts, on a trimmed string. */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A string made well-formed (lone surrogates → U+FFFD) and cut to `max` characters (then '…'). */
export function cleanText(s: string, max: number, stats?: EavStats): string {
  let out = ANY_SURROGATE.test(s) ? s.replace(LONE_SURROGATE, '\ufffd') : s;
  if (out.length > max) {
    let cut = max - 1;
    // never split a surrogate pair
    const c = out.charCodeAt(cut - 1);
    if (c >= 0xd800 && c <= 0xdbff) cut--;
    out = `${out.slice(0, cut)}…`;
    if (stats) stats.truncated++;
  }
  return out;
}

/** The type of a scalar value and its number, by the rules above. */
export function inferType(value: Scalar): { type: EavType; num: number | null } {
  if (typeof value === 'boolean') return { type: 'boolean', num: null };
  if (typeof value === 'number') return Number.isFinite(value) ? { type: 'number', num: value } : { type: 'string', num: null };
  const lower = value.toLowerCase();
  if (lower === 'true' || lower === 'false') return { type: 'boolean', num: null };
  const trimmed = value.trim();
  if (!trimmed || UUID_LIKE.test(trimmed) || !DECIMAL.test(trimmed)) return { type: 'string', num: null };
  const n = Number(trimmed);
  return Number.isFinite(n) ? { type: 'number', num: n } : { type: 'string', num: null };
}

/** `value_text` of a scalar: booleans 'true'/'false', numbers as JavaScript's String(n), strings as written. */
export function textOf(value: Scalar): string {
  return typeof value === 'string' ? value : String(value);
}

/** Collects the rows of one object, applying typing, clean-up and caps. */
export class RowSink {
  readonly rows: EavRow[] = [];
  constructor(readonly stats: EavStats = newEavStats()) {}

  get full(): boolean {
    return this.rows.length >= MAX_ROWS_PER_OBJECT;
  }

  add(path: string, value: Scalar, units: string | null = null, internalDefinitionName: string | null = null, uncut = false): void {
    if (this.full) {
      this.stats.droppedRows++;
      return;
    }
    const { type, num } = inferType(value);
    const text = textOf(value);
    this.rows.push({
      path: cleanText(path, MAX_LABEL_CHARS, this.stats),
      valueText: uncut ? cleanText(text, Number.MAX_SAFE_INTEGER) : cleanText(text, MAX_VALUE_TEXT_CHARS, this.stats),
      valueNum: num,
      type,
      units: units === null ? null : cleanText(units, MAX_LABEL_CHARS, this.stats),
      internalDefinitionName: internalDefinitionName === null ? null : cleanText(internalDefinitionName, MAX_LABEL_CHARS, this.stats),
    });
  }
}

/** Which extraction an object gets. */
export function extractionKind(speckleType: unknown): 'instanceProxy' | 'dataObject' | 'collection' | null {
  const t = typeof speckleType === 'string' ? speckleType : '';
  if (t.includes('InstanceProxy')) return 'instanceProxy';
  if (t === '' || t.startsWith('Objects.Data.')) return 'dataObject';
  if (t.endsWith('.Layer') || t.includes('Collection')) return 'collection';
  return null;
}

/** The rows of one parsed object (empty for types that produce none). */
export function extractObjectRows(obj: Json, sink: RowSink = new RowSink()): EavRow[] {
  const kind = extractionKind(obj.speckle_type);
  if (!kind) return sink.rows;
  rootScalars(obj, sink);
  if (kind === 'instanceProxy') {
    instanceTransform(obj, sink);
    return sink.rows;
  }
  const props = obj.properties;
  if (isPlainObject(props)) {
    walkProperties(props, sink);
    if (kind === 'dataObject' && isPlainObject(props['Material Quantities'])) materialQuantities(props['Material Quantities'], sink);
  }
  if (kind === 'dataObject') {
    if (isPlainObject(obj.location)) location(obj.location, sink);
    if (Array.isArray(obj.displayValue)) displayValueRefs(obj.displayValue, sink);
  }
  if (Array.isArray(obj.elements)) elementRefs(obj.elements, sink);
  return sink.rows;
}

function rootScalars(obj: Json, sink: RowSink): void {
  for (const field of ROOT_SCALAR_FIELDS) {
    const v = obj[field];
    if (isScalar(v)) sink.add(field, v);
  }
}

function instanceTransform(obj: Json, sink: RowSink): void {
  const units = stringOrNull(obj.units);
  const t = obj.transform;
  if (!Array.isArray(t) || t.length !== 16) return;
  for (const [i, axis] of [
    [3, 'tx'],
    [7, 'ty'],
    [11, 'tz'],
  ] as const) {
    if (isFiniteNumber(t[i])) sink.add(`proxy.transform.${axis}`, t[i], units);
  }
  const matrix = compactJson(t);
  if (matrix !== null) sink.add('proxy.transform.matrix', matrix, units, null, true);
}

interface Frame {
  obj: Json;
  keys: string[];
  i: number;
  prefix: string;
  depth: number;
}

/** The `properties` walk, depth first in key order, with an explicit stack instead of recursion. */
function walkProperties(props: Json, sink: RowSink): void {
  const stack: Frame[] = [{ obj: props, keys: Object.keys(props), i: 0, prefix: 'properties', depth: 0 }];
  while (stack.length > 0) {
    if (sink.full) {
      sink.stats.droppedRows++;
      return;
    }
    const f = stack[stack.length - 1];
    if (f.i >= f.keys.length) {
      stack.pop();
      continue;
    }
    const key = f.keys[f.i++];
    if (f.depth === 0 && EXCLUDED_TOP_LEVEL.has(key)) continue;
    const val = f.obj[key];
    if (val === null || val === undefined) continue;
    const path = `${f.prefix}.${key}`;
    if (isPlainObject(val)) {
      if (has(val, 'name') && has(val, 'value')) {
        if (isScalar(val.value)) sink.add(path, val.value, stringOrNull(val.units), stringOrNull(val.internalDefinitionName));
        continue;
      }
      if (key === 'Structure' && f.prefix.endsWith('.Type Parameters')) continue;
      if (key === 'Material Quantities') continue;
      if (f.depth + 1 >= PROPERTIES_MAX_DEPTH) continue;
      stack.push({ obj: val, keys: Object.keys(val), i: 0, prefix: path, depth: f.depth + 1 });
      continue;
    }
    if (isScalar(val)) sink.add(path, val);
    // arrays are skipped
  }
}

function materialQuantities(mq: Json, sink: RowSink): void {
  for (const materialName of Object.keys(mq)) {
    const mat = mq[materialName];
    if (!isPlainObject(mat)) continue;
    const category = (typeof mat.materialCategory === 'string' && mat.materialCategory) || 'Unknown';
    for (const kind of ['area', 'volume'] as const) {
      const q = mat[kind];
      if (!isPlainObject(q) || !isScalar(q.value)) continue;
      sink.add(`properties.Material Quantities.${category}.${materialName}.${kind}`, q.value, stringOrNull(q.units));
    }
  }
}

function location(loc: Json, sink: RowSink): void {
  const units = stringOrNull(loc.units);
  for (const axis of ['x', 'y', 'z'] as const) {
    const v = loc[axis];
    if (isFiniteNumber(v)) sink.add(`location.${axis}`, v, units);
  }
}

/** `referencedId` when it is a string, else `id` when it is a string. */
export function refIdOf(entry: Json): string | null {
  if (typeof entry.referencedId === 'string') return entry.referencedId;
  return typeof entry.id === 'string' ? entry.id : null;
}

function displayValueRefs(dv: unknown[], sink: RowSink): void {
  for (let i = 0; i < dv.length; i++) {
    const entry = dv[i];
    if (!isPlainObject(entry)) continue;
    const ref = refIdOf(entry);
    if (ref !== null) sink.add(`displayValue.${i}.referencedId`, ref);
  }
}

function elementRefs(elements: unknown[], sink: RowSink): void {
  const refs: string[] = [];
  for (const entry of elements) {
    if (!isPlainObject(entry)) continue;
    const ref = refIdOf(entry);
    if (ref !== null) refs.push(ref);
  }
  if (refs.length > 0) sink.add('elements', JSON.stringify(refs), null, null, true);
}

/** JSON text of a value, or null when it cannot be written (too deeply nested for JSON.stringify). */
export function compactJson(value: unknown): string | null {
  try {
    return JSON.stringify(value) ?? null;
  } catch {
    return null;
  }
}

// ------------------------------------------------------------------ proxies

export type ProxyType = 'renderMaterial' | 'color' | 'level' | 'group' | 'instanceDefinition';

/** Root keys holding proxy lists (connectors v3), and the proxy type each holds. */
export const PROXY_LISTS: ReadonlyArray<readonly [string, ProxyType]> = [
  ['renderMaterialProxies', 'renderMaterial'],
  ['colorProxies', 'color'],
  ['levelProxies', 'level'],
  ['groupProxies', 'group'],
  ['instanceDefinitionProxies', 'instanceDefinition'],
];

export interface ProxyEntry {
  type: ProxyType;
  /** the proxy object (inline, or the referenced object once resolved) */
  proxy: Json;
}

/** A `reference` stub's target id, or null when the entry is an inline object. */
export function referenceTarget(entry: Json): string | null {
  return entry.speckle_type === 'reference' && typeof entry.referencedId === 'string' ? entry.referencedId : null;
}

/** One entry of a root proxy list: the proxy itself (inline), or a reference to an object of the version. */
export type ProxySlot = ProxyEntry | { type: ProxyType; ref: string };

/** The entries of the root's proxy lists, in list order (`@`-prefixed, detached, list names accepted too). */
export function rootProxySlots(root: Json): ProxySlot[] {
  const out: ProxySlot[] = [];
  for (const [key, type] of PROXY_LISTS) {
    const list = root[key] ?? root[`@${key}`];
    if (!Array.isArray(list)) continue;
    for (const entry of list) {
      if (!isPlainObject(entry)) continue;
      const target = referenceTarget(entry);
      out.push(target !== null ? { type, ref: target } : { type, proxy: entry });
    }
  }
  return out;
}

export interface ProxyRow {
  proxyType: ProxyType;
  proxyId: string | null;
  name: string | null;
  memberApplicationId: string | null;
  objectId: string | null;
  /** the proxy without its `objects` list, as JSON (null when it cannot be written) */
  data: string | null;
}

/** The display name of a proxy: its `value.name` (material, level), else its `name`. */
export function proxyName(proxy: Json): string | null {
  const v = proxy.value;
  if (isPlainObject(v) && typeof v.name === 'string') return v.name;
  return typeof proxy.name === 'string' ? proxy.name : null;
}

/**
 * `proxies` rows and `proxy.level` property rows of resolved proxies. `idsByApplicationId` maps an
 * applicationId to the Speckle ids of the version's objects that carry it.
 */
export function proxyRows(
  entries: ProxyEntry[],
  idsByApplicationId: ReadonlyMap<string, readonly string[]>,
  stats: EavStats = newEavStats(),
): { proxies: ProxyRow[]; levelRows: Array<{ objectId: string; row: EavRow }> } {
  const proxies: ProxyRow[] = [];
  const levelRows: Array<{ objectId: string; row: EavRow }> = [];
  for (const { type, proxy } of entries) {
    const proxyId = typeof proxy.applicationId === 'string' ? proxy.applicationId : typeof proxy.id === 'string' ? proxy.id : null;
    const name = proxyName(proxy);
    const { objects, ...rest } = proxy;
    const data = compactJson(rest);
    const base = {
      proxyType: type,
      proxyId: proxyId === null ? null : cleanText(proxyId, MAX_LABEL_CHARS, stats),
      name: name === null ? null : cleanText(name, MAX_VALUE_TEXT_CHARS, stats),
      data: data === null ? null : cleanText(data, Number.MAX_SAFE_INTEGER),
    };
    const members = Array.isArray(objects) ? objects.filter((m): m is string => typeof m === 'string') : [];
    if (members.length === 0) {
      proxies.push({ ...base, memberApplicationId: null, objectId: null });
      continue;
    }
    for (const member of members) {
      const ids = idsByApplicationId.get(member);
      const memberText = cleanText(member, MAX_LABEL_CHARS, stats);
      if (!ids || ids.length === 0) {
        proxies.push({ ...base, memberApplicationId: memberText, objectId: null });
        continue;
      }
      for (const objectId of ids) {
        proxies.push({ ...base, memberApplicationId: memberText, objectId });
        if (type === 'level' && name !== null) {
          const sink = new RowSink(stats);
          sink.add('proxy.level', name);
          // a level name is a name: always typed string, whatever it looks like
          levelRows.push({ objectId, row: { ...sink.rows[0], type: 'string', valueNum: null } });
        }
      }
    }
  }
  return { proxies, levelRows };
}
