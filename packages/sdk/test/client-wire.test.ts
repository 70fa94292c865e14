/**
 * What SpeckleClient puts on the wire, checked on a real HTTP server on loopback that answers like a
 * Speckle server: the exact documents and bodies specklepy sends, headers before and after
 * authentication, the lazy version probe, and validation of answers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  ACTIVE_USER_GET_QUERY,
  SERVER_APPS_QUERY,
  SERVER_GET_QUERY,
  SERVER_VERSION_QUERY,
  SDK_NAME,
  SDK_VERSION,
  SpeckleAuthError,
  SpeckleClient,
  SpeckleError,
  SpeckleTransportError,
  TOKEN_CREATE_MUTATION,
  TOKEN_REVOKE_MUTATION,
} from '../src/index.js';
import { json, startHttpServer, type TestHttpServer } from './helpers/httpServer.js';

const TOKEN = 'aaaaaaaaaabbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const USER = { id: 'u1', email: null, name: 'Ada', bio: null, company: 'Atrium', avatar: null, verified: true, role: 'server:admin' };
const INFO = {
  name: 'Fake',
  company: 'Unknown Company',
  description: 'd',
  adminContact: 'n/a',
  canonicalUrl: 'http://x',
  version: '2.6.4-alpha.4711',
  scopes: [{ name: 'profile:read', description: 'Read your profile information.' }],
  authStrategies: [{ id: 'local', name: 'Local', icon: 'TODO' }],
  workspaces: { workspacesEnabled: false },
};

interface FakeOptions {
  user?: unknown;
  info?: unknown;
  acceptToken?: string;
}

/** A loopback server that answers the documents of the server and active-user resources. */
async function fakeSpeckle(opts: FakeOptions = {}): Promise<TestHttpServer> {
  return startHttpServer((req, res) => {
    const auth = req.headers.authorization;
    if (auth !== undefined && auth !== '' && auth !== `Bearer ${opts.acceptToken ?? TOKEN}`) {
      return json(res, 403, { error: 'Your token is not valid.' });
    }
    if (req.method !== 'POST' || req.path !== '/graphql') return json(res, 404, { error: 'not found' });
    const { query, variables } = JSON.parse(req.body) as { query: string; variables?: Record<string, unknown> };
    switch (query) {
      case SERVER_VERSION_QUERY:
        return json(res, 200, { data: { serverInfo: { version: (INFO as { version: string }).version } } });
      case SERVER_GET_QUERY:
        return json(res, 200, { data: { serverInfo: opts.info ?? INFO } });
      case ACTIVE_USER_GET_QUERY:
        return json(res, 200, { data: { data: auth ? ('user' in opts ? opts.user : USER) : null } });
      case SERVER_APPS_QUERY:
        return json(res, 200, { data: { apps: [{ id: 'sdm', name: 'Speckle Desktop Manager' }, null] } });
      case TOKEN_CREATE_MUTATION:
        return json(res, 200, { data: { apiTokenCreate: `new-token-for-${(variables?.token as { name: string }).name}` } });
      case TOKEN_REVOKE_MUTATION:
        return json(res, 200, { data: { apiTokenRevoke: true } });
      default:
        return json(res, 400, { errors: [{ message: `unknown document ${query}`, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] });
    }
  });
}

const servers: TestHttpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
async function setup(opts?: FakeOptions): Promise<{ server: TestHttpServer; client: SpeckleClient }> {
  const server = await fakeSpeckle(opts);
  servers.push(server);
  return { server, client: new SpeckleClient({ host: server.url, useSsl: false }) };
}

describe('SpeckleClient on the wire', () => {
  it('sends nothing when constructed; getServerVersion probes once, anonymously, like specklepy', async () => {
    const { server, client } = await setup();
    await new Promise((r) => setTimeout(r, 50));
    expect(server.requests).toHaveLength(0);
    expect(client.serverVersion).toBeUndefined();

    const [a, b] = await Promise.all([client.getServerVersion(), client.getServerVersion()]);
    expect(a).toEqual([2, 6, 4, 'alpha', 4711]);
    expect(b).toBe(a);
    expect(await client.getServerVersion()).toBe(a);
    expect(client.serverVersion).toBe(a);
    expect(server.requests).toHaveLength(1);
    const probe = server.requests[0]!;
    expect(probe.method).toBe('POST');
    expect(probe.path).toBe('/graphql');
    expect(probe.headers['content-type']).toBe('application/json');
    expect(probe.headers.authorization).toBeUndefined();
    // {"query"} only: no "variables" when there are none, never "operationName"
    expect(JSON.parse(probe.body)).toEqual({ query: 'query Server {serverInfo {version}}' });
  });

  it('a failed probe gives null and is asked again next time', async () => {
    const gone = await startHttpServer(() => undefined);
    await gone.close();
    const client = new SpeckleClient({ host: gone.url, useSsl: false, retry: { retries: 0 } });
    expect(await client.getServerVersion()).toBeNull();
    expect(client.serverVersion).toBeNull();
    expect(await client.getServerVersion()).toBeNull();
  });

  it('authenticateWithToken checks the token with activeUser, reads serverInfo and fills the account', async () => {
    const { server, client } = await setup();
    const account = await client.authenticateWithToken(TOKEN);

    expect(server.requests.map((r) => JSON.parse(r.body))).toEqual([
      { query: ACTIVE_USER_GET_QUERY },
      { query: SERVER_GET_QUERY },
    ]);
    for (const r of server.requests) {
      expect(r.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['apollographql-client-name']).toBe(SDK_NAME);
      expect(r.headers['apollographql-client-version']).toBe(SDK_VERSION);
    }
    expect(client.isAuthenticated).toBe(true);
    expect(account).toBe(client.account);
    expect(account.token).toBe(TOKEN);
    expect(account.userInfo).toEqual({ id: 'u1', name: 'Ada', email: null, company: 'Atrium', avatar: null });
    expect(account.serverInfo).toEqual({ ...INFO, url: server.url });
    expect(client.serverVersion).toEqual([2, 6, 4, 'alpha', 4711]);
    // the version is known: no extra probe
    expect(await client.getServerVersion()).toEqual([2, 6, 4, 'alpha', 4711]);
    expect(server.requests).toHaveLength(2);
  });

  it('a refused token fails with SpeckleAuthError and leaves the client anonymous', async () => {
    const { server, client } = await setup();
    await expect(client.authenticateWithToken('bad'.padEnd(42, '0'))).rejects.toBeInstanceOf(SpeckleAuthError);
    expect(client.isAuthenticated).toBe(false);
    expect(client.account.token).toBeNull();
    expect(server.requests).toHaveLength(1);
    await client.server.version();
    expect(server.requests[1]!.headers.authorization).toBeUndefined();
  });

  it('a token the server treats as anonymous does not authenticate', async () => {
    const { client } = await setup({ user: null });
    // the fake answers activeUser null for this token
    const err = await client.authenticateWithToken(TOKEN).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpeckleAuthError);
    expect(client.isAuthenticated).toBe(false);
  });

  it('resources obtained before authentication use the token afterwards', async () => {
    const { server, client } = await setup();
    const serverResource = client.server;
    await client.authenticateWithToken(TOKEN);
    await serverResource.version();
    expect(server.requests.at(-1)!.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });

  it('createToken sends {token: {scopes, name, lifespan}} and returns the token; revokeToken sends {token}', async () => {
    const { server, client } = await setup();
    await client.authenticateWithToken(TOKEN);
    expect(await client.server.createToken('ci', ['streams:read'], 86_400_000)).toBe('new-token-for-ci');
    expect(server.requests.at(-1)!.body).toBe(
      JSON.stringify({ query: TOKEN_CREATE_MUTATION, variables: { token: { scopes: ['streams:read'], name: 'ci', lifespan: 86_400_000 } } }),
    );
    expect(await client.server.revokeToken('abc')).toBe(true);
    expect(JSON.parse(server.requests.at(-1)!.body)).toEqual({ query: TOKEN_REVOKE_MUTATION, variables: { token: 'abc' } });
  });

  it('createToken refuses a lifespan that is not an integer, before sending anything', async () => {
    const { server, client } = await setup();
    await expect(client.server.createToken('x', ['profile:read'], 1.5)).rejects.toBeInstanceOf(SpeckleError);
    expect(server.requests).toHaveLength(0);
  });

  it('apps returns the list the server sent, without null entries', async () => {
    const { client } = await setup();
    expect(await client.server.apps()).toEqual([{ id: 'sdm', name: 'Speckle Desktop Manager' }]);
  });

  it.each([
    ['serverInfo.workspaces without workspacesEnabled', { info: { ...INFO, workspaces: { workspacesEnabled: null } } }, 'get'],
    ['an activeUser without a name', { user: { ...USER, name: null } }, 'user'],
  ] as const)('rejects %s (specklepy would fail validation)', async (_what, opts, call) => {
    const { client } = await setup(opts);
    if (call === 'get') {
      await expect(client.server.get()).rejects.toBeInstanceOf(SpeckleTransportError);
    } else {
      await expect(client.authenticateWithToken(TOKEN)).rejects.toThrow(/string id and name/);
    }
  });
});
