/**
 * Version analytics datasets end to end, on every store kind: a version is created → the durable job
 * builds `{v}.duckdb` and `{v}.eav.duckdb` → GraphQL `objectKey`/`packfileSize` turn non-null → the
 * download routes stream real DuckDB files, opened and queried here with @duckdb/node-api. Also: the
 * HTTP contract of the downloads (headers, ranges, HEAD, 304), access (401/403/404), on-demand builds
 * of versions that predate the feature, faults (missing root or children, odd values) that end in a
 * recorded failure or a correct file, clean-up when a version is deleted, and serving over TLS.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { startTestServer, storeKinds, type TestServer } from './helpers/server.js';
import { gql } from './helpers/http.js';
import { DATASET_BUILD_JOB, DatasetBuildError, datasetBlobPrefix } from '../src/services/datasets.js';
import { revitLikeVersion } from '../../../bench/datasets-model.mjs';

const SCOPES = ['streams:read', 'streams:write', 'profile:read', 'users:read'];
const AVAILABILITY = `query DatasetAvailability($projectId: String!, $modelId: String!, $versionId: String!) {
  project(id: $projectId) { model(id: $modelId) { version(id: $versionId) { id objectKey packfileSize referencedObject createdAt } } } }`;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'atrium-datasets-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Rows of a query on a DuckDB file opened read-only, BIGINTs as numbers. */
async function query(file: string, sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
  const con = await instance.connect();
  try {
    const reader = await con.runAndReadAll(sql);
    return reader.getRowObjectsJS().map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])));
  } finally {
    con.closeSync();
    instance.closeSync();
  }
}

const counts = (rows: Record<string, unknown>[], key: string) => Object.fromEntries(rows.map((r) => [r[key] as string, r.count as number]));

describe.each(storeKinds)('version datasets on %s', (kind) => {
  let server: TestServer;
  let token: string;
  let auth: NonNullable<Awaited<ReturnType<TestServer['app']['services']['identity']['authenticateToken']>>>;
  let projectId: string;
  let modelId: string;

  const services = () => server.app.services;
  const url = (p: string, m: string, v: string, eav = false) => `${server.url}/api/v1/projects/${p}/models/${m}/versions/${v}/${eav ? 'eav/' : ''}download`;

  async function sendVersion(model: ReturnType<typeof revitLikeVersion>, into = { projectId, modelId }) {
    await services().objects.insertBatch(into.projectId, [...model.children, model.root]);
    return services().projects.createVersion(auth, { projectId: into.projectId, modelId: into.modelId, objectId: model.root.id });
  }

  async function download(u: string, headers: Record<string, string> = { authorization: `Bearer ${token}` }): Promise<{ res: Response; body: Buffer }> {
    const res = await fetch(u, { headers });
    return { res, body: Buffer.from(await res.arrayBuffer()) };
  }

  async function downloadTo(u: string, name: string): Promise<string> {
    const { res, body } = await download(u);
    expect(res.status, body.toString().slice(0, 300)).toBe(200);
    const file = path.join(tmp, `${kind}-${name}`);
    fs.writeFileSync(file, body);
    return file;
  }

  async function blobKeys(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const k of services().blobs.list(prefix)) keys.push(k);
    return keys;
  }

  const waitReady = (versionId: string) =>
    until(`datasets of ${versionId}`, async () => {
      const r = await services().datasets.records(versionId);
      return r.main?.status === 'ready' && r.eav?.status === 'ready' ? r : null;
    });

  beforeAll(async () => {
    server = await startTestServer(kind);
    const owner = await server.createUser({ name: 'Owner' });
    token = await server.createToken(owner.id, SCOPES);
    auth = (await services().identity.authenticateToken(token))!;
    const project = await services().projects.createProject(auth, { name: 'Analytics' });
    projectId = project.id;
    modelId = (await services().projects.getModelByName(projectId, 'main'))!.id;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('builds both DuckDB files when a version is created, with the objects, categories and levels that were sent', async () => {
    const model = revitLikeVersion({ elements: 120, seed: 7 });
    const version = await sendVersion(model);

    const availability = await until('objectKey', async () => {
      const { body } = await gql(server.url, AVAILABILITY, { projectId, modelId, versionId: version.id }, token);
      expect(body.errors).toBeUndefined();
      const v = body.data.project.model.version;
      return v.objectKey ? v : null;
    });
    expect(availability.referencedObject).toBe(model.root.id);
    const ready = await waitReady(version.id);
    expect(availability.objectKey).toBe(ready.main!.blobKey);
    expect(availability.objectKey).toMatch(new RegExp(`^datasets/${projectId}/${version.id}/${version.id}-[0-9a-f]{12}\\.duckdb$`));
    expect(ready.eav!.blobKey).toMatch(/\.eav\.duckdb$/);

    const main = await downloadTo(url(projectId, modelId, version.id), `${version.id}.duckdb`);
    expect(fs.statSync(main).size).toBe(availability.packfileSize);
    expect(fs.readFileSync(main).subarray(8, 12).toString('latin1')).toBe('DUCK');
    expect((await query(main, 'SELECT COUNT(*) AS n FROM objects'))[0].n).toBe(model.expected.objectCount);
    expect(model.expected.objectCount).toBe(Object.keys(model.root.__closure).length + 1);
    // the root is the last row, and the only row of `root`
    expect((await query(main, 'SELECT id FROM objects ORDER BY rowid DESC LIMIT 1'))[0].id).toBe(model.root.id);
    const root = await query(main, 'SELECT id, data FROM root');
    expect(root).toHaveLength(1);
    expect(JSON.parse(root[0].data as string)).toEqual(model.root);
    expect((await query(main, 'SELECT COUNT(*) AS n FROM blobs'))[0].n).toBe(0);
    const types = counts(await query(main, 'SELECT speckle_type, COUNT(*) AS count FROM objects GROUP BY 1'), 'speckle_type');
    expect(types['Objects.Data.DataObject:Objects.Data.RevitObject']).toBe(120);
    expect(types['Objects.Geometry.Mesh']).toBe(120);
    const oneElement = model.children.find((o) => o.speckle_type.includes('RevitObject'))!;
    const stored = await query(main, `SELECT data->>'$.category' AS category, json_extract(data, '$.properties.Parameters') IS NOT NULL AS has FROM objects WHERE id = '${oneElement.id}'`);
    expect(stored[0]).toEqual({ category: oneElement.category, has: true });

    const eav = await downloadTo(url(projectId, modelId, version.id, true), `${version.id}.eav.duckdb`);
    const categories = await query(eav, `SELECT value_text AS category, COUNT(*) AS count FROM properties WHERE path = 'category' AND value_text IS NOT NULL GROUP BY value_text ORDER BY count DESC LIMIT 25`);
    expect(counts(categories, 'category')).toEqual(model.expected.categoryCounts);
    const levels = await query(eav, `SELECT value_text AS level_name, COUNT(*) AS count FROM properties WHERE path = 'proxy.level' AND value_text IS NOT NULL GROUP BY value_text ORDER BY count DESC LIMIT 25`);
    expect(counts(levels, 'level_name')).toEqual(model.expected.levelCounts);
    const length = await query(eav, `SELECT value_num, type, units, internal_definition_name FROM properties WHERE object_id = '${oneElement.id}' AND path = 'properties.Parameters.Instance Parameters.Dimensions.Length'`);
    expect(length).toEqual([
      { value_num: oneElement.properties.Parameters['Instance Parameters'].Dimensions.Length.value, type: 'number', units: 'mm', internal_definition_name: 'CURVE_ELEM_LENGTH' },
    ]);
    const proxies = counts(await query(eav, 'SELECT proxy_type, COUNT(*) AS count FROM proxies GROUP BY 1'), 'proxy_type');
    expect(proxies).toEqual({ level: 120, renderMaterial: 120 });
    expect((await query(eav, 'SELECT COUNT(*) AS n FROM proxies WHERE object_id IS NULL'))[0].n).toBe(0);
    const indexes = (await query(eav, 'SELECT index_name FROM duckdb_indexes() ORDER BY 1')).map((r) => r.index_name);
    expect(indexes).toEqual(['idx_props_obj', 'idx_props_path', 'idx_proxies_obj']);
    const rec = (await services().datasets.records(version.id)).eav!;
    expect((await query(eav, 'SELECT COUNT(*) AS n FROM properties'))[0].n).toBe(rec.rowCount);
  });

  it('serves downloads with length, type, disposition, ETag, byte ranges, HEAD and 304', async () => {
    const model = revitLikeVersion({ elements: 20, seed: 11 });
    const version = await sendVersion(model);
    const rec = (await waitReady(version.id)).main!;
    const u = url(projectId, modelId, version.id);
    const auth = { authorization: `Bearer ${token}` };

    const full = await download(u, { ...auth, 'accept-encoding': 'gzip, deflate, br' });
    expect(full.res.status).toBe(200);
    expect(full.res.headers.get('content-type')).toBe('application/octet-stream');
    expect(full.res.headers.get('content-length')).toBe(String(rec.size));
    expect(full.res.headers.get('content-encoding')).toBeNull();
    expect(full.res.headers.get('content-disposition')).toBe(`attachment; filename="${version.id}.duckdb"`);
    expect(full.res.headers.get('accept-ranges')).toBe('bytes');
    expect(full.res.headers.get('etag')).toBe(`"${rec.sha256}"`);
    expect(full.body.length).toBe(rec.size);

    const part = await download(u, { ...auth, range: 'bytes=100-199' });
    expect(part.res.status).toBe(206);
    expect(part.res.headers.get('content-range')).toBe(`bytes 100-199/${rec.size}`);
    expect(part.res.headers.get('content-length')).toBe('100');
    expect(part.body.equals(full.body.subarray(100, 200))).toBe(true);

    const tail = await download(u, { ...auth, range: 'bytes=-10' });
    expect(tail.res.status).toBe(206);
    expect(tail.body.equals(full.body.subarray(full.body.length - 10))).toBe(true);
    const open = await download(u, { ...auth, range: `bytes=${rec.size! - 5}-` });
    expect(open.body.equals(full.body.subarray(full.body.length - 5))).toBe(true);

    const past = await download(u, { ...auth, range: `bytes=${rec.size}-` });
    expect(past.res.status).toBe(416);
    expect(past.res.headers.get('content-range')).toBe(`bytes */${rec.size}`);
    // several ranges, or a stale If-Range: the whole file
    expect((await download(u, { ...auth, range: 'bytes=0-1,5-6' })).res.status).toBe(200);
    expect((await download(u, { ...auth, range: 'bytes=0-1', 'if-range': '"other"' })).res.status).toBe(200);
    expect((await download(u, { ...auth, range: 'bytes=0-1', 'if-range': `"${rec.sha256}"` })).res.status).toBe(206);

    const head = await fetch(u, { method: 'HEAD', headers: auth });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(rec.size));
    expect((await head.arrayBuffer()).byteLength).toBe(0);

    const notModified = await download(u, { ...auth, 'if-none-match': `"${rec.sha256}"` });
    expect(notModified.res.status).toBe(304);
  });

  it('answers 401 anonymous, 403 without access, 404 for unknown or mismatched ids', async () => {
    const model = revitLikeVersion({ elements: 5, seed: 3 });
    const version = await sendVersion(model);
    await waitReady(version.id);
    const u = url(projectId, modelId, version.id);
    const anon = await download(u, {});
    expect(anon.res.status).toBe(401);
    expect(JSON.parse(anon.body.toString()).error.code).toBe('UNAUTHORIZED');

    const stranger = await server.createUser({ name: 'Stranger' });
    const strangerToken = await server.createToken(stranger.id, SCOPES);
    expect((await download(u, { authorization: `Bearer ${strangerToken}` })).res.status).toBe(403);
    expect((await download(url(projectId, modelId, version.id, true), { authorization: `Bearer ${strangerToken}` })).res.status).toBe(403);
    const noRead = await server.createToken((await services().identity.authenticateToken(token))!.userId, ['profile:read']);
    expect((await download(u, { authorization: `Bearer ${noRead}` })).res.status).toBe(403);
    expect((await download(u, { authorization: `Bearer ${'0'.repeat(42)}` })).res.status).toBe(403);

    expect((await download(url(projectId, modelId, 'nosuchvers'))).res.status).toBe(404);
    expect((await download(url('nosuchproj', modelId, version.id))).res.status).toBe(404);
    const other = await services().projects.createModel(auth, { projectId, name: 'other model' });
    expect((await download(url(projectId, other.id, version.id))).res.status).toBe(404);
    expect((await download(url(projectId, 'nosuchmodl', version.id))).res.status).toBe(404);

    // a public project is readable anonymously, and with the authn cookie or ?embedToken= too
    const pub = await services().projects.createProject(auth, { name: 'Public', visibility: 'PUBLIC' });
    const pubModel = (await services().projects.getModelByName(pub.id, 'main'))!;
    const pv = await sendVersion(model, { projectId: pub.id, modelId: pubModel.id });
    await waitReady(pv.id);
    expect((await download(url(pub.id, pubModel.id, pv.id), {})).res.status).toBe(200);
    expect((await download(u, { cookie: `authn=${token}` })).res.status).toBe(200);
  });

  it('builds on demand the datasets of a version that predates the feature, answering 404 until they are ready', async () => {
    const model = revitLikeVersion({ elements: 10, seed: 5 });
    await services().objects.insertBatch(projectId, [...model.children, model.root]);
    const versionId = `old${Date.now().toString(36)}`.slice(0, 10);
    // written straight to the table: no event, no job — as if created before datasets existed
    await server.app.store.db
      .insertInto('versions')
      .values({ id: versionId, project_id: projectId, model_id: modelId, referenced_object: model.root.id, author_id: null, message: 'old', source_application: 'py', total_children_count: 1, parents: '[]', created_at: Date.now() })
      .execute();
    expect(await services().datasets.records(versionId)).toEqual({});

    const first = await download(url(projectId, modelId, versionId));
    if (first.res.status !== 200) {
      expect(first.res.status).toBe(404);
      expect(first.res.headers.get('retry-after')).toBe('5');
      expect(JSON.parse(first.body.toString()).error.code).toBe('DATASET_NOT_READY');
    }
    const ready = await waitReady(versionId);
    const { body } = await gql(server.url, AVAILABILITY, { projectId, modelId, versionId }, token);
    expect(body.data.project.model.version.objectKey).toBe(ready.main!.blobKey);
    expect((await download(url(projectId, modelId, versionId, true))).res.status).toBe(200);
  });

  it('records a failure, and never serves a file, when the root object is missing', async () => {
    const versionId = `nor${Date.now().toString(36)}`.slice(0, 10);
    await server.app.store.db
      .insertInto('versions')
      .values({ id: versionId, project_id: projectId, model_id: modelId, referenced_object: 'f'.repeat(32), author_id: null, message: null, source_application: null, total_children_count: 1, parents: '[]', created_at: Date.now() })
      .execute();
    const { body } = await gql(server.url, AVAILABILITY, { projectId, modelId, versionId }, token);
    expect(body.data.project.model.version.objectKey).toBeNull();
    const recs = await until('a failed record', async () => {
      const r = await services().datasets.records(versionId);
      return r.main?.status === 'failed' ? r : null;
    });
    expect(recs.main!.error).toContain(`root object ${'f'.repeat(32)}`);
    expect(recs.eav!.status).toBe('failed');
    const res = await download(url(projectId, modelId, versionId));
    expect(res.res.status).toBe(404);
    expect(JSON.parse(res.body.toString()).error).toMatchObject({ code: 'DATASET_BUILD_FAILED' });
    expect(await blobKeys(datasetBlobPrefix(projectId, versionId))).toEqual([]);
  });

  it('fails a build whose closure lists missing objects, and records it after the last attempt', async () => {
    const model = revitLikeVersion({ elements: 10, seed: 9 });
    const missing = model.children.slice(0, 3).map((o) => o.id).sort();
    await services().objects.insertBatch(projectId, [...model.children.slice(3), model.root]);
    const versionId = `mis${Date.now().toString(36)}`.slice(0, 10);
    await server.app.store.db
      .insertInto('versions')
      .values({ id: versionId, project_id: projectId, model_id: modelId, referenced_object: model.root.id, author_id: null, message: null, source_application: null, total_children_count: 1, parents: '[]', created_at: Date.now() })
      .execute();
    const err = await services().datasets.build(projectId, versionId).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatasetBuildError);
    expect((err as DatasetBuildError).permanent).toBe(false);
    expect((err as Error).message).toContain(`3 of the ${model.expected.closureSize} objects`);
    expect((err as Error).message).toContain(missing[0]);
    expect(await services().datasets.records(versionId)).toEqual({});
    // the job's last attempt records the reason
    const job = { id: 0, type: DATASET_BUILD_JOB, payload: { projectId, versionId }, attempts: 5, maxAttempts: 5 };
    await expect(services().datasets.runJob(job, { signal: new AbortController().signal })).rejects.toThrow('missing');
    expect((await services().datasets.records(versionId)).main).toMatchObject({ status: 'failed' });
    expect(await blobKeys(datasetBlobPrefix(projectId, versionId))).toEqual([]);
    // once the objects arrive, a rebuild succeeds and replaces the failure
    await services().objects.insertBatch(projectId, model.children.slice(0, 3));
    const built = await services().datasets.build(projectId, versionId);
    expect(built.built).toEqual(['main', 'eav']);
    const first = await services().datasets.records(versionId);
    expect(first.main).toMatchObject({ status: 'ready', rowCount: model.expected.objectCount });
    // a forced rebuild stores new keys, switches the rows to them, and removes the old files
    const again = await services().datasets.build(projectId, versionId, { force: true });
    expect(again.built).toEqual(['main', 'eav']);
    const second = await services().datasets.records(versionId);
    expect(second.main!.blobKey).not.toBe(first.main!.blobKey);
    expect((await blobKeys(datasetBlobPrefix(projectId, versionId))).sort()).toEqual([second.main!.blobKey, second.eav!.blobKey].sort());
    expect((await download(url(projectId, modelId, versionId))).body.length).toBe(second.main!.size);
  });

  it('writes correct files for deeply nested, huge, non-UTF-8, numeric-string and NaN-like values', async () => {
    const odd = {
      speckle_type: 'Objects.Data.DataObject',
      applicationId: 'odd-1',
      name: 'odd',
      category: 'Odd \ud800 things',
      properties: {
        deep: '__DEEP__',
        huge: 'h'.repeat(200_000),
        numeric: '42.5',
        spaced: ' 7 ',
        nan: 'NaN',
        inf: 'Infinity',
        yes: 'TRUE',
        nul: 'a\u0000b',
        emoji: '😀',
      },
    };
    const oddId = 'a'.repeat(32);
    const rootBody = { speckle_type: 'Speckle.Core.Models.Collections.Collection', name: 'root', elements: [{ referencedId: oddId, speckle_type: 'reference' }], __closure: { [oddId]: 1 } };
    const root = { id: 'b'.repeat(32), ...rootBody };
    // 50,000 levels of nesting: written as text, since JSON.stringify (and so the objects service) cannot
    const depth = 50_000;
    const oddText = JSON.stringify({ id: oddId, ...odd }).replace('"__DEEP__"', `${'{"d":'.repeat(depth)}{"bottom":1}${'}'.repeat(depth)}`);
    await server.app.store.db
      .insertInto('objects')
      .values([oddId, root.id].map((id) => ({ project_id: projectId, id, speckle_type: id === oddId ? odd.speckle_type : root.speckle_type, total_children_count: null, data: id === oddId ? oddText : JSON.stringify(root), created_at: Date.now() })))
      .execute();
    const version = await services().projects.createVersion(auth, { projectId, modelId, objectId: root.id });
    await waitReady(version.id);
    const main = await downloadTo(url(projectId, modelId, version.id), 'odd.duckdb');
    expect((await query(main, 'SELECT COUNT(*) AS n FROM objects'))[0].n).toBe(2);
    const stored = await query(main, `SELECT json_valid(data) AS ok, data->>'$.category' AS category FROM objects WHERE id = '${oddId}'`);
    // the lone surrogate escape has no UTF-8 form: U+FFFD in the file, everything else as stored
    expect(stored[0]).toEqual({ ok: true, category: 'Odd \ufffd things' });
    const eav = await downloadTo(url(projectId, modelId, version.id, true), 'odd.eav.duckdb');
    const rows = Object.fromEntries(
      (await query(eav, `SELECT path, value_text, value_num, type FROM properties WHERE object_id = '${oddId}'`)).map((r) => [r.path, r]),
    );
    expect(rows.category.value_text).toBe('Odd \ufffd things');
    expect((rows['properties.huge'].value_text as string).length).toBe(65_536);
    expect(rows['properties.numeric']).toMatchObject({ value_text: '42.5', value_num: 42.5, type: 'number' });
    expect(rows['properties.spaced']).toMatchObject({ value_text: ' 7 ', value_num: 7, type: 'number' });
    expect(rows['properties.nan']).toMatchObject({ value_num: null, type: 'string' });
    expect(rows['properties.inf']).toMatchObject({ value_num: null, type: 'string' });
    expect(rows['properties.yes']).toMatchObject({ value_text: 'TRUE', type: 'boolean' });
    expect(rows['properties.nul'].value_text).toBe('a\u0000b');
    expect(rows['properties.emoji'].value_text).toBe('😀');
    expect(Object.keys(rows).filter((p) => p.startsWith('properties.deep')).map((p) => p.split('.').length)).toEqual([]);
  });

  it('removes the files of a deleted version', async () => {
    const version = await sendVersion(revitLikeVersion({ elements: 3, seed: 13 }));
    await waitReady(version.id);
    expect(await blobKeys(datasetBlobPrefix(projectId, version.id))).toHaveLength(2);
    await services().projects.deleteVersions(auth, { projectId, versionIds: [version.id] });
    await until('blobs removed', async () => (await blobKeys(datasetBlobPrefix(projectId, version.id))).length === 0);
    expect(await services().datasets.records(version.id)).toEqual({});
  });

  it('removes the files of a deleted project', async () => {
    const p = await services().projects.createProject(auth, { name: 'Doomed' });
    const m = (await services().projects.getModelByName(p.id, 'main'))!;
    const version = await sendVersion(revitLikeVersion({ elements: 3, seed: 14 }), { projectId: p.id, modelId: m.id });
    await waitReady(version.id);
    await services().projects.deleteProject(auth, p.id);
    await until('blobs removed', async () => (await blobKeys(`datasets/${p.id}`)).length === 0);
  });
});

describe('HTTPS', () => {
  let server: TestServer;
  let ca: string;
  beforeAll(async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'tls-'));
    const [key, cert] = [path.join(dir, 'key.pem'), path.join(dir, 'cert.pem')];
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
    ca = fs.readFileSync(cert, 'utf8');
    server = await startTestServer('sqlite', { ATRIUM_TLS_CERT: cert, ATRIUM_TLS_KEY: key });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('serves HTTPS with ATRIUM_TLS_CERT/KEY, and its public URL is https', async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(server.config.publicUrl).toBe(server.url);
    const body = await new Promise<string>((resolve, reject) => {
      const req = https.request(`${server.url}/graphql`, { method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ query: '{ serverInfo { canonicalUrl version } }' }));
    });
    expect(JSON.parse(body).data.serverInfo.canonicalUrl).toBe(server.url);
    // a client that does not trust the certificate is refused
    await expect(fetch(`${server.url}/graphql`)).rejects.toThrow();
  });
});
