/**
 * AYON realtime and services: the `/ws` socket (ws.ts) and the services/hosts registry REST routes
 * (ayon-backend api/services): `GET /api/hosts`, `POST /api/hosts/heartbeat`, `GET /api/services`,
 * `PUT|PATCH|DELETE /api/services/{name}`. The registry is data only: Atrium runs no service containers.
 */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services/index.js';
import { bodyOf, facePath, nonGuest } from './http.js';
import { ayonWebSocket } from './ws.js';

export async function ayonRealtimeRoutes(app: FastifyInstance, opts: { services: Services }) {
  const registry = opts.services.ayon.serviceRegistry;
  await ayonWebSocket(app, { services: opts.services, prefix: app.prefix });

  const where = (req: { method: string }, path: string) => ({ method: req.method, path });

  app.get('/api/hosts', async (req) => registry.listHosts(nonGuest(req)));

  app.post('/api/hosts/heartbeat', async (req) => {
    const actor = nonGuest(req);
    return registry.heartbeat(actor, bodyOf(req), where(req, facePath(req)));
  });

  app.get('/api/services', async (req) => registry.listServices(nonGuest(req)));

  app.put<{ Params: { name: string } }>('/api/services/:name', async (req, reply) => {
    const actor = nonGuest(req);
    await registry.spawn(actor, req.params.name, bodyOf(req), where(req, facePath(req)), (n, v) => opts.services.ayon.addons.getAddon(n, v));
    return reply.status(204).send();
  });

  app.patch<{ Params: { name: string } }>('/api/services/:name', async (req, reply) => {
    const actor = nonGuest(req);
    await registry.patch(actor, req.params.name, bodyOf(req), where(req, facePath(req)));
    return reply.status(204).send();
  });

  app.delete<{ Params: { name: string } }>('/api/services/:name', async (req, reply) => {
    await registry.remove(nonGuest(req), req.params.name);
    return reply.status(204).send();
  });
}
