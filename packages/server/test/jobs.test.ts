/**
 * The durable job queue and its worker, on every store kind (SQLite, and PostgreSQL when
 * ATRIUM_TEST_PG_URL is set). Time-dependent behaviour (back-off, lease expiry) is driven by the
 * queue's injectable clock, so no test depends on how fast the machine is.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { openStore, type Store } from '../src/store/db.js';
import { migrateToLatest } from '../src/store/migrations/index.js';
import {
  JobLeaseLostError,
  MAX_ERROR_LENGTH,
  backoffDelay,
  createJobQueue,
  type Job,
  type JobQueue,
} from '../src/jobs/queue.js';
import { createWorker, type JobHandler } from '../src/jobs/worker.js';
import { createTestDatabase, storeKinds, type TestDatabase } from './helpers/stores.js';
import { spawnFixture, type FixtureProcess } from './helpers/jobs-processes.js';

const HOUR = 3_600_000;
const T0 = 1_700_000_000_000;

async function waitFor<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, what: string): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A promise with its resolve function, to hold a handler until the test lets it go. */
function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

describe('backoffDelay', () => {
  it('doubles from the base on each attempt and stops at the cap', () => {
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, 100, 1000))).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffDelay(500, 100, 1000)).toBe(1000);
  });
});

describe.each(storeKinds)('job queue on %s', (kind) => {
  let tdb: TestDatabase;
  let store: Store;
  let extraStores: Store[];
  let children: FixtureProcess[];

  /** another connection (SQLite) or pool (PostgreSQL) to the same database */
  async function openAnother(): Promise<Store> {
    const s = await openStore(tdb.config);
    extraStores.push(s);
    return s;
  }

  beforeEach(async () => {
    tdb = await createTestDatabase(kind);
    store = await openStore(tdb.config);
    await migrateToLatest(store);
    extraStores = [];
    children = [];
  });

  afterEach(async () => {
    for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    for (const s of extraStores) await s.close();
    await store.close();
    await tdb.drop();
  });

  describe('queue', () => {
    it('enqueues, claims with a lease and completes a job, keeping the payload intact', async () => {
      let clock = T0;
      const q = createJobQueue(store, { now: () => clock });
      const payload = { versionId: 'abc', nested: { n: 1, list: [1, 'two', null] }, text: 'ünïcødé' };
      const id = await q.enqueue('dataset.build', payload);
      expect(await q.get(id)).toMatchObject({ id, type: 'dataset.build', status: 'queued', attempts: 0, maxAttempts: 5, runAt: T0 });

      const [job, ...more] = await q.claim('w1', { leaseMs: 1000 });
      expect(more).toEqual([]);
      expect(job).toEqual({ id, type: 'dataset.build', payload, attempts: 1, maxAttempts: 5 });
      expect(await q.get(id)).toMatchObject({ status: 'running', lockedBy: 'w1', leaseUntil: T0 + 1000 });
      expect(await q.claim('w2', { leaseMs: 1000 })).toEqual([]);

      clock += 10;
      await q.complete(id, 'w1');
      expect(await q.get(id)).toMatchObject({ status: 'done', attempts: 1, finishedAt: T0 + 10, leaseUntil: null });
      expect(await q.stats()).toEqual({ queued: 0, running: 0, done: 1, dead: 0 });
      expect(await q.claim('w1', { leaseMs: 1000 })).toEqual([]);
    });

    it('claims only due jobs of the requested types, oldest run_at first, up to the limit', async () => {
      let clock = T0;
      const q = createJobQueue(store, { now: () => clock });
      const later = await q.enqueue('a', 1, { runAt: T0 + 500 });
      const first = await q.enqueue('a', 2, { runAt: T0 - 100 });
      const second = await q.enqueue('a', 3);
      const other = await q.enqueue('b', 4);

      expect((await q.claim('w', { leaseMs: 1000, types: ['a'], limit: 10 })).map((j) => j.id)).toEqual([first, second]);
      expect(await q.claim('w', { leaseMs: 1000, types: [] })).toEqual([]);
      clock = T0 + 500;
      expect((await q.claim('w', { leaseMs: 1000, types: ['a'], limit: 10 })).map((j) => j.id)).toEqual([later]);
      expect((await q.claim('w', { leaseMs: 1000, limit: 10 })).map((j) => j.id)).toEqual([other]);
      expect(await q.get(9_999_999)).toBeNull();
    });

    it('dedupes: one live job per (type, dedupeKey); a new one once the old is finished', async () => {
      const q = createJobQueue(store);
      const a = await q.enqueue('thumb', { v: 1 }, { dedupeKey: 'version-1' });
      expect(await q.enqueue('thumb', { v: 2 }, { dedupeKey: 'version-1' })).toBe(a);
      expect(await q.enqueue('thumb', { v: 3 }, { dedupeKey: 'version-2' })).not.toBe(a);
      expect(await q.enqueue('other', { v: 4 }, { dedupeKey: 'version-1' })).not.toBe(a);
      expect(await q.enqueue('thumb', { v: 5 })).not.toBe(a);

      // still deduped while running
      const [job] = await q.claim('w', { leaseMs: 1000, types: ['thumb'] });
      expect(job.id).toBe(a);
      expect(job.payload).toEqual({ v: 1 });
      expect(await q.enqueue('thumb', { v: 6 }, { dedupeKey: 'version-1' })).toBe(a);

      await q.complete(a, 'w');
      const b = await q.enqueue('thumb', { v: 7 }, { dedupeKey: 'version-1' });
      expect(b).not.toBe(a);
      expect((await q.get(b))?.payload).toEqual({ v: 7 });
    });

    it('dedupes concurrent enqueues from separate connections into a single job', async () => {
      const queues = [createJobQueue(store), createJobQueue(await openAnother()), createJobQueue(await openAnother())];
      const ids = await Promise.all(
        Array.from({ length: 30 }, (_, i) => queues[i % queues.length].enqueue('dataset.build', { i }, { dedupeKey: 'v-42' })),
      );
      expect(new Set(ids).size).toBe(1);
      const { n } = await store.db
        .selectFrom('jobs')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('dedupe_key', '=', 'v-42')
        .executeTakeFirstOrThrow();
      expect(Number(n)).toBe(1);
    });

    it('requeues a failed job with exponential backoff and marks it dead after max_attempts', async () => {
      let clock = T0;
      const q = createJobQueue(store, { backoffBaseMs: 1000, backoffMaxMs: 1500, now: () => clock });
      const id = await q.enqueue('x', null, { maxAttempts: 3 });

      let [job] = await q.claim('w', { leaseMs: 100 });
      expect(await q.fail(id, 'w', 'first')).toBe('retry');
      expect(await q.get(id)).toMatchObject({ status: 'queued', attempts: 1, lastError: 'first', runAt: T0 + 1000, lockedBy: null });
      clock = T0 + 999;
      expect(await q.claim('w', { leaseMs: 100 })).toEqual([]);

      clock = T0 + 1000;
      [job] = await q.claim('w', { leaseMs: 100 });
      expect(job).toMatchObject({ id, attempts: 2 });
      expect(await q.fail(id, 'w', 'second')).toBe('retry');
      expect(await q.get(id)).toMatchObject({ status: 'queued', attempts: 2, runAt: clock + 1500 }); // 2000, capped

      clock += 1500;
      [job] = await q.claim('w', { leaseMs: 100 });
      expect(job).toMatchObject({ id, attempts: 3 });
      expect(await q.fail(id, 'w', 'third')).toBe('dead');
      expect(await q.get(id)).toMatchObject({ status: 'dead', attempts: 3, lastError: 'third', finishedAt: clock });
      clock += HOUR;
      expect(await q.claim('w', { leaseMs: 100 })).toEqual([]);
      expect(await q.stats()).toEqual({ queued: 0, running: 0, done: 0, dead: 1 });
    });

    it('bounds the stored error message', async () => {
      const q = createJobQueue(store);
      const id = await q.enqueue('x', null, { maxAttempts: 1 });
      await q.claim('w', { leaseMs: 1000 });
      await q.fail(id, 'w', 'e'.repeat(10_000));
      expect((await q.get(id))?.lastError?.length).toBe(MAX_ERROR_LENGTH);
    });

    it('reclaims a job whose lease expired; the old holder can no longer heartbeat, complete or fail it', async () => {
      let clock = T0;
      const q = createJobQueue(store, { now: () => clock });
      const id = await q.enqueue('x', { k: 1 });
      await q.claim('old', { leaseMs: 1000 });

      clock = T0 + 500;
      expect(await q.heartbeat(id, 'old', 1000)).toBe(true); // lease now ends at T0 + 1500
      clock = T0 + 1499;
      expect(await q.claim('new', { leaseMs: 1000 })).toEqual([]);

      clock = T0 + 1501;
      const [job] = await q.claim('new', { leaseMs: 1000 });
      expect(job).toEqual({ id, type: 'x', payload: { k: 1 }, attempts: 2, maxAttempts: 5 });
      expect(await q.heartbeat(id, 'old', 1000)).toBe(false);
      await expect(q.complete(id, 'old')).rejects.toBeInstanceOf(JobLeaseLostError);
      await expect(q.fail(id, 'old', 'late')).rejects.toBeInstanceOf(JobLeaseLostError);
      expect(await q.get(id)).toMatchObject({ status: 'running', lockedBy: 'new', lastError: null });

      await q.complete(id, 'new');
      expect(await q.get(id)).toMatchObject({ status: 'done', attempts: 2 });
      expect(await q.heartbeat(id, 'new', 1000)).toBe(false);
    });

    it('marks dead, instead of retrying, a job whose lease expired on its last attempt', async () => {
      let clock = T0;
      const q = createJobQueue(store, { now: () => clock });
      const id = await q.enqueue('x', null, { maxAttempts: 2 });
      await q.claim('w1', { leaseMs: 100 });
      clock += 101;
      expect((await q.claim('w2', { leaseMs: 100 })).map((j) => j.id)).toEqual([id]);
      clock += 101;
      expect(await q.claim('w3', { leaseMs: 100 })).toEqual([]);
      const dead = await q.get(id);
      expect(dead).toMatchObject({ status: 'dead', attempts: 2 });
      expect(dead?.lastError).toMatch(/lease expired.*w2/);
    });

    it('never hands a job to two claimers: 4 connections × 3 loops claiming 200 jobs', async () => {
      const q0 = createJobQueue(store);
      for (let i = 0; i < 200; i++) await q0.enqueue('c', { i });
      const queues: JobQueue[] = [q0];
      for (let i = 0; i < 3; i++) queues.push(createJobQueue(await openAnother()));

      const owner = new Map<number, string>();
      const shared: number[] = [];
      const claimer = async (q: JobQueue, workerId: string): Promise<void> => {
        for (;;) {
          const jobs = await q.claim(workerId, { leaseMs: 60_000, limit: 3 });
          if (jobs.length === 0) return;
          for (const job of jobs) {
            if (owner.has(job.id)) shared.push(job.id);
            owner.set(job.id, workerId);
            await q.complete(job.id, workerId);
          }
        }
      };
      await Promise.all(queues.flatMap((q, i) => [0, 1, 2].map((k) => claimer(q, `w${i}.${k}`))));

      expect(shared).toEqual([]);
      expect(owner.size).toBe(200);
      expect(new Set(owner.values()).size).toBeGreaterThan(1);
      expect(await q0.stats()).toEqual({ queued: 0, running: 0, done: 200, dead: 0 });
      const rows = await store.db.selectFrom('jobs').select(['id', 'attempts', 'locked_by']).execute();
      for (const r of rows) {
        expect(r.attempts).toBe(1);
        expect(r.locked_by).toBe(owner.get(Number(r.id)));
      }
    });

    it('never hands a job to two claimers: 4 processes claiming 200 jobs in parallel', async () => {
      const q = createJobQueue(store);
      for (let i = 0; i < 4; i++) {
        children.push(
          spawnFixture('jobs-claimer.ts', {
            ATRIUM_JOBS_DB: JSON.stringify(tdb.config),
            ATRIUM_JOBS_WORKER_ID: `proc-${i}`,
            ATRIUM_JOBS_LIMIT: String(1 + (i % 3)),
          }),
        );
      }
      await Promise.all(children.map((c) => c.next('ready')));
      const ids: number[] = [];
      for (let i = 0; i < 200; i++) ids.push(await q.enqueue('c', { i }));
      for (const c of children) c.send('go');
      const results = await Promise.all(children.map((c) => c.next('done')));
      const exits = await Promise.all(children.map((c) => c.exited));
      expect(exits.map((e) => e.code)).toEqual([0, 0, 0, 0]);

      const all = results.flatMap((r) => r.ids as number[]);
      expect(all.length).toBe(200);
      expect(new Set(all).size).toBe(200);
      expect([...all].sort((a, b) => a - b)).toEqual(ids);
      expect(await q.stats()).toEqual({ queued: 0, running: 0, done: 200, dead: 0 });
      const rows = await store.db.selectFrom('jobs').select(['id', 'attempts', 'locked_by']).execute();
      results.forEach((r, i) => {
        for (const id of r.ids as number[]) expect(rows.find((x) => Number(x.id) === id)?.locked_by).toBe(`proc-${i}`);
      });
      expect(rows.every((r) => r.attempts === 1)).toBe(true);
    });
  });

  describe('worker', () => {
    it('runs handlers for due jobs and completes them', async () => {
      const q = createJobQueue(store);
      const seen: Job[] = [];
      const worker = createWorker(q, { echo: async (job) => void seen.push(job) }, { pollMs: 10, concurrency: 3 });
      const ids = [];
      for (let i = 0; i < 7; i++) ids.push(await q.enqueue('echo', { i }));
      worker.start();
      await worker.drain();
      await worker.stop();
      expect(seen.map((j) => j.id).sort((a, b) => a - b)).toEqual(ids);
      expect(seen.map((j) => (j.payload as { i: number }).i).sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
      expect(await q.stats()).toEqual({ queued: 0, running: 0, done: 7, dead: 0 });
    });

    it('retries a throwing handler with backoff, then succeeds', async () => {
      let clock = T0;
      const q = createJobQueue(store, { backoffBaseMs: 1000, now: () => clock });
      let calls = 0;
      const worker = createWorker(
        q,
        {
          flaky: async () => {
            calls++;
            if (calls < 3) throw new Error(`boom ${calls}`);
          },
        },
        { pollMs: 10 },
      );
      const id = await q.enqueue('flaky', {});
      await worker.drain();
      expect(calls).toBe(1);
      expect(await q.get(id)).toMatchObject({ status: 'queued', attempts: 1, lastError: 'boom 1', runAt: T0 + 1000 });

      clock = T0 + 999;
      await worker.drain();
      expect(calls).toBe(1); // not due yet

      clock = T0 + 1000;
      await worker.drain();
      expect(calls).toBe(2);
      expect(await q.get(id)).toMatchObject({ status: 'queued', attempts: 2, lastError: 'boom 2', runAt: T0 + 1000 + 2000 });

      clock = T0 + 3000;
      await worker.drain();
      expect(calls).toBe(3);
      expect(await q.get(id)).toMatchObject({ status: 'done', attempts: 3 });
    });

    it('marks a job dead after max_attempts failures, storing only the bounded message', async () => {
      let clock = T0;
      const q = createJobQueue(store, { backoffBaseMs: 1000, now: () => clock });
      let calls = 0;
      const worker = createWorker(
        q,
        {
          broken: async () => {
            calls++;
            throw new TypeError(`cannot read ${'x'.repeat(5000)}`);
          },
        },
        { pollMs: 10 },
      );
      const id = await q.enqueue('broken', {}, { maxAttempts: 3 });
      for (let i = 0; i < 5; i++) {
        await worker.drain();
        clock += HOUR;
      }
      expect(calls).toBe(3);
      const job = await q.get(id);
      expect(job).toMatchObject({ status: 'dead', attempts: 3 });
      expect(job?.lastError?.startsWith('TypeError: cannot read xxx')).toBe(true);
      expect(job?.lastError?.length).toBeLessThanOrEqual(MAX_ERROR_LENGTH);
      expect(job?.lastError).not.toMatch(/\n\s+at /);
    });

    it('fails a job of an unknown type with a clear reason', async () => {
      const q = createJobQueue(store);
      const worker = createWorker(q, { known: async () => {} }, { pollMs: 10, workerId: 'w-unknown' });
      const id = await q.enqueue('nobody.handles.this', {}, { maxAttempts: 1 });
      await worker.drain();
      const job = await q.get(id);
      expect(job?.status).toBe('dead');
      expect(job?.lastError).toBe('no handler for job type "nobody.handles.this" on worker w-unknown');
    });

    it('heartbeats the lease while a long handler runs, so no one else can claim the job', async () => {
      const q = createJobQueue(store);
      const other = createJobQueue(await openAnother());
      const release = gate();
      const started = gate();
      const worker = createWorker(
        q,
        {
          long: async () => {
            started.open();
            await release.promise;
          },
        },
        { pollMs: 10, leaseMs: 150, workerId: 'holder' },
      );
      const id = await q.enqueue('long', {});
      worker.start();
      await started.promise;
      const firstLease = (await q.get(id))!.leaseUntil!;
      // the lease is renewed past its first expiry while the handler is still running
      await waitFor(async () => {
        const j = await q.get(id);
        return j!.leaseUntil! > firstLease + 150 && j;
      }, 'the lease to be renewed past its first expiry');
      expect(await other.claim('intruder', { leaseMs: 1000 })).toEqual([]);
      release.open();
      await worker.drain();
      await worker.stop();
      expect(await q.get(id)).toMatchObject({ status: 'done', attempts: 1, lockedBy: 'holder' });
    });

    it('aborts the handler and discards its result when the lease is lost to another worker', async () => {
      const q = createJobQueue(store);
      const later = createJobQueue(store, { now: () => Date.now() + HOUR });
      const started = gate();
      let abortReason: unknown;
      let calls = 0;
      const worker = createWorker(
        q,
        {
          slow: async (_job, { signal }) => {
            calls++;
            started.open();
            await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
            abortReason = signal.reason;
            // resolving normally: the worker must still not complete a job it no longer holds
          },
        },
        { pollMs: 10, leaseMs: 90, workerId: 'loser' },
      );
      const id = await q.enqueue('slow', {});
      worker.start();
      await started.promise;
      const [stolen] = await later.claim('thief', { leaseMs: 1000 }); // an hour later, the lease is expired
      expect(stolen).toMatchObject({ id, attempts: 2 });
      await waitFor(() => abortReason !== undefined, 'the handler to be aborted');
      await worker.stop();
      expect(abortReason).toBeInstanceOf(JobLeaseLostError);
      expect(calls).toBe(1);
      expect(await q.get(id)).toMatchObject({ status: 'running', lockedBy: 'thief', attempts: 2 });
      await later.complete(id, 'thief');
      expect(await q.get(id)).toMatchObject({ status: 'done' });
    });

    it('stop() stops claiming and waits for in-flight handlers to finish', async () => {
      const q = createJobQueue(store);
      const release = gate();
      const started = gate();
      let finished = 0;
      const worker = createWorker(
        q,
        {
          job: async () => {
            started.open();
            await release.promise;
            finished++;
          },
        },
        { pollMs: 10, concurrency: 1 },
      );
      const first = await q.enqueue('job', {});
      const second = await q.enqueue('job', {});
      worker.start();
      await started.promise;
      let stopped = false;
      const stopping = worker.stop(60_000).then(() => (stopped = true));
      await new Promise((r) => setTimeout(r, 50));
      expect(stopped).toBe(false);
      expect((await q.get(first))?.status).toBe('running');
      release.open();
      await stopping;
      expect(finished).toBe(1);
      expect((await q.get(first))?.status).toBe('done');
      expect((await q.get(second))?.status).toBe('queued'); // not claimed once stopping
    });

    it('stop() aborts handlers still running after its timeout; the job is requeued with the reason', async () => {
      const q = createJobQueue(store);
      const started = gate();
      const worker = createWorker(
        q,
        {
          stubborn: async (_job, { signal }) => {
            started.open();
            await new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
          },
        },
        { pollMs: 10 },
      );
      const id = await q.enqueue('stubborn', {});
      worker.start();
      await started.promise;
      await worker.stop(30);
      const job = await q.get(id);
      expect(job).toMatchObject({ status: 'queued', attempts: 1 });
      expect(job?.lastError).toMatch(/worker is stopping/);
    });

    it('stop() gives up on a handler that ignores the abort; its lease then expires and the job is retried', async () => {
      const q = createJobQueue(store);
      const later = createJobQueue(store, { now: () => Date.now() + HOUR });
      const started = gate();
      const never = gate();
      const worker = createWorker(
        q,
        {
          deaf: async () => {
            started.open();
            await never.promise;
          },
        },
        { pollMs: 10, leaseMs: 60_000, abortGraceMs: 20, workerId: 'deaf-worker' },
      );
      const id = await q.enqueue('deaf', {});
      worker.start();
      await started.promise;
      await worker.stop(20);
      expect(await q.get(id)).toMatchObject({ status: 'running', lockedBy: 'deaf-worker' });
      const [job] = await later.claim('next', { leaseMs: 1000 });
      expect(job).toMatchObject({ id, attempts: 2 });
      never.open(); // the abandoned handler finishing late must not touch the job
      await new Promise((r) => setTimeout(r, 20));
      expect(await q.get(id)).toMatchObject({ status: 'running', lockedBy: 'next' });
    });

    it('recovers from a real crash: a job held by a SIGKILLed process is completed exactly once by another worker', async () => {
      const q = createJobQueue(store);
      const id = await q.enqueue('crash.test', { step: 'build' });
      const child = spawnFixture('jobs-crash-child.ts', {
        ATRIUM_JOBS_DB: JSON.stringify(tdb.config),
        ATRIUM_JOBS_WORKER_ID: 'doomed',
        ATRIUM_JOBS_LEASE_MS: '60000',
      });
      children.push(child);
      const started = await child.next('started');
      expect(started).toMatchObject({ id, attempts: 1 });
      child.child.kill('SIGKILL');
      expect((await child.exited).signal).toBe('SIGKILL');
      expect(await q.get(id)).toMatchObject({ status: 'running', lockedBy: 'doomed', attempts: 1 });

      // Before the lease expires nobody may take it; once it has, a worker on this side does.
      const seen: Job[] = [];
      const handlers: Record<string, JobHandler> = { 'crash.test': async (job) => void seen.push(job) };
      const soon = createWorker(createJobQueue(store), handlers, { pollMs: 10, workerId: 'too-early' });
      await soon.drain();
      expect(seen).toEqual([]);

      const afterExpiry = createJobQueue(await openAnother(), { now: () => Date.now() + HOUR });
      const rescuer = createWorker(afterExpiry, handlers, { pollMs: 10, workerId: 'rescuer' });
      await rescuer.drain();
      await rescuer.drain();
      expect(seen).toEqual([{ id, type: 'crash.test', payload: { step: 'build' }, attempts: 2, maxAttempts: 5 }]);
      expect(await q.get(id)).toMatchObject({ status: 'done', attempts: 2, lockedBy: 'rescuer' });
      expect(await q.stats()).toEqual({ queued: 0, running: 0, done: 1, dead: 0 });
    });

    it('recovers from a real crash on the last attempt by marking the job dead, not retrying it', async () => {
      const q = createJobQueue(store);
      const id = await q.enqueue('crash.test', {}, { maxAttempts: 1 });
      const child = spawnFixture('jobs-crash-child.ts', {
        ATRIUM_JOBS_DB: JSON.stringify(tdb.config),
        ATRIUM_JOBS_WORKER_ID: 'doomed-last',
        ATRIUM_JOBS_LEASE_MS: '60000',
      });
      children.push(child);
      await child.next('started');
      child.child.kill('SIGKILL');
      await child.exited;

      let calls = 0;
      const rescuer = createWorker(
        createJobQueue(store, { now: () => Date.now() + HOUR }),
        { 'crash.test': async () => void calls++ },
        { pollMs: 10 },
      );
      await rescuer.drain();
      expect(calls).toBe(0);
      const job = await q.get(id);
      expect(job).toMatchObject({ status: 'dead', attempts: 1 });
      expect(job?.lastError).toMatch(/lease expired.*doomed-last/);
    });
  });

  it('keeps the job table consistent under the partial unique index (migration 0003)', async () => {
    // a finished job and a live one may share a dedupe key; two live ones may not
    const q = createJobQueue(store);
    const a = await q.enqueue('k', {}, { dedupeKey: 'same' });
    await q.claim('w', { leaseMs: 1000 });
    await q.complete(a, 'w');
    await q.enqueue('k', {}, { dedupeKey: 'same' });
    await expect(
      sql`insert into jobs (type, payload, status, attempts, max_attempts, run_at, dedupe_key, created_at, updated_at)
          values ('k', 'null', 'running', 1, 5, 0, 'same', 0, 0)`.execute(store.db),
    ).rejects.toThrow();
  });
});
