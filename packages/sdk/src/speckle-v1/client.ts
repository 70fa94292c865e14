/**
 * `SpeckleApiClient` — PySpeckle v1's client (`speckle` 2.3.0) in TypeScript, camelCase: the v1 REST
 * API under `/api/v1` and the v1 realtime socket, against Atrium's v1 face or a SpeckleServer v1.
 *
 * ```ts
 * const client = new SpeckleApiClient({ host: 'localhost:3000', useSsl: false });
 * await client.login('me@example.com', 'secret-password');
 * const stream = await client.streams.create({ name: 'Tower', objects: [{ type: 'Point', value: [0, 0, 0] }] });
 * const ws = await client.websockets(stream.streamId);
 * ws.onMessage((m) => console.log(m));
 * ```
 *
 * Differences from PySpeckle, on purpose:
 * - Bodies are sent as given: PySpeckle's schemas inject defaults (a stream update also sends
 *   `objects: []`, `layers: []`, `children: []`, which empties them on the server); this SDK does not.
 * - `accounts.search` posts to `/accounts/search` (PySpeckle forgets the slash).
 * - Every failure throws {@link SpeckleV1Error} (PySpeckle raises `HTTPError` or `AssertionError`).
 * - `objects.list()` rejects without sending anything: v1 servers have no route for it (PySpeckle's
 *   crashes on an undefined helper before sending).
 */
import { SpeckleError } from '../speckle/errors.js';
import type { FetchLike } from '../speckle/transport.js';
import { AccountsResource, ApiClientsResource, CommentsResource, ObjectsResource, ProjectsResource, StreamsResource } from './resources.js';
import type { V1Me, V1Query } from './types.js';
import { V1WebSocket, type V1WebSocketOptions } from './websocket.js';

export const V1_DEFAULT_HOST = 'hestia.speckle.works';

/** A v1 call failed: an HTTP error status, or an envelope with `success: false`. */
export class SpeckleV1Error extends SpeckleError {
  /** HTTP status of the answer (0: no answer) */
  readonly status: number;
  /** the parsed JSON answer, or its text (v1 answers some 401s in plain text) */
  readonly body: unknown;
  constructor(message: string, status: number, body: unknown, options?: { cause?: unknown }) {
    super(message, options);
    this.status = status;
    this.body = body;
  }
}

export interface SpeckleApiClientOptions {
  /** host[:port], without scheme (default PySpeckle's `hestia.speckle.works`) */
  host?: string;
  /** API version segment (default `v1`) */
  version?: string;
  /** https/wss (default) or http/ws */
  useSsl?: boolean;
  /** timeout of each request in ms (default 60 s) */
  timeoutMs?: number;
  /** replaces the global fetch */
  fetch?: FetchLike;
}

export interface RequestOptions {
  body?: unknown;
  query?: V1Query | null;
}

/** Adds `id` (= `_id`) to a document, as PySpeckle's models expose it. */
export function withId<T>(doc: T): T {
  const d = doc as unknown;
  if (d && typeof d === 'object' && !Array.isArray(d) && typeof (d as { _id?: unknown })._id === 'string') {
    return { ...(d as object), id: (d as { _id: string })._id } as T;
  }
  return doc;
}

export class SpeckleApiClient {
  /** REST base: `{http|https}://{host}/api/{version}` */
  readonly server: string;
  /** websocket base: `{ws|wss}://{host}` */
  readonly websocketsServer: string;
  /** the logged-in user (profile + `token`), null before login */
  me: V1Me | null = null;
  private authorization: string | undefined;
  private readonly fetchImpl: FetchLike;
  private readonly timeoutMs: number;

  readonly accounts: AccountsResource;
  readonly projects: ProjectsResource;
  readonly streams: StreamsResource;
  readonly apiClients: ApiClientsResource;
  readonly comments: CommentsResource;
  readonly objects: ObjectsResource;

  constructor(opts: SpeckleApiClientOptions = {}) {
    const host = (opts.host ?? V1_DEFAULT_HOST).replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '');
    const ssl = opts.useSsl ?? true;
    this.server = `${ssl ? 'https' : 'http'}://${host}/api/${opts.version ?? 'v1'}`;
    this.websocketsServer = `${ssl ? 'wss' : 'ws'}://${host}`;
    this.fetchImpl = opts.fetch ?? ((input, init) => fetch(input, init));
    this.timeoutMs = opts.timeoutMs ?? 60_000;
    this.accounts = new AccountsResource(this);
    this.projects = new ProjectsResource(this);
    this.streams = new StreamsResource(this);
    this.apiClients = new ApiClientsResource(this);
    this.comments = new CommentsResource(this);
    this.objects = new ObjectsResource(this);
  }

  /** The `Authorization` header sent on every call (`JWT …`). */
  get token(): string | undefined {
    return this.authorization;
  }

  set token(value: string | undefined) {
    this.authorization = value;
  }

  /**
   * Sends one call and returns the envelope `{success: true, …}`. Throws SpeckleV1Error on an error
   * status or `success: false`. `path` is relative to {@link server}.
   */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<Record<string, unknown>> {
    let url = `${this.server}${path}`;
    if (opts.query) {
      const q = new URLSearchParams(Object.entries(opts.query).map(([k, v]) => [k, String(v)]));
      const s = q.toString();
      if (s) url += `?${s}`;
    }
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.authorization) headers.authorization = this.authorization;
    let res: Response;
    try {
      res = await this.fetchImpl(url, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new SpeckleV1Error(`${method} ${path}: ${(err as Error).message}`, 0, undefined, { cause: err });
    }
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* v1 answers some errors in plain text */
    }
    const envelope = body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
    if (!res.ok || envelope?.success !== true) {
      const message = typeof envelope?.message === 'string' ? envelope.message : typeof body === 'string' && body ? body : `HTTP ${res.status}`;
      throw new SpeckleV1Error(message, res.status, body);
    }
    return envelope;
  }

  /** Registers a user, then logs in (as PySpeckle does). `name` defaults to Anonymous on the server. */
  async register(opts: { email: string; password: string; company: string; name?: string | null; surname?: string | null }): Promise<void> {
    const body = { name: opts.name ?? null, surname: opts.surname ?? null, email: opts.email, password: opts.password, company: opts.company };
    await this.request('POST', '/accounts/register', { body });
    await this.login(opts.email, opts.password);
  }

  /** Logs in: `me` is the profile plus the `JWT …` token, sent as `Authorization` from now on. */
  async login(email: string, password: string): Promise<void> {
    const payload = await this.request('POST', '/accounts/login', { body: { email, password } });
    const me = withId(payload.resource as V1Me);
    if (!me || typeof me.token !== 'string') throw new SpeckleV1Error('the login answer has no token', 200, payload);
    this.me = me;
    this.authorization = me.token;
  }

  /** Uses an existing token (`JWT …`, as the v1 web app shows it) and reads the profile into `me`. */
  async loginWithToken(token: string): Promise<void> {
    if (typeof token !== 'string') throw new TypeError('Token must be a string');
    if (!token.startsWith('JWT')) throw new TypeError("Token must begin with 'JWT'");
    const previous = this.authorization;
    this.authorization = token;
    try {
      const profile = await this.accounts.getProfile();
      this.me = { ...profile, token };
    } catch (err) {
      this.authorization = previous;
      throw err;
    }
  }

  /**
   * Opens the v1 realtime socket for a stream. Without `clientId`, an API client is created for the
   * stream first (as PySpeckle does) and its id is used.
   */
  async websockets(streamId: string, opts: V1WebSocketOptions & { clientId?: string } = {}): Promise<V1WebSocket> {
    if (!this.me) throw new SpeckleError('log in before opening the v1 socket');
    let clientId: string;
    if (opts.clientId) clientId = opts.clientId;
    else {
      const created = await this.apiClients.create({ streamId, documentGuid: globalThis.crypto.randomUUID() });
      clientId = created._id;
    }
    const params = new URLSearchParams({ client_id: clientId, access_token: this.me.token, stream_id: streamId });
    return V1WebSocket.connect(`${this.websocketsServer}?${params}`, clientId, opts);
  }
}
