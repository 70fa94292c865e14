/**
 * `client.projectInvite` — specklepy's ProjectInviteResource: invite people to a project, accept or
 * decline an invite, cancel one. Creating and cancelling need the `users:invite` scope.
 */
import { inputs } from '../inputs.js';
import type { ProjectInviteCreateInput, ProjectInviteUseInput } from '../models/inputs.js';
import type { PendingStreamCollaborator, ProjectWithTeam } from '../models/project.js';
import { ResourceBase, expectObject, expectShape } from '../resource.js';
import type { GraphQLRequestOptions } from '../transport.js';

export const PROJECT_INVITE_CREATE_MUTATION =
  'mutation ProjectInviteCreate($projectId: ID!, $input: ProjectInviteCreateInput!) {data:projectMutations {data:invites {data:create(projectId:$projectId,input:$input) {id name description visibility allowPublicComments role createdAt updatedAt workspaceId sourceApps team {id role user {id name bio company avatar verified role}} invitedTeam {id inviteId projectId projectName title role token user {id name bio company avatar verified role} invitedBy {id name bio company avatar verified role}}}}}}';
export const PROJECT_INVITE_USE_MUTATION =
  'mutation ProjectInviteUse($input: ProjectInviteUseInput!) {data:projectMutations {data:invites {data:use(input:$input)}}}';
export const PROJECT_INVITE_GET_QUERY =
  'query ProjectInvite($projectId: String!, $token: String) {data:projectInvite(projectId:$projectId,token:$token) {id inviteId invitedBy {avatar bio company id name role verified} projectId projectName role title token user {avatar bio company id name role verified}}}';
export const PROJECT_INVITE_CANCEL_MUTATION =
  'mutation ProjectInviteCancel($projectId: ID!, $inviteId: String!) {data:projectMutations {data:invites {data:cancel(projectId:$projectId,inviteId:$inviteId) {id name description visibility allowPublicComments role createdAt updatedAt sourceApps workspaceId team {id role user {id name bio company avatar verified role}} invitedTeam {id inviteId projectId projectName title role token user {id name bio company avatar verified role} invitedBy {id name bio company avatar verified role}}}}}}';

export class ProjectInviteResource extends ResourceBase {
  readonly name = 'project_invite';

  /** Invites a user (by `userId`) or an email address; returns the project with its pending invites. */
  async create(projectId: string, input: ProjectInviteCreateInput, options?: GraphQLRequestOptions): Promise<ProjectWithTeam> {
    const project = await this.queryPath<ProjectWithTeam>(
      PROJECT_INVITE_CREATE_MUTATION,
      ['data', 'data', 'data'],
      { projectId, input: inputs.projectInviteCreate(input) },
      options,
    );
    expectObject(project, 'project', ['id', 'name']);
    return project;
  }

  /** Accepts (`accept: true`) or declines an invite with its token; true on success. */
  async use(input: ProjectInviteUseInput, options?: GraphQLRequestOptions): Promise<boolean> {
    const used = await this.queryPath<boolean>(PROJECT_INVITE_USE_MUTATION, ['data', 'data', 'data'], { input: inputs.projectInviteUse(input) }, options);
    expectShape(typeof used === 'boolean', 'invites.use must be a boolean', used);
    return used;
  }

  /** The caller's invite to the project (by token, or the caller's own when token is null), or null. */
  async get(projectId: string, token: string | null, options?: GraphQLRequestOptions): Promise<PendingStreamCollaborator | null> {
    const invite = await this.queryPath<PendingStreamCollaborator | null>(PROJECT_INVITE_GET_QUERY, ['data'], { projectId, token }, options, true);
    if (invite !== null) expectObject(invite, 'projectInvite', ['id', 'inviteId']);
    return invite;
  }

  /** Cancels a pending invite; returns the project with its remaining invites. */
  async cancel(projectId: string, inviteId: string, options?: GraphQLRequestOptions): Promise<ProjectWithTeam> {
    const project = await this.queryPath<ProjectWithTeam>(PROJECT_INVITE_CANCEL_MUTATION, ['data', 'data', 'data'], { projectId, inviteId }, options);
    expectObject(project, 'project', ['id', 'name']);
    return project;
  }
}
