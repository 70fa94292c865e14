/**
 * AyonClient's realtime and services/hosts methods against a real Atrium (in-process, every store
 * kind): `listenEvents` receives the events another client's writes cause, honours the topic and
 * project filters, closes cleanly on `close()` and on abort; services and hosts as ayon_api calls them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { AyonClient, AyonHttpError, type AyonEventMessage } from '../src/index.js';
import { startTestServer, storeKinds } from '../../server/test/helpers/server.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
const hex = () => randomBytes(3).toString('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An addon zip holding only package.py (one stored entry). */
function addonZip(packagePy: string): Uint8Array {
  const data = Buffer.from(packagePy, 'utf8');
  const name = Buffer.from('package.py');
  const crc = crc32(data) >>> 0;
  const lh = Buffer.alloc(30);
  lh.writeUInt32LE(0x04034b50, 0);
  lh.writeUInt16LE(20, 4);
  lh.writeUInt32LE(crc, 14);
  lh.writeUInt32LE(data.length, 18);
  lh.writeUInt32LE(data.length, 22);
  lh.writeUInt16LE(name.length, 26);
  const ch = Buffer.alloc(46);
  ch.writeUInt32LE(0x02014b50, 0);
  ch.writeUInt16LE(20, 4);
  ch.writeUInt16LE(20, 6);
  ch.writeUInt32LE(crc, 16);
  ch.writeUInt32LE(data.length, 20);
  ch.writeUInt32LE(data.length, 24);
  ch.writeUInt16LE(name.length, 28);
  ch.writeUInt32LE(0o100644 * 0x10000, 38);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(1, 8);
  eocd.writeUInt16LE(1, 10);
  eocd.writeUInt32LE(46 + name.length, 12);
  eocd.writeUInt32LE(30 + name.length + data.length, 16);
  return new Uint8Array(Buffer.concat([lh, name, data, ch, name, eocd]));
}

function until<T>(list: T[], pred: (x: T) => boolean, timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      const hit = list.find(pred);
      if (hit) return resolve(hit);
      if (Date.now() - started > timeoutMs) return reject(new Error('no matching event'));
      setTimeout(tick, 20);
    };
    tick();
  });
}

describe.each(storeKinds)('AyonClient realtime against Atrium on %s', (kind) => {
  let server: TestServer;
  let api: AyonClient;
  const A = `sdk_rt_a_${hex()}`;
  const B = `sdk_rt_b_${hex()}`;

  beforeAll(async () => {
    server = await startTestServer(kind);
    const u = await server.createUser({ admin: true, email: `sdk-rt-${hex()}@example.com`, password: 'sdk-rt-password' });
    api = new AyonClient({ baseUrl: `${server.url}/ayon` });
    await api.login(u.email, 'sdk-rt-password');
    for (const p of [A, B]) await api.createProject(p, p.slice(0, 10));
  });
  afterAll(() => server?.close());

  it('listenEvents receives entity events of the subscribed topics and project, then closes cleanly', async () => {
    const got: AyonEventMessage[] = [];
    const listener = await api.listenEvents({ topics: ['entity.folder'], project: A, onEvent: (e) => got.push(e) });
    await sleep(150);
    const folder = async (p: string) => (await api.request('POST', `projects/${p}/folders`, { json: { name: `f_${hex()}`, folderType: 'Asset' } })).data.id as string;
    const inB = await folder(B);
    const inA = await folder(A);
    const ev = await until(got, (e) => e.summary?.entityId === inA);
    expect(ev).toMatchObject({ topic: 'entity.folder.created', project: A, status: 'finished' });
    await api.updateEntity(A, 'folder', inA, { label: 'Renamed' });
    await until(got, (e) => e.topic.startsWith('entity.folder.') && e.topic !== 'entity.folder.created' && e.summary?.entityId === inA);
    expect(got.some((e) => e.summary?.entityId === inB)).toBe(false);
    expect(got.every((e) => e.topic.startsWith('entity.folder'))).toBe(true);
    expect(await listener.close()).toBe(1000);
  });

  it('an aborted signal closes the socket; a service key listens too', async () => {
    const key = randomBytes(16).toString('hex');
    await api.createUser(`sdk_rt_svc_${hex()}`, { apiKey: key, data: { isService: true } });
    const svc = new AyonClient({ baseUrl: `${server.url}/ayon`, token: key });
    expect(await svc.hasValidToken()).toBe(true);
    const ctl = new AbortController();
    const got: AyonEventMessage[] = [];
    const listener = await svc.listenEvents({ topics: ['entity.project'], onEvent: (e) => got.push(e), signal: ctl.signal });
    await sleep(150);
    const p = `sdk_rt_c_${hex()}`;
    await api.createProject(p, p.slice(0, 10));
    await until(got, (e) => e.topic === 'entity.project.created' && e.project === p);
    ctl.abort();
    expect(await listener.closed).toBe(1000);
  });

  it('services and hosts: heartbeat, spawn, update, list, delete', async () => {
    const key = randomBytes(16).toString('hex');
    await api.createUser(`sdk_ash_${hex()}`, { apiKey: key, data: { isService: true } });
    const ash = new AyonClient({ baseUrl: `${server.url}/ayon`, token: key });
    await api.uploadAddonZip(addonZip('name = "ftrack"\nversion = "1.0.0"\nservices = {"processor": {"image": "ynput/ftrack-processor:1.0.0"}}\n'));
    expect(await ash.sendHostHeartbeat('sdk-host', { cpu: 3, mem: 4 })).toEqual([]);
    expect((await api.getHosts()).find((h) => h.name === 'sdk-host')).toMatchObject({ health: { cpu: 3, mem: 4 } });
    await api.spawnService('sdk-svc', 'ftrack', '1.0.0', 'processor', 'sdk-host', { env: { K: 'v' } });
    await api.updateService('sdk-svc', { config: { memLimit: '2g' } });
    const running = await ash.sendHostHeartbeat('sdk-host', {}, ['sdk-svc']);
    expect(running.map((s) => s.name)).toEqual(['sdk-svc']);
    const svc = (await api.getServices()).find((s) => s.name === 'sdk-svc')!;
    expect(svc).toMatchObject({ addonName: 'ftrack', addonVersion: '1.0.0', service: 'processor', shouldRun: true, isRunning: true, data: { env: { K: 'v' }, memLimit: '2g', image: 'ynput/ftrack-processor:1.0.0' } });
    await api.updateService('sdk-svc', { shouldRun: false });
    expect(await ash.sendHostHeartbeat('sdk-host')).toEqual([]);
    await expect(api.updateService('sdk-svc', { error: 'boom' })).rejects.toThrow(/1\.16\.7/);
    await api.deleteService('sdk-svc');
    expect((await api.getServices()).some((s) => s.name === 'sdk-svc')).toBe(false);
    await expect(api.spawnService('x', 'ftrack', '1.0.0', 'processor', 'no-such-host')).rejects.toBeInstanceOf(AyonHttpError);
    await expect(api.spawnService('x', 'ftrack', '1.0.0', 'leecher', 'sdk-host')).rejects.toMatchObject({ status: 404, detail: 'This addon does not have this service' });
  });
});
