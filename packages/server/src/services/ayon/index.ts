/**
 * The AYON services: one object the AYON face receives. Rules live here; the face translates.
 */
import type { Store } from '../../store/db.js';
import type { BlobStore } from '../../store/blobs/index.js';
import type { AtriumConfig } from '../../config.js';
import type { EventBus } from '../events.js';
import type { IdentityService } from '../identity.js';
import { createAttributesService } from './attributes.js';
import { createAnatomyService } from './anatomy.js';
import { createAyonEvents } from './events.js';
import { createAyonUsersService } from './users.js';
import { createAccessPolicy } from './access.js';
import { createAyonProjectsService } from './projects.js';
import { createOperationsService } from './operations.js';
import { createQueries } from './queries.js';
import { createEntitiesService } from './entities.js';
import { createLinksService } from './links.js';
import { createMediaService } from './media.js';
import { createBackgroundOperations } from './background.js';
import { createEventStreamService } from './event-stream.js';
import { createActivitiesService } from './activities.js';
import { createAddonsService } from './addons.js';
import { createDesktopService } from './desktop.js';
import { createEntityListsService } from './entity-lists.js';
import { createServiceRegistry } from './service-registry.js';

/** The AYON API level Atrium emulates (not Atrium's own version): the client gates features on it. */
export const AYON_VERSION = '1.16.0+atrium';

export function createAyonServices(deps: { store: Store; blobs: BlobStore; bus: EventBus; identity: IdentityService; config: AtriumConfig }) {
  const { store, blobs, bus, identity, config } = deps;
  const startedAt = Date.now();
  const attributes = createAttributesService(store, bus);
  const anatomy = createAnatomyService(store, attributes);
  const events = createAyonEvents(bus, store.dialect);
  const users = createAyonUsersService({ store, identity, events, attributes });
  const access = createAccessPolicy(users);
  const projects = createAyonProjectsService({ store, blobs, identity, attributes, anatomy, events, users, access });
  const operations = createOperationsService({ store, attributes, projects, events, users, access });
  const queries = createQueries(store);
  const entities = createEntitiesService({ store, attributes, projects, operations, queries });
  const links = createLinksService({ store, projects, events, access });
  const media = createMediaService({ store, blobs, projects, access, entities, maxUploadBytes: config.limits.requestBodyBytes });
  const background = createBackgroundOperations({ store, operations, projects, access });
  // what the issue-7 areas build on: everything above, in one object
  const core = { store, blobs, bus, identity, config, attributes, anatomy, events, users, access, projects, operations, queries, entities, links, media };
  const eventStream = createEventStreamService(core);
  const activities = createActivitiesService(core);
  const addons = createAddonsService(core);
  const desktop = createDesktopService(core);
  const entityLists = createEntityListsService(core);
  const serviceRegistry = createServiceRegistry(core);
  return {
    version: AYON_VERSION,
    startedAt,
    store,
    attributes,
    anatomy,
    events,
    users,
    access,
    projects,
    operations,
    queries,
    entities,
    links,
    media,
    background,
    eventStream,
    activities,
    addons,
    desktop,
    entityLists,
    serviceRegistry,
    /** Deploys the built-in attributes; call once at start. */
    async init() {
      await attributes.ensureBuiltins();
      await users.assignMissingNames();
      await projects.resumePurges();
    },
  };
}

export type AyonServices = ReturnType<typeof createAyonServices>;

/** The core AYON services every issue-7 area receives (see createAyonServices). */
export interface AyonCoreDeps {
  store: Store;
  blobs: BlobStore;
  bus: EventBus;
  identity: IdentityService;
  config: AtriumConfig;
  attributes: ReturnType<typeof createAttributesService>;
  anatomy: ReturnType<typeof createAnatomyService>;
  events: ReturnType<typeof createAyonEvents>;
  users: ReturnType<typeof createAyonUsersService>;
  access: ReturnType<typeof createAccessPolicy>;
  projects: ReturnType<typeof createAyonProjectsService>;
  operations: ReturnType<typeof createOperationsService>;
  queries: ReturnType<typeof createQueries>;
  entities: ReturnType<typeof createEntitiesService>;
  links: ReturnType<typeof createLinksService>;
  media: ReturnType<typeof createMediaService>;
}
