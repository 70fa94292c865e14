/**
 * The real @speckle/objectloader2 (npm, 2.28.0) loading a generated object graph from Atrium
 * (speckle.md §8.4–8.5): root through `GET /objects/:p/:id/single`, children through
 * `POST /api/v2/projects/:p/object-stream/` in batches of at most 15,000 ids — the graph has more than
 * 20,000 children, so at least two batches — and every requested id must come back.
 *
 * The graph is uploaded the way objectsender/specklepy upload: `POST /api/diff/:p`, then
 * `POST /objects/:p` multipart with gzip parts. Runs on every store kind.
 */
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { ObjectLoader2Factory } from '@speckle/objectloader2';
import { startTestServer, storeKinds, type TestServer } from './helpers/server.js';
import { gql } from './helpers/http.js';

const GROUPS = 21;
const PER_GROUP = 1_000;
const LOAD_TIMEOUT_MS = 90_000;

type Obj = Record<string, unknown> & { id: string };

/** specklepy-style id: sha256 of the JSON with "id": "" first, first 32 hex chars. */
function withId(body: Record<string, unknown>): Obj {
  const text = JSON.stringify({ id: '', ...body });
  const id = crypto.createHash('sha256').update(text).digest('hex').slice(0, 32);
  return { id, ...body };
}

const ref = (id: string) => ({ referencedId: id, speckle_type: 'reference' });

/**
 * Root collection → `groups` collections → `perGroup` meshes each, every mesh with its own vertices
 * DataChunk: 2·groups·perGroup + groups children in the root's __closure.
 */
function generateGraph(tag: string, groups = GROUPS, perGroup = PER_GROUP): { root: Obj; objects: Obj[]; childIds: string[] } {
  const objects: Obj[] = [];
  const rootClosure: Record<string, number> = {};
  const groupRefs: ReturnType<typeof ref>[] = [];
  for (let g = 0; g < groups; g++) {
    const groupClosure: Record<string, number> = {};
    const elements: ReturnType<typeof ref>[] = [];
    for (let i = 0; i < perGroup; i++) {
      const n = g * perGroup + i;
      const x = n * 2;
      const chunk = withId({
        speckle_type: 'Speckle.Core.Models.DataChunk',
        totalChildrenCount: 0,
        applicationId: null,
        data: [x, 0, 0, x + 1, 0, 0, x + 1, 1, 0.5],
      });
      const mesh = withId({
        speckle_type: 'Objects.Geometry.Mesh',
        totalChildrenCount: 1,
        applicationId: `${tag}-mesh-${n}`,
        faces: [3, 0, 1, 2],
        units: 'm',
        name: `mesh ${n} ✓ \u2028 "quoted" \\ / tab\tinside`,
        vertices: [ref(chunk.id)],
        __closure: { [chunk.id]: 1 },
      });
      objects.push(chunk, mesh);
      elements.push(ref(mesh.id));
      groupClosure[mesh.id] = 1;
      groupClosure[chunk.id] = 2;
      rootClosure[mesh.id] = 2;
      rootClosure[chunk.id] = 3;
    }
    const group = withId({
      speckle_type: 'Speckle.Core.Models.Collections.Collection',
      totalChildrenCount: Object.keys(groupClosure).length,
      applicationId: null,
      name: `group ${g}`,
      elements,
      __closure: groupClosure,
    });
    objects.push(group);
    groupRefs.push(ref(group.id));
    rootClosure[group.id] = 1;
  }
  const root = withId({
    speckle_type: 'Speckle.Core.Models.Collections.Collection',
    totalChildrenCount: Object.keys(rootClosure).length,
    applicationId: `${tag}-root`,
    name: `objectloader2 graph ${tag}`,
    elements: groupRefs,
    __closure: rootClosure,
  });
  objects.push(root);
  return { root, objects, childIds: Object.keys(rootClosure) };
}

async function createProject(url: string, token: string, name: string, visibility = 'PRIVATE'): Promise<string> {
  const { status, body } = await gql(
    url,
    'mutation ProjectCreate($input: ProjectCreateInput) { data: projectMutations { data: create(input: $input) { id } } }',
    { input: { name, description: null, visibility } },
    token,
  );
  expect(status).toBe(200);
  expect(body.errors).toBeUndefined();
  return body.data.data.data.id as string;
}

/** objectsender's flow: diff, then upload only the missing objects, several gzip parts per request. */
async function upload(url: string, token: string, projectId: string, objects: Obj[]): Promise<void> {
  const auth = { authorization: `Bearer ${token}` };
  const diff = await fetch(`${url}/api/diff/${projectId}`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ objects: JSON.stringify(objects.map((o) => o.id)) }),
  });
  expect(diff.status).toBe(200);
  const known = (await diff.json()) as Record<string, boolean>;
  expect(Object.keys(known).length).toBe(objects.length);
  const missing = objects.filter((o) => !known[o.id]);
  for (let i = 0; i < missing.length; i += 20_000) {
    const form = new FormData();
    const slice = missing.slice(i, i + 20_000);
    for (let j = 0; j < slice.length; j += 5_000) {
      const batch = `[${slice.slice(j, j + 5_000).map((o) => JSON.stringify(o)).join(',')}]`;
      form.append(`batch-${j}`, new Blob([zlib.gzipSync(batch)], { type: 'application/gzip' }), `batch-${j}`);
    }
    const res = await fetch(`${url}/objects/${projectId}`, { method: 'POST', headers: auth, body: form });
    expect(res.status, await res.text()).toBe(201);
  }
}

interface Recorded {
  url: string;
  method: string;
  ids: number;
}

/** Loads everything through the real loader, recording the requests it makes. */
async function loadAll(params: {
  serverUrl: string;
  projectId: string;
  objectId: string;
  token?: string;
  indexedDB?: IDBFactory;
}): Promise<{ objects: Obj[]; total: number; requests: Recorded[] }> {
  const requests: Recorded[] = [];
  const recordingFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    let ids = 0;
    if (typeof init?.body === 'string' && init.body.startsWith('{')) {
      ids = (JSON.parse(init.body).objectIds ?? []).length;
    }
    requests.push({ url: String(input), method: init?.method ?? 'GET', ids });
    return fetch(input, init);
  };
  const loader = ObjectLoader2Factory.createFromUrl({
    serverUrl: params.serverUrl,
    streamId: params.projectId,
    objectId: params.objectId,
    token: params.token,
    options: params.indexedDB
      ? { indexedDB: params.indexedDB, keyRange: IDBKeyRange, fetch: recordingFetch }
      : { useCache: false, fetch: recordingFetch },
  });
  try {
    const work = (async () => {
      const total = await loader.getTotalObjectCount();
      const objects: Obj[] = [];
      for await (const o of loader.getObjectIterator()) objects.push(o as unknown as Obj);
      return { objects, total };
    })();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`objectloader2 did not finish within ${LOAD_TIMEOUT_MS} ms`)), LOAD_TIMEOUT_MS);
    });
    try {
      const { objects, total } = await Promise.race([work, timeout]);
      return { objects, total, requests };
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await loader.disposeAsync().catch(() => undefined);
  }
}

describe.each(storeKinds)('@speckle/objectloader2 against Atrium on %s', (kind) => {
  let srv: TestServer;
  let token: string;
  let strangerToken: string;
  let projectId: string;
  let graph: ReturnType<typeof generateGraph>;

  beforeAll(async () => {
    srv = await startTestServer(kind);
    const owner = await srv.createUser({ name: 'Loader Owner' });
    token = await srv.createToken(owner.id, ['streams:read', 'streams:write', 'profile:read']);
    const stranger = await srv.createUser({ name: 'Stranger' });
    strangerToken = await srv.createToken(stranger.id, ['streams:read', 'profile:read']);
    projectId = await createProject(srv.url, token, 'objectloader2 private');
    graph = generateGraph(kind);
    await upload(srv.url, token, projectId, graph.objects);
  }, 180_000);
  afterAll(() => srv?.close());

  it('has more children than one object-stream batch', () => {
    expect(graph.childIds.length).toBeGreaterThan(20_000);
    expect(graph.childIds.length).toBe(2 * GROUPS * PER_GROUP + GROUPS);
  });

  it('loads every object of the graph through /single and object-stream (memory cache)', async () => {
    const { objects, total, requests } = await loadAll({
      serverUrl: srv.url,
      projectId,
      objectId: graph.root.id,
      token,
    });
    expect(total).toBe(graph.childIds.length + 1);
    expect(objects.length).toBe(total);
    const got = new Set(objects.map((o) => o.id));
    expect(got.size).toBe(total);
    for (const id of graph.childIds) expect(got.has(id)).toBe(true);
    expect(got.has(graph.root.id)).toBe(true);

    // the content survives: a mesh comes back with its fields, special characters included
    const byId = new Map(graph.objects.map((o) => [o.id, o]));
    for (const o of objects.slice(0, 500).concat(objects.slice(-500))) {
      if (o.id === graph.root.id) {
        // /single reports the totalChildrenCount column, null for REST uploads (speckle.md §8.3–8.4)
        expect(o).toEqual({ ...graph.root, totalChildrenCount: null });
      } else {
        expect(o).toEqual(byId.get(o.id));
      }
    }

    const single = requests.filter((r) => r.url.endsWith(`/objects/${projectId}/${graph.root.id}/single`));
    expect(single.length).toBe(1);
    const streams = requests.filter((r) => r.url === `${srv.url}/api/v2/projects/${projectId}/object-stream/`);
    expect(streams.length).toBeGreaterThanOrEqual(2);
    expect(streams.every((r) => r.method === 'POST' && r.ids > 0 && r.ids <= 15_000)).toBe(true);
    expect(streams.reduce((n, r) => n + r.ids, 0)).toBe(graph.childIds.length);
  }, 120_000);

  it('loads every object with the IndexedDB cache (fake-indexeddb), then again from the cache', async () => {
    const idb = new IDBFactory();
    const first = await loadAll({ serverUrl: srv.url, projectId, objectId: graph.root.id, token, indexedDB: idb });
    expect(first.objects.length).toBe(graph.childIds.length + 1);
    expect(new Set(first.objects.map((o) => o.id)).size).toBe(graph.childIds.length + 1);

    const second = await loadAll({ serverUrl: srv.url, projectId, objectId: graph.root.id, token, indexedDB: idb });
    expect(new Set(second.objects.map((o) => o.id)).size).toBe(graph.childIds.length + 1);
    const streamed = (r: { requests: Recorded[] }) =>
      r.requests.filter((q) => q.url.includes('/object-stream')).reduce((n, q) => n + q.ids, 0);
    expect(streamed(second)).toBeLessThanOrEqual(streamed(first));
  }, 180_000);

  it('refuses a private project without a token: "You do not have access!"', async () => {
    await expect(loadAll({ serverUrl: srv.url, projectId, objectId: graph.root.id })).rejects.toThrow(
      'You do not have access!',
    );
  }, 60_000);

  it("refuses a private project to another user's token", async () => {
    await expect(
      loadAll({ serverUrl: srv.url, projectId, objectId: graph.root.id, token: strangerToken }),
    ).rejects.toThrow('You do not have access!');
  }, 60_000);

  it('answers object-stream without a token with 401 for a private project', async () => {
    const res = await fetch(`${srv.url}/api/v2/projects/${projectId}/object-stream/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/plain' },
      body: JSON.stringify({ objectIds: graph.childIds.slice(0, 10) }),
    });
    expect(res.status).toBe(401);
  });

  it('loads a public project anonymously (the viewer case)', async () => {
    const publicId = await createProject(srv.url, token, 'objectloader2 public', 'PUBLIC');
    const small = generateGraph(`${kind}-public`, 3, 500);
    await upload(srv.url, token, publicId, small.objects);
    const { objects: got, total } = await loadAll({ serverUrl: srv.url, projectId: publicId, objectId: small.root.id });
    expect(total).toBe(small.childIds.length + 1);
    expect(new Set(got.map((o) => o.id))).toEqual(new Set([small.root.id, ...small.childIds]));
  }, 120_000);
});
