/**
 * HTTP and GraphQL transport, behaving on the wire like specklepy's (gql `RequestsHTTPTransport` over
 * requests/urllib3):
 *
 * - GraphQL: `POST {url}/graphql` with JSON `{"query": …}` plus `"variables"` only when there are
 *   some; never `operationName`; never batched.
 * - Headers: `Content-Type: application/json`; once authenticated also `Authorization: Bearer <token>`
 *   and `apollographql-client-name` / `apollographql-client-version`.
 * - Retries (urllib3 `Retry(total=3, backoff_factor=0.1, status_forcelist=(429,500,502,503,504),
 *   allowed_methods=None)`): every method, POST included, is retried up to 3 times on those statuses
 *   and on network errors. The wait is the answer's `Retry-After` when it has one, otherwise urllib3's
 *   backoff: 0 before the first retry, then 0.2 s, 0.4 s. When the retries are used up the last answer
 *   is handled like any other. A timeout (see `timeoutMs`) is not retried.
 *
 * Answers are turned into results or errors as gql does (see errors.ts): a non-empty `errors` array →
 * GraphQLError (whatever the status); else 401/403 → SpeckleAuthError; else any other status ≥ 400,
 * a body that is not JSON, or JSON without a `data` object → SpeckleTransportError.
 */
import {
  GraphQLError,
  SpeckleAuthError,
  SpeckleError,
  SpeckleTransportError,
  type GraphQLErrorEntry,
} from './errors.js';
import { createInsecureFetch } from './insecureFetch.js';

/** The part of the fetch API the transport uses; pass your own to add proxies, logging, … */
export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;

export interface RetryOptions {
  /** how many times a request is sent again (specklepy: 3) */
  retries: number;
  /** urllib3's backoff_factor in milliseconds (specklepy: 0.1 s) — waits 0, 2×, 4×, … this */
  backoffFactorMs: number;
  /** HTTP statuses that are retried */
  statuses: readonly number[];
  /** a `Retry-After` longer than this is cut down to it */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: Readonly<RetryOptions> = Object.freeze({
  retries: 3,
  backoffFactorMs: 100,
  statuses: Object.freeze([429, 500, 502, 503, 504]),
  maxRetryAfterMs: 120_000,
});

export interface TransportOptions {
  /** base URL of the server, e.g. `https://app.speckle.systems` (no trailing slash) */
  url: string;
  /** sent with every request (the client puts `Authorization` and the apollo client headers here) */
  headers?: Record<string, string>;
  /** per attempt; undefined = no timeout (specklepy: 10 s for the anonymous probe, none otherwise) */
  timeoutMs?: number;
  retry?: Partial<RetryOptions>;
  /** false = do not verify TLS certificates (uses node:https instead of the global fetch) */
  verifyCertificate?: boolean;
  /** replaces the global fetch (takes precedence over verifyCertificate) */
  fetch?: FetchLike;
}

/** One HTTP request; the body must be re-sendable (not a ReadableStream), since it may be retried. */
export interface HttpRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: BodyInit | null;
  signal?: AbortSignal;
  /** overrides the transport's timeout for this request */
  timeoutMs?: number;
}

/** Options of one GraphQL call. */
export interface GraphQLRequestOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export class SpeckleTransport {
  readonly url: string;
  readonly graphqlUrl: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number | undefined;
  readonly retry: Readonly<RetryOptions>;
  private readonly fetchImpl: FetchLike;

  constructor(options: TransportOptions) {
    this.url = options.url.replace(/\/$/, '');
    this.graphqlUrl = `${this.url}/graphql`;
    this.headers = Object.freeze({ ...(options.headers ?? {}) });
    this.timeoutMs = options.timeoutMs;
    this.retry = Object.freeze({ ...DEFAULT_RETRY, ...(options.retry ?? {}) });
    this.fetchImpl =
      options.fetch ??
      (options.verifyCertificate === false ? createInsecureFetch() : (input, init) => globalThis.fetch(input, init));
  }

  /** A transport like this one with another retry policy (the REST object routes use specklepy's own). */
  withRetry(retry: Partial<RetryOptions>): SpeckleTransport {
    return new SpeckleTransport({
      url: this.url,
      headers: { ...this.headers },
      timeoutMs: this.timeoutMs,
      retry: { ...this.retry, ...retry },
      fetch: this.fetchImpl,
    });
  }

  /** A transport like this one with other headers (used when authenticating). */
  withHeaders(headers: Record<string, string>, timeoutMs?: number): SpeckleTransport {
    return new SpeckleTransport({
      url: this.url,
      headers,
      timeoutMs,
      retry: this.retry,
      fetch: this.fetchImpl,
    });
  }

  /**
   * Sends one HTTP request to `path` (relative to the server URL, or absolute), with the transport's
   * headers, timeout and retries. Resolves with the last response whatever its status; rejects with
   * SpeckleTransportError when no response arrived.
   */
  async request(path: string, request: HttpRequest = {}): Promise<Response> {
    const target = /^[a-z][a-z0-9+.-]*:/i.test(path) ? path : `${this.url}${path.startsWith('/') ? '' : '/'}${path}`;
    const method = request.method ?? 'GET';
    const headers = { ...this.headers, ...(request.headers ?? {}) };
    const timeoutMs = request.timeoutMs ?? this.timeoutMs;
    const { retries, statuses } = this.retry;

    for (let attempt = 0; ; attempt++) {
      const signals: AbortSignal[] = [];
      if (request.signal) signals.push(request.signal);
      const timeoutSignal = timeoutMs !== undefined ? AbortSignal.timeout(timeoutMs) : undefined;
      if (timeoutSignal) signals.push(timeoutSignal);
      const signal = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);

      let response: Response;
      try {
        response = await this.fetchImpl(target, { method, headers, body: request.body ?? null, signal });
      } catch (err) {
        if (request.signal?.aborted) {
          throw new SpeckleTransportError(`${method} ${target} was aborted`, { cause: err });
        }
        if (timeoutSignal?.aborted) {
          throw new SpeckleTransportError(`${method} ${target} timed out after ${timeoutMs} ms`, { cause: err });
        }
        if (attempt < retries) {
          await sleep(this.backoffMs(attempt), request.signal);
          continue;
        }
        throw new SpeckleTransportError(`${method} ${target} failed: ${describe(err)}`, { cause: err });
      }

      if (attempt < retries && statuses.includes(response.status)) {
        const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
        // the body of an answer we drop is read to the end, so the connection can be reused
        await response.arrayBuffer().catch(() => undefined);
        const wait = retryAfter !== undefined ? Math.min(retryAfter, this.retry.maxRetryAfterMs) : this.backoffMs(attempt);
        await sleep(wait, request.signal);
        continue;
      }
      return response;
    }
  }

  /**
   * Runs one GraphQL document and returns its `data` object.
   * @throws GraphQLError | SpeckleAuthError | SpeckleTransportError
   */
  async execute<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    options: GraphQLRequestOptions = {},
  ): Promise<T> {
    const payload: { query: string; variables?: Record<string, unknown> } = { query };
    if (variables && Object.keys(variables).length > 0) payload.variables = variables;
    const response = await this.request('/graphql', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(payload),
      signal: options.signal,
      timeoutMs: options.timeoutMs,
    });
    let text: string;
    try {
      text = await response.text();
    } catch (err) {
      throw new SpeckleTransportError(`reading the answer of ${this.graphqlUrl} failed: ${describe(err)}`, {
        status: response.status,
        cause: err,
      });
    }
    return parseGraphQLAnswer<T>(response.status, text, this.graphqlUrl);
  }

  private backoffMs(attempt: number): number {
    // urllib3 2.x: no wait before the first retry, then backoff_factor * 2 ** (retries so far)
    return attempt === 0 ? 0 : this.retry.backoffFactorMs * 2 ** attempt;
  }
}

/** Turns one GraphQL HTTP answer into its `data`, or throws the matching error. */
export function parseGraphQLAnswer<T>(status: number, text: string, url = '/graphql'): T {
  let body: unknown;
  let isJson = true;
  try {
    body = JSON.parse(text);
  } catch {
    isJson = false;
  }
  const obj = isJson && body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;

  if (obj && Array.isArray(obj.errors) && obj.errors.length > 0) {
    const errors = obj.errors.map(toErrorEntry);
    throw new GraphQLError(errors, status, obj.data);
  }
  if (status === 401 || status === 403) {
    throw new SpeckleAuthError(authMessage(obj, text, status), status, text);
  }
  if (status >= 400 || status < 200) {
    throw new SpeckleTransportError(`${url} answered HTTP ${status}: ${truncate(text)}`, { status, body: text });
  }
  if (!isJson) {
    throw new SpeckleTransportError(`${url} answered HTTP ${status} with a body that is not JSON: ${truncate(text)}`, {
      status,
      body: text,
    });
  }
  if (!obj || obj.data === null || typeof obj.data !== 'object' || Array.isArray(obj.data)) {
    throw new SpeckleTransportError(`${url} answered without a data object: ${truncate(text)}`, { status, body: text });
  }
  return obj.data as T;
}

function toErrorEntry(raw: unknown): GraphQLErrorEntry {
  if (raw !== null && typeof raw === 'object') {
    const entry = raw as Record<string, unknown>;
    return { ...entry, message: typeof entry.message === 'string' ? entry.message : JSON.stringify(raw) } as GraphQLErrorEntry;
  }
  return { message: String(raw) };
}

function authMessage(obj: Record<string, unknown> | undefined, text: string, status: number): string {
  const error = obj?.error ?? obj?.message ?? obj?.err;
  if (typeof error === 'string' && error) return error;
  if (error && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') {
    return (error as { message: string }).message;
  }
  return text.trim() ? truncate(text) : `HTTP ${status}`;
}

/** `Retry-After` in milliseconds: delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return signal?.aborted ? Promise.reject(abortError(signal)) : Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal!));
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortError(signal: AbortSignal): SpeckleError {
  return new SpeckleTransportError('request aborted', { cause: signal.reason });
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    const causeText = cause instanceof Error ? ` (${cause.message})` : '';
    return `${err.message}${causeText}`;
  }
  return String(err);
}

function truncate(text: string, max = 500): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
