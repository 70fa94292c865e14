/**
 * specklepy's `BaseObjectSerializer` (write side), reproduced step by step so that the same data gives
 * the same object ids, the same records and the same `__closure`s as specklepy 3.x:
 *
 * 1. Each Base becomes a builder `{"id":"","speckle_type":…,"totalChildrenCount":0, <members>}` with
 *    the members in sorted name order (`applicationId` included, null when unset).
 * 2. With detaching on (specklepy: "there is a write transport"), `@name` members, the class's
 *    `detachable` members and chunked members are stored as separate objects and replaced by
 *    `{"referencedId":…,"speckle_type":"reference"}`; in a detached list every Base element is replaced
 *    so (other elements stay inline); `@(N)name`, `@()name` and the class's `chunkable` members are cut
 *    into `Speckle.Core.Models.DataChunk {data:[…]}` objects of N items (one empty chunk for an empty
 *    list). Every other Base — a member, a list element, a dict value — is written inline, with its
 *    own id.
 * 3. `__closure` maps every detached descendant to its depth (the smallest number of Base levels,
 *    inline ones included, between the object and the reference), and `totalChildrenCount` is its size.
 *    Inline objects get a closure too when they contain detached objects.
 * 4. `id` = first 32 hex digits of sha256 over ujson text of the builder with `"id":""`, before
 *    `__closure` is added; then `id` is filled in and `__closure` appended (only when non-empty).
 * 5. Detached objects and the root are emitted as records, children before parents, root last — the
 *    same object as many times as specklepy writes it (senders drop repeats).
 *
 * Values: see ujson.ts for numbers (int vs float), strings and typed arrays. Plain objects and Maps are
 * dicts (their primitive values are kept, others traversed, Bases inline); arrays, typed arrays and
 * Sets are lists; undefined is null. Anything else (functions, class instances that are not Base,
 * Map, Set, typed arrays or SpeckleFloat) is refused with a SpeckleError.
 */
import { createHash } from 'node:crypto';
import { SpeckleError } from '../errors.js';
import { Base, DataChunk, floatMembersOf, serializableMembers, type BaseClass } from './base.js';
import { SpeckleFloat, encodeString, isPlainObject, isTypedArray, ujsonDumps } from './ujson.js';

/** One stored object: its id and its JSON text (with `id` and `__closure`), as specklepy writes it. */
export interface ObjectRecord {
  id: string;
  json: string;
}

export interface SerializeOptions {
  /**
   * Detach and chunk (default true). specklepy detaches only when it has write transports: with none
   * (`operations.serialize(base)`, `base.get_id()`), `@` members stay inline and lists are not chunked,
   * which gives other ids.
   */
  detach?: boolean;
  /** Called with each record as it is produced (children before parents, root last). */
  onRecord?: (record: ObjectRecord) => void;
}

export interface SerializeResult {
  /** id of the root object */
  id: string;
  /** JSON text of the root object (what specklepy's `write_json` returns) */
  json: string;
  /**
   * With detaching on: every record in the order specklepy writes them, repeats included (an object
   * referenced twice is written twice). Empty with detaching off.
   */
  records: ObjectRecord[];
}

type Builder = Map<string, unknown>;

const PRIMITIVE_TYPES = new Set(['string', 'number', 'boolean', 'bigint']);

function isPrimitive(value: unknown): boolean {
  return value === null || value === undefined || PRIMITIVE_TYPES.has(typeof value) || value instanceof SpeckleFloat;
}

const CHUNK_NAME = /^@\((\d*)\)/;

/** sha256 of the text, first 32 hex digits (specklepy `hash_obj`). */
export function hashJson(json: string): string {
  return createHash('sha256').update(json, 'utf8').digest('hex').slice(0, 32);
}

/** Serialises one object graph. A serializer may be reused; each call starts afresh. */
export class BaseObjectSerializer {
  readonly detach: boolean;
  private readonly onRecord?: (record: ObjectRecord) => void;
  private detachLineage: boolean[] = [];
  private lineage: number[] = [];
  private familyTree = new Map<number, Map<string, number>>();
  private nextLineage = 0;
  private records: ObjectRecord[] = [];

  constructor(options: SerializeOptions = {}) {
    this.detach = options.detach ?? true;
    this.onRecord = options.onRecord;
  }

  /** Serialises `base`: its id, its JSON text and (detaching) every record to store. */
  serialize(base: Base): SerializeResult {
    if (!(base instanceof Base)) throw new SpeckleError('only Base objects can be serialised');
    this.detachLineage = [true];
    this.lineage = [];
    this.familyTree = new Map();
    this.records = [];
    const { id, json } = this.traverseBase(base);
    const records = this.records;
    this.records = [];
    return { id, json, records };
  }

  private traverseBase(base: Base): { id: string; json: string; builder: Builder } {
    if (this.detachLineage.length === 0) this.detachLineage = [true];
    const lineageKey = ++this.nextLineage;
    this.lineage.push(lineageKey);

    const cls = base.constructor as BaseClass;
    const receivedFloats = floatMembersOf(base);
    const builder: Builder = new Map<string, unknown>([
      ['id', ''],
      ['speckle_type', base.speckle_type],
      ['totalChildrenCount', 0],
    ]);

    for (const prop of serializableMembers(base)) {
      let value = (base as Record<string, unknown>)[prop];
      let chunkSize: number | undefined;
      let detach = false;

      if (this.detach) {
        const m = prop.startsWith('@') ? CHUNK_NAME.exec(prop) : null;
        if (m) chunkSize = m[1] ? Number.parseInt(m[1], 10) : (cls.chunkSizeDefault ?? 1000);
        else if (Object.prototype.hasOwnProperty.call(cls.chunkable ?? {}, prop)) chunkSize = cls.chunkable[prop];
        detach = prop.startsWith('@') || (cls.detachable?.has(prop) ?? false) || chunkSize !== undefined;
      }

      // 1. None and primitives
      if (isPrimitive(value)) {
        if (typeof value === 'number' && (cls.floatMembers?.has(prop) || receivedFloats?.has(prop))) {
          value = new SpeckleFloat(value);
        }
        builder.set(prop, value === undefined ? null : value);
        continue;
      }
      // 2. Base members
      if (value instanceof Base) {
        const child = this.traverseValue(value, detach) as Builder;
        builder.set(prop, detach && this.detach ? this.detachHelper(child.get('id') as string) : child);
        continue;
      }
      // 3. chunked lists
      if (chunkSize !== undefined && this.detach) {
        const refs: Builder[] = [];
        for (const chunk of chunksOf(value, chunkSize, prop)) {
          this.detachLineage.push(detach);
          const { id } = this.traverseBase(chunk);
          refs.push(this.detachHelper(id));
        }
        builder.set(prop, refs);
        continue;
      }
      // 4. everything else
      builder.set(prop, this.traverseValue(value, detach));
    }

    const detached = this.detachLineage.pop() ?? false;
    const depthNow = this.detachLineage.length;
    const tree = this.familyTree.get(lineageKey);
    this.familyTree.delete(lineageKey);
    const closure = new Map<string, number>();
    if (tree) for (const [ref, depth] of tree) closure.set(ref, depth - depthNow);
    builder.set('totalChildrenCount', closure.size);

    // hash the builder with "id":"" — everything after the id is written once and reused
    const rest = ujsonDumps(builder).slice('{"id":""'.length, -1);
    const id = hashJson(`{"id":""${rest}}`);
    builder.set('id', id);
    let closureText = '';
    if (closure.size) {
      builder.set('__closure', closure);
      closureText = `,"__closure":${ujsonDumps(closure)}`;
    }
    const json = `{"id":${encodeString(id)}${rest}${closureText}}`;

    if (detached && this.detach) {
      const record = { id, json };
      this.records.push(record);
      this.onRecord?.(record);
    }
    this.lineage.pop();
    return { id, json, builder };
  }

  private traverseValue(value: unknown, detach: boolean): unknown {
    if (value === null || value === undefined) return null;
    if (isPrimitive(value)) return value;

    if (Array.isArray(value) || value instanceof Set) {
      const items = Array.isArray(value) ? value : [...value];
      if (!detach) {
        // lists of plain values (coordinates, indices, names) are written as they are
        let i = 0;
        while (i < items.length && isPrimitive(items[i])) i++;
        if (i === items.length) return items;
        return items.map((item) => this.traverseValue(item, false));
      }
      const out: unknown[] = [];
      for (const item of items) {
        if (item instanceof Base) {
          this.detachLineage.push(detach);
          const { id } = this.traverseBase(item);
          out.push(this.detachHelper(id));
        } else {
          out.push(this.traverseValue(item, detach));
        }
      }
      return out;
    }
    // typed arrays hold only numbers: written as they are (floats or ints by array kind)
    if (isTypedArray(value)) return value;

    if (value instanceof Map || isPlainObject(value)) {
      const out = new Map<string, unknown>();
      const entries = value instanceof Map ? value.entries() : Object.entries(value);
      const floats = floatMembersOf(value);
      for (const [k, v] of entries) {
        const key = String(k);
        if (typeof v === 'number' && floats?.has(key)) out.set(key, new SpeckleFloat(v));
        else out.set(key, isPrimitive(v) ? (v === undefined ? null : v) : this.traverseValue(v, false));
      }
      return out;
    }
    if (value instanceof Base) {
      this.detachLineage.push(detach);
      return this.traverseBase(value).builder;
    }
    throw new SpeckleError(
      `cannot serialise an instance of ${(value as object).constructor?.name ?? typeof value}: use Base, plain objects, Map, arrays, Set, typed arrays or primitives`,
    );
  }

  /** Records the reference in the closure of every object on the way up; returns the reference. */
  private detachHelper(refId: string): Builder {
    const depth = this.detachLineage.length;
    for (const parent of this.lineage) {
      let tree = this.familyTree.get(parent);
      if (!tree) {
        tree = new Map();
        this.familyTree.set(parent, tree);
      }
      const known = tree.get(refId);
      if (known === undefined || known > depth) tree.set(refId, depth);
    }
    return new Map<string, unknown>([
      ['referencedId', refId],
      ['speckle_type', 'reference'],
    ]);
  }
}

/** specklepy's chunking loop: a new chunk every `size` items, one (possibly empty) chunk at least. */
function chunksOf(value: unknown, size: number, prop: string): DataChunk[] {
  let items: ArrayLike<unknown>;
  if (Array.isArray(value) || isTypedArray(value)) items = value as ArrayLike<unknown>;
  else if (value instanceof Set) items = [...value];
  else if (value instanceof Map) items = [...value.keys()];
  else if (isPlainObject(value)) items = Object.keys(value); // Python iterates a dict's keys
  else throw new SpeckleError(`cannot chunk member "${prop}": it is not a list`);

  if (size <= 0 && items.length > 1) throw new SpeckleError(`cannot chunk member "${prop}" into chunks of ${size}`);
  const chunks: DataChunk[] = [];
  if (items.length === 0) return [new DataChunk([])];
  const typed = isTypedArray(items);
  for (let start = 0; start < items.length; start += Math.max(size, 1)) {
    const end = Math.min(start + Math.max(size, 1), items.length);
    const data = typed
      ? (items as unknown as Float64Array).subarray(start, end)
      : Array.prototype.slice.call(items, start, end);
    chunks.push(new DataChunk(data));
  }
  return chunks;
}

/**
 * Serialises an object graph (detaching by default) — see {@link BaseObjectSerializer}.
 */
export function serialize(base: Base, options: SerializeOptions = {}): SerializeResult {
  return new BaseObjectSerializer(options).serialize(base);
}

/**
 * The object's id as specklepy's `base.get_id(decompose)` computes it: without decomposing (the
 * default) nothing is detached or chunked, which gives another id than sending the object.
 */
export function getId(base: Base, decompose = false): string {
  return serialize(base, { detach: decompose }).id;
}
