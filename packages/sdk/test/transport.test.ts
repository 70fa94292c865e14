/**
 * The transport against a real HTTP server on loopback: retries (specklepy/urllib3 policy), how
 * answers become results or typed errors, timeouts, and TLS verification switched off.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import {
  GraphQLError,
  createInsecureFetch,
  SpeckleAuthError,
  SpeckleClient,
  SpeckleError,
  SpeckleTransport,
  SpeckleTransportError,
} from '../src/index.js';
import { json, startHttpServer, type Handler, type TestHttpServer } from './helpers/httpServer.js';

const servers: TestHttpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(handler: Handler, tls?: { key: string; cert: string }): Promise<TestHttpServer> {
  const server = await startHttpServer(handler, tls);
  servers.push(server);
  return server;
}

const ok = { data: { serverInfo: { version: '2.31.14' } } };

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('retries', () => {
  it('retries a POST answered 503 and returns the answer that follows', async () => {
    const server = await serve((_req, res, i) => (i === 0 ? json(res, 503, { error: 'busy' }) : json(res, 200, ok)));
    const transport = new SpeckleTransport({ url: server.url });
    const data = await transport.execute('query Server {serverInfo {version}}');
    expect(data).toEqual(ok.data);
    expect(server.requests).toHaveLength(2);
    // the retried request is the same request
    expect(server.requests[1]!.method).toBe('POST');
    expect(server.requests[1]!.body).toBe(server.requests[0]!.body);
  });

  it('waits for Retry-After before retrying', async () => {
    const server = await serve((_req, res, i) =>
      i === 0 ? json(res, 429, { error: 'slow down' }, { 'retry-after': '1' }) : json(res, 200, ok),
    );
    const started = Date.now();
    await new SpeckleTransport({ url: server.url }).execute('query Server {serverInfo {version}}');
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(server.requests).toHaveLength(2);
  });

  it.each([429, 500, 502, 503, 504])('retries %i three times, then reports the last answer', async (status) => {
    const server = await serve((_req, res) => {
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(`status ${status}`);
    });
    const started = Date.now();
    const err = await caught(new SpeckleTransport({ url: server.url }).execute('{a}'));
    expect(err).toBeInstanceOf(SpeckleTransportError);
    expect((err as SpeckleTransportError).status).toBe(status);
    expect((err as SpeckleTransportError).body).toBe(`status ${status}`);
    expect(server.requests).toHaveLength(4);
    // urllib3 backoff with factor 0.1 s: 0 + 0.2 + 0.4 s
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
  });

  it('does not retry other statuses', async () => {
    const server = await serve((_req, res) => json(res, 400, { errors: [{ message: 'Syntax Error', extensions: { code: 'GRAPHQL_PARSE_FAILED' } }] }));
    const err = await caught(new SpeckleTransport({ url: server.url }).execute('{'));
    expect(err).toBeInstanceOf(GraphQLError);
    expect((err as GraphQLError).status).toBe(400);
    expect(server.requests).toHaveLength(1);
  });

  it('a rate-limit answer that persists surfaces as GraphQLError with its code', async () => {
    const server = await serve((_req, res) =>
      json(res, 429, { errors: [{ message: 'You have sent too many requests.', extensions: { code: 'RATE_LIMIT_ERROR' } }] }),
    );
    const err = await caught(new SpeckleTransport({ url: server.url, retry: { backoffFactorMs: 1 } }).execute('{a}'));
    expect(err).toBeInstanceOf(GraphQLError);
    expect((err as GraphQLError).code).toBe('RATE_LIMIT_ERROR');
    expect((err as GraphQLError).status).toBe(429);
    expect(server.requests).toHaveLength(4);
  });

  it('retries when the connection is refused, then throws SpeckleTransportError', async () => {
    const gone = await startHttpServer(() => undefined);
    await gone.close();
    const transport = new SpeckleTransport({ url: gone.url, retry: { backoffFactorMs: 1 } });
    const err = await caught(transport.execute('{a}'));
    expect(err).toBeInstanceOf(SpeckleTransportError);
    expect((err as SpeckleTransportError).status).toBeUndefined();
    expect((err as Error).message).toMatch(/ECONNREFUSED|fetch failed/);
  });

  it('a timeout is reported once, not retried', async () => {
    const server = await serve(() => undefined); // never answers
    const err = await caught(new SpeckleTransport({ url: server.url, timeoutMs: 200 }).execute('{a}'));
    expect(err).toBeInstanceOf(SpeckleTransportError);
    expect((err as Error).message).toMatch(/timed out after 200 ms/);
    expect(server.requests).toHaveLength(1);
  });

  it('retries can be switched off', async () => {
    const server = await serve((_req, res) => json(res, 503, {}));
    const err = await caught(new SpeckleTransport({ url: server.url, retry: { retries: 0 } }).execute('{a}'));
    expect((err as SpeckleTransportError).status).toBe(503);
    expect(server.requests).toHaveLength(1);
  });
});

describe('answers → results and errors', () => {
  async function answer(status: number, body: string): Promise<unknown> {
    const server = await serve((_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
    });
    return new SpeckleTransport({ url: server.url }).execute('{a}');
  }

  it('an errors array is a GraphQLError with every message and code, even with data and HTTP 200', async () => {
    const err = await caught(
      answer(
        200,
        JSON.stringify({
          data: { a: 1, b: null },
          errors: [
            { message: 'Your auth token does not have the required scope: profile:read.', path: ['b'], extensions: { code: 'FORBIDDEN', statusCode: 403 } },
            { message: 'second', extensions: { code: 'INTERNAL' } },
          ],
        }),
      ),
    );
    expect(err).toBeInstanceOf(GraphQLError);
    expect(err).toBeInstanceOf(SpeckleError);
    const e = err as GraphQLError;
    expect(e.code).toBe('FORBIDDEN');
    expect(e.codes).toEqual(['FORBIDDEN', 'INTERNAL']);
    expect(e.errors[0]!.path).toEqual(['b']);
    expect(e.errors[0]!.extensions?.statusCode).toBe(403);
    expect(e.message).toBe('Your auth token does not have the required scope: profile:read.; second');
    expect(e.status).toBe(200);
    expect(e.data).toEqual({ a: 1, b: null });
    expect(e.name).toBe('GraphQLError');
  });

  it("Speckle's 403 for a bad token is a SpeckleAuthError carrying the server's message", async () => {
    const err = await caught(answer(403, '{"error":"Your token is not valid."}'));
    expect(err).toBeInstanceOf(SpeckleAuthError);
    expect((err as SpeckleAuthError).status).toBe(403);
    expect((err as SpeckleAuthError).message).toBe('Your token is not valid.');
    expect((err as SpeckleAuthError).body).toBe('{"error":"Your token is not valid."}');
  });

  it('401 is a SpeckleAuthError too, whatever the body', async () => {
    const err = await caught(answer(401, 'Unauthorized'));
    expect(err).toBeInstanceOf(SpeckleAuthError);
    expect((err as SpeckleAuthError).message).toBe('Unauthorized');
  });

  it('an empty errors array is not an error', async () => {
    expect(await answer(200, '{"data":{"a":1},"errors":[]}')).toEqual({ a: 1 });
  });

  it.each([
    ['a body that is not JSON', 200, '<html>hi</html>', /not JSON/],
    ['data null without errors', 200, '{"data":null}', /without a data object/],
    ['JSON without data', 200, '{"hello":1}', /without a data object/],
    ['another HTTP error', 404, 'Not Found', /HTTP 404/],
  ])('%s is a SpeckleTransportError', async (_what, status, body, message) => {
    const err = await caught(answer(status, body));
    expect(err).toBeInstanceOf(SpeckleTransportError);
    expect((err as SpeckleTransportError).status).toBe(status);
    expect((err as Error).message).toMatch(message);
  });
});

describe('verifyCertificate', () => {
  let tls: { key: string; cert: string } | undefined;
  try {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atrium-sdk-tls-'));
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${dir}/key.pem`, '-out', `${dir}/cert.pem`, '-subj', '/CN=127.0.0.1', '-days', '1'],
      { stdio: 'ignore' },
    );
    tls = { key: fs.readFileSync(`${dir}/key.pem`, 'utf8'), cert: fs.readFileSync(`${dir}/cert.pem`, 'utf8') };
    fs.rmSync(dir, { recursive: true, force: true });
  } catch {
    tls = undefined;
  }

  it.skipIf(!tls)('refuses a self-signed certificate by default and accepts it with verifyCertificate: false', async () => {
    const server = await serve((_req, res) => json(res, 200, { data: { serverInfo: { version: 'dev' } } }), tls);
    const host = `127.0.0.1:${server.port}`;

    const strict = new SpeckleClient({ host, retry: { retries: 0 } });
    const err = await caught(strict.server.version());
    expect(err).toBeInstanceOf(SpeckleTransportError);
    expect(server.requests).toHaveLength(0);

    const lenient = new SpeckleClient({ host, verifyCertificate: false });
    expect(await lenient.server.version()).toEqual(['dev']);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(server.requests[0]!.body)).toEqual({ query: 'query Server {serverInfo {version}}' });
  });
});

describe('createInsecureFetch', () => {
  it.each(['gzip', 'deflate', 'br'])('decompresses %s answers like fetch (Speckle gzips its object routes)', async (encoding) => {
    const body = JSON.stringify({ abc: true, text: 'é'.repeat(1000) });
    const compressed =
      encoding === 'gzip' ? zlib.gzipSync(body) : encoding === 'deflate' ? zlib.deflateSync(body) : zlib.brotliCompressSync(body);
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': encoding });
      res.end(compressed);
    });
    const response = await createInsecureFetch()(`${server.url}/api/diff/p`, { method: 'POST', body: 'objects=%5B%5D' });
    expect(response.headers.get('content-encoding')).toBeNull();
    expect(await response.text()).toBe(body);
  });
});
