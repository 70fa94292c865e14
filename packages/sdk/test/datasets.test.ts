/**
 * `client.version.downloadDataset` / `downloadEavDataset` against a real Atrium (in-process, on every
 * store kind): the files arrive whole (size, SHA-256 = ETag, real DuckDB databases), progress is
 * reported up to the Content-Length, a file is written under its name only once complete, and the
 * failures map to DatasetNotAvailableError (404, with the server's Retry-After) and SpeckleAuthError.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { DatasetNotAvailableError, SpeckleAuthError, SpeckleClient, type DatasetDownloadProgress } from '../src/index.js';
import { startTestServer, storeKinds } from '../../server/test/helpers/server.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
type Obj = Record<string, unknown> & { id: string };
/** bench/datasets-model.mjs (plain JavaScript, shared with the server's tests and benchmarks) */
const { revitLikeVersion } = (await import('../../../bench/datasets-model.mjs' as string)) as {
  revitLikeVersion(o: { elements: number; seed: number }): { root: Obj; children: Obj[]; expected: { objectCount: number } };
};
const SCOPES = ['streams:read', 'streams:write', 'profile:read', 'users:read'];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'atrium-sdk-datasets-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function count(file: string, table: string): Promise<number> {
  const instance = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
  const con = await instance.connect();
  try {
    return Number((await con.runAndReadAll(`SELECT COUNT(*) FROM ${table}`)).getRows()[0][0]);
  } finally {
    con.closeSync();
    instance.closeSync();
  }
}

describe.each(storeKinds)('version datasets through the SDK on %s', (kind) => {
  let server: TestServer;
  let client: SpeckleClient;
  let token: string;
  let ids: { projectId: string; modelId: string; versionId: string };
  const model = revitLikeVersion({ elements: 40, seed: 17 });

  beforeAll(async () => {
    server = await startTestServer(kind);
    const user = await server.createUser({ name: 'Analyst' });
    token = await server.createToken(user.id, SCOPES);
    client = new SpeckleClient({ host: server.url, useSsl: false });
    await client.authenticateWithToken(token);
    const services = server.app.services;
    const auth = (await services.identity.authenticateToken(token))!;
    const project = await client.project.create({ name: 'Datasets', description: null, visibility: 'PRIVATE' });
    const modelId = (await services.projects.getModelByName(project.id, 'main'))!.id;
    await services.objects.insertBatch(project.id, [...model.children, model.root]);
    const version = await services.projects.createVersion(auth, { projectId: project.id, modelId, objectId: model.root.id });
    ids = { projectId: project.id, modelId, versionId: version.id };
    const deadline = Date.now() + 60_000;
    while (!((await services.datasets.records(version.id)).eav?.status === 'ready')) {
      if (Date.now() > deadline) throw new Error('datasets were not built');
      await new Promise((r) => setTimeout(r, 50));
    }
  });
  afterAll(async () => {
    // the aborted download leaves undici with a fresh connection that never sends a request; Node only
    // drops such a connection after its headers timeout, so it is closed here instead of waiting
    server?.app.http.server.closeAllConnections();
    await server?.close();
  });

  it('downloads the main dataset in memory with progress, whole and identical to what the server holds', async () => {
    const progress: DatasetDownloadProgress[] = [];
    const d = await client.version.downloadDataset(ids, { onProgress: (p) => progress.push(p) });
    const rec = (await server.app.services.datasets.records(ids.versionId)).main!;
    expect(d.fileName).toBe(`${ids.versionId}.duckdb`);
    expect(d.size).toBe(rec.size);
    expect(d.bytes!.byteLength).toBe(rec.size);
    expect(d.etag).toBe(rec.sha256);
    expect(createHash('sha256').update(d.bytes!).digest('hex')).toBe(rec.sha256);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((p) => p.totalBytes === rec.size)).toBe(true);
    expect(progress.at(-1)!.receivedBytes).toBe(rec.size);
    for (let i = 1; i < progress.length; i++) expect(progress[i].receivedBytes).toBeGreaterThanOrEqual(progress[i - 1].receivedBytes);
    const file = path.join(tmp, `${kind}-mem.duckdb`);
    fs.writeFileSync(file, d.bytes!);
    expect(await count(file, 'objects')).toBe(model.expected.objectCount);
  });

  it('downloads the EAV dataset to a file, written under its name only when complete', async () => {
    const file = path.join(tmp, `${kind}-${ids.versionId}.eav.duckdb`);
    let sawPart = false;
    const d = await client.version.downloadEavDataset(ids, { file, onProgress: () => (sawPart ||= fs.existsSync(`${file}.part`) && !fs.existsSync(file)) });
    expect(sawPart).toBe(true);
    expect(d.file).toBe(file);
    expect(d.fileName).toBe(`${ids.versionId}.eav.duckdb`);
    expect(fs.existsSync(`${file}.part`)).toBe(false);
    expect(fs.statSync(file).size).toBe(d.size);
    expect(await count(file, 'properties')).toBe((await server.app.services.datasets.records(ids.versionId)).eav!.rowCount);
  });

  it('fails with DatasetNotAvailableError for unknown versions and SpeckleAuthError without access', async () => {
    const missing = await client.version.downloadDataset({ ...ids, versionId: 'nosuchvers' }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(DatasetNotAvailableError);
    expect((missing as DatasetNotAvailableError).code).toBe('NOT_FOUND_ERROR');

    const stranger = await server.createUser({ name: 'Stranger' });
    const other = new SpeckleClient({ host: server.url, useSsl: false });
    await other.authenticateWithToken(await server.createToken(stranger.id, SCOPES));
    const denied = await other.version.downloadEavDataset(ids).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(SpeckleAuthError);
    expect((denied as SpeckleAuthError).status).toBe(403);

    const anonymous = await new SpeckleClient({ host: server.url, useSsl: false }).version.downloadDataset(ids).catch((e: unknown) => e);
    expect(anonymous).toBeInstanceOf(SpeckleAuthError);
    expect((anonymous as SpeckleAuthError).status).toBe(401);
  });

  it('reports a dataset that is still being built with the server’s Retry-After', async () => {
    const versionId = `sdk${Date.now().toString(36)}`.slice(0, 10);
    await server.app.store.db
      .insertInto('versions')
      .values({ id: versionId, project_id: ids.projectId, model_id: ids.modelId, referenced_object: model.root.id, author_id: null, message: null, source_application: null, total_children_count: 1, parents: '[]', created_at: Date.now() })
      .execute();
    const pending = await client.version.downloadDataset({ ...ids, versionId }).catch((e: unknown) => e);
    // the first request queues the build; it may finish before a second look, never before the first answer
    expect(pending).toBeInstanceOf(DatasetNotAvailableError);
    expect((pending as DatasetNotAvailableError).code).toBe('DATASET_NOT_READY');
    expect((pending as DatasetNotAvailableError).retryAfterMs).toBe(5000);
  });

  it('stops when aborted and leaves no file behind', async () => {
    const file = path.join(tmp, `${kind}-aborted.duckdb`);
    const controller = new AbortController();
    const err = await client.version
      .downloadDataset(ids, { file, signal: controller.signal, onProgress: () => controller.abort() })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(fs.existsSync(file)).toBe(false);
    expect(fs.existsSync(`${file}.part`)).toBe(false);
  });
});
