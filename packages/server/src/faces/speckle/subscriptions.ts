/**
 * GraphQL subscriptions over a websocket at `/graphql`, on the main port.
 *
 * Two subprotocols, negotiated per socket:
 *  - `graphql-ws`: the legacy Apollo protocol (subscriptions-transport-ws), the only one the real
 *    Speckle server speaks and the one chosen whenever a client offers it (specklepy's gql offers both);
 *  - `graphql-transport-ws`: the newer protocol of the `graphql-ws` library, for clients offering only it.
 *
 * The token comes from the `connection_init` payload (Speckle's `Authorization`, `authorization`,
 * `headers.Authorization`, `headers.authorization`, value "<scheme> <token>"); anonymous sockets
 * are refused. The subscriptions themselves (guards, filters, access re-checks) are in
 * graphql/modules/subscriptions.ts; this file is the transport: framing, limits, keep-alive, cleanup.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import {
  GraphQLError,
  createSourceEventStream,
  execute,
  getOperationAST,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import type { Services } from '../../services/index.js';
import type { AuthContext } from '../../services/identity.js';
import { formatError } from './graphql/executor.js';
import type { SpeckleContext } from './graphql/context.js';
import { claimUpgrade, createWsServer, WS_OPEN as OPEN, type WsSocket } from '../upgrade.js';


// ------------------------------------------------------------------ settings

export const LEGACY_PROTOCOL = 'graphql-ws';
export const TRANSPORT_PROTOCOL = 'graphql-transport-ws';
/** subscriptions-transport-ws also accepted its older name */
const LEGACY_NAMES = new Set([LEGACY_PROTOCOL, 'graphql-subscriptions']);

export interface SubscriptionLimits {
  /** operations running at once on one socket */
  maxSubscriptionsPerSocket: number;
  /** largest accepted client message; bigger ones close the socket (1009) */
  maxMessageBytes: number;
  /** legacy `ka` interval, and websocket ping interval (a peer that misses a pong is dropped) */
  keepAliveMs: number;
  /** time allowed between opening the socket and `connection_init` */
  connectionInitTimeoutMs: number;
  /** a client this far behind in reading is dropped */
  maxBufferedBytes: number;
  /** an authenticated socket re-checks its token this often; a revoked or expired one is closed (4403) */
  authRecheckMs: number;
}

export const DEFAULT_SUBSCRIPTION_LIMITS: SubscriptionLimits = {
  maxSubscriptionsPerSocket: 100,
  maxMessageBytes: 1024 * 1024,
  keepAliveMs: 30_000,
  connectionInitTimeoutMs: 10_000,
  maxBufferedBytes: 16 * 1024 * 1024,
  authRecheckMs: 30_000,
};

const NO_TOKEN = 'You need a token to subscribe';
/** a client sending faster than its messages are handled is cut off */
const MAX_WAITING_MESSAGES = 1000;

/** Speckle's rule: the first non-empty of four places, value "<scheme> <token>", token = split(' ')[1]. */
export function tokenFromConnectionParams(params: unknown): string | null {
  if (!params || typeof params !== 'object') return null;
  const p = params as Record<string, unknown>;
  const headers = p.headers && typeof p.headers === 'object' ? (p.headers as Record<string, unknown>) : {};
  const value = [p.Authorization, p.authorization, headers.Authorization, headers.authorization].find((v) => !!v);
  if (typeof value !== 'string') return null;
  return value.split(' ')[1] || null;
}

// ------------------------------------------------------------------ documents

class DocumentCache {
  private map = new Map<string, DocumentNode | GraphQLFormattedError[]>();
  constructor(
    private schema: GraphQLSchema,
    private max = 200,
  ) {}
  /** the parsed, validated document, or the formatted errors */
  get(query: string): DocumentNode | GraphQLFormattedError[] {
    let hit = this.map.get(query);
    if (hit) {
      this.map.delete(query);
    } else {
      try {
        const doc = parse(query, { maxTokens: 50_000 });
        const errors = validate(this.schema, doc, specifiedRules);
        hit = errors.length
          ? errors.map((e) => ({ ...formatError(e), extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }))
          : doc;
      } catch (e) {
        hit = [{ ...formatError(e as GraphQLError), extensions: { code: 'GRAPHQL_PARSE_FAILED' } }];
      }
    }
    this.map.set(query, hit);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
    return hit;
  }
}

const badRequest = (message: string): GraphQLFormattedError[] => [{ message, extensions: { code: 'BAD_REQUEST_ERROR', statusCode: 400 } }];

// ------------------------------------------------------------------ one socket

type Authed = Extract<AuthContext, { auth: true }>;

interface Operation {
  id: string;
  stream?: AsyncIterator<unknown>;
  stopped: boolean;
}

interface ConnectionDeps {
  services: Services;
  schema: GraphQLSchema;
  documents: DocumentCache;
  limits: SubscriptionLimits;
  log: FastifyInstance['log'];
}

class Connection {
  readonly id = `ws-${randomUUID()}`;
  readonly legacy: boolean;
  private auth: Authed | null = null;
  /** the token `auth` came from, re-checked every `authRecheckMs` */
  private token: string | null = null;
  private init: 'none' | 'pending' | 'done' = 'none';
  private ops = new Map<string, Operation>();
  private queue: Promise<void> = Promise.resolve();
  /** messages received and not yet handled */
  private waiting = 0;
  private timers: NodeJS.Timeout[] = [];
  private alive = true;
  /** operations stopped, nothing more is sent */
  private closed = false;
  private socketClosed = false;

  constructor(
    private ws: WsSocket,
    private deps: ConnectionDeps,
    private onGone: (c: Connection) => void,
  ) {
    this.legacy = ws.protocol === '' || LEGACY_NAMES.has(ws.protocol);
    ws.on('message', (data) => {
      if (this.closed) return;
      if (++this.waiting > MAX_WAITING_MESSAGES) return this.close(1008, 'Too many messages waiting to be handled');
      const text = Buffer.isBuffer(data)
        ? data.toString('utf8')
        : Array.isArray(data)
          ? Buffer.concat(data).toString('utf8')
          : Buffer.from(data).toString('utf8');
      // messages are handled one after the other (a legacy client sends init and start back to back)
      this.queue = this.queue
        .then(() => this.onMessage(text))
        .catch((err) => this.deps.log.error({ err }, 'websocket message handling failed'))
        .finally(() => this.waiting--);
    });
    ws.on('close', () => {
      this.socketClosed = true;
      this.cleanup();
    });
    ws.on('error', () => this.cleanup());
    ws.on('pong', () => (this.alive = true));
    const initTimer = setTimeout(() => {
      if (this.init === 'none') this.close(4408, 'Connection initialisation timeout');
    }, deps.limits.connectionInitTimeoutMs);
    const pingTimer = setInterval(() => {
      if (!this.alive) return this.ws.terminate();
      this.alive = false;
      if (this.ws.readyState === OPEN) this.ws.ping();
    }, deps.limits.keepAliveMs);
    // a token revoked (or expired, or its user deleted) while the socket is open stops being honoured
    const recheckTimer = setInterval(() => void this.recheckAuth(), deps.limits.authRecheckMs);
    this.timers.push(initTimer, pingTimer, recheckTimer);
  }

  private async recheckAuth() {
    if (this.closed || !this.auth || !this.token) return;
    const token = this.token;
    let still: Authed | null;
    try {
      still = await this.deps.services.identity.authenticateToken(token);
    } catch (err) {
      // a database hiccup is not a revocation: keep the socket, try again next time
      this.deps.log.warn({ err, connection: this.id }, 'websocket token re-check failed');
      return;
    }
    if (this.closed || this.token !== token) return;
    if (!still) {
      this.deps.log.info({ connection: this.id, userId: this.auth.userId }, 'websocket token no longer valid; closing');
      return this.close(4403, 'Forbidden: the token was revoked or has expired');
    }
    this.auth = still;
  }

  /** closes the socket; stops every operation */
  close(code: number, reason: string) {
    this.cleanup();
    if (this.ws.readyState === OPEN) this.ws.close(code, reason);
  }

  terminate() {
    this.cleanup();
    this.ws.terminate();
  }

  /** the socket has finished closing */
  get isClosed() {
    return this.socketClosed;
  }

  private cleanup() {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    for (const op of this.ops.values()) this.stopOp(op);
    this.ops.clear();
    this.onGone(this);
  }

  private send(message: Record<string, unknown>) {
    if (this.closed || this.ws.readyState !== OPEN) return;
    if (this.ws.bufferedAmount > this.deps.limits.maxBufferedBytes) {
      this.deps.log.warn({ connection: this.id }, 'websocket client too slow to read its messages; dropping it');
      return this.terminate();
    }
    this.ws.send(JSON.stringify(message));
  }

  private sendErrors(id: string, errors: readonly GraphQLFormattedError[]) {
    if (this.legacy) {
      // one error object (what subscriptions-transport-ws clients expect), all of them under `errors` if several
      const payload = errors.length === 1 ? errors[0] : { ...errors[0], errors };
      this.send({ id, type: 'error', payload });
    } else this.send({ id, type: 'error', payload: errors });
  }

  // -------------------------------------------------------------- incoming

  private async onMessage(text: string) {
    if (this.closed) return;
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      if (this.legacy) return this.send({ type: 'connection_error', payload: { message: 'Message must be JSON-parseable.' } });
      return this.close(4400, 'Invalid message received');
    }
    if (!msg || typeof msg !== 'object' || Array.isArray(msg) || typeof (msg as { type?: unknown }).type !== 'string') {
      if (this.legacy) return this.send({ type: 'connection_error', payload: { message: 'Message must be an object with a string `type`.' } });
      return this.close(4400, 'Invalid message received');
    }
    const m = msg as { type: string; id?: unknown; payload?: unknown };
    return this.legacy ? this.onLegacy(m) : this.onTransport(m);
  }

  /** subscriptions-transport-ws */
  private async onLegacy(m: { type: string; id?: unknown; payload?: unknown }) {
    const id = typeof m.id === 'string' || typeof m.id === 'number' ? String(m.id) : null;
    switch (m.type) {
      case 'connection_init': {
        const auth = await this.authenticate(m.payload);
        if (!auth) {
          this.send({ type: 'connection_error', payload: { message: NO_TOKEN } });
          // as subscriptions-transport-ws: let the error frame go out, then close
          const t = setTimeout(() => this.close(1011, NO_TOKEN), 10);
          this.timers.push(t);
          return;
        }
        const first = this.init !== 'done';
        this.auth = auth;
        this.init = 'done';
        this.send({ type: 'connection_ack' });
        if (first) {
          this.send({ type: 'ka' });
          this.timers.push(setInterval(() => this.send({ type: 'ka' }), this.deps.limits.keepAliveMs));
        }
        return;
      }
      case 'start': {
        if (id === null) return this.send({ type: 'error', payload: { message: 'An operation needs an `id`.' } });
        if (!this.auth) return this.sendErrors(id, [{ message: NO_TOKEN, extensions: { code: 'FORBIDDEN', statusCode: 403 } }]);
        // a repeated id replaces the running operation (as subscriptions-transport-ws does)
        const running = this.ops.get(id);
        if (running) {
          this.stopOp(running);
          this.ops.delete(id);
        }
        return this.start(id, m.payload);
      }
      case 'stop': {
        if (id === null) return;
        const op = this.ops.get(id);
        if (!op) return;
        this.stopOp(op);
        this.ops.delete(id);
        return this.send({ id, type: 'complete' });
      }
      case 'connection_terminate':
        return this.close(1000, 'Normal Closure');
      case 'ka':
        return;
      default:
        return this.send({ ...(id !== null ? { id } : {}), type: 'error', payload: { message: 'Invalid message type!' } });
    }
  }

  /** graphql-transport-ws */
  private async onTransport(m: { type: string; id?: unknown; payload?: unknown }) {
    switch (m.type) {
      case 'connection_init': {
        if (this.init !== 'none') return this.close(4429, 'Too many initialisation requests');
        if (m.payload !== undefined && m.payload !== null && (typeof m.payload !== 'object' || Array.isArray(m.payload)))
          return this.close(4400, 'Invalid message received');
        this.init = 'pending';
        const auth = await this.authenticate(m.payload);
        if (!auth) return this.close(4403, NO_TOKEN);
        this.auth = auth;
        this.init = 'done';
        return this.send({ type: 'connection_ack' });
      }
      case 'ping':
        return this.send({ type: 'pong' });
      case 'pong':
        return;
      case 'subscribe': {
        const id = m.id;
        const p = m.payload as { query?: unknown } | null | undefined;
        if (typeof id !== 'string' || !id || !p || typeof p !== 'object' || typeof p.query !== 'string')
          return this.close(4400, 'Invalid message received');
        if (!this.auth || this.init !== 'done') return this.close(4401, 'Unauthorized');
        if (this.ops.has(id)) return this.close(4409, `Subscriber for ${id.slice(0, 64)} already exists`);
        return this.start(id, p);
      }
      case 'complete': {
        if (typeof m.id !== 'string') return this.close(4400, 'Invalid message received');
        const op = this.ops.get(m.id);
        if (op) {
          this.stopOp(op);
          this.ops.delete(m.id);
        }
        return;
      }
      default:
        return this.close(4400, 'Invalid message received');
    }
  }

  private async authenticate(params: unknown): Promise<Authed | null> {
    const token = tokenFromConnectionParams(params);
    if (!token) return null;
    try {
      const auth = await this.deps.services.identity.authenticateToken(token);
      if (auth) this.token = token;
      return auth;
    } catch (err) {
      this.deps.log.error({ err }, 'websocket authentication failed');
      return null;
    }
  }

  // -------------------------------------------------------------- operations

  private context(): SpeckleContext {
    return { auth: this.auth!, services: this.deps.services, requestId: this.id };
  }

  private format(result: ExecutionResult) {
    const out: Record<string, unknown> = {};
    if (result.errors?.length) out.errors = result.errors.map((e) => formatError(e, (err) => this.deps.log.error({ err }, 'graphql subscription error')));
    if ('data' in result) out.data = result.data;
    return out;
  }

  private async start(id: string, payload: unknown) {
    const { limits, schema, documents } = this.deps;
    if (this.ops.size >= limits.maxSubscriptionsPerSocket)
      return this.sendErrors(id, badRequest(`Too many operations on this connection (max ${limits.maxSubscriptionsPerSocket}).`));
    const p = (payload && typeof payload === 'object' ? payload : {}) as { query?: unknown; variables?: unknown; operationName?: unknown };
    if (typeof p.query !== 'string' || !p.query.trim()) return this.sendErrors(id, badRequest('An operation needs a non-empty `query`.'));
    if (p.variables !== undefined && p.variables !== null && (typeof p.variables !== 'object' || Array.isArray(p.variables)))
      return this.sendErrors(id, badRequest('`variables` should be an object.'));
    if (p.operationName !== undefined && p.operationName !== null && typeof p.operationName !== 'string')
      return this.sendErrors(id, badRequest('`operationName` must be a string if provided.'));
    const doc = documents.get(p.query);
    if (Array.isArray(doc)) return this.sendErrors(id, doc);
    const operationName = (p.operationName as string | null | undefined) ?? undefined;
    const variableValues = (p.variables as Record<string, unknown> | null | undefined) ?? undefined;
    const opAst = getOperationAST(doc, operationName);
    if (!opAst) return this.sendErrors(id, badRequest('Could not determine which operation to run: name it with `operationName`.'));

    const op: Operation = { id, stopped: false };
    this.ops.set(id, op);
    const args = { schema, document: doc, variableValues, operationName };

    if (opAst.operation !== 'subscription') {
      // queries and mutations are allowed over the socket too: one result, then complete
      void (async () => {
        const result = (await execute({ ...args, contextValue: this.context() })) as ExecutionResult;
        if (op.stopped) return;
        this.ops.delete(id);
        this.send({ id, type: this.legacy ? 'data' : 'next', payload: this.format(result) });
        this.send({ id, type: 'complete' });
      })().catch((err) => this.failOp(op, err));
      return;
    }

    let source: AsyncIterable<unknown> | ExecutionResult;
    try {
      source = await createSourceEventStream({ ...args, contextValue: this.context() });
    } catch (err) {
      this.ops.delete(id);
      return this.sendErrors(id, [formatError(err instanceof GraphQLError ? err : new GraphQLError('Internal Server Error', { originalError: err as Error }))]);
    }
    if (!(Symbol.asyncIterator in source)) {
      this.ops.delete(id);
      const errors = (source.errors ?? []).map((e) => formatError(e, (err) => this.deps.log.error({ err }, 'graphql subscription error')));
      return this.sendErrors(id, errors);
    }
    op.stream = source[Symbol.asyncIterator]();
    if (op.stopped || this.closed) {
      void op.stream.return?.();
      return;
    }
    void this.pump(op, args);
  }

  /** Runs one subscription: every source event is executed with a fresh context and sent. */
  private async pump(op: Operation, args: { schema: GraphQLSchema; document: DocumentNode; variableValues?: Record<string, unknown>; operationName?: string }) {
    try {
      for (;;) {
        const next = await op.stream!.next();
        if (next.done || op.stopped) break;
        const result = (await execute({ ...args, rootValue: next.value, contextValue: this.context() })) as ExecutionResult;
        if (op.stopped) break;
        this.send({ id: op.id, type: this.legacy ? 'data' : 'next', payload: this.format(result) });
      }
      if (!op.stopped) {
        this.ops.delete(op.id);
        this.send({ id: op.id, type: 'complete' });
      }
    } catch (err) {
      this.failOp(op, err);
    }
  }

  private failOp(op: Operation, err: unknown) {
    if (op.stopped) return;
    this.stopOp(op);
    this.ops.delete(op.id);
    const gqlErr = err instanceof GraphQLError ? err : new GraphQLError((err as Error)?.message ?? 'error', { originalError: err as Error });
    this.sendErrors(op.id, [formatError(gqlErr, (e) => this.deps.log.error({ err: e }, 'graphql subscription error'))]);
  }

  private stopOp(op: Operation) {
    if (op.stopped) return;
    op.stopped = true;
    void op.stream?.return?.()?.catch(() => {});
  }
}

// ------------------------------------------------------------------ the plugin

export interface SpeckleSubscriptionsOptions {
  services: Services;
  schema: GraphQLSchema;
  limits?: Partial<SubscriptionLimits>;
}

export async function speckleSubscriptions(app: FastifyInstance, opts: SpeckleSubscriptionsOptions) {
  const limits: SubscriptionLimits = { ...DEFAULT_SUBSCRIPTION_LIMITS, ...(opts.limits ?? {}) };
  const deps: ConnectionDeps = { services: opts.services, schema: opts.schema, documents: new DocumentCache(opts.schema), limits, log: app.log };
  const connections = new Set<Connection>();
  let shuttingDown = false;

  const wss = createWsServer({
    maxPayload: limits.maxMessageBytes,
    // the legacy protocol wins when both are offered: it is the only one the real server speaks
    handleProtocols: (protocols) => {
      for (const p of protocols) if (LEGACY_NAMES.has(p)) return p;
      return protocols.has(TRANSPORT_PROTOCOL) ? TRANSPORT_PROTOCOL : false;
    },
  });

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      pathname = '';
    }
    if (pathname !== '/graphql' && pathname !== '/graphql/') {
      // another face may own this path; if nobody else listens, refuse it rather than leave it hanging
      if (app.server.listenerCount('upgrade') <= 1) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      }
      return;
    }
    claimUpgrade(req);
    if (shuttingDown) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    socket.on('error', () => socket.destroy());
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (offered.length && !offered.some((p) => LEGACY_NAMES.has(p) || p === TRANSPORT_PROTOCOL)) {
      const body = `Unsupported websocket subprotocol: offer ${LEGACY_PROTOCOL} or ${TRANSPORT_PROTOCOL}\n`;
      socket.end(`HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const conn = new Connection(ws, deps, (c) => connections.delete(c));
      connections.add(conn);
    });
  };
  app.server.on('upgrade', onUpgrade);

  app.addHook('preClose', async () => {
    shuttingDown = true;
    app.server.removeListener('upgrade', onUpgrade);
    const open = [...connections];
    for (const c of open) c.close(1001, 'Server shutting down');
    // give close frames a moment, then cut what is left (a peer may never answer)
    const deadline = Date.now() + 1000;
    while (open.some((c) => !c.isClosed) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const c of open) c.terminate();
    wss.close();
  });
}
