/**
 * AYON activities over real HTTP on every store kind: comments with mentions and the references they
 * produce, watchers, reactions, categories, mention suggestions, attached files, the GraphQL feed
 * (filters and keyset paging), update/delete permissions, batch operations (all-or-nothing) and bad
 * input leaving nothing behind; activity.* events written with the change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { startTestServer, storeKinds, type TestServer } from './helpers/server.js';
import { ayonRequest, type AyonRequestOptions } from './helpers/http.js';

const hex = () => randomBytes(16).toString('hex');

const FEED = `query F($projectName: String!, $entityIds: [String!], $activityTypes: [String!], $referenceTypes: [String!], $activityIds: [String!], $first: Int, $after: String, $last: Int, $before: String, $changedAfter: String) {
  project(name: $projectName) { activities(entityIds: $entityIds, activityTypes: $activityTypes, referenceTypes: $referenceTypes, activityIds: $activityIds, first: $first, after: $after, last: $last, before: $before, changedAfter: $changedAfter) {
    edges { cursor node { activityId activityType referenceType entityType entityId entityName body activityData referenceData createdAt updatedAt
      author { name attrib { fullName } } origin { id type name subtype link } parents { type name } reactions { userName reaction }
      files { id name size mime } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }`;

describe.each(storeKinds)('AYON activities on %s', (kind) => {
  let srv: TestServer;
  let base: string;
  let admin: string;
  const tokens: Record<string, string> = {};
  const P = `act_${randomBytes(3).toString('hex')}`;
  const svcKey = randomBytes(16).toString('hex');
  const folder = hex();
  const sub = hex();
  const task = hex();
  const task2 = hex();
  const product = hex();
  const version = hex();
  const version2 = hex();

  const call = (method: string, path: string, opts: AyonRequestOptions = {}) => ayonRequest(base, admin, method, path, opts);
  const as = (user: string) => ({ token: tokens[user] });
  const svc = { token: null, headers: { 'x-api-key': svcKey } };
  const gql = async (variables: Record<string, unknown>, token = admin) =>
    (await call('POST', '/graphql', { body: { query: FEED, variables: { projectName: P, referenceTypes: ['origin'], ...variables } }, token })).json;
  const comment = (entity: string, body: Record<string, unknown>, opts: { token?: string | null; headers?: Record<string, string> } = {}, type = 'task') =>
    call('POST', `/api/projects/${P}/${type}/${entity}/activities`, { body: { activityType: 'comment', ...body }, ...opts });
  const count = async (table: 'ayon_activities' | 'ayon_activity_refs' | 'ayon_events') => {
    const q = srv.app.store.db.selectFrom(table as 'ayon_events').select((eb) => eb.fn.countAll<number>().as('n'));
    return Number((await (table === 'ayon_events' ? q : q.where('project_name', '=', P)).executeTakeFirstOrThrow()).n);
  };
  const refsOf = async (activityId: string) =>
    (await srv.app.store.db.selectFrom('ayon_activity_refs').selectAll().where('project_name', '=', P).where('activity_id', '=', activityId).execute()).map(
      (r) => `${r.reference_type}:${r.entity_type}:${r.entity_id ?? r.entity_name}`,
    );

  beforeAll(async () => {
    srv = await startTestServer(kind);
    base = `${srv.url}/ayon`;
    const u = await srv.createUser({ admin: true, email: `boss-${randomBytes(3).toString('hex')}@example.com`, password: 'admin-password-1' });
    admin = (await call('POST', '/api/auth/login', { body: { name: u.email, password: u.password }, token: null })).json.token;
    const preset = (await call('GET', '/api/anatomy/presets/__primary__')).json;
    expect((await call('POST', '/api/projects', { body: { name: P, code: P, anatomy: preset } })).status).toBe(201);
    for (const [name, groups] of [
      ['alice', { [P]: ['artist'] }],
      ['bob', { [P]: ['artist'] }],
      ['carol', {}],
    ] as const) {
      expect((await call('PUT', `/api/users/${name}`, { body: { password: `${name}-password-1`, attrib: { fullName: name.toUpperCase() }, data: { accessGroups: groups } } })).status).toBe(204);
      tokens[name] = (await call('POST', '/api/auth/login', { body: { name, password: `${name}-password-1` }, token: null })).json.token;
    }
    expect((await call('PUT', '/api/users/svc_act', { body: { apiKey: svcKey, data: { isService: true } } })).status).toBe(204);
    expect((await call('POST', `/api/projects/${P}/folders`, { body: { id: folder, name: 'seq', folderType: 'Sequence' } })).status).toBe(201);
    expect((await call('POST', `/api/projects/${P}/folders`, { body: { id: sub, name: 'sh010', folderType: 'Shot', parentId: folder } })).status).toBe(201);
    expect((await call('POST', `/api/projects/${P}/tasks`, { body: { id: task, name: 'comp', taskType: 'Compositing', folderId: sub, assignees: ['alice'] } })).status).toBe(201);
    expect((await call('POST', `/api/projects/${P}/tasks`, { body: { id: task2, name: 'anim', taskType: 'Animation', folderId: sub } })).status).toBe(201);
    expect((await call('POST', `/api/projects/${P}/products`, { body: { id: product, name: 'renderMain', productType: 'render', folderId: sub } })).status).toBe(201);
    expect((await call('POST', `/api/projects/${P}/versions`, { body: { id: version, productId: product, version: 1, taskId: task, author: 'bob' } })).status).toBe(201);
    expect((await call('POST', `/api/projects/${P}/versions`, { body: { id: version2, productId: product, version: 2, taskId: task, author: 'alice' } })).status).toBe(201);
  });
  afterAll(() => srv.close());

  it('creates a comment (201 {id}) with mentions, origin, author, relations, parents and an activity.created event', async () => {
    const id = hex();
    const eventsBefore = await count('ayon_events');
    const r = await comment(task, { id, body: `Look [v001](version:${version}) @[Bob](user:bob) and [self](task:${task}) ![img](user:carol)` }, as('alice'));
    expect(r.status).toBe(201);
    expect(r.json).toEqual({ id });
    const refs = await refsOf(id);
    expect(refs).toEqual(
      expect.arrayContaining([`origin:task:${task}`, 'author:user:alice', `mention:version:${version}`, 'mention:user:bob', `relation:version:${version2}`]),
    );
    // one reference per referenced thing: the task is the origin (not a mention), alice is the author (not a relation), images are not mentions
    expect(refs.filter((x) => x.endsWith(`:${task}`))).toEqual([`origin:task:${task}`]);
    expect(refs.filter((x) => x.endsWith(':alice'))).toEqual(['author:user:alice']);
    expect(refs.some((x) => x.endsWith(':carol'))).toBe(false);
    const row = await srv.app.store.db.selectFrom('ayon_activities').selectAll().where('project_name', '=', P).where('id', '=', id).executeTakeFirstOrThrow();
    const data = JSON.parse(row.data);
    expect(data.origin).toMatchObject({ type: 'task', id: task, name: 'comp', subtype: 'Compositing' });
    expect(data.parents).toEqual([expect.objectContaining({ type: 'folder', id: sub, name: 'sh010', subtype: 'Shot' })]);
    expect(data.author).toBe('alice');
    const evs = await srv.app.store.db.selectFrom('ayon_events').selectAll().where('project_name', '=', P).where('topic', 'like', 'activity.%').orderBy('seq').execute();
    const created = evs.find((e) => JSON.parse(e.summary).activity_id === id)!;
    expect(created.topic).toBe('activity.created');
    expect(created.user_name).toBe('alice');
    expect(created.description).toBe('Created comment activity');
    expect(JSON.parse(created.summary).references).toEqual(expect.arrayContaining([{ entity_id: version, entity_type: 'version', reference_type: 'mention' }]));
    expect(JSON.parse(created.payload)).toEqual({ body: expect.stringContaining('Look') });
    // a non-manager reads it in the feed (no categories in the project: the empty category list path)
    const feed = await gql({ activityIds: [id] }, tokens.alice);
    expect(feed.errors).toBeUndefined();
    expect(feed.data.project.activities.edges.map((e: any) => e.node.activityId)).toEqual([id]);
    expect((await gql({ activityIds: [] }, tokens.alice)).data.project.activities.edges).toEqual([]);
    // the comment made alice a watcher (a watch activity + its event)
    expect((await call('GET', `/api/projects/${P}/task/${task}/watchers`)).json).toEqual({ watchers: ['alice'] });
    expect(await count('ayon_events')).toBe(eventsBefore + 2);
  });

  it('adds watchers as watching references of later activities; POST watchers replaces the list (201)', async () => {
    expect((await call('POST', `/api/projects/${P}/task/${task}/watchers`, { body: { watchers: ['alice', 'bob'] } })).status).toBe(201);
    expect((await call('GET', `/api/projects/${P}/task/${task}/watchers`)).json.watchers).toEqual(['alice', 'bob']);
    const r = await comment(task, { body: 'watched' }, as('bob'));
    expect(r.status).toBe(201);
    const refs = await refsOf(r.json.id);
    expect(refs).toContain('watching:user:alice');
    expect(refs).toContain('author:user:bob');
    expect((await call('POST', `/api/projects/${P}/task/${task}/watchers`, { body: { watchers: ['bob'] } })).status).toBe(201);
    expect((await call('GET', `/api/projects/${P}/tasks/${task}/watchers`)).json.watchers).toEqual(['bob']);
    // no access to the project: 403; unknown entity: 404; bad list: 400
    expect((await call('GET', `/api/projects/${P}/task/${task}/watchers`, as('carol'))).status).toBe(403);
    expect((await call('GET', `/api/projects/${P}/task/${hex()}/watchers`)).status).toBe(404);
    expect((await call('POST', `/api/projects/${P}/task/${task}/watchers`, { body: { watchers: 'bob' } })).status).toBe(400);
  });

  it('only services create non-comment activities; bad types, ids, bodies and unknown entities store nothing', async () => {
    const before = [await count('ayon_activities'), await count('ayon_activity_refs'), await count('ayon_events')];
    expect((await call('POST', `/api/projects/${P}/task/${task}/activities`, { body: { activityType: 'status.change', body: 'x' }, ...as('alice') })).status).toBe(400);
    expect((await call('POST', `/api/projects/${P}/task/${task}/activities`, { body: { activityType: 'nonsense' } })).status).toBe(400);
    expect((await comment(task, { id: 'not-an-id' })).status).toBe(400);
    expect((await comment(task, { body: 'x'.repeat(2001) })).json.detail).toBe('Comment body is too long');
    expect((await comment(task, { body: 42 })).status).toBe(400);
    expect((await comment(task, { files: 'nope' })).status).toBe(400);
    expect((await comment(task, { timestamp: 'yesterday' })).status).toBe(400);
    const missing = await comment(hex(), { body: 'x' });
    expect(missing.status).toBe(404);
    expect(missing.json.code).toBe(404);
    expect((await comment(task, { body: 'x' }, {}, 'nothing')).status).toBe(400);
    expect((await comment(task, { body: 'x' }, as('carol'))).status).toBe(403);
    expect((await call('POST', `/api/projects/nope_${hex().slice(0, 6)}/task/${task}/activities`, { body: { activityType: 'comment' } })).status).toBe(404);
    expect([await count('ayon_activities'), await count('ayon_activity_refs'), await count('ayon_events')]).toEqual(before);
    // a service user may post any activity type; a taken id is a 409
    const id = hex();
    const s = await call('POST', `/api/projects/${P}/version/${version}/activities`, { body: { id, activityType: 'version.publish', body: 'published' }, ...svc });
    expect(s.status).toBe(201);
    expect((await call('POST', `/api/projects/${P}/version/${version}/activities`, { body: { id, activityType: 'comment' }, ...svc })).status).toBe(409);
    // version.publish activity.* events are broadcast, not stored (as AYON)
    const evs = await srv.app.store.db.selectFrom('ayon_events').select('summary').where('project_name', '=', P).execute();
    expect(evs.some((e) => JSON.parse(e.summary).activity_id === id)).toBe(false);
  });

  it('updates: the author or a manager; others may only tick checkboxes; mentions follow the body', async () => {
    const r = await comment(task, { body: `- [ ] first\n- [ ] second [b](user:bob)` }, as('alice'));
    const id = r.json.id;
    expect((await call('PATCH', `/api/projects/${P}/activities/${id}`, { body: { body: 'rewritten by bob' }, ...as('bob') })).status).toBe(403);
    expect((await call('PATCH', `/api/projects/${P}/activities/${id}`, { body: { data: { x: 1 } }, ...as('bob') })).status).toBe(403);
    expect((await call('PATCH', `/api/projects/${P}/activities/${id}`, { body: { body: `- [x] first\n- [ ] second [b](user:bob)` }, ...as('bob') })).status).toBe(204);
    let row = await srv.app.store.db.selectFrom('ayon_activities').selectAll().where('project_name', '=', P).where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.body).toContain('- [x] first');
    expect(JSON.parse(row.data).hasChecklist).toBe(true);
    expect((await call('PATCH', `/api/projects/${P}/activities/${id}`, { body: { body: `now [c](user:carol)`, data: { author: 'mallory', mood: 'ok' }, tags: ['t1'] }, ...as('alice') })).status).toBe(204);
    const refs = await refsOf(id);
    expect(refs).toContain('mention:user:carol');
    expect(refs).not.toContain('mention:user:bob');
    row = await srv.app.store.db.selectFrom('ayon_activities').selectAll().where('project_name', '=', P).where('id', '=', id).executeTakeFirstOrThrow();
    const data = JSON.parse(row.data);
    expect(data).toMatchObject({ author: 'alice', mood: 'ok' });
    expect(data.hasChecklist).toBeUndefined();
    expect(JSON.parse(row.tags)).toEqual(['t1']);
    // a manager (admin) may edit anyone's activity
    expect((await call('PATCH', `/api/projects/${P}/activities/${id}`, { body: { body: 'moderated' } })).status).toBe(204);
    expect((await call('PATCH', `/api/projects/${P}/activities/${hex()}`, { body: { body: 'x' } })).status).toBe(404);
    expect((await call('PATCH', `/api/projects/${P}/activities/${id}`, { body: { body: 'x'.repeat(2001) } })).status).toBe(400);
    expect((await call('PATCH', `/api/projects/${P}/activities/${id}`, { body: { appendFiles: 'yes' } })).status).toBe(400);
    const ev = await srv.app.store.db.selectFrom('ayon_events').selectAll().where('project_name', '=', P).where('topic', '=', 'activity.updated').orderBy('seq', 'desc').executeTakeFirstOrThrow();
    expect(JSON.parse(ev.summary).activity_id).toBe(id);
    expect(JSON.parse(ev.payload).body).toBe('moderated');
  });

  it('deletes: the author or a manager (204), others 403; files are unlinked', async () => {
    const r = await comment(task, { body: 'to delete' }, as('alice'));
    expect((await call('DELETE', `/api/projects/${P}/activities/${r.json.id}`, as('bob'))).status).toBe(403);
    expect((await call('DELETE', `/api/projects/${P}/activities/${r.json.id}`, as('alice'))).status).toBe(204);
    expect(await refsOf(r.json.id)).toEqual([]);
    expect((await call('DELETE', `/api/projects/${P}/activities/${r.json.id}`, as('alice'))).status).toBe(404);
    const r2 = await comment(task, { body: 'mod delete' }, as('bob'));
    expect((await call('DELETE', `/api/projects/${P}/activities/${r2.json.id}`)).status).toBe(204);
    const ev = await srv.app.store.db.selectFrom('ayon_events').selectAll().where('project_name', '=', P).where('topic', '=', 'activity.deleted').orderBy('seq', 'desc').executeTakeFirstOrThrow();
    expect(JSON.parse(ev.summary)).toMatchObject({ activity_id: r2.json.id, activity_type: 'comment' });
    expect(ev.description).toBe('Deleted comment activity');
  });

  it('attaches uploaded project files (files, appendFiles) and unlinks them on delete', async () => {
    const f1 = hex();
    const f2 = hex();
    for (const [f, name] of [
      [f1, 'a.txt'],
      [f2, 'b.txt'],
    ])
      expect((await call('POST', `/api/projects/${P}/files`, { raw: Buffer.from(`file ${name}`), headers: { 'x-file-id': f, 'x-file-name': name, 'content-type': 'text/plain' } })).status).toBe(201);
    const r = await comment(task, { body: 'with a file', files: [f1, hex()] }, as('alice'));
    expect(r.status).toBe(201);
    const fileRow = async (f: string) => srv.app.store.db.selectFrom('ayon_files').selectAll().where('project_name', '=', P).where('id', '=', f).executeTakeFirstOrThrow();
    expect((await fileRow(f1)).activity_id).toBe(r.json.id);
    const node = (await gql({ activityIds: [r.json.id] })).data.project.activities.edges[0].node;
    expect(node.files).toEqual([{ id: f1, name: 'a.txt', size: String('file a.txt'.length), mime: 'text/plain' }]);
    expect((await call('PATCH', `/api/projects/${P}/activities/${r.json.id}`, { body: { files: [f2], appendFiles: true }, ...as('alice') })).status).toBe(204);
    expect((await gql({ activityIds: [r.json.id] })).data.project.activities.edges[0].node.files.map((f: any) => f.id).sort()).toEqual([f1, f2].sort());
    expect((await call('PATCH', `/api/projects/${P}/activities/${r.json.id}`, { body: { files: [f2] }, ...as('alice') })).status).toBe(204);
    expect((await fileRow(f1)).activity_id).toBeNull();
    expect((await fileRow(f2)).activity_id).toBe(r.json.id);
    expect((await call('DELETE', `/api/projects/${P}/activities/${r.json.id}`, as('alice'))).status).toBe(204);
    expect((await fileRow(f2)).activity_id).toBeNull();
  });

  it('reactions: one per user and reaction type (201/204), stored in the activity data', async () => {
    const r = await comment(task, { body: 'react to me' }, as('alice'));
    const path = `/api/projects/${P}/activities/${r.json.id}/reactions`;
    expect((await call('POST', path, { body: { reaction: 'like' }, ...as('bob') })).status).toBe(201);
    expect((await call('POST', path, { body: { reaction: 'like' }, ...as('bob') })).status).toBe(201);
    expect((await call('POST', path, { body: { reaction: 'like' }, ...as('alice') })).status).toBe(201);
    expect((await call('POST', path, { body: { reaction: 'heart' }, ...as('bob') })).status).toBe(201);
    let node = (await gql({ activityIds: [r.json.id] })).data.project.activities.edges[0].node;
    expect(node.reactions).toEqual([
      { userName: 'bob', reaction: 'like' },
      { userName: 'alice', reaction: 'like' },
      { userName: 'bob', reaction: 'heart' },
    ]);
    expect(JSON.parse(node.activityData).reactions[0]).toMatchObject({ userName: 'bob', fullName: 'BOB', reaction: 'like' });
    expect((await call('DELETE', `${path}/like`, as('bob'))).status).toBe(204);
    node = (await gql({ activityIds: [r.json.id] })).data.project.activities.edges[0].node;
    expect(node.reactions).toEqual([
      { userName: 'alice', reaction: 'like' },
      { userName: 'bob', reaction: 'heart' },
    ]);
    expect((await call('POST', path, { body: {} })).status).toBe(400);
    expect((await call('POST', `/api/projects/${P}/activities/${hex()}/reactions`, { body: { reaction: 'like' } })).status).toBe(404);
    expect((await call('POST', path, { body: { reaction: 'like' }, ...as('carol') })).status).toBe(403);
  });

  it('categories come from the project config (empty list when none); non-managers may only use writable ones', async () => {
    expect((await call('GET', `/api/projects/${P}/activityCategories`)).json).toEqual({ categories: [] });
    const cats = [{ name: 'internal', color: '#ff0000', access: { bob: 20 } }, { name: 'public', color: '#00ff00' }];
    expect((await call('PATCH', `/api/projects/${P}`, { body: { config: { activityCategories: cats } } })).status).toBe(204);
    expect((await call('GET', `/api/projects/${P}/activityCategories`)).json.categories.map((c: any) => [c.name, c.accessLevel])).toEqual([
      ['internal', 30],
      ['public', 30],
    ]);
    expect((await call('GET', `/api/projects/${P}/activityCategories`, as('alice'))).json.categories.map((c: any) => c.name)).toEqual(['public']);
    expect((await comment(task, { body: 'secret', data: { category: 'internal' } }, as('alice'))).status).toBe(403);
    const ok = await comment(task, { body: 'secret', data: { category: 'internal' } }, as('bob'));
    expect(ok.status).toBe(201);
    // alice cannot read activities of a category she has no access to
    expect((await gql({ activityIds: [ok.json.id] }, tokens.alice)).data.project.activities.edges).toEqual([]);
    expect((await gql({ activityIds: [ok.json.id] }, tokens.bob)).data.project.activities.edges).toHaveLength(1);
    const q = `{ project(name: "${P}") { activities(activityIds: ["${ok.json.id}"]) { edges { node { category { name color } } } } } }`;
    expect((await call('POST', '/graphql', { body: { query: q } })).json.data.project.activities.edges[0].node.category).toEqual({ name: 'internal', color: '#ff0000' });
  });

  it('suggests users, tasks and versions from the hierarchy (entity_id or entityId)', async () => {
    const t = await call('POST', `/api/projects/${P}/suggest`, { body: { entity_id: task, entity_type: 'task' } });
    expect(t.status).toBe(200);
    expect(Object.keys(t.json).sort()).toEqual(['tasks', 'teams', 'users', 'versions']);
    expect(t.json.users[0]).toMatchObject({ name: 'alice', fullName: 'ALICE', relevance: 1 });
    expect(t.json.users.map((u: any) => u.name)).not.toContain('carol');
    expect(t.json.users.map((u: any) => u.name)).not.toContain('svc_act');
    expect(t.json.tasks.map((x: any) => x.name)).toEqual(['anim', 'comp']);
    expect(t.json.tasks[0].parent).toMatchObject({ id: sub, name: 'sh010', folderType: 'Shot' });
    expect(t.json.versions.map((v: any) => v.name)).toEqual(['v001', 'v002']);
    expect(t.json.versions[0].parent).toMatchObject({ id: product, name: 'renderMain', productType: 'render' });
    const v = await call('POST', `/api/projects/${P}/suggest`, { body: { entityId: version, entityType: 'version' } });
    expect(v.json.versions.map((x: any) => x.id)).toEqual([version2]);
    expect(v.json.users[0].name).toBe('bob'); // author ×10 + sibling author
    const f = await call('POST', `/api/projects/${P}/suggest`, { body: { entityId: folder, entityType: 'folder' } });
    expect(f.json.tasks.map((x: any) => [x.name, x.relevance])).toEqual([
      ['anim', 0],
      ['comp', 0],
    ]);
    expect((await call('POST', `/api/projects/${P}/suggest`, { body: { entityId: task, entityType: 'product' } })).status).toBe(400);
    expect((await call('POST', `/api/projects/${P}/suggest`, { body: { entityId: hex(), entityType: 'task' } })).status).toBe(404);
  });

  it('GraphQL feed: filters by activity and reference type, pages forwards and backwards by keyset', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await comment(task2, { body: `page ${i}` }, as('alice'))).json.id);
    const all = await gql({ entityIds: [task2], activityTypes: ['comment'], referenceTypes: ['origin'] });
    expect(all.errors).toBeUndefined();
    expect(all.data.project.activities.edges.map((e: any) => e.node.activityId)).toEqual(ids);
    const n0 = all.data.project.activities.edges[0].node;
    expect(n0).toMatchObject({ activityType: 'comment', referenceType: 'origin', entityType: 'task', entityId: task2, body: 'page 0', author: { name: 'alice', attrib: { fullName: 'ALICE' } } });
    expect(n0.origin).toMatchObject({ id: task2, type: 'task', name: 'anim', link: `[anim](task:${task2})` });
    expect(JSON.parse(n0.activityData).author).toBe('alice');
    expect(typeof n0.referenceData).toBe('string');
    // watch activities are there too, filtered out by type
    const watch = await gql({ entityIds: [task2], activityTypes: ['watch'] });
    expect(watch.data.project.activities.edges.map((e: any) => JSON.parse(e.node.activityData).watcher)).toEqual(['alice']);
    // paging forwards
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = (await gql({ entityIds: [task2], activityTypes: ['comment'], first: 2, after })).data.project.activities;
      seen.push(...page.edges.map((e: any) => e.node.activityId));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(ids);
    // backwards: newest first, endCursor continues to older rows
    const back: string[] = [];
    let before: string | null = null;
    for (;;) {
      const page: any = (await gql({ entityIds: [task2], activityTypes: ['comment'], last: 2, before })).data.project.activities;
      back.push(...page.edges.map((e: any) => e.node.activityId));
      if (!page.pageInfo.hasPreviousPage) break;
      before = page.pageInfo.endCursor;
    }
    expect(back).toEqual([...ids].reverse());
    // mention references show up under the mentioned entity
    const m = await comment(task, { body: `see [anim](task:${task2})` }, as('bob'));
    const mentions = await gql({ entityIds: [task2], referenceTypes: ['mention'] });
    expect(mentions.data.project.activities.edges.map((e: any) => e.node.activityId)).toEqual([m.json.id]);
    // changedAfter: only what changed later
    const later = await gql({ entityIds: [task2], activityTypes: ['comment'], changedAfter: new Date(Date.now() + 60_000).toISOString() });
    expect(later.data.project.activities.edges).toEqual([]);
    // bad input
    expect((await gql({ entityIds: [task2], activityTypes: ["x' or 1=1"] })).errors[0].message).toMatch(/Invalid activity type/);
    expect((await gql({ entityIds: [task2], after: 'garbage' })).errors).toBeDefined();
    expect((await gql({}, tokens.carol)).errors).toBeDefined();
  });

  it('activity batch operations: create/update/delete in one transaction; a failure rolls back the batch', async () => {
    const before = await count('ayon_activities');
    const bad = await call('POST', `/api/projects/${P}/operations/activities`, {
      body: {
        operations: [
          { id: 'op1', type: 'create', data: { entityType: 'task', entityId: task, activityType: 'comment', body: 'batch 1' } },
          { id: 'op2', type: 'create', data: { entityType: 'task', entityId: hex(), activityType: 'comment', body: 'batch 2' } },
        ],
      },
    });
    expect(bad.status).toBe(200);
    expect(bad.json.success).toBe(false);
    expect(bad.json.operations[1]).toMatchObject({ id: 'op2', success: false, status: 404 });
    expect(await count('ayon_activities')).toBe(before);
    const good = await call('POST', `/api/projects/${P}/operations/activities`, {
      body: { operations: [{ id: 'a', type: 'create', data: { entityType: 'task', entityId: task, activityType: 'comment', body: 'batch ok' } }] },
    });
    expect(good.json.success).toBe(true);
    const created = good.json.operations[0].activityId;
    const more = await call('POST', `/api/projects/${P}/operations/activities`, {
      body: {
        operations: [
          { id: 'u', type: 'update', activityId: created, data: { body: 'batch edited' } },
          { id: 'd', type: 'delete', activityId: created },
          { id: 'x', type: 'delete', activityId: hex() },
        ],
        canFail: true,
      },
    });
    expect(more.json.operations.map((o: any) => o.success)).toEqual([true, true, false]);
    expect(await count('ayon_activities')).toBe(before);
    expect((await call('POST', `/api/projects/${P}/operations/activities`, { body: { operations: [{ type: 'explode' }] } })).status).toBe(400);
  });

  it('a user mention of a project team mentions every member; teams are suggested', async () => {
    expect((await call('PATCH', `/api/projects/${P}`, { body: { data: { teams: [{ name: 'lighting', members: [{ name: 'alice' }, { name: 'bob' }] }] } } })).status).toBe(204);
    const r = await comment(folder, { body: 'ping [Lighting](user:lighting)' }, {}, 'folder');
    expect(r.status).toBe(201);
    const refs = await refsOf(r.json.id);
    expect(refs).toEqual(expect.arrayContaining(['mention:user:alice', 'mention:user:bob']));
    expect(refs).not.toContain('mention:user:lighting');
    const s = await call('POST', `/api/projects/${P}/suggest`, { body: { entityId: folder, entityType: 'folder' } });
    expect(s.json.teams).toEqual([{ name: 'lighting', relevance: 0 }]);
    // a concurrent duplicate id is a 409, never a 500
    const id = hex();
    const both = await Promise.all([comment(task2, { id, body: 'a' }), comment(task2, { id, body: 'b' })]);
    expect(both.map((x) => x.status).sort()).toEqual([201, 409]);
  });

  it('publishes activity events on the bus after the commit; reaction changes are broadcast but not stored', async () => {
    const seen: any[] = [];
    const off = srv.app.services.bus.subscribe('ayon.event', (e: any) => {
      if (e.project === P && String(e.topic).startsWith('activity.')) seen.push(e);
    });
    try {
      const r = await comment(folder, { body: 'on the bus' }, {}, 'folder');
      const stored = await count('ayon_events');
      expect((await call('POST', `/api/projects/${P}/activities/${r.json.id}/reactions`, { body: { reaction: 'fire' } })).status).toBe(201);
      expect(await count('ayon_events')).toBe(stored);
      await new Promise((res) => setTimeout(res, 50));
      expect(seen.map((e) => e.topic)).toEqual(['activity.created', 'activity.updated']);
      expect(seen[0].summary.activity_id).toBe(r.json.id);
      expect(seen[1].summary).toMatchObject({ activity_id: r.json.id, activity_type: 'comment' });
      // a failed request publishes nothing
      await comment(hex(), { body: 'nowhere' });
      await new Promise((res) => setTimeout(res, 50));
      expect(seen).toHaveLength(2);
    } finally {
      off();
    }
  });

  it('a client timestamp dates the activity: it sorts where it belongs in the feed', async () => {
    const old = await comment(sub, { body: 'back then', timestamp: '2001-02-03T04:05:06+00:00' }, {}, 'folder');
    expect(old.status).toBe(201);
    const now = await comment(sub, { body: 'today' }, {}, 'folder');
    const edges = (await gql({ entityIds: [sub], activityTypes: ['comment'] })).data.project.activities.edges;
    expect(edges.map((e: any) => e.node.activityId)).toEqual([old.json.id, now.json.id]);
    expect(Date.parse(edges[0].node.createdAt)).toBe(Date.parse('2001-02-03T04:05:06Z'));
  });

  it('feed filters by tags, authors and checklists', async () => {
    const tagged = await comment(sub, { body: '- [ ] check me', tags: ['review_me', 'xzy'] }, as('bob'), 'folder');
    expect(tagged.status).toBe(201);
    const q = async (args: string) =>
      (await call('POST', '/graphql', { body: { query: `{ project(name: "${P}") { activities(entityIds: ["${sub}"], referenceTypes: ["origin"], ${args}) { edges { node { activityId } } } } }` } })).json;
    expect((await q('tags: ["review_me"]')).data.project.activities.edges.map((e: any) => e.node.activityId)).toEqual([tagged.json.id]);
    expect((await q('tags: ["xzy", "review_me"]')).data.project.activities.edges).toHaveLength(1);
    expect((await q('tags: ["x_y"]')).data.project.activities.edges).toEqual([]); // _ is not a wildcard
    expect((await q('tags: ["review"]')).data.project.activities.edges).toEqual([]);
    expect((await q('authors: ["bob"], activityTypes: ["comment"]')).data.project.activities.edges.map((e: any) => e.node.activityId)).toEqual([tagged.json.id]);
    expect((await q('activityTypes: ["checklist"]')).data.project.activities.edges.map((e: any) => e.node.activityId)).toEqual([tagged.json.id]);
    expect((await q('filter: "{}"')).errors[0].message).toMatch(/not supported/);
  });
});
