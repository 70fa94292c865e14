/** AYON: `AyonClient` mirrors ayon-python-api's ServerAPI in camelCase; `OperationsSession` batches writes. */
export { AyonClient, OperationsSession, parseAyonVersion, type AyonClientOptions, type OperationResult, type RestResponse, type ServerVersionTuple, type ThumbnailContent } from './client.js';
export { AyonError, AyonHttpError, AyonUnauthorizedError, AyonAuthenticationError, GraphQlQueryFailed, FailedOperations, type GraphQlErrorEntry } from './errors.js';
export { DEFAULT_FIELDS as AYON_DEFAULT_FIELDS, PAGE_SIZE as AYON_PAGE_SIZE, type EntityKind as AyonEntityKind } from './graphql.js';
