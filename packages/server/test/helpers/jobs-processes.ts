/**
 * Child processes for the job-queue tests: runs a TypeScript fixture under `node --import tsx` and
 * reads the JSON lines it prints, so a test can wait for an event, send it a line, or kill it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../../..');

export interface FixtureProcess {
  child: ChildProcess;
  /** resolves with the first printed event named `event` (earlier or later), rejects if the process exits first */
  next(event: string): Promise<Record<string, unknown>>;
  send(line: string): void;
  /** resolves when the process has exited */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

export function spawnFixture(fixture: string, env: Record<string, string>): FixtureProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, '../fixtures', fixture)], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const events: Record<string, unknown>[] = [];
  const waiters: { event: string; resolve(v: Record<string, unknown>): void; reject(e: Error): void }[] = [];
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    let ev: Record<string, unknown>;
    try {
      ev = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    events.push(ev);
    for (const w of waiters.filter((x) => x.event === ev.event)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(ev);
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      for (const w of waiters.splice(0)) w.reject(new Error(`${fixture} exited (${code ?? signal}) before "${w.event}": ${err}`));
      resolve({ code, signal });
    }),
  );
  return {
    child,
    exited,
    stderr: () => err,
    send: (line) => child.stdin!.write(`${line}\n`),
    next: (event) => {
      const seen = events.find((e) => e.event === event);
      if (seen) return Promise.resolve(seen);
      if (child.exitCode !== null || child.signalCode !== null) {
        return Promise.reject(new Error(`${fixture} already exited: ${err}`));
      }
      return new Promise((resolve, reject) => waiters.push({ event, resolve, reject }));
    },
  };
}
