/**
 * Inputs as specklepy puts them on the wire (pydantic `model_dump(by_alias=True)`): every key of the
 * input model, in the model's order, null when unset — never a missing key.
 */
import type * as I from './models/inputs.js';

/** specklepy's CreateVersionInput defaults sourceApplication to "py"; this SDK names itself. */
export const DEFAULT_SOURCE_APPLICATION = 'atrium-sdk';

const v = <T>(value: T | undefined): T | null => (value === undefined ? null : value);

export const inputs = {
  userUpdate: (i: I.UserUpdateInput) => ({ avatar: v(i.avatar), bio: v(i.bio), company: v(i.company), name: v(i.name) }),
  userProjectsFilter: (i: I.UserProjectsFilter) => ({
    search: v(i.search),
    onlyWithRoles: v(i.onlyWithRoles),
    workspaceId: v(i.workspaceId),
    personalOnly: v(i.personalOnly),
    includeImplicitAccess: v(i.includeImplicitAccess),
  }),
  projectCreate: (i: I.ProjectCreateInput) => ({ name: v(i.name), description: v(i.description), visibility: v(i.visibility) }),
  projectUpdate: (i: I.ProjectUpdateInput) => ({
    id: i.id,
    name: v(i.name),
    description: v(i.description),
    allowPublicComments: v(i.allowPublicComments),
    visibility: v(i.visibility),
  }),
  projectUpdateRole: (i: I.ProjectUpdateRoleInput) => ({ userId: i.userId, projectId: i.projectId, role: v(i.role) }),
  projectModelsFilter: (i: I.ProjectModelsFilter) => ({
    contributors: v(i.contributors),
    excludeIds: v(i.excludeIds),
    ids: v(i.ids),
    onlyWithVersions: v(i.onlyWithVersions),
    search: v(i.search),
    sourceApps: v(i.sourceApps),
  }),
  projectInviteCreate: (i: I.ProjectInviteCreateInput) => ({
    email: v(i.email),
    role: v(i.role),
    serverRole: v(i.serverRole),
    userId: v(i.userId),
  }),
  projectInviteUse: (i: I.ProjectInviteUseInput) => ({ accept: i.accept, projectId: i.projectId, token: i.token }),
  createModel: (i: I.CreateModelInput) => ({ name: i.name, description: v(i.description), projectId: i.projectId }),
  updateModel: (i: I.UpdateModelInput) => ({ id: i.id, name: v(i.name), description: v(i.description), projectId: i.projectId }),
  deleteModel: (i: I.DeleteModelInput) => ({ id: i.id, projectId: i.projectId }),
  modelVersionsFilter: (i: I.ModelVersionsFilter) => ({ priorityIds: i.priorityIds, priorityIdsOnly: v(i.priorityIdsOnly) }),
  createVersion: (i: I.CreateVersionInput) => ({
    objectId: i.objectId,
    modelId: i.modelId,
    projectId: i.projectId,
    message: v(i.message),
    sourceApplication: i.sourceApplication === undefined ? DEFAULT_SOURCE_APPLICATION : i.sourceApplication,
    totalChildrenCount: v(i.totalChildrenCount),
    parents: v(i.parents),
  }),
  updateVersion: (i: I.UpdateVersionInput) => ({ versionId: i.versionId, projectId: i.projectId, message: v(i.message) }),
  moveVersions: (i: I.MoveVersionsInput) => ({ targetModelName: i.targetModelName, versionIds: i.versionIds, projectId: i.projectId }),
  deleteVersions: (i: I.DeleteVersionsInput) => ({ versionIds: i.versionIds, projectId: i.projectId }),
  markReceivedVersion: (i: I.MarkReceivedVersionInput) => ({
    versionId: i.versionId,
    projectId: i.projectId,
    sourceApplication: i.sourceApplication,
    message: v(i.message),
  }),
};
