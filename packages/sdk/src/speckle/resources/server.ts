/**
 * `client.server` — specklepy's ServerResource: server information, apps and personal access tokens.
 *
 * Unlike specklepy, whose server methods return the exception object instead of raising, every method
 * here throws (GraphQLError, SpeckleAuthError, SpeckleTransportError; all are SpeckleError).
 */
import { SpeckleError } from '../errors.js';
import type { ServerApp, ServerInfo } from '../models/server.js';
import { ResourceBase, expectShape, isObject } from '../resource.js';
import type { GraphQLRequestOptions } from '../transport.js';
import { parseServerVersion, type ServerVersion } from '../version.js';

export const SERVER_GET_QUERY =
  'query Server {serverInfo {name company description adminContact canonicalUrl version scopes {name description} authStrategies {id name icon} workspaces {workspacesEnabled}}}';
export const SERVER_VERSION_QUERY = 'query Server {serverInfo {version}}';
export const SERVER_APPS_QUERY =
  'query Apps {apps {id name description termsAndConditionsLink trustByDefault logo author {id name avatar}}}';
export const TOKEN_CREATE_MUTATION = 'mutation TokenCreate($token: ApiTokenCreateInput!) {apiTokenCreate(token:$token)}';
export const TOKEN_REVOKE_MUTATION = 'mutation TokenRevoke($token: String!) {apiTokenRevoke(token:$token)}';

export class ServerResource extends ResourceBase {
  readonly name = 'server';

  /** Server name, contact, version, public scopes, auth strategies and workspace support. */
  async get(options?: GraphQLRequestOptions): Promise<ServerInfo> {
    const info = await this.query<unknown>(SERVER_GET_QUERY, 'serverInfo', undefined, options);
    expectShape(isObject(info), 'serverInfo must be an object', info);
    const workspaces = (info as { workspaces?: unknown }).workspaces;
    expectShape(
      workspaces === null || workspaces === undefined || (isObject(workspaces) && typeof workspaces.workspacesEnabled === 'boolean'),
      'serverInfo.workspaces.workspacesEnabled must be a boolean',
      workspaces,
    );
    return info as unknown as ServerInfo;
  }

  /**
   * The server version, parsed like specklepy: `"2.31.14"` → `[2, 31, 14]`,
   * `"2.6.4-alpha.4711"` → `[2, 6, 4, 'alpha', 4711]`, `"dev"` → `['dev']`.
   */
  async version(options?: GraphQLRequestOptions): Promise<ServerVersion> {
    const info = await this.query<unknown>(SERVER_VERSION_QUERY, 'serverInfo', undefined, options);
    const version = isObject(info) ? info.version : undefined;
    expectShape(typeof version === 'string', 'serverInfo.version must be a string', info);
    return parseServerVersion(version as string);
  }

  /** The apps registered on the server (needs the `apps:read` scope), as the server sent them. */
  async apps(options?: GraphQLRequestOptions): Promise<ServerApp[]> {
    const apps = await this.query<unknown>(SERVER_APPS_QUERY, 'apps', undefined, options);
    if (apps === null) return [];
    expectShape(Array.isArray(apps), 'apps must be a list', apps);
    return (apps as (ServerApp | null)[]).filter((app): app is ServerApp => app !== null);
  }

  /**
   * Creates a personal access token and returns it (the only time it is shown).
   * The calling token needs `tokens:write` (in practice only the web app's token has it), and may only
   * grant scopes it holds itself.
   *
   * @param lifespan sent as given; Speckle's server reads it as **milliseconds** (specklepy's docs say
   *   seconds, but the value goes through unchanged). Must be an integer.
   */
  async createToken(name: string, scopes: string[], lifespan: number, options?: GraphQLRequestOptions): Promise<string> {
    if (!Number.isSafeInteger(lifespan)) {
      throw new SpeckleError(`lifespan must be an integer number of milliseconds, got ${lifespan}`);
    }
    const token = await this.query<unknown>(
      TOKEN_CREATE_MUTATION,
      'apiTokenCreate',
      { token: { scopes, name, lifespan } },
      options,
    );
    expectShape(typeof token === 'string' && token.length > 0, 'apiTokenCreate must be a token string', token);
    return token as string;
  }

  /** Revokes one of the caller's personal access tokens; true when it was revoked. */
  async revokeToken(token: string, options?: GraphQLRequestOptions): Promise<boolean> {
    const revoked = await this.query<unknown>(TOKEN_REVOKE_MUTATION, 'apiTokenRevoke', { token }, options);
    expectShape(typeof revoked === 'boolean', 'apiTokenRevoke must be a boolean', revoked);
    return revoked as boolean;
  }
}
