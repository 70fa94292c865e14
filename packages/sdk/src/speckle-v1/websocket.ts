/**
 * The v1 realtime socket, as PySpeckle's `client.websockets()` opens it:
 * `ws[s]://host/?client_id=…&access_token=JWT+…&stream_id=…`, text frames only. The server pings
 * (`ping`) every 30 s and closes sockets that miss 10 answers; this socket answers `alive` by itself
 * unless `keepAlive: false` (PySpeckle leaves that to the caller's on_message).
 */
import { SpeckleError } from '../speckle/errors.js';

/** The part of the `ws` / WHATWG WebSocket API used here. */
export interface V1WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'message' | 'close' | 'error', listener: (event: never) => void): void;
}

export type V1WebSocketFactory = (url: string) => V1WebSocketLike;

export interface V1WebSocketOptions {
  /** answer the server's `ping` with `alive` (default true) */
  keepAlive?: boolean;
  /** how long to wait for the socket to open, in ms (default 10 s) */
  openTimeoutMs?: number;
  /** replaces the `ws` package */
  webSocketFactory?: V1WebSocketFactory;
}

async function defaultFactory(): Promise<V1WebSocketFactory> {
  const specifier = 'ws';
  try {
    const mod = (await import(specifier)) as { WebSocket?: unknown; default?: unknown };
    const Ctor = (mod.WebSocket ?? mod.default) as new (url: string) => V1WebSocketLike;
    return (url) => new Ctor(url);
  } catch (err) {
    const native = (globalThis as { WebSocket?: new (url: string) => V1WebSocketLike }).WebSocket;
    if (native) return (url) => new native(url);
    throw new SpeckleError('the v1 socket needs the "ws" package (npm install ws) or a global WebSocket', { cause: err });
  }
}

const OPEN = 1;

/** An open v1 socket. Listeners get every text the server sends (`ping` included). */
export class V1WebSocket {
  private readonly listeners = new Set<(message: string) => void>();
  /** resolves with the close code when the socket closes */
  readonly closed: Promise<number>;

  private constructor(
    private readonly socket: V1WebSocketLike,
    readonly url: string,
    readonly clientId: string,
    keepAlive: boolean,
  ) {
    this.closed = new Promise((resolve) => socket.addEventListener('close', ((e: { code: number }) => resolve(e.code)) as never));
    socket.addEventListener('message', ((e: { data: unknown }) => {
      const text = typeof e.data === 'string' ? e.data : String(e.data);
      if (keepAlive && text === 'ping') this.send('alive');
      for (const l of [...this.listeners]) l(text);
    }) as never);
  }

  /** Opens the socket; resolves once it is open. */
  static async connect(url: string, clientId: string, opts: V1WebSocketOptions = {}): Promise<V1WebSocket> {
    const factory = opts.webSocketFactory ?? (await defaultFactory());
    const socket = factory(url);
    const ws = new V1WebSocket(socket, url, clientId, opts.keepAlive ?? true);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new SpeckleError('the v1 socket did not open in time')), opts.openTimeoutMs ?? 10_000);
      socket.addEventListener('open', (() => (clearTimeout(timer), resolve())) as never);
      socket.addEventListener('error', ((e: { message?: string }) => (clearTimeout(timer), reject(new SpeckleError(`the v1 socket failed: ${e.message ?? 'error'}`)))) as never);
    });
    return ws;
  }

  get isOpen(): boolean {
    return this.socket.readyState === OPEN;
  }

  /** Calls `listener` with every text message; returns the function that stops it. */
  onMessage(listener: (message: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The next message that matches (default: any), within `timeoutMs`. */
  next(match: (message: string) => boolean = () => true, timeoutMs = 10_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => (stop(), reject(new SpeckleError('no matching message from the v1 socket in time'))), timeoutMs);
      const stop = this.onMessage((m) => {
        if (!match(m)) return;
        clearTimeout(timer);
        stop();
        resolve(m);
      });
    });
  }

  /** Sends a text frame (objects are sent as JSON). */
  send(message: string | Record<string, unknown>): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Joins room `stream-<streamId>` (silent on success; `Failed to join room …` otherwise). */
  joinStream(streamId: string): void {
    this.send({ eventName: 'join', streamId });
  }

  /** Joins room `<resourceType>-<resourceId>`; the server answers `{"message":"Room joined.","roomName":…}`. */
  joinResource(resourceType: string, resourceId: string): void {
    this.send({ eventName: 'join', resourceType, resourceId });
  }

  leaveStream(streamId: string): void {
    this.send({ eventName: 'leave', streamId });
  }

  leaveResource(resourceType: string, resourceId: string): void {
    this.send({ eventName: 'leave', resourceType, resourceId });
  }

  /** Sends `args` to every other socket of room `stream-<streamId>`. */
  broadcast(streamId: string, args: Record<string, unknown>): void {
    this.send({ eventName: 'broadcast', streamId, args });
  }

  /** Sends `args` to every other socket of room `<resourceType>-<resourceId>`. */
  broadcastToResource(resourceType: string, resourceId: string, args: Record<string, unknown>): void {
    this.send({ eventName: 'broadcast', resourceType, resourceId, args });
  }

  /** Sends `args` to the socket of client `recipientId`. */
  message(recipientId: string, args: Record<string, unknown>): void {
    this.send({ eventName: 'message', recipientId, args });
  }

  close(): void {
    this.socket.close();
  }
}
