/**
 * Speckle projects, their members, models and versions, and invites. Every write checks the
 * project policy (domain/authz), runs in one transaction, and publishes its event after commit.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Store } from '../store/db.js';
import { isUniqueViolation } from '../store/db.js';
import type { Database, ModelsTable, ProjectsTable, VersionsTable } from '../store/schema.js';
import { AppError, type ErrorCode } from '../domain/errors.js';
import { newId, randomHex } from '../domain/ids.js';
import { AUTHZ_MESSAGES, authorizeProject, type AuthzDenial, type AuthzResult, type ProjectNeed } from '../domain/authz.js';
import { projectRoleFromWire, serverRoleAtLeast, type ProjectRole } from '../domain/roles.js';
import { hasScope } from '../domain/scopes.js';
import type { AuthContext } from './identity.js';
import type { EventBus } from './events.js';

export interface Project {
  id: string;
  name: string;
  description: string | null;
  visibility: 'public' | 'private' | 'unlisted';
  allowPublicComments: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface Model {
  id: string;
  projectId: string;
  name: string;
  description: string | null;
  authorId: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface Version {
  id: string;
  projectId: string;
  modelId: string;
  referencedObject: string;
  authorId: string | null;
  message: string | null;
  sourceApplication: string | null;
  totalChildrenCount: number | null;
  parents: string[];
  createdAt: number;
}

export interface Page<T> {
  totalCount: number;
  cursor: string | null;
  items: T[];
}

export interface Invite {
  id: string;
  projectId: string;
  inviterId: string;
  targetUserId: string | null;
  targetEmail: string | null;
  role: ProjectRole;
  token: string;
  createdAt: number;
}

/** Channels on the event bus, and their payloads. */
export const SpeckleChannels = {
  project: 'speckle.project',
  userProjects: 'speckle.user.projects',
  models: 'speckle.project.models',
  versions: 'speckle.project.versions',
} as const;
export interface ProjectEvent { projectId: string; type: 'UPDATED' | 'DELETED' }
export interface UserProjectsEvent { userId: string; projectId: string; type: 'ADDED' | 'REMOVED' }
export interface ModelEvent { projectId: string; modelId: string; type: 'CREATED' | 'UPDATED' | 'DELETED' }
export interface VersionEvent { projectId: string; modelId: string; versionId: string; type: 'CREATED' | 'UPDATED' | 'DELETED' }

const toProject = (r: ProjectsTable): Project => ({
  id: r.id,
  name: r.name,
  description: r.description,
  visibility: r.visibility as Project['visibility'],
  allowPublicComments: r.allow_public_comments === 1,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});
const toModel = (r: ModelsTable): Model => ({
  id: r.id,
  projectId: r.project_id,
  name: r.name,
  description: r.description,
  authorId: r.author_id,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});
const toVersion = (r: VersionsTable): Version => ({
  id: r.id,
  projectId: r.project_id,
  modelId: r.model_id,
  referencedObject: r.referenced_object,
  authorId: r.author_id,
  message: r.message,
  sourceApplication: r.source_application,
  totalChildrenCount: r.total_children_count,
  parents: JSON.parse(r.parents) as string[],
  createdAt: r.created_at,
});

/** Opaque keyset cursor over (time, id). */
const encodeCursor = (t: number, id: string) => Buffer.from(JSON.stringify([t, id])).toString('base64url');
function decodeCursor(c: string | null | undefined): [number, string] | null {
  if (!c) return null;
  try {
    const v = JSON.parse(Buffer.from(c, 'base64url').toString('utf8'));
    if (Array.isArray(v) && typeof v[0] === 'number' && typeof v[1] === 'string') return [v[0], v[1]];
  } catch {
    /* fall through */
  }
  // Speckle's own cursors are ISO dates; accept them too
  const d = Date.parse(c);
  if (!Number.isNaN(d)) return [d, ''];
  throw new AppError('BAD_REQUEST_ERROR', 'Invalid cursor');
}

const VISIBILITIES: Record<string, Project['visibility']> = {
  PUBLIC: 'public',
  PRIVATE: 'private',
  UNLISTED: 'unlisted',
  public: 'public',
  private: 'private',
  unlisted: 'unlisted',
};

/** Speckle's model name rules: validated on the trimmed value, stored lower-cased. */
export function validateModelName(name: unknown): string {
  if (typeof name !== 'string' || !name.trim()) throw new AppError('BRANCH_NAME_ERROR', 'Model name is required');
  const t = name.trim();
  if (/^[#$/]/.test(t) || t.endsWith('/') || t.includes('//') || t.includes(',') || t.includes('\\'))
    throw new AppError(
      'BRANCH_NAME_ERROR',
      'Model names cannot start with "#", "$", start or end with "/", have multiple slashes next to each other (e.g., "//") or contain commas or backwards slashes.',
    );
  if (t.length > 512) throw new AppError('BRANCH_NAME_ERROR', 'Model name is too long (max 512 characters).');
  return name.toLowerCase();
}

function validateProjectName(name: unknown, fallback?: string): string {
  if (name === null || name === undefined || (typeof name === 'string' && !name.trim())) {
    if (fallback !== undefined) return fallback;
    throw new AppError('USER_INPUT_ERROR', 'Project name is required');
  }
  if (typeof name !== 'string') throw new AppError('USER_INPUT_ERROR', 'Project name must be a string');
  if (name.length > 512) throw new AppError('USER_INPUT_ERROR', 'Project name is too long (max 512 characters)');
  return name;
}

function validateDescription(d: unknown): string | null {
  if (d === null || d === undefined) return null;
  if (typeof d !== 'string') throw new AppError('USER_INPUT_ERROR', 'Description must be a string');
  if (d.length > 65536) throw new AppError('USER_INPUT_ERROR', 'Description is too long (max 65536 characters)');
  return d;
}

const DENIAL_CODE: Record<AuthzDenial, ErrorCode> = {
  ProjectNotFound: 'STREAM_NOT_FOUND',
  ProjectNoAccess: 'FORBIDDEN',
  ProjectNotEnoughPermissions: 'FORBIDDEN',
  ServerNoAccess: 'FORBIDDEN',
  ServerNoSession: 'FORBIDDEN',
  MissingScope: 'FORBIDDEN',
  ResourceNotAllowed: 'FORBIDDEN',
};

export function denialError(r: Extract<AuthzResult, { ok: false }>): AppError {
  const message =
    r.denial === 'MissingScope' ? `Your auth token does not have the required scope: ${r.scope}.` : AUTHZ_MESSAGES[r.denial];
  return new AppError(DENIAL_CODE[r.denial], message, { denial: r.denial });
}

/** Known source applications: a stored value containing a key maps to its slug. */
const SOURCE_APPS: Array<[string, string]> = [
  ['rhino', 'rhino'], ['grasshopper', 'grasshopper'], ['revit', 'revit'], ['autocad', 'autocad'], ['civil3d', 'civil3d'],
  ['civil', 'civil3d'], ['sketchup', 'sketchup'], ['archicad', 'archicad'], ['blender', 'blender'], ['dynamo', 'dynamo'],
  ['navisworks', 'navisworks'], ['etabs', 'etabs'], ['tekla', 'teklastructures'], ['qgis', 'qgis'], ['arcgis', 'arcgis'],
  ['excel', 'excel'], ['powerbi', 'powerbi'], ['unity', 'unity'], ['unreal', 'unreal'], ['microstation', 'microstation'],
  ['openroads', 'openroads'], ['openrail', 'openrail'], ['openbuildings', 'openbuildings'], ['csibridge', 'csibridge'],
  ['sap2000', 'sap2000'], ['safe', 'safe'], ['vectorworks', 'vectorworks'], ['ifc', 'ifc'], ['python', 'python'],
];
export function normaliseSourceApp(s: string | null): string | null {
  if (!s) return s;
  const l = s.toLowerCase();
  for (const [key, slug] of SOURCE_APPS) if (l.includes(key)) return slug;
  return s;
}

export function createProjectsService(store: Store, bus: EventBus) {
  const { db } = store;
  type Db = Kysely<Database> | Transaction<Database>;

  async function getProject(id: string, q: Db = db): Promise<Project | null> {
    if (typeof id !== 'string' || id.length > 64) return null;
    const r = await q.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toProject(r) : null;
  }

  async function roleOf(projectId: string, userId: string, q: Db = db): Promise<ProjectRole | null> {
    const r = await q
      .selectFrom('project_acl')
      .select('role')
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return r ? (r.role as ProjectRole) : null;
  }

  /** Evaluates the policy without throwing (REST faces map the outcome to their statuses). */
  async function check(auth: AuthContext, projectId: string, need: ProjectNeed): Promise<{ result: AuthzResult; project: Project | null }> {
    const project = await getProject(projectId);
    const role = project && auth.auth ? await roleOf(projectId, auth.userId) : null;
    const result = authorizeProject(auth, { exists: !!project, visibility: project?.visibility, role, projectId }, need);
    return { result, project };
  }

  /** The project, if the caller may `need` it; else the Speckle error. */
  async function authorize(auth: AuthContext, projectId: string, need: ProjectNeed): Promise<{ project: Project; role: ProjectRole | null }> {
    const { result, project } = await check(auth, projectId, need);
    if (!result.ok) throw denialError(result);
    return { project: project!, role: result.role };
  }

  function requireUser(auth: AuthContext, minRole: 'guest' | 'user' = 'guest'): Extract<AuthContext, { auth: true }> {
    if (!auth.auth) throw new AppError('FORBIDDEN', AUTHZ_MESSAGES.ServerNoSession);
    if (!serverRoleAtLeast(auth.role, minRole)) throw new AppError('FORBIDDEN', 'You do not have the required server role');
    return auth;
  }

  // ------------------------------------------------------------------ projects

  async function createProject(auth: AuthContext, input: { name?: unknown; description?: unknown; visibility?: unknown } | null) {
    const user = requireUser(auth, 'user');
    if (!hasScope(user.scopes, 'streams:write')) throw new AppError('FORBIDDEN', 'Your auth token does not have the required scope: streams:write.');
    if (user.resourceAccess) throw new AppError('FORBIDDEN', 'You are not authorized to create a new project resource.');
    const name = validateProjectName(input?.name, `Unnamed Project`);
    const description = validateDescription(input?.description);
    const vis = input?.visibility ?? 'PRIVATE';
    const visibility = VISIBILITIES[String(vis)];
    if (!visibility) throw new AppError('USER_INPUT_ERROR', `Unsupported project visibility: ${String(vis)}`);
    if (vis === 'WORKSPACE') throw new AppError('WORKSPACES_MODULE_DISABLED_ERROR', 'Workspaces are not enabled on this server');
    const now = Date.now();
    const id = newId();
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('projects')
        .values({ id, name, description, visibility, allow_public_comments: visibility === 'private' ? 0 : 1, cloned_from: null, created_at: now, updated_at: now })
        .execute();
      await trx.insertInto('project_acl').values({ project_id: id, user_id: user.userId, role: 'owner', created_at: now }).execute();
      await trx
        .insertInto('models')
        .values({ id: newId(), project_id: id, name: 'main', description: 'default model', author_id: user.userId, created_at: now, updated_at: now })
        .execute();
    });
    bus.publish(SpeckleChannels.userProjects, { userId: user.userId, projectId: id, type: 'ADDED' } satisfies UserProjectsEvent);
    return (await getProject(id))!;
  }

  async function updateProject(
    auth: AuthContext,
    input: { id: string; name?: unknown; description?: unknown; visibility?: unknown; allowPublicComments?: unknown },
  ) {
    requireUser(auth, 'user');
    const { project } = await authorize(auth, input.id, 'owner');
    const values: Partial<ProjectsTable> = { updated_at: Date.now() };
    if (input.name !== undefined && input.name !== null) values.name = validateProjectName(input.name);
    if (input.description !== undefined && input.description !== null) values.description = validateDescription(input.description);
    if (input.visibility !== undefined && input.visibility !== null) {
      if (input.visibility === 'WORKSPACE') throw new AppError('WORKSPACES_MODULE_DISABLED_ERROR', 'Workspaces are not enabled on this server');
      const v = VISIBILITIES[String(input.visibility)];
      if (!v) throw new AppError('USER_INPUT_ERROR', `Unsupported project visibility: ${String(input.visibility)}`);
      values.visibility = v;
    }
    if (input.allowPublicComments !== undefined && input.allowPublicComments !== null) {
      if (typeof input.allowPublicComments !== 'boolean') throw new AppError('USER_INPUT_ERROR', 'allowPublicComments must be a boolean');
      values.allow_public_comments = input.allowPublicComments ? 1 : 0;
    }
    await db.updateTable('projects').set(values).where('id', '=', project.id).execute();
    bus.publish(SpeckleChannels.project, { projectId: project.id, type: 'UPDATED' } satisfies ProjectEvent);
    return (await getProject(project.id))!;
  }

  async function deleteProject(auth: AuthContext, id: string): Promise<boolean> {
    requireUser(auth, 'user');
    const { project } = await authorize(auth, id, 'owner');
    const members = await db.selectFrom('project_acl').select('user_id').where('project_id', '=', id).execute();
    await deleteProjectsCascade([project.id]);
    bus.publish(SpeckleChannels.project, { projectId: id, type: 'DELETED' } satisfies ProjectEvent);
    for (const m of members) bus.publish(SpeckleChannels.userProjects, { userId: m.user_id, projectId: id, type: 'REMOVED' } satisfies UserProjectsEvent);
    return true;
  }

  /** Deletes projects and everything under them in one transaction (children first, for SQLite speed). */
  async function deleteProjectsCascade(ids: string[]) {
    if (!ids.length) return;
    await db.transaction().execute(async (trx) => {
      await trx.deleteFrom('objects').where('project_id', 'in', ids).execute();
      await trx.deleteFrom('versions').where('project_id', 'in', ids).execute();
      await trx.deleteFrom('models').where('project_id', 'in', ids).execute();
      await trx.deleteFrom('projects').where('id', 'in', ids).execute();
    });
  }

  async function batchDeleteProjects(auth: AuthContext, ids: string[]): Promise<boolean> {
    const user = requireUser(auth, 'user');
    if (user.role !== 'admin') throw new AppError('FORBIDDEN', 'You do not have the required server role');
    await deleteProjectsCascade(ids);
    for (const id of ids) bus.publish(SpeckleChannels.project, { projectId: id, type: 'DELETED' } satisfies ProjectEvent);
    return true;
  }

  async function team(projectId: string) {
    return db
      .selectFrom('project_acl')
      .select(['user_id', 'role', 'created_at'])
      .where('project_id', '=', projectId)
      .orderBy('created_at')
      .orderBy('user_id')
      .execute();
  }

  /** Sets (or with role null, removes) a member's role. Owner only; the last owner stays. */
  async function updateRole(auth: AuthContext, input: { projectId: string; userId: string; role: string | null }) {
    requireUser(auth, 'user');
    const { project } = await authorize(auth, input.projectId, 'owner');
    let role: ProjectRole | null = null;
    if (input.role !== null && input.role !== undefined) {
      role = projectRoleFromWire(input.role);
      if (!role) throw new AppError('BAD_REQUEST_ERROR', `Invalid project role: ${input.role}`);
    }
    const target = await db.selectFrom('users').select(['id', 'server_role']).where('id', '=', input.userId).executeTakeFirst();
    if (!target) throw new AppError('NOT_FOUND_ERROR', 'User not found');
    if (role === 'owner' && target.server_role === 'guest') throw new AppError('BAD_REQUEST_ERROR', 'Guest users cannot be owners of projects');
    const before = await roleOf(project.id, input.userId);
    await changeRole(project.id, input.userId, role);
    if (!before && role) bus.publish(SpeckleChannels.userProjects, { userId: input.userId, projectId: project.id, type: 'ADDED' } satisfies UserProjectsEvent);
    if (before && !role) bus.publish(SpeckleChannels.userProjects, { userId: input.userId, projectId: project.id, type: 'REMOVED' } satisfies UserProjectsEvent);
    bus.publish(SpeckleChannels.project, { projectId: project.id, type: 'UPDATED' } satisfies ProjectEvent);
    return (await getProject(project.id))!;
  }

  async function changeRole(projectId: string, userId: string, role: ProjectRole | null) {
    await db.transaction().execute(async (trx) => {
      const current = await roleOf(projectId, userId, trx);
      if (current === 'owner' && role !== 'owner') {
        const owners = await trx
          .selectFrom('project_acl')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('project_id', '=', projectId)
          .where('role', '=', 'owner')
          .executeTakeFirstOrThrow();
        if (Number(owners.n) <= 1) throw new AppError('BAD_REQUEST_ERROR', 'A project must have at least one owner', { denial: 'ProjectLastOwner' });
      }
      if (role === null) await trx.deleteFrom('project_acl').where('project_id', '=', projectId).where('user_id', '=', userId).execute();
      else if (current) await trx.updateTable('project_acl').set({ role }).where('project_id', '=', projectId).where('user_id', '=', userId).execute();
      else await trx.insertInto('project_acl').values({ project_id: projectId, user_id: userId, role, created_at: Date.now() }).execute();
      await trx.updateTable('projects').set({ updated_at: Date.now() }).where('id', '=', projectId).execute();
    });
  }

  async function leaveProject(auth: AuthContext, projectId: string): Promise<boolean> {
    const user = requireUser(auth);
    const role = await roleOf(projectId, user.userId);
    if (!(await getProject(projectId))) throw denialError({ ok: false, denial: 'ProjectNotFound' });
    if (!role) throw denialError({ ok: false, denial: 'ProjectNoAccess' });
    await changeRole(projectId, user.userId, null);
    bus.publish(SpeckleChannels.userProjects, { userId: user.userId, projectId, type: 'REMOVED' } satisfies UserProjectsEvent);
    return true;
  }

  /** Projects the user has a role on, newest update first. */
  async function listUserProjects(
    userId: string,
    opts: { limit: number; cursor?: string | null; search?: string | null; onlyWithRoles?: string[] | null },
  ): Promise<Page<Project & { role: ProjectRole }>> {
    const limit = Math.max(0, Math.min(50, opts.limit));
    let base = db
      .selectFrom('projects')
      .innerJoin('project_acl', 'project_acl.project_id', 'projects.id')
      .where('project_acl.user_id', '=', userId);
    if (opts.search) {
      const like = `%${opts.search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      base = base.where((eb) =>
        eb.or([eb(eb.fn('lower', ['projects.name']), 'like', like), eb(eb.fn('lower', ['projects.description']), 'like', like)]),
      );
    }
    if (opts.onlyWithRoles?.length) {
      const roles = opts.onlyWithRoles.map((r) => projectRoleFromWire(r)).filter((r): r is ProjectRole => !!r);
      base = base.where('project_acl.role', 'in', roles.length ? roles : ['-']);
    }
    const total = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    if (limit === 0) return { totalCount: Number(total.n), cursor: null, items: [] };
    let q = base.selectAll('projects').select('project_acl.role as role');
    const c = decodeCursor(opts.cursor);
    if (c) q = q.where((eb) => eb.or([eb('projects.updated_at', '<', c[0]), eb.and([eb('projects.updated_at', '=', c[0]), eb('projects.id', '<', c[1])])]));
    const rows = await q.orderBy('projects.updated_at', 'desc').orderBy('projects.id', 'desc').limit(limit).execute();
    const items = rows.map((r) => ({ ...toProject(r), role: r.role as ProjectRole }));
    const last = items[items.length - 1];
    return { totalCount: Number(total.n), cursor: last ? encodeCursor(last.updatedAt, last.id) : null, items };
  }

  async function sourceApps(projectId: string): Promise<string[]> {
    const rows = await db
      .selectFrom('versions')
      .select('source_application')
      .distinct()
      .where('project_id', '=', projectId)
      .where('source_application', 'is not', null)
      .execute();
    return [...new Set(rows.map((r) => normaliseSourceApp(r.source_application)!))];
  }

  // ------------------------------------------------------------------ models

  async function getModel(projectId: string, modelId: string): Promise<Model | null> {
    const r = await db.selectFrom('models').selectAll().where('project_id', '=', projectId).where('id', '=', modelId).executeTakeFirst();
    return r ? toModel(r) : null;
  }

  async function getModelByName(projectId: string, name: string): Promise<Model | null> {
    const r = await db
      .selectFrom('models')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('name', '=', name.toLowerCase())
      .executeTakeFirst();
    return r ? toModel(r) : null;
  }

  async function requireModel(projectId: string, modelId: string): Promise<Model> {
    const m = await getModel(projectId, modelId);
    if (!m) throw new AppError('NOT_FOUND_ERROR', 'Model not found', { denial: 'ModelNotFound' });
    return m;
  }

  async function listModels(
    projectId: string,
    opts: {
      limit: number;
      cursor?: string | null;
      filter?: { search?: string | null; ids?: string[] | null; excludeIds?: string[] | null; onlyWithVersions?: boolean | null; contributors?: string[] | null; sourceApps?: string[] | null } | null;
    },
  ): Promise<Page<Model>> {
    const limit = opts.limit <= 0 ? 0 : Math.min(500, opts.limit);
    const f = opts.filter ?? {};
    let base = db.selectFrom('models').where('models.project_id', '=', projectId);
    if (f.search) {
      const like = `%${f.search.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      base = base.where((eb) => eb.or([eb('models.name', 'like', like), eb(eb.fn('lower', ['models.description']), 'like', like)]));
    }
    if (f.ids) base = base.where('models.id', 'in', f.ids.length ? f.ids : ['-']);
    if (f.excludeIds?.length) base = base.where('models.id', 'not in', f.excludeIds);
    if (f.onlyWithVersions)
      base = base.where((eb) => eb.exists(eb.selectFrom('versions').select('versions.id').whereRef('versions.model_id', '=', 'models.id')));
    if (f.contributors?.length)
      base = base.where((eb) =>
        eb.exists(eb.selectFrom('versions').select('versions.id').whereRef('versions.model_id', '=', 'models.id').where('versions.author_id', 'in', f.contributors!)),
      );
    if (f.sourceApps?.length) {
      const apps = f.sourceApps.map((s) => s.toLowerCase());
      base = base.where((eb) =>
        eb.exists(
          eb
            .selectFrom('versions')
            .select('versions.id')
            .whereRef('versions.model_id', '=', 'models.id')
            .where((e2) => e2.or(apps.map((a) => e2(e2.fn('lower', ['versions.source_application']), 'like', `%${a}%`)))),
        ),
      );
    }
    const total = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    if (limit === 0) return { totalCount: Number(total.n), cursor: null, items: [] };
    let q = base.selectAll('models');
    const c = decodeCursor(opts.cursor);
    if (c) q = q.where((eb) => eb.or([eb('models.updated_at', '<', c[0]), eb.and([eb('models.updated_at', '=', c[0]), eb('models.id', '<', c[1])])]));
    const rows = await q.orderBy('models.updated_at', 'desc').orderBy('models.id', 'desc').limit(limit).execute();
    const items = rows.map(toModel);
    const last = items[items.length - 1];
    return { totalCount: Number(total.n), cursor: last ? encodeCursor(last.updatedAt, last.id) : null, items };
  }

  async function allModels(projectId: string): Promise<Model[]> {
    return (await db.selectFrom('models').selectAll().where('project_id', '=', projectId).orderBy('name').execute()).map(toModel);
  }

  async function createModel(auth: AuthContext, input: { projectId: string; name: unknown; description?: unknown }): Promise<Model> {
    const user = requireUser(auth);
    const { project } = await authorize(auth, input.projectId, 'write');
    const name = validateModelName(input.name);
    const description = validateDescription(input.description);
    const now = Date.now();
    const id = newId();
    try {
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('models').values({ id, project_id: project.id, name, description, author_id: user.userId, created_at: now, updated_at: now }).execute();
        await trx.updateTable('projects').set({ updated_at: now }).where('id', '=', project.id).execute();
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('BRANCH_NAME_ERROR', 'A model with this name already exists');
      throw err;
    }
    bus.publish(SpeckleChannels.models, { projectId: project.id, modelId: id, type: 'CREATED' } satisfies ModelEvent);
    return (await getModel(project.id, id))!;
  }

  async function updateModel(auth: AuthContext, input: { projectId: string; id: string; name?: unknown; description?: unknown }): Promise<Model> {
    requireUser(auth);
    const { project } = await authorize(auth, input.projectId, 'write');
    const model = await requireModel(project.id, input.id);
    const values: Partial<ModelsTable> = { updated_at: Date.now() };
    if (input.name !== undefined && input.name !== null) {
      const name = validateModelName(input.name);
      if (model.name === 'main' && name !== 'main') throw new AppError('BAD_REQUEST_ERROR', 'The main model cannot be renamed');
      values.name = name;
    }
    if (input.description !== undefined && input.description !== null) values.description = validateDescription(input.description);
    try {
      await db.updateTable('models').set(values).where('id', '=', model.id).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('BRANCH_NAME_ERROR', 'A model with this name already exists');
      throw err;
    }
    bus.publish(SpeckleChannels.models, { projectId: project.id, modelId: model.id, type: 'UPDATED' } satisfies ModelEvent);
    return (await getModel(project.id, model.id))!;
  }

  async function deleteModel(auth: AuthContext, input: { projectId: string; id: string }): Promise<boolean> {
    requireUser(auth);
    const { project } = await authorize(auth, input.projectId, 'write');
    const model = await requireModel(project.id, input.id);
    if (model.name === 'main') throw new AppError('BAD_REQUEST_ERROR', 'This model is reserved and cannot be deleted', { denial: 'ReservedModelNotDeletable' });
    await db.transaction().execute(async (trx) => {
      await trx.deleteFrom('versions').where('model_id', '=', model.id).execute();
      await trx.deleteFrom('models').where('id', '=', model.id).execute();
      await trx.updateTable('projects').set({ updated_at: Date.now() }).where('id', '=', project.id).execute();
    });
    bus.publish(SpeckleChannels.models, { projectId: project.id, modelId: model.id, type: 'DELETED' } satisfies ModelEvent);
    return true;
  }

  // ------------------------------------------------------------------ versions

  async function getVersion(projectId: string, versionId: string): Promise<Version | null> {
    const r = await db.selectFrom('versions').selectAll().where('project_id', '=', projectId).where('id', '=', versionId).executeTakeFirst();
    return r ? toVersion(r) : null;
  }

  async function requireVersion(projectId: string, versionId: string): Promise<Version> {
    const v = await getVersion(projectId, versionId);
    if (!v) throw new AppError('NOT_FOUND_ERROR', 'Version not found', { denial: 'VersionNotFound' });
    return v;
  }

  async function listVersions(
    scope: { projectId: string; modelId?: string },
    opts: { limit: number; cursor?: string | null; priorityIds?: string[] | null; priorityIdsOnly?: boolean | null },
  ): Promise<Page<Version>> {
    if (opts.limit > 100) throw new AppError('BAD_REQUEST_ERROR', 'Cannot return more than 100 items, please use pagination.');
    const limit = Math.max(0, opts.limit);
    let base = db.selectFrom('versions').where('project_id', '=', scope.projectId);
    if (scope.modelId) base = base.where('model_id', '=', scope.modelId);
    const total = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    if (limit === 0) return { totalCount: Number(total.n), cursor: null, items: [] };
    const priority = opts.priorityIds?.length ? opts.priorityIds : null;
    let first: Version[] = [];
    const c = decodeCursor(opts.cursor);
    if (priority && !c) {
      first = (await base.selectAll().where('id', 'in', priority).orderBy('created_at', 'desc').orderBy('id', 'desc').execute()).map(toVersion);
      if (opts.priorityIdsOnly) return { totalCount: first.length, cursor: null, items: first.slice(0, limit) };
    }
    let q = base.selectAll();
    if (priority) q = q.where('id', 'not in', priority);
    if (c) q = q.where((eb) => eb.or([eb('created_at', '<', c[0]), eb.and([eb('created_at', '=', c[0]), eb('id', '<', c[1])])]));
    const rest = limit - first.length > 0 ? (await q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit - first.length).execute()).map(toVersion) : [];
    const items = [...first, ...rest];
    const last = rest[rest.length - 1] ?? items[items.length - 1];
    return { totalCount: Number(total.n), cursor: last ? encodeCursor(last.createdAt, last.id) : null, items };
  }

  async function latestVersion(modelId: string): Promise<Version | null> {
    const r = await db.selectFrom('versions').selectAll().where('model_id', '=', modelId).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(1).executeTakeFirst();
    return r ? toVersion(r) : null;
  }

  async function createVersion(
    auth: AuthContext,
    input: { projectId: string; modelId: string; objectId: string; message?: string | null; sourceApplication?: string | null; parents?: string[] | null },
  ): Promise<Version> {
    const user = requireUser(auth);
    const { project } = await authorize(auth, input.projectId, 'write');
    const model = await requireModel(project.id, input.modelId);
    if (typeof input.objectId !== 'string' || !input.objectId) throw new AppError('COMMIT_CREATE_ERROR', "Couldn't find commit object");
    const obj = await db
      .selectFrom('objects')
      .select(['id', 'total_children_count'])
      .where('project_id', '=', project.id)
      .where('id', '=', input.objectId)
      .executeTakeFirst();
    if (!obj) throw new AppError('COMMIT_CREATE_ERROR', "Couldn't find commit object");
    if (input.message && input.message.length > 65536) throw new AppError('USER_INPUT_ERROR', 'Version message is too long (max 65536 characters)');
    if (input.sourceApplication && input.sourceApplication.length > 1024) throw new AppError('USER_INPUT_ERROR', 'Source application is too long');
    const now = Date.now();
    const id = newId();
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('versions')
        .values({
          id,
          project_id: project.id,
          model_id: model.id,
          referenced_object: input.objectId,
          author_id: user.userId,
          message: input.message || null,
          source_application: input.sourceApplication || null,
          total_children_count: obj.total_children_count || 1,
          parents: JSON.stringify(input.parents ?? []),
          created_at: now,
        })
        .execute();
      await trx.updateTable('models').set({ updated_at: now }).where('id', '=', model.id).execute();
      await trx.updateTable('projects').set({ updated_at: now }).where('id', '=', project.id).execute();
    });
    bus.publish(SpeckleChannels.versions, { projectId: project.id, modelId: model.id, versionId: id, type: 'CREATED' } satisfies VersionEvent);
    bus.publish(SpeckleChannels.models, { projectId: project.id, modelId: model.id, type: 'UPDATED' } satisfies ModelEvent);
    return (await getVersion(project.id, id))!;
  }

  async function updateVersion(auth: AuthContext, input: { projectId: string; versionId: string; message?: string | null }): Promise<Version> {
    const user = requireUser(auth);
    const { project, role } = await authorize(auth, input.projectId, 'write');
    const v = await requireVersion(project.id, input.versionId);
    if (v.authorId !== user.userId && role !== 'owner') throw denialError({ ok: false, denial: 'ProjectNotEnoughPermissions' });
    if (input.message !== undefined && input.message !== null) {
      if (input.message.length > 65536) throw new AppError('USER_INPUT_ERROR', 'Version message is too long (max 65536 characters)');
      await db.updateTable('versions').set({ message: input.message }).where('id', '=', v.id).execute();
    }
    bus.publish(SpeckleChannels.versions, { projectId: project.id, modelId: v.modelId, versionId: v.id, type: 'UPDATED' } satisfies VersionEvent);
    return (await getVersion(project.id, v.id))!;
  }

  async function versionsFor(projectId: string, ids: string[]): Promise<Version[]> {
    if (!Array.isArray(ids) || ids.length === 0) throw new AppError('BAD_REQUEST_ERROR', 'No versions specified');
    if (ids.length > 100) throw new AppError('BAD_REQUEST_ERROR', 'Too many versions in one request (max 100)');
    const rows = (await db.selectFrom('versions').selectAll().where('project_id', '=', projectId).where('id', 'in', ids).execute()).map(toVersion);
    if (rows.length !== new Set(ids).size) throw new AppError('NOT_FOUND_ERROR', 'Version not found', { denial: 'VersionNotFound' });
    return rows;
  }

  async function moveVersions(auth: AuthContext, input: { projectId: string; versionIds: string[]; targetModelName: string }): Promise<Model> {
    const user = requireUser(auth);
    const { project, role } = await authorize(auth, input.projectId, 'write');
    const versions = await versionsFor(project.id, input.versionIds);
    if (role !== 'owner' && versions.some((v) => v.authorId !== user.userId)) throw denialError({ ok: false, denial: 'ProjectNotEnoughPermissions' });
    const name = validateModelName(input.targetModelName);
    const now = Date.now();
    let created = false;
    const target = await db.transaction().execute(async (trx) => {
      let m = await trx.selectFrom('models').selectAll().where('project_id', '=', project.id).where('name', '=', name).executeTakeFirst();
      if (!m) {
        const id = newId();
        await trx.insertInto('models').values({ id, project_id: project.id, name, description: null, author_id: user.userId, created_at: now, updated_at: now }).execute();
        m = await trx.selectFrom('models').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
        created = true;
      }
      await trx.updateTable('versions').set({ model_id: m.id }).where('id', 'in', versions.map((v) => v.id)).execute();
      await trx.updateTable('models').set({ updated_at: now }).where('id', 'in', [m.id, ...versions.map((v) => v.modelId)]).execute();
      return toModel(m);
    });
    if (created) bus.publish(SpeckleChannels.models, { projectId: project.id, modelId: target.id, type: 'CREATED' } satisfies ModelEvent);
    for (const v of versions) {
      bus.publish(SpeckleChannels.versions, { projectId: project.id, modelId: v.modelId, versionId: v.id, type: 'DELETED' } satisfies VersionEvent);
      bus.publish(SpeckleChannels.versions, { projectId: project.id, modelId: target.id, versionId: v.id, type: 'CREATED' } satisfies VersionEvent);
    }
    return (await getModel(project.id, target.id))!;
  }

  async function deleteVersions(auth: AuthContext, input: { projectId: string; versionIds: string[] }): Promise<boolean> {
    const user = requireUser(auth);
    const { project, role } = await authorize(auth, input.projectId, 'write');
    const versions = await versionsFor(project.id, input.versionIds);
    if (role !== 'owner' && versions.some((v) => v.authorId !== user.userId)) throw denialError({ ok: false, denial: 'ProjectNotEnoughPermissions' });
    await db.transaction().execute(async (trx) => {
      await trx.deleteFrom('versions').where('id', 'in', versions.map((v) => v.id)).execute();
      await trx.updateTable('projects').set({ updated_at: Date.now() }).where('id', '=', project.id).execute();
    });
    for (const v of versions)
      bus.publish(SpeckleChannels.versions, { projectId: project.id, modelId: v.modelId, versionId: v.id, type: 'DELETED' } satisfies VersionEvent);
    return true;
  }

  async function markReceived(auth: AuthContext, input: { projectId: string; versionId: string; sourceApplication: string; message?: string | null }) {
    const user = requireUser(auth);
    const { project } = await authorize(auth, input.projectId, 'read');
    const v = await requireVersion(project.id, input.versionId);
    if (typeof input.sourceApplication !== 'string' || !input.sourceApplication || input.sourceApplication.length > 1024)
      throw new AppError('USER_INPUT_ERROR', 'sourceApplication is required');
    await db
      .insertInto('version_receipts')
      .values({ version_id: v.id, user_id: user.userId, source_application: input.sourceApplication, message: input.message ?? null, created_at: Date.now() })
      .execute();
    return true;
  }

  async function receipts(versionId: string) {
    return db.selectFrom('version_receipts').selectAll().where('version_id', '=', versionId).orderBy('created_at').execute();
  }

  // ------------------------------------------------------------------ invites

  const toInvite = (r: { id: string; project_id: string; inviter_id: string; target_user_id: string | null; target_email: string | null; role: string; token: string; created_at: number }): Invite => ({
    id: r.id,
    projectId: r.project_id,
    inviterId: r.inviter_id,
    targetUserId: r.target_user_id,
    targetEmail: r.target_email,
    role: r.role as ProjectRole,
    token: r.token,
    createdAt: r.created_at,
  });

  async function createInvite(auth: AuthContext, projectId: string, input: { email?: string | null; userId?: string | null; role?: string | null }) {
    const user = requireUser(auth);
    if (!hasScope(user.scopes, 'users:invite')) throw new AppError('FORBIDDEN', 'Your auth token does not have the required scope: users:invite.');
    const { project } = await authorize(auth, projectId, 'owner');
    const role = input.role ? projectRoleFromWire(input.role) : 'contributor';
    if (!role) throw new AppError('BAD_REQUEST_ERROR', `Invalid project role: ${input.role}`);
    let targetUserId: string | null = null;
    let targetEmail: string | null = null;
    if (input.userId) {
      const u = await db.selectFrom('users').select('id').where('id', '=', input.userId).executeTakeFirst();
      if (!u) throw new AppError('USER_INPUT_ERROR', 'Attempting to invite an invalid user');
      targetUserId = u.id;
    } else if (input.email) {
      const u = await db.selectFrom('users').select('id').where('email_lower', '=', input.email.trim().toLowerCase()).executeTakeFirst();
      if (u) targetUserId = u.id;
      else targetEmail = input.email.trim();
    } else throw new AppError('USER_INPUT_ERROR', 'Either an email or a user id is required');
    if (targetUserId && (await roleOf(project.id, targetUserId))) throw new AppError('USER_INPUT_ERROR', 'The target user is already a collaborator on this project');
    await db
      .insertInto('project_invites')
      .values({ id: randomHex(20), project_id: project.id, inviter_id: user.userId, target_user_id: targetUserId, target_email: targetEmail, role, token: randomHex(32), created_at: Date.now() })
      .execute();
    bus.publish(SpeckleChannels.project, { projectId: project.id, type: 'UPDATED' } satisfies ProjectEvent);
    return project;
  }

  async function listInvites(projectId: string): Promise<Invite[]> {
    return (await db.selectFrom('project_invites').selectAll().where('project_id', '=', projectId).orderBy('created_at').execute()).map(toInvite);
  }

  async function userInvites(userId: string): Promise<Invite[]> {
    const u = await db.selectFrom('users').select('email_lower').where('id', '=', userId).executeTakeFirst();
    if (!u) return [];
    return (
      await db
        .selectFrom('project_invites')
        .selectAll()
        .where((eb) => eb.or([eb('target_user_id', '=', userId), eb(eb.fn('lower', ['target_email']), '=', u.email_lower)]))
        .orderBy('created_at')
        .execute()
    ).map(toInvite);
  }

  async function findInvite(auth: AuthContext, projectId: string, token?: string | null): Promise<Invite | null> {
    if (token) {
      const r = await db.selectFrom('project_invites').selectAll().where('project_id', '=', projectId).where('token', '=', token).executeTakeFirst();
      return r ? toInvite(r) : null;
    }
    if (!auth.auth) return null;
    return (await userInvites(auth.userId)).find((i) => i.projectId === projectId) ?? null;
  }

  async function useInvite(auth: AuthContext, input: { projectId: string; token: string; accept: boolean }): Promise<boolean> {
    const user = requireUser(auth);
    const invite = await findInvite(auth, input.projectId, input.token);
    if (!invite) throw new AppError('NOT_FOUND_ERROR', 'Attempted to finalize nonexistent project invite');
    const u = await db.selectFrom('users').select('email_lower').where('id', '=', user.userId).executeTakeFirstOrThrow();
    const mine = invite.targetUserId === user.userId || (invite.targetEmail && invite.targetEmail.toLowerCase() === u.email_lower);
    if (!mine) throw new AppError('FORBIDDEN', 'Attempted to finalize mismatched invite');
    await db.transaction().execute(async (trx) => {
      await trx.deleteFrom('project_invites').where('id', '=', invite.id).execute();
      if (input.accept) {
        const current = await roleOf(invite.projectId, user.userId, trx);
        if (!current) await trx.insertInto('project_acl').values({ project_id: invite.projectId, user_id: user.userId, role: invite.role, created_at: Date.now() }).execute();
      }
    });
    if (input.accept) bus.publish(SpeckleChannels.userProjects, { userId: user.userId, projectId: invite.projectId, type: 'ADDED' } satisfies UserProjectsEvent);
    bus.publish(SpeckleChannels.project, { projectId: invite.projectId, type: 'UPDATED' } satisfies ProjectEvent);
    return true;
  }

  async function cancelInvite(auth: AuthContext, projectId: string, inviteId: string): Promise<Project> {
    const user = requireUser(auth);
    if (!hasScope(user.scopes, 'users:invite')) throw new AppError('FORBIDDEN', 'Your auth token does not have the required scope: users:invite.');
    const { project } = await authorize(auth, projectId, 'owner');
    const res = await db.deleteFrom('project_invites').where('project_id', '=', project.id).where('id', '=', inviteId).executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) throw new AppError('NOT_FOUND_ERROR', 'Invite not found');
    bus.publish(SpeckleChannels.project, { projectId: project.id, type: 'UPDATED' } satisfies ProjectEvent);
    return (await getProject(project.id))!;
  }

  // ------------------------------------------------------------------ legacy (v2) listings

  /** Models oldest first, keyset-paged over (createdAt, id): the order of the legacy `Stream.branches`. */
  async function listModelsOldestFirst(projectId: string, opts: { limit: number; cursor?: string | null }): Promise<Page<Model>> {
    const limit = Math.max(0, opts.limit);
    const base = db.selectFrom('models').where('project_id', '=', projectId);
    const total = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    if (limit === 0) return { totalCount: Number(total.n), cursor: null, items: [] };
    let q = base.selectAll();
    const c = decodeCursor(opts.cursor);
    if (c) q = q.where((eb) => eb.or([eb('created_at', '>', c[0]), eb.and([eb('created_at', '=', c[0]), eb('id', '>', c[1])])]));
    const items = (await q.orderBy('created_at', 'asc').orderBy('id', 'asc').limit(limit).execute()).map(toModel);
    const last = items[items.length - 1];
    return { totalCount: Number(total.n), cursor: last ? encodeCursor(last.createdAt, last.id) : null, items };
  }

  /** Public (discoverable) projects a user has a role on, newest update first: what others see of a user's streams. */
  async function listUserPublicProjects(userId: string, opts: { limit: number; cursor?: string | null }): Promise<Page<Project>> {
    const limit = Math.max(0, Math.min(50, opts.limit));
    const base = db
      .selectFrom('projects')
      .innerJoin('project_acl', 'project_acl.project_id', 'projects.id')
      .where('project_acl.user_id', '=', userId)
      .where('projects.visibility', '=', 'public');
    const total = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    if (limit === 0) return { totalCount: Number(total.n), cursor: null, items: [] };
    let q = base.selectAll('projects');
    const c = decodeCursor(opts.cursor);
    if (c) q = q.where((eb) => eb.or([eb('projects.updated_at', '<', c[0]), eb.and([eb('projects.updated_at', '=', c[0]), eb('projects.id', '<', c[1])])]));
    const items = (await q.orderBy('projects.updated_at', 'desc').orderBy('projects.id', 'desc').limit(limit).execute()).map(toProject);
    const last = items[items.length - 1];
    return { totalCount: Number(total.n), cursor: last ? encodeCursor(last.updatedAt, last.id) : null, items };
  }

  /** Versions a user authored, newest first; `publicOnly` keeps those of publicly readable projects. */
  async function listUserVersions(userId: string, opts: { limit: number; cursor?: string | null; publicOnly: boolean }): Promise<Page<Version>> {
    const limit = Math.max(0, opts.limit);
    let base = db.selectFrom('versions').where('versions.author_id', '=', userId);
    if (opts.publicOnly)
      base = base.where('versions.project_id', 'in', db.selectFrom('projects').select('id').where('visibility', 'in', ['public', 'unlisted']));
    const total = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    if (limit === 0) return { totalCount: Number(total.n), cursor: null, items: [] };
    let q = base.selectAll('versions');
    const c = decodeCursor(opts.cursor);
    if (c) q = q.where((eb) => eb.or([eb('versions.created_at', '<', c[0]), eb.and([eb('versions.created_at', '=', c[0]), eb('versions.id', '<', c[1])])]));
    const items = (await q.orderBy('versions.created_at', 'desc').orderBy('versions.id', 'desc').limit(limit).execute()).map(toVersion);
    const last = items[items.length - 1];
    return { totalCount: Number(total.n), cursor: last ? encodeCursor(last.createdAt, last.id) : null, items };
  }

  return {
    getProject,
    roleOf,
    check,
    authorize,
    createProject,
    updateProject,
    deleteProject,
    batchDeleteProjects,
    team,
    updateRole,
    leaveProject,
    listUserProjects,
    sourceApps,
    getModel,
    getModelByName,
    requireModel,
    listModels,
    allModels,
    createModel,
    updateModel,
    deleteModel,
    getVersion,
    requireVersion,
    listVersions,
    latestVersion,
    createVersion,
    updateVersion,
    moveVersions,
    deleteVersions,
    markReceived,
    receipts,
    createInvite,
    listInvites,
    userInvites,
    findInvite,
    useInvite,
    cancelInvite,
    listModelsOldestFirst,
    listUserPublicProjects,
    listUserVersions,
  };
}

export type ProjectsService = ReturnType<typeof createProjectsService>;
