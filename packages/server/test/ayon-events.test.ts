/**
 * AYON events and event jobs over real HTTP, on every store kind: the events REST API and its
 * permission rules, the GraphQL `events` filters and paging, the enroll state machine (204,
 * re-issue to the same sender, failed → pending with retries, maxRetries, sequential, filters,
 * ignoreSenderTypes), concurrent workers each getting distinct jobs (also across two server
 * processes on one database), the bus messages /ws fans out, and retention.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { startTestServer, storeKinds, type TestServer } from './helpers/server.js';
import { ayonRequest, type AyonRequestOptions } from './helpers/http.js';

const hex = () => randomBytes(16).toString('hex');
const tag = () => randomBytes(4).toString('hex');

describe.each(storeKinds)('AYON events on %s', (kind) => {
  let srv: TestServer;
  let base: string;
  let token: string;
  let managerToken: string;
  const svcKey = hex();
  const svc2Key = hex();
  let plainToken: string;
  const P = `evp_${tag()}`;

  const call = async (method: string, path: string, opts: AyonRequestOptions = {}) => {
    const { status, json } = await ayonRequest(base, token, method, path, opts);
    return { status, json };
  };
  const gql = async (query: string, variables?: Record<string, unknown>, t?: string) => (await call('POST', '/graphql', { body: { query, variables }, token: t })).json;
  const dispatch = (body: Record<string, unknown>, opts: { key?: string; token?: string; headers?: Record<string, string> } = {}) => call('POST', '/api/events', { body, ...opts });
  const enroll = (body: Record<string, unknown>, key = svcKey, url?: string) => call('POST', '/api/enroll', { body, key, url });
  const patch = (id: string, body: Record<string, unknown>, opts: { key?: string; token?: string } = { key: svcKey }) => call('PATCH', `/api/events/${id}`, { body, ...opts });

  beforeAll(async () => {
    srv = await startTestServer(kind, { ATRIUM_MAX_REQUEST_BODY_MB: '1' });
    base = `${srv.url}/ayon`;
    const u = await srv.createUser({ admin: true, password: 'admin-password-1' });
    token = (await call('POST', '/api/auth/login', { body: { name: u.email, password: 'admin-password-1' }, token: null })).json.token;
    expect((await call('PUT', '/api/users/ev_svc', { body: { apiKey: svcKey, data: { isService: true } } })).status).toBe(204);
    expect((await call('PUT', '/api/users/ev_svc2', { body: { apiKey: svc2Key, data: { isService: true } } })).status).toBe(204);
    expect((await call('PUT', '/api/users/ev_plain', { body: { password: 'plain-password-1' } })).status).toBe(204);
    plainToken = (await call('POST', '/api/auth/login', { body: { name: 'ev_plain', password: 'plain-password-1' }, token: null })).json.token;
    expect((await call('PUT', '/api/users/ev_mgr', { body: { password: 'manager-password-1', data: { isManager: true } } })).status).toBe(204);
    managerToken = (await call('POST', '/api/auth/login', { body: { name: 'ev_mgr', password: 'manager-password-1' }, token: null })).json.token;
    expect((await call('POST', '/api/projects', { body: { name: P, code: P } })).status).toBe(201);
  });
  afterAll(() => srv.close());

  describe('REST', () => {
    it('dispatch stores the event with the caller as user, sender from the body or x-sender, and publishes it on the bus', async () => {
      const seen: any[] = [];
      const off = srv.app.services.bus.subscribe('ayon.event', (m: any) => seen.push(m));
      const topic = `test.${tag()}`;
      const r = await dispatch({ topic, sender: 'me-sender', project: P, user: 'someone_else', description: 'd', summary: { a: 1 }, payload: { b: [1, 2] } });
      expect(r.status).toBe(200);
      expect(r.json.id).toMatch(/^[0-9a-f]{32}$/);
      const e = (await call('GET', `/api/events/${r.json.id}`)).json;
      expect(e).toMatchObject({ id: r.json.id, hash: r.json.id, topic, sender: 'me-sender', senderType: 'api', project: P, status: 'finished', retries: 0, description: 'd', summary: { a: 1 }, payload: { b: [1, 2] }, dependsOn: null });
      expect(e.user).not.toBe('someone_else');
      expect(e.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
      const h = await dispatch({ topic, finished: false }, { headers: { 'x-sender': 'hdr-sender', 'x-sender-type': 'browser' } });
      const e2 = (await call('GET', `/api/events/${h.json.id}`)).json;
      expect(e2).toMatchObject({ sender: 'hdr-sender', senderType: 'browser', status: 'pending' });
      off();
      const mine = seen.filter((m) => m.topic === topic);
      expect(mine).toHaveLength(2);
      expect(mine[0]).toMatchObject({ id: r.json.id, store: true, progress: 100, summary: { a: 1 } });
      expect(mine[1]).toMatchObject({ status: 'pending', store: true, progress: 0 });
    });

    it('store=false is broadcast only; duplicate hash is 409 unless reuse; dependsOn is checked and stored', async () => {
      const seen: any[] = [];
      const off = srv.app.services.bus.subscribe('ayon.event', (m: any) => seen.push(m));
      const topic = `fire.${tag()}`;
      const f = await dispatch({ topic, store: false });
      expect(f.status).toBe(200);
      expect((await call('GET', `/api/events/${f.json.id}`)).status).toBe(404);
      expect(seen.find((m) => m.id === f.json.id)).toMatchObject({ store: false });
      off();
      const hash = `h-${tag()}`;
      const a = await dispatch({ topic, hash, description: 'one' });
      expect(a.status).toBe(200);
      const dup = await dispatch({ topic, hash });
      expect(dup.status).toBe(409);
      expect(dup.json).toEqual({ code: 409, detail: 'Event with the same hash already exists' });
      const re = await dispatch({ topic, hash, description: 'two', reuse: true });
      expect(re.status).toBe(200);
      expect(re.json.id).toBe(a.json.id);
      expect((await call('GET', `/api/events/${a.json.id}`)).json.description).toBe('two');
      const child = await dispatch({ topic, dependsOn: a.json.id });
      expect((await call('GET', `/api/events/${child.json.id}`)).json.dependsOn).toBe(a.json.id);
      expect((await dispatch({ topic, hash, reuse: true })).status).toBe(409);
      const orphan = await dispatch({ topic, dependsOn: hex() });
      expect(orphan.status).toBe(409);
      expect(orphan.json.detail).toBe('Event depends on non-existing event');
    });

    it('dispatch is manager-only; bad topics and bodies are 400; unknown ids 404', async () => {
      expect((await dispatch({ topic: 'x.y' }, { token: plainToken })).status).toBe(403);
      expect((await dispatch({ topic: 'bad topic!' })).status).toBe(400);
      expect((await dispatch({ topic: 'ok.t', summary: 'nope' })).status).toBe(400);
      expect((await call('POST', '/api/events', { body: '{not json' })).status).toBe(400);
      const nf = await call('GET', `/api/events/${hex()}`);
      expect(nf).toEqual({ status: 404, json: { code: 404, detail: 'Event not found' } });
      expect((await patch(hex(), { status: 'finished' })).status).toBe(404);
      expect((await call('DELETE', `/api/events/${hex()}`)).status).toBe(404);
    });

    it('a body over the request limit is 413 and stores nothing', async () => {
      const topic = `big.${tag()}`;
      const r = await dispatch({ topic, payload: { blob: 'x'.repeat(1_200_000) } });
      expect(r.status).toBe(413);
      const list = await gql('query($t:[String!]){events(topics:$t){edges{node{id}}}}', { t: [topic] });
      expect(list.data.events.edges).toHaveLength(0);
    });

    it('PATCH: status validated, progress 0..100 broadcast only, status changes only for services / jobs, delete admin-only', async () => {
      const topic = `patch.${tag()}`;
      const src = (await dispatch({ topic })).json.id;
      const job = (await dispatch({ topic: `${topic}.job`, dependsOn: src, finished: false })).json.id;
      expect((await patch(job, { status: 'bogus' })).status).toBe(400);
      expect((await patch(job, { progress: 101 })).status).toBe(400);
      const seen: any[] = [];
      const off = srv.app.services.bus.subscribe('ayon.event', (m: any) => seen.push(m));
      expect((await patch(job, { status: 'in_progress', progress: 42, summary: { s: 1 }, payload: { p: 2 }, description: 'working' })).status).toBe(204);
      off();
      expect(seen.find((m) => m.id === job)).toMatchObject({ status: 'in_progress', progress: 42, summary: { s: 1 } });
      expect((await call('GET', `/api/events/${job}`)).json).toMatchObject({ status: 'in_progress', summary: { s: 1 }, payload: { p: 2 }, description: 'working' });
      // an event without dependsOn, outside the restartable whitelist: only services change its status
      expect((await patch(src, { status: 'failed' }, { token })).status).toBe(403);
      expect((await patch(src, { description: 'fine' }, { token })).status).toBe(204);
      expect((await patch(src, { status: 'failed' }, { key: svcKey })).status).toBe(204);
      // non-managers: not someone else's event
      expect((await patch(job, { description: 'x' }, { token: plainToken })).status).toBe(403);
      // delete is for admins; as in AYON a service account has an admin's rights, a manager does not
      expect((await call('DELETE', `/api/events/${job}`, { token: managerToken })).status).toBe(403);
      expect((await call('DELETE', `/api/events/${job}`)).status).toBe(204);
      const other = (await dispatch({ topic: `svc.del.${tag()}` })).json.id;
      expect((await call('DELETE', `/api/events/${other}`, { key: svcKey })).status).toBe(204);
      expect((await call('GET', `/api/events/${job}`)).status).toBe(404);
    });

    it('eventops deletes the events a filter matches (admins only)', async () => {
      const topic = `ops.${tag()}`;
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push((await dispatch({ topic, summary: { n: i } })).json.id);
      expect((await call('POST', '/api/eventops', { body: { type: 'delete', filter: { conditions: [{ key: 'topic', value: topic }] } }, token: managerToken })).status).toBe(403);
      const f = { conditions: [{ key: 'topic', value: topic }, { key: 'summary.n', value: 1, operator: 'gte' }], operator: 'and' };
      expect((await call('POST', '/api/eventops', { body: { type: 'delete', filter: f } })).status).toBe(204);
      expect((await call('GET', `/api/events/${ids[0]}`)).status).toBe(200);
      expect((await call('GET', `/api/events/${ids[1]}`)).status).toBe(404);
      expect((await call('GET', `/api/events/${ids[2]}`)).status).toBe(404);
    });

    it('entity writes emit entity.<type>.created / <field>_changed / deleted with summary', async () => {
      const fid = hex();
      expect((await call('POST', `/api/projects/${P}/folders`, { body: { id: fid, name: 'ev_folder', folderType: 'Folder' } })).status).toBe(201);
      expect((await call('PATCH', `/api/projects/${P}/folders/${fid}`, { body: { status: 'In progress' } })).status).toBe(204);
      expect((await call('DELETE', `/api/projects/${P}/folders/${fid}`)).status).toBe(204);
      const r = await gql('query($p:[String!]){events(projects:$p, topics:["entity.folder.*"]){edges{node{topic summary user}}}}', { p: [P] });
      const mine = r.data.events.edges.map((e: any) => ({ ...e.node, summary: JSON.parse(e.node.summary) })).filter((n: any) => n.summary.entityId === fid);
      expect(mine.map((n: any) => n.topic)).toEqual(['entity.folder.created', 'entity.folder.status_changed', 'entity.folder.deleted']);
      expect(mine[1].summary.value).toBe('In progress');
    });
  });

  describe('GraphQL events', () => {
    const T = `gq${tag()}`;
    const ids: string[] = [];
    beforeAll(async () => {
      ids.push((await dispatch({ topic: `${T}.alpha`, project: P, description: 'alpha word zebra' })).json.id);
      ids.push((await dispatch({ topic: `${T}.beta`, description: 'beta thing', finished: false })).json.id);
      ids.push((await dispatch({ topic: `${T}.beta`, dependsOn: ids[0], description: 'child' })).json.id);
      ids.push((await dispatch({ topic: `log.${T}`, description: 'a log line' })).json.id);
    });
    const q = `query Events($eventIds:[String!],$eventTopics:[String!],$projectNames:[String!],$eventStatuses:[String!],$eventUsers:[String!],$includeLogsFilter:Boolean,$hasChildrenFilter:Boolean,$newerThanFilter:String,$olderThanFilter:String,$textFilter:String,$first:Int,$last:Int,$after:String,$before:String){
      events(ids:$eventIds,topics:$eventTopics,projects:$projectNames,statuses:$eventStatuses,users:$eventUsers,includeLogs:$includeLogsFilter,hasChildren:$hasChildrenFilter,newerThan:$newerThanFilter,olderThan:$olderThanFilter,filter:$textFilter,first:$first,last:$last,after:$after,before:$before){
        pageInfo{hasNextPage hasPreviousPage startCursor endCursor} edges{cursor node{id hash topic project user sender senderType dependsOn status retries description summary payload createdAt updatedAt hasChildren}}}}`;
    const idsOf = async (vars: Record<string, unknown>, t?: string) => {
      const r = await gql(q, vars, t);
      expect(r.errors).toBeUndefined();
      return r.data.events.edges.map((e: any) => e.node.id);
    };

    it('filters by topic wildcard, ids, projects, statuses, users, hasChildren, logs, text and time', async () => {
      expect(await idsOf({ eventTopics: [`${T}.*`] })).toEqual(ids.slice(0, 3));
      expect(await idsOf({ eventTopics: [`${T}.beta`] })).toEqual(ids.slice(1, 3));
      expect(await idsOf({ eventIds: [ids[1]] })).toEqual([ids[1]]);
      expect(await idsOf({ eventTopics: [`${T}.*`], projectNames: [P] })).toEqual([ids[0]]);
      expect(await idsOf({ eventTopics: [`${T}.*`], eventStatuses: ['pending'] })).toEqual([ids[1]]);
      expect(await idsOf({ eventTopics: [`${T}.*`], eventUsers: ['nobody'] })).toEqual([]);
      expect(await idsOf({ eventTopics: [`${T}.*`], hasChildrenFilter: true })).toEqual([ids[0]]);
      expect(await idsOf({ eventTopics: [`${T}.*`], hasChildrenFilter: false })).toEqual(ids.slice(1, 3));
      expect(await idsOf({ textFilter: `${T} zebra` })).toEqual([ids[0]]);
      expect(await idsOf({ textFilter: `${T}`, includeLogsFilter: false })).toEqual(ids.slice(0, 3));
      expect(await idsOf({ textFilter: `${T}`, includeLogsFilter: true })).toEqual(ids);
      expect(await idsOf({ eventTopics: [`log.${T}`] })).toEqual([ids[3]]);
      expect(await idsOf({ eventTopics: [`${T}.*`], newerThanFilter: new Date(Date.now() + 60_000).toISOString() })).toEqual([]);
      expect(await idsOf({ eventTopics: [`${T}.*`], olderThanFilter: new Date(Date.now() + 60_000).toISOString() })).toEqual(ids.slice(0, 3));
      const r = await gql(`{events(topics:["${T}.*"], states:["pending"]){edges{node{id}}}}`);
      expect(r.data.events.edges.map((e: any) => e.node.id)).toEqual([ids[1]]);
      const n = (await gql(q, { eventIds: [ids[0]] })).data.events.edges[0].node;
      expect(JSON.parse(n.summary)).toEqual({});
      expect(typeof n.payload).toBe('string');
      expect(n.hasChildren).toBe(true);
    });

    it('pages ascending with first/after and descending with last/before', async () => {
      const all: string[] = [];
      let after: string | undefined;
      for (;;) {
        const r = (await gql(q, { eventTopics: [`${T}.*`], first: 2, after })).data.events;
        all.push(...r.edges.map((e: any) => e.node.id));
        if (!r.pageInfo.hasNextPage) break;
        after = r.pageInfo.endCursor;
      }
      expect(all).toEqual(ids.slice(0, 3));
      const desc: string[] = [];
      let before: string | undefined;
      for (;;) {
        const r = (await gql(q, { eventTopics: [`${T}.*`], last: 2, before })).data.events;
        desc.push(...r.edges.map((e: any) => e.node.id));
        if (!r.pageInfo.hasPreviousPage) break;
        before = r.pageInfo.endCursor;
      }
      expect(desc).toEqual(ids.slice(0, 3).reverse());
    });

    it('non-managers see only their own events unless ids are given, never other projects', async () => {
      expect(await idsOf({ eventTopics: [`${T}.*`] }, plainToken)).toEqual([]);
      // ids given: events without a project are visible, project events need access
      expect(await idsOf({ eventIds: ids.slice(0, 2) }, plainToken)).toEqual([ids[1]]);
      expect((await call('GET', `/api/events/${ids[0]}`, { token: plainToken })).status).toBe(404);
      expect((await call('GET', `/api/events/${ids[1]}`, { token: plainToken })).status).toBe(200);
    });
  });

  describe('enroll', () => {
    const src = () => `src.${tag()}`;
    const tgt = () => `tgt.${tag()}`;

    it('only services enroll (403); wildcard target 400; malformed filter 400; nothing to do 204', async () => {
      const s = src();
      expect((await call('POST', '/api/enroll', { body: { sourceTopic: s, targetTopic: tgt(), sender: 'w' } })).status).toBe(403);
      expect((await enroll({ sourceTopic: s, targetTopic: 'a.*', sender: 'w' })).status).toBe(400);
      expect((await enroll({ sourceTopic: s, targetTopic: tgt(), sender: 'w', filter: { conditions: [{ key: 'x', operator: 'bogus', value: 1 }] } })).status).toBe(400);
      expect((await enroll({ sourceTopic: s, targetTopic: tgt(), sender: 'w' })).status).toBe(204);
    });

    it('creates a pending job per source in creation order, re-issues it to the same sender, skips it for others', async () => {
      const s = src();
      const t = tgt();
      const a = (await dispatch({ topic: s, project: P })).json.id;
      const b = (await dispatch({ topic: s })).json.id;
      const j1 = await enroll({ sourceTopic: s, targetTopic: t, sender: 'w1', description: 'job one' });
      expect(j1.status).toBe(200);
      expect(j1.json).toMatchObject({ dependsOn: a, status: 'pending' });
      const job = (await call('GET', `/api/events/${j1.json.id}`)).json;
      expect(job).toMatchObject({ topic: t, sender: 'w1', user: 'ev_svc', project: P, description: 'job one', dependsOn: a });
      // same sender: the same job again
      expect((await enroll({ sourceTopic: s, targetTopic: t, sender: 'w1' })).json.id).toBe(j1.json.id);
      // another sender: the next source
      const j2 = await enroll({ sourceTopic: s, targetTopic: t, sender: 'w2' });
      expect(j2.json.dependsOn).toBe(b);
      expect((await call('GET', `/api/events/${j2.json.id}`)).json.description).toBe(`Convert from ${s} to ${t}`);
      // both held by others → 204 for a third sender
      expect((await enroll({ sourceTopic: s, targetTopic: t, sender: 'w3' })).status).toBe(204);
      // finished jobs are done for everyone
      expect((await patch(j1.json.id, { status: 'finished' })).status).toBe(204);
      expect((await enroll({ sourceTopic: s, targetTopic: t, sender: 'w1' })).status).toBe(204);
      // list of topics: literal match
      expect((await enroll({ sourceTopic: [s, 'other.topic'], targetTopic: tgt(), sender: 'w1' })).json.dependsOn).toBe(a);
      // wildcard source
      expect((await enroll({ sourceTopic: `${s.split('.')[0]}.${s.split('.')[1].slice(0, 3)}*`, targetTopic: tgt(), sender: 'w1' })).json.dependsOn).toBe(a);
    });

    it('failed jobs come back as pending with retries+1 (to any sender) until maxRetries', async () => {
      const s = src();
      const t = tgt();
      const a = (await dispatch({ topic: s })).json.id;
      const j = (await enroll({ sourceTopic: s, targetTopic: t, sender: 'w1', maxRetries: 1 })).json;
      expect((await patch(j.id, { status: 'failed' })).status).toBe(204);
      const r1 = (await enroll({ sourceTopic: s, targetTopic: t, sender: 'w2', maxRetries: 1 })).json;
      expect(r1).toMatchObject({ id: j.id, dependsOn: a, status: 'pending' });
      expect((await call('GET', `/api/events/${j.id}`)).json).toMatchObject({ retries: 1, sender: 'w2', status: 'pending', description: 'Restarting failed event' });
      await patch(j.id, { status: 'failed' });
      expect((await enroll({ sourceTopic: s, targetTopic: t, sender: 'w1', maxRetries: 1 })).json.id).toBe(j.id);
      expect((await call('GET', `/api/events/${j.id}`)).json.retries).toBe(2);
      await patch(j.id, { status: 'failed' });
      // retries 2 > maxRetries 1: given up
      expect((await enroll({ sourceTopic: s, targetTopic: t, sender: 'w1', maxRetries: 1 })).status).toBe(204);
      // restarted (by a person) → pending without counting a retry
      await patch(j.id, { status: 'restarted' });
      expect((await enroll({ sourceTopic: s, targetTopic: t, sender: 'w9', maxRetries: 1 })).json.id).toBe(j.id);
      expect((await call('GET', `/api/events/${j.id}`)).json.retries).toBe(2);
    });

    it('sequential: a job held by another sender blocks everyone else', async () => {
      const s = src();
      const t = tgt();
      const a = (await dispatch({ topic: s })).json.id;
      const b = (await dispatch({ topic: s })).json.id;
      const j = (await enroll({ sourceTopic: s, targetTopic: t, sender: 'w1', sequential: true })).json;
      expect(j.dependsOn).toBe(a);
      expect((await enroll({ sourceTopic: s, targetTopic: t, sender: 'w2', sequential: true })).status).toBe(204);
      expect((await enroll({ sourceTopic: s, targetTopic: t, sender: 'w2', sequential: false })).json.dependsOn).toBe(b);
      await patch(j.id, { status: 'finished' });
      const t2 = tgt();
      expect((await enroll({ sourceTopic: s, targetTopic: t2, sender: 'w1', sequential: true })).json.dependsOn).toBe(a);
    });

    it('ignoreSenderTypes, ignoreOlderThan (string accepted) and a QueryFilter over summary/payload', async () => {
      const s = src();
      const t = tgt();
      const a = (await dispatch({ topic: s, summary: { kind: 'x' } }, { headers: { 'x-sender-type': 'robot' } })).json.id;
      const b = (await dispatch({ topic: s, summary: { kind: 'y' }, payload: { deep: { n: 5 } } })).json.id;
      expect((await enroll({ sourceTopic: s, targetTopic: t, sender: 'w', ignoreSenderTypes: ['robot'], ignoreOlderThan: '2' })).json.dependsOn).toBe(b);
      const t2 = tgt();
      const f = { conditions: [{ key: 'payload/deep/n', value: 5, operator: 'gte' }] };
      expect((await enroll({ sourceTopic: s, targetTopic: t2, sender: 'w', filter: f })).json.dependsOn).toBe(b);
      const t3 = tgt();
      expect((await enroll({ sourceTopic: s, targetTopic: t3, sender: 'w', filter: { conditions: [{ key: 'summary.kind', value: 'x' }] } })).json.dependsOn).toBe(a);
      // old sources are ignored by default (3 days), and kept with ignoreOlderThan 0
      const old = Date.now() - 5 * 86_400_000;
      await srv.app.services.store.db.updateTable('ayon_events').set({ created_at: old, updated_at: old }).where('id', 'in', [a, b]).execute();
      expect((await enroll({ sourceTopic: s, targetTopic: tgt(), sender: 'w' })).status).toBe(204);
      expect((await enroll({ sourceTopic: s, targetTopic: tgt(), sender: 'w', ignoreOlderThan: 0 })).json.dependsOn).toBe(a);
    });

    it('concurrent workers (distinct senders, two server processes) never get the same job', async () => {
      const s = src();
      const t = tgt();
      const N = 24;
      const sources = new Set<string>();
      for (let i = 0; i < N; i++) sources.add((await dispatch({ topic: s })).json.id);
      const other = await startTestServer(kind, {}, { database: srv.config.database });
      try {
        const urls = [base, `${other.url}/ayon`];
        const claimed: string[] = [];
        const worker = async (w: number) => {
          const key = w % 2 ? svcKey : svc2Key;
          for (;;) {
            const r = await enroll({ sourceTopic: s, targetTopic: t, sender: `cw${w}` }, key, urls[w % 2]);
            if (r.status === 204) return;
            expect(r.status).toBe(200);
            claimed.push(r.json.dependsOn);
            expect((await patch(r.json.id, { status: 'finished' }, { key })).status).toBe(204);
          }
        };
        await Promise.all([0, 1, 2, 3, 4, 5].map(worker));
        expect(claimed.sort()).toEqual([...sources].sort());
      } finally {
        await other.close();
      }
    });

    it('sources already handled become eligible again when their job is restarted or deleted, or when a source is finished late', async () => {
      const s = src();
      const t = tgt();
      const a = (await dispatch({ topic: s })).json.id;
      const b = (await dispatch({ topic: s })).json.id;
      const c = (await dispatch({ topic: s, finished: false })).json.id;
      // two minutes old: behind the position the enroll scan remembers
      const old = Date.now() - 120_000;
      for (const [i, id] of [a, b, c].entries())
        await srv.app.services.store.db.updateTable('ayon_events').set({ created_at: old + i, updated_at: old + i }).where('id', '=', id).execute();
      const ja = (await enroll({ sourceTopic: s, targetTopic: t, sender: 'w1' })).json;
      expect(ja.dependsOn).toBe(a);
      await patch(ja.id, { status: 'finished' });
      const jb = (await enroll({ sourceTopic: s, targetTopic: t, sender: 'w1' })).json;
      expect(jb.dependsOn).toBe(b);
      await patch(jb.id, { status: 'finished' });
      expect((await enroll({ sourceTopic: s, targetTopic: t, sender: 'w1' })).status).toBe(204);
      expect((await enroll({ sourceTopic: s, targetTopic: t, sender: 'w1' })).status).toBe(204);
      // a finished job restarted by hand
      await patch(ja.id, { status: 'restarted' });
      expect((await enroll({ sourceTopic: s, targetTopic: t, sender: 'w2' })).json).toMatchObject({ id: ja.id, dependsOn: a });
      await patch(ja.id, { status: 'finished' });
      expect((await enroll({ sourceTopic: s, targetTopic: t, sender: 'w2' })).status).toBe(204);
      // a finished job deleted
      expect((await call('DELETE', `/api/events/${jb.id}`)).status).toBe(204);
      const jb2 = (await enroll({ sourceTopic: s, targetTopic: t, sender: 'w2' })).json;
      expect(jb2.dependsOn).toBe(b);
      expect(jb2.id).not.toBe(jb.id);
      await patch(jb2.id, { status: 'finished' });
      // an old pending source finished now
      expect((await enroll({ sourceTopic: s, targetTopic: t, sender: 'w2' })).status).toBe(204);
      await patch(c, { status: 'finished' });
      expect((await enroll({ sourceTopic: s, targetTopic: t, sender: 'w2' })).json.dependsOn).toBe(c);
    });

    it('an identical request already running is 503; a different sender is not blocked', async () => {
      const s = src();
      const t = tgt();
      for (let i = 0; i < 3; i++) await dispatch({ topic: s });
      const es = srv.app.services.ayon.eventStream;
      const actor = { ...(await srv.app.services.ayon.users.loadByName('ev_svc'))!, tokenKind: 'api_key', token: 'x' } as any;
      const body = { sourceTopic: s, targetTopic: t, sender: 'dup' };
      const hdr = { sender: null, senderType: null };
      const [a, b, c] = await Promise.allSettled([es.enroll(actor, body, hdr), es.enroll(actor, { ...body }, hdr), es.enroll(actor, { ...body, sender: 'other' }, hdr)]);
      expect(a.status).toBe('fulfilled');
      expect(b.status).toBe('rejected');
      expect((b as PromiseRejectedResult).reason).toMatchObject({ status: 503, message: 'Enroll request is already running' });
      expect(c.status).toBe('fulfilled');
      expect((c as PromiseFulfilledResult<any>).value.dependsOn).not.toBe((a as PromiseFulfilledResult<any>).value.dependsOn);
      // once answered, the same request runs again (and gets the same job back: same sender)
      expect((await enroll(body)).json.id).toBe((a as PromiseFulfilledResult<any>).value.id);
    });
  });

  describe('retention', () => {
    it('purges log.* older than 7 days and, with a retention, old finished events', async () => {
      const topic = `ret.${tag()}`;
      const oldLog = (await dispatch({ topic: `log.${topic}` })).json.id;
      const newLog = (await dispatch({ topic: `log.${topic}.new` })).json.id;
      const oldEv = (await dispatch({ topic })).json.id;
      const oldPending = (await dispatch({ topic, finished: false })).json.id;
      const old = Date.now() - 10 * 86_400_000;
      await srv.app.services.store.db.updateTable('ayon_events').set({ created_at: old, updated_at: old }).where('id', 'in', [oldLog, oldEv, oldPending]).execute();
      await srv.app.services.ayon.eventStream.purge(Date.now(), { eventDays: null });
      expect((await call('GET', `/api/events/${oldLog}`)).status).toBe(404);
      expect((await call('GET', `/api/events/${newLog}`)).status).toBe(200);
      expect((await call('GET', `/api/events/${oldEv}`)).status).toBe(200);
      await srv.app.services.ayon.eventStream.purge(Date.now(), { eventDays: 5 });
      expect((await call('GET', `/api/events/${oldEv}`)).status).toBe(404);
      expect((await call('GET', `/api/events/${oldPending}`)).status).toBe(200);
    });
  });
});
