/**
 * The real @speckle/objectloader2 (what @speckle/viewer loads with) against Atrium's object routes:
 * root through /single, children through object-stream in its own batches of 15,000 ids, every
 * requested id must come back or the loader throws.
 */
import zlib from 'node:zlib';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectLoader2Factory } from '@speckle/objectloader2';
import { startTestServer, storeKinds, type TestServer } from './helpers/server.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

describe.each(storeKinds)('objectloader2 against Atrium on %s', (kind) => {
  let srv: TestServer;
  let token: string;
  let projectId: string;
  const children = Array.from({ length: 20_000 }, (_, i) => {
    const o: Record<string, unknown> = { speckle_type: 'Base', applicationId: `child-${i}`, note: `line\u2028separator ${i}`, data: [i, i / 3] };
    o.id = md5(JSON.stringify(o));
    return o as Record<string, unknown> & { id: string };
  });
  const root: Record<string, unknown> & { id: string } = (() => {
    const r: Record<string, unknown> = { speckle_type: 'Speckle.Core.Models.Collection', name: 'root', __closure: Object.fromEntries(children.map((c) => [c.id, 1])) };
    r.id = md5(JSON.stringify(r));
    return r as Record<string, unknown> & { id: string };
  })();

  beforeAll(async () => {
    srv = await startTestServer(kind);
    const u = await srv.createUser({ name: 'Viewer' });
    token = await srv.createToken(u.id, ['streams:read', 'streams:write']);
    const ctx = await srv.app.services.identity.authenticateToken(token);
    projectId = (await srv.app.services.projects.createProject(ctx!, { name: 'loader' })).id;
    const fd = new FormData();
    fd.append('batch-1', new Blob([zlib.gzipSync(JSON.stringify([...children, root]))], { type: 'application/gzip' }), 'batch-1');
    const up = await fetch(`${srv.url}/objects/${projectId}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: fd });
    expect(up.status).toBe(201);
  });
  afterAll(() => srv?.close());

  it('downloads a root and 20,000 children (two object-stream batches) with every object intact', async () => {
    const loader = ObjectLoader2Factory.createFromUrl({ serverUrl: srv.url, streamId: projectId, objectId: root.id, token, options: { useCache: false } });
    const byId = new Map(children.map((c) => [c.id, c]));
    const seen = new Set<string>();
    for await (const o of loader.getObjectIterator()) {
      seen.add(o.id);
      if (o.id !== root.id) expect(o).toEqual(byId.get(o.id));
    }
    expect(seen.size).toBe(20_001);
    expect(await loader.getTotalObjectCount()).toBe(20_001);
    await loader.disposeAsync();
  });

  it('passes its attribute mask through to object-stream', async () => {
    const loader = ObjectLoader2Factory.createFromUrl({
      serverUrl: srv.url,
      streamId: projectId,
      objectId: root.id,
      token,
      options: { useCache: false },
      attributeMask: { include: ['id', 'applicationId'] },
    });
    let n = 0;
    for await (const o of loader.getObjectIterator()) {
      if (o.id === root.id) continue;
      n++;
      expect(Object.keys(o).sort()).toEqual(['applicationId', 'id']);
    }
    expect(n).toBe(20_000);
    await loader.disposeAsync();
  });
});
