/** Operations endpoints: /health (alive), /readiness (database + blob store reachable), /metrics. */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../services/index.js';

export interface RequestCounters {
  total: number;
  byStatusClass: Record<string, number>;
}

export async function opsRoutes(app: FastifyInstance, opts: { services: Services; counters: RequestCounters; startedAt: number }) {
  const { services, counters, startedAt } = opts;

  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/liveness', async () => ({ status: 'ok' }));

  app.get('/readiness', async (req, reply) => {
    const checks: Record<string, string> = {};
    await Promise.all([
      services.store.ping().then(
        () => (checks.database = 'ok'),
        (e: Error) => (checks.database = `unreachable: ${e.message.slice(0, 200)}`),
      ),
      services.blobs.ping().then(
        () => (checks.blobs = 'ok'),
        (e: Error) => (checks.blobs = `unreachable: ${e.message.slice(0, 200)}`),
      ),
    ]);
    const ok = Object.values(checks).every((v) => v === 'ok');
    if (!ok) req.log.warn({ checks }, 'not ready');
    return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks });
  });

  app.get('/metrics', async (_req, reply) => {
    const mem = process.memoryUsage();
    const jobs = await services.jobs.stats().catch(() => ({}) as Record<string, number>);
    const lines = [
      '# HELP atrium_uptime_seconds Seconds since the server started.',
      '# TYPE atrium_uptime_seconds gauge',
      `atrium_uptime_seconds ${((Date.now() - startedAt) / 1000).toFixed(3)}`,
      '# HELP atrium_http_requests_total HTTP requests answered, by status class.',
      '# TYPE atrium_http_requests_total counter',
      ...Object.entries(counters.byStatusClass).map(([k, v]) => `atrium_http_requests_total{status="${k}"} ${v}`),
      '# HELP atrium_process_resident_memory_bytes Resident set size.',
      '# TYPE atrium_process_resident_memory_bytes gauge',
      `atrium_process_resident_memory_bytes ${mem.rss}`,
      '# HELP atrium_jobs Jobs in the durable queue, by status.',
      '# TYPE atrium_jobs gauge',
      ...Object.entries(jobs).map(([k, v]) => `atrium_jobs{status="${k}"} ${v}`),
    ];
    return reply.type('text/plain; version=0.0.4').send(lines.join('\n') + '\n');
  });
}
