/**
 * Inputs of the mutations and filters, camelCase like the wire. Optional keys may be left out: the
 * SDK sends every key specklepy sends, null when unset (see inputs.ts).
 */
import type { ProjectVisibility } from './project.js';

export interface UserUpdateInput {
  avatar?: string | null;
  bio?: string | null;
  company?: string | null;
  name?: string | null;
}

export interface UserProjectsFilter {
  search?: string | null;
  onlyWithRoles?: string[] | null;
  workspaceId?: string | null;
  personalOnly?: boolean | null;
  includeImplicitAccess?: boolean | null;
}

export interface ProjectCreateInput {
  name?: string | null;
  description?: string | null;
  visibility?: ProjectVisibility | null;
}

export interface ProjectUpdateInput {
  id: string;
  name?: string | null;
  description?: string | null;
  allowPublicComments?: boolean | null;
  visibility?: ProjectVisibility | null;
}

export interface ProjectUpdateRoleInput {
  userId: string;
  projectId: string;
  /** `stream:owner`, `stream:contributor`, `stream:reviewer`, or null to remove the user */
  role: string | null;
}

export interface ProjectModelsFilter {
  contributors?: string[] | null;
  excludeIds?: string[] | null;
  ids?: string[] | null;
  onlyWithVersions?: boolean | null;
  search?: string | null;
  sourceApps?: string[] | null;
}

export interface ProjectInviteCreateInput {
  email?: string | null;
  role?: string | null;
  serverRole?: string | null;
  userId?: string | null;
}

export interface ProjectInviteUseInput {
  accept: boolean;
  projectId: string;
  token: string;
}

export interface CreateModelInput {
  name: string;
  description?: string | null;
  projectId: string;
}

export interface UpdateModelInput {
  id: string;
  name?: string | null;
  description?: string | null;
  projectId: string;
}

export interface DeleteModelInput {
  id: string;
  projectId: string;
}

export interface ModelVersionsFilter {
  priorityIds: string[];
  priorityIdsOnly?: boolean | null;
}

export interface CreateVersionInput {
  objectId: string;
  modelId: string;
  projectId: string;
  message?: string | null;
  /** default `atrium-sdk` (specklepy sends `py`) */
  sourceApplication?: string | null;
  totalChildrenCount?: number | null;
  parents?: string[] | null;
}

export interface UpdateVersionInput {
  versionId: string;
  projectId: string;
  message: string | null;
}

export interface MoveVersionsInput {
  targetModelName: string;
  versionIds: string[];
  projectId: string;
}

export interface DeleteVersionsInput {
  versionIds: string[];
  projectId: string;
}

export interface MarkReceivedVersionInput {
  versionId: string;
  projectId: string;
  /** the slug of the application that received the version (not the version's sourceApplication) */
  sourceApplication: string;
  message?: string | null;
}
