/**
 * The legacy (v2) names of Speckle's schema — streams, branches, commits — served from the same
 * projects service as the v3 names, so both views always agree. Older connectors and the viewer's
 * URL resolver (`stream(id){commit(id){referencedObject}}`) still speak this dialect.
 *
 * The legacy resolvers authorize the old way (`authorizeResolver`): every refusal is FORBIDDEN,
 * a missing stream too, except `Query.stream`, which answers STREAM_NOT_FOUND. Their own failures
 * carry the legacy error codes (BRANCH_CREATE_ERROR, COMMIT_UPDATE_ERROR, …).
 */
import { GraphQLError } from 'graphql';
import { AppError } from '../../../../domain/errors.js';
import type { AuthzResult, ProjectNeed } from '../../../../domain/authz.js';
import { projectRoleFromWire, projectRoleWire, serverRoleWire, type ProjectRole } from '../../../../domain/roles.js';
import type { User } from '../../../../services/identity.js';
import { denialError, type Invite, type Model, type Project, type Version } from '../../../../services/projects.js';
import { requireRoleAndScope, requireServerRole, type SpeckleContext } from '../context.js';
import type { SchemaModule } from '../executor.js';

const OLD_API = 'Part of the old API surface and will be removed in the future.';

const typeDefs = /* GraphQL */ `
extend type Query {
  "Returns a specific stream. Throws an authorization error if the active user may not see it."
  stream(id: String!): Stream @deprecated(reason: "${OLD_API} Use Query.project instead.")
  "Returns all streams that the active user is a collaborator on (search by name or description with query)."
  streams(query: String, limit: Int = 25, cursor: String): StreamCollection @deprecated(reason: "${OLD_API} Use User.projects instead.")
}

type Stream {
  id: String!
  name: String!
  description: String
  "Whether the stream can be viewed by non-contributors"
  isPublic: Boolean!
  "Whether the stream (if public) can be found on public stream exploration pages and searches"
  isDiscoverable: Boolean!
  allowPublicComments: Boolean!
  "Your role for this stream. null if the request is not authenticated, or the stream is not explicitly shared with you."
  role: String
  createdAt: DateTime!
  updatedAt: DateTime!
  collaborators: [StreamCollaborator!]!
  "Collaborators who have been invited, but not yet accepted."
  pendingCollaborators: [PendingStreamCollaborator!]
  size: String
  favoritedDate: DateTime
  favoritesCount: Int!
  commits(limit: Int! = 25, cursor: String): CommitCollection @deprecated(reason: "${OLD_API} Use Project.versions instead.")
  commit(id: String): Commit @deprecated(reason: "${OLD_API} Use Project.version instead.")
  branches(limit: Int! = 25, cursor: String): BranchCollection @deprecated(reason: "${OLD_API} Use Project.models instead.")
  branch(name: String = "main"): Branch @deprecated(reason: "${OLD_API} Use Project.modelByName instead.")
}

type StreamCollaborator {
  id: String!
  name: String!
  role: String!
  company: String
  avatar: String
  serverRole: String!
}

type StreamCollection {
  totalCount: Int!
  cursor: String
  items: [Stream!]
}

type Branch {
  id: String!
  name: String!
  author: User
  description: String
  createdAt: DateTime
  commits(limit: Int! = 25, cursor: String): CommitCollection
}

type Commit {
  id: String!
  referencedObject: String!
  message: String
  sourceApplication: String
  totalChildrenCount: Int
  branchName: String
  branch: Branch
  parents: [String]
  authorName: String
  authorId: String
  authorAvatar: String
  createdAt: DateTime
  streamId: String @deprecated(reason: "Use the stream field instead")
  streamName: String @deprecated(reason: "Use the stream field instead")
  "Throws an authorization error if the active user may not see the stream."
  stream: Stream!
}

type BranchCollection {
  totalCount: Int!
  cursor: String
  items: [Branch!]
}

type CommitCollection {
  totalCount: Int!
  cursor: String
  items: [Commit!]
}

extend type User {
  "Streams the user is a collaborator on; for another user, only their discoverable streams."
  streams(limit: Int! = 25, cursor: String): StreamCollection! @deprecated(reason: "${OLD_API} Use User.projects instead.")
  "Commits authored by the user; for another user, only those of public streams."
  commits(limit: Int! = 25, cursor: String): CommitCollection @deprecated(reason: "${OLD_API} Use User.versions instead.")
}

extend type Mutation {
  streamCreate(stream: StreamCreateInput!): String @deprecated(reason: "${OLD_API} Use ProjectMutations.create instead.")
  streamUpdate(stream: StreamUpdateInput!): Boolean! @deprecated(reason: "${OLD_API} Use ProjectMutations.update instead.")
  streamDelete(id: String!): Boolean! @deprecated(reason: "${OLD_API} Use ProjectMutations.delete instead.")
  streamUpdatePermission(permissionParams: StreamUpdatePermissionInput!): Boolean @deprecated(reason: "${OLD_API} Use ProjectMutations.updateRole instead.")
  streamRevokePermission(permissionParams: StreamRevokePermissionInput!): Boolean @deprecated(reason: "${OLD_API} Use ProjectMutations.updateRole instead.")
  "Remove yourself from stream collaborators"
  streamLeave(streamId: String!): Boolean! @deprecated(reason: "${OLD_API} Use ProjectMutations.leave instead.")
  branchCreate(branch: BranchCreateInput!): String! @deprecated(reason: "${OLD_API} Use ModelMutations.create instead.")
  branchUpdate(branch: BranchUpdateInput!): Boolean! @deprecated(reason: "${OLD_API} Use ModelMutations.update instead.")
  branchDelete(branch: BranchDeleteInput!): Boolean! @deprecated(reason: "${OLD_API} Use ModelMutations.delete instead.")
  commitCreate(commit: CommitCreateInput!): String! @deprecated(reason: "${OLD_API} Use VersionMutations.create instead.")
  commitUpdate(commit: CommitUpdateInput!): Boolean! @deprecated(reason: "${OLD_API} Use VersionMutations.update/moveToModel instead.")
  commitReceive(input: CommitReceivedInput!): Boolean! @deprecated(reason: "${OLD_API} Use VersionMutations.markReceived instead.")
  commitDelete(commit: CommitDeleteInput!): Boolean! @deprecated(reason: "${OLD_API} Use VersionMutations.delete instead.")
  "Move a batch of commits to a new branch"
  commitsMove(input: CommitsMoveInput!): Boolean! @deprecated(reason: "${OLD_API} Use VersionMutations.moveToModel instead.")
  "Delete a batch of commits"
  commitsDelete(input: CommitsDeleteInput!): Boolean! @deprecated(reason: "${OLD_API} Use VersionMutations.delete instead.")
}

input StreamCreateInput {
  name: String
  description: String
  isPublic: Boolean
  isDiscoverable: Boolean
  withContributors: [String!]
}
input StreamUpdateInput {
  id: String!
  name: String
  description: String
  isPublic: Boolean
  isDiscoverable: Boolean
  allowPublicComments: Boolean
}
input StreamUpdatePermissionInput { streamId: String! userId: String! role: String! }
input StreamRevokePermissionInput { streamId: String! userId: String! }
input BranchCreateInput { streamId: String! name: String! description: String }
input BranchUpdateInput { streamId: String! id: String! name: String description: String }
input BranchDeleteInput { streamId: String! id: String! }
input CommitCreateInput {
  streamId: String!
  branchName: String!
  objectId: String!
  message: String
  sourceApplication: String
  totalChildrenCount: Int
  previousCommitIds: [String] @deprecated(reason: "Use the parents field.")
  parents: [String]
}
input CommitUpdateInput { streamId: String! id: String! message: String newBranchName: String }
input CommitReceivedInput { streamId: String! commitId: String! sourceApplication: String! message: String }
input CommitDeleteInput { streamId: String! id: String! }
input CommitsMoveInput { streamId: ID! targetBranch: String! commitIds: [String!]! }
input CommitsDeleteInput { streamId: ID! commitIds: [String!]! }
`;

// ------------------------------------------------------------------ helpers

/** Error codes only the legacy resolvers raise, with the statuses the real server gives them. */
const LEGACY_STATUS = {
  STREAM_UPDATE_ERROR: 400,
  BRANCH_CREATE_ERROR: 400,
  BRANCH_UPDATE_ERROR: 400,
  BRANCH_DELETE_ERROR: 400,
  COMMIT_UPDATE_ERROR: 500,
  COMMIT_DELETE_ERROR: 400,
  COMMIT_RECEIVE_ERROR: 400,
  COMMIT_BATCH_UPDATE_ERROR: 400,
  COMMIT_INVALID_ACCESS_ERROR: 401,
} as const;
const legacyError = (code: keyof typeof LEGACY_STATUS, message: string) =>
  new GraphQLError(message, { extensions: { code, statusCode: LEGACY_STATUS[code] } });

const memos = new WeakMap<SpeckleContext, Map<string, Promise<unknown>>>();
/** Per-request memo, so lists do not load the same user, model or role twice. */
function memo<T>(ctx: SpeckleContext, key: string, load: () => Promise<T>): Promise<T> {
  let c = memos.get(ctx);
  if (!c) memos.set(ctx, (c = new Map()));
  let p = c.get(key) as Promise<T> | undefined;
  if (!p) c.set(key, (p = load()));
  return p;
}

const userById = (ctx: SpeckleContext, id: string | null): Promise<User | null> =>
  id ? memo(ctx, `user:${id}`, () => ctx.services.identity.getUser(id)) : Promise.resolve(null);
const userView = (u: User | null) => (u ? { ...u, _user: u } : null);
const modelById = (ctx: SpeckleContext, projectId: string, id: string) =>
  memo(ctx, `model:${id}`, () => ctx.services.projects.getModel(projectId, id));
const projectById = (ctx: SpeckleContext, id: string) => memo(ctx, `project:${id}`, () => ctx.services.projects.getProject(id));
const callerRole = (ctx: SpeckleContext, projectId: string): Promise<ProjectRole | null> =>
  ctx.auth.auth
    ? memo(ctx, `role:${projectId}`, () => ctx.services.projects.roleOf(projectId, (ctx.auth as { userId: string }).userId))
    : Promise.resolve(null);
const callerId = (ctx: SpeckleContext) => (ctx.auth.auth ? ctx.auth.userId : null);

/** The refusal `authorizeResolver` gives for a policy denial. */
async function legacyDenial(ctx: SpeckleContext, r: Extract<AuthzResult, { ok: false }>, streamId: string): Promise<Error> {
  switch (r.denial) {
    case 'ProjectNotFound':
      return new AppError('FORBIDDEN', `Resource of type streams with ${streamId} not found`);
    case 'ProjectNoAccess':
    case 'ResourceNotAllowed':
      return new AppError('FORBIDDEN', 'You are not authorized to access this resource.');
    case 'ProjectNotEnoughPermissions':
      return (await callerRole(ctx, streamId))
        ? new AppError('FORBIDDEN', 'You are not authorized.')
        : new AppError('FORBIDDEN', 'You are not authorized to access this resource.');
    default:
      return denialError(r);
  }
}

/** The stream, if the caller may `need` it; else the legacy refusal. */
async function authorizeStream(ctx: SpeckleContext, streamId: string, need: ProjectNeed): Promise<{ project: Project; role: ProjectRole | null }> {
  const { result, project } = await ctx.services.projects.check(ctx.auth, streamId, need);
  if (!result.ok) throw await legacyDenial(ctx, result, streamId);
  return { project: project!, role: result.role };
}

/** isPublic / isDiscoverable ↔ visibility: private, unlisted (public, not discoverable), public. */
function visibilityOf(isPublic: boolean, isDiscoverable: boolean): 'PRIVATE' | 'UNLISTED' | 'PUBLIC' {
  if (!isPublic) return 'PRIVATE';
  return isDiscoverable ? 'PUBLIC' : 'UNLISTED';
}

/** The legacy branch lookup: by (lower-cased) name, then by id, within the stream. */
async function branchByNameOrId(ctx: SpeckleContext, streamId: string, nameOrId: string): Promise<Model | null> {
  return (await ctx.services.projects.getModelByName(streamId, nameOrId)) ?? (await ctx.services.projects.getModel(streamId, nameOrId.toLowerCase()));
}

/** Shared validation of commitsMove / commitsDelete: the commits exist, and the caller owns them or the stream. */
async function batchCommits(ctx: SpeckleContext, input: { streamId: string; commitIds: string[] }) {
  const auth = requireRoleAndScope(ctx, 'guest', 'streams:write');
  if (!input.commitIds.length) throw legacyError('COMMIT_BATCH_UPDATE_ERROR', 'No commits specified');
  if (input.commitIds.length > 100) throw new AppError('BAD_REQUEST_ERROR', 'Too many versions in one request (max 100)');
  const { project, role } = await authorizeStream(ctx, input.streamId, 'read');
  const versions = await Promise.all([...new Set(input.commitIds)].map((id) => ctx.services.projects.getVersion(project.id, id)));
  if (versions.some((v) => !v)) throw legacyError('COMMIT_BATCH_UPDATE_ERROR', 'At least one of the commits does not exist');
  if (role !== 'owner' && versions.some((v) => v!.authorId !== auth.userId))
    throw legacyError('COMMIT_INVALID_ACCESS_ERROR', 'To operate on these commits you must either own them or their streams');
  return { project, role, versions: versions as Version[] };
}

const TOO_MANY = (n: number) => new AppError('BAD_REQUEST_ERROR', `Cannot return more than ${n} items, please use pagination.`);

// ------------------------------------------------------------------ resolvers

export const legacyModule: SchemaModule = {
  typeDefs,
  resolvers: {
    Query: {
      stream: async (_p, args: { id: string }, ctx: SpeckleContext) => {
        const { result, project } = await ctx.services.projects.check(ctx.auth, args.id, 'read');
        if (!result.ok) {
          if (result.denial === 'ProjectNotFound') throw new AppError('STREAM_NOT_FOUND', 'Stream not found');
          throw await legacyDenial(ctx, result, args.id);
        }
        return project;
      },
      streams: async (_p, args: { query?: string | null; limit?: number | null; cursor?: string | null }, ctx: SpeckleContext) => {
        const auth = requireRoleAndScope(ctx, 'guest', 'streams:read');
        const countOnly = args.limit === 0 && !args.query;
        const limit = countOnly ? 0 : Math.max(1, Math.min(50, args.limit || 25));
        const page = await ctx.services.projects.listUserProjects(auth.userId, { limit, cursor: args.cursor, search: args.query || null });
        return { totalCount: page.totalCount, cursor: page.cursor, items: page.items };
      },
    },
    Mutation: {
      streamCreate: async (_p, args: { stream: { name?: string | null; description?: string | null; isPublic?: boolean | null; isDiscoverable?: boolean | null } }, ctx: SpeckleContext) => {
        requireRoleAndScope(ctx, 'user', 'streams:write');
        const s = args.stream;
        // legacy streams are public unless told otherwise
        const isPublic = s.isPublic !== false;
        const project = await ctx.services.projects.createProject(ctx.auth, {
          name: s.name,
          description: s.description ?? '',
          visibility: visibilityOf(isPublic, s.isDiscoverable !== false),
        });
        return project.id;
      },
      streamUpdate: async (
        _p,
        args: { stream: { id: string; name?: string | null; description?: string | null; isPublic?: boolean | null; isDiscoverable?: boolean | null; allowPublicComments?: boolean | null } },
        ctx: SpeckleContext,
      ) => {
        requireRoleAndScope(ctx, 'user', 'streams:write');
        const s = args.stream;
        const { project } = await authorizeStream(ctx, s.id, 'owner');
        let visibility: string | null = null;
        if ((s.isPublic ?? null) !== null || (s.isDiscoverable ?? null) !== null) {
          const wasPublic = project.visibility !== 'private';
          const isPublic = s.isPublic ?? wasPublic;
          const isDiscoverable = s.isDiscoverable ?? (wasPublic ? project.visibility === 'public' : true);
          visibility = visibilityOf(isPublic, isDiscoverable);
        }
        await ctx.services.projects.updateProject(ctx.auth, {
          id: project.id,
          name: s.name,
          description: s.description,
          visibility,
          allowPublicComments: s.allowPublicComments,
        });
        return true;
      },
      streamDelete: async (_p, args: { id: string }, ctx: SpeckleContext) => {
        requireRoleAndScope(ctx, 'user', 'streams:write');
        await authorizeStream(ctx, args.id, 'owner');
        return ctx.services.projects.deleteProject(ctx.auth, args.id);
      },
      streamUpdatePermission: async (_p, args: { permissionParams: { streamId: string; userId: string; role: string } }, ctx: SpeckleContext) => {
        requireRoleAndScope(ctx, 'user', 'streams:write');
        const { streamId, userId } = args.permissionParams;
        const role = projectRoleFromWire(args.permissionParams.role.toLowerCase());
        if (!role || !args.permissionParams.role.toLowerCase().startsWith('stream:'))
          throw legacyError('STREAM_UPDATE_ERROR', 'Invalid role specified');
        const { project } = await authorizeStream(ctx, streamId, 'owner');
        // only changes roles: access itself is given through invites
        if (!(await ctx.services.projects.roleOf(project.id, userId)))
          throw legacyError('STREAM_UPDATE_ERROR', "Cannot grant permissions to users who aren't collaborators already - invite the user to the stream first");
        await ctx.services.projects.updateRole(ctx.auth, { projectId: project.id, userId, role });
        return true;
      },
      streamRevokePermission: async (_p, args: { permissionParams: { streamId: string; userId: string } }, ctx: SpeckleContext) => {
        const auth = requireRoleAndScope(ctx, 'user', 'streams:write');
        const { streamId, userId } = args.permissionParams;
        if (userId === auth.userId) {
          await authorizeStream(ctx, streamId, 'read');
          return ctx.services.projects.leaveProject(ctx.auth, streamId);
        }
        const { project } = await authorizeStream(ctx, streamId, 'owner');
        await ctx.services.projects.updateRole(ctx.auth, { projectId: project.id, userId, role: null });
        return true;
      },
      streamLeave: async (_p, args: { streamId: string }, ctx: SpeckleContext) => {
        requireServerRole(ctx, 'guest');
        await authorizeStream(ctx, args.streamId, 'read');
        return ctx.services.projects.leaveProject(ctx.auth, args.streamId);
      },
      branchCreate: async (_p, args: { branch: { streamId: string; name: string; description?: string | null } }, ctx: SpeckleContext) => {
        requireRoleAndScope(ctx, 'guest', 'streams:write');
        const { project } = await authorizeStream(ctx, args.branch.streamId, 'write');
        if (await ctx.services.projects.getModelByName(project.id, args.branch.name))
          throw legacyError('BRANCH_CREATE_ERROR', 'A branch with this name already exists');
        const model = await ctx.services.projects.createModel(ctx.auth, { projectId: project.id, name: args.branch.name, description: args.branch.description });
        return model.id;
      },
      branchUpdate: async (_p, args: { branch: { streamId: string; id: string; name?: string | null; description?: string | null } }, ctx: SpeckleContext) => {
        requireRoleAndScope(ctx, 'guest', 'streams:write');
        const b = args.branch;
        const { project } = await authorizeStream(ctx, b.streamId, 'write');
        const model = await ctx.services.projects.getModel(project.id, b.id);
        if (!model) throw legacyError('BRANCH_UPDATE_ERROR', 'Branch not found');
        const name = b.name?.length ? b.name : null;
        const description = b.description ?? null;
        if (name === null && description === null) throw legacyError('BRANCH_UPDATE_ERROR', 'Please specify a property to update');
        if (name !== null) {
          const clash = await ctx.services.projects.getModelByName(project.id, name);
          if (clash && clash.id !== model.id) throw legacyError('BRANCH_UPDATE_ERROR', 'A branch with this name already exists in the parent stream');
        }
        await ctx.services.projects.updateModel(ctx.auth, { projectId: project.id, id: model.id, name, description });
        return true;
      },
      branchDelete: async (_p, args: { branch: { streamId: string; id: string } }, ctx: SpeckleContext) => {
        const auth = requireRoleAndScope(ctx, 'guest', 'streams:write');
        const { project, role } = await authorizeStream(ctx, args.branch.streamId, 'write');
        const model = await ctx.services.projects.getModel(project.id, args.branch.id);
        if (!model) throw legacyError('BRANCH_UPDATE_ERROR', 'Branch not found');
        if (model.authorId !== auth.userId && role !== 'owner')
          throw legacyError('BRANCH_UPDATE_ERROR', 'Only the branch creator or stream owners are allowed to delete branches');
        if (model.name === 'main') throw legacyError('BRANCH_DELETE_ERROR', 'Cannot delete the main branch');
        return ctx.services.projects.deleteModel(ctx.auth, { projectId: project.id, id: model.id });
      },
      commitCreate: async (
        _p,
        args: { commit: { streamId: string; branchName: string; objectId: string; message?: string | null; sourceApplication?: string | null; parents?: Array<string | null> | null } },
        ctx: SpeckleContext,
      ) => {
        requireRoleAndScope(ctx, 'guest', 'streams:write');
        const c = args.commit;
        const { project } = await authorizeStream(ctx, c.streamId, 'write');
        const branchName = c.branchName.toLowerCase();
        const model = await branchByNameOrId(ctx, project.id, branchName);
        if (!model) throw new AppError('COMMIT_CREATE_ERROR', `Failed to find branch with name or id ${branchName}.`);
        const version = await ctx.services.projects.createVersion(ctx.auth, {
          projectId: project.id,
          modelId: model.id,
          objectId: c.objectId,
          message: c.message || null,
          sourceApplication: c.sourceApplication || null,
          parents: c.parents ? c.parents.filter((p): p is string => typeof p === 'string') : null,
        });
        return version.id;
      },
      commitUpdate: async (_p, args: { commit: { streamId: string; id: string; message?: string | null; newBranchName?: string | null } }, ctx: SpeckleContext) => {
        const auth = requireRoleAndScope(ctx, 'guest', 'streams:write');
        const c = args.commit;
        const { project, role } = await authorizeStream(ctx, c.streamId, 'write');
        if (!c.message && !c.newBranchName) throw legacyError('COMMIT_UPDATE_ERROR', 'Nothing to update');
        const version = await ctx.services.projects.getVersion(project.id, c.id);
        if (!version) throw legacyError('COMMIT_UPDATE_ERROR', "Can't update nonexistant commit");
        if (version.authorId !== auth.userId && role !== 'owner')
          throw legacyError('COMMIT_UPDATE_ERROR', 'Only the author of a commit or a stream owner may update it');
        if (c.newBranchName) {
          const target = await ctx.services.projects.getModelByName(project.id, c.newBranchName);
          if (!target) throw legacyError('COMMIT_UPDATE_ERROR', 'Failed to update commit branch');
          if (target.id !== version.modelId)
            await ctx.services.projects.moveVersions(ctx.auth, { projectId: project.id, versionIds: [version.id], targetModelName: target.name });
        }
        if (c.message) await ctx.services.projects.updateVersion(ctx.auth, { projectId: project.id, versionId: version.id, message: c.message });
        return true;
      },
      commitReceive: async (_p, args: { input: { streamId: string; commitId: string; sourceApplication: string; message?: string | null } }, ctx: SpeckleContext) => {
        requireRoleAndScope(ctx, 'guest', 'streams:read');
        const i = args.input;
        const { project } = await authorizeStream(ctx, i.streamId, 'read');
        if (!(await ctx.services.projects.getVersion(project.id, i.commitId)))
          throw legacyError('COMMIT_RECEIVE_ERROR', `Failed to find commit with id ${i.commitId} in stream ${i.streamId}.`);
        return ctx.services.projects.markReceived(ctx.auth, { projectId: project.id, versionId: i.commitId, sourceApplication: i.sourceApplication, message: i.message });
      },
      commitDelete: async (_p, args: { commit: { streamId: string; id: string } }, ctx: SpeckleContext) => {
        const auth = requireRoleAndScope(ctx, 'guest', 'streams:write');
        const { project } = await authorizeStream(ctx, args.commit.streamId, 'write');
        const version = await ctx.services.projects.getVersion(project.id, args.commit.id);
        if (!version) throw legacyError('COMMIT_DELETE_ERROR', "Couldn't delete nonexistant commit");
        if (version.authorId !== auth.userId) throw legacyError('COMMIT_DELETE_ERROR', 'Only the author of a commit may delete it');
        return ctx.services.projects.deleteVersions(ctx.auth, { projectId: project.id, versionIds: [version.id] });
      },
      commitsMove: async (_p, args: { input: { streamId: string; targetBranch: string; commitIds: string[] } }, ctx: SpeckleContext) => {
        const { project, role, versions } = await batchCommits(ctx, args.input);
        const target = await ctx.services.projects.getModelByName(project.id, args.input.targetBranch);
        if (!target && role !== 'owner' && role !== 'contributor')
          throw legacyError('COMMIT_BATCH_UPDATE_ERROR', 'Non-existant target branch referenced and active user does not have the rights to create a new one');
        await ctx.services.projects.moveVersions(ctx.auth, { projectId: project.id, versionIds: versions.map((v) => v.id), targetModelName: args.input.targetBranch });
        return true;
      },
      commitsDelete: async (_p, args: { input: { streamId: string; commitIds: string[] } }, ctx: SpeckleContext) => {
        const { project, versions } = await batchCommits(ctx, args.input);
        return ctx.services.projects.deleteVersions(ctx.auth, { projectId: project.id, versionIds: versions.map((v) => v.id) });
      },
    },
    Stream: {
      isPublic: (p: Project) => p.visibility !== 'private',
      isDiscoverable: (p: Project) => p.visibility === 'public',
      role: async (p: Project & { role?: string }, _a, ctx: SpeckleContext) => {
        const r = p.role ?? (await callerRole(ctx, p.id));
        return r ? projectRoleWire(r as ProjectRole) : null;
      },
      collaborators: async (p: Project, _a, ctx: SpeckleContext) => {
        const rows = await ctx.services.projects.team(p.id);
        const users = await Promise.all(rows.map((r) => userById(ctx, r.user_id)));
        return rows.flatMap((r, i) => {
          const u = users[i];
          if (!u) return [];
          return [{ id: u.id, name: u.name, role: projectRoleWire(r.role as ProjectRole), company: u.company, avatar: u.avatar, serverRole: serverRoleWire(u.role) }];
        });
      },
      // @hasStreamRole(STREAM_OWNER)
      pendingCollaborators: async (p: Project, _a, ctx: SpeckleContext) => {
        const role = await callerRole(ctx, p.id);
        if (role !== 'owner')
          throw new AppError('FORBIDDEN', role ? 'You are not authorized.' : 'You are not authorized to access this resource.');
        const invites = await ctx.services.projects.listInvites(p.id);
        const caller = callerId(ctx);
        return Promise.all(
          invites.map(async (inv: Invite) => {
            const target = await userById(ctx, inv.targetUserId);
            return {
              id: inv.id,
              inviteId: inv.id,
              projectId: p.id,
              projectName: p.name,
              streamId: p.id,
              streamName: p.name,
              // the invitee's name if registered, else the invited e-mail address
              title: target?.name ?? inv.targetEmail ?? '',
              role: projectRoleWire(inv.role),
              token: caller && inv.targetUserId === caller ? inv.token : null,
              _inv: inv,
            };
          }),
        );
      },
      size: () => null,
      favoritedDate: () => null,
      favoritesCount: () => 0,
      commits: (p: Project, args: { limit: number; cursor?: string | null }, ctx: SpeckleContext) =>
        ctx.services.projects.listVersions({ projectId: p.id }, { limit: args.limit, cursor: args.cursor }),
      commit: async (p: Project, args: { id?: string | null }, ctx: SpeckleContext) => {
        if (!args.id) {
          const latest = await ctx.services.projects.listVersions({ projectId: p.id }, { limit: 1 });
          if (!latest.items.length) throw new AppError('COMMIT_NOT_FOUND', 'Cannot retrieve commit (there are no commits in this stream).');
          return latest.items[0];
        }
        return ctx.services.projects.getVersion(p.id, args.id);
      },
      branches: (p: Project, args: { limit: number; cursor?: string | null }, ctx: SpeckleContext) => {
        if (args.limit > 500) throw TOO_MANY(500);
        return ctx.services.projects.listModelsOldestFirst(p.id, { limit: args.limit || 25, cursor: args.cursor });
      },
      // by name, then by id (links of the new web app carry model ids)
      branch: (p: Project, args: { name?: string | null }, ctx: SpeckleContext) => branchByNameOrId(ctx, p.id, args.name ?? 'main'),
    },
    Branch: {
      // only signed-in callers see who made a branch
      author: async (m: Model, _a, ctx: SpeckleContext) => (ctx.auth.auth ? userView(await userById(ctx, m.authorId)) : null),
      commits: (m: Model, args: { limit: number; cursor?: string | null }, ctx: SpeckleContext) =>
        ctx.services.projects.listVersions({ projectId: m.projectId, modelId: m.id }, { limit: args.limit, cursor: args.cursor }),
    },
    Commit: {
      branchName: async (v: Version, _a, ctx: SpeckleContext) => (await modelById(ctx, v.projectId, v.modelId))?.name ?? null,
      branch: (v: Version, _a, ctx: SpeckleContext) => modelById(ctx, v.projectId, v.modelId),
      authorName: async (v: Version, _a, ctx: SpeckleContext) => (await userById(ctx, v.authorId))?.name ?? null,
      authorAvatar: async (v: Version, _a, ctx: SpeckleContext) => (await userById(ctx, v.authorId))?.avatar ?? null,
      streamId: (v: Version) => v.projectId,
      streamName: async (v: Version, _a, ctx: SpeckleContext) => (await projectById(ctx, v.projectId))?.name ?? null,
      // @hasServerRole(SERVER_GUEST) @hasScope("streams:read"), then reviewer access to the stream
      stream: async (v: Version, _a, ctx: SpeckleContext) => {
        requireRoleAndScope(ctx, 'guest', 'streams:read');
        return (await authorizeStream(ctx, v.projectId, 'read')).project;
      },
    },
    User: {
      streams: async (u: User, args: { limit: number; cursor?: string | null }, ctx: SpeckleContext) => {
        const auth = requireRoleAndScope(ctx, 'guest', 'streams:read');
        const limit = Math.max(1, Math.min(50, args.limit || 25));
        const page =
          auth.userId === u.id
            ? await ctx.services.projects.listUserProjects(u.id, { limit, cursor: args.cursor })
            : await ctx.services.projects.listUserPublicProjects(u.id, { limit, cursor: args.cursor });
        return { totalCount: page.totalCount, cursor: page.cursor, items: page.items };
      },
      commits: async (u: User, args: { limit: number; cursor?: string | null }, ctx: SpeckleContext) => {
        if (args.limit > 100) throw TOO_MANY(100);
        const mine = ctx.auth.auth && ctx.auth.userId === u.id;
        return ctx.services.projects.listUserVersions(u.id, { limit: args.limit, cursor: args.cursor, publicOnly: !mine });
      },
    },
  },
};
