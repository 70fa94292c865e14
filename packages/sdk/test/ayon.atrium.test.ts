/**
 * AyonClient against a real Atrium (in-process, on every store kind): the connection probes, login
 * and API keys, projects from the default anatomy, publishing through OperationsSession, every
 * reader, inheritance, links, thumbnails and files — the same answers ayon-python-api gets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { AyonClient, AyonHttpError, AyonAuthenticationError, FailedOperations, OperationsSession } from '../src/index.js';
import { startTestServer, storeKinds } from '../../server/test/helpers/server.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' + '1f15c4890000000d4944415478da63fcffff3f0300050601025ea3fa710000000049454e44ae426082',
  'hex',
);

async function collect<T>(gen: AsyncGenerator<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of gen) out.push(x);
  return out;
}

describe.each(storeKinds)('AyonClient against Atrium on %s', (kind) => {
  let server: TestServer;
  let api: AyonClient;
  let admin: { email: string; password: string };
  const project = `sdk_${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    server = await startTestServer(kind);
    const u = await server.createUser({ admin: true, email: `sdk-admin-${randomBytes(2).toString('hex')}@example.com`, password: 'sdk-admin-password' });
    admin = { email: u.email, password: u.password };
    api = new AyonClient({ baseUrl: `${server.url}/ayon` });
    await api.login(admin.email, admin.password);
  });
  afterAll(() => server?.close());

  it('connects: server available, version tuple, login session, Bearer probe', async () => {
    expect(await api.isServerAvailable()).toBe(true);
    const v = await api.getServerVersionTuple();
    expect([v.major, v.minor]).toEqual([1, 16]);
    expect(v.build).toBe('atrium');
    expect(api.accessToken).toMatch(/^[0-9a-f]{64}$/);
    const again = new AyonClient({ baseUrl: `${server.url}/ayon`, token: api.accessToken! });
    expect(await again.hasValidToken()).toBe(true);
    expect(again.isServiceUser()).toBe(false);
    expect((await again.getUser())!.data.isAdmin).toBe(true);
    await expect(new AyonClient({ baseUrl: `${server.url}/ayon` }).login(admin.email, 'wrong-password')).rejects.toBeInstanceOf(AyonAuthenticationError);
  });

  it('service users connect with an API key and act as other users', async () => {
    const key = randomBytes(16).toString('hex');
    await api.createUser('sdk_service', { apiKey: key, data: { isService: true } });
    await api.createUser('sdk_artist', { password: 'sdk-artist-password' });
    const svc = new AyonClient({ baseUrl: `${server.url}/ayon`, token: key });
    expect(await svc.hasValidToken()).toBe(true);
    expect(svc.isServiceUser()).toBe(true);
    expect((await svc.getUser())!.name).toBe('sdk_service');
    expect(await svc.asUsername('sdk_artist', async () => (await svc.getUser())!.name)).toBe('sdk_artist');
    const users = await collect(api.getUsers({ usernames: ['sdk_artist'] }));
    expect(users.map((u) => u.name)).toEqual(['sdk_artist']);
  });

  it('creates a project from the default anatomy and reads it back', async () => {
    const p = await api.createProject(project, project.slice(0, 8));
    expect(p.folderTypes.map((t: { name: string }) => t.name)).toContain('Shot');
    expect(p.attrib.fps).toBe(25);
    expect(await api.getProjectNames()).toContain(project);
    await api.updateProject(project, { attrib: { fps: 24 } });
    expect((await api.getProject(project))!.attrib.fps).toBe(24);
    expect(await api.getProjectRootsByPlatform(project, 'linux')).toEqual({ work: '/mnt/share/projects' });
    await expect(api.createProject('bad name', 'bn')).rejects.toThrow(/invalid characters/);
  });

  it('publishes through OperationsSession and reads everything back', async () => {
    const s = new OperationsSession(api);
    const seq = s.createFolder(project, 'sq010', { folderType: 'Sequence', attrib: { fps: 30 } });
    const shot = s.createFolder(project, 'sh010', { folderType: 'Shot', parentId: seq.id });
    const task = s.createTask(project, 'comp', 'Compositing', shot.id);
    const product = s.createProduct(project, 'renderMain', 'render', shot.id);
    const v1 = s.createVersion(project, 1, product.id, { taskId: task.id });
    const v2 = s.createVersion(project, 2, product.id, { taskId: task.id });
    const hero = s.createVersion(project, -2, product.id);
    const repre = s.createRepresentation(project, 'exr', v2.id, { files: [{ path: '/r/a.exr', size: 42 }], data: { context: { ext: 'exr' } } });
    s.createWorkfileEntity(project, '/work/sh010/comp_v001.nk', task.id);
    expect(s.length).toBe(9);
    await s.commit();

    const folders = await collect(api.getFolders(project, { ownAttributes: true }));
    const byName = Object.fromEntries(folders.map((f) => [f.name, f]));
    expect(byName.sh010.path).toBe('/sq010/sh010');
    expect(byName.sh010.attrib.fps).toBe(30);
    expect(byName.sh010.ownAttributes.fps).toBeNull();
    expect(byName.sq010.ownAttributes.fps).toBe(30);
    expect((await api.getFolderByPath(project, '/sq010/sh010'))!.id).toBe(shot.id);
    expect((await api.getTaskByName(project, shot.id, 'comp'))!.taskType).toBe('Compositing');
    expect((await api.getProductByName(project, 'renderMain', shot.id))!.productType).toBe('render');
    expect((await collect(api.getVersions(project, { productIds: [product.id] }))).map((v) => v.version).sort()).toEqual([-2, 1, 2]);
    expect((await api.getLastVersionByProductId(project, product.id))!.id).toBe(v2.id);
    expect((await api.getHeroVersionByProductId(project, product.id))!.id).toBe(hero.id);
    expect(await api.versionIsLatest(project, v2.id)).toBe(true);
    expect(await api.versionIsLatest(project, v1.id)).toBe(false);
    const r = (await api.getRepresentationById(project, repre.id))!;
    expect(r.files[0].size).toBe(42);
    expect(r.context.ext).toBe('exr');
    const parents = (await api.getRepresentationParents(project, repre.id))!;
    expect([parents.version.id, parents.product.id, parents.folder.id]).toEqual([v2.id, product.id, shot.id]);
    expect(await api.getRepreIdsByContextFilters(project, { ext: ['^exr$'] })).toEqual([repre.id]);
    expect((await collect(api.getWorkfileEntities(project, { taskIds: [task.id] })))[0].path).toBe('/work/sh010/comp_v001.nk');
    expect((await api.getRestEntityById(project, 'task', task.id))!.path).toBe('/sq010/sh010/comp');
  });

  it('REST writes, failed batches and bad input answer as AYON does', async () => {
    const id = await api.createFolder(project, 'rest_folder', { folderType: 'Folder' });
    await api.updateFolder(project, id, { label: 'Rest folder', attrib: { frameStart: 1 } });
    expect((await api.getFolderById(project, id))!.label).toBe('Rest folder');
    const err = await api.createFolder(project, 'bad name!', { folderType: 'Folder' }).catch((e) => e);
    expect(err).toBeInstanceOf(AyonHttpError);
    expect(err.status).toBe(400);
    const dup = await api.createFolder(project, 'REST_FOLDER', { folderType: 'Folder' }).catch((e) => e);
    expect(dup.status).toBe(409);
    const batch = [
      { type: 'create', entityType: 'folder', data: { name: 'kept_not', folderType: 'Folder' } },
      { type: 'create', entityType: 'folder', data: { name: 'no good', folderType: 'Folder' } },
    ];
    await expect(api.sendBatchOperations(project, batch)).rejects.toBeInstanceOf(FailedOperations);
    expect(await api.getFolderByName(project, 'kept_not')).toBeNull();
    const results = await api.sendBatchOperations(project, batch, { raiseOnFail: false });
    expect(results.map((o) => o.success)).toEqual([true, false]);
    await api.deleteFolder(project, id);
    expect(await api.getFolderById(project, id)).toBeNull();
  });

  it('links, thumbnails and files', async () => {
    const a = await api.createFolder(project, 'link_a', { folderType: 'Asset' });
    const b = await api.createFolder(project, 'link_b', { folderType: 'Asset' });
    await api.makeSureLinkTypeExists(project, 'uses', 'folder', 'folder');
    const link = await api.createLink(project, 'uses', a, 'folder', b, 'folder');
    const links = await api.getEntitiesLinks(project, 'folder', [b], { linkDirection: 'in' });
    expect(links[b][0]).toMatchObject({ id: link.id, entityId: a, direction: 'in', linkType: 'uses' });
    await api.deleteLink(project, link.id);

    const tid = await api.createThumbnail(project, PNG, 'image/png');
    await api.updateFolder(project, a, { thumbnailId: tid });
    const thumb = await api.getFolderThumbnail(project, a);
    expect(thumb.isValid).toBe(true);
    expect(Buffer.from(thumb.content!).equals(PNG)).toBe(true);
    expect((await api.getFolderThumbnail(project, b)).isValid).toBe(false);

    const data = randomBytes(50_000);
    const { id } = await api.uploadProjectFile(project, data, { filename: 'data.bin' });
    expect(Buffer.from(await api.downloadProjectFile(project, id)).equals(data)).toBe(true);
    expect((await api.getProjectFileInfo(project, id)).size).toBe(50_000);
    await api.deleteProjectFile(project, id);
  });

  it('deletes the project', async () => {
    await api.deleteProject(project);
    expect(await api.getProject(project)).toBeNull();
  });
});
