/**
 * SpeckleClient's data resources and operations against a real Atrium (in-process, on every store
 * kind): projects, models, versions, users, invites, subscriptions over WebSocket, and
 * operations.send → receive round trips over the REST object routes — with the answers the reference
 * (shared/reference/speckle.md §5–§8) says a Speckle server gives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Base,
  Collection,
  GraphQLError,
  Mesh,
  Point,
  SpeckleAuthError,
  SpeckleClient,
  SpeckleError,
  float,
  getId,
  operations,
  serialize,
  type ProjectVersionsUpdatedMessage,
  type SendProgress,
  type ReceiveProgress,
  type SubscriptionProtocol,
} from '../src/index.js';
import { startTestServer, storeKinds } from '../../server/test/helpers/server.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;

const CONNECTOR_SCOPES = ['streams:read', 'streams:write', 'profile:read', 'profile:email', 'users:read', 'users:invite'];
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const PROJECT_KEYS = ['allowPublicComments', 'createdAt', 'description', 'id', 'name', 'role', 'sourceApps', 'updatedAt', 'visibility', 'workspaceId'];
const LIMITED_USER_KEYS = ['avatar', 'bio', 'company', 'id', 'name', 'role', 'verified'];
const MODEL_KEYS = ['author', 'createdAt', 'description', 'displayName', 'id', 'name', 'previewUrl', 'updatedAt'];
const VERSION_KEYS = ['authorUser', 'createdAt', 'id', 'message', 'previewUrl', 'referencedObject', 'sourceApplication'];

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

/** Resolves with the first `count` values pushed, or fails after `ms`. */
function collector<T>(count: number, ms = 10_000) {
  const values: T[] = [];
  let done!: (v: T[]) => void;
  const promise = new Promise<T[]>((resolve, reject) => {
    done = resolve;
    setTimeout(() => reject(new Error(`only ${values.length} of ${count} events within ${ms} ms`)), ms).unref();
  });
  return {
    values,
    push(v: T) {
      values.push(v);
      if (values.length === count) done(values);
    },
    promise,
  };
}

/** A graph with detached, chunked, inline and typed parts (floats included). */
function sampleModel(label: string): Collection {
  const mesh = new Mesh({
    vertices: Float64Array.from({ length: 3000 }, (_, i) => (i % 97) * 0.25),
    faces: Array.from({ length: 1000 }, (_, i) => [3, i % 1000, (i + 1) % 1000, (i + 2) % 1000]).flat(),
    units: 'm',
  });
  const wall = new Base({ applicationId: `wall-${label}` });
  wall.height = float(3);
  wall.name = `Wall ${label} — “north” façade`;
  wall['@displayValue'] = [mesh];
  wall['@(2)levels'] = ['L0', 'L1', 'L2'];
  wall.props = { fire: { rating: 'EI60' }, tags: ['a', 'b'] };
  const point = new Point({ x: 1, y: 2, z: 3, units: 'm' });
  return new Collection({ name: label, elements: [wall, point, new Collection({ name: 'empty' })] });
}

describe.each(storeKinds)('Speckle data through SpeckleClient against Atrium on %s', (kind) => {
  let server: TestServer;
  let owner: { id: string; email: string; name: string };
  let other: { id: string; email: string; name: string };
  let ownerToken: string;
  let otherToken: string;
  const client = (): SpeckleClient => new SpeckleClient({ host: server.url, useSsl: false });
  const authenticated = async (token: string): Promise<SpeckleClient> => {
    const c = client();
    await c.authenticateWithToken(token);
    return c;
  };

  beforeAll(async () => {
    server = await startTestServer(kind);
    owner = await server.createUser({ name: 'Olivia Owner' });
    other = await server.createUser({ name: 'Plainfield Person' });
    ownerToken = await server.createToken(owner.id, [...CONNECTOR_SCOPES, 'profile:write'], { name: 'owner' });
    otherToken = await server.createToken(other.id, CONNECTOR_SCOPES, { name: 'other' });
  });
  afterAll(async () => {
    await server?.close();
  });

  describe('client.project', () => {
    it('create → get → update → delete, with Speckle shapes and a main model', async () => {
      const c = await authenticated(ownerToken);
      const created = await c.project.create({ name: 'Tower', description: 'a test', visibility: 'PRIVATE' });
      expect(Object.keys(created).sort()).toEqual(PROJECT_KEYS);
      expect(created).toMatchObject({
        name: 'Tower',
        description: 'a test',
        visibility: 'PRIVATE',
        role: 'stream:owner',
        workspaceId: null,
        sourceApps: [],
      });
      expect(created.id).toMatch(/^[0-9a-f]{10}$/);
      expect(created.createdAt).toMatch(ISO);

      const got = await c.project.get(created.id);
      expect(got).toEqual(created);

      const updated = await c.project.update({ id: created.id, name: 'Tower 2', allowPublicComments: true });
      expect(updated).toMatchObject({ id: created.id, name: 'Tower 2', description: 'a test', allowPublicComments: true });

      const withModels = await c.project.getWithModels(created.id);
      expect(withModels.models.totalCount).toBe(1);
      // §6.3: a project listener creates model "main" with description "default model"
      expect(withModels.models.items[0]).toMatchObject({ name: 'main', displayName: 'main', description: 'default model' });
      expect(Object.keys(withModels.models.items[0]).sort()).toEqual(MODEL_KEYS);

      expect(await c.project.delete(created.id)).toBe(true);
      const gone = await rejection(c.project.get(created.id));
      expect(gone).toBeInstanceOf(GraphQLError);
      expect((gone as GraphQLError).code).toBe('STREAM_NOT_FOUND');
    });

    it('create with every key null makes an unnamed private project', async () => {
      const c = await authenticated(ownerToken);
      const p = await c.project.create({});
      expect(typeof p.name).toBe('string');
      expect(p.visibility).toBe('PRIVATE');
    });

    it('getPermissions, getWithTeam and updateRole', async () => {
      const c = await authenticated(ownerToken);
      const p = await c.project.create({ name: 'Team project' });
      const perms = await c.project.getPermissions(p.id);
      for (const key of ['canCreateModel', 'canDelete', 'canLoad', 'canPublish'] as const) {
        expect(perms[key]).toEqual({ authorized: true, code: 'OK', message: 'OK' });
      }

      const team = await c.project.getWithTeam(p.id);
      expect(team.team).toHaveLength(1);
      expect(team.team[0]).toMatchObject({ id: owner.id, role: 'stream:owner', user: { id: owner.id, name: 'Olivia Owner' } });
      expect(Object.keys(team.team[0].user).sort()).toEqual(LIMITED_USER_KEYS);
      expect(team.invitedTeam).toEqual([]);

      const withOther = await c.project.updateRole({ projectId: p.id, userId: other.id, role: 'stream:contributor' });
      expect(withOther.team.map((m) => [m.id, m.role]).sort()).toEqual(
        [
          [owner.id, 'stream:owner'],
          [other.id, 'stream:contributor'],
        ].sort(),
      );
      const asOther = await authenticated(otherToken);
      expect((await asOther.project.get(p.id)).role).toBe('stream:contributor');
      const otherPerms = await asOther.project.getPermissions(p.id);
      expect(otherPerms.canDelete.authorized).toBe(false);
      expect(otherPerms.canLoad.authorized).toBe(true);

      const removed = await c.project.updateRole({ projectId: p.id, userId: other.id, role: null });
      expect(removed.team.map((m) => m.id)).toEqual([owner.id]);
      const denied = await rejection(asOther.project.get(p.id));
      expect(denied).toBeInstanceOf(GraphQLError);
      expect((denied as GraphQLError).code).toBe('FORBIDDEN');
    });

    it('public projects are readable anonymously; private ones are not', async () => {
      const c = await authenticated(ownerToken);
      const pub = await c.project.create({ name: 'Open', visibility: 'PUBLIC' });
      const priv = await c.project.create({ name: 'Closed', visibility: 'PRIVATE' });
      const anon = client();
      expect(await anon.project.get(pub.id)).toMatchObject({ id: pub.id, role: null, visibility: 'PUBLIC' });
      const err = await rejection(anon.project.get(priv.id));
      expect(err).toBeInstanceOf(GraphQLError);
    });
  });

  describe('client.model', () => {
    it('create, get, getModels, getWithVersions, update, delete', async () => {
      const c = await authenticated(ownerToken);
      const p = await c.project.create({ name: 'Models' });
      const m = await c.model.create({ projectId: p.id, name: 'Facade/North', description: 'glass' });
      expect(Object.keys(m).sort()).toEqual(MODEL_KEYS);
      expect(m).toMatchObject({ name: 'facade/north', displayName: 'north', description: 'glass', previewUrl: null });
      expect(m.author).toMatchObject({ id: owner.id, name: 'Olivia Owner' });

      expect(await c.model.get(m.id, p.id)).toEqual(m);

      const page = await c.model.getModels(p.id, { modelsLimit: 10 });
      expect(page.totalCount).toBe(2);
      expect(page.items.map((x) => x.name).sort()).toEqual(['facade/north', 'main']);
      const filtered = await c.model.getModels(p.id, { modelsFilter: { search: 'facade' } });
      expect(filtered.items.map((x) => x.id)).toEqual([m.id]);

      const withVersions = await c.model.getWithVersions(m.id, p.id);
      expect(withVersions.versions).toMatchObject({ totalCount: 0, items: [] });

      const renamed = await c.model.update({ projectId: p.id, id: m.id, name: 'Facade/South' });
      expect(renamed).toMatchObject({ id: m.id, name: 'facade/south', displayName: 'south', description: 'glass' });

      const perms = await c.model.getPermissions(p.id, m.id);
      expect(perms.canCreateVersion.authorized).toBe(true);

      expect(await c.model.delete({ projectId: p.id, id: m.id })).toBe(true);
      expect(await rejection(c.model.get(m.id, p.id))).toBeInstanceOf(GraphQLError);
    });

    it('refuses invalid model names like Speckle', async () => {
      const c = await authenticated(ownerToken);
      const p = await c.project.create({ name: 'Names' });
      const err = await rejection(c.model.create({ projectId: p.id, name: '/bad' }));
      expect(err).toBeInstanceOf(GraphQLError);
      expect((err as GraphQLError).code).toBe('BRANCH_NAME_ERROR');
    });
  });

  describe('operations.send / receive', () => {
    it('round trip: the received graph has the same ids; a second send uploads nothing', async () => {
      const c = await authenticated(ownerToken);
      const p = await c.project.create({ name: 'Objects' });
      const base = sampleModel('a');
      const expected = serialize(sampleModel('a'));

      const progress: SendProgress[] = [];
      const id = await operations.send(base, { client: c, projectId: p.id, onProgress: (x) => progress.push(x) });
      expect(id).toBe(expected.id);
      const distinct = new Set(expected.records.map((r) => r.id)).size;
      expect(progress.at(-1)).toMatchObject({ totalObjects: distinct, processedObjects: distinct, uploadedObjects: distinct });

      const again: SendProgress[] = [];
      expect(await operations.send(sampleModel('a'), { client: c, projectId: p.id, onProgress: (x) => again.push(x) })).toBe(id);
      expect(again.at(-1)).toMatchObject({ processedObjects: distinct, uploadedObjects: 0 });

      const received: ReceiveProgress[] = [];
      const back = await operations.receive(id, { client: c, projectId: p.id, onProgress: (x) => received.push(x) });
      expect(received.at(-1)).toEqual({ totalObjects: distinct, receivedObjects: distinct });
      expect(back).toBeInstanceOf(Collection);
      expect(back.id).toBe(id);
      const wall = (back as Collection).elements[0];
      expect(wall.name).toBe('Wall a — “north” façade');
      expect(wall['@(2)levels']).toEqual(['L0', 'L1', 'L2']);
      const mesh = (wall['@displayValue'] as Mesh[])[0];
      expect(mesh).toBeInstanceOf(Mesh);
      expect(mesh.vertices).toHaveLength(3000);
      expect(mesh.vertices[5]).toBe(1.25);
      expect(wall.height).toBe(3);

      // the stored root keeps its __closure: every detached object is listed
      const root = JSON.parse(await (await fetch(`${server.url}/objects/${p.id}/${id}/single`, { headers: { Authorization: `Bearer ${ownerToken}` } })).text());
      expect(Object.keys(root.__closure).sort()).toEqual(
        [...new Set(expected.records.map((r) => r.id))].filter((x) => x !== id).sort(),
      );
    });

    it('uploads in several batches when the data is large, 4 at a time', async () => {
      const c = await authenticated(ownerToken);
      const p = await c.project.create({ name: 'Big' });
      const big = new Base();
      // ~ 60 000 small objects → 3 batches by count (each < 20 000)
      big['@items'] = Array.from({ length: 45_000 }, (_, i) => new Base({ applicationId: `item-${i}` }));
      // no integral floats (see the next test): the received graph must hash to the same id
      big['@mesh'] = new Mesh({
        vertices: Float64Array.from({ length: 150_000 }, (_, i) => (i + 0.5) / 7),
        faces: [3, 0, 1, 2],
        units: 'mm',
        area: 1.5,
        volume: 2.5,
      });
      const progress: SendProgress[] = [];
      const id = await operations.send(big, { client: c, projectId: p.id, onProgress: (x) => progress.push(x) });
      const last = progress.at(-1)!;
      expect(last.totalBatches).toBeGreaterThanOrEqual(4);
      expect(last.finishedBatches).toBe(last.totalBatches);
      expect(last.uploadedObjects).toBe(last.totalObjects);

      const back = await operations.receive(id, { client: c, projectId: p.id });
      expect((back['@items'] as Base[]).length).toBe(45_000);
      const mesh = back['@mesh'] as Mesh;
      expect(mesh.vertices[149_999]).toBe(149_999.5 / 7);
      expect(getId(back, true)).toBe(id);
    }, 120_000);

    it('integral floats: the SDK keeps 1.0 apart from 1 when the text has it (cache); Atrium normalises it', async () => {
      const c = await authenticated(ownerToken);
      const p = await c.project.create({ name: 'Floats' });
      const base = new Base();
      base.height = float(3);
      base['@mesh'] = new Mesh({ vertices: Float64Array.of(0, 0, 0, 1, 0, 0, 1, 1, 0), faces: [3, 0, 1, 2], units: 'm' });
      const id = await operations.send(base, { client: c, projectId: p.id });
      // from the cache (specklepy's text, byte for byte): same ids again, vertices as a Float64Array
      const cache = new Map(serialize(base).records.map((r) => [r.id, r.json]));
      const cached = await operations.receive(id, { client: c, projectId: p.id, cache });
      expect((cached['@mesh'] as Mesh).vertices).toBeInstanceOf(Float64Array);
      expect(getId(cached, true)).toBe(id);
      // through the server: Atrium stores JSON.stringify'd text like Speckle's server (speckle.md §8.3), so
      // 3.0 comes back as 3 and the graph no longer hashes to the id it was sent with — as with specklepy
      const fromServer = await operations.receive(id, { client: c, projectId: p.id });
      expect(fromServer.height).toBe(3);
      const single = await (await fetch(`${server.url}/objects/${p.id}/${id}/single`, { headers: { Authorization: `Bearer ${ownerToken}` } })).text();
      if (single.includes('"height":3.0')) expect(getId(fromServer, true)).toBe(id);
    });

    it('receive answers from the cache without asking the server again', async () => {
      const c = await authenticated(ownerToken);
      const p = await c.project.create({ name: 'Cache' });
      const id = await operations.send(sampleModel('cache'), { client: c, projectId: p.id });
      const cache = new Map<string, string>();
      await operations.receive(id, { client: c, projectId: p.id, cache });
      expect(cache.has(id)).toBe(true);
      // a client that cannot reach anything still receives from the cache
      const offline = new SpeckleClient({ host: '127.0.0.1:1', useSsl: false, retry: { retries: 0 } });
      const back = await operations.receive(id, { client: offline, projectId: p.id, cache });
      expect(back.id).toBe(id);
    });

    it('objects are scoped per project, and writing needs access', async () => {
      const c = await authenticated(ownerToken);
      const p = await c.project.create({ name: 'Scope A' });
      const q = await c.project.create({ name: 'Scope B' });
      const id = await operations.send(sampleModel('scoped'), { client: c, projectId: p.id });
      const notThere = await rejection(operations.receive(id, { client: c, projectId: q.id }));
      expect(notThere).toBeInstanceOf(SpeckleError);
      expect((notThere as { status?: number }).status).toBe(404);

      const asOther = await authenticated(otherToken);
      const denied = await rejection(operations.send(sampleModel('x'), { client: asOther, projectId: p.id }));
      expect(denied).toBeInstanceOf(SpeckleAuthError);
      expect((denied as SpeckleAuthError).status).toBe(401);
      const anonymous = await rejection(operations.receive(id, { client: client(), projectId: p.id }));
      expect(anonymous).toBeInstanceOf(SpeckleAuthError);
      expect((anonymous as SpeckleAuthError).status).toBe(401);
      await expect(operations.send(new Base(), { client: client(), projectId: p.id })).rejects.toBeInstanceOf(SpeckleError);

      // §8.4: a public project's objects are readable by anyone
      const pub = await c.project.create({ name: 'Public objects', visibility: 'PUBLIC' });
      const pubId = await operations.send(sampleModel('public'), { client: c, projectId: pub.id });
      expect((await operations.receive(pubId, { client: client(), projectId: pub.id })).id).toBe(pubId);
    });
  });

  describe('client.version', () => {
    it('create, get, getVersions, update, moveToModel, received, delete', async () => {
      const c = await authenticated(ownerToken);
      const p = await c.project.create({ name: 'Versions' });
      const main = (await c.model.getModels(p.id)).items.find((m) => m.name === 'main')!;
      const objectId = await operations.send(sampleModel('v'), { client: c, projectId: p.id });

      const v = await c.version.create({ objectId, modelId: main.id, projectId: p.id, message: 'first' });
      expect(Object.keys(v).sort()).toEqual(VERSION_KEYS);
      expect(v).toMatchObject({ referencedObject: objectId, message: 'first', sourceApplication: 'atrium-sdk' });
      expect(v.authorUser).toMatchObject({ id: owner.id });
      expect(v.previewUrl).toContain(`/preview/${p.id}/commits/${v.id}`);

      expect(await c.version.get(v.id, p.id)).toEqual(v);
      const v2 = await c.version.create({ objectId, modelId: main.id, projectId: p.id, sourceApplication: 'py' });
      const page = await c.version.getVersions(main.id, p.id, { limit: 10 });
      expect(page.totalCount).toBe(2);
      expect(page.items.map((x) => x.id)).toEqual([v2.id, v.id]);
      const first = await c.version.getVersions(main.id, p.id, { limit: 1 });
      expect(first.items.map((x) => x.id)).toEqual([v2.id]);
      const rest = await c.version.getVersions(main.id, p.id, { limit: 1, cursor: first.cursor });
      expect(rest.items.map((x) => x.id)).toEqual([v.id]);
      // §6.4: more than 100 is refused
      const tooMany = await rejection(c.version.getVersions(main.id, p.id, { limit: 101 }));
      expect(tooMany).toBeInstanceOf(GraphQLError);
      expect((tooMany as GraphQLError).message).toBe('Cannot return more than 100 items, please use pagination.');

      const withVersions = await c.model.getWithVersions(main.id, p.id, { versionsLimit: 5 });
      expect(withVersions.versions.items.map((x) => x.id)).toEqual([v2.id, v.id]);
      expect(withVersions.previewUrl).toContain(`/preview/${p.id}/commits/${v2.id}`);

      expect(await c.version.update({ versionId: v.id, projectId: p.id, message: 'renamed' })).toMatchObject({ id: v.id, message: 'renamed' });

      const targetId = await c.version.moveToModel({ projectId: p.id, versionIds: [v.id], targetModelName: 'archive' });
      const archive = await c.model.get(targetId, p.id);
      expect(archive.name).toBe('archive');
      expect((await c.version.getVersions(archive.id, p.id)).items.map((x) => x.id)).toEqual([v.id]);

      expect(await c.version.received({ versionId: v.id, projectId: p.id, sourceApplication: 'atrium-sdk', message: 'got it' })).toBe(true);

      expect(await c.version.delete({ projectId: p.id, versionIds: [v.id, v2.id] })).toBe(true);
      expect((await c.version.getVersions(main.id, p.id)).totalCount).toBe(0);
    });

    it('refuses a version of an object the project does not have', async () => {
      const c = await authenticated(ownerToken);
      const p = await c.project.create({ name: 'No object' });
      const main = (await c.model.getModels(p.id)).items[0];
      const err = await rejection(c.version.create({ objectId: 'f'.repeat(32), modelId: main.id, projectId: p.id }));
      expect(err).toBeInstanceOf(GraphQLError);
      expect((err as GraphQLError).code).toBe('COMMIT_CREATE_ERROR');
    });
  });

  describe('client.activeUser and client.otherUser', () => {
    it('activeUser.update, getProjects, canCreatePersonalProjects', async () => {
      const c = await authenticated(ownerToken);
      const me = await c.activeUser.update({ bio: 'builds towers', company: 'Atrium' });
      expect(me).toMatchObject({ id: owner.id, name: 'Olivia Owner', bio: 'builds towers', company: 'Atrium' });

      const p = await c.project.create({ name: 'Listed project' });
      const page = await c.activeUser.getProjects({ limit: 50 });
      expect(page.items.map((x) => x.id)).toContain(p.id);
      expect(page.totalCount).toBeGreaterThanOrEqual(page.items.length);
      expect(Object.keys(page.items[0]).sort()).toEqual(PROJECT_KEYS);
      const searched = await c.activeUser.getProjects({ filter: { search: 'Listed' } });
      expect(searched.items.map((x) => x.id)).toEqual([p.id]);
      // pages: follow the cursor until items is empty; every project once
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let i = 0; i < 100; i++) {
        const pageN = await c.activeUser.getProjects({ limit: 2, cursor });
        if (pageN.items.length === 0) break;
        seen.push(...pageN.items.map((x) => x.id));
        cursor = pageN.cursor;
      }
      expect(seen.length).toBe(page.totalCount);
      expect(new Set(seen).size).toBe(seen.length);

      const withPermissions = await c.activeUser.getProjectsWithPermissions({ limit: 1 });
      expect(withPermissions.items[0].permissions.canLoad.authorized).toBe(true);

      expect(await c.activeUser.canCreatePersonalProjects()).toMatchObject({ authorized: true, code: 'OK' });

      const anon = await rejection(client().activeUser.getProjects());
      expect(anon).toBeInstanceOf(SpeckleAuthError);
    });

    it('otherUser.get and userSearch', async () => {
      const c = await authenticated(ownerToken);
      const them = await c.otherUser.get(other.id);
      expect(them).not.toBeNull();
      expect(Object.keys(them!).sort()).toEqual(LIMITED_USER_KEYS);
      expect(them).toMatchObject({ id: other.id, name: 'Plainfield Person' });
      expect(await c.otherUser.get('0123456789')).toBeNull();

      const found = await c.otherUser.userSearch('Plainfield');
      expect(found.items.map((u) => u.id)).toContain(other.id);
      for (const u of found.items) expect(Object.keys(u).sort()).toEqual(LIMITED_USER_KEYS);

      const short = await rejection(c.otherUser.userSearch('ab'));
      expect(short).toBeInstanceOf(GraphQLError);
      expect((short as GraphQLError).message).toBe('Search query must be at least 3 characters.');
      expect((short as GraphQLError).code).toBe('BAD_REQUEST_ERROR');
      const tooMany = await rejection(c.otherUser.userSearch('Plainfield', { limit: 101 }));
      expect(tooMany).toBeInstanceOf(GraphQLError);
      expect((tooMany as GraphQLError).message).toBe('Cannot return more than 100 items, please use pagination.');
    });
  });

  describe('client.projectInvite', () => {
    it('create → the invitee sees it → use; create → cancel', async () => {
      const c = await authenticated(ownerToken);
      const asOther = await authenticated(otherToken);
      const p = await c.project.create({ name: 'Invites' });

      const invited = await c.projectInvite.create(p.id, { userId: other.id, role: 'stream:contributor' });
      expect(invited.invitedTeam).toHaveLength(1);
      expect(invited.invitedTeam![0]).toMatchObject({ projectId: p.id, projectName: 'Invites', role: 'stream:contributor', user: { id: other.id } });

      const mine = await asOther.activeUser.getProjectInvites();
      const invite = mine.find((i) => i.projectId === p.id)!;
      expect(invite).toBeDefined();
      expect(typeof invite.token).toBe('string');
      expect(invite.invitedBy).toMatchObject({ id: owner.id });

      const viaGet = await asOther.projectInvite.get(p.id, null);
      expect(viaGet).toMatchObject({ inviteId: invite.inviteId, projectId: p.id });
      expect(await asOther.projectInvite.get(p.id, invite.token)).toMatchObject({ inviteId: invite.inviteId });

      expect(await asOther.projectInvite.use({ accept: true, projectId: p.id, token: invite.token! })).toBe(true);
      expect((await asOther.project.get(p.id)).role).toBe('stream:contributor');
      expect(await asOther.projectInvite.get(p.id, null)).toBeNull();

      const byEmail = await c.projectInvite.create(p.id, { email: 'someone.new@example.com', role: 'stream:reviewer' });
      const emailInvite = byEmail.invitedTeam!.find((i) => i.user === null)!;
      expect(emailInvite).toMatchObject({ projectId: p.id, role: 'stream:reviewer', user: null });
      expect((await c.projectInvite.cancel(p.id, emailInvite.inviteId)).invitedTeam).toEqual([]);

      const third = await server.createUser({ name: 'Third' });
      const again = await c.projectInvite.create(p.id, { userId: third.id, role: 'stream:reviewer' });
      const pending = again.invitedTeam!.find((i) => i.user?.id === third.id)!;
      const cancelled = await c.projectInvite.cancel(p.id, pending.inviteId);
      expect(cancelled.invitedTeam).toEqual([]);
    });

    it('declining removes the invite without granting access', async () => {
      const c = await authenticated(ownerToken);
      const asOther = await authenticated(otherToken);
      const p = await c.project.create({ name: 'Declined' });
      await c.projectInvite.create(p.id, { userId: other.id, role: 'stream:reviewer' });
      const invite = (await asOther.activeUser.getProjectInvites()).find((i) => i.projectId === p.id)!;
      expect(await asOther.projectInvite.use({ accept: false, projectId: p.id, token: invite.token! })).toBe(true);
      expect(await rejection(asOther.project.get(p.id))).toBeInstanceOf(GraphQLError);
    });
  });

  describe.each<SubscriptionProtocol>(['graphql-ws', 'graphql-transport-ws'])('client.subscribe over %s', (protocol) => {
    it('projectVersionsUpdated, projectModelsUpdated and projectUpdated deliver events; close() ends them', async () => {
      const c = await authenticated(ownerToken);
      const p = await c.project.create({ name: `Live ${protocol}` });
      const versions = collector<ProjectVersionsUpdatedMessage>(1);
      const models = collector<{ type: string; id: string }>(1);
      const projects = collector<{ type: string; id: string }>(1);
      const subs = [
        await c.subscribe.projectVersionsUpdated((m) => versions.push(m), p.id, { protocols: [protocol] }),
        await c.subscribe.projectModelsUpdated((m) => models.push(m), p.id, null, { protocols: [protocol] }),
        await c.subscribe.projectUpdated((m) => projects.push(m), p.id, { protocols: [protocol] }),
      ];
      for (const s of subs) expect(s.protocol).toBe(protocol);

      const model = await c.model.create({ projectId: p.id, name: 'live' });
      const objectId = await operations.send(new Base({ applicationId: 'live' }), { client: c, projectId: p.id });
      const version = await c.version.create({ objectId, modelId: model.id, projectId: p.id });
      await c.project.update({ id: p.id, description: 'changed' });

      const [v] = await versions.promise;
      expect(v).toMatchObject({ type: 'CREATED', id: version.id, modelId: model.id, version: { id: version.id, referencedObject: objectId } });
      const [m] = await models.promise;
      expect(m).toMatchObject({ type: 'CREATED', id: model.id });
      const [u] = await projects.promise;
      expect(u).toMatchObject({ type: 'UPDATED', id: p.id });

      for (const s of subs) await s.close();
      await Promise.all(subs.map((s) => s.closed));
    });

    it('userProjectsUpdated tells a user about projects shared with them', async () => {
      const c = await authenticated(ownerToken);
      const asOther = await authenticated(otherToken);
      const added = collector<{ type: string; id: string }>(1);
      const sub = await asOther.subscribe.userProjectsUpdated((m) => added.push(m), { protocols: [protocol] });
      const p = await c.project.create({ name: 'Shared live' });
      await c.project.updateRole({ projectId: p.id, userId: other.id, role: 'stream:reviewer' });
      const [msg] = await added.promise;
      expect(msg).toMatchObject({ type: 'ADDED', id: p.id });
      await sub.close();
    });

    it('refuses an invalid token', async () => {
      const bad = client();
      // authenticate a client, then revoke its token (the id is the token's first 10 characters)
      const token = await server.createToken(owner.id, CONNECTOR_SCOPES, { name: 'to revoke' });
      await bad.authenticateWithToken(token);
      await server.app.services.identity.revokeToken(token.slice(0, 10));
      const err = await rejection(bad.subscribe.userProjectsUpdated(() => undefined, { protocols: [protocol], ackTimeoutMs: 3000 }));
      expect(err).toBeInstanceOf(SpeckleError);
    });
  });

  it('an unauthenticated client cannot subscribe', async () => {
    await expect(client().subscribe.userProjectsUpdated(() => undefined)).rejects.toThrow('You must authenticate before you can subscribe to events');
  });
});
