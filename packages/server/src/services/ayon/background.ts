/**
 * Background batch operations (ayon.md §7): the request is checked and accepted at once, the batch
 * runs in this process, and its state (pending → in_progress → completed, progress, result) is kept
 * in the database so a poll on any node sees it. Entries are kept for a day.
 */
import type { Store } from '../../store/db.js';
import { notFound } from './errors.js';
import { newAyonId, normalizeId, parseJson } from './rules.js';
import type { OperationInput, OperationsService, RunOptions } from './operations.js';
import type { AyonProjectsService } from './projects.js';
import type { AyonActor } from './users.js';
import type { AccessPolicy } from './access.js';

const KEEP_MS = 24 * 3600 * 1000;

export function createBackgroundOperations(deps: { store: Store; operations: OperationsService; projects: AyonProjectsService; access: AccessPolicy; log?: (e: unknown) => void }) {
  const { store, operations, projects, access } = deps;
  const { db } = store;
  const running = new Set<Promise<void>>();

  async function start(actor: AyonActor, projectName: string, ops: OperationInput[], opts: RunOptions) {
    const project = await projects.resolve(actor, projectName);
    await access.ensureWrite(actor, project.name);
    const id = newAyonId();
    const now = Date.now();
    await db.deleteFrom('ayon_background_ops').where('updated_at', '<', now - KEEP_MS).execute();
    await db.insertInto('ayon_background_ops').values({ id, project_name: project.name, user_id: actor.id, status: 'pending', progress: null, result: null, created_at: now, updated_at: now }).execute();
    const job = (async () => {
      await new Promise((r) => setImmediate(r));
      let lastWrite = 0;
      const setProgress = async (done: number, total: number) => {
        const t = Date.now();
        if (t - lastWrite < 500) return;
        lastWrite = t;
        await db.updateTable('ayon_background_ops').set({ status: 'in_progress', progress: total ? (100 * done) / total : 100, updated_at: t }).where('id', '=', id).execute();
      };
      await db.updateTable('ayon_background_ops').set({ status: 'in_progress', progress: 0, updated_at: Date.now() }).where('id', '=', id).execute();
      let result;
      try {
        result = await operations.run(actor, project.name, ops, { ...opts, raiseOnError: false, onProgress: undefined }, deps.log);
      } catch (err) {
        deps.log?.(err);
        const detail = err instanceof Error ? err.message : 'Operations failed';
        result = { operations: [], success: false, detail };
      }
      void setProgress;
      await db.updateTable('ayon_background_ops').set({ status: 'completed', progress: 100, result: JSON.stringify(result), updated_at: Date.now() }).where('id', '=', id).execute();
    })().catch((err) => deps.log?.(err));
    running.add(job);
    void job.finally(() => running.delete(job));
    return { id, status: 'pending', progress: null, result: null };
  }

  async function status(actor: AyonActor, projectName: string, idRaw: string) {
    const project = await projects.resolve(actor, projectName);
    const id = normalizeId(idRaw);
    const row = id ? await db.selectFrom('ayon_background_ops').selectAll().where('id', '=', id).where('project_name', '=', project.name).executeTakeFirst() : undefined;
    if (!row) throw notFound(`Background operations task '${idRaw}' not found`);
    return { id: row.id, status: row.status, progress: row.progress, result: row.result ? parseJson(row.result, null) : null };
  }

  /** Waits for batches still running (shutdown, tests). */
  async function drain() {
    await Promise.allSettled([...running]);
  }

  return { start, status, drain };
}

export type BackgroundOperations = ReturnType<typeof createBackgroundOperations>;
