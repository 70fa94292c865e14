/**
 * `client.project` — specklepy's ProjectResource: read, create, update and delete projects, and change
 * members' roles. Every method throws on failure (GraphQLError with the server's code, e.g.
 * `STREAM_NOT_FOUND`, `FORBIDDEN`).
 */
import { inputs } from '../inputs.js';
import type { ProjectCreateInput, ProjectModelsFilter, ProjectUpdateInput, ProjectUpdateRoleInput } from '../models/inputs.js';
import type { Project, ProjectPermissionChecks, ProjectWithModels, ProjectWithTeam } from '../models/project.js';
import { ResourceBase, expectCollection, expectObject, expectShape } from '../resource.js';
import type { GraphQLRequestOptions } from '../transport.js';

export const PROJECT_GET_QUERY =
  'query Project($projectId: String!) {data:project(id:$projectId) {allowPublicComments createdAt description id name role sourceApps updatedAt visibility workspaceId}}';
export const PROJECT_GET_PERMISSIONS_QUERY =
  'query Project($projectId: String!) {data:project(id:$projectId) {data:permissions {canCreateModel {authorized code message} canDelete {authorized code message} canLoad {authorized code message} canPublish {authorized code message}}}}';
export const PROJECT_GET_WITH_MODELS_QUERY =
  'query ProjectGetWithModels($projectId: String!, $modelsLimit: Int!, $modelsCursor: String, $modelsFilter: ProjectModelsFilter) {data:project(id:$projectId) {id name description visibility allowPublicComments role createdAt updatedAt sourceApps workspaceId models(limit:$modelsLimit,cursor:$modelsCursor,filter:$modelsFilter) {items {id name previewUrl updatedAt displayName description createdAt author {avatar bio company id name role verified}} cursor totalCount}}}';
export const PROJECT_GET_WITH_TEAM_QUERY =
  'query ProjectGetWithTeam($projectId: String!) {data:project(id:$projectId) {id name description visibility allowPublicComments role createdAt updatedAt workspaceId sourceApps team {id role user {id name bio company avatar verified role}} invitedTeam {id inviteId projectId projectName title role token user {id name bio company avatar verified role} invitedBy {id name bio company avatar verified role}} workspaceId}}';
export const PROJECT_CREATE_MUTATION =
  'mutation ProjectCreate($input: ProjectCreateInput) {data:projectMutations {data:create(input:$input) {id name description visibility allowPublicComments role createdAt updatedAt sourceApps workspaceId}}}';
export const PROJECT_UPDATE_MUTATION =
  'mutation ProjectUpdate($input: ProjectUpdateInput!) {data:projectMutations {data:update(update:$input) {allowPublicComments createdAt description id name role sourceApps updatedAt visibility workspaceId}}}';
export const PROJECT_DELETE_MUTATION =
  'mutation ProjectDelete($projectId: String!) {data:projectMutations {data:delete(id:$projectId)}}';
export const PROJECT_UPDATE_ROLE_MUTATION =
  'mutation ProjectUpdateRole($input: ProjectUpdateRoleInput!) {data:projectMutations {data:updateRole(input:$input) {id name description visibility allowPublicComments role createdAt updatedAt sourceApps workspaceId team {id role user {id name bio company avatar verified role}} invitedTeam {id inviteId projectId projectName title role token user {id name bio company avatar verified role} invitedBy {id name bio company avatar verified role}}}}}';

export interface ProjectGetWithModelsOptions extends GraphQLRequestOptions {
  /** page size (default 25) */
  modelsLimit?: number;
  modelsCursor?: string | null;
  modelsFilter?: ProjectModelsFilter | null;
}

export class ProjectResource extends ResourceBase {
  readonly name = 'project';

  /** The project (public projects are readable anonymously). */
  async get(projectId: string, options?: GraphQLRequestOptions): Promise<Project> {
    const project = await this.queryPath<Project>(PROJECT_GET_QUERY, ['data'], { projectId }, options);
    expectObject(project, 'project', ['id', 'name']);
    return project;
  }

  /** What the caller may do with the project: canCreateModel, canDelete, canLoad, canPublish. */
  async getPermissions(projectId: string, options?: GraphQLRequestOptions): Promise<ProjectPermissionChecks> {
    const checks = await this.queryPath<ProjectPermissionChecks>(PROJECT_GET_PERMISSIONS_QUERY, ['data', 'data'], { projectId }, options);
    for (const key of ['canCreateModel', 'canDelete', 'canLoad'] as const) {
      const check = (checks as unknown as Record<string, unknown>)[key];
      expectShape(typeof (check as { authorized?: unknown })?.authorized === 'boolean', `permissions.${key}.authorized must be a boolean`, check);
    }
    return checks;
  }

  /** The project with one page of its models (most recently updated first). */
  async getWithModels(projectId: string, options: ProjectGetWithModelsOptions = {}): Promise<ProjectWithModels> {
    const variables = {
      projectId,
      modelsLimit: options.modelsLimit ?? 25,
      modelsCursor: options.modelsCursor ?? null,
      modelsFilter: options.modelsFilter ? inputs.projectModelsFilter(options.modelsFilter) : null,
    };
    const project = await this.queryPath<ProjectWithModels>(PROJECT_GET_WITH_MODELS_QUERY, ['data'], variables, options);
    expectObject(project, 'project', ['id', 'name']);
    expectCollection(project.models, 'project.models', ['id', 'name']);
    return project;
  }

  /** The project with its members and pending invites (needs `users:read`). */
  async getWithTeam(projectId: string, options?: GraphQLRequestOptions): Promise<ProjectWithTeam> {
    const project = await this.queryPath<ProjectWithTeam>(PROJECT_GET_WITH_TEAM_QUERY, ['data'], { projectId }, options);
    expectObject(project, 'project', ['id', 'name']);
    expectShape(Array.isArray(project.team), 'project.team must be a list', project.team);
    return project;
  }

  /**
   * Creates a personal (non-workspace) project; the server adds a `main` model. See
   * `activeUser.canCreatePersonalProjects()`.
   */
  async create(input: ProjectCreateInput, options?: GraphQLRequestOptions): Promise<Project> {
    const project = await this.queryPath<Project>(PROJECT_CREATE_MUTATION, ['data', 'data'], { input: inputs.projectCreate(input) }, options);
    expectObject(project, 'created project', ['id', 'name']);
    return project;
  }

  /** Updates name, description, visibility or allowPublicComments (null keys are left unchanged). */
  async update(input: ProjectUpdateInput, options?: GraphQLRequestOptions): Promise<Project> {
    const project = await this.queryPath<Project>(PROJECT_UPDATE_MUTATION, ['data', 'data'], { input: inputs.projectUpdate(input) }, options);
    expectObject(project, 'updated project', ['id', 'name']);
    return project;
  }

  /** Deletes the project; true when deleted. */
  async delete(projectId: string, options?: GraphQLRequestOptions): Promise<boolean> {
    const deleted = await this.queryPath<boolean>(PROJECT_DELETE_MUTATION, ['data', 'data'], { projectId }, options);
    expectShape(typeof deleted === 'boolean', 'projectMutations.delete must be a boolean', deleted);
    return deleted;
  }

  /** Gives a user a project role (`stream:owner`, `stream:contributor`, `stream:reviewer`) or removes them (role null). */
  async updateRole(input: ProjectUpdateRoleInput, options?: GraphQLRequestOptions): Promise<ProjectWithTeam> {
    const project = await this.queryPath<ProjectWithTeam>(
      PROJECT_UPDATE_ROLE_MUTATION,
      ['data', 'data'],
      { input: inputs.projectUpdateRole(input) },
      options,
    );
    expectObject(project, 'project', ['id', 'name']);
    return project;
  }
}
