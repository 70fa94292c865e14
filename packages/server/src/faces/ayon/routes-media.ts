/**
 * AYON REST routes with raw bodies: thumbnails, project files, reviewables. Uploads are streamed
 * (the client sends chunked bodies), downloads carry Content-Length and honour Range.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../../services/index.js';
import { AyonError } from '../../services/ayon/errors.js';
import { PLACEHOLDER_PNG } from '../../services/ayon/media.js';
import { isEntityType } from '../../services/ayon/rules.js';
import { actorOf, facePath, nonGuest, parseRange, queryOf, sendBlob } from './http.js';

type P = { project: string };


const header = (req: FastifyRequest, name: string) => {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
};

export async function ayonMediaRoutes(app: FastifyInstance, opts: { services: Services }) {
  const ayon = opts.services.ayon;

  // the body of these routes is the file itself, whatever its type
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

  const stream = (req: FastifyRequest): NodeJS.ReadableStream => (req.body as NodeJS.ReadableStream | undefined) ?? req.raw;
  const contentLength = (req: FastifyRequest) => {
    const v = header(req, 'content-length');
    return v && /^\d+$/.test(v) ? Number(v) : undefined;
  };

  async function sendThumbnail(reply: FastifyReply, t: Awaited<ReturnType<typeof ayon.media.getThumbnail>>, placeholder: string | undefined) {
    if (!t) {
      if (placeholder === 'none') throw new AyonError(404, 'Thumbnail not found');
      return reply.status(203).type('image/png').header('content-length', PLACEHOLDER_PNG.length).send(PLACEHOLDER_PNG);
    }
    reply
      .status(200)
      .type(t.mime)
      .header('content-length', t.size)
      .header('x-thumbnail-id', t.id)
      .header('x-thumbnail-time', String(Math.floor(t.updatedAt / 1000)))
      .header('cache-control', 'max-age=3600');
    return reply.send(t.read.stream);
  }

  const noCompress = { compress: false as const };

  // ------------------------------------------------------------------ thumbnails

  app.post<{ Params: P }>('/api/projects/:project/thumbnails', async (req) =>
    ayon.media.createThumbnail(nonGuest(req), req.params.project, header(req, 'content-type'), stream(req)),
  );
  app.put<{ Params: P & { id: string } }>('/api/projects/:project/thumbnails/:id', async (req) =>
    ayon.media.putThumbnail(nonGuest(req), req.params.project, req.params.id, header(req, 'content-type'), stream(req)),
  );
  app.get<{ Params: P & { id: string } }>('/api/projects/:project/thumbnails/:id', noCompress, async (req, reply) =>
    sendThumbnail(reply, await ayon.media.getThumbnail(actorOf(req), req.params.project, req.params.id), queryOf(req).placeholder),
  );
  app.get<{ Params: P & { types: string; id: string } }>('/api/projects/:project/:types/:id/thumbnail', noCompress, async (req, reply) => {
    const t = req.params.types.slice(0, -1);
    if (!isEntityType(t)) throw new AyonError(404, `API endpoint ${facePath(req)} not found`, 'not-found', { path: facePath(req) });
    return sendThumbnail(reply, await ayon.media.getEntityThumbnail(actorOf(req), req.params.project, t, req.params.id), queryOf(req).placeholder);
  });
  app.post<{ Params: P & { types: string; id: string } }>('/api/projects/:project/:types/:id/thumbnail', async (req) => {
    const t = req.params.types.slice(0, -1);
    if (!isEntityType(t)) throw new AyonError(404, `API endpoint ${facePath(req)} not found`, 'not-found', { path: facePath(req) });
    return ayon.media.setEntityThumbnail(nonGuest(req), req.params.project, t, req.params.id, header(req, 'content-type'), stream(req));
  });
  app.get<{ Params: P }>('/api/projects/:project/thumbnail', noCompress, async (req, reply) =>
    sendThumbnail(reply, await ayon.media.getProjectThumbnail(actorOf(req), req.params.project), queryOf(req).placeholder),
  );
  app.post<{ Params: P }>('/api/projects/:project/thumbnail', async (req) =>
    ayon.media.setProjectThumbnail(nonGuest(req), req.params.project, header(req, 'content-type'), stream(req)),
  );

  // ------------------------------------------------------------------ project files

  app.post<{ Params: P }>('/api/projects/:project/files', async (req, reply) => {
    const q = queryOf(req);
    const res = await ayon.media.uploadFile(
      actorOf(req),
      req.params.project,
      {
        // AYON reads the ids from headers; some client versions send them as query parameters
        fileId: header(req, 'x-file-id') ?? q.x_file_id ?? q.fileId,
        activityId: header(req, 'x-activity-id') ?? q.x_activity_id ?? q.activityId,
        fileName: header(req, 'x-file-name'),
        mime: header(req, 'content-type'),
        contentLength: contentLength(req),
      },
      stream(req),
    );
    return reply.status(201).send(res);
  });

  const download = async (req: FastifyRequest<{ Params: P & { id: string } }>, reply: FastifyReply, head: boolean) => {
    const range = parseRange(req.headers.range);
    const { read, row } = await ayon.media.openFile(actorOf(req), req.params.project, req.params.id, range);
    reply.type(row.mime).header('content-disposition', `inline; filename*=UTF-8''${encodeURIComponent(row.filename)}`);
    return sendBlob(reply, read, head);
  };
  app.get<{ Params: P & { id: string } }>('/api/projects/:project/files/:id', { ...noCompress, exposeHeadRoute: false }, (req, reply) => download(req, reply, false));
  app.head<{ Params: P & { id: string } }>('/api/projects/:project/files/:id', noCompress, (req, reply) => download(req, reply, true));
  app.get<{ Params: P & { id: string } }>('/api/projects/:project/files/:id/info', async (req) => ayon.media.fileInfo(actorOf(req), req.params.project, req.params.id));
  app.delete<{ Params: P & { id: string } }>('/api/projects/:project/files/:id', async (req, reply) => {
    await ayon.media.deleteFile(actorOf(req), req.params.project, req.params.id);
    return reply.status(204).send();
  });

  // ------------------------------------------------------------------ reviewables

  app.post<{ Params: P & { id: string } }>('/api/projects/:project/versions/:id/reviewables', async (req) =>
    ayon.media.uploadReviewable(
      nonGuest(req),
      req.params.project,
      req.params.id,
      { fileName: header(req, 'x-file-name'), mime: header(req, 'content-type'), label: queryOf(req).label },
      stream(req),
    ),
  );
  app.get<{ Params: P & { id: string } }>('/api/projects/:project/versions/:id/reviewables', async (req) =>
    ayon.media.listReviewables(actorOf(req), req.params.project, req.params.id),
  );
}
