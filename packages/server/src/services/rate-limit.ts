/** In-process sliding-window rate limiter (per key), used for login and registration attempts. */
import { AppError } from '../domain/errors.js';

export function createRateLimiter(opts: { max: number; windowMs: number; now?: () => number }) {
  const hits = new Map<string, number[]>();
  const now = opts.now ?? Date.now;

  function prune(key: string, t: number): number[] {
    const list = (hits.get(key) ?? []).filter((x) => t - x < opts.windowMs);
    if (list.length) hits.set(key, list);
    else hits.delete(key);
    return list;
  }

  return {
    /** Throws RATE_LIMIT_ERROR (with retryAfterMs) when `key` has used up its window. */
    check(key: string): void {
      if (opts.max === 0) return;
      const t = now();
      const list = prune(key, t);
      if (list.length >= opts.max) {
        const retryAfterMs = opts.windowMs - (t - list[0]);
        throw new AppError('RATE_LIMIT_ERROR', 'You are sending too many requests. Please try again later.', { retryAfterMs });
      }
    },
    /** Counts one attempt against `key`. */
    hit(key: string): void {
      if (opts.max === 0) return;
      const t = now();
      const list = prune(key, t);
      list.push(t);
      hits.set(key, list);
      if (hits.size > 100_000) for (const k of [...hits.keys()].slice(0, 50_000)) hits.delete(k);
    },
    reset(key: string): void {
      hits.delete(key);
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;
