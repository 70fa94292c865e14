/**
 * AYON REST routes: projects, their anatomy and roots, the six entity types, batch operations,
 * links and link types, the folder list and hierarchy, the representation context filter.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Services } from '../../services/index.js';
import { AyonError } from '../../services/ayon/errors.js';
import { isEntityType, type EntityType } from '../../services/ayon/rules.js';
import { actorOf, bodyOf, boolParam, facePath, nonGuest, queryOf, senderOf } from './http.js';

type P = { project: string };

export async function ayonProjectRoutes(app: FastifyInstance, opts: { services: Services }) {
  const ayon = opts.services.ayon;

  // ------------------------------------------------------------------ projects

  app.get('/api/projects', async (req) => ayon.projects.list(actorOf(req), queryOf(req)));

  app.post('/api/projects', async (req, reply) => {
    await ayon.projects.create(nonGuest(req), bodyOf(req), senderOf(req));
    return reply.status(201).send();
  });

  app.get<{ Params: P }>('/api/projects/:project', async (req) => {
    const { projectModel } = await import('../../services/ayon/projects.js');
    return projectModel(await ayon.projects.resolve(actorOf(req), req.params.project, { allowSkeleton: true }));
  });

  app.patch<{ Params: P }>('/api/projects/:project', async (req, reply) => {
    await ayon.projects.update(nonGuest(req), req.params.project, bodyOf(req), senderOf(req));
    return reply.status(204).send();
  });

  app.delete<{ Params: P }>('/api/projects/:project', async (req, reply) => {
    await ayon.projects.remove(nonGuest(req), req.params.project, senderOf(req));
    return reply.status(204).send();
  });

  app.post<{ Params: P }>('/api/projects/:project/rename', async (req, reply) => {
    await ayon.projects.rename(nonGuest(req), req.params.project, bodyOf(req));
    return reply.status(204).send();
  });

  app.get<{ Params: P }>('/api/projects/:project/anatomy', async (req) => ayon.projects.getAnatomy(actorOf(req), req.params.project));
  app.post<{ Params: P }>('/api/projects/:project/anatomy', async (req, reply) => {
    await ayon.projects.setAnatomy(nonGuest(req), req.params.project, req.body);
    return reply.status(204).send();
  });

  app.get<{ Params: P }>('/api/projects/:project/roots', async (req) => ayon.projects.rootOverrides(actorOf(req), req.params.project));
  app.put<{ Params: P & { site: string } }>('/api/projects/:project/roots/:site', async (req, reply) => {
    await ayon.projects.setRootOverrides(nonGuest(req), req.params.project, req.params.site, req.body);
    return reply.status(204).send();
  });
  app.get<{ Params: P }>('/api/projects/:project/siteRoots', async (req) => {
    const q = queryOf(req);
    const site = q.site_id ?? q.siteId ?? q.site ?? (typeof req.headers['x-ayon-site-id'] === 'string' ? req.headers['x-ayon-site-id'] : undefined);
    return ayon.projects.siteRoots(actorOf(req), req.params.project, { siteId: q.platform ? undefined : site, platform: q.platform });
  });

  app.get<{ Params: P }>('/api/projects/:project/stats', async (req) => {
    const p = await ayon.projects.resolve(actorOf(req), req.params.project);
    const counts: Record<string, number> = {};
    for (const t of ['folder', 'task', 'product', 'version', 'representation', 'workfile'] as const) {
      const r = await opts.services.store.db
        .selectFrom(`ayon_${t}s` as 'ayon_folders')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('project_name', '=', p.name)
        .executeTakeFirstOrThrow();
      counts[`${t}s`] = Number(r.n);
    }
    return { counts, statuses: {} };
  });

  // ------------------------------------------------------------------ hierarchy reads

  app.get<{ Params: P }>('/api/projects/:project/folders', async (req) => ayon.entities.folderList(actorOf(req), req.params.project, boolParam(queryOf(req).attrib)));

  app.get<{ Params: P }>('/api/projects/:project/hierarchy', async (req) => {
    const q = queryOf(req);
    return ayon.entities.hierarchy(actorOf(req), req.params.project, q.search, q.types);
  });

  // ------------------------------------------------------------------ entities (generic over the six types)

  const typeOf = (plural: string, reply: FastifyReply): EntityType | null => {
    const t = plural.endsWith('s') ? plural.slice(0, -1) : '';
    if (!isEntityType(t)) {
      void reply;
      return null;
    }
    return t;
  };
  const notFound = (req: Parameters<typeof facePath>[0]) => {
    const path = facePath(req);
    throw new AyonError(404, `API endpoint ${path} not found`, 'not-found', { path });
  };

  app.post<{ Params: P & { types: string } }>('/api/projects/:project/:types', async (req, reply) => {
    const type = typeOf(req.params.types, reply);
    if (!type) return notFound(req);
    const id = await ayon.entities.create(nonGuest(req), req.params.project, type, bodyOf(req), senderOf(req));
    return reply.status(201).send({ id });
  });

  app.get<{ Params: P & { types: string; id: string } }>('/api/projects/:project/:types/:id', async (req, reply) => {
    const type = typeOf(req.params.types, reply);
    if (!type) return notFound(req);
    return ayon.entities.get(actorOf(req), req.params.project, type, req.params.id);
  });

  app.patch<{ Params: P & { types: string; id: string } }>('/api/projects/:project/:types/:id', async (req, reply) => {
    const type = typeOf(req.params.types, reply);
    if (!type) return notFound(req);
    await ayon.entities.update(nonGuest(req), req.params.project, type, req.params.id, bodyOf(req), senderOf(req));
    return reply.status(204).send();
  });

  app.delete<{ Params: P & { types: string; id: string } }>('/api/projects/:project/:types/:id', async (req, reply) => {
    const type = typeOf(req.params.types, reply);
    if (!type) return notFound(req);
    await ayon.entities.remove(nonGuest(req), req.params.project, type, req.params.id, boolParam(queryOf(req).force), senderOf(req));
    return reply.status(204).send();
  });

  app.post<{ Params: P & { id: string } }>('/api/projects/:project/tasks/:id/assign', async (req, reply) => {
    const actor = nonGuest(req);
    const b = bodyOf(req);
    const mode = b.mode ?? 'add';
    if (!['add', 'remove', 'set'].includes(mode as string)) throw new AyonError(400, 'mode must be add, remove or set');
    if (!Array.isArray(b.users) || b.users.some((u) => typeof u !== 'string')) throw new AyonError(400, 'users must be a list of user names');
    const task = (await ayon.entities.get(actor, req.params.project, 'task', req.params.id)) as { assignees: string[] };
    const users = b.users as string[];
    const next = mode === 'set' ? users : mode === 'add' ? [...new Set([...task.assignees, ...users])] : task.assignees.filter((a) => !users.includes(a));
    await ayon.entities.update(actor, req.params.project, 'task', req.params.id, { assignees: next }, senderOf(req));
    return reply.status(204).send();
  });

  // ------------------------------------------------------------------ batch operations

  app.post<{ Params: P }>('/api/projects/:project/operations', async (req) => {
    const actor = nonGuest(req);
    const b = bodyOf(req);
    const ops = ayon.operations.parseOperations(b.operations);
    return ayon.operations.run(
      actor,
      req.params.project,
      ops,
      { canFail: b.canFail === true, raiseOnError: b.raiseOnError === true, ...senderOf(req) },
      (e) => req.log.error({ err: e }, 'ayon operation failed'),
    );
  });

  app.post<{ Params: P }>('/api/projects/:project/operations/background', async (req) => {
    const actor = nonGuest(req);
    const b = bodyOf(req);
    const ops = ayon.operations.parseOperations(b.operations);
    return ayon.background.start(actor, req.params.project, ops, { canFail: b.canFail === true, ...senderOf(req) });
  });

  app.get<{ Params: P & { id: string } }>('/api/projects/:project/operations/background/:id', async (req) =>
    ayon.background.status(actorOf(req), req.params.project, req.params.id),
  );

  // ------------------------------------------------------------------ links

  app.get<{ Params: P }>('/api/projects/:project/links/types', async (req) => ayon.links.listTypes(actorOf(req), req.params.project));
  app.put<{ Params: P & { name: string } }>('/api/projects/:project/links/types/:name', async (req, reply) => {
    await ayon.links.putType(nonGuest(req), req.params.project, req.params.name, bodyOf(req));
    return reply.status(204).send();
  });
  app.delete<{ Params: P & { name: string } }>('/api/projects/:project/links/types/:name', async (req, reply) => {
    await ayon.links.deleteType(nonGuest(req), req.params.project, req.params.name);
    return reply.status(204).send();
  });
  app.post<{ Params: P }>('/api/projects/:project/links', async (req) => ayon.links.create(nonGuest(req), req.params.project, bodyOf(req), senderOf(req)));
  app.post<{ Params: P }>('/api/projects/:project/links/bulk', async (req) => ayon.links.createMany(nonGuest(req), req.params.project, bodyOf(req).links, senderOf(req)));
  app.delete<{ Params: P & { id: string } }>('/api/projects/:project/links/:id', async (req, reply) => {
    await ayon.links.remove(nonGuest(req), req.params.project, req.params.id, senderOf(req));
    return reply.status(204).send();
  });

  // ------------------------------------------------------------------ representation context filter

  app.post<{ Params: P }>('/api/projects/:project/repreContextFilter', async (req) => ayon.media.repreContextFilter(actorOf(req), req.params.project, bodyOf(req)));
}
