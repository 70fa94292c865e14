/**
 * The one error type services throw. Each face maps `code` to its wire shape (Speckle GraphQL
 * `extensions.code`, Speckle REST `{"error":…}`, AYON `{"code","detail"}`).
 */
export type ErrorCode =
  | 'FORBIDDEN'
  | 'UNAUTHORIZED'
  | 'NOT_FOUND_ERROR'
  | 'BAD_REQUEST_ERROR'
  | 'USER_INPUT_ERROR'
  | 'TOKEN_CREATE_ERROR'
  | 'INVALID_TOKEN'
  | 'RATE_LIMIT_ERROR'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'INTERNAL'
  | 'STREAM_NOT_FOUND'
  | 'MODEL_NOT_FOUND'
  | 'BRANCH_NOT_FOUND'
  | 'COMMIT_NOT_FOUND'
  | 'BRANCH_NAME_ERROR'
  | 'COMMIT_CREATE_ERROR'
  | 'OBJECT_HANDLING_ERROR'
  | 'OBJECT_NOT_FOUND'
  | 'WORKSPACES_MODULE_DISABLED_ERROR'
  | 'STREAM_INVALID_ACCESS_ERROR';

const STATUS: Record<ErrorCode, number> = {
  FORBIDDEN: 403,
  UNAUTHORIZED: 401,
  NOT_FOUND_ERROR: 404,
  BAD_REQUEST_ERROR: 400,
  USER_INPUT_ERROR: 400,
  TOKEN_CREATE_ERROR: 400,
  INVALID_TOKEN: 403,
  RATE_LIMIT_ERROR: 429,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  INTERNAL: 500,
  STREAM_NOT_FOUND: 404,
  MODEL_NOT_FOUND: 404,
  BRANCH_NOT_FOUND: 404,
  COMMIT_NOT_FOUND: 404,
  BRANCH_NAME_ERROR: 400,
  COMMIT_CREATE_ERROR: 400,
  OBJECT_HANDLING_ERROR: 400,
  OBJECT_NOT_FOUND: 404,
  WORKSPACES_MODULE_DISABLED_ERROR: 403,
  STREAM_INVALID_ACCESS_ERROR: 400,
};

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** extra wire data, e.g. retryAfterMs for rate limits */
  readonly info?: Record<string, unknown>;
  constructor(code: ErrorCode, message: string, info?: Record<string, unknown>) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.status = STATUS[code];
    this.info = info;
  }
}

export const isAppError = (e: unknown): e is AppError => e instanceof AppError;
