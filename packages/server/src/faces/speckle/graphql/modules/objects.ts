/** GraphQL `Object` (reference §8.7): `Project.object(id)`, `Object.children`, and the legacy `objectCreate`. */
import { AppError } from '../../../../domain/errors.js';
import type { Project } from '../../../../services/projects.js';
import type { StoredObject } from '../../../../services/objects.js';
import { checkScope, requireServerRole, type SpeckleContext } from '../context.js';
import type { SchemaModule } from '../executor.js';
import { pickPaths } from '../../rest/objects.js';

const typeDefs = /* GraphQL */ `
type Object {
  id: String!
  speckleType: String
  applicationId: String
  createdAt: DateTime
  totalChildrenCount: Int
  "The full object, with all its props & other things."
  data: JSONObject
  "Objects this object references (its closure), ordered by id. \`query\` and \`orderBy\` are not supported by this server."
  children(limit: Int! = 100, depth: Int! = 50, select: [String], cursor: String, query: [JSONObject!], orderBy: JSONObject): ObjectCollection!
}

type ObjectCollection {
  totalCount: Int!
  cursor: String
  objects: [Object]!
}

input ObjectCreateInput {
  "The stream against which these objects will be created."
  streamId: String!
  "The objects you want to create."
  objects: [JSONObject]!
}

extend type Project {
  object(id: String!): Object
}

extend type Mutation {
  objectCreate(objectInput: ObjectCreateInput!): [String!]!
    @deprecated(reason: "Part of the old API surface and will be removed in the future.")
}
`;

/** What Object resolvers receive: the stored row, its parsed data memoised, and an optional `select`. */
interface ObjectSource extends StoredObject {
  parsed?: Record<string, unknown>;
  select?: string[] | null;
}

/** Children pages are capped; `cursor` pages through the rest. */
const MAX_CHILDREN_PAGE = 10_000;

function parsedData(o: ObjectSource): Record<string, unknown> {
  if (!o.parsed) {
    const d = JSON.parse(o.data) as Record<string, unknown>;
    // as the REST routes do: the stored column is the truth for totalChildrenCount
    d.totalChildrenCount = o.totalChildrenCount;
    o.parsed = d;
  }
  return o.parsed;
}

export const objectsModule: SchemaModule = {
  typeDefs,
  resolvers: {
    Project: {
      object: async (p: Project, args: { id: string }, ctx: SpeckleContext): Promise<ObjectSource | null> =>
        ctx.services.objects.getObject(p.id, args.id),
    },
    Object: {
      applicationId: (o: ObjectSource) => {
        const v = parsedData(o).applicationId;
        return typeof v === 'string' ? v : v == null ? null : String(v);
      },
      data: (o: ObjectSource) => {
        const d = parsedData(o);
        return o.select?.length ? pickPaths(d, ['id', ...o.select.filter((s): s is string => typeof s === 'string')]) : d;
      },
      children: async (
        o: ObjectSource,
        args: { limit: number; depth: number; select?: Array<string | null> | null; cursor?: string | null; query?: unknown; orderBy?: unknown },
        ctx: SpeckleContext,
      ) => {
        if ((args.query !== undefined && args.query !== null) || (args.orderBy !== undefined && args.orderBy !== null))
          throw new AppError('BAD_REQUEST_ERROR', 'Object children queries with `query` or `orderBy` are not supported by this server.');
        const limit = Math.min(Math.max(0, args.limit), MAX_CHILDREN_PAGE);
        const page = await ctx.services.objects.childrenPage(o.projectId, parsedData(o), { limit, depth: args.depth, cursor: args.cursor });
        const select = args.select?.filter((s): s is string => typeof s === 'string') ?? null;
        return {
          totalCount: o.totalChildrenCount || 0,
          cursor: page.cursor,
          objects: page.objects.map((c): ObjectSource => ({ ...c, select })),
        };
      },
    },
    Mutation: {
      objectCreate: async (_p, args: { objectInput: { streamId: string; objects: Array<Record<string, unknown> | null> } }, ctx: SpeckleContext) => {
        requireServerRole(ctx, 'guest');
        checkScope(ctx, 'streams:write');
        const { streamId, objects } = args.objectInput;
        await ctx.services.projects.authorize(ctx.auth, streamId, 'write');
        return ctx.services.objects.insertBatch(
          streamId,
          objects.filter((o) => o !== null && o !== undefined),
          { countChildren: true },
        );
      },
    },
  },
};

/**
 * `Stream.object(id)` of the legacy API. Separate from `objectsModule` because `Stream` is defined by
 * the legacy module: list this one after it.
 */
export const objectsStreamModule: SchemaModule = {
  typeDefs: /* GraphQL */ `
extend type Stream {
  object(id: String!): Object @deprecated(reason: "Part of the old API surface and will be removed in the future.")
}
`,
  resolvers: {
    Stream: {
      object: async (p: Project, args: { id: string }, ctx: SpeckleContext): Promise<ObjectSource | null> =>
        ctx.services.objects.getObject(p.id, args.id),
    },
  },
};
