/**
 * The AYON GraphQL schema (ayon.md §8.9, the subset ayon_api generates queries for) and its
 * resolvers. Typed attribute objects (FolderAttribType …) come from the live attribute schema: the
 * executable schema is rebuilt when the attributes change.
 *
 * Nodes carry their database row (`__row`); fields are computed on demand, and what a page of nodes
 * needs from other tables (parents, counts, latest versions, links) is batched through loaders.
 * `data` is stored as JSON text and sent as is (the wire wants a JSON string).
 */
import { GraphQLScalarType, Kind, buildSchema, type GraphQLSchema, type ValueNode } from 'graphql';
import type { AyonServices } from '../../../services/ayon/index.js';
import type { AyonActor, AyonUser } from '../../../services/ayon/users.js';
import { userModel } from '../../../services/ayon/users.js';
import type { Project } from '../../../services/ayon/projects.js';
import type { AttributeDef } from '../../../services/ayon/attributes.js';
import { AyonError } from '../../../services/ayon/errors.js';
import { isoTime, parseJson, type EntityType } from '../../../services/ayon/rules.js';
import { effectiveAttrib, inheritedForChildOf, ownAttrib, versionLabel, workfileName, type AttribContext, type Row } from '../../../services/ayon/entity-models.js';
import { encodeCursor, type EntityFilter, type HasLinks, type Page, type PageArgs } from '../../../services/ayon/queries.js';
import { evaluateFilter, parseQueryFilter } from '../../../services/ayon/query-filter.js';
import { Loader } from './loader.js';
import { EXTENSIONS } from './extensions.js';
import { cached, gqlError, rethrow } from './common.js';

export interface AyonGqlContext {
  actor: AyonActor;
  ayon: AyonServices;
  cache: Map<string, unknown>;
}

const ENTITY_TYPES: EntityType[] = ['folder', 'task', 'product', 'version', 'representation', 'workfile'];
const NODE_TYPENAME: Record<EntityType, string> = {
  folder: 'FolderNode',
  task: 'TaskNode',
  product: 'ProductNode',
  version: 'VersionNode',
  representation: 'RepresentationNode',
  workfile: 'WorkfileNode',
};
const ATTRIB_TYPENAME: Record<string, string> = {
  project: 'ProjectAttribType',
  folder: 'FolderAttribType',
  task: 'TaskAttribType',
  product: 'ProductAttribType',
  version: 'VersionAttribType',
  representation: 'RepresentationAttribType',
  workfile: 'WorkfileAttribType',
  user: 'UserAttribType',
};

function gqlTypeOf(def: AttributeDef): string {
  switch (def.data.type) {
    case 'string':
    case 'datetime':
      return 'String';
    case 'integer':
      return 'Int';
    case 'float':
      return 'Float';
    case 'boolean':
      return 'Boolean';
    case 'list_of_strings':
      return '[String!]';
    case 'list_of_integers':
      return '[Int!]';
    default:
      return 'JSON';
  }
}

const LIST_ARGS = 'first: Int, after: String, last: Int, before: String';
const LINKS_FIELD = 'links(direction: String, linkTypes: [String!], names: [String!], nameEx: String, first: Int, after: String, last: Int, before: String): LinksConnection!';
const COMMON_NODE = `projectName: String!
  id: String!
  name: String!
  active: Boolean!
  createdAt: DateTime!
  updatedAt: DateTime!
  createdBy: String
  updatedBy: String
  allAttrib: String!
  parents: [String!]!
  ${LINKS_FIELD}
  status: String!
  tags: [String!]!
  data: String`;

const FOLDERS_ARGS = `ids: [String!], parentId: String, parentIds: [String!], names: [String!], paths: [String!], pathEx: String, folderTypes: [String!], statuses: [String!], assignees: [String!], tags: [String!], hasProducts: Boolean, hasTasks: Boolean, hasChildren: Boolean, hasLinks: HasLinksFilter, filter: String, search: String, ${LIST_ARGS}`;
const TASKS_ARGS = `ids: [String!], names: [String!], taskTypes: [String!], folderIds: [String!], assignees: [String!], assigneesAny: [String!], statuses: [String!], tags: [String!], hasLinks: HasLinksFilter, filter: String, search: String, ${LIST_ARGS}`;
const PRODUCTS_ARGS = `ids: [String!], names: [String!], folderIds: [String!], productTypes: [String!], productBaseTypes: [String!], statuses: [String!], tags: [String!], nameEx: String, pathEx: String, hasLinks: HasLinksFilter, filter: String, ${LIST_ARGS}`;
const VERSIONS_ARGS = `ids: [String!], productIds: [String!], taskIds: [String!], versions: [Int!], heroOnly: Boolean, latestOnly: Boolean, heroOrLatestOnly: Boolean, statuses: [String!], tags: [String!], authors: [String!], hasLinks: HasLinksFilter, filter: String, ${LIST_ARGS}`;
const REPRESENTATIONS_ARGS = `ids: [String!], versionIds: [String!], names: [String!], statuses: [String!], tags: [String!], hasLinks: HasLinksFilter, filter: String, ${LIST_ARGS}`;
const WORKFILES_ARGS = `ids: [String!], taskIds: [String!], paths: [String!], pathEx: String, statuses: [String!], tags: [String!], hasLinks: HasLinksFilter, filter: String, ${LIST_ARGS}`;

export function buildSdl(attributes: AttributeDef[]): string {
  const attribTypes = Object.entries(ATTRIB_TYPENAME)
    .map(([scope, typeName]) => {
      const fields = attributes.filter((a) => a.scope.includes(scope as never)).map((a) => `  ${a.name}: ${gqlTypeOf(a)}`);
      if (!fields.length) fields.push('  _empty: Boolean');
      return `type ${typeName} {\n${fields.join('\n')}\n}`;
    })
    .join('\n');
  const connection = (n: string, node: string) =>
    `type ${n}Connection { edges: [${n}Edge!]!\n pageInfo: PageInfo!\n totalCount: Int }\ntype ${n}Edge { node: ${node}!\n cursor: String }`;
  return `
scalar DateTime
scalar JSON
enum HasLinksFilter { NONE IN OUT ANY BOTH }
type PageInfo { hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String }
${attribTypes}
type FolderType { name: String!
  shortName: String
  icon: String
  color: String }
type TaskType { name: String!
  shortName: String
  icon: String
  color: String }
type LinkType { name: String!
  linkType: String!
  inputType: String!
  outputType: String!
  color: String
  style: String }
type Status { name: String!
  shortName: String
  icon: String
  color: String
  state: String
  scope: [String!] }
type Tag { name: String!
  color: String }
type ProductType { name: String!
  icon: String
  color: String }
type ProductBaseType { name: String!
  icon: String
  color: String }
type BundleInfo { production: String
  staging: String }
type FileNode { id: String!
  name: String!
  path: String!
  size: String!
  hash: String
  hashType: String! }
type VersionListItem { id: String!
  version: Int!
  name: String! }

interface BaseNode {
  ${COMMON_NODE}
}

type LinkEdge { id: String!
  projectName: String!
  entityType: String!
  entityId: String!
  name: String
  linkType: String!
  direction: String!
  description: String!
  author: String
  cursor: String
  data: JSON!
  node: BaseNode }
type LinksConnection { edges: [LinkEdge!]!
  pageInfo: PageInfo! }

type Query {
  project(name: String, code: String): ProjectNode!
  projects(name: String, code: String, names: [String!], includeSkeleton: Boolean, ${LIST_ARGS}): ProjectsConnection!
  users(name: String, names: [String!], emails: [String!], projectName: String, projects: [String!], ${LIST_ARGS}): UsersConnection!
  user(name: String!): UserNode!
  me: UserNode!
  productTypes: [ProductType!]!
}

type ProjectNode {
  name: String!
  label: String
  projectName: String!
  code: String!
  color: String
  projectFolder: String
  data: String
  config: String
  active: Boolean!
  library: Boolean!
  skeleton: Boolean!
  thumbnail: String
  bundle: BundleInfo!
  createdAt: DateTime!
  updatedAt: DateTime!
  attrib: ProjectAttribType!
  allAttrib: String!
  folderTypes(activeOnly: Boolean): [FolderType!]!
  taskTypes(activeOnly: Boolean): [TaskType!]!
  linkTypes(activeOnly: Boolean): [LinkType!]!
  statuses: [Status!]!
  tags: [Tag!]!
  productTypes: [ProductType!]!
  productBaseTypes: [ProductBaseType!]!
  usedTags: [String!]!
  folder(id: String!): FolderNode
  folders(${FOLDERS_ARGS}): FoldersConnection!
  task(id: String!): TaskNode
  tasks(${TASKS_ARGS}): TasksConnection!
  product(id: String!): ProductNode
  products(${PRODUCTS_ARGS}): ProductsConnection!
  version(id: String!): VersionNode
  versions(${VERSIONS_ARGS}): VersionsConnection!
  representation(id: String!): RepresentationNode
  representations(${REPRESENTATIONS_ARGS}): RepresentationsConnection!
  workfile(id: String!): WorkfileNode
  workfiles(${WORKFILES_ARGS}): WorkfilesConnection!
}

type FolderNode implements BaseNode {
  ${COMMON_NODE}
  label: String
  folderType: String!
  parentId: String
  parent: FolderNode
  path: String!
  thumbnailId: String
  thumbnailHash: String
  attrib: FolderAttribType!
  ownAttrib: [String!]!
  hasChildren: Boolean!
  hasProducts: Boolean!
  hasTasks: Boolean!
  hasVersions: Boolean!
  hasReviewables: Boolean!
  childCount: Int!
  productCount: Int!
  taskCount: Int!
  tasks(${TASKS_ARGS}): TasksConnection!
  products(${PRODUCTS_ARGS}): ProductsConnection!
}

type TaskNode implements BaseNode {
  ${COMMON_NODE}
  label: String
  taskType: String!
  folderId: String!
  folder: FolderNode!
  assignees: [String!]!
  thumbnailId: String
  thumbnailHash: String
  path: String!
  attrib: TaskAttribType!
  ownAttrib: [String!]!
  hasReviewables: Boolean!
  versions(${VERSIONS_ARGS}): VersionsConnection!
  workfiles(${WORKFILES_ARGS}): WorkfilesConnection!
}

type ProductNode implements BaseNode {
  ${COMMON_NODE}
  folderId: String!
  folder: FolderNode!
  productType: String!
  productBaseType: String
  path: String!
  attrib: ProductAttribType!
  versions(${VERSIONS_ARGS}): VersionsConnection!
  versionList: [VersionListItem!]!
  latestVersion: VersionNode
}

type VersionNode implements BaseNode {
  ${COMMON_NODE}
  version: Int!
  productId: String!
  product: ProductNode!
  taskId: String
  task: TaskNode
  author: String
  thumbnailId: String
  thumbnailHash: String
  path: String!
  attrib: VersionAttribType!
  heroVersionId: String
  isLatest: Boolean!
  hasReviewables: Boolean!
  representations(${REPRESENTATIONS_ARGS}): RepresentationsConnection!
}

type RepresentationNode implements BaseNode {
  ${COMMON_NODE}
  versionId: String!
  version: VersionNode!
  context: String
  files: [FileNode!]!
  fileCount: Int!
  traits: String
  path: String!
  attrib: RepresentationAttribType!
}

type WorkfileNode implements BaseNode {
  ${COMMON_NODE}
  path: String!
  taskId: String!
  task: TaskNode!
  thumbnailId: String
  thumbnailHash: String
  attrib: WorkfileAttribType!
}

type UserNode {
  name: String!
  active: Boolean!
  attrib: UserAttribType!
  allAttrib: String!
  accessGroups: String!
  defaultAccessGroups: [String!]!
  isAdmin: Boolean!
  isManager: Boolean!
  isService: Boolean!
  isGuest: Boolean!
  isDeveloper: Boolean!
  isStagingAllowed: Boolean!
  hasPassword: Boolean!
  apiKeyPreview: String
  userPool: String
  deleted: Boolean!
  disablePasswordLogin: Boolean!
  createdAt: DateTime!
  updatedAt: DateTime!
}

${connection('Projects', 'ProjectNode')}
${connection('Users', 'UserNode')}
${connection('Folders', 'FolderNode')}
${connection('Tasks', 'TaskNode')}
${connection('Products', 'ProductNode')}
${connection('Versions', 'VersionNode')}
${connection('Representations', 'RepresentationNode')}
${connection('Workfiles', 'WorkfileNode')}
`;
}

// ---------------------------------------------------------------------------------------------
// helpers




async function projectOf(ctx: AyonGqlContext, name: string): Promise<Project> {
  return cached(ctx, `project:${name.toLowerCase()}`, () =>
    ctx.ayon.projects.resolve(ctx.actor, name).catch((err) => {
      if (err instanceof AyonError && err.status === 404) throw gqlError('Project not found', 404);
      rethrow(err);
    }),
  );
}

async function attribCtx(ctx: AyonGqlContext, project: string, type: string): Promise<AttribContext> {
  return cached(ctx, `attrib:${project}:${type}`, async () => {
    const p = await projectOf(ctx, project);
    return { projectAttrib: p.attrib, inheritable: await ctx.ayon.attributes.inheritable(), defs: await ctx.ayon.attributes.forScope(type) };
  });
}

function rowLoader(ctx: AyonGqlContext, project: string, type: EntityType): Loader<string, Row | null> {
  return cached(ctx, `rows:${project}:${type}`, () => new Loader<string, Row | null>((ids) => ctx.ayon.queries.byIds(type, project, ids), String, null));
}

function countLoader(ctx: AyonGqlContext, project: string, table: string, col: string): Loader<string, number> {
  return cached(ctx, `count:${project}:${table}:${col}`, () => new Loader<string, number>((ids) => ctx.ayon.queries.countBy(table, col, project, ids), String, 0));
}

function node(type: EntityType, project: string, row: Row) {
  return { __typename: NODE_TYPENAME[type], __type: type, __project: project, __row: row };
}
type Node = ReturnType<typeof node> & {
  __eff?: Record<string, unknown>;
  /** attribute context, set when the page was prepared (then attributes resolve synchronously) */
  __actx?: AttribContext;
  /** a task's folder row, set when the page was prepared */
  __folder?: Row | null;
};

/** Effective attributes computed synchronously from what the page preparation attached. */
function effectiveSync(n: Node): Record<string, unknown> | undefined {
  if (n.__eff) return n.__eff;
  const actx = n.__actx;
  if (!actx || (n.__type === 'task' && n.__folder === undefined)) return undefined;
  const own = ownAttrib(n.__row, actx.defs);
  if (n.__type === 'folder') n.__eff = effectiveAttrib(own, parseJson(n.__row.inherited, {}), actx);
  else if (n.__type === 'task') n.__eff = effectiveAttrib(own, inheritedForChildOf(n.__folder ?? null, actx.inheritable), actx);
  else n.__eff = own;
  return n.__eff;
}

/** Whether a selection (the connection field) asks for one of these node fields. */
function selects(info: any, names: string[]): boolean {
  const want = new Set(names);
  const walk = (sel: any, depth: number): boolean => {
    if (!sel || depth > 4) return false;
    for (const f of sel.selections ?? []) {
      if (f.kind === 'Field' && want.has(f.name.value) && depth === 2) return true;
      if (f.kind === 'Field' && (depth === 0 ? f.name.value === 'edges' : depth === 1 ? f.name.value === 'node' : false) && walk(f.selectionSet, depth + 1)) return true;
      if (f.kind === 'InlineFragment' && walk(f.selectionSet, depth)) return true;
      if (f.kind === 'FragmentSpread') {
        const frag = info.fragments?.[f.name.value];
        if (frag && walk(frag.selectionSet, depth)) return true;
      }
    }
    return false;
  };
  return (info?.fieldNodes ?? []).some((fn: any) => walk(fn.selectionSet, 0));
}

async function folderOfTask(ctx: AyonGqlContext, n: Node): Promise<Row | null> {
  return rowLoader(ctx, n.__project, 'folder').load(n.__row.folder_id);
}

/** Effective attributes of a node (inherited for folders and tasks). */
async function effective(ctx: AyonGqlContext, n: Node): Promise<Record<string, unknown>> {
  const ready = effectiveSync(n);
  if (ready) return ready;
  n.__actx ??= await attribCtx(ctx, n.__project, n.__type);
  if (n.__type === 'task' && n.__folder === undefined) n.__folder = await folderOfTask(ctx, n);
  return effectiveSync(n)!;
}

/** Path of a node's folder ("a/b"), through loaders. */
async function folderPathOf(ctx: AyonGqlContext, project: string, folderId: string): Promise<string> {
  const f = await rowLoader(ctx, project, 'folder').load(folderId);
  return f?.path ?? '';
}

async function nodePath(ctx: AyonGqlContext, n: Node): Promise<string> {
  const r = n.__row;
  const p = n.__project;
  switch (n.__type) {
    case 'folder':
      return `/${r.path}`;
    case 'task':
    case 'product':
      return `/${await folderPathOf(ctx, p, r.folder_id)}/${r.name}`;
    case 'version': {
      const product = await rowLoader(ctx, p, 'product').load(r.product_id);
      return `/${product ? await folderPathOf(ctx, p, product.folder_id) : ''}/${product?.name ?? ''}/${versionLabel(r.version)}`;
    }
    case 'representation': {
      const v = await rowLoader(ctx, p, 'version').load(r.version_id);
      const product = v ? await rowLoader(ctx, p, 'product').load(v.product_id) : null;
      return `/${product ? await folderPathOf(ctx, p, product.folder_id) : ''}/${product?.name ?? ''}/${v ? versionLabel(v.version) : ''}/${r.name}`;
    }
    case 'workfile':
      return r.path;
  }
}

function toRegex(pattern: string | null | undefined): RegExp | null {
  if (pattern === null || pattern === undefined || pattern === '') return null;
  // patterns run in this process: keep them short (AYON hands them to PostgreSQL)
  if (pattern.length > 512) throw gqlError('Regular expression is too long (512 characters at most)', 400);
  let p = pattern;
  let flags = '';
  const m = /^\(\?([imsx]+)\)/.exec(p);
  if (m) {
    p = p.slice(m[0].length);
    flags = [...new Set(m[1].replace('x', ''))].join('');
  }
  p = p.replace(/\(\?P</g, '(?<').replace(/\(\?P=(\w+)\)/g, '\\k<$1>');
  try {
    return new RegExp(p, flags);
  } catch {
    throw gqlError(`Invalid regular expression: ${pattern}`, 400);
  }
}

function pageArgs(args: Record<string, unknown>): PageArgs {
  return { first: args.first as number | null, after: args.after as string | null, last: args.last as number | null, before: args.before as string | null };
}

function connection(type: EntityType, project: string, page: Page) {
  return {
    edges: page.rows.map((r) => ({ node: node(type, project, r), cursor: encodeCursor(r.seq) })),
    pageInfo: { hasNextPage: page.hasNextPage, hasPreviousPage: page.hasPreviousPage, startCursor: page.startCursor, endCursor: page.endCursor },
  };
}

/** Builds an in-memory predicate from regex filters and a QueryFilter, with batch preparation. */
async function predicateFor(
  ctx: AyonGqlContext,
  type: EntityType,
  project: string,
  opts: { pathEx?: string | null; nameEx?: string | null; filter?: string | null },
): Promise<Pick<EntityFilter, 'predicate' | 'prepare'>> {
  const pathRe = toRegex(opts.pathEx);
  const nameRe = toRegex(opts.nameEx);
  let qf;
  try {
    qf = parseQueryFilter(opts.filter);
  } catch (err) {
    rethrow(err);
  }
  if (!pathRe && !nameRe && !qf) return {};
  // per-chunk caches of what the predicate reads
  const folderPaths = new Map<string, string>();
  const folderRows = new Map<string, Row>();
  const needsFolders = (pathRe && (type === 'product' || type === 'task')) || (qf && type === 'task');
  const actx = qf ? await attribCtx(ctx, project, type) : null;
  return {
    prepare: needsFolders
      ? async (rows: Row[]) => {
          const ids = rows.map((r) => r.folder_id as string).filter((id) => !folderRows.has(id));
          const got = await ctx.ayon.queries.byIds('folder', project, ids);
          for (const [id, f] of got) {
            folderRows.set(id, f);
            folderPaths.set(id, f.path);
          }
        }
      : null,
    predicate: (r: Row) => {
      if (pathRe) {
        const target = type === 'folder' ? `/${r.path}` : type === 'product' || type === 'task' ? `/${folderPaths.get(r.folder_id) ?? ''}` : type === 'workfile' ? r.path : '';
        if (!pathRe.test(target)) return false;
      }
      if (nameRe && !nameRe.test(r.name)) return false;
      if (qf && actx) {
        const own = ownAttrib(r, actx.defs);
        const attrib =
          type === 'folder'
            ? effectiveAttrib(own, parseJson(r.inherited, {}), actx)
            : type === 'task'
              ? effectiveAttrib(own, inheritedForChildOf(folderRows.get(r.folder_id) ?? null, actx.inheritable), actx)
              : own;
        const entity: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(r)) entity[k.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())] = v;
        entity.tags = parseJson(r.tags, []);
        entity.assignees = r.assignees !== undefined ? parseJson(r.assignees, []) : undefined;
        entity.data = parseJson(r.data, {});
        entity.attrib = attrib;
        entity.active = r.active === 1;
        if (!evaluateFilter(qf, entity)) return false;
      }
      return true;
    },
  };
}

const hasLinks = (v: unknown) => (v ? (v as HasLinks) : null);

async function listEntities(
  ctx: AyonGqlContext,
  type: EntityType,
  project: string,
  args: Record<string, any>,
  scope: Partial<EntityFilter> = {},
  info?: unknown,
) {
  const pred = await predicateFor(ctx, type, project, { pathEx: args.pathEx, nameEx: args.nameEx, filter: args.filter });
  const f: EntityFilter = {
    ids: args.ids ?? null,
    names: args.names ?? null,
    statuses: args.statuses ?? null,
    tags: args.tags ?? null,
    hasLinks: hasLinks(args.hasLinks),
    ...pred,
    ...scope,
  };
  switch (type) {
    case 'folder':
      f.parentIds = args.parentIds ?? (args.parentId !== undefined && args.parentId !== null ? [args.parentId] : null);
      f.paths = args.paths ?? null;
      f.folderTypes = args.folderTypes ?? null;
      f.hasProducts = args.hasProducts;
      f.hasTasks = args.hasTasks;
      f.hasChildren = args.hasChildren;
      f.folderAssignees = args.assignees ?? null;
      break;
    case 'task':
      f.taskTypes = args.taskTypes ?? null;
      f.folderIds = scope.folderIds ?? args.folderIds ?? null;
      f.assignees = args.assignees ?? null;
      f.assigneesAny = args.assigneesAny ?? null;
      break;
    case 'product':
      f.folderIds = scope.folderIds ?? args.folderIds ?? null;
      f.productTypes = args.productTypes ?? null;
      f.productBaseTypes = args.productBaseTypes ?? null;
      break;
    case 'version':
      f.productIds = scope.productIds ?? args.productIds ?? null;
      f.taskIds = scope.taskIds ?? args.taskIds ?? null;
      f.versions = args.versions ?? null;
      f.heroOnly = args.heroOnly ?? null;
      f.latestOnly = args.latestOnly ?? null;
      f.heroOrLatestOnly = args.heroOrLatestOnly ?? null;
      break;
    case 'representation':
      f.versionIds = scope.versionIds ?? args.versionIds ?? null;
      break;
    case 'workfile':
      f.taskIds = scope.taskIds ?? args.taskIds ?? null;
      f.workfilePaths = args.paths ?? null;
      break;
  }
  try {
    const page = await ctx.ayon.queries.list(type, project, f, pageArgs(args));
    const conn = connection(type, project, page);
    // attributes of the whole page are prepared once, so the nodes resolve them synchronously
    if (page.rows.length && (!info || selects(info, ['allAttrib', 'attrib', 'ownAttrib']))) {
      const actx = await attribCtx(ctx, project, type);
      let folders: Map<string, Row> | null = null;
      if (type === 'task') folders = await ctx.ayon.queries.byIds('folder', project, page.rows.map((r) => r.folder_id as string));
      for (const e of conn.edges) {
        const n = e.node as Node;
        n.__actx = actx;
        if (folders) n.__folder = folders.get(n.__row.folder_id) ?? null;
      }
    }
    return conn;
  } catch (err) {
    rethrow(err);
  }
}

async function entityById(ctx: AyonGqlContext, type: EntityType, project: Project, id: string) {
  const r = await rowLoader(ctx, project.name, type).load(String(id).toLowerCase());
  return r ? node(type, project.name, r) : null;
}

// ---------------------------------------------------------------------------------------------
// resolvers

const commonNode = {
  projectName: (n: Node) => n.__project,
  id: (n: Node) => n.__row.id,
  name: (n: Node) => (n.__type === 'version' ? versionLabel(n.__row.version) : n.__type === 'workfile' ? workfileName(n.__row.path) : n.__row.name),
  active: (n: Node) => n.__row.active === 1 || n.__row.active === true,
  createdAt: (n: Node) => isoTime(n.__row.created_at),
  updatedAt: (n: Node) => isoTime(n.__row.updated_at),
  createdBy: (n: Node) => n.__row.created_by ?? null,
  updatedBy: (n: Node) => n.__row.updated_by ?? null,
  status: (n: Node) => n.__row.status,
  tags: (n: Node) => parseJson(n.__row.tags, []),
  data: (n: Node) => n.__row.data ?? '{}',
  allAttrib: (n: Node, _a: unknown, ctx: AyonGqlContext) => {
    const e = effectiveSync(n);
    return e ? JSON.stringify(e) : effective(ctx, n).then((x) => JSON.stringify(x));
  },
  attrib: (n: Node, _a: unknown, ctx: AyonGqlContext) => effectiveSync(n) ?? effective(ctx, n),
  parents: async (n: Node, _a: unknown, ctx: AyonGqlContext) => {
    const path = await nodePath(ctx, n);
    return path.replace(/^\//, '').split('/').slice(0, -1);
  },
  thumbnailId: (n: Node) => n.__row.thumbnail_id ?? null,
  thumbnailHash: (n: Node) => (parseJson<Record<string, unknown>>(n.__row.data, {}).thumbnailHash as string | undefined) ?? null,
  links: async (n: Node, args: Record<string, any>, ctx: AyonGqlContext) => {
    const key = JSON.stringify([args.direction ?? null, args.linkTypes ?? null, args.names ?? null]);
    const loader = cached(ctx, `links:${n.__project}:${key}`, () =>
      new Loader<string, Row[]>(async (ids) => {
        const rows = await ctx.ayon.queries.linksOf(n.__project, ids, { direction: args.direction, linkTypes: args.linkTypes, names: args.names });
        const out = new Map<string, Row[]>();
        for (const id of ids) out.set(id, []);
        for (const r of rows) {
          if (args.direction !== 'in' && out.has(r.input_id)) out.get(r.input_id)!.push({ ...r, __dir: 'out' });
          if (args.direction !== 'out' && out.has(r.output_id)) out.get(r.output_id)!.push({ ...r, __dir: 'in' });
        }
        return out;
      }, String, []),
    );
    let links = await loader.load(n.__row.id);
    const nameRe = toRegex(args.nameEx);
    if (nameRe) links = links.filter((l) => l.name && nameRe.test(l.name));
    // keyset paging over the link's creation order
    const first = typeof args.first === 'number' ? args.first : 100;
    let start = 0;
    if (args.after) {
      const idx = links.findIndex((l) => `${l.seq}:${l.__dir}` === Buffer.from(args.after, 'base64').toString('utf8'));
      start = idx >= 0 ? idx + 1 : 0;
    }
    const slice = links.slice(start, start + first);
    const cursorOf = (l: Row) => Buffer.from(`${l.seq}:${l.__dir}`).toString('base64');
    return {
      edges: slice.map((l) => {
        const inbound = l.__dir === 'in';
        return {
          id: l.id,
          projectName: n.__project,
          entityType: inbound ? l.input_type : l.output_type,
          entityId: inbound ? l.input_id : l.output_id,
          name: l.name ?? null,
          linkType: String(l.link_type).split('|')[0],
          direction: l.__dir,
          description: '',
          author: l.author ?? null,
          cursor: cursorOf(l),
          data: parseJson(l.data, {}),
          __project: n.__project,
        };
      }),
      pageInfo: {
        hasNextPage: start + first < links.length,
        hasPreviousPage: start > 0,
        startCursor: slice.length ? cursorOf(slice[0]) : null,
        endCursor: slice.length ? cursorOf(slice[slice.length - 1]) : null,
      },
    };
  },
};

function projectNode(p: Project) {
  return { __project: p };
}
type PNode = ReturnType<typeof projectNode>;

function userNode(u: AyonUser) {
  return { __user: u };
}
type UNode = ReturnType<typeof userNode>;

async function projectAttrib(ctx: AyonGqlContext, p: Project) {
  const defs = await ctx.ayon.attributes.forScope('project');
  const out: Record<string, unknown> = {};
  for (const [name, def] of defs) {
    const v = p.attrib[name] ?? def.data.default;
    if (v !== undefined && v !== null) out[name] = v;
  }
  return out;
}

function dateScalar() {
  return new GraphQLScalarType({
    name: 'DateTime',
    serialize: (v) => (typeof v === 'number' ? isoTime(v) : v),
    parseValue: (v) => v,
    parseLiteral: (ast: ValueNode) => (ast.kind === Kind.STRING ? ast.value : null),
  });
}

function jsonScalar() {
  const parseLit = (ast: ValueNode): unknown => {
    switch (ast.kind) {
      case Kind.STRING:
      case Kind.BOOLEAN:
        return ast.value;
      case Kind.INT:
      case Kind.FLOAT:
        return Number(ast.value);
      case Kind.OBJECT:
        return Object.fromEntries(ast.fields.map((f) => [f.name.value, parseLit(f.value)]));
      case Kind.LIST:
        return ast.values.map(parseLit);
      default:
        return null;
    }
  };
  return new GraphQLScalarType({ name: 'JSON', serialize: (v) => v, parseValue: (v) => v, parseLiteral: parseLit });
}

function resolvers() {
  const project = async (_: unknown, args: { name?: string; code?: string }, ctx: AyonGqlContext) => {
    let name = args.name;
    if (!name && args.code) {
      const all = await ctx.ayon.projects.listFull(ctx.actor, { includeSkeleton: true });
      name = all.find((p) => p.code.toLowerCase() === args.code!.toLowerCase())?.name;
    }
    if (!name) throw gqlError('Project not found', 404);
    return projectNode(await projectOf(ctx, name));
  };

  const typeNodes = (list: Array<Record<string, unknown>>) =>
    list.map((t) => ({ name: t.name, shortName: t.shortName ?? '', icon: t.icon ?? null, color: t.color ?? null }));

  return {
    Query: {
      project,
      projects: async (_: unknown, args: Record<string, any>, ctx: AyonGqlContext) => {
        let all = await ctx.ayon.projects.listFull(ctx.actor, { name: args.name ?? null, includeSkeleton: args.includeSkeleton === true });
        if (args.code) all = all.filter((p) => p.code.toLowerCase() === String(args.code).toLowerCase());
        if (args.names) all = all.filter((p) => (args.names as string[]).includes(p.name));
        return pageList(all.map(projectNode), args, (n) => n.__project.name);
      },
      users: async (_: unknown, args: Record<string, any>, ctx: AyonGqlContext) => {
        let all = await ctx.ayon.users.listAll();
        if (!ctx.actor.isManager) {
          const proj = args.projectName ? String(args.projectName).toLowerCase() : null;
          all = all.filter((u) => u.id === ctx.actor.id || (proj && Object.keys(u.ayon.accessGroups ?? {}).some((k) => k.toLowerCase() === proj)) || (proj && u.isManager));
        }
        if (args.name) all = all.filter((u) => u.name === args.name);
        if (args.names) all = all.filter((u) => (args.names as string[]).includes(u.name));
        if (args.emails) {
          const emails = new Set((args.emails as string[]).map((e) => e.toLowerCase()));
          all = all.filter((u) => !u.placeholderEmail && emails.has(u.email.toLowerCase()));
        }
        if (args.projectName && ctx.actor.isManager) {
          const proj = String(args.projectName).toLowerCase();
          all = all.filter((u) => u.isManager || Object.keys(u.ayon.accessGroups ?? {}).some((k) => k.toLowerCase() === proj));
        }
        all.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        return pageList(all.map(userNode), args, (n) => n.__user.name);
      },
      user: async (_: unknown, args: { name: string }, ctx: AyonGqlContext) => {
        const u = await ctx.ayon.users.loadByName(args.name);
        if (!u || (!ctx.actor.isManager && u.id !== ctx.actor.id)) throw gqlError(`User ${args.name} not found`, 404);
        return userNode(u);
      },
      me: (_: unknown, _a: unknown, ctx: AyonGqlContext) => userNode(ctx.actor),
      productTypes: async (_: unknown, _a: unknown, ctx: AyonGqlContext) => {
        const rows = await ctx.ayon.store.db.selectFrom('ayon_product_types').selectAll().orderBy('name').execute();
        return rows.map((r) => {
          const d = parseJson<Record<string, unknown>>(r.data, {});
          return { name: r.name, icon: (d.icon as string) ?? null, color: (d.color as string) ?? null };
        });
      },
    },
    ProjectNode: {
      name: (n: PNode) => n.__project.name,
      label: (n: PNode) => n.__project.label,
      projectName: (n: PNode) => n.__project.name,
      code: (n: PNode) => n.__project.code,
      color: (n: PNode) => (typeof n.__project.data.color === 'string' ? n.__project.data.color : null),
      projectFolder: () => null,
      data: (n: PNode) => JSON.stringify(n.__project.data),
      config: (n: PNode) => JSON.stringify(n.__project.config),
      active: (n: PNode) => n.__project.active,
      library: (n: PNode) => n.__project.library,
      skeleton: (n: PNode) => n.__project.skeleton,
      thumbnail: () => null,
      bundle: (n: PNode) => {
        const b = (n.__project.data.bundle ?? {}) as Record<string, unknown>;
        return { production: (b.production as string) ?? null, staging: (b.staging as string) ?? null };
      },
      createdAt: (n: PNode) => isoTime(n.__project.createdAt),
      updatedAt: (n: PNode) => isoTime(n.__project.updatedAt),
      attrib: (n: PNode, _a: unknown, ctx: AyonGqlContext) => projectAttrib(ctx, n.__project),
      allAttrib: async (n: PNode, _a: unknown, ctx: AyonGqlContext) => JSON.stringify(await projectAttrib(ctx, n.__project)),
      folderTypes: (n: PNode) => typeNodes(n.__project.folderTypes),
      taskTypes: (n: PNode) => typeNodes(n.__project.taskTypes),
      linkTypes: (n: PNode) =>
        n.__project.linkTypes.map((l) => ({ name: l.name, linkType: l.linkType, inputType: l.inputType, outputType: l.outputType, color: l.data.color ?? null, style: l.data.style ?? 'solid' })),
      statuses: (n: PNode) =>
        n.__project.statuses.map((s) => ({ name: s.name, shortName: s.shortName ?? '', icon: s.icon ?? '', color: s.color ?? '#cacaca', state: s.state ?? 'not_started', scope: s.scope ?? ENTITY_TYPES })),
      tags: (n: PNode) => n.__project.tags.map((t) => ({ name: t.name, color: t.color ?? '#cacaca' })),
      productTypes: async (n: PNode, _a: unknown, ctx: AyonGqlContext) => {
        const used = await ctx.ayon.queries.distinctColumn('ayon_products', 'product_type', n.__project.name);
        const defs = ((n.__project.config.productBaseTypes as Record<string, unknown> | undefined)?.definitions ?? []) as Array<Record<string, unknown>>;
        return [...used].sort().map((name) => {
          const d = defs.find((x) => x.name === name);
          return { name, icon: (d?.icon as string) ?? 'deployed_code', color: (d?.color as string) ?? '#cccccc' };
        });
      },
      productBaseTypes: async (n: PNode, _a: unknown, ctx: AyonGqlContext) => {
        const used = await ctx.ayon.queries.distinctColumn('ayon_products', 'product_base_type', n.__project.name);
        return [...used].filter(Boolean).sort().map((name) => ({ name, icon: 'deployed_code', color: '#cccccc' }));
      },
      usedTags: (n: PNode, _a: unknown, ctx: AyonGqlContext) => ctx.ayon.queries.usedTags(n.__project.name),
      folder: (n: PNode, a: { id: string }, ctx: AyonGqlContext) => entityById(ctx, 'folder', n.__project, a.id),
      task: (n: PNode, a: { id: string }, ctx: AyonGqlContext) => entityById(ctx, 'task', n.__project, a.id),
      product: (n: PNode, a: { id: string }, ctx: AyonGqlContext) => entityById(ctx, 'product', n.__project, a.id),
      version: (n: PNode, a: { id: string }, ctx: AyonGqlContext) => entityById(ctx, 'version', n.__project, a.id),
      representation: (n: PNode, a: { id: string }, ctx: AyonGqlContext) => entityById(ctx, 'representation', n.__project, a.id),
      workfile: (n: PNode, a: { id: string }, ctx: AyonGqlContext) => entityById(ctx, 'workfile', n.__project, a.id),
      folders: (n: PNode, a: Record<string, any>, ctx: AyonGqlContext, info: unknown) => listEntities(ctx, 'folder', n.__project.name, a, {}, info),
      tasks: (n: PNode, a: Record<string, any>, ctx: AyonGqlContext, info: unknown) => listEntities(ctx, 'task', n.__project.name, a, {}, info),
      products: (n: PNode, a: Record<string, any>, ctx: AyonGqlContext, info: unknown) => listEntities(ctx, 'product', n.__project.name, a, {}, info),
      versions: (n: PNode, a: Record<string, any>, ctx: AyonGqlContext, info: unknown) => listEntities(ctx, 'version', n.__project.name, a, {}, info),
      representations: (n: PNode, a: Record<string, any>, ctx: AyonGqlContext, info: unknown) => listEntities(ctx, 'representation', n.__project.name, a, {}, info),
      workfiles: (n: PNode, a: Record<string, any>, ctx: AyonGqlContext, info: unknown) => listEntities(ctx, 'workfile', n.__project.name, a, {}, info),
    },
    FolderNode: {
      ...commonNode,
      label: (n: Node) => n.__row.label ?? null,
      folderType: (n: Node) => n.__row.folder_type,
      parentId: (n: Node) => n.__row.parent_id ?? null,
      parent: async (n: Node, _a: unknown, ctx: AyonGqlContext) => {
        if (!n.__row.parent_id) return null;
        const r = await rowLoader(ctx, n.__project, 'folder').load(n.__row.parent_id);
        return r ? node('folder', n.__project, r) : null;
      },
      path: (n: Node) => `/${n.__row.path}`,
      parents: (n: Node) => String(n.__row.path).split('/').slice(0, -1),
      ownAttrib: (n: Node, _a: unknown, ctx: AyonGqlContext) =>
        n.__actx ? Object.keys(ownAttrib(n.__row, n.__actx.defs)) : attribCtx(ctx, n.__project, 'folder').then((a) => Object.keys(ownAttrib(n.__row, a.defs))),
      childCount: (n: Node, _a: unknown, ctx: AyonGqlContext) => countLoader(ctx, n.__project, 'ayon_folders', 'parent_key').load(n.__row.id),
      taskCount: (n: Node, _a: unknown, ctx: AyonGqlContext) => countLoader(ctx, n.__project, 'ayon_tasks', 'folder_id').load(n.__row.id),
      productCount: (n: Node, _a: unknown, ctx: AyonGqlContext) => countLoader(ctx, n.__project, 'ayon_products', 'folder_id').load(n.__row.id),
      hasChildren: async (n: Node, _a: unknown, ctx: AyonGqlContext) => (await countLoader(ctx, n.__project, 'ayon_folders', 'parent_key').load(n.__row.id)) > 0,
      hasTasks: async (n: Node, _a: unknown, ctx: AyonGqlContext) => (await countLoader(ctx, n.__project, 'ayon_tasks', 'folder_id').load(n.__row.id)) > 0,
      hasProducts: async (n: Node, _a: unknown, ctx: AyonGqlContext) => (await countLoader(ctx, n.__project, 'ayon_products', 'folder_id').load(n.__row.id)) > 0,
      hasVersions: (n: Node, _a: unknown, ctx: AyonGqlContext) =>
        cached(ctx, `hv:${n.__project}`, () => new Loader<string, boolean>(async (ids) => {
          const s = await ctx.ayon.queries.foldersWithVersions(n.__project, ids);
          return ids.map((id) => s.has(id));
        })).load(n.__row.id),
      hasReviewables: () => false,
      tasks: (n: Node, a: Record<string, any>, ctx: AyonGqlContext, info: unknown) => listEntities(ctx, 'task', n.__project, a, { folderIds: [n.__row.id] }, info),
      products: (n: Node, a: Record<string, any>, ctx: AyonGqlContext, info: unknown) => listEntities(ctx, 'product', n.__project, a, { folderIds: [n.__row.id] }, info),
    },
    TaskNode: {
      ...commonNode,
      label: (n: Node) => n.__row.label ?? null,
      taskType: (n: Node) => n.__row.task_type,
      folderId: (n: Node) => n.__row.folder_id,
      folder: async (n: Node, _a: unknown, ctx: AyonGqlContext) => node('folder', n.__project, (await folderOfTask(ctx, n))!),
      assignees: (n: Node) => parseJson(n.__row.assignees, []),
      path: (n: Node, _a: unknown, ctx: AyonGqlContext) => nodePath(ctx, n),
      ownAttrib: (n: Node, _a: unknown, ctx: AyonGqlContext) =>
        n.__actx ? Object.keys(ownAttrib(n.__row, n.__actx.defs)) : attribCtx(ctx, n.__project, 'task').then((a) => Object.keys(ownAttrib(n.__row, a.defs))),
      hasReviewables: () => false,
      versions: (n: Node, a: Record<string, any>, ctx: AyonGqlContext, info: unknown) => listEntities(ctx, 'version', n.__project, a, { taskIds: [n.__row.id] }, info),
      workfiles: (n: Node, a: Record<string, any>, ctx: AyonGqlContext, info: unknown) => listEntities(ctx, 'workfile', n.__project, a, { taskIds: [n.__row.id] }, info),
    },
    ProductNode: {
      ...commonNode,
      folderId: (n: Node) => n.__row.folder_id,
      folder: async (n: Node, _a: unknown, ctx: AyonGqlContext) => node('folder', n.__project, (await rowLoader(ctx, n.__project, 'folder').load(n.__row.folder_id))!),
      productType: (n: Node) => n.__row.product_type,
      productBaseType: (n: Node) => n.__row.product_base_type ?? null,
      path: (n: Node, _a: unknown, ctx: AyonGqlContext) => nodePath(ctx, n),
      versions: (n: Node, a: Record<string, any>, ctx: AyonGqlContext, info: unknown) => listEntities(ctx, 'version', n.__project, a, { productIds: [n.__row.id] }, info),
      versionList: async (n: Node, _a: unknown, ctx: AyonGqlContext) => {
        const rows = await ctx.ayon.store.db
          .selectFrom('ayon_versions')
          .select(['id', 'version'])
          .where('project_name', '=', n.__project)
          .where('product_id', '=', n.__row.id)
          .orderBy('version')
          .execute();
        return rows.map((r) => ({ id: r.id, version: r.version, name: versionLabel(r.version) }));
      },
      latestVersion: async (n: Node, _a: unknown, ctx: AyonGqlContext) => {
        const l = cached(ctx, `latest:${n.__project}`, () => new Loader<string, Row | null>((ids) => ctx.ayon.queries.latestVersions(n.__project, ids), String, null));
        const r = await l.load(n.__row.id);
        return r ? node('version', n.__project, r) : null;
      },
    },
    VersionNode: {
      ...commonNode,
      version: (n: Node) => n.__row.version,
      productId: (n: Node) => n.__row.product_id,
      product: async (n: Node, _a: unknown, ctx: AyonGqlContext) => node('product', n.__project, (await rowLoader(ctx, n.__project, 'product').load(n.__row.product_id))!),
      taskId: (n: Node) => n.__row.task_id ?? null,
      task: async (n: Node, _a: unknown, ctx: AyonGqlContext) => {
        if (!n.__row.task_id) return null;
        const r = await rowLoader(ctx, n.__project, 'task').load(n.__row.task_id);
        return r ? node('task', n.__project, r) : null;
      },
      author: (n: Node) => n.__row.author ?? null,
      path: (n: Node, _a: unknown, ctx: AyonGqlContext) => nodePath(ctx, n),
      heroVersionId: () => null,
      isLatest: async (n: Node, _a: unknown, ctx: AyonGqlContext) => {
        const l = cached(ctx, `latest:${n.__project}`, () => new Loader<string, Row | null>((ids) => ctx.ayon.queries.latestVersions(n.__project, ids), String, null));
        const r = await l.load(n.__row.product_id);
        return r?.id === n.__row.id;
      },
      hasReviewables: () => false,
      representations: (n: Node, a: Record<string, any>, ctx: AyonGqlContext, info: unknown) => listEntities(ctx, 'representation', n.__project, a, { versionIds: [n.__row.id] }, info),
    },
    RepresentationNode: {
      ...commonNode,
      versionId: (n: Node) => n.__row.version_id,
      version: async (n: Node, _a: unknown, ctx: AyonGqlContext) => node('version', n.__project, (await rowLoader(ctx, n.__project, 'version').load(n.__row.version_id))!),
      context: (n: Node) => {
        const ctxv = parseJson<Record<string, unknown>>(n.__row.data, {}).context;
        return ctxv === undefined ? null : JSON.stringify(ctxv);
      },
      files: (n: Node) =>
        parseJson<Array<Record<string, unknown>>>(n.__row.files, []).map((f) => ({
          id: f.id,
          name: f.name ?? String(f.path ?? '').split(/[\\/]/).pop(),
          path: f.path ?? '',
          size: String(f.size ?? 0),
          hash: f.hash ?? null,
          hashType: f.hashType ?? 'md5',
        })),
      fileCount: (n: Node) => parseJson<unknown[]>(n.__row.files, []).length,
      traits: (n: Node) => n.__row.traits ?? null,
      path: (n: Node, _a: unknown, ctx: AyonGqlContext) => nodePath(ctx, n),
    },
    WorkfileNode: {
      ...commonNode,
      path: (n: Node) => n.__row.path,
      parents: async (n: Node, _a: unknown, ctx: AyonGqlContext) => {
        const t = await rowLoader(ctx, n.__project, 'task').load(n.__row.task_id);
        if (!t) return [];
        const fp = await folderPathOf(ctx, n.__project, t.folder_id);
        return [...fp.split('/'), t.name];
      },
      taskId: (n: Node) => n.__row.task_id,
      task: async (n: Node, _a: unknown, ctx: AyonGqlContext) => node('task', n.__project, (await rowLoader(ctx, n.__project, 'task').load(n.__row.task_id))!),
    },
    LinkEdge: {
      node: async (e: { entityType: EntityType; entityId: string; __project: string }, _a: unknown, ctx: AyonGqlContext) => {
        const r = await rowLoader(ctx, e.__project, e.entityType).load(e.entityId);
        return r ? node(e.entityType, e.__project, r) : null;
      },
    },
    UserNode: {
      name: (n: UNode) => n.__user.name,
      active: (n: UNode) => n.__user.active,
      attrib: (n: UNode) => userModel(n.__user).attrib,
      allAttrib: (n: UNode) => JSON.stringify(userModel(n.__user).attrib),
      accessGroups: (n: UNode) => JSON.stringify(n.__user.ayon.accessGroups ?? {}),
      defaultAccessGroups: (n: UNode) => n.__user.ayon.defaultAccessGroups ?? [],
      isAdmin: (n: UNode) => n.__user.isAdmin,
      isManager: (n: UNode) => n.__user.ayon.isManager === true,
      isService: (n: UNode) => n.__user.isService,
      isGuest: (n: UNode) => n.__user.isGuest,
      isDeveloper: (n: UNode) => n.__user.isDeveloper,
      isStagingAllowed: (n: UNode) => n.__user.isAdmin || n.__user.isDeveloper,
      hasPassword: (n: UNode) => n.__user.hasPassword,
      apiKeyPreview: (n: UNode, _a: unknown, ctx: AyonGqlContext) => (n.__user.isService ? ctx.ayon.users.apiKeyPreview(n.__user.id) : null),
      userPool: () => null,
      deleted: () => false,
      disablePasswordLogin: (n: UNode) => n.__user.ayon.disablePasswordLogin === true,
      createdAt: (n: UNode) => isoTime(n.__user.createdAt),
      updatedAt: (n: UNode) => isoTime(n.__user.updatedAt),
    },
  };
}

/** Pages an in-memory list sorted by a string key (projects, users): the cursor is the key. */
function pageList<T>(all: T[], args: Record<string, any>, keyOf: (t: T) => string) {
  const enc = (k: string) => Buffer.from(JSON.stringify([k])).toString('base64');
  const dec = (c: unknown) => {
    if (typeof c !== 'string' || !c) return null;
    try {
      const v = JSON.parse(Buffer.from(c, 'base64').toString('utf8'));
      return Array.isArray(v) && typeof v[0] === 'string' ? v[0] : null;
    } catch {
      return null;
    }
  };
  const desc = typeof args.last === 'number' && typeof args.first !== 'number';
  const size = Math.min(desc ? args.last : typeof args.first === 'number' ? args.first : 100, 5000);
  const cursor = dec(desc ? args.before : args.after);
  let list = desc ? [...all].reverse() : all;
  if (cursor !== null) list = list.filter((t) => (desc ? keyOf(t) < cursor : keyOf(t) > cursor));
  const page = list.slice(0, size);
  return {
    edges: page.map((n) => ({ node: n, cursor: enc(keyOf(n)) })),
    pageInfo: {
      hasNextPage: desc ? cursor !== null : list.length > size,
      hasPreviousPage: desc ? list.length > size : cursor !== null,
      startCursor: page.length ? enc(keyOf(page[0])) : null,
      endCursor: page.length ? enc(keyOf(page[page.length - 1])) : null,
    },
    totalCount: all.length,
  };
}

/** Builds the executable schema for the current attribute list. */
export function buildAyonSchema(attributes: AttributeDef[]): GraphQLSchema {
  const schema = buildSchema([buildSdl(attributes), ...EXTENSIONS.map((e) => e.sdl)].join('\n'));
  const map = resolvers() as Record<string, Record<string, unknown>>;
  for (const ext of EXTENSIONS) for (const [typeName, fields] of Object.entries(ext.resolvers)) map[typeName] = { ...(map[typeName] ?? {}), ...fields };
  for (const [typeName, fields] of Object.entries(map)) {
    const type = schema.getType(typeName) as any;
    const f = type.getFields();
    for (const [name, fn] of Object.entries(fields)) {
      if (!f[name]) continue; // shared resolvers (commonNode) cover fields some node types do not have
      f[name].resolve = fn;
    }
  }
  (schema.getType('BaseNode') as any).resolveType = (v: { __typename?: string }) => v.__typename;
  for (const [name, scalar] of [['DateTime', dateScalar()], ['JSON', jsonScalar()]] as const) {
    const t = schema.getType(name) as GraphQLScalarType;
    t.serialize = scalar.serialize;
    t.parseValue = scalar.parseValue;
    t.parseLiteral = scalar.parseLiteral;
  }
  // typed attrib objects read plain properties of the effective-attributes object
  return schema;
}
