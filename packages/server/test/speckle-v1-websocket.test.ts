/**
 * The v1 realtime websocket (server root, `?client_id=…&access_token=…&stream_id=…`) over real
 * sockets on every store kind: v1's join/leave/broadcast/message events and answers, the ping/alive
 * heartbeat (with a short interval on a second listener of the same services), room access checks,
 * and, on PostgreSQL, broadcasts between two nodes of one deployment.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import WebSocket from 'ws';
import { startTestServer, storeKinds, type TestServer } from './helpers/server.js';
import { speckleV1Face } from '../src/faces/speckle-v1/index.js';

const PASSWORD = 'v1-password-123';
let seq = 0;

async function v1call(base: string, method: string, path: string, opts: { token?: string; body?: unknown } = {}): Promise<any> {
  const res = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(opts.token ? { authorization: opts.token } : {}) },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  const body = (await res.json()) as any;
  if (res.status !== 200 || !body.success) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

async function person(base: string, name: string): Promise<{ id: string; token: string; apitoken: string }> {
  const email = `${name.toLowerCase()}-ws-${++seq}@example.com`;
  await v1call(base, 'POST', '/accounts/register', { body: { email, password: PASSWORD, name, company: 'c' } });
  const r = (await v1call(base, 'POST', '/accounts/login', { body: { email, password: PASSWORD } })).resource;
  return { id: r._id, token: r.token, apitoken: r.apitoken };
}

/** A websocket that records every text frame and can wait for the next one matching. */
class Sock {
  readonly ws: WebSocket;
  readonly messages: string[] = [];
  private cursor = 0;
  private waiters: Array<() => void> = [];
  readonly closed: Promise<number>;

  private constructor(url: string) {
    this.ws = new WebSocket(url);
    this.closed = new Promise((resolve) => this.ws.once('close', (code) => resolve(code)));
    this.ws.on('message', (data) => {
      this.messages.push(data.toString());
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async open(base: string, query: Record<string, string>): Promise<Sock> {
    const s = new Sock(`${base.replace(/^http/, 'ws')}/?${new URLSearchParams(query)}`);
    await new Promise<void>((resolve, reject) => {
      s.ws.once('open', () => resolve());
      s.ws.once('error', reject);
    });
    return s;
  }

  send(m: unknown): void {
    this.ws.send(typeof m === 'string' ? m : JSON.stringify(m));
  }

  /** The next not-yet-consumed message that matches (earlier non-matching ones are skipped). */
  async next(match: (m: string) => boolean, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = this.cursor; i < this.messages.length; i++) {
        if (match(this.messages[i])) {
          this.cursor = i + 1;
          return this.messages[i];
        }
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching message; have ${JSON.stringify(this.messages.slice(this.cursor))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => (clearTimeout(t), resolve()));
      });
    }
  }

  /** Waits until the server has handled everything sent before (joins are answered in order). */
  async barrier(): Promise<void> {
    this.send({ eventName: 'join', resourceType: 'objects', resourceId: `barrier-${++seq}` });
    await this.next((m) => m === 'Resource not found.');
  }

  received(match: (m: string) => boolean): string[] {
    return this.messages.filter(match);
  }

  close(): void {
    this.ws.close();
  }
}

describe.each(storeKinds)('v1 websocket on %s', (kind) => {
  let server: TestServer;
  let alice: { id: string; token: string; apitoken: string };
  let bob: { id: string; token: string; apitoken: string };
  let carol: { id: string; token: string; apitoken: string };
  let streamId: string;
  let publicStreamId: string;
  const open: Sock[] = [];
  const sock = async (query: Record<string, string>, base = server.url) => {
    const s = await Sock.open(base, query);
    open.push(s);
    return s;
  };

  beforeAll(async () => {
    server = await startTestServer(kind, { ATRIUM_LOGIN_RATE_LIMIT: '0' });
    alice = await person(server.url, 'Alice');
    bob = await person(server.url, 'Bob');
    carol = await person(server.url, 'Carol');
    streamId = (await v1call(server.url, 'POST', '/streams', { token: alice.token, body: { name: 'Live', canRead: [bob.id] } })).resource.streamId;
    publicStreamId = (await v1call(server.url, 'POST', '/streams', { token: carol.token, body: { name: 'Open', private: false } })).resource.streamId;
  });
  afterAll(async () => {
    for (const s of open) s.close();
    await server?.close();
  });

  it('without a client_id: v1’s message, then the socket is closed', async () => {
    const s = await sock({ access_token: alice.token });
    expect(await s.next(() => true)).toMatch(/^You must provide a client_id\./);
    await s.closed;
  });

  it('broadcast: the raw text reaches the other sockets of the room, not the sender, not outsiders', async () => {
    const a = await sock({ client_id: 'a-1', access_token: alice.token, stream_id: streamId });
    const b = await sock({ client_id: 'b-1', access_token: bob.apitoken, stream_id: streamId });
    const c = await sock({ client_id: 'c-1', access_token: carol.token, stream_id: streamId });
    await Promise.all([a.barrier(), b.barrier(), c.barrier()]);
    expect(c.received((m) => m === `Failed to join room stream-${streamId}`)).toHaveLength(1); // carol may not read it
    const raw = JSON.stringify({ eventName: 'broadcast', streamId, args: { eventType: 'update-global', n: 1 } });
    b.send(raw);
    expect(await a.next((m) => m.includes('update-global'))).toBe(raw);
    // an outsider cannot speak in the room either
    c.send({ eventName: 'broadcast', streamId, args: { eventType: 'spam' } });
    await Promise.all([a.barrier(), b.barrier(), c.barrier()]);
    expect(b.received((m) => m.includes('update-global'))).toEqual([]);
    expect(c.received((m) => m.includes('update-global'))).toEqual([]);
    expect(a.received((m) => m.includes('spam'))).toEqual([]);
  });

  it('message: the raw text goes to the socket with that client id', async () => {
    const a = await sock({ client_id: 'a-2', access_token: alice.token });
    const b = await sock({ client_id: 'b-2', access_token: bob.token });
    await b.barrier();
    const raw = JSON.stringify({ eventName: 'message', recipientId: 'b-2', args: { eventType: 'compute-request' } });
    a.send(raw);
    expect(await b.next((m) => m.includes('compute-request'))).toBe(raw);
    expect(a.received((m) => m.includes('compute-request'))).toEqual([]);
  });

  it('join and leave: stream rooms, resource rooms (JSON answer), already joined, refusals', async () => {
    const a = await sock({ client_id: 'a-3', access_token: alice.token });
    a.send({ eventName: 'join', streamId });
    a.send({ eventName: 'join', streamId });
    expect(await a.next((m) => m.startsWith('You already'))).toBe('You already joined that room.');
    a.send({ eventName: 'join', resourceType: 'streams', resourceId: streamId });
    expect(JSON.parse(await a.next((m) => m.startsWith('{')))).toEqual({ message: 'Room joined.', roomName: `streams-${streamId}` });
    const b = await sock({ client_id: 'b-3', access_token: bob.token, stream_id: streamId });
    b.send({ eventName: 'broadcast', resourceType: 'streams', resourceId: streamId, args: { n: 'not-a-member-yet' } });
    b.send({ eventName: 'join', resourceType: 'streams', resourceId: streamId });
    await b.next((m) => m.startsWith('{'));
    b.send({ eventName: 'broadcast', resourceType: 'streams', resourceId: streamId, args: { n: 'resource-room' } });
    await a.next((m) => m.includes('resource-room'));
    a.send({ eventName: 'leave', roomName: `streams-${streamId}` });
    a.send({ eventName: 'leave', streamId });
    await a.barrier();
    b.send({ eventName: 'broadcast', streamId, args: { n: 'after-leave' } });
    b.send({ eventName: 'broadcast', resourceType: 'streams', resourceId: streamId, args: { n: 'after-leave' } });
    await b.barrier();
    await a.barrier();
    expect(a.received((m) => m.includes('after-leave') || m.includes('not-a-member-yet'))).toEqual([]);

    const anon = await sock({ client_id: 'anon-3', access_token: 'JWT not-a-token' });
    anon.send({ eventName: 'join', resourceType: 'streams', resourceId: streamId });
    expect(await anon.next(() => true)).toBe('You are an anonymous client. You cannot access this resource.');
    expect(await anon.next(() => true)).toBe('You are not authorised to read.');
    anon.send({ eventName: 'join', streamId: publicStreamId });
    anon.send({ eventName: 'join', resourceType: 'streams', resourceId: publicStreamId });
    expect(JSON.parse(await anon.next((m) => m.startsWith('{'))).roomName).toBe(`streams-${publicStreamId}`);
    const c = await sock({ client_id: 'c-3', access_token: carol.token });
    c.send({ eventName: 'join', resourceType: 'streams', resourceId: streamId });
    expect(await c.next(() => true)).toBe('You are not authorised to read.');
    c.send({ eventName: 'join', resourceType: 'widgets', resourceId: 'x' });
    expect(await c.next(() => true)).toBe('Resource not found.');
    // what v1 ignores: plain text, JSON without eventName, unknown events
    c.send('Hi Speckle!!!');
    c.send({ no: 'eventName' });
    c.send({ eventName: 'dance' });
    c.send('[1,2,3]');
    await c.barrier();
  });

  it('a client id already connected gets a fresh one, and messages reach it under the new id', async () => {
    const first = await sock({ client_id: 'dup-1', access_token: alice.token });
    await first.barrier();
    const second = await sock({ client_id: 'dup-1', access_token: alice.token });
    const warning = JSON.parse(await second.next((m) => m.includes('another file')));
    expect(warning.message).toBe('Warning: this client is open in another file.');
    expect(warning.newId).toMatch(/^[0-9a-f]{24}$/);
    const sender = await sock({ client_id: 'sender-1', access_token: bob.token });
    sender.send({ eventName: 'message', recipientId: warning.newId, args: { to: 'second' } });
    sender.send({ eventName: 'message', recipientId: 'dup-1', args: { to: 'first' } });
    expect(await second.next((m) => m.includes('"to"'))).toContain('second');
    expect(await first.next((m) => m.includes('"to"'))).toContain('first');
  });

  it('heartbeat: ping every interval; `alive` resets the count; 5 missed warn, 10 missed close', async () => {
    const fast: FastifyInstance = Fastify();
    await fast.register(speckleV1Face, { services: server.app.services, sockets: { pingIntervalMs: 40 } });
    const base = await fast.listen({ port: 0, host: '127.0.0.1' });
    try {
      const quiet = await Sock.open(base, { client_id: 'quiet', access_token: alice.token, stream_id: streamId });
      const lively = await Sock.open(base, { client_id: 'lively', access_token: bob.token, stream_id: streamId });
      lively.ws.on('message', (d) => d.toString() === 'ping' && lively.send('alive'));
      expect(await quiet.next((m) => m === 'ping')).toBe('ping');
      expect(await quiet.next((m) => m.startsWith('Warning: you missed 5 mins'), 3000)).toBe(
        'Warning: you missed 5 mins of pings. After 10, you will be kicked!',
      );
      expect(await quiet.next((m) => m.startsWith('You missed'), 3000)).toBe('You missed 10 minutes of pings. Bye!');
      await quiet.closed;
      const pingsBeforeClose = quiet.received((m) => m === 'ping').length;
      expect(pingsBeforeClose).toBe(11);
      expect(quiet.received((m) => m.startsWith('Warning'))).toHaveLength(6); // at 6, 7, … 11 missed, as v1 counted
      // the socket that answers stays, and keeps working
      await new Promise((r) => setTimeout(r, 200));
      expect(lively.received((m) => m === 'ping').length).toBeGreaterThan(10);
      expect(lively.received((m) => m.startsWith('Warning') || m.startsWith('You missed'))).toEqual([]);
      expect(lively.ws.readyState).toBe(WebSocket.OPEN);
      await lively.barrier();
      lively.close();
    } finally {
      await fast.close();
    }
  });

  it.runIf(kind === 'postgres')('broadcasts and direct messages cross nodes of one deployment (PostgreSQL relay)', async () => {
    const other = await startTestServer(kind, { ATRIUM_LOGIN_RATE_LIMIT: '0' }, { database: server.config.database });
    try {
      const a = await sock({ client_id: 'node-a', access_token: alice.token, stream_id: streamId });
      const b = await sock({ client_id: 'node-b', access_token: bob.token, stream_id: streamId }, other.url);
      await Promise.all([a.barrier(), b.barrier()]);
      // the relay connects asynchronously: retry until the first broadcast arrives
      const raw = JSON.stringify({ eventName: 'broadcast', streamId, args: { hop: 'across' } });
      const deadline = Date.now() + 10_000;
      for (;;) {
        b.send(raw);
        try {
          await a.next((m) => m.includes('across'), 300);
          break;
        } catch (err) {
          if (Date.now() > deadline) throw err;
        }
      }
      a.send({ eventName: 'message', recipientId: 'node-b', args: { hop: 'back' } });
      expect(await b.next((m) => m.includes('back'))).toContain('node-b');
    } finally {
      await other.close();
    }
  });
});
