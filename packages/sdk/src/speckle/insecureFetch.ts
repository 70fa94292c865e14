/**
 * A fetch-compatible function that does not verify TLS certificates, for
 * `new SpeckleClient({ host, verifyCertificate: false })` (specklepy's `verify_certificate=False`),
 * e.g. a server on a LAN with a self-signed certificate.
 *
 * Node's global fetch cannot turn verification off without the `undici` package, so this sends the
 * request with `node:https` (imported lazily, so bundles that never disable verification do not need
 * Node's modules) and wraps the answer in a standard `Response`. Like fetch it decompresses gzip,
 * deflate and br answers (Speckle's object routes always gzip); it follows no redirects and buffers the
 * whole answer: it is meant for API calls.
 */
import type { FetchLike } from './transport.js';

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

export function createInsecureFetch(): FetchLike {
  return async (input, init) => {
    // A Request normalises every body kind (string, bytes, FormData, URLSearchParams, Blob) and its
    // content type; its bytes are then sent as they are.
    const request = new Request(input, init);
    const payload = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
    const url = new URL(request.url);
    const http = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
    const zlib = await import('node:zlib');
    const headers: Record<string, string> = {};
    request.headers.forEach((value, key) => {
      headers[key] = value;
    });
    if (payload) headers['content-length'] = String(payload.length);
    const signal = init?.signal ?? undefined;

    return await new Promise<Response>((resolve, reject) => {
      const req = http.request(
        url,
        { method: request.method, headers, rejectUnauthorized: false, signal },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const responseHeaders = new Headers();
            for (const [key, value] of Object.entries(res.headers)) {
              if (Array.isArray(value)) for (const v of value) responseHeaders.append(key, v);
              else if (value !== undefined) responseHeaders.set(key, value);
            }
            const status = res.statusCode ?? 500;
            let body: Buffer | null = NULL_BODY_STATUSES.has(status) ? null : Buffer.concat(chunks);
            const encoding = (res.headers['content-encoding'] ?? '').toLowerCase().trim();
            if (body && body.length > 0 && (encoding === 'gzip' || encoding === 'x-gzip' || encoding === 'deflate' || encoding === 'br')) {
              try {
                body = decompress(zlib, encoding, body);
                responseHeaders.delete('content-encoding');
                responseHeaders.delete('content-length');
              } catch (err) {
                reject(err);
                return;
              }
            }
            try {
              resolve(new Response(body as Uint8Array<ArrayBuffer> | null, { status, statusText: res.statusMessage ?? '', headers: responseHeaders }));
            } catch (err) {
              reject(err);
            }
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  };
}

function decompress(zlib: typeof import('node:zlib'), encoding: string, body: Buffer): Buffer {
  if (encoding === 'br') return zlib.brotliDecompressSync(body);
  if (encoding === 'deflate') {
    try {
      return zlib.inflateSync(body);
    } catch {
      return zlib.inflateRawSync(body);
    }
  }
  return zlib.gunzipSync(body);
}
