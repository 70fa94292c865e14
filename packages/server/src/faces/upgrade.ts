/**
 * WebSocket upgrades on one HTTP server are shared by several faces (Speckle GraphQL at /graphql, the
 * v1 socket at /, AYON at /ayon/ws): each listens to the server's `upgrade` event and takes its own
 * paths. A face that takes a request marks it with `claimUpgrade`; one listener added after all the
 * faces refuses what none of them took (404), instead of leaving the client's socket hanging.
 */
import { createRequire } from 'node:module';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';

// ------------------------------------------------------------------ the `ws` library (no bundled types)

export interface WsSocket {
  readonly protocol: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  ping(): void;
  on(event: 'message', listener: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): this;
  on(event: 'close', listener: (code: number, reason: Buffer) => void): this;
  on(event: 'pong', listener: () => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
}
export interface WsServer {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, cb: (ws: WsSocket) => void): void;
  close(): void;
}
export interface WsServerOptions {
  maxPayload: number;
  handleProtocols?: (protocols: Set<string>, req: IncomingMessage) => string | false;
}
const { WebSocketServer } = createRequire(import.meta.url)('ws') as {
  WebSocketServer: new (o: WsServerOptions & { noServer: true; clientTracking: boolean; perMessageDeflate: boolean }) => WsServer;
};
/** `readyState` of an open socket */
export const WS_OPEN = 1;

/** A `ws` server for upgrades this process routes itself (no own listener, no tracking, no compression). */
export function createWsServer(o: WsServerOptions): WsServer {
  return new WebSocketServer({ noServer: true, clientTracking: false, perMessageDeflate: false, ...o });
}

// ------------------------------------------------------------------ routing upgrades between faces

const CLAIMED = Symbol('atrium.upgradeClaimed');

export function claimUpgrade(req: IncomingMessage): void {
  (req as unknown as Record<symbol, boolean>)[CLAIMED] = true;
}

export function refuseUnclaimedUpgrades(server: Pick<Server, 'on'>): void {
  server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    if ((req as unknown as Record<symbol, boolean>)[CLAIMED] || socket.destroyed || !socket.writable) return;
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
}
