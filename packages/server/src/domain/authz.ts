/**
 * Project access policy of Speckle, as a pure function: who may read, write or own a project.
 * Faces map the outcome to their wire shapes (GraphQL FORBIDDEN/STREAM_NOT_FOUND, REST 401/404…).
 */
import type { AuthContext } from '../services/identity.js';
import { hasScope } from './scopes.js';
import { projectRoleAtLeast, type ProjectRole } from './roles.js';

export type ProjectNeed = 'read' | 'write' | 'owner';

export type AuthzDenial =
  | 'ProjectNotFound'
  | 'ProjectNoAccess'
  | 'ProjectNotEnoughPermissions'
  | 'ServerNoAccess'
  | 'ServerNoSession'
  | 'MissingScope'
  | 'ResourceNotAllowed';

export type AuthzResult = { ok: true; role: ProjectRole | null } | { ok: false; denial: AuthzDenial; scope?: string };

export const AUTHZ_MESSAGES: Record<AuthzDenial, string> = {
  ProjectNotFound: 'Project not found',
  ProjectNoAccess: 'You do not have access to the project',
  ProjectNotEnoughPermissions: 'You do not have enough permissions in the project to perform this action',
  ServerNoAccess: 'You do not have access to this server',
  ServerNoSession: 'You are not logged in to this server',
  MissingScope: 'Your auth token does not have the required scope',
  ResourceNotAllowed: 'You are not authorized to access this resource.',
};

export interface ProjectFacts {
  exists: boolean;
  visibility?: string;
  /** the caller's explicit role, if any */
  role: ProjectRole | null;
  projectId: string;
}

export const isPubliclyReadable = (visibility: string | undefined) => visibility === 'public' || visibility === 'unlisted';

export function authorizeProject(auth: AuthContext, facts: ProjectFacts, need: ProjectNeed): AuthzResult {
  if (!facts.exists) return { ok: false, denial: 'ProjectNotFound' };
  if (auth.auth) {
    if (auth.role === 'archived') return { ok: false, denial: 'ServerNoAccess' };
    const scope = need === 'read' ? 'streams:read' : 'streams:write';
    if (!hasScope(auth.scopes, scope)) {
      // a public project stays readable by anyone; the scope only matters for private data
      if (!(need === 'read' && isPubliclyReadable(facts.visibility))) return { ok: false, denial: 'MissingScope', scope };
    }
    if (auth.resourceAccess && !auth.resourceAccess.some((r) => r.type === 'project' && r.id === facts.projectId))
      return { ok: false, denial: 'ResourceNotAllowed' };
  }
  if (need === 'read') {
    if (isPubliclyReadable(facts.visibility)) return { ok: true, role: facts.role };
    if (!auth.auth) return { ok: false, denial: 'ProjectNoAccess' };
    return facts.role ? { ok: true, role: facts.role } : { ok: false, denial: 'ProjectNoAccess' };
  }
  if (!auth.auth) return { ok: false, denial: 'ServerNoSession' };
  if (!facts.role) return { ok: false, denial: isPubliclyReadable(facts.visibility) ? 'ProjectNotEnoughPermissions' : 'ProjectNoAccess' };
  const required: ProjectRole = need === 'owner' ? 'owner' : 'contributor';
  if (!projectRoleAtLeast(facts.role, required)) return { ok: false, denial: 'ProjectNotEnoughPermissions' };
  return { ok: true, role: facts.role };
}
