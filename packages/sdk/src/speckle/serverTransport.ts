/**
 * The REST object routes of a Speckle server, called as specklepy's `ServerTransport` / `BatchSender`
 * call them (speckle.md §8.4–§8.5):
 *
 * - `POST /api/diff/{projectId}`, form `objects=<json.dumps(ids)>` → `{"<id>": true|false, …}`;
 * - `POST /objects/{projectId}`, multipart, one part `batch-1` (`filename="batch-1"`,
 *   `application/gzip`) = gzip of `[json,json,…]` → must answer **201**;
 * - `GET /objects/{projectId}/{id}/single` → the object's JSON text;
 * - `POST /api/getobjects/{projectId}`, form `objects=<json.dumps(ids)>` → `id\tjson\n` lines.
 *
 * Every request carries `Accept: text/plain` and the client's `Authorization`, and is retried like
 * specklepy's REST session (urllib3 `Retry(total=3, backoff_factor=0.5)` on 408/429/500/502/503/504/520).
 */
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { SpeckleAuthError, SpeckleError, SpeckleTransportError } from './errors.js';
import type { SpeckleTransport, RetryOptions } from './transport.js';

/** specklepy's REST retry policy (`transports/server/retry_policy.py`). */
export const OBJECT_ROUTES_RETRY: Readonly<Partial<RetryOptions>> = Object.freeze({
  retries: 3,
  backoffFactorMs: 500,
  statuses: Object.freeze([408, 429, 500, 502, 503, 504, 520]),
});

/** What the object routes need from a client. */
export interface ObjectRoutesClient {
  readonly transport: SpeckleTransport;
}

/** `json.dumps(list_of_str)` as Python writes it: `["a", "b"]`. */
export function pythonJsonList(ids: readonly string[]): string {
  return `[${ids.map((id) => JSON.stringify(id)).join(', ')}]`;
}

function formBody(ids: readonly string[]): string {
  return new URLSearchParams({ objects: pythonJsonList(ids) }).toString();
}

export interface RequestOptions {
  signal?: AbortSignal;
}

export class ServerObjectTransport {
  readonly projectId: string;
  private readonly client: ObjectRoutesClient;
  private cached: { base: SpeckleTransport; rest: SpeckleTransport } | undefined;

  constructor(client: ObjectRoutesClient, projectId: string) {
    if (!projectId) throw new SpeckleError('a projectId is needed to send or receive objects');
    this.client = client;
    this.projectId = projectId;
  }

  /** the client's current transport (credentials), with specklepy's REST retry policy */
  private get http(): SpeckleTransport {
    const base = this.client.transport;
    if (this.cached?.base !== base) this.cached = { base, rest: base.withRetry(OBJECT_ROUTES_RETRY) };
    return this.cached.rest;
  }

  private get project(): string {
    return encodeURIComponent(this.projectId);
  }

  /** `POST /api/diff/{projectId}`: which of `ids` the server already has. */
  async hasObjects(ids: readonly string[], options: RequestOptions = {}): Promise<Record<string, boolean>> {
    const response = await this.http.request(`/api/diff/${this.project}`, {
      method: 'POST',
      headers: { Accept: 'text/plain', 'Content-Type': 'application/x-www-form-urlencoded' },
      body: formBody(ids),
      signal: options.signal,
    });
    const text = await readText(response, 'POST /api/diff');
    if (response.status === 401 || response.status === 403) {
      throw new SpeckleAuthError(
        response.status === 403
          ? `Invalid credentials - cannot send objects to server ${this.http.url}`
          : `not allowed to write to project ${this.projectId} (HTTP 401)`,
        response.status,
        text,
      );
    }
    if (response.status >= 400) {
      throw new SpeckleTransportError(`POST /api/diff/${this.projectId} answered HTTP ${response.status}: ${text.slice(0, 500)}`, {
        status: response.status,
        body: text,
      });
    }
    let answer: unknown;
    try {
      answer = JSON.parse(text);
    } catch (err) {
      throw new SpeckleTransportError(`POST /api/diff/${this.projectId} did not answer JSON: ${text.slice(0, 300)}`, {
        status: response.status,
        body: text,
        cause: err,
      });
    }
    const known = answer as Record<string, unknown>;
    for (const id of ids) {
      // specklepy reads server_has_object[id] for every id: a missing key is an error there too
      if (answer === null || typeof answer !== 'object' || typeof known[id] !== 'boolean') {
        throw new SpeckleTransportError(`POST /api/diff/${this.projectId} did not say whether it has ${id}: ${text.slice(0, 300)}`, {
          status: response.status,
          body: text,
        });
      }
    }
    return known as Record<string, boolean>;
  }

  /** `POST /objects/{projectId}`: uploads one batch (JSON texts), gzipped in one part `batch-1`. */
  async uploadBatch(jsons: readonly string[], options: RequestOptions = {}): Promise<void> {
    const gz = gzipSync(Buffer.from(`[${jsons.join(',')}]`, 'utf8'));
    const boundary = randomBytes(16).toString('hex');
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="batch-1"; filename="batch-1"\r\nContent-Type: application/gzip\r\n\r\n`,
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const body = new Uint8Array(Buffer.concat([head, gz, tail]));
    const response = await this.http.request(`/objects/${this.project}`, {
      method: 'POST',
      headers: { Accept: 'text/plain', 'Content-Type': `multipart/form-data; boundary=${boundary}` },
      body,
      signal: options.signal,
    });
    const text = await readText(response, 'POST /objects');
    if (response.status === 201) return;
    if (response.status === 401 || response.status === 403) {
      throw new SpeckleAuthError(`not allowed to write to project ${this.projectId} (HTTP ${response.status})`, response.status, text);
    }
    throw new SpeckleTransportError(
      `Could not save the object to the server - status code ${response.status} (${text.slice(0, 1000)})`,
      { status: response.status, body: text },
    );
  }

  /** `GET /objects/{projectId}/{id}/single`: the object's JSON text (with its `__closure`). */
  async getObject(id: string, options: RequestOptions = {}): Promise<string> {
    const response = await this.http.request(`/objects/${this.project}/${encodeURIComponent(id)}/single`, {
      method: 'GET',
      headers: { Accept: 'text/plain' },
      signal: options.signal,
    });
    const text = await readText(response, 'GET /objects/…/single');
    if (response.status === 200) return text;
    const message = `Can't get object ${this.projectId}/${id}: HTTP error ${response.status} (${text.slice(0, 1000)})`;
    if (response.status === 401 || response.status === 403) throw new SpeckleAuthError(message, response.status, text);
    throw new SpeckleTransportError(message, { status: response.status, body: text });
  }

  /**
   * `POST /api/getobjects/{projectId}`: streams the objects back, calling `onObject(id, json)` for
   * each `id\tjson` line as it arrives. Ids the server does not have are simply not returned.
   */
  async getObjects(ids: readonly string[], onObject: (id: string, json: string) => void, options: RequestOptions = {}): Promise<void> {
    const response = await this.http.request(`/api/getobjects/${this.project}`, {
      method: 'POST',
      headers: { Accept: 'text/plain', 'Content-Type': 'application/x-www-form-urlencoded' },
      body: formBody(ids),
      signal: options.signal,
    });
    if (response.status >= 400) {
      const text = await readText(response, 'POST /api/getobjects');
      const message = `POST /api/getobjects/${this.projectId} answered HTTP ${response.status}: ${text.slice(0, 500)}`;
      if (response.status === 401 || response.status === 403) throw new SpeckleAuthError(message, response.status, text);
      throw new SpeckleTransportError(message, { status: response.status, body: text });
    }
    const handleLine = (line: string) => {
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (!line) return;
      const tab = line.indexOf('\t');
      if (tab < 0) throw new SpeckleTransportError(`POST /api/getobjects answered a line without a TAB: ${line.slice(0, 200)}`);
      onObject(line.slice(0, tab), line.slice(tab + 1));
    };
    if (!response.body) {
      for (const line of (await response.text()).split('\n')) handleLine(line);
      return;
    }
    const decoder = new TextDecoder('utf-8');
    let pending = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        pending += decoder.decode(chunk, { stream: true });
        if (!pending.includes('\n')) continue;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) handleLine(line);
      }
    } catch (err) {
      if (err instanceof SpeckleError) throw err;
      throw new SpeckleTransportError(`reading POST /api/getobjects/${this.projectId} failed: ${(err as Error).message}`, { cause: err });
    }
    pending += decoder.decode();
    if (pending) handleLine(pending);
  }
}

async function readText(response: Response, what: string): Promise<string> {
  try {
    return await response.text();
  } catch (err) {
    throw new SpeckleTransportError(`reading the answer of ${what} failed: ${(err as Error).message}`, { status: response.status, cause: err });
  }
}
