/**
 * GraphQL subscriptions of the Speckle face (the websocket transport is in ../../subscriptions.ts).
 *
 * Each subscription checks its guards and the project read access when it starts; its source stream
 * then listens to the event bus, keeps only the events its arguments select, re-checks access on
 * every event (a member removed from a project stops receiving) and loads the project, model or
 * version fresh (null when deleted). Events are handled one at a time, in the order published.
 */
import type { SpeckleContext } from '../context.js';
import { checkScope, requireServerRole } from '../context.js';
import type { SchemaModule } from '../executor.js';
import type { AuthContext } from '../../../../services/identity.js';
import {
  SpeckleChannels,
  type ModelEvent,
  type Project,
  type ProjectEvent,
  type UserProjectsEvent,
  type VersionEvent,
} from '../../../../services/projects.js';

const typeDefs = /* GraphQL */ `
enum UserProjectsUpdatedMessageType { ADDED REMOVED }
type UserProjectsUpdatedMessage {
  "Project ID"
  id: String!
  "Project entity, null if project was deleted or the user lost access to it"
  project: Project
  type: UserProjectsUpdatedMessageType!
}

enum ProjectUpdatedMessageType { UPDATED DELETED }
type ProjectUpdatedMessage {
  "Project ID"
  id: String!
  "Project entity, null if project was deleted"
  project: Project
  type: ProjectUpdatedMessageType!
}

enum ProjectModelsUpdatedMessageType { CREATED UPDATED DELETED }
type ProjectModelsUpdatedMessage {
  "Model ID"
  id: String!
  "Null if model was deleted"
  model: Model
  type: ProjectModelsUpdatedMessageType!
}

enum ProjectVersionsUpdatedMessageType { CREATED UPDATED DELETED }
type ProjectVersionsUpdatedMessage {
  "Version ID"
  id: String!
  "Only set if version was deleted, in other cases you can access the model through the version"
  modelId: String!
  type: ProjectVersionsUpdatedMessageType!
  "Null if version was deleted"
  version: Version
}

type Subscription {
  "Track newly added or deleted projects owned by the active user"
  userProjectsUpdated: UserProjectsUpdatedMessage!
  "Track updates to a specific project"
  projectUpdated(id: String!): ProjectUpdatedMessage!
  "Subscribe to changes to a project's models. Optionally specify modelIds to track."
  projectModelsUpdated(id: String!, modelIds: [String!]): ProjectModelsUpdatedMessage!
  "Subscribe to changes to a project's versions."
  projectVersionsUpdated(id: String!): ProjectVersionsUpdatedMessage!

  userStreamAdded: JSONObject @deprecated(reason: "Use userProjectsUpdated instead")
  userStreamRemoved: JSONObject @deprecated(reason: "Use userProjectsUpdated instead")
  streamUpdated(streamId: String): JSONObject @deprecated(reason: "Use projectUpdated instead")
  streamDeleted(streamId: String): JSONObject @deprecated(reason: "Use projectUpdated instead")
  branchCreated(streamId: String!): JSONObject @deprecated(reason: "Use projectModelsUpdated instead")
  branchUpdated(streamId: String!, branchId: String): JSONObject @deprecated(reason: "Use projectModelsUpdated instead")
  branchDeleted(streamId: String!): JSONObject @deprecated(reason: "Use projectModelsUpdated instead")
  commitCreated(streamId: String!): JSONObject @deprecated(reason: "Use projectVersionsUpdated instead")
  commitUpdated(streamId: String!, commitId: String): JSONObject @deprecated(reason: "Use projectVersionsUpdated instead")
  commitDeleted(streamId: String!): JSONObject @deprecated(reason: "Use projectVersionsUpdated instead")
}
`;

/** Events waiting in one subscription before the oldest are dropped (a client that cannot keep up). */
export const MAX_QUEUED_EVENTS = 1000;

/**
 * An async iterator over bus events: subscribes at once (so nothing published after the
 * subscription started is missed), then hands events to `map` one at a time, in order; `map`
 * returns undefined to skip one. `return()` unsubscribes.
 */
export function busEventStream<T>(
  ctx: SpeckleContext,
  channels: readonly string[],
  map: (payload: any, channel: string) => Promise<T | undefined>,
): AsyncIterableIterator<T> {
  const queue: Array<{ payload: unknown; channel: string }> = [];
  let wake: (() => void) | null = null;
  let done = false;
  const offs = channels.map((c) =>
    ctx.services.bus.subscribe(c, (payload, channel) => {
      if (done) return;
      queue.push({ payload, channel });
      if (queue.length > MAX_QUEUED_EVENTS) queue.shift();
      wake?.();
    }),
  );
  const finish = () => {
    if (done) return;
    done = true;
    for (const off of offs) off();
    queue.length = 0;
    wake?.();
  };
  const it: AsyncIterableIterator<T> = {
    async next(): Promise<IteratorResult<T>> {
      for (;;) {
        if (done) return { done: true, value: undefined };
        const ev = queue.shift();
        if (!ev) {
          await new Promise<void>((r) => (wake = r));
          wake = null;
          continue;
        }
        let value: T | undefined;
        try {
          value = await map(ev.payload, ev.channel);
        } catch (err) {
          finish();
          throw err;
        }
        if (value !== undefined && !done) return { done: false, value };
      }
    },
    async return(): Promise<IteratorResult<T>> {
      finish();
      return { done: true, value: undefined };
    },
    async throw(err?: unknown): Promise<IteratorResult<T>> {
      finish();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return it;
    },
  };
  return it;
}

type Authed = Extract<AuthContext, { auth: true }>;

/**
 * Work shared by every subscription that handles the same bus event (the bus hands all its listeners
 * the same payload object): the entity loaded for the message, and the access check per token.
 */
const perEvent = new WeakMap<object, Map<string, Promise<unknown>>>();
function eventMemo<T>(ev: object, key: string, load: () => Promise<T>): Promise<T> {
  let m = perEvent.get(ev);
  if (!m) perEvent.set(ev, (m = new Map()));
  let p = m.get(key) as Promise<T> | undefined;
  if (!p) m.set(key, (p = load()));
  return p;
}
const tokenKey = (auth: AuthContext) => (auth.auth ? auth.tokenId : 'anonymous');

/** `@hasServerRole(guest)` + `@hasScope(scope)`, in Speckle's order. Anonymous sockets never get here. */
function guard(ctx: SpeckleContext, scope: string): Authed {
  const auth = requireServerRole(ctx, 'guest');
  checkScope(ctx, scope);
  return auth;
}

/**
 * Project read access, checked at subscribe time (throws the Speckle error) and again on each event.
 * A deleted project cannot be checked any more: its DELETED event goes to those whose last check passed.
 */
async function projectAccess(ctx: SpeckleContext, projectId: string) {
  guard(ctx, 'streams:read');
  await ctx.services.projects.authorize(ctx.auth, projectId, 'read');
  let lastOk = true;
  return {
    /** the fresh project when still readable; null when it no longer exists (and access was last ok); undefined: skip */
    async recheck(ev: object): Promise<Project | null | undefined> {
      const { result, project } = await eventMemo(ev, `check:${tokenKey(ctx.auth)}:${projectId}`, () =>
        ctx.services.projects.check(ctx.auth, projectId, 'read'),
      );
      if (result.ok) {
        lastOk = true;
        return project!;
      }
      if (result.denial === 'ProjectNotFound') return lastOk ? null : undefined;
      lastOk = false;
      return undefined;
    },
  };
}

const iso = (ms: number) => new Date(ms).toISOString();
const loadModel = (ev: ModelEvent | VersionEvent, ctx: SpeckleContext) =>
  eventMemo(ev, 'model', () => ctx.services.projects.getModel(ev.projectId, ev.modelId));
const loadVersion = (ev: VersionEvent, ctx: SpeckleContext) =>
  eventMemo(ev, 'version', () => ctx.services.projects.getVersion(ev.projectId, ev.versionId));

/** A resolver map entry for a subscription field: `subscribe` builds the source stream; the event is the field value. */
function field<A>(subscribe: (args: A, ctx: SpeckleContext) => Promise<AsyncIterableIterator<unknown>>) {
  return {
    subscribe: (_root: unknown, args: A, ctx: SpeckleContext) => subscribe(args, ctx),
    resolve: (event: unknown) => event,
  };
}

/** Project-scoped subscription on one channel: filter by project (and `accept`), re-check access, build the message. */
function projectScoped<A, E extends { projectId: string }>(
  channel: string,
  projectIdOf: (args: A) => string | null | undefined,
  build: (ev: E, project: Project | null, ctx: SpeckleContext) => Promise<unknown | undefined>,
  accept: (ev: E, args: A) => boolean = () => true,
) {
  return field<A>(async (args, ctx) => {
    const projectId = projectIdOf(args);
    if (!projectId) {
      // Speckle's legacy streamUpdated(streamId: null) matches nothing; still apply the guards.
      guard(ctx, 'streams:read');
      return busEventStream(ctx, [], async () => undefined);
    }
    const access = await projectAccess(ctx, projectId);
    return busEventStream(ctx, [channel], async (ev: E) => {
      if (ev.projectId !== projectId || !accept(ev, args)) return undefined;
      const project = await access.recheck(ev);
      if (project === undefined) return undefined;
      return build(ev, project, ctx);
    });
  });
}

/** The active user's own membership changes. */
function userScoped(build: (ev: UserProjectsEvent, project: Project | null) => unknown) {
  return field<Record<string, never>>(async (_args, ctx) => {
    const auth = guard(ctx, 'profile:read');
    return busEventStream(ctx, [SpeckleChannels.userProjects], async (ev: UserProjectsEvent) => {
      if (ev.userId !== auth.userId) return undefined;
      let project: Project | null = null;
      if (ev.type === 'ADDED') {
        const { result, project: p } = await eventMemo(ev, `check:${tokenKey(ctx.auth)}:${ev.projectId}`, () =>
          ctx.services.projects.check(ctx.auth, ev.projectId, 'read'),
        );
        // a token limited to other projects does not hear about this one
        if (!result.ok && result.denial === 'ResourceNotAllowed') return undefined;
        project = result.ok ? p : null;
      } else if (auth.resourceAccess && !auth.resourceAccess.some((r) => r.type === 'project' && r.id === ev.projectId)) {
        return undefined;
      }
      return build(ev, project);
    });
  });
}

const legacyStream = (p: Project) => ({
  id: p.id,
  name: p.name,
  description: p.description,
  isPublic: p.visibility !== 'private',
  isDiscoverable: p.visibility === 'public',
  allowPublicComments: p.allowPublicComments,
  createdAt: iso(p.createdAt),
  updatedAt: iso(p.updatedAt),
});

export const subscriptionsModule: SchemaModule = {
  typeDefs,
  resolvers: {
    Subscription: {
      userProjectsUpdated: userScoped((ev, project) => ({ id: ev.projectId, type: ev.type, project })),

      projectUpdated: projectScoped<{ id: string }, ProjectEvent>(SpeckleChannels.project, (a) => a.id, async (ev, project) => ({
        id: ev.projectId,
        type: ev.type,
        project: ev.type === 'DELETED' ? null : project,
      })),

      projectModelsUpdated: projectScoped<{ id: string; modelIds?: string[] | null }, ModelEvent>(
        SpeckleChannels.models,
        (a) => a.id,
        async (ev, project, ctx) => ({
          id: ev.modelId,
          type: ev.type,
          model: ev.type === 'DELETED' || !project ? null : await loadModel(ev, ctx),
        }),
        (ev, a) => !a.modelIds?.length || a.modelIds.includes(ev.modelId),
      ),

      projectVersionsUpdated: projectScoped<{ id: string }, VersionEvent>(SpeckleChannels.versions, (a) => a.id, async (ev, project, ctx) => ({
        id: ev.versionId,
        modelId: ev.modelId,
        type: ev.type,
        version: ev.type === 'DELETED' || !project ? null : await loadVersion(ev, ctx),
      })),

      // ---------------------------------------------------------------- legacy (JSONObject payloads)

      userStreamAdded: userScoped((ev, project) => (ev.type === 'ADDED' ? (project ? legacyStream(project) : { id: ev.projectId }) : undefined)),
      userStreamRemoved: userScoped((ev) => (ev.type === 'REMOVED' ? { id: ev.projectId } : undefined)),

      streamUpdated: projectScoped<{ streamId?: string | null }, ProjectEvent>(
        SpeckleChannels.project,
        (a) => a.streamId,
        async (_ev, project) => (project ? legacyStream(project) : undefined),
        (ev) => ev.type === 'UPDATED',
      ),
      streamDeleted: projectScoped<{ streamId?: string | null }, ProjectEvent>(
        SpeckleChannels.project,
        (a) => a.streamId,
        async (ev) => ({ streamId: ev.projectId }),
        (ev) => ev.type === 'DELETED',
      ),

      branchCreated: projectScoped<{ streamId: string }, ModelEvent>(
        SpeckleChannels.models,
        (a) => a.streamId,
        async (ev, _p, ctx) => {
          const m = await loadModel(ev, ctx);
          return m
            ? { id: m.id, streamId: m.projectId, name: m.name, description: m.description, authorId: m.authorId, createdAt: iso(m.createdAt), updatedAt: iso(m.updatedAt) }
            : undefined;
        },
        (ev) => ev.type === 'CREATED',
      ),
      branchUpdated: projectScoped<{ streamId: string; branchId?: string | null }, ModelEvent>(
        SpeckleChannels.models,
        (a) => a.streamId,
        async (ev, _p, ctx) => {
          const m = await loadModel(ev, ctx);
          return m ? { id: m.id, streamId: m.projectId, name: m.name, description: m.description } : undefined;
        },
        (ev, a) => ev.type === 'UPDATED' && (!a.branchId || a.branchId === ev.modelId),
      ),
      branchDeleted: projectScoped<{ streamId: string }, ModelEvent>(
        SpeckleChannels.models,
        (a) => a.streamId,
        async (ev) => ({ id: ev.modelId, streamId: ev.projectId }),
        (ev) => ev.type === 'DELETED',
      ),

      commitCreated: projectScoped<{ streamId: string }, VersionEvent>(
        SpeckleChannels.versions,
        (a) => a.streamId,
        async (ev, _p, ctx) => {
          const v = await loadVersion(ev, ctx);
          if (!v) return undefined;
          const m = await loadModel(ev, ctx);
          return {
            id: v.id,
            streamId: v.projectId,
            branchName: m?.name ?? null,
            objectId: v.referencedObject,
            message: v.message,
            sourceApplication: v.sourceApplication,
            totalChildrenCount: v.totalChildrenCount,
            parents: v.parents,
            authorId: v.authorId,
            createdAt: iso(v.createdAt),
          };
        },
        (ev) => ev.type === 'CREATED',
      ),
      commitUpdated: projectScoped<{ streamId: string; commitId?: string | null }, VersionEvent>(
        SpeckleChannels.versions,
        (a) => a.streamId,
        async (ev, _p, ctx) => {
          const v = await loadVersion(ev, ctx);
          return v ? { id: v.id, streamId: v.projectId, message: v.message } : undefined;
        },
        (ev, a) => ev.type === 'UPDATED' && (!a.commitId || a.commitId === ev.versionId),
      ),
      commitDeleted: projectScoped<{ streamId: string }, VersionEvent>(
        SpeckleChannels.versions,
        (a) => a.streamId,
        async (ev) => ({ id: ev.versionId, streamId: ev.projectId }),
        (ev) => ev.type === 'DELETED',
      ),
    },
  },
};
