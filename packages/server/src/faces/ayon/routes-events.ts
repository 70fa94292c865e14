/**
 * AYON REST routes of events and event jobs (ayon.md §11): dispatch, read, update and delete
 * events, bulk event operations, and the enroll job queue. The GraphQL `events` listing is in
 * graphql/ext-events.ts. Starts the retention purge while the face is up.
 */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services/index.js';
import { actorOf, bodyOf, nonGuest } from './http.js';

type P = { id: string };

function senders(req: { headers: Record<string, unknown> }) {
  const s = req.headers['x-sender'];
  const t = req.headers['x-sender-type'];
  return { sender: typeof s === 'string' && s ? s : null, senderType: typeof t === 'string' && t ? t : null };
}

export async function ayonEventRoutes(app: FastifyInstance, opts: { services: Services }) {
  const events = opts.services.ayon.eventStream;

  app.addHook('onReady', async () => events.startRetention());
  app.addHook('onClose', async () => events.stopRetention());

  app.post('/api/events', async (req) => events.dispatch(nonGuest(req), bodyOf(req), senders(req)));

  app.get<{ Params: P }>('/api/events/:id', async (req) => events.get(actorOf(req), req.params.id));

  app.patch<{ Params: P }>('/api/events/:id', async (req, reply) => {
    await events.update(actorOf(req), req.params.id, bodyOf(req));
    return reply.status(204).send();
  });

  app.delete<{ Params: P }>('/api/events/:id', async (req, reply) => {
    await events.remove(actorOf(req), req.params.id);
    return reply.status(204).send();
  });

  app.post('/api/eventops', async (req, reply) => {
    await events.eventOps(actorOf(req), bodyOf(req));
    return reply.status(204).send();
  });

  app.post('/api/enroll', async (req, reply) => {
    const actor = actorOf(req);
    const body = bodyOf(req);
    const key = events.enrollKey(actor, body);
    // a worker that hangs up before the answer gets the same job on its next identical request
    let gone = false;
    const onClose = () => {
      if (!reply.raw.writableEnded) gone = true;
    };
    req.raw.socket?.once('close', onClose);
    try {
      const result = await events.enroll(actor, body, senders(req), key);
      if (gone && result) events.keepOrphanResult(key, result);
      if (!result) return reply.status(204).send();
      return result;
    } finally {
      req.raw.socket?.off('close', onClose);
    }
  });
}
