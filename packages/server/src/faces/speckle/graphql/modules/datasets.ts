/**
 * Version analytics datasets on GraphQL (speckle.md §10.2, Atrium's choice of types): the fields the
 * "SpecklePy Model Data Analytics" workflow selects to decide whether `/download` will succeed.
 * A version whose datasets were never built (created before this feature, or queued work lost in a
 * crash) is queued for a build the first time these fields are asked for.
 */
import type { DatasetKind, DatasetRecord } from '../../../../services/datasets.js';
import type { Version } from '../../../../services/projects.js';
import type { SpeckleContext } from '../context.js';
import type { SchemaModule } from '../executor.js';

const typeDefs = /* GraphQL */ `
extend type Version {
  "Storage key of the version's primary analytics dataset ({versionId}.duckdb). Null until it is built; non-null means /download succeeds."
  objectKey: String
  "Size in bytes of the primary analytics dataset; null until it is built."
  packfileSize: BigInt
}
`;

type Records = Partial<Record<DatasetKind, DatasetRecord>>;

/** One lookup per version and request, shared by both fields. */
const perRequest = new WeakMap<SpeckleContext, Map<string, Promise<Records>>>();

function recordsOf(ctx: SpeckleContext, v: Version): Promise<Records> {
  let cache = perRequest.get(ctx);
  if (!cache) perRequest.set(ctx, (cache = new Map()));
  let p = cache.get(v.id);
  if (!p) {
    p = ctx.services.datasets.records(v.id).then(async (recs) => {
      // queue the build of a version that has none; a failure to queue must not fail the query
      await ctx.services.datasets.ensureQueued(v, recs).catch(() => undefined);
      return recs;
    });
    cache.set(v.id, p);
  }
  return p;
}

const ready = (r: DatasetRecord | undefined) => (r && r.status === 'ready' && r.blobKey ? r : null);

export const datasetsModule: SchemaModule = {
  typeDefs,
  resolvers: {
    Version: {
      objectKey: async (v: Version, _a: unknown, ctx: SpeckleContext) => ready((await recordsOf(ctx, v)).main)?.blobKey ?? null,
      packfileSize: async (v: Version, _a: unknown, ctx: SpeckleContext) => ready((await recordsOf(ctx, v)).main)?.size ?? null,
    },
  },
};
