/**
 * `atrium datasets rebuild [--project <id>] [--force]`: builds, in the CLI process, the datasets of
 * every version (of one project) whose datasets are missing, failed or were built by older rules; with
 * --force every version. Safe while the server runs: a build publishes the same way the server's job
 * does (blob first, then its row), so a version built twice at once ends with one complete file.
 *
 * Progress goes to stderr: a bar redrawn in place on a terminal, one line per version otherwise. The
 * summary goes to stdout. Exit code 1 when any version failed (its reason is recorded, as the job does).
 */
import type { AtriumConfig } from '../config.js';
import { openStore } from '../store/db.js';
import { migrateToLatest } from '../store/migrations/index.js';
import { openBlobStore } from '../store/blobs/index.js';
import { createJobQueue } from '../jobs/queue.js';
import { createServices } from './index.js';
import type { BuildProgress } from './datasets.js';

interface Out {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** A progress bar drawn with plain characters (no dependency), redrawn at most every 100 ms. */
export class ProgressBar {
  private last = 0;
  private drawn = 0;
  constructor(
    private readonly out: Out,
    private readonly width = 28,
  ) {}

  /** fraction ∈ [0, 1] of all the work; `label` describes the current step */
  update(fraction: number, label: string, force = false): void {
    if (!this.out.isTTY) return;
    const now = Date.now();
    if (!force && now - this.last < 100) return;
    this.last = now;
    const f = Math.max(0, Math.min(1, fraction));
    const filled = Math.round(f * this.width);
    let line = `[${'#'.repeat(filled)}${'-'.repeat(this.width - filled)}] ${String(Math.floor(f * 100)).padStart(3)}% ${label}`;
    const max = (this.out.columns ?? 100) - 1;
    if (line.length > max) line = line.slice(0, max);
    this.out.write(`\r${line}${' '.repeat(Math.max(0, this.drawn - line.length))}`);
    this.drawn = line.length;
  }

  /** prints a line above the bar (or alone, off a terminal) */
  log(message: string): void {
    if (this.out.isTTY && this.drawn) this.out.write(`\r${' '.repeat(this.drawn)}\r`);
    this.drawn = 0;
    this.out.write(`${message}\n`);
  }

  done(): void {
    if (this.out.isTTY && this.drawn) this.out.write(`\r${' '.repeat(this.drawn)}\r`);
    this.drawn = 0;
  }
}

export interface RebuildOptions {
  projectId?: string;
  force?: boolean;
  stdout?: Out;
  stderr?: Out;
}

export async function runDatasetsRebuild(config: AtriumConfig, opts: RebuildOptions = {}): Promise<{ built: number; upToDate: number; failed: number }> {
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  const store = await openStore(config.database);
  const blobs = await openBlobStore(config.blobs);
  try {
    await migrateToLatest(store);
    const services = createServices({ store, blobs, jobs: createJobQueue(store), config });
    services.datasets.cleanupTemp();
    if (opts.projectId && !(await services.projects.getProject(opts.projectId))) {
      throw Object.assign(new Error(`no project with id ${opts.projectId}`), { usage: true });
    }
    const todo = await services.datasets.versionsToBuild({ projectId: opts.projectId, force: opts.force });
    const bar = new ProgressBar(stderr);
    const counts = { built: 0, upToDate: 0, failed: 0 };
    if (todo.length === 0) {
      stdout.write('every version has its datasets\n');
      return counts;
    }
    for (let i = 0; i < todo.length; i++) {
      const { projectId, versionId } = todo[i];
      const label = (p?: BuildProgress) =>
        `${i + 1}/${todo.length} versions · ${versionId}${p ? ` ${p.phase} ${p.done.toLocaleString('en')}/${p.total.toLocaleString('en')} objects` : ''}`;
      bar.update(i / todo.length, label(), true);
      try {
        const r = await services.datasets.build(projectId, versionId, {
          force: opts.force,
          onProgress: (p) => bar.update((i + (p.phase === 'main' ? 0 : 0.5) + (0.5 * p.done) / Math.max(1, p.total)) / todo.length, label(p)),
        });
        if (r.built.length) {
          counts.built++;
          bar.log(`${projectId}/${versionId}: built ${r.built.join(' + ')} (${r.objects.toLocaleString('en')} objects${r.propertyRows !== null ? `, ${r.propertyRows.toLocaleString('en')} property rows` : ''}) in ${(r.ms / 1000).toFixed(1)} s`);
        } else counts.upToDate++;
      } catch (err) {
        counts.failed++;
        const message = err instanceof Error ? err.message : String(err);
        await services.datasets.recordFailure(projectId, versionId, message).catch(() => undefined);
        bar.log(`${projectId}/${versionId}: FAILED: ${message}`);
      }
    }
    bar.update(1, `${todo.length}/${todo.length} versions`, true);
    bar.done();
    stdout.write(`datasets: ${counts.built} built, ${counts.upToDate} already up to date, ${counts.failed} failed\n`);
    return counts;
  } finally {
    await blobs.close();
    await store.close();
  }
}
