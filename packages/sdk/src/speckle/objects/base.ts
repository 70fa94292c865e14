/**
 * `Base` — specklepy's `Base`: the root of every Speckle object. Dynamic members are plain properties
 * (`obj.height = 3`, `obj['@child'] = other`, or `obj.set(name, value)`, which validates the name as
 * specklepy does); typed classes subclass it and declare, as static members, what specklepy declares
 * in `__init_subclass__`:
 *
 * ```ts
 * class Block extends Base {
 *   static override speckleType = 'Tests.Block';          // specklepy: speckle_type="Tests.Block"
 *   static override detachable = new Set(['parts']);      //            detachable={"parts"}
 *   static override chunkable = { values: 4 };            //            chunkable={"values": 4}
 * }
 * registerType(Block);                                    // so receive() rebuilds Blocks
 * ```
 *
 * Member names decide how the serializer treats them (see serializer.ts): `@name` is detached
 * (stored as its own object, referenced by id), `@(N)name` / `@()name` is a list chunked into
 * `DataChunk`s of N (default 1000) items, names starting with `_` are not serialised, `id` is never
 * part of the hash.
 *
 * A subclass's `speckle_type` is the `:`-joined chain of the `speckleType`s of its ancestors below
 * Base, as in specklepy (`Objects.Geometry.Mesh:Tests.MyMesh`).
 */
import { SpeckleError } from '../errors.js';

const SPECKLE_TYPE = Symbol('speckle_type');
const FLOAT_MEMBERS = Symbol('floatMembers');

/**
 * Names of the members of this object (a Base or a plain dict) that hold a float with an integral
 * value — e.g. `height` received as `3.0`. A number in such a member is written as a float (`3.0`), so
 * received objects hash to the same id when sent again. The receiver fills this in; undefined when empty.
 */
export function floatMembersOf(target: object): ReadonlySet<string> | undefined {
  return (target as { [FLOAT_MEMBERS]?: Set<string> })[FLOAT_MEMBERS];
}

/** Marks a member of a Base or plain dict as a float (see {@link floatMembersOf}). */
export function markFloatMember(target: object, name: string): void {
  let set = (target as { [FLOAT_MEMBERS]?: Set<string> })[FLOAT_MEMBERS];
  if (!set) {
    set = new Set();
    Object.defineProperty(target, FLOAT_MEMBERS, { value: set, enumerable: false, configurable: true, writable: false });
  }
  set.add(name);
}

/** What the serializer reads from a Base subclass (the statics below). */
export interface BaseClass {
  new (...args: never[]): Base;
  readonly prototype: Base;
  speckleType: string;
  detachable: ReadonlySet<string>;
  chunkable: Readonly<Record<string, number>>;
  chunkSizeDefault: number;
  serializeIgnore: ReadonlySet<string>;
  computedMembers: readonly string[];
  floatMembers: ReadonlySet<string>;
}

export class Base {
  /** this class's own name in the type chain (specklepy `_full_name()`); subclasses must set it */
  static speckleType = 'Base';
  /** members stored as separate objects (specklepy `detachable`) */
  static detachable: ReadonlySet<string> = new Set<string>();
  /** members chunked into DataChunks of the given size (specklepy `chunkable`); chunked members are detached */
  static chunkable: Readonly<Record<string, number>> = {};
  /** chunk size of `@()name` members */
  static chunkSizeDefault = 1000;
  /** members never serialised (specklepy `serialize_ignore`) */
  static serializeIgnore: ReadonlySet<string> = new Set<string>();
  /**
   * Members that are getters on the prototype but are serialised like data, as specklepy serialises
   * Python properties (e.g. Mesh `area`, Line `length`). Own properties are always serialised.
   */
  static computedMembers: readonly string[] = [];
  /**
   * Members typed `float` in specklepy: a number there is written as a float (`1.0`), as specklepy
   * converts an int assigned to a `float` member. Lists are not converted (specklepy does not either).
   */
  static floatMembers: ReadonlySet<string> = new Set<string>();

  /** the object's hash: set by the serializer's callers and on receive; never part of the hash */
  id: string | null = null;
  /** the host application's id of the object (always serialised, null when unset) */
  applicationId: string | null = null;

  /** dynamic members */
  [member: string]: unknown;

  constructor(members?: Record<string, unknown>) {
    if (members) {
      for (const [name, value] of Object.entries(members)) this.set(name, value);
    }
  }

  /** The full speckle_type, e.g. `Base`, `Objects.Geometry.Mesh`, `Objects.Geometry.Mesh:Tests.Mine`. */
  get speckle_type(): string {
    const custom = (this as unknown as { [SPECKLE_TYPE]?: string })[SPECKLE_TYPE];
    if (custom !== undefined) return custom;
    return speckleTypeOf(this.constructor as BaseClass);
  }

  /**
   * A plain Base that reports another speckle_type (specklepy `Base.of_type`); used for types this
   * process does not know, so that their type survives a round trip.
   */
  static ofType(speckleType: string, members?: Record<string, unknown>): Base {
    const b = new Base(members);
    setSpeckleType(b, speckleType);
    return b;
  }

  /** Sets a member after checking its name like specklepy's `validate_prop_name`. */
  set(name: string, value: unknown): this {
    validatePropName(name);
    (this as Record<string, unknown>)[name] = value;
    return this;
  }

  /** Names of the members that would be serialised, sorted as specklepy sorts them. */
  getMemberNames(): string[] {
    return serializableMembers(this);
  }
}

/** Gives an object another speckle_type (used by `Base.ofType` and when receiving unknown types). */
export function setSpeckleType(base: Base, speckleType: string): void {
  Object.defineProperty(base, SPECKLE_TYPE, { value: speckleType, enumerable: false, configurable: true, writable: true });
}

const TYPE_CACHE = new WeakMap<BaseClass, string>();

/** `speckle_type` of a class: the `:`-joined `speckleType` of each class from Base down, Base excluded. */
export function speckleTypeOf(cls: BaseClass): string {
  const cached = TYPE_CACHE.get(cls);
  if (cached !== undefined) return cached;
  const chain: string[] = [];
  for (let c: unknown = cls; typeof c === 'function' && c !== Base; c = Object.getPrototypeOf(c)) {
    const own = Object.prototype.hasOwnProperty.call(c, 'speckleType')
      ? (c as BaseClass).speckleType
      : (c as { name: string }).name;
    chain.unshift(own);
  }
  const type = chain.length ? chain.join(':') : 'Base';
  TYPE_CACHE.set(cls, type);
  return type;
}

/** specklepy `Base.validate_prop_name`. */
export function validatePropName(name: string): void {
  if (name === '' || name === '@') {
    throw new SpeckleError('Invalid Name: Base member names cannot be empty strings');
  }
  if (name.startsWith('@@')) {
    throw new SpeckleError("Invalid Name: Base member names cannot start with more than one '@'");
  }
  if (name.includes('.') || name.includes('/')) {
    throw new SpeckleError("Invalid Name: Base member names cannot contain characters '.' or '/'");
  }
}

/** Python's `sorted()` order of str: by code point (not by UTF-16 unit). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // surrogates (D800–DFFF) encode code points above every BMP unit, including E000–FFFF
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

const NOT_MEMBERS = new Set(['id', 'speckle_type', 'totalChildrenCount']);

/**
 * The members specklepy's `get_serializable_attributes` would list: own enumerable properties plus the
 * class's computed members, minus `serializeIgnore` and names starting with `_`, sorted by code point.
 * (`id` is left out — it is never hashed; `speckle_type` and `totalChildrenCount` are written by the
 * serializer itself.)
 */
export function serializableMembers(base: Base): string[] {
  const cls = base.constructor as BaseClass;
  const names = new Set<string>(Object.keys(base));
  for (const name of cls.computedMembers ?? []) names.add(name);
  const ignore = cls.serializeIgnore ?? new Set<string>();
  return [...names]
    .filter((n) => !n.startsWith('_') && !NOT_MEMBERS.has(n) && !ignore.has(n))
    .sort(compareCodePoints);
}

/** `Speckle.Core.Models.DataChunk`: one slice of a chunked list. */
export class DataChunk extends Base {
  static override speckleType = 'Speckle.Core.Models.DataChunk';
  data: unknown[] | ArrayLike<unknown>;

  constructor(data: unknown[] | ArrayLike<unknown> = []) {
    super();
    this.data = data;
  }
}

const REGISTRY = new Map<string, BaseClass>();

/**
 * Makes `receive`/`deserialize` rebuild objects of this speckle type as instances of `cls` (specklepy
 * registers every subclass automatically). Returns the class, so it can be used as a decorator-like call.
 */
export function registerType<T extends BaseClass>(cls: T): T {
  const own = Object.prototype.hasOwnProperty.call(cls, 'speckleType') ? cls.speckleType : cls.name;
  REGISTRY.set(own, cls);
  return cls;
}

/** specklepy `get_registered_type`: the last `:`-separated name that is registered, else undefined. */
export function getRegisteredType(speckleType: string): BaseClass | undefined {
  const names = speckleType.split(':');
  for (let i = names.length - 1; i >= 0; i--) {
    const cls = REGISTRY.get(names[i]);
    if (cls) return cls;
  }
  return undefined;
}

registerType(Base as unknown as BaseClass);
registerType(DataChunk as unknown as BaseClass);
