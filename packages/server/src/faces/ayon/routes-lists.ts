/**
 * AYON REST routes: entity lists, their items and list folders (ayon.md §12). Statuses as AYON
 * answers them: list create 201 with its summary, item create 201, list patch/delete and the order
 * endpoints 204, item patch/delete 200, list folder create 200 {id}.
 */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services/index.js';
import { AyonError } from '../../services/ayon/errors.js';
import { actorOf, bodyOf, boolParam, facePath, nonGuest, queryOf, senderOf } from './http.js';

type P = { project: string };
type L = P & { list: string };
type I = L & { item: string };
type F = P & { folder: string };

export async function ayonEntityListRoutes(app: FastifyInstance, opts: { services: Services }) {
  const lists = opts.services.ayon.entityLists;
  const base = '/api/projects/:project';

  // ------------------------------------------------------------------ lists

  app.post<{ Params: P }>(`${base}/lists`, async (req, reply) => {
    const summary = await lists.create(nonGuest(req), req.params.project, bodyOf(req), senderOf(req));
    return reply.status(201).send(summary);
  });

  app.get<{ Params: L }>(`${base}/lists/:list`, async (req) => {
    const q = queryOf(req);
    return lists.get(actorOf(req), req.params.project, req.params.list, { metadataOnly: boolParam(q.metadataOnly ?? q.metadata_only) });
  });

  app.patch<{ Params: L }>(`${base}/lists/:list`, async (req, reply) => {
    await lists.update(nonGuest(req), req.params.project, req.params.list, bodyOf(req), senderOf(req));
    return reply.status(204).send();
  });

  app.delete<{ Params: L }>(`${base}/lists/:list`, async (req, reply) => {
    await lists.remove(nonGuest(req), req.params.project, req.params.list, senderOf(req));
    return reply.status(204).send();
  });

  app.post<{ Params: L }>(`${base}/lists/:list/materialize`, async (req) => {
    await lists.materialize(nonGuest(req), req.params.project, req.params.list);
  });

  app.get<{ Params: L }>(`${base}/lists/:list/entities`, async (req) => lists.getEntities(nonGuest(req), req.params.project, req.params.list));

  // ------------------------------------------------------------------ attribute definitions

  app.get<{ Params: L }>(`${base}/lists/:list/attributes`, async (req) => lists.getAttributes(nonGuest(req), req.params.project, req.params.list));

  app.put<{ Params: L }>(`${base}/lists/:list/attributes`, async (req, reply) => {
    const body = req.body;
    if (!Array.isArray(body)) throw new AyonError(400, `Request validation error in [PUT] ${facePath(req)}`, 'bad-request', { path: facePath(req) });
    await lists.setAttributes(nonGuest(req), req.params.project, req.params.list, body, senderOf(req));
    return reply.status(200).send(null);
  });

  // ------------------------------------------------------------------ items

  app.post<{ Params: L }>(`${base}/lists/:list/items`, async (req, reply) => {
    await lists.createItem(nonGuest(req), req.params.project, req.params.list, bodyOf(req), senderOf(req));
    return reply.status(201).send(null);
  });

  app.patch<{ Params: L }>(`${base}/lists/:list/items`, async (req, reply) => {
    await lists.updateItems(nonGuest(req), req.params.project, req.params.list, bodyOf(req), senderOf(req));
    return reply.status(200).send(null);
  });

  app.patch<{ Params: I }>(`${base}/lists/:list/items/:item`, async (req, reply) => {
    await lists.updateItem(nonGuest(req), req.params.project, req.params.list, req.params.item, bodyOf(req), senderOf(req));
    return reply.status(200).send(null);
  });

  app.delete<{ Params: I }>(`${base}/lists/:list/items/:item`, async (req, reply) => {
    await lists.deleteItem(nonGuest(req), req.params.project, req.params.list, req.params.item, senderOf(req));
    return reply.status(200).send(null);
  });

  app.post<{ Params: L }>(`${base}/lists/:list/order`, async (req, reply) => {
    await lists.setItemsOrder(nonGuest(req), req.params.project, req.params.list, bodyOf(req), senderOf(req));
    return reply.status(204).send();
  });

  // ------------------------------------------------------------------ list folders

  app.get<{ Params: P }>(`${base}/entityListFolders`, async (req) => lists.listFolders(nonGuest(req), req.params.project));

  app.post<{ Params: P }>(`${base}/entityListFolders`, async (req) => lists.createFolder(nonGuest(req), req.params.project, bodyOf(req)));

  app.post<{ Params: P }>(`${base}/entityListFolders/order`, async (req, reply) => {
    await lists.setFoldersOrder(nonGuest(req), req.params.project, bodyOf(req));
    return reply.status(204).send();
  });

  app.patch<{ Params: F }>(`${base}/entityListFolders/:folder`, async (req, reply) => {
    await lists.updateFolder(nonGuest(req), req.params.project, req.params.folder, bodyOf(req));
    return reply.status(204).send();
  });

  app.delete<{ Params: F }>(`${base}/entityListFolders/:folder`, async (req, reply) => {
    await lists.deleteFolder(nonGuest(req), req.params.project, req.params.folder);
    return reply.status(204).send();
  });
}
