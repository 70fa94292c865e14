/**
 * Request helpers of the AYON face: credentials, the actor, bodies, sender headers, and the error
 * shape `{"code": <status>, "detail": "…"}` with the HTTP status equal to `code`.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isAppError } from '../../domain/errors.js';
import { AyonError, isAyonError } from '../../services/ayon/errors.js';
import type { AyonActor, Credentials } from '../../services/ayon/users.js';
import { camelizeKeys, isPlainObject } from '../../services/ayon/rules.js';
import { BlobRangeNotSatisfiableError, type BlobRead } from '../../store/blobs/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    ayonActor: AyonActor | null;
    ayonAuthError: AyonError | null;
  }
}

/** Where a request carries its credentials (ayon.md §2.2). */
export function credentialsOf(req: FastifyRequest): Credentials {
  const c: Credentials = {};
  const h = req.headers;
  const apiKey = h['x-api-key'];
  const auth = typeof h.authorization === 'string' ? h.authorization.trim() : '';
  if (typeof apiKey === 'string' && apiKey) c.apiKey = apiKey;
  else if (/^apikey\s+/i.test(auth)) c.apiKey = auth.replace(/^apikey\s+/i, '');
  else if (/^bearer\s+/i.test(auth)) c.bearer = auth.replace(/^bearer\s+/i, '');
  else {
    const cookie = h.cookie;
    const m = typeof cookie === 'string' ? /(?:^|;\s*)accessToken=([^;]*)/.exec(cookie) : null;
    if (m) c.bearer = decodeURIComponent(m[1]);
    else {
      const q = req.query as Record<string, unknown> | undefined;
      if (q && typeof q.token === 'string' && q.token) c.bearer = q.token;
    }
  }
  const asUser = h['x-as-user'];
  if (typeof asUser === 'string' && asUser) c.asUser = asUser;
  return c;
}

/** The authenticated actor, or the 401 the credentials deserve. */
export function actorOf(req: FastifyRequest): AyonActor {
  if (req.ayonAuthError) throw req.ayonAuthError;
  if (!req.ayonActor) throw new AyonError(401, 'Not logged in');
  return req.ayonActor;
}

/** Guests may call only a few routes (ayon.md §2.7). */
export function nonGuest(req: FastifyRequest): AyonActor {
  const a = actorOf(req);
  if (a.isGuest) throw new AyonError(403, 'Guest users are not allowed to access this endpoint');
  return a;
}

/** JSON body as an object with camelCase keys (snake_case accepted). */
export function bodyOf(req: FastifyRequest): Record<string, unknown> {
  const b = req.body;
  if (b === undefined || b === null || b === '') return {};
  if (!isPlainObject(b)) throw new AyonError(400, `Request validation error in [${req.method}] ${facePath(req)}`, 'bad-request', { path: facePath(req) });
  return camelizeKeys(b);
}

export function senderOf(req: FastifyRequest): { sender: string | null; senderType: string | null } {
  const s = req.headers['x-sender'];
  const t = req.headers['x-sender-type'];
  return { sender: typeof s === 'string' ? s : null, senderType: typeof t === 'string' ? t : 'api' };
}

/** The request path as the face sees it (without the /ayon mount prefix). */
export function facePath(req: FastifyRequest): string {
  const url = req.url.split('?')[0];
  const prefix = (req as unknown as { ayonPrefix?: string }).ayonPrefix ?? '';
  return prefix && url.startsWith(prefix) ? url.slice(prefix.length) || '/' : url;
}

export const queryOf = (req: FastifyRequest) => (req.query ?? {}) as Record<string, string | undefined>;
export const boolParam = (v: unknown) => v === true || v === 'true' || v === '1';

export function ayonErrorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
  if (isAyonError(err)) return reply.status(err.status).send({ code: err.status, detail: err.message, ...(err.extra ?? {}) });
  if (err instanceof BlobRangeNotSatisfiableError) {
    reply.header('content-range', `bytes */${err.size}`);
    return reply.status(416).send({ code: 416, detail: 'Range not satisfiable' });
  }
  if (isAppError(err)) {
    const status = err.status === 401 ? 401 : err.status;
    return reply.status(status).send({ code: status, detail: err.message });
  }
  const code = (err as { code?: string }).code ?? '';
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.status(413).send({ code: 413, detail: 'Request body is too large' });
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return reply.status(415).send({ code: 415, detail: 'Unsupported media type' });
  if (err.validation || code.startsWith('FST_ERR_CTP') || code === 'FST_ERR_VALIDATION' || err instanceof SyntaxError) {
    const path = facePath(req);
    return reply
      .status(400)
      .send({ code: 400, detail: `Request validation error in [${req.method}] ${path}`, path, traceback: err.message, errors: [{ msg: err.message }] });
  }
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
  if (status === 500) {
    req.log.error({ err }, 'unhandled error');
    return reply.status(500).send({ code: 500, detail: 'Internal server error' });
  }
  return reply.status(status).send({ code: status, detail: err.message });
}

/** A `Range: bytes=a-b` header (one range; `b` optional); undefined when absent or not understood. */
export function parseRange(h: unknown): { start: number; end?: number } | undefined {
  if (typeof h !== 'string') return undefined;
  const m = /^bytes=(\d+)-(\d*)$/.exec(h.trim());
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = m[2] ? Number(m[2]) : undefined;
  if (end !== undefined && end < start) return undefined;
  return { start, end };
}

/**
 * Sends a blob read (whole, or the range `parseRange` asked for): 200 or 206 with Content-Range,
 * Content-Length and Accept-Ranges. `head`: headers only, the stream is released.
 */
export function sendBlob(reply: FastifyReply, read: BlobRead, head = false) {
  reply.header('accept-ranges', 'bytes');
  if (read.range) {
    reply.status(206).header('content-range', `bytes ${read.range.start}-${read.range.end}/${read.size}`).header('content-length', read.range.end - read.range.start + 1);
  } else reply.status(200).header('content-length', read.size);
  if (head) {
    (read.stream as unknown as { destroy?: () => void }).destroy?.();
    return reply.send();
  }
  return reply.send(read.stream);
}
