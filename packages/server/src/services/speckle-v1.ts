/**
 * The PySpeckle v1 area: accounts (a v1 user IS an Atrium user: same email, same password, same
 * id), v1 login tokens (ordinary Atrium tokens of kind `v1`/`v1-api`, shown as `JWT <token>`), and the
 * v1 collections (streams, objects, projects, clients, comments) with v1's permission rules. The v1
 * face translates HTTP and websocket traffic to these calls; the rules are all here.
 */
import type { Store } from '../store/db.js';
import { AppError, isAppError } from '../domain/errors.js';
import { SERVER_ROLES, type ServerRole } from '../domain/roles.js';
import { MIN_PASSWORD_LENGTH, type IdentityService } from './identity.js';
import type { ServerInfoService } from './server-info.js';
import type { RateLimiter } from './rate-limit.js';
import type { EventBus } from './events.js';
import { allowed, isAdmin, needScope, notFound, type V1Actor, type V1Caller } from './speckle-v1-access.js';
import { bad, isPlainObject, iso, type Doc } from './speckle-v1-documents.js';
import * as repo from './speckle-v1-store.js';
import { createV1StreamsService, type V1Context } from './speckle-v1-streams.js';
import { createV1ProjectsService } from './speckle-v1-projects.js';
import { createV1ClientsService } from './speckle-v1-clients.js';
import { createV1CommentsService } from './speckle-v1-comments.js';

export type { V1Actor, V1Caller } from './speckle-v1-access.js';

/** What a v1 login grants: everything the v1 API needs, nothing more (no tokens, apps or admin scopes). */
export const V1_TOKEN_SCOPES = ['streams:read', 'streams:write', 'profile:read', 'profile:write', 'profile:email', 'users:read'];
/** v1's `token`: 24 hours. */
export const V1_LOGIN_TOKEN_LIFESPAN_MS = 24 * 3600 * 1000;
/** v1's `apitoken`: 2 years. */
export const V1_API_TOKEN_LIFESPAN_MS = 2 * 365 * 24 * 3600 * 1000;
/** Each login mints an apitoken (Atrium cannot show a stored one again); older ones beyond this many are revoked. */
export const V1_API_TOKENS_KEPT = 10;
export const V1_TOKEN_KINDS = { login: 'v1', api: 'v1-api' } as const;
/** The bus channel the v1 websocket's broadcasts and direct messages travel on (across nodes too). */
export const V1_WS_CHANNEL = 'speckle-v1.ws';
export const V1_SEARCH_LIMIT = 10;

const NAME_MAX = 512;

export interface V1Deps {
  store: Store;
  identity: IdentityService;
  serverInfo: ServerInfoService;
  loginLimiter: RateLimiter;
  bus: EventBus;
}

/** `Authorization` of a v1 call: `JWT <token>` (what v1 clients send), `Bearer <token>`, or the bare token. */
export function tokenFromHeader(header: string | undefined | null): string | null {
  if (typeof header !== 'string') return null;
  const t = header.trim().replace(/^(JWT|Bearer)\s+/i, '').trim();
  return t || null;
}

const optionalString = (v: unknown, field: string, max: number): string | null | undefined => {
  if (v === undefined || v === null) return v as null | undefined;
  if (typeof v !== 'string') throw bad(`Field ${field} must be a string.`);
  if (v.length > max) throw bad(`Field ${field} is too long (max ${max} characters).`);
  return v;
};

export function createV1Service(deps: V1Deps) {
  const { store, identity, serverInfo, loginLimiter, bus } = deps;
  const { db } = store;
  const ctx: V1Context = { db, tx: (fn) => db.transaction().execute(fn) };
  const streams = createV1StreamsService(ctx);
  const projects = createV1ProjectsService(ctx);
  const clients = createV1ClientsService(ctx);
  const comments = createV1CommentsService(ctx);

  // ---------------------------------------------------------------- tokens

  /** Resolves an `Authorization` value. null: anonymous; 'invalid': a token that does not authenticate. */
  async function authenticate(header: string | undefined | null): Promise<V1Caller | null | 'invalid'> {
    const token = tokenFromHeader(header);
    if (!token) return null;
    const auth = await identity.authenticateToken(token);
    if (!auth || auth.role === 'archived' || auth.resourceAccess) return 'invalid';
    return { userId: auth.userId, role: auth.role, scopes: auth.scopes, tokenKind: auth.tokenKind };
  }

  async function issueTokens(userId: string): Promise<{ token: string; apitoken: string }> {
    const login = await identity.mintToken({
      userId,
      name: 'PySpeckle v1 login',
      scopes: V1_TOKEN_SCOPES,
      lifespanMs: V1_LOGIN_TOKEN_LIFESPAN_MS,
      kind: V1_TOKEN_KINDS.login,
    });
    const api = await identity.mintToken({
      userId,
      name: 'PySpeckle v1 apitoken',
      scopes: V1_TOKEN_SCOPES,
      lifespanMs: V1_API_TOKEN_LIFESPAN_MS,
      kind: V1_TOKEN_KINDS.api,
    });
    // keep the token table small: expired login tokens and the oldest apitokens go
    const now = Date.now();
    for (const t of await identity.listTokens(userId, V1_TOKEN_KINDS.login)) {
      if (now - t.createdAt > t.lifespan) await identity.revokeToken(t.id);
    }
    const apis = await identity.listTokens(userId, V1_TOKEN_KINDS.api);
    for (const t of apis.slice(0, Math.max(0, apis.length - V1_API_TOKENS_KEPT))) await identity.revokeToken(t.id);
    return { token: `JWT ${login.token}`, apitoken: `JWT ${api.token}` };
  }

  // ---------------------------------------------------------------- accounts

  async function profileDoc(userId: string): Promise<Doc> {
    const u = (await repo.loadUsers(db, [userId])).get(userId);
    if (!u) throw bad('No user found.');
    const out: Doc = {
      _id: u._id,
      email: u.email,
      name: u.name,
      surname: u.surname,
      company: u.company,
      role: u.role,
      private: true,
      verified: u.verified,
      archived: u.role === 'archived',
    };
    if (u.avatar) out.avatar = u.avatar;
    out.createdAt = iso(u.createdAt);
    out.updatedAt = iso(u.updatedAt);
    return out;
  }

  async function register(body: unknown, ip: string): Promise<{ apitoken: string; token: string; email: string }> {
    loginLimiter.check(`register:${ip}`);
    if (!isPlainObject(body)) throw bad('Malformed request.');
    const settings = await serverInfo.get();
    if (settings.inviteOnly && (await identity.countUsers()) > 0)
      throw new AppError('UNAUTHORIZED', 'This is an invite only speckle server. Sorry!');
    const { email, password } = body;
    if (typeof email !== 'string' || !email.trim()) throw bad('An email address is required.');
    if (typeof password !== 'string' || !password) throw bad('A password is required.');
    if (password.length < MIN_PASSWORD_LENGTH) throw bad('Password too short.');
    const name = optionalString(body.name, 'name', NAME_MAX)?.trim() || 'Anonymous';
    const surname = optionalString(body.surname, 'surname', NAME_MAX) ?? '';
    const company = optionalString(body.company, 'company', NAME_MAX) ?? null;
    if (await identity.getUserByEmail(email)) throw bad('Email taken. Please login. Thanks!');
    loginLimiter.hit(`register:${ip}`);
    let user;
    try {
      user = await identity.createUser({ email, name, password, company });
    } catch (err) {
      if (isAppError(err) && /email taken/i.test(err.message)) throw bad('Email taken. Please login. Thanks!');
      throw err;
    }
    await repo.upsertProfile(db, user.id, { surname });
    const tokens = await issueTokens(user.id);
    return { ...tokens, email: user.email };
  }

  async function login(body: unknown, ip: string): Promise<Doc> {
    const invalid = () => new AppError('UNAUTHORIZED', 'Invalid credentials.');
    if (!isPlainObject(body) || typeof body.email !== 'string' || typeof body.password !== 'string' || !body.email || !body.password)
      throw invalid();
    const email = body.email.trim().toLowerCase();
    const keys = [`ip:${ip}`, `email:${email}`];
    for (const k of keys) loginLimiter.check(k);
    let user;
    try {
      user = await identity.verifyPassword(body.email, body.password);
    } catch (err) {
      if (isAppError(err) && err.code === 'UNAUTHORIZED') {
        for (const k of keys) loginLimiter.hit(k);
        const known = await identity.getUserByEmail(email);
        if (known?.role === 'archived') throw new AppError('FORBIDDEN', 'This user is archived.');
        throw invalid();
      }
      throw err;
    }
    loginLimiter.reset(`email:${email}`);
    await repo.upsertProfile(db, user.id, { loginsDelta: 1 });
    const tokens = await issueTokens(user.id);
    return { ...(await profileDoc(user.id)), apitoken: tokens.apitoken, token: tokens.token };
  }

  async function profile(actor: V1Actor): Promise<Doc> {
    const me = needScope(actor, 'profile:read');
    return profileDoc(me.userId);
  }

  /** v1: only truthy name, surname, company (and email) are applied; anything else is ignored. */
  async function updateProfile(actor: V1Actor, body: unknown): Promise<void> {
    const me = needScope(actor, 'profile:write');
    if (!isPlainObject(body)) throw bad('Malformed request.');
    const current = await identity.getUser(me.userId);
    if (!current) throw bad('No user found.');
    const patch: { name?: string; company?: string } = {};
    let surname: string | undefined;
    if (body.name) {
      const name = optionalString(body.name, 'name', NAME_MAX)!.trim();
      if (!name) throw bad('Field name must not be blank.');
      patch.name = name;
    }
    if (body.company) patch.company = optionalString(body.company, 'company', NAME_MAX)!;
    if (body.surname) surname = optionalString(body.surname, 'surname', NAME_MAX)!;
    if (body.email) {
      const email = optionalString(body.email, 'email', 320)!;
      if (email.trim().toLowerCase() !== current.email.toLowerCase())
        throw bad('Changing the email address is not supported through the v1 API.');
    }
    if (surname !== undefined) await repo.upsertProfile(db, me.userId, { surname });
    if (patch.name !== undefined || patch.company !== undefined) await identity.updateUser(me.userId, patch);
  }

  async function getUser(actor: V1Actor, id: string): Promise<Doc> {
    const me = needScope(actor, 'users:read');
    const u = (await repo.loadUsers(db, [id])).get(id);
    if (!u) throw bad('No user found.');
    const out: Doc = { _id: u._id, name: u.name, surname: u.surname, company: u.company, archived: u.role === 'archived' };
    if (isAdmin(me) || me.userId === u._id) out.email = u.email;
    return out;
  }

  /** An admin changes another account (v1 requires every field; Atrium applies the ones sent). */
  async function adminUpdateUser(actor: V1Actor, id: string, body: unknown): Promise<void> {
    if (!actor || !isAdmin(actor)) throw new AppError('FORBIDDEN', 'Only admins can access this route', { plainText: true, status: 401 });
    if (!isPlainObject(body)) throw bad('Malformed request.');
    const target = await identity.getUser(id);
    if (!target) throw bad('No user found.');
    const patch: { name?: string; company?: string | null; role?: ServerRole } = {};
    let surname: string | undefined;
    if (body.name !== undefined && body.name !== null) {
      const name = optionalString(body.name, 'name', NAME_MAX)!.trim();
      if (!name) throw bad('Field name must not be blank.');
      patch.name = name;
    }
    if (body.surname !== undefined && body.surname !== null) surname = optionalString(body.surname, 'surname', NAME_MAX)!;
    if (body.company !== undefined) patch.company = optionalString(body.company, 'company', NAME_MAX) ?? null;
    if (body.email !== undefined && body.email !== null) {
      const email = optionalString(body.email, 'email', 320)!;
      if (email.trim().toLowerCase() !== target.email.toLowerCase())
        throw bad('Changing the email address is not supported through the v1 API.');
    }
    if (body.role !== undefined && body.role !== null) {
      if (typeof body.role !== 'string' || !(SERVER_ROLES as readonly string[]).includes(body.role))
        throw bad(`Field role must be one of ${SERVER_ROLES.join(', ')}.`);
      patch.role = body.role as ServerRole;
    }
    if (body.archived !== undefined && body.archived !== null) {
      if (typeof body.archived !== 'boolean') throw bad('Field archived must be true or false.');
      if (body.archived) patch.role = 'archived';
      else if ((patch.role ?? target.role) === 'archived') patch.role = 'user';
    }
    if (target.role === 'admin' && patch.role !== undefined && patch.role !== 'admin') {
      if ((await repo.countAdmins(db)) < 2) throw bad('The server needs at least one admin.');
    }
    if (surname !== undefined) await repo.upsertProfile(db, id, { surname });
    if (Object.keys(patch).length) await identity.updateUser(id, patch);
  }

  async function search(actor: V1Actor, body: unknown): Promise<Doc[]> {
    const me = needScope(actor, 'users:read');
    const text = isPlainObject(body) ? body.searchString : undefined;
    if (typeof text !== 'string' || text.length < 3)
      throw bad('no search criteria present, or too short search string (must be > 2).');
    if (text.length > 320) throw bad('Search string is too long.');
    const ids = await repo.searchUsers(db, text, V1_SEARCH_LIMIT);
    const users = await repo.loadUsers(db, ids);
    return ids.flatMap((id) => {
      const u = users.get(id);
      if (!u) return [];
      const out: Doc = { _id: u._id, name: u.name, surname: u.surname, company: u.company };
      if (isAdmin(me)) out.email = u.email;
      return [out];
    });
  }

  // ---------------------------------------------------------------- websocket rooms

  /** The caller a websocket's `access_token` stands for (v1 keeps sockets with a bad token, as anonymous). */
  async function socketActor(accessToken: string | undefined): Promise<V1Actor> {
    const a = await authenticate(accessToken);
    return a === 'invalid' ? null : a;
  }

  async function canJoinStream(actor: V1Actor, streamId: string): Promise<boolean> {
    const s = await repo.streamByStreamId(db, streamId);
    return !!s && allowed(actor, s, 'read');
  }

  /**
   * May `actor` join room `<type>-<id>`? `private`: the resource exists but is not public (v1 tells an
   * anonymous socket so before refusing).
   */
  async function canJoinResource(actor: V1Actor, type: string, id: string): Promise<{ ok: true } | { ok: false; private: boolean; message: string }> {
    try {
      switch (type) {
        case 'stream':
        case 'streams': {
          const s = await repo.streamByStreamId(db, id);
          if (!s) throw notFound();
          if (allowed(actor, s, 'read')) return { ok: true };
          return { ok: false, private: true, message: 'You are not authorised to read.' };
        }
        case 'project':
        case 'projects': {
          const p = await repo.projectById(db, id);
          if (!p) throw notFound();
          if (allowed(actor, p, 'read')) return { ok: true };
          return { ok: false, private: true, message: 'You are not authorised to read.' };
        }
        case 'object':
        case 'objects': {
          const o = (await repo.objectsByIds(db, [id])).get(id);
          if (!o) throw notFound();
          if (allowed(actor, o, 'read')) return { ok: true };
          return { ok: false, private: true, message: 'You are not authorised to read.' };
        }
        case 'comment':
        case 'comments':
          await comments.get(actor, id);
          return { ok: true };
        default:
          return { ok: false, private: false, message: 'Resource not found.' };
      }
    } catch (err) {
      if (isAppError(err)) return { ok: false, private: err.code === 'UNAUTHORIZED', message: err.message };
      throw err;
    }
  }

  return {
    authenticate,
    accounts: { register, login, profile, updateProfile, getUser, adminUpdateUser, search },
    streams,
    objects: streams.objects,
    projects,
    clients,
    comments,
    sockets: {
      actor: socketActor,
      canJoinStream,
      canJoinResource,
      publish: (event: V1SocketEvent) => bus.publish(V1_WS_CHANNEL, event),
      subscribe: (listener: (event: V1SocketEvent) => void) => bus.subscribe(V1_WS_CHANNEL, (payload) => listener(payload as V1SocketEvent)),
    },
  };
}

/** What one node tells all nodes (itself included) about a v1 websocket message. */
export type V1SocketEvent =
  | { kind: 'broadcast'; room: string; raw: string; senderClientId: string }
  | { kind: 'message'; recipientId: string; raw: string; senderClientId: string };

export type V1Service = ReturnType<typeof createV1Service>;
