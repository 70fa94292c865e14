/**
 * AYON REST routes: secrets, installers, dependency packages, actions (ayon.md §12).
 *
 * Uploads (`PUT /api/desktop/{installers|dependencyPackages}/{filename}`) take the raw body whatever
 * its Content-Type (ayon_api sends a chunked body with its session's `application/json`), so they live
 * in a child context with a pass-through parser. Downloads carry Content-Length and honour Range.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../../services/index.js';
import type { PackageKind } from '../../services/ayon/desktop.js';
import { actorOf, bodyOf, nonGuest, queryOf, boolParam, parseRange, sendBlob } from './http.js';

type F = { filename: string };

const ROUTES: Array<{ kind: PackageKind; path: string; listKey: string }> = [
  { kind: 'installer', path: '/api/desktop/installers', listKey: 'installers' },
  { kind: 'dependency_package', path: '/api/desktop/dependencyPackages', listKey: 'packages' },
];


export async function ayonDesktopRoutes(app: FastifyInstance, opts: { services: Services }) {
  const ayon = opts.services.ayon;
  const desktop = ayon.desktop;

  // ------------------------------------------------------------------ secrets

  app.get('/api/secrets', async (req) => desktop.secrets.list(nonGuest(req)));
  app.get<{ Params: { name: string } }>('/api/secrets/:name', async (req) => desktop.secrets.get(nonGuest(req), req.params.name));
  app.put<{ Params: { name: string } }>('/api/secrets/:name', async (req, reply) => {
    await desktop.secrets.save(nonGuest(req), req.params.name, bodyOf(req));
    return reply.status(204).send();
  });
  app.delete<{ Params: { name: string } }>('/api/secrets/:name', async (req, reply) => {
    await desktop.secrets.delete(nonGuest(req), req.params.name);
    return reply.status(204).send();
  });

  // ------------------------------------------------------------------ installers and dependency packages

  const noCompress = { compress: false as const };

  for (const { kind, path, listKey } of ROUTES) {
    app.get(path, async (req) => {
      const q = queryOf(req);
      return { [listKey]: await desktop.packages.list(nonGuest(req), kind, { version: q.version || undefined, platform: q.platform || undefined, variant: kind === 'installer' ? q.variant || undefined : undefined }) };
    });
    app.post(path, async (req, reply) => {
      const q = queryOf(req);
      const res = await desktop.packages.create(nonGuest(req), kind, bodyOf(req), { force: boolParam(q.force) || boolParam(q.overwrite), url: q.url || undefined });
      return reply.status(201).send(res);
    });
    app.patch<{ Params: F }>(`${path}/:filename`, async (req, reply) => {
      await desktop.packages.updateSources(nonGuest(req), kind, req.params.filename, bodyOf(req));
      return reply.status(204).send();
    });
    app.delete<{ Params: F }>(`${path}/:filename`, async (req, reply) => {
      await desktop.packages.delete(nonGuest(req), kind, req.params.filename);
      return reply.status(204).send();
    });
    const download = async (req: FastifyRequest<{ Params: F }>, reply: FastifyReply, head: boolean) => {
      const read = await desktop.packages.open(nonGuest(req), kind, req.params.filename, parseRange(req.headers.range));
      reply.type('application/octet-stream').header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(req.params.filename)}`);
      return sendBlob(reply, read, head);
    };
    app.get<{ Params: F }>(`${path}/:filename`, { ...noCompress, exposeHeadRoute: false }, (req, reply) => download(req, reply, false));
    app.head<{ Params: F }>(`${path}/:filename`, noCompress, (req, reply) => download(req, reply, true));
  }

  // raw uploads: the body is the file, whatever its declared type
  await app.register(async (raw) => {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    for (const { kind, path } of ROUTES) {
      raw.put<{ Params: F }>(`${path}/:filename`, async (req, reply) => {
        const body = (req.body as NodeJS.ReadableStream | undefined) ?? req.raw;
        await desktop.packages.upload(nonGuest(req), kind, req.params.filename, body);
        return reply.status(204).send();
      });
    }
  });

  // ------------------------------------------------------------------ actions

  app.post('/api/actions/list', async (req) => desktop.actions.list(actorOf(req), queryOf(req), req.ayonActor?.isGuest ? {} : bodyOf(req)));
  // every action the addons could offer, for admins managing them: none, as no addon code runs here
  app.get('/api/actions/manage', async (req) => desktop.actions.manage(nonGuest(req)));
  app.post('/api/actions/execute', async (req) => desktop.actions.execute(nonGuest(req), queryOf(req), bodyOf(req)));
  app.post('/api/actions/config', async (req) => desktop.actions.config(nonGuest(req), queryOf(req), bodyOf(req)));
  app.get<{ Params: { token: string } }>('/api/actions/take/:token', async (req) => desktop.actions.take(actorOf(req), req.params.token));
  // ayon_api's take_action GETs the abort URL (ayon.md §12): answer it like take
  app.get<{ Params: { token: string } }>('/api/actions/abort/:token', async (req) => desktop.actions.take(actorOf(req), req.params.token));
  app.post<{ Params: { token: string } }>('/api/actions/abort/:token', async (req, reply) => {
    await desktop.actions.abort(actorOf(req), req.params.token, bodyOf(req));
    return reply.type('application/json').send('null');
  });
}
