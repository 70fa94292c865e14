/**
 * Errors of the AYON client. A REST answer with a status ≥ 400 becomes an AyonHttpError carrying
 * AYON's `{"code", "detail"}`; 401 is the AyonUnauthorizedError subclass; a GraphQL answer with
 * `errors` is a GraphQlQueryFailed (as ayon_api raises).
 */
export class AyonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AyonError';
  }
}

export class AyonHttpError extends AyonError {
  readonly status: number;
  readonly detail: string;
  readonly body: unknown;
  constructor(status: number, detail: string, body: unknown, url: string) {
    super(`${status} ${detail || 'error'} for url: ${url}`);
    this.name = 'AyonHttpError';
    this.status = status;
    this.detail = detail;
    this.body = body;
  }
}

export class AyonUnauthorizedError extends AyonHttpError {
  constructor(detail: string, body: unknown, url: string) {
    super(401, detail, body, url);
    this.name = 'AyonUnauthorizedError';
  }
}

export class AyonAuthenticationError extends AyonError {
  constructor(message: string) {
    super(message);
    this.name = 'AyonAuthenticationError';
  }
}

export interface GraphQlErrorEntry {
  message: string;
  path?: Array<string | number>;
  extensions?: Record<string, unknown>;
}

export class GraphQlQueryFailed extends AyonError {
  readonly errors: GraphQlErrorEntry[];
  constructor(errors: GraphQlErrorEntry[], query: string) {
    super(`GraphQl query Failed: ${errors.map((e) => e.message).join('; ')}`);
    this.name = 'GraphQlQueryFailed';
    this.errors = errors;
    void query;
  }
}

export class FailedOperations extends AyonError {
  readonly result: unknown;
  constructor(message: string, result?: unknown) {
    super(message);
    this.name = 'FailedOperations';
    this.result = result;
  }
}
