/**
 * Speckle's REST object transport over real HTTP, on every store kind: what specklepy, objectsender,
 * objectloader (v1) and objectloader2 send, byte for byte where the clients care.
 */
import http from 'node:http';
import zlib from 'node:zlib';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, storeKinds, type TestServer } from './helpers/server.js';
import { gql } from './helpers/http.js';

const ALL = ['streams:read', 'streams:write', 'profile:read', 'profile:email', 'users:read'];
const INVALID_BODY =
  'Invalid body. Please provide a JSON object containing the property "objects" of type string. The value must be a JSON string representation of an array of object IDs.';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
type Obj = Record<string, unknown> & { id: string };
/** A Speckle-like object whose id is a 32-char hash of its content. */
function obj(props: Record<string, unknown> = {}): Obj {
  const o: Record<string, unknown> = { speckle_type: 'Base', totalChildrenCount: 0, ...props };
  o.id = md5(JSON.stringify(o));
  return o as Obj;
}
/** A root with detached children, the way specklepy builds one. */
function tree(n: number, tag: string): { root: Obj; children: Obj[] } {
  const children = Array.from({ length: n }, (_, i) => obj({ applicationId: `${tag}-${i}`, data: [i, i + 0.5] }));
  const root = obj({
    applicationId: `${tag}-root`,
    '@elements': children.map((c) => ({ referencedId: c.id, speckle_type: 'reference' })),
    __closure: Object.fromEntries(children.map((c) => [c.id, 1])),
    totalChildrenCount: n,
  });
  return { root, children };
}

interface Part {
  data: Buffer | string;
  type: string;
  name?: string;
  filename?: string;
}
const gz = (objs: unknown) => zlib.gzipSync(JSON.stringify(objs));
const auth = (token?: string): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});

async function upload(url: string, projectId: string, token: string | undefined, parts: Part[]) {
  const fd = new FormData();
  parts.forEach((p, i) => fd.append(p.name ?? `batch-${i + 1}`, new Blob([p.data], { type: p.type }), p.filename ?? `batch-${i + 1}`));
  const res = await fetch(`${url}/objects/${projectId}`, { method: 'POST', headers: auth(token), body: fd });
  return { status: res.status, text: await res.text() };
}

/** specklepy's diff: a urlencoded form whose `objects` is json.dumps(ids). */
async function diff(url: string, projectId: string, token: string | undefined, ids: string[]) {
  const res = await fetch(`${url}/api/diff/${projectId}`, {
    method: 'POST',
    headers: { ...auth(token), accept: 'text/plain', 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ objects: JSON.stringify(ids) }).toString(),
  });
  const text = await res.text();
  return { status: res.status, text, body: text ? JSON.parse(text) : undefined, encoding: res.headers.get('content-encoding') };
}

async function getobjects(url: string, projectId: string, token: string | undefined, ids: string[], accept = 'text/plain') {
  const res = await fetch(`${url}/api/getobjects/${projectId}`, {
    method: 'POST',
    headers: { ...auth(token), accept, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ objects: JSON.stringify(ids) }).toString(),
  });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type'), encoding: res.headers.get('content-encoding') };
}

async function objectStream(url: string, projectId: string, token: string | undefined, body: unknown, trailingSlash = true) {
  const res = await fetch(`${url}/api/v2/projects/${projectId}/object-stream${trailingSlash ? '/' : ''}`, {
    method: 'POST',
    headers: { ...auth(token), accept: 'text/plain', 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type'), encoding: res.headers.get('content-encoding') };
}

/** `id\tjson\n` lines → [id, parsed]; asserts every line (the last too) ends in \n with exactly one tab. */
function lines(text: string): Array<[string, Obj]> {
  if (!text) return [];
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((l) => {
      expect(l.split('\t')).toHaveLength(2);
      const [id, json] = l.split('\t');
      return [id, JSON.parse(json)] as [string, Obj];
    });
}

/** The raw bytes of a response, without any client-side decoding. */
function rawRequest(url: string, path: string, method: string, headers: Record<string, string>, body?: string) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; raw: Buffer }>((resolve, reject) => {
    const req = http.request(`${url}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, raw: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

async function countRows(srv: TestServer, projectId: string): Promise<number> {
  const r = await srv.app.store.db
    .selectFrom('objects')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('project_id', '=', projectId)
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

async function createProject(srv: TestServer, token: string, visibility: 'PRIVATE' | 'PUBLIC' = 'PRIVATE') {
  const ctx = await srv.app.services.identity.authenticateToken(token);
  const p = await srv.app.services.projects.createProject(ctx!, { name: `objects ${visibility}`, visibility });
  return p.id;
}

describe.each(storeKinds)('Speckle REST objects on %s', (kind) => {
  let srv: TestServer;
  let ownerToken: string;
  let otherToken: string;
  let reviewerToken: string;
  let projectId: string;
  let publicProjectId: string;

  beforeAll(async () => {
    srv = await startTestServer(kind);
    const owner = await srv.createUser({ name: 'Owner' });
    ownerToken = await srv.createToken(owner.id, ALL);
    const other = await srv.createUser({ name: 'Other' });
    otherToken = await srv.createToken(other.id, ALL);
    const reviewer = await srv.createUser({ name: 'Reviewer' });
    reviewerToken = await srv.createToken(reviewer.id, ALL);
    projectId = await createProject(srv, ownerToken);
    publicProjectId = await createProject(srv, ownerToken, 'PUBLIC');
    const ownerCtx = (await srv.app.services.identity.authenticateToken(ownerToken))!;
    await srv.app.services.projects.updateRole(ownerCtx, { projectId, userId: reviewer.id, role: 'stream:reviewer' });
  });
  afterAll(() => srv?.close());

  it('runs the specklepy send and receive flow: diff, gzip upload, diff again, /single, getobjects (text)', async () => {
    const { root, children } = tree(30, 'send');
    const all = [...children, root];
    const before = await diff(srv.url, projectId, ownerToken, all.map((o) => o.id));
    expect(before.status).toBe(200);
    expect(before.encoding).toBe('gzip');
    expect(before.body).toEqual(Object.fromEntries(all.map((o) => [o.id, false])));

    const up = await upload(srv.url, projectId, ownerToken, [{ data: gz(all), type: 'application/gzip' }]);
    expect(up).toEqual({ status: 201, text: '' });

    const after = await diff(srv.url, projectId, ownerToken, [...all.map((o) => o.id), 'f'.repeat(32)]);
    expect(after.body).toEqual({ ...Object.fromEntries(all.map((o) => [o.id, true])), ['f'.repeat(32)]: false });

    const single = await fetch(`${srv.url}/objects/${projectId}/${root.id}/single`, { headers: { ...auth(ownerToken), accept: 'text/plain' } });
    expect(single.status).toBe(200);
    expect(single.headers.get('content-type')).toMatch(/^application\/json/);
    // stored JSON with __closure; totalChildrenCount is the column, null for REST uploads
    expect(await single.json()).toEqual({ ...root, totalChildrenCount: null });

    const got = await getobjects(srv.url, projectId, ownerToken, Object.keys(root.__closure as object));
    expect(got.status).toBe(200);
    expect(got.encoding).toBe('gzip');
    expect(got.type).toBe('text/plain; charset=UTF-8');
    const received = lines(got.text);
    expect(received.map(([id]) => id)).toEqual(children.map((c) => c.id).sort());
    for (const [id, o] of received) expect(o).toEqual(children.find((c) => c.id === id));
  });

  it('answers getobjects with a JSON array when Accept is not exactly text/plain, and only for ids it has', async () => {
    const { children } = tree(5, 'json');
    await upload(srv.url, projectId, ownerToken, [{ data: JSON.stringify(children), type: 'application/json' }]);
    const ids = [...children.map((c) => c.id), 'e'.repeat(32)];
    const got = await getobjects(srv.url, projectId, ownerToken, ids, 'text/plain, application/json');
    expect(got.type).toMatch(/^application\/json/);
    expect(got.encoding).toBe('gzip');
    const arr = JSON.parse(got.text) as Obj[];
    expect(arr.map((o) => o.id)).toEqual(children.map((c) => c.id).sort());
    const empty = await getobjects(srv.url, projectId, ownerToken, []);
    expect(empty).toMatchObject({ status: 200, text: '' });
  });

  it('accepts the JSON bodies objectsender and objectloader (v1) send', async () => {
    const a = obj({ applicationId: 'objectsender' });
    const d = await fetch(`${srv.url}/api/diff/${projectId}`, {
      method: 'POST',
      headers: { ...auth(ownerToken), 'content-type': 'application/json' },
      body: JSON.stringify({ objects: JSON.stringify([a.id]) }),
    });
    expect(await d.json()).toEqual({ [a.id]: false });
    // objectsender: one part "object-batch", application/json, filename "blob"
    expect(await upload(srv.url, projectId, ownerToken, [{ name: 'object-batch', filename: 'blob', data: JSON.stringify([a]), type: 'application/json' }])).toEqual({
      status: 201,
      text: '',
    });
    const g = await fetch(`${srv.url}/api/getobjects/${projectId}`, {
      method: 'POST',
      headers: { ...auth(ownerToken), accept: 'text/plain', 'content-type': 'application/json' },
      body: JSON.stringify({ objects: JSON.stringify([a.id]) }),
    });
    expect(lines(await g.text())).toEqual([[a.id, a]]);
  });

  it('serves an object with its children: root first (totalChildrenCount from the column), then children present, by id', async () => {
    const { root, children } = tree(12, 'download');
    // two children never uploaded: they are simply absent from the answer
    await upload(srv.url, projectId, ownerToken, [{ data: gz([...children.slice(2), root]), type: 'application/gzip' }]);
    const text = await fetch(`${srv.url}/objects/${projectId}/${root.id}`, { headers: { ...auth(ownerToken), accept: 'text/plain' } });
    expect(text.headers.get('content-encoding')).toBe('gzip');
    expect(text.headers.get('content-type')).toBe('text/plain; charset=UTF-8');
    const got = lines(await text.text());
    expect(got[0]).toEqual([root.id, { ...root, totalChildrenCount: null }]);
    expect(got.slice(1).map(([id]) => id)).toEqual(children.slice(2).map((c) => c.id).sort());

    const json = await fetch(`${srv.url}/objects/${projectId}/${root.id}`, { headers: auth(ownerToken) });
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    const arr = (await json.json()) as Obj[];
    expect(arr).toHaveLength(11);
    expect(arr[0].id).toBe(root.id);

    const missing = await fetch(`${srv.url}/objects/${projectId}/${'0'.repeat(32)}`, { headers: auth(ownerToken) });
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe('Failed to find object.');
    const missingSingle = await fetch(`${srv.url}/objects/${projectId}/${'0'.repeat(32)}/single`, { headers: auth(ownerToken) });
    expect(missingSingle.status).toBe(404);
    expect(await missingSingle.text()).toBe('Failed to find object.');
  });

  it('streams objects for objectloader2 (with and without the trailing slash), with include and exclude masks', async () => {
    const children = Array.from({ length: 8 }, (_, i) => obj({ applicationId: `mask-${i}`, props: { keep: i, drop: 'x' }, big: [1, 2, 3] }));
    await upload(srv.url, projectId, ownerToken, [{ data: gz(children), type: 'application/gzip' }]);
    const ids = children.map((c) => c.id);
    const plain = await objectStream(srv.url, projectId, ownerToken, { objectIds: ids });
    expect(plain).toMatchObject({ status: 200, type: 'text/plain; charset=UTF-8', encoding: 'gzip' });
    expect(lines(plain.text).map(([, o]) => o)).toEqual([...children].sort((a, b) => (a.id < b.id ? -1 : 1)));

    const inc = await objectStream(srv.url, projectId, ownerToken, { objectIds: ids, attributeMask: { include: ['id', 'props.keep'] } }, false);
    expect(inc.status).toBe(200);
    for (const [id, o] of lines(inc.text)) expect(o).toEqual({ id, props: { keep: children.find((c) => c.id === id)!.props.keep } });

    const exc = await objectStream(srv.url, projectId, ownerToken, { objectIds: ids, attributeMask: { exclude: ['big', 'props.drop'] } });
    for (const [id, o] of lines(exc.text)) {
      const c = children.find((x) => x.id === id)!;
      expect(o).toEqual({ id, speckle_type: 'Base', totalChildrenCount: 0, applicationId: c.applicationId, props: { keep: (c.props as { keep: number }).keep } });
    }
  });

  it('validates the object-stream body strictly (400), and caps ids per request', async () => {
    const id = 'a'.repeat(32);
    for (const body of [
      {},
      { objectIds: [] },
      { objectIds: [1] },
      { objectIds: [id], extra: true },
      { objectIds: [id], attributeMask: { include: [] } },
      { objectIds: [id], attributeMask: { include: ['a'], exclude: ['b'] } },
      { objectIds: [id], attributeMask: { only: ['a'] } },
      { objectIds: [id], attributeMask: null },
      { objectIds: Array.from({ length: 100_001 }, () => id) },
    ]) {
      const r = await objectStream(srv.url, projectId, ownerToken, body);
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(typeof JSON.parse(r.text).error).toBe('string');
    }
    // objectloader2's batch size passes
    const ok = await objectStream(srv.url, projectId, ownerToken, { objectIds: Array.from({ length: 15_000 }, (_, i) => md5(String(i))) });
    expect(ok).toMatchObject({ status: 200, text: '' });
  });

  it('answers a bad diff/getobjects body with 400 and the exact Speckle JSON, and caps diff ids at 100,000', async () => {
    for (const [route, token] of [
      ['diff', ownerToken],
      ['getobjects', ownerToken],
    ] as const) {
      for (const body of ['objects=not-json', 'objects=%7B%7D', 'nothing=1', 'objects=%5B1%5D']) {
        const r = await fetch(`${srv.url}/api/${route}/${projectId}`, {
          method: 'POST',
          headers: { ...auth(token), 'content-type': 'application/x-www-form-urlencoded' },
          body,
        });
        expect(r.status).toBe(400);
        expect(await r.json()).toEqual({ error: { message: INVALID_BODY, code: 'USER_INPUT_ERROR' } });
      }
    }
    const many = Array.from({ length: 100_001 }, (_, i) => String(i));
    const r = await diff(srv.url, projectId, ownerToken, many);
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/Too many object ids/);
    const max = await diff(srv.url, projectId, ownerToken, many.slice(1));
    expect(max.status).toBe(200);
    expect(Object.keys(max.body)).toHaveLength(100_000);
  });

  it('answers getobjects for a whole closure of more than 100,000 ids in one request, as specklepy asks', async () => {
    const pid = await createProject(srv, ownerToken);
    const have = Array.from({ length: 3 }, (_, i) => obj({ applicationId: `closure-${i}` }));
    await upload(srv.url, pid, ownerToken, [{ data: gz(have), type: 'application/gzip' }]);
    const ids = [...Array.from({ length: 150_000 }, (_, i) => md5(`absent-${i}`)), ...have.map((o) => o.id)];
    const got = await getobjects(srv.url, pid, ownerToken, ids);
    expect(got.status).toBe(200);
    expect(lines(got.text).map(([id]) => id).sort()).toEqual(have.map((o) => o.id).sort());
  });

  it('re-uploading the same batch is idempotent: 201 again, one row per object', async () => {
    const pid = await createProject(srv, ownerToken);
    const batch = Array.from({ length: 40 }, (_, i) => obj({ applicationId: `again-${i}` }));
    for (let i = 0; i < 3; i++) expect((await upload(srv.url, pid, ownerToken, [{ data: gz(batch), type: 'application/gzip' }])).status).toBe(201);
    expect(await countRows(srv, pid)).toBe(40);
  });

  it('stores each object once when 4 uploads of the same objects run in parallel', async () => {
    const pid = await createProject(srv, ownerToken);
    // > 500 objects: several insert chunks per batch, in the same order in every request
    const batch = Array.from({ length: 1200 }, (_, i) => obj({ applicationId: `parallel-${i}`, pad: 'p'.repeat(200) }));
    const results = await Promise.all(Array.from({ length: 4 }, () => upload(srv.url, pid, ownerToken, [{ data: gz(batch), type: 'application/gzip' }])));
    expect(results.map((r) => r.status)).toEqual([201, 201, 201, 201]);
    expect(await countRows(srv, pid)).toBe(1200);
  });

  it('stores nothing of a batch with one invalid id (even past several insert chunks) and answers 400 with the exact text', async () => {
    const pid = await createProject(srv, ownerToken);
    const good = Array.from({ length: 1100 }, (_, i) => obj({ applicationId: `good-${i}` }));
    const bad = { id: 'short', speckle_type: 'Base' };
    for (const part of [
      { data: gz([...good, bad]), type: 'application/gzip' },
      { data: JSON.stringify([...good, bad]), type: 'text/plain' },
    ]) {
      const r = await upload(srv.url, pid, ownerToken, [part]);
      expect(r).toEqual({
        status: 400,
        text: "Error inserting object in the database: Invalid object ID. Object ID: short. Object ID's must be hashes represented by a string of 32 characters.",
      });
      expect(await countRows(srv, pid)).toBe(0);
    }
    // earlier parts of the same request are kept (each part is its own batch), later ones are not processed
    const first = [obj({ applicationId: 'first part' })];
    const third = [obj({ applicationId: 'third part' })];
    const r = await upload(srv.url, pid, ownerToken, [
      { data: gz(first), type: 'application/gzip' },
      { data: gz([bad]), type: 'application/gzip' },
      { data: gz(third), type: 'application/gzip' },
    ]);
    expect(r.status).toBe(400);
    expect((await diff(srv.url, pid, ownerToken, [first[0].id, third[0].id])).body).toEqual({ [first[0].id]: true, [third[0].id]: false });
  });

  it('gives objects without an id the md5 of their JSON, and refuses non-objects', async () => {
    const pid = await createProject(srv, ownerToken);
    const noId = { speckle_type: 'Base', applicationId: 'no id here' };
    const hashed = { hash: 'h'.repeat(32), speckle_type: 'Objects.Geometry.Point', x: 1 };
    expect((await upload(srv.url, pid, ownerToken, [{ data: gz([noId, hashed]), type: 'application/gzip' }])).status).toBe(201);
    const expectedId = md5(JSON.stringify(noId));
    expect((await diff(srv.url, pid, ownerToken, [expectedId, 'h'.repeat(32)])).body).toEqual({ [expectedId]: true, ['h'.repeat(32)]: true });
    const single = await fetch(`${srv.url}/objects/${pid}/${'h'.repeat(32)}/single`, { headers: auth(ownerToken) });
    expect(await single.json()).toEqual({ ...hashed, id: 'h'.repeat(32), totalChildrenCount: null });
    const row = await srv.app.store.db.selectFrom('objects').selectAll().where('project_id', '=', pid).where('id', '=', 'h'.repeat(32)).executeTakeFirstOrThrow();
    expect(row.speckle_type).toBe('Objects.Geometry.Point');
    expect(row.total_children_count).toBeNull();

    const r = await upload(srv.url, pid, ownerToken, [{ data: gz([42]), type: 'application/gzip' }]);
    expect(r.status).toBe(400);
    expect(r.text).toMatch(/^Error inserting object in the database: /);
    const numId = await upload(srv.url, pid, ownerToken, [{ data: gz([{ id: 12345 }]), type: 'application/gzip' }]);
    expect(numId.text).toBe("Error inserting object in the database: Invalid object ID. Object ID: 12345. Object ID's must be hashes represented by a string of 32 characters.");
  });

  it('answers the exact 400 texts for bad parts: not gzip, not JSON, not an array, wrong content type, not multipart', async () => {
    const cases: Array<[Part, string]> = [
      [{ data: 'this is not gzip', type: 'application/gzip' }, 'Failed to parse data.'],
      [{ data: zlib.gzipSync('{"not": "json"'), type: 'application/gzip' }, 'Failed to parse data.'],
      [{ data: zlib.gzipSync('[{"a": 1} {"b": 2}]'), type: 'application/gzip' }, 'Failed to parse data.'],
      [{ data: zlib.gzipSync('[{"id":"x"}]').subarray(0, 15), type: 'application/gzip' }, 'Failed to parse data.'],
      [{ data: '[{"id": ', type: 'text/plain' }, 'Failed to parse data. Batch is not in JSON format.'],
      [{ data: 'nope', type: 'application/json' }, 'Failed to parse data. Batch is not in JSON format.'],
      [{ data: '{"id": "x"}', type: 'application/octet-stream' }, 'Failed to parse data. Batch is expected to be wrapped in a JSON array.'],
      [{ data: '[]', type: 'image/png' }, 'Invalid ContentType header. This route only accepts "application/gzip", "text/plain" or "application/json".'],
    ];
    for (const [part, text] of cases) expect(await upload(srv.url, projectId, ownerToken, [part]), text).toEqual({ status: 400, text });

    const notMultipart = await fetch(`${srv.url}/objects/${projectId}`, {
      method: 'POST',
      headers: { ...auth(ownerToken), 'content-type': 'application/json' },
      body: '[]',
    });
    expect(notMultipart.status).toBe(400);
    expect(await notMultipart.text()).toBe('Failed to parse request headers and body content as valid multipart/form-data.');
    const noBoundary = await fetch(`${srv.url}/objects/${projectId}`, {
      method: 'POST',
      headers: { ...auth(ownerToken), 'content-type': 'multipart/form-data' },
      body: 'x',
    });
    expect(await noBoundary.text()).toBe('Failed to parse request headers and body content as valid multipart/form-data.');
    const truncated = await fetch(`${srv.url}/objects/${projectId}`, {
      method: 'POST',
      headers: { ...auth(ownerToken), 'content-type': 'multipart/form-data; boundary=XYZ' },
      body: '--XYZ\r\nContent-Disposition: form-data; name="batch-1"; filename="batch-1"\r\nContent-Type: application/json\r\n\r\n[{"id": "abc',
    });
    expect(truncated.status).toBe(400);
    expect(await truncated.text()).toBe('Failed to parse request headers and body content as valid multipart/form-data.');
  });

  it('refuses a gzip bomb (1 GiB of zeros in ~1 MB) at once, without the process growing', async () => {
    const bomb = await new Promise<Buffer>((resolve, reject) => {
      const z = zlib.createGzip({ level: 9 });
      const out: Buffer[] = [];
      z.on('data', (c) => out.push(c));
      z.on('end', () => resolve(Buffer.concat(out)));
      z.on('error', reject);
      const zeros = Buffer.alloc(1024 * 1024);
      let i = 0;
      const pump = () => {
        while (i < 1024) {
          i++;
          if (!z.write(zeros)) return void z.once('drain', pump);
        }
        z.end();
      };
      pump();
    });
    expect(bomb.length).toBeLessThan(2 * 1024 * 1024);
    const rssBefore = process.memoryUsage().rss;
    const r = await upload(srv.url, projectId, ownerToken, [{ data: bomb, type: 'application/gzip' }]);
    expect(r).toEqual({ status: 400, text: 'Failed to parse data.' });
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(150 * 1024 * 1024);
  });

  it('keeps U+2028, U+2029, U+0085 and control characters inside one line, and round-trips them', async () => {
    const nasty = 'a\u2028b\u2029c\u0085d\re\vf\fg\x1ch\x1di\x1ej\nk\tl';
    const o = obj({ applicationId: 'line breakers', text: nasty });
    const o2 = obj({ applicationId: 'plain neighbour' });
    await upload(srv.url, projectId, ownerToken, [{ data: gz([o, o2]), type: 'application/gzip' }]);
    for (const text of [
      (await getobjects(srv.url, projectId, ownerToken, [o.id, o2.id])).text,
      (await objectStream(srv.url, projectId, ownerToken, { objectIds: [o.id, o2.id] })).text,
    ]) {
      // Python's str.splitlines() boundaries
      const pyLines = text.split(/\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/).filter((l) => l !== '');
      expect(pyLines).toHaveLength(2);
      const parsed = lines(text);
      expect(parsed.find(([id]) => id === o.id)![1].text).toBe(nasty);
    }
  });

  it('streams a 20 MB part through the temporary-file path and stores every object', async () => {
    const pid = await createProject(srv, ownerToken);
    const batch = Array.from({ length: 20_000 }, (_, i) => obj({ applicationId: `big-${i}`, pad: 'z'.repeat(1000) }));
    const body = JSON.stringify(batch);
    expect(body.length).toBeGreaterThan(20 * 1000 * 1000);
    const r = await upload(srv.url, pid, ownerToken, [{ data: body, type: 'application/json' }]);
    expect(r.status).toBe(201);
    expect(await countRows(srv, pid)).toBe(20_000);
    // and the same objects through objectloader2's batch size
    const ids = batch.slice(0, 15_000).map((o) => o.id);
    const s = await objectStream(srv.url, pid, ownerToken, { objectIds: ids });
    expect(lines(s.text)).toHaveLength(15_000);
  });

  it('applies the REST permission statuses with empty bodies: 401 anonymous / 404 signed-in for unknown projects', async () => {
    const o = obj({ applicationId: 'perm' });
    const missing = 'ffffffffff';
    const read = async (pid: string, token?: string) => {
      const res = await Promise.all([
        fetch(`${srv.url}/objects/${pid}/${o.id}/single`, { headers: auth(token) }),
        fetch(`${srv.url}/objects/${pid}/${o.id}`, { headers: auth(token) }),
        fetch(`${srv.url}/api/getobjects/${pid}`, {
          method: 'POST',
          headers: { ...auth(token), 'content-type': 'application/json' },
          body: JSON.stringify({ objects: JSON.stringify([o.id]) }),
        }),
      ]);
      return Promise.all(res.map(async (r) => [r.status, await r.text()]));
    };
    const write = async (pid: string, token?: string) => {
      const d = await fetch(`${srv.url}/api/diff/${pid}`, {
        method: 'POST',
        headers: { ...auth(token), 'content-type': 'application/json' },
        body: JSON.stringify({ objects: JSON.stringify([o.id]) }),
      });
      const u = await upload(srv.url, pid, token, [{ data: gz([o]), type: 'application/gzip' }]);
      return [
        [d.status, await d.text()],
        [u.status, u.text],
      ];
    };
    expect(await read(missing)).toEqual([[401, ''], [401, ''], [401, '']]);
    expect(await read(missing, otherToken)).toEqual([[404, ''], [404, ''], [404, '']]);
    expect(await write(missing, ownerToken)).toEqual([[401, ''], [401, '']]);
    // a private project of another user
    expect(await read(projectId, otherToken)).toEqual([[401, ''], [401, ''], [401, '']]);
    expect(await read(projectId)).toEqual([[401, ''], [401, ''], [401, '']]);
    expect(await write(projectId, otherToken)).toEqual([[401, ''], [401, '']]);
    expect(await write(projectId)).toEqual([[401, ''], [401, '']]);
    // a reviewer reads but does not write
    await upload(srv.url, projectId, ownerToken, [{ data: gz([o]), type: 'application/gzip' }]);
    expect((await read(projectId, reviewerToken)).map(([s]) => s)).toEqual([200, 200, 200]);
    expect(await write(projectId, reviewerToken)).toEqual([[401, ''], [401, '']]);
    // an invalid token is 403 everywhere
    const bad = await fetch(`${srv.url}/objects/${projectId}/${o.id}/single`, { headers: auth('0'.repeat(42)) });
    expect(bad.status).toBe(403);
  });

  it('lets anyone read a public project (not write), and answers object-stream auth failures as JSON', async () => {
    const o = obj({ applicationId: 'public' });
    await upload(srv.url, publicProjectId, ownerToken, [{ data: gz([o]), type: 'application/gzip' }]);
    const single = await fetch(`${srv.url}/objects/${publicProjectId}/${o.id}/single`);
    expect(single.status).toBe(200);
    expect(lines((await getobjects(srv.url, publicProjectId, undefined, [o.id])).text)).toEqual([[o.id, o]]);
    expect(lines((await objectStream(srv.url, publicProjectId, otherToken, { objectIds: [o.id] })).text)).toEqual([[o.id, o]]);
    expect((await upload(srv.url, publicProjectId, undefined, [{ data: gz([o]), type: 'application/gzip' }])).status).toBe(401);
    expect((await upload(srv.url, publicProjectId, otherToken, [{ data: gz([o]), type: 'application/gzip' }])).status).toBe(401);

    const anon = await objectStream(srv.url, projectId, undefined, { objectIds: [o.id] });
    expect(anon.status).toBe(401);
    expect(JSON.parse(anon.text)).toEqual({ error: expect.any(String) });
    const stranger = await objectStream(srv.url, projectId, otherToken, { objectIds: [o.id] });
    expect(stranger.status).toBe(403);
    expect(JSON.parse(stranger.text)).toEqual({ error: 'You do not have access to the project' });
    const missing = await objectStream(srv.url, 'ffffffffff', otherToken, { objectIds: [o.id] });
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.text)).toEqual({ error: 'Project not found' });
  });

  it('compresses object responses exactly once (its own gzip, not the global compressor on top)', async () => {
    const o = obj({ applicationId: 'once', pad: 'q'.repeat(5000) });
    await upload(srv.url, projectId, ownerToken, [{ data: gz([o]), type: 'application/gzip' }]);
    const body = JSON.stringify({ objects: JSON.stringify([o.id]) });
    for (const [path, reqBody] of [
      [`/api/getobjects/${projectId}`, body],
      [`/api/diff/${projectId}`, body],
      [`/api/v2/projects/${projectId}/object-stream`, JSON.stringify({ objectIds: [o.id] })],
    ] as const) {
      const r = await rawRequest(srv.url, path, 'POST', { ...auth(ownerToken), 'content-type': 'application/json', accept: 'text/plain', 'accept-encoding': 'gzip, deflate, br' }, reqBody);
      expect(r.status).toBe(200);
      expect(r.headers['content-encoding']).toBe('gzip');
      const text = zlib.gunzipSync(r.raw).toString('utf8');
      expect(text.startsWith(path.includes('diff') ? '{' : `${o.id}\t`)).toBe(true);
    }
    // also for a client that asks for no compression at all (Speckle always gzips these routes)
    const r = await rawRequest(srv.url, `/objects/${projectId}/${o.id}`, 'GET', { ...auth(ownerToken), accept: 'text/plain' });
    expect(r.headers['content-encoding']).toBe('gzip');
    expect(zlib.gunzipSync(r.raw).toString('utf8')).toBe(`${o.id}\t${JSON.stringify({ ...o, totalChildrenCount: null })}\n`);
  });

  it('answers OPTIONS on every object route with CORS *', async () => {
    for (const path of [
      `/api/diff/${projectId}`,
      `/objects/${projectId}`,
      `/objects/${projectId}/abc`,
      `/objects/${projectId}/abc/single`,
      `/api/getobjects/${projectId}`,
      `/api/v2/projects/${projectId}/object-stream/`,
    ]) {
      const bare = await fetch(`${srv.url}${path}`, { method: 'OPTIONS' });
      expect(bare.status, path).toBe(204);
      expect(bare.headers.get('access-control-allow-origin')).toBe('*');
      const preflight = await fetch(`${srv.url}${path}`, {
        method: 'OPTIONS',
        headers: { origin: 'https://viewer.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    }
  });

  it('creates objects through GraphQL objectCreate with totalChildrenCount, and reads them as Project.object', async () => {
    const { root, children } = tree(3, 'graphql');
    const { __closure: _c, ...rootWithoutClosure } = root;
    void _c;
    const create = await gql(
      srv.url,
      'mutation ObjectCreate($object_input: ObjectCreateInput!) { objectCreate(objectInput: $object_input) }',
      { object_input: { streamId: projectId, objects: [...children, root] } },
      ownerToken,
    );
    expect(create.body.errors).toBeUndefined();
    expect(create.body.data.objectCreate).toEqual([...children, root].map((o) => o.id));
    const single = await fetch(`${srv.url}/objects/${projectId}/${root.id}/single`, { headers: auth(ownerToken) });
    expect(await single.json()).toEqual({ ...root, totalChildrenCount: 3 });

    const q = await gql(
      srv.url,
      `query($p: String!, $id: String!) { project(id: $p) { object(id: $id) { id speckleType applicationId totalChildrenCount createdAt data
        children(limit: 2) { totalCount cursor objects { id data } } } missing: object(id: "${'0'.repeat(32)}") { id } } }`,
      { p: projectId, id: root.id },
      ownerToken,
    );
    expect(q.body.errors).toBeUndefined();
    const o = q.body.data.project.object;
    expect(o).toMatchObject({ id: root.id, speckleType: 'Base', applicationId: 'graphql-root', totalChildrenCount: 3 });
    expect(o.data).toMatchObject({ ...rootWithoutClosure, totalChildrenCount: 3 });
    const sorted = children.map((c) => c.id).sort();
    expect(o.children.totalCount).toBe(3);
    expect(o.children.objects.map((c: { id: string }) => c.id)).toEqual(sorted.slice(0, 2));
    expect(o.children.cursor).toBe(sorted[1]);
    expect(q.body.data.project.missing).toBeNull();
    const legacy = await gql(srv.url, `query($p: String!, $id: String!) { stream(id: $p) { object(id: $id) { id totalChildrenCount } } }`, { p: projectId, id: root.id }, ownerToken);
    expect(legacy.body.errors).toBeUndefined();
    expect(legacy.body.data.stream.object).toEqual({ id: root.id, totalChildrenCount: 3 });
    const next = await gql(
      srv.url,
      `query($p: String!, $id: String!, $c: String) { project(id: $p) { object(id: $id) { children(limit: 2, cursor: $c, select: ["applicationId"]) { cursor objects { id data } } } } }`,
      { p: projectId, id: root.id, c: o.children.cursor },
      ownerToken,
    );
    const page2 = next.body.data.project.object.children;
    expect(page2.cursor).toBeNull();
    expect(page2.objects).toEqual([{ id: sorted[2], data: { id: sorted[2], applicationId: children.find((c) => c.id === sorted[2])!.applicationId } }]);

    const invalid = await gql(
      srv.url,
      'mutation ObjectCreate($object_input: ObjectCreateInput!) { objectCreate(objectInput: $object_input) }',
      { object_input: { streamId: projectId, objects: [{ id: 'nope' }] } },
      ownerToken,
    );
    expect(invalid.body.errors[0].extensions.code).toBe('OBJECT_HANDLING_ERROR');
    const denied = await gql(
      srv.url,
      'mutation ObjectCreate($object_input: ObjectCreateInput!) { objectCreate(objectInput: $object_input) }',
      { object_input: { streamId: projectId, objects: [obj()] } },
      reviewerToken,
    );
    expect(denied.body.errors[0].extensions.code).toBe('FORBIDDEN');
  });
});

describe.each(storeKinds)('Speckle REST object limits on %s', (kind) => {
  let srv: TestServer;
  let token: string;
  let projectId: string;

  beforeAll(async () => {
    srv = await startTestServer(kind, { ATRIUM_MAX_OBJECT_SIZE_MB: '1', ATRIUM_MAX_UPLOAD_PART_MB: '1' });
    const owner = await srv.createUser({ name: 'Limited' });
    token = await srv.createToken(owner.id, ALL);
    projectId = await createProject(srv, token);
  });
  afterAll(() => srv?.close());

  it('refuses an object over the object size limit with Speckle\'s message, and stores nothing of its batch', async () => {
    const small = obj({ applicationId: 'fits' });
    const big = obj({ applicationId: 'too big', pad: 'b'.repeat(1024 * 1024) });
    const size = JSON.stringify(big).length;
    const mb = Math.ceil((size / (1024 * 1024)) * 100) / 100;
    const r = await upload(srv.url, projectId, token, [{ data: gz([small, big]), type: 'application/gzip' }]);
    expect(r).toEqual({ status: 400, text: `Error inserting object in the database: Object too large. Object ID: ${big.id}. (${mb} MB is > than limit, 1 MB)` });
    expect(await countRows(srv, projectId)).toBe(0);
  });

  it('refuses an element far over the limit before parsing it', async () => {
    const huge = { id: 'h'.repeat(32), pad: 'c'.repeat(4 * 1024 * 1024) };
    const r = await upload(srv.url, projectId, token, [{ data: gz([huge]), type: 'application/gzip' }]);
    expect(r.status).toBe(400);
    expect(r.text).toMatch(new RegExp(`^Error inserting object in the database: Object too large\\. Object ID: ${'h'.repeat(32)}\\. \\(`));
  });

  it('answers 413 with the part size when a part is over the part limit (compressed size)', async () => {
    const data = Buffer.alloc(1024 * 1024 + 10, 0x20);
    const r = await upload(srv.url, projectId, token, [{ data, type: 'application/json' }]);
    expect(r).toEqual({ status: 413, text: `File size too large (${data.length} > 1048576)` });
    // a compressed part under the limit is fine even when it inflates past it
    const many = Array.from({ length: 6000 }, (_, i) => obj({ applicationId: `inflates-${i}`, pad: 'r'.repeat(300) }));
    const z = gz(many);
    expect(z.length).toBeLessThan(1024 * 1024);
    expect(JSON.stringify(many).length).toBeGreaterThan(1024 * 1024);
    expect((await upload(srv.url, projectId, token, [{ data: z, type: 'application/gzip' }])).status).toBe(201);
  });

  it('refuses a valid-JSON gzip bomb once it inflates past 10 × the part limit, without the process growing', async () => {
    const one = JSON.stringify({ id: 'b'.repeat(32), speckle_type: 'Base' });
    const unit = Buffer.from(`${one},`.repeat(10_000));
    const bomb = await new Promise<Buffer>((resolve) => {
      const z = zlib.createGzip({ level: 9 });
      const out: Buffer[] = [];
      z.on('data', (c) => out.push(c));
      z.on('end', () => resolve(Buffer.concat(out)));
      z.write('[');
      for (let i = 0; i < 400; i++) z.write(unit); // ~200 MB of JSON
      z.end(`${one}]`);
    });
    expect(bomb.length).toBeLessThan(1024 * 1024);
    const rssBefore = process.memoryUsage().rss;
    const r = await upload(srv.url, projectId, token, [{ data: bomb, type: 'application/gzip' }]);
    expect(r.status).toBe(413);
    expect(r.text).toMatch(/^File size too large \(\d+ > 10485760\)$/);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(150 * 1024 * 1024);
  });
});
