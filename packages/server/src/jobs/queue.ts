/**
 * The durable job queue, kept in the `jobs` table of the main database.
 *
 * Life of a job: `queued` → (claim) `running` with a lease → `done`, or back to `queued` with an
 * exponential back-off when it fails, or `dead` once it has used `max_attempts` attempts.
 *
 * - Claiming is one atomic statement. On PostgreSQL the due rows are picked with
 *   `FOR UPDATE SKIP LOCKED` (so concurrent claimers on any node skip each other's rows instead of
 *   waiting or sharing them); on SQLite a single `UPDATE … RETURNING` runs under SQLite's single
 *   writer lock. Either way no job is ever handed to two workers at once.
 * - An attempt is counted when the job is claimed, not when it fails, so a worker that dies
 *   mid-job (its lease expires) has used an attempt. A running job whose lease expired is due again;
 *   if it has no attempts left it is marked `dead` instead of being retried forever.
 * - Every state change after the claim (`heartbeat`, `complete`, `fail`) is guarded by the claimer's
 *   id, so a worker that lost its lease can neither finish nor fail a job someone else now holds.
 *
 * Times are epoch milliseconds taken from `opts.now` (default `Date.now`), never from the database
 * clock, so tests can move time forward.
 */
import { sql, type ExpressionBuilder, type Kysely } from 'kysely';
import type { Store } from '../store/db.js';
import type { Database } from '../store/schema.js';

export interface EnqueueOptions {
  /** epoch ms before which the job is not claimed (default: now) */
  runAt?: number;
  /** attempts before the job is dead (default 5) */
  maxAttempts?: number;
  /** at most one queued/running job per (type, dedupeKey): enqueue returns the existing id */
  dedupeKey?: string;
}

export interface Job<P = unknown> {
  id: number;
  type: string;
  payload: P;
  /** attempts used so far, including the current one once claimed */
  attempts: number;
  maxAttempts: number;
}

export type JobStatus = 'queued' | 'running' | 'done' | 'dead';

export interface JobRecord extends Job {
  status: string;
  lastError: string | null;
  runAt: number;
  lockedBy: string | null;
  leaseUntil: number | null;
  finishedAt: number | null;
}

export interface JobQueue {
  enqueue(type: string, payload: unknown, opts?: EnqueueOptions): Promise<number>;
  /** atomically claims up to `limit` due jobs (queued with run_at<=now, or running with an expired lease) for workerId with a lease */
  claim(workerId: string, opts: { types?: string[]; leaseMs: number; limit?: number }): Promise<Job[]>;
  /** extends the lease; false if the lease was lost (the job is no longer running for workerId) */
  heartbeat(jobId: number, workerId: string, leaseMs: number): Promise<boolean>;
  /** marks the job done; throws JobLeaseLostError if workerId no longer holds it */
  complete(jobId: number, workerId: string): Promise<void>;
  /**
   * records the error; requeues with exponential backoff or marks dead after max_attempts.
   * Throws JobLeaseLostError if workerId no longer holds the job.
   */
  fail(jobId: number, workerId: string, error: string): Promise<'retry' | 'dead'>;
  get(jobId: number): Promise<JobRecord | null>;
  /** counts by status (every status present, zero when none), for /metrics and tests */
  stats(): Promise<Record<string, number>>;
}

export interface JobQueueOptions {
  /** delay before the first retry; doubles on each further attempt (default 5 s) */
  backoffBaseMs?: number;
  /** upper bound of the retry delay (default 15 min) */
  backoffMaxMs?: number;
  now?: () => number;
}

/** Thrown by complete/fail when the worker no longer holds the job (its lease expired and another worker claimed it, or it was finished). */
export class JobLeaseLostError extends Error {
  readonly jobId: number;
  constructor(jobId: number, workerId: string) {
    super(`job ${jobId} is no longer held by worker ${workerId}`);
    this.name = 'JobLeaseLostError';
    this.jobId = jobId;
  }
}

export const DEFAULT_MAX_ATTEMPTS = 5;
/** last_error keeps at most this many characters. */
export const MAX_ERROR_LENGTH = 2000;
const MAX_TYPE_LENGTH = 128;
const MAX_DEDUPE_KEY_LENGTH = 256;
const MAX_WORKER_ID_LENGTH = 128;
const LIVE_STATUSES: JobStatus[] = ['queued', 'running'];
const ALL_STATUSES: JobStatus[] = ['queued', 'running', 'done', 'dead'];

/** Delay before the retry that follows attempt number `attempts` (1-based): base·2^(attempts−1), capped. */
export function backoffDelay(attempts: number, baseMs: number, maxMs: number): number {
  const exp = Math.min(Math.max(attempts - 1, 0), 52);
  return Math.min(maxMs, baseMs * 2 ** exp);
}

/** An error message as stored: trimmed to MAX_ERROR_LENGTH characters. */
export function boundErrorMessage(message: string): string {
  const s = String(message);
  return s.length > MAX_ERROR_LENGTH ? `${s.slice(0, MAX_ERROR_LENGTH - 1)}…` : s;
}

type JobRow = {
  id: number;
  type: string;
  payload: string;
  attempts: number;
  max_attempts: number;
};

function toJob(row: JobRow): Job {
  return {
    id: Number(row.id),
    type: row.type,
    payload: JSON.parse(row.payload) as unknown,
    attempts: Number(row.attempts),
    maxAttempts: Number(row.max_attempts),
  };
}

export function createJobQueue(store: Store, opts: JobQueueOptions = {}): JobQueue {
  const db: Kysely<Database> = store.db;
  const now = opts.now ?? Date.now;
  const backoffBaseMs = opts.backoffBaseMs ?? 5_000;
  const backoffMaxMs = opts.backoffMaxMs ?? 15 * 60_000;
  if (!(backoffBaseMs >= 0) || !(backoffMaxMs >= 0)) throw new RangeError('backoff values must be >= 0');

  const checkWorkerId = (workerId: string): void => {
    if (!workerId || workerId.length > MAX_WORKER_ID_LENGTH) {
      throw new RangeError(`workerId must be 1..${MAX_WORKER_ID_LENGTH} characters`);
    }
  };

  async function findLive(type: string, dedupeKey: string): Promise<number | undefined> {
    const row = await db
      .selectFrom('jobs')
      .select('id')
      .where('type', '=', type)
      .where('dedupe_key', '=', dedupeKey)
      .where('status', 'in', LIVE_STATUSES)
      .executeTakeFirst();
    return row ? Number(row.id) : undefined;
  }

  /**
   * Marks dead every running job whose lease expired on its last attempt: its worker died and
   * there is no attempt left to retry it with.
   */
  async function reapExhausted(t: number): Promise<void> {
    const exhausted = (eb: ExpressionBuilder<Database, 'jobs'>) =>
      eb.and([
        eb('status', '=', 'running'),
        eb('lease_until', '<', t),
        eb('attempts', '>=', eb.ref('max_attempts')),
      ]);
    const set = {
      status: 'dead',
      finished_at: t,
      updated_at: t,
      lease_until: null,
      last_error: sql<string>`'lease expired on the last attempt: worker ' || coalesce(locked_by, '?') || ' stopped without finishing'`,
    };
    if (store.dialect === 'postgres') {
      // SKIP LOCKED: never wait on (or deadlock with) another node reaping or claiming.
      await db
        .updateTable('jobs')
        .set(set)
        .where('id', 'in', db.selectFrom('jobs').select('id').where(exhausted).forUpdate().skipLocked())
        .execute();
    } else {
      await db.updateTable('jobs').set(set).where(exhausted).execute();
    }
  }

  return {
    async enqueue(type, payload, o = {}) {
      if (!type || type.length > MAX_TYPE_LENGTH) throw new RangeError(`job type must be 1..${MAX_TYPE_LENGTH} characters`);
      const maxAttempts = o.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
      if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new RangeError('maxAttempts must be an integer >= 1');
      const dedupeKey = o.dedupeKey ?? null;
      if (dedupeKey !== null && (dedupeKey.length === 0 || dedupeKey.length > MAX_DEDUPE_KEY_LENGTH)) {
        throw new RangeError(`dedupeKey must be 1..${MAX_DEDUPE_KEY_LENGTH} characters`);
      }
      const text = JSON.stringify(payload === undefined ? null : payload);
      const t = now();
      const values = {
        type,
        payload: text,
        status: 'queued',
        attempts: 0,
        max_attempts: maxAttempts,
        run_at: o.runAt ?? t,
        lease_until: null,
        locked_by: null,
        last_error: null,
        dedupe_key: dedupeKey,
        created_at: t,
        updated_at: t,
        finished_at: null,
      };
      if (dedupeKey === null) {
        const row = await db.insertInto('jobs').values(values).returning('id').executeTakeFirstOrThrow();
        return Number(row.id);
      }
      // The partial unique index jobs_dedupe_live makes this race-free across nodes: of two
      // concurrent enqueues, one inserts and the other finds the winner's row.
      for (let tries = 0; tries < 5; tries++) {
        const inserted = await db
          .insertInto('jobs')
          .values(values)
          .onConflict((oc) =>
            oc
              .columns(['type', 'dedupe_key'])
              .where(sql<boolean>`dedupe_key is not null and status in ('queued', 'running')`)
              .doNothing(),
          )
          .returning('id')
          .executeTakeFirst();
        if (inserted) return Number(inserted.id);
        const existing = await findLive(type, dedupeKey);
        if (existing !== undefined) return existing;
        // The live job finished between the two statements: try inserting again.
      }
      throw new Error(`enqueue of ${type}/${dedupeKey} kept racing with a finishing job`);
    },

    async claim(workerId, { types, leaseMs, limit = 1 }) {
      checkWorkerId(workerId);
      if (!(leaseMs > 0)) throw new RangeError('leaseMs must be > 0');
      if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be an integer >= 1');
      if (types && types.length === 0) return [];
      const t = now();
      await reapExhausted(t);

      const due = (eb: ExpressionBuilder<Database, 'jobs'>) => {
        const when = eb.or([
          eb.and([eb('status', '=', 'queued'), eb('run_at', '<=', t)]),
          eb.and([
            eb('status', '=', 'running'),
            eb('lease_until', '<', t),
            eb('attempts', '<', eb.ref('max_attempts')),
          ]),
        ]);
        return types ? eb.and([eb('type', 'in', types), when]) : when;
      };
      const set = {
        status: 'running',
        attempts: sql<number>`attempts + 1`,
        locked_by: workerId,
        lease_until: t + leaseMs,
        updated_at: t,
      };
      const picked = db.selectFrom('jobs').select('id').where(due).orderBy('run_at').orderBy('id').limit(limit);

      let rows: JobRow[];
      if (store.dialect === 'postgres') {
        // The picked ids are materialised once, with their rows locked; rows locked by another
        // claimer are skipped, so concurrent claimers get disjoint sets without waiting.
        rows = await db
          .with((cte) => cte('picked').materialized(), () => picked.forUpdate().skipLocked())
          .updateTable('jobs')
          .set(set)
          .where('id', 'in', (eb) => eb.selectFrom('picked').select('picked.id'))
          .returning(['id', 'type', 'payload', 'attempts', 'max_attempts'])
          .execute();
      } else {
        // One statement: SQLite holds its single write lock from the pick to the update.
        rows = await db
          .updateTable('jobs')
          .set(set)
          .where('id', 'in', picked)
          .returning(['id', 'type', 'payload', 'attempts', 'max_attempts'])
          .execute();
      }
      return rows.map(toJob).sort((a, b) => a.id - b.id);
    },

    async heartbeat(jobId, workerId, leaseMs) {
      if (!(leaseMs > 0)) throw new RangeError('leaseMs must be > 0');
      const t = now();
      const res = await db
        .updateTable('jobs')
        .set({ lease_until: t + leaseMs, updated_at: t })
        .where('id', '=', jobId)
        .where('locked_by', '=', workerId)
        .where('status', '=', 'running')
        .executeTakeFirst();
      return Number(res.numUpdatedRows) > 0;
    },

    async complete(jobId, workerId) {
      const t = now();
      const res = await db
        .updateTable('jobs')
        .set({ status: 'done', lease_until: null, finished_at: t, updated_at: t })
        .where('id', '=', jobId)
        .where('locked_by', '=', workerId)
        .where('status', '=', 'running')
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) throw new JobLeaseLostError(jobId, workerId);
    },

    async fail(jobId, workerId, error) {
      const held = await db
        .selectFrom('jobs')
        .select(['attempts', 'max_attempts'])
        .where('id', '=', jobId)
        .where('locked_by', '=', workerId)
        .where('status', '=', 'running')
        .executeTakeFirst();
      if (!held) throw new JobLeaseLostError(jobId, workerId);
      const attempts = Number(held.attempts);
      const t = now();
      const dead = attempts >= Number(held.max_attempts);
      const lastError = boundErrorMessage(error);
      const update = db
        .updateTable('jobs')
        .where('id', '=', jobId)
        .where('locked_by', '=', workerId)
        .where('status', '=', 'running')
        // Unchanged attempts: nobody re-claimed the job between the read and this write.
        .where('attempts', '=', attempts);
      const res = dead
        ? await update
            .set({ status: 'dead', last_error: lastError, lease_until: null, finished_at: t, updated_at: t })
            .executeTakeFirst()
        : await update
            .set({
              status: 'queued',
              last_error: lastError,
              lease_until: null,
              locked_by: null,
              run_at: t + backoffDelay(attempts, backoffBaseMs, backoffMaxMs),
              updated_at: t,
            })
            .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) throw new JobLeaseLostError(jobId, workerId);
      return dead ? 'dead' : 'retry';
    },

    async get(jobId) {
      const row = await db.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirst();
      if (!row) return null;
      return {
        ...toJob(row),
        status: row.status,
        lastError: row.last_error,
        runAt: Number(row.run_at),
        lockedBy: row.locked_by,
        leaseUntil: row.lease_until === null ? null : Number(row.lease_until),
        finishedAt: row.finished_at === null ? null : Number(row.finished_at),
      };
    },

    async stats() {
      const rows = await db
        .selectFrom('jobs')
        .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
        .groupBy('status')
        .execute();
      const out: Record<string, number> = Object.fromEntries(ALL_STATUSES.map((s) => [s, 0]));
      for (const r of rows) out[r.status] = Number(r.n);
      return out;
    },
  };
}
