/**
 * The AYON face (ayon.md): what `ayon_api.ServerAPI` talks to. Mounted at `/ayon` on the main port
 * (so `ServerAPI("http://host:3000/ayon")` works) and, with ATRIUM_AYON_PORT, at the root of a second
 * port. REST under `/api`, GraphQL at `/graphql`, `GET /` answers 200.
 *
 * Every request first resolves its credentials; invalid ones are answered 401 on every route except
 * the public ones (`/`, `/api/info`, login), which treat them as anonymous. A valid token is never
 * refused with 401 (the client would drop its connection for good).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Services } from '../../services/index.js';
import { AyonError } from '../../services/ayon/errors.js';
import { ayonErrorHandler, credentialsOf, facePath } from './http.js';
import { createAyonGraphQL } from './graphql/executor.js';
import { ayonCoreRoutes } from './routes-core.js';
import { ayonProjectRoutes } from './routes-projects.js';
import { ayonMediaRoutes } from './routes-media.js';
import { ayonEventRoutes } from './routes-events.js';
import { ayonActivityRoutes } from './routes-activities.js';
import { ayonAddonRoutes } from './routes-addons.js';
import { ayonDesktopRoutes } from './routes-desktop.js';
import { ayonEntityListRoutes } from './routes-lists.js';
import { ayonRealtimeRoutes } from './routes-realtime.js';

const PUBLIC = [/^\/$/, /^\/api\/info\/?$/, /^\/api\/auth\/login\/?$/, /^\/openapi\.json$/];

export interface OpenApiRoute {
  method: string;
  url: string;
}

export async function ayonFace(app: FastifyInstance, opts: { services: Services }) {
  const { services } = opts;
  const ayon = services.ayon;
  const prefix = app.prefix;
  const graphql = createAyonGraphQL(ayon, (e) => app.log.error({ err: e }, 'ayon graphql resolver error'));
  const routes: OpenApiRoute[] = [];

  app.addHook('onRoute', (r) => {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    for (const m of methods) if (m !== 'HEAD' && m !== 'OPTIONS') routes.push({ method: m, url: prefix && r.url.startsWith(prefix) ? r.url.slice(prefix.length) || '/' : r.url });
  });

  app.decorateRequest('ayonActor', null);
  app.decorateRequest('ayonAuthError', null);
  app.decorateRequest('ayonPrefix', prefix);
  app.setErrorHandler(ayonErrorHandler);
  app.setNotFoundHandler((req, reply) => {
    const path = facePath(req);
    const detail = path.startsWith('/api') ? `API endpoint ${path} not found` : path.startsWith('/addons') ? `Addon endpoint ${path} not found` : `File ${path} not found`;
    return reply.status(404).send({ code: 404, detail, path });
  });

  // JSON bodies: an empty body is no body (the client posts logout with a JSON content type and nothing else)
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = (body as string).trim();
    if (!text) return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      const path = facePath(req);
      done(new AyonError(400, `Request validation error in [${req.method}] ${path}`, 'bad-request', { path, traceback: 'body: invalid JSON' }), undefined);
    }
  });

  app.addHook('onRequest', async (req: FastifyRequest) => {
    const path = facePath(req);
    try {
      req.ayonActor = await ayon.users.authenticate(credentialsOf(req));
    } catch (err) {
      if (!(err instanceof AyonError)) throw err;
      // public routes ignore bad credentials; X-as-user naming nobody is a 404 everywhere
      if (PUBLIC.some((re) => re.test(path)) && err.status === 401) return;
      throw err;
    }
  });

  app.get('/', async (_req, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .send('<!doctype html><title>Atrium</title><p>This is the AYON API of Atrium. REST under <code>/api</code>, GraphQL at <code>/graphql</code>.</p>'),
  );

  app.post('/graphql', async (req, reply) => {
    if (req.ayonAuthError) throw req.ayonAuthError;
    if (!req.ayonActor) throw new AyonError(401, 'Not logged in');
    const res = await graphql.handle(req.body, { actor: req.ayonActor, ayon });
    return reply.status(res.status).type('application/json; charset=utf-8').send(res.body);
  });

  app.get('/openapi.json', async () => openApi(routes, ayon.version));

  await app.register(ayonCoreRoutes, { services });
  await app.register(ayonProjectRoutes, { services });
  await app.register(ayonMediaRoutes, { services });
  await app.register(ayonEventRoutes, { services });
  await app.register(ayonActivityRoutes, { services });
  await app.register(ayonAddonRoutes, { services });
  await app.register(ayonDesktopRoutes, { services });
  await app.register(ayonEntityListRoutes, { services });
  await app.register(ayonRealtimeRoutes, { services });
}

/** A small OpenAPI description of the routes this face serves. */
function openApi(routes: OpenApiRoute[], version: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const params = [...path.matchAll(/\{([A-Za-z0-9_]+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    paths[path] ??= {};
    paths[path][r.method.toLowerCase()] = {
      operationId: `${r.method.toLowerCase()}_${path.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, '')}`,
      ...(params.length ? { parameters: params } : {}),
      responses: { default: { description: 'AYON-compatible response; errors are {"code": <status>, "detail": "…"}' } },
    };
  }
  return {
    openapi: '3.0.2',
    info: { title: 'Atrium — AYON API', version, description: 'The AYON-compatible REST API of Atrium (the version is the AYON API level emulated).' },
    paths,
  };
}
