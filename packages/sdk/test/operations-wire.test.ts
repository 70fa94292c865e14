/**
 * operations.send / receive on the wire, against a loopback server playing the REST object routes:
 * batching as specklepy's BatchSender does it, 4 batches in flight, /api/diff then only the missing
 * objects in one gzipped multipart part, 201 expected; receive's /single + one /api/getobjects with
 * every closure id, `id\tjson` lines, progress and warnings.
 */
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Base,
  SpeckleAuthError,
  SpeckleClient,
  SpeckleError,
  SpeckleTransportError,
  makeBatches,
  operations,
  pythonJsonList,
  recordsToSend,
  serialize,
  type ObjectRecord,
  type ReceiveProgress,
  type SendProgress,
} from '../src/index.js';
import { json, startHttpServer, type RecordedRequest, type TestHttpServer } from './helpers/httpServer.js';
import type http from 'node:http';

const TOKEN = 'aaaaaaaaaabbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const USER = { id: 'u1', email: null, name: 'Ada', bio: null, company: null, avatar: null, verified: true, role: 'server:user' };

let srv: TestHttpServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

type RestHandler = (req: RecordedRequest, res: http.ServerResponse) => void;

/** A server answering authentication, plus `rest` for everything else. */
async function authenticatedClient(rest: RestHandler): Promise<SpeckleClient> {
  srv = await startHttpServer((req, res) => {
    if (req.path === '/graphql') {
      const { query } = JSON.parse(req.body) as { query: string };
      if (query.startsWith('query User')) return json(res, 200, { data: { data: USER } });
      return json(res, 200, { data: { serverInfo: { name: 'x', version: '2.31.14', workspaces: null } } });
    }
    rest(req, res);
  });
  const c = new SpeckleClient({ host: srv.url, useSsl: false });
  await c.authenticateWithToken(TOKEN);
  return c;
}

function formIds(body: string): string[] {
  return JSON.parse(new URLSearchParams(body).get('objects')!) as string[];
}

/** The objects of a multipart upload (one part, gzip). */
function uploadedObjects(req: RecordedRequest): { head: string; objects: Record<string, unknown>[]; text: string } {
  const boundary = /boundary=(.+)$/.exec(String(req.headers['content-type']))![1];
  const raw = req.raw;
  const headEnd = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, headEnd).toString();
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  expect(raw.subarray(raw.length - tail.length).equals(tail)).toBe(true);
  const text = gunzipSync(raw.subarray(headEnd + 4, raw.length - tail.length)).toString();
  return { head, objects: JSON.parse(text) as Record<string, unknown>[], text };
}

function graph(n: number): Base {
  const root = new Base({ applicationId: 'root' });
  root['@items'] = Array.from({ length: n }, (_, i) => new Base({ applicationId: `item-${i}` }));
  return root;
}

describe('makeBatches (specklepy BatchSender rule)', () => {
  const rec = (id: string, size: number): ObjectRecord => ({ id, json: 'x'.repeat(size) });

  it('a batch grows while size + next < max and count < max; the first object always fits', () => {
    expect(makeBatches([rec('a', 10), rec('b', 10), rec('c', 10)], 25, 100).map((b) => b.map((r) => r.id))).toEqual([['a', 'b'], ['c']]);
    // size + next must stay strictly under the limit
    expect(makeBatches([rec('a', 10), rec('b', 10)], 20, 100).map((b) => b.length)).toEqual([1, 1]);
    // an object larger than the limit is sent alone
    expect(makeBatches([rec('big', 50), rec('b', 1)], 20, 100).map((b) => b.map((r) => r.id))).toEqual([['big'], ['b']]);
    expect(makeBatches(Array.from({ length: 5 }, (_, i) => rec(`${i}`, 1)), 1000, 2).map((b) => b.length)).toEqual([2, 2, 1]);
  });

  it('defaults: < 1 000 000 characters and < 20 000 objects', () => {
    const many = Array.from({ length: 45_000 }, (_, i) => rec(`${i}`, 10));
    expect(makeBatches(many).map((b) => b.length)).toEqual([20_000, 20_000, 5_000]);
    const large = Array.from({ length: 5 }, (_, i) => rec(`${i}`, 400_000));
    expect(makeBatches(large).map((b) => b.length)).toEqual([2, 2, 1]);
  });

  it('pythonJsonList writes json.dumps(list) with ", "', () => {
    expect(pythonJsonList(['a', 'b'])).toBe('["a", "b"]');
    expect(pythonJsonList([])).toBe('[]');
  });
});

describe('operations.send', () => {
  it('asks /api/diff for every id, uploads only what is missing, gzipped, in part batch-1, and returns the root id', async () => {
    const expected = recordsToSend(graph(3));
    const known = new Set([expected.records[0].id]);
    const c = await authenticatedClient((req, res) => {
      if (req.path === '/api/diff/proj1') {
        return json(res, 200, Object.fromEntries(formIds(req.body).map((id) => [id, known.has(id)])));
      }
      if (req.path === '/objects/proj1') {
        res.writeHead(201);
        return res.end();
      }
      json(res, 404, {});
    });
    const progress: SendProgress[] = [];
    const id = await operations.send(graph(3), { client: c, projectId: 'proj1', onProgress: (p) => progress.push(p) });
    expect(id).toBe(expected.id);

    const [diff, upload] = srv!.requests.filter((r) => r.path !== '/graphql');
    expect(diff.method).toBe('POST');
    expect(diff.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(diff.headers.accept).toBe('text/plain');
    expect(diff.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(diff.body).toBe(`objects=${encodeURIComponent(pythonJsonList(expected.records.map((r) => r.id))).replace(/%20/g, '+')}`);

    expect(upload.method).toBe('POST');
    expect(upload.headers['content-type']).toMatch(/^multipart\/form-data; boundary=[0-9a-f]+$/);
    const { head, text } = uploadedObjects(upload);
    expect(head).toMatch(/^--[0-9a-f]+\r\nContent-Disposition: form-data; name="batch-1"; filename="batch-1"\r\nContent-Type: application\/gzip$/);
    expect(text).toBe(`[${expected.records.slice(1).map((r) => r.json).join(',')}]`);

    expect(progress[0]).toEqual({ totalObjects: 4, processedObjects: 0, uploadedObjects: 0, totalBatches: 1, finishedBatches: 0 });
    expect(progress.at(-1)).toEqual({ totalObjects: 4, processedObjects: 4, uploadedObjects: 3, totalBatches: 1, finishedBatches: 1 });
  });

  it('sends a repeated object once', async () => {
    const shared = new Base({ applicationId: 'shared' });
    const root = new Base();
    root['@a'] = shared;
    root['@b'] = shared;
    expect(serialize(root).records).toHaveLength(3);
    expect(recordsToSend(root).records).toHaveLength(2);
  });

  it('keeps 4 batches in flight, no more', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const c = await authenticatedClient((req, res) => {
      if (req.path.startsWith('/api/diff/')) {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        setTimeout(() => {
          inFlight--;
          json(res, 200, Object.fromEntries(formIds(req.body).map((id) => [id, true])));
        }, 30);
        return;
      }
      json(res, 404, {});
    });
    const progress: SendProgress[] = [];
    await operations.send(graph(23), { client: c, projectId: 'p', maxBatchLength: 2, onProgress: (p) => progress.push(p) });
    expect(progress.at(-1)!.totalBatches).toBe(12);
    expect(progress.at(-1)!.finishedBatches).toBe(12);
    expect(progress.at(-1)!.uploadedObjects).toBe(0);
    expect(maxInFlight).toBe(4);
    expect(srv!.requests.filter((r) => r.path.startsWith('/objects/'))).toHaveLength(0);
  });

  it('a 403 from /api/diff is "Invalid credentials"; a refused upload names the status; no new batch starts after a failure', async () => {
    const c403 = await authenticatedClient((_req, res) => json(res, 403, { error: 'no' }));
    const err = await operations.send(graph(1), { client: c403, projectId: 'p' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpeckleAuthError);
    expect((err as Error).message).toMatch(/^Invalid credentials - cannot send objects to server http:\/\/127\.0\.0\.1:\d+$/);
    await srv!.close();

    const c = await authenticatedClient((req, res) => {
      if (req.path.startsWith('/api/diff/')) return json(res, 200, Object.fromEntries(formIds(req.body).map((id) => [id, false])));
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('Failed to parse data.');
    });
    const refused = await operations.send(graph(20), { client: c, projectId: 'p', maxBatchLength: 1, concurrency: 1 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SpeckleTransportError);
    expect((refused as Error).message).toBe('Could not save the object to the server - status code 400 (Failed to parse data.)');
    expect(srv!.requests.filter((r) => r.path.startsWith('/objects/'))).toHaveLength(1);
  });

  it('an answer of /api/diff without some id is an error (specklepy: KeyError)', async () => {
    const c = await authenticatedClient((_req, res) => json(res, 200, {}));
    await expect(operations.send(graph(1), { client: c, projectId: 'p' })).rejects.toBeInstanceOf(SpeckleTransportError);
  });

  it('retries 503 like specklepy and then succeeds', async () => {
    let first = true;
    const c = await authenticatedClient((req, res) => {
      if (first) {
        first = false;
        return json(res, 503, {});
      }
      if (req.path.startsWith('/api/diff/')) return json(res, 200, Object.fromEntries(formIds(req.body).map((id) => [id, true])));
      json(res, 404, {});
    });
    await expect(operations.send(graph(1), { client: c, projectId: 'p' })).resolves.toMatch(/^[0-9a-f]{32}$/);
  });

  it('needs an authenticated client', async () => {
    const c = new SpeckleClient({ host: '127.0.0.1:1', useSsl: false });
    await expect(operations.send(graph(1), { client: c, projectId: 'p' })).rejects.toBeInstanceOf(SpeckleError);
  });
});

describe('operations.receive', () => {
  it('GET /single, then one POST /api/getobjects with the closure ids; lines parsed; the graph rebuilt', async () => {
    const { id, records } = serialize(graph(3));
    const byId = new Map(records.map((r) => [r.id, r.json]));
    const c = await authenticatedClient((req, res) => {
      if (req.method === 'GET' && req.path === `/objects/p/${id}/single`) {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(byId.get(id));
      }
      if (req.method === 'POST' && req.path === '/api/getobjects/p') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8' });
        // CRLF on one line, no final newline: both still parsed
        const lines = formIds(req.body).map((x, i) => `${x}\t${byId.get(x)}${i === 0 ? '\r\n' : '\n'}`);
        return res.end(lines.join('').replace(/\n$/, ''));
      }
      json(res, 404, {});
    });
    const progress: ReceiveProgress[] = [];
    const base = await operations.receive(id, { client: c, projectId: 'p', onProgress: (p) => progress.push(p) });
    expect(base.id).toBe(id);
    expect((base['@items'] as Base[]).map((b) => b.applicationId)).toEqual(['item-0', 'item-1', 'item-2']);
    expect(progress.at(-1)).toEqual({ totalObjects: 4, receivedObjects: 4 });

    const [single, children] = srv!.requests.filter((r) => r.path !== '/graphql');
    expect(single.headers.accept).toBe('text/plain');
    expect(children.headers.accept).toBe('text/plain');
    expect(children.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(formIds(children.body).sort()).toEqual(records.map((r) => r.id).filter((x) => x !== id).sort());
  });

  it('asks only for what the cache lacks; still posts an empty list when nothing is missing', async () => {
    const { id, records } = serialize(graph(2));
    const byId = new Map(records.map((r) => [r.id, r.json]));
    const c = await authenticatedClient((req, res) => {
      if (req.path.endsWith('/single')) {
        res.writeHead(200);
        return res.end(byId.get(id));
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(formIds(req.body).map((x) => `${x}\t${byId.get(x)}\n`).join(''));
    });
    const cache = new Map(records.filter((r) => r.id !== id).map((r) => [r.id, r.json]));
    await operations.receive(id, { client: c, projectId: 'p', cache });
    const post = srv!.requests.find((r) => r.path.startsWith('/api/getobjects/'))!;
    expect(post.body).toBe('objects=%5B%5D');
  });

  it('warns about children the server did not return; a missing root is an error', async () => {
    const { id, records } = serialize(graph(2));
    const byId = new Map(records.map((r) => [r.id, r.json]));
    const c = await authenticatedClient((req, res) => {
      if (req.path === `/objects/p/${id}/single`) {
        res.writeHead(200);
        return res.end(byId.get(id));
      }
      if (req.path.endsWith('/single')) {
        res.writeHead(404, { 'content-type': 'text/plain' });
        return res.end('Failed to find object.');
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('');
    });
    const warnings: string[] = [];
    const base = await operations.receive(id, { client: c, projectId: 'p', onWarning: (w) => warnings.push(w) });
    expect(base.id).toBe(id);
    expect(warnings.length).toBeGreaterThan(0);

    const err = await operations.receive('f'.repeat(32), { client: c, projectId: 'p' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpeckleTransportError);
    expect((err as SpeckleTransportError).status).toBe(404);
    expect((err as Error).message).toBe(`Can't get object p/${'f'.repeat(32)}: HTTP error 404 (Failed to find object.)`);
  });
});
