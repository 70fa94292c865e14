/** Projects, models, versions, members, invites and permission checks (Speckle v3 names). */
import { AppError } from '../../../../domain/errors.js';
import { AUTHZ_MESSAGES, type AuthzResult, type ProjectNeed } from '../../../../domain/authz.js';
import { projectRoleWire, serverRoleAtLeast } from '../../../../domain/roles.js';
import { hasScope } from '../../../../domain/scopes.js';
import type { User } from '../../../../services/identity.js';
import { normaliseSourceApp, type Invite, type Model, type Project, type Version } from '../../../../services/projects.js';
import { checkScope, requireServerRole, type SpeckleContext } from '../context.js';
import type { SchemaModule } from '../executor.js';

const typeDefs = /* GraphQL */ `
enum ProjectVisibility { PRIVATE PUBLIC UNLISTED WORKSPACE }

extend type Query {
  "Find a specific project. Will throw an authorization error if active user isn't authorized to see it."
  project(id: String!): Project!
  projectInvite(projectId: String!, token: String): PendingStreamCollaborator
  workspace(id: String!): Workspace!
}

extend type Mutation {
  projectMutations: ProjectMutations!
  modelMutations: ModelMutations!
  versionMutations: VersionMutations!
  workspaceMutations: WorkspaceMutations
}

type Project {
  id: ID!
  name: String!
  description: String
  visibility: ProjectVisibility!
  allowPublicComments: Boolean!
  role: String
  createdAt: DateTime!
  updatedAt: DateTime!
  sourceApps: [String!]!
  workspaceId: String
  workspace: LimitedWorkspace
  team: [ProjectCollaborator!]!
  invitedTeam: [PendingStreamCollaborator!]
  models(cursor: String, limit: Int! = 25, filter: ProjectModelsFilter): ModelCollection!
  modelsTree(cursor: String, limit: Int! = 25, filter: ProjectModelsTreeFilter): ModelsTreeItemCollection!
  model(id: String!): Model!
  modelByName(name: String!): Model!
  modelChildrenTree(fullName: String!): [ModelsTreeItem!]!
  versions(limit: Int! = 25, cursor: String): VersionCollection!
  version(id: String!): Version!
  permissions: ProjectPermissionChecks!
}

type Model {
  id: ID!
  name: String!
  displayName: String!
  author: LimitedUser
  description: String
  createdAt: DateTime!
  updatedAt: DateTime!
  previewUrl: String
  childrenTree: [ModelsTreeItem!]!
  projectId: String!
  permissions: ModelPermissionChecks!
  version(id: String!): Version!
  versions(limit: Int! = 25, cursor: String, filter: ModelVersionsFilter): VersionCollection!
}

type Version {
  id: ID!
  referencedObject: String
  message: String
  sourceApplication: String
  authorUser: LimitedUser
  createdAt: DateTime!
  model: Model!
  previewUrl: String!
  totalChildrenCount: Int
  parents: [String]
  permissions: VersionPermissionChecks!
}

type ModelsTreeItem {
  id: ID!
  name: String!
  fullName: String!
  model: Model
  children: [ModelsTreeItem!]!
  hasChildren: Boolean!
  updatedAt: DateTime!
}

type ModelsTreeItemCollection { totalCount: Int! cursor: String items: [ModelsTreeItem!]! }
type ModelCollection { totalCount: Int! cursor: String items: [Model!]! }
type VersionCollection { totalCount: Int! cursor: String items: [Version!]! }
type UserProjectCollection { totalCount: Int! numberOfHidden: Int! cursor: String items: [Project!]! }
type CountOnlyCollection { totalCount: Int! }

type ProjectCollaborator { id: ID! role: String! user: LimitedUser! }

type PendingStreamCollaborator {
  id: String!
  inviteId: String!
  projectId: String!
  projectName: String!
  streamId: String! @deprecated(reason: "Use projectId instead")
  streamName: String! @deprecated(reason: "Use projectName instead")
  title: String!
  role: String!
  invitedBy: LimitedUser!
  user: LimitedUser
  token: String
}

type PermissionCheckResult {
  authorized: Boolean!
  code: String!
  message: String!
  payload: JSONObject
  errorMessage: String
}

type ProjectPermissionChecks {
  canCreateModel: PermissionCheckResult!
  canRead: PermissionCheckResult!
  canUpdate: PermissionCheckResult!
  canDelete: PermissionCheckResult!
  canUpdateAllowPublicComments: PermissionCheckResult!
  canReadSettings: PermissionCheckResult!
  canReadWebhooks: PermissionCheckResult!
  canLeave: PermissionCheckResult!
  canRequestRender: PermissionCheckResult!
  canPublish: PermissionCheckResult!
  canLoad: PermissionCheckResult!
  canInvite: PermissionCheckResult!
  canCreateEmbedTokens: PermissionCheckResult!
  canRevokeEmbedTokens: PermissionCheckResult!
  canReadEmbedTokens: PermissionCheckResult!
  canMoveToWorkspace(workspaceId: String): PermissionCheckResult!
}
type ModelPermissionChecks { canUpdate: PermissionCheckResult! canDelete: PermissionCheckResult! canCreateVersion: PermissionCheckResult! }
type VersionPermissionChecks { canUpdate: PermissionCheckResult! canReceive: PermissionCheckResult! }
type RootPermissionChecks { canCreatePersonalProject: PermissionCheckResult! canCreateWorkspace: PermissionCheckResult! }

input ProjectModelsFilter {
  search: String
  sourceApps: [String!]
  contributors: [String!]
  onlyWithVersions: Boolean
  ids: [String!]
  excludeIds: [String!]
}
input ProjectModelsTreeFilter { search: String sourceApps: [String!] contributors: [String!] parentModelName: String }
input ModelVersionsFilter { priorityIds: [String!] priorityIdsOnly: Boolean }
input UserProjectsFilter { search: String onlyWithRoles: [String!] workspaceId: ID personalOnly: Boolean includeImplicitAccess: Boolean }

type ProjectMutations {
  create(input: ProjectCreateInput): Project!
  update(update: ProjectUpdateInput!): Project!
  delete(id: String!): Boolean!
  batchDelete(ids: [String!]!): Boolean!
  updateRole(input: ProjectUpdateRoleInput!): Project!
  leave(id: String!): Boolean!
  createForOnboarding: Project!
  invites: ProjectInviteMutations!
}
input ProjectCreateInput { name: String description: String visibility: ProjectVisibility }
input ProjectUpdateInput { id: ID! name: String description: String visibility: ProjectVisibility allowPublicComments: Boolean }
input ProjectUpdateRoleInput { projectId: String! userId: String! role: String }

type ProjectInviteMutations {
  create(projectId: ID!, input: ProjectInviteCreateInput!): Project!
  batchCreate(projectId: ID!, input: [ProjectInviteCreateInput!]!): Project!
  use(input: ProjectInviteUseInput!): Boolean!
  cancel(projectId: ID!, inviteId: String!): Project!
}
input ProjectInviteCreateInput { email: String userId: String role: String serverRole: String }
input ProjectInviteUseInput { projectId: ID! token: String! accept: Boolean! }

type ModelMutations {
  create(input: CreateModelInput!): Model!
  update(input: UpdateModelInput!): Model!
  delete(input: DeleteModelInput!): Boolean!
}
input CreateModelInput { projectId: ID! name: String! description: String }
input UpdateModelInput { projectId: ID! id: ID! name: String description: String }
input DeleteModelInput { projectId: ID! id: ID! }

type VersionMutations {
  create(input: CreateVersionInput!): Version!
  update(input: UpdateVersionInput!): Version!
  moveToModel(input: MoveVersionsInput!): Model!
  delete(input: DeleteVersionsInput!): Boolean!
  markReceived(input: MarkReceivedVersionInput!): Boolean!
}
input CreateVersionInput {
  projectId: String!
  modelId: String!
  objectId: String!
  message: String
  sourceApplication: String
  totalChildrenCount: Int
  parents: [String!]
}
input UpdateVersionInput { projectId: ID! versionId: ID! message: String }
input MoveVersionsInput { projectId: ID! versionIds: [ID!]! targetModelName: String! }
input DeleteVersionsInput { projectId: ID! versionIds: [ID!]! }
input MarkReceivedVersionInput { projectId: String! versionId: String! sourceApplication: String! message: String }

extend type User {
  projects(limit: Int! = 25, cursor: String, filter: UserProjectsFilter, sortBy: [String!]): UserProjectCollection!
  projectInvites: [PendingStreamCollaborator!]!
  permissions: RootPermissionChecks!
  versions(authoredOnly: Boolean! = false, limit: Int! = 25): CountOnlyCollection!
  workspaces(limit: Int! = 25, cursor: String, filter: UserWorkspacesFilter): WorkspaceCollection!
  activeWorkspace: LimitedWorkspace
}

# Workspaces: the types exist so documents validate; the module is disabled on Atrium.
input UserWorkspacesFilter { search: String }
input WorkspaceProjectsFilter { search: String withProjectRoleOnly: Boolean }
input WorkspaceProjectCreateInput { name: String description: String visibility: ProjectVisibility workspaceId: String! }
type WorkspaceCreationState { completed: Boolean! }
type WorkspacePermissionChecks { canCreateProject: PermissionCheckResult! }
type Workspace {
  id: ID!
  name: String!
  role: String
  slug: String!
  logo: String
  createdAt: DateTime!
  updatedAt: DateTime!
  readOnly: Boolean!
  description: String
  creationState: WorkspaceCreationState
  permissions: WorkspacePermissionChecks!
  projects(limit: Int! = 25, cursor: String, filter: WorkspaceProjectsFilter): ProjectCollection!
}
type LimitedWorkspace { id: ID! name: String! role: String slug: String! logo: String description: String }
type WorkspaceCollection { totalCount: Int! cursor: String items: [Workspace!]! }
type ProjectCollection { totalCount: Int! cursor: String items: [Project!]! }
type WorkspaceProjectMutations { create(input: WorkspaceProjectCreateInput!): Project! }
type WorkspaceMutations { projects: WorkspaceProjectMutations! }
`;

// ------------------------------------------------------------------ helpers

const OK = { authorized: true, code: 'OK', message: 'OK', payload: null, errorMessage: null };
function permission(r: AuthzResult) {
  if (r.ok) return OK;
  const message = r.denial === 'MissingScope' ? `Your auth token does not have the required scope: ${r.scope}.` : AUTHZ_MESSAGES[r.denial];
  return { authorized: false, code: r.denial, message, payload: null, errorMessage: message };
}

const VIS_WIRE: Record<string, string> = { public: 'PUBLIC', private: 'PRIVATE', unlisted: 'UNLISTED' };

/** Per-request memo, so lists do not load the same user or role twice. */
function memo<T>(ctx: SpeckleContext, key: string, load: () => Promise<T>): Promise<T> {
  const c = ((ctx as SpeckleContext & { memo?: Map<string, Promise<unknown>> }).memo ??= new Map());
  let p = c.get(key) as Promise<T> | undefined;
  if (!p) c.set(key, (p = load()));
  return p;
}

const userById = (ctx: SpeckleContext, id: string | null): Promise<User | null> =>
  id ? memo(ctx, `user:${id}`, () => ctx.services.identity.getUser(id)) : Promise.resolve(null);
const userView = (u: User | null) => (u ? { ...u, _user: u } : null);

const callerRole = (ctx: SpeckleContext, projectId: string) =>
  ctx.auth.auth ? memo(ctx, `role:${projectId}`, () => ctx.services.projects.roleOf(projectId, (ctx.auth as { userId: string }).userId)) : Promise.resolve(null);

async function checkFor(ctx: SpeckleContext, projectId: string, need: ProjectNeed) {
  return memo(ctx, `check:${projectId}:${need}`, async () => (await ctx.services.projects.check(ctx.auth, projectId, need)).result);
}

const previewUrl = (ctx: SpeckleContext, projectId: string, versionId: string) =>
  `${ctx.services.config.publicUrl}/preview/${projectId}/commits/${versionId}`;

const workspacesDisabled = () => {
  throw new AppError('WORKSPACES_MODULE_DISABLED_ERROR', 'Workspaces are not enabled on this server');
};

function inviteView(ctx: SpeckleContext, inv: Invite, project: Project) {
  const caller = ctx.auth.auth ? ctx.auth.userId : null;
  return {
    id: inv.id,
    inviteId: inv.id,
    projectId: project.id,
    projectName: project.name,
    streamId: project.id,
    streamName: project.name,
    role: projectRoleWire(inv.role),
    _inv: inv,
    // the token is shown only to the invitee
    token: caller && inv.targetUserId === caller ? inv.token : null,
  };
}

/** Builds the model tree (nesting through "/" in names). */
function modelTree(models: Model[], parent: string | null) {
  const prefix = parent ? `${parent}/` : '';
  const level = new Map<string, { fullName: string; model: Model | null; updatedAt: number }>();
  for (const m of models) {
    if (!m.name.startsWith(prefix) || m.name === parent) continue;
    const rest = m.name.slice(prefix.length);
    const seg = rest.split('/')[0];
    const fullName = prefix + seg;
    const cur = level.get(fullName) ?? { fullName, model: null, updatedAt: 0 };
    if (m.name === fullName) cur.model = m;
    cur.updatedAt = Math.max(cur.updatedAt, m.updatedAt);
    level.set(fullName, cur);
  }
  return [...level.values()].map((n) => ({
    id: n.model?.id ?? n.fullName,
    name: n.fullName.split('/').pop()!,
    fullName: n.fullName,
    model: n.model,
    hasChildren: models.some((m) => m.name.startsWith(`${n.fullName}/`)),
    updatedAt: n.updatedAt,
    _models: models,
  }));
}

// ------------------------------------------------------------------ resolvers

export const projectsModule: SchemaModule = {
  typeDefs,
  resolvers: {
    Query: {
      project: async (_p, args: { id: string }, ctx: SpeckleContext) => {
        checkScope(ctx, 'streams:read');
        const { project } = await ctx.services.projects.authorize(ctx.auth, args.id, 'read');
        return project;
      },
      projectInvite: async (_p, args: { projectId: string; token?: string | null }, ctx: SpeckleContext) => {
        const project = await ctx.services.projects.getProject(args.projectId);
        if (!project) return null;
        const inv = await ctx.services.projects.findInvite(ctx.auth, args.projectId, args.token);
        if (!inv) return null;
        const view = inviteView(ctx, inv, project);
        // whoever holds the token may see it back
        return args.token ? { ...view, token: inv.token } : view;
      },
      workspace: workspacesDisabled,
    },
    Mutation: {
      projectMutations: (_p, _a, ctx: SpeckleContext) => {
        requireServerRole(ctx, 'guest');
        checkScope(ctx, 'streams:write');
        return {};
      },
      modelMutations: (_p, _a, ctx: SpeckleContext) => {
        requireServerRole(ctx, 'guest');
        checkScope(ctx, 'streams:write');
        return {};
      },
      versionMutations: (_p, _a, ctx: SpeckleContext) => {
        requireServerRole(ctx, 'guest');
        return {};
      },
      workspaceMutations: workspacesDisabled,
    },
    ProjectMutations: {
      create: (_p, args: { input: Record<string, unknown> | null }, ctx: SpeckleContext) => ctx.services.projects.createProject(ctx.auth, args.input),
      createForOnboarding: (_p, _a, ctx: SpeckleContext) => ctx.services.projects.createProject(ctx.auth, { name: 'Onboarding project' }),
      update: (_p, args: { update: { id: string } }, ctx: SpeckleContext) => ctx.services.projects.updateProject(ctx.auth, args.update),
      delete: (_p, args: { id: string }, ctx: SpeckleContext) => ctx.services.projects.deleteProject(ctx.auth, args.id),
      batchDelete: (_p, args: { ids: string[] }, ctx: SpeckleContext) => ctx.services.projects.batchDeleteProjects(ctx.auth, args.ids),
      updateRole: (_p, args: { input: { projectId: string; userId: string; role: string | null } }, ctx: SpeckleContext) =>
        ctx.services.projects.updateRole(ctx.auth, args.input),
      leave: (_p, args: { id: string }, ctx: SpeckleContext) => ctx.services.projects.leaveProject(ctx.auth, args.id),
      invites: () => ({}),
    },
    ProjectInviteMutations: {
      create: (_p, args: { projectId: string; input: Record<string, string | null> }, ctx: SpeckleContext) =>
        ctx.services.projects.createInvite(ctx.auth, args.projectId, args.input),
      batchCreate: async (_p, args: { projectId: string; input: Array<Record<string, string | null>> }, ctx: SpeckleContext) => {
        if (args.input.length > 100) throw new AppError('BAD_REQUEST_ERROR', 'Too many invites (max 100)');
        let project: Project | undefined;
        for (const i of args.input) project = await ctx.services.projects.createInvite(ctx.auth, args.projectId, i);
        return project ?? (await ctx.services.projects.authorize(ctx.auth, args.projectId, 'owner')).project;
      },
      use: (_p, args: { input: { projectId: string; token: string; accept: boolean } }, ctx: SpeckleContext) =>
        ctx.services.projects.useInvite(ctx.auth, args.input),
      cancel: (_p, args: { projectId: string; inviteId: string }, ctx: SpeckleContext) =>
        ctx.services.projects.cancelInvite(ctx.auth, args.projectId, args.inviteId),
    },
    ModelMutations: {
      create: (_p, args: { input: { projectId: string; name: string; description?: string | null } }, ctx: SpeckleContext) =>
        ctx.services.projects.createModel(ctx.auth, args.input),
      update: (_p, args: { input: { projectId: string; id: string; name?: string | null; description?: string | null } }, ctx: SpeckleContext) =>
        ctx.services.projects.updateModel(ctx.auth, args.input),
      delete: (_p, args: { input: { projectId: string; id: string } }, ctx: SpeckleContext) => ctx.services.projects.deleteModel(ctx.auth, args.input),
    },
    VersionMutations: {
      create: (_p, args: { input: Parameters<SpeckleContext['services']['projects']['createVersion']>[1] }, ctx: SpeckleContext) => {
        checkScope(ctx, 'streams:write');
        return ctx.services.projects.createVersion(ctx.auth, args.input);
      },
      update: (_p, args: { input: { projectId: string; versionId: string; message?: string | null } }, ctx: SpeckleContext) => {
        checkScope(ctx, 'streams:write');
        return ctx.services.projects.updateVersion(ctx.auth, args.input);
      },
      moveToModel: (_p, args: { input: { projectId: string; versionIds: string[]; targetModelName: string } }, ctx: SpeckleContext) => {
        checkScope(ctx, 'streams:write');
        return ctx.services.projects.moveVersions(ctx.auth, args.input);
      },
      delete: (_p, args: { input: { projectId: string; versionIds: string[] } }, ctx: SpeckleContext) => {
        checkScope(ctx, 'streams:write');
        return ctx.services.projects.deleteVersions(ctx.auth, args.input);
      },
      markReceived: (_p, args: { input: { projectId: string; versionId: string; sourceApplication: string; message?: string | null } }, ctx: SpeckleContext) => {
        checkScope(ctx, 'streams:read');
        return ctx.services.projects.markReceived(ctx.auth, args.input);
      },
    },
    Project: {
      visibility: (p: Project) => VIS_WIRE[p.visibility],
      role: async (p: Project & { role?: string }, _a, ctx: SpeckleContext) => {
        const r = p.role ?? (await callerRole(ctx, p.id));
        return r ? projectRoleWire(r as never) : null;
      },
      sourceApps: (p: Project, _a, ctx: SpeckleContext) => ctx.services.projects.sourceApps(p.id),
      workspaceId: () => null,
      workspace: () => null,
      team: async (p: Project, _a, ctx: SpeckleContext) => {
        checkScope(ctx, 'users:read');
        const rows = await ctx.services.projects.team(p.id);
        const users = await Promise.all(rows.map((r) => userById(ctx, r.user_id)));
        return rows
          .map((r, i) => ({ id: r.user_id, role: projectRoleWire(r.role as never), user: userView(users[i]) }))
          .filter((r) => r.user);
      },
      invitedTeam: async (p: Project, _a, ctx: SpeckleContext) => {
        checkScope(ctx, 'users:read');
        const role = await callerRole(ctx, p.id);
        if (!role || role === 'reviewer') throw new AppError('FORBIDDEN', AUTHZ_MESSAGES.ProjectNotEnoughPermissions);
        return (await ctx.services.projects.listInvites(p.id)).map((inv) => inviteView(ctx, inv, p));
      },
      models: (p: Project, args: { limit: number; cursor?: string | null; filter?: Record<string, never> | null }, ctx: SpeckleContext) =>
        ctx.services.projects.listModels(p.id, { limit: args.limit, cursor: args.cursor, filter: args.filter }),
      modelsTree: async (p: Project, args: { limit: number; filter?: { parentModelName?: string | null; search?: string | null } | null }, ctx: SpeckleContext) => {
        const models = await ctx.services.projects.allModels(p.id);
        let items = modelTree(models, args.filter?.parentModelName?.toLowerCase() ?? null);
        if (args.filter?.search) items = items.filter((i) => i.fullName.includes(args.filter!.search!.toLowerCase()));
        items.sort((a, b) => b.updatedAt - a.updatedAt);
        return { totalCount: items.length, cursor: null, items: items.slice(0, Math.max(0, Math.min(500, args.limit))) };
      },
      model: async (p: Project, args: { id: string }, ctx: SpeckleContext) => ctx.services.projects.requireModel(p.id, args.id),
      modelByName: async (p: Project, args: { name: string }, ctx: SpeckleContext) => {
        const m = await ctx.services.projects.getModelByName(p.id, args.name);
        if (!m) throw new AppError('NOT_FOUND_ERROR', 'Model not found', { denial: 'ModelNotFound' });
        return m;
      },
      modelChildrenTree: async (p: Project, args: { fullName: string }, ctx: SpeckleContext) =>
        modelTree(await ctx.services.projects.allModels(p.id), args.fullName.toLowerCase()),
      versions: (p: Project, args: { limit: number; cursor?: string | null }, ctx: SpeckleContext) =>
        ctx.services.projects.listVersions({ projectId: p.id }, args),
      version: (p: Project, args: { id: string }, ctx: SpeckleContext) => ctx.services.projects.requireVersion(p.id, args.id),
      permissions: (p: Project) => ({ _project: p }),
    },
    ProjectPermissionChecks: {
      canCreateModel: async (p: { _project: Project }, _a, ctx: SpeckleContext) => permission(await checkFor(ctx, p._project.id, 'write')),
      canRead: async (p: { _project: Project }, _a, ctx: SpeckleContext) => permission(await checkFor(ctx, p._project.id, 'read')),
      canLoad: async (p: { _project: Project }, _a, ctx: SpeckleContext) => permission(await checkFor(ctx, p._project.id, 'read')),
      canUpdate: async (p: { _project: Project }, _a, ctx: SpeckleContext) => permission(await checkFor(ctx, p._project.id, 'owner')),
      canDelete: async (p: { _project: Project }, _a, ctx: SpeckleContext) => permission(await checkFor(ctx, p._project.id, 'owner')),
      canUpdateAllowPublicComments: async (p: { _project: Project }, _a, ctx: SpeckleContext) => permission(await checkFor(ctx, p._project.id, 'owner')),
      canReadSettings: async (p: { _project: Project }, _a, ctx: SpeckleContext) => permission(await checkFor(ctx, p._project.id, 'owner')),
      canReadWebhooks: async (p: { _project: Project }, _a, ctx: SpeckleContext) => permission(await checkFor(ctx, p._project.id, 'owner')),
      canInvite: async (p: { _project: Project }, _a, ctx: SpeckleContext) => permission(await checkFor(ctx, p._project.id, 'owner')),
      canCreateEmbedTokens: async (p: { _project: Project }, _a, ctx: SpeckleContext) => permission(await checkFor(ctx, p._project.id, 'owner')),
      canRevokeEmbedTokens: async (p: { _project: Project }, _a, ctx: SpeckleContext) => permission(await checkFor(ctx, p._project.id, 'owner')),
      canReadEmbedTokens: async (p: { _project: Project }, _a, ctx: SpeckleContext) => permission(await checkFor(ctx, p._project.id, 'owner')),
      canPublish: async (p: { _project: Project }, _a, ctx: SpeckleContext) => permission(await checkFor(ctx, p._project.id, 'write')),
      canRequestRender: async (p: { _project: Project }, _a, ctx: SpeckleContext) => permission(await checkFor(ctx, p._project.id, 'write')),
      canLeave: async (p: { _project: Project }, _a, ctx: SpeckleContext) => {
        const r = await checkFor(ctx, p._project.id, 'read');
        if (!r.ok) return permission(r);
        const role = await callerRole(ctx, p._project.id);
        return role ? OK : permission({ ok: false, denial: 'ProjectNoAccess' });
      },
      canMoveToWorkspace: () => ({ authorized: false, code: 'WorkspacesNotEnabled', message: 'Workspaces are not enabled on this server', payload: null, errorMessage: 'Workspaces are not enabled on this server' }),
    },
    Model: {
      displayName: (m: Model) => m.name.split('/').pop(),
      author: async (m: Model, _a, ctx: SpeckleContext) => userView(await userById(ctx, m.authorId)),
      previewUrl: async (m: Model, _a, ctx: SpeckleContext) => {
        const v = await ctx.services.projects.latestVersion(m.id);
        return v ? previewUrl(ctx, m.projectId, v.id) : null;
      },
      childrenTree: async (m: Model, _a, ctx: SpeckleContext) => modelTree(await ctx.services.projects.allModels(m.projectId), m.name),
      permissions: (m: Model) => ({ _model: m }),
      version: async (m: Model, args: { id: string }, ctx: SpeckleContext) => {
        const v = await ctx.services.projects.getVersion(m.projectId, args.id);
        if (!v || v.modelId !== m.id) throw new AppError('NOT_FOUND_ERROR', 'Version not found', { denial: 'VersionNotFound' });
        return v;
      },
      versions: (m: Model, args: { limit: number; cursor?: string | null; filter?: { priorityIds?: string[] | null; priorityIdsOnly?: boolean | null } | null }, ctx: SpeckleContext) =>
        ctx.services.projects.listVersions({ projectId: m.projectId, modelId: m.id }, { limit: args.limit, cursor: args.cursor, ...(args.filter ?? {}) }),
    },
    ModelPermissionChecks: {
      canUpdate: async (p: { _model: Model }, _a, ctx: SpeckleContext) => permission(await checkFor(ctx, p._model.projectId, 'write')),
      canCreateVersion: async (p: { _model: Model }, _a, ctx: SpeckleContext) => permission(await checkFor(ctx, p._model.projectId, 'write')),
      canDelete: async (p: { _model: Model }, _a, ctx: SpeckleContext) => {
        const r = await checkFor(ctx, p._model.projectId, 'write');
        if (r.ok && p._model.name === 'main')
          return { authorized: false, code: 'ReservedModelNotDeletable', message: 'This model is reserved and cannot be deleted', payload: null, errorMessage: 'This model is reserved and cannot be deleted' };
        return permission(r);
      },
    },
    ModelsTreeItem: {
      children: (i: { fullName: string; _models: Model[] }) => modelTree(i._models, i.fullName),
    },
    Version: {
      sourceApplication: (v: Version) => normaliseSourceApp(v.sourceApplication),
      authorUser: async (v: Version, _a, ctx: SpeckleContext) => userView(await userById(ctx, v.authorId)),
      model: async (v: Version, _a, ctx: SpeckleContext) => ctx.services.projects.requireModel(v.projectId, v.modelId),
      previewUrl: (v: Version, _a, ctx: SpeckleContext) => previewUrl(ctx, v.projectId, v.id),
      permissions: (v: Version) => ({ _version: v }),
    },
    VersionPermissionChecks: {
      canReceive: async (p: { _version: Version }, _a, ctx: SpeckleContext) => permission(await checkFor(ctx, p._version.projectId, 'read')),
      canUpdate: async (p: { _version: Version }, _a, ctx: SpeckleContext) => {
        const r = await checkFor(ctx, p._version.projectId, 'write');
        if (!r.ok) return permission(r);
        const role = await callerRole(ctx, p._version.projectId);
        if (role === 'owner' || (ctx.auth.auth && p._version.authorId === ctx.auth.userId)) return OK;
        return permission({ ok: false, denial: 'ProjectNotEnoughPermissions' });
      },
    },
    PendingStreamCollaborator: {
      // the invitee: their name when they have an account, else the invited email
      title: async (p: { _inv: Invite }, _a, ctx: SpeckleContext) =>
        (await userById(ctx, p._inv.targetUserId))?.name ?? p._inv.targetEmail ?? '',
      invitedBy: async (p: { _inv: Invite }, _a, ctx: SpeckleContext) => userView(await userById(ctx, p._inv.inviterId)),
      user: async (p: { _inv: Invite }, _a, ctx: SpeckleContext) => userView(await userById(ctx, p._inv.targetUserId)),
    },
    User: {
      projects: async (
        u: User,
        args: { limit: number; cursor?: string | null; filter?: { search?: string | null; onlyWithRoles?: string[] | null; workspaceId?: string | null } | null },
        ctx: SpeckleContext,
      ) => {
        if (!ctx.auth.auth || ctx.auth.userId !== u.id) throw new AppError('FORBIDDEN', 'You can only view your own projects');
        checkScope(ctx, 'streams:read');
        if (args.filter?.workspaceId) return { totalCount: 0, numberOfHidden: 0, cursor: null, items: [] };
        const page = await ctx.services.projects.listUserProjects(u.id, { limit: args.limit, cursor: args.cursor, ...(args.filter ?? {}) });
        return { ...page, numberOfHidden: 0 };
      },
      projectInvites: async (u: User, _a, ctx: SpeckleContext) => {
        if (!ctx.auth.auth || ctx.auth.userId !== u.id) throw new AppError('FORBIDDEN', 'You can only view your own invites');
        const invites = await ctx.services.projects.userInvites(u.id);
        const out = [];
        for (const inv of invites) {
          const project = await ctx.services.projects.getProject(inv.projectId);
          if (project) out.push({ ...inviteView(ctx, inv, project), token: inv.token });
        }
        return out;
      },
      permissions: (u: User) => ({ _user: u }),
      versions: async (u: User, args: { authoredOnly: boolean }, ctx: SpeckleContext) => {
        const q = ctx.services.store.db.selectFrom('versions').select((eb) => eb.fn.countAll<number>().as('n'));
        const r = await (args.authoredOnly
          ? q.where('author_id', '=', u.id)
          : q.where('project_id', 'in', ctx.services.store.db.selectFrom('project_acl').select('project_id').where('user_id', '=', u.id))
        ).executeTakeFirstOrThrow();
        return { totalCount: Number(r.n) };
      },
      workspaces: () => ({ totalCount: 0, cursor: null, items: [] }),
      activeWorkspace: () => null,
    },
    RootPermissionChecks: {
      canCreatePersonalProject: (p: { _user: User }, _a, ctx: SpeckleContext) => {
        if (!ctx.auth.auth) return permission({ ok: false, denial: 'ServerNoSession' });
        if (!serverRoleAtLeast(ctx.auth.role, 'user'))
          return { authorized: false, code: 'ServerNotEnoughPermissions', message: 'You do not have enough permissions on the server to perform this action', payload: null, errorMessage: null };
        if (!hasScope(ctx.auth.scopes, 'streams:write')) return permission({ ok: false, denial: 'MissingScope', scope: 'streams:write' });
        void p;
        return OK;
      },
      canCreateWorkspace: () => ({ authorized: false, code: 'WorkspacesNotEnabled', message: 'Workspaces are not enabled on this server', payload: null, errorMessage: null }),
    },
  },
};
