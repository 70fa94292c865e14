/**
 * Composition root: settings → store → blob store → services → faces, plus the job worker.
 * `buildApp` does not listen; `start` does, and `close` shuts everything down in order.
 */
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import cors from '@fastify/cors';
import compress from '@fastify/compress';
import type { AtriumConfig } from './config.js';
import { openStore, type Store } from './store/db.js';
import { migrateToLatest } from './store/migrations/index.js';
import { openBlobStore } from './store/blobs/index.js';
import { createJobQueue } from './jobs/queue.js';
import { createWorker, type JobHandler, type Worker } from './jobs/worker.js';
import { createServices, type Services } from './services/index.js';
import { DATASET_BUILD_JOB } from './services/datasets.js';
import { speckleFace } from './faces/speckle/index.js';
import { speckleV1Face } from './faces/speckle-v1/index.js';
import { ayonFace } from './faces/ayon/index.js';
import { opsRoutes, type RequestCounters } from './faces/ops.js';
import { refuseUnclaimedUpgrades } from './faces/upgrade.js';

export interface AtriumApp {
  config: AtriumConfig;
  http: FastifyInstance;
  services: Services;
  store: Store;
  /** the AYON face at the root of ATRIUM_AYON_PORT, when configured */
  ayonHttp?: FastifyInstance;
  /** listens on the configured host/port; resolves to the base URL actually bound */
  listen(): Promise<string>;
  close(): Promise<void>;
}

const SENSITIVE_QUERY = /([?&](?:token|embedToken|access_token|refreshToken|password|key)=)[^&]*/gi;

export async function buildApp(
  config: AtriumConfig,
  opts: { logger?: boolean | object; jobHandlers?: Record<string, JobHandler> } = {},
): Promise<AtriumApp> {
  const startedAt = Date.now();
  const store = await openStore(config.database);
  await migrateToLatest(store);
  const blobs = await openBlobStore(config.blobs);
  const jobs = createJobQueue(store);
  const services = createServices({ store, blobs, jobs, config });
  await services.apps.ensureDefaultApps();
  await services.serverInfo.applyConfiguredName();
  const admin = await services.identity.ensureFirstAdmin(config.firstAdmin);
  await services.ayon.init();

  const logger =
    opts.logger === false
      ? false
      : {
          level: config.logLevel,
          redact: {
            paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]', 'password', 'token'],
            censor: '[redacted]',
          },
          serializers: {
            req: (req: { method: string; url: string; ip?: string; id?: string }) => ({
              method: req.method,
              url: req.url.replace(SENSITIVE_QUERY, '$1[redacted]'),
              ip: req.ip,
            }),
          },
          ...(typeof opts.logger === 'object' ? opts.logger : {}),
        };

  const https = config.tls
    ? { key: fs.readFileSync(config.tls.keyFile), cert: fs.readFileSync(config.tls.certFile) }
    : undefined;
  const http = Fastify({
    logger,
    bodyLimit: config.limits.requestBodyBytes,
    genReqId: (req) => (typeof req.headers['x-request-id'] === 'string' && req.headers['x-request-id'].length <= 128 ? req.headers['x-request-id'] : randomUUID()),
    requestIdHeader: false,
    trustProxy: config.trustProxy,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    ...(https ? { https } : {}),
  }) as unknown as FastifyInstance;
  if (admin) http.log.info({ email: admin.email }, 'created the first admin from ATRIUM_ADMIN_EMAIL');

  // Several nodes on one PostgreSQL database: realtime events fan out through LISTEN/NOTIFY.
  const eventRelay =
    store.dialect === 'postgres' && config.database.kind === 'postgres'
      ? await (await import('./services/event-relay-pg.js')).createPgEventRelay({ connectionString: config.database.url, bus: services.bus, logger: http.log })
      : undefined;
  services.bus.attachRelay(eventRelay);

  // Forms (the web login posts them); JSON is fastify's own parser.
  http.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  const counters: RequestCounters = { total: 0, byStatusClass: {} };
  http.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  http.addHook('onResponse', async (_req, reply) => {
    counters.total++;
    const k = `${Math.floor(reply.statusCode / 100)}xx`;
    counters.byStatusClass[k] = (counters.byStatusClass[k] ?? 0) + 1;
  });

  await http.register(cors, { origin: '*', methods: ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE', 'OPTIONS'] });
  await http.register(compress, { global: true, threshold: 1024, encodings: ['gzip', 'deflate', 'br'] });
  await http.register(opsRoutes, { services, counters, startedAt });
  await http.register(speckleFace, { services });
  await http.register(speckleV1Face, { services });
  await http.register(ayonFace, { prefix: '/ayon', services });
  // after every face has added its upgrade listener: refuse websocket paths none of them serves
  refuseUnclaimedUpgrades(http.server);

  // AYON also at the root of a second port (ATRIUM_AYON_PORT), for tools that assume AYON at `/`
  let ayonHttp: FastifyInstance | undefined;
  if (config.ayonPort !== undefined) {
    ayonHttp = Fastify({
      logger,
      bodyLimit: config.limits.requestBodyBytes,
      genReqId: (req) => (typeof req.headers['x-request-id'] === 'string' && req.headers['x-request-id'].length <= 128 ? req.headers['x-request-id'] : randomUUID()),
      requestIdHeader: false,
      trustProxy: config.trustProxy,
      forceCloseConnections: 'idle',
      return503OnClosing: true,
      ...(https ? { https } : {}),
    }) as unknown as FastifyInstance;
    ayonHttp.addHook('onSend', async (req, reply) => {
      reply.header('x-request-id', req.id);
    });
    await ayonHttp.register(cors, { origin: '*', methods: ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE', 'OPTIONS'] });
    await ayonHttp.register(compress, { global: true, threshold: 1024, encodings: ['gzip', 'deflate', 'br'] });
    await ayonHttp.register(ayonFace, { services });
  }

  // version datasets: queued when a version is created, blobs removed with their version or project
  services.datasets.start({ logger: http.log });

  let worker: Worker | undefined;
  if (config.jobs.workers > 0) {
    const handlers: Record<string, JobHandler> = {
      [DATASET_BUILD_JOB]: (job, ctx) => services.datasets.runJob(job, ctx),
      ...(opts.jobHandlers ?? {}),
    };
    worker = createWorker(jobs, handlers, {
      concurrency: config.jobs.workers,
      pollMs: config.jobs.pollMs,
      logger: http.log,
    });
  }

  let closing: Promise<void> | undefined;
  return {
    config,
    http,
    ayonHttp,
    services,
    store,
    async listen() {
      await http.listen({ port: config.port, host: config.host });
      if (ayonHttp) await ayonHttp.listen({ port: config.ayonPort, host: config.host });
      worker?.start();
      const addr = http.server.address();
      const port = typeof addr === 'object' && addr ? addr.port : config.port;
      const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
      const url = `${config.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
      // a free port chosen by the system: the canonical URL is the one actually bound
      if (config.port === 0 && /:0$/.test(config.publicUrl)) config.publicUrl = url;
      return url;
    },
    close() {
      closing ??= (async () => {
        await ayonHttp?.close();
        await http.close();
        await services.ayon.background.drain();
        await services.ayon.projects.drain();
        services.datasets.stop();
        await worker?.stop(config.shutdownTimeoutMs);
        await eventRelay?.close();
        await store.close();
      })();
      return closing;
    },
  };
}
