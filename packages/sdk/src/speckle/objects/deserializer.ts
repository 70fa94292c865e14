/**
 * specklepy's `BaseObjectSerializer` (read side): JSON records back into Base objects.
 *
 * - A dict with a `speckle_type` becomes a Base: the class registered for the last `:`-separated name
 *   that is known (see `registerType`), else a plain Base that keeps the speckle_type (`Base.ofType`).
 * - References `{"referencedId":…,"speckle_type":"reference"}` are replaced by the referenced object,
 *   read from `objects`; a missing one stays a reference and is reported through `onWarning` (specklepy
 *   warns too).
 * - A list whose first element is a DataChunk is flattened back into one list.
 * - A Base referenced from a member is rebuilt once per id (shared); like specklepy, references inside
 *   lists are rebuilt each time.
 * - `__closure` is dropped and `totalChildrenCount` set to its size; `id` is kept.
 *
 * Floats. JSON.parse cannot tell `1.0` from `1`, but specklepy (Python) can, and ids depend on it. So
 * the text is read keeping that difference, and received objects hash to the same ids when sent again:
 * - a member or dict value that was an integral float (`"height": 3.0`) becomes the number 3 and is
 *   remembered as a float member (see `floatMembersOf`) — it is written `3.0` again;
 * - a list of floats (`[0.0, 0.5, 1.0]`, e.g. mesh vertices) becomes a `Float64Array`;
 * - a list mixing ints and integral floats keeps the floats as `SpeckleFloat` elements.
 * Integers beyond 2^53 lose precision (JSON.parse).
 */
import { SpeckleError } from '../errors.js';
import { Base, getRegisteredType, markFloatMember, setSpeckleType } from './base.js';
import { SpeckleFloat } from './ujson.js';

/** Where referenced objects are read from: anything with `get(id)` returning the JSON text (a Map works). */
export interface ObjectSource {
  get(id: string): string | undefined;
}

export interface DeserializeOptions {
  /** referenced objects, by id (JSON text) */
  objects?: ObjectSource;
  /** called for every problem that does not stop deserialisation (missing children) */
  onWarning?: (message: string) => void;
}

type Dict = Record<string, unknown>;

function isDict(value: unknown): value is Dict {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof SpeckleFloat);
}

// a JSON string (skipped as a whole), or a number written as a float that may have an integral value:
// decimals whose fraction is all zeros, and exponent forms
const TOKENS = /"(?:[^"\\]|\\.)*"|-?\d+\.0+(?![0-9eE])|-?\d+(?:\.\d+)?[eE][+-]?\d+/g;
// cheap test first: text without "<digit>.0" or "<digit>e+<digit>" has no integral float to keep
// (hex ids never contain a "+"; a false alarm only costs the slower path)
const MAYBE_INTEGRAL_FLOAT = /\d\.0+(?![0-9eE])|\d[eE]\+\d/;
const MARK = '\u0000\u0001float:';
const MARK_JSON = '"\\u0000\\u0001float:';

function markIntegralFloats(token: string): string {
  if (token.charCodeAt(0) === 34 /* " */) return token;
  const value = Number(token);
  // non-integral values and ones beyond 2^53 are written as floats anyway; -0 too
  if (!Number.isSafeInteger(value) || Object.is(value, -0)) return token;
  return `${MARK_JSON}${token}"`;
}

/** JSON.parse that keeps integral floats recognisable (as marker strings, decoded by the deserializer). */
export function parseKeepingFloats(json: string): unknown {
  if (!MAYBE_INTEGRAL_FLOAT.test(json)) return JSON.parse(json);
  return JSON.parse(json.replace(TOKENS, markIntegralFloats));
}

function asMarkedFloat(value: unknown): SpeckleFloat | undefined {
  if (typeof value === 'string' && value.startsWith(MARK)) return new SpeckleFloat(Number(value.slice(MARK.length)));
  return undefined;
}

function parse(json: string, id?: string): unknown {
  try {
    return parseKeepingFloats(json);
  } catch (err) {
    throw new SpeckleError(`${id ? `object ${id}` : 'the object'} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

export class BaseObjectDeserializer {
  private readonly objects?: ObjectSource;
  private readonly onWarning: (message: string) => void;
  private deserialized = new Map<string, Base>();

  constructor(options: DeserializeOptions = {}) {
    this.objects = options.objects;
    this.onWarning = options.onWarning ?? (() => undefined);
  }

  /** specklepy `read_json`: the object in `json`, with its references resolved. */
  readJson(json: string): Base | null {
    if (!json) return null;
    this.deserialized = new Map();
    const obj = parse(json);
    if (!isDict(obj)) throw new SpeckleError('the JSON text is not an object');
    const result = this.recomposeBase(obj);
    if (!(result instanceof Base)) throw new SpeckleError('the JSON object has no speckle_type');
    return result;
  }

  /** specklepy `recompose_base`: a dict with a speckle_type into a Base (other dicts come back as dicts). */
  recomposeBase(input: Dict): Base | Dict {
    let obj = input;
    if (typeof obj.id === 'string') {
      const known = this.deserialized.get(obj.id);
      if (known) return known;
    }
    if (obj.speckle_type === 'reference') obj = this.getChild(obj);

    const speckleType = obj.speckle_type;
    if (typeof speckleType !== 'string' || !speckleType) return this.plainDict(obj);

    const cls = getRegisteredType(speckleType);
    let base: Base;
    if (cls && cls !== (Base as unknown)) {
      base = Object.create(cls.prototype) as Base;
    } else {
      base = new Base();
      if (speckleType !== 'Base') setSpeckleType(base, speckleType);
    }

    let members = obj;
    if ('__closure' in obj) {
      const { __closure: closure, ...rest } = obj;
      members = rest;
      setMember(base, 'totalChildrenCount', isDict(closure) ? Object.keys(closure).length : 0);
    }

    for (const [prop, value] of Object.entries(members)) {
      if (value === null || typeof value !== 'object') {
        const f = asMarkedFloat(value);
        if (f) {
          setMember(base, prop, f.value);
          markFloatMember(base, prop);
        } else {
          setMember(base, prop, value);
        }
      } else if (isDict(value) && 'referencedId' in value) {
        const refId = String(value.referencedId);
        const text = this.objects?.get(refId);
        if (text) {
          const child = parse(text, refId);
          setMember(base, prop, isDict(child) ? this.recomposeBase(child) : child);
        } else {
          this.onWarning(`Could not find the referenced child object of id \`${refId}\``);
          setMember(base, prop, this.handleValue(value));
        }
      } else {
        setMember(base, prop, this.handleValue(value));
      }
    }

    if (typeof obj.id === 'string') this.deserialized.set(obj.id, base);
    return base;
  }

  /** specklepy `handle_value` (a marked float comes back as a SpeckleFloat for the caller to place). */
  handleValue(value: unknown): unknown {
    const f = asMarkedFloat(value);
    if (f) return f;
    if (!value || typeof value !== 'object') return value;
    if (Array.isArray(value)) {
      if (value.length === 0) return value;
      // the arrays come fresh from JSON.parse: rewritten in place, numbers left alone
      const items = value as unknown[];
      for (let i = 0; i < items.length; i++) {
        const v = items[i];
        if (v !== null && (typeof v === 'object' || typeof v === 'string')) items[i] = this.handleValue(v);
      }
      const first = items[0];
      if (first instanceof Base && first.speckle_type.includes('DataChunk')) return flattenChunks(items);
      return floatList(items);
    }
    const dict = value as Dict;
    if ('speckle_type' in dict) return this.recomposeBase(dict);
    return this.plainDict(dict);
  }

  private plainDict(dict: Dict): Dict {
    const out: Dict = {};
    for (const [k, v] of Object.entries(dict)) {
      const h = v !== null && typeof v === 'object' ? this.handleValue(v) : v;
      const f = asMarkedFloat(h);
      if (f) {
        out[k] = f.value;
        markFloatMember(out, k);
      } else {
        out[k] = h;
      }
    }
    return out;
  }

  private getChild(obj: Dict): Dict {
    const refId = String(obj.referencedId);
    const text = this.objects?.get(refId);
    if (!text) {
      this.onWarning(`Could not find the referenced child object of id \`${refId}\``);
      return obj;
    }
    const child = parse(text, refId);
    return isDict(child) ? child : obj;
  }
}

/**
 * A list of numbers none of which was written as an int, with at least one integral float, becomes a
 * Float64Array; otherwise the list stays (integral floats as SpeckleFloat elements).
 */
function floatList(items: unknown[]): unknown[] | Float64Array {
  let sawFloat = false;
  for (const item of items) {
    if (item instanceof SpeckleFloat) sawFloat = true;
    else if (typeof item !== 'number' || Number.isSafeInteger(item)) return items;
  }
  return sawFloat ? Float64Array.from(items as (number | SpeckleFloat)[], Number) : items;
}

/** The data of a chunked list, back in one list (one Float64Array when every chunk is one). */
function flattenChunks(chunks: unknown[]): unknown[] | Float64Array {
  const parts = chunks.map((c) => (c as { data?: unknown }).data);
  if (parts.length > 0 && parts.every((p) => p instanceof Float64Array)) {
    const total = (parts as Float64Array[]).reduce((n, p) => n + p.length, 0);
    const out = new Float64Array(total);
    let at = 0;
    for (const p of parts as Float64Array[]) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
  if (parts.every((p) => Array.isArray(p))) return ([] as unknown[]).concat(...(parts as unknown[][]));
  const out: unknown[] = [];
  for (const p of parts) {
    if (p instanceof Float64Array) {
      for (const x of p) out.push(Number.isSafeInteger(x) ? new SpeckleFloat(x) : x);
    } else if (Array.isArray(p)) {
      for (const x of p) out.push(x);
    }
  }
  return out;
}

/** Sets a member like specklepy's `__setattr__`: `speckle_type` and read-only properties are skipped. */
function setMember(base: Base, name: string, value: unknown): void {
  if (name === 'speckle_type') return;
  for (let proto = Object.getPrototypeOf(base); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, name);
    if (descriptor) {
      if (descriptor.get && !descriptor.set) return;
      break;
    }
  }
  (base as Record<string, unknown>)[name] = value;
}

/** Rebuilds the object in `json`, resolving references through `options.objects`. */
export function deserialize(json: string, options: DeserializeOptions = {}): Base {
  const base = new BaseObjectDeserializer(options).readJson(json);
  if (!base) throw new SpeckleError('nothing to deserialise: the JSON text is empty');
  return base;
}
