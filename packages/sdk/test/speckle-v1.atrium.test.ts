/**
 * The TypeScript `SpeckleApiClient` (PySpeckle v1's client, camelCase) against a real Atrium on every
 * store kind: every resource method, what it answers and what the server then holds; errors as
 * SpeckleV1Error with v1's status and message; the realtime socket. A recording HTTP server checks
 * what goes on the wire.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SpeckleApiClient, SpeckleError, SpeckleV1Error, type V1Stream } from '../src/index.js';
import { startTestServer, storeKinds } from '../../server/test/helpers/server.js';
import { json, startHttpServer } from './helpers/httpServer.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;

const PASSWORD = 'sdk-v1-password';
let seq = 0;

async function rejection(p: Promise<unknown>): Promise<SpeckleV1Error> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(SpeckleV1Error);
    expect(err).toBeInstanceOf(SpeckleError);
    return err as SpeckleV1Error;
  }
  throw new Error('expected the call to fail');
}

describe('SpeckleApiClient on the wire', () => {
  it('sends JWT authorization and a JSON content type on every call, and the search to /accounts/search', async () => {
    const http = await startHttpServer((req, res) => {
      if (req.path.startsWith('/api/v1/accounts/login')) return json(res, 200, { success: true, resource: { _id: 'u1', token: 'JWT abc' } });
      if (req.path.startsWith('/api/v1/streams/nope')) return json(res, 404, { success: false, message: 'Resource not found.' });
      if (req.path.startsWith('/api/v1/streams/plain')) {
        res.writeHead(401, { 'content-type': 'text/plain' });
        return res.end('Unauthorized');
      }
      return json(res, 200, { success: true, resources: [{ _id: 'x1', name: 'n' }] });
    });
    try {
      const c = new SpeckleApiClient({ host: http.url.replace('http://', ''), useSsl: false });
      await c.login('a@example.com', 'pw');
      expect(c.me).toMatchObject({ _id: 'u1', id: 'u1', token: 'JWT abc' });
      expect(await c.accounts.search('abc')).toEqual([{ _id: 'x1', id: 'x1', name: 'n' }]);
      await c.streams.list();
      const search = http.requests.find((r) => r.path === '/api/v1/accounts/search')!;
      expect(JSON.parse(search.body)).toEqual({ searchString: 'abc' });
      const list = http.requests.find((r) => r.method === 'GET' && r.path === '/api/v1/streams/?omit=objects')!;
      expect(list.headers.authorization).toBe('JWT abc');
      expect(list.headers['content-type']).toBe('application/json');
      const notFound = await rejection(c.streams.get('nope'));
      expect([notFound.status, notFound.message]).toEqual([404, 'Resource not found.']);
      const plain = await rejection(c.streams.get('plain'));
      expect([plain.status, plain.message]).toEqual([401, 'Unauthorized']);
      await expect(c.loginWithToken('not-jwt')).rejects.toThrow(TypeError);
      await expect(c.objects.list()).rejects.toThrow(/streams\.listObjects/);
    } finally {
      await http.close();
    }
  });
});

describe('V1WebSocket', () => {
  it('answers the server’s ping with alive unless keepAlive is false', async () => {
    const sent: string[][] = [[], []];
    const listeners: Array<Record<string, Array<(e: any) => void>>> = [];
    const factory = (index: number) => () => {
      const l: Record<string, Array<(e: any) => void>> = {};
      listeners[index] = l;
      queueMicrotask(() => l.open?.forEach((f) => f({})));
      return {
        readyState: 1,
        send: (d: string) => sent[index].push(d),
        close: () => l.close?.forEach((f) => f({ code: 1000 })),
        addEventListener: (type: string, f: (e: never) => void) => void (l[type] ??= []).push(f as (e: any) => void),
      };
    };
    const { V1WebSocket } = await import('../src/index.js');
    const auto = await V1WebSocket.connect('ws://x/?client_id=a', 'a', { webSocketFactory: factory(0) });
    const manual = await V1WebSocket.connect('ws://x/?client_id=b', 'b', { webSocketFactory: factory(1), keepAlive: false });
    const seen: string[] = [];
    auto.onMessage((m) => seen.push(m));
    for (const l of listeners) l.message.forEach((f) => f({ data: 'ping' }));
    expect(sent).toEqual([['alive'], []]);
    expect(seen).toEqual(['ping']);
    auto.close();
    expect(await auto.closed).toBe(1000);
    manual.close();
  });
});

describe.each(storeKinds)('SpeckleApiClient against Atrium on %s', (kind) => {
  let server: TestServer;
  let host: string;
  const people: Record<string, { email: string; id: string }> = {};
  const client = () => new SpeckleApiClient({ host, useSsl: false });
  const as = async (who: string) => {
    const c = client();
    await c.login(people[who].email, PASSWORD);
    return c;
  };

  beforeAll(async () => {
    server = await startTestServer(kind, { ATRIUM_LOGIN_RATE_LIMIT: '0' });
    host = server.url.replace('http://', '');
    await server.createUser({ name: 'Root', admin: true, email: `root-${++seq}@example.com`, password: PASSWORD }).then((u) => (people.root = u));
    for (const [who, surname] of [['Ann', 'Ash'], ['Ben', 'Birch'], ['Cat', 'Cedar']]) {
      const c = client();
      const email = `${who.toLowerCase()}-${++seq}@example.com`;
      await c.register({ email, password: PASSWORD, company: `${who} Ltd`, name: who, surname });
      people[who] = { email, id: c.me!._id! };
    }
  });
  afterAll(async () => {
    await server?.close();
  });

  it('register, login, loginWithToken, token; accounts: getProfile, updateProfile, get, search, setRole', async () => {
    const ann = await as('Ann');
    expect(ann.me).toMatchObject({ email: people.Ann.email, name: 'Ann', surname: 'Ash', role: 'user' });
    expect(ann.token).toMatch(/^JWT [0-9a-f]{42}$/);
    const again = client();
    await again.loginWithToken(ann.token!);
    expect(again.me).toMatchObject({ _id: people.Ann.id, id: people.Ann.id, token: ann.token });
    expect((await rejection(client().login(people.Ann.email, 'wrong-password'))).status).toBe(401);
    expect((await rejection(client().register({ email: people.Ann.email, password: PASSWORD, company: 'x' }))).message).toBe('Email taken. Please login. Thanks!');

    expect(await ann.accounts.updateProfile({ company: 'Ash & Co' })).toEqual({ success: true, message: 'User profile updated.' });
    expect((await ann.accounts.getProfile()).company).toBe('Ash & Co');
    expect(await ann.accounts.get(people.Ben.id)).toEqual({ _id: people.Ben.id, id: people.Ben.id, name: 'Ben', surname: 'Birch', company: 'Ben Ltd', archived: false });
    expect((await ann.accounts.search('birch')).map((u) => u.id)).toEqual([people.Ben.id]);
    expect((await rejection(ann.accounts.search('bi'))).status).toBe(400);

    const root = await as('root');
    expect((await rejection(ann.accounts.setRole(people.Cat.id, 'admin'))).status).toBe(401);
    await root.accounts.setRole(people.Cat.id, 'admin');
    expect((await (await as('Cat')).accounts.getProfile()).role).toBe('admin');
    await root.accounts.setRole(people.Cat.id, 'user');
  });

  it('streams: create, get, list, update, clone, diff, listObjects, listClients, comments, delete', async () => {
    const ann = await as('Ann');
    const s = await ann.streams.create({ name: 'SDK', objects: [{ type: 'Point', value: [1, 2, 3] }, { type: 'Point', value: [4, 5, 6] }] });
    expect(s).toMatchObject({ name: 'SDK', owner: people.Ann.id, private: true });
    expect(s.id).toBe(s._id);
    const got = await ann.streams.get(s.streamId);
    expect(got.objects).toHaveLength(2);
    expect(got.layers?.[0].name).toBe('Default Generated Speckle Layer');
    expect((await ann.streams.get(s.streamId, { fields: 'name' })).description).toBeUndefined();
    const listed = await ann.streams.list();
    expect(listed.find((x) => x.streamId === s.streamId)).not.toHaveProperty('objects');

    // the SDK sends only what it is given: an update of the name keeps the objects
    expect((await ann.streams.update(s.streamId, { name: 'SDK 2', canRead: [people.Ben.id] })).message).toBe('Patched stream fields: name,canRead');
    expect((await ann.streams.get(s.streamId)).objects).toHaveLength(2);

    const [clone, parent] = await ann.streams.clone(s.streamId, 'Copy');
    expect(clone).toMatchObject({ name: 'Copy', parent: s.streamId });
    expect(parent.children).toEqual([clone.streamId]);
    await ann.streams.update(clone.streamId, { objects: [{ type: 'Point', value: [7, 8, 9] }] });
    const d = await ann.streams.diff(s.streamId, clone.streamId);
    expect(d.objects.inA).toHaveLength(2);
    expect(d.objects.inB).toHaveLength(1);
    expect(d.objects.common).toEqual([]);

    const objects = await ann.streams.listObjects(s.streamId);
    expect(objects.map((o) => o.value)).toEqual([[1, 2, 3], [4, 5, 6]]);
    const apiClient = await ann.apiClients.create({ streamId: s.streamId, role: 'Sender' });
    expect((await ann.streams.listClients(s.streamId)).map((c) => c.id)).toEqual([apiClient.id]);

    const comment = await ann.streams.commentCreate(s.streamId, { text: 'nice' });
    expect(comment.resource).toEqual({ resourceType: 'streams', resourceId: s.streamId });
    expect((await ann.streams.commentGet(s.streamId)).map((c) => c.id)).toEqual([comment.id]);

    const ben = await as('Ben');
    expect((await ben.streams.get(s.streamId)).name).toBe('SDK 2');
    const refused = await rejection(ben.streams.update(s.streamId, { name: 'mine' }));
    expect([refused.status, refused.message]).toEqual([400, 'You are not authorised to write.']);
    expect((await rejection(ben.streams.delete(s.streamId))).status).toBe(404);

    const deleted = await ann.streams.delete(s.streamId);
    expect(deleted.deletedStreams?.sort()).toEqual([s.streamId, clone.streamId].sort());
    expect((await rejection(ann.streams.get(s.streamId))).status).toBe(404);
  });

  it('objects: create, get, getBulk, update, setProperties, comments, delete', async () => {
    const ann = await as('Ann');
    const [p1, p2] = await ann.objects.create([{ type: 'Beam', length: 3, properties: { grade: 'C24' } }, { type: 'Beam', length: 4, private: true }]);
    expect(p1).toMatchObject({ type: 'Placeholder' });
    expect(p1.id).toMatch(/^[0-9a-f]{24}$/);
    expect(await ann.objects.get(p1.id)).toMatchObject({ _id: p1.id, type: 'Beam', length: 3, properties: { grade: 'C24' } });
    const ben = await as('Ben');
    const bulk = await ben.objects.getBulk([p2.id, p1.id]);
    expect(bulk.map((o) => [o.id, o.type])).toEqual([
      [p2.id, 'String'],
      [p1.id, 'Beam'],
    ]);
    await ann.objects.update(p1.id, { name: 'B1' });
    await ann.objects.setProperties(p1.id, { treated: true });
    expect(await ann.objects.get(p1.id)).toMatchObject({ name: 'B1', properties: { grade: 'C24', treated: true } });
    const c = await ann.objects.commentCreate(p1.id, { text: 'check grade' });
    expect((await ann.objects.commentGet(p1.id)).map((x) => x.id)).toEqual([c.id]);
    expect((await rejection(ben.objects.delete(p1.id))).status).toBe(404);
    expect((await ann.objects.delete(p1.id)).message).toBe('Object was deleted. Bye bye data.');
    expect((await rejection(ann.objects.get(p1.id))).status).toBe(400);
  });

  it('projects: create, get, list, update, users and streams, comments, delete', async () => {
    const ann = await as('Ann');
    const p = await ann.projects.create({ name: 'SDK P', tags: ['x'] });
    const s: V1Stream = await ann.streams.create({ name: 'P stream' });
    expect((await ann.projects.addStream(p.id, s.streamId)).project.streams).toEqual([s.streamId]);
    await ann.projects.addUser(p.id, people.Ben.id);
    expect((await ann.streams.get(s.streamId)).canWrite).toContain(people.Ben.id);
    await ann.projects.downgradeUser(p.id, people.Ben.id);
    let st = await ann.streams.get(s.streamId);
    expect([st.canRead?.includes(people.Ben.id), st.canWrite?.includes(people.Ben.id)]).toEqual([true, false]);
    await ann.projects.upgradeUser(p.id, people.Cat.id);
    expect((await ann.streams.get(s.streamId)).canWrite).toContain(people.Cat.id);
    await ann.projects.removeUser(p.id, people.Ben.id);
    expect((await ann.streams.get(s.streamId)).canRead).not.toContain(people.Ben.id);
    await ann.projects.removeStream(p.id, s.streamId);
    st = await ann.streams.get(s.streamId);
    expect(st.canWrite).not.toContain(people.Cat.id);
    expect((await ann.projects.update(p.id, { description: 'd' })).message).toBe(`Patched description for ${p.id}.`);
    expect(await ann.projects.get(p.id)).toMatchObject({ description: 'd', tags: ['x'] });
    expect((await ann.projects.list()).map((x) => x.id)).toContain(p.id);
    const c = await ann.projects.commentCreate(p.id, { text: 'plan' });
    expect((await ann.projects.commentGet(p.id)).map((x) => x.id)).toEqual([c.id]);
    expect((await ann.projects.delete(p.id)).message).toBe('Project was permanently deleted.');
    expect((await rejection(ann.projects.get(p.id))).status).toBe(404);
  });

  it('apiClients: create (anonymous too), list, get, update, delete', async () => {
    const ann = await as('Ann');
    const s = await ann.streams.create({ name: 'Clients' });
    expect((await client().apiClients.create({ streamId: s.streamId })).id).toMatch(/^temp-/);
    const c = await ann.apiClients.create({ streamId: s.streamId, documentName: 'doc.3dm', role: 'Receiver' });
    expect((await ann.apiClients.list()).map((x) => x.id)).toContain(c.id);
    expect((await ann.apiClients.get(c.id)).owner).toMatchObject({ _id: people.Ann.id, name: 'Ann' });
    expect((await ann.apiClients.update(c.id, { documentName: 'other.3dm' })).message).toBe('Client updated following fields: documentName');
    expect((await ann.apiClients.get(c.id)).documentName).toBe('other.3dm');
    await ann.apiClients.delete(c.id);
    expect((await rejection(ann.apiClients.get(c.id))).status).toBe(400);
  });

  it('comments: list, get, update, delete, replies (commentGet/commentCreate), assigned', async () => {
    const ann = await as('Ann');
    const ben = await as('Ben');
    const s = await ann.streams.create({ name: 'Comments', canRead: [people.Ben.id] });
    const c = await ann.streams.commentCreate(s.streamId, { text: 'todo', assignedTo: [people.Ben.id] });
    expect((await ben.comments.assigned()).map((x) => x.id)).toEqual([c.id]);
    expect((await ann.comments.list()).map((x) => x.id)).toContain(c.id);
    const reply = await ben.comments.commentCreate(c.id, { text: 'done' });
    expect((await ann.comments.commentGet(c.id)).map((x) => x.id)).toEqual([reply.id]);
    expect(await ann.comments.update(c.id, { closed: true })).toEqual({ success: true, message: 'Comment edited', fields: ['closed'] });
    expect((await ben.comments.get(c.id)).closed).toBe(true);
    await ann.comments.delete(c.id);
    expect((await rejection(ann.comments.get(reply.id))).status).toBe(404);
  });

  it('websockets: an API client for the socket, rooms, broadcasts, direct messages', async () => {
    const ann = await as('Ann');
    const ben = await as('Ben');
    const s = await ann.streams.create({ name: 'Live', canRead: [people.Ben.id] });
    const a = await ann.websockets(s.streamId);
    expect(a.clientId).toMatch(/^[0-9a-f]{24}$/); // an API client made for the socket
    expect((await ann.streams.listClients(s.streamId)).map((c) => c.id)).toContain(a.clientId);
    const b = await ben.websockets(s.streamId, { clientId: 'ben-socket' });
    try {
      for (const w of [a, b]) {
        w.joinResource('streams', s.streamId);
        await w.next((m) => m.includes('Room joined.'));
      }
      b.broadcast(s.streamId, { eventType: 'update-global' });
      expect(JSON.parse(await a.next((m) => m.includes('update-global')))).toEqual({ eventName: 'broadcast', streamId: s.streamId, args: { eventType: 'update-global' } });
      a.message('ben-socket', { hello: 'ben' });
      expect(JSON.parse(await b.next((m) => m.includes('hello'))).args).toEqual({ hello: 'ben' });
      b.leaveStream(s.streamId);
      b.joinStream(s.streamId);
      b.joinStream(s.streamId);
      expect(await b.next((m) => m.startsWith('You already'))).toBe('You already joined that room.');
      expect(a.isOpen).toBe(true);
    } finally {
      a.close();
      b.close();
      await Promise.all([a.closed, b.closed]);
    }
    await expect(client().websockets(s.streamId)).rejects.toThrow(/log in/);
  });
});
