/**
 * The PySpeckle v1 REST face over real HTTP on every store kind: what shared/reference/speckle-v1.md
 * says the v1 server answers (envelopes, status codes, v1's permission rules), the client quirks it
 * must accept, that a v1 user is an Atrium user, and that a refused call stores nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, storeKinds, type TestServer } from './helpers/server.js';
import { gql } from './helpers/http.js';

interface V1Answer {
  status: number;
  /** parsed JSON, or the text when the answer is not JSON (v1's plain-text 401) */
  body: any;
  text: string;
  headers: Headers;
}

async function v1call(
  base: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; rawBody?: string; contentType?: string | null; prefix?: string } = {},
): Promise<V1Answer> {
  const headers: Record<string, string> = {};
  if (opts.contentType !== null) headers['content-type'] = opts.contentType ?? 'application/json';
  if (opts.token) headers.authorization = opts.token;
  const res = await fetch(`${base}${opts.prefix ?? '/api/v1'}${path}`, {
    method,
    headers,
    body: opts.rawBody ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
  });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* plain text */
  }
  return { status: res.status, body, text, headers: res.headers };
}

const PASSWORD = 'v1-password-123';
const TOKEN_RE = /^JWT [0-9a-f]{42}$/;
const OID_RE = /^[0-9a-f]{24}$/;
let seq = 0;

interface Person {
  id: string;
  token: string;
  apitoken: string;
  email: string;
}

const failure = (a: V1Answer, status: number) => {
  expect(a.status, a.text).toBe(status);
  expect(a.body.success).toBe(false);
  expect(typeof a.body.message).toBe('string');
  return a.body.message as string;
};
const ok = (a: V1Answer) => {
  expect(a.status, a.text).toBe(200);
  expect(a.body.success).toBe(true);
  return a.body;
};

describe.each(storeKinds)('PySpeckle v1 REST face on %s', (kind) => {
  let server: TestServer;
  let first: Person;
  let alice: Person;
  let bob: Person;
  let carol: Person;
  const call = (method: string, path: string, opts: Parameters<typeof v1call>[3] = {}) => v1call(server.url, method, path, opts);

  async function register(name: string, surname = 'S'): Promise<Person> {
    const email = `${name.toLowerCase()}-${++seq}@example.com`;
    ok(await call('POST', '/accounts/register', { body: { email, password: PASSWORD, name, surname, company: `${name} Co` } }));
    const login = ok(await call('POST', '/accounts/login', { body: { email, password: PASSWORD } }));
    return { id: login.resource._id, token: login.resource.token, apitoken: login.resource.apitoken, email };
  }
  const count = async (table: 'v1_streams' | 'v1_objects' | 'v1_projects' | 'v1_clients' | 'v1_comments' | 'users' | 'v1_user_lists') =>
    Number((await server.app.store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  const stream = async (token: string, streamId: string) => ok(await call('GET', `/streams/${streamId}`, { token })).resource;

  beforeAll(async () => {
    server = await startTestServer(kind, { ATRIUM_LOGIN_RATE_LIMIT: '0' });
    first = await register('First');
    alice = await register('Alice', 'Archer');
    bob = await register('Bob', 'Builder');
    carol = await register('Carol', 'Carver');
  });
  afterAll(async () => {
    await server?.close();
  });

  // ---------------------------------------------------------------- accounts and tokens

  describe('accounts', () => {
    it('the first account is the admin; register and login answer JWT tokens; the profile has no secrets', async () => {
      const me = ok(await call('GET', '/accounts/', { token: first.token })).resource;
      expect(me.role).toBe('admin');
      const a = ok(await call('GET', '/accounts', { token: alice.token })).resource;
      expect(a).toMatchObject({ _id: alice.id, email: alice.email, name: 'Alice', surname: 'Archer', company: 'Alice Co', role: 'user', archived: false });
      expect(a).not.toHaveProperty('password');
      expect(a).not.toHaveProperty('apitoken');
      expect(alice.token).toMatch(TOKEN_RE);
      expect(alice.apitoken).toMatch(TOKEN_RE);
      // both work, in v1's scheme and as bearer tokens
      ok(await call('GET', '/accounts', { token: alice.apitoken }));
      ok(await call('GET', '/accounts', { token: `Bearer ${alice.token.slice(4)}` }));
    });

    it('v1 tokens are ordinary Atrium tokens of kind v1 (24 h) and v1-api (2 years) that also work on GraphQL', async () => {
      const rows = await server.app.store.db.selectFrom('api_tokens').selectAll().where('owner_id', '=', alice.id).execute();
      const byId = new Map(rows.map((r) => [r.id, r]));
      const login = byId.get(alice.token.slice(4, 14))!;
      const api = byId.get(alice.apitoken.slice(4, 14))!;
      expect(login.kind).toBe('v1');
      expect(login.lifespan_ms).toBe(24 * 3600 * 1000);
      expect(api.kind).toBe('v1-api');
      expect(api.lifespan_ms).toBe(2 * 365 * 24 * 3600 * 1000);
      expect(JSON.stringify(rows)).not.toContain(alice.token.slice(14)); // only digests are stored
      const res = await gql(server.url, '{ activeUser { id email name } }', undefined, alice.token.slice(4));
      expect(res.body.data.activeUser).toEqual({ id: alice.id, email: alice.email, name: 'Alice' });
    });

    it('a user made by another face logs in through v1 with the same password (one account)', async () => {
      const u = await server.createUser({ name: 'Vera Three', password: 'three-password' });
      const login = ok(await call('POST', '/accounts/login', { body: { email: u.email, password: 'three-password' } }));
      expect(login.resource).toMatchObject({ _id: u.id, email: u.email, name: 'Vera Three', surname: '' });
      // and a v3 personal access token works on v1 in v1's header scheme
      const pat = await server.createToken(u.id, ['streams:read', 'streams:write', 'profile:read', 'users:read']);
      expect(ok(await call('GET', '/accounts', { token: `JWT ${pat}` })).resource._id).toBe(u.id);
      // a token without the profile scope cannot read the profile
      const narrow = await server.createToken(u.id, ['streams:read']);
      expect(failure(await call('GET', '/accounts', { token: `JWT ${narrow}` }), 400)).toMatch(/scope/);
      ok(await call('GET', '/streams', { token: `JWT ${narrow}` }));
      expect(failure(await call('POST', '/streams', { token: `JWT ${narrow}`, body: { name: 'x' } }), 400)).toMatch(/authorised/);
    });

    it('each login keeps at most 10 apitokens', async () => {
      const p = await register('Tokens');
      for (let i = 0; i < 11; i++) ok(await call('POST', '/accounts/login', { body: { email: p.email, password: PASSWORD } }));
      const kinds = await server.app.store.db.selectFrom('api_tokens').select('kind').where('owner_id', '=', p.id).execute();
      expect(kinds.filter((k) => k.kind === 'v1-api')).toHaveLength(10);
      expect(kinds.filter((k) => k.kind === 'v1')).toHaveLength(13);
    });

    it('register refuses bad input with envelopes and creates nothing', async () => {
      const before = await count('users');
      expect(failure(await call('POST', '/accounts/register', { body: { password: PASSWORD } }), 400)).toBeTruthy();
      expect(failure(await call('POST', '/accounts/register', { body: { email: 'x1@example.com' } }), 400)).toBeTruthy();
      expect(failure(await call('POST', '/accounts/register', { body: { email: 'x2@example.com', password: 'short' } }), 400)).toBe('Password too short.');
      expect(failure(await call('POST', '/accounts/register', { body: { email: alice.email.toUpperCase(), password: PASSWORD } }), 400)).toBe(
        'Email taken. Please login. Thanks!',
      );
      expect(failure(await call('POST', '/accounts/register', { body: { email: 'not-an-email', password: PASSWORD } }), 400)).toBeTruthy();
      expect(failure(await call('POST', '/accounts/register', { body: { email: 'x3@example.com', password: PASSWORD, surname: 7 } }), 400)).toBeTruthy();
      expect(failure(await call('POST', '/accounts/register', { rawBody: '[1,2]' }), 400)).toBeTruthy();
      expect(await count('users')).toBe(before);
      // name defaults to Anonymous, surname to ''
      const anon = ok(await call('POST', '/accounts/register', { body: { email: `anon-${++seq}@example.com`, password: PASSWORD, name: null, surname: null, company: 'c' } }));
      const me = ok(await call('GET', '/accounts', { token: anon.resource.token })).resource;
      expect([me.name, me.surname]).toEqual(['Anonymous', '']);
    });

    it('login errors: 401 bad credentials (unknown email too), 403 archived', async () => {
      expect(failure(await call('POST', '/accounts/login', { body: { email: alice.email, password: 'wrong-password' } }), 401)).toBe('Invalid credentials.');
      expect(failure(await call('POST', '/accounts/login', { body: { email: 'nobody@example.com', password: PASSWORD } }), 401)).toBe('Invalid credentials.');
      expect(failure(await call('POST', '/accounts/login', { body: {} }), 401)).toBe('Invalid credentials.');
      const gone = await register('Gone');
      ok(await call('PUT', `/accounts/${gone.id}`, { token: first.token, body: { archived: true } }));
      expect(failure(await call('POST', '/accounts/login', { body: { email: gone.email, password: PASSWORD } }), 403)).toBe('This user is archived.');
      const r = await call('GET', '/accounts', { token: gone.token });
      expect([r.status, r.text]).toEqual([401, 'Unauthorized']);
    });

    it('mandatory routes answer v1 plain-text 401 without a valid token', async () => {
      for (const token of [undefined, 'JWT nope', `JWT ${'0'.repeat(42)}`]) {
        const r = await call('GET', '/streams', { token });
        expect([r.status, r.text]).toEqual([401, 'Unauthorized']);
      }
    });

    it('update_profile applies truthy name, surname, company; refuses an email change; stores nothing on bad input', async () => {
      const p = await register('Prof', 'Ile');
      expect(ok(await call('PUT', '/accounts', { token: p.token, body: { name: 'Pro', surname: 'File', company: 'PF', role: 'admin' } })).message).toBe(
        'User profile updated.',
      );
      let me = ok(await call('GET', '/accounts', { token: p.token })).resource;
      expect([me.name, me.surname, me.company, me.role]).toEqual(['Pro', 'File', 'PF', 'user']);
      ok(await call('PUT', '/accounts', { token: p.token, body: { name: '', surname: null } }));
      failure(await call('PUT', '/accounts', { token: p.token, body: { name: 'Changed', email: 'other@example.com' } }), 400);
      failure(await call('PUT', '/accounts', { token: p.token, body: { surname: 'Changed', name: '   ' } }), 400);
      failure(await call('PUT', '/accounts', { token: p.token, body: { surname: 'Changed', company: 5 } }), 400);
      me = ok(await call('GET', '/accounts', { token: p.token })).resource;
      expect([me.name, me.surname, me.company]).toEqual(['Pro', 'File', 'PF']);
      ok(await call('PUT', '/accounts', { token: p.token, body: { email: p.email.toUpperCase() } })); // same address: fine
    });

    it('get by id: display fields, email only for admins and oneself', async () => {
      const seen = ok(await call('GET', `/accounts/${bob.id}`, { token: alice.token })).resource;
      expect(seen).toEqual({ _id: bob.id, name: 'Bob', surname: 'Builder', company: 'Bob Co', archived: false });
      expect(ok(await call('GET', `/accounts/${bob.id}`, { token: first.token })).resource.email).toBe(bob.email);
      expect(ok(await call('GET', `/accounts/${bob.id}`, { token: bob.token })).resource.email).toBe(bob.email);
      failure(await call('GET', '/accounts/nobody', { token: alice.token }), 400);
    });

    it('search: name, surname or email, at least 3 characters, at most 10; also at PySpeckle’s /accountssearch', async () => {
      const r = ok(await call('POST', '/accountssearch', { token: alice.token, body: { searchString: 'BUILD' } }));
      expect(r.resources).toEqual([{ _id: bob.id, name: 'Bob', surname: 'Builder', company: 'Bob Co' }]);
      expect(ok(await call('POST', '/accounts/search', { token: alice.token, body: { searchString: carol.email.split('@')[0] } })).resources.map((u: any) => u._id)).toEqual([carol.id]);
      expect(ok(await call('POST', '/accounts/search', { token: first.token, body: { searchString: 'archer' } })).resources[0].email).toBe(alice.email);
      expect(failure(await call('POST', '/accounts/search', { token: alice.token, body: { searchString: 'ab' } }), 400)).toBe(
        'no search criteria present, or too short search string (must be > 2).',
      );
      for (let i = 0; i < 11; i++) await server.createUser({ name: `Searchable ${i}` });
      expect(ok(await call('POST', '/accounts/search', { token: alice.token, body: { searchString: 'searchable' } })).resources).toHaveLength(10);
      expect(ok(await call('POST', '/accounts/search', { token: alice.token, body: { searchString: '%%%' } })).resources).toEqual([]);
    });

    it('admin updates: partial bodies, admins only (plain 401), role validated, the last admin stays', async () => {
      const r = await call('PUT', `/accounts/${carol.id}`, { token: bob.token, body: { role: 'admin' } });
      expect([r.status, r.text]).toEqual([401, 'Only admins can access this route']);
      expect(ok(await call('PUT', `/accounts/${carol.id}`, { token: first.token, body: { role: 'admin', surname: 'C.' } })).message).toBe('User profile updated.');
      let c = ok(await call('GET', '/accounts', { token: carol.token })).resource;
      expect([c.role, c.surname]).toEqual(['admin', 'C.']);
      failure(await call('PUT', `/accounts/${carol.id}`, { token: first.token, body: { role: 'emperor', surname: 'X' } }), 400);
      expect(ok(await call('GET', '/accounts', { token: carol.token })).resource.surname).toBe('C.');
      ok(await call('PUT', `/accounts/${carol.id}`, { token: first.token, body: { role: 'user', surname: 'Carver' } }));
      c = ok(await call('GET', '/accounts', { token: carol.token })).resource;
      expect(c.role).toBe('user');
      expect(failure(await call('PUT', `/accounts/${first.id}`, { token: first.token, body: { role: 'user' } }), 400)).toMatch(/at least one admin/);
      failure(await call('PUT', '/accounts/nobody', { token: first.token, body: { role: 'user' } }), 400);
    });
  });

  // ---------------------------------------------------------------- streams and objects

  describe('streams', () => {
    it('create saves objects (de-duplicated by hash) and answers placeholders; get adds the default layer', async () => {
      const objectsBefore = await count('v1_objects');
      const obj = { type: 'Point', value: [1, 2, 3], properties: { a: 1 } };
      const s = ok(await call('POST', '/streams', { token: alice.token, body: { name: 'S1', objects: [obj, obj, { type: 'Line', value: [0, 0, 0, 1, 1, 1] }], extra: { any: ['json'] } } }));
      const r = s.resource;
      expect(r).toMatchObject({ name: 'S1', owner: alice.id, private: true, description: 'This is a simple speckle stream.', extra: { any: ['json'] } });
      expect(r._id).toMatch(OID_RE);
      expect(r.objects.map((o: any) => o.type)).toEqual(['Placeholder', 'Placeholder', 'Placeholder']);
      expect(r.objects[0]._id).toBe(r.objects[1]._id);
      expect(await count('v1_objects')).toBe(objectsBefore + 2);
      const got = await stream(alice.token, r.streamId);
      expect(got.layers).toEqual([
        expect.objectContaining({ name: 'Default Generated Speckle Layer', objectCount: 3, topology: '0;0-3 ', startIndex: 0, orderIndex: 0, properties: { color: { a: 1, hex: 'Black' } } }),
      ]);
      expect(got.objects).toEqual(r.objects);
    });

    it('private streams: 401 for others and anonymous, 404 for unknown ids; public ones are readable by all', async () => {
      const s = ok(await call('POST', '/streams', { token: alice.token, body: { name: 'Private' } })).resource;
      expect(failure(await call('GET', `/streams/${s.streamId}`, { token: bob.token }), 401)).toMatch(/authorised/);
      failure(await call('GET', `/streams/${s.streamId}`), 401);
      failure(await call('GET', `/streams/${s.streamId}`, { token: 'JWT garbage' }), 401); // optional route: a bad token is anonymous
      failure(await call('GET', '/streams/doesnotexist', { token: alice.token }), 404);
      ok(await call('PUT', `/streams/${s.streamId}`, { token: alice.token, body: { private: false } }));
      expect(ok(await call('GET', `/streams/${s.streamId}`)).resource.name).toBe('Private');
    });

    it('list: owned, canRead and canWrite streams, with query-to-mongo fields, omit, sort, limit, criteria', async () => {
      const p = await register('Lister');
      const mine = [];
      for (const name of ['b', 'a', 'c']) mine.push(ok(await call('POST', '/streams', { token: p.token, body: { name, tags: [name] } })).resource);
      const shared = ok(await call('POST', '/streams', { token: alice.token, body: { name: 'shared', canRead: [p.id] } })).resource;
      ok(await call('POST', '/streams', { token: alice.token, body: { name: 'not shared' } }));
      const all = ok(await call('GET', '/streams/?omit=objects', { token: p.token })).resources;
      expect(all.map((s: any) => s.name)).toEqual(['b', 'a', 'c', 'shared']);
      expect(all[0]).not.toHaveProperty('objects');
      const sorted = ok(await call('GET', '/streams?sort=-name&limit=2&fields=name,streamId', { token: p.token })).resources;
      expect(sorted).toEqual([
        { _id: shared._id, name: 'shared', streamId: shared.streamId },
        { _id: mine[2]._id, name: 'c', streamId: mine[2].streamId },
      ]);
      expect(ok(await call('GET', '/streams?name=a&fields=name', { token: p.token })).resources).toEqual([{ _id: mine[1]._id, name: 'a' }]);
      expect(ok(await call('GET', '/streams?tags=b,c&fields=name', { token: p.token })).resources.map((s: any) => s.name)).toEqual(['b', 'c']);
      expect(ok(await call('GET', '/streams?offset=3&fields=name', { token: p.token })).resources.map((s: any) => s.name)).toEqual(['shared']);
      const populated = ok(await call('GET', '/streams?populatePermissions=true&name=shared', { token: p.token })).resources[0];
      expect(populated.canRead).toEqual([{ _id: p.id, name: 'Lister', surname: 'S', email: p.email, company: 'Lister Co' }]);
      failure(await call('GET', '/streams?limit=-1', { token: p.token }), 400);
    });

    it('update: writers patch fields (objects and layers replaced, as the client sends them); only owners change owner', async () => {
      const s = ok(await call('POST', '/streams', { token: alice.token, body: { name: 'U', canWrite: [bob.id], objects: [{ type: 'A' }], layers: [{ guid: 'g', name: 'L' }] } })).resource;
      const msg = ok(await call('PUT', `/streams/${s.streamId}`, { token: bob.token, body: { name: 'U2', tags: [], objects: [], layers: [], streamId: 'ignored' } })).message;
      expect(msg).toBe('Patched stream fields: name,tags,objects,layers');
      const got = await stream(alice.token, s.streamId);
      expect([got.name, got.objects, got.layers[0].name, got.streamId]).toEqual(['U2', [], 'Default Generated Speckle Layer', s.streamId]);
      expect(failure(await call('PUT', `/streams/${s.streamId}`, { token: bob.token, body: { owner: bob.id } }), 400)).toBe(
        'Protected field, you are not authorised to edit owner.',
      );
      expect(failure(await call('PUT', `/streams/${s.streamId}`, { token: carol.token, body: { name: 'x' } }), 400)).toBe('You are not authorised to write.');
      failure(await call('PUT', '/streams/nope', { token: alice.token, body: { name: 'x' } }), 400);
      ok(await call('PUT', `/streams/${s.streamId}`, { token: alice.token, body: { owner: bob.id } }));
      expect((await stream(bob.token, s.streamId)).owner).toBe(bob.id);
    });

    it('refused writes store nothing (bad objects, unknown users, unknown object ids, wrong types)', async () => {
      const s = ok(await call('POST', '/streams', { token: alice.token, body: { name: 'Atomic', objects: [{ type: 'A', n: 1 }] } })).resource;
      const before = { streams: await count('v1_streams'), objects: await count('v1_objects'), lists: await count('v1_user_lists') };
      const bad = [
        { name: 'x', objects: [{ type: 'B', n: 2 }, { name: 'no type' }] },
        { name: 'x', objects: [{ type: 'B', n: 3 }, { type: 'Placeholder', _id: 'f'.repeat(24) }] },
        { name: 'x', objects: [{ type: 'B', n: 4 }], canRead: ['nobody'] },
        { name: 'x', objects: [{ type: 'B', n: 5 }], tags: 'not a list' },
        { name: 7 },
        { name: 'x', objects: 'nope' },
        { name: 'x', private: 'yes' },
        { name: 'x', $where: 1 },
        { name: 'x', deep: { $gt: 1 } },
      ];
      for (const body of bad) {
        failure(await call('POST', '/streams', { token: alice.token, body }), 400);
        failure(await call('PUT', `/streams/${s.streamId}`, { token: alice.token, body }), 400);
      }
      failure(await call('POST', '/streams', { token: alice.token, rawBody: '{"name": "broken' }), 400);
      failure(await call('POST', '/streams', { token: alice.token, rawBody: '[]' }), 400);
      expect({ streams: await count('v1_streams'), objects: await count('v1_objects'), lists: await count('v1_user_lists') }).toEqual(before);
      expect((await stream(alice.token, s.streamId)).name).toBe('Atomic');
    });

    it('clone: new ids, parent/children links, " (clone)" name; a reader’s clone is theirs with the owner as reader', async () => {
      const s = ok(await call('POST', '/streams', { token: alice.token, body: { name: 'Orig', canRead: [bob.id], objects: [{ type: 'X' }], layers: [{ guid: 'l1' }] } })).resource;
      const own = ok(await call('POST', `/streams/${s.streamId}/clone`, { token: alice.token, body: {} }));
      expect(own.clone).toMatchObject({ name: 'Orig (clone)', parent: s.streamId, children: [], owner: alice.id, canRead: [bob.id], private: true });
      expect(own.clone).not.toHaveProperty('objects');
      expect(own.clone).not.toHaveProperty('layers');
      expect(own.parent.children).toEqual([own.clone.streamId]);
      const copy = await stream(alice.token, own.clone.streamId);
      expect(copy.objects).toEqual((await stream(alice.token, s.streamId)).objects);
      expect(copy.layers).toEqual([{ guid: 'l1' }]);
      const bobs = ok(await call('POST', `/streams/${s.streamId}/clone`, { token: bob.token, body: { name: 'Mine' } })).clone;
      expect(bobs).toMatchObject({ name: 'Mine', owner: bob.id, canRead: [alice.id], canWrite: [] });
      failure(await call('POST', `/streams/${s.streamId}/clone`, { token: carol.token, body: {} }), 400);
      failure(await call('POST', `/streams/${s.streamId}/clone`, { token: alice.token, body: { name: 5 } }), 400);
    });

    it('diff: objects and layers (by guid) common / only in A / only in B', async () => {
      const a = ok(await call('POST', '/streams', { token: alice.token, body: { name: 'A', objects: [{ type: 'P', i: 1 }, { type: 'P', i: 2 }], layers: [{ guid: 'x' }, { guid: 'y' }] } })).resource;
      const common = a.objects[0]._id;
      const b = ok(await call('POST', '/streams', { token: alice.token, body: { name: 'B', objects: [{ type: 'Placeholder', _id: common }, { type: 'P', i: 3 }], layers: [{ guid: 'y' }, { guid: 'z' }] } })).resource;
      const d = ok(await call('GET', `/streams/${a.streamId}/diff/${b.streamId}`, { token: alice.token }));
      expect(d.objects).toEqual({ common: [common], inA: [a.objects[1]._id], inB: [b.objects[1]._id] });
      expect(d.layers).toEqual({ common: [{ guid: 'y' }], inA: [{ guid: 'x' }], inB: [{ guid: 'z' }] });
      failure(await call('GET', `/streams/${a.streamId}/diff/${a.streamId}`, { token: alice.token }), 400);
      failure(await call('GET', `/streams/${a.streamId}/diff/nope`, { token: alice.token }), 400);
      failure(await call('GET', `/streams/${a.streamId}/diff/${b.streamId}`, { token: bob.token }), 400);
    });

    it('list objects: full objects in stream order (duplicates kept), with projections and criteria', async () => {
      const s = ok(await call('POST', '/streams', { token: alice.token, body: { name: 'O', objects: [{ type: 'P', i: 1 }, { type: 'Q', i: 2 }, { type: 'P', i: 1 }] } })).resource;
      const list = ok(await call('GET', `/streams/${s.streamId}/objects`, { token: alice.token })).resources;
      expect(list.map((o: any) => [o.type, o.i])).toEqual([['P', 1], ['Q', 2], ['P', 1]]);
      expect(list[0]).toMatchObject({ owner: alice.id, private: false, properties: null, hash: expect.stringMatching(/^[0-9a-f]{32}$/) });
      expect(ok(await call('GET', `/streams/${s.streamId}/objects?type=Q&fields=i`, { token: alice.token })).resources).toEqual([{ _id: s.objects[1]._id, i: 2 }]);
      failure(await call('GET', `/streams/${s.streamId}/objects`, { token: bob.token }), 404);
      failure(await call('GET', '/streams/nope/objects', { token: alice.token }), 404);
    });

    it('delete: owners only (404 otherwise, as v1); children the caller owns go too, others’ clones stay', async () => {
      const s = ok(await call('POST', '/streams', { token: alice.token, body: { name: 'Del', canRead: [bob.id], canWrite: [carol.id] } })).resource;
      const mine = ok(await call('POST', `/streams/${s.streamId}/clone`, { token: alice.token, body: {} })).clone;
      const bobs = ok(await call('POST', `/streams/${s.streamId}/clone`, { token: bob.token, body: {} })).clone;
      ok(await call('POST', `/comments/streams/${s.streamId}`, { token: alice.token, body: { text: 'bye' } }));
      expect(failure(await call('DELETE', `/streams/${s.streamId}`, { token: carol.token }), 404)).toBe('You do not own the stream.');
      const d = ok(await call('DELETE', `/streams/${s.streamId}`, { token: alice.token }));
      expect(d.message).toBe(`Stream ${s.streamId} and its children have been deleted.`);
      expect(d.deletedStreams).toEqual([mine.streamId, s.streamId]);
      failure(await call('GET', `/streams/${mine.streamId}`, { token: alice.token }), 404);
      expect((await stream(bob.token, bobs.streamId)).parent).toBe(s.streamId);
      failure(await call('DELETE', `/streams/${s.streamId}`, { token: alice.token }), 404);
      const left = await server.app.store.db.selectFrom('v1_comments').select('id').where('resource_id', '=', s.streamId).execute();
      expect(left).toEqual([]);
    });
  });

  describe('objects', () => {
    it('create one or many, get, get_bulk in request order with the no-permission stand-in', async () => {
      const created = ok(await call('POST', '/objects', { token: alice.token, body: [{ type: 'Mesh', vertices: [0, 1] }, { type: 'Mesh', vertices: [2, 3], private: true }] }));
      expect(created.message).toBe('Saved objects to database.');
      const [pub, priv] = created.resources.map((r: any) => r._id);
      expect(created.resources.every((r: any) => r.type === 'Placeholder' && OID_RE.test(r._id))).toBe(true);
      const single = ok(await call('POST', '/objects', { token: alice.token, body: { type: 'Line' } })).resources;
      expect(single).toHaveLength(1);
      expect(ok(await call('GET', `/objects/${pub}`, { token: bob.token })).resource).toMatchObject({ _id: pub, type: 'Mesh', vertices: [0, 1], owner: alice.id });
      expect(ok(await call('GET', `/objects/${pub}`)).resource.type).toBe('Mesh');
      expect(failure(await call('GET', `/objects/${priv}`, { token: bob.token }), 400)).toMatch(/authorised/);
      failure(await call('GET', `/objects/${'0'.repeat(24)}`, { token: alice.token }), 400);
      const stand = { type: 'String', value: 'You do not have permissions to view this object' };
      const bulk = ok(await call('POST', '/objects/getbulk', { token: bob.token, body: [priv, 'nope', pub] })).resources;
      expect(bulk).toEqual([{ _id: priv, ...stand }, { _id: 'nope', ...stand }, expect.objectContaining({ _id: pub, type: 'Mesh' })]);
      const slim = ok(await call('POST', '/objects/getbulk/?fields=vertices', { token: alice.token, body: [pub] })).resources;
      expect(slim).toEqual([{ _id: pub, vertices: [0, 1], type: 'Mesh', private: false, canRead: [], canWrite: [], owner: alice.id }]);
      failure(await call('POST', '/objects/getbulk', { token: bob.token, body: { ids: [pub] } }), 400);
      failure(await call('POST', '/objects', { token: alice.token, body: [{ type: 'ok' }, 'nope'] }), 400);
      const r = await call('POST', '/objects', { body: { type: 'Anon' } });
      expect([r.status, r.text]).toEqual([401, 'Unauthorized']);
    });

    it('de-duplicates by hash only against objects the caller may read', async () => {
      const o = { type: 'Dup', payload: 'same' };
      const a1 = ok(await call('POST', '/objects', { token: alice.token, body: o })).resources[0]._id;
      expect(ok(await call('POST', '/objects', { token: bob.token, body: o })).resources[0]._id).toBe(a1);
      const secret = { type: 'Dup', payload: 'secret', private: true };
      const a2 = ok(await call('POST', '/objects', { token: alice.token, body: secret })).resources[0]._id;
      const b2 = ok(await call('POST', '/objects', { token: bob.token, body: secret })).resources[0]._id;
      expect(b2).not.toBe(a2);
      expect(ok(await call('GET', `/objects/${b2}`, { token: bob.token })).resource.owner).toBe(bob.id);
    });

    it('update, set properties (merged), delete: writers and owners only; refused calls change nothing', async () => {
      const id = ok(await call('POST', '/objects', { token: alice.token, body: { type: 'Box', properties: { w: 1 }, canWrite: [bob.id] } })).resources[0]._id;
      expect(ok(await call('PUT', `/objects/${id}`, { token: bob.token, body: { name: 'box', properties: { w: 2 } } })).message).toBe('Object updated.');
      expect(ok(await call('PUT', `/objects/${id}/properties/`, { token: bob.token, body: { h: 3 } })).message).toBe('Object properties updated.');
      expect(ok(await call('GET', `/objects/${id}`, { token: alice.token })).resource).toMatchObject({ name: 'box', properties: { w: 2, h: 3 } });
      failure(await call('PUT', `/objects/${id}`, { token: carol.token, body: { name: 'x' } }), 400);
      failure(await call('PUT', `/objects/${id}/properties`, { token: carol.token, body: { x: 1 } }), 400);
      failure(await call('PUT', `/objects/${id}`, { token: bob.token, body: { owner: bob.id } }), 400);
      failure(await call('PUT', `/objects/${id}`, { token: alice.token, body: { type: '' } }), 400);
      failure(await call('PUT', `/objects/${id}/properties`, { token: alice.token, rawBody: '[1]' }), 400);
      expect(ok(await call('GET', `/objects/${id}`, { token: alice.token })).resource).toMatchObject({ name: 'box', properties: { w: 2, h: 3 }, type: 'Box' });
      expect(failure(await call('DELETE', `/objects/${id}`, { token: bob.token }), 404)).toBe('You do not own the object.');
      expect(ok(await call('DELETE', `/objects/${id}`, { token: alice.token })).message).toBe('Object was deleted. Bye bye data.');
      failure(await call('GET', `/objects/${id}`, { token: alice.token }), 400);
    });
  });

  // ---------------------------------------------------------------- projects

  describe('projects', () => {
    it('create, get, list, update (the client’s injected streams: [] clears them), delete', async () => {
      const p = ok(await call('POST', '/projects', { token: alice.token, body: { name: 'P', tags: ['t'] } })).resource;
      expect(p).toMatchObject({ name: 'P', tags: ['t'], owner: alice.id, private: true, streams: [], permissions: { canRead: [], canWrite: [] } });
      expect(ok(await call('GET', `/projects/${p._id}`, { token: alice.token })).resource._id).toBe(p._id);
      expect(ok(await call('GET', '/projects', { token: alice.token })).resources.map((x: any) => x._id)).toContain(p._id);
      const s = ok(await call('POST', '/streams', { token: alice.token, body: { name: 'In P' } })).resource;
      ok(await call('PUT', `/projects/${p._id}/addstream/${s.streamId}`, { token: alice.token }));
      expect(ok(await call('PUT', `/projects/${p._id}`, { token: alice.token, body: { description: 'd', tags: [], streams: [] } })).message).toBe(
        `Patched description,tags,streams for ${p._id}.`,
      );
      expect(ok(await call('GET', `/projects/${p._id}`, { token: alice.token })).resource).toMatchObject({ description: 'd', streams: [], tags: [] });
      failure(await call('GET', `/projects/${p._id}`, { token: bob.token }), 401);
      failure(await call('PUT', `/projects/${p._id}`, { token: bob.token, body: { name: 'x' } }), 401);
      failure(await call('GET', `/projects/${'0'.repeat(24)}`, { token: alice.token }), 404);
      failure(await call('DELETE', `/projects/${p._id}`, { token: bob.token }), 400);
      expect(ok(await call('DELETE', `/projects/${p._id}`, { token: alice.token })).message).toBe('Project was permanently deleted.');
      failure(await call('GET', `/projects/${p._id}`, { token: alice.token }), 404);
    });

    it('a project cannot take streams the caller may not write (create and update store nothing)', async () => {
      const bobs = ok(await call('POST', '/streams', { token: bob.token, body: { name: 'Bob only' } })).resource;
      const before = await count('v1_projects');
      expect(failure(await call('POST', '/projects', { token: alice.token, body: { name: 'Grab', streams: [bobs.streamId] } }), 400)).toMatch(/authorised/);
      failure(await call('POST', '/projects', { token: alice.token, body: { name: 'Grab', streams: ['nope'] } }), 400);
      failure(await call('POST', '/projects', { token: alice.token, body: { name: 'Grab', permissions: { canRead: ['nobody'] } } }), 400);
      failure(await call('POST', '/projects', { token: alice.token, body: { name: 'Grab', permissions: { admins: [] } } }), 400);
      expect(await count('v1_projects')).toBe(before);
      const p = ok(await call('POST', '/projects', { token: alice.token, body: { name: 'Mine' } })).resource;
      failure(await call('PUT', `/projects/${p._id}`, { token: alice.token, body: { name: 'Renamed', streams: [bobs.streamId] } }), 401);
      expect(ok(await call('GET', `/projects/${p._id}`, { token: alice.token })).resource).toMatchObject({ name: 'Mine', streams: [] });
      failure(await call('PUT', `/projects/${p._id}/addstream/${bobs.streamId}`, { token: alice.token }), 400);
      failure(await call('PUT', `/projects/${p._id}/addstream/nope`, { token: alice.token }), 400);
      failure(await call('PUT', `/projects/${p._id}/adduser/nobody`, { token: alice.token }), 404);
      expect(ok(await call('GET', `/projects/${p._id}`, { token: alice.token })).resource).toMatchObject({ streams: [], canRead: [], permissions: { canRead: [], canWrite: [] } });
    });

    it('users and streams propagate permissions; a grant another project also gives is kept', async () => {
      const s = ok(await call('POST', '/streams', { token: alice.token, body: { name: 'Shared' } })).resource;
      const p1 = ok(await call('POST', '/projects', { token: alice.token, body: { name: 'P1' } })).resource;
      const p2 = ok(await call('POST', '/projects', { token: alice.token, body: { name: 'P2' } })).resource;
      const added = ok(await call('PUT', `/projects/${p1._id}/addstream/${s.streamId}`, { token: alice.token }));
      expect(added.project.streams).toEqual([s.streamId]);
      expect(added.stream).toMatchObject({ _id: s._id, streamId: s.streamId, name: 'Shared', owner: alice.id, canRead: [alice.id], canWrite: [alice.id] });

      ok(await call('PUT', `/projects/${p1._id}/adduser/${bob.id}`, { token: alice.token }));
      let st = await stream(alice.token, s.streamId);
      expect(st.canWrite).toContain(bob.id);
      const proj = ok(await call('GET', `/projects/${p1._id}`, { token: bob.token })).resource;
      expect(proj.canRead).toEqual([bob.id]);
      expect(proj.permissions.canWrite).toEqual([bob.id]);
      expect(ok(await call('GET', '/projects', { token: bob.token })).resources.map((x: any) => x._id)).toContain(p1._id);
      failure(await call('PUT', `/projects/${p1._id}/adduser/${carol.id}`, { token: bob.token }), 401); // bob reads the project, does not manage it

      ok(await call('PUT', `/projects/${p2._id}/addstream/${s.streamId}`, { token: alice.token }));
      ok(await call('PUT', `/projects/${p2._id}/upgradeuser/${bob.id}`, { token: alice.token }));
      const down = ok(await call('PUT', `/projects/${p1._id}/downgradeuser/${bob.id}`, { token: alice.token }));
      expect(down.streamsToAddReadAndPullWrite).toEqual([]); // p2 still grants write
      expect(down.streamsToAddToRead).toEqual([s.streamId]);
      st = await stream(alice.token, s.streamId);
      expect(st.canWrite).toContain(bob.id);
      const removed = ok(await call('DELETE', `/projects/${p2._id}/removeuser/${bob.id}`, { token: alice.token }));
      expect(removed.streamsToPullBothFrom).toEqual([]);
      expect(removed.streamsToPullWriteFrom).toEqual([s.streamId]);
      st = await stream(alice.token, s.streamId);
      expect(st.canWrite).not.toContain(bob.id);
      expect(st.canRead).toContain(bob.id); // p1 grants read
      const gone = ok(await call('DELETE', `/projects/${p1._id}/removestream/${s.streamId}`, { token: alice.token }));
      expect(gone.project.streams).toEqual([]);
      expect(gone.stream.canRead).not.toContain(bob.id);
      const del = ok(await call('DELETE', `/projects/${p2._id}`, { token: alice.token }));
      expect(del.modifiedStreams).toEqual([]);
    });
  });

  // ---------------------------------------------------------------- clients and comments

  describe('api clients', () => {
    it('create (anonymous: a temp id, nothing stored), list, get with the owner populated, update, delete', async () => {
      const s = ok(await call('POST', '/streams', { token: alice.token, body: { name: 'C', canRead: [bob.id] } })).resource;
      const before = await count('v1_clients');
      const anon = ok(await call('POST', '/clients', { body: { streamId: s.streamId } }));
      expect(anon.message).toBe('Anonymous client created.');
      expect(anon.resource._id).toMatch(/^temp-[0-9a-f]{24}$/);
      expect(ok(await call('POST', '/clients', { token: alice.token, body: { isAnonymous: true } })).resource._id).toMatch(/^temp-/);
      expect(await count('v1_clients')).toBe(before);
      const c = ok(await call('POST', '/clients/', { token: alice.token, body: { streamId: s.streamId, role: 'Sender', documentGuid: 'g', unknown: 'dropped' } }));
      expect(c.message).toBe('Client created.');
      expect(c.resource).toMatchObject({ streamId: s.streamId, role: 'Sender', documentGuid: 'g', online: true, owner: alice.id, private: false });
      expect(c.resource).not.toHaveProperty('unknown');
      const id = c.resource._id;
      expect(ok(await call('GET', '/clients', { token: alice.token })).resources.map((x: any) => x._id)).toContain(id);
      expect(ok(await call('GET', '/clients', { token: bob.token })).resources.map((x: any) => x._id)).not.toContain(id);
      const got = ok(await call('GET', `/clients/${id}`, { token: bob.token })).resource; // bob reads the stream
      expect(got.owner).toEqual({ _id: alice.id, name: 'Alice', surname: 'Archer', email: alice.email, company: 'Alice Co' });
      failure(await call('GET', `/clients/${id}`, { token: carol.token }), 400);
      expect(ok(await call('PUT', `/clients/${id}`, { token: alice.token, body: { documentName: 'n', documentGuid: 'h' } })).message).toBe(
        'Client updated following fields: documentName,documentGuid',
      );
      failure(await call('PUT', `/clients/${id}`, { token: bob.token, body: { documentName: 'x' } }), 400);
      failure(await call('PUT', `/clients/${id}`, { token: alice.token, body: { online: 'yes' } }), 400);
      expect(ok(await call('GET', `/clients/${id}`, { token: alice.token })).resource).toMatchObject({ documentName: 'n', documentGuid: 'h', online: true });
      expect(ok(await call('GET', `/streams/${s.streamId}/clients`, { token: bob.token })).resources.map((x: any) => x._id)).toEqual([id]);
      failure(await call('GET', `/streams/${s.streamId}/clients`, { token: carol.token }), 401);
      failure(await call('POST', '/clients', { token: carol.token, body: { streamId: s.streamId } }), 400);
      failure(await call('POST', '/clients', { token: carol.token, body: { streamId: 'nope' } }), 400);
      failure(await call('DELETE', `/clients/${id}`, { token: bob.token }), 404);
      expect(ok(await call('DELETE', `/clients/${id}`, { token: alice.token })).message).toBe('Client was deleted! Bye bye data.');
      failure(await call('GET', `/clients/${id}`, { token: alice.token }), 400);
    });
  });

  describe('comments', () => {
    it('on streams, projects, objects and comments; list, assigned, get, update, delete (with replies)', async () => {
      const s = ok(await call('POST', '/streams', { token: alice.token, body: { name: 'Talk', canRead: [bob.id] } })).resource;
      const p = ok(await call('POST', '/projects', { token: alice.token, body: { name: 'TalkP' } })).resource;
      const o = ok(await call('POST', '/objects', { token: alice.token, body: { type: 'T', private: true } })).resources[0]._id;
      const cs = ok(await call('POST', `/comments/streams/${s.streamId}`, { token: alice.token, body: { text: 'on stream', assignedTo: [bob.id], view: { camera: [1] } } })).resource;
      expect(cs).toMatchObject({ text: 'on stream', owner: alice.id, resource: { resourceType: 'streams', resourceId: s.streamId }, assignedTo: [bob.id], closed: false, flagged: false, view: { camera: [1] } });
      const cp = ok(await call('POST', `/comments/projects/${p._id}`, { token: alice.token, body: { text: 'on project' } })).resource;
      const co = ok(await call('POST', `/comments/objects/${o}`, { token: alice.token, body: { text: 'on object' } })).resource;
      expect([cp.resource.resourceType, co.resource.resourceType]).toEqual(['projects', 'objects']);
      const reply = ok(await call('POST', `/comments/comments/${cs._id}`, { token: bob.token, body: { text: 'reply' } })).resource;
      expect(reply.resource).toEqual({ resourceType: 'comments', resourceId: cs._id });
      expect((await stream(alice.token, s.streamId)).comments).toEqual([cs._id]);
      expect(ok(await call('GET', `/comments/${cs._id}`, { token: bob.token })).resource.comments).toEqual([reply._id]);
      expect(ok(await call('GET', `/comments/comments/${cs._id}`, { token: alice.token })).resources.map((c: any) => c.text)).toEqual(['reply']);
      expect(ok(await call('GET', `/comments/streams/${s.streamId}`, { token: bob.token })).resources.map((c: any) => c._id)).toEqual([cs._id]);
      expect(ok(await call('GET', '/comments/assigned', { token: bob.token })).resources.map((c: any) => c._id)).toEqual([cs._id]);
      const bobs = ok(await call('GET', '/comments/', { token: bob.token })).resources.map((c: any) => c._id);
      expect(bobs.sort()).toEqual([cs._id, reply._id].sort());
      failure(await call('GET', `/comments/${co._id}`, { token: bob.token }), 401);
      failure(await call('GET', `/comments/objects/${o}`, { token: bob.token }), 401);
      failure(await call('POST', `/comments/objects/${o}`, { token: bob.token, body: { text: 'x' } }), 401);
      failure(await call('POST', `/comments/streams/${s.streamId}`, { token: alice.token, body: { text: '' } }), 400);
      failure(await call('POST', `/comments/widgets/${s.streamId}`, { token: alice.token, body: { text: 'x' } }), 404);
      failure(await call('POST', '/comments/streams/nope', { token: alice.token, body: { text: 'x' } }), 404);
      const edit = ok(await call('PUT', `/comments/${cs._id}`, { token: alice.token, body: { closed: true, labels: ['done'] } }));
      expect(edit).toEqual({ success: true, message: 'Comment edited', fields: ['closed', 'labels'] });
      failure(await call('PUT', `/comments/${cs._id}`, { token: bob.token, body: { text: 'mine now' } }), 401);
      failure(await call('PUT', `/comments/${cs._id}`, { token: alice.token, body: { assignedTo: ['nobody'] } }), 400);
      expect(ok(await call('GET', `/comments/${cs._id}`, { token: alice.token })).resource).toMatchObject({ closed: true, labels: ['done'], assignedTo: [bob.id], text: 'on stream' });
      expect(failure(await call('DELETE', `/comments/${cs._id}`, { token: bob.token }), 404)).toBe('You do not own the comment.');
      ok(await call('DELETE', `/comments/${cs._id}`, { token: alice.token }));
      failure(await call('GET', `/comments/${reply._id}`, { token: alice.token }), 404);
      expect(ok(await call('GET', `/comments/streams/${s.streamId}`, { token: alice.token })).resources).toEqual([]);
    });

    it('anonymous comments only where the resource is public and allows them', async () => {
      const s = ok(await call('POST', '/streams', { token: alice.token, body: { name: 'Open', private: false } })).resource;
      failure(await call('POST', `/comments/streams/${s.streamId}`, { body: { text: 'anon' } }), 401);
      failure(await call('POST', `/comments/streams/${s.streamId}`, { token: carol.token, body: { text: 'not listed' } }), 401);
      ok(await call('PUT', `/streams/${s.streamId}`, { token: alice.token, body: { anonymousComments: true } }));
      const c = ok(await call('POST', `/comments/streams/${s.streamId}`, { body: { text: 'anon' } })).resource;
      expect(c.owner).toBeNull();
      expect(ok(await call('GET', `/comments/${c._id}`)).resource.text).toBe('anon');
    });
  });

  // ---------------------------------------------------------------- wire quirks

  describe('wire', () => {
    it('accepts a JSON content type with no body, trailing slashes, the /api mount; answers the server description', async () => {
      for (const method of ['GET', 'DELETE', 'PUT']) {
        const r = await call(method, method === 'PUT' ? '/accounts/' : '/streams/nope/', { token: alice.token, rawBody: method === 'PUT' ? '' : undefined });
        expect(r.body.success, `${method}: ${r.text}`).toBe(method === 'PUT');
      }
      ok(await call('GET', '/streams/', { token: alice.token, prefix: '/api' }));
      ok(await call('POST', '/accountssearch/', { token: alice.token, prefix: '/api', body: { searchString: 'alice' } }));
      ok(await call('GET', '/streams', { token: alice.token, contentType: null }));
      const d = (await call('GET', '/')).body;
      expect(d).toMatchObject({ isSpeckleServer: true, version: '1.x.x', jnMask: '######-##', plugins: [] });
      expect(d.api.streams).toContainEqual({ method: 'GET', route: `${server.url}/api/streams/:streamId` });
      expect((await call('GET', '', { prefix: '/api/v1' })).body.isSpeckleServer).toBe(true);
      const v0 = await call('GET', '/streams', { prefix: '/api/v0' });
      expect([v0.status, v0.body]).toEqual([410, { error: 'The v0 API has been removed.' }]);
      expect(failure(await call('POST', '/streams', { token: alice.token, rawBody: '{"a":' }), 400)).toBe('Malformed JSON body.');
      // a body without a JSON content type is read as JSON too (v1 clients only ever send JSON)
      expect(ok(await call('POST', '/streams', { token: alice.token, rawBody: '{"name":"plain"}', contentType: 'text/plain' })).resource.name).toBe('plain');
    });

    it('leaves the datasets download routes under /api/v1/projects to the Speckle face', async () => {
      for (const path of ['/projects/p/models/m/versions/v/download', '/projects/p/models/m/versions/v/eav/download']) {
        const r = await call('GET', path, { token: alice.token });
        expect(r.body?.success, r.text).toBeUndefined();
      }
    });

    it('rate-limits logins per email (429 envelope with Retry-After)', async () => {
      const limited = await startTestServer(kind, { ATRIUM_LOGIN_RATE_LIMIT: '2' });
      try {
        const body = { email: 'someone@example.com', password: 'wrong-password' };
        for (let i = 0; i < 2; i++) failure(await v1call(limited.url, 'POST', '/accounts/login', { body }), 401);
        const r = await v1call(limited.url, 'POST', '/accounts/login', { body });
        expect(failure(r, 429)).toMatch(/too many/i);
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
      } finally {
        await limited.close();
      }
    });

    it('invite-only servers refuse v1 registration with 401', async () => {
      await server.app.services.serverInfo.update({ name: 'Atrium', inviteOnly: true });
      try {
        const r = await call('POST', '/accounts/register', { body: { email: 'invite@example.com', password: PASSWORD } });
        expect(failure(r, 401)).toBe('This is an invite only speckle server. Sorry!');
      } finally {
        await server.app.services.serverInfo.update({ name: 'Atrium', inviteOnly: false });
      }
    });
  });
});
