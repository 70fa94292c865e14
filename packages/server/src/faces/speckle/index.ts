/**
 * The Speckle face: `/graphql`, `/auth/*`, `/api/ping` (and, with later issues, objects and datasets).
 * Every route first resolves the token: a token that is present but invalid, revoked or expired is
 * answered 403 `{"error":"Your token is not valid."}`, as the real server does on every route.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Services } from '../../services/index.js';
import { ANONYMOUS, type AuthContext } from '../../services/identity.js';
import { speckleAuthContext } from './auth.js';
import { speckleRestErrorHandler } from './errors.js';
import { buildExecutableSchema, createGraphQLExecutor } from './graphql/executor.js';
import { serverModule } from './graphql/modules/server.js';
import { usersModule } from './graphql/modules/users.js';
import { projectsModule } from './graphql/modules/projects.js';
import { legacyModule } from './graphql/modules/legacy.js';
import { speckleAuthRoutes } from './rest/auth-routes.js';
import { objectsModule, objectsStreamModule } from './graphql/modules/objects.js';
import { speckleObjectRoutes } from './rest/objects.js';
import { subscriptionsModule } from './graphql/modules/subscriptions.js';
import { speckleSubscriptions } from './subscriptions.js';
import { datasetsModule } from './graphql/modules/datasets.js';
import { speckleDatasetRoutes } from './rest/datasets.js';

declare module 'fastify' {
  interface FastifyRequest {
    speckleAuth: AuthContext;
  }
}

export const speckleSchemaModules = [serverModule, usersModule, projectsModule, legacyModule, subscriptionsModule, objectsModule, objectsStreamModule, datasetsModule];

export async function speckleFace(app: FastifyInstance, opts: { services: Services }) {
  const { services } = opts;
  const schema = buildExecutableSchema(speckleSchemaModules);
  const executor = createGraphQLExecutor(schema, { logError: (e) => app.log.error({ err: e }, 'graphql resolver error') });

  app.decorateRequest('speckleAuth', null as never);
  app.setErrorHandler(speckleRestErrorHandler);
  app.addHook('onRequest', async (req, reply) => {
    const ctx = await speckleAuthContext(req, services);
    if (!ctx) return reply.status(403).send({ error: 'Your token is not valid.' });
    req.speckleAuth = ctx;
  });

  const context = (req: FastifyRequest) => ({ auth: req.speckleAuth ?? ANONYMOUS, services, requestId: req.id });

  // Apollo's CSRF prevention: a "simple" request (no JSON content type, no preflight header) is refused.
  const isSimpleRequest = (req: FastifyRequest) => {
    const ct = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    const simple = ['', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data'].includes(ct);
    return simple && !req.headers['apollo-require-preflight'] && !req.headers['x-apollo-operation-name'];
  };

  app.post('/graphql', async (req, reply) => {
    if (isSimpleRequest(req)) {
      return reply.status(400).send({
        errors: [
          {
            message:
              "This operation has been blocked as a potential Cross-Site Request Forgery (CSRF). Please either specify a 'content-type' header (with a type that is not one of application/x-www-form-urlencoded, multipart/form-data, text/plain) or provide a non-empty value for one of the following headers: x-apollo-operation-name, apollo-require-preflight",
            extensions: { code: 'BAD_REQUEST' },
          },
        ],
      });
    }
    const result = await executor.handle(req.body, context(req));
    return reply.status(result.status).type('application/json; charset=utf-8').send(result.body);
  });

  app.get('/graphql', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    if (!q.query) {
      return reply
        .type('text/html; charset=utf-8')
        .send(
          '<!doctype html><title>Atrium GraphQL</title><p>This is the Speckle GraphQL endpoint of Atrium. POST a JSON body <code>{"query": …}</code> here.</p>',
        );
    }
    if (isSimpleRequest(req) && !req.headers['apollo-require-preflight']) {
      // GET queries are allowed only with a preflight header, as Apollo's CSRF prevention requires.
      return reply.status(400).send({ errors: [{ message: 'GET queries need an apollo-require-preflight header.', extensions: { code: 'BAD_REQUEST' } }] });
    }
    let variables: unknown;
    try {
      variables = q.variables ? JSON.parse(q.variables) : undefined;
    } catch {
      return reply.status(400).send({ errors: [{ message: '`variables` is not valid JSON.', extensions: { code: 'BAD_REQUEST' } }] });
    }
    const result = await executor.handle({ query: q.query, variables, operationName: q.operationName }, context(req), false);
    return reply.status(result.status).send(result.body);
  });

  app.route({ method: ['GET', 'POST'], url: '/api/ping', handler: async (_req, reply) => reply.type('text/plain').send('pong') });

  await app.register(speckleAuthRoutes, { services });
  await app.register(speckleObjectRoutes, { services });
  await app.register(speckleDatasetRoutes, { services });
  await app.register(speckleSubscriptions, { services, schema, limits: { authRecheckMs: services.config.wsAuthRecheckMs } });
}
