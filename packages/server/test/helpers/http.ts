/** Small HTTP helpers for tests that talk to a real server over loopback. */
export async function gql(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  token?: string,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(variables ? { query, variables } : { query }),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON: keep the text */
  }
  return { status: res.status, body };
}

export interface AyonRequestOptions {
  /** sent as JSON; a string is sent as it is (for malformed-JSON cases) */
  body?: unknown;
  /** bearer session token; undefined: the caller's default, null: none */
  token?: string | null;
  /** an API key (X-Api-Key) instead of a bearer token */
  key?: string;
  headers?: Record<string, string>;
  /** a raw body (uploads); a stream is sent half-duplex */
  raw?: Buffer | ReadableStream;
  /** Content-Type of a raw body (default: the one in `headers`, else the caller's default) */
  rawType?: string;
  /** another base URL than the caller's */
  url?: string;
}

/**
 * One request to an AYON face (`base` is e.g. `http://127.0.0.1:port/ayon`): the answer's status, its
 * JSON (null when it is not JSON), raw bytes and headers. `defaults.rawType` is the Content-Type of raw
 * bodies when the options name none (application/octet-stream unless said otherwise).
 */
export async function ayonRequest(
  base: string,
  defaultToken: string | null | undefined,
  method: string,
  path: string,
  opts: AyonRequestOptions = {},
  defaults: { rawType?: string } = {},
): Promise<{ status: number; json: any; buf: Buffer; headers: Headers }> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.key) headers['x-api-key'] = opts.key;
  else {
    const t = opts.token === undefined ? defaultToken : opts.token;
    if (t) headers.authorization = `Bearer ${t}`;
  }
  let body: BodyInit | undefined;
  if (opts.raw) {
    body = opts.raw as BodyInit;
    headers['content-type'] = opts.rawType ?? headers['content-type'] ?? defaults.rawType ?? 'application/octet-stream';
  } else if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  const stream = opts.raw !== undefined && !(opts.raw instanceof Buffer);
  const res = await fetch(`${opts.url ?? base}${path}`, { method, headers, body, ...(stream ? { duplex: 'half' } : {}) } as RequestInit);
  const buf = Buffer.from(await res.arrayBuffer());
  let json: any = null;
  try {
    json = JSON.parse(buf.toString('utf8'));
  } catch {
    /* not JSON */
  }
  return { status: res.status, json, buf, headers: res.headers };
}
