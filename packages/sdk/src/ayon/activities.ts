/**
 * AyonClient methods for AYON activities (ayon-python-api's ActivitiesAPI in camelCase, same
 * endpoints and bodies): the activity feed (paged GraphQL, ascending or newest first), comments,
 * reactions, watchers, activity categories, mention suggestions and activity batch operations.
 */
import { AyonClient } from './client.js';
import { FailedOperations } from './errors.js';
import { PAGE_SIZE, fieldsToTree, renderTree } from './graphql.js';

type Dict = Record<string, any>;

export type ActivityType = 'comment' | 'watch' | 'reviewable' | 'status.change' | 'assignee.add' | 'assignee.remove' | 'version.publish' | 'version.review' | 'attrib.change';
export type ActivityReferenceType = 'origin' | 'mention' | 'author' | 'relation' | 'watching';

/** ayon_api's DEFAULT_ACTIVITY_FIELDS */
export const DEFAULT_ACTIVITY_FIELDS = ['activityId', 'activityType', 'activityData', 'body', 'entityId', 'entityType', 'author.name'];

export interface GetActivitiesOptions {
  activityIds?: Iterable<string>;
  activityTypes?: Iterable<ActivityType | string>;
  entityIds?: Iterable<string>;
  entityNames?: Iterable<string>;
  entityType?: string;
  changedAfter?: string;
  changedBefore?: string;
  /** defaults to ['origin'], as ayon_api */
  referenceTypes?: Iterable<ActivityReferenceType | string>;
  fields?: Iterable<string>;
  limit?: number;
  /** 'ascending' (oldest first, default) or 'descending' (newest first) */
  order?: 'ascending' | 'descending';
}

export interface CreateActivityOptions {
  activityId?: string;
  body?: string;
  fileIds?: string[];
  timestamp?: string;
  data?: Dict;
}

export interface UpdateActivityOptions {
  body?: string;
  fileIds?: string[];
  appendFileIds?: boolean;
  data?: Dict;
}

export interface ActivityOperationResult {
  id: string;
  type: 'create' | 'update' | 'delete';
  success: boolean;
  status: number | null;
  detail: string | null;
  activityId: string | null;
}

export interface MentionSuggestions {
  users: Dict[];
  teams: Dict[];
  tasks: Dict[];
  versions: Dict[];
}

declare module './client.js' {
  interface AyonClient {
    getActivities(projectName: string, opts?: GetActivitiesOptions): AsyncGenerator<Dict>;
    getActivityById(projectName: string, activityId: string, opts?: { referenceTypes?: Iterable<string>; fields?: Iterable<string> }): Promise<Dict | null>;
    createActivity(projectName: string, entityId: string, entityType: string, activityType: ActivityType | string, opts?: CreateActivityOptions): Promise<string>;
    updateActivity(projectName: string, activityId: string, opts?: UpdateActivityOptions): Promise<void>;
    deleteActivity(projectName: string, activityId: string): Promise<void>;
    getRawActivityCategories(projectName: string): Promise<Dict>;
    getActivityCategories(projectName: string): Promise<Dict[]>;
    createActivityReaction(projectName: string, activityId: string, reaction: string): Promise<void>;
    deleteActivityReaction(projectName: string, activityId: string, reaction: string): Promise<void>;
    suggestEntityMention(projectName: string, entityId: string, entityType: 'folder' | 'task' | 'version'): Promise<MentionSuggestions>;
    getRawEntityWatchers(projectName: string, entityId: string, entityType: string): Promise<Dict>;
    getEntityWatchers(projectName: string, entityId: string, entityType: string): Promise<string[]>;
    setEntityWatchers(projectName: string, entityId: string, entityType: string, watchers: string[]): Promise<void>;
    sendActivitiesBatchOperations(projectName: string, operations: Dict[], opts?: { canFail?: boolean; waitForEvents?: boolean; raiseOnFail?: boolean }): Promise<ActivityOperationResult[]>;
  }
}

const list = (v: Iterable<string> | undefined) => (v === undefined ? undefined : [...v]);

AyonClient.prototype.getActivities = async function* (this: AyonClient, projectName: string, opts: GetActivitiesOptions = {}): AsyncGenerator<Dict> {
  if (!projectName) return;
  const lists: Array<[string, string[] | undefined]> = [
    ['activityIds', list(opts.activityIds)],
    ['activityTypes', list(opts.activityTypes)],
    ['entityIds', list(opts.entityIds)],
    ['entityNames', list(opts.entityNames)],
    ['referenceTypes', list(opts.referenceTypes) ?? ['origin']],
  ];
  // an explicitly empty filter can match nothing (ayon_api returns without asking)
  if (lists.some(([, v]) => v !== undefined && v.length === 0)) return;
  const vars: Dict = { projectName };
  const decl = ['$projectName: String!'];
  const args: string[] = [];
  for (const [k, v] of lists) {
    if (v === undefined) continue;
    vars[k] = v;
    decl.push(`$${k}: [String!]`);
    args.push(`${k}: $${k}`);
  }
  for (const [k, v] of [
    ['entityType', opts.entityType],
    ['changedAfter', opts.changedAfter],
    ['changedBefore', opts.changedBefore],
  ] as const) {
    if (v === undefined || v === null) continue;
    vars[k] = v;
    decl.push(`$${k}: String!`);
    args.push(`${k}: $${k}`);
  }
  const desc = opts.order === 'descending';
  decl.push('$cursor: String', '$size: Int');
  args.push(desc ? 'last: $size, before: $cursor' : 'first: $size, after: $cursor');
  const fields = renderTree(fieldsToTree(opts.fields ? [...opts.fields] : DEFAULT_ACTIVITY_FIELDS));
  const query = `query Activities(${decl.join(', ')}) { project(name: $projectName) { activities(${args.join(', ')}) { edges { node { ${fields} } } pageInfo { endCursor hasNextPage hasPreviousPage } } } }`;
  let cursor: string | null = null;
  let fetched = 0;
  for (;;) {
    const size = opts.limit ? Math.min(PAGE_SIZE, opts.limit - fetched) : PAGE_SIZE;
    if (size <= 0) return;
    const conn: Dict = (await this.queryGraphql(query, { ...vars, cursor, size })).project.activities;
    for (const e of conn.edges) {
      const a = e.node;
      if (typeof a.activityData === 'string') a.activityData = JSON.parse(a.activityData);
      fetched++;
      yield a;
    }
    const more = desc ? conn.pageInfo.hasPreviousPage : conn.pageInfo.hasNextPage;
    if (!more || (opts.limit && fetched >= opts.limit)) return;
    if (!conn.pageInfo.endCursor || conn.pageInfo.endCursor === cursor) throw new Error("Cursor didn't change during pagination.");
    cursor = conn.pageInfo.endCursor;
  }
};

AyonClient.prototype.getActivityById = async function (this: AyonClient, projectName: string, activityId: string, opts: { referenceTypes?: Iterable<string>; fields?: Iterable<string> } = {}) {
  for await (const a of this.getActivities(projectName, { activityIds: [activityId], referenceTypes: opts.referenceTypes, fields: opts.fields })) return a;
  return null;
};

AyonClient.prototype.createActivity = async function (this: AyonClient, projectName: string, entityId: string, entityType: string, activityType: string, opts: CreateActivityOptions = {}) {
  const body: Dict = { activityType };
  for (const [k, v] of [
    ['id', opts.activityId],
    ['body', opts.body],
    ['files', opts.fileIds],
    ['timestamp', opts.timestamp],
    ['data', opts.data],
  ] as const)
    if (v !== undefined && v !== null) body[k] = v;
  return (await this.post(`projects/${projectName}/${entityType}/${entityId}/activities`, body)).data.id as string;
};

AyonClient.prototype.updateActivity = async function (this: AyonClient, projectName: string, activityId: string, opts: UpdateActivityOptions = {}) {
  const body: Dict = {};
  if (opts.body !== undefined) body.body = opts.body;
  if (opts.fileIds !== undefined) {
    body.files = opts.fileIds;
    body.appendFiles = opts.appendFileIds ?? false;
  }
  if (opts.data !== undefined) body.data = opts.data;
  await this.patch(`projects/${projectName}/activities/${activityId}`, body);
};

AyonClient.prototype.deleteActivity = async function (this: AyonClient, projectName: string, activityId: string) {
  await this.delete(`projects/${projectName}/activities/${activityId}`);
};

AyonClient.prototype.getRawActivityCategories = async function (this: AyonClient, projectName: string) {
  return (await this.get(`projects/${projectName}/activityCategories`)).data;
};

AyonClient.prototype.getActivityCategories = async function (this: AyonClient, projectName: string) {
  return (await this.getRawActivityCategories(projectName)).categories;
};

AyonClient.prototype.createActivityReaction = async function (this: AyonClient, projectName: string, activityId: string, reaction: string) {
  await this.post(`projects/${projectName}/activities/${activityId}/reactions`, { reaction });
};

AyonClient.prototype.deleteActivityReaction = async function (this: AyonClient, projectName: string, activityId: string, reaction: string) {
  await this.delete(`projects/${projectName}/activities/${activityId}/reactions/${encodeURIComponent(reaction)}`);
};

AyonClient.prototype.suggestEntityMention = async function (this: AyonClient, projectName: string, entityId: string, entityType: 'folder' | 'task' | 'version') {
  // the snake_case keys ayon_api sends; the server accepts camelCase too
  return (await this.post(`projects/${projectName}/suggest`, { entity_id: entityId, entity_type: entityType })).data as MentionSuggestions;
};

AyonClient.prototype.getRawEntityWatchers = async function (this: AyonClient, projectName: string, entityId: string, entityType: string) {
  return (await this.get(`projects/${projectName}/${entityType}/${entityId}/watchers`)).data;
};

AyonClient.prototype.getEntityWatchers = async function (this: AyonClient, projectName: string, entityId: string, entityType: string) {
  return (await this.getRawEntityWatchers(projectName, entityId, entityType)).watchers;
};

AyonClient.prototype.setEntityWatchers = async function (this: AyonClient, projectName: string, entityId: string, entityType: string, watchers: string[]) {
  await this.post(`projects/${projectName}/${entityType}/${entityId}/watchers`, { watchers });
};

AyonClient.prototype.sendActivitiesBatchOperations = async function (
  this: AyonClient,
  projectName: string,
  operations: Dict[],
  opts: { canFail?: boolean; waitForEvents?: boolean; raiseOnFail?: boolean } = {},
) {
  const body = operations.filter(Boolean).map((o) => ({ ...o, id: o.id ?? globalThis.crypto.randomUUID().replace(/-/g, '') }));
  if (!body.length) return [] as ActivityOperationResult[];
  const r = await this.request('POST', `projects/${projectName}/operations/activities`, { json: { operations: body, canFail: opts.canFail ?? false, waitForEvents: opts.waitForEvents ?? false }, raw: true });
  if (!r.data?.operations) throw new FailedOperations(`Operation failed. Detail: ${r.data?.detail ?? r.status}`);
  if ((opts.raiseOnFail ?? true) && !r.data.success) {
    const failed = (r.data.operations as ActivityOperationResult[]).find((o) => !o.success);
    const sent = failed ? body.find((o) => o.id === failed.id) : undefined;
    throw new FailedOperations(failed ? `Operation "${failed.id}" failed with data:\n${JSON.stringify(sent ?? failed, null, 2)}\nDetail: ${failed.detail}.` : `Operations failed. Server response:\n${JSON.stringify(r.data)}`, r.data);
  }
  return r.data.operations as ActivityOperationResult[];
};

export const activitiesMethods = AyonClient;
