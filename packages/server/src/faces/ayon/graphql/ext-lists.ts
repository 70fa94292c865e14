/**
 * AYON GraphQL extension: entity lists (ayon.md §8.5, §8.9). `project(name){ entityList(id) entityLists(ids, first/after…)
 * { edges { node { … items(first/after…) { edges { id entityId entityType position … node { … } } pageInfo } } cursor } pageInfo } }`,
 * as ayon_api's `entity_lists_graphql_query` asks it: the outer connection is paged one list at a time
 * and each list's items are paged to exhaustion (edge-level item fields, no `node` needed).
 *
 * Lists page in creation order (cursor = seq), items in position order (cursor = position). Items
 * whose entity no longer exists are skipped, as AYON's join does. `data`, `attributes`, `access`,
 * `allAttrib` and the items' `attrib`/`allAttrib`/`data` are JSON strings on the wire.
 */
import type { GraphQLExtension } from './extensions.js';
import type { AyonGqlContext } from './schema.js';
import type { Project } from '../../../services/ayon/projects.js';
import { AyonError } from '../../../services/ayon/errors.js';
import { isoTime, parseJson, type EntityType } from '../../../services/ayon/rules.js';
import { effectiveAttrib, inheritedForChildOf, ownAttrib, type AttribContext, type Row } from '../../../services/ayon/entity-models.js';
import { listData, type ListItem, type ListRow } from '../../../services/ayon/entity-lists.js';
import { cached, gqlError, guarded } from './common.js';

const NODE_TYPENAME: Record<EntityType, string> = {
  folder: 'FolderNode',
  task: 'TaskNode',
  product: 'ProductNode',
  version: 'VersionNode',
  representation: 'RepresentationNode',
  workfile: 'WorkfileNode',
};

const PAGE = 'first: Int, after: String, last: Int, before: String';

const sdl = `
extend type ProjectNode {
  entityList(id: String!): EntityListNode!
  entityLists(ids: [String!], ${PAGE}): EntityListsConnection!
}

type EntityListsConnection { edges: [EntityListEdge!]!
  pageInfo: PageInfo! }
type EntityListEdge { node: EntityListNode!
  cursor: String }

type EntityListNode {
  projectName: String!
  id: String!
  entityType: String!
  entityListType: String!
  entityListFolderId: String
  label: String!
  access: String!
  allAttrib: String!
  tags: [String!]!
  activityCategories: [String!]!
  owner: String
  active: Boolean!
  createdAt: DateTime!
  updatedAt: DateTime!
  createdBy: String
  updatedBy: String
  count: Int!
  data: String!
  attributes: String!
  accessLevel: Int!
  items(${PAGE}, sortBy: String): EntityListItemsConnection!
}

type EntityListItemsConnection { edges: [EntityListItemEdge!]!
  pageInfo: PageInfo! }

type EntityListItemEdge {
  id: String!
  projectName: String!
  entityType: String!
  entityId: String!
  position: Int!
  label: String
  attrib: String!
  allAttrib: String!
  ownAttrib: [String!]!
  data: String!
  folderPath: String!
  tags: [String!]!
  createdBy: String
  updatedBy: String
  createdAt: DateTime
  updatedAt: DateTime
  cursor: String
  node: BaseNode
}
`;

interface ListNode {
  __project: string;
  __row: ListRow;
  __level: number;
  __guest: boolean;
}

interface ItemEdge {
  __project: string;
  __type: EntityType;
  __item: ListItem;
  __entity: Row | null;
  __listAttrs: Set<string>;
  cursor: string;
}




function attribCtx(ctx: AyonGqlContext, project: string, type: EntityType): Promise<AttribContext> {
  return cached(ctx, `lists:attrib:${project}:${type}`, async () => {
    const p = await ctx.ayon.projects.resolve(ctx.actor, project);
    return { projectAttrib: p.attrib, inheritable: await ctx.ayon.attributes.inheritable(), defs: await ctx.ayon.attributes.forScope(type) };
  });
}

/** Effective attributes of the listed entity (folders and tasks inherit), then the item's own values on top. */
async function itemAllAttrib(ctx: AyonGqlContext, e: ItemEdge): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const actx = await attribCtx(ctx, e.__project, e.__type);
  if (e.__entity) {
    const own = ownAttrib(e.__entity, actx.defs);
    let inherited: Record<string, unknown> | undefined;
    if (e.__type === 'folder') inherited = parseJson(e.__entity.inherited, {});
    else if (e.__type === 'task') {
      const folders = await ctx.ayon.queries.byIds('folder', e.__project, [e.__entity.folder_id]);
      inherited = inheritedForChildOf(folders.get(e.__entity.folder_id) ?? null, actx.inheritable);
    }
    Object.assign(out, effectiveAttrib(own, inherited, actx));
  }
  for (const [k, v] of Object.entries(e.__item.attrib)) {
    if (v === null || v === undefined) continue;
    if (e.__listAttrs.has(k) || actx.defs.has(k)) out[k] = v;
  }
  return out;
}

function pageArgs(a: Record<string, any>) {
  return { first: a.first ?? null, after: a.after ?? null, last: a.last ?? null, before: a.before ?? null };
}

async function listsOf(ctx: AyonGqlContext, p: Project, args: Record<string, any>) {
  return guarded(async () => {
    const page = await ctx.ayon.entityLists.listPage(ctx.actor, p.name, { ids: args.ids ?? null, page: pageArgs(args) });
    return {
      edges: page.rows.map(({ row, level }) => ({
        node: { __project: p.name, __row: row, __level: level, __guest: ctx.actor.isGuest } satisfies ListNode,
        cursor: Buffer.from(JSON.stringify([Number(row.seq)])).toString('base64'),
      })),
      pageInfo: { hasNextPage: page.hasNextPage, hasPreviousPage: page.hasPreviousPage, startCursor: page.startCursor, endCursor: page.endCursor },
    };
  });
}

export const listsExtension: GraphQLExtension = {
  sdl,
  resolvers: {
    ProjectNode: {
      entityLists: (n: { __project: Project }, args: Record<string, any>, ctx: AyonGqlContext) => listsOf(ctx, n.__project, args),
      entityList: async (n: { __project: Project }, args: { id: string }, ctx: AyonGqlContext) => {
        const conn = await listsOf(ctx, n.__project, { ids: [args.id], first: 1 });
        if (!conn.edges.length) throw gqlError('Entity list not found', 404);
        return conn.edges[0].node;
      },
    },
    EntityListNode: {
      projectName: (n: ListNode) => n.__project,
      id: (n: ListNode) => n.__row.id,
      entityType: (n: ListNode) => n.__row.entity_type,
      entityListType: (n: ListNode) => n.__row.entity_list_type,
      entityListFolderId: (n: ListNode) => n.__row.entity_list_folder_id,
      label: (n: ListNode) => n.__row.label,
      access: (n: ListNode) => n.__row.access || '{}',
      allAttrib: (n: ListNode) => (n.__guest ? '{}' : n.__row.attrib || '{}'),
      tags: (n: ListNode) => parseJson(n.__row.tags, []),
      activityCategories: () => [],
      owner: (n: ListNode) => n.__row.owner,
      active: (n: ListNode) => n.__row.active === 1,
      createdAt: (n: ListNode) => isoTime(n.__row.created_at),
      updatedAt: (n: ListNode) => isoTime(n.__row.updated_at),
      createdBy: (n: ListNode) => n.__row.created_by,
      updatedBy: (n: ListNode) => n.__row.updated_by,
      count: (n: ListNode) => Number(n.__row.item_count),
      data: (n: ListNode) => (n.__guest ? '{}' : JSON.stringify(listData(n.__row))),
      attributes: (n: ListNode) => n.__row.attributes || '[]',
      accessLevel: (n: ListNode) => n.__level,
      items: (n: ListNode, args: Record<string, any>, ctx: AyonGqlContext) =>
        guarded(async () => {
          if (args.sortBy !== undefined && args.sortBy !== null && args.sortBy !== 'position') throw new AyonError(400, `Invalid sort key ${String(args.sortBy)}`);
          const page = await ctx.ayon.entityLists.itemPage(n.__project, n.__row, pageArgs(args));
          const listAttrs = new Set(ctx.ayon.entityLists.listDefs(n.__row).keys());
          return {
            edges: page.rows.map(({ item, entity }) => ({
              __project: n.__project,
              __type: n.__row.entity_type as EntityType,
              __item: item,
              __entity: entity,
              __listAttrs: listAttrs,
              cursor: Buffer.from(JSON.stringify([item.position])).toString('base64'),
            })),
            pageInfo: { hasNextPage: page.hasNextPage, hasPreviousPage: page.hasPreviousPage, startCursor: page.startCursor, endCursor: page.endCursor },
          };
        }),
    },
    EntityListItemEdge: {
      id: (e: ItemEdge) => e.__item.id,
      projectName: (e: ItemEdge) => e.__project,
      entityType: (e: ItemEdge) => e.__type,
      entityId: (e: ItemEdge) => e.__item.entityId,
      position: (e: ItemEdge) => e.__item.position,
      label: (e: ItemEdge) => e.__item.label,
      attrib: (e: ItemEdge) => JSON.stringify(e.__item.attrib),
      allAttrib: async (e: ItemEdge, _a: unknown, ctx: AyonGqlContext) => JSON.stringify(await itemAllAttrib(ctx, e)),
      ownAttrib: (e: ItemEdge) => Object.keys(e.__item.attrib).filter((k) => e.__listAttrs.has(k)),
      data: (e: ItemEdge) => JSON.stringify(e.__item.data),
      folderPath: (e: ItemEdge) => e.__item.folderPath,
      tags: (e: ItemEdge) => e.__item.tags,
      createdBy: (e: ItemEdge) => e.__item.createdBy,
      updatedBy: (e: ItemEdge) => e.__item.updatedBy,
      createdAt: (e: ItemEdge) => isoTime(e.__item.createdAt),
      updatedAt: (e: ItemEdge) => isoTime(e.__item.updatedAt),
      cursor: (e: ItemEdge) => e.cursor,
      node: (e: ItemEdge) => (e.__entity ? { __typename: NODE_TYPENAME[e.__type], __type: e.__type, __project: e.__project, __row: e.__entity } : null),
    },
  },
};
