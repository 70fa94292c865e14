/**
 * Small helpers every AYON GraphQL module uses: AYON's error shape (`extensions.status`), turning a
 * service's AyonError into it, and a per-request cache on the context.
 */
import { GraphQLError } from 'graphql';
import { AyonError } from '../../../services/ayon/errors.js';

/** the subset of the request context the helpers need */
interface WithCache {
  cache: Map<string, unknown>;
}

export const gqlError = (message: string, status: number) => new GraphQLError(message, { extensions: { status } });

/** rethrows a service's AyonError as the GraphQL error AYON sends; anything else as it is */
export function rethrow(err: unknown): never {
  if (err instanceof AyonError) throw gqlError(err.message, err.status);
  throw err;
}

/** runs `fn`, answering a service's AyonError as AYON's GraphQL error */
export async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    rethrow(err);
  }
}

/** a value computed once per request */
export function cached<T>(ctx: WithCache, key: string, make: () => T): T {
  if (ctx.cache.has(key)) return ctx.cache.get(key) as T;
  const v = make();
  ctx.cache.set(key, v);
  return v;
}
