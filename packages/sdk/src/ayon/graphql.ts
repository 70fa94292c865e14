/**
 * GraphQL documents as ayon_api generates them: declared variables only for the filters in use,
 * dotted field names nested, connections paged with `first: 300` and `after: "<endCursor>"` until
 * `hasNextPage` is false.
 */
export const PAGE_SIZE = 300;

export const DEFAULT_FIELDS = {
  folder: ['id', 'name', 'label', 'folderType', 'path', 'parentId', 'active', 'thumbnailId', 'data', 'status', 'tags', 'allAttrib'],
  task: ['id', 'name', 'label', 'taskType', 'folderId', 'active', 'thumbnailId', 'assignees', 'data', 'status', 'tags', 'allAttrib'],
  product: ['id', 'name', 'folderId', 'active', 'productType', 'productBaseType', 'data', 'status', 'tags', 'allAttrib'],
  version: ['id', 'name', 'version', 'productId', 'taskId', 'active', 'author', 'thumbnailId', 'createdAt', 'updatedAt', 'data', 'status', 'tags', 'allAttrib'],
  representation: [
    'id',
    'name',
    'context',
    'createdAt',
    'active',
    'versionId',
    'data',
    'status',
    'tags',
    'traits',
    'allAttrib',
    'files.name',
    'files.hash',
    'files.id',
    'files.path',
    'files.size',
  ],
  workfile: ['active', 'createdAt', 'createdBy', 'id', 'name', 'path', 'projectName', 'taskId', 'thumbnailId', 'updatedAt', 'updatedBy', 'data', 'status', 'tags', 'allAttrib'],
  user: ['accessGroups', 'defaultAccessGroups', 'name', 'isService', 'isManager', 'isGuest', 'isAdmin', 'createdAt', 'active', 'hasPassword', 'updatedAt', 'apiKeyPreview', 'allAttrib'],
  link: ['id', 'linkType', 'projectName', 'entityType', 'entityId', 'name', 'direction', 'description', 'author', 'data'],
} as const;

export type EntityKind = 'folder' | 'task' | 'product' | 'version' | 'representation' | 'workfile';

type Tree = { [k: string]: Tree | true };

/** "files.name" → {files: {name: true}}. */
export function fieldsToTree(fields: Iterable<string>): Tree {
  const out: Tree = {};
  for (const f of fields) {
    const parts = f.split('.');
    let cur: Tree = out;
    for (let i = 0; i < parts.length - 1; i++) {
      const next = cur[parts[i]];
      if (next === true) break;
      cur = (next as Tree | undefined) ?? (cur[parts[i]] = {});
    }
    if (cur[parts[parts.length - 1]] === undefined) cur[parts[parts.length - 1]] = true;
  }
  return out;
}

export function renderTree(tree: Tree): string {
  return Object.entries(tree)
    .map(([k, v]) => (v === true ? k : `${k} { ${renderTree(v)} }`))
    .join(' ');
}

export interface Filter {
  /** GraphQL argument name */
  arg: string;
  /** GraphQL variable type, e.g. "[String!]" */
  type: string;
  value: unknown;
}

/** A connection query under `project(name:)` (or at the root when `projectName` is null). */
export function connectionQuery(opts: {
  name: string;
  root: string;
  projectName: string | null;
  filters: Filter[];
  fields: Iterable<string>;
  after?: string | null;
  first?: number;
  extraNodeSelection?: string;
}): { query: string; variables: Record<string, unknown> } {
  const vars: Record<string, unknown> = {};
  const decl: string[] = [];
  const args: string[] = [];
  opts.filters.forEach((f, i) => {
    if (f.value === undefined || f.value === null) return;
    const v = `v${i}`;
    vars[v] = f.value;
    decl.push(`$${v}: ${f.type}`);
    args.push(`${f.arg}: $${v}`);
  });
  args.push(`first: ${opts.first ?? PAGE_SIZE}`);
  if (opts.after) args.push(`after: ${JSON.stringify(opts.after)}`);
  const node = renderTree(fieldsToTree(opts.fields)) + (opts.extraNodeSelection ? ` ${opts.extraNodeSelection}` : '');
  const conn = `${opts.root}(${args.join(', ')}) { edges { node { ${node} } } pageInfo { endCursor hasNextPage } }`;
  if (opts.projectName !== null) {
    vars.projectName = opts.projectName;
    decl.unshift('$projectName: String!');
    return { query: `query ${opts.name}(${decl.join(', ')}) { project(name: $projectName) { ${conn} } }`, variables: vars };
  }
  return { query: `query ${opts.name}${decl.length ? `(${decl.join(', ')})` : ''} { ${conn} }`, variables: vars };
}
