/**
 * Every setting of the server, typed and validated, with the environment variable it comes from.
 * A bad value is a ConfigError; `atrium serve` prints it and exits with code 2.
 */
import path from 'node:path';
import { z } from 'zod';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const MB = 1024 * 1024;

const intFrom = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const boolFrom = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'].includes(v), 'must be true or false')
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));

const urlFrom = z
  .string()
  .trim()
  .url('must be a URL such as https://atrium.example.com')
  .refine((v) => /^https?:\/\//.test(v), 'must start with http:// or https://')
  .transform((v) => v.replace(/\/+$/, ''));

/** Each entry: environment variable → how it is parsed. Flags of `atrium serve` map onto the same names. */
const envSchema = z.object({
  ATRIUM_PORT: intFrom(0, 65535).default('3000'),
  ATRIUM_HOST: z.string().trim().min(1).default('127.0.0.1'),
  ATRIUM_AYON_PORT: intFrom(0, 65535).optional(),
  ATRIUM_AYON_EVENT_RETENTION_DAYS: intFrom(0, 36500).optional(),
  ATRIUM_DATA_DIR: z.string().trim().min(1).default('./data'),
  ATRIUM_PUBLIC_URL: urlFrom.optional(),
  ATRIUM_DATABASE_URL: z
    .string()
    .trim()
    .refine(
      (v) => /^postgres(ql)?:\/\//.test(v) || /^sqlite:/.test(v),
      'must be postgres://user:pass@host:port/db or sqlite:/path/to/file.db',
    )
    .optional(),
  ATRIUM_DB_POOL_SIZE: intFrom(1, 1000).default('10'),
  ATRIUM_BLOB_STORE: z.enum(['fs', 's3']).default('fs'),
  ATRIUM_S3_ENDPOINT: urlFrom.optional(),
  ATRIUM_S3_REGION: z.string().trim().min(1).default('us-east-1'),
  ATRIUM_S3_BUCKET: z.string().trim().min(3).optional(),
  ATRIUM_S3_ACCESS_KEY: z.string().min(1).optional(),
  ATRIUM_S3_SECRET_KEY: z.string().min(1).optional(),
  ATRIUM_S3_FORCE_PATH_STYLE: boolFrom.default('true'),
  ATRIUM_S3_PREFIX: z.string().default(''),
  ATRIUM_MAX_OBJECT_SIZE_MB: intFrom(1, 10_000).default('100'),
  ATRIUM_MAX_REQUEST_BODY_MB: intFrom(1, 10_000).default('100'),
  ATRIUM_MAX_UPLOAD_PART_MB: intFrom(1, 10_000).default('100'),
  ATRIUM_SERVER_NAME: z.string().trim().min(1).default('My new Speckle Server'),
  ATRIUM_SERVER_VERSION: z.string().trim().min(1).default('2.31.14'),
  ATRIUM_ADMIN_EMAIL: z.string().trim().email('must be an email address').optional(),
  ATRIUM_ADMIN_PASSWORD: z.string().optional(),
  ATRIUM_ADMIN_NAME: z.string().trim().min(1).default('Administrator'),
  ATRIUM_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ATRIUM_LOGIN_RATE_LIMIT: intFrom(0, 100_000).default('10'),
  ATRIUM_LOGIN_RATE_WINDOW_S: intFrom(1, 86_400).default('600'),
  ATRIUM_JOB_WORKERS: intFrom(0, 64).default('1'),
  ATRIUM_JOB_POLL_MS: intFrom(10, 60_000).default('500'),
  ATRIUM_SHUTDOWN_TIMEOUT_MS: intFrom(0, 600_000).default('10000'),
  ATRIUM_WS_AUTH_RECHECK_S: intFrom(1, 86_400).default('30'),
  ATRIUM_TRUST_PROXY: boolFrom.default('false'),
  ATRIUM_TLS_CERT: z.string().trim().min(1).optional(),
  ATRIUM_TLS_KEY: z.string().trim().min(1).optional(),
});

export type DatabaseConfig =
  | { kind: 'sqlite'; file: string }
  | { kind: 'postgres'; url: string; poolSize: number };

export type BlobConfig =
  | { kind: 'fs'; root: string }
  | {
      kind: 's3';
      endpoint?: string;
      region: string;
      bucket: string;
      accessKeyId?: string;
      secretAccessKey?: string;
      forcePathStyle: boolean;
      prefix: string;
    };

export interface AtriumConfig {
  port: number;
  /** second port serving the AYON face at its root (unset: AYON only at /ayon on the main port) */
  ayonPort?: number;
  host: string;
  dataDir: string;
  /** Origin clients use to reach the server, without trailing slash. */
  publicUrl: string;
  database: DatabaseConfig;
  blobs: BlobConfig;
  limits: {
    objectSizeBytes: number;
    requestBodyBytes: number;
    uploadPartBytes: number;
  };
  server: { name: string; version: string };
  firstAdmin?: { email: string; password: string; name: string };
  logLevel: string;
  loginRateLimit: { max: number; windowMs: number };
  jobs: { workers: number; pollMs: number };
  shutdownTimeoutMs: number;
  /** how often an open subscription socket re-checks its token (revoked/expired tokens are disconnected) */
  wsAuthRecheckMs: number;
  tls?: { certFile: string; keyFile: string };
  /** trust X-Forwarded-* (only behind a reverse proxy) */
  trustProxy: boolean;
}

export type Env = Record<string, string | undefined>;

/** Reads and validates settings; throws ConfigError naming every bad variable. */
export function loadConfig(env: Env = process.env): AtriumConfig {
  const present: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v !== '') present[key] = v;
  }
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const name = String(i.path[0]);
      const given = present[name];
      const shown = name.includes('SECRET') || name.includes('PASSWORD') ? '***' : JSON.stringify(given);
      return `  ${name}=${shown}: ${i.message}`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.ATRIUM_DATA_DIR);
  const tls =
    e.ATRIUM_TLS_CERT || e.ATRIUM_TLS_KEY
      ? (() => {
          if (!e.ATRIUM_TLS_CERT || !e.ATRIUM_TLS_KEY)
            throw new ConfigError('invalid configuration:\n  ATRIUM_TLS_CERT and ATRIUM_TLS_KEY must be set together');
          return { certFile: path.resolve(e.ATRIUM_TLS_CERT), keyFile: path.resolve(e.ATRIUM_TLS_KEY) };
        })()
      : undefined;
  const scheme = tls ? 'https' : 'http';
  const shownHost = e.ATRIUM_HOST === '0.0.0.0' || e.ATRIUM_HOST === '::' ? 'localhost' : e.ATRIUM_HOST;

  let database: DatabaseConfig;
  const dbUrl = e.ATRIUM_DATABASE_URL;
  if (!dbUrl) database = { kind: 'sqlite', file: path.join(dataDir, 'atrium.db') };
  else if (dbUrl.startsWith('sqlite:')) {
    const file = dbUrl.slice('sqlite:'.length).replace(/^\/\//, '');
    database = { kind: 'sqlite', file: file === ':memory:' ? file : path.resolve(file) };
  } else database = { kind: 'postgres', url: dbUrl, poolSize: e.ATRIUM_DB_POOL_SIZE };

  let blobs: BlobConfig;
  if (e.ATRIUM_BLOB_STORE === 's3') {
    if (!e.ATRIUM_S3_BUCKET)
      throw new ConfigError('invalid configuration:\n  ATRIUM_S3_BUCKET: required when ATRIUM_BLOB_STORE=s3');
    blobs = {
      kind: 's3',
      endpoint: e.ATRIUM_S3_ENDPOINT,
      region: e.ATRIUM_S3_REGION,
      bucket: e.ATRIUM_S3_BUCKET,
      accessKeyId: e.ATRIUM_S3_ACCESS_KEY,
      secretAccessKey: e.ATRIUM_S3_SECRET_KEY,
      forcePathStyle: e.ATRIUM_S3_FORCE_PATH_STYLE,
      prefix: e.ATRIUM_S3_PREFIX,
    };
  } else blobs = { kind: 'fs', root: path.join(dataDir, 'blobs') };

  let firstAdmin: AtriumConfig['firstAdmin'];
  if (e.ATRIUM_ADMIN_EMAIL || e.ATRIUM_ADMIN_PASSWORD) {
    if (!e.ATRIUM_ADMIN_EMAIL || !e.ATRIUM_ADMIN_PASSWORD)
      throw new ConfigError(
        'invalid configuration:\n  ATRIUM_ADMIN_EMAIL and ATRIUM_ADMIN_PASSWORD must be set together',
      );
    firstAdmin = { email: e.ATRIUM_ADMIN_EMAIL, password: e.ATRIUM_ADMIN_PASSWORD, name: e.ATRIUM_ADMIN_NAME };
  }

  return {
    port: e.ATRIUM_PORT,
    ayonPort: e.ATRIUM_AYON_PORT,
    host: e.ATRIUM_HOST,
    dataDir,
    publicUrl: e.ATRIUM_PUBLIC_URL ?? `${scheme}://${shownHost}:${e.ATRIUM_PORT}`,
    database,
    blobs,
    limits: {
      objectSizeBytes: e.ATRIUM_MAX_OBJECT_SIZE_MB * MB,
      requestBodyBytes: e.ATRIUM_MAX_REQUEST_BODY_MB * MB,
      uploadPartBytes: e.ATRIUM_MAX_UPLOAD_PART_MB * MB,
    },
    server: { name: e.ATRIUM_SERVER_NAME, version: e.ATRIUM_SERVER_VERSION },
    firstAdmin,
    logLevel: e.ATRIUM_LOG_LEVEL,
    loginRateLimit: { max: e.ATRIUM_LOGIN_RATE_LIMIT, windowMs: e.ATRIUM_LOGIN_RATE_WINDOW_S * 1000 },
    jobs: { workers: e.ATRIUM_JOB_WORKERS, pollMs: e.ATRIUM_JOB_POLL_MS },
    shutdownTimeoutMs: e.ATRIUM_SHUTDOWN_TIMEOUT_MS,
    wsAuthRecheckMs: e.ATRIUM_WS_AUTH_RECHECK_S * 1000,
    tls,
    trustProxy: e.ATRIUM_TRUST_PROXY,
  };
}

/** Flags of `atrium serve` and their environment variables. */
export const serveFlags: Array<{ flag: string; env: keyof z.infer<typeof envSchema>; help: string }> = [
  { flag: '--port <n>', env: 'ATRIUM_PORT', help: 'port to listen on (default 3000)' },
  { flag: '--host <addr>', env: 'ATRIUM_HOST', help: 'address to bind (default 127.0.0.1)' },
  { flag: '--data-dir <dir>', env: 'ATRIUM_DATA_DIR', help: 'data directory (default ./data)' },
  { flag: '--public-url <url>', env: 'ATRIUM_PUBLIC_URL', help: 'URL clients use to reach this server' },
  { flag: '--database-url <url>', env: 'ATRIUM_DATABASE_URL', help: 'postgres://… (default: SQLite in the data dir)' },
  { flag: '--log-level <level>', env: 'ATRIUM_LOG_LEVEL', help: 'fatal|error|warn|info|debug|trace|silent' },
];
