/**
 * AyonClient methods for AYON entity lists (ayon-python-api's ListsAPI in camelCase, same endpoints
 * and bodies): lists read through GraphQL (paged) or REST, created, patched and deleted; their items
 * added, patched, reordered and replaced/merged/deleted in bulk; list attribute definitions; list
 * folders.
 */
import { AyonClient } from './client.js';
import { PAGE_SIZE, fieldsToTree, renderTree } from './graphql.js';

type Dict = Record<string, any>;

export type EntityListEntityType = 'folder' | 'product' | 'version' | 'representation' | 'task' | 'workfile';
export type EntityListItemMode = 'replace' | 'merge' | 'delete';
export type EntityListScope = 'generic' | 'review-session';

export interface EntityListAttributeDefinition {
  name: string;
  data: Dict;
}

/** ayon_api's DEFAULT_ENTITY_LIST_FIELDS (+ allAttrib, which the client always adds). */
export const DEFAULT_ENTITY_LIST_FIELDS = [
  'id',
  'count',
  'allAttrib',
  'attributes',
  'active',
  'createdBy',
  'createdAt',
  'entityListType',
  'data',
  'entityType',
  'label',
  'owner',
  'tags',
  'updatedAt',
  'updatedBy',
];

export interface GetEntityListsOptions {
  listIds?: Iterable<string>;
  active?: boolean;
  /** list fields; `items` or `items.<field>` adds the items (by default id, entityId, entityType, position) */
  fields?: Iterable<string>;
}

export interface CreateEntityListOptions {
  listType?: string;
  access?: Dict;
  attrib?: Dict;
  data?: Dict;
  tags?: string[];
  template?: Dict;
  entityListFolderId?: string;
  owner?: string;
  active?: boolean;
  items?: Dict[];
  listId?: string;
}

export interface UpdateEntityListOptions {
  label?: string;
  access?: Dict;
  attrib?: Dict;
  data?: Dict;
  tags?: string[];
  /** null moves the list to the root; undefined keeps its folder */
  entityListFolderId?: string | null;
  owner?: string;
  active?: boolean;
}

export interface EntityListItemOptions {
  position?: number;
  label?: string;
  attrib?: Dict;
  data?: Dict;
  tags?: string[];
}

export interface EntityListFolderOptions {
  parentId?: string | null;
  color?: string;
  icon?: string;
  scope?: EntityListScope[] | string[];
  data?: Dict;
  access?: Dict;
}

declare module './client.js' {
  interface AyonClient {
    getEntityLists(projectName: string, opts?: GetEntityListsOptions): AsyncGenerator<Dict>;
    getEntityListRest(projectName: string, listId: string): Promise<Dict>;
    getEntityListById(projectName: string, listId: string, fields?: Iterable<string>): Promise<Dict | null>;
    createEntityList(projectName: string, entityType: EntityListEntityType, label: string, opts?: CreateEntityListOptions): Promise<string>;
    updateEntityList(projectName: string, listId: string, opts: UpdateEntityListOptions): Promise<void>;
    deleteEntityList(projectName: string, listId: string): Promise<void>;
    getEntityListAttributeDefinitions(projectName: string, listId: string): Promise<EntityListAttributeDefinition[]>;
    setEntityListAttributeDefinitions(projectName: string, listId: string, definitions: EntityListAttributeDefinition[]): Promise<void>;
    createEntityListItem(projectName: string, listId: string, entityId: string, opts?: EntityListItemOptions & { itemId?: string }): Promise<string>;
    updateEntityListItems(projectName: string, listId: string, items: Dict[], mode: EntityListItemMode): Promise<void>;
    updateEntityListItem(projectName: string, listId: string, itemId: string, opts: EntityListItemOptions & { newListId?: string }): Promise<void>;
    deleteEntityListItem(projectName: string, listId: string, itemId: string): Promise<void>;
    getEntityListEntities(projectName: string, entityListId: string): Promise<Dict>;
    getEntityListFoldersRaw(projectName: string): Promise<Dict>;
    getEntityListFolders(projectName: string): Promise<Dict[]>;
    createEntityListFolder(projectName: string, label: string, opts?: EntityListFolderOptions & { entityListFolderId?: string }): Promise<string>;
    updateEntityListFolder(projectName: string, entityListFolderId: string, opts: EntityListFolderOptions & { label?: string }): Promise<void>;
    deleteEntityListFolder(projectName: string, entityListFolderId: string): Promise<void>;
    setEntityListFoldersOrder(projectName: string, order: string[]): Promise<void>;
    materializeEntityList(projectName: string, listId: string): Promise<Dict>;
    setEntityListItemsOrder(projectName: string, listId: string, order: string[]): Promise<void>;
  }
}

const newId = () => globalThis.crypto.randomUUID().replace(/-/g, '');
const parse = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v);

AyonClient.prototype.getEntityLists = async function* (this: AyonClient, projectName: string, opts: GetEntityListsOptions = {}) {
  const listFields = new Set<string>();
  const itemFields = new Set<string>();
  for (const f of opts.fields ?? DEFAULT_ENTITY_LIST_FIELDS) {
    if (f === 'attrib' || f.startsWith('attrib.')) listFields.add('allAttrib');
    else if (f === 'items') ['id', 'entityId', 'entityType', 'position'].forEach((x) => itemFields.add(x));
    else if (f.startsWith('items.')) itemFields.add(f.slice(6));
    else listFields.add(f);
  }
  listFields.add('id');
  if (opts.active !== undefined) listFields.add('active');
  let listIds: string[] | null = null;
  if (opts.listIds !== undefined) {
    listIds = [...new Set(opts.listIds)];
    if (!listIds.length) return;
  }
  const defaults = listFields.has('allAttrib') ? await this.getAttributesForType('list') : {};
  const itemSel = renderTree(fieldsToTree(itemFields));
  let after: string | null = null;
  for (;;) {
    const args: string[] = [`first: ${PAGE_SIZE}`, ...(listIds ? ['ids: $listIds'] : []), ...(after ? [`after: ${JSON.stringify(after)}`] : [])];
    const query: string = `query EntityLists($projectName: String!${listIds ? ', $listIds: [String!]' : ''}) { project(name: $projectName) { entityLists(${args.join(', ')}) { edges { node { ${renderTree(fieldsToTree(listFields))} } } pageInfo { endCursor hasNextPage } } } }`;
    const conn: Dict = (await this.queryGraphql(query, { projectName, ...(listIds ? { listIds } : {}) })).project.entityLists;
    for (const { node } of conn.edges as Array<{ node: Dict }>) {
      if (opts.active !== undefined && node.active !== opts.active) continue;
      if (typeof node.attributes === 'string') node.attributes = JSON.parse(node.attributes);
      if ('data' in node) node.data = parse(node.data) ?? {};
      if (typeof node.allAttrib === 'string') {
        node.attrib = JSON.parse(node.allAttrib);
        for (const [name, def] of Object.entries(defaults)) if (!(name in node.attrib)) node.attrib[name] = def.default ?? null;
      }
      if (itemFields.size) node.items = await collectItems(this, projectName, node.id, itemSel);
      yield node;
    }
    if (!conn.pageInfo.hasNextPage) return;
    if (!conn.pageInfo.endCursor || conn.pageInfo.endCursor === after) throw new Error("Cursor didn't change during pagination.");
    after = conn.pageInfo.endCursor;
  }
};

/** Every item of one list, paged (edge-level item fields, as ayon_api selects them). */
async function collectItems(api: AyonClient, projectName: string, listId: string, selection: string): Promise<Dict[]> {
  const out: Dict[] = [];
  let after: string | null = null;
  for (;;) {
    const page: string = `first: ${PAGE_SIZE}${after ? `, after: ${JSON.stringify(after)}` : ''}`;
    const query: string = `query EntityListItems($projectName: String!, $listId: String!) { project(name: $projectName) { entityList(id: $listId) { items(${page}) { edges { ${selection} } pageInfo { endCursor hasNextPage } } } } }`;
    const conn: Dict = (await api.queryGraphql(query, { projectName, listId })).project.entityList.items;
    out.push(...conn.edges);
    if (!conn.pageInfo.hasNextPage) return out;
    if (!conn.pageInfo.endCursor || conn.pageInfo.endCursor === after) throw new Error("Cursor didn't change during pagination.");
    after = conn.pageInfo.endCursor;
  }
}

AyonClient.prototype.getEntityListRest = async function (this: AyonClient, projectName: string, listId: string) {
  return (await this.get(`projects/${projectName}/lists/${listId}`)).data;
};

AyonClient.prototype.getEntityListById = async function (this: AyonClient, projectName: string, listId: string, fields?: Iterable<string>) {
  for await (const l of this.getEntityLists(projectName, { listIds: [listId], fields })) return l;
  return null;
};

AyonClient.prototype.createEntityList = async function (this: AyonClient, projectName: string, entityType: EntityListEntityType, label: string, opts: CreateEntityListOptions = {}) {
  const id = opts.listId ?? newId();
  const body: Dict = { id, entityType, label };
  const pairs: Array<[string, unknown]> = [
    ['entityListType', opts.listType],
    ['access', opts.access],
    ['attrib', opts.attrib],
    ['template', opts.template],
    ['tags', opts.tags],
    ['owner', opts.owner],
    ['entityListFolderId', opts.entityListFolderId],
    ['data', opts.data],
    ['active', opts.active],
    ['items', opts.items],
  ];
  for (const [k, v] of pairs) if (v !== undefined && v !== null) body[k] = v;
  await this.post(`projects/${projectName}/lists`, body);
  return id;
};

AyonClient.prototype.updateEntityList = async function (this: AyonClient, projectName: string, listId: string, opts: UpdateEntityListOptions) {
  const body: Dict = {};
  for (const k of ['label', 'access', 'attrib', 'data', 'tags', 'owner', 'active'] as const) if (opts[k] !== undefined && opts[k] !== null) body[k] = opts[k];
  if (opts.entityListFolderId !== undefined) body.entityListFolderId = opts.entityListFolderId;
  await this.patch(`projects/${projectName}/lists/${listId}`, body);
};

AyonClient.prototype.deleteEntityList = async function (this: AyonClient, projectName: string, listId: string) {
  await this.delete(`projects/${projectName}/lists/${listId}`);
};

AyonClient.prototype.getEntityListAttributeDefinitions = async function (this: AyonClient, projectName: string, listId: string) {
  return (await this.get(`projects/${projectName}/lists/${listId}/attributes`)).data;
};

AyonClient.prototype.setEntityListAttributeDefinitions = async function (this: AyonClient, projectName: string, listId: string, definitions: EntityListAttributeDefinition[]) {
  await this.put(`projects/${projectName}/lists/${listId}/attributes`, definitions);
};

AyonClient.prototype.createEntityListItem = async function (this: AyonClient, projectName: string, listId: string, entityId: string, opts: EntityListItemOptions & { itemId?: string } = {}) {
  const id = opts.itemId ?? newId();
  const body: Dict = { id, entityId };
  for (const k of ['position', 'label', 'attrib', 'data', 'tags'] as const) if (opts[k] !== undefined && opts[k] !== null) body[k] = opts[k];
  await this.post(`projects/${projectName}/lists/${listId}/items`, body);
  return id;
};

AyonClient.prototype.updateEntityListItems = async function (this: AyonClient, projectName: string, listId: string, items: Dict[], mode: EntityListItemMode) {
  await this.patch(`projects/${projectName}/lists/${listId}/items`, { items, mode });
};

AyonClient.prototype.updateEntityListItem = async function (this: AyonClient, projectName: string, listId: string, itemId: string, opts: EntityListItemOptions & { newListId?: string }) {
  const body: Dict = {};
  // ayon_api sends new_list_id as "entityId" (the entity the item points at)
  if (opts.newListId !== undefined && opts.newListId !== null) body.entityId = opts.newListId;
  for (const k of ['position', 'label', 'attrib', 'data', 'tags'] as const) if (opts[k] !== undefined && opts[k] !== null) body[k] = opts[k];
  await this.patch(`projects/${projectName}/lists/${listId}/items/${itemId}`, body);
};

AyonClient.prototype.deleteEntityListItem = async function (this: AyonClient, projectName: string, listId: string, itemId: string) {
  await this.delete(`projects/${projectName}/lists/${listId}/items/${itemId}`);
};

AyonClient.prototype.getEntityListEntities = async function (this: AyonClient, projectName: string, entityListId: string) {
  return (await this.get(`projects/${projectName}/lists/${entityListId}/entities`)).data;
};

AyonClient.prototype.getEntityListFoldersRaw = async function (this: AyonClient, projectName: string) {
  return (await this.get(`projects/${projectName}/entityListFolders`)).data;
};

AyonClient.prototype.getEntityListFolders = async function (this: AyonClient, projectName: string) {
  return (await this.getEntityListFoldersRaw(projectName)).folders;
};

AyonClient.prototype.createEntityListFolder = async function (this: AyonClient, projectName: string, label: string, opts: EntityListFolderOptions & { entityListFolderId?: string } = {}) {
  const data: Dict = { ...(opts.data ?? {}) };
  if (opts.color) data.color = opts.color;
  if (opts.icon) data.icon = opts.icon;
  if (opts.scope && opts.scope.length) data.scope = opts.scope;
  const id = opts.entityListFolderId || newId();
  const body: Dict = { id, label };
  if (opts.parentId) body.parentId = opts.parentId;
  if (Object.keys(data).length) body.data = data;
  if (opts.access && Object.keys(opts.access).length) body.access = opts.access;
  await this.post(`projects/${projectName}/entityListFolders`, body);
  return id;
};

AyonClient.prototype.updateEntityListFolder = async function (this: AyonClient, projectName: string, entityListFolderId: string, opts: EntityListFolderOptions & { label?: string }) {
  const data: Dict = { ...(opts.data ?? {}) };
  if (opts.color) data.color = opts.color;
  if (opts.icon) data.icon = opts.icon;
  if (opts.scope !== undefined && opts.scope !== null) data.scope = opts.scope;
  const body: Dict = {};
  if (Object.keys(data).length) body.data = data;
  if (opts.label) body.label = opts.label;
  if (opts.access !== undefined && opts.access !== null) body.access = opts.access;
  if (opts.parentId !== undefined) body.parentId = opts.parentId;
  if (!Object.keys(body).length) return;
  await this.patch(`projects/${projectName}/entityListFolders/${entityListFolderId}`, body);
};

AyonClient.prototype.deleteEntityListFolder = async function (this: AyonClient, projectName: string, entityListFolderId: string) {
  await this.delete(`projects/${projectName}/entityListFolders/${entityListFolderId}`);
};

AyonClient.prototype.setEntityListFoldersOrder = async function (this: AyonClient, projectName: string, order: string[]) {
  await this.post(`projects/${projectName}/entityListFolders/order`, { order });
};

AyonClient.prototype.materializeEntityList = async function (this: AyonClient, projectName: string, listId: string) {
  return (await this.post(`projects/${projectName}/lists/${listId}/materialize`)).data;
};

AyonClient.prototype.setEntityListItemsOrder = async function (this: AyonClient, projectName: string, listId: string, order: string[]) {
  await this.post(`projects/${projectName}/lists/${listId}/order`, { order });
};

export const listsMethods = AyonClient;
