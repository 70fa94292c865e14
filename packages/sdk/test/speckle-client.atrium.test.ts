/**
 * SpeckleClient against a real Atrium server (in-process, on every store kind): specklepy's server and
 * active-user operations over Speckle's GraphQL wire protocol, with the answers the reference
 * (shared/reference/speckle.md §2, §4, §5) says a Speckle server gives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GraphQLError,
  SpeckleAuthError,
  SpeckleClient,
  parseServerVersion,
  type ServerInfo,
} from '../src/index.js';
import { startTestServer, storeKinds } from '../../server/test/helpers/server.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;

/** scopes of the web app's token: the only kind of token that can mint personal tokens */
const WEB_SCOPES = ['streams:read', 'streams:write', 'profile:read', 'profile:email', 'users:read', 'tokens:read', 'tokens:write', 'apps:read'];

/** §2.4: public scopes with their wire descriptions; serverInfo.scopes lists only public ones */
const PUBLIC_SCOPES = [
  { name: 'streams:read', description: 'Read your streams, and any associated information (branches, commits, objects).' },
  { name: 'streams:write', description: 'Create streams on your behalf, and any associated data (branches, commits, objects).' },
  { name: 'profile:read', description: 'Read your profile information.' },
  { name: 'profile:write', description: 'Make actions on your profile.' },
  { name: 'profile:email', description: 'Read the email address you registered with.' },
  { name: 'users:read', description: "Read other users' profiles." },
  { name: 'server:stats', description: 'Request server stats from the API. Only works in conjunction with a "server:admin" role.' },
];
const PRIVATE_SCOPES = ['profile:delete', 'users:email', 'server:setup', 'tokens:read', 'tokens:write', 'apps:read', 'apps:write'];

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

describe.each(storeKinds)('SpeckleClient against Atrium on %s', (kind) => {
  let server: TestServer;
  let admin: { id: string; email: string; name: string };
  let webToken: string;
  const client = (): SpeckleClient => new SpeckleClient({ host: server.url, useSsl: false });
  const authenticated = async (token: string): Promise<SpeckleClient> => {
    const c = client();
    await c.authenticateWithToken(token);
    return c;
  };

  beforeAll(async () => {
    server = await startTestServer(kind);
    admin = await server.createUser({ name: 'Ada Admin', admin: true });
    webToken = await server.createToken(admin.id, WEB_SCOPES, { name: 'web' });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('answers the anonymous version probe specklepy sends on start-up', async () => {
    const c = client();
    const version = await c.getServerVersion();
    expect(version).not.toBeNull();
    expect(c.serverVersion).toEqual(version);
  });

  it('authenticateWithToken checks the token and fills account.userInfo and account.serverInfo', async () => {
    const c = client();
    const account = await c.authenticateWithToken(webToken);
    expect(c.isAuthenticated).toBe(true);
    expect(account.token).toBe(webToken);
    // the token has profile:email, so the user's own email is visible
    expect(account.userInfo).toEqual({ id: admin.id, name: 'Ada Admin', email: admin.email, company: null, avatar: null });
    expect(account.serverInfo.url).toBe(server.url);
    expect(account.serverInfo.name).toBe('My new Speckle Server');
    expect(c.serverVersion).toEqual(parseServerVersion(account.serverInfo.version!));
  });

  it('server.get returns every field specklepy asks for, with Speckle defaults', async () => {
    const c = await authenticated(webToken);
    const info: ServerInfo = await c.server.get();
    expect(Object.keys(info).sort()).toEqual(
      ['adminContact', 'authStrategies', 'canonicalUrl', 'company', 'description', 'name', 'scopes', 'version', 'workspaces'].sort(),
    );
    expect(info.name).toBe('My new Speckle Server');
    expect(info.company).toBe('Unknown Company');
    expect(info.description).toBe('This a community deployment of a Speckle Server.');
    expect(info.adminContact).toBe('n/a');
    expect(info.canonicalUrl).toBe(new URL(server.url).origin);
    expect(typeof info.version).toBe('string');
    expect(info.workspaces).toEqual({ workspacesEnabled: false });
    expect(info.authStrategies).toContainEqual({ id: 'local', name: 'Local', icon: 'TODO' });
    for (const strategy of info.authStrategies!) expect(Object.keys(strategy).sort()).toEqual(['icon', 'id', 'name']);
    // only public scopes, each {name, description}
    for (const scope of PUBLIC_SCOPES) expect(info.scopes).toContainEqual(scope);
    const names = info.scopes!.map((s) => s.name);
    for (const hidden of PRIVATE_SCOPES) expect(names).not.toContain(hidden);
    for (const scope of info.scopes!) expect(Object.keys(scope).sort()).toEqual(['description', 'name']);
    // serverInfo needs no authentication: anonymous clients get the same answer
    expect(await client().server.get()).toEqual(info);
  });

  it('server.version parses the reported version: dev, or a release at least 2.6.4', async () => {
    const c = await authenticated(webToken);
    const info = await c.server.get();
    const version = await c.server.version();
    expect(version).toEqual(parseServerVersion(info.version!));
    if (version[0] !== 'dev') {
      const [major, minor, patch] = version;
      expect([typeof major, typeof minor, typeof patch]).toEqual(['number', 'number', 'number']);
      const n = (major as number) * 1e6 + (minor as number) * 1e3 + (patch as number);
      expect(n).toBeGreaterThanOrEqual(2 * 1e6 + 6 * 1e3 + 4);
    }
  });

  it('server.apps lists the default apps (needs apps:read)', async () => {
    const c = await authenticated(webToken);
    const apps = await c.server.apps();
    const ids = apps.map((a) => a.id);
    for (const id of ['spklwebapp', 'sdm', 'connectrV3']) expect(ids).toContain(id);
    for (const app of apps) {
      expect(Object.keys(app).sort()).toEqual(['author', 'description', 'id', 'logo', 'name', 'termsAndConditionsLink', 'trustByDefault']);
      expect(typeof app.name).toBe('string');
    }
    const web = apps.find((a) => a.id === 'spklwebapp')!;
    expect(web.name).toBe('Speckle Web Manager');
    expect(web.trustByDefault).toBe(true);

    const noAppsScope = await server.createToken(admin.id, ['profile:read'], { name: 'no apps:read' });
    const err = await rejection((await authenticated(noAppsScope)).server.apps());
    expect(err).toBeInstanceOf(GraphQLError);
    expect((err as GraphQLError).code).toBe('FORBIDDEN');
  });

  it('server.createToken mints a personal token that authenticates; without profile:email the email is hidden', async () => {
    const c = await authenticated(webToken);
    const token = await c.server.createToken('sdk test', ['profile:read', 'streams:read'], 3_600_000);
    expect(token).toMatch(/^[0-9a-f]{42}$/);
    const other = await authenticated(token);
    const me = await other.activeUser.get();
    expect(me).toMatchObject({ id: admin.id, name: 'Ada Admin', email: null, role: 'server:admin' });
    expect(other.account.userInfo.id).toBe(admin.id);
  });

  it('createToken lifespan is in milliseconds: a 1000 ms token is refused after 1.5 s', async () => {
    const c = await authenticated(webToken);
    const token = await c.server.createToken('short-lived', ['profile:read'], 1000);
    await authenticated(token);
    await new Promise((r) => setTimeout(r, 1500));
    const err = await rejection(client().authenticateWithToken(token));
    expect(err).toBeInstanceOf(SpeckleAuthError);
    expect((err as SpeckleAuthError).status).toBe(403);
  });

  it('createToken refuses tokens:write and scopes the caller does not hold', async () => {
    const c = await authenticated(webToken);
    const withWrite = await rejection(c.server.createToken('x', ['profile:read', 'tokens:write'], 60_000));
    expect(withWrite).toBeInstanceOf(GraphQLError);
    expect((withWrite as GraphQLError).code).toBe('TOKEN_CREATE_ERROR');
    expect((withWrite as GraphQLError).message).toBe("You can't create a personal access token with the tokens:write scope");

    const notHeld = await rejection(c.server.createToken('x', ['profile:read', 'server:setup'], 60_000));
    expect(notHeld).toBeInstanceOf(GraphQLError);
    expect((notHeld as GraphQLError).message).toBe("You can't create a token with scopes that you don't have");

    const noWriteToken = await server.createToken(admin.id, ['profile:read'], { name: 'no tokens:write' });
    const forbidden = await rejection((await authenticated(noWriteToken)).server.createToken('x', ['profile:read'], 60_000));
    expect(forbidden).toBeInstanceOf(GraphQLError);
    expect((forbidden as GraphQLError).code).toBe('FORBIDDEN');
  });

  it('server.revokeToken revokes: the token then fails with SpeckleAuthError on every call', async () => {
    const c = await authenticated(webToken);
    const token = await c.server.createToken('to revoke', ['profile:read'], 3_600_000);
    const holder = await authenticated(token);

    expect(await c.server.revokeToken(token)).toBe(true);

    const err = await rejection(client().authenticateWithToken(token));
    expect(err).toBeInstanceOf(SpeckleAuthError);
    expect((err as SpeckleAuthError).status).toBe(403);
    expect((err as SpeckleAuthError).message).toBe('Your token is not valid.');
    // a client authenticated before the revocation is refused too, even for serverInfo (no auth needed)
    const later = await rejection(holder.server.get());
    expect(later).toBeInstanceOf(SpeckleAuthError);

    // nothing left to revoke
    const again = await rejection(c.server.revokeToken(token));
    expect(again).toBeInstanceOf(GraphQLError);
    expect((again as GraphQLError).code).toBe('USER_INPUT_ERROR');
  });

  it('revokeToken accepts the "Bearer <token>" form', async () => {
    const c = await authenticated(webToken);
    const token = await c.server.createToken('bearer form', ['profile:read'], 3_600_000);
    expect(await c.server.revokeToken(`Bearer ${token}`)).toBe(true);
    await expect(client().authenticateWithToken(token)).rejects.toBeInstanceOf(SpeckleAuthError);
  });

  it('activeUser.get returns the user with its server role, and null when anonymous', async () => {
    const c = await authenticated(webToken);
    const me = await c.activeUser.get();
    expect(me).not.toBeNull();
    expect(Object.keys(me!).sort()).toEqual(['avatar', 'bio', 'company', 'email', 'id', 'name', 'role', 'verified']);
    expect(me).toMatchObject({ id: admin.id, email: admin.email, name: 'Ada Admin', bio: null, company: null, avatar: null, role: 'server:admin' });
    expect(me!.verified === null || typeof me!.verified === 'boolean').toBe(true);

    const user = await server.createUser({ name: 'Plain User' });
    const userToken = await server.createToken(user.id, ['profile:read', 'profile:email'], { name: 'user' });
    expect(await (await authenticated(userToken)).activeUser.get()).toMatchObject({ id: user.id, name: 'Plain User', email: user.email, role: 'server:user' });

    expect(await client().activeUser.get()).toBeNull();
  });

  it('a token without profile:read fails authentication with GraphQLError FORBIDDEN', async () => {
    const token = await server.createToken(admin.id, ['streams:read'], { name: 'no profile:read' });
    const c = client();
    const err = await rejection(c.authenticateWithToken(token));
    expect(err).toBeInstanceOf(GraphQLError);
    expect((err as GraphQLError).code).toBe('FORBIDDEN');
    expect((err as GraphQLError).message).toBe('Your auth token does not have the required scope: profile:read.');
    expect(c.isAuthenticated).toBe(false);
  });

  it.each([
    ['a well-formed token that does not exist', '0123456789abcdef0123456789abcdef0123456789'],
    ['a malformed token', 'not-a-token'],
    ['a valid token id with a wrong secret', 'WRONG_SECRET'],
  ])('%s fails with SpeckleAuthError 403 "Your token is not valid."', async (_what, token) => {
    const attempt = token === 'WRONG_SECRET' ? `${webToken.slice(0, 10)}${'0'.repeat(32)}` : token;
    const err = await rejection(client().authenticateWithToken(attempt));
    expect(err).toBeInstanceOf(SpeckleAuthError);
    expect((err as SpeckleAuthError).status).toBe(403);
    expect((err as SpeckleAuthError).message).toBe('Your token is not valid.');
  });
});
