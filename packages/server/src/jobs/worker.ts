/**
 * The worker loop that runs inside the server process: claims due jobs from the queue, runs their
 * handlers (up to `concurrency` at a time), keeps each lease alive with heartbeats while the handler
 * runs, and records the outcome (complete, or fail → retry with back-off / dead).
 *
 * - A handler that throws fails the job with the error's message (never its stack), bounded to
 *   MAX_ERROR_LENGTH characters.
 * - A job whose type has no handler fails with a reason saying so (it is retried, so a node that
 *   knows the type may still run it during a rolling upgrade, and ends dead otherwise).
 * - If a heartbeat finds the lease lost (another worker re-claimed the job), the handler's signal
 *   is aborted and its result is discarded: the job now belongs to the other worker.
 * - `stop()` stops claiming and waits for the running handlers; after `timeoutMs` it aborts their
 *   signals and waits a short grace period. A handler that ignores the abort is abandoned: its
 *   heartbeats stop, so its lease expires and another worker (or the next start) retries the job.
 */
import os from 'node:os';
import { randomHex } from '../domain/ids.js';
import { JobLeaseLostError, boundErrorMessage, type Job, type JobQueue } from './queue.js';

export type JobHandler = (job: Job, ctx: { signal: AbortSignal; heartbeat(): Promise<void> }) => Promise<void>;

export interface Worker {
  start(): void;
  /** stops claiming, waits for running handlers (aborting them after timeoutMs) */
  stop(timeoutMs?: number): Promise<void>;
  /**
   * resolves when no due job remains (for tests): after a claim, begun after this call with no
   * handler running, found nothing. Starts the worker for the duration if it was not started.
   */
  drain(): Promise<void>;
}

export interface WorkerLogger {
  info(o: object, m?: string): void;
  error(o: object, m?: string): void;
}

export interface WorkerOptions {
  /** unique per process; default `<hostname>:<pid>:<random>` */
  workerId?: string;
  /** handlers running at once (default 1) */
  concurrency?: number;
  /** wait between claims when the queue is empty (default 1000 ms) */
  pollMs?: number;
  /** lease taken on each claimed job; renewed every leaseMs/3 while the handler runs (default 30 s) */
  leaseMs?: number;
  /** job types to claim (default: every type; types without a handler are failed) */
  types?: string[];
  /** after stop() has aborted the handlers, how long to wait for them to settle (default 2000 ms) */
  abortGraceMs?: number;
  logger?: WorkerLogger;
}

const silentLogger: WorkerLogger = { info() {}, error() {} };

/** The message stored for a thrown value: its message, never its stack. */
export function errorMessageOf(err: unknown): string {
  if (err instanceof Error) {
    const msg = err.message || err.name || 'Error';
    return boundErrorMessage(err.name && err.name !== 'Error' && err.message ? `${err.name}: ${msg}` : msg);
  }
  return boundErrorMessage(typeof err === 'string' ? err : (JSON.stringify(err) ?? String(err)));
}

class WorkerStoppingError extends Error {
  constructor() {
    super('aborted: the worker is stopping');
    this.name = 'WorkerStoppingError';
  }
}

interface Running {
  job: Job;
  controller: AbortController;
  settled: Promise<void>;
  /** stop() gave up on it: do not touch the queue when it finally settles */
  abandoned: boolean;
  heartbeatTimer: NodeJS.Timeout;
}

interface DrainWaiter {
  /** the claim cycle that must have started after the drain request */
  afterCycle: number;
  resolve(): void;
  reject(err: unknown): void;
}

export function createWorker(queue: JobQueue, handlers: Record<string, JobHandler>, opts: WorkerOptions = {}): Worker {
  const workerId = opts.workerId ?? `${os.hostname()}:${process.pid}:${randomHex(6)}`.slice(0, 128);
  const concurrency = opts.concurrency ?? 1;
  const pollMs = opts.pollMs ?? 1000;
  const leaseMs = opts.leaseMs ?? 30_000;
  const abortGraceMs = opts.abortGraceMs ?? 2000;
  const logger = opts.logger ?? silentLogger;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('concurrency must be an integer >= 1');
  if (!(pollMs > 0) || !(leaseMs > 0)) throw new RangeError('pollMs and leaseMs must be > 0');
  const heartbeatMs = Math.max(5, Math.floor(leaseMs / 3));

  const inflight = new Map<number, Running>();
  let running = false;
  let loopDone: Promise<void> = Promise.resolve();
  let wakePending = false;
  let wakeUp: (() => void) | null = null;
  let cycle = 0;
  let drainWaiters: DrainWaiter[] = [];

  function wake(): void {
    wakePending = true;
    const w = wakeUp;
    wakeUp = null;
    w?.();
  }

  function sleep(ms: number): Promise<void> {
    if (wakePending) {
      wakePending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        wakeUp = null;
        resolve();
      }, ms);
      wakeUp = () => {
        clearTimeout(timer);
        wakePending = false;
        resolve();
      };
    });
  }

  function runJob(job: Job): void {
    const controller = new AbortController();
    let leaseLost = false;
    const heartbeat = async (): Promise<void> => {
      if (leaseLost) throw new JobLeaseLostError(job.id, workerId);
      const ok = await queue.heartbeat(job.id, workerId, leaseMs);
      if (!ok && !leaseLost) {
        leaseLost = true;
        controller.abort(new JobLeaseLostError(job.id, workerId));
      }
      if (!ok) throw new JobLeaseLostError(job.id, workerId);
    };
    const entry: Running = {
      job,
      controller,
      abandoned: false,
      settled: Promise.resolve(),
      heartbeatTimer: setInterval(() => {
        heartbeat().catch((err: unknown) => {
          if (!(err instanceof JobLeaseLostError)) {
            logger.error({ jobId: job.id, type: job.type, workerId, err: errorMessageOf(err) }, 'job heartbeat failed');
          }
        });
      }, heartbeatMs),
    };
    inflight.set(job.id, entry);

    entry.settled = (async () => {
      let failure: string | null = null;
      try {
        const handler = Object.prototype.hasOwnProperty.call(handlers, job.type) ? handlers[job.type] : undefined;
        if (!handler) {
          failure = `no handler for job type "${job.type}" on worker ${workerId}`;
        } else {
          try {
            await handler(job, { signal: controller.signal, heartbeat });
          } catch (err) {
            failure = errorMessageOf(err);
          }
        }
        clearInterval(entry.heartbeatTimer);
        if (entry.abandoned) return;
        if (leaseLost) {
          logger.info({ jobId: job.id, type: job.type, workerId }, 'job lease lost; result discarded');
          return;
        }
        if (failure === null) {
          await queue.complete(job.id, workerId);
          logger.info({ jobId: job.id, type: job.type, attempt: job.attempts, workerId }, 'job done');
        } else {
          const outcome = await queue.fail(job.id, workerId, failure);
          logger.error(
            { jobId: job.id, type: job.type, attempt: job.attempts, maxAttempts: job.maxAttempts, workerId, outcome, err: failure },
            outcome === 'dead' ? 'job dead' : 'job failed; will retry',
          );
        }
      } catch (err) {
        if (err instanceof JobLeaseLostError) {
          logger.info({ jobId: job.id, type: job.type, workerId }, 'job lease lost before its outcome was recorded');
        } else {
          logger.error({ jobId: job.id, type: job.type, workerId, err: errorMessageOf(err) }, 'recording job outcome failed');
        }
      } finally {
        clearInterval(entry.heartbeatTimer);
        inflight.delete(job.id);
        wake();
      }
    })();
  }

  async function loop(): Promise<void> {
    while (running) {
      const free = concurrency - inflight.size;
      if (free > 0) {
        const thisCycle = ++cycle;
        const idleAtStart = inflight.size === 0;
        let jobs: Job[];
        try {
          jobs = await queue.claim(workerId, { types: opts.types, leaseMs, limit: free });
        } catch (err) {
          logger.error({ workerId, err: errorMessageOf(err) }, 'claiming jobs failed');
          const waiters = drainWaiters.filter((w) => w.afterCycle <= thisCycle);
          drainWaiters = drainWaiters.filter((w) => w.afterCycle > thisCycle);
          for (const w of waiters) w.reject(err);
          await sleep(pollMs);
          continue;
        }
        for (const job of jobs) runJob(job);
        if (jobs.length === 0 && idleAtStart && inflight.size === 0) {
          const waiters = drainWaiters.filter((w) => w.afterCycle <= thisCycle);
          drainWaiters = drainWaiters.filter((w) => w.afterCycle > thisCycle);
          for (const w of waiters) w.resolve();
        }
        // A full batch suggests more due work: claim again at once.
        if (jobs.length === free) continue;
      }
      await sleep(pollMs);
    }
  }

  function start(): void {
    if (running) return;
    running = true;
    wakePending = false;
    loopDone = loop().catch((err: unknown) => {
      logger.error({ workerId, err: errorMessageOf(err) }, 'worker loop crashed');
      running = false;
    });
    logger.info({ workerId, concurrency, leaseMs }, 'job worker started');
  }

  async function stop(timeoutMs = 30_000): Promise<void> {
    running = false;
    wake();
    await loopDone;
    const pending = () => Promise.all([...inflight.values()].map((r) => r.settled)).then(() => true);
    const timeout = (ms: number) =>
      new Promise<false>((resolve) => {
        const t = setTimeout(() => resolve(false), ms);
        t.unref?.();
      });
    if (inflight.size > 0 && !(await Promise.race([pending(), timeout(timeoutMs)]))) {
      logger.info({ workerId, running: inflight.size }, 'aborting running jobs: the worker is stopping');
      for (const r of inflight.values()) r.controller.abort(new WorkerStoppingError());
      if (!(await Promise.race([pending(), timeout(abortGraceMs)]))) {
        for (const r of inflight.values()) {
          r.abandoned = true;
          clearInterval(r.heartbeatTimer);
          logger.error({ jobId: r.job.id, type: r.job.type, workerId }, 'job ignored the abort; left to its lease expiry');
        }
        inflight.clear();
      }
    }
    for (const w of drainWaiters) w.reject(new Error('worker stopped before the queue drained'));
    drainWaiters = [];
    logger.info({ workerId }, 'job worker stopped');
  }

  async function drain(): Promise<void> {
    const wasRunning = running;
    if (!wasRunning) start();
    try {
      await new Promise<void>((resolve, reject) => {
        drainWaiters.push({ afterCycle: cycle + 1, resolve, reject });
        wake();
      });
    } finally {
      if (!wasRunning) await stop();
    }
  }

  return { start, stop, drain };
}
