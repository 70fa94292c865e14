/**
 * GraphQL subscriptions over the websocket at /graphql: a real server on every store kind, real
 * websocket clients (`ws`), both subprotocols, events caused by real GraphQL mutations.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestServer, storeKinds, type TestServer } from './helpers/server.js';
import { gql } from './helpers/http.js';
import { SpeckleChannels } from '../src/services/projects.js';

const ALL = ['streams:read', 'streams:write', 'profile:read', 'profile:email', 'users:read', 'users:invite'];
const PROTOCOLS = ['graphql-ws', 'graphql-transport-ws'] as const;
type Protocol = (typeof PROTOCOLS)[number];

// specklepy's SubscriptionResource documents, verbatim
const PROJECT_FIELDS = 'id name description visibility allowPublicComments role createdAt updatedAt sourceApps workspaceId';
const SUB_USER_PROJECTS = `subscription UserProjectsUpdated {data:userProjectsUpdated {id project {${PROJECT_FIELDS}} type}}`;
const SUB_MODELS =
  'subscription ProjectModelsUpdated($id: String!, $modelIds: [String!]) {data:projectModelsUpdated(id:$id,modelIds:$modelIds) {id model {id name previewUrl updatedAt description displayName createdAt author {avatar bio company id name role verified}} type}}';
const SUB_PROJECT = `subscription ProjectUpdated($id: String!) {data:projectUpdated(id:$id) {id project {${PROJECT_FIELDS}} type}}`;
const SUB_VERSIONS =
  'subscription ProjectVersionsUpdated($id: String!) {data:projectVersionsUpdated(id:$id) {id modelId type version {id referencedObject message sourceApplication createdAt previewUrl authorUser {id name bio company verified role avatar}}}}';

const latencies: number[] = [];

// ------------------------------------------------------------------ a websocket test client

interface Received {
  type: string;
  id?: string;
  payload?: any;
}

class TestSocket {
  private inbox: Received[] = [];
  private waiters: Array<{ match: (m: Received) => boolean; resolve: (m: Received) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }> = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  /** every message, in order, `ka` included */
  readonly log: Received[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as Received;
      this.log.push(m);
      const w = this.waiters.find((x) => x.match(m));
      if (w) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve(m);
      } else this.inbox.push(m);
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  }

  static open(url: string, protocols: string | string[]): Promise<TestSocket> {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/graphql`, protocols);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new TestSocket(ws)));
      ws.once('error', reject);
    });
  }

  get protocol() {
    return this.ws.protocol;
  }

  send(msg: object | string) {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  /** the next message matching `match` (already received or to come) */
  wait(match: (m: Received) => boolean, timeoutMs = 5000): Promise<Received> {
    const i = this.inbox.findIndex(match);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.findIndex((w) => w.timer === timer), 1);
        reject(new Error(`no matching message within ${timeoutMs} ms; received: ${JSON.stringify(this.log.slice(-5))}`));
      }, timeoutMs);
      this.waiters.push({ match, resolve, reject, timer });
    });
  }

  /** messages for operation `id` received and not yet consumed */
  pending(id: string) {
    return this.inbox.filter((m) => m.id === id);
  }

  close() {
    this.ws.close();
  }
}

/** One client speaking either protocol, as specklepy's gql or Apollo would. */
class SubscriptionClient {
  private seq = 0;
  constructor(
    readonly socket: TestSocket,
    readonly protocol: Protocol,
  ) {}

  static async connect(url: string, protocol: Protocol, token: string | null): Promise<SubscriptionClient> {
    const c = new SubscriptionClient(await TestSocket.open(url, protocol), protocol);
    c.socket.send({ type: 'connection_init', payload: token ? { Authorization: `Bearer ${token}` } : {} });
    await c.socket.wait((m) => m.type === 'connection_ack');
    return c;
  }

  subscribe(query: string, variables?: Record<string, unknown>): string {
    const id = String(++this.seq);
    this.socket.send({ id, type: this.protocol === 'graphql-ws' ? 'start' : 'subscribe', payload: { query, variables } });
    return id;
  }

  /** the next result of operation `id`: `{data}` for events, or the thrown protocol error */
  async next(id: string, timeoutMs = 5000): Promise<any> {
    const m = await this.socket.wait((x) => x.id === id && ['data', 'next', 'error', 'complete'].includes(x.type), timeoutMs);
    if (m.type === 'error') throw Object.assign(new Error('subscription error'), { payload: m.payload });
    if (m.type === 'complete') throw new Error('subscription completed');
    return m.payload;
  }

  /** the protocol error of operation `id` as a list of GraphQL errors */
  async error(id: string): Promise<any[]> {
    const m = await this.socket.wait((x) => x.id === id && ['data', 'next', 'error', 'complete'].includes(x.type));
    expect(m.type).toBe('error');
    if (this.protocol === 'graphql-transport-ws') return m.payload;
    return m.payload.errors ?? [m.payload];
  }

  stop(id: string) {
    this.socket.send({ id, type: this.protocol === 'graphql-ws' ? 'stop' : 'complete' });
  }

  /**
   * Resolves once the server has handled every message sent so far — subscriptions included, as it
   * handles a socket's messages in order: a ping (graphql-transport-ws) or, in the legacy protocol, a
   * message of no known type, whose error answer comes after.
   */
  async barrier(): Promise<void> {
    await socketBarrier(this.socket, this.protocol);
  }

  close() {
    this.socket.close();
  }
}

async function socketBarrier(socket: TestSocket, protocol: Protocol): Promise<void> {
  if (protocol === 'graphql-transport-ws') {
    socket.send({ type: 'ping' });
    await socket.wait((m) => m.type === 'pong');
  } else {
    socket.send({ type: 'atrium-test-barrier' });
    await socket.wait((m) => m.type === 'error' && m.id === undefined && m.payload?.message === 'Invalid message type!');
  }
}

async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs = 5000) {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ GraphQL mutations (the real write path)

function speckleApi(srv: TestServer) {
  let objects = 0;
  const must = async (query: string, variables: Record<string, unknown>, token: string) => {
    const r = await gql(srv.url, query, variables, token);
    if (r.body.errors) throw new Error(JSON.stringify(r.body.errors));
    return r.body.data;
  };
  return {
    async createProject(token: string, name = 'Project'): Promise<string> {
      const d = await must('mutation($input: ProjectCreateInput) { projectMutations { create(input: $input) { id } } }', { input: { name } }, token);
      return d.projectMutations.create.id;
    },
    async updateProject(token: string, id: string, name: string) {
      await must('mutation($u: ProjectUpdateInput!) { projectMutations { update(update: $u) { id } } }', { u: { id, name } }, token);
    },
    async deleteProject(token: string, id: string) {
      await must('mutation($id: String!) { projectMutations { delete(id: $id) } }', { id }, token);
    },
    async setRole(token: string, projectId: string, userId: string, role: string | null) {
      await must('mutation($i: ProjectUpdateRoleInput!) { projectMutations { updateRole(input: $i) { id } } }', { i: { projectId, userId, role } }, token);
    },
    async createModel(token: string, projectId: string, name: string): Promise<string> {
      const d = await must('mutation($i: CreateModelInput!) { modelMutations { create(input: $i) { id } } }', { i: { projectId, name } }, token);
      return d.modelMutations.create.id;
    },
    async deleteModel(token: string, projectId: string, id: string) {
      await must('mutation($i: DeleteModelInput!) { modelMutations { delete(input: $i) } }', { i: { projectId, id } }, token);
    },
    async createVersion(token: string, projectId: string, modelId: string, message = 'a version'): Promise<{ id: string; objectId: string; sentAt: number }> {
      const objectId = (++objects).toString(16).padStart(32, 'a');
      await srv.app.store.db
        .insertInto('objects')
        .values({ project_id: projectId, id: objectId, speckle_type: 'Base', total_children_count: null, data: JSON.stringify({ id: objectId }), created_at: Date.now() })
        .execute();
      const sentAt = performance.now();
      const d = await must(
        'mutation Create($input: CreateVersionInput!) { versionMutations { create(input: $input) { id } } }',
        { input: { projectId, modelId, objectId, message, sourceApplication: 'py' } },
        token,
      );
      return { id: d.versionMutations.create.id, objectId, sentAt };
    },
    async deleteVersion(token: string, projectId: string, versionId: string) {
      await must('mutation($i: DeleteVersionsInput!) { versionMutations { delete(input: $i) } }', { i: { projectId, versionIds: [versionId] } }, token);
    },
    async mainModel(token: string, projectId: string): Promise<string> {
      const d = await must('query($p: String!) { project(id: $p) { modelByName(name: "main") { id } } }', { p: projectId }, token);
      return d.project.modelByName.id;
    },
  };
}

// ------------------------------------------------------------------ the suites

describe.each(storeKinds)('Speckle subscriptions on %s', (kind) => {
  let srv: TestServer;
  let api: ReturnType<typeof speckleApi>;
  let owner: { id: string; name: string };
  let ownerToken: string;
  let other: { id: string };
  let otherToken: string;

  beforeAll(async () => {
    srv = await startTestServer(kind);
    api = speckleApi(srv);
    owner = await srv.createUser({ name: 'Owner' });
    ownerToken = await srv.createToken(owner.id, ALL);
    other = await srv.createUser({ name: 'Other' });
    otherToken = await srv.createToken(other.id, ALL);
  });
  afterAll(async () => {
    await srv.close();
  });

  describe.each(PROTOCOLS)('over %s', (protocol) => {
    const connect = (token: string | null = ownerToken) => SubscriptionClient.connect(srv.url, protocol, token);

    it('delivers projectVersionsUpdated with the version loaded fresh after versionMutations.create, and null once deleted', async () => {
      const projectId = await api.createProject(ownerToken);
      const modelId = await api.mainModel(ownerToken, projectId);
      const c = await connect();
      const id = c.subscribe(SUB_VERSIONS, { id: projectId });
      await c.barrier();
      const v = await api.createVersion(ownerToken, projectId, modelId, 'first');
      const created = await c.next(id);
      latencies.push(performance.now() - v.sentAt);
      expect(created).toEqual({
        data: {
          data: {
            id: v.id,
            modelId,
            type: 'CREATED',
            version: {
              id: v.id,
              referencedObject: v.objectId,
              message: 'first',
              sourceApplication: 'py',
              createdAt: expect.any(String),
              previewUrl: `${srv.url}/preview/${projectId}/commits/${v.id}`,
              authorUser: { id: owner.id, name: 'Owner', bio: null, company: null, verified: expect.any(Boolean), role: expect.any(String), avatar: null },
            },
          },
        },
      });
      await api.deleteVersion(ownerToken, projectId, v.id);
      expect((await c.next(id)).data.data).toEqual({ id: v.id, modelId, type: 'DELETED', version: null });
      c.close();
    });

    it('delivers projectModelsUpdated on create, update (a new version) and delete, with model null once deleted', async () => {
      const projectId = await api.createProject(ownerToken);
      const c = await connect();
      const id = c.subscribe(SUB_MODELS, { id: projectId, modelIds: null });
      await c.barrier();
      const sentAt = performance.now();
      const modelId = await api.createModel(ownerToken, projectId, 'Structure/Level 1');
      const created = await c.next(id);
      latencies.push(performance.now() - sentAt);
      expect(created.data.data).toMatchObject({
        id: modelId,
        type: 'CREATED',
        model: { id: modelId, name: 'structure/level 1', displayName: 'level 1', previewUrl: null, author: { id: owner.id, name: 'Owner' } },
      });
      const v = await api.createVersion(ownerToken, projectId, modelId);
      const updated = await c.next(id);
      expect(updated.data.data).toMatchObject({ id: modelId, type: 'UPDATED', model: { id: modelId, previewUrl: `${srv.url}/preview/${projectId}/commits/${v.id}` } });
      await api.deleteModel(ownerToken, projectId, modelId);
      expect((await c.next(id)).data.data).toEqual({ id: modelId, type: 'DELETED', model: null });
      c.close();
    });

    it('filters projectModelsUpdated by modelIds', async () => {
      const projectId = await api.createProject(ownerToken);
      const a = await api.createModel(ownerToken, projectId, 'a');
      const b = await api.createModel(ownerToken, projectId, 'b');
      const c = await connect();
      const id = c.subscribe(SUB_MODELS, { id: projectId, modelIds: [b] });
      await c.barrier();
      await api.createVersion(ownerToken, projectId, a); // model a UPDATED: not selected
      await api.createVersion(ownerToken, projectId, b);
      const first = await c.next(id);
      expect(first.data.data).toMatchObject({ id: b, type: 'UPDATED' });
      expect(c.socket.pending(id)).toEqual([]);
      c.close();
    });

    it('delivers projectUpdated with the project loaded fresh, and DELETED with project null', async () => {
      const projectId = await api.createProject(ownerToken, 'Before');
      const c = await connect();
      const id = c.subscribe(SUB_PROJECT, { id: projectId });
      await c.barrier();
      const sentAt = performance.now();
      await api.updateProject(ownerToken, projectId, 'After');
      const updated = await c.next(id);
      latencies.push(performance.now() - sentAt);
      expect(updated.data.data).toMatchObject({ id: projectId, type: 'UPDATED', project: { id: projectId, name: 'After', role: 'stream:owner', visibility: 'PRIVATE', workspaceId: null } });
      await api.deleteProject(ownerToken, projectId);
      expect((await c.next(id)).data.data).toEqual({ id: projectId, type: 'DELETED', project: null });
      c.close();
    });

    it('delivers userProjectsUpdated to the user added to and removed from a project, and only to that user', async () => {
      const projectId = await api.createProject(ownerToken, 'Shared');
      const mine = await connect(otherToken);
      const id = mine.subscribe(SUB_USER_PROJECTS);
      const ownerSide = await connect(ownerToken);
      const ownerId = ownerSide.subscribe(SUB_USER_PROJECTS);
      await mine.barrier();
      await ownerSide.barrier();
      const sentAt = performance.now();
      await api.setRole(ownerToken, projectId, other.id, 'stream:reviewer');
      const added = await mine.next(id);
      latencies.push(performance.now() - sentAt);
      expect(added.data.data).toMatchObject({ id: projectId, type: 'ADDED', project: { id: projectId, name: 'Shared', role: 'stream:reviewer' } });
      await api.setRole(ownerToken, projectId, other.id, null);
      expect((await mine.next(id)).data.data).toEqual({ id: projectId, type: 'REMOVED', project: null });
      // the owner's own project creation reaches the owner, and the membership changes of `other` did not
      const created = await api.createProject(ownerToken, 'Own');
      expect((await ownerSide.next(ownerId)).data.data).toMatchObject({ id: created, type: 'ADDED', project: { id: created, role: 'stream:owner' } });
      mine.close();
      ownerSide.close();
    });

    it('does not deliver an event of another project', async () => {
      const watched = await api.createProject(ownerToken);
      const elsewhere = await api.createProject(ownerToken);
      const c = await connect();
      const id = c.subscribe(SUB_VERSIONS, { id: watched });
      await c.barrier();
      await api.createVersion(ownerToken, elsewhere, await api.mainModel(ownerToken, elsewhere));
      const v = await api.createVersion(ownerToken, watched, await api.mainModel(ownerToken, watched));
      // events are delivered in order: the first one this subscription sees is the watched project's
      expect((await c.next(id)).data.data.id).toBe(v.id);
      c.close();
    });

    it('stops delivering to a member removed from the project, re-checking access on every event', async () => {
      const projectId = await api.createProject(ownerToken);
      const modelId = await api.mainModel(ownerToken, projectId);
      await api.setRole(ownerToken, projectId, other.id, 'stream:reviewer');
      const c = await connect(otherToken);
      const id = c.subscribe(SUB_VERSIONS, { id: projectId });
      await c.barrier();
      const seen = await api.createVersion(ownerToken, projectId, modelId);
      expect((await c.next(id)).data.data.id).toBe(seen.id);
      await api.setRole(ownerToken, projectId, other.id, null);
      const hidden = await api.createVersion(ownerToken, projectId, modelId);
      await sleep(300);
      expect(c.socket.pending(id)).toEqual([]);
      // access back: the next event is delivered, and the one made while removed never was
      await api.setRole(ownerToken, projectId, other.id, 'stream:reviewer');
      const again = await api.createVersion(ownerToken, projectId, modelId);
      const next = (await c.next(id)).data.data;
      expect(next.id).toBe(again.id);
      expect(next.id).not.toBe(hidden.id);
      c.close();
    });

    it('refuses at subscribe time a user without access, an unknown project and a token without the scope', async () => {
      const projectId = await api.createProject(ownerToken);
      const c = await connect(otherToken);
      const [forbidden] = await c.error(c.subscribe(SUB_VERSIONS, { id: projectId }));
      expect(forbidden).toMatchObject({ message: 'You do not have access to the project', extensions: { code: 'FORBIDDEN' } });
      const [missing] = await c.error(c.subscribe(SUB_PROJECT, { id: 'ffffffffff' }));
      expect(missing).toMatchObject({ message: 'Project not found', extensions: { code: 'STREAM_NOT_FOUND' } });
      c.close();

      const narrow = await srv.createToken(owner.id, ['profile:read']);
      const n = await connect(narrow);
      const [scope] = await n.error(n.subscribe(SUB_MODELS, { id: projectId }));
      expect(scope).toMatchObject({ message: 'Your auth token does not have the required scope: streams:read.', extensions: { code: 'FORBIDDEN' } });
      n.close();
      const noProfile = await srv.createToken(owner.id, ['streams:read']);
      const np = await connect(noProfile);
      const [profile] = await np.error(np.subscribe(SUB_USER_PROJECTS));
      expect(profile).toMatchObject({ message: 'Your auth token does not have the required scope: profile:read.', extensions: { code: 'FORBIDDEN' } });
      np.close();
    });

    it('answers documents that do not validate with an error of that operation', async () => {
      const c = await connect();
      const [err] = await c.error(c.subscribe('subscription { projectVersionsUpdated { id } }'));
      expect(err.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
      const [syntax] = await c.error(c.subscribe('subscription {'));
      expect(syntax.extensions.code).toBe('GRAPHQL_PARSE_FAILED');
      c.close();
    });

    it('accepts the token from each place Speckle reads it: Authorization, authorization, headers.Authorization, headers.authorization', async () => {
      for (const payload of [
        { Authorization: `Bearer ${ownerToken}` },
        { authorization: `Bearer ${ownerToken}` },
        { headers: { Authorization: `Bearer ${ownerToken}` } },
        { headers: { authorization: `bearer ${ownerToken}` } },
      ]) {
        const s = await TestSocket.open(srv.url, protocol);
        s.send({ type: 'connection_init', payload });
        expect((await s.wait(() => true)).type).toBe('connection_ack');
        s.close();
      }
    });

    it('releases its bus listeners when the operation is stopped and when the socket closes', async () => {
      const projectId = await api.createProject(ownerToken);
      const before = srv.app.services.bus.listenerCount(SpeckleChannels.versions);
      const c = await connect();
      const id = c.subscribe(SUB_VERSIONS, { id: projectId });
      c.subscribe(SUB_VERSIONS, { id: projectId });
      await waitUntil(() => srv.app.services.bus.listenerCount(SpeckleChannels.versions) === before + 2);
      c.stop(id);
      if (protocol === 'graphql-ws') expect((await c.socket.wait((m) => m.id === id)).type).toBe('complete');
      await waitUntil(() => srv.app.services.bus.listenerCount(SpeckleChannels.versions) === before + 1);
      c.close();
      await waitUntil(() => srv.app.services.bus.listenerCount(SpeckleChannels.versions) === before);
    });

    it('caps the operations of one socket at 100', async () => {
      const projectId = await api.createProject(ownerToken);
      const c = await connect();
      const before = srv.app.services.bus.listenerCount(SpeckleChannels.project);
      for (let i = 0; i < 100; i++) c.subscribe(SUB_PROJECT, { id: projectId });
      await waitUntil(() => srv.app.services.bus.listenerCount(SpeckleChannels.project) === before + 100);
      const [err] = await c.error(c.subscribe(SUB_PROJECT, { id: projectId }));
      expect(err).toMatchObject({ message: 'Too many operations on this connection (max 100).', extensions: { code: 'BAD_REQUEST_ERROR' } });
      c.close();
      await waitUntil(() => srv.app.services.bus.listenerCount(SpeckleChannels.project) === before);
    });

    it('closes a socket that sends a message over 1 MB (1009)', async () => {
      const c = await connect();
      c.socket.send({ id: 'x', type: protocol === 'graphql-ws' ? 'start' : 'subscribe', payload: { query: `# ${'x'.repeat(1024 * 1024)}` } });
      expect((await c.socket.closed).code).toBe(1009);
    });

    it('refuses a connection without a token or with an invalid one', async () => {
      for (const payload of [{}, { Authorization: 'Bearer' }, { Authorization: `Bearer ${'0'.repeat(42)}` }, { Authorization: ownerToken }, null]) {
        const s = await TestSocket.open(srv.url, protocol);
        s.send({ type: 'connection_init', payload });
        if (protocol === 'graphql-ws') {
          expect(await s.wait(() => true)).toEqual({ type: 'connection_error', payload: { message: 'You need a token to subscribe' } });
          await s.closed;
        } else {
          expect(await s.closed).toEqual({ code: 4403, reason: 'You need a token to subscribe' });
        }
        expect(s.log.some((m) => m.type === 'connection_ack')).toBe(false);
      }
    });

    it('runs a query sent over the socket and completes it', async () => {
      const c = await connect();
      const id = c.subscribe('query { activeUser { id name } }');
      expect(await c.next(id)).toEqual({ data: { activeUser: { id: owner.id, name: 'Owner' } } });
      expect((await c.socket.wait((m) => m.id === id)).type).toBe('complete');
      c.close();
    });
  });

  describe('the legacy protocol (graphql-ws, subscriptions-transport-ws)', () => {
    it('is chosen when a client offers both subprotocols, as specklepy does; graphql-transport-ws when only it is offered', async () => {
      const both = await TestSocket.open(srv.url, ['graphql-ws', 'graphql-transport-ws']);
      expect(both.protocol).toBe('graphql-ws');
      both.close();
      const reversed = await TestSocket.open(srv.url, ['graphql-transport-ws', 'graphql-ws']);
      expect(reversed.protocol).toBe('graphql-ws');
      reversed.close();
      const newer = await TestSocket.open(srv.url, 'graphql-transport-ws');
      expect(newer.protocol).toBe('graphql-transport-ws');
      newer.close();
      await expect(TestSocket.open(srv.url, 'mqtt')).rejects.toThrow(/400/);
    });

    it('keeps a plain GET /graphql an HTTP landing page', async () => {
      const res = await fetch(`${srv.url}/graphql`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('GraphQL');
    });

    it('sends ka right after connection_ack', async () => {
      const c = await SubscriptionClient.connect(srv.url, 'graphql-ws', ownerToken);
      await c.socket.wait((m) => m.type === 'ka');
      expect(c.socket.log.slice(0, 2).map((m) => m.type)).toEqual(['connection_ack', 'ka']);
      c.close();
    });

    it('handles start sent right after connection_init without waiting for the ack, as Apollo clients do', async () => {
      const projectId = await api.createProject(ownerToken);
      const s = await TestSocket.open(srv.url, 'graphql-ws');
      s.send({ type: 'connection_init', payload: { Authorization: `Bearer ${ownerToken}` } });
      s.send({ id: '1', type: 'start', payload: { query: SUB_PROJECT, variables: { id: projectId } } });
      await s.wait((m) => m.type === 'connection_ack');
      await socketBarrier(s, 'graphql-ws');
      await api.updateProject(ownerToken, projectId, 'Renamed');
      const m = await s.wait((x) => x.id === '1');
      expect(m).toMatchObject({ type: 'data', payload: { data: { data: { type: 'UPDATED', project: { name: 'Renamed' } } } } });
      s.close();
    });

    it('answers malformed JSON with connection_error and keeps the socket, unknown types with error, start before init with error', async () => {
      const s = await TestSocket.open(srv.url, 'graphql-ws');
      s.send('{not json');
      expect(await s.wait(() => true)).toEqual({ type: 'connection_error', payload: { message: 'Message must be JSON-parseable.' } });
      s.send({ id: '1', type: 'start', payload: { query: 'subscription { userProjectsUpdated { id } }' } });
      expect(await s.wait(() => true)).toMatchObject({ id: '1', type: 'error', payload: { message: 'You need a token to subscribe' } });
      s.send({ id: '2', type: 'bogus' });
      expect(await s.wait(() => true)).toEqual({ id: '2', type: 'error', payload: { message: 'Invalid message type!' } });
      s.send({ type: 'connection_init', payload: { Authorization: `Bearer ${ownerToken}` } });
      expect((await s.wait(() => true)).type).toBe('connection_ack');
      s.send({ type: 'connection_terminate' });
      expect((await s.closed).code).toBe(1000);
    });

    it('serves the legacy commitCreated, branchCreated and streamUpdated subscriptions with JSONObject payloads', async () => {
      const projectId = await api.createProject(ownerToken, 'Legacy');
      const c = await SubscriptionClient.connect(srv.url, 'graphql-ws', ownerToken);
      const commits = c.subscribe('subscription($s: String!) { commitCreated(streamId: $s) }', { s: projectId });
      const branches = c.subscribe('subscription($s: String!) { branchCreated(streamId: $s) }', { s: projectId });
      const streams = c.subscribe('subscription($s: String) { streamUpdated(streamId: $s) }', { s: projectId });
      await c.barrier();
      const modelId = await api.createModel(ownerToken, projectId, 'Beams');
      expect((await c.next(branches)).data.branchCreated).toMatchObject({ id: modelId, streamId: projectId, name: 'beams', authorId: owner.id });
      const v = await api.createVersion(ownerToken, projectId, modelId, 'legacy');
      expect((await c.next(commits)).data.commitCreated).toMatchObject({
        id: v.id,
        streamId: projectId,
        branchName: 'beams',
        objectId: v.objectId,
        message: 'legacy',
        authorId: owner.id,
      });
      await api.updateProject(ownerToken, projectId, 'Legacy renamed');
      expect((await c.next(streams)).data.streamUpdated).toMatchObject({ id: projectId, name: 'Legacy renamed', isPublic: false });
      c.close();
    });
  });

  it('closes open sockets with 1001 and releases their listeners when the server shuts down', async () => {
    const s2 = await startTestServer(kind);
    const u = await s2.createUser();
    const t = await s2.createToken(u.id, ALL);
    const c = await SubscriptionClient.connect(s2.url, 'graphql-ws', t);
    c.subscribe(SUB_USER_PROJECTS);
    await waitUntil(() => s2.app.services.bus.listenerCount(SpeckleChannels.userProjects) === 1);
    await s2.close();
    expect((await c.socket.closed).code).toBe(1001);
    expect(s2.app.services.bus.listenerCount(SpeckleChannels.userProjects)).toBe(0);
  });

  it('refuses a websocket upgrade to a path no face serves with 404 instead of leaving it hanging', async () => {
    for (const p of ['/nope', '/api/nope', '/ayon/nope']) {
      const ws = new WebSocket(`${srv.url.replace(/^http/, 'ws')}${p}`);
      const status = await new Promise<number | string>((resolve) => {
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('open', () => resolve('open'));
        ws.once('error', (e) => resolve(String(e)));
        setTimeout(() => resolve('hanging'), 3000);
      });
      ws.terminate();
      expect(status, p).toBe(404);
    }
  });

  it('closes a socket (4403) and stops its subscriptions once its token is revoked, on both protocols', async () => {
    const s2 = await startTestServer(kind, { ATRIUM_WS_AUTH_RECHECK_S: '1' });
    try {
      const u = await s2.createUser();
      for (const protocol of PROTOCOLS) {
        const revoked = await s2.createToken(u.id, ALL);
        const kept = await s2.createToken(u.id, ALL);
        const doomed = await SubscriptionClient.connect(s2.url, protocol, revoked);
        const survivor = await SubscriptionClient.connect(s2.url, protocol, kept);
        doomed.subscribe(SUB_USER_PROJECTS);
        survivor.subscribe(SUB_USER_PROJECTS);
        await waitUntil(() => s2.app.services.bus.listenerCount(SpeckleChannels.userProjects) === 2);
        expect(await s2.app.services.identity.revokeToken(revoked.slice(0, 10))).toBe(true);
        expect(await doomed.socket.closed).toEqual({ code: 4403, reason: 'Forbidden: the token was revoked or has expired' });
        expect(s2.app.services.bus.listenerCount(SpeckleChannels.userProjects)).toBe(1);
        // the socket with a valid token is still served after the re-check
        await new Promise((r) => setTimeout(r, 1200));
        expect(survivor.socket.ws.readyState).toBe(WebSocket.OPEN);
        survivor.close();
        await survivor.socket.closed;
        await waitUntil(() => s2.app.services.bus.listenerCount(SpeckleChannels.userProjects) === 0);
      }
    } finally {
      await s2.close();
    }
  });

  describe('the graphql-transport-ws protocol', () => {
    it('answers ping with pong', async () => {
      const c = await SubscriptionClient.connect(srv.url, 'graphql-transport-ws', ownerToken);
      c.socket.send({ type: 'ping' });
      expect(await c.socket.wait((m) => m.type === 'pong')).toEqual({ type: 'pong' });
      c.close();
    });

    it('closes with 4401 on subscribe before connection_init', async () => {
      const s = await TestSocket.open(srv.url, 'graphql-transport-ws');
      s.send({ id: '1', type: 'subscribe', payload: { query: SUB_USER_PROJECTS } });
      expect((await s.closed).code).toBe(4401);
    });

    it('closes with 4429 on a second connection_init', async () => {
      const c = await SubscriptionClient.connect(srv.url, 'graphql-transport-ws', ownerToken);
      c.socket.send({ type: 'connection_init', payload: { Authorization: `Bearer ${ownerToken}` } });
      expect((await c.socket.closed).code).toBe(4429);
    });

    it('closes with 4409 when an id is already subscribed', async () => {
      const c = await SubscriptionClient.connect(srv.url, 'graphql-transport-ws', ownerToken);
      c.socket.send({ id: 'dup', type: 'subscribe', payload: { query: SUB_USER_PROJECTS } });
      c.socket.send({ id: 'dup', type: 'subscribe', payload: { query: SUB_USER_PROJECTS } });
      expect(await c.socket.closed).toEqual({ code: 4409, reason: 'Subscriber for dup already exists' });
    });

    it('closes with 4400 on malformed JSON and on unknown message types', async () => {
      const a = await SubscriptionClient.connect(srv.url, 'graphql-transport-ws', ownerToken);
      a.socket.send('{nope');
      expect((await a.socket.closed).code).toBe(4400);
      const b = await SubscriptionClient.connect(srv.url, 'graphql-transport-ws', ownerToken);
      b.socket.send({ type: 'start', id: '1', payload: { query: SUB_USER_PROJECTS } });
      expect((await b.socket.closed).code).toBe(4400);
    });
  });
});

// ------------------------------------------------------------------ several nodes on one PostgreSQL database

describe.skipIf(!storeKinds.includes('postgres'))('Speckle subscriptions across two nodes on one PostgreSQL database', () => {
  let a: TestServer;
  let b: TestServer;
  let token: string;
  let api: ReturnType<typeof speckleApi>;

  beforeAll(async () => {
    a = await startTestServer('postgres');
    b = await startTestServer('postgres', {}, { database: a.config.database });
    const u = await a.createUser({ name: 'Node user' });
    token = await a.createToken(u.id, ALL);
    api = speckleApi(a);
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it.each(PROTOCOLS)('delivers a mutation made on node A to a %s subscriber on node B, and once to a subscriber on A', async (protocol) => {
    const projectId = await api.createProject(token);
    const modelId = await api.mainModel(token, projectId);
    const onB = await SubscriptionClient.connect(b.url, protocol, token);
    const onA = await SubscriptionClient.connect(a.url, protocol, token);
    const idB = onB.subscribe(SUB_VERSIONS, { id: projectId });
    const idA = onA.subscribe(SUB_VERSIONS, { id: projectId });
    await onB.barrier();
    await onA.barrier();
    const v1 = await api.createVersion(token, projectId, modelId, 'from A');
    // generous: under a full parallel test run the round trip through PostgreSQL can take seconds
    const remote = await onB.next(idB, 15_000);
    latencies.push(performance.now() - v1.sentAt);
    expect(remote.data.data).toMatchObject({ id: v1.id, type: 'CREATED', version: { id: v1.id, message: 'from A' } });
    expect((await onA.next(idA)).data.data.id).toBe(v1.id);
    // no echo: node A does not get its own event back from the database
    const v2 = await api.createVersion(token, projectId, modelId, 'second');
    expect((await onA.next(idA)).data.data.id).toBe(v2.id);
    expect((await onB.next(idB, 15_000)).data.data.id).toBe(v2.id);
    onA.close();
    onB.close();
  });

  it('delivers a mutation on node B to userProjectsUpdated on node A', async () => {
    const apiB = speckleApi(b);
    const onA = await SubscriptionClient.connect(a.url, 'graphql-ws', token);
    const id = onA.subscribe(SUB_USER_PROJECTS);
    await onA.barrier();
    const projectId = await apiB.createProject(token, 'made on B');
    expect((await onA.next(id)).data.data).toMatchObject({ id: projectId, type: 'ADDED', project: { name: 'made on B' } });
    onA.close();
  });

  it('relays an event larger than a NOTIFY payload intact, in order with the events around it', async () => {
    const got: Array<{ channel: string; payload: any }> = [];
    const off = b.app.services.bus.subscribe('test.relay', (payload, channel) => got.push({ channel, payload }));
    const big = { blob: 'é'.repeat(20_000), ids: Array.from({ length: 50 }, (_, i) => i) };
    a.app.services.bus.publish('test.relay', { n: 1 });
    a.app.services.bus.publish('test.relay', big);
    a.app.services.bus.publish('test.relay', { n: 3 });
    await waitUntil(() => got.length === 3);
    expect(got.map((g) => g.payload)).toEqual([{ n: 1 }, big, { n: 3 }]);
    off();
  });

  it('does not deliver a node its own events twice', async () => {
    const seen: unknown[] = [];
    const off = a.app.services.bus.subscribe('test.echo', (p) => seen.push(p));
    const onB: unknown[] = [];
    const offB = b.app.services.bus.subscribe('test.echo', (p) => onB.push(p));
    a.app.services.bus.publish('test.echo', { n: 1 });
    b.app.services.bus.publish('test.echo', { n: 2 });
    await waitUntil(() => seen.length >= 2 && onB.length >= 2);
    await sleep(200);
    expect(seen).toEqual([{ n: 1 }, { n: 2 }]);
    expect(onB).toEqual([{ n: 2 }, { n: 1 }]);
    off();
    offB();
  });
});

afterAll(() => {
  if (!latencies.length) return;
  const s = [...latencies].sort((x, y) => x - y);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))].toFixed(1);
  console.info(`mutation sent → event received (ms, ${s.length} samples): p50 ${q(0.5)}, max ${s[s.length - 1].toFixed(1)}`);
});
