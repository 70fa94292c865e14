/**
 * Base of every resource (`client.server`, `client.activeUser`, `client.project`, `client.model`, …):
 * one file per resource under resources/, each holding the exact GraphQL documents specklepy sends.
 * Resources read the client's current transport and account on every call, so a resource obtained before
 * `authenticateWithToken` uses the token afterwards.
 */
import { SpeckleTransportError } from './errors.js';
import type { Account } from './models/account.js';
import type { GraphQLRequestOptions, SpeckleTransport } from './transport.js';
import type { ServerVersion } from './version.js';

/** What a resource needs from its client. */
export interface ResourceContext {
  readonly transport: SpeckleTransport;
  readonly account: Account;
  /** the parsed server version once known (undefined: not asked yet; null: the probe failed) */
  readonly serverVersion: ServerVersion | null | undefined;
}

export abstract class ResourceBase {
  /** specklepy's resource name, e.g. `server`, `active_user` */
  abstract readonly name: string;

  constructor(protected readonly context: ResourceContext) {}

  get account(): Account {
    return this.context.account;
  }

  get serverVersion(): ServerVersion | null | undefined {
    return this.context.serverVersion;
  }

  /** Runs a document and returns the value under `key` of its `data` (which must be present). */
  protected async query<T>(
    document: string,
    key: string,
    variables?: Record<string, unknown>,
    options?: GraphQLRequestOptions,
  ): Promise<T> {
    const data = await this.context.transport.execute<Record<string, unknown>>(document, variables, options);
    if (!(key in data)) {
      throw new SpeckleTransportError(`the answer has no "${key}": ${JSON.stringify(data).slice(0, 300)}`);
    }
    return data[key] as T;
  }

  /**
   * Runs a document and walks down `path` in its `data` (specklepy aliases every level `data:`), e.g.
   * `['data', 'data']` for `{data:projectMutations {data:create(…) {…}}}`. Every level must be an object;
   * the value at the end may be null only when `nullable` is set — otherwise SpeckleTransportError.
   */
  protected async queryPath<T>(
    document: string,
    path: readonly string[],
    variables?: Record<string, unknown>,
    options?: GraphQLRequestOptions,
    nullable = false,
  ): Promise<T> {
    const data = await this.context.transport.execute<Record<string, unknown>>(document, variables, options);
    let current: unknown = data;
    const walked: string[] = [];
    for (let i = 0; i < path.length; i++) {
      const key = path[i];
      walked.push(key);
      if (!isObject(current) || !(key in current)) {
        throw new SpeckleTransportError(`the answer has no "${walked.join('.')}": ${JSON.stringify(data).slice(0, 300)}`);
      }
      current = current[key];
      if (current === null || current === undefined) {
        if (i === path.length - 1 && nullable) return null as T;
        throw new SpeckleTransportError(`the answer has null at "${walked.join('.')}": ${JSON.stringify(data).slice(0, 300)}`);
      }
    }
    return current as T;
  }
}

/** Throws SpeckleTransportError when a value the client relies on has the wrong shape. */
export function expectShape(ok: boolean, what: string, value: unknown): void {
  if (!ok) {
    throw new SpeckleTransportError(`unexpected answer: ${what} (got ${JSON.stringify(value)?.slice(0, 300)})`);
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Checks that `value` is an object whose `keys` are strings (ids, names): the minimum a caller relies on. */
export function expectObject(value: unknown, what: string, keys: readonly string[] = ['id']): void {
  expectShape(
    isObject(value) && keys.every((k) => typeof value[k] === 'string'),
    `${what} must be an object with string ${keys.join(', ')}`,
    value,
  );
}

/** Checks a `{totalCount, cursor, items}` page (items checked with `expectObject`). */
export function expectCollection(value: unknown, what: string, itemKeys: readonly string[] = ['id']): void {
  expectShape(
    isObject(value) &&
      typeof value.totalCount === 'number' &&
      (value.cursor === null || value.cursor === undefined || typeof value.cursor === 'string') &&
      Array.isArray(value.items),
    `${what} must be {totalCount, cursor, items}`,
    value,
  );
  for (const item of (value as { items: unknown[] }).items) expectObject(item, `${what}.items[]`, itemKeys);
}
