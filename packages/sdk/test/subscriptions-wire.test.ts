/**
 * client.subscribe on the wire, against a loopback WebSocket server that plays either protocol:
 * the subprotocols offered, connection_init with the token, start/subscribe, keep-alives and pings,
 * events, errors and the way a subscription is closed (stop + connection_terminate, or complete).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  GraphQLError,
  PROJECT_VERSIONS_UPDATED_SUBSCRIPTION,
  SpeckleAuthError,
  SpeckleClient,
  SpeckleError,
  SpeckleTransportError,
  USER_PROJECTS_UPDATED_SUBSCRIPTION,
  type ProjectVersionsUpdatedMessage,
} from '../src/index.js';

const TOKEN = 'aaaaaaaaaabbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const USER = { id: 'u1', email: null, name: 'Ada', bio: null, company: null, avatar: null, verified: true, role: 'server:user' };

interface Socket {
  protocol: string;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  on(event: 'message', listener: (data: Buffer) => void): void;
  on(event: 'close', listener: () => void): void;
}

interface FakeWs {
  url: string;
  /** messages received from the client, per connection */
  received: Record<string, unknown>[][];
  offered: string[];
  close(): Promise<void>;
}

type Script = (socket: Socket, message: Record<string, unknown>, connection: number) => void;

let fake: FakeWs | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** An HTTP server answering authentication, with a WebSocket server at /graphql driven by `script`. */
async function startFake(protocol: string, script: Script): Promise<FakeWs> {
  const { WebSocketServer } = (await import('ws' as string)) as {
    WebSocketServer: new (options: object) => {
      on(event: 'connection', listener: (socket: Socket, req: http.IncomingMessage) => void): void;
      clients: Set<Socket>;
      close(cb: () => void): void;
    };
  };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const { query } = JSON.parse(body) as { query: string };
      res.writeHead(200, { 'content-type': 'application/json' });
      if (query.startsWith('query User')) res.end(JSON.stringify({ data: { data: USER } }));
      else res.end(JSON.stringify({ data: { serverInfo: { name: 'x', version: '2.31.14', workspaces: null } } }));
    });
  });
  const wss = new WebSocketServer({ server, path: '/graphql', handleProtocols: () => protocol });
  const received: Record<string, unknown>[][] = [];
  const offered: string[] = [];
  wss.on('connection', (socket, req) => {
    offered.push(String(req.headers['sec-websocket-protocol']));
    const connection = received.length;
    received.push([]);
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as Record<string, unknown>;
      received[connection].push(message);
      script(socket, message, connection);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `127.0.0.1:${port}`,
    received,
    offered,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.close();
        wss.close(() => {
          server.closeAllConnections();
          server.close(() => resolve());
        });
      }),
  };
}

async function clientFor(f: FakeWs): Promise<SpeckleClient> {
  const c = new SpeckleClient({ host: f.url, useSsl: false });
  await c.authenticateWithToken(TOKEN);
  return c;
}

function waitFor(predicate: () => boolean, ms = 3000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      if (predicate()) return resolve();
      if (Date.now() - started > ms) return reject(new Error('timed out waiting'));
      setTimeout(tick, 10);
    };
    tick();
  });
}

const EVENT = { id: 'v1', type: 'CREATED', modelId: 'm1', version: null };

describe('legacy Apollo protocol (graphql-ws), what Speckle servers speak', () => {
  it('offers both subprotocols, sends connection_init with the token, ignores ka, starts, delivers events, stops', async () => {
    fake = await startFake('graphql-ws', (socket, m) => {
      if (m.type === 'connection_init') {
        socket.send(JSON.stringify({ type: 'ka' }));
        socket.send(JSON.stringify({ type: 'connection_ack' }));
        socket.send(JSON.stringify({ type: 'ka' }));
      }
      if (m.type === 'start') {
        socket.send(JSON.stringify({ type: 'ka' }));
        socket.send(JSON.stringify({ id: '1', type: 'data', payload: { data: { data: EVENT } } }));
        socket.send(JSON.stringify({ id: '1', type: 'data', payload: { data: { data: { ...EVENT, id: 'v2' } } } }));
      }
    });
    const c = await clientFor(fake);
    const events: ProjectVersionsUpdatedMessage[] = [];
    const sub = await c.subscribe.projectVersionsUpdated((m) => events.push(m), 'p1');
    expect(sub.protocol).toBe('graphql-ws');
    await waitFor(() => events.length === 2);
    expect(events).toEqual([EVENT, { ...EVENT, id: 'v2' }]);
    await sub.close();
    await sub.closed;
    await waitFor(() => fake!.received[0].length === 4);

    expect(fake.offered.map((h) => h.split(/,\s*/))).toEqual([['graphql-ws', 'graphql-transport-ws']]);
    expect(fake.received[0]).toEqual([
      { type: 'connection_init', payload: { Authorization: `Bearer ${TOKEN}` } },
      { id: '1', type: 'start', payload: { query: PROJECT_VERSIONS_UPDATED_SUBSCRIPTION, variables: { id: 'p1' } } },
      { id: '1', type: 'stop' },
      { type: 'connection_terminate' },
    ]);
  });

  it('userProjectsUpdated sends no variables; projectModelsUpdated sends modelIds null', async () => {
    fake = await startFake('graphql-ws', (socket, m) => {
      if (m.type === 'connection_init') socket.send(JSON.stringify({ type: 'connection_ack' }));
    });
    const c = await clientFor(fake);
    const a = await c.subscribe.userProjectsUpdated(() => undefined);
    const b = await c.subscribe.projectModelsUpdated(() => undefined, 'p1');
    await waitFor(() => fake!.received.length === 2 && fake!.received.every((r) => r.length >= 2));
    expect(fake.received[0][1]).toEqual({ id: '1', type: 'start', payload: { query: USER_PROJECTS_UPDATED_SUBSCRIPTION } });
    expect((fake.received[1][1].payload as { variables: unknown }).variables).toEqual({ id: 'p1', modelIds: null });
    await a.close();
    await b.close();
  });

  it('an error message, or an event with errors, ends the subscription with GraphQLError', async () => {
    fake = await startFake('graphql-ws', (socket, m) => {
      if (m.type === 'connection_init') socket.send(JSON.stringify({ type: 'connection_ack' }));
      if (m.type === 'start') socket.send(JSON.stringify({ id: '1', type: 'error', payload: { message: 'Forbidden', extensions: { code: 'FORBIDDEN' } } }));
    });
    const c = await clientFor(fake);
    const sub = await c.subscribe.projectUpdated(() => undefined, 'p1');
    const err = await sub.closed.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GraphQLError);
    expect((err as GraphQLError).code).toBe('FORBIDDEN');
    await fake.close();

    fake = await startFake('graphql-ws', (socket, m) => {
      if (m.type === 'connection_init') socket.send(JSON.stringify({ type: 'connection_ack' }));
      if (m.type === 'start') {
        socket.send(JSON.stringify({ id: '1', type: 'data', payload: { data: null, errors: [{ message: 'Stream not found', extensions: { code: 'STREAM_NOT_FOUND' } }] } }));
      }
    });
    const c2 = await clientFor(fake);
    const sub2 = await c2.subscribe.projectUpdated(() => undefined, 'nope');
    const err2 = await sub2.closed.catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(GraphQLError);
    expect((err2 as GraphQLError).code).toBe('STREAM_NOT_FOUND');
  });

  it('connection_error is a SpeckleAuthError; complete from the server resolves `closed`', async () => {
    fake = await startFake('graphql-ws', (socket, m) => {
      if (m.type === 'connection_init') socket.send(JSON.stringify({ type: 'connection_error', payload: { message: 'You need a token to subscribe' } }));
    });
    const c = await clientFor(fake);
    const err = await c.subscribe.userProjectsUpdated(() => undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpeckleAuthError);
    expect((err as Error).message).toBe('You need a token to subscribe');
    await fake.close();

    fake = await startFake('graphql-ws', (socket, m) => {
      if (m.type === 'connection_init') socket.send(JSON.stringify({ type: 'connection_ack' }));
      if (m.type === 'start') socket.send(JSON.stringify({ id: '1', type: 'complete' }));
    });
    const c2 = await clientFor(fake);
    const sub = await c2.subscribe.userProjectsUpdated(() => undefined);
    await expect(sub.closed).resolves.toBeUndefined();
  });

  it('no connection_ack in time is a SpeckleTransportError; an unexpected close rejects `closed`', async () => {
    fake = await startFake('graphql-ws', () => undefined);
    const c = await clientFor(fake);
    const err = await c.subscribe.userProjectsUpdated(() => undefined, { ackTimeoutMs: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpeckleTransportError);
    expect((err as Error).message).toMatch(/no connection_ack/);
    await fake.close();

    fake = await startFake('graphql-ws', (socket, m) => {
      if (m.type === 'connection_init') socket.send(JSON.stringify({ type: 'connection_ack' }));
      if (m.type === 'start') socket.close(1011, 'boom');
    });
    const c2 = await clientFor(fake);
    const sub = await c2.subscribe.userProjectsUpdated(() => undefined);
    const closedErr = await sub.closed.catch((e: unknown) => e);
    expect(closedErr).toBeInstanceOf(SpeckleTransportError);
    expect((closedErr as Error).message).toContain('1011');
  });

  it('a callback that throws ends the subscription with its error', async () => {
    fake = await startFake('graphql-ws', (socket, m) => {
      if (m.type === 'connection_init') socket.send(JSON.stringify({ type: 'connection_ack' }));
      if (m.type === 'start') socket.send(JSON.stringify({ id: '1', type: 'data', payload: { data: { data: EVENT } } }));
    });
    const c = await clientFor(fake);
    const sub = await c.subscribe.projectVersionsUpdated(() => {
      throw new Error('callback failed');
    }, 'p1');
    await expect(sub.closed).rejects.toThrow('callback failed');
  });

  it('an aborted signal closes the subscription', async () => {
    fake = await startFake('graphql-ws', (socket, m) => {
      if (m.type === 'connection_init') socket.send(JSON.stringify({ type: 'connection_ack' }));
    });
    const c = await clientFor(fake);
    const controller = new AbortController();
    const sub = await c.subscribe.userProjectsUpdated(() => undefined, { signal: controller.signal });
    controller.abort();
    await expect(sub.closed).resolves.toBeUndefined();
    await waitFor(() => fake!.received[0].some((m) => m.type === 'stop'));
  });
});

describe('graphql-transport-ws', () => {
  it('subscribe/next/complete; answers pings with pong', async () => {
    fake = await startFake('graphql-transport-ws', (socket, m) => {
      if (m.type === 'connection_init') {
        socket.send(JSON.stringify({ type: 'connection_ack' }));
        socket.send(JSON.stringify({ type: 'ping', payload: { n: 1 } }));
      }
      if (m.type === 'subscribe') socket.send(JSON.stringify({ id: '1', type: 'next', payload: { data: { data: EVENT } } }));
    });
    const c = await clientFor(fake);
    const events: unknown[] = [];
    const sub = await c.subscribe.projectVersionsUpdated((m) => events.push(m), 'p1');
    expect(sub.protocol).toBe('graphql-transport-ws');
    await waitFor(() => events.length === 1);
    await sub.close();
    await waitFor(() => fake!.received[0].some((m) => m.type === 'complete'));
    const types = fake.received[0].map((m) => m.type);
    expect(types).toContain('pong');
    expect(fake.received[0].find((m) => m.type === 'pong')).toEqual({ type: 'pong', payload: { n: 1 } });
    expect(fake.received[0].find((m) => m.type === 'subscribe')).toEqual({
      id: '1',
      type: 'subscribe',
      payload: { query: PROJECT_VERSIONS_UPDATED_SUBSCRIPTION, variables: { id: 'p1' } },
    });
    expect(fake.received[0].at(-1)).toEqual({ id: '1', type: 'complete' });
  });

  it('close code 4403 is a SpeckleAuthError', async () => {
    fake = await startFake('graphql-transport-ws', (socket, m) => {
      if (m.type === 'connection_init') socket.close(4403, 'Forbidden');
    });
    const c = await clientFor(fake);
    const err = await c.subscribe.userProjectsUpdated(() => undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpeckleAuthError);
    expect((err as SpeckleAuthError).status).toBe(403);
  });

  it('an error message (payload: list) ends with GraphQLError', async () => {
    fake = await startFake('graphql-transport-ws', (socket, m) => {
      if (m.type === 'connection_init') socket.send(JSON.stringify({ type: 'connection_ack' }));
      if (m.type === 'subscribe') socket.send(JSON.stringify({ id: '1', type: 'error', payload: [{ message: 'bad', extensions: { code: 'X' } }] }));
    });
    const c = await clientFor(fake);
    const sub = await c.subscribe.userProjectsUpdated(() => undefined);
    const err = await sub.closed.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GraphQLError);
    expect((err as GraphQLError).codes).toEqual(['X']);
  });
});

it('an unauthenticated client cannot subscribe', async () => {
  const c = new SpeckleClient({ host: '127.0.0.1:1', useSsl: false });
  const err = await c.subscribe.userProjectsUpdated(() => undefined).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(SpeckleError);
  expect((err as Error).message).toBe('You must authenticate before you can subscribe to events');
});
