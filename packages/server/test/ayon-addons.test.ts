/**
 * AYON addons, bundles and settings over real HTTP on every store kind: zip install (checks before
 * anything is stored), listing, private/public files, deletion, bundles and their rules, settings
 * resolution (defaults → studio variant → project → project-site), schema validation, events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { crc32, deflateRawSync } from 'node:zlib';
import http from 'node:http';
import { startTestServer, storeKinds, type TestServer } from './helpers/server.js';
import { parsePackagePy, parseTomlSubset, semverMatches } from '../src/services/ayon/addons/package.js';
import { extractOverrides, schemaDefaults, validateSettings } from '../src/services/ayon/addons/settings.js';
import { ZipError, readZipDirectory } from '../src/services/ayon/addons/zip.js';
import { ayonRequest, type AyonRequestOptions } from './helpers/http.js';

interface ZipItem {
  name: string;
  data?: Buffer | string;
  deflate?: boolean;
  symlink?: boolean;
  /** lie about the uncompressed size in the headers */
  fakeSize?: number;
}

/** A minimal zip writer (stored or deflated entries) for building test packages. */
export function makeZip(items: ZipItem[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const it of items) {
    const data = Buffer.isBuffer(it.data) ? it.data : Buffer.from(it.data ?? '');
    const comp = it.deflate ? deflateRawSync(data) : data;
    const name = Buffer.from(it.name, 'utf8');
    const size = it.fakeSize ?? data.length;
    const crc = crc32(data) >>> 0;
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(0x800, 6);
    lh.writeUInt16LE(it.deflate ? 8 : 0, 8);
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(comp.length, 18);
    lh.writeUInt32LE(size, 22);
    lh.writeUInt16LE(name.length, 26);
    locals.push(lh, name, comp);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE((3 << 8) | 20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(0x800, 8);
    ch.writeUInt16LE(it.deflate ? 8 : 0, 10);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(comp.length, 20);
    ch.writeUInt32LE(size, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE((it.symlink ? 0o120777 : 0o100644) * 0x10000, 38);
    ch.writeUInt32LE(offset, 42);
    centrals.push(ch, name);
    offset += 30 + name.length + comp.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(items.length, 8);
  eocd.writeUInt16LE(items.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

const SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    enabled: { type: 'boolean', default: true },
    threads: { type: 'integer', minimum: 1, maximum: 64, default: 4 },
    colors: { type: 'array', items: { type: 'string' }, default: ['red'] },
    paths: {
      type: 'object',
      properties: { root: { type: 'string', default: '/mnt/root' }, cache: { type: 'string', default: '/tmp/cache' } },
    },
  },
};

export function addonZip(name: string, version: string, extra: ZipItem[] = []) {
  return makeZip([
    { name: 'package.py', data: `name = "${name}"\ntitle = "Test ${name}"\nversion = "${version}"\nclient_dir = "ayon_${name}"\nservices = {"worker": {"image": "x/y:1"}}\n` },
    { name: 'settings/schema.json', data: JSON.stringify(SCHEMA), deflate: true },
    { name: 'settings/defaults.json', data: JSON.stringify({ threads: 8 }) },
    { name: 'settings/site_schema.json', data: JSON.stringify({ type: 'object', properties: { local_dir: { type: 'string', default: '/local' } } }) },
    { name: 'private/client.zip', data: randomBytes(5000), deflate: true },
    { name: 'private/docs/readme.txt', data: 'private readme '.repeat(50), deflate: true },
    { name: 'public/icon.txt', data: 'public icon' },
    { name: 'frontend/dist/index.html', data: '<!doctype html><title>addon</title>' },
    { name: 'private/pyproject.toml', data: '[project]\nname = "client"\n\n[ayon.runtimeDependencies]\nrequests = "^2.31"\n' },
    { name: 'server/__init__.py', data: 'raise SystemExit("never executed")' },
    ...extra,
  ]);
}

describe('addon package, settings and zip helpers', () => {
  it('reads package.py literals without running it', () => {
    const meta = parsePackagePy(
      [
        '# comment',
        'name = "core"  # trailing comment',
        "version = '1.2.3'",
        'title: str = "Core"',
        'services = {"a": {"image": "x:1", "ports": [1, 2], "on": True, "off": None}}',
        'ayon_required_addons = {',
        '    "other": ">=1.0.0",  # multi-line',
        '}',
        'client_dir = os.path.join("a", "b")',
        'import os',
        'x == 3',
      ].join('\n'),
    );
    expect(meta).toEqual({
      name: 'core',
      version: '1.2.3',
      title: 'Core',
      services: { a: { image: 'x:1', ports: [1, 2], on: true, off: null } },
      ayon_required_addons: { other: '>=1.0.0' },
    });
  });

  it('reads the pyproject.toml subset clients use', () => {
    const toml = [
      '# comment',
      '[project]',
      'name = "ayon-core"',
      "version = '1.0.0' # trailing",
      'deps = [',
      '  "a>=1",',
      '  "b",',
      ']',
      'flags = { fast = true, level = 3 }',
      '[tool.poetry.dependencies]',
      'python = ">=3.9.1,<3.10"',
      '"quoted.key" = 1.5',
      '[[tool.items]]',
      'x = 1',
      '[[tool.items]]',
      'x = 2',
    ].join('\n');
    expect(parseTomlSubset(toml)).toEqual({
      project: { name: 'ayon-core', version: '1.0.0', deps: ['a>=1', 'b'], flags: { fast: true, level: 3 } },
      tool: { poetry: { dependencies: { python: '>=3.9.1,<3.10', 'quoted.key': 1.5 } }, items: [{ x: 1 }, { x: 2 }] },
    });
    expect(parseTomlSubset('key = @nope')).toBeNull();
  });

  it('matches semver requirements like AYON', () => {
    expect(semverMatches('1.16.0', '>=1.0.0,<2.0.0')).toBe(true);
    expect(semverMatches('1.16.0', '>=1.17.0')).toBe(false);
    expect(semverMatches('1.0.0-beta.1', '<1.0.0')).toBe(true);
    expect(semverMatches('1.2.3', '==1.2.3')).toBe(true);
    expect(semverMatches('1.2.3', 'garbage')).toBe(false);
  });

  it('validates with $ref definitions and extracts only changed keys as overrides', () => {
    const schema = {
      type: 'object',
      properties: { a: { $ref: '#/definitions/A' }, n: { type: 'number', default: 1 } },
      definitions: { A: { type: 'object', properties: { x: { type: 'string', enum: ['p', 'q'], default: 'p' } } } },
    };
    expect(schemaDefaults(schema)).toEqual({ a: { x: 'p' }, n: 1 });
    expect(validateSettings(schema, { a: { x: 'p' }, n: 2 })).toEqual([]);
    expect(validateSettings(schema, { a: { x: 'z' }, n: 'no' }).map((e) => e.loc)).toEqual([['a', 'x'], ['n']]);
    const original = { a: { x: 'p', y: 1 }, n: 1, l: [1] };
    expect(extractOverrides(original, { a: { x: 'q', y: 1 }, n: 1, l: [1] }, {})).toEqual({ a: { x: 'q' } });
    // already overridden keys stay overridden, pins are kept, unpins removed
    expect(extractOverrides(original, original, { n: 1 }, [['l']])).toEqual({ n: 1, l: [1] });
    expect(extractOverrides(original, { ...original, n: 5 }, {}, [], [['n']])).toEqual({});
  });

  it('refuses zips with bad names before extracting', () => {
    for (const name of ['../x', 'a/../../x', '/abs', 'C:/x', 'a\\b', 'a//b', './x'])
      expect(() => readZipDirectory(makeZip([{ name, data: 'x' }]), { maxEntries: 10, maxTotalBytes: 1000 }), name).toThrow(ZipError);
    expect(() => readZipDirectory(makeZip([{ name: 'a', data: 'x' }, { name: 'a', data: 'y' }]), { maxEntries: 10, maxTotalBytes: 1000 })).toThrow(/duplicate/);
    expect(() => readZipDirectory(makeZip([{ name: 'a', data: 'x' }, { name: 'a/b', data: 'y' }]), { maxEntries: 10, maxTotalBytes: 1000 })).toThrow(/inside the file/);
    expect(() => readZipDirectory(makeZip([{ name: 'big', data: 'x', deflate: true, fakeSize: 5000 }]), { maxEntries: 10, maxTotalBytes: 1000 })).toThrow(/exceeds/);
    expect(readZipDirectory(makeZip([{ name: 'ok/file.txt', data: 'x', deflate: true }]), { maxEntries: 10, maxTotalBytes: 1000 })).toHaveLength(1);
  });
});

describe.each(storeKinds)('AYON addons on %s', (kind) => {
  let srv: TestServer;
  let base: string;
  let token: string;
  let userToken: string;
  const P = `prj_${randomBytes(3).toString('hex')}`;
  const A = `tst_${randomBytes(3).toString('hex')}`;

  const call = (method: string, path: string, opts: AyonRequestOptions = {}) => ayonRequest(base, token, method, path, opts, { rawType: 'application/json' });
  const install = (zip: Buffer, qs = '', t?: string | null) => call('POST', `/api/addons/install${qs}`, { raw: zip, token: t });
  const blobCount = async () => {
    let n = 0;
    for await (const _k of srv.app.services.blobs.list('addons')) n++;
    return n;
  };

  beforeAll(async () => {
    srv = await startTestServer(kind);
    base = `${srv.url}/ayon`;
    const u = await srv.createUser({ admin: true, email: `boss-${randomBytes(3).toString('hex')}@example.com`, password: 'admin-password-1' });
    token = (await call('POST', '/api/auth/login', { body: { name: u.email, password: u.password }, token: null })).json.token;
    expect((await call('POST', '/api/projects', { body: { name: P, code: P } })).status).toBe(201);
    expect((await call('PUT', '/api/users/plain_u', { body: { password: 'plain-password-1' } })).status).toBe(204);
    userToken = (await call('POST', '/api/auth/login', { body: { name: 'plain_u', password: 'plain-password-1' }, token: null })).json.token;
  });
  afterAll(() => srv.close());

  it('installs a zip sent with any content type, records a finished addon.install event, refuses duplicates unless overwrite', async () => {
    const r = await install(addonZip(A, '1.0.0'));
    expect(r.status).toBe(200);
    expect(r.json.eventId).toMatch(/^[0-9a-f]{32}$/);
    const ev = await call('GET', `/api/events/${r.json.eventId}`);
    if (ev.status === 200) expect(ev.json).toMatchObject({ topic: 'addon.install', status: 'finished' });
    const row = await srv.app.services.store.db.selectFrom('ayon_events').selectAll().where('id', '=', r.json.eventId).executeTakeFirstOrThrow();
    expect(row.topic).toBe('addon.install');
    expect(row.status).toBe('finished');
    const dup = await install(addonZip(A, '1.0.0'));
    expect(dup.status).toBe(409);
    expect(dup.json).toMatchObject({ code: 409 });
    const keys = async () => {
      const out: string[] = [];
      for await (const k of srv.app.services.blobs.list(`addons/${A}/1.0.0`)) out.push(k);
      return out;
    };
    const first = await keys();
    expect(first.length).toBe(11); // the zip and its 10 files
    expect((await install(addonZip(A, '1.0.0'), '?overwrite=true')).status).toBe(200);
    const second = await keys();
    expect(second.length).toBe(11); // the replaced generation is gone
    expect(second).not.toEqual(first);
    const installs = await call('GET', '/api/addons/install');
    expect(installs.json.restartRequired).toBe(false);
    expect(installs.json.items[0]).toMatchObject({ id: expect.any(String), topic: 'addon.install', addonName: A, addonVersion: '1.0.0', status: 'finished' });
    expect((await install(addonZip(A, '1.1.0'), '', null)).status).toBe(401);
    expect((await install(addonZip(A, '1.1.0'), '', userToken)).status).toBe(403);
  });

  it('refuses bad zips with 400 and stores nothing', async () => {
    const before = await blobCount();
    const bad: [string, Buffer][] = [
      ['not a zip', Buffer.from('this is not a zip file at all, just text')],
      ['traversal', addonZip(`${A}b`, '1.0.0', [{ name: '../evil.txt', data: 'x' }])],
      ['nested traversal', addonZip(`${A}b`, '1.0.0', [{ name: 'private/../../evil.txt', data: 'x' }])],
      ['absolute', addonZip(`${A}b`, '1.0.0', [{ name: '/etc/evil', data: 'x' }])],
      ['drive letter', addonZip(`${A}b`, '1.0.0', [{ name: 'C:/evil', data: 'x' }])],
      ['backslash', addonZip(`${A}b`, '1.0.0', [{ name: 'private\\..\\evil', data: 'x' }])],
      ['symlink', addonZip(`${A}b`, '1.0.0', [{ name: 'private/link', data: '/etc/passwd', symlink: true }])],
      ['bomb', addonZip(`${A}b`, '1.0.0', [{ name: 'private/bomb.bin', data: Buffer.alloc(4 * 1024 * 1024), deflate: true, fakeSize: 1000 }])],
      ['bad schema defaults', makeZip([{ name: 'package.py', data: `name = "${A}b"\nversion = "1.0.0"\n` }, { name: 'settings/schema.json', data: JSON.stringify(SCHEMA) }, { name: 'settings/defaults.json', data: '{"threads": 999}' }])],
    ];
    for (const [what, zip] of bad) {
      const r = await install(zip);
      expect(r.status, what).toBe(400);
      expect(r.json.code, what).toBe(400);
      expect(typeof r.json.detail, what).toBe('string');
    }
    const noManifest = await install(makeZip([{ name: 'readme.txt', data: 'x' }]));
    expect(noManifest.status).toBe(409);
    expect(noManifest.json.detail).toBe('Unsupported addon format');
    expect(await blobCount()).toBe(before);
    const list = await call('GET', '/api/addons');
    expect(list.json.addons.map((a: any) => a.name)).not.toContain(`${A}b`);
  });

  it('accepts the web UI multipart upload and refuses zips with too many entries', async () => {
    const zip = addonZip(`${A}m`, '0.1.0');
    const boundary = '----atrium' + randomBytes(6).toString('hex');
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.zip"\r\nContent-Type: application/zip\r\n\r\n`),
      zip,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const r = await call('POST', '/api/addons/install', { raw: body, rawType: `multipart/form-data; boundary=${boundary}` });
    expect(r.status).toBe(200);
    expect((await call('GET', `/addons/${A}m/0.1.0/public/icon.txt`)).buf.toString()).toBe('public icon');
    expect((await call('DELETE', `/api/addons/${A}m`)).status).toBe(204);
    const many = makeZip([{ name: 'package.py', data: `name = "${A}n"\nversion = "1.0.0"\n` }, ...Array.from({ length: 20_000 }, (_, i) => ({ name: `private/f${i}` }))]);
    const refused = await install(many);
    expect(refused.status).toBe(400);
    expect(refused.json.detail).toMatch(/too many entries/);
  });

  it("installs AYON's other layouts: package.yaml at the root and manifest.json with the addon under addon/", async () => {
    const y = await install(makeZip([{ name: 'package.yaml', data: `name: ${A}y\nversion: "0.2.0"\ntitle: Yaml addon # comment\n` }, { name: 'public/a.txt', data: 'yaml' }]));
    expect(y.status).toBe(200);
    expect((await call('GET', `/addons/${A}y/0.2.0/public/a.txt`)).buf.toString()).toBe('yaml');
    const m = await install(
      makeZip([
        { name: 'manifest.json', data: JSON.stringify({ addon_name: `${A}j`, addon_version: '0.3.0' }) },
        { name: 'addon/public/b.txt', data: 'manifest' },
        { name: 'outside.txt', data: 'ignored' },
      ]),
    );
    expect(m.status).toBe(200);
    expect((await call('GET', `/addons/${A}j/0.3.0/public/b.txt`)).buf.toString()).toBe('manifest');
    const titles = Object.fromEntries((await call('GET', '/api/addons')).json.addons.map((a: any) => [a.name, a.title]));
    expect(titles[`${A}y`]).toBe('Yaml addon');
    expect(titles[`${A}j`]).toBe(`${A}j`);
    const noVersion = await install(makeZip([{ name: 'package.py', data: `name = "${A}v"\n` }]));
    expect(noVersion.status).toBe(409);
    expect(noVersion.json.detail).toBe('Addon version not found in package.py');
    expect((await install(makeZip([{ name: 'package.py', data: `name = "${A}v"\nversion = "latest"\n` }]))).status).toBe(400);
    expect((await call('DELETE', `/api/addons/${A}y`)).status).toBe(204);
    expect((await call('DELETE', `/api/addons/${A}j`)).status).toBe(204);
  });

  it('lists addons with versions, settings flags, details and production/staging versions from bundles', async () => {
    expect((await install(addonZip(A, '1.1.0'))).status).toBe(200);
    const r = await call('GET', '/api/addons?details=1');
    const a = r.json.addons.find((x: any) => x.name === A);
    expect(a).toMatchObject({ title: `Test ${A}`, addonType: 'server', system: false });
    expect(Object.keys(a.versions)).toEqual(['1.0.0', '1.1.0']);
    expect(a.versions['1.0.0']).toMatchObject({ hasSettings: true, hasSiteSettings: true, services: { worker: { image: 'x/y:1' } } });
    expect(a.versions['1.0.0'].clientSourceInfo).toEqual([{ type: 'server', filename: 'client.zip' }]);
    expect(a.versions['1.0.0'].clientPyproject).toEqual({ project: { name: 'client' }, ayon: { runtimeDependencies: { requests: '^2.31' } } });
    expect(a.productionVersion).toBeUndefined();
    expect((await call('POST', '/api/bundles', { body: { name: `b_${A}`, addons: { [A]: '1.0.0' }, installerVersion: '1.0.0', isProduction: true } })).status).toBe(201);
    const again = (await call('GET', '/api/addons')).json.addons.find((x: any) => x.name === A);
    expect(again.productionVersion).toBe('1.0.0');
    expect(again.versions['1.0.0'].services).toBeUndefined();
  });

  it('serves private files to authenticated users (with Range) and public files to anyone; path tricks find nothing', async () => {
    const f = await call('GET', `/addons/${A}/1.0.0/private/docs/readme.txt`);
    expect(f.status).toBe(200);
    expect(f.buf.toString()).toBe('private readme '.repeat(50));
    expect(f.headers.get('content-length')).toBe(String(f.buf.length));
    expect((await call('GET', `/api/addons/${A}/1.0.0/private/docs/readme.txt`)).status).toBe(200);
    const part = await call('GET', `/addons/${A}/1.0.0/private/docs/readme.txt`, { headers: { range: 'bytes=8-13' } });
    expect(part.status).toBe(206);
    expect(part.buf.toString()).toBe('readme');
    expect((await call('GET', `/addons/${A}/1.0.0/private/docs/readme.txt`, { token: null })).status).toBe(401);
    const fe = await call('GET', `/addons/${A}/1.0.0/frontend/`, { token: null });
    expect(fe.status).toBe(200);
    expect(fe.headers.get('content-type')).toMatch(/^text\/html/);
    expect(fe.buf.toString()).toContain('<title>addon</title>');
    const pub = await call('GET', `/addons/${A}/1.0.0/public/icon.txt`, { token: null });
    expect(pub.status).toBe(200);
    expect(pub.buf.toString()).toBe('public icon');
    // raw request paths (fetch would normalise the dots away before sending)
    const rawGet = (path: string) =>
      new Promise<number>((resolve, reject) => {
        const u = new URL(base);
        const req = http.request({ host: u.hostname, port: u.port, path: `${u.pathname}${path}`, headers: { authorization: `Bearer ${token}` } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    for (const p of ['public/../server/__init__.py', 'public/%2e%2e/server/__init__.py', 'public/..%2fserver%2f__init__.py', 'private/../../../etc/passwd', 'private//docs/readme.txt', 'private/./docs/readme.txt', 'private/missing'])
      expect(await rawGet(`/addons/${A}/1.0.0/${p}`), p).toBe(404);
    expect(await rawGet(`/addons/${A}/1.0.0/private/docs/readme.txt`)).toBe(200);
  });

  it('resolves settings defaults → studio (per variant) → project → project-site, storing only differences', async () => {
    const s0 = await call('GET', `/api/addons/${A}/1.0.0/settings`);
    expect(s0.json).toEqual({ enabled: true, threads: 8, colors: ['red'], paths: { root: '/mnt/root', cache: '/tmp/cache' } });
    const schema = await call('GET', `/api/addons/${A}/1.0.0/schema`);
    expect(schema.json).toMatchObject({ type: 'object', title: `Test ${A}` });
    expect((await call('POST', `/api/addons/${A}/1.0.0/settings?variant=production`, { body: { ...s0.json, threads: 16, paths: { root: '/studio' } } })).status).toBe(204);
    expect((await call('GET', `/api/addons/${A}/1.0.0/rawOverrides?variant=production`)).json).toEqual({ threads: 16, paths: { root: '/studio' } });
    expect((await call('GET', `/api/addons/${A}/1.0.0/settings?variant=staging`)).json.threads).toBe(8);
    expect((await call('POST', `/api/addons/${A}/1.0.0/settings/${P}?variant=production`, { body: { threads: 16, colors: ['blue', 'green'], paths: { root: '/studio' } } })).status).toBe(204);
    const ps = await call('GET', `/api/addons/${A}/1.0.0/settings/${P}?variant=production`);
    expect(ps.json).toEqual({ enabled: true, threads: 16, colors: ['blue', 'green'], paths: { root: '/studio', cache: '/tmp/cache' } });
    expect((await call('GET', `/api/addons/${A}/1.0.0/rawOverrides/${P}?variant=production`)).json).toEqual({ colors: ['blue', 'green'] });
    // project-site overrides of the caller
    expect((await call('POST', `/api/addons/${A}/1.0.0/settings/${P}?variant=production&site_id=site1`, { body: { ...ps.json, enabled: false } })).status).toBe(204);
    expect((await call('GET', `/api/addons/${A}/1.0.0/settings/${P}?variant=production&site=site1`)).json.enabled).toBe(false);
    expect((await call('GET', `/api/addons/${A}/1.0.0/settings/${P}?variant=production`)).json.enabled).toBe(true);
    // overrides listing, pin/delete
    const ov = await call('GET', `/api/addons/${A}/1.0.0/overrides/${P}?variant=production`);
    expect(ov.json.root_threads).toMatchObject({ path: ['threads'], value: 16, level: 'studio' });
    expect(ov.json.root_colors).toMatchObject({ path: ['colors'], level: 'project' });
    expect((await call('POST', `/api/addons/${A}/1.0.0/overrides?variant=production`, { body: { action: 'delete', path: ['threads'] } })).status).toBe(204);
    expect((await call('GET', `/api/addons/${A}/1.0.0/settings?variant=production`)).json.threads).toBe(8);
    expect((await call('DELETE', `/api/addons/${A}/1.0.0/overrides?variant=production`)).status).toBe(204);
    expect((await call('GET', `/api/addons/${A}/1.0.0/settings?variant=production`)).json).toEqual(s0.json);
    const ev = await srv.app.services.store.db.selectFrom('ayon_events').select('topic').where('topic', '=', 'settings.changed').execute();
    expect(ev.length).toBeGreaterThanOrEqual(4);
  });

  it('refuses settings that do not match the schema with 400 and keeps the previous values; writes need a manager', async () => {
    await call('POST', `/api/addons/${A}/1.0.0/settings?variant=production`, { body: { threads: 2 } });
    for (const bad of [{ threads: 0 }, { threads: 'many' }, { unknown_key: 1 }, { colors: [1, 2] }, { paths: { root: 5 } }]) {
      const r = await call('POST', `/api/addons/${A}/1.0.0/settings?variant=production`, { body: bad });
      expect(r.status, JSON.stringify(bad)).toBe(400);
      expect(r.json.code).toBe(400);
      expect(r.json.detail).toBe('Invalid settings');
      expect(r.json.errors.length).toBeGreaterThan(0);
      expect(Array.isArray(r.json.errors[0].loc)).toBe(true);
    }
    expect((await call('POST', `/api/addons/${A}/1.0.0/settings/${P}`, { body: { threads: 100 } })).status).toBe(400);
    expect((await call('GET', `/api/addons/${A}/1.0.0/settings?variant=production`)).json.threads).toBe(2);
    expect((await call('POST', `/api/addons/${A}/1.0.0/settings`, { body: { threads: 3 }, token: userToken })).status).toBe(403);
    // guests read no settings
    expect((await call('PUT', '/api/users/guest_u', { body: { password: 'guest-password-1', data: { isGuest: true } } })).status).toBe(204);
    const guest = (await call('POST', '/api/auth/login', { body: { name: 'guest_u', password: 'guest-password-1' }, token: null })).json.token;
    expect((await call('GET', '/api/users/me', { token: guest })).json.data.isGuest).toBe(true);
    expect((await call('GET', `/api/addons/${A}/1.0.0/settings`, { token: guest })).status).toBe(403);
    expect((await call('GET', '/api/addons', { token: guest })).status).toBe(200);
    expect((await call('GET', `/api/addons/${A}/9.9.9/settings`)).status).toBe(404);
  });

  it('site settings are per site and user, validated against the site schema', async () => {
    expect((await call('GET', `/api/addons/${A}/1.0.0/siteSettings?site=s1`)).json).toEqual({ local_dir: '/local' });
    expect((await call('PUT', `/api/addons/${A}/1.0.0/siteSettings?site_id=s1`, { body: { local_dir: '/mine' } })).status).toBe(204);
    expect((await call('GET', `/api/addons/${A}/1.0.0/siteSettings?site=s1`)).json).toEqual({ local_dir: '/mine' });
    expect((await call('GET', `/api/addons/${A}/1.0.0/siteSettings?site=s1`, { token: userToken })).json).toEqual({ local_dir: '/local' });
    expect((await call('PUT', `/api/addons/${A}/1.0.0/siteSettings?site_id=s1`, { body: { local_dir: 3 } })).status).toBe(400);
  });

  it('GET /api/settings returns the bundle addons with resolved settings for studio, project and site', async () => {
    const r = await call('GET', `/api/settings?variant=production&project_name=${P}&site_id=site1`);
    expect(r.status).toBe(200);
    expect(r.json.bundleName).toBe(`b_${A}`);
    expect(r.json.projectName).toBe(P);
    const item = r.json.addons.find((x: any) => x.name === A);
    expect(item).toMatchObject({ version: '1.0.0', hasSettings: true, hasSiteSettings: true, hasStudioOverrides: true, hasProjectOverrides: true, hasProjectSiteOverrides: true, siteSettings: { local_dir: '/local' } });
    const s1 = (await call('GET', '/api/settings?site_id=s1')).json.addons.find((x: any) => x.name === A);
    expect(s1.siteSettings).toEqual({ local_dir: '/mine' });
    expect(s1.settings.enabled).toBe(true);
    expect(s1.hasProjectOverrides).toBeUndefined();
    expect(item.settings.colors).toEqual(['blue', 'green']);
    expect(item.settings.enabled).toBe(false);
    expect((await call('GET', '/api/settings?variant=staging')).status).toBe(404);
  });

  it('bundles: one production and one staging, check reports missing addons, archive rules, patch and delete', async () => {
    const b2 = `b2_${A}`;
    expect((await call('POST', '/api/bundles', { body: { name: b2, addons: { [A]: '1.1.0' }, installerVersion: '1.0.0', isStaging: true } })).status).toBe(201);
    expect((await call('POST', '/api/bundles', { body: { name: b2, addons: {}, installerVersion: '1.0.0' } })).status).toBe(409);
    const check = await call('POST', '/api/bundles/check', { body: { name: 'x', addons: { [A]: '7.0.0' }, installerVersion: '1.0.0' } });
    expect(check.json).toEqual({ success: false, issues: [{ severity: 'error', addon: A, message: `${A} 7.0.0 is not active`, requiredAddon: A }] });
    const refused = await call('POST', '/api/bundles', { body: { name: 'bad_b', addons: { [A]: '7.0.0' }, installerVersion: '1.0.0' } });
    expect(refused.status).toBe(400);
    expect(refused.json.detail).toBe(`Failed to validate bundle: ${A}: ${A} 7.0.0 is not active`);
    expect((await call('POST', '/api/bundles', { body: { name: 'bad name!', addons: {} } })).status).toBe(400);
    expect((await call('PATCH', `/api/bundles/${b2}`, { body: { isArchived: true } })).status).toBe(400);
    expect((await call('PATCH', `/api/bundles/${b2}`, { body: { isProduction: true } })).status).toBe(204);
    let l = (await call('GET', '/api/bundles')).json;
    expect(l.productionBundle).toBe(b2);
    expect(l.stagingBundle).toBe(b2);
    expect(l.bundles.filter((b: any) => b.isProduction).length).toBe(1);
    expect((await call('PATCH', `/api/bundles/b_${A}`, { body: { isArchived: true, dependencyPackages: { linux: 'dep.zip' } } })).status).toBe(204);
    l = (await call('GET', '/api/bundles')).json;
    expect(l.bundles.map((b: any) => b.name)).not.toContain(`b_${A}`);
    const arch = (await call('GET', '/api/bundles?archived=true')).json.bundles.find((b: any) => b.name === `b_${A}`);
    expect(arch).toMatchObject({ isArchived: true, dependencyPackages: { linux: 'dep.zip' }, addons: { [A]: '1.0.0' } });
    expect((await call('PATCH', '/api/bundles/nope', { body: { isStaging: true } })).status).toBe(404);
    expect((await call('POST', '/api/bundles', { body: { name: 'u_b', addons: {} }, token: userToken })).status).toBe(403);
    expect((await call('DELETE', `/api/bundles/b_${A}`)).status).toBe(204);
    expect((await call('GET', '/api/bundles?archived=true')).json.bundles.map((b: any) => b.name)).not.toContain(`b_${A}`);
    const topics = (await srv.app.services.store.db.selectFrom('ayon_events').select('topic').where('topic', 'like', 'bundle.%').execute()).map((r) => r.topic);
    expect(topics).toEqual(expect.arrayContaining(['bundle.created', 'bundle.updated', 'bundle.deleted']));
  });

  it('concurrent writers leave exactly one production bundle', async () => {
    const names = Array.from({ length: 6 }, (_, i) => `race${i}_${A}`);
    const res = await Promise.all(names.map((n) => call('POST', '/api/bundles', { body: { name: n, addons: { [A]: '1.1.0' }, installerVersion: '1.0.0', isProduction: true } })));
    expect(res.map((r) => r.status)).toEqual(names.map(() => 201));
    const l = (await call('GET', '/api/bundles')).json;
    expect(l.bundles.filter((b: any) => b.isProduction).length).toBe(1);
    const flips = await Promise.all(names.map((n) => call('PATCH', `/api/bundles/${n}`, { body: { isStaging: true } })));
    expect(flips.map((r) => r.status)).toEqual(names.map(() => 204));
    expect((await call('GET', '/api/bundles')).json.bundles.filter((b: any) => b.isStaging).length).toBe(1);
  });

  it('a project deleted and made again under the same name starts without the old project overrides', async () => {
    const Q = `re_${randomBytes(3).toString('hex')}`;
    expect((await call('POST', '/api/projects', { body: { name: Q, code: Q } })).status).toBe(201);
    expect((await call('POST', `/api/addons/${A}/1.1.0/settings/${Q}`, { body: { threads: 33 } })).status).toBe(204);
    expect((await call('GET', `/api/addons/${A}/1.1.0/settings/${Q}`)).json.threads).toBe(33);
    expect((await call('DELETE', `/api/projects/${Q}`)).status).toBe(204);
    // the purge runs in the background: the name is free once it has finished
    let made = 0;
    for (let i = 0; i < 100 && made !== 201; i++) {
      await new Promise((r) => setTimeout(r, 50));
      made = (await call('POST', '/api/projects', { body: { name: Q, code: Q } })).status;
    }
    expect(made).toBe(201);
    const after = await call('GET', `/api/addons/${A}/1.1.0/settings/${Q}`);
    expect(after.status).toBe(200);
    expect(after.json.threads).toBe(8);
    expect((await call('GET', `/api/addons/${A}/1.1.0/rawOverrides/${Q}`)).json).toEqual({});
  });

  it('project bundles: a manager pins addon versions per project and variant; settings, GraphQL and the project show it; unset releases it', async () => {
    const B = `pbb_${randomBytes(3).toString('hex')}`;
    const C = `pbc_${randomBytes(3).toString('hex')}`;
    const schema = { type: 'object', properties: { threads: { type: 'integer', default: 8 }, studio_only: { type: 'string', default: 's', scope: ['studio'] } } };
    const zip = (name: string, version: string, over: boolean) =>
      makeZip([
        { name: 'package.py', data: `name = "${name}"\ntitle = "PB ${name}"\nversion = "${version}"\nproject_can_override_addon_version = ${over ? 'True' : 'False'}\n` },
        { name: 'settings/schema.json', data: JSON.stringify(schema) },
      ]);
    for (const [n, v, o] of [[B, '1.0.0', true], [B, '2.0.0', true], [C, '1.0.0', false]] as const) expect((await install(zip(n, v, o))).status).toBe(200);
    const studio = `pbs_${B}`;
    expect((await call('POST', '/api/bundles', { body: { name: studio, addons: { [A]: '1.1.0', [B]: '1.0.0', [C]: '1.0.0' }, installerVersion: '1.0.0', isProduction: true } })).status).toBe(201);
    expect((await call('POST', `/api/addons/${B}/1.0.0/settings?variant=production`, { body: { threads: 12 } })).status).toBe(204);
    const PBN = `__project__${P}__production`;
    const projectData = async () => (await call('GET', `/api/projects/${P}`)).json.data;

    // what the project could choose: only addons that allow project versions, studio versions as default
    const info = await call('GET', `/api/projects/${P}/bundle`);
    expect(info.status).toBe(200);
    expect(info.json.addons[B]).toBe('1.0.0');
    expect(info.json.addons[C]).toBeUndefined();
    expect(info.json.installerVersion).toBe('1.0.0');
    expect(info.json.addonMetadata.find((m: any) => m.name === B).options.map((o: any) => o.value)).toEqual(['__inherit__', '__disable__', '2.0.0', '1.0.0']);
    expect(info.json.addonMetadata.find((m: any) => m.name === B).options[0].label).toBe('Inherit (1.0.0)');

    // refusals store nothing
    const body = { addons: { [B]: '2.0.0', [A]: '__inherit__' }, installerVersion: '1.2.3' };
    expect((await call('POST', `/api/projects/${P}/bundle`, { body, token: userToken })).status).toBe(403);
    expect((await call('GET', `/api/projects/${P}/bundle`, { token: userToken })).status).toBe(403);
    expect((await call('POST', '/api/projects/no_such_project/bundle', { body })).status).toBe(404);
    expect((await call('POST', `/api/projects/${P}/bundle?variant=dev`, { body })).status).toBe(400);
    expect((await call('POST', `/api/projects/${P}/bundle`, { body: {} })).status).toBe(400);
    expect((await call('POST', `/api/projects/${P}/bundle`, { body: { addons: { [B]: '9.9.9' } } })).status).toBe(404);
    const notAllowed = await call('POST', `/api/projects/${P}/bundle`, { body: { addons: { [C]: '1.0.0' } } });
    expect(notAllowed.status).toBe(400);
    expect(notAllowed.json.detail).toContain('does not allow project overrides');
    expect((await projectData()).bundle).toBeUndefined();
    expect((await call('GET', '/api/bundles')).json.bundles.map((b: any) => b.name)).not.toContain(PBN);

    // freeze
    expect((await call('POST', `/api/projects/${P}/bundle`, { body })).status).toBe(200);
    expect((await projectData()).bundle).toEqual({ production: PBN });
    const gq = await call('POST', '/graphql', { body: { query: `{ project(name: "${P}") { bundle { production staging } } }` } });
    expect(gq.json.data.project.bundle).toEqual({ production: PBN, staging: null });
    expect((await call('GET', '/api/bundles')).json.bundles.find((b: any) => b.name === PBN)).toMatchObject({ isProject: true, isProduction: false, addons: { [B]: '2.0.0' }, installerVersion: '1.2.3' });
    const s = await call('GET', `/api/settings?project_name=${P}`);
    expect(s.json.bundleName).toBe(PBN);
    expect(s.json.addons.find((x: any) => x.name === B)).toMatchObject({ version: '2.0.0', isProjectBundle: true });
    expect(s.json.addons.find((x: any) => x.name === C)).toMatchObject({ version: '1.0.0', isProjectBundle: false });
    expect(s.json.inheritedAddons.sort()).toEqual([A, C].sort());
    // the studio and other projects keep the studio bundle
    const st = await call('GET', '/api/settings');
    expect(st.json.addons.find((x: any) => x.name === B)).toMatchObject({ version: '1.0.0', isProjectBundle: false });
    expect(st.json.inheritedAddons).toEqual([]);
    // named explicitly (render farms): the project comes from the bundle
    const byName = await call('GET', `/api/settings?project_bundle_name=${PBN}`);
    expect(byName.json).toMatchObject({ projectName: P, bundleName: PBN });
    expect(byName.json.addons.find((x: any) => x.name === B).version).toBe('2.0.0');
    expect((await call('GET', '/api/settings?project_bundle_name=__project__nope__production')).status).toBe(404);
    expect((await call('GET', `/api/settings?project_bundle_name=${studio}`)).status).toBe(404); // not a project bundle
    const info2 = (await call('GET', `/api/projects/${P}/bundle`)).json;
    expect(info2.addons[B]).toBe('2.0.0');
    expect(info2.installerVersion).toBe('1.2.3');

    // frozen: the project's settings are a full copy, later studio changes do not reach it
    const raw = (await call('GET', `/api/addons/${B}/2.0.0/rawOverrides/${P}`)).json;
    expect(raw).toEqual({ threads: 8, studio_only: 's' });
    expect((await call('POST', `/api/addons/${B}/2.0.0/settings?variant=production`, { body: { threads: 20 } })).status).toBe(204);
    expect((await call('GET', `/api/addons/${B}/2.0.0/settings/${P}`)).json.threads).toBe(8);
    const ev = await srv.app.services.store.db.selectFrom('ayon_events').selectAll().where('topic', '=', 'settings.changed').where('project_name', '=', P).orderBy('created_at', 'desc').execute();
    expect(ev.some((e) => JSON.parse(e.summary).addon_name === B && JSON.parse(e.summary).addon_version === '2.0.0')).toBe(true);

    // unset: project overrides keep project-scoped fields and move to the studio version
    // while frozen, project settings of a pinned addon are stored whole and overrides cannot be edited
    expect((await call('POST', `/api/addons/${B}/2.0.0/settings/${P}`, { body: { threads: 30 } })).status).toBe(204);
    expect((await call('GET', `/api/addons/${B}/2.0.0/rawOverrides/${P}`)).json).toEqual({ threads: 30, studio_only: 's' });
    const frozen = await call('DELETE', `/api/addons/${B}/2.0.0/overrides/${P}`);
    expect(frozen.status).toBe(400);
    expect(frozen.json.detail).toContain('project bundle is frozen');
    expect((await call('POST', `/api/addons/${B}/2.0.0/overrides/${P}`, { body: { action: 'delete', path: ['threads'] } })).status).toBe(400);
    expect((await call('DELETE', `/api/addons/${B}/2.0.0/overrides/${P}?variant=dev_x`)).status).toBe(204); // other variants are not frozen
    expect((await call('GET', `/api/addons/${B}/2.0.0/settings/${P}`)).json.threads).toBe(30);
    expect((await call('DELETE', `/api/projects/${P}/bundle`, { token: userToken })).status).toBe(403);
    expect((await call('DELETE', `/api/projects/${P}/bundle`)).status).toBe(204);
    expect((await projectData()).bundle).toBeUndefined();
    expect((await call('GET', '/api/bundles')).json.bundles.map((b: any) => b.name)).not.toContain(PBN);
    expect((await call('GET', `/api/addons/${B}/2.0.0/rawOverrides/${P}`)).json).toEqual({ threads: 30 });
    expect((await call('GET', `/api/addons/${B}/1.0.0/settings/${P}`)).json.threads).toBe(30);
    const after = await call('GET', `/api/settings?project_name=${P}`);
    expect(after.json.bundleName).toBe(studio);
    expect(after.json.addons.find((x: any) => x.name === B)).toMatchObject({ version: '1.0.0', isProjectBundle: false });
    expect(after.json.inheritedAddons).toEqual([]);

    // a project bundle can disable an addon for the project
    expect((await call('POST', `/api/projects/${P}/bundle`, { body: { addons: { [B]: '__disable__' } } })).status).toBe(200);
    const dis = await call('GET', `/api/settings?project_name=${P}`);
    expect(dis.json.addons.map((x: any) => x.name)).not.toContain(B);
    expect(dis.json.inheritedAddons).not.toContain(B);
    expect((await call('GET', `/api/projects/${P}/bundle`)).json.addons[B]).toBe('__disable__');

    // the deprecated /bundles names existing project bundles only
    expect((await call('POST', `/api/projects/${P}/bundles`, { body: { staging: studio } })).status).toBe(400);
    expect((await call('POST', `/api/projects/${P}/bundles`, { body: { staging: 'no_such_bundle' } })).status).toBe(404);
    expect((await call('POST', `/api/projects/${P}/bundles`, { body: { staging: PBN }, token: userToken })).status).toBe(403);
    expect((await projectData()).bundle).toEqual({ production: PBN });
    expect((await call('POST', `/api/projects/${P}/bundles`, { body: { staging: PBN } })).status).toBe(204);
    expect((await projectData()).bundle).toEqual({ production: PBN, staging: PBN });
    expect((await call('POST', `/api/projects/${P}/bundles`, { body: { staging: null } })).status).toBe(204);
    expect((await call('DELETE', `/api/projects/${P}/bundle`)).status).toBe(204);
    expect((await projectData()).bundle).toBeUndefined();
    for (const n of [B, C]) expect((await call('DELETE', `/api/addons/${n}`)).status).toBe(204);
  });

  it('deletes an addon version and a whole addon with their files (admins only)', async () => {
    expect((await call('DELETE', `/api/addons/${A}/1.0.0`, { token: userToken })).status).toBe(403);
    expect((await call('DELETE', `/api/addons/${A}/1.0.0?purge=true`)).status).toBe(204);
    expect((await call('GET', `/addons/${A}/1.0.0/public/icon.txt`)).status).toBe(404);
    expect(Object.keys((await call('GET', '/api/addons')).json.addons.find((x: any) => x.name === A).versions)).toEqual(['1.1.0']);
    expect((await call('DELETE', `/api/addons/${A}/1.0.0`)).status).toBe(404);
    expect((await call('DELETE', `/api/addons/${A}`)).status).toBe(204);
    expect((await call('GET', '/api/addons')).json.addons.find((x: any) => x.name === A)).toBeUndefined();
    expect(await blobCount()).toBe(0);
  });
});
