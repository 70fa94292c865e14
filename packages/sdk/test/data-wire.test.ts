/**
 * What the data resources put on the wire, checked on a loopback HTTP server: the exact documents of
 * specklepy-graphql-ops.txt, variables with every key specklepy sends (nulls included, in specklepy's
 * order), how answers are unwrapped, and the errors for answers the SDK cannot use.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import * as sdk from '../src/index.js';
import { GraphQLError, SpeckleAuthError, SpeckleClient, SpeckleTransportError } from '../src/index.js';
import { json, startHttpServer, type TestHttpServer } from './helpers/httpServer.js';

const TOKEN = 'aaaaaaaaaabbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const OPS_FILE = '/work/shared/reference/specklepy-graphql-ops.txt';

const USER = { id: 'u1', email: null, name: 'Ada', bio: null, company: null, avatar: null, verified: true, role: 'server:user' };
const LIMITED = { id: 'u2', name: 'Bo', bio: null, company: null, avatar: null, verified: null, role: 'server:user' };
const PROJECT = {
  id: 'p1',
  name: 'P',
  description: null,
  visibility: 'PRIVATE',
  allowPublicComments: false,
  role: 'stream:owner',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  sourceApps: [],
  workspaceId: null,
};
const MODEL = {
  id: 'm1',
  name: 'main',
  displayName: 'main',
  description: null,
  author: LIMITED,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  previewUrl: null,
};
const VERSION = {
  id: 'v1',
  referencedObject: 'o'.repeat(32),
  message: null,
  sourceApplication: 'py',
  createdAt: '2026-01-01T00:00:00.000Z',
  previewUrl: 'http://x/preview/p1/commits/v1',
  authorUser: LIMITED,
};
const OK = { authorized: true, code: 'OK', message: 'OK' };
const PAGE = <T>(items: T[]) => ({ totalCount: items.length, cursor: items.length ? 'c1' : null, items });
const TEAM = { ...PROJECT, team: [{ id: 'u1', role: 'stream:owner', user: LIMITED }], invitedTeam: [] };
const INVITE = {
  id: 'i1',
  inviteId: 'i1',
  projectId: 'p1',
  projectName: 'P',
  title: 'P',
  role: 'stream:contributor',
  token: 'tok',
  user: LIMITED,
  invitedBy: LIMITED,
};

interface WireCase {
  name: string;
  ops: string;
  call: (c: SpeckleClient) => Promise<unknown>;
  variables: Record<string, unknown> | undefined;
  data: unknown;
  result: unknown;
}

const CASES: WireCase[] = [
  {
    name: 'project.get',
    ops: 'project.get',
    call: (c) => c.project.get('p1'),
    variables: { projectId: 'p1' },
    data: { data: PROJECT },
    result: PROJECT,
  },
  {
    name: 'project.getPermissions',
    ops: 'project.get_permissions',
    call: (c) => c.project.getPermissions('p1'),
    variables: { projectId: 'p1' },
    data: { data: { data: { canCreateModel: OK, canDelete: OK, canLoad: OK, canPublish: OK } } },
    result: { canCreateModel: OK, canDelete: OK, canLoad: OK, canPublish: OK },
  },
  {
    name: 'project.getWithModels (defaults)',
    ops: 'project.get_with_models',
    call: (c) => c.project.getWithModels('p1'),
    variables: { projectId: 'p1', modelsLimit: 25, modelsCursor: null, modelsFilter: null },
    data: { data: { ...PROJECT, models: PAGE([MODEL]) } },
    result: { ...PROJECT, models: PAGE([MODEL]) },
  },
  {
    name: 'project.getWithModels (filter with every key)',
    ops: 'project.get_with_models',
    call: (c) => c.project.getWithModels('p1', { modelsLimit: 5, modelsCursor: 'x', modelsFilter: { search: 'fa' } }),
    variables: {
      projectId: 'p1',
      modelsLimit: 5,
      modelsCursor: 'x',
      modelsFilter: { contributors: null, excludeIds: null, ids: null, onlyWithVersions: null, search: 'fa', sourceApps: null },
    },
    data: { data: { ...PROJECT, models: PAGE([]) } },
    result: { ...PROJECT, models: PAGE([]) },
  },
  {
    name: 'project.getWithTeam',
    ops: 'project.get_with_team',
    call: (c) => c.project.getWithTeam('p1'),
    variables: { projectId: 'p1' },
    data: { data: TEAM },
    result: TEAM,
  },
  {
    name: 'project.create (every key, nulls)',
    ops: 'project.create',
    call: (c) => c.project.create({ name: 'P' }),
    variables: { input: { name: 'P', description: null, visibility: null } },
    data: { data: { data: PROJECT } },
    result: PROJECT,
  },
  {
    name: 'project.update',
    ops: 'project.update',
    call: (c) => c.project.update({ id: 'p1', visibility: 'PUBLIC' }),
    variables: { input: { id: 'p1', name: null, description: null, allowPublicComments: null, visibility: 'PUBLIC' } },
    data: { data: { data: PROJECT } },
    result: PROJECT,
  },
  {
    name: 'project.delete',
    ops: 'project.delete',
    call: (c) => c.project.delete('p1'),
    variables: { projectId: 'p1' },
    data: { data: { data: true } },
    result: true,
  },
  {
    name: 'project.updateRole',
    ops: 'project.update_role',
    call: (c) => c.project.updateRole({ projectId: 'p1', userId: 'u2', role: null }),
    variables: { input: { userId: 'u2', projectId: 'p1', role: null } },
    data: { data: { data: TEAM } },
    result: TEAM,
  },
  {
    name: 'model.get',
    ops: 'model.get',
    call: (c) => c.model.get('m1', 'p1'),
    variables: { modelId: 'm1', projectId: 'p1' },
    data: { data: { data: MODEL } },
    result: MODEL,
  },
  {
    name: 'model.getWithVersions',
    ops: 'model.get_with_versions',
    call: (c) => c.model.getWithVersions('m1', 'p1', { versionsFilter: { priorityIds: ['v1'] } }),
    variables: {
      projectId: 'p1',
      modelId: 'm1',
      versionsLimit: 25,
      versionsCursor: null,
      versionsFilter: { priorityIds: ['v1'], priorityIdsOnly: null },
    },
    data: { data: { data: { ...MODEL, versions: PAGE([VERSION]) } } },
    result: { ...MODEL, versions: PAGE([VERSION]) },
  },
  {
    name: 'model.getModels',
    ops: 'model.get_models',
    call: (c) => c.model.getModels('p1'),
    variables: { projectId: 'p1', modelsLimit: 25, modelsCursor: null, modelsFilter: null },
    data: { data: { data: PAGE([MODEL]) } },
    result: PAGE([MODEL]),
  },
  {
    name: 'model.create',
    ops: 'model.create',
    call: (c) => c.model.create({ projectId: 'p1', name: 'a/b' }),
    variables: { input: { name: 'a/b', description: null, projectId: 'p1' } },
    data: { data: { data: MODEL } },
    result: MODEL,
  },
  {
    name: 'model.update',
    ops: 'model.update',
    call: (c) => c.model.update({ projectId: 'p1', id: 'm1', description: 'd' }),
    variables: { input: { id: 'm1', name: null, description: 'd', projectId: 'p1' } },
    data: { data: { data: MODEL } },
    result: MODEL,
  },
  {
    name: 'model.delete',
    ops: 'model.delete',
    call: (c) => c.model.delete({ projectId: 'p1', id: 'm1' }),
    variables: { input: { id: 'm1', projectId: 'p1' } },
    data: { data: { data: true } },
    result: true,
  },
  {
    name: 'model.getPermissions',
    ops: 'model.get_permissions',
    call: (c) => c.model.getPermissions('p1', 'm1'),
    variables: { projectId: 'p1', modelId: 'm1' },
    data: { data: { data: { data: { canUpdate: OK, canDelete: OK, canCreateVersion: OK } } } },
    result: { canUpdate: OK, canDelete: OK, canCreateVersion: OK },
  },
  {
    name: 'version.get',
    ops: 'version.get',
    call: (c) => c.version.get('v1', 'p1'),
    variables: { projectId: 'p1', versionId: 'v1' },
    data: { data: { data: VERSION } },
    result: VERSION,
  },
  {
    name: 'version.getVersions',
    ops: 'version.get_versions',
    call: (c) => c.version.getVersions('m1', 'p1', { limit: 3 }),
    variables: { projectId: 'p1', modelId: 'm1', limit: 3, cursor: null, filter: null },
    data: { data: { data: { data: PAGE([VERSION]) } } },
    result: PAGE([VERSION]),
  },
  {
    name: 'version.create (every key; sourceApplication defaults to atrium-sdk)',
    ops: 'version.create',
    call: (c) => c.version.create({ objectId: 'o'.repeat(32), modelId: 'm1', projectId: 'p1' }),
    variables: {
      input: {
        objectId: 'o'.repeat(32),
        modelId: 'm1',
        projectId: 'p1',
        message: null,
        sourceApplication: 'atrium-sdk',
        totalChildrenCount: null,
        parents: null,
      },
    },
    data: { data: { data: VERSION } },
    result: VERSION,
  },
  {
    name: 'version.update',
    ops: 'version.update',
    call: (c) => c.version.update({ versionId: 'v1', projectId: 'p1', message: null }),
    variables: { input: { versionId: 'v1', projectId: 'p1', message: null } },
    data: { data: { data: VERSION } },
    result: VERSION,
  },
  {
    name: 'version.moveToModel',
    ops: 'version.move_to_model',
    call: (c) => c.version.moveToModel({ projectId: 'p1', versionIds: ['v1'], targetModelName: 'x' }),
    variables: { input: { targetModelName: 'x', versionIds: ['v1'], projectId: 'p1' } },
    data: { data: { data: { data: 'm2' } } },
    result: 'm2',
  },
  {
    name: 'version.delete',
    ops: 'version.delete',
    call: (c) => c.version.delete({ projectId: 'p1', versionIds: ['v1'] }),
    variables: { input: { versionIds: ['v1'], projectId: 'p1' } },
    data: { data: { data: true } },
    result: true,
  },
  {
    name: 'version.received',
    ops: 'version.received',
    call: (c) => c.version.received({ projectId: 'p1', versionId: 'v1', sourceApplication: 'ts' }),
    variables: { input: { versionId: 'v1', projectId: 'p1', sourceApplication: 'ts', message: null } },
    data: { data: { data: true } },
    result: true,
  },
  {
    name: 'activeUser.update',
    ops: 'active_user.update',
    call: (c) => c.activeUser.update({ bio: 'b' }),
    variables: { input: { avatar: null, bio: 'b', company: null, name: null } },
    data: { data: { data: USER } },
    result: USER,
  },
  {
    name: 'activeUser.getProjects',
    ops: 'active_user.get_projects',
    call: (c) => c.activeUser.getProjects({ filter: { personalOnly: true } }),
    variables: {
      limit: 25,
      cursor: null,
      filter: { search: null, onlyWithRoles: null, workspaceId: null, personalOnly: true, includeImplicitAccess: null },
    },
    data: { data: { data: PAGE([PROJECT]) } },
    result: PAGE([PROJECT]),
  },
  {
    name: 'activeUser.getProjectsWithPermissions',
    ops: 'active_user.get_projects_with_permissions',
    call: (c) => c.activeUser.getProjectsWithPermissions(),
    variables: { limit: 25, cursor: null, filter: null },
    data: { data: { data: PAGE([PROJECT]) } },
    result: PAGE([PROJECT]),
  },
  {
    name: 'activeUser.getProjectInvites',
    ops: 'active_user.get_project_invites',
    call: (c) => c.activeUser.getProjectInvites(),
    variables: undefined,
    data: { data: { data: [INVITE] } },
    result: [INVITE],
  },
  {
    name: 'activeUser.canCreatePersonalProjects',
    ops: 'active_user.can_create_personal_projects',
    call: (c) => c.activeUser.canCreatePersonalProjects(),
    variables: undefined,
    data: { data: { data: { data: OK } } },
    result: OK,
  },
  {
    name: 'otherUser.get',
    ops: 'other_user.get',
    call: (c) => c.otherUser.get('u2'),
    variables: { id: 'u2' },
    data: { data: LIMITED },
    result: LIMITED,
  },
  {
    name: 'otherUser.get (no such user)',
    ops: 'other_user.get',
    call: (c) => c.otherUser.get('zz'),
    variables: { id: 'zz' },
    data: { data: null },
    result: null,
  },
  {
    name: 'otherUser.userSearch',
    ops: 'other_user.user_search',
    call: (c) => c.otherUser.userSearch('bob'),
    variables: { query: 'bob', limit: 25, cursor: null, archived: false, emailOnly: false },
    data: { data: { cursor: null, items: [LIMITED] } },
    result: { cursor: null, items: [LIMITED] },
  },
  {
    name: 'projectInvite.create',
    ops: 'project_invite.create',
    call: (c) => c.projectInvite.create('p1', { userId: 'u2', role: 'stream:contributor' }),
    variables: { projectId: 'p1', input: { email: null, role: 'stream:contributor', serverRole: null, userId: 'u2' } },
    data: { data: { data: { data: TEAM } } },
    result: TEAM,
  },
  {
    name: 'projectInvite.use',
    ops: 'project_invite.use',
    call: (c) => c.projectInvite.use({ accept: true, projectId: 'p1', token: 'tok' }),
    variables: { input: { accept: true, projectId: 'p1', token: 'tok' } },
    data: { data: { data: { data: true } } },
    result: true,
  },
  {
    name: 'projectInvite.get',
    ops: 'project_invite.get',
    call: (c) => c.projectInvite.get('p1', null),
    variables: { projectId: 'p1', token: null },
    data: { data: INVITE },
    result: INVITE,
  },
  {
    name: 'projectInvite.cancel',
    ops: 'project_invite.cancel',
    call: (c) => c.projectInvite.cancel('p1', 'i1'),
    variables: { projectId: 'p1', inviteId: 'i1' },
    data: { data: { data: { data: TEAM } } },
    result: TEAM,
  },
];

/** The documents of the ops file, by `resource.method`. */
function opsDocuments(): Map<string, string> | undefined {
  if (!fs.existsSync(OPS_FILE)) return undefined;
  const docs = new Map<string, string>();
  for (const line of fs.readFileSync(OPS_FILE, 'utf8').split('\n')) {
    const m = /^([a-z_]+\.[a-z_]+): (.*)$/.exec(line);
    if (m) docs.set(m[1], m[2].split('   #')[0].trim());
  }
  return docs;
}

let srv: TestHttpServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

async function clientAnswering(answer: (body: { query: string; variables?: Record<string, unknown> }) => unknown): Promise<SpeckleClient> {
  srv = await startHttpServer((req, res) => {
    const body = JSON.parse(req.body) as { query: string; variables?: Record<string, unknown> };
    if (body.query.startsWith('query User {data:activeUser {id email')) return json(res, 200, { data: { data: USER } });
    if (body.query.startsWith('query Server {serverInfo {name')) {
      return json(res, 200, { data: { serverInfo: { name: 'x', version: '2.31.14', workspaces: { workspacesEnabled: false } } } });
    }
    json(res, 200, answer(body));
  });
  const c = new SpeckleClient({ host: srv.url, useSsl: false });
  await c.authenticateWithToken(TOKEN);
  return c;
}

describe('documents', () => {
  const docs = opsDocuments();
  const exported = sdk as unknown as Record<string, unknown>;
  const CONSTANTS: Record<string, string> = {
    'active_user.get': 'ACTIVE_USER_GET_QUERY',
    'active_user.update': 'ACTIVE_USER_UPDATE_MUTATION',
    'active_user.get_projects': 'ACTIVE_USER_GET_PROJECTS_QUERY',
    'active_user.get_project_invites': 'ACTIVE_USER_GET_PROJECT_INVITES_QUERY',
    'active_user.can_create_personal_projects': 'ACTIVE_USER_CAN_CREATE_PERSONAL_PROJECTS_QUERY',
    'active_user.get_projects_with_permissions': 'ACTIVE_USER_GET_PROJECTS_WITH_PERMISSIONS_QUERY',
    'other_user.get': 'OTHER_USER_GET_QUERY',
    'other_user.user_search': 'OTHER_USER_USER_SEARCH_QUERY',
    'project.get': 'PROJECT_GET_QUERY',
    'project.get_permissions': 'PROJECT_GET_PERMISSIONS_QUERY',
    'project.get_with_models': 'PROJECT_GET_WITH_MODELS_QUERY',
    'project.get_with_team': 'PROJECT_GET_WITH_TEAM_QUERY',
    'project.create': 'PROJECT_CREATE_MUTATION',
    'project.update': 'PROJECT_UPDATE_MUTATION',
    'project.delete': 'PROJECT_DELETE_MUTATION',
    'project.update_role': 'PROJECT_UPDATE_ROLE_MUTATION',
    'model.get': 'MODEL_GET_QUERY',
    'model.get_with_versions': 'MODEL_GET_WITH_VERSIONS_QUERY',
    'model.get_models': 'MODEL_GET_MODELS_QUERY',
    'model.create': 'MODEL_CREATE_MUTATION',
    'model.delete': 'MODEL_DELETE_MUTATION',
    'model.update': 'MODEL_UPDATE_MUTATION',
    'model.get_permissions': 'MODEL_GET_PERMISSIONS_QUERY',
    'version.get': 'VERSION_GET_QUERY',
    'version.get_versions': 'VERSION_GET_VERSIONS_QUERY',
    'version.create': 'VERSION_CREATE_MUTATION',
    'version.update': 'VERSION_UPDATE_MUTATION',
    'version.move_to_model': 'VERSION_MOVE_TO_MODEL_MUTATION',
    'version.delete': 'VERSION_DELETE_MUTATION',
    'version.received': 'VERSION_RECEIVED_MUTATION',
    'project_invite.create': 'PROJECT_INVITE_CREATE_MUTATION',
    'project_invite.use': 'PROJECT_INVITE_USE_MUTATION',
    'project_invite.get': 'PROJECT_INVITE_GET_QUERY',
    'project_invite.cancel': 'PROJECT_INVITE_CANCEL_MUTATION',
    'subscription.user_projects_updated': 'USER_PROJECTS_UPDATED_SUBSCRIPTION',
    'subscription.project_models_updated': 'PROJECT_MODELS_UPDATED_SUBSCRIPTION',
    'subscription.project_updated': 'PROJECT_UPDATED_SUBSCRIPTION',
    'subscription.project_versions_updated': 'PROJECT_VERSIONS_UPDATED_SUBSCRIPTION',
  };

  it.skipIf(!docs).each(Object.entries(CONSTANTS))('%s is the document of specklepy-graphql-ops.txt', (op, constant) => {
    expect(exported[constant]).toBe(docs!.get(op));
  });
});

describe.each(CASES)('$name', (wire) => {
  it('sends the document and the variables specklepy sends, and unwraps the answer', async () => {
    const c = await clientAnswering(() => ({ data: wire.data }));
    const result = await wire.call(c);
    expect(result).toEqual(wire.result);
    const sent = JSON.parse(srv!.requests.at(-1)!.body) as { query: string; variables?: unknown };
    const docs = opsDocuments();
    if (docs) expect(sent.query).toBe(docs.get(wire.ops));
    expect(sent.variables).toEqual(wire.variables);
    // JSON key order as specklepy's pydantic dump
    if (wire.variables) expect(JSON.stringify(sent.variables)).toBe(JSON.stringify(wire.variables));
    expect(srv!.requests.at(-1)!.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });
});

describe('answers the SDK cannot use', () => {
  it('a null where an object is needed is a SpeckleTransportError', async () => {
    const c = await clientAnswering(() => ({ data: { data: { data: null } } }));
    await expect(c.project.create({ name: 'x' })).rejects.toBeInstanceOf(SpeckleTransportError);
    await expect(c.model.get('m', 'p')).rejects.toBeInstanceOf(SpeckleTransportError);
  });

  it('GraphQL errors come through as GraphQLError with the code', async () => {
    const c = await clientAnswering(() => ({
      data: null,
      errors: [{ message: 'Stream not found', extensions: { code: 'STREAM_NOT_FOUND' } }],
    }));
    const err = await c.project.get('nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GraphQLError);
    expect((err as GraphQLError).code).toBe('STREAM_NOT_FOUND');
  });

  it('activeUser.getProjects when anonymous is a SpeckleAuthError (specklepy: GraphQLException)', async () => {
    const c = await clientAnswering(() => ({ data: { data: null } }));
    await expect(c.activeUser.getProjects()).rejects.toBeInstanceOf(SpeckleAuthError);
    await expect(c.activeUser.getProjectInvites()).rejects.toThrow('GraphQL response indicated that the ActiveUser could not be found');
  });

  it('a page without items is refused', async () => {
    const c = await clientAnswering(() => ({ data: { data: { data: { totalCount: 1, cursor: null } } } }));
    await expect(c.model.getModels('p')).rejects.toBeInstanceOf(SpeckleTransportError);
  });
});
