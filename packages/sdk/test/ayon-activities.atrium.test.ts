/**
 * AyonClient activity methods against a real Atrium (in-process, on every store kind): comments with
 * mentions, the paged feed in both orders, update/delete by author and by another artist, reactions,
 * watchers, categories, suggestions, attached files and activity batch operations.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { AyonClient, AyonHttpError, FailedOperations } from '../src/index.js';
import { startTestServer, storeKinds } from '../../server/test/helpers/server.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
const hex = () => randomBytes(16).toString('hex');

async function collect<T>(gen: AsyncGenerator<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of gen) out.push(x);
  return out;
}

async function status(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 0;
  } catch (err) {
    if (err instanceof AyonHttpError) return err.status;
    throw err;
  }
}

describe.each(storeKinds)('AyonClient activities against Atrium on %s', (kind) => {
  let server: TestServer;
  let api: AyonClient;
  let alice: AyonClient;
  let bob: AyonClient;
  const project = `sdka_${randomBytes(3).toString('hex')}`;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    server = await startTestServer(kind);
    const u = await server.createUser({ admin: true, email: `sdka-${randomBytes(2).toString('hex')}@example.com`, password: 'sdk-admin-password' });
    api = new AyonClient({ baseUrl: `${server.url}/ayon` });
    await api.login(u.email, u.password);
    await api.createProject(project, project);
    for (const name of ['sdk_alice', 'sdk_bob']) await api.createUser(name, { password: `${name}-password`, attrib: { fullName: name }, data: { accessGroups: { [project]: ['artist'] } } });
    alice = new AyonClient({ baseUrl: `${server.url}/ayon` });
    await alice.login('sdk_alice', 'sdk_alice-password');
    bob = new AyonClient({ baseUrl: `${server.url}/ayon` });
    await bob.login('sdk_bob', 'sdk_bob-password');
    ids.folder = await api.createFolder(project, 'sh010', { folderType: 'Shot' });
    ids.task = await api.createTask(project, 'comp', 'Compositing', ids.folder, { assignees: ['sdk_alice'] });
    const product = await api.createProduct(project, 'renderMain', 'render', ids.folder);
    ids.version = await api.createVersion(project, 1, product, { taskId: ids.task });
  });
  afterAll(() => server?.close());

  it('creates comments with mentions and reads them back from the feed, in both orders and by limit', async () => {
    const created: string[] = [];
    for (let i = 0; i < 4; i++) created.push(await alice.createActivity(project, ids.task, 'task', 'comment', { body: `note ${i} [v](version:${ids.version})` }));
    const feed = await collect(api.getActivities(project, { entityIds: [ids.task], activityTypes: ['comment'] }));
    expect(feed.map((a) => a.activityId)).toEqual(created);
    expect(feed[0]).toMatchObject({ activityType: 'comment', entityId: ids.task, entityType: 'task', author: { name: 'sdk_alice' } });
    expect(feed[0].activityData.origin).toMatchObject({ id: ids.task, type: 'task' });
    const newest = await collect(api.getActivities(project, { entityIds: [ids.task], activityTypes: ['comment'], order: 'descending', limit: 3 }));
    expect(newest.map((a) => a.activityId)).toEqual([...created].reverse().slice(0, 3));
    const mentions = await collect(api.getActivities(project, { entityIds: [ids.version], referenceTypes: ['mention'] }));
    expect(mentions.map((a) => a.activityId)).toEqual(created);
    expect(await collect(api.getActivities(project, { entityIds: [] }))).toEqual([]);
    const fixed = hex();
    expect(await alice.createActivity(project, ids.folder, 'folder', 'comment', { activityId: fixed, body: 'fixed' })).toBe(fixed);
    expect((await api.getActivityById(project, fixed))!.body).toBe('fixed');
    expect(await status(alice.createActivity(project, ids.task, 'task', 'status.change', { body: 'no' }))).toBe(400);
    expect(await status(alice.createActivity(project, hex(), 'task', 'comment', { body: 'no' }))).toBe(404);
  });

  it('update and delete: the author and managers; another artist gets 403', async () => {
    const id = await alice.createActivity(project, ids.task, 'task', 'comment', { body: 'mine' });
    expect(await status(bob.updateActivity(project, id, { body: 'theirs' }))).toBe(403);
    await alice.updateActivity(project, id, { body: 'still mine', data: { mood: 'fine' } });
    const got = await api.getActivityById(project, id);
    expect(got!.body).toBe('still mine');
    expect(got!.activityData).toMatchObject({ mood: 'fine', author: 'sdk_alice' });
    expect(await status(bob.deleteActivity(project, id))).toBe(403);
    await alice.deleteActivity(project, id);
    expect(await api.getActivityById(project, id)).toBeNull();
    const other = await bob.createActivity(project, ids.task, 'task', 'comment', { body: 'moderate' });
    await api.deleteActivity(project, other);
    expect(await api.getActivityById(project, other)).toBeNull();
  });

  it('reactions, watchers, categories and suggestions', async () => {
    const id = await alice.createActivity(project, ids.task, 'task', 'comment', { body: 'react' });
    await bob.createActivityReaction(project, id, 'like');
    await bob.createActivityReaction(project, id, 'like');
    let a = await api.getActivityById(project, id, { fields: ['activityId', 'reactions.userName', 'reactions.reaction'] });
    expect(a!.reactions).toEqual([{ userName: 'sdk_bob', reaction: 'like' }]);
    await bob.deleteActivityReaction(project, id, 'like');
    a = await api.getActivityById(project, id, { fields: ['activityId', 'reactions.userName'] });
    expect(a!.reactions).toEqual([]);

    expect(await api.getEntityWatchers(project, ids.task, 'task')).toEqual(['sdk_alice', 'sdk_bob']); // both commented
    await api.setEntityWatchers(project, ids.task, 'task', ['sdk_bob']);
    expect(await api.getEntityWatchers(project, ids.task, 'task')).toEqual(['sdk_bob']);

    expect(await api.getActivityCategories(project)).toEqual([]);
    const s = await api.suggestEntityMention(project, ids.task, 'task');
    expect(s.users[0]).toMatchObject({ name: 'sdk_alice', relevance: 1 });
    expect(s.tasks.map((t) => t.name)).toEqual(['comp']);
    expect(s.versions.map((v) => v.name)).toEqual(['v001']);
  });

  it('attaches project files and runs activity batch operations all-or-nothing', async () => {
    const fileId = hex();
    await alice.uploadProjectFile(project, new TextEncoder().encode('attached'), { filename: 'a.txt', contentType: 'text/plain', fileId });
    const id = await alice.createActivity(project, ids.task, 'task', 'comment', { body: 'file', fileIds: [fileId] });
    const a = await api.getActivityById(project, id, { fields: ['activityId', 'files.id', 'files.name'] });
    expect(a!.files).toEqual([{ id: fileId, name: 'a.txt' }]);

    const ops = [
      { id: 'one', type: 'create', data: { entityType: 'task', entityId: ids.task, activityType: 'comment', body: 'batch' } },
      { id: 'two', type: 'delete', activityId: hex() },
    ];
    await expect(api.sendActivitiesBatchOperations(project, ops)).rejects.toBeInstanceOf(FailedOperations);
    expect((await collect(api.getActivities(project, { entityIds: [ids.task] }))).some((x) => x.body === 'batch')).toBe(false);
    const res = await api.sendActivitiesBatchOperations(project, ops, { canFail: true, raiseOnFail: false });
    expect(res.map((r) => r.success)).toEqual([true, false]);
    expect((await api.getActivityById(project, res[0].activityId!))!.body).toBe('batch');
  });
});
