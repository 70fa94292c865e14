/**
 * specklepy's `BaseObjectSerializer` (read side): JSON records back into Base objects.
 *
 * - A dict with a `speckle_type` becomes a Base: the class registered for the last `:`-separated name
 *   that is known (see `registerType`), else a plain Base that keeps the speckle_type (`Base.ofType`).
 * - References `{"referencedId":…,"speckle_type":"reference"}` are replaced by the referenced object,
 *   read from `objects`; a missing one stays a reference and is reported through `onWarning` (specklepy
 *   warns too).
 * - A list whose first element is a DataChunk is flattened back into one list.
 * - The same id gives the same instance (shared sub-objects stay shared).
 * - `__closure` is dropped and `totalChildrenCount` set to its size; `id` is kept.
 *
 * Numbers come from `JSON.parse`: integral floats (`1.0`) become plain numbers, so re-sending a
 * received object can give other ids when it holds such values (ints beyond 2^53 lose precision).
 */
import { SpeckleError } from '../errors.js';
import { Base, getRegisteredType, setSpeckleType } from './base.js';

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
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function parse(json: string, id?: string): unknown {
  try {
    return JSON.parse(json);
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

  /** specklepy `recompose_base`: a dict with a speckle_type into a Base (other dicts come back as they are). */
  recomposeBase(input: Dict): Base | Dict {
    let obj = input;
    if (typeof obj.id === 'string') {
      const known = this.deserialized.get(obj.id);
      if (known) return known;
    }
    if (obj.speckle_type === 'reference') obj = this.getChild(obj);

    const speckleType = obj.speckle_type;
    if (typeof speckleType !== 'string' || !speckleType) return obj;

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
        setMember(base, prop, value);
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

  /** specklepy `handle_value`. */
  handleValue(value: unknown): unknown {
    if (!value) return value;
    if (typeof value !== 'object') return value;
    if (Array.isArray(value)) {
      if (value.length === 0) return value;
      const items = value.map((v) => this.handleValue(v));
      const first = items[0];
      if (first instanceof Base && first.speckle_type.includes('DataChunk')) {
        const data: unknown[] = [];
        for (const chunk of items) {
          const d = (chunk as { data?: unknown }).data;
          if (Array.isArray(d)) for (const x of d) data.push(x);
        }
        return data;
      }
      return items;
    }
    const dict = value as Dict;
    if ('speckle_type' in dict) return this.recomposeBase(dict);
    const out: Dict = {};
    for (const [k, v] of Object.entries(dict)) {
      out[k] = v !== null && typeof v === 'object' ? this.handleValue(v) : v;
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
