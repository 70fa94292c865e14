/**
 * `client.activeUser` — specklepy's ActiveUserResource: the user the token belongs to, their projects,
 * invites and permissions.
 */
import { SpeckleAuthError } from '../errors.js';
import { inputs } from '../inputs.js';
import type { PermissionCheckResult, ResourceCollection } from '../models/common.js';
import type { UserProjectsFilter, UserUpdateInput } from '../models/inputs.js';
import type { PendingStreamCollaborator, Project, ProjectPermissionChecks } from '../models/project.js';
import type { User } from '../models/user.js';
import { ResourceBase, expectCollection, expectObject, expectShape, isObject } from '../resource.js';
import type { GraphQLRequestOptions } from '../transport.js';

export const ACTIVE_USER_GET_QUERY = 'query User {data:activeUser {id email name bio company avatar verified role}}';
export const ACTIVE_USER_UPDATE_MUTATION =
  'mutation ActiveUserMutations($input: UserUpdateInput!) {data:activeUserMutations {data:update(user:$input) {id email name bio company avatar verified role}}}';
export const ACTIVE_USER_GET_PROJECTS_QUERY =
  'query User($limit: Int!, $cursor: String, $filter: UserProjectsFilter) {data:activeUser {data:projects(limit:$limit,cursor:$cursor,filter:$filter) {totalCount cursor items {id name description visibility allowPublicComments role createdAt updatedAt sourceApps workspaceId}}}}';
export const ACTIVE_USER_GET_PROJECT_INVITES_QUERY =
  'query ProjectInvites {data:activeUser {data:projectInvites {id inviteId invitedBy {avatar bio company id name role verified} projectId projectName role title token user {id name bio company verified avatar role}}}}';
export const ACTIVE_USER_CAN_CREATE_PERSONAL_PROJECTS_QUERY =
  'query CanCreatePersonalProject {data:activeUser {data:permissions {data:canCreatePersonalProject {authorized code message}}}}';
export const ACTIVE_USER_GET_PROJECTS_WITH_PERMISSIONS_QUERY =
  'query User($limit: Int!, $cursor: String, $filter: UserProjectsFilter) {data:activeUser {data:projects(limit:$limit,cursor:$cursor,filter:$filter) {totalCount cursor items {id name description visibility allowPublicComments role createdAt updatedAt sourceApps workspaceId permissions {canCreateModel {code authorized message} canDelete {code authorized message} canLoad {code authorized message} canPublish {code authorized message}}}}}}';

export interface ActiveUserGetProjectsOptions extends GraphQLRequestOptions {
  /** page size (default 25; Speckle serves at most 50) */
  limit?: number;
  cursor?: string | null;
  filter?: UserProjectsFilter | null;
}

/** A project with the caller's permissions on it (`activeUser.getProjectsWithPermissions`). */
export interface ProjectWithPermissions extends Project {
  permissions: ProjectPermissionChecks;
}

const ANONYMOUS = 'GraphQL response indicated that the ActiveUser could not be found';

export class ActiveUserResource extends ResourceBase {
  readonly name = 'active_user';

  /**
   * The authenticated user, or null when the request is anonymous. A token without `profile:read`
   * fails with GraphQLError code FORBIDDEN. `email` is null unless the token has `profile:email`.
   */
  async get(options?: GraphQLRequestOptions): Promise<User | null> {
    const user = await this.query<unknown>(ACTIVE_USER_GET_QUERY, 'data', undefined, options);
    if (user === null) return null;
    expectShape(
      isObject(user) && typeof user.id === 'string' && typeof user.name === 'string',
      'activeUser must have a string id and name',
      user,
    );
    return user as unknown as User;
  }

  /** Changes the user's name, bio, company or avatar (null keys are left unchanged; needs `profile:write`). */
  async update(input: UserUpdateInput, options?: GraphQLRequestOptions): Promise<User> {
    const user = await this.queryPath<User>(ACTIVE_USER_UPDATE_MUTATION, ['data', 'data'], { input: inputs.userUpdate(input) }, options);
    expectObject(user, 'updated user', ['id', 'name']);
    return user;
  }

  /**
   * One page of the user's projects (most recently updated first).
   * @throws SpeckleAuthError when the request is anonymous (specklepy raises GraphQLException)
   */
  async getProjects(options: ActiveUserGetProjectsOptions = {}): Promise<ResourceCollection<Project>> {
    const projects = await this.meOr<ResourceCollection<Project>>(ACTIVE_USER_GET_PROJECTS_QUERY, ['data', 'data'], this.pageVariables(options), options);
    expectCollection(projects, 'activeUser.projects', ['id', 'name']);
    return projects;
  }

  /** Like getProjects, with canCreateModel/canDelete/canLoad/canPublish for each project. */
  async getProjectsWithPermissions(options: ActiveUserGetProjectsOptions = {}): Promise<ResourceCollection<ProjectWithPermissions>> {
    const projects = await this.meOr<ResourceCollection<ProjectWithPermissions>>(
      ACTIVE_USER_GET_PROJECTS_WITH_PERMISSIONS_QUERY,
      ['data', 'data'],
      this.pageVariables(options),
      options,
    );
    expectCollection(projects, 'activeUser.projects', ['id', 'name']);
    return projects;
  }

  /** Invitations to projects waiting for the user (each with the `token` to accept it). */
  async getProjectInvites(options?: GraphQLRequestOptions): Promise<PendingStreamCollaborator[]> {
    const invites = await this.meOr<PendingStreamCollaborator[]>(ACTIVE_USER_GET_PROJECT_INVITES_QUERY, ['data', 'data'], undefined, options);
    expectShape(Array.isArray(invites), 'activeUser.projectInvites must be a list', invites);
    return invites;
  }

  /** Whether the user may create personal (non-workspace) projects. */
  async canCreatePersonalProjects(options?: GraphQLRequestOptions): Promise<PermissionCheckResult> {
    const check = await this.meOr<PermissionCheckResult>(ACTIVE_USER_CAN_CREATE_PERSONAL_PROJECTS_QUERY, ['data', 'data', 'data'], undefined, options);
    expectShape(isObject(check) && typeof check.authorized === 'boolean', 'canCreatePersonalProject must be a permission check', check);
    return check;
  }

  private pageVariables(options: ActiveUserGetProjectsOptions): Record<string, unknown> {
    return {
      limit: options.limit ?? 25,
      cursor: options.cursor ?? null,
      filter: options.filter ? inputs.userProjectsFilter(options.filter) : null,
    };
  }

  /** Runs an `activeUser {…}` document; a null activeUser (anonymous request) is a SpeckleAuthError. */
  private async meOr<T>(document: string, path: readonly string[], variables: Record<string, unknown> | undefined, options?: GraphQLRequestOptions): Promise<T> {
    const me = await this.queryPath<Record<string, unknown> | null>(document, ['data'], variables, options, true);
    if (me === null) throw new SpeckleAuthError(ANONYMOUS, 200, '');
    let current: unknown = me;
    for (const key of path.slice(1)) {
      expectShape(isObject(current) && current[key] !== null && current[key] !== undefined, `activeUser answer must have "${key}"`, me);
      current = (current as Record<string, unknown>)[key];
    }
    return current as T;
  }
}
