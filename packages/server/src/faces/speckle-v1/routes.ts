/**
 * The v1 REST routes, as one table: method, path (under `/api/v1` and `/api`), how the caller must
 * authenticate (v1's `jwt-strict` = mandatory, `[jwt-strict, anonymous]` = optional), how errors map to
 * status codes on that route (v1 answered 400 on some routes and 401/404 on others), and the handler
 * that turns the service's answer into v1's envelope `{success: true, …}`.
 */
import type { FastifyRequest } from 'fastify';
import type { V1Actor, V1Caller, V1Service } from '../../services/speckle-v1.js';
import { parseListQuery, type Doc } from '../../services/speckle-v1-documents.js';

/**
 * How a route's errors become status codes, as v1 did per route:
 * - `authOr404`: 401 when the message says "authorised", else 404;
 * - `always400`, `always404`: that status;
 * - `login`, `register`: 401 bad credentials / closed registration, 403 archived user, else 400.
 * Malformed input is 400 and rate limiting 429 everywhere.
 */
export type ErrorMode = 'authOr404' | 'always400' | 'always404' | 'login' | 'register';
export type AuthMode = 'mandatory' | 'optional' | 'none';

export interface V1Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  auth: AuthMode;
  errors: ErrorMode;
  handler(req: FastifyRequest, actor: V1Actor): Promise<Doc>;
}

type Params = Record<string, string>;
const params = (req: FastifyRequest): Params => req.params as Params;
const query = (req: FastifyRequest) => parseListQuery(req.query as Record<string, unknown>);
/** The JSON body as an object; an empty body (v1 clients send one with a JSON content type) is `{}`. */
const bodyObject = (req: FastifyRequest): Doc => {
  const b = req.body;
  if (b === undefined || b === null) return {};
  if (typeof b !== 'object' || Array.isArray(b)) throw Object.assign(new Error('The body must be a JSON object.'), { statusCode: 400 });
  return b as Doc;
};
const me = (actor: V1Actor): V1Caller => actor!;

export function v1Routes(v1: V1Service): V1Route[] {
  const r = (method: V1Route['method'], path: string, auth: AuthMode, errors: ErrorMode, handler: V1Route['handler']): V1Route => ({
    method,
    path,
    auth,
    errors,
    handler,
  });
  const search = async (req: FastifyRequest, actor: V1Actor) => ({ success: true, resources: await v1.accounts.search(actor, req.body) });

  return [
    // ------------------------------------------------------------ accounts
    r('POST', '/accounts/register', 'none', 'register', async (req) => ({
      success: true,
      message: 'User saved. Redirect to login.',
      resource: await v1.accounts.register(req.body, req.ip),
    })),
    r('POST', '/accounts/login', 'none', 'login', async (req) => ({
      success: true,
      message: 'You have logged in.',
      resource: await v1.accounts.login(req.body, req.ip),
    })),
    r('GET', '/accounts', 'mandatory', 'always400', async (_req, actor) => ({ success: true, resource: await v1.accounts.profile(actor) })),
    r('PUT', '/accounts', 'mandatory', 'always400', async (req, actor) => {
      await v1.accounts.updateProfile(actor, req.body ?? {});
      return { success: true, message: 'User profile updated.' };
    }),
    r('POST', '/accounts/search', 'mandatory', 'always400', search),
    // PySpeckle's accounts.search() forgets the slash: POST /api/v1/accountssearch
    r('POST', '/accountssearch', 'mandatory', 'always400', search),
    r('GET', '/accounts/:userId', 'mandatory', 'always400', async (req, actor) => ({
      success: true,
      resource: await v1.accounts.getUser(actor, params(req).userId),
    })),
    r('PUT', '/accounts/:userId', 'mandatory', 'always400', async (req, actor) => {
      await v1.accounts.adminUpdateUser(actor, params(req).userId, req.body ?? {});
      return { success: true, message: 'User profile updated.' };
    }),

    // ------------------------------------------------------------ API clients
    r('POST', '/clients', 'optional', 'always400', async (req, actor) => {
      const created = await v1.clients.create(actor, bodyObject(req));
      return created.anonymous
        ? { success: true, message: 'Anonymous client created.', resource: { _id: created.id } }
        : { success: true, message: 'Client created.', resource: created.client };
    }),
    r('GET', '/clients', 'mandatory', 'always400', async (req, actor) => ({
      success: true,
      message: `Client list for user ${me(actor).userId}`,
      resources: await v1.clients.list(me(actor), query(req)),
    })),
    r('GET', '/clients/:clientId', 'mandatory', 'always400', async (req, actor) => ({
      success: true,
      message: 'Client found.',
      resource: await v1.clients.get(me(actor), params(req).clientId),
    })),
    r('PUT', '/clients/:clientId', 'mandatory', 'always400', async (req, actor) => {
      const fields = await v1.clients.update(me(actor), params(req).clientId, bodyObject(req));
      return { success: true, message: `Client updated following fields: ${fields.join(',')}` };
    }),
    r('DELETE', '/clients/:clientId', 'mandatory', 'always404', async (req, actor) => {
      await v1.clients.remove(me(actor), params(req).clientId);
      return { success: true, message: 'Client was deleted! Bye bye data.' };
    }),

    // ------------------------------------------------------------ streams
    r('POST', '/streams', 'mandatory', 'always400', async (req, actor) => ({
      success: true,
      message: 'Created stream',
      resource: await v1.streams.create(me(actor), bodyObject(req)),
    })),
    r('GET', '/streams', 'mandatory', 'always400', async (req, actor) => ({
      success: true,
      message: 'Stream list returned. Contains both owned and shared with streams.',
      resources: await v1.streams.list(me(actor), query(req)),
    })),
    r('GET', '/streams/:streamId', 'optional', 'authOr404', async (req, actor) => ({
      success: true,
      message: 'Delivered stream.',
      resource: await v1.streams.get(actor, params(req).streamId, query(req)),
    })),
    r('PUT', '/streams/:streamId', 'mandatory', 'always400', async (req, actor) => {
      const fields = await v1.streams.update(me(actor), params(req).streamId, bodyObject(req));
      return { success: true, message: `Patched stream fields: ${fields.join(',')}` };
    }),
    r('DELETE', '/streams/:streamId', 'mandatory', 'always404', async (req, actor) => {
      const { streamId } = params(req);
      const deletedStreams = await v1.streams.remove(me(actor), streamId);
      return { success: true, message: `Stream ${streamId} and its children have been deleted.`, deletedStreams };
    }),
    r('POST', '/streams/:streamId/clone', 'mandatory', 'always400', async (req, actor) => {
      const { clone, parent } = await v1.streams.clone(me(actor), params(req).streamId, bodyObject(req));
      return { success: true, clone, parent };
    }),
    r('GET', '/streams/:streamId/diff/:otherId', 'optional', 'always400', async (req, actor) => {
      const { objects, layers } = await v1.streams.diff(actor, params(req).streamId, params(req).otherId);
      return { success: true, objects, layers };
    }),
    r('GET', '/streams/:streamId/objects', 'optional', 'always404', async (req, actor) => ({
      success: true,
      resources: await v1.streams.listObjects(actor, params(req).streamId, query(req)),
      message: 'Object list returned.',
    })),
    r('GET', '/streams/:streamId/clients', 'optional', 'authOr404', async (req, actor) => ({
      success: true,
      resources: await v1.clients.ofStream(actor, params(req).streamId, query(req)),
      message: `Client list for stream ${params(req).streamId} returned.`,
    })),

    // ------------------------------------------------------------ objects
    r('POST', '/objects', 'mandatory', 'always400', async (req, actor) => {
      if (req.body === undefined || req.body === null) throw Object.assign(new Error('Malformed request.'), { statusCode: 400 });
      const ids = await v1.objects.create(me(actor), req.body);
      return { success: true, message: 'Saved objects to database.', resources: ids.map((id) => ({ type: 'Placeholder', _id: id })) };
    }),
    r('POST', '/objects/getbulk', 'optional', 'always404', async (req, actor) => ({
      success: true,
      resources: await v1.objects.getBulk(actor, req.body, query(req)),
    })),
    r('GET', '/objects/:objectId', 'optional', 'always400', async (req, actor) => ({
      success: true,
      resource: await v1.objects.get(actor, params(req).objectId, query(req)),
    })),
    r('PUT', '/objects/:objectId', 'mandatory', 'always400', async (req, actor) => {
      await v1.objects.update(me(actor), params(req).objectId, bodyObject(req));
      return { success: true, message: 'Object updated.' };
    }),
    r('PUT', '/objects/:objectId/properties', 'mandatory', 'always400', async (req, actor) => {
      await v1.objects.setProperties(me(actor), params(req).objectId, bodyObject(req));
      return { success: true, message: 'Object properties updated.' };
    }),
    r('DELETE', '/objects/:objectId', 'mandatory', 'always404', async (req, actor) => {
      await v1.objects.remove(me(actor), params(req).objectId);
      return { success: true, message: 'Object was deleted. Bye bye data.' };
    }),

    // ------------------------------------------------------------ comments
    r('GET', '/comments', 'mandatory', 'authOr404', async (req, actor) => ({
      success: true,
      resources: await v1.comments.mine(me(actor), query(req), false),
    })),
    r('GET', '/comments/assigned', 'mandatory', 'authOr404', async (req, actor) => ({
      success: true,
      resources: await v1.comments.mine(me(actor), query(req), true),
    })),
    r('POST', '/comments/:resourceType/:resourceId', 'optional', 'authOr404', async (req, actor) => ({
      success: true,
      message: 'Comment created.',
      resource: await v1.comments.createOn(actor, params(req).resourceType, params(req).resourceId, bodyObject(req)),
    })),
    r('GET', '/comments/:resourceType/:resourceId', 'optional', 'authOr404', async (req, actor) => ({
      success: true,
      resources: await v1.comments.listOn(actor, params(req).resourceType, params(req).resourceId),
    })),
    r('GET', '/comments/:commentId', 'optional', 'authOr404', async (req, actor) => ({
      success: true,
      resource: await v1.comments.get(actor, params(req).commentId),
    })),
    r('PUT', '/comments/:commentId', 'mandatory', 'authOr404', async (req, actor) => {
      const fields = await v1.comments.update(me(actor), params(req).commentId, bodyObject(req));
      return { success: true, message: 'Comment edited', fields };
    }),
    r('DELETE', '/comments/:commentId', 'mandatory', 'authOr404', async (req, actor) => {
      await v1.comments.remove(me(actor), params(req).commentId);
      return { success: true, message: 'Comment deleted.' };
    }),

    // ------------------------------------------------------------ projects
    r('POST', '/projects', 'mandatory', 'always400', async (req, actor) => ({
      success: true,
      resource: await v1.projects.create(me(actor), bodyObject(req)),
    })),
    r('GET', '/projects', 'mandatory', 'authOr404', async (req, actor) => ({
      success: true,
      resources: await v1.projects.list(me(actor), query(req)),
    })),
    r('GET', '/projects/:projectId', 'mandatory', 'authOr404', async (req, actor) => ({
      success: true,
      resource: await v1.projects.get(actor, params(req).projectId),
    })),
    r('PUT', '/projects/:projectId', 'mandatory', 'authOr404', async (req, actor) => {
      const { projectId } = params(req);
      const fields = await v1.projects.update(me(actor), projectId, bodyObject(req));
      return { success: true, message: `Patched ${fields.join(',')} for ${projectId}.` };
    }),
    r('DELETE', '/projects/:projectId', 'mandatory', 'always400', async (req, actor) => ({
      success: true,
      message: 'Project was permanently deleted.',
      modifiedStreams: await v1.projects.remove(me(actor), params(req).projectId),
    })),
    r('PUT', '/projects/:projectId/addstream/:streamId', 'mandatory', 'always400', async (req, actor) => ({
      success: true,
      ...(await v1.projects.addStream(me(actor), params(req).projectId, params(req).streamId)),
    })),
    r('DELETE', '/projects/:projectId/removestream/:streamId', 'mandatory', 'authOr404', async (req, actor) => ({
      success: true,
      ...(await v1.projects.removeStream(me(actor), params(req).projectId, params(req).streamId)),
    })),
    r('PUT', '/projects/:projectId/adduser/:userId', 'mandatory', 'authOr404', async (req, actor) => {
      const { projectId, userId } = params(req);
      await v1.projects.addUser(me(actor), projectId, userId);
      return { success: true, message: `Added user ${userId} to project ${projectId}'s permission table and updated streams.` };
    }),
    r('DELETE', '/projects/:projectId/removeuser/:userId', 'mandatory', 'authOr404', async (req, actor) => ({
      success: true,
      ...(await v1.projects.removeUser(me(actor), params(req).projectId, params(req).userId)),
    })),
    r('PUT', '/projects/:projectId/upgradeuser/:userId', 'mandatory', 'authOr404', async (req, actor) => {
      const { projectId, userId } = params(req);
      await v1.projects.upgradeUser(me(actor), projectId, userId);
      return { success: true, message: `Upgraded user ${userId} to write on project ${projectId}'s streams.` };
    }),
    r('PUT', '/projects/:projectId/downgradeuser/:userId', 'mandatory', 'authOr404', async (req, actor) => ({
      success: true,
      ...(await v1.projects.downgradeUser(me(actor), params(req).projectId, params(req).userId)),
    })),
  ];
}
