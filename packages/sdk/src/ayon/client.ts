/**
 * AyonClient: ayon-python-api's `ServerAPI` in TypeScript, camelCase, for the AYON wire protocol
 * (Atrium's AYON face or an AYON server). Same endpoints, same documents, same answers:
 *
 * - connection: `GET /` must answer, `GET /api/info`, token probe `GET /api/users/me` with Bearer
 *   then X-Api-Key (the key variant makes a service connection, which may act as another user);
 * - REST under `/api`, GraphQL at `/graphql` paged 300 at a time;
 * - writes through REST per entity and batch operations (`OperationsSession` uses the background
 *   variant and polls it, like the Python client).
 *
 * Readers are async generators (`for await (const f of client.getFolders(p))`); `…ById` helpers
 * return the entity or null.
 */
import { AyonAuthenticationError, AyonHttpError, AyonUnauthorizedError, FailedOperations, GraphQlQueryFailed, type GraphQlErrorEntry } from './errors.js';
import { DEFAULT_FIELDS, connectionQuery, type EntityKind, type Filter } from './graphql.js';

export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;
type Dict = Record<string, any>;

export interface AyonClientOptions {
  /** e.g. `http://localhost:3000/ayon` (Atrium) or `https://ayon.example.com` */
  baseUrl: string;
  /** a session token (from login) or an API key */
  token?: string;
  /** per request (ayon_api: 10 s) */
  timeoutMs?: number;
  fetch?: FetchLike;
  siteId?: string;
  clientVersion?: string;
  sender?: string;
  senderType?: string;
}

export interface ServerVersionTuple {
  major: number;
  minor: number;
  patch: number;
  prerelease: string;
  build: string;
}

export interface RestResponse<T = any> {
  status: number;
  data: T;
  headers: Headers;
  body: Uint8Array;
}

export interface ThumbnailContent {
  projectName: string;
  id: string | null;
  content: Uint8Array | null;
  contentType: string | null;
  isValid: boolean;
}

export interface OperationResult {
  id: string;
  type: string;
  entityType: string;
  entityId: string | null;
  success: boolean;
  status: number;
  detail?: string;
  errorCode?: string;
}

const newId = (): string => globalThis.crypto.randomUUID().replace(/-/g, '');

/** Parses "1.16.0+atrium" like ayon_api. */
export function parseAyonVersion(v: string): ServerVersionTuple {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:-([^+]+))?(?:\+(.*))?$/.exec(v.trim());
  if (!m) throw new Error(`Invalid server version "${v}"`);
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), prerelease: m[4] ?? '', build: m[5] ?? '' };
}

function jsonValue(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

/** ayon_api's _convert_entity_data (+ own attributes when asked). */
function convertEntity(e: Dict, ownAttributes: boolean): Dict {
  if ('data' in e) e.data = jsonValue(e.data ?? {}) ?? {};
  if (typeof e.allAttrib === 'string') e.attrib = JSON.parse(e.allAttrib);
  if ('context' in e) e.context = e.context && e.context !== 'null' ? jsonValue(e.context) : {};
  if (Array.isArray(e.files)) for (const f of e.files) if (f.size !== undefined && f.size !== null) f.size = Number(f.size);
  if (ownAttributes && e.attrib && Array.isArray(e.ownAttrib)) {
    const own = new Set<string>(e.ownAttrib);
    e.ownAttributes = Object.fromEntries(Object.entries(e.attrib).map(([k, v]) => [k, own.has(k) ? v : null]));
  }
  return e;
}

export class AyonClient {
  readonly baseUrl: string;
  private token: string | null;
  private service: boolean | null = null;
  private valid: boolean | null = null;
  private asUserStack: string[] = [];
  private defaultServiceUser: string | null = null;
  private info: Dict | null = null;
  private attributesCache: { at: number; schema: Dict } | null = null;
  private readonly fetchFn: FetchLike;
  private readonly opts: AyonClientOptions;

  constructor(opts: AyonClientOptions) {
    this.opts = opts;
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.token = opts.token ?? null;
    this.fetchFn = opts.fetch ?? ((i, init) => fetch(i, init));
  }

  // ------------------------------------------------------------------ transport

  /** Headers of every request (ayon_api's get_headers). */
  getHeaders(contentType = 'application/json'): Record<string, string> {
    const h: Record<string, string> = { 'Content-Type': contentType, 'x-ayon-platform': process.platform === 'win32' ? 'windows' : process.platform, referer: this.baseUrl };
    if (this.opts.siteId) h['x-ayon-site-id'] = this.opts.siteId;
    if (this.opts.clientVersion) h['x-ayon-version'] = this.opts.clientVersion;
    if (this.opts.senderType) h['x-sender-type'] = this.opts.senderType;
    if (this.opts.sender) h['x-sender'] = this.opts.sender;
    if (this.token && this.valid !== false) {
      if (this.service) {
        h['X-Api-Key'] = this.token;
        const as = this.asUserStack[this.asUserStack.length - 1] ?? this.defaultServiceUser;
        if (as) h['X-as-user'] = as;
      } else h.Authorization = `Bearer ${this.token}`;
    }
    return h;
  }

  private async send(method: string, url: string, init: { headers?: Record<string, string>; body?: BodyInit | null } = {}): Promise<Response> {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), this.opts.timeoutMs ?? 10_000);
    try {
      return await this.fetchFn(url, { method, headers: init.headers, body: init.body ?? undefined, signal: ctl.signal });
    } finally {
      clearTimeout(timer);
    }
  }

  /** A REST call: `endpoint` under /api; throws AyonHttpError for statuses ≥ 400 unless `raw`. */
  async request<T = any>(method: string, endpoint: string, opts: { json?: unknown; params?: Record<string, unknown>; body?: BodyInit; contentType?: string; headers?: Record<string, string>; raw?: boolean } = {}): Promise<RestResponse<T>> {
    if (this.token && this.valid === null) await this.validateToken();
    let url = endpoint.startsWith('http') ? endpoint : `${this.baseUrl}/api/${endpoint.replace(/^\/+/, '')}`;
    if (opts.params) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(opts.params)) if (v !== undefined && v !== null) q.set(k, typeof v === 'boolean' ? String(v) : String(v));
      const qs = q.toString();
      if (qs) url += `${url.includes('?') ? '&' : '?'}${qs}`;
    }
    const headers = { ...this.getHeaders(opts.contentType), ...(opts.headers ?? {}) };
    const res = await this.send(method, url, { headers, body: opts.json !== undefined ? JSON.stringify(opts.json) : opts.body ?? null });
    const body = new Uint8Array(await res.arrayBuffer());
    let data: any = {};
    if (body.length) {
      try {
        data = JSON.parse(new TextDecoder().decode(body));
      } catch {
        data = {};
      }
    }
    if (res.status === 401 && this.valid) this.valid = false; // as ayon_api: a 401 ends the connection
    if (res.status >= 400 && !opts.raw) {
      const detail = typeof data?.detail === 'string' ? data.detail : res.statusText;
      if (res.status === 401) throw new AyonUnauthorizedError(detail, data, url);
      throw new AyonHttpError(res.status, detail, data, url);
    }
    return { status: res.status, data, headers: res.headers, body };
  }

  get<T = any>(endpoint: string, params?: Record<string, unknown>) {
    return this.request<T>('GET', endpoint, { params });
  }
  post<T = any>(endpoint: string, json: unknown = {}) {
    return this.request<T>('POST', endpoint, { json });
  }
  put<T = any>(endpoint: string, json: unknown = {}) {
    return this.request<T>('PUT', endpoint, { json });
  }
  patch<T = any>(endpoint: string, json: unknown = {}) {
    return this.request<T>('PATCH', endpoint, { json });
  }
  delete<T = any>(endpoint: string, params?: Record<string, unknown>) {
    return this.request<T>('DELETE', endpoint, { params });
  }

  /** POST /graphql; throws GraphQlQueryFailed when the answer has errors. */
  async queryGraphql(query: string, variables: Record<string, unknown> = {}): Promise<Dict> {
    const res = await this.request('POST', `${this.baseUrl}/graphql`, { json: { query, variables } });
    const errors = res.data?.errors as GraphQlErrorEntry[] | undefined;
    if (errors?.length) throw new GraphQlQueryFailed(errors, query);
    return res.data.data;
  }

  private async *paged(opts: Parameters<typeof connectionQuery>[0], pick: (data: Dict) => Dict): AsyncGenerator<Dict> {
    let after: string | null = null;
    for (;;) {
      const { query, variables } = connectionQuery({ ...opts, after });
      const conn = pick(await this.queryGraphql(query, variables));
      for (const e of conn.edges) yield e.node;
      if (!conn.pageInfo.hasNextPage) return;
      if (!conn.pageInfo.endCursor || conn.pageInfo.endCursor === after) throw new Error("Cursor didn't change during pagination.");
      after = conn.pageInfo.endCursor;
    }
  }

  // ------------------------------------------------------------------ connection

  async isServerAvailable(): Promise<boolean> {
    try {
      return (await this.send('GET', this.baseUrl)).status === 200;
    } catch {
      return false;
    }
  }

  /** Bearer first, then X-Api-Key (a key makes a service connection), as ayon_api does. */
  async validateToken(): Promise<boolean> {
    if (!this.token) {
      this.valid = false;
      return false;
    }
    await this.getInfo();
    for (const [headers, service] of [
      [{ Authorization: `Bearer ${this.token}` }, false],
      [{ 'X-Api-Key': this.token }, true],
    ] as const) {
      const r = await this.send('GET', `${this.baseUrl}/api/users/me`, { headers: { 'Content-Type': 'application/json', ...headers } });
      await r.arrayBuffer();
      if (r.status === 200) {
        this.valid = true;
        this.service = service;
        return true;
      }
    }
    this.valid = false;
    return false;
  }

  get accessToken(): string | null {
    return this.token;
  }
  async hasValidToken(): Promise<boolean> {
    if (!this.token) return false;
    if (this.valid === null) await this.validateToken();
    return this.valid === true;
  }
  isServiceUser(): boolean {
    return this.service === true;
  }

  async setToken(token: string | null): Promise<void> {
    this.token = token;
    this.valid = null;
    this.service = null;
    if (token) await this.validateToken();
  }

  async login(username: string, password: string): Promise<void> {
    if (!(await this.isServerAvailable())) throw new AyonAuthenticationError(`Server "${this.baseUrl}" can't be reached`);
    const r = await this.send('POST', `${this.baseUrl}/api/auth/login`, { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: username, password }) });
    const data = (await r.json().catch(() => ({}))) as Dict;
    if (r.status !== 200) throw new AyonAuthenticationError(`Login failed ${data.detail ?? ''}`.trim());
    this.token = data.token;
    this.valid = true;
    this.service = false;
  }

  async logout(): Promise<void> {
    if (this.token && this.valid) await this.request('POST', 'auth/logout', { raw: true });
    this.token = null;
    this.valid = null;
    this.service = null;
  }

  /** Runs `fn` as another user (services only; header X-as-user). */
  async asUsername<T>(username: string, fn: () => Promise<T>): Promise<T> {
    if (!this.isServiceUser()) throw new Error('Can\'t set service username. Connection is not authenticated with a service API key.');
    this.asUserStack.push(username);
    try {
      return await fn();
    } finally {
      this.asUserStack.pop();
    }
  }
  setDefaultServiceUsername(username: string | null): void {
    if (username && !this.isServiceUser()) throw new Error('Can\'t set service username. Connection is not authenticated with a service API key.');
    this.defaultServiceUser = username;
  }

  async getInfo(): Promise<Dict> {
    const r = await this.send('GET', `${this.baseUrl}/api/info`, { headers: this.getHeaders() });
    if (r.status >= 400) throw new AyonHttpError(r.status, r.statusText, null, `${this.baseUrl}/api/info`);
    return (this.info = (await r.json()) as Dict);
  }
  async getServerVersion(): Promise<string> {
    return (this.info ?? (await this.getInfo())).version;
  }
  async getServerVersionTuple(): Promise<ServerVersionTuple> {
    return parseAyonVersion(await this.getServerVersion());
  }
  async getServerSchema(): Promise<Dict | null> {
    const r = await this.send('GET', `${this.baseUrl}/openapi.json`, { headers: this.getHeaders() });
    return r.status === 200 ? ((await r.json()) as Dict) : null;
  }
  async triggerServerRestart(): Promise<void> {
    const r = await this.post('system/restart');
    if (r.status !== 204) throw new Error('Failed to restart server');
  }

  // ------------------------------------------------------------------ users

  async getUser(username?: string): Promise<Dict | null> {
    const r = await this.get(username ? `users/${encodeURIComponent(username)}` : 'users/me');
    const user = r.data;
    for (const [name, def] of Object.entries(await this.getAttributesForType('user'))) if (!(name in user.attrib)) user.attrib[name] = def.default ?? null;
    return user;
  }

  async *getUsers(opts: { projectName?: string; usernames?: string[]; emails?: string[]; fields?: string[] } = {}): AsyncGenerator<Dict> {
    const filters: Filter[] = [
      { arg: 'names', type: '[String!]', value: opts.usernames },
      { arg: 'emails', type: '[String!]', value: opts.emails },
      { arg: 'projectName', type: 'String!', value: opts.projectName },
    ];
    for await (const u of this.paged({ name: 'Users', root: 'users', projectName: null, filters, fields: opts.fields ?? DEFAULT_FIELDS.user }, (d) => d.users)) {
      if (typeof u.accessGroups === 'string') u.accessGroups = JSON.parse(u.accessGroups);
      if (typeof u.allAttrib === 'string') u.attrib = JSON.parse(u.allAttrib);
      yield u;
    }
  }
  async getUserByName(username: string): Promise<Dict | null> {
    for await (const u of this.getUsers({ usernames: [username] })) return u;
    return null;
  }
  async createUser(username: string, opts: { password?: string; apiKey?: string; attrib?: Dict; data?: Dict; active?: boolean } = {}): Promise<void> {
    await this.put(`users/${encodeURIComponent(username)}`, opts);
  }
  async updateUser(username: string, opts: { attrib?: Dict; data?: Dict; active?: boolean }): Promise<void> {
    await this.patch(`users/${encodeURIComponent(username)}`, opts);
  }
  async deleteUser(username: string): Promise<void> {
    await this.delete(`users/${encodeURIComponent(username)}`);
  }
  async changePassword(username: string, opts: { password?: string; apiKey?: string }): Promise<void> {
    if (opts.password === undefined && opts.apiKey === undefined) throw new Error('Password or api key must be passed.');
    await this.patch(`users/${encodeURIComponent(username)}/password`, opts);
  }
  async setUserAccessGroups(username: string, accessGroups: Record<string, string[]>): Promise<void> {
    await this.patch(`users/${encodeURIComponent(username)}/accessGroups`, {
      accessGroups: Object.entries(accessGroups).map(([project, groups]) => ({ project, accessGroups: groups })),
    });
  }
  async getUserApiKeys(username: string): Promise<Dict[]> {
    return (await this.get(`users/${encodeURIComponent(username)}/apikeys`)).data;
  }
  async createUserApiKey(username: string, label: string, key: string, expires?: number): Promise<void> {
    await this.post(`users/${encodeURIComponent(username)}/apikeys`, { label, key, expires: expires ?? null });
  }
  async deleteUserApiKey(username: string, keyId: string): Promise<void> {
    await this.delete(`users/${encodeURIComponent(username)}/apikeys/${keyId}`);
  }
  async getAccessGroups(projectName?: string): Promise<Dict[]> {
    return (await this.get(`accessGroups/${projectName ?? '_'}`)).data;
  }
  async getProjectUsers(projectName: string): Promise<Record<string, string[]>> {
    return (await this.get(`projects/${projectName}/users`)).data;
  }
  async setProjectUserAccessGroups(projectName: string, username: string, accessGroups: string[]): Promise<Dict> {
    return (await this.request('PATCH', `projects/${projectName}/users/${encodeURIComponent(username)}`, { json: accessGroups })).data;
  }

  // ------------------------------------------------------------------ attributes

  async getAttributesSchema(useCache = true): Promise<Dict> {
    if (useCache && this.attributesCache && Date.now() - this.attributesCache.at < 60_000) return this.attributesCache.schema;
    const schema = (await this.get('attributes')).data;
    this.attributesCache = { at: Date.now(), schema };
    return schema;
  }
  resetAttributesCache(): void {
    this.attributesCache = null;
  }
  async getAttributesForType(entityType: string): Promise<Record<string, Dict>> {
    const schema = await this.getAttributesSchema();
    return Object.fromEntries((schema.attributes as Dict[]).filter((a) => a.scope.includes(entityType)).map((a) => [a.name, a.data]));
  }
  async setAttributeConfig(name: string, data: Dict, scope: string[], position?: number, builtin = false): Promise<void> {
    if (position === undefined) {
      const attrs = (await this.get('attributes')).data.attributes as Dict[];
      position = attrs.find((a) => a.name === name)?.position ?? attrs.length;
    }
    await this.put(`attributes/${name}`, { data, scope, position, builtin });
    this.resetAttributesCache();
  }
  async deleteAttributeConfig(name: string): Promise<void> {
    await this.delete(`attributes/${name}`);
    this.resetAttributesCache();
  }

  // ------------------------------------------------------------------ projects and anatomy

  async getProjectAnatomyPresets(): Promise<Dict[]> {
    return (await this.get('anatomy/presets')).data.presets ?? [];
  }
  async getProjectAnatomyPreset(presetName = '__primary__'): Promise<Dict> {
    return (await this.get(`anatomy/presets/${presetName}`)).data;
  }
  async getBuiltInAnatomyPreset(): Promise<Dict> {
    return this.getProjectAnatomyPreset('__builtin__');
  }
  async saveProjectAnatomyPreset(name: string, preset: Dict): Promise<void> {
    await this.put(`anatomy/presets/${name}`, preset);
  }
  async deleteProjectAnatomyPreset(name: string): Promise<void> {
    await this.delete(`anatomy/presets/${name}`);
  }
  async getProjectAnatomy(projectName: string): Promise<Dict> {
    return (await this.get(`projects/${projectName}/anatomy`)).data;
  }

  async getRestProjectsList(opts: { active?: boolean | null; library?: boolean | null } = {}): Promise<Dict[]> {
    const active = opts.active === undefined ? true : opts.active;
    return (await this.get('projects', { active: active === null ? undefined : active, library: opts.library ?? undefined })).data.projects;
  }
  async getProjectNames(opts: { active?: boolean | null; library?: boolean | null } = {}): Promise<string[]> {
    return (await this.getRestProjectsList(opts)).map((p) => p.name);
  }
  /** GET /api/projects/{name} with attribute defaults filled (ayon_api's get_rest_project); null when missing. */
  async getProject(projectName: string, opts: { ownAttributes?: boolean } = {}): Promise<Dict | null> {
    const r = await this.request('GET', `projects/${projectName}`, { raw: true });
    if (r.status !== 200) return null;
    const p = r.data;
    for (const [name, def] of Object.entries(await this.getAttributesForType('project'))) if (!(name in p.attrib)) p.attrib[name] = def.default ?? null;
    for (const s of p.statuses ?? []) s.scope ??= ['folder', 'task', 'product', 'version', 'representation', 'workfile'];
    p.bundle = { production: p.data?.bundle?.production ?? null, staging: p.data?.bundle?.staging ?? null };
    for (const lt of p.linkTypes ?? []) {
      if (lt.data) Object.assign(lt, lt.data);
      delete lt.data;
      lt.style ??= null;
      lt.color ??= null;
    }
    if (opts.ownAttributes) {
      const own = new Set<string>(p.ownAttrib ?? []);
      p.ownAttributes = Object.fromEntries(Object.entries(p.attrib).map(([k, v]) => [k, own.has(k) ? v : null]));
    }
    return p;
  }
  async *getProjects(opts: { active?: boolean | null; library?: boolean | null } = {}): AsyncGenerator<Dict> {
    for (const name of await this.getProjectNames(opts)) {
      const p = await this.getProject(name);
      if (p) yield p;
    }
  }
  /** Creates a project from an anatomy preset (the primary one by default) and returns it. */
  async createProject(projectName: string, projectCode: string, opts: { libraryProject?: boolean; presetName?: string; data?: Dict } = {}): Promise<Dict> {
    if (await this.getProject(projectName)) throw new Error(`Project with name "${projectName}" already exists`);
    if (!/^[a-zA-Z0-9_]+$/.test(projectName)) throw new Error(`Project name "${projectName}" contain invalid characters`);
    const anatomy = await this.getProjectAnatomyPreset(opts.presetName);
    const r = await this.request('POST', 'projects', { json: { name: projectName, code: projectCode, anatomy, library: opts.libraryProject ?? false, data: opts.data ?? {} }, raw: true });
    if (r.status !== 201) throw new Error(`Failed to create project "${projectName}": ${r.data?.detail ?? `Unknown details (${r.status})`}`);
    return (await this.getProject(projectName))!;
  }
  async updateProject(projectName: string, changes: Dict): Promise<void> {
    await this.patch(`projects/${projectName}`, changes);
  }
  async deleteProject(projectName: string): Promise<void> {
    if (!(await this.getProject(projectName))) throw new Error(`Project with name "${projectName}" was not found`);
    const r = await this.request('DELETE', `projects/${projectName}`, { raw: true });
    if (r.status !== 204) throw new Error(`Failed to delete project "${projectName}". ${r.data?.detail ?? ''}`);
  }
  async getProjectRootsByPlatform(projectName: string, platform: 'windows' | 'linux' | 'darwin'): Promise<Record<string, string>> {
    return (await this.get(`projects/${projectName}/siteRoots`, { platform })).data;
  }
  async getProjectRootsBySiteId(projectName: string, siteId: string): Promise<Record<string, string>> {
    return (await this.get(`projects/${projectName}/siteRoots`, { site_id: siteId })).data;
  }
  async getProjectRootOverrides(projectName: string): Promise<Dict> {
    return (await this.get(`projects/${projectName}/roots`)).data;
  }
  async setProjectRootOverrides(projectName: string, siteId: string, roots: Record<string, string | null>): Promise<void> {
    await this.request('PUT', `projects/${projectName}/roots/${siteId}`, { json: roots });
  }

  // ------------------------------------------------------------------ hierarchy readers

  private entities(kind: EntityKind, projectName: string, filters: Filter[], opts: { fields?: string[]; ownAttributes?: boolean; active?: boolean | null }) {
    const fields = new Set<string>(opts.fields ?? DEFAULT_FIELDS[kind]);
    fields.add('id');
    if (opts.ownAttributes && (kind === 'folder' || kind === 'task')) {
      fields.add('allAttrib');
      fields.add('ownAttrib');
    }
    const active = opts.active === undefined ? true : opts.active;
    if (active !== null) fields.add('active');
    const root = `${kind}s`;
    const name = `${kind.charAt(0).toUpperCase()}${kind.slice(1)}sQuery`;
    const self = this;
    return (async function* () {
      for await (const e of self.paged({ name, root, projectName, filters, fields }, (d) => d.project[root])) {
        if (active !== null && e.active !== active) continue;
        yield convertEntity(e, opts.ownAttributes === true);
      }
    })();
  }

  getFolders(
    projectName: string,
    opts: {
      folderIds?: string[];
      folderPaths?: string[];
      folderNames?: string[];
      folderTypes?: string[];
      parentIds?: Array<string | null>;
      folderPathRegex?: string;
      hasProducts?: boolean;
      hasTasks?: boolean;
      hasChildren?: boolean;
      hasLinks?: 'NONE' | 'IN' | 'OUT' | 'ANY' | 'BOTH';
      statuses?: string[];
      tags?: string[];
      assigneesAll?: string[];
      filters?: Dict;
      active?: boolean | null;
      fields?: string[];
      ownAttributes?: boolean;
    } = {},
  ): AsyncGenerator<Dict> {
    const parentIds = opts.parentIds?.map((p) => (p === null || p === projectName ? 'root' : p));
    return this.entities(
      'folder',
      projectName,
      [
        { arg: 'ids', type: '[String!]', value: opts.folderIds },
        { arg: 'parentIds', type: '[String!]', value: parentIds },
        { arg: 'names', type: '[String!]', value: opts.folderNames },
        { arg: 'paths', type: '[String!]', value: opts.folderPaths },
        { arg: 'pathEx', type: 'String!', value: opts.folderPathRegex },
        { arg: 'folderTypes', type: '[String!]', value: opts.folderTypes },
        { arg: 'statuses', type: '[String!]', value: opts.statuses },
        { arg: 'assignees', type: '[String!]', value: opts.assigneesAll },
        { arg: 'tags', type: '[String!]', value: opts.tags },
        { arg: 'hasProducts', type: 'Boolean!', value: opts.hasProducts },
        { arg: 'hasTasks', type: 'Boolean!', value: opts.hasTasks },
        { arg: 'hasLinks', type: 'HasLinksFilter', value: opts.hasLinks },
        { arg: 'hasChildren', type: 'Boolean!', value: opts.hasChildren },
        { arg: 'filter', type: 'String!', value: opts.filters ? JSON.stringify(opts.filters) : undefined },
      ],
      opts,
    );
  }
  private async first(gen: AsyncGenerator<Dict>): Promise<Dict | null> {
    for await (const e of gen) {
      await gen.return(undefined);
      return e;
    }
    return null;
  }
  getFolderById(projectName: string, folderId: string, opts: { fields?: string[]; ownAttributes?: boolean } = {}) {
    return this.first(this.getFolders(projectName, { ...opts, folderIds: [folderId], active: null }));
  }
  getFolderByPath(projectName: string, folderPath: string, opts: { fields?: string[]; ownAttributes?: boolean } = {}) {
    return this.first(this.getFolders(projectName, { ...opts, folderPaths: [folderPath], active: null }));
  }
  getFolderByName(projectName: string, folderName: string, opts: { fields?: string[]; ownAttributes?: boolean } = {}) {
    return this.first(this.getFolders(projectName, { ...opts, folderNames: [folderName], active: null }));
  }
  async getRestFolders(projectName: string, includeAttrib = false): Promise<Dict[]> {
    return (await this.get(`projects/${projectName}/folders`, { attrib: includeAttrib })).data.folders;
  }
  async getFoldersHierarchy(projectName: string, opts: { search?: string; folderTypes?: string[] } = {}): Promise<Dict> {
    return (await this.get(`projects/${projectName}/hierarchy`, { search: opts.search, types: opts.folderTypes?.join(',') })).data;
  }

  getTasks(
    projectName: string,
    opts: { taskIds?: string[]; taskNames?: string[]; taskTypes?: string[]; folderIds?: string[]; assignees?: string[]; assigneesAll?: string[]; statuses?: string[]; tags?: string[]; filters?: Dict; active?: boolean | null; fields?: string[]; ownAttributes?: boolean } = {},
  ): AsyncGenerator<Dict> {
    return this.entities(
      'task',
      projectName,
      [
        { arg: 'ids', type: '[String!]', value: opts.taskIds },
        { arg: 'names', type: '[String!]', value: opts.taskNames },
        { arg: 'taskTypes', type: '[String!]', value: opts.taskTypes },
        { arg: 'folderIds', type: '[String!]', value: opts.folderIds },
        { arg: 'assigneesAny', type: '[String!]', value: opts.assignees },
        { arg: 'assignees', type: '[String!]', value: opts.assigneesAll },
        { arg: 'statuses', type: '[String!]', value: opts.statuses },
        { arg: 'tags', type: '[String!]', value: opts.tags },
        { arg: 'filter', type: 'String!', value: opts.filters ? JSON.stringify(opts.filters) : undefined },
      ],
      opts,
    );
  }
  getTaskById(projectName: string, taskId: string, opts: { fields?: string[]; ownAttributes?: boolean } = {}) {
    return this.first(this.getTasks(projectName, { ...opts, taskIds: [taskId], active: null }));
  }
  getTaskByName(projectName: string, folderId: string, taskName: string, opts: { fields?: string[]; ownAttributes?: boolean } = {}) {
    return this.first(this.getTasks(projectName, { ...opts, folderIds: [folderId], taskNames: [taskName], active: null }));
  }

  getProducts(
    projectName: string,
    opts: { productIds?: string[]; productNames?: string[]; folderIds?: string[]; productTypes?: string[]; productNameRegex?: string; productPathRegex?: string; statuses?: string[]; tags?: string[]; filters?: Dict; active?: boolean | null; fields?: string[] } = {},
  ): AsyncGenerator<Dict> {
    return this.entities(
      'product',
      projectName,
      [
        { arg: 'ids', type: '[String!]', value: opts.productIds },
        { arg: 'names', type: '[String!]', value: opts.productNames },
        { arg: 'folderIds', type: '[String!]', value: opts.folderIds },
        { arg: 'productTypes', type: '[String!]', value: opts.productTypes },
        { arg: 'statuses', type: '[String!]', value: opts.statuses },
        { arg: 'tags', type: '[String!]', value: opts.tags },
        { arg: 'nameEx', type: 'String!', value: opts.productNameRegex },
        { arg: 'pathEx', type: 'String!', value: opts.productPathRegex },
        { arg: 'filter', type: 'String!', value: opts.filters ? JSON.stringify(opts.filters) : undefined },
      ],
      opts,
    );
  }
  getProductById(projectName: string, productId: string, opts: { fields?: string[] } = {}) {
    return this.first(this.getProducts(projectName, { ...opts, productIds: [productId], active: null }));
  }
  getProductByName(projectName: string, productName: string, folderId: string, opts: { fields?: string[] } = {}) {
    return this.first(this.getProducts(projectName, { ...opts, productNames: [productName], folderIds: [folderId], active: null }));
  }
  async getProductTypes(): Promise<Dict[]> {
    return (await this.queryGraphql('query ProductTypes { productTypes { name } }')).productTypes;
  }

  async *getVersions(
    projectName: string,
    opts: { versionIds?: string[]; productIds?: string[]; taskIds?: string[]; versions?: number[]; hero?: boolean; standard?: boolean; latest?: boolean; statuses?: string[]; tags?: string[]; filters?: Dict; active?: boolean | null; fields?: string[] } = {},
  ): AsyncGenerator<Dict> {
    const hero = opts.hero ?? true;
    const standard = opts.standard ?? true;
    if (!hero && !standard) return;
    const base: Filter[] = [
      { arg: 'ids', type: '[String!]', value: opts.versionIds },
      { arg: 'productIds', type: '[String!]', value: opts.productIds },
      { arg: 'taskIds', type: '[String!]', value: opts.taskIds },
      { arg: 'versions', type: '[Int!]', value: opts.versions },
      { arg: 'statuses', type: '[String!]', value: opts.statuses },
      { arg: 'tags', type: '[String!]', value: opts.tags },
      { arg: 'filter', type: 'String!', value: opts.filters ? JSON.stringify(opts.filters) : undefined },
    ];
    const fields = [...new Set([...(opts.fields ?? DEFAULT_FIELDS.version), 'id', 'version'])];
    const queries: Filter[][] = [];
    if (standard && !opts.latest) queries.push(base);
    else {
      if (hero) queries.push([...base, { arg: 'heroOnly', type: 'Boolean', value: true }]);
      if (standard) queries.push([...base, { arg: 'latestOnly', type: 'Boolean', value: opts.latest ? true : undefined }]);
    }
    for (const filters of queries) {
      for await (const v of this.entities('version', projectName, filters, { ...opts, fields })) {
        if (!hero && v.version < 0) continue;
        yield v;
      }
    }
  }
  getVersionById(projectName: string, versionId: string, opts: { fields?: string[] } = {}) {
    return this.first(this.getVersions(projectName, { ...opts, versionIds: [versionId], active: null }));
  }
  getHeroVersions(projectName: string, opts: { productIds?: string[]; versionIds?: string[]; active?: boolean | null; fields?: string[] } = {}) {
    return this.getVersions(projectName, { ...opts, hero: true, standard: false });
  }
  getHeroVersionByProductId(projectName: string, productId: string, opts: { fields?: string[] } = {}) {
    return this.first(this.getHeroVersions(projectName, { ...opts, productIds: [productId] }));
  }
  async getLastVersions(projectName: string, productIds: string[], opts: { active?: boolean | null; fields?: string[] } = {}): Promise<Record<string, Dict | null>> {
    const out: Record<string, Dict | null> = Object.fromEntries(productIds.map((p) => [p, null]));
    const fields = opts.fields ? [...opts.fields, 'productId'] : undefined;
    for await (const v of this.getVersions(projectName, { ...opts, fields, productIds, latest: true, hero: false })) out[v.productId] = v;
    return out;
  }
  getLastVersionByProductId(projectName: string, productId: string, opts: { active?: boolean | null; fields?: string[] } = {}) {
    return this.first(this.getVersions(projectName, { ...opts, productIds: [productId], latest: true, hero: false }));
  }
  async versionIsLatest(projectName: string, versionId: string): Promise<boolean> {
    const d = await this.queryGraphql('query VersionIsLatest($projectName: String!, $versionId: String!) { project(name: $projectName) { version(id: $versionId) { product { latestVersion { id } } } } }', {
      projectName,
      versionId,
    });
    return d.project.version?.product.latestVersion?.id === versionId;
  }

  getRepresentations(
    projectName: string,
    opts: { representationIds?: string[]; representationNames?: string[]; versionIds?: string[]; statuses?: string[]; tags?: string[]; hasLinks?: string; filters?: Dict; active?: boolean | null; fields?: string[] } = {},
  ): AsyncGenerator<Dict> {
    return this.entities(
      'representation',
      projectName,
      [
        { arg: 'ids', type: '[String!]', value: opts.representationIds },
        { arg: 'versionIds', type: '[String!]', value: opts.versionIds },
        { arg: 'names', type: '[String!]', value: opts.representationNames },
        { arg: 'hasLinks', type: 'HasLinksFilter', value: opts.hasLinks?.toUpperCase() },
        { arg: 'statuses', type: '[String!]', value: opts.statuses },
        { arg: 'tags', type: '[String!]', value: opts.tags },
        { arg: 'filter', type: 'String!', value: opts.filters ? JSON.stringify(opts.filters) : undefined },
      ],
      opts,
    );
  }
  getRepresentationById(projectName: string, representationId: string, opts: { fields?: string[] } = {}) {
    return this.first(this.getRepresentations(projectName, { ...opts, representationIds: [representationId], active: null }));
  }
  getRepresentationByName(projectName: string, name: string, versionId: string, opts: { fields?: string[] } = {}) {
    return this.first(this.getRepresentations(projectName, { ...opts, representationNames: [name], versionIds: [versionId], active: null }));
  }
  /** Version, product and folder of a representation (one query, like get_representation_parents). */
  async getRepresentationParents(projectName: string, representationId: string): Promise<{ version: Dict; product: Dict; folder: Dict; project: Dict | null } | null> {
    const sel = (k: EntityKind) => DEFAULT_FIELDS[k].filter((f) => !f.includes('.')).join(' ');
    const d = await this.queryGraphql(
      `query RepresentationsParentsQuery($projectName: String!, $ids: [String!]) { project(name: $projectName) { representations(ids: $ids, first: 1) { edges { node { id version { ${sel('version')} product { ${sel('product')} folder { ${sel('folder')} } } } } } } } }`,
      { projectName, ids: [representationId] },
    );
    const node = d.project.representations.edges[0]?.node;
    if (!node) return null;
    const { product, ...version } = node.version;
    const { folder, ...productRest } = product;
    return { version: convertEntity(version, false), product: convertEntity(productRest, false), folder: convertEntity(folder, false), project: await this.getProject(projectName) };
  }
  async getRepreIdsByContextFilters(projectName: string, contextFilters: Record<string, Array<string | RegExp>>, opts: { representationNames?: string[]; versionIds?: string[] } = {}): Promise<string[]> {
    const context = Object.entries(contextFilters).map(([key, values]) => ({ key, values: [...new Set(values.map((v) => (v instanceof RegExp ? v.source : v)))] }));
    const body: Dict = { context };
    if (opts.representationNames) body.names = opts.representationNames;
    if (opts.versionIds) body.versionIds = opts.versionIds;
    return (await this.post(`projects/${projectName}/repreContextFilter`, body)).data.ids;
  }

  async *getWorkfileEntities(projectName: string, opts: { workfileIds?: string[]; taskIds?: string[]; paths?: string[]; pathRegex?: string; statuses?: string[]; tags?: string[]; hasLinks?: string; fields?: string[] } = {}): AsyncGenerator<Dict> {
    yield* this.entities(
      'workfile',
      projectName,
      [
        { arg: 'ids', type: '[String!]', value: opts.workfileIds },
        { arg: 'taskIds', type: '[String!]', value: opts.taskIds },
        { arg: 'paths', type: '[String!]', value: opts.paths },
        { arg: 'pathEx', type: 'String!', value: opts.pathRegex },
        { arg: 'hasLinks', type: 'HasLinksFilter', value: opts.hasLinks?.toUpperCase() },
        { arg: 'statuses', type: '[String!]', value: opts.statuses },
        { arg: 'tags', type: '[String!]', value: opts.tags },
      ],
      { fields: opts.fields, active: null },
    );
  }
  getWorkfileEntityById(projectName: string, workfileId: string, opts: { fields?: string[] } = {}) {
    return this.first(this.getWorkfileEntities(projectName, { ...opts, workfileIds: [workfileId] }));
  }

  /** GET /api/projects/{p}/{type}s/{id}; null when missing. */
  async getRestEntityById(projectName: string, entityType: EntityKind, entityId: string): Promise<Dict | null> {
    const r = await this.request('GET', `projects/${projectName}/${entityType}s/${entityId}`, { raw: true });
    return r.status === 200 ? r.data : null;
  }

  // ------------------------------------------------------------------ hierarchy writers (REST)

  private async createEntity(projectName: string, type: EntityKind, body: Dict): Promise<string> {
    const id = body.id ?? newId();
    const clean = Object.fromEntries(Object.entries({ ...body, id }).filter(([, v]) => v !== undefined));
    await this.post(`projects/${projectName}/${type}s`, clean);
    return id;
  }
  createFolder(projectName: string, name: string, opts: { folderType?: string; parentId?: string | null; label?: string; attrib?: Dict; data?: Dict; tags?: string[]; status?: string; active?: boolean; thumbnailId?: string; folderId?: string } = {}) {
    const { folderId, ...rest } = opts;
    return this.createEntity(projectName, 'folder', { id: folderId, name, ...rest });
  }
  createTask(projectName: string, name: string, taskType: string, folderId: string, opts: { label?: string; assignees?: string[]; attrib?: Dict; data?: Dict; tags?: string[]; status?: string; active?: boolean; thumbnailId?: string; taskId?: string } = {}) {
    const { taskId, ...rest } = opts;
    return this.createEntity(projectName, 'task', { id: taskId, name, taskType, folderId, ...rest });
  }
  createProduct(projectName: string, name: string, productType: string, folderId: string, opts: { attrib?: Dict; data?: Dict; tags?: string[]; status?: string; active?: boolean; productBaseType?: string; productId?: string } = {}) {
    const { productId, ...rest } = opts;
    return this.createEntity(projectName, 'product', { id: productId, name, productType, folderId, ...rest });
  }
  createVersion(projectName: string, version: number, productId: string, opts: { taskId?: string; author?: string; attrib?: Dict; data?: Dict; tags?: string[]; status?: string; active?: boolean; thumbnailId?: string; versionId?: string } = {}) {
    const { versionId, ...rest } = opts;
    return this.createEntity(projectName, 'version', { id: versionId, version, productId, ...rest });
  }
  createRepresentation(projectName: string, name: string, versionId: string, opts: { files?: Dict[]; attrib?: Dict; data?: Dict; traits?: Dict; tags?: string[]; status?: string; active?: boolean; representationId?: string } = {}) {
    const { representationId, ...rest } = opts;
    return this.createEntity(projectName, 'representation', { id: representationId, name, versionId, ...rest });
  }
  createWorkfileEntity(projectName: string, path: string, taskId: string, opts: { thumbnailId?: string; attrib?: Dict; data?: Dict; tags?: string[]; status?: string; active?: boolean; workfileId?: string } = {}) {
    const { workfileId, ...rest } = opts;
    return this.createEntity(projectName, 'workfile', { id: workfileId, path, taskId, ...rest });
  }
  /** PATCH …/{type}s/{id} with the given changes (camelCase keys). */
  async updateEntity(projectName: string, type: EntityKind, entityId: string, changes: Dict): Promise<void> {
    await this.patch(`projects/${projectName}/${type}s/${entityId}`, changes);
  }
  updateFolder(projectName: string, folderId: string, changes: Dict) {
    return this.updateEntity(projectName, 'folder', folderId, changes);
  }
  updateTask(projectName: string, taskId: string, changes: Dict) {
    return this.updateEntity(projectName, 'task', taskId, changes);
  }
  updateProduct(projectName: string, productId: string, changes: Dict) {
    return this.updateEntity(projectName, 'product', productId, changes);
  }
  updateVersion(projectName: string, versionId: string, changes: Dict) {
    return this.updateEntity(projectName, 'version', versionId, changes);
  }
  updateRepresentation(projectName: string, representationId: string, changes: Dict) {
    return this.updateEntity(projectName, 'representation', representationId, changes);
  }
  updateWorkfileEntity(projectName: string, workfileId: string, changes: Dict) {
    return this.updateEntity(projectName, 'workfile', workfileId, changes);
  }
  async deleteEntity(projectName: string, type: EntityKind, entityId: string, force = false): Promise<void> {
    await this.request('DELETE', `projects/${projectName}/${type}s/${entityId}${force ? '?force=true' : ''}`);
  }
  deleteFolder(projectName: string, folderId: string, force = false) {
    return this.deleteEntity(projectName, 'folder', folderId, force);
  }
  deleteTask(projectName: string, taskId: string) {
    return this.deleteEntity(projectName, 'task', taskId);
  }
  deleteProduct(projectName: string, productId: string) {
    return this.deleteEntity(projectName, 'product', productId);
  }
  deleteVersion(projectName: string, versionId: string) {
    return this.deleteEntity(projectName, 'version', versionId);
  }
  deleteRepresentation(projectName: string, representationId: string) {
    return this.deleteEntity(projectName, 'representation', representationId);
  }
  deleteWorkfileEntity(projectName: string, workfileId: string) {
    return this.deleteEntity(projectName, 'workfile', workfileId);
  }

  // ------------------------------------------------------------------ batch operations

  private prepareOperations(operations: Dict[]): Dict[] {
    return operations.filter(Boolean).map((o) => ({ ...o, id: o.id ?? newId() }));
  }

  private validateOperationsResult(result: Dict, operations: Dict[]): void {
    if (result.success) return;
    for (const op of (result.operations ?? []) as OperationResult[]) {
      if (op.success) continue;
      const sent = operations.find((o) => o.id === op.id) ?? op;
      throw new FailedOperations(`Operation "${op.id}" failed with data:\n${JSON.stringify(sent, null, 2)}\nDetail: ${op.detail}.`, result);
    }
    throw new FailedOperations(`Operations failed. Server response:\n${JSON.stringify(result)}`, result);
  }

  /** POST /api/projects/{p}/operations (one transaction unless canFail). */
  async sendBatchOperations(projectName: string, operations: Dict[], opts: { canFail?: boolean; waitForEvents?: boolean; raiseOnFail?: boolean } = {}): Promise<OperationResult[]> {
    const body = this.prepareOperations(operations);
    if (!body.length) return [];
    const r = await this.request('POST', `projects/${projectName}/operations`, { json: { operations: body, canFail: opts.canFail ?? false, waitForEvents: opts.waitForEvents ?? false }, raw: true });
    if (!r.data?.operations) throw new FailedOperations(`Operation failed. Detail: ${r.data?.detail ?? r.status}`);
    if (opts.raiseOnFail ?? true) this.validateOperationsResult(r.data, body);
    return r.data.operations;
  }

  /** POST …/operations/background; with `wait` polls every second until completed. */
  async sendBackgroundBatchOperations(projectName: string, operations: Dict[], opts: { canFail?: boolean; waitForEvents?: boolean; raiseOnFail?: boolean; wait?: boolean; pollMs?: number } = {}): Promise<Dict> {
    const body = this.prepareOperations(operations);
    const started = (await this.post(`projects/${projectName}/operations/background`, { operations: body, canFail: opts.canFail ?? false, waitForEvents: opts.waitForEvents ?? false })).data;
    if (!opts.wait) return started;
    await new Promise((r) => setTimeout(r, 100));
    for (;;) {
      const st = await this.getBackgroundOperationsStatus(projectName, started.id);
      if (st.status === 'completed') {
        if (opts.raiseOnFail ?? true) this.validateOperationsResult(st.result, body);
        return st;
      }
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 1000));
    }
  }

  async getBackgroundOperationsStatus(projectName: string, taskId: string): Promise<Dict> {
    return (await this.get(`projects/${projectName}/operations/background/${taskId}`)).data;
  }

  // ------------------------------------------------------------------ links

  async getLinkTypes(projectName: string): Promise<Dict[]> {
    return (await this.get(`projects/${projectName}/links/types`)).data.types;
  }
  async getLinkType(projectName: string, linkTypeName: string, inputType: string, outputType: string): Promise<Dict | null> {
    const full = `${linkTypeName}|${inputType}|${outputType}`;
    return (await this.getLinkTypes(projectName)).find((t) => t.name === full) ?? null;
  }
  async createLinkType(projectName: string, linkTypeName: string, inputType: string, outputType: string, data: Dict = {}): Promise<void> {
    await this.put(`projects/${projectName}/links/types/${linkTypeName}|${inputType}|${outputType}`, data);
  }
  async deleteLinkType(projectName: string, linkTypeName: string, inputType: string, outputType: string): Promise<void> {
    await this.delete(`projects/${projectName}/links/types/${linkTypeName}|${inputType}|${outputType}`);
  }
  async makeSureLinkTypeExists(projectName: string, linkTypeName: string, inputType: string, outputType: string, data?: Dict): Promise<void> {
    const lt = await this.getLinkType(projectName, linkTypeName, inputType, outputType);
    if (lt && (data === undefined || JSON.stringify(data) === JSON.stringify(lt.data))) return;
    await this.createLinkType(projectName, linkTypeName, inputType, outputType, data);
  }
  async createLink(projectName: string, linkTypeName: string, inputId: string, inputType: string, outputId: string, outputType: string, opts: { linkName?: string; data?: Dict } = {}): Promise<{ id: string }> {
    const body: Dict = { input: inputId, output: outputId, linkType: `${linkTypeName}|${inputType}|${outputType}` };
    if (opts.linkName) body.name = opts.linkName;
    if (opts.data) body.data = opts.data;
    return (await this.post(`projects/${projectName}/links`, body)).data;
  }
  async deleteLink(projectName: string, linkId: string): Promise<void> {
    await this.delete(`projects/${projectName}/links/${linkId}`);
  }
  /** Links of entities, `{entityId: [link…]}`; direction "in" = the entity is the link's output. */
  async getEntitiesLinks(projectName: string, entityType: Exclude<EntityKind, 'workfile'>, entityIds: string[], opts: { linkTypes?: string[]; linkDirection?: 'in' | 'out'; linkNames?: string[] } = {}): Promise<Record<string, Dict[]>> {
    const out: Record<string, Dict[]> = Object.fromEntries(entityIds.map((id) => [id, []]));
    const linkArgs: string[] = [];
    const vars: Dict = { projectName, ids: entityIds };
    const decl = ['$projectName: String!', '$ids: [String!]'];
    if (opts.linkTypes) {
      vars.linkTypes = opts.linkTypes;
      decl.push('$linkTypes: [String!]');
      linkArgs.push('linkTypes: $linkTypes');
    }
    if (opts.linkNames) {
      vars.linkNames = opts.linkNames;
      decl.push('$linkNames: [String!]');
      linkArgs.push('names: $linkNames');
    }
    if (opts.linkDirection) {
      vars.linkDirection = opts.linkDirection;
      decl.push('$linkDirection: String!');
      linkArgs.push('direction: $linkDirection');
    }
    const root = `${entityType}s`;
    for (const id of entityIds) {
      let after: string | null = null;
      for (;;) {
        const args = [...linkArgs, `first: ${300}`, ...(after ? [`after: ${JSON.stringify(after)}`] : [])].join(', ');
        const d: Dict = await this.queryGraphql(
          `query Links(${decl.join(', ')}) { project(name: $projectName) { ${root}(ids: $ids, first: 1) { edges { node { id links(${args}) { edges { ${DEFAULT_FIELDS.link.join(' ')} } pageInfo { endCursor hasNextPage } } } } } } }`,
          { ...vars, ids: [id] },
        );
        const node = d.project[root].edges[0]?.node;
        if (!node) break;
        out[id].push(...node.links.edges);
        if (!node.links.pageInfo.hasNextPage) break;
        after = node.links.pageInfo.endCursor;
      }
    }
    return out;
  }

  // ------------------------------------------------------------------ thumbnails and files

  private async upload(method: string, endpoint: string, data: Uint8Array, contentType: string, headers: Record<string, string> = {}): Promise<RestResponse> {
    return this.request(method, `${this.baseUrl}/${endpoint}`, { body: data as unknown as BodyInit, contentType, headers });
  }

  async createThumbnail(projectName: string, data: Uint8Array, contentType: 'image/png' | 'image/jpeg'): Promise<string> {
    return (await this.upload('POST', `api/projects/${projectName}/thumbnails`, data, contentType)).data.id;
  }
  async updateThumbnail(projectName: string, thumbnailId: string, data: Uint8Array, contentType: 'image/png' | 'image/jpeg'): Promise<void> {
    await this.upload('PUT', `api/projects/${projectName}/thumbnails/${thumbnailId}`, data, contentType);
  }
  async setEntityThumbnail(projectName: string, entityType: 'folder' | 'task' | 'version' | 'workfile', entityId: string, data: Uint8Array, contentType: 'image/png' | 'image/jpeg'): Promise<string> {
    return (await this.upload('POST', `api/projects/${projectName}/${entityType}s/${entityId}/thumbnail`, data, contentType)).data.id;
  }
  private thumbnailContent(projectName: string, r: RestResponse): ThumbnailContent {
    const id = r.headers.get('x-thumbnail-id');
    const contentType = r.headers.get('content-type');
    return { projectName, id, content: id ? r.body : null, contentType, isValid: !!id && !!contentType };
  }
  async getThumbnailById(projectName: string, thumbnailId: string): Promise<ThumbnailContent> {
    return this.thumbnailContent(projectName, await this.request('GET', `projects/${projectName}/thumbnails/${thumbnailId}`, { raw: true }));
  }
  async getThumbnail(projectName: string, entityType: 'folder' | 'task' | 'version' | 'workfile', entityId: string): Promise<ThumbnailContent> {
    return this.thumbnailContent(projectName, await this.request('GET', `projects/${projectName}/${entityType}s/${entityId}/thumbnail`, { raw: true }));
  }
  getFolderThumbnail(projectName: string, folderId: string) {
    return this.getThumbnail(projectName, 'folder', folderId);
  }
  getTaskThumbnail(projectName: string, taskId: string) {
    return this.getThumbnail(projectName, 'task', taskId);
  }
  getVersionThumbnail(projectName: string, versionId: string) {
    return this.getThumbnail(projectName, 'version', versionId);
  }
  getWorkfileThumbnail(projectName: string, workfileId: string) {
    return this.getThumbnail(projectName, 'workfile', workfileId);
  }

  async uploadProjectFile(projectName: string, data: Uint8Array, opts: { filename: string; contentType?: string; fileId?: string; activityId?: string }): Promise<{ id: string }> {
    const headers: Record<string, string> = { 'x-file-name': opts.filename };
    if (opts.fileId) headers['x-file-id'] = opts.fileId;
    if (opts.activityId) headers['x-activity-id'] = opts.activityId;
    return (await this.upload('POST', `api/projects/${projectName}/files`, data, opts.contentType ?? 'application/octet-stream', headers)).data;
  }
  /** The whole file; requires the Content-Length header, as the Python client does. */
  async downloadProjectFile(projectName: string, fileId: string): Promise<Uint8Array> {
    const r = await this.request('GET', `projects/${projectName}/files/${fileId}`);
    const len = r.headers.get('content-length');
    if (len === null) throw new Error('Missing Content-Length header');
    if (Number(len) !== r.body.length) throw new Error(`Downloaded ${r.body.length} out of ${len} bytes`);
    return r.body;
  }
  async getProjectFileInfo(projectName: string, fileId: string): Promise<Dict> {
    return (await this.get(`projects/${projectName}/files/${fileId}/info`)).data;
  }
  async deleteProjectFile(projectName: string, fileId: string): Promise<void> {
    await this.delete(`projects/${projectName}/files/${fileId}`);
  }
}

type Op = { id: string; type: 'create' | 'update' | 'delete'; entityType: EntityKind; entityId: string; data?: Dict };

/**
 * OperationsSession: collects creates, updates and deletes and commits them per project in one
 * all-or-nothing background batch, polled to completion (as ayon_api's `OperationsSession.commit`).
 */
export class OperationsSession {
  private ops: Array<Op & { projectName: string }> = [];
  constructor(private readonly client: AyonClient) {}

  get length(): number {
    return this.ops.length;
  }

  createEntity(projectName: string, entityType: EntityKind, data: Dict): Dict {
    const d = { ...data, id: data.id ?? newId() };
    this.ops.push({ projectName, id: newId(), type: 'create', entityType, entityId: d.id, data: d });
    return d;
  }
  updateEntity(projectName: string, entityType: EntityKind, entityId: string, data: Dict): void {
    if (Object.keys(data).length) this.ops.push({ projectName, id: newId(), type: 'update', entityType, entityId, data });
  }
  deleteEntity(projectName: string, entityType: EntityKind, entityId: string): void {
    this.ops.push({ projectName, id: newId(), type: 'delete', entityType, entityId });
  }

  createFolder(projectName: string, name: string, opts: Dict = {}) {
    const { folderId, ...rest } = opts;
    return this.createEntity(projectName, 'folder', { id: folderId, name, ...rest });
  }
  createTask(projectName: string, name: string, taskType: string, folderId: string, opts: Dict = {}) {
    const { taskId, ...rest } = opts;
    return this.createEntity(projectName, 'task', { id: taskId, name, taskType, folderId, ...rest });
  }
  createProduct(projectName: string, name: string, productType: string, folderId: string, opts: Dict = {}) {
    const { productId, ...rest } = opts;
    return this.createEntity(projectName, 'product', { id: productId, name, productType, folderId, ...rest });
  }
  createVersion(projectName: string, version: number, productId: string, opts: Dict = {}) {
    const { versionId, ...rest } = opts;
    return this.createEntity(projectName, 'version', { id: versionId, version, productId, ...rest });
  }
  createRepresentation(projectName: string, name: string, versionId: string, opts: Dict = {}) {
    const { representationId, ...rest } = opts;
    return this.createEntity(projectName, 'representation', { id: representationId, name, versionId, ...rest });
  }
  createWorkfileEntity(projectName: string, path: string, taskId: string, opts: Dict = {}) {
    const { workfileId, ...rest } = opts;
    return this.createEntity(projectName, 'workfile', { id: workfileId, path, taskId, ...rest });
  }

  async commit(): Promise<void> {
    const ops = this.ops;
    this.ops = [];
    const byProject = new Map<string, Op[]>();
    for (const { projectName, ...op } of ops) {
      const l = byProject.get(projectName) ?? [];
      l.push(op);
      byProject.set(projectName, l);
    }
    for (const [projectName, list] of byProject) {
      const body = list.map((o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)));
      await this.client.sendBackgroundBatchOperations(projectName, body, { canFail: false, wait: true, pollMs: 200 });
    }
  }
}
