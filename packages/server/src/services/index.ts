/** All services, built once from the store, the blob store and the settings. Faces receive this. */
import type { AtriumConfig } from '../config.js';
import type { Store } from '../store/db.js';
import type { BlobStore } from '../store/blobs/index.js';
import type { JobQueue } from '../jobs/queue.js';
import { createIdentityService } from './identity.js';
import { createAppsService } from './apps.js';
import { createServerInfoService } from './server-info.js';
import { createRateLimiter } from './rate-limit.js';
import { createEventBus } from './events.js';
import { createProjectsService } from './projects.js';
import { createObjectsService } from './objects.js';
import { createAyonServices } from './ayon/index.js';
import { createDatasetsService } from './datasets.js';
import { createV1Service } from './speckle-v1.js';

export function createServices(deps: { store: Store; blobs: BlobStore; jobs: JobQueue; config: AtriumConfig }) {
  const { store, blobs, jobs, config } = deps;
  const identity = createIdentityService(store);
  const apps = createAppsService(store, identity, config);
  const serverInfo = createServerInfoService(store, config);
  const loginLimiter = createRateLimiter(config.loginRateLimit);
  const bus = createEventBus();
  const projects = createProjectsService(store, bus);
  const objects = createObjectsService(store, config);
  const datasets = createDatasetsService({ store, blobs, jobs, config, bus, projects });
  const v1 = createV1Service({ store, identity, serverInfo, loginLimiter, bus });
  const ayon = createAyonServices({ store, blobs, bus, identity, config });
  return { config, store, blobs, jobs, bus, identity, apps, serverInfo, loginLimiter, projects, objects, datasets, v1, ayon };
}

export type Services = ReturnType<typeof createServices>;
