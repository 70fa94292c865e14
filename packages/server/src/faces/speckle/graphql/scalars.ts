/** Scalars of Speckle's schema: DateTime (ISO-8601), BigInt, JSONObject. */
import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';

export const DateTime = new GraphQLScalarType({
  name: 'DateTime',
  serialize(v) {
    if (v instanceof Date) return v.toISOString();
    if (typeof v === 'number') return new Date(v).toISOString();
    if (typeof v === 'string') return new Date(v).toISOString();
    throw new GraphQLError('DateTime cannot represent this value');
  },
  parseValue(v) {
    const d = new Date(v as string);
    if (typeof v !== 'string' || Number.isNaN(d.getTime())) throw new GraphQLError('DateTime must be an ISO-8601 string');
    return d;
  },
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('DateTime must be an ISO-8601 string');
    const d = new Date(ast.value);
    if (Number.isNaN(d.getTime())) throw new GraphQLError('DateTime must be an ISO-8601 string');
    return d;
  },
});

function toBigInt(v: unknown): number {
  const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new GraphQLError(`BigInt cannot represent non-integer value: ${String(v)}`);
  return n;
}

export const BigIntScalar = new GraphQLScalarType({
  name: 'BigInt',
  serialize: toBigInt,
  parseValue: toBigInt,
  parseLiteral(ast) {
    if (ast.kind === Kind.INT || ast.kind === Kind.STRING) return toBigInt(ast.value);
    throw new GraphQLError('BigInt must be an integer');
  },
});

function literalToJs(ast: ValueNode, variables?: Record<string, unknown> | null): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map((v) => literalToJs(v, variables));
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literalToJs(f.value, variables)]));
    case Kind.VARIABLE:
      return variables?.[ast.name.value];
    default:
      throw new GraphQLError('Invalid JSON literal');
  }
}

const isPlainObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);

export const JSONObject = new GraphQLScalarType({
  name: 'JSONObject',
  serialize(v) {
    if (typeof v === 'string') return JSON.parse(v);
    if (!isPlainObject(v)) throw new GraphQLError('JSONObject cannot represent a non-object value');
    return v;
  },
  parseValue(v) {
    if (!isPlainObject(v)) throw new GraphQLError('JSONObject cannot represent a non-object value');
    return v;
  },
  parseLiteral(ast, variables) {
    if (ast.kind !== Kind.OBJECT) throw new GraphQLError('JSONObject cannot represent a non-object value');
    return literalToJs(ast, variables);
  },
});

export const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  serialize: (v) => v,
  parseValue: (v) => v,
  parseLiteral: (ast, variables) => literalToJs(ast, variables),
});
