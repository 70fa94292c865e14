/**
 * The v1 realtime websocket, on the server root: `ws://host/?client_id=…&access_token=JWT+…&stream_id=…`
 * (what PySpeckle's `client.websockets()` opens). Text frames only:
 *
 * - server → client `ping` every interval; the client answers `alive`. After 5 missed pings each tick
 *   warns, after 10 the socket is closed (v1's heartbeat, in minutes at the default 30 s);
 * - client → server JSON `{"eventName": …}`: `join` / `leave` a room (`stream-<streamId>` or
 *   `<resourceType>-<resourceId>`), `broadcast` the raw message to the other sockets of a room,
 *   `message` the raw message to one client id. Anything else is ignored, as v1 did.
 *
 * Broadcasts and direct messages go through the event bus, so with several nodes on one PostgreSQL
 * they reach sockets held by any node. Joining checks read access (v1 let any socket join by stream
 * id; Atrium does not leak private streams' traffic), and so does the `stream_id` of the URL.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services/index.js';
import type { V1Actor, V1SocketEvent } from '../../services/speckle-v1.js';
import { objectId } from '../../services/speckle-v1-documents.js';
import { claimUpgrade, createWsServer, WS_OPEN as OPEN, type WsSocket } from '../upgrade.js';


export interface V1SocketOptions {
  /** heartbeat period (v1: 30 s) */
  pingIntervalMs: number;
  /** missed pings before each tick warns (v1: 5) */
  warnAfterMissed: number;
  /** missed pings before the socket is closed (v1: 10) */
  kickAfterMissed: number;
  /** largest accepted message; bigger ones close the socket (1009) */
  maxMessageBytes: number;
}

export const DEFAULT_V1_SOCKET_OPTIONS: V1SocketOptions = {
  pingIntervalMs: 30_000,
  warnAfterMissed: 5,
  kickAfterMissed: 10,
  maxMessageBytes: 1024 * 1024,
};

export const NO_CLIENT_ID_MESSAGE =
  'You must provide a client_id. You can generate an anonymous temporary one by sending an anonymous request to POST /clients (see https://speckleworks.github.io/SpeckleSpecs/#clientcreate).';

interface V1Socket {
  ws: WsSocket;
  clientId: string;
  actor: V1Actor;
  rooms: string[];
  alive: boolean;
  missed: number;
  pinger?: NodeJS.Timeout;
  /** messages are handled one after the other, after authentication */
  queue: Promise<void>;
}

const send = (s: V1Socket, text: string) => {
  if (s.ws.readyState === OPEN) s.ws.send(text);
};

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' && v.length <= 256 ? v : undefined);

export async function speckleV1Sockets(app: FastifyInstance, opts: { services: Services; options?: Partial<V1SocketOptions> }) {
  const v1 = opts.services.v1;
  const o: V1SocketOptions = { ...DEFAULT_V1_SOCKET_OPTIONS, ...(opts.options ?? {}) };
  const wss = createWsServer({ maxPayload: o.maxMessageBytes });
  const byClientId = new Map<string, V1Socket>();
  const sockets = new Set<V1Socket>();
  let shuttingDown = false;

  // broadcasts and direct messages, from this node or another
  const unsubscribe = v1.sockets.subscribe((event: V1SocketEvent) => {
    if (event.kind === 'broadcast') {
      for (const s of sockets) if (s.clientId !== event.senderClientId && s.rooms.includes(event.room)) send(s, event.raw);
    } else {
      const s = byClientId.get(event.recipientId);
      if (s) send(s, event.raw);
    }
  });

  function heartbeat(s: V1Socket) {
    if (!s.alive) {
      s.missed++;
      if (s.missed > o.warnAfterMissed) send(s, 'Warning: you missed 5 mins of pings. After 10, you will be kicked!');
      if (s.missed > o.kickAfterMissed) {
        send(s, 'You missed 10 minutes of pings. Bye!');
        drop(s);
        s.ws.close(1000, 'missed pings');
        return;
      }
    }
    s.alive = false;
    send(s, 'ping');
  }

  function drop(s: V1Socket) {
    clearInterval(s.pinger);
    sockets.delete(s);
    if (byClientId.get(s.clientId) === s) byClientId.delete(s.clientId);
  }

  async function join(s: V1Socket, msg: Record<string, unknown>) {
    const streamId = str(msg.streamId);
    if (streamId) {
      const room = `stream-${streamId}`;
      if (!(await v1.sockets.canJoinStream(s.actor, streamId))) return send(s, `Failed to join room ${room}`);
      if (s.rooms.includes(room)) return send(s, 'You already joined that room.');
      s.rooms.push(room);
      return;
    }
    const type = str(msg.resourceType);
    const id = str(msg.resourceId);
    if (!type || !id) return;
    const room = `${type}-${id}`;
    const verdict = await v1.sockets.canJoinResource(s.actor, type, id);
    if (!verdict.ok) {
      if (verdict.private && !s.actor) send(s, 'You are an anonymous client. You cannot access this resource.');
      return send(s, verdict.message);
    }
    if (s.rooms.includes(room)) return send(s, 'You already joined that room.');
    s.rooms.push(room);
    send(s, JSON.stringify({ message: 'Room joined.', roomName: room }));
  }

  function leave(s: V1Socket, msg: Record<string, unknown>) {
    let room = str(msg.streamId) ? `stream-${str(msg.streamId)}` : str(msg.roomName);
    if (!room && str(msg.resourceType) && str(msg.resourceId)) room = `${str(msg.resourceType)}-${str(msg.resourceId)}`;
    if (room) s.rooms = s.rooms.filter((r) => r !== room);
  }

  async function onMessage(s: V1Socket, raw: string) {
    if (raw === 'alive') {
      s.alive = true;
      s.missed = 0;
      return;
    }
    let msg: unknown;
    try {
      msg = JSON.parse(raw);
    } catch {
      return; // v1 ignores what it cannot parse
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return;
    const m = msg as Record<string, unknown>;
    switch (m.eventName) {
      case 'join':
        return join(s, m);
      case 'leave':
        return leave(s, m);
      case 'broadcast': {
        let room = '';
        if (str(m.streamId)) room = `stream-${str(m.streamId)}`;
        else if (str(m.resourceType) && str(m.resourceId)) room = `${str(m.resourceType)}-${str(m.resourceId)}`;
        // only a member of a room may speak in it (joining checked read access)
        if (!room || !s.rooms.includes(room)) return;
        v1.sockets.publish({ kind: 'broadcast', room, raw, senderClientId: s.clientId });
        return;
      }
      case 'message': {
        const recipientId = str(m.recipientId);
        if (recipientId) v1.sockets.publish({ kind: 'message', recipientId, raw, senderClientId: s.clientId });
        return;
      }
    }
  }

  function accept(ws: WsSocket, url: URL) {
    const clientId = str(url.searchParams.get('client_id'));
    if (!clientId) {
      ws.send(NO_CLIENT_ID_MESSAGE);
      ws.close(1008, 'client_id required');
      return;
    }
    const s: V1Socket = { ws, clientId, actor: null, rooms: [], alive: true, missed: 0, queue: Promise.resolve() };
    const accessToken = url.searchParams.get('access_token') ?? undefined;
    const streamId = str(url.searchParams.get('stream_id'));
    ws.on('error', () => {});
    ws.on('close', () => drop(s));
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
      s.queue = s.queue.then(() => onMessage(s, text)).catch((err) => app.log.warn({ err }, 'v1 websocket: message failed'));
    });
    s.queue = (async () => {
      s.actor = await v1.sockets.actor(accessToken);
      if (byClientId.has(s.clientId)) {
        s.clientId = objectId();
        send(s, JSON.stringify({ message: 'Warning: this client is open in another file.', newId: s.clientId }));
      }
      byClientId.set(s.clientId, s);
      sockets.add(s);
      if (ws.readyState !== OPEN) return drop(s);
      if (streamId) {
        if (await v1.sockets.canJoinStream(s.actor, streamId)) s.rooms.push(`stream-${streamId}`);
        else send(s, `Failed to join room stream-${streamId}`);
      }
      s.pinger = setInterval(() => heartbeat(s), o.pingIntervalMs);
      s.pinger.unref?.();
    })().catch((err) => {
      app.log.warn({ err }, 'v1 websocket: connection setup failed');
      ws.close(1011, 'server error');
    });
  }

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return;
    }
    // the root path is the v1 socket's; other paths belong to other faces (GraphQL at /graphql…)
    if (url.pathname !== '/') return;
    claimUpgrade(req);
    if (shuttingDown) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    socket.on('error', () => socket.destroy());
    wss.handleUpgrade(req, socket, head, (ws) => accept(ws, url));
  };
  app.server.on('upgrade', onUpgrade);

  app.addHook('preClose', async () => {
    shuttingDown = true;
    app.server.removeListener('upgrade', onUpgrade);
    unsubscribe();
    const open = [...sockets];
    for (const s of open) {
      drop(s);
      s.ws.close(1001, 'Server shutting down');
    }
    const deadline = Date.now() + 1000;
    while (open.some((s) => s.ws.readyState === OPEN) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const s of open) s.ws.terminate();
    wss.close();
  });
}
