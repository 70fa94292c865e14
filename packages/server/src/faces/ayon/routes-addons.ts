/**
 * AYON REST routes: addons (install, list, delete, private/public files), settings and overrides
 * (studio, project, project-site, site; schemas; the bulk /api/settings), bundles and project bundles.
 * The addon file routes live outside /api (`/addons/{name}/{version}/private|public/…`) as in AYON;
 * the `/api/addons/…/private/…` twins answer the client's retry with an /api prefix.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../../services/index.js';
import { AyonError } from '../../services/ayon/errors.js';
import { ADDON_LIMITS } from '../../services/ayon/addons.js';
import { actorOf, boolParam, bodyOf, nonGuest, parseRange, queryOf, sendBlob } from './http.js';

type NV = { name: string; version: string };
type NVP = NV & { project: string };

const MIME: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  json: 'application/json',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  ico: 'image/x-icon',
  txt: 'text/plain; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  zip: 'application/zip',
  woff2: 'font/woff2',
  wasm: 'application/wasm',
};
const mimeOf = (filename: string) => MIME[/\.([a-z0-9]+)$/i.exec(filename)?.[1]?.toLowerCase() ?? ''] ?? 'application/octet-stream';

/** Reads a raw body up to `max` bytes (413 past it). */
async function readBody(req: FastifyRequest, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) throw new AyonError(413, `Addon zip is larger than ${max} bytes`);
  const stream = (req.body as NodeJS.ReadableStream | undefined) ?? req.raw;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of stream as AsyncIterable<Buffer | string>) {
    const b = typeof c === 'string' ? Buffer.from(c) : c;
    size += b.length;
    if (size > max) {
      (stream as unknown as { destroy?: () => void }).destroy?.();
      throw new AyonError(413, `Addon zip is larger than ${max} bytes`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** The first file part of a multipart/form-data body (the web UI's upload style). */
function multipartFile(body: Buffer, contentType: string): Buffer {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  if (!m) throw new AyonError(400, 'Multipart body without a boundary');
  const boundary = Buffer.from(`--${(m[1] ?? m[2]).trim()}`);
  let pos = body.indexOf(boundary);
  while (pos >= 0) {
    const headStart = pos + boundary.length + 2; // CRLF
    const headEnd = body.indexOf('\r\n\r\n', headStart);
    if (headEnd < 0) break;
    const head = body.subarray(headStart, headEnd).toString('latin1');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), boundary]), headEnd + 4);
    if (next < 0) break;
    if (/filename=/i.test(head)) return body.subarray(headEnd + 4, next);
    pos = next + 2;
  }
  throw new AyonError(400, 'Multipart body without a file');
}

export async function ayonAddonRoutes(app: FastifyInstance, opts: { services: Services }) {
  const ayon = opts.services.ayon;
  const addons = ayon.addons;
  const q = queryOf;

  // ------------------------------------------------------------------ install (raw zip body)

  await app.register(async (raw) => {
    // the body is the zip, whatever content type the client declares (ayon_api sends application/json)
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    raw.post('/api/addons/install', async (req) => {
      const actor = actorOf(req);
      if (!actor.isAdmin) throw new AyonError(403, 'Only admins can install addons');
      if (q(req).url) throw new AyonError(501, 'Installing addons from a URL is not supported by Atrium; upload the zip');
      let body = await readBody(req, ADDON_LIMITS.maxZipBytes);
      const ct = String(req.headers['content-type'] ?? '');
      if (/^multipart\/form-data/i.test(ct)) body = multipartFile(body, ct);
      return addons.install(actor, body, { overwrite: boolParam(q(req).overwrite) });
    });
  });

  // ------------------------------------------------------------------ listing and deletion

  app.get('/api/addons/install', async (req) => addons.installEvents(nonGuest(req)));

  app.get('/api/addons', async (req) => {
    const actor = actorOf(req);
    const prefix = (req as unknown as { ayonPrefix?: string }).ayonPrefix ?? '';
    const base = `${req.protocol}://${req.headers.host ?? 'localhost'}${prefix}`;
    return addons.list(actor, boolParam(q(req).details), base);
  });

  app.delete<{ Params: { name: string } }>('/api/addons/:name', async (req, reply) => {
    await addons.deleteAddon(actorOf(req), req.params.name, null, boolParam(q(req).purge));
    return reply.status(204).send();
  });
  app.delete<{ Params: NV }>('/api/addons/:name/:version', async (req, reply) => {
    await addons.deleteAddon(actorOf(req), req.params.name, req.params.version, boolParam(q(req).purge));
    return reply.status(204).send();
  });

  app.get<{ Params: NV }>('/api/addons/:name/:version/package.zip', { compress: false } as never, async (req, reply) => {
    const read = await addons.downloadZip(actorOf(req), req.params.name, req.params.version);
    reply.type('application/zip').header('content-length', read.size);
    return reply.send(read.stream);
  });

  // ------------------------------------------------------------------ private and public files

  const serveFile = async (req: FastifyRequest<{ Params: NV & { '*': string } }>, reply: FastifyReply, folder: 'private' | 'public' | 'frontend') => {
    if (folder === 'private') actorOf(req);
    const rel = req.params['*'] ?? '';
    const { read, filename } = await addons.openFile(req.params.name, req.params.version, folder, folder === 'frontend' && !rel ? 'index.html' : rel, parseRange(req.headers.range));
    reply.type(mimeOf(filename));
    if (folder === 'private') reply.header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(filename)}`);
    return sendBlob(reply, read);
  };
  for (const base of ['/addons', '/api/addons']) {
    for (const folder of ['private', 'public', 'frontend'] as const)
      app.get<{ Params: NV & { '*': string } }>(`${base}/:name/:version/${folder}/*`, { compress: false } as never, (req, reply) => serveFile(req, reply, folder));
  }

  // ------------------------------------------------------------------ schemas

  app.get<{ Params: NV }>('/api/addons/:name/:version/schema', async (req) => addons.getSchema(nonGuest(req), req.params.name, req.params.version));
  app.get<{ Params: NVP }>('/api/addons/:name/:version/schema/:project', async (req) =>
    addons.getSchema(nonGuest(req), req.params.name, req.params.version, req.params.project),
  );
  app.get<{ Params: NV }>('/api/addons/:name/:version/siteSettings/schema', async (req) => {
    nonGuest(req);
    return addons.getSiteSchema(req.params.name, req.params.version);
  });

  // ------------------------------------------------------------------ settings

  app.get<{ Params: NV }>('/api/addons/:name/:version/settings', async (req) => {
    nonGuest(req);
    return addons.getStudioSettings(req.params.name, req.params.version, q(req));
  });
  app.post<{ Params: NV }>('/api/addons/:name/:version/settings', async (req, reply) => {
    await addons.setStudioSettings(nonGuest(req), req.params.name, req.params.version, q(req).variant, req.body ?? {});
    return reply.status(204).send();
  });
  app.get<{ Params: NVP }>('/api/addons/:name/:version/settings/:project', async (req) =>
    addons.getProjectSettings(nonGuest(req), req.params.name, req.params.version, req.params.project, q(req)),
  );
  app.post<{ Params: NVP }>('/api/addons/:name/:version/settings/:project', async (req, reply) => {
    await addons.setProjectSettings(nonGuest(req), req.params.name, req.params.version, req.params.project, q(req), req.body ?? {});
    return reply.status(204).send();
  });

  // overrides (studio and project)
  app.get<{ Params: NV }>('/api/addons/:name/:version/overrides', async (req) => addons.getOverrides(nonGuest(req), req.params.name, req.params.version, undefined, q(req)));
  app.get<{ Params: NVP }>('/api/addons/:name/:version/overrides/:project', async (req) =>
    addons.getOverrides(nonGuest(req), req.params.name, req.params.version, req.params.project, q(req)),
  );
  app.post<{ Params: NV }>('/api/addons/:name/:version/overrides', async (req, reply) => {
    await addons.modifyOverrides(nonGuest(req), req.params.name, req.params.version, undefined, q(req), bodyOf(req));
    return reply.status(204).send();
  });
  app.post<{ Params: NVP }>('/api/addons/:name/:version/overrides/:project', async (req, reply) => {
    await addons.modifyOverrides(nonGuest(req), req.params.name, req.params.version, req.params.project, q(req), bodyOf(req));
    return reply.status(204).send();
  });
  app.delete<{ Params: NV }>('/api/addons/:name/:version/overrides', async (req, reply) => {
    await addons.deleteOverrides(nonGuest(req), req.params.name, req.params.version, undefined, q(req));
    return reply.status(204).send();
  });
  app.delete<{ Params: NVP }>('/api/addons/:name/:version/overrides/:project', async (req, reply) => {
    await addons.deleteOverrides(nonGuest(req), req.params.name, req.params.version, req.params.project, q(req));
    return reply.status(204).send();
  });

  // raw overrides (no processing; admins, or the caller's own project-site overrides)
  app.get<{ Params: NV }>('/api/addons/:name/:version/rawOverrides', async (req) => addons.getRawOverrides(nonGuest(req), req.params.name, req.params.version, undefined, q(req)));
  app.get<{ Params: NVP }>('/api/addons/:name/:version/rawOverrides/:project', async (req) =>
    addons.getRawOverrides(nonGuest(req), req.params.name, req.params.version, req.params.project, q(req)),
  );
  app.put<{ Params: NV }>('/api/addons/:name/:version/rawOverrides', async (req, reply) => {
    await addons.putRawOverrides(nonGuest(req), req.params.name, req.params.version, undefined, q(req), req.body ?? {});
    return reply.status(204).send();
  });
  app.put<{ Params: NVP }>('/api/addons/:name/:version/rawOverrides/:project', async (req, reply) => {
    await addons.putRawOverrides(nonGuest(req), req.params.name, req.params.version, req.params.project, q(req), req.body ?? {});
    return reply.status(204).send();
  });

  // site settings (per site and user)
  app.get<{ Params: NV }>('/api/addons/:name/:version/siteSettings', async (req) =>
    addons.getSiteSettings(nonGuest(req), req.params.name, req.params.version, q(req).site_id || q(req).site),
  );
  app.put<{ Params: NV }>('/api/addons/:name/:version/siteSettings', async (req, reply) => {
    await addons.setSiteSettings(nonGuest(req), req.params.name, req.params.version, q(req).site_id || q(req).site, req.body ?? {});
    return reply.status(204).send();
  });

  app.get('/api/settings', async (req) => addons.allSettings(nonGuest(req), q(req)));
  app.post('/api/migrateSettingsByBundle', async (req) => addons.migrateSettingsByBundle(actorOf(req), bodyOf(req)));

  // ------------------------------------------------------------------ bundles

  app.get('/api/bundles', async (req) => {
    actorOf(req);
    return addons.listBundles(boolParam(q(req).archived));
  });
  app.post('/api/bundles/check', async (req) => addons.checkBundle(nonGuest(req), bodyOf(req)));
  app.post('/api/bundles', async (req, reply) => {
    await addons.createBundle(actorOf(req), bodyOf(req), boolParam(q(req).force));
    return reply.status(201).send();
  });
  app.patch<{ Params: { bundle: string } }>('/api/bundles/:bundle', async (req, reply) => {
    await addons.updateBundle(actorOf(req), req.params.bundle, bodyOf(req), boolParam(q(req).force));
    return reply.status(204).send();
  });
  app.delete<{ Params: { bundle: string } }>('/api/bundles/:bundle', async (req, reply) => {
    await addons.deleteBundle(actorOf(req), req.params.bundle);
    return reply.status(204).send();
  });

  // ------------------------------------------------------------------ project bundles

  type PP = { project: string };
  app.get<{ Params: PP }>('/api/projects/:project/bundle', async (req) => addons.getProjectBundle(nonGuest(req), req.params.project, q(req).variant));
  app.post<{ Params: PP }>('/api/projects/:project/bundle', async (req) => addons.freezeProjectBundle(nonGuest(req), req.params.project, q(req).variant, bodyOf(req)));
  app.delete<{ Params: PP }>('/api/projects/:project/bundle', async (req, reply) => {
    await addons.unfreezeProjectBundle(nonGuest(req), req.params.project, q(req).variant);
    return reply.status(204).send();
  });
  // deprecated in AYON, still served: names the project bundles directly
  app.post<{ Params: PP }>('/api/projects/:project/bundles', async (req, reply) => {
    await addons.setProjectBundles(nonGuest(req), req.params.project, bodyOf(req));
    return reply.status(204).send();
  });
}
