/** Speckle REST error shape: `{"error": {"message", "code"}}` with the error's status. */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isAppError } from '../../domain/errors.js';

export function speckleRestErrorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
  if (isAppError(err)) {
    if (err.code === 'RATE_LIMIT_ERROR') setRetryAfter(reply, err.info?.retryAfterMs as number | undefined);
    return reply.status(err.status).send({ error: { message: err.message, code: err.code } });
  }
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
  if (status === 500) {
    req.log.error({ err }, 'unhandled error');
    return reply.status(500).send({ error: { message: 'Internal Server Error', code: 'INTERNAL_SERVER_ERROR' } });
  }
  const code =
    status === 413 ? 'PAYLOAD_TOO_LARGE' : status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : status === 404 ? 'NOT_FOUND_ERROR' : 'BAD_REQUEST_ERROR';
  return reply.status(status).send({ error: { message: err.message, code } });
}

export function setRetryAfter(reply: FastifyReply, retryAfterMs: number | undefined) {
  const ms = Math.max(1000, retryAfterMs ?? 1000);
  reply.header('Retry-After', String(Math.ceil(ms / 1000)));
  reply.header('X-RateLimit-Reset', new Date(Date.now() + ms).toISOString());
  reply.header('X-Speckle-Meditation', 'https://http.cat/429');
}
