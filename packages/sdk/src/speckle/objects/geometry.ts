/**
 * The specklepy 3.x classes most often sent, with the members, detachable/chunkable declarations and
 * defaults specklepy gives them, so that the same data hashes to the same ids:
 *
 * | class | speckle_type | serialised members (sorted) |
 * | --- | --- | --- |
 * | Point, Vector | `Objects.Geometry.Point` / `.Vector` | applicationId units x y z (floats) |
 * | Interval | `Objects.Primitive.Interval` | applicationId end start (floats, default 0.0) |
 * | Line | `Objects.Geometry.Line` | applicationId domain end length (computed) start units |
 * | Polyline | `Objects.Geometry.Polyline` | applicationId domain length (0.0) units value |
 * | Mesh | `Objects.Geometry.Mesh` | applicationId area colors faces textureCoordinates units vertexNormals vertices volume |
 * | Collection | `Speckle.Core.Models.Collections.Collection` | applicationId elements name |
 * | DataObject | `Objects.Data.DataObject` | applicationId displayValue name properties |
 *
 * Mesh detaches and chunks vertices (31250), faces (62500), colors (62500), textureCoordinates (31250)
 * and vertexNormals (31250); Collection detaches `elements`, DataObject `displayValue`. `domain` of
 * Line/Polyline defaults to the unit interval [0.0, 1.0], as specklepy's ICurve does.
 *
 * Floats: x/y/z, start/end and Line's length are `float` in specklepy, so numbers there are written as
 * floats. Lists are written as given — pass a `Float64Array` (or `float(…)` items) for float lists such
 * as vertices, since specklepy writes `0.0` for a Python float and `0` for an int.
 */
import { Base, registerType } from './base.js';
import { float, type SpeckleFloat } from './ujson.js';

type Num = number | SpeckleFloat;
/** a list of numbers: an array, or a typed array (Float64Array elements are written as floats) */
export type NumberList = Num[] | Float64Array | Float32Array | Int32Array | Uint32Array;

function n(value: Num): number {
  return typeof value === 'number' ? value : value.value;
}

export class Point extends Base {
  static override speckleType = 'Objects.Geometry.Point';
  static override floatMembers: ReadonlySet<string> = new Set(['x', 'y', 'z']);
  declare x: number;
  declare y: number;
  declare z: number;
  declare units: string;

  constructor(p: { x: number; y: number; z: number; units: string; applicationId?: string | null }) {
    super();
    this.units = p?.units;
    this.x = p?.x;
    this.y = p?.y;
    this.z = p?.z;
    if (p?.applicationId !== undefined) this.applicationId = p.applicationId;
  }

  /** specklepy `distance_to`: (dx² + dy² + dz²) ** 0.5 */
  distanceTo(other: Point): number {
    const dx = other.x - this.x;
    const dy = other.y - this.y;
    const dz = other.z - this.z;
    return (dx * dx + dy * dy + dz * dz) ** 0.5;
  }
}

export class Vector extends Base {
  static override speckleType = 'Objects.Geometry.Vector';
  static override floatMembers: ReadonlySet<string> = new Set(['x', 'y', 'z']);
  static override serializeIgnore: ReadonlySet<string> = new Set(['length']);
  declare x: number;
  declare y: number;
  declare z: number;
  declare units: string;

  constructor(p: { x: number; y: number; z: number; units: string; applicationId?: string | null }) {
    super();
    this.units = p?.units;
    this.x = p?.x;
    this.y = p?.y;
    this.z = p?.z;
    if (p?.applicationId !== undefined) this.applicationId = p.applicationId;
  }

  get length(): number {
    return (this.x ** 2 + this.y ** 2 + this.z ** 2) ** 0.5;
  }
}

export class Interval extends Base {
  static override speckleType = 'Objects.Primitive.Interval';
  static override floatMembers: ReadonlySet<string> = new Set(['start', 'end']);
  static override serializeIgnore: ReadonlySet<string> = new Set(['length']);
  declare start: number;
  declare end: number;

  constructor(p: { start?: number; end?: number; applicationId?: string | null } = {}) {
    super();
    this.start = p?.start ?? 0;
    this.end = p?.end ?? 0;
    if (p?.applicationId !== undefined) this.applicationId = p.applicationId;
  }

  static unitInterval(): Interval {
    return new Interval({ start: 0, end: 1 });
  }

  get length(): number {
    return Math.abs(this.end - this.start);
  }
}

export class Line extends Base {
  static override speckleType = 'Objects.Geometry.Line';
  static override computedMembers: readonly string[] = ['length'];
  static override floatMembers: ReadonlySet<string> = new Set(['length']);
  declare start: Point;
  declare end: Point;
  declare units: string;
  declare domain: Interval;

  constructor(p: { start: Point; end: Point; units: string; domain?: Interval; applicationId?: string | null }) {
    super();
    this.units = p?.units;
    this.start = p?.start;
    this.end = p?.end;
    this.domain = p?.domain ?? Interval.unitInterval();
    if (p?.applicationId !== undefined) this.applicationId = p.applicationId;
  }

  /** the distance between start and end (specklepy computes and serialises it) */
  get length(): number {
    return this.start.distanceTo(this.end);
  }
}

export class Polyline extends Base {
  static override speckleType = 'Objects.Geometry.Polyline';
  declare value: NumberList;
  declare units: string;
  declare domain: Interval;
  /** stored as given; specklepy's default is 0.0 */
  declare length: Num;

  constructor(p: { value: NumberList; units: string; domain?: Interval; length?: Num; applicationId?: string | null }) {
    super();
    this.units = p?.units;
    this.value = p?.value;
    this.domain = p?.domain ?? Interval.unitInterval();
    this.length = p?.length ?? float(0);
    if (p?.applicationId !== undefined) this.applicationId = p.applicationId;
  }
}

export class Mesh extends Base {
  static override speckleType = 'Objects.Geometry.Mesh';
  static override detachable: ReadonlySet<string> = new Set(['vertices', 'faces', 'colors', 'textureCoordinates', 'vertexNormals']);
  static override chunkable: Readonly<Record<string, number>> = {
    vertices: 31250,
    faces: 62500,
    colors: 62500,
    textureCoordinates: 31250,
    vertexNormals: 31250,
  };
  static override serializeIgnore: ReadonlySet<string> = new Set(['vertices_count', 'texture_coordinates_count']);
  declare vertices: NumberList;
  declare faces: NumberList;
  declare colors: NumberList;
  declare textureCoordinates: NumberList;
  declare vertexNormals: NumberList;
  declare units: string;
  /** stored as given; specklepy's default is 0.0 */
  declare area: Num;
  /** stored as given; specklepy's default is 0.0 */
  declare volume: Num;

  constructor(p: {
    vertices: NumberList;
    faces: NumberList;
    units: string;
    colors?: NumberList;
    textureCoordinates?: NumberList;
    vertexNormals?: NumberList;
    area?: Num;
    volume?: Num;
    applicationId?: string | null;
  }) {
    super();
    this.units = p?.units;
    this.vertices = p?.vertices;
    this.faces = p?.faces;
    this.colors = p?.colors ?? [];
    this.textureCoordinates = p?.textureCoordinates ?? [];
    this.vertexNormals = p?.vertexNormals ?? [];
    this.area = p?.area ?? float(0);
    this.volume = p?.volume ?? float(0);
    if (p?.applicationId !== undefined) this.applicationId = p.applicationId;
  }

  /** number of vertices (vertices.length / 3); not serialised */
  get verticesCount(): number {
    if (this.vertices.length % 3 !== 0) {
      throw new RangeError(`Invalid vertices list: length ${this.vertices.length} must be a multiple of 3`);
    }
    return this.vertices.length / 3;
  }

  /** vertex `index` as a Point in the mesh's units */
  getPoint(index: number): Point {
    if (index < 0 || index >= this.verticesCount) throw new RangeError(`Vertex index ${index} out of range`);
    const v = this.vertices as ArrayLike<Num>;
    return new Point({ x: n(v[index * 3]), y: n(v[index * 3 + 1]), z: n(v[index * 3 + 2]), units: this.units });
  }
}

export class Collection extends Base {
  static override speckleType = 'Speckle.Core.Models.Collections.Collection';
  static override detachable: ReadonlySet<string> = new Set(['elements']);
  declare name: string;
  declare elements: Base[];

  constructor(p: { name: string; elements?: Base[]; applicationId?: string | null }) {
    super();
    this.name = p?.name;
    this.elements = p?.elements ?? [];
    if (p?.applicationId !== undefined) this.applicationId = p.applicationId;
  }
}

export class DataObject extends Base {
  static override speckleType = 'Objects.Data.DataObject';
  static override detachable: ReadonlySet<string> = new Set(['displayValue']);
  declare name: string;
  declare properties: Record<string, unknown>;
  declare displayValue: Base[];

  constructor(p: { name: string; properties: Record<string, unknown>; displayValue: Base[]; applicationId?: string | null }) {
    super();
    this.name = p?.name;
    this.properties = p?.properties;
    this.displayValue = p?.displayValue;
    if (p?.applicationId !== undefined) this.applicationId = p.applicationId;
  }
}

for (const cls of [Point, Vector, Interval, Line, Polyline, Mesh, Collection, DataObject]) registerType(cls);
