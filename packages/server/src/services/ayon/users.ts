/**
 * AYON users on Atrium's one identity system (ayon.md §2, §4): who a request is (session tokens,
 * API keys, Speckle tokens sent as API keys, X-as-user impersonation), login/logout, the AYON user
 * model, user administration, passwords, API keys, access groups and project access.
 *
 * Mapping: AYON `name` = users.username (assigned lazily from the email for users created
 * elsewhere), isAdmin = server role admin, isGuest = server role guest, isService = users.is_service,
 * active = role not archived, everything else AYON keeps in `data` lives in users.data.ayon.
 */
import type { Store } from '../../store/db.js';
import type { IdentityService, UserRecord } from '../identity.js';
import { AppError } from '../../domain/errors.js';
import { AyonError, badRequest, conflict, forbidden, notFound } from './errors.js';
import { EMAIL_RE, SERVICE_KEY_RE, USER_NAME_RE, isPlainObject, isoTime, parseJson } from './rules.js';
import type { AyonEvents } from './events.js';
import type { AttributesService } from './attributes.js';

export const SESSION_KIND = 'ayon_session';
export const API_KEY_KIND = 'ayon_api_key';
/** AYON's session_ttl: 72 h, extended on use. */
export const SESSION_TTL_MS = 72 * 3600 * 1000;
const SESSION_TOUCH_MS = 120_000;
const SERVICE_KEY_NAME = '__service__';
const isServiceKey = (name: string) => name === SERVICE_KEY_NAME || name.startsWith(`${SERVICE_KEY_NAME} `);
const PLACEHOLDER_EMAIL_DOMAIN = 'users.ayon.invalid';

export const BUILTIN_ACCESS_GROUPS: Record<string, Record<string, unknown>> = {
  artist: { description: 'Read and write access to the projects the user is assigned to' },
  editor: { description: 'Read and write access to the projects the user is assigned to' },
  viewer: { description: 'Read-only access', readOnly: true },
};

/** What AYON keeps in user data (stored under users.data.ayon). */
export interface AyonUserData {
  isManager?: boolean;
  isDeveloper?: boolean;
  accessGroups?: Record<string, string[]>;
  defaultAccessGroups?: string[];
  attrib?: Record<string, unknown>;
  disablePasswordLogin?: boolean;
  extra?: Record<string, unknown>;
  roots?: Record<string, Record<string, Record<string, string>>>;
  roleBeforeArchive?: string;
}

export interface AyonUser {
  id: string;
  name: string;
  email: string;
  placeholderEmail: boolean;
  fullName: string;
  avatar: string | null;
  isAdmin: boolean;
  isManager: boolean;
  isService: boolean;
  isGuest: boolean;
  isDeveloper: boolean;
  active: boolean;
  hasPassword: boolean;
  ayon: AyonUserData;
  createdAt: number;
  updatedAt: number;
}

/** The principal of a request. `as` is set when a service user impersonates someone (X-as-user). */
export interface AyonActor extends AyonUser {
  tokenKind: 'session' | 'api_key' | 'speckle_token';
  token: string;
  serviceUser?: AyonUser;
}

export const userData = (r: UserRecord): AyonUserData => (isPlainObject(r.data.ayon) ? (r.data.ayon as AyonUserData) : {});

export function toAyonUser(r: UserRecord, name: string): AyonUser {
  const ayon = userData(r);
  const placeholderEmail = r.email.toLowerCase().endsWith(`@${PLACEHOLDER_EMAIL_DOMAIN}`);
  return {
    id: r.id,
    name,
    email: r.email,
    placeholderEmail,
    fullName: r.name,
    avatar: r.avatar,
    // as AYON: a service account has an administrator's rights (but is no admin in its user data)
    isAdmin: r.role === 'admin' || (r.isService && r.role !== 'guest'),
    isManager: r.role === 'admin' || r.isService || ayon.isManager === true,
    isService: r.isService,
    isGuest: r.role === 'guest',
    isDeveloper: ayon.isDeveloper === true,
    active: r.role !== 'archived',
    hasPassword: r.hasPassword,
    ayon,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

/** The REST UserModel (never a secret). `full`: false gives what other users may see. */
export function userModel(u: AyonUser, full = true, extras: { apiKeyPreview?: string | null } = {}) {
  const attrib: Record<string, unknown> = { ...(u.ayon.attrib ?? {}), fullName: u.fullName };
  if (!u.placeholderEmail) attrib.email = u.email;
  if (u.avatar) attrib.avatarUrl = u.avatar;
  if (!full) return { name: u.name, attrib: { fullName: u.fullName } };
  const data: Record<string, unknown> = {
    ...(u.ayon.extra ?? {}),
    isAdmin: u.isAdmin && !u.isService,
    isManager: u.ayon.isManager === true,
    isService: u.isService,
    isGuest: u.isGuest,
    isDeveloper: u.isDeveloper,
    accessGroups: u.ayon.accessGroups ?? {},
    defaultAccessGroups: u.ayon.defaultAccessGroups ?? [],
  };
  if (extras.apiKeyPreview) data.apiKeyPreview = extras.apiKeyPreview;
  if (u.ayon.disablePasswordLogin) data.disablePasswordLogin = true;
  return {
    name: u.name,
    active: u.active,
    attrib,
    data,
    ownAttrib: Object.keys(attrib),
    hasPassword: u.hasPassword,
    createdAt: isoTime(u.createdAt),
    updatedAt: isoTime(u.updatedAt),
    ...(u.isService ? {} : { uiExposureLevel: u.isAdmin ? 1000 : u.isManager ? 500 : 100 }),
  };
}

export interface Credentials {
  bearer?: string;
  apiKey?: string;
  asUser?: string;
}

export function createAyonUsersService(deps: { store: Store; identity: IdentityService; events: AyonEvents; attributes: AttributesService }) {
  const { store, identity, events, attributes } = deps;
  const { db } = store;

  async function loadById(id: string): Promise<AyonUser | null> {
    const r = await identity.getUserRecord(id);
    if (!r) return null;
    return toAyonUser(r, r.username ?? (await identity.ensureUsername(r.id)));
  }

  /**
   * A user by login name or email. Users made elsewhere (the CLI, the Speckle face) get their login
   * name when first needed: a name no one has yet is looked for among them.
   */
  async function findRecord(login: string): Promise<UserRecord | null> {
    const hit = await identity.findUserByLogin(login);
    if (hit || login.includes('@')) return hit;
    let named = false;
    for (const r of await identity.listUserRecords()) {
      if (r.username) continue;
      await identity.ensureUsername(r.id);
      named = true;
    }
    return named ? identity.findUserByLogin(login) : null;
  }

  /** Gives every user without a login name one (at start). */
  async function assignMissingNames(): Promise<void> {
    for (const r of await identity.listUserRecords()) if (!r.username) await identity.ensureUsername(r.id);
  }

  async function loadByName(name: string): Promise<AyonUser | null> {
    if (typeof name !== 'string' || !name) return null;
    const r = await findRecord(name);
    if (!r) return null;
    // a name lookup only matches login names (the email fallback is for logging in)
    if (name.includes('@')) return null;
    return toAyonUser(r, r.username ?? (await identity.ensureUsername(r.id)));
  }

  async function requireByName(name: string): Promise<AyonUser> {
    const u = await loadByName(name);
    if (!u) throw notFound(`User ${name} not found`);
    return u;
  }

  async function apiKeyPreview(userId: string): Promise<string | null> {
    const keys = await identity.listHashedTokens(userId, API_KEY_KIND);
    const service = keys.find((k) => isServiceKey(k.name));
    return service ? service.name.slice(SERVICE_KEY_NAME.length + 1) : null;
  }

  // ---------------------------------------------------------------- authentication

  /**
   * Resolves credentials to an actor. null: no credentials at all. Throws 401 for invalid ones
   * (a valid token is never refused: only unknown, expired or malformed credentials are).
   */
  async function authenticate(c: Credentials): Promise<AyonActor | null> {
    let actor: AyonActor | null = null;
    if (c.apiKey !== undefined) {
      const key = c.apiKey.trim();
      const hit = await identity.authenticateHashedToken(key, [API_KEY_KIND]);
      if (hit) {
        const u = await loadById(hit.userId);
        if (u?.active) actor = { ...u, tokenKind: 'api_key', token: key };
      } else if (key.length === 42 && /^[0-9a-f]+$/.test(key)) {
        // one identity: a Speckle personal access token works as an AYON API key
        const ctx = await identity.authenticateToken(key);
        if (ctx) {
          const u = await loadById(ctx.userId);
          if (u?.active) actor = { ...u, tokenKind: 'speckle_token', token: key };
        }
      }
      if (!actor) {
        await new Promise((r) => setTimeout(r, 200));
        throw new AyonError(401, 'Invalid API key');
      }
    } else if (c.bearer !== undefined) {
      const token = c.bearer.trim();
      if (token.length !== 64) throw new AyonError(401, 'Invalid session');
      const hit = await identity.authenticateHashedToken(token, [SESSION_KIND], { sliding: true, touchAfterMs: SESSION_TOUCH_MS });
      if (!hit) throw new AyonError(401, 'Session expired');
      const u = await loadById(hit.userId);
      if (!u || !u.active) throw new AyonError(401, 'Invalid session');
      actor = { ...u, tokenKind: 'session', token };
    } else return null;

    if (c.asUser && actor.isService) {
      const target = await loadByName(c.asUser);
      if (!target) throw notFound(`User ${c.asUser} not found`);
      const { tokenKind, token } = actor;
      const service: AyonUser = { ...actor };
      actor = { ...target, tokenKind, token, serviceUser: service };
    }
    return actor;
  }

  /** POST /api/auth/login: username or email (case-insensitive), password → a 64-hex session token. */
  async function login(name: unknown, password: unknown, info: { ip?: string; userAgent?: string } = {}) {
    const invalid = new AyonError(403, 'Invalid login/password combination');
    if (typeof name !== 'string' || typeof password !== 'string') {
      await identity.checkPasswordOf('', '');
      throw invalid;
    }
    const r = await findRecord(name.trim());
    if (!r) {
      await identity.checkPasswordOf('', '');
      throw invalid;
    }
    const ok = await identity.checkPasswordOf(r.id, password);
    if (r.isService) throw new AyonError(403, 'Service users cannot log in');
    if (!r.hasPassword) throw new AyonError(403, 'Password login is not enabled for this user');
    if (!ok || r.role === 'archived') throw invalid;
    const u = toAyonUser(r, r.username ?? (await identity.ensureUsername(r.id)));
    if (u.ayon.disablePasswordLogin) throw new AyonError(403, 'Password login is disabled');
    const { token } = await identity.mintHashedToken({
      userId: u.id,
      kind: SESSION_KIND,
      name: JSON.stringify({ ip: info.ip ?? null, agent: (info.userAgent ?? '').slice(0, 200) }),
      lifespanMs: SESSION_TTL_MS,
    });
    const ev = await events.dispatch(db, [{ topic: 'auth.login', user: u.name, description: `${u.name} logged in`, summary: { ip: info.ip ?? null } }]);
    events.publish(ev);
    return { detail: `Logged in as ${u.name}`, token, user: userModel(u, true, { apiKeyPreview: await apiKeyPreview(u.id) }) };
  }

  async function logout(actor: AyonActor) {
    if (actor.tokenKind === 'session') await identity.revokeHashedToken(actor.token);
    const ev = await events.dispatch(db, [{ topic: 'auth.logout', user: actor.name, description: `${actor.name} logged out`, summary: {} }]);
    events.publish(ev);
  }

  async function me(actor: AyonActor) {
    return userModel(actor, true, { apiKeyPreview: await apiKeyPreview(actor.id) });
  }

  async function get(actor: AyonActor, name: string) {
    const u = await requireByName(name);
    const full = actor.isManager || actor.id === u.id;
    return userModel(u, full, { apiKeyPreview: full ? await apiKeyPreview(u.id) : null });
  }

  async function listAll(): Promise<AyonUser[]> {
    const records = await identity.listUserRecords();
    const out: AyonUser[] = [];
    for (const r of records) out.push(toAyonUser(r, r.username ?? (await identity.ensureUsername(r.id))));
    return out;
  }

  // ---------------------------------------------------------------- administration

  function parseAccessGroups(v: unknown): Record<string, string[]> {
    if (!isPlainObject(v)) throw badRequest('accessGroups must be an object of lists of strings');
    const out: Record<string, string[]> = {};
    for (const [p, groups] of Object.entries(v)) {
      if (!Array.isArray(groups) || groups.some((g) => typeof g !== 'string')) throw badRequest('accessGroups must be an object of lists of strings');
      if (groups.length) out[p] = [...new Set(groups as string[])];
    }
    return out;
  }
  function parseDefaultGroups(v: unknown): string[] {
    if (!Array.isArray(v) || v.some((g) => typeof g !== 'string')) throw badRequest('defaultAccessGroups must be a list of strings');
    return [...new Set(v as string[])];
  }

  /** The one key of a service user (`data.apiKey` in AYON); its preview is kept in the token name. */
  async function setServiceKey(userId: string, key: string | null) {
    for (const k of await identity.listHashedTokens(userId, API_KEY_KIND)) if (isServiceKey(k.name)) await identity.deleteHashedTokens(userId, API_KEY_KIND, { id: k.id });
    if (key !== null) {
      if (!SERVICE_KEY_RE.test(key)) throw badRequest('API key must be 32 alphanumeric characters');
      await identity.mintHashedToken({ userId, kind: API_KEY_KIND, name: `${SERVICE_KEY_NAME} ${key.slice(0, 4)}***${key.slice(-4)}`, secret: key });
    }
  }

  /** PUT /api/users/{name}: creates a user (managers only). */
  async function create(actor: AyonActor, name: string, body: Record<string, unknown>) {
    if (!actor.isManager) throw forbidden('You are not allowed to create users');
    if (!USER_NAME_RE.test(name) || name.length > 128) throw badRequest(`Invalid user name "${name}"`);
    if (await identity.findUserByLogin(name)) throw conflict('User already exists');
    const data = isPlainObject(body.data) ? body.data : {};
    const attrib = isPlainObject(body.attrib) ? body.attrib : {};
    const isService = data.isService === true;
    const isAdmin = data.isAdmin === true;
    const isGuest = data.isGuest === true;
    if (isGuest && (isAdmin || isService)) throw badRequest('Guest users cannot be admins or services');
    if (isAdmin && !actor.isAdmin) throw forbidden('Only administrators can create administrators');
    if (isService && body.password !== undefined && body.password !== null) throw badRequest('Service users cannot have passwords');
    if (body.apiKey !== undefined && body.apiKey !== null && !isService) throw badRequest('API keys can only be set on service users');
    if (body.apiKey !== undefined && body.apiKey !== null && (typeof body.apiKey !== 'string' || !SERVICE_KEY_RE.test(body.apiKey)))
      throw badRequest('API key must be 32 alphanumeric characters');
    const userAttrib = await attributes.validate('user', attrib, { patch: false });
    let email = typeof userAttrib.email === 'string' && userAttrib.email ? userAttrib.email : `${name.toLowerCase()}@${PLACEHOLDER_EMAIL_DOMAIN}`;
    if (!EMAIL_RE.test(email)) throw badRequest('Invalid email address');
    email = email.trim();
    const ayon: AyonUserData = {};
    if (data.isManager === true) ayon.isManager = true;
    if (data.isDeveloper === true) ayon.isDeveloper = true;
    if (data.accessGroups !== undefined) ayon.accessGroups = parseAccessGroups(data.accessGroups);
    if (data.defaultAccessGroups !== undefined) ayon.defaultAccessGroups = parseDefaultGroups(data.defaultAccessGroups);
    if (data.disablePasswordLogin === true) ayon.disablePasswordLogin = true;
    const extraAttrib = { ...userAttrib };
    delete extraAttrib.fullName;
    delete extraAttrib.email;
    delete extraAttrib.avatarUrl;
    if (Object.keys(extraAttrib).length) ayon.attrib = extraAttrib;
    let created;
    try {
      created = await identity.createUser({
        email,
        name: typeof userAttrib.fullName === 'string' && userAttrib.fullName.trim() ? userAttrib.fullName : name,
        password: typeof body.password === 'string' ? body.password : undefined,
        role: isAdmin ? 'admin' : isGuest ? 'guest' : 'user',
        avatar: typeof userAttrib.avatarUrl === 'string' ? userAttrib.avatarUrl : null,
        verified: true,
      });
    } catch (err) {
      if (err instanceof AppError && /Email taken/.test(err.message)) throw conflict('A user with this email already exists');
      if (err instanceof AppError) throw badRequest(err.message);
      throw err;
    }
    await identity.setUserFaceFields(created.id, { username: name, isService, data: { ayon } });
    if (body.active === false) await setActive(created.id, false);
    if (typeof body.apiKey === 'string') await setServiceKey(created.id, body.apiKey);
    const ev = await events.dispatch(db, [{ topic: 'entity.user.created', user: actor.name, description: `User ${name} created`, summary: { entityName: name } }]);
    events.publish(ev);
  }

  async function setActive(id: string, active: boolean) {
    const r = await identity.getUserRecord(id);
    if (!r) return;
    const ayon = userData(r);
    if (!active && r.role !== 'archived') {
      await identity.setUserFaceFields(id, { data: { ...r.data, ayon: { ...ayon, roleBeforeArchive: r.role } } });
      await identity.updateUser(id, { role: 'archived' });
      await identity.deleteHashedTokens(id, SESSION_KIND);
    } else if (active && r.role === 'archived') {
      const role = ayon.roleBeforeArchive === 'admin' || ayon.roleBeforeArchive === 'guest' ? ayon.roleBeforeArchive : 'user';
      await identity.updateUser(id, { role });
    }
  }

  /** PATCH /api/users/{name}: managers any field; others only their own attrib. */
  async function update(actor: AyonActor, name: string, body: Record<string, unknown>) {
    const u = await requireByName(name);
    const self = u.id === actor.id;
    if (!actor.isManager) {
      if (!self) throw forbidden('You are not allowed to modify other users');
      if (body.data !== undefined || body.active !== undefined) throw forbidden('You can only change your own attributes');
    }
    const r = (await identity.getUserRecord(u.id))!;
    const ayon: AyonUserData = { ...userData(r) };
    if (body.attrib !== undefined) {
      const attrib = await attributes.validate('user', body.attrib, { patch: true });
      const patch: Parameters<IdentityService['updateUser']>[1] = {};
      if ('fullName' in attrib) patch.name = typeof attrib.fullName === 'string' && attrib.fullName ? attrib.fullName : u.name;
      if ('avatarUrl' in attrib) patch.avatar = (attrib.avatarUrl as string | null) ?? null;
      if (Object.keys(patch).length) await identity.updateUser(u.id, patch);
      const extra = { ...(ayon.attrib ?? {}) };
      for (const [k, v] of Object.entries(attrib)) {
        if (k === 'fullName' || k === 'avatarUrl' || k === 'email') continue;
        if (v === null) delete extra[k];
        else extra[k] = v;
      }
      ayon.attrib = extra;
    }
    if (body.data !== undefined) {
      if (!isPlainObject(body.data)) throw badRequest('data must be an object');
      const d = body.data;
      if ('isAdmin' in d && !actor.isAdmin) throw forbidden('Only administrators can change administrators');
      if ('isAdmin' in d && d.isAdmin !== (r.role === 'admin')) await identity.updateUser(u.id, { role: d.isAdmin ? 'admin' : 'user' });
      if ('isGuest' in d && d.isGuest !== (r.role === 'guest') && r.role !== 'admin') await identity.updateUser(u.id, { role: d.isGuest ? 'guest' : 'user' });
      if ('isService' in d && !actor.isAdmin) throw forbidden('Only administrators can change service users');
      if ('isService' in d) await identity.setUserFaceFields(u.id, { isService: d.isService === true });
      if ('isManager' in d) ayon.isManager = d.isManager === true;
      if ('isDeveloper' in d) ayon.isDeveloper = d.isDeveloper === true;
      if ('accessGroups' in d) ayon.accessGroups = parseAccessGroups(d.accessGroups);
      if ('defaultAccessGroups' in d) ayon.defaultAccessGroups = parseDefaultGroups(d.defaultAccessGroups);
      if ('disablePasswordLogin' in d) ayon.disablePasswordLogin = d.disablePasswordLogin === true;
      const extra = { ...(ayon.extra ?? {}) };
      for (const [k, v] of Object.entries(d)) {
        if (['isAdmin', 'isGuest', 'isService', 'isManager', 'isDeveloper', 'accessGroups', 'defaultAccessGroups', 'disablePasswordLogin', 'password', 'apiKey', 'apiKeyPreview'].includes(k)) continue;
        if (v === null) delete extra[k];
        else extra[k] = v;
      }
      ayon.extra = extra;
    }
    const fresh = (await identity.getUserRecord(u.id))!;
    await identity.setUserFaceFields(u.id, { data: { ...fresh.data, ayon } });
    if (body.active !== undefined) await setActive(u.id, body.active === true);
    const ev = await events.dispatch(db, [{ topic: 'entity.user.changed', user: actor.name, description: `User ${u.name} changed`, summary: { entityName: u.name } }]);
    events.publish(ev);
  }

  async function remove(actor: AyonActor, name: string) {
    if (!actor.isManager) throw forbidden('You are not allowed to delete users');
    const u = await requireByName(name);
    if (u.isAdmin && !actor.isAdmin) throw forbidden('Only administrators can delete administrators');
    await identity.deleteUser(u.id);
    const ev = await events.dispatch(db, [{ topic: 'entity.user.deleted', user: actor.name, description: `User ${u.name} deleted`, summary: { entityName: u.name } }]);
    events.publish(ev);
  }

  async function rename(actor: AyonActor, name: string, newName: unknown) {
    if (!actor.isManager) throw forbidden('You are not allowed to rename users');
    if (typeof newName !== 'string' || !USER_NAME_RE.test(newName)) throw badRequest('Invalid user name');
    const u = await requireByName(name);
    const clash = await identity.findUserByLogin(newName);
    if (clash && clash.id !== u.id) throw conflict('User already exists');
    await identity.setUserFaceFields(u.id, { username: newName });
  }

  /** PATCH /api/users/{name}/password {password?, apiKey?}: the user or an admin/manager. */
  async function changePassword(actor: AyonActor, name: string, body: Record<string, unknown>) {
    const u = await requireByName(name);
    if (!(actor.isAdmin || actor.isManager || actor.id === u.id)) throw forbidden('You are not allowed to change the password of another user');
    if (body.password !== undefined && body.password !== null) {
      if (u.isService) throw badRequest('Service users cannot have passwords');
      if (typeof body.password !== 'string') throw badRequest('Invalid password');
      try {
        await identity.setPassword(u.id, body.password);
      } catch (err) {
        if (err instanceof AppError) throw badRequest(err.message);
        throw err;
      }
      // a new password ends the user's other sessions
      for (const s of await identity.listHashedTokens(u.id, SESSION_KIND)) {
        if (actor.tokenKind === 'session' && actor.id === u.id && s.id === sessionId(actor.token)) continue;
        await identity.deleteHashedTokens(u.id, SESSION_KIND, { id: s.id });
      }
    }
    if (body.apiKey !== undefined) {
      if (!u.isService) throw badRequest('API keys can only be set on service users');
      if (body.apiKey !== null && typeof body.apiKey !== 'string') throw badRequest('Invalid API key');
      await setServiceKey(u.id, body.apiKey as string | null);
    }
    if (body.password === undefined && body.apiKey === undefined) throw badRequest('Password or API key must be given');
  }

  const sessionId = (token: string) => identityDigestId(token);

  async function setAccessGroups(actor: AyonActor, name: string, body: Record<string, unknown>) {
    if (!actor.isManager) throw forbidden('You are not allowed to change access groups');
    const u = await requireByName(name);
    if (!Array.isArray(body.accessGroups)) throw badRequest('accessGroups must be a list of {project, accessGroups}');
    const r = (await identity.getUserRecord(u.id))!;
    const ayon: AyonUserData = { ...userData(r) };
    const groups = { ...(ayon.accessGroups ?? {}) };
    for (const item of body.accessGroups) {
      if (!isPlainObject(item) || typeof item.project !== 'string') throw badRequest('accessGroups must be a list of {project, accessGroups}');
      const list = parseDefaultGroups(item.accessGroups ?? []);
      if (list.length) groups[item.project] = list;
      else delete groups[item.project];
    }
    ayon.accessGroups = groups;
    await identity.setUserFaceFields(u.id, { data: { ...r.data, ayon } });
    await accessChanged(actor, u.name);
  }

  /** access changes are user changes: open /ws sockets of that user re-read their access at once */
  async function accessChanged(actor: AyonActor, name: string) {
    const ev = await events.dispatch(db, [{ topic: 'entity.user.changed', user: actor.name, description: `User ${name} changed`, summary: { entityName: name } }]);
    events.publish(ev);
  }

  async function setProjectAccess(actor: AyonActor, userName: string, project: string, groups: unknown) {
    if (!actor.isManager) throw forbidden('You are not allowed to change project access');
    const list = parseDefaultGroups(groups);
    const u = await requireByName(userName);
    const r = (await identity.getUserRecord(u.id))!;
    const ayon: AyonUserData = { ...userData(r) };
    const ag = { ...(ayon.accessGroups ?? {}) };
    if (list.length) ag[project] = list;
    else delete ag[project];
    ayon.accessGroups = ag;
    await identity.setUserFaceFields(u.id, { data: { ...r.data, ayon } });
    await accessChanged(actor, u.name);
  }

  // ---------------------------------------------------------------- personal API keys and sessions

  function ensureOwnerOrAdmin(actor: AyonActor, u: AyonUser) {
    if (!(actor.isAdmin || actor.id === u.id)) throw forbidden('You are not allowed to manage API keys of other users');
  }

  async function listApiKeys(actor: AyonActor, name: string) {
    const u = await requireByName(name);
    ensureOwnerOrAdmin(actor, u);
    const keys = await identity.listHashedTokens(u.id, API_KEY_KIND);
    return keys
      .filter((k) => !isServiceKey(k.name))
      .map((k) => {
        const meta = parseJson<{ label?: string; expires?: number | null; preview?: string }>(k.name, {});
        return { id: k.id, label: meta.label ?? k.name, preview: meta.preview ?? k.preview, created: Math.floor(k.createdAt / 1000), expires: meta.expires ?? null };
      });
  }

  async function createApiKey(actor: AyonActor, name: string, body: Record<string, unknown>) {
    const u = await requireByName(name);
    ensureOwnerOrAdmin(actor, u);
    if (typeof body.label !== 'string' || !body.label.trim()) throw badRequest('label is required');
    if (typeof body.key !== 'string' || body.key.length < 8 || body.key.length > 512) throw badRequest('key must be 8 to 512 characters');
    const existing = await listApiKeys(actor, name);
    if (existing.some((k) => k.label === body.label)) throw badRequest(`API key with label "${body.label}" already exists`);
    let lifespanMs: number | undefined;
    let expires: number | null = null;
    if (body.expires !== undefined && body.expires !== null) {
      if (typeof body.expires !== 'number' || !Number.isFinite(body.expires)) throw badRequest('expires must be epoch seconds');
      expires = body.expires;
      lifespanMs = Math.max(1, Math.round(body.expires * 1000 - Date.now()));
    }
    const key = body.key;
    await identity.mintHashedToken({
      userId: u.id,
      kind: API_KEY_KIND,
      name: JSON.stringify({ label: body.label, expires, preview: `${key.slice(0, 4)}*****${key.slice(-4)}` }),
      secret: key,
      lifespanMs,
    });
  }

  async function updateApiKey(actor: AyonActor, name: string, keyId: string, body: Record<string, unknown>) {
    const u = await requireByName(name);
    ensureOwnerOrAdmin(actor, u);
    const row = await db.selectFrom('api_tokens').selectAll().where('id', '=', keyId).where('owner_id', '=', u.id).where('kind', '=', API_KEY_KIND).executeTakeFirst();
    if (!row || isServiceKey(row.name)) throw notFound('API key not found');
    const meta = parseJson<{ label?: string; expires?: number | null; preview?: string }>(row.name, {});
    const values: { name?: string; lifespan_ms?: number } = {};
    if (typeof body.label === 'string' && body.label.trim()) meta.label = body.label;
    if (body.expires !== undefined) {
      if (body.expires === null) {
        meta.expires = null;
        values.lifespan_ms = 3.154e12;
      } else if (typeof body.expires === 'number') {
        meta.expires = body.expires;
        values.lifespan_ms = Math.max(1, Math.round(body.expires * 1000 - row.created_at));
      }
    }
    values.name = JSON.stringify(meta);
    await db.updateTable('api_tokens').set(values).where('id', '=', keyId).execute();
  }

  async function deleteApiKey(actor: AyonActor, name: string, keyId: string) {
    const u = await requireByName(name);
    ensureOwnerOrAdmin(actor, u);
    const n = await identity.deleteHashedTokens(u.id, API_KEY_KIND, { id: keyId });
    if (!n) throw notFound('API key not found');
  }

  async function listSessions(actor: AyonActor, name: string) {
    const u = await requireByName(name);
    if (!(actor.isManager || actor.id === u.id)) throw forbidden('You are not allowed to list sessions of other users');
    const sessions = await identity.listHashedTokens(u.id, SESSION_KIND);
    return sessions
      .filter((s) => Date.now() - s.lastUsed <= s.lifespanMs)
      .map((s) => {
        const meta = parseJson<{ ip?: string; agent?: string }>(s.name, {});
        return {
          token: s.id,
          isService: false,
          lastUsed: Math.floor(s.lastUsed / 1000),
          clientInfo: { ip: meta.ip ?? null, agent: { client: meta.agent ?? null } },
          current: actor.tokenKind === 'session' && identityDigestId(actor.token) === s.id,
        };
      });
  }

  async function deleteSession(actor: AyonActor, name: string, sessionIdValue: string) {
    const u = await requireByName(name);
    if (!(actor.isManager || actor.id === u.id)) throw forbidden('You are not allowed to end sessions of other users');
    const n = await identity.deleteHashedTokens(u.id, SESSION_KIND, { id: sessionIdValue });
    if (!n) throw notFound('Session not found');
  }

  // ---------------------------------------------------------------- access groups

  async function listAccessGroups(project = '_') {
    const rows = await db.selectFrom('ayon_access_groups').select(['name', 'project_name']).where('project_name', 'in', project === '_' ? ['_'] : ['_', project]).execute();
    const names = new Set([...Object.keys(BUILTIN_ACCESS_GROUPS), ...rows.map((r) => r.name)]);
    return [...names].sort().map((name) => ({ name, isProjectLevel: rows.some((r) => r.name === name && r.project_name !== '_') }));
  }

  async function getAccessGroup(name: string, project = '_') {
    const rows = await db.selectFrom('ayon_access_groups').selectAll().where('name', '=', name).where('project_name', 'in', ['_', project]).execute();
    const base = rows.find((r) => r.project_name === '_');
    const override = project !== '_' ? rows.find((r) => r.project_name === project) : undefined;
    if (!base && !override && !(name in BUILTIN_ACCESS_GROUPS)) throw notFound(`Access group ${name} not found`);
    return { ...(BUILTIN_ACCESS_GROUPS[name] ?? {}), ...parseJson(base?.data, {}), ...parseJson(override?.data, {}) };
  }

  async function saveAccessGroup(actor: AyonActor, name: string, project: string, data: unknown) {
    if (!actor.isManager) throw forbidden('Only managers can modify access groups');
    if (!/^[a-zA-Z0-9_][a-zA-Z0-9_.\-]{0,62}$/.test(name)) throw badRequest('Invalid access group name');
    if (!isPlainObject(data)) throw badRequest('Access group data must be an object');
    const json = JSON.stringify(data);
    const hit = await db.selectFrom('ayon_access_groups').select('name').where('name', '=', name).where('project_name', '=', project).executeTakeFirst();
    if (hit) await db.updateTable('ayon_access_groups').set({ data: json }).where('name', '=', name).where('project_name', '=', project).execute();
    else await db.insertInto('ayon_access_groups').values({ name, project_name: project, data: json }).execute();
  }

  async function deleteAccessGroup(actor: AyonActor, name: string, project: string) {
    if (!actor.isManager) throw forbidden('Only managers can modify access groups');
    const res = await db.deleteFrom('ayon_access_groups').where('name', '=', name).where('project_name', '=', project).executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) throw notFound(`Access group ${name} not found`);
  }

  /** Whether the groups a user holds on a project allow writing (a group marked readOnly does not). */
  async function canWrite(groups: string[], project: string): Promise<boolean> {
    for (const g of groups) {
      const data = await getAccessGroup(g, project).catch(() => ({}) as Record<string, unknown>);
      if ((data as Record<string, unknown>).readOnly !== true) return true;
    }
    return false;
  }

  return {
    assignMissingNames,
    loadById,
    loadByName,
    requireByName,
    authenticate,
    login,
    logout,
    me,
    get,
    listAll,
    create,
    update,
    remove,
    rename,
    changePassword,
    setAccessGroups,
    setProjectAccess,
    listApiKeys,
    createApiKey,
    updateApiKey,
    deleteApiKey,
    listSessions,
    deleteSession,
    listAccessGroups,
    getAccessGroup,
    saveAccessGroup,
    deleteAccessGroup,
    canWrite,
    apiKeyPreview,
  };
}

import { createHash } from 'node:crypto';
/** The id a hashed token is stored under (first 32 hex of its SHA-256), as identity stores it. */
function identityDigestId(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 32);
}

export type AyonUsersService = ReturnType<typeof createAyonUsersService>;
