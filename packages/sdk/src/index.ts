/**
 * @atrium/sdk — TypeScript clients for Atrium and the servers it stands in for.
 *
 * Speckle: `SpeckleClient` mirrors specklepy's client in camelCase and speaks Speckle's GraphQL wire
 * protocol, so it works against Atrium and against a Speckle server: server, activeUser, otherUser,
 * project, model, version and projectInvite resources, and `subscribe` over WebSocket. `Base` and the
 * serializer reproduce specklepy's object ids byte for byte; `operations.send/receive` move objects
 * over the REST object routes. Every failure is thrown as a `SpeckleError` subclass (specklepy's server
 * resource returns errors instead).
 */
export { SpeckleClient, DEFAULT_HOST, PROBE_TIMEOUT_MS, SDK_NAME, SDK_VERSION, type SpeckleClientOptions } from './speckle/client.js';
export {
  SpeckleError,
  GraphQLError,
  SpeckleAuthError,
  SpeckleTransportError,
  type GraphQLErrorEntry,
} from './speckle/errors.js';
export {
  SpeckleTransport,
  DEFAULT_RETRY,
  parseGraphQLAnswer,
  parseRetryAfter,
  type FetchLike,
  type GraphQLRequestOptions,
  type HttpRequest,
  type RetryOptions,
  type TransportOptions,
} from './speckle/transport.js';
export { createInsecureFetch } from './speckle/insecureFetch.js';
export { normaliseHost, serverEndpoints, type ServerEndpoints } from './speckle/host.js';
export { parseServerVersion, type ServerVersion } from './speckle/version.js';
export { ResourceBase, type ResourceContext } from './speckle/resource.js';
export * from './speckle/resources/server.js';
export * from './speckle/resources/activeUser.js';
export * from './speckle/resources/otherUser.js';
export * from './speckle/resources/project.js';
export * from './speckle/resources/model.js';
export * from './speckle/resources/version.js';
export * from './speckle/resources/version-datasets.js';
export * from './speckle/resources/projectInvite.js';
export * from './speckle/resources/subscription.js';
export { inputs, DEFAULT_SOURCE_APPLICATION } from './speckle/inputs.js';
export {
  subscribeGraphQL,
  defaultWebSocketFactory,
  SUBSCRIPTION_PROTOCOLS,
  type GraphQLSubscriptionRequest,
  type SubscribeOptions,
  type Subscription,
  type SubscriptionProtocol,
  type WebSocketFactory,
  type WebSocketLike,
} from './speckle/websocket.js';
export type * from './speckle/models/index.js';
export {
  Base,
  DataChunk,
  registerType,
  getRegisteredType,
  speckleTypeOf,
  setSpeckleType,
  validatePropName,
  compareCodePoints,
  serializableMembers,
  floatMembersOf,
  markFloatMember,
  type BaseClass,
} from './speckle/objects/base.js';
export {
  SpeckleFloat,
  float,
  formatFloat,
  formatNumber,
  encodeString,
  ujsonDumps,
  type FloatArray,
  type IntArray,
} from './speckle/objects/ujson.js';
export {
  BaseObjectSerializer,
  serialize,
  getId,
  hashJson,
  type ObjectRecord,
  type SerializeOptions,
  type SerializeResult,
} from './speckle/objects/serializer.js';
export {
  BaseObjectDeserializer,
  deserialize,
  parseKeepingFloats,
  type DeserializeOptions,
  type ObjectSource,
} from './speckle/objects/deserializer.js';
export * from './speckle/objects/geometry.js';
export {
  operations,
  send,
  receive,
  makeBatches,
  recordsToSend,
  SEND_DEFAULTS,
  type ObjectCache,
  type SendOptions,
  type SendProgress,
  type ReceiveOptions,
  type ReceiveProgress,
} from './speckle/operations.js';
export {
  ServerObjectTransport,
  OBJECT_ROUTES_RETRY,
  pythonJsonList,
  type ObjectRoutesClient,
} from './speckle/serverTransport.js';
export * from './speckle-v1/index.js';
export * from './ayon/index.js';
