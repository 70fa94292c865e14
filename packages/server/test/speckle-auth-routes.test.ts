import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, storeKinds, type TestServer } from './helpers/server.js';
import { gql } from './helpers/http.js';

const post = (url: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

const codeFrom = (res: Response) => new URL(res.headers.get('location')!).searchParams.get('access_code')!;

describe.each(storeKinds)('Speckle /auth routes on %s', (kind) => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer(kind, { ATRIUM_LOGIN_RATE_LIMIT: '5' });
  });
  afterAll(() => srv.close());

  it('registers a user, redirects with an access code and exchanges it for a web-app token that can mint PATs', async () => {
    const reg = await post(srv.url, '/auth/local/register?challenge=c1', { email: 'Reg@Example.com', password: 'a good password', name: 'Reggie' });
    expect(reg.status).toBe(302);
    expect(reg.headers.get('location')).toMatch(new RegExp(`^${srv.url}/\\?access_code=[0-9a-f]{42}&register=true$`));
    const tok = await post(srv.url, '/auth/token', { appId: 'spklwebapp', appSecret: 'spklwebapp', accessCode: codeFrom(reg), challenge: 'c1' });
    expect(tok.status).toBe(200);
    const { token, refreshToken } = await tok.json();
    expect(token).toMatch(/^[0-9a-f]{42}$/);
    const pat = await gql(srv.url, 'mutation($t: ApiTokenCreateInput!) { apiTokenCreate(token: $t) }', { t: { name: 'x', scopes: ['profile:read'] } }, token);
    expect(pat.body.data.apiTokenCreate).toMatch(/^[0-9a-f]{42}$/);
    // the refresh token gives a new pair, once
    const r1 = await post(srv.url, '/auth/token', { appId: 'spklwebapp', appSecret: 'spklwebapp', refreshToken });
    expect(r1.status).toBe(200);
    expect(r1.headers.get('cache-control')).toBe('no-cache, no-store');
    const r2 = await post(srv.url, '/auth/token', { appId: 'spklwebapp', appSecret: 'spklwebapp', refreshToken });
    expect(r2.status).toBe(401);
  });

  it('refuses an access code used twice, with the wrong challenge or the wrong app secret', async () => {
    const login = async () => codeFrom(await post(srv.url, '/auth/local/login?challenge=c2', { email: 'reg@example.com', password: 'a good password' }));
    const code = await login();
    expect((await post(srv.url, '/auth/token', { appId: 'spklwebapp', appSecret: 'nope', accessCode: code, challenge: 'c2' })).status).toBe(401);
    const code2 = await login();
    const wrongChallenge = await post(srv.url, '/auth/token', { appId: 'spklwebapp', appSecret: 'spklwebapp', accessCode: code2, challenge: 'other' });
    expect(wrongChallenge.status).toBe(401);
    expect(await wrongChallenge.json()).toHaveProperty('err');
    const code3 = await login();
    expect((await post(srv.url, '/auth/token', { appId: 'spklwebapp', appSecret: 'spklwebapp', accessCode: code3, challenge: 'c2' })).status).toBe(200);
    expect((await post(srv.url, '/auth/token', { appId: 'spklwebapp', appSecret: 'spklwebapp', accessCode: code3, challenge: 'c2' })).status).toBe(401);
  });

  it('answers a failed login with 401 "Invalid credentials." whether or not the account exists', async () => {
    const wrong = await post(srv.url, '/auth/local/login?challenge=c', { email: 'reg@example.com', password: 'wrong password' });
    const missing = await post(srv.url, '/auth/local/login?challenge=c', { email: 'ghost@example.com', password: 'wrong password' });
    expect(wrong.status).toBe(401);
    expect(missing.status).toBe(401);
    expect(await wrong.json()).toEqual({ err: true, message: 'Invalid credentials.' });
    expect(await missing.json()).toEqual({ err: true, message: 'Invalid credentials.' });
  });

  it('accepts the login form encoded as application/x-www-form-urlencoded', async () => {
    const res = await fetch(`${srv.url}/auth/local/login?challenge=f`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ email: 'reg@example.com', password: 'a good password' }).toString(),
    });
    expect(res.status).toBe(302);
  });

  it('rate limits repeated login failures with 429 and Retry-After', async () => {
    let last: Response | undefined;
    for (let i = 0; i < 7; i++) last = await post(srv.url, '/auth/local/login?challenge=c', { email: 'victim@example.com', password: 'guess ' + i });
    expect(last!.status).toBe(429);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await last!.json()).error.code).toBe('RATE_LIMIT_ERROR');
  });

  it('refuses duplicate emails and weak passwords at registration, creating nobody', async () => {
    const before = await srv.app.services.identity.countUsers();
    const dup = await post(srv.url, '/auth/local/register?challenge=c', { email: 'REG@example.com', password: 'a good password', name: 'Dup' });
    expect(dup.status).toBe(400);
    expect(await dup.json()).toEqual({ error: { message: 'Email taken. Try logging in?', code: 'USER_INPUT_ERROR' } });
    const weak = await post(srv.url, '/auth/local/register?challenge=c', { email: 'weak@example.com', password: 'short', name: 'Weak' });
    expect(weak.status).toBe(400);
    expect(await srv.app.services.identity.countUsers()).toBe(before);
  });

  it('issues access codes for other apps to a token with tokens:write, and exchanges them for that app’s scopes', async () => {
    const u = await srv.app.services.identity.getUserByEmail('reg@example.com');
    const t = await srv.createToken(u!.id, ['tokens:write', 'profile:read']);
    const res = await fetch(`${srv.url}/auth/accesscode?appId=sdm&challenge=ch&token=${t}&preventRedirect=1`);
    expect(res.status).toBe(200);
    const { redirectUrl } = await res.json();
    expect(redirectUrl).toMatch(/^speckle:\/\/account\?access_code=[0-9a-f]{42}$/);
    const code = new URL(redirectUrl.replace('speckle://', 'http://')).searchParams.get('access_code');
    const tok = await post(srv.url, '/auth/token', { appId: 'sdm', appSecret: 'sdm', accessCode: code, challenge: 'ch' });
    const { token } = await tok.json();
    const ctx = await srv.app.services.identity.authenticateToken(token);
    expect(ctx!.scopes).toContain('streams:write');
    expect(ctx!.scopes).not.toContain('tokens:write');
    const noScope = await srv.createToken(u!.id, ['profile:read']);
    expect((await fetch(`${srv.url}/auth/accesscode?appId=sdm&challenge=ch&token=${noScope}`, { redirect: 'manual' })).status).toBe(400);
  });

  it('logs out: the token stops working', async () => {
    const u = await srv.app.services.identity.getUserByEmail('reg@example.com');
    const t = await srv.createToken(u!.id, ['profile:read']);
    const out = await post(srv.url, '/auth/logout', { token: t });
    expect(await out.json()).toEqual({ message: 'You have logged out.' });
    expect((await gql(srv.url, '{ activeUser { id } }', undefined, t)).status).toBe(403);
  });
});
