/**
 * Addon package metadata without running Python: `package.py` is read as a list of top-level
 * `name = <literal>` assignments (strings, numbers, True/False/None, lists, tuples and dicts of
 * those); anything else in the file is ignored. `manifest.json` (AYON's older layout, files under
 * `addon/`) is read as JSON. Also: the addon name/version rules and a small semver matcher for
 * bundle compatibility checks (">=1.0.0,<2.0.0").
 */

export const ADDON_NAME_RE = /^[a-zA-Z0-9_]([a-zA-Z0-9_.\-]*[a-zA-Z0-9_])?$/;
/** semver 2.0 (AYON's SEMVER_REGEX) */
export const SEMVER_RE =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

class LiteralError extends Error {}

/** Parses one Python literal starting at `s[i]`; returns the value and the index after it. */
function parseLiteral(s: string, i: number): [unknown, number] {
  const ws = () => {
    for (;;) {
      while (i < s.length && /[ \t\r\n]/.test(s[i])) i++;
      if (s[i] === '#') {
        while (i < s.length && s[i] !== '\n') i++;
      } else if (s[i] === '\\' && s[i + 1] === '\n') i += 2;
      else break;
    }
  };
  const value = (): unknown => {
    ws();
    const c = s[i];
    if (c === '"' || c === "'") {
      let out = '';
      // adjacent literals concatenate ("a" "b")
      while (s[i] === '"' || s[i] === "'") {
        out += str();
        const save = i;
        ws();
        if (s[i] !== '"' && s[i] !== "'") i = save;
      }
      return out;
    }
    if (c === '[' || c === '(') {
      const close = c === '[' ? ']' : ')';
      i++;
      const arr: unknown[] = [];
      ws();
      while (s[i] !== close) {
        arr.push(value());
        ws();
        if (s[i] === ',') {
          i++;
          ws();
        } else if (s[i] !== close) throw new LiteralError('bad list');
      }
      i++;
      return arr;
    }
    if (c === '{') {
      i++;
      const obj: Record<string, unknown> = {};
      ws();
      while (s[i] !== '}') {
        const k = value();
        ws();
        if (s[i] !== ':') throw new LiteralError('bad dict');
        i++;
        obj[String(k)] = value();
        ws();
        if (s[i] === ',') {
          i++;
          ws();
        } else if (s[i] !== '}') throw new LiteralError('bad dict');
      }
      i++;
      return obj;
    }
    const m = /^(True|False|None|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(s.slice(i, i + 64));
    if (!m) throw new LiteralError('not a literal');
    i += m[0].length;
    if (m[0] === 'True') return true;
    if (m[0] === 'False') return false;
    if (m[0] === 'None') return null;
    return Number(m[0]);
  };
  const str = (): string => {
    const q = s[i];
    const triple = s.slice(i, i + 3) === q.repeat(3);
    const end = triple ? q.repeat(3) : q;
    i += end.length;
    let out = '';
    while (i < s.length && s.slice(i, i + end.length) !== end) {
      if (s[i] === '\\') {
        const n = s[i + 1];
        const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '\n': '' };
        out += map[n] ?? `\\${n}`;
        i += 2;
      } else {
        if (!triple && s[i] === '\n') throw new LiteralError('unterminated string');
        out += s[i++];
      }
    }
    if (i >= s.length) throw new LiteralError('unterminated string');
    i += end.length;
    return out;
  };
  const v = value();
  return [v, i];
}

/** Top-level `name = literal` assignments of a package.py; non-literal values are skipped. */
export function parsePackagePy(text: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const re = /^([A-Za-z_][A-Za-z0-9_]*)[ \t]*(?::[^=\n]*)?=(?!=)[ \t]*/gm;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    try {
      const [v, end] = parseLiteral(text, m.index + m[0].length);
      // the literal must end the statement
      const rest = /^[ \t]*(#[^\n]*)?(\n|$)/.exec(text.slice(end));
      if (rest) out[m[1]] = v;
      re.lastIndex = end;
    } catch {
      /* not a literal: ignored (the code is never run) */
    }
  }
  return out;
}

// --------------------------------------------------------------------------------------- semver

function parseSemver(v: string): [number, number, number, string[]] | null {
  const m = SEMVER_RE.exec(v.trim());
  if (!m) return null;
  return [Number(m[1]), Number(m[2]), Number(m[3]), m[4] ? m[4].split('.') : []];
}

export function compareSemver(a: string, b: string): number {
  const x = parseSemver(a);
  const y = parseSemver(b);
  if (!x || !y) return a < b ? -1 : a > b ? 1 : 0;
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  const pa = x[3];
  const pb = y[3];
  if (!pa.length || !pb.length) return pb.length - pa.length; // a release sorts after its pre-releases
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    if (pa[i] === undefined) return -1;
    if (pb[i] === undefined) return 1;
    const na = /^\d+$/.test(pa[i]);
    const nb = /^\d+$/.test(pb[i]);
    if (na && nb && Number(pa[i]) !== Number(pb[i])) return Number(pa[i]) - Number(pb[i]);
    if (na !== nb) return na ? -1 : 1;
    if (pa[i] !== pb[i]) return pa[i] < pb[i] ? -1 : 1;
  }
  return 0;
}

/** `version` satisfies every comma-separated condition (">=1.0.0,<2.0.0"); unparsable conditions fail. */
export function semverMatches(version: string, requirements: string): boolean {
  for (const cond of requirements.split(',')) {
    const m = /^\s*(>=|<=|==|!=|>|<|=)?\s*(\S+)\s*$/.exec(cond);
    if (!m || !parseSemver(m[2]) || !parseSemver(version)) return false;
    const c = compareSemver(version, m[2]);
    const op = m[1] ?? '==';
    const ok = op === '>=' ? c >= 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : op === '<' ? c < 0 : op === '!=' ? c !== 0 : c === 0;
    if (!ok) return false;
  }
  return true;
}

// ------------------------------------------------------------------------------------ pyproject

/**
 * A TOML subset for `private/pyproject.toml` (AYON lists it as the version's clientPyproject):
 * `[table.headers]`, `[[arrays.of.tables]]`, `key = value` with basic/literal strings (also
 * triple-quoted), integers, floats, booleans, arrays (also over several lines) and inline tables.
 * Returns null when the file is not in that subset.
 */
export function parseTomlSubset(text: string): Record<string, unknown> | null {
  const root: Record<string, unknown> = {};
  let cur = root;
  let i = 0;
  const s = text.replace(/\r\n/g, '\n');
  const fail = (): never => {
    throw new LiteralError('toml');
  };
  const ws = (nl: boolean) => {
    for (;;) {
      while (i < s.length && (s[i] === ' ' || s[i] === '\t' || (nl && s[i] === '\n'))) i++;
      if (s[i] === '#') while (i < s.length && s[i] !== '\n') i++;
      else break;
    }
  };
  const key = (): string[] => {
    const parts: string[] = [];
    for (;;) {
      ws(false);
      if (s[i] === '"' || s[i] === "'") parts.push(str());
      else {
        const m = /^[A-Za-z0-9_-]+/.exec(s.slice(i));
        if (!m) fail();
        parts.push(m![0]);
        i += m![0].length;
      }
      ws(false);
      if (s[i] !== '.') return parts;
      i++;
    }
  };
  const str = (): string => {
    const q = s[i];
    const triple = s.startsWith(q.repeat(3), i);
    const end = triple ? q.repeat(3) : q;
    i += end.length;
    if (triple && s[i] === '\n') i++;
    let out = '';
    while (i < s.length && !s.startsWith(end, i)) {
      if (q === '"' && s[i] === '\\') {
        const n = s[i + 1];
        const map: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"' };
        if (n === 'u' || n === 'U') {
          const len = n === 'u' ? 4 : 8;
          out += String.fromCodePoint(parseInt(s.slice(i + 2, i + 2 + len), 16));
          i += 2 + len;
          continue;
        }
        out += map[n] ?? n;
        i += 2;
      } else {
        if (!triple && s[i] === '\n') fail();
        out += s[i++];
      }
    }
    if (i >= s.length) fail();
    i += end.length;
    return out;
  };
  const value = (): unknown => {
    ws(false);
    const c = s[i];
    if (c === '"' || c === "'") return str();
    if (c === '[') {
      i++;
      const arr: unknown[] = [];
      for (;;) {
        ws(true);
        if (s[i] === ']') break;
        arr.push(value());
        ws(true);
        if (s[i] === ',') i++;
        else if (s[i] !== ']') fail();
      }
      i++;
      return arr;
    }
    if (c === '{') {
      i++;
      const obj: Record<string, unknown> = {};
      ws(false);
      if (s[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        const k = key();
        if (s[i] !== '=') fail();
        i++;
        setIn(obj, k, value());
        ws(false);
        if (s[i] === ',') i++;
        else if (s[i] === '}') {
          i++;
          return obj;
        } else fail();
      }
    }
    const m = /^(true|false|[+-]?\d[\d_]*(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(s.slice(i));
    if (!m) fail();
    i += m![0].length;
    if (m![0] === 'true') return true;
    if (m![0] === 'false') return false;
    return Number(m![0].replace(/_/g, ''));
  };
  const setIn = (obj: Record<string, unknown>, path: string[], v: unknown) => {
    let o = obj;
    for (const p of path.slice(0, -1)) {
      if (!o[p] || typeof o[p] !== 'object' || Array.isArray(o[p])) o[p] = {};
      o = o[p] as Record<string, unknown>;
    }
    o[path[path.length - 1]] = v;
  };
  const table = (path: string[], arrayItem: boolean) => {
    let o = root;
    path.forEach((p, n) => {
      const last = n === path.length - 1;
      if (last && arrayItem) {
        if (!Array.isArray(o[p])) o[p] = [];
        const item = {};
        (o[p] as unknown[]).push(item);
        o = item;
        return;
      }
      let next = o[p];
      if (Array.isArray(next)) next = next[next.length - 1];
      if (!next || typeof next !== 'object') o[p] = next = {};
      o = next as Record<string, unknown>;
    });
    return o;
  };
  try {
    for (;;) {
      ws(true);
      if (i >= s.length) break;
      if (s[i] === '[') {
        const arr = s[i + 1] === '[';
        i += arr ? 2 : 1;
        const k = key();
        if (s[i] !== ']' || (arr && s[i + 1] !== ']')) fail();
        i += arr ? 2 : 1;
        cur = table(k, arr);
      } else {
        const k = key();
        if (s[i] !== '=') fail();
        i++;
        setIn(cur, k, value());
      }
      ws(false);
      if (i < s.length && s[i] !== '\n') fail();
    }
    return root;
  } catch {
    return null;
  }
}

/** The top-level `key: scalar` lines of a package.yaml (name, version, title …); the rest is ignored. */
export function parseYamlScalars(text: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const line of text.replace(/\r\n/g, '\n').split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.*?)\s*$/.exec(line);
    if (!m || !m[2] || m[2].startsWith('#')) continue;
    let v = m[2].replace(/\s+#.*$/, '');
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    else if (v === 'true' || v === 'false') {
      out[m[1]] = v === 'true';
      continue;
    }
    out[m[1]] = v;
  }
  return out;
}
