/**
 * The interop model built with @atrium/sdk, member for member the twin of build_interop_model() in
 * conformance/helpers_speckle_interop.py, and summary(), the twin of interop_summary() there.
 * Keep the two files in step: the pytest side compares root ids and summaries across languages.
 */
import crypto from 'node:crypto';
import { Base, Collection, Mesh } from '../../packages/sdk/src/index.js';

const BOX_FACES = [4, 0, 3, 2, 1, 4, 4, 5, 6, 7, 4, 0, 1, 5, 4, 4, 1, 2, 6, 5, 4, 2, 3, 7, 6, 4, 3, 0, 4, 7];

export interface ModelOptions {
  levels?: number;
  groups?: number;
  meshes?: number;
  props?: number;
  terrainSide?: number;
  tag?: string;
}

export function buildModel(o: ModelOptions = {}): Collection {
  const { levels = 4, groups = 2, meshes = 100, props = 50, terrainSide = 200, tag = 'interop' } = o;
  const levelCols: Base[] = [];
  let n = 0;
  let p = 0;
  for (let lv = 0; lv < levels; lv++) {
    const groupCols: Base[] = [];
    for (let g = 0; g < groups; g++) {
      const elements: Base[] = [];
      for (let k = 0; k < meshes; k++) {
        const x0 = n * 2.5 + 0.25;
        const y0 = lv * 10.5;
        const z0 = (n % 8) * 0.125;
        const s = 1.0 + (n % 3) * 0.5;
        const vertices = Float64Array.from([
          x0, y0, z0, x0 + s, y0, z0, x0 + s, y0 + s, z0, x0, y0 + s, z0,
          x0, y0, z0 + s, x0 + s, y0, z0 + s, x0 + s, y0 + s, z0 + s, x0, y0 + s, z0 + s,
        ]);
        const colors = Array.from({ length: 8 }, (_, c) => 255 * 2 ** 24 + ((n * 8 + c) & 0xffffff));
        elements.push(new Mesh({ vertices, faces: [...BOX_FACES], colors, units: 'm', applicationId: `${tag}-mesh-${n}` }));
        n++;
      }
      for (let k = 0; k < props; k++) {
        const b = new Base({ applicationId: `${tag}-prop-${p}` });
        b.set('name', `element ${p} é/ü`);
        b.set('level', lv);
        b.set('area', p * 0.5 + 0.25);
        b.set('tags', [`t${p % 5}`, `l${lv}`]);
        b.set('isExternal', p % 3 === 0);
        b.set('nested', { material: `mat-${p % 7}`, rating: p % 4 });
        elements.push(b);
        p++;
      }
      groupCols.push(new Collection({ name: `group ${lv}.${g}`, elements }));
    }
    levelCols.push(new Collection({ name: `level ${lv}`, elements: groupCols }));
  }

  const side = terrainSide;
  const tv = new Float64Array(side * side * 3);
  for (let j = 0; j < side; j++) {
    for (let i = 0; i < side; i++) {
      const at = (j * side + i) * 3;
      tv[at] = i * 0.5;
      tv[at + 1] = j * 0.5;
      tv[at + 2] = ((i * 7 + j * 3) % 11) * 0.125;
    }
  }
  const tf: number[] = [];
  for (let j = 0; j < side - 1; j++) {
    for (let i = 0; i < side - 1; i++) {
      const a = j * side + i;
      tf.push(3, a, a + 1, a + side + 1, 3, a, a + side + 1, a + side);
    }
  }
  const terrain = new Mesh({ vertices: tv, faces: tf, units: 'm', applicationId: `${tag}-terrain` });
  levelCols.push(new Collection({ name: 'terrain', elements: [terrain] }));
  return new Collection({ name: `${tag} root`, elements: levelCols, applicationId: `${tag}-root` });
}

const h = (lines: string[]) =>
  crypto.createHash('sha256').update([...lines].sort(byCodePoint).join('\n'), 'utf8').digest('hex');

/** Python's sorted() order for str (code points), not UTF-16 units. */
function byCodePoint(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0)! - y[i].codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

const num = (v: unknown): number => Number(v as number);
const sum = (a: ArrayLike<unknown>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += num(a[i]);
  return s;
};
const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;

/** See interop_summary() in conformance/helpers_speckle_interop.py. */
export function summary(root: Base) {
  const counts: Record<string, number> = {};
  const ids: string[] = [];
  const appIds: string[] = [];
  const names: string[] = [];
  const nested: string[] = [];
  const mesh = { vertices: 0, vertex_sum: 0, faces: 0, face_sum: 0, colors: 0, color_sum: 0 };
  const props = { area_sum: 0, level_sum: 0, external: 0, tags: 0 };
  const seen = new Set<Base>();

  const walk = (v: unknown): void => {
    if (v instanceof Base) {
      if (seen.has(v)) return;
      seen.add(v);
      const t = v.speckle_type;
      counts[t] = (counts[t] ?? 0) + 1;
      if (v.id) ids.push(v.id);
      if (v.applicationId) appIds.push(v.applicationId);
      const members = v.getMemberNames();
      const get = (name: string) => (v as Record<string, unknown>)[name];
      if (members.includes('name') && typeof get('name') === 'string') names.push(get('name') as string);
      if (t === 'Objects.Geometry.Mesh') {
        const m = v as Mesh;
        mesh.vertices += m.vertices.length;
        mesh.vertex_sum += sum(m.vertices as ArrayLike<unknown>);
        mesh.faces += m.faces.length;
        mesh.face_sum += sum(m.faces as ArrayLike<unknown>);
        mesh.colors += m.colors.length;
        mesh.color_sum += sum(m.colors as ArrayLike<unknown>);
        return;
      }
      if (t === 'Base') {
        if (members.includes('area')) props.area_sum += num(get('area'));
        if (members.includes('level')) props.level_sum += num(get('level'));
        if (members.includes('isExternal') && get('isExternal') === true) props.external++;
        if (members.includes('tags')) props.tags += (get('tags') as unknown[]).length;
        const nd = get('nested') as Record<string, unknown> | undefined;
        if (members.includes('nested') && nd && typeof nd === 'object' && !Array.isArray(nd)) {
          nested.push(`${nd.material}:${nd.rating}`);
        }
      }
      for (const name of [...members].sort(byCodePoint)) walk(get(name));
    } else if (Array.isArray(v)) {
      for (const x of v) if (x instanceof Base || Array.isArray(x)) walk(x);
    }
  };
  walk(root);
  mesh.vertex_sum = round(mesh.vertex_sum, 3);
  props.area_sum = round(props.area_sum, 3);
  const sortedCounts = Object.fromEntries(Object.entries(counts).sort(([a], [b]) => byCodePoint(a, b)));
  return {
    counts: sortedCounts,
    ids: h(ids),
    app_ids: h(appIds),
    names: h(names),
    nested: h(nested),
    mesh,
    props,
  };
}
