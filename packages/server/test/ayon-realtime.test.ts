/**
 * AYON realtime `/ws` and the services/hosts registry over real HTTP and WebSockets, on every store
 * kind: the auth handshake (timeout, bad tokens, session tokens and API keys, re-auth), topic prefix
 * subscriptions, the project filter, non-manager and guest filtering, recipients, heartbeats, slow
 * readers, the ATRIUM_AYON_PORT mount, and on PostgreSQL two nodes of one deployment (subscriber on one,
 * writer on the other). Then hosts heartbeats and services CRUD with AYON's permissions and errors.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { startTestServer, storeKinds, type TestServer } from './helpers/server.js';
import { ayonWsSettings, DEFAULT_AYON_WS_SETTINGS } from '../src/faces/ayon/ws.js';

const WebSocket = createRequire(import.meta.url)('ws') as new (url: string) => any;
const hex = (n = 3) => randomBytes(n).toString('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Listener {
  messages: any[];
  closed: Promise<{ code: number }>;
  send(msg: unknown): void;
  auth(token: string, subscribe: string[], project?: string): void;
  waitFor(pred: (m: any) => boolean, timeoutMs?: number): Promise<any>;
  close(): void;
}

async function listen(url: string): Promise<Listener> {
  const ws = new WebSocket(url);
  const messages: any[] = [];
  const waiters: { pred: (m: any) => boolean; resolve: (m: any) => void }[] = [];
  ws.on('message', (data: Buffer) => {
    const m = JSON.parse(data.toString('utf8'));
    messages.push(m);
    for (const w of [...waiters]) if (w.pred(m)) (waiters.splice(waiters.indexOf(w), 1), w.resolve(m));
  });
  const closed = new Promise<{ code: number }>((resolve) => ws.on('close', (code: number) => resolve({ code })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    messages,
    closed,
    send: (msg) => ws.send(JSON.stringify(msg)),
    auth(token, subscribe, project) {
      ws.send(JSON.stringify({ topic: 'auth', token, subscribe, ...(project ? { project } : {}) }));
    },
    waitFor(pred, timeoutMs = 5000) {
      const hit = messages.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve: (m: any) => (clearTimeout(t), resolve(m)) };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(messages.map((m) => m.topic))}`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    close: () => ws.close(),
  };
}

async function api(base: string, method: string, path: string, opts: { token?: string | null; key?: string; body?: unknown } = {}) {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.key) headers['x-api-key'] = opts.key;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* empty */
  }
  return { status: res.status, json };
}

async function login(base: string, name: string, password: string): Promise<string> {
  const r = await api(base, 'POST', '/api/auth/login', { body: { name, password } });
  expect(r.status).toBe(200);
  return r.json.token;
}

async function createProject(base: string, token: string, name: string) {
  const preset = await api(base, 'GET', '/api/anatomy/presets/__primary__', { token });
  const r = await api(base, 'POST', '/api/projects', { token, body: { name, code: name.slice(0, 8), anatomy: preset.json, library: false } });
  expect(r.status).toBe(201);
}

/** An addon zip holding only package.py (one stored entry). */
function addonZip(packagePy: string): Buffer {
  const data = Buffer.from(packagePy, 'utf8');
  const name = Buffer.from('package.py');
  const crc = crc32(data) >>> 0;
  const lh = Buffer.alloc(30);
  lh.writeUInt32LE(0x04034b50, 0);
  lh.writeUInt16LE(20, 4);
  lh.writeUInt32LE(crc, 14);
  lh.writeUInt32LE(data.length, 18);
  lh.writeUInt32LE(data.length, 22);
  lh.writeUInt16LE(name.length, 26);
  const ch = Buffer.alloc(46);
  ch.writeUInt32LE(0x02014b50, 0);
  ch.writeUInt16LE(20, 4);
  ch.writeUInt16LE(20, 6);
  ch.writeUInt32LE(crc, 16);
  ch.writeUInt32LE(data.length, 20);
  ch.writeUInt32LE(data.length, 24);
  ch.writeUInt16LE(name.length, 28);
  ch.writeUInt32LE(0o100644 * 0x10000, 38);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(1, 8);
  eocd.writeUInt16LE(1, 10);
  eocd.writeUInt32LE(46 + name.length, 12);
  eocd.writeUInt32LE(30 + name.length + data.length, 16);
  return Buffer.concat([lh, name, data, ch, name, eocd]);
}

async function installAddon(base: string, token: string, packagePy: string) {
  const res = await fetch(`${base}/api/addons/install`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/zip' }, body: addonZip(packagePy) });
  expect(res.status).toBe(200);
}

const folder = (base: string, token: string, project: string, name: string) =>
  api(base, 'POST', `/api/projects/${project}/folders`, { token, body: { name, folderType: 'Asset' } });

describe.each(storeKinds)('AYON /ws and services registry on %s', (kind) => {
  let srv: TestServer;
  let base: string;
  let wsUrl: string;
  let admin: string;
  let artist: string;
  let guest: string;
  let serviceKey: string;
  const A = `rt_a_${hex()}`;
  const B = `rt_b_${hex()}`;
  const open: Listener[] = [];
  const track = async (url = wsUrl) => {
    const l = await listen(url);
    open.push(l);
    return l;
  };

  beforeAll(async () => {
    Object.assign(ayonWsSettings, { authTimeoutMs: 400, heartbeatMs: 300 });
    srv = await startTestServer(kind);
    base = `${srv.url}/ayon`;
    wsUrl = `${srv.url.replace(/^http/, 'ws')}/ayon/ws`;
    const u = await srv.createUser({ admin: true, email: `rt-admin-${hex()}@example.com`, password: 'rt-admin-password' });
    admin = await login(base, u.email, 'rt-admin-password');
    await createProject(base, admin, A);
    await createProject(base, admin, B);
    expect((await api(base, 'PUT', '/api/users/rt_artist', { token: admin, body: { password: 'rt-artist-password', data: { accessGroups: { [A]: ['artist'] } } } })).status).toBe(204);
    artist = await login(base, 'rt_artist', 'rt-artist-password');
    expect((await api(base, 'PUT', '/api/users/rt_guest', { token: admin, body: { password: 'rt-guest-password', data: { isGuest: true, accessGroups: { [A]: ['viewer'] } } } })).status).toBe(204);
    guest = await login(base, 'rt_guest', 'rt-guest-password');
    serviceKey = randomBytes(16).toString('hex');
    expect((await api(base, 'PUT', '/api/users/rt_service', { token: admin, body: { apiKey: serviceKey, data: { isService: true } } })).status).toBe(204);
    // addons the services run: one declaring its services in package.py, one declaring them in code only
    await installAddon(base, admin, 'name = "ftrack"\nversion = "1.2.3"\nservices = {"leecher": {"image": "ynput/ayon-ftrack-leecher:1.2.3"}, "processor": {"image": "ynput/ayon-ftrack-processor:1.2.3"}}\n');
    await installAddon(base, admin, 'name = "kitsu"\nversion = "2.0.0"\n');
  });
  afterEach(() => {
    for (const l of open.splice(0)) l.close();
  });
  afterAll(async () => {
    Object.assign(ayonWsSettings, DEFAULT_AYON_WS_SETTINGS);
    await srv?.close();
  });

  describe('/ws', () => {
    it('closes a socket that does not authenticate in time with code 1000', async () => {
      const l = await track();
      const started = Date.now();
      expect((await l.closed).code).toBe(1000);
      expect(Date.now() - started).toBeGreaterThanOrEqual(350);
      expect(l.messages).toEqual([]);
    });

    it('a bad token authorises nothing: no events, closed after the timeout', async () => {
      const l = await track();
      l.auth('f'.repeat(64), ['*']);
      l.auth('not-a-key', ['*']);
      await folder(base, admin, A, `bad_${hex()}`);
      expect((await l.closed).code).toBe(1000);
      expect(l.messages).toEqual([]);
    });

    it('delivers subscribed topics by prefix, in AYON message shape, and nothing else', async () => {
      const l = await track();
      l.auth(admin, ['entity.folder']);
      await sleep(100);
      const name = `f_${hex()}`;
      const created = await folder(base, admin, A, name);
      expect(created.status).toBe(201);
      const m = await l.waitFor((x) => x.topic === 'entity.folder.created' && x.summary?.entityId === created.json.id);
      expect(Object.keys(m).sort()).toEqual(
        ['createdAt', 'dependsOn', 'description', 'id', 'progress', 'project', 'sender', 'senderType', 'status', 'store', 'summary', 'topic', 'updatedAt', 'user'].sort(),
      );
      expect(m).toMatchObject({ project: A, status: 'finished', progress: 100, store: true });
      expect(m.id).toMatch(/^[0-9a-f]{32}$/);
      expect(m.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(m).not.toHaveProperty('payload');
      expect(m).not.toHaveProperty('recipients');
      // a task event is not under entity.folder
      const t = await api(base, 'POST', `/api/projects/${A}/tasks`, { token: admin, body: { name: `t_${hex()}`, taskType: 'Generic', folderId: created.json.id } });
      expect(t.status).toBe(201);
      const after = await folder(base, admin, A, `f_${hex()}`);
      await l.waitFor((x) => x.summary?.entityId === after.json.id);
      expect(l.messages.filter((x) => x.topic !== 'heartbeat').every((x) => x.topic.startsWith('entity.folder'))).toBe(true);
      expect(l.messages.some((x) => x.topic.startsWith('entity.task'))).toBe(false);
    });

    it('"*" receives everything; re-sending auth changes the subscription', async () => {
      const l = await track();
      l.auth(admin, ['*']);
      await sleep(100);
      const f = await folder(base, admin, A, `s_${hex()}`);
      await l.waitFor((x) => x.topic === 'entity.folder.created' && x.summary?.entityId === f.json.id);
      await api(base, 'POST', `/api/projects/${A}/tasks`, { token: admin, body: { name: `t_${hex()}`, taskType: 'Generic', folderId: f.json.id } });
      await l.waitFor((x) => x.topic === 'entity.task.created');
      // re-authenticate: only tasks now
      l.auth(admin, ['entity.task']);
      await sleep(150);
      const before = l.messages.length;
      const f2 = await folder(base, admin, A, `s_${hex()}`);
      await api(base, 'POST', `/api/projects/${A}/tasks`, { token: admin, body: { name: `t_${hex()}`, taskType: 'Generic', folderId: f2.json.id } });
      await l.waitFor((x) => x.topic === 'entity.task.created' && l.messages.indexOf(x) >= before);
      expect(l.messages.slice(before).some((x) => x.topic === 'entity.folder.created')).toBe(false);
    });

    it('a socket with a project filter gets only that project', async () => {
      const l = await track();
      l.auth(admin, ['entity.folder'], B);
      await sleep(100);
      const inA = await folder(base, admin, A, `pa_${hex()}`);
      const inB = await folder(base, admin, B, `pb_${hex()}`);
      await l.waitFor((x) => x.summary?.entityId === inB.json.id);
      await sleep(150);
      expect(l.messages.some((x) => x.summary?.entityId === inA.json.id)).toBe(false);
      expect(l.messages.filter((x) => x.project).every((x) => x.project === B)).toBe(true);
    });

    it("a non-manager gets only the projects of their access groups; access changes apply", async () => {
      const l = await track();
      l.auth(artist, ['entity.folder']);
      await sleep(100);
      const inA = await folder(base, admin, A, `na_${hex()}`);
      const inB = await folder(base, admin, B, `nb_${hex()}`);
      await l.waitFor((x) => x.summary?.entityId === inA.json.id);
      await sleep(200);
      expect(l.messages.some((x) => x.summary?.entityId === inB.json.id)).toBe(false);
      expect(l.messages.some((x) => x.project === B)).toBe(false);
      // granting B (user change event) makes B's events visible to the open socket
      expect((await api(base, 'PATCH', '/api/users/rt_artist', { token: admin, body: { data: { accessGroups: { [A]: ['artist'], [B]: ['artist'] } } } })).status).toBe(204);
      await sleep(300);
      const inB2 = await folder(base, admin, B, `nb_${hex()}`);
      await l.waitFor((x) => x.summary?.entityId === inB2.json.id);
      expect((await api(base, 'PATCH', '/api/users/rt_artist', { token: admin, body: { data: { accessGroups: { [A]: ['artist'] } } } })).status).toBe(204);
      await sleep(300);
      const inB3 = await folder(base, admin, B, `nb_${hex()}`);
      await folder(base, admin, A, `na_${hex()}`);
      await sleep(300);
      expect(l.messages.some((x) => x.summary?.entityId === inB3.json.id)).toBe(false);
      // the same through PATCH /api/users/{name}/accessGroups (set_user_access_groups-style)
      expect((await api(base, 'PATCH', '/api/users/rt_artist/accessGroups', { token: admin, body: { accessGroups: [{ project: B, accessGroups: ['artist'] }] } })).status).toBe(204);
      await sleep(300);
      const inB4 = await folder(base, admin, B, `nb_${hex()}`);
      await l.waitFor((x) => x.summary?.entityId === inB4.json.id);
      expect((await api(base, 'PATCH', '/api/users/rt_artist/accessGroups', { token: admin, body: { accessGroups: [{ project: B, accessGroups: [] }] } })).status).toBe(204);
      await sleep(300);
      const inB5 = await folder(base, admin, B, `nb_${hex()}`);
      await folder(base, admin, A, `na_${hex()}`);
      await sleep(300);
      expect(l.messages.some((x) => x.summary?.entityId === inB5.json.id)).toBe(false);
    });

    it('guests get only the guest topics of their projects; login events of others stay with managers', async () => {
      const g = await track();
      g.auth(guest, ['*']);
      const a = await track();
      a.auth(artist, ['*']);
      await sleep(100);
      const f = await folder(base, admin, A, `g_${hex()}`);
      srv.app.services.bus.publish('ayon.event', { id: hex(16), hash: 'x', topic: 'entity.version.updated', project: A, user: 'x', sender: null, senderType: null, dependsOn: null, status: 'finished', description: '', summary: { marker: 'guest-visible' }, payload: {}, createdAt: Date.now(), updatedAt: Date.now() });
      srv.app.services.bus.publish('ayon.event', { id: hex(16), hash: 'y', topic: 'entity.version.updated', project: B, user: 'x', sender: null, senderType: null, dependsOn: null, status: 'finished', description: '', summary: { marker: 'not-their-project' }, payload: {}, createdAt: Date.now(), updatedAt: Date.now() });
      await g.waitFor((x) => x.summary?.marker === 'guest-visible');
      await a.waitFor((x) => x.summary?.entityId === f.json.id);
      expect(g.messages.some((x) => x.summary?.entityId === f.json.id)).toBe(false);
      expect(g.messages.some((x) => x.summary?.marker === 'not-their-project')).toBe(false);
      // someone else's login (auth.login, no project) is not pushed to the artist
      const other = await login(base, 'rt_guest', 'rt-guest-password');
      expect(other).toMatch(/^[0-9a-f]{64}$/);
      await sleep(200);
      expect(a.messages.some((x) => x.topic === 'auth.login' && x.user === 'rt_guest')).toBe(false);
      expect(g.messages.some((x) => x.topic === 'auth.login' && x.user === 'rt_guest')).toBe(true);
    });

    it('honours recipients and strips them; always-subscribed topics reach every socket', async () => {
      const a = await track();
      a.auth(artist, ['nothing.here']);
      const m = await track();
      m.auth(admin, ['custom.topic']);
      await sleep(100);
      const ev = (topic: string, extra: Record<string, unknown> = {}) => ({ id: hex(16), hash: hex(16), topic, project: null, user: 'x', sender: null, senderType: null, dependsOn: null, status: 'finished', description: '', summary: {}, payload: { secret: 1 }, createdAt: Date.now(), updatedAt: Date.now(), ...extra });
      srv.app.services.bus.publish('ayon.event', ev('custom.topic.one', { recipients: ['rt_artist'], summary: { n: 1 } }));
      srv.app.services.bus.publish('ayon.event', ev('custom.topic.two', { recipients: [], summary: { n: 2 } }));
      srv.app.services.bus.publish('ayon.event', ev('server.restart_requested', { summary: { n: 3 } }));
      await a.waitFor((x) => x.summary?.n === 3);
      await m.waitFor((x) => x.summary?.n === 3);
      await sleep(100);
      expect(m.messages.some((x) => x.summary?.n === 1 || x.summary?.n === 2)).toBe(false);
      expect(a.messages.some((x) => x.summary?.n === 1)).toBe(false); // recipient, but not subscribed
      expect(JSON.stringify(a.messages)).not.toContain('secret');
    });

    it('sends a heartbeat after the idle interval', async () => {
      const l = await track();
      l.auth(admin, ['nothing']);
      const hb = await l.waitFor((x) => x.topic === 'heartbeat', 2000);
      expect(hb).toEqual({ topic: 'heartbeat' });
      // and keeps sending them while idle; the socket stays open past the auth timeout
      await sleep(700);
      expect(l.messages.filter((x) => x.topic === 'heartbeat').length).toBeGreaterThanOrEqual(2);
    });

    it('accepts an API key directly; a logged-out session stops the socket', async () => {
      const k = await track();
      k.auth(serviceKey, ['entity.folder']);
      const tmp = await login(base, 'rt_artist', 'rt-artist-password');
      const s = await track();
      s.auth(tmp, ['entity.folder']);
      await sleep(100);
      const f = await folder(base, admin, A, `k_${hex()}`);
      await k.waitFor((x) => x.summary?.entityId === f.json.id);
      await s.waitFor((x) => x.summary?.entityId === f.json.id);
      expect((await api(base, 'POST', '/api/auth/logout', { token: tmp })).status).toBe(200);
      expect((await s.closed).code).toBe(1000);
    });

    it('drops a client that does not read instead of holding the others back', async () => {
      const saved = ayonWsSettings.maxBufferedBytes;
      ayonWsSettings.maxBufferedBytes = 1024 * 1024;
      try {
        const fast = await track();
        fast.auth(admin, ['bulk.']);
        const slowWs = new WebSocket(wsUrl);
        await new Promise((r) => slowWs.once('open', r));
        let slowCount = 0;
        slowWs.on('message', () => slowCount++);
        const slowClosed = new Promise<number>((r) => slowWs.once('close', (code: number) => r(code)));
        slowWs.send(JSON.stringify({ topic: 'auth', token: admin, subscribe: ['bulk.'] }));
        await sleep(150);
        slowWs._socket.pause(); // stops reading: what the server sends it piles up
        const big = 'x'.repeat(16 * 1024);
        const N = 1500;
        for (let i = 0; i < N; i++) {
          srv.app.services.bus.publish('ayon.event', { id: hex(16), hash: hex(16), topic: 'bulk.item', project: null, user: null, sender: null, senderType: null, dependsOn: null, status: 'finished', description: big, summary: { i }, payload: {}, createdAt: Date.now(), updatedAt: Date.now() });
          if (i % 10 === 9) await sleep(2);
        }
        // the reader got every message, in order
        await fast.waitFor((x) => x.summary?.i === N - 1, 20_000);
        const got = fast.messages.filter((x) => x.topic === 'bulk.item').map((x) => x.summary.i);
        expect(got).toEqual([...Array(N).keys()]);
        // the one that did not read was cut off (no close handshake: 1006) before it got them all
        slowWs._socket.resume();
        expect(await slowClosed).toBe(1006);
        expect(slowCount).toBeLessThan(N);
      } finally {
        ayonWsSettings.maxBufferedBytes = saved;
      }
    }, 60_000);

    it('serves /ws at the root of ATRIUM_AYON_PORT; other upgrade paths there are refused', async () => {
      const s2 = await startTestServer(kind, { ATRIUM_AYON_PORT: '0' });
      try {
        const port = (s2.app.ayonHttp!.server.address() as { port: number }).port;
        const u = await s2.createUser({ admin: true, email: `rt2-${hex()}@example.com`, password: 'rt2-admin-password' });
        const b2 = `http://127.0.0.1:${port}`;
        const t2 = await login(b2, u.email, 'rt2-admin-password');
        const l = await listen(`ws://127.0.0.1:${port}/ws`);
        open.push(l);
        l.auth(t2, ['entity.project']);
        await sleep(100);
        const name = `rt_p_${hex()}`;
        await createProject(b2, t2, name);
        await l.waitFor((x) => x.topic === 'entity.project.created' && x.project === name);
        await expect(listen(`ws://127.0.0.1:${port}/nope`)).rejects.toThrow(/404/);
        // on the main port, other paths under /ayon are refused too (not left hanging)
        await expect(listen(`${s2.url.replace(/^http/, 'ws')}/ayon/nope`)).rejects.toThrow(/404/);
      } finally {
        await s2.close();
      }
    });

    it.runIf(kind === 'postgres')('a subscriber on one node gets events written on another node (PostgreSQL relay)', async () => {
      const nodeB = await startTestServer(kind, {}, { database: srv.config.database });
      try {
        const l = await listen(`${nodeB.url.replace(/^http/, 'ws')}/ayon/ws`);
        open.push(l);
        l.auth(artist, ['entity.folder']); // the session lives in the shared database
        await sleep(200);
        // the relay connects asynchronously: write on node A until node B's socket sees it
        let got: any;
        for (let i = 0; i < 20 && !got; i++) {
          const f = await folder(base, admin, A, `x_${hex()}`);
          got = await l.waitFor((x) => x.summary?.entityId === f.json.id, 500).catch(() => undefined);
        }
        expect(got).toMatchObject({ topic: 'entity.folder.created', project: A });
        // and the node applies the filters: project B is not the artist's
        const inB = await folder(base, admin, B, `x_${hex()}`);
        const inA = await folder(base, admin, A, `x_${hex()}`);
        await l.waitFor((x) => x.summary?.entityId === inA.json.id);
        expect(l.messages.some((x) => x.summary?.entityId === inB.json.id)).toBe(false);
      } finally {
        await nodeB.close();
      }
    });
  });

  describe('hosts and services registry', () => {
    it('hosts heartbeat: services only; upserts the host; answers the services that should run there', async () => {
      const hb = { hostname: 'worker01', health: { cpu: 12.5, mem: 40 }, services: [] as string[] };
      const denied = await api(base, 'POST', '/api/hosts/heartbeat', { token: admin, body: hb });
      expect(denied).toEqual({ status: 403, json: { code: 403, detail: 'Only services have hearts to beat' } });
      const first = await api(base, 'POST', '/api/hosts/heartbeat', { key: serviceKey, body: hb });
      expect(first).toEqual({ status: 200, json: { services: [] } });
      const hosts = await api(base, 'GET', '/api/hosts', { token: artist });
      expect(hosts.status).toBe(200);
      const h = hosts.json.hosts.find((x: any) => x.name === 'worker01');
      expect(h.health).toEqual({ cpu: 12.5, mem: 40 });
      expect(Date.parse(h.lastSeen)).toBeGreaterThan(Date.now() - 60_000);

      expect((await api(base, 'PUT', '/api/services/ftrack-leecher', { token: admin, body: { addonName: 'ftrack', addonVersion: '1.2.3', service: 'leecher', hostname: 'worker01', config: { env: { A: '1' }, mem_limit: '1g' } } })).status).toBe(204);
      expect((await api(base, 'PUT', '/api/services/ftrack-processor', { token: admin, body: { addonName: 'ftrack', addonVersion: '1.2.3', service: 'processor', hostname: 'worker01' } })).status).toBe(204);
      expect((await api(base, 'PATCH', '/api/services/ftrack-processor', { token: admin, body: { shouldRun: false } })).status).toBe(204);

      const second = await api(base, 'POST', '/api/hosts/heartbeat', { key: serviceKey, body: { ...hb, services: ['ftrack-leecher'] } });
      expect(second.status).toBe(200);
      expect(second.json.services.map((s: any) => s.name)).toEqual(['ftrack-leecher']);
      const s = second.json.services[0];
      expect(s).toMatchObject({ hostname: 'worker01', addonName: 'ftrack', addonVersion: '1.2.3', service: 'leecher', shouldRun: true, isRunning: true });
      expect(s.data).toEqual({ volumes: null, ports: null, memLimit: '1g', user: null, env: { A: '1' }, storagePath: null, image: 'ynput/ayon-ftrack-leecher:1.2.3' });
      expect(typeof s.lastSeenDelta).toBe('number');

      const list = await api(base, 'GET', '/api/services', { token: admin });
      const byName = Object.fromEntries(list.json.services.map((x: any) => [x.name, x]));
      expect(byName['ftrack-processor']).toMatchObject({ shouldRun: false, isRunning: false });
      expect(byName['ftrack-leecher'].isRunning).toBe(true);
      // validation: AYON's 400 shape; nothing stored
      const bad = await api(base, 'POST', '/api/hosts/heartbeat', { key: serviceKey, body: { hostname: 'worker02', health: { cpu: 300 } } });
      expect(bad.status).toBe(400);
      expect(bad.json.detail).toBe('Request validation error in [POST] /api/hosts/heartbeat');
      expect((await api(base, 'POST', '/api/hosts/heartbeat', { key: serviceKey, body: { hostname: 'worker02' } })).status).toBe(400);
      expect((await api(base, 'GET', '/api/hosts', { token: admin })).json.hosts.some((x: any) => x.name === 'worker02')).toBe(false);
      // guests may not list hosts
      expect((await api(base, 'GET', '/api/hosts', { token: guest })).status).toBe(403);
    });

    it('services: admin-only writes, non-admins list nothing, PATCH merges config, DELETE removes', async () => {
      await api(base, 'POST', '/api/hosts/heartbeat', { key: serviceKey, body: { hostname: 'worker03', health: { cpu: 1, mem: 2 } } });
      const body = { addonName: 'kitsu', addonVersion: '2.0.0', service: 'sync', hostname: 'worker03', config: { volumes: ['/a:/a'], env: { X: 'y' } } };
      expect((await api(base, 'PUT', '/api/services/kitsu-sync', { token: artist, body })).json).toEqual({ code: 403, detail: 'Only admins can spawn services' });
      expect((await api(base, 'PUT', '/api/services/kitsu-sync', { key: serviceKey, body })).status).toBe(204); // services are admins in AYON
      expect((await api(base, 'PUT', '/api/services/kitsu-sync', { token: admin, body })).status).toBe(409);
      expect((await api(base, 'PUT', '/api/services/kitsu-other', { token: admin, body: { ...body, hostname: 'nowhere' } })).status).toBe(404);
      // the addon version must be installed; when package.py lists its services, the service must be one
      expect((await api(base, 'PUT', '/api/services/kitsu-old', { token: admin, body: { ...body, addonVersion: '1.0.0' } })).json).toEqual({ code: 404, detail: 'Addon kitsu version 1.0.0 does not exist' });
      expect((await api(base, 'PUT', '/api/services/ftrack-x', { token: admin, body: { ...body, addonName: 'ftrack', addonVersion: '1.2.3', service: 'sync' } })).json).toEqual({ code: 404, detail: 'This addon does not have this service' });
      expect((await api(base, 'GET', '/api/services', { token: admin })).json.services.some((x: any) => ['kitsu-old', 'ftrack-x', 'kitsu-other'].includes(x.name))).toBe(false);
      const missing = await api(base, 'PUT', '/api/services/kitsu-x', { token: admin, body: { addonName: 'kitsu' } });
      expect(missing.status).toBe(400);
      expect(missing.json.detail).toBe('Request validation error in [PUT] /api/services/kitsu-x');
      expect((await api(base, 'PUT', '/api/services/kitsu-y', { token: admin, body: { ...body, config: { volumes: 'nope' } } })).status).toBe(400);

      expect((await api(base, 'GET', '/api/services', { token: artist })).json).toEqual({ services: [] });
      expect((await api(base, 'PATCH', '/api/services/kitsu-sync', { token: artist, body: { shouldRun: false } })).status).toBe(403);
      expect((await api(base, 'PATCH', '/api/services/none-such', { token: admin, body: { shouldRun: false } })).json).toEqual({ code: 404, detail: 'Service not found' });
      // top-level config fields and the deprecated `config` both merge into data; untouched keys stay
      expect((await api(base, 'PATCH', '/api/services/kitsu-sync', { token: admin, body: { shouldRun: false, ports: ['8080:80'], config: { user: 1000 } } })).status).toBe(204);
      const svc = (await api(base, 'GET', '/api/services', { token: admin })).json.services.find((x: any) => x.name === 'kitsu-sync');
      expect(svc).toMatchObject({ shouldRun: false, hostname: 'worker03', data: { volumes: ['/a:/a'], ports: ['8080:80'], user: '1000', env: { X: 'y' } } });
      expect((await api(base, 'PATCH', '/api/services/kitsu-sync', { token: admin, body: { hostname: 'nowhere' } })).status).toBe(404);
      expect((await api(base, 'DELETE', '/api/services/kitsu-sync', { token: artist })).status).toBe(403);
      expect((await api(base, 'DELETE', '/api/services/kitsu-sync', { token: admin })).status).toBe(204);
      expect((await api(base, 'GET', '/api/services', { token: admin })).json.services.some((x: any) => x.name === 'kitsu-sync')).toBe(false);
    });
  });
});
