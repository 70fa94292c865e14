import { describe, expect, it } from 'vitest';
import { BatchFormatError, JsonArraySplitter, escapeLineBreakers, omitPaths, pickPaths } from '../src/faces/speckle/rest/objects.js';

const MB = 1024 * 1024;

/** Runs the splitter over `text` cut into pieces of `size` bytes. */
function split(text: string | Buffer, size: number, maxElement = 10 * MB): unknown[] {
  const buf = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
  const s = new JsonArraySplitter(maxElement, MB);
  const out: unknown[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(...s.push(buf.subarray(i, i + size)));
  s.end();
  return out;
}

const kindOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    if (e instanceof BatchFormatError) return e.kind;
    throw e;
  }
  return 'ok';
};

describe('streaming JSON array splitter', () => {
  const tricky = [
    { id: 'a'.repeat(32), s: 'brackets ] } [ { and a comma, inside', n: [1, [2, [3]], { x: '}' }] },
    { id: 'b'.repeat(32), esc: 'quote \\" backslash \\\\ end\\', u: 'é漢字😀 \u2028', tab: '\t' },
    'a plain string with \\" and ]',
    12.5e3,
    -7,
    true,
    null,
    [],
    {},
    [{ nested: ['[', ']'] }],
  ];
  const text = ` \n[ ${tricky.map((v) => JSON.stringify(v)).join(' ,\n ')} ]\r\n `;

  it('yields every top-level element, whatever the chunk boundaries (down to one byte at a time)', () => {
    for (const size of [1, 2, 3, 5, 7, 16, 64, 4096]) expect(split(text, size)).toEqual(tricky);
  });

  it('handles an escape whose backslash ends one chunk and whose character starts the next', () => {
    const v = [{ id: 'c'.repeat(32), s: 'x\\"y\\\\' }];
    const t = JSON.stringify(v);
    for (let cut = 1; cut < t.length; cut++) {
      const s = new JsonArraySplitter(MB, MB);
      const out = [...s.push(Buffer.from(t.slice(0, cut))), ...s.push(Buffer.from(t.slice(cut)))];
      s.end();
      expect(out).toEqual(v);
    }
  });

  it('reads an empty array, and whitespace-only padding around it', () => {
    expect(split('[]', 1)).toEqual([]);
    expect(split(' \t[ \n ] \n', 1)).toEqual([]);
  });

  it('tells "not an array" from "not JSON"', () => {
    expect(kindOf(() => split('{"id": "x"}', 4))).toBe('not-array');
    expect(kindOf(() => split('"text"', 4))).toBe('not-array');
    expect(kindOf(() => split('null', 1))).toBe('not-array');
    expect(kindOf(() => split(' 42 ', 1))).toBe('not-array');
    expect(kindOf(() => split('nope', 4))).toBe('not-json');
    expect(kindOf(() => split('{"id": ', 4))).toBe('not-json');
    expect(kindOf(() => split('hello', 4))).toBe('not-json');
    expect(kindOf(() => split('\u0000\u0000', 4))).toBe('not-json');
    expect(kindOf(() => split('', 4))).toBe('not-json');
  });

  it('refuses malformed arrays: trailing comma, missing comma, truncation, junk after the end, bad elements', () => {
    for (const bad of ['[1,]', '[,1]', '[1 2]', '[{"a":1}', '[{"a":1}', '[1]x', '[1] [2]', '[{"a":}]', '[tru]', '[{"a":"unterminated]']) {
      expect(kindOf(() => split(bad, 3)), bad).toBe('not-json');
    }
  });

  it('refuses an element over the element limit, naming its id when it comes first', () => {
    const big = JSON.stringify([{ id: 'd'.repeat(32), pad: 'x'.repeat(5000) }]);
    expect(() => split(big, 100, 1000)).toThrow(/^Object too large\. Object ID: d{32}\. \(/);
    expect(() => split(big, 100000, 1000)).toThrow(/Object ID: d{32}/);
  });
});

describe('line-breaker escaping', () => {
  it('escapes every character that splitlines or objectloader treat as a line end, and leaves JSON equal', () => {
    const s = JSON.stringify({ v: 'a\u2028b\u2029c\u0085d' });
    const e = escapeLineBreakers(s);
    expect(e).toBe('{"v":"a\\u2028b\\u2029c\\u0085d"}');
    expect(JSON.parse(e)).toEqual(JSON.parse(s));
    expect(escapeLineBreakers('{"a":1}')).toBe('{"a":1}');
    expect(escapeLineBreakers('\r\v\f\x1c\x1d\x1e')).toBe('\\u000d\\u000b\\u000c\\u001c\\u001d\\u001e');
  });
});

describe('attribute masks', () => {
  const obj = () => ({ id: 'x', a: { b: 1, c: 2 }, d: [{ e: 1 }], 'f.g': 3, h: 4 });
  it('include picks dotted paths, literal dotted keys first, and skips missing ones', () => {
    expect(pickPaths(obj(), ['id', 'a.b', 'f.g', 'missing.path'])).toEqual({ id: 'x', a: { b: 1 }, 'f.g': 3 });
  });
  it('exclude omits dotted paths', () => {
    expect(omitPaths(obj(), ['a.c', 'h', 'd'])).toEqual({ id: 'x', a: { b: 1 }, 'f.g': 3 });
  });
});
