/**
 * AYON GraphQL extension: the activity feed (`project { activities(…) }`, and `activities` on folder,
 * task, product, version, representation and workfile nodes), as ayon_api's activities query reads
 * it: `activityData` / `referenceData` are JSON strings, `author` a UserNode, origin / parents /
 * reactions / files read from the activity data. Rows and paging come from services.ayon.activities.feed.
 */
import type { GraphQLExtension } from './extensions.js';
import type { AyonGqlContext } from './schema.js';
import type { FeedArgs, FeedRow } from '../../../services/ayon/activities.js';
import type { Project } from '../../../services/ayon/projects.js';
import type { AyonUser } from '../../../services/ayon/users.js';
import { isPlainObject, type EntityType } from '../../../services/ayon/rules.js';
import { Loader } from './loader.js';
import { cached, gqlError, rethrow } from './common.js';

const ARGS = `first: Int, after: String, last: Int, before: String, entityType: String, entityIds: [String!], entityNames: [String!], activityTypes: [String!], referenceTypes: [String!], activityIds: [String!], tags: [String!], categories: [String], changedBefore: String, changedAfter: String, authors: [String!], filter: String`;

const sdl = `
type ActivityOriginNode {
  id: String!
  type: String!
  subtype: String
  name: String!
  label: String
  link: String!
}
type ActivityFileNode {
  id: String!
  size: String!
  author: String
  name: String
  mime: String
  createdAt: DateTime
  updatedAt: DateTime
}
type ActivityReactionNode {
  userName: String!
  fullName: String
  reaction: String!
  timestamp: DateTime!
}
type ActivityCategory {
  name: String!
  color: String!
}
type ActivityNode {
  projectName: String!
  referenceId: String!
  activityId: String!
  referenceType: String!
  activityType: String!
  entityType: String!
  entityId: String
  entityName: String
  entityPath: String
  createdAt: DateTime!
  updatedAt: DateTime!
  creationOrder: Int!
  body: String!
  tags: [String!]!
  category: ActivityCategory
  activityData: String!
  referenceData: String!
  active: Boolean!
  read: Boolean!
  origin: ActivityOriginNode
  parents: [ActivityOriginNode!]!
  reactions: [ActivityReactionNode!]!
  author: UserNode
  assignee: UserNode
  version: VersionNode
  files: [ActivityFileNode!]!
}
type ActivitiesConnection { edges: [ActivityEdge!]!
  pageInfo: PageInfo!
  totalCount: Int }
type ActivityEdge { node: ActivityNode!
  cursor: String }
extend type ProjectNode { activities(${ARGS}): ActivitiesConnection! }
extend type FolderNode { activities(${ARGS}): ActivitiesConnection! }
extend type TaskNode { activities(${ARGS}): ActivitiesConnection! }
extend type ProductNode { activities(${ARGS}): ActivitiesConnection! }
extend type VersionNode { activities(${ARGS}): ActivitiesConnection! }
extend type RepresentationNode { activities(${ARGS}): ActivitiesConnection! }
extend type WorkfileNode { activities(${ARGS}): ActivitiesConnection! }
`;

interface ANode {
  row: FeedRow;
  colors: Map<string, string | null>;
}



function userLoader(ctx: AyonGqlContext) {
  return cached(
    ctx,
    'activities:users',
    () =>
      new Loader<string, AyonUser | null>(
        async (names) => {
          const all = await ctx.ayon.users.listAll();
          const byName = new Map(all.map((u) => [u.name, u]));
          return names.map((n) => byName.get(n) ?? null);
        },
        String,
        null,
      ),
  );
}

function projectFor(ctx: AyonGqlContext, name: string): Promise<Project> {
  return cached(ctx, `activities:project:${name.toLowerCase()}`, () => ctx.ayon.projects.resolve(ctx.actor, name).catch(rethrow));
}

async function resolveFeed(ctx: AyonGqlContext, project: Project, args: Record<string, any>, root?: { entityType: EntityType; entityId: string }) {
  if (typeof args.filter === 'string' && args.filter.trim()) throw gqlError('The filter argument is not supported on activities', 400);
  try {
    const page = await ctx.ayon.activities.feed(ctx.actor, project, args as FeedArgs, root);
    const colors = ctx.ayon.activities.categoryColors(project);
    return {
      edges: page.rows.map((row) => ({ node: { row, colors } satisfies ANode, cursor: page.cursorOf(row) })),
      pageInfo: page.pageInfo,
      totalCount: null,
    };
  } catch (err) {
    rethrow(err);
  }
}

function originNode(o: unknown) {
  if (!isPlainObject(o) || typeof o.id !== 'string' || typeof o.type !== 'string') return null;
  const name = typeof o.name === 'string' ? o.name : '';
  return { id: o.id, type: o.type, subtype: (o.subtype as string) ?? null, name, label: (o.label as string) ?? null, link: `[${name}](${o.type}:${o.id})` };
}

const entityField = (type: EntityType) => async (n: { __project: string; __row: { id: string } }, args: Record<string, any>, ctx: AyonGqlContext) =>
  resolveFeed(ctx, await projectFor(ctx, n.__project), args, { entityType: type, entityId: n.__row.id });

const resolvers: GraphQLExtension['resolvers'] = {
  ProjectNode: {
    activities: async (n: { __project: Project }, args: Record<string, any>, ctx: AyonGqlContext) => resolveFeed(ctx, n.__project, args),
  },
  FolderNode: { activities: entityField('folder') },
  TaskNode: { activities: entityField('task') },
  ProductNode: { activities: entityField('product') },
  VersionNode: { activities: entityField('version') },
  RepresentationNode: { activities: entityField('representation') },
  WorkfileNode: { activities: entityField('workfile') },
  ActivityNode: {
    projectName: (n: ANode) => n.row.projectName,
    referenceId: (n: ANode) => n.row.referenceId,
    activityId: (n: ANode) => n.row.activityId,
    referenceType: (n: ANode) => n.row.referenceType,
    activityType: (n: ANode) => n.row.activityType,
    entityType: (n: ANode) => n.row.entityType,
    entityId: (n: ANode) => n.row.entityId,
    entityName: (n: ANode) => n.row.entityName,
    entityPath: () => null,
    createdAt: (n: ANode) => n.row.createdAt,
    updatedAt: (n: ANode) => n.row.updatedAt,
    creationOrder: (n: ANode) => n.row.refSeq,
    body: (n: ANode) => n.row.body,
    tags: (n: ANode) => n.row.tags,
    category: (n: ANode) => {
      const c = n.row.activityData.category;
      if (typeof c !== 'string') return null;
      return { name: c, color: n.colors.get(c) ?? '#999999' };
    },
    activityData: (n: ANode) => JSON.stringify(n.row.activityData),
    referenceData: (n: ANode) => JSON.stringify(n.row.referenceData),
    active: (n: ANode) => n.row.active,
    read: (n: ANode) => n.row.referenceData.read === true,
    origin: (n: ANode) => originNode(n.row.activityData.origin),
    parents: (n: ANode) => (Array.isArray(n.row.activityData.parents) ? (n.row.activityData.parents as unknown[]).map(originNode).filter((x) => x !== null) : []),
    reactions: (n: ANode) =>
      (Array.isArray(n.row.activityData.reactions) ? (n.row.activityData.reactions as Array<Record<string, unknown>>) : []).map((r) => ({
        userName: r.userName,
        fullName: r.fullName ?? null,
        reaction: r.reaction,
        timestamp: r.timestamp,
      })),
    author: async (n: ANode, _a: unknown, ctx: AyonGqlContext) => {
      const name = n.row.activityData.author;
      if (typeof name !== 'string') return null;
      const u = await userLoader(ctx).load(name);
      return u ? { __user: u } : null;
    },
    assignee: async (n: ANode, _a: unknown, ctx: AyonGqlContext) => {
      const name = n.row.activityData.assignee;
      if (typeof name !== 'string') return null;
      const u = await userLoader(ctx).load(name);
      return u ? { __user: u } : null;
    },
    version: async (n: ANode, _a: unknown, ctx: AyonGqlContext) => {
      if (n.row.activityType !== 'version.publish' && n.row.activityType !== 'reviewable') return null;
      const o = n.row.activityData.origin;
      const id = isPlainObject(o) && typeof o.id === 'string' ? o.id : null;
      if (!id) return null;
      const rows = await ctx.ayon.queries.byIds('version', n.row.projectName, [id]);
      const row = rows instanceof Map ? rows.get(id) : (rows as unknown[])[0];
      return row ? { __typename: 'VersionNode', __type: 'version', __project: n.row.projectName, __row: row } : null;
    },
    files: (n: ANode) =>
      (Array.isArray(n.row.activityData.files) ? (n.row.activityData.files as Array<Record<string, unknown>>) : []).map((f) => ({
        id: f.id,
        name: f.filename ?? null,
        size: String(f.size ?? '0'),
        author: f.author ?? null,
        mime: f.mime ?? null,
        createdAt: f.created_at ?? null,
        updatedAt: f.updated_at ?? null,
      })),
  },
};

export const activitiesExtension: GraphQLExtension = { sdl, resolvers };
