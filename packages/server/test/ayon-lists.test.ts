/**
 * AYON entity lists over real HTTP on every store kind: lists and their items (insert, move, order,
 * merge/replace/delete modes), list attribute definitions and item attributes, list folders, GraphQL
 * reads with keyset paging of lists and items, list access levels for other users, entity_list.*
 * events written in the write's transaction, concurrent writers, and bad input leaving nothing behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { startTestServer, storeKinds, type TestServer } from './helpers/server.js';
import { ayonRequest, type AyonRequestOptions } from './helpers/http.js';

const hex = () => randomBytes(16).toString('hex');

const LISTS = `query L($projectName: String!, $ids: [String!], $first: Int, $after: String, $last: Int, $before: String) {
  project(name: $projectName) { entityLists(ids: $ids, first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { id label entityType entityListType count active owner tags data attributes allAttrib access accessLevel createdBy updatedBy createdAt updatedAt
      items(first: 300) { edges { id entityId entityType position label attrib allAttrib ownAttrib data tags folderPath } pageInfo { hasNextPage endCursor } } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }`;

const ITEMS = `query I($projectName: String!, $id: String!, $first: Int, $after: String, $last: Int, $before: String) {
  project(name: $projectName) { entityList(id: $id) { id items(first: $first, after: $after, last: $last, before: $before) {
    edges { id entityId position cursor node { id name ... on VersionNode { version productId } ... on FolderNode { path } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } } }`;

describe.each(storeKinds)('AYON entity lists on %s', (kind) => {
  let srv: TestServer;
  let base: string;
  let admin: string;
  let adminName: string;
  const tokens: Record<string, string> = {};
  const P = `lst_${randomBytes(3).toString('hex')}`;
  const folder = hex();
  const sub = hex();
  const task = hex();
  const product = hex();
  const versions = Array.from({ length: 6 }, () => hex());

  const call = (method: string, path: string, opts: AyonRequestOptions = {}) => ayonRequest(base, admin, method, path, opts);
  const as = (user: string) => ({ token: tokens[user] });
  const L = (suffix = '') => `/api/projects/${P}/lists${suffix}`;
  const gql = async (query: string, variables: Record<string, unknown>, token = admin) => (await call('POST', '/graphql', { body: { query, variables: { projectName: P, ...variables } }, token })).json;
  const newList = async (body: Record<string, unknown>, token = admin) => {
    const r = await call('POST', L(), { body: { entityType: 'version', ...body }, token });
    expect(r.status, JSON.stringify(r.json)).toBe(201);
    return r.json.id as string;
  };
  const itemsOf = async (id: string) => ((await call('GET', L(`/${id}`))).json.items as Array<Record<string, any>>).map((i) => [i.entityId, i.position]);
  const events = async (listId: string) =>
    (await srv.app.store.db.selectFrom('ayon_events').selectAll().where('project_name', '=', P).where('topic', 'like', 'entity_list.%').orderBy('created_at').execute()).filter(
      (e) => JSON.parse(e.summary).id === listId,
    );
  const rows = async (table: 'ayon_entity_lists' | 'ayon_entity_list_items') =>
    Number((await srv.app.store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where('project_name', '=', P).executeTakeFirstOrThrow()).n);

  beforeAll(async () => {
    srv = await startTestServer(kind);
    base = `${srv.url}/ayon`;
    const u = await srv.createUser({ admin: true, email: `boss-${randomBytes(3).toString('hex')}@example.com`, password: 'admin-password-1' });
    admin = (await call('POST', '/api/auth/login', { body: { name: u.email, password: u.password }, token: null })).json.token;
    adminName = (await call('GET', '/api/users/me')).json.name;
    const preset = (await call('GET', '/api/anatomy/presets/__primary__')).json;
    expect((await call('POST', '/api/projects', { body: { name: P, code: P, anatomy: preset } })).status).toBe(201);
    for (const [name, groups] of [
      ['alice', { [P]: ['artist'] }],
      ['vic', { [P]: ['viewer'] }],
      ['carol', {}],
    ] as const) {
      expect((await call('PUT', `/api/users/${name}`, { body: { password: `${name}-password-1`, data: { accessGroups: groups } } })).status).toBe(204);
      tokens[name] = (await call('POST', '/api/auth/login', { body: { name, password: `${name}-password-1` }, token: null })).json.token;
    }
    expect((await call('POST', `/api/projects/${P}/folders`, { body: { id: folder, name: 'seq', folderType: 'Sequence', attrib: { fps: 50 } } })).status).toBe(201);
    expect((await call('POST', `/api/projects/${P}/folders`, { body: { id: sub, name: 'sh010', folderType: 'Shot', parentId: folder } })).status).toBe(201);
    expect((await call('POST', `/api/projects/${P}/tasks`, { body: { id: task, name: 'comp', taskType: 'Compositing', folderId: sub } })).status).toBe(201);
    expect((await call('POST', `/api/projects/${P}/products`, { body: { id: product, name: 'renderMain', productType: 'render', folderId: sub } })).status).toBe(201);
    for (const [i, v] of versions.entries())
      expect((await call('POST', `/api/projects/${P}/versions`, { body: { id: v, productId: product, version: i + 1, taskId: task, attrib: { fps: 24 } } })).status).toBe(201);
  });
  afterAll(() => srv.close());

  it('creates a list with items (201 summary), reads it through REST and GraphQL, and records entity_list.created', async () => {
    const id = hex();
    const r = await call('POST', L(), {
      body: { id, entityType: 'version', label: 'Dailies', entityListType: 'review-session', tags: ['d'], data: { note: 1 }, items: [{ entityId: versions[0] }, { entity_id: versions[1], label: 'second' }] },
    });
    expect(r.status).toBe(201);
    expect(r.json).toEqual({ id, entityListType: 'review-session', entityType: 'version', label: 'Dailies', count: 2 });
    const rest = (await call('GET', L(`/${id}`))).json;
    expect(rest).toMatchObject({ id, label: 'Dailies', entityType: 'version', owner: adminName, createdBy: adminName, active: true, accessLevel: 30, tags: ['d'], data: { note: 1, count: 2 } });
    expect(rest.items.map((i: any) => [i.entityId, i.position, i.label, i.folderPath])).toEqual([
      [versions[0], 0, null, 'seq/sh010'],
      [versions[1], 1, 'second', 'seq/sh010'],
    ]);
    expect(rest.createdAt).toMatch(/\+00:00$/);
    expect((await call('GET', L(`/${id}?metadataOnly=true`))).json.items).toEqual([]);

    const g = await gql(LISTS, { ids: [id] });
    expect(g.errors).toBeUndefined();
    const node = g.data.project.entityLists.edges[0].node;
    expect(node).toMatchObject({ id, label: 'Dailies', entityType: 'version', entityListType: 'review-session', count: 2, active: true, owner: adminName, tags: ['d'], accessLevel: 30 });
    expect(JSON.parse(node.data)).toEqual({ note: 1, count: 2 });
    expect(JSON.parse(node.attributes)).toEqual([]);
    expect(node.items.edges.map((e: any) => [e.entityId, e.entityType, e.position])).toEqual([
      [versions[0], 'version', 0],
      [versions[1], 'version', 1],
    ]);
    const ev = await events(id);
    expect(ev.map((e) => e.topic)).toEqual(['entity_list.created']);
    expect(JSON.parse(ev[0].summary)).toEqual({ id, entity_list_type: 'review-session', entity_type: 'version', label: 'Dailies', count: 2 });
    expect(ev[0].user_name).toBe(adminName);
  });

  it('inserts, moves and orders items; merge, delete and replace modes behave as AYON', async () => {
    const id = await newList({ label: 'Ops' });
    const add = async (entityId: string, extra: Record<string, unknown> = {}) => {
      const itemId = hex();
      expect((await call('POST', L(`/${id}/items`), { body: { id: itemId, entityId, ...extra } })).status).toBe(201);
      return itemId;
    };
    const a = await add(versions[0]);
    const b = await add(versions[1]);
    const c = await add(versions[2], { position: 0 });
    const d = await add(versions[3], { position: -1 }); // Python list.insert: before the last
    expect(await itemsOf(id)).toEqual([
      [versions[2], 0],
      [versions[0], 1],
      [versions[3], 2],
      [versions[1], 3],
    ]);
    expect((await call('PATCH', L(`/${id}/items/${c}`), { body: { position: 3, label: 'moved' } })).status).toBe(200);
    expect((await itemsOf(id)).map((x) => x[0])).toEqual([versions[0], versions[3], versions[1], versions[2]]);
    expect((await call('POST', L(`/${id}/order`), { body: { order: [d, c, b, a] } })).status).toBe(204);
    expect((await itemsOf(id)).map((x) => x[0])).toEqual([versions[3], versions[2], versions[1], versions[0]]);
    expect((await call('POST', L(`/${id}/order`), { body: { order: [d, c, b] } })).status).toBe(400);
    expect((await call('POST', L(`/${id}/order`), { body: { order: [d, c, b, b] } })).status).toBe(400);

    // merge: a → position 0 ties with d (stable: d stays first); new item appended; b's data patched
    const e = hex();
    const m = await call('PATCH', L(`/${id}/items`), { body: { mode: 'merge', items: [{ id: a, position: 0 }, { id: b, data: { x: 1 } }, { id: e, entityId: versions[4] }] } });
    expect(m.status).toBe(200);
    // b gets position 1 (its index in the payload); ties keep the current order: d(0), a(0), c(1), b(1), e(4)
    expect((await itemsOf(id)).map((x) => x[0])).toEqual([versions[3], versions[0], versions[2], versions[1], versions[4]]);
    const rest = (await call('GET', L(`/${id}`))).json;
    expect(rest.items.find((i: any) => i.id === b).data).toEqual({ x: 1 });
    expect(rest.items.find((i: any) => i.id === c).label).toBe('moved');

    expect((await call('PATCH', L(`/${id}/items`), { body: { mode: 'delete', items: [{ id: d }, { id: null }] } })).status).toBe(200);
    expect((await itemsOf(id)).map((x) => x[0])).toEqual([versions[0], versions[2], versions[1], versions[4]]);

    const aCreated = rest.items.find((i: any) => i.id === a).createdAt;
    expect((await call('PATCH', L(`/${id}/items`), { body: { items: [{ entityId: versions[5] }, { id: a, entityId: versions[0], tags: ['t'] }] } })).status).toBe(200); // mode defaults to replace
    const after = (await call('GET', L(`/${id}`))).json;
    expect(after.items.map((i: any) => [i.entityId, i.position])).toEqual([
      [versions[5], 0],
      [versions[0], 1],
    ]);
    expect(after.items[1]).toMatchObject({ id: a, tags: ['t'], createdAt: aCreated });
    expect(after.data.count).toBe(2);
    expect((await call('DELETE', L(`/${id}/items/${a}`))).status).toBe(200);
    expect(await itemsOf(id)).toEqual([[versions[5], 0]]);
    expect((await call('GET', L(`/${id}/entities`))).json).toEqual({ entityType: 'version', entityIds: [versions[5]] });
    const topics = (await events(id)).map((x) => x.topic);
    expect(topics[0]).toBe('entity_list.created');
    expect(topics.filter((t) => t === 'entity_list.changed').length).toBe(10); // 4 adds, move, order, merge, delete, replace, delete item; refused writes record nothing
  });

  it('list attribute definitions: no shadowing of studio attributes; item values checked against them; allAttrib merges entity and item', async () => {
    const id = await newList({ label: 'Attrs', entityType: 'folder', attrib: { entityListCategory: 'review', custom: 'kept' } });
    expect((await call('GET', L(`/${id}/attributes`))).json).toEqual([]);
    const defs = [
      { name: 'approved', data: { type: 'boolean', title: 'Approved' } },
      { name: 'score', data: { type: 'integer', ge: 0 } },
    ];
    expect((await call('PUT', L(`/${id}/attributes`), { body: defs })).status).toBe(200);
    expect((await call('GET', L(`/${id}/attributes`))).json).toEqual(defs);
    for (const bad of [[{ name: 'fps', data: { type: 'float' } }], [{ name: 'x', data: { type: 'string' } }], [{ name: 'odd', data: { type: 'banana' } }], { name: 'notalist' }]) {
      const r = await call('PUT', L(`/${id}/attributes`), { body: bad });
      expect(r.status).toBe(400);
      expect(r.json.code).toBe(400);
    }
    expect((await call('GET', L(`/${id}/attributes`))).json).toEqual(defs);

    const item = hex();
    expect((await call('POST', L(`/${id}/items`), { body: { id: item, entityId: sub, attrib: { approved: true, score: 2, resolutionWidth: 1000 } } })).status).toBe(201);
    const bad = await call('PATCH', L(`/${id}/items/${item}`), { body: { attrib: { score: -1 } } });
    expect(bad.status).toBe(400);
    expect(bad.json.detail).toMatch(/score/);
    expect((await call('PATCH', L(`/${id}/items/${item}`), { body: { attrib: { score: 5, approved: null } } })).status).toBe(200);
    const g = await gql(LISTS, { ids: [id] });
    const node = g.data.project.entityLists.edges[0].node;
    expect(JSON.parse(node.allAttrib)).toEqual({ entityListCategory: 'review', custom: 'kept' });
    expect(JSON.parse(node.attributes)).toEqual(defs);
    const edge = node.items.edges[0];
    expect(JSON.parse(edge.attrib)).toEqual({ score: 5, resolutionWidth: 1000 });
    expect(edge.ownAttrib).toEqual(['score']);
    const all = JSON.parse(edge.allAttrib);
    expect(all.fps).toBe(50); // inherited by the listed folder from its parent
    expect(all.score).toBe(5);
    expect(all.resolutionWidth).toBe(1000); // the item's override of the entity's attribute
    expect(all.approved).toBeUndefined();
  });

  it('GraphQL pages lists (first/after, last/before) and items (first/after) exactly; items of deleted entities are skipped', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await newList({ label: `Page ${i}`, items: versions.map((v) => ({ entityId: v })) }));
    const seen: string[] = [];
    let after: string | null = null;
    for (let guard = 0; guard < 10; guard++) {
      const g: any = await gql(LISTS, { ids, first: 1, after });
      const conn = g.data.project.entityLists;
      seen.push(...conn.edges.map((e: any) => e.node.id));
      if (!conn.pageInfo.hasNextPage) break;
      after = conn.pageInfo.endCursor;
    }
    expect(seen).toEqual(ids);
    const back = (await gql(LISTS, { ids, last: 2 })).data.project.entityLists;
    expect(back.edges.map((e: any) => e.node.id)).toEqual([ids[2], ids[1]]);
    expect(back.pageInfo.hasPreviousPage).toBe(true);
    const rest = (await gql(LISTS, { ids, last: 2, before: back.pageInfo.endCursor })).data.project.entityLists;
    expect(rest.edges.map((e: any) => e.node.id)).toEqual([ids[0]]);

    const items: Array<[string, string]> = [];
    after = null;
    for (let guard = 0; guard < 10; guard++) {
      const g: any = await gql(ITEMS, { id: ids[0], first: 4, after });
      expect(g.errors).toBeUndefined();
      const conn = g.data.project.entityList.items;
      items.push(...conn.edges.map((e: any) => [e.entityId, e.node.id] as [string, string]));
      if (!conn.pageInfo.hasNextPage) break;
      after = conn.pageInfo.endCursor;
    }
    expect(items.map((x) => x[0])).toEqual(versions);
    expect(items.every(([a, b]) => a === b)).toBe(true);
    const first = (await gql(ITEMS, { id: ids[0], first: 1 })).data.project.entityList.items.edges[0];
    expect(first.node).toMatchObject({ id: versions[0], name: 'v001', version: 1, productId: product });

    // a version deleted from the project drops out of the items (its item row stays, like AYON's join)
    const extra = hex();
    expect((await call('POST', `/api/projects/${P}/versions`, { body: { id: extra, productId: product, version: 99 } })).status).toBe(201);
    const lid = await newList({ label: 'With deleted', items: [{ entityId: versions[0] }, { entityId: extra }] });
    expect((await call('DELETE', `/api/projects/${P}/versions/${extra}`)).status).toBe(204);
    expect((await gql(ITEMS, { id: lid, first: 10 })).data.project.entityList.items.edges.map((e: any) => e.entityId)).toEqual([versions[0]]);

    const miss = await gql(ITEMS, { id: hex(), first: 1 });
    expect(miss.errors[0].extensions.status).toBe(404);
    const none = await gql(LISTS, { ids: [] });
    expect(none.data.project.entityLists.edges).toEqual([]);
  });

  it('access: project access first, then the list levels (read 10, update 20, manage 30); owners manage their own lists', async () => {
    const id = await newList({ label: 'Guarded', items: [{ entityId: versions[0] }] });
    // carol has no project access
    expect((await call('GET', L(`/${id}`), as('carol'))).status).toBe(403);
    expect((await call('POST', L(), { body: { entityType: 'version', label: 'x' }, ...as('carol') })).status).toBe(403);
    expect((await gql(LISTS, { ids: [id] }, tokens.carol)).errors[0].extensions.status).toBe(403);
    // vic is a viewer: reads, never writes
    expect((await call('GET', L(`/${id}`), as('vic'))).json.accessLevel).toBe(30);
    expect((await call('POST', L(), { body: { entityType: 'version', label: 'by vic' }, ...as('vic') })).status).toBe(403);
    expect((await call('POST', L(`/${id}/items`), { body: { entityId: versions[1] }, ...as('vic') })).status).toBe(403);

    expect((await call('PATCH', L(`/${id}`), { body: { access: { alice: 10 } } })).status).toBe(204);
    expect((await call('GET', L(`/${id}`), as('alice'))).json.accessLevel).toBe(10);
    const deny = await call('POST', L(`/${id}/items`), { body: { entityId: versions[1] }, ...as('alice') });
    expect(deny.status).toBe(403);
    expect(deny.json).toEqual({ code: 403, detail: 'Cannot update entity list Guarded' });
    expect((await call('PATCH', L(`/${id}/items`), { body: { mode: 'replace', items: [{ entityId: versions[1] }] }, ...as('alice') })).status).toBe(403);

    expect((await call('PATCH', L(`/${id}`), { body: { access: { alice: 20 } } })).status).toBe(204);
    expect((await call('POST', L(`/${id}/items`), { body: { entityId: versions[1] }, ...as('alice') })).status).toBe(201);
    expect((await call('PATCH', L(`/${id}`), { body: { label: 'Mine now' }, ...as('alice') })).status).toBe(403);
    expect((await call('PUT', L(`/${id}/attributes`), { body: [], ...as('alice') })).status).toBe(403);
    expect((await call('DELETE', L(`/${id}`), as('alice'))).status).toBe(403);

    expect((await call('PATCH', L(`/${id}`), { body: { access: { alice: 0 } } })).status).toBe(204);
    expect((await gql(LISTS, { ids: [id] }, tokens.alice)).data.project.entityLists.edges).toEqual([]);
    expect((await call('GET', L(`/${id}`), as('alice'))).status).toBe(403);
    expect((await call('GET', L(`/${id}/attributes`), as('alice'))).status).toBe(403);

    const own = await newList({ label: 'Alice own', access: { [adminName]: 0 } }, tokens.alice);
    expect((await call('GET', L(`/${own}`), as('alice'))).json).toMatchObject({ owner: 'alice', accessLevel: 30 });
    expect((await call('PATCH', L(`/${own}`), { body: { label: 'Alice renamed' }, ...as('alice') })).status).toBe(204);
    expect((await call('GET', L(`/${own}`))).json.accessLevel).toBe(30); // managers always manage
    expect((await call('DELETE', L(`/${own}`), as('alice'))).status).toBe(204);
  });

  it('guests: only lists that name them (guest:<email>) or all guests, metadata only, trimmed, never writing', async () => {
    expect((await call('PUT', '/api/users/gina', { body: { password: 'gina-password-1', attrib: { email: 'gina@example.com' }, data: { isGuest: true, accessGroups: { [P]: ['viewer'] } } } })).status).toBe(204);
    const gina = (await call('POST', '/api/auth/login', { body: { name: 'gina', password: 'gina-password-1' }, token: null })).json.token;
    const hidden = await newList({ label: 'Not for guests' });
    const named = await newList({ label: 'For Gina', access: { 'guest:gina@example.com': 10, alice: 20 }, data: { secret: 1 }, items: [{ entityId: versions[0] }] });
    const all = await newList({ label: 'For all guests', access: { __guests__: 10 } });
    const seen = (await gql(LISTS, { ids: [hidden, named, all] }, gina)).data.project.entityLists.edges.map((e: any) => e.node);
    expect(seen.map((n: any) => n.id)).toEqual([named, all]);
    expect(seen[0].data).toBe('{}');
    expect(seen[0].items.edges.map((e: any) => e.entityId)).toEqual([versions[0]]);
    expect((await call('GET', L(`/${named}`), { token: gina })).status).toBe(403); // items need metadataOnly
    const meta = await call('GET', L(`/${named}?metadataOnly=true`), { token: gina });
    expect(meta.status).toBe(200);
    expect(meta.json).toMatchObject({ id: named, owner: null, createdBy: null, data: {}, access: { 'guest:gina@example.com': 10 }, accessLevel: 10, items: [] });
    expect((await call('GET', L(`/${hidden}?metadataOnly=true`), { token: gina })).status).toBe(403);
    expect((await call('POST', L(`/${named}/items`), { body: { entityId: versions[1] }, token: gina })).status).toBe(403);
    expect((await call('POST', L(), { body: { entityType: 'version', label: 'guest list' }, token: gina })).status).toBe(403);
  });

  it('publishes entity_list events on the bus after the commit; a refused write publishes nothing', async () => {
    const seen: any[] = [];
    const off = srv.app.services.bus.subscribe('ayon.event', (e: any) => {
      if (e.project === P && String(e.topic).startsWith('entity_list.')) seen.push(e);
    });
    try {
      const id = await newList({ label: 'On the bus' });
      expect((await call('POST', L(`/${id}/items`), { body: { entityId: versions[0] } })).status).toBe(201);
      expect((await call('POST', L(`/${id}/items`), { body: { entityId: hex() } })).status).toBe(404);
      expect((await call('DELETE', L(`/${id}`))).status).toBe(204);
      await new Promise((res) => setTimeout(res, 50));
      expect(seen.map((e) => e.topic)).toEqual(['entity_list.created', 'entity_list.changed', 'entity_list.deleted']);
      expect(seen[1].summary).toEqual({ id, entity_list_type: 'generic', entity_type: 'version', label: 'On the bus', count: 1 });
      expect(seen[2].summary).toMatchObject({ id, count: 1, entity_list_folder_id: null });
    } finally {
      off();
    }
  });

  it('concurrent item writers to one list lose nothing (positions stay 0…n-1)', async () => {
    const id = await newList({ label: 'Busy' });
    const res = await Promise.all(Array.from({ length: 12 }, (_, i) => call('POST', L(`/${id}/items`), { body: { entityId: versions[i % versions.length] } })));
    expect(res.every((r) => r.status === 201)).toBe(true);
    const got = await itemsOf(id);
    expect(got.length).toBe(12);
    expect(got.map((x) => x[1])).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect((await call('GET', L(`/${id}`))).json.data.count).toBe(12);
  });

  it('bad input: AYON statuses and {code, detail}; a failing write stores nothing and records no event', async () => {
    const listsBefore = await rows('ayon_entity_lists');
    const itemsBefore = await rows('ayon_entity_list_items');
    const missing = hex();
    for (const [body, status] of [
      [{ entityType: 'shot', label: 'x' }, 400],
      [{ entityType: 'version' }, 400],
      [{ entityType: 'version', label: 'x', entityListType: '' }, 400],
      [{ entityType: 'version', label: 'x', id: 'not-an-id' }, 400],
      [{ entityType: 'version', label: 'x', access: { bob: 5 } }, 400],
      [{ entityType: 'version', label: 'x', tags: 'a' }, 400],
      [{ entityType: 'version', label: 'x', items: [{ label: 'no entity' }] }, 400],
      [{ entityType: 'version', label: 'x', items: [{ entityId: versions[0] }, { entityId: missing }] }, 404],
      [{ entityType: 'version', label: 'x', items: [{ entityId: folder }] }, 404],
      [{ entityType: 'version', label: 'x', entityListFolderId: hex() }, 409],
    ] as const) {
      const r = await call('POST', L(), { body });
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(r.json.code).toBe(status);
      expect(typeof r.json.detail).toBe('string');
    }
    expect(await rows('ayon_entity_lists')).toBe(listsBefore);
    expect(await rows('ayon_entity_list_items')).toBe(itemsBefore);

    const id = await newList({ label: 'Solid', items: [{ entityId: versions[0] }] });
    expect((await call('POST', L(), { body: { entityType: 'version', label: 'Solid' } })).status).toBe(409);
    expect((await call('POST', L(), { body: { entityType: 'version', label: 'Other', id } })).status).toBe(409);
    const evBefore = (await events(id)).length;
    const item0 = (await call('GET', L(`/${id}`))).json.items[0].id;
    for (const [method, path, body, status] of [
      ['PATCH', `/${id}/items`, { mode: 'replace', items: [{ entityId: versions[1] }, { entityId: missing }] }, 404],
      ['PATCH', `/${id}/items`, { mode: 'replace', items: [{ entityId: versions[1] }, {}] }, 400],
      ['PATCH', `/${id}/items`, { mode: 'merge', items: [{ entityId: versions[1] }, { id: item0, position: 'top' }] }, 400],
      ['PATCH', `/${id}/items`, { mode: 'nope', items: [{ entityId: versions[1] }] }, 400],
      ['PATCH', `/${id}/items`, { mode: 'merge', items: [] }, 400],
      ['PATCH', `/${id}/items`, { mode: 'delete', items: [{ id: hex() }] }, 404],
      ['PATCH', `/${id}/items`, { mode: 'replace', items: [{ id: item0, entityId: versions[1] }, { id: item0, entityId: versions[2] }] }, 409],
      ['POST', `/${id}/items`, { entityId: versions[1], id: item0 }, 409],
      ['POST', `/${id}/items`, { entityId: versions[1], tags: [1] }, 400],
      ['POST', `/${id}/items`, { entityId: versions[1], data: [] }, 400],
      ['PATCH', `/${id}/items/${item0}`, { entityId: missing }, 404],
      ['PATCH', `/${id}/items/${hex()}`, { label: 'x' }, 404],
      ['DELETE', `/${id}/items/${hex()}`, undefined, 404],
      ['PATCH', `/${id}`, { label: '' }, 400],
      ['PATCH', `/${id}`, { active: 'yes' }, 400],
      ['PATCH', `/${id}`, { entityListFolderId: hex() }, 409],
      ['POST', `/${id}/materialize`, undefined, 501],
      ['GET', `/${hex()}`, undefined, 404],
      ['GET', '/nonsense', undefined, 404],
      ['DELETE', `/${hex()}`, undefined, 404],
    ] as const) {
      const r = await call(method, L(path), { body });
      expect(r.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(status);
      expect(r.json.code).toBe(status);
    }
    const other = await newList({ label: 'Other list', items: [{ entityId: versions[2] }] });
    const otherItem = (await call('GET', L(`/${other}`))).json.items[0].id;
    expect((await call('POST', L(`/${id}/items`), { body: { entityId: versions[1], id: otherItem } })).status).toBe(409); // item ids are unique in the project
    expect(await itemsOf(id)).toEqual([[versions[0], 0]]);
    expect((await events(id)).length).toBe(evBefore);
    expect((await call('PATCH', L(`/${id}`), { body: { label: 'Other list' } })).status).toBe(409);
    expect((await call('GET', L(`/${id}`))).json.label).toBe('Solid');
  });

  it('list folders: create/patch/order, owner-or-manager rules, no cycles, delete takes subfolders and moves lists to the root', async () => {
    const F = (s = '') => `/api/projects/${P}/entityListFolders${s}`;
    const top = (await call('POST', F(), { body: { label: 'Top', data: { color: '#123456', icon: 'folder', custom: 1 } } })).json.id;
    expect(top).toMatch(/^[0-9a-f]{32}$/);
    const child = hex();
    expect((await call('POST', F(), { body: { id: child, label: 'Child', parentId: top, access: { alice: 10 } } })).json).toEqual({ id: child });
    const grand = (await call('POST', F(), { body: { label: 'Grand', parent_id: child }, ...as('alice') })).json.id;
    expect((await call('POST', F(), { body: { label: 'top' } })).status).toBe(409);
    expect((await call('POST', F(), { body: { id: child, label: 'Again' } })).status).toBe(409);
    expect((await call('POST', F(), { body: { label: '' } })).status).toBe(400);
    expect((await call('POST', F(), { body: { label: 'Orphan', parentId: hex() } })).status).toBe(409);
    expect((await call('POST', F(), { body: { label: 'Bad data', data: { color: 5 } } })).status).toBe(400);
    expect((await call('POST', F(), { body: { label: 'viewer' }, ...as('vic') })).status).toBe(403);

    const folders = (await call('GET', F())).json.folders as Array<Record<string, any>>;
    expect(folders.find((f) => f.id === top)).toMatchObject({ label: 'Top', parentId: null, owner: adminName, data: { color: '#123456', icon: 'folder', custom: 1 } });
    expect(folders.find((f) => f.id === grand)).toMatchObject({ parentId: child, owner: 'alice' });
    expect((await call('PATCH', F(`/${top}`), { body: { label: 'Nope' }, ...as('alice') })).status).toBe(403);
    expect((await call('PATCH', F(`/${grand}`), { body: { label: 'Grandchild', data: { color: '#000000' } }, ...as('alice') })).status).toBe(204);
    expect((await call('PATCH', F(`/${top}`), { body: { parentId: grand } })).status).toBe(400); // cycle
    expect((await call('PATCH', F(`/${top}`), { body: { parentId: top } })).status).toBe(400);
    expect((await call('PATCH', F(`/${hex()}`), { body: { label: 'x' } })).status).toBe(404);
    expect((await call('PATCH', F(`/${top}`), { body: { data: { icon: null } } })).status).toBe(204);
    expect((await call('GET', F())).json.folders.find((f: any) => f.id === top).data).toEqual({ color: '#123456', custom: 1 });

    expect((await call('POST', F('/order'), { body: { order: [child, top] } })).status).toBe(204);
    const pos = Object.fromEntries((await call('GET', F())).json.folders.map((f: any) => [f.id, f.position]));
    expect([pos[child], pos[top]]).toEqual([0, 1]);
    expect((await call('POST', F('/order'), { body: { order: [] } })).status).toBe(400);

    const inGrand = await newList({ label: 'Filed', entityListFolderId: grand });
    expect((await call('GET', L(`/${inGrand}`))).json.entityListFolderId).toBe(grand);
    expect((await call('DELETE', F(`/${top}`), as('alice'))).status).toBe(403);
    expect((await call('DELETE', F(`/${top}`))).status).toBe(204);
    expect((await call('GET', F())).json.folders.filter((f: any) => [top, child, grand].includes(f.id))).toEqual([]);
    expect((await call('GET', L(`/${inGrand}`))).json.entityListFolderId).toBeNull();
  });

  it('lists follow their project: renamed with it, purged with it', async () => {
    const name = `lp_${randomBytes(3).toString('hex')}`;
    const preset = (await call('GET', '/api/anatomy/presets/__primary__')).json;
    expect((await call('POST', '/api/projects', { body: { name, code: name, anatomy: preset } })).status).toBe(201);
    const fid = hex();
    expect((await call('POST', `/api/projects/${name}/folders`, { body: { id: fid, name: 'f', folderType: 'Folder' } })).status).toBe(201);
    const r = await call('POST', `/api/projects/${name}/lists`, { body: { entityType: 'folder', label: 'Travelling', items: [{ entityId: fid }] } });
    expect(r.status).toBe(201);
    const renamed = `${name}_x`;
    expect((await call('POST', `/api/projects/${name}/rename`, { body: { name: renamed } })).status).toBe(204);
    expect((await call('GET', `/api/projects/${renamed}/lists/${r.json.id}`)).json.items[0].entityId).toBe(fid);
    expect((await call('DELETE', `/api/projects/${renamed}`)).status).toBe(204);
    await srv.app.services.ayon.projects.drain();
    const left = await srv.app.store.db.selectFrom('ayon_entity_list_items').select('id').where('project_name', '=', renamed).execute();
    expect(left).toEqual([]);
    expect(await srv.app.store.db.selectFrom('ayon_entity_lists').select('id').where('project_name', '=', renamed).execute()).toEqual([]);
  });
});
