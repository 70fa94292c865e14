/** PySpeckle v1's `SpeckleApiClient` (the `speckle` 2.3.0 Python package) in TypeScript. */
export { SpeckleApiClient, SpeckleV1Error, V1_DEFAULT_HOST, withId, type SpeckleApiClientOptions, type RequestOptions } from './client.js';
export { AccountsResource, ApiClientsResource, CommentsResource, ObjectsResource, ProjectsResource, StreamsResource } from './resources.js';
export { V1WebSocket, type V1WebSocketFactory, type V1WebSocketLike, type V1WebSocketOptions } from './websocket.js';
export type * from './types.js';
