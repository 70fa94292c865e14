/**
 * The EAV flattening rules (services/datasets-eav.ts, speckle.md §10.5–§10.7) on hand-made objects:
 * dispatch on speckle_type, root scalars, the properties walk with parameters, exclusions and
 * depth cap, Material Quantities, location, displayValue, elements, typing of values, the caps and
 * clean-up of strings, and proxies with `proxy.level`.
 */
import { describe, expect, it } from 'vitest';
import {
  MAX_LABEL_CHARS,
  MAX_ROWS_PER_OBJECT,
  MAX_VALUE_TEXT_CHARS,
  PROPERTIES_MAX_DEPTH,
  RowSink,
  extractObjectRows,
  inferType,
  newEavStats,
  proxyRows,
  rootProxySlots,
  type EavRow,
} from '../src/services/datasets-eav.js';

const byPath = (rows: EavRow[]) => Object.fromEntries(rows.map((r) => [r.path, r]));

describe('EAV typing of values', () => {
  it.each([
    [true, 'boolean', null],
    [false, 'boolean', null],
    [1.5, 'number', 1.5],
    [0, 'number', 0],
    ['12.50', 'number', 12.5],
    [' -3e2 ', 'number', -300],
    ['.5', 'number', 0.5],
    ['TRUE', 'boolean', null],
    ['False', 'boolean', null],
    ['', 'string', null],
    ['   ', 'string', null],
    ['NaN', 'string', null],
    ['Infinity', 'string', null],
    ['-Infinity', 'string', null],
    ['0x10', 'string', null],
    ['1,5', 'string', null],
    ['1e999', 'string', null],
    ['2-3-4', 'string', null],
    ['0a1b-2c-3d', 'string', null],
    ['Walls', 'string', null],
  ] as const)('%j → %s', (value, type, num) => {
    expect(inferType(value)).toEqual({ type, num });
  });

  it('writes numbers as JavaScript does and keeps strings as written', () => {
    const sink = new RowSink();
    sink.add('a', 1.0);
    sink.add('b', -0.0000998);
    sink.add('c', '1.0');
    sink.add('d', true);
    sink.add('e', 1e21);
    expect(sink.rows.map((r) => [r.valueText, r.valueNum, r.type])).toEqual([
      ['1', 1, 'number'],
      ['-0.0000998', -0.0000998, 'number'],
      ['1.0', 1, 'number'],
      ['true', null, 'boolean'],
      ['1e+21', 1e21, 'number'],
    ]);
  });
});

describe('EAV extraction of one object', () => {
  const revitObject = {
    id: 'e1',
    speckle_type: 'Objects.Data.DataObject:Objects.Data.RevitObject',
    applicationId: 'app-1',
    name: 'Basic Wall',
    category: 'Walls',
    level: 'Level 1',
    units: 'mm',
    family: { nested: 'not a scalar' },
    location: { x: 1, y: 2.5, z: 'not a number', units: 'm' },
    displayValue: [{ referencedId: 'mesh-1', speckle_type: 'reference' }, { id: 'mesh-2' }, 'junk', { neither: true }],
    elements: [{ referencedId: 'c1' }, { id: 'c2' }, 7],
    properties: {
      Parameters: {
        'Instance Parameters': {
          Dimensions: {
            Length: { name: 'Length', value: 4000, units: 'mm', internalDefinitionName: 'CURVE_ELEM_LENGTH' },
            Broken: { name: 'Broken', value: { nested: 1 } },
          },
          Comments: null,
          List: [1, 2, 3],
          Flag: false,
        },
        'Type Parameters': { Structure: { Layer: { name: 'Layer', value: 'Concrete' } }, Width: { name: 'Width', value: '200', units: 'mm' } },
      },
      'Material Quantities': {
        Concrete: { materialCategory: 'Concrete', area: { value: 12.5, units: 'm²' }, volume: { value: 2.5, units: 'm³' } },
        Paint: { materialCategory: '', area: { value: 3, units: 'm²' } },
        Junk: 5,
      },
      Document: { name: 'Project.rvt', value: 'skipped' },
      'Autodesk Material': { x: 1 },
      Plain: 'text',
    },
  };

  it('gives a Revit-like DataObject its root scalars, parameters, quantities, location and references', () => {
    const rows = byPath(extractObjectRows(revitObject));
    expect(rows.category).toMatchObject({ valueText: 'Walls', type: 'string' });
    expect(rows.speckle_type.valueText).toBe('Objects.Data.DataObject:Objects.Data.RevitObject');
    expect(rows.applicationId.valueText).toBe('app-1');
    expect(rows.family).toBeUndefined();
    expect(rows['properties.Parameters.Instance Parameters.Dimensions.Length']).toEqual({
      path: 'properties.Parameters.Instance Parameters.Dimensions.Length',
      valueText: '4000',
      valueNum: 4000,
      type: 'number',
      units: 'mm',
      internalDefinitionName: 'CURVE_ELEM_LENGTH',
    });
    expect(rows['properties.Parameters.Instance Parameters.Dimensions.Broken']).toBeUndefined();
    expect(rows['properties.Parameters.Instance Parameters.Comments']).toBeUndefined();
    expect(rows['properties.Parameters.Instance Parameters.List']).toBeUndefined();
    expect(rows['properties.Parameters.Instance Parameters.Flag']).toMatchObject({ valueText: 'false', type: 'boolean' });
    expect(rows['properties.Parameters.Type Parameters.Structure.Layer']).toBeUndefined();
    expect(rows['properties.Parameters.Type Parameters.Width']).toMatchObject({ valueText: '200', valueNum: 200, type: 'number', units: 'mm' });
    expect(rows['properties.Material Quantities.Concrete.Concrete.area']).toMatchObject({ valueNum: 12.5, units: 'm²' });
    expect(rows['properties.Material Quantities.Concrete.Concrete.volume']).toMatchObject({ valueNum: 2.5, units: 'm³' });
    expect(rows['properties.Material Quantities.Unknown.Paint.area']).toMatchObject({ valueNum: 3 });
    expect(Object.keys(rows).filter((p) => p.startsWith('properties.Document') || p.startsWith('properties.Autodesk'))).toEqual([]);
    expect(rows['properties.Plain'].valueText).toBe('text');
    expect(rows['location.x']).toMatchObject({ valueNum: 1, units: 'm' });
    expect(rows['location.y']).toMatchObject({ valueNum: 2.5, units: 'm' });
    expect(rows['location.z']).toBeUndefined();
    expect(rows['displayValue.0.referencedId'].valueText).toBe('mesh-1');
    expect(rows['displayValue.1.referencedId'].valueText).toBe('mesh-2');
    expect(rows['displayValue.3.referencedId']).toBeUndefined();
    expect(rows.elements).toMatchObject({ valueText: '["c1","c2"]', type: 'string' });
  });

  it('keeps the walk order: root scalars, then properties depth first in key order', () => {
    const paths = extractObjectRows({ speckle_type: 'Objects.Data.DataObject', name: 'n', properties: { b: { y: 1, x: 2 }, a: 3 } }).map((r) => r.path);
    expect(paths).toEqual(['name', 'speckle_type', 'properties.b.y', 'properties.b.x', 'properties.a']);
  });

  it('dispatches on speckle_type', () => {
    const body = { name: 'x', category: 'Walls', properties: { p: 1 }, elements: [{ id: 'a' }], location: { x: 1 } };
    const paths = (t?: string) => extractObjectRows({ ...body, ...(t === undefined ? {} : { speckle_type: t }) }).map((r) => r.path);
    expect(paths(undefined)).toEqual(['name', 'category', 'properties.p', 'location.x', 'elements']);
    expect(paths('Objects.Data.DataObject')).toContain('location.x');
    expect(paths('Speckle.Core.Models.Collections.Collection')).toEqual(['name', 'category', 'speckle_type', 'properties.p', 'elements']);
    expect(paths('Objects.GIS.Layer')).toContain('elements');
    expect(paths('Objects.Geometry.Mesh')).toEqual([]);
    expect(paths('Speckle.Core.Models.DataChunk')).toEqual([]);
    expect(paths('Base')).toEqual([]);
  });

  it('gives instance proxies their transform', () => {
    const transform = [1, 0, 0, 10, 0, 1, 0, 20.5, 0, 0, 1, -3, 0, 0, 0, 1];
    const rows = byPath(extractObjectRows({ speckle_type: 'Speckle.Core.Models.Instances.InstanceProxy', units: 'm', definitionId: 'def', transform, properties: { ignored: 1 } }));
    expect(rows['proxy.transform.tx']).toMatchObject({ valueNum: 10, units: 'm' });
    expect(rows['proxy.transform.ty']).toMatchObject({ valueNum: 20.5 });
    expect(rows['proxy.transform.tz']).toMatchObject({ valueNum: -3 });
    expect(rows['proxy.transform.matrix']).toMatchObject({ valueText: JSON.stringify(transform), type: 'string', units: 'm' });
    expect(rows.definitionId.valueText).toBe('def');
    expect(rows['properties.ignored']).toBeUndefined();
  });

  it('walks at most PROPERTIES_MAX_DEPTH levels and never recurses, however deep the object', () => {
    let deep: Record<string, unknown> = { leaf: 'bottom' };
    for (let i = 0; i < 200_000; i++) deep = { [`k`]: deep, [`v${i % 3}`]: i };
    const rows = extractObjectRows({ speckle_type: 'Objects.Data.DataObject', properties: deep }).filter((r) => r.path !== 'speckle_type');
    const depths = rows.map((r) => r.path.split('.').length - 2);
    expect(Math.max(...depths)).toBe(PROPERTIES_MAX_DEPTH - 1);
    expect(rows.every((r) => r.path.startsWith('properties.'))).toBe(true);
  });

  it('cuts long values and labels, makes strings well-formed, keeps NUL, and caps rows per object', () => {
    const stats = newEavStats();
    const long = 'x'.repeat(MAX_VALUE_TEXT_CHARS + 10);
    const key = 'k'.repeat(MAX_LABEL_CHARS + 10);
    const props: Record<string, unknown> = { long, [key]: 1, lone: 'a\ud800b', pair: 'a😀b', nul: 'a\u0000b' };
    for (let i = 0; i < MAX_ROWS_PER_OBJECT + 50; i++) props[`p${i}`] = i;
    const rows = byPath(extractObjectRows({ speckle_type: 'Objects.Data.DataObject', properties: props }, new RowSink(stats)));
    expect(rows['properties.long'].valueText).toHaveLength(MAX_VALUE_TEXT_CHARS);
    expect(rows['properties.long'].valueText.endsWith('…')).toBe(true);
    expect(Object.keys(rows).find((p) => p.startsWith('properties.kkk'))).toHaveLength(MAX_LABEL_CHARS);
    expect(rows['properties.lone'].valueText).toBe('a\ufffdb');
    expect(rows['properties.pair'].valueText).toBe('a😀b');
    expect(rows['properties.nul'].valueText).toBe('a\u0000b');
    expect(Object.keys(rows)).toHaveLength(MAX_ROWS_PER_OBJECT);
    expect(stats.truncated).toBe(2);
    expect(stats.droppedRows).toBeGreaterThan(0);
  });

  it('never cuts the elements list, whose JSON must stay whole', () => {
    const elements = Array.from({ length: 5000 }, (_, i) => ({ referencedId: `${i}`.padStart(32, 'a') }));
    const rows = byPath(extractObjectRows({ speckle_type: 'Speckle.Core.Models.Collections.Collection', elements }));
    expect(JSON.parse(rows.elements.valueText)).toHaveLength(5000);
  });
});

describe('EAV proxies', () => {
  it('gives one row per proxy × member, resolves applicationIds, and adds proxy.level rows', () => {
    const root = {
      levelProxies: [
        { applicationId: 'L1', objects: ['a', 'b', 'ghost'], value: { name: 'Level 1', elevation: 0 } },
        { applicationId: 'L2', objects: [], value: { name: 'Level 2' } },
        { speckle_type: 'reference', referencedId: 'proxyobj' },
      ],
      renderMaterialProxies: [{ applicationId: 'M1', objects: ['a'], value: { name: 'Concrete', diffuse: 123 } }],
      colorProxies: [{ id: 'c-id', name: 'red', value: -65536, objects: ['b'] }],
    };
    const slots = rootProxySlots(root);
    expect(slots.map((s) => ('ref' in s ? `ref:${s.ref}` : s.type))).toEqual(['renderMaterial', 'color', 'level', 'level', 'ref:proxyobj']);
    const entries = slots.flatMap((s) => ('proxy' in s ? [s] : []));
    const ids = new Map([
      ['a', ['id-a']],
      ['b', ['id-b1', 'id-b2']],
    ]);
    const { proxies, levelRows } = proxyRows(entries, ids);
    expect(proxies.map((p) => [p.proxyType, p.proxyId, p.name, p.memberApplicationId, p.objectId])).toEqual([
      ['renderMaterial', 'M1', 'Concrete', 'a', 'id-a'],
      ['color', 'c-id', 'red', 'b', 'id-b1'],
      ['color', 'c-id', 'red', 'b', 'id-b2'],
      ['level', 'L1', 'Level 1', 'a', 'id-a'],
      ['level', 'L1', 'Level 1', 'b', 'id-b1'],
      ['level', 'L1', 'Level 1', 'b', 'id-b2'],
      ['level', 'L1', 'Level 1', 'ghost', null],
      ['level', 'L2', 'Level 2', null, null],
    ]);
    expect(JSON.parse(proxies[0].data!)).toEqual({ applicationId: 'M1', value: { name: 'Concrete', diffuse: 123 } });
    expect(levelRows.map((l) => [l.objectId, l.row.path, l.row.valueText, l.row.type])).toEqual([
      ['id-a', 'proxy.level', 'Level 1', 'string'],
      ['id-b1', 'proxy.level', 'Level 1', 'string'],
      ['id-b2', 'proxy.level', 'Level 1', 'string'],
    ]);
  });

  it('types a level named like a number as a string', () => {
    const { levelRows } = proxyRows([{ type: 'level', proxy: { objects: ['a'], value: { name: '2' } } }], new Map([['a', ['id-a']]]));
    expect(levelRows[0].row).toMatchObject({ valueText: '2', valueNum: null, type: 'string' });
  });
});
