/**
 * Dataset downloads (speckle.md §10.3):
 *
 *   GET|HEAD /api/v1/projects/{projectId}/models/{modelId}/versions/{versionId}/download      {versionId}.duckdb
 *   GET|HEAD /api/v1/projects/{projectId}/models/{modelId}/versions/{versionId}/eav/download  {versionId}.eav.duckdb
 *
 * Access: read permission on the project, with every token source the Speckle face accepts
 * (Authorization: Bearer, the `authn` cookie, `?embedToken=`); public and unlisted projects are
 * readable anonymously. Answers, each error as `{"error": {"message", "code"}}`:
 * - 200 the file, streamed: Content-Type application/octet-stream, Content-Length, Content-Disposition
 *   attachment; filename="…", ETag (the file's SHA-256), Last-Modified, Accept-Ranges: bytes;
 * - 206 for one `Range: bytes=a-b` / `a-` / `-n` (If-Range honoured; several ranges → the whole file);
 *   416 with `Content-Range: bytes * /size` when the range starts past the end; 304 for If-None-Match;
 * - 404 when the project, model or version does not exist or the version is not in that model, and
 *   while the dataset is not built (the first such request queues the build; `Retry-After` is set),
 *   and when its build failed (the message says why);
 * - 401 for an anonymous caller on a private project; 403 for a token without access to the project
 *   or without `streams:read` (and, from the face's hook, for an invalid token).
 * The response is never compressed: Content-Length and byte ranges refer to the file itself.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../../../services/index.js';
import type { DatasetKind, DatasetRecord } from '../../../services/datasets.js';
import { AUTHZ_MESSAGES } from '../../../domain/authz.js';
import { BlobRangeNotSatisfiableError } from '../../../store/blobs/index.js';

/** Seconds a client is told to wait while a dataset is being built. */
const RETRY_AFTER_S = 5;
const ID = /^[A-Za-z0-9_-]{1,255}$/;

type Params = { projectId: string; modelId: string; versionId: string };

const sendError = (reply: FastifyReply, status: number, code: string, message: string) => reply.status(status).send({ error: { message, code } });

/** A single byte range of `Range` against a file of `size` bytes: null → serve the whole file. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  if (!header) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return null; // several ranges or a malformed header: ignored (RFC 9110 §14.2)
  if (m[1] === '') {
    const n = Number(m[2]);
    if (!Number.isSafeInteger(n)) return null;
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Number(m[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return null;
  if (m[2] !== '' && end < start) return null; // invalid: ignored
  if (start >= size) return 'unsatisfiable';
  return { start, end: Math.min(end, size - 1) };
}

function etagOf(rec: DatasetRecord): string {
  return `"${rec.sha256 ?? `${rec.size}-${rec.builtAt}`}"`;
}

function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

export async function speckleDatasetRoutes(app: FastifyInstance, opts: { services: Services }) {
  const { services } = opts;

  const handler = (kind: DatasetKind) => async (req: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
    const { projectId, modelId, versionId } = req.params;
    if (![projectId, modelId, versionId].every((s) => ID.test(s))) return sendError(reply, 404, 'NOT_FOUND_ERROR', 'Dataset not found');
    return answer(req, reply, kind, { projectId, modelId, versionId }, true);
  };

  async function answer(req: FastifyRequest, reply: FastifyReply, kind: DatasetKind, ids: Params, firstTry: boolean): Promise<FastifyReply> {
    const found = await services.datasets.lookupDownload(req.speckleAuth, ids, kind);
    switch (found.status) {
      case 'not-found': {
        const what = { project: 'Project', model: 'Model', version: 'Version' }[found.what];
        return sendError(reply, 404, 'NOT_FOUND_ERROR', `${what} not found`);
      }
      case 'denied':
        if (found.anonymous) {
          reply.header('WWW-Authenticate', 'Bearer');
          return sendError(reply, 401, 'UNAUTHORIZED', 'You must be signed in (Authorization: Bearer <token>) to download datasets of this project');
        }
        return sendError(
          reply,
          403,
          'FORBIDDEN',
          found.denial === 'MissingScope' ? 'Your auth token does not have the required scope: streams:read.' : AUTHZ_MESSAGES[found.denial],
        );
      case 'pending':
        reply.header('Retry-After', String(RETRY_AFTER_S));
        return sendError(
          reply,
          404,
          'DATASET_NOT_READY',
          kind === 'eav'
            ? 'The EAV dataset of this version is not ready yet; it is being built. Retry later.'
            : 'The dataset of this version is not ready yet; it is being built. Retry later.',
        );
      case 'failed':
        return sendError(reply, 404, 'DATASET_BUILD_FAILED', `The dataset of this version could not be built: ${found.error}`);
      case 'ready':
        return serve(req, reply, found.record, found.fileName, () => (firstTry ? answer(req, reply, kind, ids, false) : null));
    }
  }

  /** `retry`: a rebuild may have replaced the file between reading the row and opening the blob. */
  async function serve(req: FastifyRequest, reply: FastifyReply, rec: DatasetRecord, fileName: string, retry: () => Promise<FastifyReply> | null) {
    const size = rec.size ?? 0;
    const etag = etagOf(rec);
    reply.header('Accept-Ranges', 'bytes');
    reply.header('ETag', etag);
    reply.header('Last-Modified', new Date(rec.builtAt).toUTCString());
    reply.header('Cache-Control', 'private, no-cache');
    reply.header('Content-Disposition', `attachment; filename="${fileName}"`);
    if (matchesEtag(req.headers['if-none-match'], etag)) return reply.status(304).send();

    const ifRangeHeader = req.headers['if-range'];
    const ifRange = Array.isArray(ifRangeHeader) ? ifRangeHeader[0] : ifRangeHeader;
    const rangeAllowed = ifRange === undefined || matchesEtag(ifRange, etag) || (!ifRange.startsWith('"') && !ifRange.startsWith('W/') && Date.parse(ifRange) >= Math.floor(rec.builtAt / 1000) * 1000);
    const range = rangeAllowed ? parseRange(req.headers.range, size) : null;
    if (range === 'unsatisfiable') {
      reply.header('Content-Range', `bytes */${size}`);
      return sendError(reply, 416, 'RANGE_NOT_SATISFIABLE', `The requested range is not satisfiable: the file has ${size} bytes`);
    }

    let blob;
    try {
      blob = req.method === 'HEAD' ? null : await services.datasets.open(rec, range ?? undefined);
    } catch (err) {
      if (err instanceof BlobRangeNotSatisfiableError) {
        reply.header('Content-Range', `bytes */${err.size}`);
        return sendError(reply, 416, 'RANGE_NOT_SATISFIABLE', err.message);
      }
      throw err;
    }
    if (req.method !== 'HEAD' && !blob) {
      const again = retry();
      if (again) return again;
      req.log.error({ key: rec.blobKey }, 'dataset blob is missing; queueing a rebuild');
      await services.datasets.forgetMissing(rec);
      reply.header('Retry-After', String(RETRY_AFTER_S));
      return sendError(reply, 404, 'DATASET_NOT_READY', 'The dataset file is missing on the server; it is being built again. Retry later.');
    }
    const total = blob?.size ?? size;
    reply.type('application/octet-stream');
    if (range) {
      const served = blob?.range ?? range;
      reply.status(206);
      reply.header('Content-Range', `bytes ${served.start}-${served.end}/${total}`);
      reply.header('Content-Length', String(served.end - served.start + 1));
    } else {
      reply.header('Content-Length', String(total));
    }
    if (!blob) return reply.send();
    return reply.send(blob.stream);
  }

  for (const [suffix, kind] of [
    ['download', 'main'],
    ['eav/download', 'eav'],
  ] as const) {
    app.route<{ Params: Params }>({
      method: ['GET', 'HEAD'],
      url: `/api/v1/projects/:projectId/models/:modelId/versions/:versionId/${suffix}`,
      compress: false,
      exposeHeadRoute: false,
      handler: handler(kind),
    });
  }
}
