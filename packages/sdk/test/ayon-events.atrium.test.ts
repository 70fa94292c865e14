/**
 * AyonClient events against a real Atrium (in-process, on every store kind): dispatch, read with
 * filters and both orders, update, delete; enrollEventJob; and runEventJobWorker — several workers
 * process every source event exactly once, report progress, mark failures (retried), and stop on
 * an AbortSignal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { AyonClient, AyonHttpError } from '../src/index.js';
import { startTestServer, storeKinds } from '../../server/test/helpers/server.js';

type TestServer = Awaited<ReturnType<typeof startTestServer>>;
const tag = () => randomBytes(4).toString('hex');

async function collect<T>(gen: AsyncGenerator<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of gen) out.push(x);
  return out;
}

describe.each(storeKinds)('AyonClient events on %s', (kind) => {
  let server: TestServer;
  let api: AyonClient;
  let svc: AyonClient;

  beforeAll(async () => {
    server = await startTestServer(kind);
    const u = await server.createUser({ admin: true, password: 'sdk-admin-password' });
    api = new AyonClient({ baseUrl: `${server.url}/ayon` });
    await api.login(u.email, 'sdk-admin-password');
    const key = randomBytes(16).toString('hex');
    await api.put('users/sdk_ev_svc', { apiKey: key, data: { isService: true } });
    svc = new AyonClient({ baseUrl: `${server.url}/ayon`, token: key });
  });
  afterAll(() => server?.close());

  it('dispatches, reads with filters in both orders, updates and deletes events', async () => {
    const topic = `sdk.${tag()}`;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await api.createEvent(`${topic}.e`, { description: `event number ${i}`, summary: { i }, finished: i !== 2 }));
    const ev = await api.getEvent(ids[0]);
    expect(ev).toMatchObject({ id: ids[0], topic: `${topic}.e`, summary: { i: 0 }, status: 'finished' });
    expect((await collect(api.getEvents({ topics: [`${topic}.*`] }))).map((e) => e.id)).toEqual(ids);
    expect((await collect(api.getEvents({ topics: [`${topic}.*`], order: 'desc' }))).map((e) => e.id)).toEqual([...ids].reverse());
    expect((await collect(api.getEvents({ topics: [`${topic}.*`], last: 2 }))).map((e) => e.id)).toEqual([ids[4], ids[3]]);
    expect((await collect(api.getEvents({ topics: [`${topic}.*`], limit: 3 }))).map((e) => e.id)).toEqual(ids.slice(0, 3));
    expect((await collect(api.getEvents({ topics: [`${topic}.*`], statuses: ['pending'] }))).map((e) => e.id)).toEqual([ids[2]]);
    expect(await collect(api.getEvents({ topics: [`${topic}.*`], statuses: [] }))).toEqual([]);
    expect((await collect(api.getEvents({ textFilter: `${topic} number` }))).length).toBe(5);
    const [node] = await collect(api.getEvents({ eventIds: [ids[1]], fields: ['id', 'summary', 'hasChildren'] }));
    expect(JSON.parse(node.summary)).toEqual({ i: 1 });
    expect(Object.keys(node).sort()).toEqual(['hasChildren', 'id', 'summary']);
    await svc.updateEvent(ids[2], { status: 'finished', description: 'done', payload: { ok: true } });
    expect(await api.getEvent(ids[2])).toMatchObject({ status: 'finished', description: 'done', payload: { ok: true } });
    await api.deleteEvent(ids[0]);
    await expect(api.getEvent(ids[0])).rejects.toBeInstanceOf(AyonHttpError);
    await api.deleteEvents({ conditions: [{ key: 'topic', value: `${topic}.e` }] });
    expect(await collect(api.getEvents({ topics: [`${topic}.*`] }))).toEqual([]);
  });

  it('enrollEventJob: a job per source, null when there is nothing to do; non-services are refused', async () => {
    const src = `sdksrc.${tag()}`;
    const a = await api.createEvent(src);
    const job = await svc.enrollEventJob(src, `${src}.job`, 'sdk-w');
    expect(job).toMatchObject({ dependsOn: a, status: 'pending' });
    await svc.updateEvent(job!.id, { status: 'finished' });
    expect(await svc.enrollEventJob(src, `${src}.job`, 'sdk-w')).toBeNull();
    await expect(api.enrollEventJob(src, `${src}.job`, 'sdk-w')).rejects.toThrow(/403/);
  });

  it('runEventJobWorker: four workers process every source once, with progress; failures are retried', async () => {
    const src = `sdkrun.${tag()}`;
    const target = `${src}.processed`;
    const sources = new Set<string>();
    for (let i = 0; i < 20; i++) sources.add(await api.createEvent(src, { summary: { n: i } }));
    const seen: string[] = [];
    const progressSeen: number[] = [];
    const off = server.app.services.bus.subscribe('ayon.event', (m: any) => {
      if (m.topic === target && typeof m.progress === 'number' && m.status === 'in_progress') progressSeen.push(m.progress);
    });
    let failOnce = true;
    const results = await Promise.all(
      [0, 1, 2, 3].map((w) =>
        svc.runEventJobWorker({
          sourceTopic: src,
          targetTopic: target,
          sender: `sdk-worker-${w}`,
          stopWhenIdle: true,
          onError: () => {},
          handler: async ({ source, progress }) => {
            if (source.summary.n === 7 && failOnce) {
              failOnce = false;
              throw new Error('first attempt fails');
            }
            await progress(50);
            seen.push(source.id);
            return { doubled: source.summary.n * 2 };
          },
        }),
      ),
    );
    off();
    // the failed job is re-issued on a later enroll: drain it with one more pass
    const tail = await svc.runEventJobWorker({ sourceTopic: src, targetTopic: target, sender: 'sdk-worker-tail', stopWhenIdle: true, handler: async ({ source }) => void seen.push(source.id) });
    expect(results.reduce((n, r) => n + r.failed, 0)).toBe(1);
    expect(results.reduce((n, r) => n + r.processed, 0) + tail.processed).toBe(20);
    expect(seen.sort()).toEqual([...sources].sort());
    expect(progressSeen).toContain(50);
    const jobs = await collect(api.getEvents({ topics: [target], fields: ['id', 'status', 'summary', 'retries', 'dependsOn'] }));
    expect(jobs).toHaveLength(20);
    expect(jobs.every((j) => j.status === 'finished')).toBe(true);
    expect(jobs.filter((j) => j.retries === 1)).toHaveLength(1);
    expect(jobs.some((j) => JSON.parse(j.summary).doubled === 14)).toBe(true);
  });

  it('runEventJobWorker stops on an AbortSignal while idle', async () => {
    const ctl = new AbortController();
    const started = Date.now();
    const run = svc.runEventJobWorker({ sourceTopic: `idle.${tag()}`, targetTopic: `idle.${tag()}.t`, sender: 'idle-w', idleMs: 10_000, signal: ctl.signal, handler: async () => {} });
    setTimeout(() => ctl.abort(), 200);
    expect(await run).toEqual({ processed: 0, failed: 0 });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
