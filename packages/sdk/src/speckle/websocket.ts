/**
 * GraphQL subscriptions over WebSocket, as specklepy's gql `WebsocketsTransport` does them:
 *
 * - one socket per subscription, to `ws[s]://host/graphql`, offering the subprotocols
 *   `graphql-ws` (legacy Apollo `subscriptions-transport-ws`, what Speckle servers speak) and
 *   `graphql-transport-ws` (the newer protocol); the server picks one (none picked = legacy);
 * - `{"type":"connection_init","payload":{"Authorization":"Bearer <token>"}}`, then wait (10 s) for
 *   `connection_ack` — legacy keep-alives (`ka`) are ignored, `ping`s answered with `pong`;
 * - `{"id":"1","type":"start"|"subscribe","payload":{"query":…,"variables":…}}` (`variables` only when
 *   there are some);
 * - events: legacy `data`, newer `next` (`payload.data`); `error` and `complete` end the subscription;
 * - closing: legacy `stop` then `connection_terminate`, newer `complete`; then the socket is closed.
 *
 * Node 20 has no global WebSocket, so the `ws` package is used (loaded on first use); another
 * implementation can be passed as a {@link WebSocketFactory}.
 */
import { GraphQLError, SpeckleAuthError, SpeckleError, SpeckleTransportError, type GraphQLErrorEntry } from './errors.js';

export type SubscriptionProtocol = 'graphql-ws' | 'graphql-transport-ws';
export const SUBSCRIPTION_PROTOCOLS: readonly SubscriptionProtocol[] = Object.freeze(['graphql-ws', 'graphql-transport-ws']);

/** The part of the WHATWG WebSocket API used here (`ws` implements it). */
export interface WebSocketLike {
  readonly protocol: string;
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'message' | 'close' | 'error', listener: (event: never) => void): void;
}

/** Opens a socket offering the given subprotocols. */
export type WebSocketFactory = (url: string, protocols: string[], options: { verifyCertificate: boolean }) => WebSocketLike;

/** The default factory: the `ws` package (`rejectUnauthorized: false` when certificates are not verified). */
export async function defaultWebSocketFactory(): Promise<WebSocketFactory> {
  const specifier = 'ws';
  let mod: { WebSocket?: unknown; default?: unknown };
  try {
    mod = (await import(specifier)) as { WebSocket?: unknown; default?: unknown };
  } catch (err) {
    const native = (globalThis as { WebSocket?: new (url: string, protocols: string[]) => WebSocketLike }).WebSocket;
    if (native) return (url, protocols) => new native(url, protocols);
    throw new SpeckleError('subscriptions need the "ws" package (npm install ws) or a global WebSocket', { cause: err });
  }
  const Ctor = (mod.WebSocket ?? mod.default) as new (url: string, protocols: string[], options: object) => WebSocketLike;
  return (url, protocols, { verifyCertificate }) => new Ctor(url, protocols, verifyCertificate ? {} : { rejectUnauthorized: false });
}

export interface SubscribeOptions {
  /** aborting closes the subscription */
  signal?: AbortSignal;
  /** how long to wait for `connection_ack`, in ms (gql: 10 s) */
  ackTimeoutMs?: number;
  /** subprotocols offered, in order of preference (default both, legacy first, like gql) */
  protocols?: readonly SubscriptionProtocol[];
}

/** A running subscription. */
export interface Subscription {
  /** the subprotocol the server chose */
  readonly protocol: SubscriptionProtocol;
  /**
   * Settles when the subscription ends: resolves after `close()` or when the server completes it;
   * rejects with GraphQLError (an `error` message, or a result with errors), SpeckleAuthError (close
   * code 4401/4403, `connection_error`), SpeckleTransportError (the socket closed unexpectedly) or
   * whatever the callback threw.
   */
  readonly closed: Promise<void>;
  /** Stops the subscription and closes the socket. */
  close(): Promise<void>;
}

export interface GraphQLSubscriptionRequest {
  url: string;
  /** sent as `Authorization: Bearer <token>` in connection_init's payload */
  token: string;
  query: string;
  variables?: Record<string, unknown> | null;
  /** called with the `data` of every event */
  onData: (data: Record<string, unknown>) => void;
  factory: WebSocketFactory;
  verifyCertificate: boolean;
}

const OPEN = 1;
const OPERATION_ID = '1';

interface Message {
  type?: unknown;
  id?: unknown;
  payload?: unknown;
}

/** Opens a socket, initialises the connection and starts one subscription. */
export function subscribeGraphQL(request: GraphQLSubscriptionRequest, options: SubscribeOptions = {}): Promise<Subscription> {
  const offered = [...(options.protocols ?? SUBSCRIPTION_PROTOCOLS)];
  const ackTimeoutMs = options.ackTimeoutMs ?? 10_000;

  return new Promise<Subscription>((resolveStarted, rejectStarted) => {
    let ws: WebSocketLike;
    try {
      ws = request.factory(request.url, offered, { verifyCertificate: request.verifyCertificate });
    } catch (err) {
      rejectStarted(new SpeckleTransportError(`cannot open ${request.url}: ${(err as Error).message}`, { cause: err }));
      return;
    }

    let protocol: SubscriptionProtocol = 'graphql-ws';
    let phase: 'connecting' | 'initialising' | 'running' | 'closing' | 'done' = 'connecting';
    let ackTimer: ReturnType<typeof setTimeout> | undefined;
    let lastError: unknown;
    let resolveClosed!: () => void;
    let rejectClosed!: (err: unknown) => void;
    const closed = new Promise<void>((res, rej) => {
      resolveClosed = res;
      rejectClosed = rej;
    });
    // nobody may be listening: a failure is reported through `closed` only to those who await it
    closed.catch(() => undefined);

    const send = (message: Record<string, unknown>) => {
      if (ws.readyState === OPEN) ws.send(JSON.stringify(message));
    };

    /** Ends everything once: before the start the start fails, after it `closed` settles. */
    const finish = (error?: unknown) => {
      if (phase === 'done') return;
      const wasRunning = phase === 'running' || phase === 'closing';
      phase = 'done';
      if (ackTimer) clearTimeout(ackTimer);
      options.signal?.removeEventListener('abort', onAbort);
      try {
        if (ws.readyState === OPEN || ws.readyState === 0) ws.close(1000, 'done');
      } catch {
        // already closing
      }
      if (!wasRunning) {
        rejectStarted(error ?? new SpeckleTransportError(`the subscription to ${request.url} ended before it started`));
      }
      if (error !== undefined) rejectClosed(error);
      else resolveClosed();
    };

    const stop = async (): Promise<void> => {
      if (phase === 'running') {
        phase = 'closing';
        if (protocol === 'graphql-transport-ws') {
          send({ id: OPERATION_ID, type: 'complete' });
        } else {
          send({ id: OPERATION_ID, type: 'stop' });
          send({ type: 'connection_terminate' });
        }
        finish();
      } else if (phase !== 'done') {
        finish(new SpeckleError('the subscription was closed before it started'));
      }
      await closed.catch(() => undefined);
    };

    function onAbort() {
      void stop();
    }
    if (options.signal?.aborted) {
      finish(new SpeckleTransportError('the subscription was aborted', { cause: options.signal.reason }));
      return;
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const subscription: Subscription = {
      get protocol() {
        return protocol;
      },
      closed,
      close: stop,
    };

    ws.addEventListener('open', () => {
      if (phase !== 'connecting') return;
      protocol = ws.protocol === 'graphql-transport-ws' ? 'graphql-transport-ws' : 'graphql-ws';
      phase = 'initialising';
      send({ type: 'connection_init', payload: { Authorization: `Bearer ${request.token}` } });
      ackTimer = setTimeout(() => {
        finish(new SpeckleTransportError(`no connection_ack from ${request.url} within ${ackTimeoutMs} ms`));
      }, ackTimeoutMs);
    });

    ws.addEventListener('message', (event: { data: unknown }) => {
      if (phase === 'done') return;
      let message: Message;
      try {
        const text = typeof event.data === 'string' ? event.data : String(event.data);
        message = JSON.parse(text) as Message;
      } catch {
        finish(new SpeckleTransportError(`the server sent a message that is not JSON: ${String(event.data).slice(0, 200)}`));
        return;
      }
      const type = message.type;
      if (type === 'ka' || type === 'pong') return;
      if (type === 'ping') {
        send(message.payload === undefined ? { type: 'pong' } : { type: 'pong', payload: message.payload });
        return;
      }
      if (type === 'connection_error') {
        finish(new SpeckleAuthError(errorText(message.payload, 'the server refused the connection'), 401, JSON.stringify(message.payload ?? null)));
        return;
      }
      if (type === 'connection_ack') {
        if (phase !== 'initialising') return;
        if (ackTimer) clearTimeout(ackTimer);
        phase = 'running';
        const payload: Record<string, unknown> = { query: request.query };
        if (request.variables && Object.keys(request.variables).length > 0) payload.variables = request.variables;
        send({ id: OPERATION_ID, type: protocol === 'graphql-transport-ws' ? 'subscribe' : 'start', payload });
        resolveStarted(subscription);
        return;
      }
      if (message.id !== OPERATION_ID) return;
      if (type === 'data' || type === 'next') {
        const payload = message.payload as { data?: unknown; errors?: unknown } | undefined;
        const errors = Array.isArray(payload?.errors) ? (payload!.errors as GraphQLErrorEntry[]) : [];
        if (errors.length > 0) {
          finish(new GraphQLError(errors.map(toEntry), 200, payload?.data));
          return;
        }
        const data = payload?.data;
        if (data === null || typeof data !== 'object') {
          finish(new SpeckleTransportError(`a subscription event without data: ${JSON.stringify(message).slice(0, 300)}`));
          return;
        }
        try {
          request.onData(data as Record<string, unknown>);
        } catch (err) {
          void stopWith(err);
        }
        return;
      }
      if (type === 'error') {
        const list = Array.isArray(message.payload) ? message.payload : [message.payload];
        finish(new GraphQLError(list.map(toEntry), 200));
        return;
      }
      if (type === 'complete') {
        finish();
      }
    });

    /** The callback threw: stop the subscription properly, then report the error through `closed`. */
    const stopWith = async (err: unknown) => {
      if (phase === 'running') {
        if (protocol === 'graphql-transport-ws') send({ id: OPERATION_ID, type: 'complete' });
        else {
          send({ id: OPERATION_ID, type: 'stop' });
          send({ type: 'connection_terminate' });
        }
      }
      finish(err);
    };

    ws.addEventListener('error', (event: { error?: unknown; message?: string }) => {
      lastError = event.error ?? event.message ?? event;
    });

    ws.addEventListener('close', (event: { code?: number; reason?: string }) => {
      if (phase === 'done') return;
      if (phase === 'closing') {
        finish();
        return;
      }
      const code = event.code ?? 1006;
      const reason = event.reason ? String(event.reason) : '';
      if (code === 4401 || code === 4403) {
        finish(new SpeckleAuthError(reason || `the server closed the subscription (${code})`, code === 4401 ? 401 : 403, reason));
        return;
      }
      const detail = lastError instanceof Error ? lastError.message : lastError !== undefined ? String(lastError) : '';
      const status = /Unexpected server response: (\d+)/.exec(detail)?.[1];
      if (status === '401' || status === '403') {
        finish(new SpeckleAuthError(`the server refused the WebSocket upgrade (HTTP ${status})`, Number(status), ''));
        return;
      }
      finish(
        new SpeckleTransportError(
          `the subscription socket to ${request.url} closed (code ${code}${reason ? `, ${reason}` : ''})${detail ? `: ${detail}` : ''}`,
          { cause: lastError },
        ),
      );
    });
  });
}

function errorText(payload: unknown, fallback: string): string {
  if (typeof payload === 'string' && payload) return payload;
  if (payload && typeof payload === 'object' && typeof (payload as { message?: unknown }).message === 'string') {
    return (payload as { message: string }).message;
  }
  return fallback;
}

function toEntry(raw: unknown): GraphQLErrorEntry {
  if (raw && typeof raw === 'object') {
    const e = raw as Record<string, unknown>;
    return { ...e, message: typeof e.message === 'string' ? e.message : JSON.stringify(raw) } as GraphQLErrorEntry;
  }
  return { message: String(raw) };
}
