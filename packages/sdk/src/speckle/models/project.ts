/** Projects as specklepy's project queries select them (dates are ISO-8601 strings). */
import type { ResourceCollection, PermissionCheckResult } from './common.js';
import type { Model } from './model.js';
import type { LimitedUser } from './user.js';

export type ProjectVisibility = 'PRIVATE' | 'PUBLIC' | 'UNLISTED' | 'WORKSPACE';

/** specklepy `Project`. */
export interface Project {
  id: string;
  name: string;
  description: string | null;
  visibility: ProjectVisibility;
  allowPublicComments: boolean;
  /** the caller's project role (`stream:owner` …), null when anonymous or without an explicit role */
  role: string | null;
  createdAt: string;
  updatedAt: string;
  sourceApps: string[];
  workspaceId: string | null;
}

/** `project.getWithModels`: the project with one page of its models. */
export interface ProjectWithModels extends Project {
  models: ResourceCollection<Model>;
}

/** A member of a project. */
export interface ProjectCollaborator {
  id: string;
  role: string;
  user: LimitedUser;
}

/** A pending invitation to a project (specklepy `PendingStreamCollaborator`). */
export interface PendingStreamCollaborator {
  id: string;
  inviteId: string;
  projectId: string;
  projectName: string;
  title: string;
  role: string;
  /** only visible to the invitee */
  token: string | null;
  user: LimitedUser | null;
  invitedBy: LimitedUser | null;
}

/** `project.getWithTeam`, `project.updateRole`, `projectInvite.create/cancel`. */
export interface ProjectWithTeam extends Project {
  team: ProjectCollaborator[];
  invitedTeam: PendingStreamCollaborator[] | null;
}

/** `project.getPermissions` (specklepy selects these four checks). */
export interface ProjectPermissionChecks {
  canCreateModel: PermissionCheckResult;
  canDelete: PermissionCheckResult;
  canLoad: PermissionCheckResult;
  canPublish: PermissionCheckResult;
}
