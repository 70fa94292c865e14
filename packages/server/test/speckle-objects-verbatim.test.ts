import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, storeKinds, type TestServer } from './helpers/server.js';
import { gql } from './helpers/http.js';

// Text as specklepy's ujson writes it: "\/" escapes, floats with ".0", non-ASCII escaped.
const child = '{"id":"0123456789abcdef0123456789abcdef","speckle_type":"Base","totalChildrenCount":0,"applicationId":null,"url":"a\\/b","x":1.0,"name":"caf\\u00e9"}';
const pretty = '{\n  "id": "fedcba9876543210fedcba9876543210",\n  "speckle_type": "Base",\n  "x": 2.0\n}';

describe.each(storeKinds)('objects are stored as sent on %s', (kind) => {
  let srv: TestServer;
  let token: string;
  let projectId: string;
  beforeAll(async () => {
    srv = await startTestServer(kind);
    const u = await srv.createUser({ admin: true });
    token = await srv.createToken(u.id, ['streams:read', 'streams:write', 'profile:read']);
    projectId = (await gql(srv.url, 'mutation { projectMutations { create(input: {name: "v"}) { id } } }', undefined, token)).body.data.projectMutations.create.id;
    const form = new FormData();
    form.append('batch-1', new Blob([gzipSync(`[${child},${pretty}]`)], { type: 'application/gzip' }), 'batch-1');
    const res = await fetch(`${srv.url}/objects/${projectId}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
    expect(res.status).toBe(201);
  });
  afterAll(() => srv.close());

  const getobjects = async (ids: string[]) => {
    const res = await fetch(`${srv.url}/api/getobjects/${projectId}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, accept: 'text/plain', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ objects: JSON.stringify(ids) }).toString(),
    });
    return res.text();
  };

  it('returns compact uploaded JSON byte for byte (so a client re-hashes it to the same id)', async () => {
    expect(await getobjects(['0123456789abcdef0123456789abcdef'])).toBe(`0123456789abcdef0123456789abcdef\t${child}\n`);
  });

  it('re-encodes JSON that would not fit on one line, keeping every value', async () => {
    const text = await getobjects(['fedcba9876543210fedcba9876543210']);
    expect(text.split('\n').filter(Boolean)).toHaveLength(1);
    const [id, json] = text.trimEnd().split('\t');
    expect(id).toBe('fedcba9876543210fedcba9876543210');
    expect(JSON.parse(json)).toEqual({ id: 'fedcba9876543210fedcba9876543210', speckle_type: 'Base', x: 2 });
  });
});
