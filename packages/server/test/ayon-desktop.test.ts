/**
 * AYON secrets, installers, dependency packages and actions over real HTTP, on every store kind:
 * who may read and write secrets and that no value reaches the log; manifests, streamed uploads that
 * are attached only when complete and matching the manifest's size and checksum (nothing left in the
 * blob store otherwise), ranged downloads, sources, deletes and bad input; the action list/execute
 * answers, per-user config storage, and take/abort of `action.launcher` event tokens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { startTestServer, storeKinds, type TestServer } from './helpers/server.js';
import { createTestDatabase } from './helpers/stores.js';
import { loadConfig } from '../src/config.js';
import { buildApp } from '../src/app.js';
import { ayonRequest, type AyonRequestOptions } from './helpers/http.js';

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Every file under a directory (recursive). */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => path.join(d.parentPath ?? (d as unknown as { path: string }).path, d.name));
}

describe.each(storeKinds)('AYON desktop area on %s', (kind) => {
  let srv: TestServer;
  let base: string;
  let admin: string;
  let artist: string;
  let manager: string;

  const call = (method: string, path: string, opts: AyonRequestOptions = {}) => ayonRequest(base, admin, method, path, opts, { rawType: 'application/json' });
  /** A chunked body (no Content-Length), as requests sends a generator. */
  const chunked = (data: Buffer, size = 64 * 1024) =>
    new ReadableStream({
      start(c) {
        for (let i = 0; i < data.length; i += size) c.enqueue(new Uint8Array(data.subarray(i, i + size)));
        c.close();
      },
    });
  const desktopBlobs = () => filesUnder(path.join(srv.config.dataDir, 'blobs', 'ayon', 'desktop'));

  async function login(name: string, password: string) {
    const r = await call('POST', '/api/auth/login', { body: { name, password }, token: null });
    expect(r.status).toBe(200);
    return r.json.token as string;
  }

  beforeAll(async () => {
    srv = await startTestServer(kind);
    base = `${srv.url}/ayon`;
    const u = await srv.createUser({ admin: true, email: `desk-${randomBytes(3).toString('hex')}@example.com`, password: 'admin-password-1' });
    admin = await login(u.email, 'admin-password-1');
    expect((await call('PUT', '/api/users/desk_artist', { body: { password: 'artist-password-1' } })).status).toBe(204);
    expect((await call('PUT', '/api/users/desk_manager', { body: { password: 'manager-password-1', data: { isManager: true } } })).status).toBe(204);
    artist = await login('desk_artist', 'artist-password-1');
    manager = await login('desk_manager', 'manager-password-1');
  });
  afterAll(() => srv?.close());

  // ------------------------------------------------------------------------------------------- secrets

  describe('secrets', () => {
    it('admins create, read, list, update and delete; unknown is 404; delete is idempotent', async () => {
      expect((await call('PUT', '/api/secrets/api_token', { body: { name: 'api_token', value: 'v1' } })).status).toBe(204);
      expect((await call('GET', '/api/secrets/api_token')).json).toEqual({ name: 'api_token', value: 'v1' });
      expect((await call('PUT', '/api/secrets/api_token', { body: { name: 'api_token', value: 'v2' } })).status).toBe(204);
      expect((await call('GET', '/api/secrets')).json).toContainEqual({ name: 'api_token', value: 'v2' });
      expect((await call('DELETE', '/api/secrets/api_token')).status).toBe(204);
      const gone = await call('GET', '/api/secrets/api_token');
      expect(gone.status).toBe(404);
      expect(gone.json).toMatchObject({ code: 404 });
      expect((await call('DELETE', '/api/secrets/api_token')).status).toBe(204);
    });

    it('hides internal secrets from the list and refuses a missing value or a bad name with 400', async () => {
      await call('PUT', '/api/secrets/_internal', { body: { value: 'x' } });
      expect((await call('GET', '/api/secrets')).json.map((s: { name: string }) => s.name)).not.toContain('_internal');
      expect((await call('GET', '/api/secrets/_internal')).json.value).toBe('x');
      const none = await call('PUT', '/api/secrets/novalue', { body: { name: 'novalue' } });
      expect(none.status).toBe(400);
      expect(none.json.detail).toBe('No value provided');
      expect((await call('GET', '/api/secrets/novalue')).status).toBe(404);
      expect((await call('PUT', '/api/secrets/bad%20name', { body: { value: 'x' } })).status).toBe(400);
      expect((await call('PUT', '/api/secrets/-dash', { body: { value: 'x' } })).status).toBe(400);
    });

    it('service users (admins in AYON) read and write secrets with their API key; impersonating an artist they may not', async () => {
      const key = randomBytes(16).toString('hex');
      expect((await call('PUT', '/api/users/desk_svc', { body: { apiKey: key, data: { isService: true } } })).status).toBe(204);
      const svc = { token: null, headers: { 'x-api-key': key } };
      expect((await call('PUT', '/api/secrets/svc_secret', { ...svc, body: { value: 'from-service' } })).status).toBe(204);
      expect((await call('GET', '/api/secrets/svc_secret', svc)).json.value).toBe('from-service');
      expect((await call('GET', '/api/secrets/svc_secret', { token: null, headers: { 'x-api-key': key, 'x-as-user': 'desk_artist' } })).status).toBe(403);
    });

    it('managers list names without values; artists and managers may not read or write values', async () => {
      await call('PUT', '/api/secrets/shared_key', { body: { value: 'top-secret' } });
      const listed = await call('GET', '/api/secrets', { token: manager });
      expect(listed.status).toBe(200);
      expect(listed.json).toContainEqual({ name: 'shared_key' });
      expect(JSON.stringify(listed.json)).not.toContain('top-secret');
      for (const t of [manager, artist]) {
        expect((await call('GET', '/api/secrets/shared_key', { token: t })).status).toBe(403);
        expect((await call('PUT', '/api/secrets/shared_key', { token: t, body: { value: 'pwned' } })).status).toBe(403);
        expect((await call('DELETE', '/api/secrets/shared_key', { token: t })).status).toBe(403);
      }
      expect((await call('GET', '/api/secrets', { token: artist })).status).toBe(403);
      expect((await call('GET', '/api/secrets', { token: null })).status).toBe(401);
      expect((await call('GET', '/api/secrets/shared_key')).json.value).toBe('top-secret');
    });
  });

  // ------------------------------------------------------------------------------------------- packages

  const installer = (data: Buffer, over: Record<string, unknown> = {}) => ({
    filename: `AYON-${randomBytes(3).toString('hex')}-linux.sh`,
    version: `1.${randomBytes(2).readUInt16BE()}.0`,
    pythonVersion: '3.11.9',
    platform: 'linux',
    pythonModules: { requests: '2.31.0' },
    runtimePythonModules: { PySide6: '6.7.1' },
    checksum: md5(data),
    checksumAlgorithm: 'md5',
    size: data.length,
    ...over,
  });

  describe('installers', () => {
    it('create (201) → chunked upload (204) → list with a server source → download with Content-Length, Range and HEAD', async () => {
      const data = randomBytes(300_000);
      const m = installer(data, { sources: [{ type: 'http', url: 'https://example.com/a.sh' }] });
      const created = await call('POST', '/api/desktop/installers', { body: m });
      expect(created.status).toBe(201);
      let list = (await call('GET', `/api/desktop/installers?version=${m.version}`)).json.installers;
      expect(list).toHaveLength(1);
      expect(list[0].sources).toEqual([{ type: 'http', url: 'https://example.com/a.sh' }]);
      expect((await call('GET', `/api/desktop/installers/${m.filename}`)).status).toBe(404);

      expect((await call('PUT', `/api/desktop/installers/${m.filename}`, { raw: chunked(data) })).status).toBe(204);
      list = (await call('GET', `/api/desktop/installers?version=${m.version}&platform=linux`, { token: artist })).json.installers;
      expect(list[0]).toEqual({ ...m, sources: [{ type: 'server' }, { type: 'http', url: 'https://example.com/a.sh' }] });
      expect((await call('GET', `/api/desktop/installers?version=${m.version}&platform=darwin`)).json.installers).toEqual([]);

      const down = await call('GET', `/api/desktop/installers/${m.filename}`, { token: artist });
      expect(down.status).toBe(200);
      expect(down.headers.get('content-length')).toBe(String(data.length));
      expect(down.headers.get('content-disposition')).toContain('attachment');
      expect(md5(down.buf)).toBe(m.checksum);
      expect(down.buf.equals(data)).toBe(true);
      const part = await call('GET', `/api/desktop/installers/${m.filename}`, { headers: { range: 'bytes=1000-' } });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe(`bytes 1000-${data.length - 1}/${data.length}`);
      expect(part.buf.equals(data.subarray(1000))).toBe(true);
      expect((await call('GET', `/api/desktop/installers/${m.filename}`, { headers: { range: `bytes=${data.length}-` } })).status).toBe(416);
      const head = await fetch(`${base}/api/desktop/installers/${m.filename}`, { method: 'HEAD', headers: { authorization: `Bearer ${admin}` } });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-length')).toBe(String(data.length));
    });

    it('a wrong checksum, a wrong size or an empty body is refused with 400 and leaves no file behind', async () => {
      const data = randomBytes(70_000);
      const m = installer(data, { checksum: sha256(Buffer.from('other')), checksumAlgorithm: 'sha256' });
      expect((await call('POST', '/api/desktop/installers', { body: m })).status).toBe(201);
      const before = desktopBlobs().length;
      const bad = await call('PUT', `/api/desktop/installers/${m.filename}`, { raw: chunked(data) });
      expect(bad.status).toBe(400);
      expect(bad.json.detail).toMatch(/checksum mismatch/i);
      expect(desktopBlobs().length).toBe(before);
      expect((await call('GET', `/api/desktop/installers/${m.filename}`)).status).toBe(404);
      expect((await call('GET', `/api/desktop/installers?version=${m.version}`)).json.installers[0].sources).toEqual([]);

      const sized = installer(data, { checksum: undefined, checksumAlgorithm: undefined });
      expect((await call('POST', '/api/desktop/installers', { body: sized })).status).toBe(201);
      expect((await call('PUT', `/api/desktop/installers/${sized.filename}`, { raw: chunked(Buffer.concat([data, Buffer.from('x')])) })).status).toBe(400);
      expect((await call('PUT', `/api/desktop/installers/${sized.filename}`, { raw: data.subarray(1) })).status).toBe(400);
      const empty = await call('PUT', `/api/desktop/installers/${sized.filename}`, { raw: Buffer.alloc(0) });
      expect(empty.status).toBe(400);
      expect(desktopBlobs().length).toBe(before);
      // far larger than declared: refused as soon as the limit is passed, the rest drained, the server lives on
      const t0 = Date.now();
      expect((await call('PUT', `/api/desktop/installers/${sized.filename}`, { raw: chunked(randomBytes(3_000_000)) })).status).toBe(400);
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(desktopBlobs().length).toBe(before);
      // the right bytes then go through
      expect((await call('PUT', `/api/desktop/installers/${sized.filename}`, { raw: data })).status).toBe(204);
      expect(desktopBlobs().length).toBe(before + 1);
    });

    it('a failed re-upload keeps the previous file; a good one replaces it without leaving the old blob', async () => {
      const data = randomBytes(10_000);
      const m = installer(data, { checksum: sha256(data), checksumAlgorithm: 'sha256' });
      await call('POST', '/api/desktop/installers', { body: m });
      const before = desktopBlobs().length;
      expect((await call('PUT', `/api/desktop/installers/${m.filename}`, { raw: data })).status).toBe(204);
      expect((await call('PUT', `/api/desktop/installers/${m.filename}`, { raw: randomBytes(10_000) })).status).toBe(400);
      expect((await call('GET', `/api/desktop/installers/${m.filename}`)).buf.equals(data)).toBe(true);
      expect((await call('PUT', `/api/desktop/installers/${m.filename}`, { raw: data })).status).toBe(204);
      expect(desktopBlobs().length).toBe(before + 1);
    });

    it('an upload cut off by the client leaves no file and no half-written blob', async () => {
      const data = randomBytes(400_000);
      const m = installer(data);
      expect((await call('POST', '/api/desktop/installers', { body: m })).status).toBe(201);
      const before = desktopBlobs().length;
      const u = new URL(`${base}/api/desktop/installers/${m.filename}`);
      await new Promise<void>((resolve) => {
        const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'PUT', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' } });
        req.on('error', () => resolve());
        req.write(data.subarray(0, 100_000));
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 200);
      });
      const tmpDir = path.join(srv.config.dataDir, 'blobs', '.tmp');
      for (let i = 0; i < 50 && filesUnder(tmpDir).some((f) => f.endsWith('.part')); i++) await new Promise((r) => setTimeout(r, 100));
      expect(filesUnder(tmpDir).filter((f) => f.endsWith('.part'))).toEqual([]);
      expect(desktopBlobs().length).toBe(before);
      expect((await call('GET', `/api/desktop/installers/${m.filename}`)).status).toBe(404);
      expect((await call('PUT', `/api/desktop/installers/${m.filename}`, { raw: chunked(data) })).status).toBe(204);
    });

    it('?variant=production|staging lists the installer of that bundle; no such bundle is 404', async () => {
      const staging = await call('GET', '/api/desktop/installers?variant=staging');
      expect(staging.status).toBe(404);
      expect(staging.json.detail).toBe('No staging bundle found');
      const data = randomBytes(100);
      const m = installer(data, { version: '8.1.2' });
      await call('POST', '/api/desktop/installers', { body: m });
      await call('POST', '/api/desktop/installers', { body: installer(data, { version: '8.1.3' }) });
      const b = await call('POST', '/api/bundles', { body: { name: `desk_bundle_${randomBytes(3).toString('hex')}`, addons: {}, installerVersion: '8.1.2', isProduction: true } });
      expect(b.status).toBe(201);
      const prod = await call('GET', '/api/desktop/installers?variant=production');
      expect(prod.json.installers.map((i: { filename: string }) => i.filename)).toEqual([m.filename]);
      expect((await call('GET', '/api/desktop/installers?variant=dev')).status).toBe(400);
    });

    it('concurrent uploads of one file and a concurrent delete leave no orphaned blob', async () => {
      const data = randomBytes(200_000);
      const m = installer(data);
      await call('POST', '/api/desktop/installers', { body: m });
      const before = desktopBlobs().length;
      const codes = await Promise.all(Array.from({ length: 6 }, () => call('PUT', `/api/desktop/installers/${m.filename}`, { raw: chunked(data, 8192) }).then((r) => r.status)));
      expect(codes).toEqual(Array(6).fill(204));
      expect(desktopBlobs().length).toBe(before + 1);
      expect((await call('GET', `/api/desktop/installers/${m.filename}`)).buf.equals(data)).toBe(true);
      const racing = await Promise.all([
        call('PUT', `/api/desktop/installers/${m.filename}`, { raw: chunked(data, 8192) }).then((r) => r.status),
        call('DELETE', `/api/desktop/installers/${m.filename}`).then((r) => r.status),
      ]);
      expect(racing[1]).toBe(204);
      expect([204, 404, 409]).toContain(racing[0]);
      expect(desktopBlobs().length).toBe(before);
    });

    it('PATCH replaces sources; DELETE removes manifest and file; both are admin-only', async () => {
      const data = randomBytes(1000);
      const m = installer(data);
      await call('POST', '/api/desktop/installers', { body: m });
      await call('PUT', `/api/desktop/installers/${m.filename}`, { raw: data });
      const before = desktopBlobs().length;
      expect((await call('PATCH', `/api/desktop/installers/${m.filename}`, { body: { sources: [{ type: 'url', url: 'https://m.example.com/x' }] } })).status).toBe(204);
      expect((await call('GET', `/api/desktop/installers?version=${m.version}`)).json.installers[0].sources).toEqual([{ type: 'server' }, { type: 'http', url: 'https://m.example.com/x' }]);
      expect((await call('PATCH', `/api/desktop/installers/${m.filename}`, { body: { sources: [{ type: 'ftp' }] } })).status).toBe(400);
      for (const t of [artist, manager]) {
        expect((await call('PATCH', `/api/desktop/installers/${m.filename}`, { token: t, body: { sources: [] } })).status).toBe(403);
        expect((await call('DELETE', `/api/desktop/installers/${m.filename}`, { token: t })).status).toBe(403);
        expect((await call('PUT', `/api/desktop/installers/${m.filename}`, { token: t, raw: data })).status).toBe(403);
        expect((await call('POST', '/api/desktop/installers', { token: t, body: installer(data) })).status).toBe(403);
      }
      expect((await call('DELETE', `/api/desktop/installers/${m.filename}`)).status).toBe(204);
      expect(desktopBlobs().length).toBe(before - 1);
      expect((await call('GET', `/api/desktop/installers?version=${m.version}`)).json.installers).toEqual([]);
      expect((await call('DELETE', `/api/desktop/installers/${m.filename}`)).status).toBe(404);
      expect((await call('PATCH', `/api/desktop/installers/${m.filename}`, { body: { sources: [] } })).status).toBe(404);
    });

    it('refuses path tricks in filenames, unknown platforms and checksum algorithms, duplicates; nothing is stored', async () => {
      const data = randomBytes(10);
      for (const filename of ['../x.sh', 'a/b.sh', '..', '.', 'a..b', 'sp ace.sh', 'back\\slash.exe', '', 'x'.repeat(256)]) {
        const r = await call('POST', '/api/desktop/installers', { body: installer(data, { filename, version: '0.0.1' }) });
        expect(r.status, filename).toBe(400);
        expect(r.json.code).toBe(400);
      }
      expect((await call('POST', '/api/desktop/installers', { body: installer(data, { platform: 'amiga', version: '0.0.1' }) })).status).toBe(400);
      expect((await call('POST', '/api/desktop/installers', { body: installer(data, { checksumAlgorithm: 'crc32', version: '0.0.1' }) })).status).toBe(400);
      expect((await call('POST', '/api/desktop/installers', { body: installer(data, { checksum: 'nothex', checksumAlgorithm: 'md5', version: '0.0.1' }) })).status).toBe(400);
      expect((await call('POST', '/api/desktop/installers', { body: installer(data, { version: undefined }) })).status).toBe(400);
      expect((await call('GET', '/api/desktop/installers?version=0.0.1')).json.installers).toEqual([]);
      expect((await call('GET', '/api/desktop/installers?platform=amiga')).status).toBe(400);

      const m = installer(data);
      expect((await call('POST', '/api/desktop/installers', { body: m })).status).toBe(201);
      expect((await call('POST', '/api/desktop/installers', { body: m })).status).toBe(409);
      // another file name with the same version and platform
      expect((await call('POST', '/api/desktop/installers', { body: { ...m, filename: `other-${m.filename}` } })).status).toBe(409);
      // force replaces the manifest (and drops its file)
      expect((await call('POST', '/api/desktop/installers?force=true', { body: { ...m, pythonVersion: '3.12' } })).status).toBe(201);
      expect((await call('GET', `/api/desktop/installers?version=${m.version}`)).json.installers[0].pythonVersion).toBe('3.12');
      // installing from a URL would need a downloader: refused honestly
      expect((await call('POST', '/api/desktop/installers?url=https://example.com/x.sh', { body: installer(data) })).status).toBe(501);
      expect((await call('PUT', '/api/desktop/installers/no-such-file.sh', { raw: data })).status).toBe(404);
    });
  });

  describe('dependency packages', () => {
    it('create → upload → list → download (checksum verified) → patch → delete, under "packages"', async () => {
      const data = randomBytes(123_457);
      const filename = `ayon_${randomBytes(4).toString('hex')}_windows.zip`;
      const m = {
        filename,
        pythonModules: { numpy: '1.26.4', nested: { version: '1', url: 'x' } },
        sourceAddons: { core: '1.0.0', dropped: null },
        installer_version: '1.0.0', // snake_case accepted
        checksum: sha256(data),
        checksumAlgorithm: 'sha256',
        size: data.length,
        platform: 'windows',
      };
      expect((await call('POST', '/api/desktop/dependencyPackages', { body: m })).status).toBe(201);
      expect((await call('PUT', `/api/desktop/dependencyPackages/${filename}`, { raw: chunked(data, 10_000) })).status).toBe(204);
      const listed = (await call('GET', '/api/desktop/dependencyPackages', { token: artist })).json.packages.find((p: { filename: string }) => p.filename === filename);
      expect(listed).toEqual({
        filename,
        platform: 'windows',
        size: data.length,
        checksum: m.checksum,
        checksumAlgorithm: 'sha256',
        sources: [{ type: 'server' }],
        installerVersion: '1.0.0',
        sourceAddons: { core: '1.0.0' },
        pythonModules: { numpy: '1.26.4', nested: { version: '1', url: 'x' } },
      });
      const down = await call('GET', `/api/desktop/dependencyPackages/${filename}`, { token: artist });
      expect(sha256(down.buf)).toBe(m.checksum);
      expect((await call('PATCH', `/api/desktop/dependencyPackages/${filename}`, { body: { sources: [{ type: 'http', url: 'https://e.com/p.zip' }] } })).status).toBe(204);
      expect((await call('DELETE', `/api/desktop/dependencyPackages/${filename}`, { token: artist })).status).toBe(403);
      expect((await call('DELETE', `/api/desktop/dependencyPackages/${filename}`)).status).toBe(204);
      expect((await call('GET', `/api/desktop/dependencyPackages/${filename}`)).status).toBe(404);
      expect((await call('GET', '/api/desktop/dependencyPackages')).json.packages.map((p: { filename: string }) => p.filename)).not.toContain(filename);
    });

    it('requires installerVersion; refuses bad filenames; an installer and a package may share a file name', async () => {
      expect((await call('POST', '/api/desktop/dependencyPackages', { body: { filename: 'x.zip', platform: 'linux' } })).status).toBe(400);
      expect((await call('POST', '/api/desktop/dependencyPackages', { body: { filename: '../x.zip', platform: 'linux', installerVersion: '1.0.0' } })).status).toBe(400);
      const name = `shared-${randomBytes(3).toString('hex')}.zip`;
      expect((await call('POST', '/api/desktop/dependencyPackages', { body: { filename: name, platform: 'linux', installerVersion: '1.0.0' } })).status).toBe(201);
      expect((await call('POST', '/api/desktop/installers', { body: { filename: name, platform: 'linux', version: `5.${randomBytes(1)[0]}.1` } })).status).toBe(201);
      expect((await call('PUT', `/api/desktop/dependencyPackages/${name}`, { raw: Buffer.from('pkg') })).status).toBe(204);
      expect((await call('GET', `/api/desktop/installers/${name}`)).status).toBe(404);
      expect((await call('GET', `/api/desktop/dependencyPackages/${name}`)).buf.toString()).toBe('pkg');
    });
  });

  // ------------------------------------------------------------------------------------------- actions

  describe('actions', () => {
    it('lists no actions (no addon code runs here), for guests too; a bad mode is 400', async () => {
      expect((await call('POST', '/api/actions/list?variant=production', { body: {} })).json).toEqual({ actions: [] });
      expect((await call('POST', '/api/actions/list?mode=all', { body: { projectName: 'p', entityType: 'folder', entityIds: ['a'] }, token: artist })).json).toEqual({ actions: [] });
      expect((await call('POST', '/api/actions/list?mode=nope', { body: {} })).status).toBe(400);
      const g = await srv.createUser({ role: 'guest', password: 'guest-password-1' });
      const guest = await login(g.email, 'guest-password-1');
      expect((await call('POST', '/api/actions/list', { body: { projectName: 'p' }, token: guest })).json).toEqual({ actions: [] });
      expect((await call('POST', '/api/actions/config?addonName=core&addonVersion=1.0.0&identifier=x', { body: {}, token: guest })).status).toBe(403);
      expect((await call('GET', '/api/secrets', { token: guest })).status).toBe(403);
      expect((await call('GET', '/api/desktop/installers', { token: guest })).status).toBe(403);
      expect((await call('GET', '/api/actions/manage')).json).toEqual([]);
      expect((await call('GET', '/api/actions/manage', { token: artist })).status).toBe(403);
      expect((await call('POST', '/api/actions/list', { body: { projectName: 'p', entityType: 'spaceship' } })).status).toBe(400);
    });

    it('execute answers AYON’s response shape with success=false; bad addon address is 400', async () => {
      const r = await call('POST', '/api/actions/execute?addonName=applications&addonVersion=1.2.3&identifier=launch&variant=production', { body: { projectName: 'p' } });
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({ type: 'simple', success: false, payload: null });
      expect(r.json.message).toMatch(/not available/);
      expect((await call('POST', '/api/actions/execute?addonName=applications&addonVersion=v1&identifier=launch', { body: {} })).status).toBe(400);
      expect((await call('POST', '/api/actions/execute?addonVersion=1.0.0&identifier=launch', { body: {} })).status).toBe(400);
    });

    it('stores configs per user, addon, identifier and project; an empty value clears', async () => {
      const q = (addon = 'core', id = 'publish') => `/api/actions/config?addonName=${addon}&addonVersion=1.0.0&identifier=${id}&variant=production`;
      expect((await call('POST', q(), { body: { projectName: 'p1' } })).json).toEqual({});
      expect((await call('POST', q(), { body: { projectName: 'p1', value: { host: 'a' } } })).json).toEqual({ host: 'a' });
      expect((await call('POST', q(), { body: { projectName: 'p1' } })).json).toEqual({ host: 'a' });
      expect((await call('POST', q(), { body: { projectName: 'p2' } })).json).toEqual({});
      expect((await call('POST', q(), { body: {} })).json).toEqual({});
      expect((await call('POST', q('other'), { body: { projectName: 'p1' } })).json).toEqual({});
      expect((await call('POST', q('core', 'x'), { body: { projectName: 'p1' } })).json).toEqual({});
      expect((await call('POST', q(), { body: { projectName: 'p1' }, token: artist })).json).toEqual({});
      expect((await call('POST', q(), { body: { projectName: 'p1', value: { host: 'b' } } })).json).toEqual({ host: 'b' });
      expect((await call('POST', q(), { body: { projectName: 'p1' } })).json).toEqual({ host: 'b' });
      expect((await call('POST', q(), { body: { projectName: 'p1', value: {} } })).json).toEqual({});
      expect((await call('POST', q(), { body: { projectName: 'p1' } })).json).toEqual({});
      expect((await call('POST', q(), { body: { value: 'not a dict' } })).status).toBe(400);
    });

    it('take (also via GET …/abort, the client quirk) marks an action.launcher event in_progress; abort marks it aborted', async () => {
      const ayon = srv.app.services.ayon;
      const token = randomBytes(32).toString('hex');
      const token2 = randomBytes(32).toString('hex');
      const summary = { addon_name: 'applications', addon_version: '1.2.3', variant: 'production', action_identifier: 'launch-maya' };
      const payload = { args: ['-file', 'x.ma'], context: { project_name: 'p1', entity_type: 'task', entity_ids: ['t1'], entity_subtypes: null, form_data: null } };
      await ayon.events.dispatch(ayon.store.db, [
        { topic: 'action.launcher', hash: token, status: 'pending', user: 'desk_artist', project: 'p1', summary, payload },
        { topic: 'action.launcher', hash: token2, status: 'pending', user: 'desk_artist', summary, payload },
      ]);
      const taken = await call('GET', `/api/actions/abort/${token}`, { token: artist });
      expect(taken.status).toBe(200);
      expect(taken.json).toMatchObject({
        actionIdentifier: 'launch-maya',
        args: ['-file', 'x.ma'],
        context: { projectName: 'p1', entityType: 'task', entityIds: ['t1'] },
        addonName: 'applications',
        addonVersion: '1.2.3',
        variant: 'production',
        userName: 'desk_artist',
      });
      expect(taken.json.eventId).toMatch(/^[0-9a-f]{32}$/);
      const status = async (t: string) => (await ayon.store.db.selectFrom('ayon_events').select(['status', 'description']).where('hash', '=', t).executeTakeFirstOrThrow());
      expect((await status(token)).status).toBe('in_progress');
      // taken once only
      expect((await call('GET', `/api/actions/take/${token}`, { token: artist })).status).toBe(404);
      expect((await call('POST', `/api/actions/abort/${token}`, { token: artist, body: { message: 'Maya crashed' } })).status).toBe(200);
      expect(await status(token)).toEqual({ status: 'aborted', description: 'Maya crashed' });
      expect((await call('POST', `/api/actions/abort/${token}`, { body: {} })).status).toBe(404);
      expect((await call('GET', `/api/actions/take/${token2}`)).status).toBe(200);
      expect((await call('POST', `/api/actions/abort/${token2}`, { body: {} })).status).toBe(200);
      expect((await status(token2)).description).toBe('Action aborted by user');
      expect((await call('GET', '/api/actions/take/not-a-token')).status).toBe(400);
      expect((await call('GET', `/api/actions/take/${randomBytes(32).toString('hex')}`)).status).toBe(404);
    });
  });
});

describe('AYON secrets never reach the log', () => {
  it('logs requests at trace level without any secret value', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'atrium-desk-log-'));
    const tdb = await createTestDatabase('sqlite');
    const config = loadConfig({ ATRIUM_PORT: '0', ATRIUM_HOST: '127.0.0.1', ATRIUM_DATA_DIR: dataDir, ATRIUM_LOG_LEVEL: 'trace' });
    config.database = tdb.config;
    const app = await buildApp(config, { logger: { level: 'trace', stream } });
    try {
      const url = await app.listen();
      const user = await app.services.identity.createUser({ email: 'log-admin@example.com', name: 'Log Admin', password: 'log-admin-password', role: 'admin' });
      void user;
      const login = await fetch(`${url}/ayon/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'log-admin@example.com', password: 'log-admin-password' }) });
      const token = (await login.json()).token;
      const h = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      const value = `S3CR3T-${randomBytes(12).toString('hex')}`;
      expect((await fetch(`${url}/ayon/api/secrets/logged_secret`, { method: 'PUT', headers: h, body: JSON.stringify({ name: 'logged_secret', value }) })).status).toBe(204);
      expect((await (await fetch(`${url}/ayon/api/secrets/logged_secret`, { headers: h })).json()).value).toBe(value);
      expect((await fetch(`${url}/ayon/api/secrets`, { headers: h })).status).toBe(200);
      // a bad request carrying the value must not echo it into the log either
      expect((await fetch(`${url}/ayon/api/secrets/bad%20name`, { method: 'PUT', headers: h, body: JSON.stringify({ value }) })).status).toBe(400);
      expect((await fetch(`${url}/ayon/api/secrets/logged_secret`, { method: 'PUT', headers: h, body: `{"value": "${value}"` })).status).toBe(400);
      expect((await fetch(`${url}/ayon/api/secrets/logged_secret`, { method: 'DELETE', headers: h })).status).toBe(204);
      expect(lines.length).toBeGreaterThan(5); // the log did capture the requests
      expect(lines.join('')).not.toContain(value);
    } finally {
      await app.close();
      await tdb.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
