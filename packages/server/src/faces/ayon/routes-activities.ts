/**
 * AYON REST routes: activities (comments with mentions, reactions, watchers, categories, mention
 * suggestions, activity batch operations). Rules live in services/ayon/activities.ts.
 */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services/index.js';
import { actorOf, bodyOf, senderOf } from './http.js';

type P = { project: string };
type E = P & { types: string; id: string };

export async function ayonActivityRoutes(app: FastifyInstance, opts: { services: Services }) {
  const ayon = opts.services.ayon;
  const act = () => ayon.activities;

  app.post<{ Params: E }>('/api/projects/:project/:types/:id/activities', async (req, reply) => {
    const res = await act().create(actorOf(req), req.params.project, req.params.types, req.params.id, bodyOf(req), senderOf(req));
    return reply.status(201).send(res);
  });

  app.patch<{ Params: P & { activityId: string } }>('/api/projects/:project/activities/:activityId', async (req, reply) => {
    await act().update(actorOf(req), req.params.project, req.params.activityId, bodyOf(req), senderOf(req));
    return reply.status(204).send();
  });

  app.delete<{ Params: P & { activityId: string } }>('/api/projects/:project/activities/:activityId', async (req, reply) => {
    await act().remove(actorOf(req), req.params.project, req.params.activityId, senderOf(req));
    return reply.status(204).send();
  });

  app.post<{ Params: P & { activityId: string } }>('/api/projects/:project/activities/:activityId/reactions', async (req, reply) => {
    await act().react(actorOf(req), req.params.project, req.params.activityId, bodyOf(req).reaction, 'add', senderOf(req));
    return reply.status(201).send();
  });

  app.delete<{ Params: P & { activityId: string; reaction: string } }>('/api/projects/:project/activities/:activityId/reactions/:reaction', async (req, reply) => {
    await act().react(actorOf(req), req.params.project, req.params.activityId, req.params.reaction, 'remove', senderOf(req));
    return reply.status(204).send();
  });

  app.get<{ Params: E }>('/api/projects/:project/:types/:id/watchers', async (req) => act().getWatchers(actorOf(req), req.params.project, req.params.types, req.params.id));

  app.post<{ Params: E }>('/api/projects/:project/:types/:id/watchers', async (req, reply) => {
    await act().setWatchers(actorOf(req), req.params.project, req.params.types, req.params.id, bodyOf(req), senderOf(req));
    return reply.status(201).send();
  });

  app.get<{ Params: P }>('/api/projects/:project/activityCategories', async (req) => act().categories(actorOf(req), req.params.project));

  app.post<{ Params: P }>('/api/projects/:project/suggest', async (req) => act().suggest(actorOf(req), req.params.project, bodyOf(req)));

  app.post<{ Params: P }>('/api/projects/:project/operations/activities', async (req) => act().operations(actorOf(req), req.params.project, bodyOf(req), senderOf(req)));
}
