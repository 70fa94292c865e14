/**
 * The error AYON rules throw. `status` is the HTTP status (the REST body's integer `code`),
 * `errorCode` the string code batch-operation results carry (`not-found`, `delete-folder-with-children` …).
 * The face maps it to `{"code": status, "detail": message}`.
 */
export class AyonError extends Error {
  readonly status: number;
  readonly errorCode: string | undefined;
  readonly extra?: Record<string, unknown>;
  constructor(status: number, detail: string, errorCode?: string, extra?: Record<string, unknown>) {
    super(detail);
    this.name = 'AyonError';
    this.status = status;
    this.errorCode = errorCode ?? DEFAULT_CODES[status];
    this.extra = extra;
  }
}

const DEFAULT_CODES: Record<number, string> = {
  400: 'bad-request',
  401: 'not-logged-in',
  403: 'forbidden',
  404: 'not-found',
  409: 'conflict',
  413: 'payload-too-large',
  415: 'unsupported-media',
  416: 'range-not-satisfiable',
  429: 'too-many-requests',
  503: 'service-unavailable',
};

export const isAyonError = (e: unknown): e is AyonError => e instanceof AyonError;

export const badRequest = (detail: string, code?: string) => new AyonError(400, detail, code);
export const invalidData = (detail: string) => new AyonError(400, detail, 'invalid_data');
export const forbidden = (detail = 'Forbidden') => new AyonError(403, detail);
export const notFound = (detail = 'Not found') => new AyonError(404, detail);
export const conflict = (detail: string, code?: string) => new AyonError(409, detail, code);
