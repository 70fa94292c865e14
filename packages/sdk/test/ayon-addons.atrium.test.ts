/**
 * AyonClient's addon, bundle and settings methods against a real Atrium (in-process, on every store
 * kind): a zip uploaded from a file, listed, its private file downloaded byte for byte; bundles
 * created, checked, patched, deleted; settings set and read back per variant, project and site;
 * off-schema settings refused; a plain user refused on writes; project bundles set, used and unset.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { AyonClient, AyonHttpError } from '../src/index.js';
import { startTestServer, storeKinds } from '../../server/test/helpers/server.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;

/** A zip of deflated entries (enough for an addon package). */
function zip(files: Record<string, Buffer | string>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [n, d] of Object.entries(files)) {
    const data = Buffer.isBuffer(d) ? d : Buffer.from(d);
    const comp = deflateRawSync(data);
    const name = Buffer.from(n);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(8, 8);
    lh.writeUInt32LE(crc32(data) >>> 0, 14);
    lh.writeUInt32LE(comp.length, 18);
    lh.writeUInt32LE(data.length, 22);
    lh.writeUInt16LE(name.length, 26);
    locals.push(lh, name, comp);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(8, 10);
    ch.writeUInt32LE(crc32(data) >>> 0, 16);
    ch.writeUInt32LE(comp.length, 20);
    ch.writeUInt32LE(data.length, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(offset, 42);
    centrals.push(ch, name);
    offset += 30 + name.length + comp.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

const SCHEMA = {
  type: 'object',
  properties: {
    threads: { type: 'integer', minimum: 1, default: 4 },
    output: { type: 'object', properties: { format: { type: 'string', enum: ['exr', 'png'], default: 'exr' } } },
  },
};

describe.each(storeKinds)('AyonClient addon methods against Atrium on %s', (kind) => {
  let server: TestServer;
  let api: AyonClient;
  let artist: AyonClient;
  let tmp: string;
  const A = `sdk_${randomBytes(3).toString('hex')}`;
  const P = `sdkp_${randomBytes(3).toString('hex')}`;
  const CLIENT = randomBytes(100_000);

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
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sdk-addons-'));
    const u = await server.createUser({ admin: true, email: `sdk-add-${randomBytes(2).toString('hex')}@example.com`, password: 'sdk-admin-password' });
    api = new AyonClient({ baseUrl: `${server.url}/ayon` });
    await api.login(u.email, 'sdk-admin-password');
    await api.createProject(P, P);
    await api.createUser('sdk_add_artist', { password: 'sdk-artist-password' });
    artist = new AyonClient({ baseUrl: `${server.url}/ayon` });
    await artist.login('sdk_add_artist', 'sdk-artist-password');
  });
  afterAll(async () => {
    await server?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('uploads an addon zip from a file, lists it and downloads its private file', async () => {
    const src = path.join(tmp, 'addon.zip');
    fs.writeFileSync(
      src,
      zip({
        'package.py': `name = "${A}"\ntitle = "SDK addon"\nversion = "1.2.3"\n`,
        'settings/schema.json': JSON.stringify(SCHEMA),
        'private/client.zip': CLIENT,
      }),
    );
    const { eventId } = await api.uploadAddonZip(src);
    expect(eventId).toMatch(/^[0-9a-f]{32}$/);
    const info = await api.getAddonsInfo();
    const item = info.addons.find((a) => a.name === A)!;
    expect(item.title).toBe('SDK addon');
    expect(item.versions['1.2.3'].hasSettings).toBe(true);
    const dst = await api.downloadAddonPrivateFile(A, '1.2.3', 'client.zip', tmp, 'got.zip');
    expect(fs.readFileSync(dst).equals(CLIENT)).toBe(true);
    expect(api.getAddonUrl(A, '1.2.3', ['private', 'client.zip'])).toBe(`${server.url}/ayon/addons/${A}/1.2.3/private/client.zip`);
    expect(await status(api.uploadAddonZip(new Uint8Array(Buffer.from('not a zip at all'))))).toBe(400);
    expect(await status(artist.uploadAddonZip(src))).toBe(403);
  });

  it('bundles: create, check, list, update, delete', async () => {
    await api.createBundle(`prod_${A}`, { [A]: '1.2.3' }, '1.0.0', { isProduction: true });
    expect(await api.checkBundleCompatibility('x', { [A]: '1.2.3' }, '1.0.0')).toEqual({ success: true, issues: [] });
    expect((await api.checkBundleCompatibility('x', { [A]: '0.0.1' }, '1.0.0')).success).toBe(false);
    await api.createBundle(`dev_${A}`, { [A]: '1.2.3' }, '1.0.0', { isDev: true });
    const b = await api.getBundles();
    expect(b.productionBundle).toBe(`prod_${A}`);
    expect(b.devBundles).toContain(`dev_${A}`);
    await api.updateBundle(`prod_${A}`, { dependencyPackages: { linux: 'deps.zip' } });
    expect((await api.getBundles()).bundles.find((x: any) => x.name === `prod_${A}`).dependencyPackages).toEqual({ linux: 'deps.zip' });
    expect(await status(artist.createBundle('nope', {}, null))).toBe(403);
  });

  it('settings: studio per variant, project, project-site and bulk readers', async () => {
    expect(await api.getAddonStudioSettings(A, '1.2.3')).toEqual({ threads: 4, output: { format: 'exr' } });
    await api.setAddonStudioSettings(A, '1.2.3', { threads: 12 });
    await api.setAddonStudioSettings(A, '1.2.3', { threads: 2 }, `dev_${A}`);
    expect(await api.getAddonStudioRawOverrides(A, '1.2.3')).toEqual({ threads: 12 });
    await api.setAddonProjectSettings(A, '1.2.3', P, { threads: 12, output: { format: 'png' } });
    expect(await api.getAddonSettings(A, '1.2.3', { projectName: P })).toEqual({ threads: 12, output: { format: 'png' } });
    await api.setAddonProjectSettings(A, '1.2.3', P, { threads: 1, output: { format: 'png' } }, undefined, 'site-x');
    api.setSiteId('site-x');
    expect((await api.getAddonProjectSettings(A, '1.2.3', P)).threads).toBe(1);
    expect((await api.getAddonProjectSettings(A, '1.2.3', P, { useSite: false })).threads).toBe(12);
    api.setSiteId(null);
    expect((await api.getAddonsSettings())[A]).toEqual({ threads: 12, output: { format: 'exr' } });
    expect((await api.getAddonsSettings({ variant: `dev_${A}` }))[A].threads).toBe(2);
    expect((await api.getAddonsProjectSettings(P))[A].output.format).toBe('png');
    const full = await api.getBundleSettings({ projectName: P });
    expect(full.bundleName).toBe(`prod_${A}`);
    expect(full.addons.find((a: any) => a.name === A).settings.output.format).toBe('png');
    const ovr = await api.getAddonProjectOverrides(A, '1.2.3', P);
    expect(ovr.root_output_format).toMatchObject({ level: 'project', value: 'png' });
    await api.modifyAddonProjectOverrides(A, '1.2.3', P, 'delete', ['output', 'format']);
    expect((await api.getAddonProjectSettings(A, '1.2.3', P)).output.format).toBe('exr');
    await api.deleteAddonStudioOverrides(A, '1.2.3');
    expect((await api.getAddonStudioSettings(A, '1.2.3')).threads).toBe(4);
  });

  it('off-schema settings and writes by a plain user are refused', async () => {
    expect(await status(api.setAddonStudioSettings(A, '1.2.3', { threads: 0 }))).toBe(400);
    expect(await status(api.setAddonStudioSettings(A, '1.2.3', { output: { format: 'gif' } }))).toBe(400);
    expect(await status(artist.setAddonStudioSettings(A, '1.2.3', { threads: 3 }))).toBe(403);
    expect((await api.getAddonStudioSettings(A, '1.2.3')).threads).toBe(4);
  });

  it('project bundles: set, read, used by the bulk settings, unset; plain users refused', async () => {
    const B = `sdkpb_${randomBytes(3).toString('hex')}`;
    const src = path.join(tmp, 'pb.zip');
    for (const v of ['1.0.0', '2.0.0']) {
      fs.writeFileSync(src, zip({ 'package.py': `name = "${B}"\nversion = "${v}"\nproject_can_override_addon_version = True\n`, 'settings/schema.json': JSON.stringify(SCHEMA) }));
      await api.uploadAddonZip(src);
    }
    await api.updateBundle(`prod_${A}`, { addonVersions: { [B]: '1.0.0' } });
    expect((await api.getProjectBundle(P)).addons[B]).toBe('1.0.0');
    expect(await status(artist.setProjectBundle(P, { [B]: '2.0.0' }))).toBe(403);
    expect(await status(api.setProjectBundle(P, { [B]: '3.0.0' }))).toBe(404);
    await api.setProjectBundle(P, { [B]: '2.0.0' }, '1.1.0');
    const info = await api.getProjectBundle(P, 'production');
    expect(info).toMatchObject({ addons: { [B]: '2.0.0' }, installerVersion: '1.1.0' });
    const bulk = await api.getBundleSettings({ projectName: P });
    expect(bulk.bundleName).toBe(`__project__${P}__production`);
    expect(bulk.addons.find((a: any) => a.name === B)).toMatchObject({ version: '2.0.0', isProjectBundle: true });
    expect(bulk.inheritedAddons).toContain(A);
    expect((await api.getBundleSettings({ projectBundleName: `__project__${P}__production` })).projectName).toBe(P);
    expect((await api.getBundleSettings()).addons.find((a: any) => a.name === B).version).toBe('1.0.0');
    await api.unsetProjectBundle(P);
    expect((await api.getBundleSettings({ projectName: P })).addons.find((a: any) => a.name === B).version).toBe('1.0.0');
    expect((await api.getProjectBundle(P)).addons[B]).toBe('1.0.0');
    await api.updateBundle(`prod_${A}`, { addonVersions: { [B]: null } });
    await api.deleteAddon(B, true);
  });

  it('deletes bundles, an addon version and the addon', async () => {
    await api.deleteBundle(`dev_${A}`);
    expect((await api.getBundles()).devBundles).not.toContain(`dev_${A}`);
    await api.deleteAddonVersion(A, '1.2.3', true);
    expect((await api.getAddonsInfo()).addons.find((a) => a.name === A)).toBeUndefined();
    expect(await status(api.deleteAddon(A))).toBe(404);
  });
});
