/**
 * The PySpeckle v1 face: the v1 REST API under `/api/v1` and `/api` (v1 mounted its router at both),
 * and the v1 realtime websocket at the server root (`/?client_id=…`). It has its own authentication
 * (`Authorization: JWT <token>`; a missing or bad token on a mandatory route is v1's plain-text 401
 * `Unauthorized`) and its own error envelope `{"success": false, "message": …}`. Registered as an
 * ordinary (encapsulated) plugin, so its lenient JSON parser and error handler touch no other face.
 *
 * Not claimed here (DESIGN.md routes them to the Speckle datasets face):
 * `/api/v1/projects/{p}/models/{m}/versions/{v}/download` and `…/eav/download`.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../../services/index.js';
import type { V1Actor } from '../../services/speckle-v1.js';
import { isAppError, type AppError } from '../../domain/errors.js';
import { v1Routes, type ErrorMode, type V1Route } from './routes.js';
import { speckleV1Sockets, type V1SocketOptions } from './websocket.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    v1Errors?: ErrorMode;
  }
}

export const V1_PREFIXES = ['/api/v1', '/api'];
/** What `GET /api/v1/` calls itself (v1: SPECKLE_API_VERSION, default 1.x.x). */
export const V1_API_VERSION = '1.x.x';

export interface SpeckleV1FaceOptions {
  services: Services;
  sockets?: Partial<V1SocketOptions>;
}

function statusFor(err: AppError, mode: ErrorMode): number {
  switch (err.code) {
    case 'USER_INPUT_ERROR':
    case 'BAD_REQUEST_ERROR':
    case 'TOKEN_CREATE_ERROR':
      return 400;
    case 'RATE_LIMIT_ERROR':
      return 429;
    case 'PAYLOAD_TOO_LARGE':
      return 413;
    case 'INTERNAL':
      return 500;
  }
  switch (mode) {
    case 'login':
      return err.code === 'UNAUTHORIZED' ? 401 : err.code === 'FORBIDDEN' ? 403 : 400;
    case 'register':
      return err.code === 'UNAUTHORIZED' ? 401 : 400;
    case 'always400':
      return 400;
    case 'always404':
      return 404;
    case 'authOr404':
      return err.message.includes('authorised') ? 401 : 404;
  }
}

function v1ErrorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
  const mode = req.routeOptions.config?.v1Errors ?? 'always400';
  if (isAppError(err)) {
    const info = err.info as { plainText?: boolean; status?: number; retryAfterMs?: number } | undefined;
    if (info?.plainText) return reply.status(info.status ?? 401).type('text/plain; charset=utf-8').send(err.message);
    if (err.code === 'RATE_LIMIT_ERROR') reply.header('Retry-After', String(Math.ceil(Math.max(1000, info?.retryAfterMs ?? 1000) / 1000)));
    return reply.status(statusFor(err, mode)).send({ success: false, message: err.message });
  }
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
  if (status === 500) {
    req.log.error({ err }, 'v1 face: unhandled error');
    return reply.status(500).send({ success: false, message: 'Internal server error.' });
  }
  return reply.status(status).send({ success: false, message: err.message });
}

/** v1 (Express body-parser) accepts an empty body with a JSON content type; so does this parser. */
function lenientJson(_req: FastifyRequest, body: string | Buffer, done: (err: Error | null, body?: unknown) => void) {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (!text.trim()) return done(null, undefined);
  try {
    done(null, JSON.parse(text));
  } catch {
    done(Object.assign(new Error('Malformed JSON body.'), { statusCode: 400 }));
  }
}

export async function speckleV1Face(app: FastifyInstance, opts: SpeckleV1FaceOptions) {
  const { services } = opts;
  const v1 = services.v1;

  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, lenientJson);
  // v1 clients always send JSON; a body with another (or no) content type is read as JSON too
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, lenientJson);
  app.addContentTypeParser('*', { parseAs: 'string' }, lenientJson);
  app.setErrorHandler(v1ErrorHandler);

  const routes = v1Routes(v1);
  const register = (route: V1Route, url: string) => {
    app.route({
      method: route.method,
      url,
      config: { v1Errors: route.errors },
      handler: async (req, reply) => {
        let actor: V1Actor = null;
        if (route.auth !== 'none') {
          const a = await v1.authenticate(req.headers.authorization);
          if (route.auth === 'mandatory' && (a === null || a === 'invalid'))
            return reply.status(401).type('text/plain; charset=utf-8').send('Unauthorized');
          actor = a === 'invalid' ? null : a;
        }
        return reply.send(await route.handler(req, actor));
      },
    });
  };
  for (const prefix of V1_PREFIXES) {
    for (const route of routes) {
      // v1's router was not strict: every route also answers with a trailing slash
      register(route, `${prefix}${route.path}`);
      register(route, `${prefix}${route.path}/`);
    }
  }

  // GET /api/v1/: the server description v1 clients use to check a URL is a Speckle server
  const describe = async () => {
    const settings = await services.serverInfo.get();
    const api: Record<string, Array<{ method: string; route: string }>> = { projects: [], clients: [], streams: [], accounts: [], comments: [], objects: [] };
    for (const route of routes) {
      const group = Object.keys(api).find((g) => route.path.includes(g));
      if (group) api[group].push({ method: route.method, route: `${services.config.publicUrl}/api${route.path}` });
    }
    return { isSpeckleServer: true, serverName: settings.name, version: V1_API_VERSION, api, plugins: [], jnMask: '######-##' };
  };
  app.get('/api/v1', describe);
  app.get('/api/v1/', describe);

  const gone = async (_req: FastifyRequest, reply: FastifyReply) => reply.status(410).send({ error: 'The v0 API has been removed.' });
  app.all('/api/v0', gone);
  app.all('/api/v0/*', gone);

  await app.register(speckleV1Sockets, { services, options: opts.sockets });
}
