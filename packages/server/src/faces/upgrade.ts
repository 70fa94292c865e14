/**
 * WebSocket upgrades on one HTTP server are shared by several faces (Speckle GraphQL at /graphql, the
 * v1 socket at /, AYON at /ayon/ws): each listens to the server's `upgrade` event and takes its own
 * paths. A face that takes a request marks it with `claimUpgrade`; one listener added after all the
 * faces refuses what none of them took (404), instead of leaving the client's socket hanging.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';

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
