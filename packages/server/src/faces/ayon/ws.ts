/**
 * AYON's realtime socket `/ws` (ayon.md §11.6; ayon-backend ayon_server/api/messaging.py): what the
 * AYON web UI, services and addons listen to. Mounted at `/ayon/ws` on the main port and at `/ws` on
 * ATRIUM_AYON_PORT, on the same `ws` upgrade mechanism as the Speckle face's sockets.
 *
 * - The server accepts at once; within `authTimeoutMs` (3 s) the client sends a text JSON
 *   `{"topic":"auth","token":…,"subscribe":[…],"project":…}`. There is no reply. Sending it again
 *   re-authenticates (a failed re-authentication keeps the previous one, as AYON does). A socket not
 *   authorised by then is closed with code 1000.
 * - The token is an AYON session token (64 hex) or an API key. AYON accepts an API key only once it
 *   has a cached session (a REST call made with it in the last 10 minutes); Atrium accepts the key
 *   directly — there is no session cache to warm up.
 * - Pushed messages: `{"id","topic","project","user","dependsOn","description","summary","status",
 *   "progress","sender","senderType","store","createdAt","updatedAt"}` of every AYON event published
 *   on the bus (channel `ayon.event`: this node's events, and other nodes' through the PostgreSQL
 *   relay). `recipients` and `payload` are never sent. `{"topic":"heartbeat"}` after `heartbeatMs`
 *   (5 s) without a message to that socket.
 * - Topics: prefix match, `"*"` = everything; always subscribed `server.started`,
 *   `server.restart_requested`, `heartbeat`.
 * - Delivery filters, as AYON: a socket with `project` gets only that project's events (except
 *   `inbox.message` and the always-subscribed topics); for project events guests get only
 *   `activity.created`, `activity.updated`, `entity.version.updated`; non-managers only projects in
 *   their access groups; a `recipients` list limits delivery to those user names.
 *   Stricter than AYON, on purpose: guests get those topics only for projects they are assigned to
 *   (AYON sends them every project's), and events without a project whose topic starts with `auth.`
 *   or `user.` (logins, failed logins, with client IPs) go to managers and to the user they are about.
 * - The socket's user is read again every `refreshMs` and when an `entity.user.*` or `auth.logout`
 *   event names that user, so changed access groups apply and a deleted, deactivated or logged-out
 *   session stops receiving (the socket is closed, 1000).
 * - Slow readers: a message is serialised once and handed to every socket without waiting; a socket
 *   with more than `maxBufferedBytes` unsent is dropped, so it never holds the others back.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services/index.js';
import type { AyonActor } from '../../services/ayon/users.js';
import type { AyonEventRecord } from '../../services/ayon/events.js';
import { canReadProject } from '../../services/ayon/access.js';
import { isPlainObject, isoTime } from '../../services/ayon/rules.js';
import { claimUpgrade, createWsServer, WS_OPEN as OPEN, type WsSocket } from '../upgrade.js';


export interface AyonWsSettings {
  /** an unauthorised socket is closed after this (AYON: 3 s) */
  authTimeoutMs: number;
  /** heartbeat after this long without a message (AYON: 5 s) */
  heartbeatMs: number;
  /** the socket's user and access groups are re-read this often */
  refreshMs: number;
  /** unsent bytes a socket may hold before it is dropped */
  maxBufferedBytes: number;
  /** largest accepted client message (bigger: closed with 1009) */
  maxMessageBytes: number;
  /** failed authentications after which a socket is closed */
  maxAuthFailures: number;
}

export const DEFAULT_AYON_WS_SETTINGS: AyonWsSettings = {
  authTimeoutMs: 3000,
  heartbeatMs: 5000,
  refreshMs: 60_000,
  maxBufferedBytes: 4 * 1024 * 1024,
  maxMessageBytes: 64 * 1024,
  maxAuthFailures: 20,
};

/** Read when a socket opens; tests shorten the timings here (internal, not a user setting). */
export const ayonWsSettings: AyonWsSettings = { ...DEFAULT_AYON_WS_SETTINGS };

const MAX_PENDING_AUTH = 4;

export const ALWAYS_SUBSCRIBE = ['server.started', 'server.restart_requested', 'heartbeat'];
export const GUEST_TOPICS = ['activity.created', 'heartbeat', 'activity.updated', 'entity.version.updated'];

/** What the bus carries on `ayon.event`: the stored record, plus what updates and broadcast-only events add. */
export type AyonBusEvent = AyonEventRecord & { progress?: number | null; store?: boolean; recipients?: string[] | null };

interface Sock {
  ws: WsSocket;
  actor: AyonActor | null;
  token: string | null;
  topics: string[];
  project: string | null;
  failures: number;
  /** auth messages waiting to be checked */
  pending: number;
  queue: Promise<void>;
  closed: boolean;
  authTimer?: NodeJS.Timeout;
  heartbeat?: NodeJS.Timeout;
  refresher?: NodeJS.Timeout;
}

/** The message AYON pushes for an event (recipients and payload left out). */
export function wsMessage(e: AyonBusEvent): Record<string, unknown> {
  const time = (v: unknown) => (typeof v === 'number' ? isoTime(v) : (v ?? null));
  const progress = 'progress' in e ? e.progress : e.status === 'finished' ? 100 : 0;
  const m: Record<string, unknown> = {
    id: e.id,
    topic: e.topic,
    project: e.project ?? null,
    user: e.user ?? null,
    dependsOn: e.dependsOn ?? null,
    description: e.description ?? '',
    summary: e.summary ?? {},
    status: e.status,
    sender: e.sender ?? null,
    senderType: e.senderType ?? null,
    store: typeof e.store === 'boolean' ? e.store : true,
    createdAt: time(e.createdAt),
    updatedAt: time(e.updatedAt),
  };
  if (progress !== undefined && progress !== null) m.progress = progress;
  return m;
}

/** AYON's delivery decision for one socket (see the file comment). */
export function shouldDeliver(s: { actor: AyonActor | null; topics: string[]; project: string | null }, e: AyonBusEvent): boolean {
  const actor = s.actor;
  if (!actor) return false;
  const topic = e.topic;
  const always = ALWAYS_SUBSCRIBE.includes(topic);
  const project = e.project ?? null;
  if (project !== null) {
    if (!(topic === 'inbox.message' || always) && s.project && s.project !== project) return false;
    if (actor.isGuest) {
      if (!GUEST_TOPICS.includes(topic) || !canReadProject(actor, project)) return false;
    } else if (!actor.isManager && !canReadProject(actor, project)) return false;
  } else if (!actor.isManager && (topic.startsWith('auth.') || topic.startsWith('user.')) && e.user !== actor.name) return false;
  if (Array.isArray(e.recipients) && !e.recipients.includes(actor.name)) return false;
  if (!always && !s.topics.some((t) => t === '*' || topic.startsWith(t))) return false;
  return true;
}

export async function ayonWebSocket(app: FastifyInstance, opts: { services: Services; prefix: string }) {
  const ayon = opts.services.ayon;
  const bus = opts.services.bus;
  const prefix = opts.prefix;
  const paths = new Set([`${prefix}/ws`, `${prefix}/ws/`]);
  const sockets = new Set<Sock>();
  let shuttingDown = false;
  const wss = createWsServer({ maxPayload: ayonWsSettings.maxMessageBytes });

  /** session token (64 hex) first, then API key; null when neither is valid */
  async function resolve(token: string): Promise<AyonActor | null> {
    const t = token.trim();
    if (!t || t.length > 512) return null;
    if (/^[0-9a-fA-F]{64}$/.test(t)) {
      try {
        const a = await ayon.users.authenticate({ bearer: t });
        if (a) return a;
      } catch {
        /* not a session: maybe a key */
      }
    }
    try {
      return await ayon.users.authenticate({ apiKey: t });
    } catch {
      return null;
    }
  }

  function drop(s: Sock) {
    if (s.closed) return;
    s.closed = true;
    clearTimeout(s.authTimer);
    clearTimeout(s.heartbeat);
    clearInterval(s.refresher);
    sockets.delete(s);
  }

  function close(s: Sock, code: number, reason: string) {
    drop(s);
    if (s.ws.readyState === OPEN) s.ws.close(code, reason);
  }

  function send(s: Sock, text: string) {
    if (s.closed || s.ws.readyState !== OPEN) return;
    if (s.ws.bufferedAmount > ayonWsSettings.maxBufferedBytes) {
      app.log.warn({ user: s.actor?.name }, 'AYON /ws: client too slow to read its messages; dropping it');
      drop(s);
      s.ws.terminate();
      return;
    }
    s.ws.send(text);
    s.heartbeat?.refresh();
  }

  async function authorize(s: Sock, msg: Record<string, unknown>) {
    if (typeof msg.token !== 'string') return fail(s);
    const actor = await resolve(msg.token);
    if (s.closed) return;
    if (!actor) return fail(s);
    const topics = Array.isArray(msg.subscribe) ? msg.subscribe.filter((t): t is string => typeof t === 'string') : [];
    s.actor = actor;
    s.token = msg.token;
    s.topics = topics.includes('*') ? ['*'] : [...topics, ...ALWAYS_SUBSCRIBE];
    s.project = typeof msg.project === 'string' && msg.project ? msg.project : null;
    s.failures = 0;
    clearTimeout(s.authTimer);
    if (!s.heartbeat) {
      s.heartbeat = setTimeout(function beat() {
        send(s, '{"topic":"heartbeat"}');
      }, ayonWsSettings.heartbeatMs);
    }
    if (!s.refresher) {
      s.refresher = setInterval(() => refresh(s), ayonWsSettings.refreshMs);
      s.refresher.unref?.();
    }
  }

  function fail(s: Sock) {
    if (++s.failures >= ayonWsSettings.maxAuthFailures) close(s, 1008, 'Too many failed authentications');
  }

  /** re-reads the socket's user (access groups, role); closes it when its credentials no longer work */
  function refresh(s: Sock) {
    s.queue = s.queue
      .then(async () => {
        if (s.closed || !s.token) return;
        const actor = await resolve(s.token);
        if (s.closed) return;
        if (actor) s.actor = actor;
        else close(s, 1000, 'Session ended');
      })
      .catch((err) => app.log.warn({ err }, 'AYON /ws: refreshing a socket failed'));
  }

  function onMessage(s: Sock, text: string) {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return;
    }
    if (!isPlainObject(msg) || msg.topic !== 'auth' || msg.token === undefined || msg.token === null) return;
    // a client sending auth messages faster than they are checked: the extra ones are ignored
    if (s.pending >= MAX_PENDING_AUTH) return;
    s.pending++;
    s.queue = s.queue
      .then(() => authorize(s, msg as Record<string, unknown>))
      .catch((err) => app.log.warn({ err }, 'AYON /ws: authentication failed'))
      .finally(() => s.pending--);
  }

  function accept(ws: WsSocket) {
    const s: Sock = { ws, actor: null, token: null, topics: [], project: null, failures: 0, pending: 0, queue: Promise.resolve(), closed: false };
    sockets.add(s);
    s.authTimer = setTimeout(() => {
      if (!s.actor) close(s, 1000, 'Not authorised');
    }, ayonWsSettings.authTimeoutMs);
    ws.on('error', () => {});
    ws.on('close', () => drop(s));
    ws.on('message', (data, isBinary) => {
      if (isBinary || s.closed) return;
      const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
      onMessage(s, text);
    });
  }

  function fanOut(payload: unknown) {
    const e = payload as AyonBusEvent;
    if (!e || typeof e !== 'object' || typeof e.topic !== 'string') return;
    if ((e.topic.startsWith('entity.user.') || e.topic === 'auth.logout') && sockets.size) {
      const who = new Set([isPlainObject(e.summary) && typeof e.summary.entityName === 'string' ? e.summary.entityName : null, e.topic === 'auth.logout' ? e.user : null]);
      for (const s of sockets) if (s.actor && who.has(s.actor.name)) refresh(s);
    }
    let text: string | undefined;
    for (const s of sockets) {
      if (!s.actor || !shouldDeliver(s, e)) continue;
      text ??= JSON.stringify(wsMessage(e));
      send(s, text);
    }
  }
  const unsubscribe = bus.subscribe('ayon.event', fanOut);

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      pathname = '';
    }
    if (!paths.has(pathname)) {
      // paths under this face's prefix are ours to refuse; on the AYON port nobody else takes upgrades
      if ((prefix && pathname.startsWith(`${prefix}/`)) || app.server.listenerCount('upgrade') <= 1) {
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
    wss.handleUpgrade(req, socket, head, accept);
  };
  app.server.on('upgrade', onUpgrade);

  app.addHook('preClose', async () => {
    shuttingDown = true;
    app.server.removeListener('upgrade', onUpgrade);
    unsubscribe();
    const open = [...sockets];
    for (const s of open) close(s, 1001, 'Server shutting down');
    const deadline = Date.now() + 1000;
    while (open.some((s) => s.ws.readyState === OPEN) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const s of open) s.ws.terminate();
    wss.close();
  });

  return { sockets: () => sockets.size };
}
