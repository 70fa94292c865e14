/**
 * `client.subscribe` — specklepy's SubscriptionResource: live events over a WebSocket at
 * `ws[s]://host/graphql` (see websocket.ts for the protocols). Each call opens its own socket and
 * resolves once the server has acknowledged the connection and the subscription is sent; the callback
 * then gets every event's message until `close()` (or the server ends it — see `Subscription.closed`).
 *
 * ```ts
 * const sub = await client.subscribe.projectVersionsUpdated((msg) => console.log(msg.type, msg.version?.id), projectId);
 * …
 * await sub.close();
 * ```
 *
 * Needs an authenticated client (specklepy: "You must authenticate before you can subscribe to events").
 */
import { SpeckleError } from '../errors.js';
import type {
  ProjectModelsUpdatedMessage,
  ProjectUpdatedMessage,
  ProjectVersionsUpdatedMessage,
  UserProjectsUpdatedMessage,
} from '../models/subscriptions.js';
import { ResourceBase, expectShape, isObject, type ResourceContext } from '../resource.js';
import {
  defaultWebSocketFactory,
  subscribeGraphQL,
  type SubscribeOptions,
  type Subscription,
  type WebSocketFactory,
} from '../websocket.js';

export const USER_PROJECTS_UPDATED_SUBSCRIPTION =
  'subscription UserProjectsUpdated {data:userProjectsUpdated {id project {id name description visibility allowPublicComments role createdAt updatedAt sourceApps workspaceId} type}}';
export const PROJECT_MODELS_UPDATED_SUBSCRIPTION =
  'subscription ProjectModelsUpdated($id: String!, $modelIds: [String!]) {data:projectModelsUpdated(id:$id,modelIds:$modelIds) {id model {id name previewUrl updatedAt description displayName createdAt author {avatar bio company id name role verified}} type}}';
export const PROJECT_UPDATED_SUBSCRIPTION =
  'subscription ProjectUpdated($id: String!) {data:projectUpdated(id:$id) {id project {id name description visibility allowPublicComments role createdAt updatedAt sourceApps workspaceId} type}}';
export const PROJECT_VERSIONS_UPDATED_SUBSCRIPTION =
  'subscription ProjectVersionsUpdated($id: String!) {data:projectVersionsUpdated(id:$id) {id modelId type version {id referencedObject message sourceApplication createdAt previewUrl authorUser {id name bio company verified role avatar}}}}';

/** What the subscription resource needs from its client. */
export interface SubscriptionContext extends ResourceContext {
  /** `ws[s]://host/graphql` */
  readonly wsUrl: string;
  readonly verifyCertificate: boolean;
  /** replaces the `ws` package */
  readonly webSocketFactory?: WebSocketFactory;
}

export class SubscriptionResource extends ResourceBase {
  readonly name = 'subscription';
  private factory: WebSocketFactory | undefined;

  constructor(protected override readonly context: SubscriptionContext) {
    super(context);
  }

  /** Projects added to or removed from the user's list. */
  userProjectsUpdated(callback: (message: UserProjectsUpdatedMessage) => void, options?: SubscribeOptions): Promise<Subscription> {
    return this.subscribe2(USER_PROJECTS_UPDATED_SUBSCRIPTION, null, callback, options);
  }

  /** Models of a project created, updated or deleted (all models, or only `modelIds`). */
  projectModelsUpdated(
    callback: (message: ProjectModelsUpdatedMessage) => void,
    id: string,
    modelIds?: string[] | null,
    options?: SubscribeOptions,
  ): Promise<Subscription> {
    return this.subscribe2(PROJECT_MODELS_UPDATED_SUBSCRIPTION, { id, modelIds: modelIds ?? null }, callback, options);
  }

  /** The project updated or deleted. */
  projectUpdated(callback: (message: ProjectUpdatedMessage) => void, id: string, options?: SubscribeOptions): Promise<Subscription> {
    return this.subscribe2(PROJECT_UPDATED_SUBSCRIPTION, { id }, callback, options);
  }

  /** Versions of a project created, updated or deleted. */
  projectVersionsUpdated(
    callback: (message: ProjectVersionsUpdatedMessage) => void,
    id: string,
    options?: SubscribeOptions,
  ): Promise<Subscription> {
    return this.subscribe2(PROJECT_VERSIONS_UPDATED_SUBSCRIPTION, { id }, callback, options);
  }

  /** specklepy `subscribe_2`: any subscription document whose root field is aliased `data`. */
  async subscribe2<T>(
    query: string,
    variables: Record<string, unknown> | null,
    callback: (message: T) => void,
    options?: SubscribeOptions,
  ): Promise<Subscription> {
    const token = this.context.account.token;
    if (!token) throw new SpeckleError('You must authenticate before you can subscribe to events');
    this.factory ??= this.context.webSocketFactory ?? (await defaultWebSocketFactory());
    return subscribeGraphQL(
      {
        url: this.context.wsUrl,
        token,
        query,
        variables,
        factory: this.factory,
        verifyCertificate: this.context.verifyCertificate,
        onData: (data) => {
          const message = data.data;
          expectShape(isObject(message) && typeof message.type === 'string', 'a subscription message must have a type', data);
          callback(message as T);
        },
      },
      options,
    );
  }
}
