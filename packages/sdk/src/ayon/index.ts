/** AYON: `AyonClient` mirrors ayon-python-api's ServerAPI in camelCase; `OperationsSession` batches writes. */
export { AyonClient, OperationsSession, parseAyonVersion, type AyonClientOptions, type OperationResult, type RestResponse, type ServerVersionTuple, type ThumbnailContent } from './client.js';
export { AyonError, AyonHttpError, AyonUnauthorizedError, AyonAuthenticationError, GraphQlQueryFailed, FailedOperations, type GraphQlErrorEntry } from './errors.js';
export { DEFAULT_FIELDS as AYON_DEFAULT_FIELDS, PAGE_SIZE as AYON_PAGE_SIZE, type EntityKind as AyonEntityKind } from './graphql.js';
// the method families below add themselves to AyonClient (declaration merging); each module may export its own types
export * from './events.js';
export * from './activities.js';
export * from './addons.js';
export * from './desktop.js';
export * from './lists.js';
export * from './realtime.js';
