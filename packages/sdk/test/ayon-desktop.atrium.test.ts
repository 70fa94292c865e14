/**
 * AyonClient's secrets, installers, dependency packages and actions against a real Atrium
 * (in-process, on every store kind): uploads and downloads compared byte for byte and by their
 * md5/sha256, a wrong checksum refused, permissions of a plain user, action configs and tokens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AyonClient, AyonHttpError, fileChecksum } from '../src/index.js';
import { startTestServer, storeKinds } from '../../server/test/helpers/server.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;

describe.each(storeKinds)('AyonClient desktop methods against Atrium on %s', (kind) => {
  let server: TestServer;
  let api: AyonClient;
  let artist: AyonClient;
  let tmp: string;

  const status = async (p: Promise<unknown>) => {
    try {
      await p;
      return 0;
    } catch (e) {
      if (e instanceof AyonHttpError) return e.status;
      throw e;
    }
  };

  beforeAll(async () => {
    server = await startTestServer(kind);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sdk-desktop-'));
    const u = await server.createUser({ admin: true, email: `sdk-desk-${randomBytes(2).toString('hex')}@example.com`, password: 'sdk-admin-password' });
    api = new AyonClient({ baseUrl: `${server.url}/ayon` });
    await api.login(u.email, 'sdk-admin-password');
    await api.createUser('sdk_desk_artist', { password: 'sdk-artist-password' });
    artist = new AyonClient({ baseUrl: `${server.url}/ayon` });
    await artist.login('sdk_desk_artist', 'sdk-artist-password');
  });
  afterAll(async () => {
    await server?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('secrets: save, get, list, delete; a plain user is refused', async () => {
    await api.saveSecret('sdk_secret', 'value-1');
    expect(await api.getSecret('sdk_secret')).toEqual({ name: 'sdk_secret', value: 'value-1' });
    expect(await api.getSecrets()).toContainEqual({ name: 'sdk_secret', value: 'value-1' });
    expect(await status(artist.getSecret('sdk_secret'))).toBe(403);
    expect(await status(artist.getSecrets())).toBe(403);
    await api.deleteSecret('sdk_secret');
    expect(await status(api.getSecret('sdk_secret'))).toBe(404);
  });

  it('installers: create → upload from a file → list → download to a file, checksums equal → update sources → delete', async () => {
    const data = randomBytes(250_000);
    const src = path.join(tmp, 'installer.bin');
    fs.writeFileSync(src, data);
    const filename = `AYON-sdk-${randomBytes(3).toString('hex')}.exe`;
    await api.createInstaller({
      filename,
      version: '2.0.1',
      pythonVersion: '3.11.9',
      platformName: 'windows',
      pythonModules: { requests: '2.31.0' },
      runtimePythonModules: {},
      checksum: fileChecksum(data, 'sha256'),
      checksumAlgorithm: 'sha256',
      fileSize: data.length,
    });
    expect(await status(artist.uploadInstaller(src, filename))).toBe(403);
    await api.uploadInstaller(src, filename);
    const { installers } = await api.getInstallers('2.0.1', 'windows');
    expect(installers.map((i) => i.filename)).toEqual([filename]);
    expect(installers[0].sources).toEqual([{ type: 'server' }]);
    const dst = path.join(tmp, 'down', 'installer.exe');
    const got = await artist.downloadInstaller(filename, dst);
    expect(Buffer.from(got).equals(data)).toBe(true);
    expect(fileChecksum(fs.readFileSync(dst), 'sha256')).toBe(installers[0].checksum);
    expect(fileChecksum(got, 'md5')).toBe(fileChecksum(data, 'md5'));
    await api.updateInstaller(filename, [{ type: 'http', url: 'https://example.com/i.exe' }]);
    expect((await api.getInstallers('2.0.1')).installers[0].sources).toEqual([{ type: 'server' }, { type: 'http', url: 'https://example.com/i.exe' }]);
    await api.deleteInstaller(filename);
    expect((await api.getInstallers('2.0.1')).installers).toEqual([]);
  });

  it('dependency packages: a wrong checksum is refused (400) and nothing is downloadable; the right bytes go through', async () => {
    const data = randomBytes(40_000);
    const filename = `dep-sdk-${randomBytes(3).toString('hex')}.zip`;
    await api.createDependencyPackage({
      filename,
      pythonModules: { numpy: '1.26.4' },
      sourceAddons: { core: '1.0.0' },
      installerVersion: '2.0.1',
      checksum: fileChecksum(data, 'md5'),
      checksumAlgorithm: 'md5',
      fileSize: data.length,
      platformName: 'linux',
    });
    expect(await status(api.uploadDependencyPackage(randomBytes(40_000), filename))).toBe(400);
    expect(await status(api.downloadDependencyPackage(filename))).toBe(404);
    await api.uploadDependencyPackage(data, filename);
    const pkg = (await api.getDependencyPackages()).packages.find((p) => p.filename === filename)!;
    expect(pkg).toMatchObject({ installerVersion: '2.0.1', sourceAddons: { core: '1.0.0' }, platform: 'linux', size: data.length });
    const got = await api.downloadDependencyPackage(filename, tmp, 'dep.zip');
    expect(fileChecksum(got, 'md5')).toBe(pkg.checksum);
    expect(fs.readFileSync(path.join(tmp, 'dep.zip')).equals(data)).toBe(true);
    await api.updateDependencyPackage(filename, []);
    await api.deleteDependencyPackage(filename);
    expect(await status(api.deleteDependencyPackage(filename))).toBe(404);
  });

  it('actions: empty list, execute answers success=false, configs round trip, unknown tokens 404', async () => {
    expect(await api.getActions({ projectName: 'p', entityType: 'folder', entityIds: ['x'], mode: 'all' })).toEqual([]);
    const res = await api.triggerAction('launch', 'applications', '1.0.0', { projectName: 'p' });
    expect(res).toMatchObject({ type: 'simple', success: false });
    expect(await api.getActionConfig('launch', 'applications', '1.0.0', { projectName: 'p' })).toEqual({});
    expect(await api.setActionConfig('launch', 'applications', '1.0.0', { app: 'maya/2025' }, { projectName: 'p' })).toEqual({ app: 'maya/2025' });
    expect(await api.getActionConfig('launch', 'applications', '1.0.0', { projectName: 'p' })).toEqual({ app: 'maya/2025' });
    expect(await artist.getActionConfig('launch', 'applications', '1.0.0', { projectName: 'p' })).toEqual({});
    const token = randomBytes(32).toString('hex');
    expect(await status(api.takeAction(token))).toBe(404);
    expect(await status(api.abortAction(token))).toBe(404);
  });
});
