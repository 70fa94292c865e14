/**
 * `SpeckleClient` — specklepy's `SpeckleClient` in TypeScript: speaks Speckle's GraphQL wire protocol,
 * so it works against Atrium and against a Speckle server.
 *
 * ```ts
 * const client = new SpeckleClient({ host: 'app.speckle.systems' });
 * await client.authenticateWithToken(token);
 * const info = await client.server.get();
 * const project = await client.project.create({ name: 'Tower' });
 * const objectId = await operations.send(base, { client, projectId: project.id });
 * ```
 *
 * Differences from specklepy, on purpose:
 * - Constructing a client sends nothing. specklepy probes `query Server {serverInfo {version}}` in its
 *   constructor and swallows any failure; here that probe is `await client.getServerVersion()` (memoised,
 *   failures give null) — and `authenticateWithToken` learns the version from `server.get()`.
 * - Every method throws on failure (see errors.ts); specklepy's server methods return the exception.
 * - A failed `authenticateWithToken` leaves the client as it was before the call.
 */
import { SpeckleAuthError } from './errors.js';
import { serverEndpoints } from './host.js';
import type { Account } from './models/account.js';
import type { ResourceContext } from './resource.js';
import { ActiveUserResource } from './resources/activeUser.js';
import { ModelResource } from './resources/model.js';
import { OtherUserResource } from './resources/otherUser.js';
import { ProjectResource } from './resources/project.js';
import { ProjectInviteResource } from './resources/projectInvite.js';
import { ServerResource } from './resources/server.js';
import { SubscriptionResource, type SubscriptionContext } from './resources/subscription.js';
import { VersionResource } from './resources/version.js';
import { SpeckleTransport, type FetchLike, type GraphQLRequestOptions, type RetryOptions } from './transport.js';
import { parseServerVersion, type ServerVersion } from './version.js';
import type { WebSocketFactory } from './websocket.js';

export const DEFAULT_HOST = 'app.speckle.systems';
/** specklepy's anonymous client (the version probe) gives up after 10 s. */
export const PROBE_TIMEOUT_MS = 10_000;
export const SDK_NAME = 'atrium-sdk';
export const SDK_VERSION = '0.1.0';

export interface SpeckleClientOptions {
  /** host name, with or without scheme and trailing slash (default `app.speckle.systems`) */
  host?: string;
  /** https (default) or http — the scheme in `host` is ignored, as in specklepy */
  useSsl?: boolean;
  /** false = accept any TLS certificate (self-signed servers); default true */
  verifyCertificate?: boolean;
  /** timeout of each authenticated request in ms; default none, like specklepy */
  timeoutMs?: number;
  /** retry policy; default 3 retries on 429/500/502/503/504, like specklepy */
  retry?: Partial<RetryOptions>;
  /** sent as `apollographql-client-name` / `-version` once authenticated (specklepy: host application) */
  application?: { name: string; version: string };
  /** replaces the global fetch (proxies, instrumentation) */
  fetch?: FetchLike;
  /** replaces the `ws` package for subscriptions */
  webSocketFactory?: WebSocketFactory;
}

export class SpeckleClient implements ResourceContext, SubscriptionContext {
  /** host without scheme, e.g. `app.speckle.systems` */
  readonly host: string;
  /** `https://host` (or `http://` with useSsl false) */
  readonly url: string;
  readonly graphqlUrl: string;
  /** websocket endpoint for subscriptions, `wss://host/graphql` */
  readonly wsUrl: string;
  readonly useSsl: boolean;
  readonly verifyCertificate: boolean;

  readonly server: ServerResource;
  readonly activeUser: ActiveUserResource;
  readonly otherUser: OtherUserResource;
  readonly project: ProjectResource;
  readonly model: ModelResource;
  readonly version: VersionResource;
  readonly projectInvite: ProjectInviteResource;
  /** live events over WebSocket (specklepy `client.subscribe`) */
  readonly subscribe: SubscriptionResource;
  readonly webSocketFactory: WebSocketFactory | undefined;

  private readonly options: SpeckleClientOptions;
  private state: { transport: SpeckleTransport; account: Account };
  private knownVersion: ServerVersion | null | undefined = undefined;
  private versionProbe: Promise<ServerVersion | null> | undefined;

  constructor(options: SpeckleClientOptions = {}) {
    this.options = options;
    const endpoints = serverEndpoints(options.host ?? DEFAULT_HOST, options.useSsl ?? true);
    this.host = endpoints.host;
    this.url = endpoints.url;
    this.graphqlUrl = endpoints.graphqlUrl;
    this.wsUrl = endpoints.wsUrl;
    this.useSsl = endpoints.useSsl;
    this.verifyCertificate = options.verifyCertificate ?? true;
    this.state = {
      transport: new SpeckleTransport({
        url: this.url,
        headers: {},
        timeoutMs: PROBE_TIMEOUT_MS,
        retry: options.retry,
        verifyCertificate: this.verifyCertificate,
        fetch: options.fetch,
      }),
      account: { token: null, serverInfo: { url: this.url }, userInfo: {} },
    };
    this.webSocketFactory = options.webSocketFactory;
    this.server = new ServerResource(this);
    this.activeUser = new ActiveUserResource(this);
    this.otherUser = new OtherUserResource(this);
    this.project = new ProjectResource(this);
    this.model = new ModelResource(this);
    this.version = new VersionResource(this);
    this.projectInvite = new ProjectInviteResource(this);
    this.subscribe = new SubscriptionResource(this);
  }

  /** The transport in use (anonymous until `authenticateWithToken` succeeds). */
  get transport(): SpeckleTransport {
    return this.state.transport;
  }

  /** Token, server and user information; filled in by `authenticateWithToken`. */
  get account(): Account {
    return this.state.account;
  }

  /** The parsed server version once known: undefined before any probe, null when the probe failed. */
  get serverVersion(): ServerVersion | null | undefined {
    return this.knownVersion;
  }

  /** True once `authenticateWithToken` has succeeded. */
  get isAuthenticated(): boolean {
    return this.state.account.token !== null;
  }

  /**
   * specklepy's start-up probe, made awaitable: asks `query Server {serverInfo {version}}` once (with
   * the current credentials; anonymous before authentication) and resolves with the parsed version, or
   * null when anything fails. A version once known is reused; after a failure the next call asks again.
   */
  getServerVersion(): Promise<ServerVersion | null> {
    if (this.knownVersion) return Promise.resolve(this.knownVersion);
    if (!this.versionProbe) {
      const probe: Promise<ServerVersion | null> = this.server
        .version()
        .catch(() => null)
        .then((version) => {
          // a probe overtaken by authenticateWithToken does not overwrite what that learnt
          if (this.versionProbe === probe) {
            this.knownVersion = version;
            this.versionProbe = undefined;
          }
          return version;
        });
      this.versionProbe = probe;
    }
    return this.versionProbe;
  }

  /**
   * Authenticates with a personal access token (or app token): afterwards every request carries
   * `Authorization: Bearer <token>`. Checks the token with `activeUser.get()`, then reads
   * `server.get()`; both must succeed, else the error is thrown and the client is left unchanged.
   * An invalid or revoked token fails with SpeckleAuthError (Speckle answers HTTP 403); a token without
   * `profile:read` fails with GraphQLError code FORBIDDEN.
   */
  async authenticateWithToken(token: string, options?: GraphQLRequestOptions): Promise<Account> {
    const application = this.options.application ?? { name: SDK_NAME, version: SDK_VERSION };
    const previous = { state: this.state, version: this.knownVersion, probe: this.versionProbe };
    this.state = {
      transport: this.state.transport.withHeaders(
        {
          Authorization: `Bearer ${token}`,
          'apollographql-client-name': application.name,
          'apollographql-client-version': application.version,
        },
        this.options.timeoutMs,
      ),
      account: { token, serverInfo: { url: this.url }, userInfo: {} },
    };
    this.knownVersion = undefined;
    this.versionProbe = undefined;
    try {
      const user = await this.activeUser.get(options);
      if (user === null) {
        throw new SpeckleAuthError('the server treated the token as anonymous (activeUser is null)', 200, '');
      }
      const info = await this.server.get(options);
      this.state.account.userInfo = {
        id: user.id,
        name: user.name,
        email: user.email,
        company: user.company,
        avatar: user.avatar,
      };
      this.state.account.serverInfo = { ...info, url: this.url };
      if (typeof info.version === 'string') this.knownVersion = parseServerVersion(info.version);
      return this.state.account;
    } catch (err) {
      this.state = previous.state;
      this.knownVersion = previous.version;
      this.versionProbe = previous.probe;
      throw err;
    }
  }

  /** Runs any GraphQL document with the client's credentials and returns its `data`. */
  executeQuery<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    options?: GraphQLRequestOptions,
  ): Promise<T> {
    return this.state.transport.execute<T>(query, variables, options);
  }

  toString(): string {
    return `SpeckleClient( server: ${this.url}, authenticated: ${this.isAuthenticated} )`;
  }
}
