import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, storeKinds, type TestServer } from './helpers/server.js';
import { gql } from './helpers/http.js';

const SERVER_GET =
  'query Server {\n  serverInfo {\n    name\n    company\n    description\n    adminContact\n    canonicalUrl\n    version\n    scopes {\n      name\n      description\n    }\n    authStrategies {\n      id\n      name\n      icon\n    }\n    workspaces {\n      workspacesEnabled\n    }\n  }\n}';
const ACTIVE_USER = 'query User {\n  data: activeUser {\n    id\n    email\n    name\n    bio\n    company\n    avatar\n    verified\n    role\n  }\n}';
const TOKEN_CREATE = 'mutation TokenCreate($token: ApiTokenCreateInput!) {\n  apiTokenCreate(token: $token)\n}';
const TOKEN_REVOKE = 'mutation TokenRevoke($token: String!) {\n  apiTokenRevoke(token: $token)\n}';

describe.each(storeKinds)('Speckle GraphQL foundation on %s', (kind) => {
  let srv: TestServer;
  let admin: { id: string; email: string };
  let adminToken: string;
  let plain: { id: string; email: string };
  beforeAll(async () => {
    srv = await startTestServer(kind);
    admin = await srv.createUser({ admin: true, email: 'admin@example.com', name: 'Ada Admin' });
    adminToken = await srv.createToken(admin.id, ['tokens:write', 'tokens:read', 'profile:read', 'profile:email', 'users:read', 'streams:read', 'apps:read', 'server:setup']);
    plain = await srv.createUser({ email: 'plain@example.com', name: 'Plain Person' });
  });
  afterAll(() => srv.close());

  it('answers serverInfo anonymously with every field specklepy reads', async () => {
    const { status, body } = await gql(srv.url, SERVER_GET);
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    const info = body.data.serverInfo;
    expect(info).toMatchObject({
      name: 'My new Speckle Server',
      company: 'Unknown Company',
      adminContact: 'n/a',
      canonicalUrl: srv.url,
      version: '2.31.14',
      workspaces: { workspacesEnabled: false },
    });
    expect(info.scopes).toContainEqual({ name: 'streams:read', description: 'Read your streams, and any associated information (branches, commits, objects).' });
    expect(info.scopes.map((s: { name: string }) => s.name)).not.toContain('tokens:write');
    expect(info.authStrategies).toEqual([{ id: 'local', name: 'Local', icon: 'TODO' }]);
  });

  it('serves the version probe specklepy sends before authenticating', async () => {
    const { status, body } = await gql(srv.url, 'query Server {\n  serverInfo {\n    version\n  }\n}');
    expect(status).toBe(200);
    expect(body).toEqual({ data: { serverInfo: { version: '2.31.14' } } });
  });

  it('reports the configured limits and roles', async () => {
    const { body } = await gql(srv.url, '{ serverInfo { configuration { objectSizeLimitBytes objectMultipartUploadSizeLimitBytes blobSizeLimitBytes isEmailEnabled } serverRoles { id title } guestModeEnabled } }');
    expect(body.data.serverInfo.configuration).toEqual({
      objectSizeLimitBytes: 104857600,
      objectMultipartUploadSizeLimitBytes: 104857600,
      blobSizeLimitBytes: 104857600,
      isEmailEnabled: false,
    });
    expect(body.data.serverInfo.serverRoles.map((r: { id: string }) => r.id)).toEqual(['server:admin', 'server:user', 'server:archived-user']);
  });

  it('answers 403 {"error":"Your token is not valid."} for an unknown, malformed or revoked token, on every route', async () => {
    const unknown = 'a'.repeat(42);
    for (const token of [unknown, 'garbage']) {
      const g = await gql(srv.url, SERVER_GET, undefined, token);
      expect(g.status).toBe(403);
      expect(g.body).toEqual({ error: 'Your token is not valid.' });
      const ping = await fetch(`${srv.url}/api/ping`, { headers: { authorization: `Bearer ${token}` } });
      expect(ping.status).toBe(403);
    }
  });

  it('treats an empty Authorization header as anonymous', async () => {
    const res = await fetch(`${srv.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: '' },
      body: JSON.stringify({ query: ACTIVE_USER }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: { data: null } });
  });

  it('returns the active user, with the email only when the token has profile:email', async () => {
    const { body } = await gql(srv.url, ACTIVE_USER, undefined, adminToken);
    expect(body).toEqual({
      data: { data: { id: admin.id, email: 'admin@example.com', name: 'Ada Admin', bio: null, company: null, avatar: null, verified: false, role: 'server:admin' } },
    });
    const noEmail = await srv.createToken(admin.id, ['profile:read']);
    const r2 = await gql(srv.url, ACTIVE_USER, undefined, noEmail);
    expect(r2.body.data.data.email).toBeNull();
  });

  it('refuses activeUser to a token without profile:read with FORBIDDEN', async () => {
    const t = await srv.createToken(admin.id, ['streams:read']);
    const { status, body } = await gql(srv.url, ACTIVE_USER, undefined, t);
    expect(status).toBe(200);
    expect(body.errors[0].message).toBe('Your auth token does not have the required scope: profile:read.');
    expect(body.errors[0].extensions.code).toBe('FORBIDDEN');
  });

  it('creates a personal token whose scopes work, and revokes it', async () => {
    const created = await gql(srv.url, TOKEN_CREATE, { token: { scopes: ['profile:read', 'streams:read'], name: 'ci', lifespan: 3600_000 } }, adminToken);
    expect(created.body.errors).toBeUndefined();
    const pat = created.body.data.apiTokenCreate as string;
    expect(pat).toMatch(/^[0-9a-f]{42}$/);
    const me = await gql(srv.url, ACTIVE_USER, undefined, pat);
    expect(me.body.data.data.id).toBe(admin.id);
    const listed = await gql(srv.url, '{ activeUser { apiTokens { id name lastChars scopes lifespan } } }', undefined, adminToken);
    expect(listed.body.data.activeUser.apiTokens).toContainEqual({ id: pat.slice(0, 10), name: 'ci', lastChars: pat.slice(-6), scopes: expect.arrayContaining(['profile:read', 'streams:read']), lifespan: 3600000 });
    const revoked = await gql(srv.url, TOKEN_REVOKE, { token: pat }, adminToken);
    expect(revoked.body).toEqual({ data: { apiTokenRevoke: true } });
    const after = await gql(srv.url, ACTIVE_USER, undefined, pat);
    expect(after.status).toBe(403);
    expect(after.body).toEqual({ error: 'Your token is not valid.' });
  });

  it('refuses tokens:write, scopes the caller lacks, unknown scopes and no scopes, storing nothing', async () => {
    const cases: Array<[string[], string]> = [
      [['tokens:write'], "You can't create a personal access token with the tokens:write scope"],
      [['users:email'], "You can't create a token with scopes that you don't have"],
      [['streams:fly'], "You can't create a token with scopes that you don't have"],
      [[], 'No scopes provided'],
    ];
    const before = await srv.app.store.db.selectFrom('api_tokens').select('id').execute();
    for (const [scopes, message] of cases) {
      const r = await gql(srv.url, TOKEN_CREATE, { token: { scopes, name: 'x' } }, adminToken);
      expect(r.body.errors[0].message).toBe(message);
      expect(r.body.errors[0].extensions.code).toBe('TOKEN_CREATE_ERROR');
      expect(r.body.data).toBeNull();
    }
    const bad = await gql(srv.url, TOKEN_CREATE, { token: { scopes: ['profile:read'], name: 'x', lifespan: -1 } }, adminToken);
    expect(bad.body.errors[0].extensions.code).toBe('TOKEN_CREATE_ERROR');
    const after = await srv.app.store.db.selectFrom('api_tokens').select('id').execute();
    expect(after.length).toBe(before.length);
  });

  it('refuses token creation to a token without tokens:write', async () => {
    const t = await srv.createToken(admin.id, ['profile:read']);
    const r = await gql(srv.url, TOKEN_CREATE, { token: { scopes: ['profile:read'], name: 'x' } }, t);
    expect(r.body.errors[0]).toMatchObject({ message: 'Your auth token does not have the required scope: tokens:write.', extensions: { code: 'FORBIDDEN' } });
  });

  it("cannot revoke another user's token", async () => {
    const other = await srv.createToken(plain.id, ['profile:read']);
    const r = await gql(srv.url, TOKEN_REVOKE, { token: other }, adminToken);
    expect(r.body.errors[0]).toMatchObject({ message: 'Did not revoke token', extensions: { code: 'USER_INPUT_ERROR' } });
    expect((await gql(srv.url, ACTIVE_USER, undefined, other)).status).toBe(200);
  });

  it('lists the default apps with the fields specklepy reads', async () => {
    const r = await gql(srv.url, 'query Apps {\n  apps {\n    id\n    name\n    description\n    termsAndConditionsLink\n    trustByDefault\n    logo\n    author {\n      id\n      name\n      avatar\n    }\n  }\n}', undefined, adminToken);
    expect(r.body.errors).toBeUndefined();
    const ids = r.body.data.apps.map((a: { id: string }) => a.id);
    expect(ids).toEqual(expect.arrayContaining(['spklwebapp', 'explorer', 'sdm', 'sca', 'sdas', 'sdui', 'connectrV3', 'spklexcel', 'spklpwerbi', 'spklautoma']));
    expect(r.body.data.apps[0]).toHaveProperty('author', null);
  });

  it('shows another user to users:read holders, without email', async () => {
    const r = await gql(srv.url, 'query LimitedUser($id: String!) {\n  data: otherUser(id: $id) {\n    id\n    name\n    role\n  }\n}', { id: plain.id }, adminToken);
    expect(r.body).toEqual({ data: { data: { id: plain.id, name: 'Plain Person', role: 'server:user' } } });
  });

  it('searches users and enforces the 3-character minimum', async () => {
    const r = await gql(srv.url, 'query($q: String!) { userSearch(query: $q, limit: 10) { cursor items { id name } } }', { q: 'plain' }, adminToken);
    expect(r.body.data.userSearch.items).toEqual([{ id: plain.id, name: 'Plain Person' }]);
    const short = await gql(srv.url, '{ userSearch(query: "pl") { items { id } } }', undefined, adminToken);
    expect(short.body.errors[0].message).toBe('Search query must be at least 3 characters.');
  });

  it('lets an admin with server:setup edit server info, and nobody else', async () => {
    const m = 'mutation($i: ServerInfoUpdateInput!) { serverInfoUpdate(info: $i) }';
    const userToken = await srv.createToken(plain.id, ['server:setup', 'profile:read']);
    const denied = await gql(srv.url, m, { i: { name: 'Hacked' } }, userToken);
    expect(denied.body.errors[0].extensions.code).toBe('FORBIDDEN');
    const ok = await gql(srv.url, m, { i: { name: 'Atrium Test', company: 'ACME' } }, adminToken);
    expect(ok.body).toEqual({ data: { serverInfoUpdate: true } });
    const info = await gql(srv.url, '{ serverInfo { name company } }');
    expect(info.body.data.serverInfo).toEqual({ name: 'Atrium Test', company: 'ACME' });
  });

  it('answers 400 for syntax errors, unknown fields and wrongly typed variables', async () => {
    const syntax = await gql(srv.url, 'query {');
    expect(syntax.status).toBe(400);
    expect(syntax.body.errors[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
    const unknown = await gql(srv.url, '{ serverInfo { nope } }');
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const wrongType = await gql(srv.url, TOKEN_CREATE, { token: { scopes: 'profile:read', name: 5 } }, adminToken);
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('answers malformed JSON, missing query and simple content types with 400', async () => {
    const post = (body: string, ct = 'application/json') =>
      fetch(`${srv.url}/graphql`, { method: 'POST', headers: { 'content-type': ct }, body });
    const malformed = await post('{"query": ');
    expect(malformed.status).toBe(400);
    expect((await malformed.json()).error.code).toBe('BAD_REQUEST_ERROR');
    expect((await post('{"variables": {}}')).status).toBe(400);
    expect((await post('{"query": "{ serverInfo { name } }"}', 'text/plain')).status).toBe(400);
  });

  it('executes batched operations in order', async () => {
    const res = await fetch(`${srv.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ query: '{ serverInfo { version } }' }, { query: '{ serverInfo { guestModeEnabled } }' }]),
    });
    expect(await res.json()).toEqual([{ data: { serverInfo: { version: '2.31.14' } } }, { data: { serverInfo: { guestModeEnabled: false } } }]);
  });
});

describe('request size limit', () => {
  it('answers 413 to a body over ATRIUM_MAX_REQUEST_BODY_MB', async () => {
    const srv = await startTestServer('sqlite', { ATRIUM_MAX_REQUEST_BODY_MB: '1' });
    try {
      const big = JSON.stringify({ query: '{ serverInfo { name } }', variables: { pad: 'x'.repeat(1024 * 1024 + 10) } });
      const res = await fetch(`${srv.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
      expect(res.status).toBe(413);
      expect((await res.json()).error.code).toBe('PAYLOAD_TOO_LARGE');
    } finally {
      await srv.close();
    }
  });
});
