/** Shapes returned by the server resource (fields exactly as specklepy's queries select them). */

export interface ServerScope {
  name: string;
  description: string;
}

export interface ServerAuthStrategy {
  id: string;
  name: string;
  icon: string | null;
}

export interface ServerWorkspacesInfo {
  workspacesEnabled: boolean;
}

/**
 * `query Server {serverInfo {name company description adminContact canonicalUrl version scopes {name
 * description} authStrategies {id name icon} workspaces {workspacesEnabled}}}`.
 * specklepy declares every field optional; when `workspaces` is present, `workspacesEnabled` must be a
 * boolean.
 */
export interface ServerInfo {
  name: string | null;
  company: string | null;
  description: string | null;
  adminContact: string | null;
  canonicalUrl: string | null;
  version: string | null;
  scopes: ServerScope[] | null;
  authStrategies: ServerAuthStrategy[] | null;
  workspaces: ServerWorkspacesInfo | null;
}

export interface AppAuthor {
  id: string;
  name: string;
  avatar: string | null;
}

/** One entry of `query Apps {apps {…}}` (returned as the server sent it, like specklepy). */
export interface ServerApp {
  id: string;
  name: string;
  description: string | null;
  termsAndConditionsLink: string | null;
  trustByDefault: boolean | null;
  logo: string | null;
  author: AppAuthor | null;
}
