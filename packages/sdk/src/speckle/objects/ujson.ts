/**
 * JSON text exactly as Python's `ujson.dumps` (6.x, default options) writes it — the bytes specklepy
 * hashes into object ids:
 *
 * - no whitespace: `{"a":1,"b":[true,false,null]}`;
 * - `ensure_ascii`: every UTF-16 code unit ≥ 0x80 becomes `\uxxxx` (lower-case hex; astral characters
 *   as their surrogate pair, lone surrogates as themselves); U+007F stays raw;
 * - `/` is escaped as `\/`; `\b \f \n \r \t` by name, other control characters as `\u00xx`;
 * - floats as Python's `repr` would print them except for the exponent's padding: shortest round-trip
 *   digits, positional notation when the decimal exponent is in [-4, 16) with at least one fractional
 *   digit (`1.0`, `0.0001`, `1000000000000000.0`), otherwise `1e+16`, `1e-7`, `1.2345678901234568e+17`;
 * - integers in full (`18446744073709551616`).
 *
 * JavaScript has one number type, so the encoder decides int or float like this:
 * - a `number` that is a safe integer (|n| < 2^53) and not `-0` is an **int** (`1`); any other finite
 *   number is a **float** (`0.5`, `1e+16`, `-0.0`);
 * - wrap a number in {@link SpeckleFloat} (`float(1)`) to write an integral value as a float (`1.0`),
 *   as Python does for values typed `float`;
 * - elements of a `Float64Array`/`Float32Array` are floats; of the other typed arrays ints;
 * - a `bigint` is an int of any size (Python ints beyond 2^53).
 *
 * NaN and ±Infinity are refused (ujson would write `NaN`/`Infinity`, which is not JSON and which no
 * Speckle server accepts).
 */
import { SpeckleError } from '../errors.js';

/** A number to be written as a Python float even when it is integral: `float(1)` → `1.0`. */
export class SpeckleFloat {
  constructor(readonly value: number) {}

  valueOf(): number {
    return this.value;
  }

  toJSON(): number {
    return this.value;
  }

  toString(): string {
    return formatFloat(this.value);
  }
}

/** Marks a number as a float: `float(1)` is written `1.0`, like Python's `1.0`. */
export function float(value: number): SpeckleFloat {
  return new SpeckleFloat(value);
}

/** Typed arrays whose elements are written as floats. */
export type FloatArray = Float64Array | Float32Array;
/** Typed arrays whose elements are written as ints. */
export type IntArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

export function isTypedArray(value: unknown): value is FloatArray | IntArray {
  return ArrayBuffer.isView(value) && !(value instanceof DataView);
}

/** Python `repr`/ujson formatting of a finite double. */
export function formatFloat(x: number): string {
  if (!Number.isFinite(x)) {
    throw new SpeckleError(`cannot serialise ${x}: NaN and Infinity are not JSON`);
  }
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const abs = x < 0 ? -x : x;
  if (abs >= 1e-4 && abs < 1e16) {
    // here JavaScript's String() is positional with the same shortest digits as Python's repr; only
    // integral values need the ".0"
    const s = String(x);
    return Number.isInteger(x) ? `${s}.0` : s;
  }
  // toExponential() without digits gives the shortest round-trip digits, like ujson's double-conversion
  const exp = x.toExponential();
  const eAt = exp.indexOf('e');
  let mantissa = exp.slice(0, eAt);
  const exponent = Number(exp.slice(eAt + 1));
  let sign = '';
  if (mantissa[0] === '-') {
    sign = '-';
    mantissa = mantissa.slice(1);
  }
  const digits = mantissa.replace('.', '');
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
    const intLen = exponent + 1;
    if (digits.length <= intLen) return `${sign}${digits}${'0'.repeat(intLen - digits.length)}.0`;
    return `${sign}${digits.slice(0, intLen)}.${digits.slice(intLen)}`;
  }
  const head = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${sign}${head}e${exponent < 0 ? '-' : '+'}${Math.abs(exponent)}`;
}

/** How a JavaScript number is written: int when it is a safe integer (and not -0), else float. */
export function formatNumber(x: number): string {
  if (Number.isSafeInteger(x) && !Object.is(x, -0)) return String(x);
  return formatFloat(x);
}

// characters ujson escapes: " \ / control characters, everything from U+0080 up (ensure_ascii)
const NEEDS_ESCAPE = /["\\/\u0000-\u001f\u0080-\uffff]/;
const ESCAPES = /["\\/\u0000-\u001f\u0080-\uffff]/g;
const NAMED: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '/': '\\/',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

function escapeChar(ch: string): string {
  const named = NAMED[ch];
  if (named !== undefined) return named;
  return `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** A JSON string literal as ujson writes it. */
export function encodeString(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return `"${s}"`;
  return `"${s.replace(ESCAPES, escapeChar)}"`;
}

/**
 * Encodes a value as ujson would: `Map` and plain objects as JSON objects (in iteration order),
 * arrays, typed arrays and `Set`s as lists, strings, numbers (see above), bigints, booleans, null.
 * `undefined` is written as null.
 */
export function ujsonDumps(value: unknown): string {
  const out: string[] = [];
  write(value, out);
  return out.join('');
}

function write(value: unknown, out: string[]): void {
  switch (typeof value) {
    case 'string':
      out.push(encodeString(value));
      return;
    case 'number':
      out.push(formatNumber(value));
      return;
    case 'bigint':
      out.push(value.toString());
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'undefined':
      out.push('null');
      return;
    case 'object':
      break;
    default:
      throw new SpeckleError(`cannot serialise a value of type ${typeof value}`);
  }
  if (value === null) {
    out.push('null');
    return;
  }
  if (value instanceof SpeckleFloat) {
    out.push(formatFloat(value.value));
    return;
  }
  if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i) out.push(',');
      write(value[i], out);
    }
    out.push(']');
    return;
  }
  if (isTypedArray(value)) {
    out.push(encodeTypedArray(value));
    return;
  }
  if (value instanceof Map) {
    out.push('{');
    let first = true;
    for (const [k, v] of value) {
      if (!first) out.push(',');
      first = false;
      out.push(encodeString(String(k)), ':');
      write(v, out);
    }
    out.push('}');
    return;
  }
  if (value instanceof Set) {
    write([...value], out);
    return;
  }
  if (isPlainObject(value)) {
    out.push('{');
    let first = true;
    for (const k of Object.keys(value)) {
      if (!first) out.push(',');
      first = false;
      out.push(encodeString(k), ':');
      write((value as Record<string, unknown>)[k], out);
    }
    out.push('}');
    return;
  }
  throw new SpeckleError(`cannot serialise an instance of ${value.constructor?.name ?? 'an unknown class'}`);
}

/** A typed array as a JSON list: floats for Float32/64 arrays, ints otherwise. */
export function encodeTypedArray(value: FloatArray | IntArray): string {
  const parts = new Array<string>(value.length);
  if (value instanceof Float64Array || value instanceof Float32Array) {
    for (let i = 0; i < value.length; i++) parts[i] = formatFloat(value[i]);
  } else {
    for (let i = 0; i < value.length; i++) parts[i] = String(value[i]);
  }
  return `[${parts.join(',')}]`;
}

/** An object literal or `Object.create(null)` — what the serializer treats as a Python dict. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
