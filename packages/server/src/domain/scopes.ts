/** The scope list of Speckle (names and wire descriptions) and the scope checks. */

export interface ScopeDef {
  name: string;
  description: string;
  public: boolean;
}

export const SCOPES: readonly ScopeDef[] = [
  { name: 'streams:read', description: 'Read your streams, and any associated information (branches, commits, objects).', public: true },
  { name: 'streams:write', description: 'Create streams on your behalf, and any associated data (branches, commits, objects).', public: true },
  { name: 'profile:read', description: 'Read your profile information.', public: true },
  { name: 'profile:write', description: 'Make actions on your profile.', public: true },
  { name: 'profile:email', description: 'Read the email address you registered with.', public: true },
  { name: 'profile:delete', description: 'Delete the account with all associated data.', public: false },
  { name: 'users:read', description: "Read other users' profiles.", public: true },
  { name: 'users:email', description: 'Access the emails of other users.', public: false },
  { name: 'server:stats', description: 'Request server stats from the API. Only works in conjunction with a "server:admin" role.', public: true },
  { name: 'server:setup', description: 'Edit server information. Note: Only server admins will be able to use this token.', public: false },
  { name: 'tokens:read', description: 'Access API tokens.', public: false },
  { name: 'tokens:write', description: 'Create and delete API tokens.', public: false },
  { name: 'apps:read', description: 'See created or authorized applications.', public: false },
  { name: 'apps:write', description: 'Register new applications.', public: false },
  { name: 'users:invite', description: 'Invite others to join this server.', public: false },
];

export const SCOPE_NAMES: ReadonlySet<string> = new Set(SCOPES.map((s) => s.name));
export const ALL_SCOPES: readonly string[] = SCOPES.map((s) => s.name);

/** What the connector apps (desktop manager, connectors, Excel, Power BI) are granted. */
export const CONNECTOR_SCOPES = ['streams:read', 'streams:write', 'profile:read', 'profile:email', 'users:read', 'users:invite'];

export const hasScope = (held: readonly string[], scope: string): boolean =>
  held.includes('*') || held.includes(scope);
