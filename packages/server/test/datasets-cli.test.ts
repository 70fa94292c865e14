/**
 * `atrium datasets rebuild [--project …] [--force]` as a user runs it (src/main.ts under tsx): builds
 * the datasets of versions that have none (here: versions written before the feature, with no job),
 * skips those that are up to date, rebuilds all with --force, records failures and exits 1 on them,
 * and refuses an unknown project with exit code 2. Plus the progress bar it draws on a terminal.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { openStore } from '../src/store/db.js';
import { migrateToLatest } from '../src/store/migrations/index.js';
import { openBlobStore } from '../src/store/blobs/index.js';
import { createJobQueue } from '../src/jobs/queue.js';
import { createServices } from '../src/services/index.js';
import { ProgressBar } from '../src/services/datasets-rebuild.js';
import { createTestDatabase, storeKinds } from './helpers/stores.js';
import { revitLikeVersion } from '../../../bench/datasets-model.mjs';

const MAIN = path.resolve(__dirname, '../src/main.ts');
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('the rebuild progress bar', () => {
  it('redraws one line in place on a terminal, and prints only log lines elsewhere', () => {
    let tty = '';
    const bar = new ProgressBar({ isTTY: true, columns: 80, write: (s: string) => (tty += s) }, 10);
    bar.update(0.5, '2/4 versions', true);
    bar.log('built one');
    bar.update(1, '4/4 versions', true);
    bar.done();
    expect(tty).toContain('\r[#####-----]  50% 2/4 versions');
    expect(tty).toContain('built one\n');
    expect(tty).toContain('\r[##########] 100% 4/4 versions');
    let plain = '';
    const quiet = new ProgressBar({ isTTY: false, write: (s: string) => (plain += s) });
    quiet.update(0.5, 'x', true);
    quiet.log('built one');
    expect(plain).toBe('built one\n');
  });
});

describe.each(storeKinds)('atrium datasets rebuild on %s', (kind) => {
  it('builds missing datasets, skips current ones, rebuilds with --force, records failures', { timeout: 180_000 }, async () => {
    const tdb = await createTestDatabase(kind);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'atrium-datasets-cli-'));
    if (tdb.config.kind === 'sqlite') tdb.config.file = path.join(dataDir, 'atrium.db');
    const env: Record<string, string> = { ...(process.env as Record<string, string>), ATRIUM_DATA_DIR: dataDir, ATRIUM_LOG_LEVEL: 'silent' };
    delete env.ATRIUM_DATABASE_URL;
    if (tdb.config.kind === 'postgres') env.ATRIUM_DATABASE_URL = tdb.config.url;
    const config = loadConfig(env);
    config.database = tdb.config;
    const store = await openStore(tdb.config);
    await migrateToLatest(store);
    const blobs = await openBlobStore(config.blobs);
    cleanups.push(async () => {
      await blobs.close();
      await store.close();
      await tdb.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });
    const services = createServices({ store, blobs, jobs: createJobQueue(store), config });
    const user = await services.identity.createUser({ email: 'cli@example.com', name: 'Cli', password: 'password-cli-1', role: 'user' });
    const { token } = await services.identity.mintToken({ userId: user.id, name: 't', scopes: ['streams:read', 'streams:write'] });
    const auth = (await services.identity.authenticateToken(token))!;
    const a = await services.projects.createProject(auth, { name: 'A' });
    const b = await services.projects.createProject(auth, { name: 'B' });
    const model = revitLikeVersion({ elements: 30, seed: 1 });
    const versions: Record<string, string[]> = { [a.id]: [], [b.id]: [] };
    for (const p of [a, b]) {
      await services.objects.insertBatch(p.id, [...model.children, model.root]);
      const modelId = (await services.projects.getModelByName(p.id, 'main'))!.id;
      for (let i = 0; i < 2; i++) versions[p.id].push((await services.projects.createVersion(auth, { projectId: p.id, modelId, objectId: model.root.id })).id);
    }
    // one version of B whose root is missing: it fails, with its reason recorded
    const brokenId = 'broken0001';
    await store.db
      .insertInto('versions')
      .values({ id: brokenId, project_id: b.id, model_id: (await services.projects.getModelByName(b.id, 'main'))!.id, referenced_object: 'e'.repeat(32), author_id: null, message: null, source_application: null, total_children_count: 1, parents: '[]', created_at: Date.now() })
      .execute();

    const atrium = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'datasets', 'rebuild', ...args], { env, encoding: 'utf8', timeout: 120_000 });

    const unknown = atrium('--project', 'nosuchproj');
    expect(unknown.status, unknown.stderr).toBe(2);
    expect(unknown.stderr).toContain('no project with id nosuchproj');

    const onlyA = atrium('--project', a.id);
    expect(onlyA.status, onlyA.stderr).toBe(0);
    expect(onlyA.stdout).toContain('datasets: 2 built, 0 already up to date, 0 failed');
    for (const v of versions[a.id]) expect(onlyA.stderr).toContain(`${a.id}/${v}: built main + eav (${model.expected.objectCount} objects`);
    for (const v of versions[a.id]) expect((await services.datasets.records(v)).eav?.status).toBe('ready');
    expect(await services.datasets.records(versions[b.id][0])).toEqual({});

    const all = atrium();
    expect(all.status).toBe(1);
    expect(all.stdout).toContain('datasets: 2 built, 0 already up to date, 1 failed');
    expect(all.stderr).toContain(`${b.id}/${brokenId}: FAILED: the version's root object ${'e'.repeat(32)} is not in the project`);
    expect((await services.datasets.records(brokenId)).main).toMatchObject({ status: 'failed' });

    // failed versions are tried again; the rest are current
    await store.db.deleteFrom('versions').where('id', '=', brokenId).execute();
    const again = atrium();
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('every version has its datasets');

    const before = (await services.datasets.records(versions[a.id][0])).main!.builtAt;
    const forced = atrium('--project', a.id, '--force');
    expect(forced.status, forced.stderr).toBe(0);
    expect(forced.stdout).toContain('datasets: 2 built');
    expect((await services.datasets.records(versions[a.id][0])).main!.builtAt).toBeGreaterThan(before);
  });
});
