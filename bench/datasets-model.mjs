/**
 * A synthetic version shaped like a Revit export from Speckle's v3 connectors, for the dataset
 * benchmarks and tests: a root Collection → one Collection per level → one per category → elements
 * (`Objects.Data.DataObject:Objects.Data.RevitObject` with name/category/family/type/level, nested
 * `properties.Parameters…` parameters `{name, value, units, internalDefinitionName}`, Material
 * Quantities, location) each displayed by a detached Mesh; the root carries `levelProxies` and
 * `renderMaterialProxies` listing member applicationIds, as the connectors write them.
 *
 * Objects get 32-hex ids (md5 of their JSON) and the root a `__closure` of every descendant, so the
 * result can be inserted straight into Atrium's objects table (or sent with the REST object routes).
 *
 * `revitLikeVersion({ elements })` returns { root, children, expected } where `expected` holds what
 * the datasets must show: objectCount (closure + root), categoryCounts, levelCounts.
 */
import { createHash } from 'node:crypto';

const md5 = (s) => createHash('md5').update(s).digest('hex');

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const uuid = (r) => {
  const h = () => Math.floor(r() * 0x10000).toString(16).padStart(4, '0');
  return `${h()}${h()}-${h()}-${h()}-${h()}-${h()}${h()}${h()}`;
};

/** Gives an object its id (md5 of its JSON without id) and returns a reference stub to it. */
function detach(obj, out) {
  const json = JSON.stringify(obj);
  const id = md5(json);
  const stored = { id, ...obj };
  out.push(stored);
  return { stored, ref: { referencedId: id, speckle_type: 'reference', __closure: null } };
}

export const DEFAULT_LEVELS = ['Level 1', 'Level 2', 'Level 3', 'Roof'];
export const DEFAULT_CATEGORIES = ['Walls', 'Floors', 'Doors', 'Windows', 'Structural Columns', 'Furniture'];
const MATERIALS = ['Concrete', 'Glass', 'Steel', 'Wood'];

/**
 * @param {{ elements?: number, levels?: string[], categories?: string[], seed?: number, meshVertices?: number,
 *           extraParameters?: number, meshes?: boolean }} [opts]
 */
export function revitLikeVersion(opts = {}) {
  const elements = opts.elements ?? 100;
  const levels = opts.levels ?? DEFAULT_LEVELS;
  const categories = opts.categories ?? DEFAULT_CATEGORIES;
  const r = rng(opts.seed ?? 42);
  const meshVertices = opts.meshVertices ?? 8;
  const extraParameters = opts.extraParameters ?? 6;
  const withMeshes = opts.meshes ?? true;
  const children = [];
  const closure = new Map();
  const categoryCounts = {};
  const levelCounts = {};
  const levelMembers = Object.fromEntries(levels.map((l) => [l, []]));
  const materialMembers = Object.fromEntries(MATERIALS.map((m) => [m, []]));
  /** level → category → element refs */
  const tree = Object.fromEntries(levels.map((l) => [l, Object.fromEntries(categories.map((c) => [c, []]))]));

  for (let i = 0; i < elements; i++) {
    const level = levels[Math.floor(r() * levels.length)];
    const category = categories[Math.floor(r() * categories.length)];
    const material = MATERIALS[Math.floor(r() * MATERIALS.length)];
    const applicationId = uuid(r);
    const displayValue = [];
    if (withMeshes) {
      const vertices = Array.from({ length: meshVertices * 3 }, () => Math.round(r() * 100000) / 100);
      const faces = [];
      for (let v = 0; v + 2 < meshVertices; v++) faces.push(3, 0, v + 1, v + 2);
      const mesh = detach({ speckle_type: 'Objects.Geometry.Mesh', units: 'mm', vertices, faces, colors: [], textureCoordinates: [], applicationId: `${applicationId}-mesh`, area: 0, volume: 0 }, children);
      closure.set(mesh.stored.id, 2);
      displayValue.push(mesh.ref);
    }
    const extra = {};
    for (let p = 0; p < extraParameters; p++) {
      extra[`Parameter ${p}`] = { name: `Parameter ${p}`, value: p % 3 === 0 ? `text ${i}-${p}` : p % 3 === 1 ? Math.round(r() * 10000) / 100 : r() < 0.5, units: p % 3 === 1 ? 'mm' : null, internalDefinitionName: `PARAM_${p}` };
    }
    const element = {
      speckle_type: 'Objects.Data.DataObject:Objects.Data.RevitObject',
      applicationId,
      name: `${category} ${i}`,
      type: `${category} type ${i % 7}`,
      family: `${category} family`,
      category,
      level,
      units: 'mm',
      location: { x: Math.round(r() * 1e5) / 10, y: Math.round(r() * 1e5) / 10, z: 0, units: 'mm', speckle_type: 'Objects.Geometry.Point' },
      properties: {
        'Element ID': String(100000 + i),
        Parameters: {
          'Instance Parameters': {
            Dimensions: {
              Length: { name: 'Length', value: Math.round(r() * 1e6) / 100, units: 'mm', internalDefinitionName: 'CURVE_ELEM_LENGTH' },
              Area: { name: 'Area', value: Math.round(r() * 1e4) / 100, units: 'm²', internalDefinitionName: 'HOST_AREA_COMPUTED' },
            },
            Constraints: { 'Base Constraint': { name: 'Base Constraint', value: level, units: null, internalDefinitionName: 'WALL_BASE_CONSTRAINT' } },
            Other: extra,
          },
          'Type Parameters': {
            Construction: { Function: { name: 'Function', value: r() < 0.5 ? 'Exterior' : 'Interior', units: null, internalDefinitionName: 'FUNCTION_PARAM' } },
            Structure: { Layer1: { name: 'Layer 1', value: material, units: null } },
          },
        },
        'Material Quantities': { [material]: { materialName: material, materialCategory: material, area: { name: 'area', value: Math.round(r() * 1e4) / 100, units: 'm²' }, volume: { name: 'volume', value: Math.round(r() * 1e3) / 100, units: 'm³' } } },
        Document: { name: 'Project.rvt', value: 'excluded' },
      },
      displayValue,
    };
    const { stored, ref } = detach(element, children);
    closure.set(stored.id, 1);
    tree[level][category].push(ref);
    categoryCounts[category] = (categoryCounts[category] ?? 0) + 1;
    levelCounts[level] = (levelCounts[level] ?? 0) + 1;
    levelMembers[level].push(applicationId);
    materialMembers[material].push(applicationId);
  }

  const levelRefs = [];
  for (const level of levels) {
    const categoryRefs = [];
    for (const category of categories) {
      if (tree[level][category].length === 0) continue;
      const c = detach({ speckle_type: 'Speckle.Core.Models.Collections.Collection', name: category, applicationId: null, elements: tree[level][category] }, children);
      closure.set(c.stored.id, 1);
      categoryRefs.push(c.ref);
    }
    const c = detach({ speckle_type: 'Speckle.Core.Models.Collections.Collection', name: level, applicationId: null, elements: categoryRefs }, children);
    closure.set(c.stored.id, 1);
    levelRefs.push(c.ref);
  }

  const rootBody = {
    speckle_type: 'Speckle.Core.Models.Collections.Collection',
    name: 'Synthetic Revit model',
    applicationId: null,
    elements: levelRefs,
    levelProxies: levels.map((level, i) => ({
      speckle_type: 'Objects.Other.LevelProxy',
      applicationId: `level-${i}`,
      objects: levelMembers[level],
      value: { speckle_type: 'Objects.Data.DataObject', name: level, properties: { elevation: i * 3000 }, displayValue: [], applicationId: `level-${i}` },
    })),
    renderMaterialProxies: MATERIALS.map((m, i) => ({
      speckle_type: 'Objects.Other.RenderMaterialProxy',
      applicationId: `material-${i}`,
      objects: materialMembers[m],
      value: { speckle_type: 'Objects.Other.RenderMaterial', name: m, diffuse: 0xff808080, opacity: 1, metalness: 0, roughness: 1, emissive: 0 },
    })),
    __closure: Object.fromEntries([...closure.entries()].sort()),
  };
  const root = { id: md5(JSON.stringify(rootBody)), ...rootBody };
  return {
    root,
    children,
    expected: {
      objectCount: children.length + 1,
      closureSize: closure.size,
      categoryCounts,
      levelCounts,
      elements,
    },
  };
}
