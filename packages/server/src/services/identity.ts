/**
 * One identity system for every face: users, argon2id passwords, personal and app tokens (stored
 * as SHA-256 digests of their secret part), scopes, and the auth context a request carries.
 */
import { timingSafeEqual } from 'node:crypto';
import { hash as argonHash, verify as argonVerify } from '@node-rs/argon2';
import { sql, type RawBuilder } from 'kysely';
import type { Store } from '../store/db.js';
import { isUniqueViolation } from '../store/db.js';
import type { UsersTable } from '../store/schema.js';
import { AppError } from '../domain/errors.js';
import { newId, randomHex, sha256Hex } from '../domain/ids.js';
import { SCOPE_NAMES, hasScope } from '../domain/scopes.js';
import { SERVER_ROLES, type ServerRole } from '../domain/roles.js';

export interface User {
  id: string;
  email: string;
  name: string;
  bio: string | null;
  company: string | null;
  avatar: string | null;
  verified: boolean;
  role: ServerRole;
  createdAt: number;
  updatedAt: number;
}

export type AuthContext =
  | { auth: false }
  | {
      auth: true;
      userId: string;
      role: ServerRole;
      tokenId: string;
      tokenKind: string;
      scopes: string[];
      appId: string | null;
      /** null: unrestricted; else the only resources the token may touch */
      resourceAccess: Array<{ type: string; id: string }> | null;
    };

export const ANONYMOUS: AuthContext = { auth: false };

/** A user with the fields only some faces use (AYON login name, service flag, face data). */
export interface UserRecord extends User {
  username: string | null;
  isService: boolean;
  hasPassword: boolean;
  data: Record<string, unknown>;
}

const toUserRecord = (r: UsersTable): UserRecord => {
  let data: Record<string, unknown> = {};
  try {
    const d = JSON.parse(r.data || '{}');
    if (d && typeof d === 'object' && !Array.isArray(d)) data = d;
  } catch {
    /* unreadable data is treated as empty */
  }
  return { ...toUser(r), username: r.username, isService: r.is_service === 1, hasPassword: !!r.password_digest, data };
};

export interface ApiTokenInfo {
  id: string;
  name: string;
  lastChars: string;
  scopes: string[];
  createdAt: number;
  lifespan: number;
  lastUsed: number;
}

/** Default token lifespan when none is given: about 100 years, in ms (Speckle's DB default). */
export const DEFAULT_TOKEN_LIFESPAN_MS = 3.154e12;
const MAX_TOKEN_LIFESPAN_MS = DEFAULT_TOKEN_LIFESPAN_MS;
const LAST_USED_RESOLUTION_MS = 60_000;
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
export const MIN_PASSWORD_LENGTH = 8;
/** A real argon2id digest, verified against when the account does not exist, so timing does not tell. */
let dummyDigest: Promise<string> | undefined;

const toUser = (r: UsersTable): User => ({
  id: r.id,
  email: r.email,
  name: r.name,
  bio: r.bio,
  company: r.company,
  avatar: r.avatar,
  verified: r.verified === 1,
  role: r.server_role as ServerRole,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export interface CreateUserInput {
  email: string;
  name: string;
  password?: string;
  company?: string | null;
  bio?: string | null;
  avatar?: string | null;
  /** explicit role; absent: the first user becomes admin, later ones user */
  role?: ServerRole;
  verified?: boolean;
}

export function validatePassword(password: unknown): string {
  if (typeof password !== 'string' || password.length === 0)
    throw new AppError('USER_INPUT_ERROR', 'Password is required.');
  if (password.length < MIN_PASSWORD_LENGTH)
    throw new AppError('USER_INPUT_ERROR', `Password too short - needs to be at least ${MIN_PASSWORD_LENGTH} characters long`);
  if (password.length > 1024) throw new AppError('USER_INPUT_ERROR', 'Password too long.');
  return password;
}

function validateEmail(email: unknown): string {
  if (typeof email !== 'string') throw new AppError('USER_INPUT_ERROR', 'Email is required.');
  const e = email.trim();
  if (!EMAIL_RE.test(e) || e.length > 320) throw new AppError('USER_INPUT_ERROR', 'Invalid email address.');
  return e;
}

function validateName(name: unknown): string {
  if (typeof name !== 'string' || !name.trim()) throw new AppError('USER_INPUT_ERROR', 'Name is required.');
  if (name.length > 512) throw new AppError('USER_INPUT_ERROR', 'Name is too long (max 512 characters).');
  return name.trim();
}

export function createIdentityService(store: Store) {
  const { db } = store;
  /** space-separated aggregate of a subquery's values (scopes and resource ids hold no spaces) */
  const agg = (expr: RawBuilder<unknown> | ReturnType<typeof sql.ref>) =>
    store.dialect === 'postgres' ? sql`string_agg(${expr}, ' ')` : sql`group_concat(${expr}, ' ')`;
  const splitList = (v: string | null | undefined): string[] => (v ? v.split(' ').filter(Boolean) : []);

  async function getUser(id: string): Promise<User | null> {
    const r = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toUser(r) : null;
  }

  async function getUserByEmail(email: string): Promise<User | null> {
    const r = await db
      .selectFrom('users')
      .selectAll()
      .where('email_lower', '=', email.trim().toLowerCase())
      .executeTakeFirst();
    return r ? toUser(r) : null;
  }

  async function countUsers(): Promise<number> {
    const r = await db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async function createUser(input: CreateUserInput): Promise<User> {
    const email = validateEmail(input.email);
    const name = validateName(input.name);
    const digest = input.password === undefined ? null : await argonHash(validatePassword(input.password));
    if (input.role && !SERVER_ROLES.includes(input.role)) throw new AppError('USER_INPUT_ERROR', 'Invalid server role.');
    const now = Date.now();
    const id = newId();
    try {
      await db.transaction().execute(async (trx) => {
        const first =
          Number(
            (await trx.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n,
          ) === 0;
        await trx
          .insertInto('users')
          .values({
            id,
            email,
            email_lower: email.toLowerCase(),
            name,
            bio: input.bio ?? null,
            company: input.company ?? null,
            avatar: input.avatar ?? null,
            verified: input.verified ? 1 : 0,
            server_role: input.role ?? (first ? 'admin' : 'user'),
            password_digest: digest,
            username: null,
            is_service: 0,
            data: '{}',
            created_at: now,
            updated_at: now,
          })
          .execute();
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('USER_INPUT_ERROR', 'Email taken. Try logging in?');
      throw err;
    }
    return (await getUser(id))!;
  }

  async function updateUser(
    id: string,
    patch: Partial<Pick<User, 'name' | 'bio' | 'company' | 'avatar' | 'role' | 'verified'>>,
  ): Promise<User> {
    const values: Partial<UsersTable> = { updated_at: Date.now() };
    if (patch.name !== undefined) values.name = validateName(patch.name);
    if (patch.bio !== undefined) values.bio = patch.bio;
    if (patch.company !== undefined) values.company = patch.company;
    if (patch.avatar !== undefined) values.avatar = patch.avatar;
    if (patch.verified !== undefined) values.verified = patch.verified ? 1 : 0;
    if (patch.role !== undefined) {
      if (!SERVER_ROLES.includes(patch.role)) throw new AppError('USER_INPUT_ERROR', 'Invalid server role.');
      values.server_role = patch.role;
    }
    const res = await db.updateTable('users').set(values).where('id', '=', id).executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) throw new AppError('NOT_FOUND_ERROR', 'User not found');
    return (await getUser(id))!;
  }

  async function setPassword(id: string, password: string): Promise<void> {
    const digest = await argonHash(validatePassword(password));
    await db.updateTable('users').set({ password_digest: digest, updated_at: Date.now() }).where('id', '=', id).execute();
  }

  /** Checks email and password; the same error whether the account is missing or the password wrong. */
  async function verifyPassword(email: unknown, password: unknown): Promise<User> {
    const invalid = new AppError('UNAUTHORIZED', 'Invalid credentials.');
    if (typeof email !== 'string' || typeof password !== 'string' || !password) throw invalid;
    const r = await db
      .selectFrom('users')
      .selectAll()
      .where('email_lower', '=', email.trim().toLowerCase())
      .executeTakeFirst();
    if (!r || !r.password_digest) {
      dummyDigest ??= argonHash('atrium-no-such-account');
      await argonVerify(await dummyDigest, password).catch(() => false);
      throw invalid;
    }
    const ok = await argonVerify(r.password_digest, password).catch(() => false);
    if (!ok || r.server_role === 'archived') throw invalid;
    return toUser(r);
  }

  async function searchUsers(query: string, limit: number, opts: { archived?: boolean; emailOnly?: boolean } = {}) {
    const q = query.trim().toLowerCase();
    let sel = db.selectFrom('users').selectAll();
    if (opts.emailOnly) sel = sel.where('email_lower', '=', q);
    else {
      const like = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      sel = sel.where((eb) =>
        eb.or([eb('email_lower', '=', q), eb(eb.fn('lower', ['name']), 'like', eb.val(like))]),
      );
    }
    if (!opts.archived) sel = sel.where('server_role', '!=', 'archived');
    const rows = await sel.orderBy('name').orderBy('id').limit(limit).execute();
    return rows.map(toUser);
  }

  // ---------------------------------------------------------------- tokens

  /**
   * Mints a token: 10-char id + 32-char secret (Speckle's format, 42 lower-hex chars). Only the
   * SHA-256 of the secret is stored. No policy checks here: callers (GraphQL, CLI, app flows) decide.
   */
  async function mintToken(opts: {
    userId: string;
    name: string;
    scopes: string[];
    lifespanMs?: number | null;
    kind?: string;
    appId?: string | null;
    resourceAccess?: Array<{ type: string; id: string }> | null;
  }): Promise<{ token: string; id: string }> {
    const scopes = [...new Set(opts.scopes)];
    if (scopes.length === 0) throw new AppError('TOKEN_CREATE_ERROR', 'No scopes provided');
    for (const s of scopes) if (!SCOPE_NAMES.has(s)) throw new AppError('TOKEN_CREATE_ERROR', `Unknown scope: ${s}`);
    const lifespan = opts.lifespanMs ?? DEFAULT_TOKEN_LIFESPAN_MS;
    if (!Number.isFinite(lifespan) || lifespan <= 0 || lifespan > MAX_TOKEN_LIFESPAN_MS)
      throw new AppError('TOKEN_CREATE_ERROR', `Token lifespan must be between 1 and ${MAX_TOKEN_LIFESPAN_MS} milliseconds.`);
    const name = opts.name.trim();
    if (!name || name.length > 512) throw new AppError('TOKEN_CREATE_ERROR', 'Token name must be 1 to 512 characters.');
    const id = randomHex(10);
    const secret = randomHex(32);
    const now = Date.now();
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('api_tokens')
        .values({
          id,
          digest: sha256Hex(secret),
          owner_id: opts.userId,
          name,
          last_chars: secret.slice(-6),
          kind: opts.kind ?? 'pat',
          app_id: opts.appId ?? null,
          revoked: 0,
          lifespan_ms: Math.round(lifespan),
          created_at: now,
          last_used: now,
        })
        .execute();
      await trx
        .insertInto('token_scopes')
        .values(scopes.map((scope) => ({ token_id: id, scope })))
        .execute();
      if (opts.resourceAccess?.length) {
        await trx
          .insertInto('token_resource_access')
          .values(opts.resourceAccess.map((r) => ({ token_id: id, resource_type: r.type, resource_id: r.id })))
          .execute();
      }
    });
    return { token: id + secret, id };
  }

  /**
   * Resolves a bearer token to an auth context. Returns null when the token is unknown, malformed,
   * revoked or expired (an expired row is deleted, as Speckle does).
   */
  async function authenticateToken(token: string): Promise<Extract<AuthContext, { auth: true }> | null> {
    if (token.length !== 42 || !/^[0-9a-f]+$/.test(token)) return null;
    const id = token.slice(0, 10);
    const secret = token.slice(10);
    const row = await db
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.id', 'api_tokens.owner_id')
      .select([
        'api_tokens.id',
        'api_tokens.digest',
        'api_tokens.revoked',
        'api_tokens.lifespan_ms',
        'api_tokens.created_at',
        'api_tokens.last_used',
        'api_tokens.kind',
        'api_tokens.app_id',
        'api_tokens.owner_id',
        'users.server_role',
        // scopes and resource limits come along in the same statement (one round trip per request)
        sql<string | null>`(select ${agg(sql.ref('s.scope'))} from token_scopes s where s.token_id = api_tokens.id)`.as('scope_list'),
        sql<string | null>`(select ${agg(sql`r.resource_type || ':' || r.resource_id`)} from token_resource_access r where r.token_id = api_tokens.id)`.as('access_list'),
      ])
      .where('api_tokens.id', '=', id)
      .executeTakeFirst();
    if (!row || row.revoked) return null;
    const a = Buffer.from(sha256Hex(secret), 'hex');
    const b = Buffer.from(row.digest, 'hex');
    if (a.length !== b.length || !timingSafeEqual(a, b)) return null;
    const now = Date.now();
    if (now - row.created_at > row.lifespan_ms) {
      await db.deleteFrom('api_tokens').where('id', '=', id).execute();
      return null;
    }
    const scopes = splitList(row.scope_list);
    const access = splitList(row.access_list).map((e) => {
      const i = e.indexOf(':');
      return { type: e.slice(0, i), id: e.slice(i + 1) };
    });
    if (now - row.last_used > LAST_USED_RESOLUTION_MS) {
      await db.updateTable('api_tokens').set({ last_used: now }).where('id', '=', id).execute();
    }
    return {
      auth: true,
      userId: row.owner_id,
      role: row.server_role as ServerRole,
      tokenId: id,
      tokenKind: row.kind,
      scopes,
      appId: row.app_id,
      resourceAccess: access.length ? access : null,
    };
  }

  /** Speckle's `apiTokenCreate`: a PAT for the caller, scopes ⊆ the calling token's, never tokens:write. */
  async function createPersonalToken(
    ctx: AuthContext,
    input: { name: unknown; scopes: unknown; lifespan?: unknown; limitResources?: unknown },
  ): Promise<string> {
    if (!ctx.auth) throw new AppError('FORBIDDEN', 'You must provide an auth token.');
    if (!Array.isArray(input.scopes) || input.scopes.some((s) => typeof s !== 'string'))
      throw new AppError('TOKEN_CREATE_ERROR', 'Scopes must be a list of strings.');
    const scopes = input.scopes as string[];
    if (scopes.length === 0) throw new AppError('TOKEN_CREATE_ERROR', 'No scopes provided');
    if (scopes.includes('tokens:write'))
      throw new AppError('TOKEN_CREATE_ERROR', "You can't create a personal access token with the tokens:write scope");
    if (!scopes.every((s) => hasScope(ctx.scopes, s)))
      throw new AppError('TOKEN_CREATE_ERROR', "You can't create a token with scopes that you don't have");
    const known = scopes.filter((s) => SCOPE_NAMES.has(s));
    if (known.length === 0) throw new AppError('TOKEN_CREATE_ERROR', 'No scopes provided');
    let lifespan: number | null = null;
    if (input.lifespan !== undefined && input.lifespan !== null) {
      const n = typeof input.lifespan === 'string' ? Number(input.lifespan) : input.lifespan;
      if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0 || n > MAX_TOKEN_LIFESPAN_MS)
        throw new AppError('TOKEN_CREATE_ERROR', `Token lifespan must be between 1 and ${MAX_TOKEN_LIFESPAN_MS} milliseconds.`);
      lifespan = n;
    }
    let resourceAccess: Array<{ type: string; id: string }> | null = null;
    if (Array.isArray(input.limitResources) && input.limitResources.length) {
      resourceAccess = (input.limitResources as Array<{ id: string; type: string }>).map((r) => ({ id: r.id, type: r.type }));
    }
    if (typeof input.name !== 'string' || !input.name.trim())
      throw new AppError('TOKEN_CREATE_ERROR', 'Token name must be 1 to 512 characters.');
    const { token } = await mintToken({ userId: ctx.userId, name: input.name, scopes: known, lifespanMs: lifespan, resourceAccess });
    return token;
  }

  /** Speckle's `apiTokenRevoke`: deletes the caller's token given as the full token or its 10-char id. */
  async function revokeOwnToken(ctx: AuthContext, token: string): Promise<boolean> {
    if (!ctx.auth) throw new AppError('FORBIDDEN', 'You must provide an auth token.');
    let t = token;
    if (/bearer/i.test(t)) t = t.split(' ')[1] ?? '';
    const id = t.slice(0, 10);
    const res = await db.deleteFrom('api_tokens').where('id', '=', id).where('owner_id', '=', ctx.userId).executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) throw new AppError('USER_INPUT_ERROR', 'Did not revoke token');
    return true;
  }

  async function revokeToken(tokenId: string): Promise<boolean> {
    const res = await db.deleteFrom('api_tokens').where('id', '=', tokenId).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  async function listTokens(userId: string, kind = 'pat'): Promise<ApiTokenInfo[]> {
    const rows = await db
      .selectFrom('api_tokens')
      .selectAll()
      .where('owner_id', '=', userId)
      .where('kind', '=', kind)
      .orderBy('created_at')
      .execute();
    if (!rows.length) return [];
    const scopes = await db
      .selectFrom('token_scopes')
      .selectAll()
      .where(
        'token_id',
        'in',
        rows.map((r) => r.id),
      )
      .execute();
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      lastChars: r.last_chars,
      scopes: scopes.filter((s) => s.token_id === r.id).map((s) => s.scope),
      createdAt: r.created_at,
      lifespan: r.lifespan_ms,
      lastUsed: r.last_used,
    }));
  }

  /** Creates the first admin from settings when no user exists yet. */
  async function ensureFirstAdmin(admin: { email: string; password: string; name: string } | undefined) {
    if (!admin || (await countUsers()) > 0) return null;
    return createUser({ email: admin.email, name: admin.name, password: admin.password, role: 'admin', verified: true });
  }

  // ---------------------------------------------------------------- AYON face

  /** The user with the fields other faces keep: login name, service flag, face data, password presence. */
  async function getUserRecord(id: string): Promise<UserRecord | null> {
    const r = await db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toUserRecord(r) : null;
  }

  async function listUserRecords(): Promise<UserRecord[]> {
    const rows = await db.selectFrom('users').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map(toUserRecord);
  }

  /** A login name (case-insensitive) or an email address. */
  async function findUserByLogin(login: string): Promise<UserRecord | null> {
    const l = login.trim().toLowerCase();
    if (!l) return null;
    const byName = await db
      .selectFrom('users')
      .selectAll()
      .where((eb) => eb(eb.fn('lower', ['username']), '=', l))
      .executeTakeFirst();
    if (byName) return toUserRecord(byName);
    const byEmail = await db.selectFrom('users').selectAll().where('email_lower', '=', l).executeTakeFirst();
    return byEmail ? toUserRecord(byEmail) : null;
  }

  /**
   * The user's login name, assigned on first need from the local part of the email (reduced to
   * `^[a-zA-Z0-9][a-zA-Z0-9_.-]*[a-zA-Z0-9]$`, suffixed with a number when taken).
   */
  async function ensureUsername(id: string): Promise<string> {
    const r = await db.selectFrom('users').select(['username', 'email']).where('id', '=', id).executeTakeFirst();
    if (!r) throw new AppError('NOT_FOUND_ERROR', 'User not found');
    if (r.username) return r.username;
    let base = r.email.split('@')[0].replace(/[^a-zA-Z0-9_.-]/g, '').replace(/^[^a-zA-Z0-9]+|[^a-zA-Z0-9]+$/g, '');
    if (base.length < 2) base = `user${base}`;
    base = base.slice(0, 60);
    for (let n = 0; n < 1000; n++) {
      const candidate = n === 0 ? base : `${base}${n + 1}`;
      const taken = await db
        .selectFrom('users')
        .select('id')
        .where((eb) => eb(eb.fn('lower', ['username']), '=', candidate.toLowerCase()))
        .executeTakeFirst();
      if (taken) continue;
      try {
        const res = await db.updateTable('users').set({ username: candidate }).where('id', '=', id).where('username', 'is', null).executeTakeFirst();
        if (Number(res.numUpdatedRows) === 1) return candidate;
        const again = await db.selectFrom('users').select('username').where('id', '=', id).executeTakeFirst();
        if (again?.username) return again.username;
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
      }
    }
    throw new AppError('CONFLICT', 'Could not assign a login name');
  }

  async function setUserFaceFields(
    id: string,
    fields: { username?: string; isService?: boolean; data?: Record<string, unknown> },
  ): Promise<void> {
    const values: Partial<UsersTable> = { updated_at: Date.now() };
    if (fields.username !== undefined) values.username = fields.username;
    if (fields.isService !== undefined) values.is_service = fields.isService ? 1 : 0;
    if (fields.data !== undefined) values.data = JSON.stringify(fields.data);
    try {
      await db.updateTable('users').set(values).where('id', '=', id).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('CONFLICT', 'User already exists');
      throw err;
    }
  }

  /** true when the user has a password and it matches (argon2id, constant work either way). */
  async function checkPasswordOf(id: string, password: string): Promise<boolean> {
    const r = await db.selectFrom('users').select('password_digest').where('id', '=', id).executeTakeFirst();
    if (!r?.password_digest || typeof password !== 'string' || !password) {
      dummyDigest ??= argonHash('atrium-no-such-account');
      await argonVerify(await dummyDigest, password || 'x').catch(() => false);
      return false;
    }
    return argonVerify(r.password_digest, password).catch(() => false);
  }

  async function clearPassword(id: string): Promise<void> {
    await db.updateTable('users').set({ password_digest: null, updated_at: Date.now() }).where('id', '=', id).execute();
  }

  async function deleteUser(id: string): Promise<boolean> {
    const res = await db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  /**
   * Tokens whose whole value is the secret (AYON session tokens, API keys): stored as SHA-256, found
   * by the first 32 hex characters of that digest. `sliding`: the lifespan counts from the last use
   * (sessions), else from creation (keys).
   */
  async function mintHashedToken(opts: {
    userId: string;
    kind: string;
    name: string;
    secret?: string;
    lifespanMs?: number;
    preview?: string;
  }): Promise<{ token: string; id: string }> {
    const token = opts.secret ?? randomHex(64);
    const digest = sha256Hex(token);
    const id = digest.slice(0, 32);
    const now = Date.now();
    try {
      await db
        .insertInto('api_tokens')
        .values({
          id,
          digest,
          owner_id: opts.userId,
          name: opts.name.slice(0, 512),
          last_chars: (opts.preview ?? token.slice(-4)).slice(0, 8),
          kind: opts.kind,
          app_id: null,
          revoked: 0,
          lifespan_ms: Math.round(opts.lifespanMs ?? DEFAULT_TOKEN_LIFESPAN_MS),
          created_at: now,
          last_used: now,
        })
        .execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('CONFLICT', 'This key is already in use');
      throw err;
    }
    return { token, id };
  }

  async function authenticateHashedToken(
    token: string,
    kinds: string[],
    opts: { sliding?: boolean; touchAfterMs?: number } = {},
  ): Promise<{ userId: string; tokenId: string; kind: string; name: string } | null> {
    if (typeof token !== 'string' || !token || token.length > 1024) return null;
    const digest = sha256Hex(token);
    const row = await db.selectFrom('api_tokens').selectAll().where('id', '=', digest.slice(0, 32)).executeTakeFirst();
    if (!row || row.revoked || !kinds.includes(row.kind)) return null;
    const a = Buffer.from(digest, 'hex');
    const b = Buffer.from(row.digest, 'hex');
    if (a.length !== b.length || !timingSafeEqual(a, b)) return null;
    const now = Date.now();
    const from = opts.sliding ? row.last_used : row.created_at;
    if (now - from > row.lifespan_ms) {
      await db.deleteFrom('api_tokens').where('id', '=', row.id).execute();
      return null;
    }
    if (now - row.last_used > (opts.touchAfterMs ?? LAST_USED_RESOLUTION_MS)) {
      await db.updateTable('api_tokens').set({ last_used: now }).where('id', '=', row.id).execute();
    }
    return { userId: row.owner_id, tokenId: row.id, kind: row.kind, name: row.name };
  }

  async function revokeHashedToken(token: string): Promise<boolean> {
    const res = await db.deleteFrom('api_tokens').where('id', '=', sha256Hex(token).slice(0, 32)).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  async function listHashedTokens(userId: string, kind: string) {
    const rows = await db
      .selectFrom('api_tokens')
      .selectAll()
      .where('owner_id', '=', userId)
      .where('kind', '=', kind)
      .orderBy('created_at')
      .execute();
    return rows.map((r) => ({ id: r.id, name: r.name, preview: r.last_chars, createdAt: r.created_at, lastUsed: r.last_used, lifespanMs: r.lifespan_ms }));
  }

  /** Deletes a user's tokens of one kind (all, or those named `name`, or the one with id `id`). */
  async function deleteHashedTokens(userId: string, kind: string, which: { name?: string; id?: string } = {}): Promise<number> {
    let q = db.deleteFrom('api_tokens').where('owner_id', '=', userId).where('kind', '=', kind);
    if (which.name !== undefined) q = q.where('name', '=', which.name);
    if (which.id !== undefined) q = q.where('id', '=', which.id);
    const res = await q.executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  return {
    getUser,
    getUserByEmail,
    countUsers,
    createUser,
    updateUser,
    setPassword,
    verifyPassword,
    searchUsers,
    mintToken,
    authenticateToken,
    createPersonalToken,
    revokeOwnToken,
    revokeToken,
    listTokens,
    ensureFirstAdmin,
    // AYON face: login names, service users, whole-token-hashed session tokens and API keys
    getUserRecord,
    listUserRecords,
    findUserByLogin,
    ensureUsername,
    setUserFaceFields,
    checkPasswordOf,
    clearPassword,
    deleteUser,
    mintHashedToken,
    authenticateHashedToken,
    revokeHashedToken,
    listHashedTokens,
    deleteHashedTokens,
  };
}

export type IdentityService = ReturnType<typeof createIdentityService>;
