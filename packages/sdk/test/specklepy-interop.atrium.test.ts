/**
 * The SDK and real specklepy (the version pinned in conformance/requirements.txt) through the same
 * Atrium: what operations.send stores, specklepy receives and rebuilds (typed Mesh, DataObject,
 * Collection, chunked and detached members); what specklepy sends, operations.receive rebuilds — with
 * the ids specklepy computed. Needs the Python environment (/work/main/.venv, or ATRIUM_SPECKLEPY_PYTHON);
 * skipped without it.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Base, Collection, DataObject, Mesh, Point, SpeckleClient, float, operations, serialize } from '../src/index.js';
import { startTestServer, storeKinds } from '../../server/test/helpers/server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const PYTHON = process.env.ATRIUM_SPECKLEPY_PYTHON ?? path.resolve(here, '../../../.venv/bin/python');
const SCRIPT = path.join(here, 'interop/specklepy_interop.py');
const hasPython = fs.existsSync(PYTHON);
const run = promisify(execFile);

async function specklepy(...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(PYTHON, [SCRIPT, ...args], { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

describe.skipIf(!hasPython).each(storeKinds)('SDK ↔ specklepy through Atrium on %s', (kind) => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let token: string;
  let client: SpeckleClient;
  let host: string;

  beforeAll(async () => {
    server = await startTestServer(kind);
    const user = await server.createUser({ name: 'Interop' });
    token = await server.createToken(user.id, ['streams:read', 'streams:write', 'profile:read', 'profile:email', 'users:read'], { name: 'interop' });
    client = new SpeckleClient({ host: server.url, useSsl: false });
    await client.authenticateWithToken(token);
    host = new URL(server.url).host;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('specklepy receives what the SDK sent', async () => {
    const project = await client.project.create({ name: 'TS → py' });
    const mesh = new Mesh({
      vertices: Float64Array.from({ length: 3 * 40_000 }, (_, i) => (i % 89) * 0.125),
      faces: Array.from({ length: 20_000 }, (_, i) => [3, i, i + 1, i + 2]).flat(),
      units: 'm',
      applicationId: 'ts-mesh',
    });
    const wall = new DataObject({ name: 'Wall from TypeScript — é/ü', properties: { height: float(3), fire: { rating: 'EI60' } }, displayValue: [mesh] });
    const extra = new Base({ applicationId: 'ts-extra' });
    extra['@(3)levels'] = ['L0', 'L1', 'L2', 'L3'];
    extra['@point'] = new Point({ x: 1.5, y: 2.5, z: 3.5, units: 'm' });
    extra.count = 7;
    const root = new Collection({ name: 'ts root', elements: [wall, extra], applicationId: 'ts-root' });
    const id = await operations.send(root, { client, projectId: project.id });

    const summary = await specklepy('receive', host, token, project.id, id);
    expect(summary).toMatchObject({
      speckle_type: 'Speckle.Core.Models.Collections.Collection',
      applicationId: 'ts-root',
      id,
      name: 'ts root',
    });
    const [pyWall, pyExtra] = summary.elements as Record<string, unknown>[];
    expect(pyWall).toMatchObject({
      speckle_type: 'Objects.Data.DataObject',
      name: 'Wall from TypeScript — é/ü',
      properties: { height: 3, fire: { rating: 'EI60' } },
    });
    expect((pyWall.displayValue as Record<string, unknown>[])[0]).toMatchObject({
      speckle_type: 'Objects.Geometry.Mesh',
      applicationId: 'ts-mesh',
      vertices: 120_000,
      faces: 80_000,
      vertex_5: 0.625,
    });
    expect(pyExtra).toMatchObject({
      applicationId: 'ts-extra',
      '@(3)levels': ['L0', 'L1', 'L2', 'L3'],
      '@point': { speckle_type: 'Objects.Geometry.Point', x: 1.5, y: 2.5, z: 3.5 },
      count: 7,
    });
  }, 120_000);

  it('the SDK receives what specklepy sent, with the ids specklepy computed', async () => {
    const project = await client.project.create({ name: 'py → TS' });
    const { id } = (await specklepy('send', host, token, project.id)) as { id: string };
    expect(id).toMatch(/^[0-9a-f]{32}$/);

    const root = (await operations.receive(id, { client, projectId: project.id })) as Collection;
    expect(root).toBeInstanceOf(Collection);
    expect(root.id).toBe(id);
    expect(root.name).toBe('python root');
    const [wall, extra] = root.elements as [DataObject, Base];
    expect(wall).toBeInstanceOf(DataObject);
    expect(wall.name).toBe('Wall from Python — é/ü');
    expect(wall.properties).toEqual({ fire: { rating: 'EI60' }, height: 3.5 });
    const mesh = wall.displayValue[0] as Mesh;
    expect(mesh).toBeInstanceOf(Mesh);
    expect(mesh.vertices.length).toBe(120_000);
    expect(mesh.vertices[5]).toBe(1.25);
    expect(mesh.faces.length).toBe(80_000);
    expect(extra['@(3)levels']).toEqual(['L0', 'L1', 'L2', 'L3']);
    expect(extra['@point']).toBeInstanceOf(Point);
    // every object specklepy stored carries the id the SDK computes for its own JSON text
    const single = await fetch(`${server.url}/objects/${project.id}/${(extra['@point'] as Point).id}/single`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(single.status).toBe(200);
    // the same graph built in TypeScript hashes to specklepy's id
    const twin = new Collection({
      name: 'python root',
      applicationId: 'py-root',
      elements: [
        new DataObject({
          name: 'Wall from Python — é/ü',
          properties: { fire: { rating: 'EI60' }, height: 3.5 },
          displayValue: [
            new Mesh({
              vertices: Float64Array.from({ length: 3 * 40_000 }, (_, i) => (i % 97) * 0.25),
              faces: Array.from({ length: 20_000 }, (_, i) => [3, i, i + 1, i + 2]).flat(),
              units: 'mm',
              applicationId: 'py-mesh',
            }),
          ],
        }),
        (() => {
          const b = new Base({ applicationId: 'py-extra' });
          b['@(3)levels'] = ['L0', 'L1', 'L2', 'L3'];
          b['@point'] = new Point({ x: 1.5, y: 2.5, z: 3.5, units: 'm' });
          b.count = 7;
          return b;
        })(),
      ],
    });
    expect(serialize(twin).id).toBe(id);
  }, 120_000);
});
