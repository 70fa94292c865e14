/** Server and project roles of Speckle, with their weights: a check passes when weight ≥ required. */

export type ServerRole = 'admin' | 'user' | 'guest' | 'archived';
export const SERVER_ROLES: readonly ServerRole[] = ['admin', 'user', 'guest', 'archived'];

/** Wire names (`server:admin` …) ↔ stored names (`admin` …). */
export const serverRoleWire = (r: ServerRole): string => (r === 'archived' ? 'server:archived-user' : `server:${r}`);
export function serverRoleFromWire(s: string): ServerRole | null {
  const map: Record<string, ServerRole> = {
    'server:admin': 'admin',
    'server:user': 'user',
    'server:guest': 'guest',
    'server:archived-user': 'archived',
  };
  return map[s] ?? null;
}

const SERVER_WEIGHT: Record<ServerRole, number> = { admin: 1000, user: 100, guest: 50, archived: 10 };
export const serverRoleAtLeast = (have: ServerRole, need: ServerRole): boolean =>
  SERVER_WEIGHT[have] >= SERVER_WEIGHT[need];

export type ProjectRole = 'owner' | 'contributor' | 'reviewer';
export const PROJECT_ROLES: readonly ProjectRole[] = ['owner', 'contributor', 'reviewer'];
const PROJECT_WEIGHT: Record<ProjectRole, number> = { owner: 1000, contributor: 500, reviewer: 100 };
export const projectRoleWire = (r: ProjectRole): string => `stream:${r}`;
export function projectRoleFromWire(s: string): ProjectRole | null {
  const bare = s.startsWith('stream:') ? s.slice(7) : s;
  return (PROJECT_ROLES as readonly string[]).includes(bare) ? (bare as ProjectRole) : null;
}
export const projectRoleAtLeast = (have: ProjectRole, need: ProjectRole): boolean =>
  PROJECT_WEIGHT[have] >= PROJECT_WEIGHT[need];

/** Roles as `serverInfo.roles` lists them (public ones). */
export const ROLE_DESCRIPTIONS = [
  { name: 'stream:owner', description: 'Owners have full access, including deletion rights & access control.', resourceTarget: 'streams' },
  { name: 'stream:contributor', description: 'Contributors can create new branches and commits, but they cannot edit stream details or manage collaborators.', resourceTarget: 'streams' },
  { name: 'stream:reviewer', description: 'Reviewers can only view (read) the data from this stream.', resourceTarget: 'streams' },
  { name: 'server:admin', description: 'Holds supreme autocratic authority, not restricted by written laws, legislature, or customs.', resourceTarget: 'server' },
  { name: 'server:user', description: 'Has normal access to the server.', resourceTarget: 'server' },
  { name: 'server:guest', description: 'Has limited access to the server.', resourceTarget: 'server' },
  { name: 'server:archived-user', description: 'No longer has access to the server.', resourceTarget: 'server' },
];

export const SERVER_ROLE_TITLES: Array<{ id: string; title: string; role: ServerRole }> = [
  { id: 'server:admin', title: 'Admin', role: 'admin' },
  { id: 'server:user', title: 'User', role: 'user' },
  { id: 'server:guest', title: 'Guest', role: 'guest' },
  { id: 'server:archived-user', title: 'Archived', role: 'archived' },
];
