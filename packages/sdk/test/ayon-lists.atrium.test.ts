/**
 * AyonClient's entity-list methods against a real Atrium (in-process, on every store kind): lists of
 * versions created, read through GraphQL (paged, with items) and REST, patched and deleted; items
 * added, moved, merged, replaced and deleted; attribute definitions; list folders; a second user's
 * list access levels; errors as AyonHttpError with AYON's statuses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { AyonClient, AyonHttpError, OperationsSession } from '../src/index.js';
import { startTestServer, storeKinds } from '../../server/test/helpers/server.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;

async function collect<T>(gen: AsyncGenerator<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of gen) out.push(x);
  return out;
}

describe.each(storeKinds)('AyonClient entity lists against Atrium on %s', (kind) => {
  let server: TestServer;
  let api: AyonClient;
  const project = `sdkl_${randomBytes(3).toString('hex')}`;
  const versions: string[] = [];

  beforeAll(async () => {
    server = await startTestServer(kind);
    const u = await server.createUser({ admin: true, email: `sdkl-${randomBytes(2).toString('hex')}@example.com`, password: 'sdk-admin-password' });
    api = new AyonClient({ baseUrl: `${server.url}/ayon` });
    await api.login(u.email, u.password);
    await api.createProject(project, project);
    const s = new OperationsSession(api);
    const folder = s.createFolder(project, 'shot', { folderType: 'Shot' });
    const product = s.createProduct(project, 'renderMain', 'render', folder.id);
    for (let i = 1; i <= 5; i++) versions.push(s.createVersion(project, i, product.id).id);
    await s.commit();
  });
  afterAll(() => server?.close());

  const itemsOf = async (id: string) => ((await api.getEntityListById(project, id, ['id', 'items']))!.items as Array<Record<string, any>>).sort((a, b) => a.position - b.position).map((i) => i.entityId);

  it('creates a list with items and reads it through GraphQL (default fields, attrib defaults) and REST', async () => {
    const id = await api.createEntityList(project, 'version', 'SDK dailies', { listType: 'review-session', tags: ['sdk'], data: { a: 1 }, items: versions.slice(0, 2).map((entityId) => ({ entityId })) });
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    const l = (await api.getEntityListById(project, id))!;
    expect(l).toMatchObject({ id, label: 'SDK dailies', entityType: 'version', entityListType: 'review-session', count: 2, tags: ['sdk'], data: { a: 1, count: 2 }, attributes: [], active: true });
    expect(l.attrib).toHaveProperty('entityListCategory');
    const rest = await api.getEntityListRest(project, id);
    expect(rest.items.map((i: any) => i.entityId)).toEqual(versions.slice(0, 2));
    expect(await api.getEntityListEntities(project, id)).toMatchObject({ entityType: 'version' });
    expect(await collect(api.getEntityLists(project, { listIds: [] }))).toEqual([]);
  });

  it('adds, moves, orders, merges, replaces and deletes items', async () => {
    const id = await api.createEntityList(project, 'version', 'SDK ops');
    const a = await api.createEntityListItem(project, id, versions[0]);
    const b = await api.createEntityListItem(project, id, versions[1], { label: 'b' });
    const c = await api.createEntityListItem(project, id, versions[2], { position: 0 });
    expect(await itemsOf(id)).toEqual([versions[2], versions[0], versions[1]]);
    await api.updateEntityListItem(project, id, c, { position: 2, data: { moved: true } });
    expect(await itemsOf(id)).toEqual([versions[0], versions[1], versions[2]]);
    await api.setEntityListItemsOrder(project, id, [b, c, a]);
    expect(await itemsOf(id)).toEqual([versions[1], versions[2], versions[0]]);
    await api.updateEntityListItems(project, id, [{ entityId: versions[3] }], 'merge');
    expect(await itemsOf(id)).toEqual([versions[1], versions[2], versions[0], versions[3]]);
    await api.updateEntityListItems(project, id, [{ id: b }], 'delete');
    await api.deleteEntityListItem(project, id, a);
    expect(await itemsOf(id)).toEqual([versions[2], versions[3]]);
    await api.updateEntityListItems(project, id, [{ entityId: versions[4] }], 'replace');
    expect(await itemsOf(id)).toEqual([versions[4]]);
    await expect(api.createEntityListItem(project, id, randomBytes(16).toString('hex'))).rejects.toMatchObject({ status: 404 });
    await expect(api.updateEntityListItems(project, id, [{ entityId: versions[0] }], 'shuffle' as never)).rejects.toBeInstanceOf(AyonHttpError);
  });

  it('attribute definitions and item attributes; list patch and delete', async () => {
    const id = await api.createEntityList(project, 'version', 'SDK attrs', { data: { keep: 1, drop: 2 } });
    await api.setEntityListAttributeDefinitions(project, id, [{ name: 'rating', data: { type: 'integer', title: 'Rating' } }]);
    expect((await api.getEntityListAttributeDefinitions(project, id)).map((d) => d.name)).toEqual(['rating']);
    await expect(api.setEntityListAttributeDefinitions(project, id, [{ name: 'fps', data: { type: 'float' } }])).rejects.toMatchObject({ status: 400 });
    const item = await api.createEntityListItem(project, id, versions[0], { attrib: { rating: 4 } });
    await expect(api.updateEntityListItem(project, id, item, { attrib: { rating: 'great' } })).rejects.toMatchObject({ status: 400 });
    const l = (await api.getEntityListById(project, id, ['id', 'items.allAttrib', 'items.ownAttrib']))!;
    expect(JSON.parse(l.items[0].allAttrib).rating).toBe(4);
    expect(l.items[0].ownAttrib).toEqual(['rating']);

    await api.updateEntityList(project, id, { label: 'SDK attrs 2', data: { drop: null }, active: false });
    const rest = await api.getEntityListRest(project, id);
    expect(rest).toMatchObject({ label: 'SDK attrs 2', active: false, data: { keep: 1, count: 1 } });
    expect(rest.data).not.toHaveProperty('drop');
    expect(await collect(api.getEntityLists(project, { listIds: [id], active: true }))).toEqual([]);
    await expect(api.materializeEntityList(project, id)).rejects.toMatchObject({ status: 501 });
    await api.deleteEntityList(project, id);
    expect(await api.getEntityListById(project, id)).toBeNull();
    await expect(api.getEntityListRest(project, id)).rejects.toMatchObject({ status: 404 });
  });

  it('pages many lists and items', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await api.createEntityList(project, 'version', `SDK page ${i}`, { items: versions.map((entityId) => ({ entityId })) }));
    const got = await collect(api.getEntityLists(project, { listIds: ids, fields: ['id', 'label', 'items'] }));
    expect(got.map((l) => l.id).sort()).toEqual([...ids].sort());
    for (const l of got) expect(l.items.map((i: any) => i.entityId)).toEqual(versions);
  });

  it('list folders', async () => {
    const top = await api.createEntityListFolder(project, 'SDK top', { color: '#112233' });
    const sub = await api.createEntityListFolder(project, 'SDK sub', { parentId: top, scope: ['generic'] });
    const folders = await api.getEntityListFolders(project);
    expect(folders.find((f) => f.id === sub)).toMatchObject({ parentId: top, data: { scope: ['generic'] } });
    await api.updateEntityListFolder(project, sub, { label: 'SDK sub 2', parentId: null });
    await api.setEntityListFoldersOrder(project, [sub, top]);
    const again = await api.getEntityListFolders(project);
    expect(again.find((f) => f.id === sub)).toMatchObject({ label: 'SDK sub 2', parentId: null, position: 0 });
    const listId = await api.createEntityList(project, 'version', 'SDK filed', { entityListFolderId: sub });
    await api.deleteEntityListFolder(project, sub);
    expect((await api.getEntityListRest(project, listId)).entityListFolderId).toBeNull();
  });

  it("a second user: no project access is 403; list levels limit what they may do", async () => {
    await api.createUser('sdkl_artist', { password: 'sdkl-artist-password' });
    const artist = new AyonClient({ baseUrl: `${server.url}/ayon` });
    await artist.login('sdkl_artist', 'sdkl-artist-password');
    const id = await api.createEntityList(project, 'version', 'SDK guarded', { items: [{ entityId: versions[0] }] });
    await expect(artist.getEntityListRest(project, id)).rejects.toMatchObject({ status: 403 });
    await api.setUserAccessGroups('sdkl_artist', { [project]: ['artist'] });
    await api.updateEntityList(project, id, { access: { sdkl_artist: 10 } });
    const again = new AyonClient({ baseUrl: `${server.url}/ayon` });
    await again.login('sdkl_artist', 'sdkl-artist-password');
    expect((await again.getEntityListRest(project, id)).accessLevel).toBe(10);
    await expect(again.createEntityListItem(project, id, versions[1])).rejects.toMatchObject({ status: 403 });
    await api.updateEntityList(project, id, { access: { sdkl_artist: 20 } });
    await again.createEntityListItem(project, id, versions[1]);
    await expect(again.deleteEntityList(project, id)).rejects.toMatchObject({ status: 403 });
  });
});
