/**
 * Speckle's apps and its OAuth-like flow: default apps (secret = id), access codes bound to an app
 * and a challenge, and their exchange for an app token + refresh token.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Store } from '../store/db.js';
import { AppError } from '../domain/errors.js';
import { randomHex, sha256Hex } from '../domain/ids.js';
import { ALL_SCOPES, CONNECTOR_SCOPES, hasScope } from '../domain/scopes.js';
import type { AuthContext, IdentityService } from './identity.js';

export interface AppInfo {
  id: string;
  name: string;
  description: string | null;
  termsAndConditionsLink: string | null;
  logo: string | null;
  public: boolean;
  trustByDefault: boolean;
  authorId: string | null;
  redirectUrl: string;
  createdAt: number;
  scopes: string[];
}

interface DefaultApp {
  id: string;
  name: string;
  description: string;
  /** null: the server's public URL */
  redirectUrl: string | null;
  scopes: readonly string[];
  logo?: string;
}

const DEFAULT_APPS: DefaultApp[] = [
  { id: 'spklwebapp', name: 'Speckle Web Manager', description: 'The Speckle Web Manager is your one-stop place to manage and coordinate your data.', redirectUrl: null, scopes: ALL_SCOPES },
  { id: 'explorer', name: 'Speckle Explorer', description: 'GraphiQL Playground with authentication.', redirectUrl: '/explorer', scopes: ALL_SCOPES },
  { id: 'sdm', name: 'Speckle Manager', description: 'Manages local installations of Speckle connectors, kits and everything else.', redirectUrl: 'speckle://account', scopes: CONNECTOR_SCOPES },
  { id: 'sca', name: 'Speckle Connector', description: 'A Speckle Desktop Connectors.', redirectUrl: 'http://localhost:29363', scopes: CONNECTOR_SCOPES },
  { id: 'sdas', name: 'Speckle Desktop Authentication Service', description: 'A Speckle Desktop Authentication Service.', redirectUrl: 'http://localhost:29364', scopes: CONNECTOR_SCOPES },
  { id: 'sdui', name: 'Speckle DUI', description: 'Speckle Desktop UI', redirectUrl: 'https://dui.speckle.systems/authn/callback', scopes: CONNECTOR_SCOPES },
  { id: 'connectrV3', name: 'Speckle Connector V3', description: 'Speckle Connector V3', redirectUrl: 'http://localhost:29355', scopes: CONNECTOR_SCOPES },
  { id: 'spklexcel', name: 'Speckle Connector For Excel', description: 'The Speckle Connector For Excel.', redirectUrl: 'https://speckle-excel.netlify.app', scopes: CONNECTOR_SCOPES },
  { id: 'spklpwerbi', name: 'Speckle Connector For PowerBI', description: 'The Speckle Connector For PowerBI.', redirectUrl: 'https://oauth.powerbi.com/views/oauthredirect.html', scopes: CONNECTOR_SCOPES },
  { id: 'spklautoma', name: 'Speckle Automate', description: 'Our automate platform.', redirectUrl: 'https://automate.speckle.dev', scopes: CONNECTOR_SCOPES },
];

const ACCESS_CODE_LIFESPAN_MS = 600_000;
const REFRESH_TOKEN_LIFESPAN_MS = 1.577e10;
const APP_TOKEN_LIFESPAN_MS = 1.2096e9;

function sameSecret(given: string, digest: string): boolean {
  const a = Buffer.from(sha256Hex(given), 'hex');
  const b = Buffer.from(digest, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

export function createAppsService(store: Store, identity: IdentityService, site: { publicUrl: string }) {
  const { db } = store;

  /** Inserts the default apps that are missing, and refreshes their scopes. Idempotent. */
  async function ensureDefaultApps(): Promise<void> {
    await db.transaction().execute(async (trx) => {
      for (const app of DEFAULT_APPS) {
        const existing = await trx.selectFrom('server_apps').select('id').where('id', '=', app.id).executeTakeFirst();
        if (!existing) {
          await trx
            .insertInto('server_apps')
            .values({
              id: app.id,
              secret_digest: sha256Hex(app.id),
              name: app.name,
              description: app.description,
              terms_link: null,
              logo: app.logo ?? null,
              public: 1,
              trust_by_default: 1,
              author_id: null,
              redirect_url: app.redirectUrl,
              created_at: Date.now(),
            })
            .execute();
        }
        await trx.deleteFrom('server_app_scopes').where('app_id', '=', app.id).execute();
        await trx
          .insertInto('server_app_scopes')
          .values(app.scopes.map((scope) => ({ app_id: app.id, scope })))
          .execute();
      }
    });
  }

  const resolveRedirect = (u: string | null): string =>
    u === null ? site.publicUrl : u.startsWith('/') ? `${site.publicUrl}${u}` : u;

  async function listApps(): Promise<AppInfo[]> {
    const [rows, scopes] = await Promise.all([
      db.selectFrom('server_apps').selectAll().orderBy('created_at').orderBy('id').execute(),
      db.selectFrom('server_app_scopes').selectAll().execute(),
    ]);
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      description: r.description,
      termsAndConditionsLink: r.terms_link,
      logo: r.logo,
      public: r.public === 1,
      trustByDefault: r.trust_by_default === 1,
      authorId: r.author_id,
      redirectUrl: resolveRedirect(r.redirect_url),
      createdAt: r.created_at,
      scopes: scopes.filter((s) => s.app_id === r.id).map((s) => s.scope),
    }));
  }

  async function getApp(id: string): Promise<AppInfo | null> {
    return (await listApps()).find((a) => a.id === id) ?? null;
  }

  /** An access code for `appId`, bound to `challenge`; lives 10 minutes; stored hashed. */
  async function createAccessCode(appId: string, userId: string, challenge: string): Promise<string> {
    if (!(await getApp(appId))) throw new AppError('USER_INPUT_ERROR', 'App does not exist.');
    if (!challenge) throw new AppError('USER_INPUT_ERROR', 'Missing challenge.');
    const code = randomHex(42);
    await db
      .insertInto('authorization_codes')
      .values({ id: sha256Hex(code), app_id: appId, user_id: userId, challenge, created_at: Date.now(), lifespan_ms: ACCESS_CODE_LIFESPAN_MS })
      .execute();
    return code;
  }

  /** `GET /auth/accesscode`: the caller's token must carry tokens:write. */
  async function accessCodeForToken(ctx: AuthContext, appId: string, challenge: string): Promise<{ code: string; redirectUrl: string }> {
    if (!ctx.auth || !hasScope(ctx.scopes, 'tokens:write'))
      throw new AppError('FORBIDDEN', 'Invalid token or insufficient scopes.');
    const app = await getApp(appId);
    if (!app) throw new AppError('USER_INPUT_ERROR', 'App does not exist.');
    const code = await createAccessCode(appId, ctx.userId, challenge);
    return { code, redirectUrl: app.redirectUrl };
  }

  async function checkApp(appId: unknown, appSecret: unknown) {
    if (typeof appId !== 'string' || typeof appSecret !== 'string') throw new AppError('UNAUTHORIZED', 'Invalid request');
    const row = await db.selectFrom('server_apps').selectAll().where('id', '=', appId).executeTakeFirst();
    if (!row || !sameSecret(appSecret, row.secret_digest)) throw new AppError('UNAUTHORIZED', 'Invalid app credentials');
    const scopes = await db.selectFrom('server_app_scopes').select('scope').where('app_id', '=', appId).execute();
    return { id: row.id, name: row.name, scopes: scopes.map((s) => s.scope) };
  }

  async function issueAppTokens(app: { id: string; scopes: string[] }, userId: string) {
    const { token } = await identity.mintToken({
      userId,
      name: `${app.id}-token`,
      scopes: app.scopes,
      lifespanMs: APP_TOKEN_LIFESPAN_MS,
      kind: 'app',
      appId: app.id,
    });
    const rid = randomHex(10);
    const secret = randomHex(32);
    await db
      .insertInto('refresh_tokens')
      .values({ id: rid, digest: sha256Hex(secret), app_id: app.id, user_id: userId, created_at: Date.now(), lifespan_ms: REFRESH_TOKEN_LIFESPAN_MS })
      .execute();
    return { token, refreshToken: rid + secret };
  }

  /** `POST /auth/token`: access code or refresh token → {token, refreshToken}. Any failure: UNAUTHORIZED. */
  async function exchange(body: Record<string, unknown>): Promise<{ token: string; refreshToken: string }> {
    const app = await checkApp(body.appId, body.appSecret);
    if (typeof body.refreshToken === 'string') {
      const rt = body.refreshToken;
      const row = await db.selectFrom('refresh_tokens').selectAll().where('id', '=', rt.slice(0, 10)).executeTakeFirst();
      if (!row || row.app_id !== app.id || !sameSecret(rt.slice(10), row.digest)) throw new AppError('UNAUTHORIZED', 'Invalid refresh token');
      await db.deleteFrom('refresh_tokens').where('id', '=', row.id).execute();
      if (Date.now() - row.created_at > row.lifespan_ms) throw new AppError('UNAUTHORIZED', 'Refresh token expired');
      return issueAppTokens(app, row.user_id);
    }
    if (typeof body.accessCode !== 'string' || typeof body.challenge !== 'string')
      throw new AppError('UNAUTHORIZED', 'Invalid request');
    const codeId = sha256Hex(body.accessCode);
    const row = await db.selectFrom('authorization_codes').selectAll().where('id', '=', codeId).executeTakeFirst();
    if (!row) throw new AppError('UNAUTHORIZED', 'Access code not found.');
    // single use, whatever the outcome
    await db.deleteFrom('authorization_codes').where('id', '=', codeId).execute();
    if (row.app_id !== app.id) throw new AppError('UNAUTHORIZED', 'Invalid request.');
    if (row.challenge !== body.challenge) throw new AppError('UNAUTHORIZED', 'Invalid request.');
    if (Date.now() - row.created_at > row.lifespan_ms) throw new AppError('UNAUTHORIZED', 'Access code expired');
    return issueAppTokens(app, row.user_id);
  }

  /** `POST /auth/logout`: revokes the token (and refresh token) given. */
  async function logout(token: unknown, refreshToken: unknown): Promise<void> {
    if (typeof token !== 'string' || token.length < 10) throw new AppError('USER_INPUT_ERROR', 'Invalid request');
    const ctx = await identity.authenticateToken(token);
    if (!ctx) throw new AppError('USER_INPUT_ERROR', 'Invalid request');
    await identity.revokeToken(ctx.tokenId);
    if (typeof refreshToken === 'string' && refreshToken.length >= 10)
      await db.deleteFrom('refresh_tokens').where('id', '=', refreshToken.slice(0, 10)).where('user_id', '=', ctx.userId).execute();
  }

  return { ensureDefaultApps, listApps, getApp, createAccessCode, accessCodeForToken, exchange, logout };
}

export type AppsService = ReturnType<typeof createAppsService>;
