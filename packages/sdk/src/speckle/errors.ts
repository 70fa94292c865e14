/**
 * Errors thrown by the Speckle client.
 *
 * specklepy has two call styles: most resources raise, while the legacy ServerResource methods
 * (`get`, `apps`, `create_token`, `revoke_token`) *return* the exception object. This SDK always
 * throws, so every failure can be caught with `instanceof SpeckleError`:
 *
 * - {@link GraphQLError}: the server answered with a GraphQL `errors` array (any HTTP status, even
 *   with partial `data`), e.g. FORBIDDEN for a missing scope. Carries every message and code.
 * - {@link SpeckleAuthError}: HTTP 401/403 without GraphQL errors, e.g. Speckle's
 *   403 `{"error":"Your token is not valid."}` for an invalid, expired or revoked token.
 * - {@link SpeckleTransportError}: anything else on the way: network failure, timeout, another
 *   HTTP error status, a body that is not JSON, or an answer without the data the call expects.
 */

/** Base class of every error this SDK throws. */
export class SpeckleError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** One entry of a GraphQL `errors` array, as the server sent it. */
export interface GraphQLErrorEntry {
  message: string;
  locations?: { line: number; column: number }[];
  path?: (string | number)[];
  extensions?: { code?: string; statusCode?: number; [key: string]: unknown };
  [key: string]: unknown;
}

/** The server answered with a GraphQL `errors` array. */
export class GraphQLError extends SpeckleError {
  /** the server's errors, unchanged */
  readonly errors: GraphQLErrorEntry[];
  /** `extensions.code` of the first error that has one (e.g. `FORBIDDEN`), else undefined */
  readonly code: string | undefined;
  /** HTTP status of the answer (Speckle uses 200 for most GraphQL errors, 400 for validation errors) */
  readonly status: number;
  /** partial `data` that came with the errors, if any */
  readonly data: unknown;

  constructor(errors: GraphQLErrorEntry[], status: number, data?: unknown) {
    super(errors.map((e) => e.message).join('; ') || 'GraphQL request failed');
    this.errors = errors;
    this.code = errors.map((e) => e.extensions?.code).find((c): c is string => typeof c === 'string');
    this.status = status;
    this.data = data ?? null;
  }

  /** every `extensions.code` present, in order */
  get codes(): string[] {
    return this.errors.map((e) => e.extensions?.code).filter((c): c is string => typeof c === 'string');
  }
}

/** HTTP 401 or 403 without a GraphQL `errors` array: the token was refused. */
export class SpeckleAuthError extends SpeckleError {
  readonly status: number;
  /** the raw response body (e.g. `{"error":"Your token is not valid."}`) */
  readonly body: string;

  constructor(message: string, status: number, body: string) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** Network failure, timeout, unexpected HTTP status or an answer this client cannot use. */
export class SpeckleTransportError extends SpeckleError {
  /** HTTP status, when a response arrived */
  readonly status: number | undefined;
  /** the raw response body, when a response arrived */
  readonly body: string | undefined;

  constructor(message: string, options?: { status?: number; body?: string; cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.status = options?.status;
    this.body = options?.body;
  }
}
