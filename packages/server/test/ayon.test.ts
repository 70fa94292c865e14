/**
 * The AYON face over real HTTP, on every store kind: connection and auth as ayon_api probes them,
 * projects, the entity write path (REST and batches, all-or-nothing), events written with the change,
 * GraphQL keyset paging and filters, links, thumbnails and files, and the error shapes of bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import { startTestServer, storeKinds, type TestServer } from './helpers/server.js';
import { ayonRequest, type AyonRequestOptions } from './helpers/http.js';

const hex = () => randomBytes(16).toString('hex');
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' + '1f15c4890000000d4944415478da63fcffff3f0300050601025ea3fa710000000049454e44ae426082',
  'hex',
);
const JPEG = Buffer.from('ffd8ffe000104a46494600010100000100010000ffd9', 'hex');

describe.each(storeKinds)('AYON face on %s', (kind) => {
  let srv: TestServer;
  let base: string;
  let token: string;
  let admin: { email: string; password: string };
  const P = `prj_${randomBytes(3).toString('hex')}`;

  const call = (method: string, path: string, opts: AyonRequestOptions = {}) => ayonRequest(base, token, method, path, opts);
  const gql = async (query: string, variables?: Record<string, unknown>) => (await call('POST', '/graphql', { body: { query, variables } })).json;
  const ops = (operations: unknown[], extra: Record<string, unknown> = {}) => call('POST', `/api/projects/${P}/operations`, { body: { operations, ...extra } });

  beforeAll(async () => {
    srv = await startTestServer(kind, { ATRIUM_MAX_REQUEST_BODY_MB: '2' });
    base = `${srv.url}/ayon`;
    const u = await srv.createUser({ admin: true, email: `boss-${randomBytes(3).toString('hex')}@example.com`, password: 'admin-password-1' });
    admin = { email: u.email, password: u.password };
    const login = await call('POST', '/api/auth/login', { body: { name: admin.email, password: admin.password }, token: null });
    expect(login.status).toBe(200);
    token = login.json.token;
  });
  afterAll(() => srv.close());

  describe('connection and auth', () => {
    it('answers GET / and a public /api/info with a semver version >= 1.14.2', async () => {
      expect((await call('GET', '/', { token: null })).status).toBe(200);
      const info = await call('GET', '/api/info', { token: null });
      expect(info.status).toBe(200);
      expect(info.json.version).toMatch(/^1\.(1[4-9]|[2-9]\d)\.\d+\+/);
      expect(info.json.user).toBeUndefined();
      // invalid credentials do not break the public probe
      expect((await call('GET', '/api/info', { token: 'f'.repeat(64) })).status).toBe(200);
      const authed = await call('GET', '/api/info');
      expect(authed.json.user.name).toBeTruthy();
      expect(Array.isArray(authed.json.attributes)).toBe(true);
    });

    it('logs in by email or login name with a 64-hex session token; a bad password is 403', async () => {
      expect(token).toMatch(/^[0-9a-f]{64}$/);
      const me = await call('GET', '/api/users/me');
      expect(me.status).toBe(200);
      expect(me.json.name).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*[a-zA-Z0-9]$/);
      expect(me.json.data.isAdmin).toBe(true);
      expect(JSON.stringify(me.json)).not.toMatch(/\$argon|"password"|"apiKey"/i);
      const byName = await call('POST', '/api/auth/login', { body: { name: me.json.name.toUpperCase(), password: admin.password }, token: null });
      expect(byName.status).toBe(200);
      const bad = await call('POST', '/api/auth/login', { body: { name: admin.email, password: 'nope-nope-nope' }, token: null });
      expect(bad.status).toBe(403);
      expect(bad.json).toEqual({ code: 403, detail: 'Invalid login/password combination' });
    });

    it('logout ends the session (401 afterwards), other sessions stay valid', async () => {
      const s = (await call('POST', '/api/auth/login', { body: { name: admin.email, password: admin.password }, token: null })).json.token;
      expect((await call('POST', '/api/auth/logout', { token: s })).status).toBe(200);
      const after = await call('GET', '/api/users/me', { token: s });
      expect(after.status).toBe(401);
      expect(after.json.code).toBe(401);
      expect((await call('GET', '/api/users/me')).status).toBe(200);
    });

    it('refuses missing and malformed credentials with 401 {code, detail}', async () => {
      const none = await call('GET', '/api/users/me', { token: null });
      expect(none.status).toBe(401);
      expect(none.json).toMatchObject({ code: 401 });
      expect((await call('GET', '/api/users/me', { token: 'short' })).status).toBe(401);
      expect((await call('GET', '/api/users/me', { token: null, headers: { 'x-api-key': 'not-a-key-at-all' } })).status).toBe(401);
      expect((await call('POST', '/graphql', { token: null, body: { query: '{me{name}}' } })).status).toBe(401);
    });

    it('service users: API key via X-Api-Key works, the same key as Bearer is refused, X-as-user impersonates', async () => {
      const key = randomUUID().replace(/-/g, '');
      expect((await call('PUT', '/api/users/svc_a', { body: { apiKey: key, data: { isService: true } } })).status).toBe(204);
      expect((await call('PUT', '/api/users/plain_a', { body: { password: 'plain-password-1', attrib: { fullName: 'Plain A' } } })).status).toBe(204);
      const viaKey = await call('GET', '/api/users/me', { token: null, headers: { 'x-api-key': key } });
      expect(viaKey.status).toBe(200);
      expect(viaKey.json.name).toBe('svc_a');
      expect(viaKey.json.data.isService).toBe(true);
      expect(viaKey.json.data.apiKeyPreview).toBe(`${key.slice(0, 4)}***${key.slice(-4)}`);
      expect((await call('GET', '/api/users/me', { token: key })).status).toBe(401);
      const as = await call('GET', '/api/users/me', { token: null, headers: { 'x-api-key': key, 'x-as-user': 'plain_a' } });
      expect(as.json.name).toBe('plain_a');
      // X-as-user is ignored for non-services
      const plain = (await call('POST', '/api/auth/login', { body: { name: 'plain_a', password: 'plain-password-1' }, token: null })).json.token;
      expect((await call('GET', '/api/users/me', { token: plain, headers: { 'x-as-user': 'svc_a' } })).json.name).toBe('plain_a');
      // service users cannot log in; a password on a service user is refused
      expect((await call('PUT', '/api/users/svc_b', { body: { password: 'x-password-1', data: { isService: true } } })).status).toBe(400);
      expect((await call('PUT', '/api/users/plain_b', { body: { apiKey: key } })).status).toBe(400);
      expect((await call('PUT', '/api/users/plain_a', { body: {} })).status).toBe(409);
      expect((await call('PUT', '/api/users/-bad-', { body: {} })).status).toBe(400);
      // a non-manager cannot create users
      expect((await call('PUT', '/api/users/plain_c', { body: {}, token: plain })).status).toBe(403);
    });

    it('a Speckle personal access token works as an AYON API key (one identity)', async () => {
      const u = await srv.createUser({ admin: false });
      const pat = await srv.createToken(u.id, ['profile:read']);
      const r = await call('GET', '/api/users/me', { token: null, headers: { 'x-api-key': pat } });
      expect(r.status).toBe(200);
      expect(r.json.attrib.email).toBe(u.email);
    });

    it('serves the face at the root of ATRIUM_AYON_PORT too', async () => {
      const s2 = await startTestServer(kind, { ATRIUM_AYON_PORT: '0' });
      try {
        const addr = s2.app.ayonHttp!.server.address() as { port: number };
        const r = await fetch(`http://127.0.0.1:${addr.port}/api/info`);
        expect(r.status).toBe(200);
        expect((await r.json()).version).toContain('atrium');
        expect((await fetch(`http://127.0.0.1:${addr.port}/`)).status).toBe(200);
      } finally {
        await s2.close();
      }
    });

    it('answers unknown routes with AYON 404 and bad JSON with 400', async () => {
      const r = await call('GET', '/api/nope');
      expect(r.json).toEqual({ code: 404, detail: 'API endpoint /api/nope not found', path: '/api/nope' });
      const bad = await fetch(`${base}/api/projects`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{oops' });
      expect(bad.status).toBe(400);
      expect((await bad.json()).code).toBe(400);
    });
  });

  describe('projects', () => {
    it('creates a project from the default anatomy (201, empty body)', async () => {
      const preset = await call('GET', '/api/anatomy/presets/__primary__');
      expect(preset.status).toBe(200);
      expect(preset.json.folder_types.map((t: any) => t.name)).toContain('Shot');
      const r = await call('POST', '/api/projects', { body: { name: P, code: P.slice(0, 6), anatomy: preset.json, library: false } });
      expect(r.status).toBe(201);
      expect(r.buf.length).toBe(0);
      const p = await call('GET', `/api/projects/${P.toUpperCase()}`);
      expect(p.status).toBe(200);
      expect(p.json.name).toBe(P);
      expect(p.json.attrib.fps).toBe(25);
      expect(p.json.statuses[0].name).toBe('Not ready');
      expect(p.json.linkTypes.length).toBe(4);
      const list = await call('GET', '/api/projects');
      expect(list.json.projects.map((x: any) => x.name)).toContain(P);
    });

    it('refuses bad names (400) and duplicates (409)', async () => {
      expect((await call('POST', '/api/projects', { body: { name: 'bad name!', code: 'bn' } })).status).toBe(400);
      expect((await call('POST', '/api/projects', { body: { name: P, code: 'other1' } })).status).toBe(409);
      expect((await call('GET', '/api/projects/does_not_exist')).status).toBe(404);
    });

    it('patches with one-level merges, null deleting, list replacement (204)', async () => {
      expect((await call('PATCH', `/api/projects/${P}`, { body: { attrib: { fps: 30 }, data: { a: 1, b: 2 } } })).status).toBe(204);
      expect((await call('PATCH', `/api/projects/${P}`, { body: { data: { a: null }, tags: [{ name: 'hot', color: '#ff0000' }] } })).status).toBe(204);
      const p = (await call('GET', `/api/projects/${P}`)).json;
      expect(p.attrib.fps).toBe(30);
      expect(p.data).toEqual({ b: 2 });
      expect(p.tags.map((t: any) => t.name)).toEqual(['hot']);
      expect((await call('PATCH', `/api/projects/${P}`, { body: { attrib: { fps: 'fast' } } })).status).toBe(400);
    });
  });

  describe('entities and operations', () => {
    let root: string;
    let child: string;

    it('creates with client ids (201 {id}), reads back, patches (204), inherits attributes', async () => {
      root = hex();
      const r = await call('POST', `/api/projects/${P}/folders`, { body: { id: root, name: 'seq', folderType: 'Sequence', attrib: { fps: 24 } } });
      expect(r.status).toBe(201);
      expect(r.json).toEqual({ id: root });
      child = hex();
      expect((await call('POST', `/api/projects/${P}/folders`, { body: { id: child, name: 'sh010', folder_type: 'Shot', parent_id: root } })).status).toBe(201);
      const f = (await call('GET', `/api/projects/${P}/folders/${child}`)).json;
      expect(f).toMatchObject({ id: child, name: 'sh010', path: '/seq/sh010', parentId: root, status: 'Not ready', active: true });
      expect(f.attrib.fps).toBe(24);
      expect(f.ownAttrib).toEqual([]);
      const taskId = hex();
      expect((await call('POST', `/api/projects/${P}/tasks`, { body: { id: taskId, name: 'comp', taskType: 'Compositing', folderId: child } })).status).toBe(201);
      expect((await call('PATCH', `/api/projects/${P}/folders/${root}`, { body: { attrib: { fps: 50 } } })).status).toBe(204);
      expect((await call('GET', `/api/projects/${P}/tasks/${taskId}`)).json.attrib.fps).toBe(50);
      // null reverts to the inherited value
      expect((await call('PATCH', `/api/projects/${P}/folders/${child}`, { body: { attrib: { fps: 12 } } })).status).toBe(204);
      expect((await call('PATCH', `/api/projects/${P}/folders/${child}`, { body: { attrib: { fps: null } } })).status).toBe(204);
      expect((await call('GET', `/api/projects/${P}/folders/${child}`)).json.attrib.fps).toBe(50);
    });

    it('validates names, ids, types, references and attribute values', async () => {
      const create = (body: Record<string, unknown>, type = 'folders') => call('POST', `/api/projects/${P}/${type}`, { body });
      expect((await create({ name: 'not valid!', folderType: 'Shot' })).status).toBe(400);
      expect((await create({ id: 'xyz', name: 'ok', folderType: 'Shot' })).status).toBe(400);
      expect((await create({ name: 'ok1', folderType: 'NoSuchType' })).status).toBe(409);
      expect((await create({ name: 'ok2', folderType: 'Shot', parentId: hex() })).status).toBe(409);
      expect((await create({ name: 'SH010', folderType: 'Shot', parentId: root })).status).toBe(409);
      expect((await create({ name: 'ok3', folderType: 'Shot', attrib: { fps: 'fast' } })).status).toBe(400);
      expect((await create({ name: 'ok4', folderType: 'Shot', attrib: { resolutionWidth: 0 } })).status).toBe(400);
      expect((await create({ name: 'ok5', folderType: 'Shot', attrib: { resolutionWidth: 60000 } })).status).toBe(400);
      expect((await create({ name: 'ok6', folderType: 'Shot', attrib: { priority: 'whenever' } })).status).toBe(400);
      const okId = (await create({ name: 'ok7', folderType: 'Shot', attrib: { notAnAttribute: 1, fps: '23.976' } })).json.id;
      const ok = (await call('GET', `/api/projects/${P}/folders/${okId}`)).json;
      expect(ok.attrib.fps).toBe(23.976);
      expect(ok.attrib.notAnAttribute).toBeUndefined();
      expect((await call('GET', `/api/projects/${P}/folders/not-an-id`)).status).toBe(404);
      expect((await call('PATCH', `/api/projects/${P}/folders/${root}`, { body: { parentId: root } })).status).toBe(400);
      const moved = await call('PATCH', `/api/projects/${P}/folders/${root}`, { body: { parentId: child } });
      expect(moved.status).toBe(400);
      expect(moved.json.detail).toContain('descendants');
    });

    it('parents in another project do not exist here (409)', async () => {
      const other = `other_${randomBytes(3).toString('hex')}`;
      const preset = (await call('GET', '/api/anatomy/presets/__builtin__')).json;
      expect((await call('POST', '/api/projects', { body: { name: other, code: other, anatomy: preset } })).status).toBe(201);
      const r = await call('POST', `/api/projects/${other}/folders`, { body: { name: 'x', folderType: 'Shot', parentId: root } });
      expect(r.status).toBe(409);
      expect((await call('DELETE', `/api/projects/${other}`)).status).toBe(204);
    });

    it('hero versions: negative, one per product; folders with versions are protected', async () => {
      const product = hex();
      expect((await call('POST', `/api/projects/${P}/products`, { body: { id: product, name: 'modelMain', productType: 'model', folderId: child } })).status).toBe(201);
      expect((await call('POST', `/api/projects/${P}/versions`, { body: { productId: product, version: 1 } })).status).toBe(201);
      expect((await call('POST', `/api/projects/${P}/versions`, { body: { productId: product, version: 1 } })).status).toBe(409);
      expect((await call('POST', `/api/projects/${P}/versions`, { body: { productId: product, version: -1 } })).status).toBe(201);
      const dupHero = await call('POST', `/api/projects/${P}/versions`, { body: { productId: product, version: -2 } });
      expect(dupHero.status).toBe(409);
      expect(dupHero.json.detail).toBe('Hero version already exists.');
      expect((await call('PATCH', `/api/projects/${P}/folders/${child}`, { body: { name: 'renamed' } })).status).toBe(403);
      // deleting a folder with products: 409, as AYON answers; nothing is deleted
      const del = await ops([{ type: 'delete', entityType: 'folder', entityId: root }]);
      expect(del.json.success).toBe(false);
      expect(del.json.operations[0]).toMatchObject({ success: false, status: 409, errorCode: 'delete-folder-with-children' });
      expect((await call('DELETE', `/api/projects/${P}/folders/${root}`)).status).toBe(409);
      expect((await call('GET', `/api/projects/${P}/folders/${child}`)).status).toBe(200);
    });

    it('a failed batch changes nothing; results stop at the failing operation', async () => {
      const a = hex();
      const b = hex();
      const before = await srv.app.store.db.selectFrom('ayon_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      const r = await ops([
        { id: 'op1', type: 'create', entityType: 'folder', entityId: a, data: { name: 'batch_a', folderType: 'Shot' } },
        { id: 'op2', type: 'create', entityType: 'folder', entityId: b, data: { name: 'batch_b', folderType: 'Shot', parentId: a } },
        { id: 'op3', type: 'create', entityType: 'folder', data: { name: 'bad name!', folderType: 'Shot' } },
        { id: 'op4', type: 'create', entityType: 'folder', data: { name: 'never', folderType: 'Shot' } },
      ]);
      expect(r.status).toBe(200);
      expect(r.json.success).toBe(false);
      expect(r.json.operations.map((o: any) => [o.id, o.success, o.status])).toEqual([
        ['op1', true, 201],
        ['op2', true, 201],
        ['op3', false, 400],
      ]);
      expect(r.json.operations[2].errorCode).toBe('invalid_data');
      expect((await call('GET', `/api/projects/${P}/folders/${a}`)).status).toBe(404);
      const after = await srv.app.store.db.selectFrom('ayon_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      expect(Number(after.n)).toBe(Number(before.n));
      // raiseOnError turns the failure into the HTTP answer
      const raised = await ops([{ type: 'update', entityType: 'folder', entityId: hex(), data: { label: 'x' } }], { raiseOnError: true });
      expect(raised.status).toBe(404);
      // canFail keeps the successful operations
      const c = hex();
      const cf = await ops(
        [
          { type: 'create', entityType: 'folder', entityId: c, data: { name: 'canfail', folderType: 'Shot' } },
          { type: 'create', entityType: 'folder', data: { name: 'bad name!', folderType: 'Shot' } },
        ],
        { canFail: true },
      );
      expect(cf.json.operations.map((o: any) => o.success)).toEqual([true, false]);
      expect((await call('GET', `/api/projects/${P}/folders/${c}`)).status).toBe(200);
      // shape errors answer the whole request with 400
      expect((await ops([{ type: 'update', entityType: 'folder', data: {} }])).status).toBe(400);
      expect((await ops([{ type: 'update', entityType: 'folder', entityId: c, data: { label: 'a' } }, { type: 'delete', entityType: 'folder', entityId: c }])).status).toBe(400);
    });

    it('every write writes its entity.* event in the same transaction', async () => {
      const id = hex();
      await call('POST', `/api/projects/${P}/folders`, { body: { id, name: 'evented', folderType: 'Shot' } });
      await call('PATCH', `/api/projects/${P}/folders/${id}`, { body: { status: 'Approved', label: 'Ev' } });
      await call('DELETE', `/api/projects/${P}/folders/${id}`);
      const rows = await srv.app.store.db.selectFrom('ayon_events').selectAll().where('project_name', '=', P).orderBy('seq').execute();
      const mine = rows.filter((r) => JSON.parse(r.summary).entityId === id).map((r) => r.topic);
      expect(mine).toEqual(['entity.folder.created', 'entity.folder.status_changed', 'entity.folder.label_changed', 'entity.folder.deleted']);
    });

    it('change events carry entityPath and value, and a patch to the same value records no event', async () => {
      const folder = hex();
      const task = hex();
      await call('POST', `/api/projects/${P}/folders`, { body: { id: folder, name: 'pathed', folderType: 'Shot' } });
      await call('POST', `/api/projects/${P}/tasks`, { body: { id: task, name: 'anim', taskType: 'Animation', folderId: folder, assignees: [] } });
      const since = Number((await srv.app.store.db.selectFrom('ayon_events').select((eb) => eb.fn.max('seq').as('m')).executeTakeFirstOrThrow()).m);
      expect((await call('PATCH', `/api/projects/${P}/tasks/${task}`, { body: { status: 'Approved', assignees: [] } })).status).toBe(204);
      expect((await call('PATCH', `/api/projects/${P}/tasks/${task}`, { body: { status: 'Approved', label: 'Anim' } })).status).toBe(204);
      const rows = await srv.app.store.db.selectFrom('ayon_events').selectAll().where('seq', '>', since).where('project_name', '=', P).orderBy('seq').execute();
      const mine = rows.filter((r) => JSON.parse(r.summary).entityId === task);
      // the unchanged assignees and the second, unchanged status make no events
      expect(mine.map((r) => r.topic)).toEqual(['entity.task.status_changed', 'entity.task.label_changed']);
      expect(JSON.parse(mine[0].summary)).toEqual({ entityId: task, parentId: folder, entityPath: 'pathed/anim', value: 'Approved' });
    });

    it('background operations are pollable to completion', async () => {
      const id = hex();
      const start = await call('POST', `/api/projects/${P}/operations/background`, {
        body: { operations: [{ type: 'create', entityType: 'folder', entityId: id, data: { name: 'bg', folderType: 'Shot' } }] },
      });
      expect(start.json).toMatchObject({ status: 'pending', result: null });
      let st;
      for (let i = 0; i < 50; i++) {
        st = (await call('GET', `/api/projects/${P}/operations/background/${start.json.id}`)).json;
        if (st.status === 'completed') break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(st.status).toBe('completed');
      expect(st.result.success).toBe(true);
      expect((await call('GET', `/api/projects/${P}/operations/background/${hex()}`)).status).toBe(404);
    });
  });

  describe('GraphQL', () => {
    const ids: string[] = [];
    beforeAll(async () => {
      const parent = hex();
      const list = [{ type: 'create', entityType: 'folder', entityId: parent, data: { name: 'paged', folderType: 'Folder', attrib: { frameStart: 7 } } }];
      for (let i = 0; i < 25; i++) {
        const id = hex();
        ids.push(id);
        list.push({ type: 'create', entityType: 'folder', entityId: id, data: { name: `f${String(i).padStart(2, '0')}`, folderType: 'Shot', parentId: parent, tags: i % 2 ? ['odd'] : [] } as never });
      }
      expect((await ops(list)).json.success).toBe(true);
    });

    it('pages with first/after exactly and returns JSON-as-string fields', async () => {
      const q = `query F($p: String!, $ids: [String!]) { project(name: $p) { folders(ids: $ids, first: 10 AFTER) { edges { node { id name path allAttrib data ownAttrib } } pageInfo { endCursor hasNextPage } } } }`;
      const seen: string[] = [];
      let after = '';
      for (let page = 0; page < 5; page++) {
        const r = await gql(q.replace('AFTER', after ? `, after: "${after}"` : ''), { p: P, ids });
        expect(r.errors).toBeUndefined();
        const c = r.data.project.folders;
        for (const e of c.edges) seen.push(e.node.id);
        const node = c.edges[0].node;
        expect(JSON.parse(node.allAttrib).frameStart).toBe(7);
        expect(typeof node.data).toBe('string');
        if (!c.pageInfo.hasNextPage) break;
        after = c.pageInfo.endCursor;
      }
      expect(seen).toEqual(ids);
    });

    it('pages with last/before newest first', async () => {
      const q = `query F($p: String!, $ids: [String!]) { project(name: $p) { folders(ids: $ids, last: 10 BEFORE) { edges { node { id } } pageInfo { endCursor hasPreviousPage } } } }`;
      const seen: string[] = [];
      let before = '';
      for (let page = 0; page < 5; page++) {
        const c = (await gql(q.replace('BEFORE', before ? `, before: "${before}"` : ''), { p: P, ids })).data.project.folders;
        for (const e of c.edges) seen.push(e.node.id);
        if (!c.pageInfo.hasPreviousPage) break;
        before = c.pageInfo.endCursor;
      }
      expect(seen).toEqual([...ids].reverse());
    });

    it('filters by paths, tags, pathEx, hasChildren and the QueryFilter over merged attributes', async () => {
      const q = (args: string) => gql(`query { project(name: "${P}") { folders(${args}, first: 300) { edges { node { name } } } } }`);
      const names = (r: any) => r.data.project.folders.edges.map((e: any) => e.node.name);
      expect(names(await q('paths: ["/paged/f03", "paged/f04"]'))).toEqual(['f03', 'f04']);
      expect(names(await q('tags: ["odd"]')).length).toBe(12);
      expect(names(await q('pathEx: "^/paged/f1[0-2]$"'))).toEqual(['f10', 'f11', 'f12']);
      expect(names(await q('hasChildren: true, names: ["paged"]'))).toEqual(['paged']);
      const filter = JSON.stringify(JSON.stringify({ conditions: [{ key: 'attrib.frameStart', value: 7, operator: 'eq' }, { key: 'name', value: 'f2%', operator: 'like' }] }));
      expect(names(await q(`filter: ${filter}`))).toEqual(['f20', 'f21', 'f22', 'f23', 'f24']);
      const missing = await gql(`{ project(name: "nope_nope") { name } }`);
      expect(missing.errors[0].message).toBe('Project not found');
    });

    it('an empty list filter matches nothing (no error on PostgreSQL, which refuses NUL placeholders)', async () => {
      for (const args of ['names: []', 'paths: []', 'folderTypes: []', 'statuses: []']) {
        const r = await gql(`query { project(name: "${P}") { folders(${args}, first: 300) { edges { node { name } } } } }`);
        expect(r.errors, args).toBeUndefined();
        expect(r.data.project.folders.edges, args).toEqual([]);
      }
      const tasks = await gql(`query { project(name: "${P}") { tasks(taskTypes: [], first: 300) { edges { node { name } } } products(productTypes: [], first: 300) { edges { node { name } } } } }`);
      expect(tasks.errors).toBeUndefined();
      expect(tasks.data.project.tasks.edges).toEqual([]);
      expect(tasks.data.project.products.edges).toEqual([]);
      const repre = await call('POST', `/api/projects/${P}/repreContextFilter`, { body: { names: [], context: [] } });
      expect(repre.status).toBe(200);
      expect(repre.json.ids).toEqual([]);
    });
  });

  describe('links, thumbnails, files', () => {
    it('creates link types and links; refuses self links and unknown types', async () => {
      const a = hex();
      const b = hex();
      await ops([
        { type: 'create', entityType: 'folder', entityId: a, data: { name: 'link_a', folderType: 'Asset' } },
        { type: 'create', entityType: 'folder', entityId: b, data: { name: 'link_b', folderType: 'Asset' } },
      ]);
      expect((await call('PUT', `/api/projects/${P}/links/types/uses|folder|folder`, { body: { color: '#ff0000' } })).status).toBe(204);
      const types = (await call('GET', `/api/projects/${P}/links/types`)).json.types;
      expect(types.find((t: any) => t.name === 'uses|folder|folder').data).toEqual({ color: '#ff0000' });
      const l = await call('POST', `/api/projects/${P}/links`, { body: { input: a, output: b, linkType: 'uses|folder|folder' } });
      expect(l.status).toBe(200);
      expect(l.json.id).toMatch(/^[0-9a-f]{32}$/);
      expect((await call('POST', `/api/projects/${P}/links`, { body: { input: a, output: b, linkType: 'uses|folder|folder' } })).status).toBe(409);
      expect((await call('POST', `/api/projects/${P}/links`, { body: { input: a, output: a, linkType: 'uses|folder|folder' } })).status).toBe(400);
      expect((await call('POST', `/api/projects/${P}/links`, { body: { input: a, output: b, linkType: 'nope|folder|folder' } })).status).toBe(400);
      const r = await gql(`{ project(name: "${P}") { folders(ids: ["${b}"], first: 1) { edges { node { id links(direction: "in", first: 300) { edges { id entityId entityType direction linkType } } } } } } }`);
      expect(r.data.project.folders.edges[0].node.links.edges[0]).toMatchObject({ id: l.json.id, entityId: a, direction: 'in', linkType: 'uses' });
      expect((await call('DELETE', `/api/projects/${P}/links/${l.json.id}`)).status).toBe(204);
      expect((await call('DELETE', `/api/projects/${P}/links/${l.json.id}`)).status).toBe(404);
    });

    it('thumbnails: png/jpeg only, checked by content; X-Thumbnail-Id on hits, 203 placeholder on misses', async () => {
      const up = await call('POST', `/api/projects/${P}/thumbnails`, { raw: PNG, rawType: 'image/png' });
      expect(up.status).toBe(200);
      const tid = up.json.id;
      expect((await call('POST', `/api/projects/${P}/thumbnails`, { raw: JPEG, rawType: 'image/jpeg' })).status).toBe(200);
      expect((await call('POST', `/api/projects/${P}/thumbnails`, { raw: PNG, rawType: 'image/gif' })).status).toBe(415);
      expect((await call('POST', `/api/projects/${P}/thumbnails`, { raw: JPEG, rawType: 'image/png' })).status).toBe(415);
      const folder = hex();
      await call('POST', `/api/projects/${P}/folders`, { body: { id: folder, name: 'thumbed', folderType: 'Asset', thumbnailId: tid } });
      const hit = await call('GET', `/api/projects/${P}/folders/${folder}/thumbnail`);
      expect(hit.status).toBe(200);
      expect(hit.headers.get('x-thumbnail-id')).toBe(tid);
      expect(hit.buf.equals(PNG)).toBe(true);
      const other = hex();
      await call('POST', `/api/projects/${P}/folders`, { body: { id: other, name: 'unthumbed', folderType: 'Asset' } });
      const miss = await call('GET', `/api/projects/${P}/folders/${other}/thumbnail`);
      expect(miss.status).toBe(203);
      expect(miss.headers.get('x-thumbnail-id')).toBeNull();
      expect((await call('GET', `/api/projects/${P}/folders/${other}/thumbnail?placeholder=none`)).status).toBe(404);
      expect((await call('PATCH', `/api/projects/${P}/folders/${other}`, { body: { thumbnailId: hex() } })).status).toBe(409);
    });

    it('files: upload, Content-Length, Range, refuses path tricks and oversized bodies', async () => {
      const data = randomBytes(100_000);
      const up = await call('POST', `/api/projects/${P}/files`, { raw: data, headers: { 'x-file-name': 'plate.bin' } });
      expect(up.status).toBe(201);
      const fid = up.json.id;
      const full = await call('GET', `/api/projects/${P}/files/${fid}`);
      expect(full.status).toBe(200);
      expect(full.headers.get('content-length')).toBe('100000');
      expect(full.buf.equals(data)).toBe(true);
      const part = await call('GET', `/api/projects/${P}/files/${fid}`, { headers: { range: 'bytes=1000-' } });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe('bytes 1000-99999/100000');
      expect(part.buf.equals(data.subarray(1000))).toBe(true);
      for (const name of ['../../etc/passwd', 'a/b.txt', 'a\\b.txt', '..']) {
        const bad = await call('POST', `/api/projects/${P}/files`, { raw: data.subarray(0, 10), headers: { 'x-file-name': name } });
        expect(bad.status, name).toBe(400);
      }
      const big = await call('POST', `/api/projects/${P}/files`, { raw: randomBytes(3 * 1024 * 1024), headers: { 'x-file-name': 'big.bin' } });
      expect(big.status).toBe(413);
      expect((await call('DELETE', `/api/projects/${P}/files/${fid}`)).status).toBe(204);
      expect((await call('GET', `/api/projects/${P}/files/${fid}`)).status).toBe(404);
    });
  });

  it('deletes the project (204) and everything in it', async () => {
    expect((await call('DELETE', `/api/projects/${P}`)).status).toBe(204);
    expect((await call('GET', `/api/projects/${P}`)).status).toBe(404);
    expect((await call('GET', '/api/projects')).json.projects.map((p: any) => p.name)).not.toContain(P);
    // the rows go in the background, in chunks
    await srv.app.services.ayon.projects.drain();
    for (const t of ['ayon_folders', 'ayon_tasks', 'ayon_versions', 'ayon_thumbnails', 'ayon_files'] as const) {
      const left = await srv.app.store.db.selectFrom(t).select('project_name').where('project_name', '=', P).execute();
      expect(left, t).toEqual([]);
    }
    expect(await srv.app.store.db.selectFrom('ayon_projects').select('name').where('name', '=', P).execute()).toEqual([]);
  });
});
