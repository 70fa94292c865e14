/**
 * The `atrium` command: `serve` (default for `npm start`), `migrate`, `users create`, `tokens create`.
 * A bad setting prints what is wrong and exits with code 2.
 */
import { Command, CommanderError, Option } from 'commander';
import { ConfigError, loadConfig, serveFlags, type AtriumConfig } from './config.js';
import { AppError } from './domain/errors.js';
import { ALL_SCOPES } from './domain/scopes.js';
import { SERVER_ROLES, type ServerRole } from './domain/roles.js';
import { openStore } from './store/db.js';
import { migrateToLatest } from './store/migrations/index.js';
import { createIdentityService } from './services/identity.js';

const EXIT_USAGE = 2;

function configFrom(flags: Record<string, string | undefined>): AtriumConfig {
  const env = { ...process.env };
  for (const f of serveFlags) {
    const key = f.flag.slice(2).split(' ')[0].replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    if (flags[key] !== undefined) env[f.env] = flags[key];
  }
  return loadConfig(env);
}

/** "30d", "12h", "15m", "45s", "500ms" or a bare number of milliseconds → ms. */
export function parseLifespan(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)?$/.exec(s.trim());
  if (!m) throw new AppError('USER_INPUT_ERROR', `invalid lifespan "${s}": use e.g. 3600000, 90m, 12h, 30d or 1y`);
  const unit = { ms: 1, s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7, w: 6.048e8, y: 3.1536e10 }[m[2] ?? 'ms']!;
  return Math.round(Number(m[1]) * unit);
}

async function withIdentity<T>(flags: Record<string, string | undefined>, fn: (id: ReturnType<typeof createIdentityService>) => Promise<T>) {
  const config = configFrom(flags);
  const store = await openStore(config.database);
  try {
    await migrateToLatest(store);
    return await fn(createIdentityService(store));
  } finally {
    await store.close();
  }
}

function addDbFlags(cmd: Command): Command {
  return cmd
    .option('--data-dir <dir>', 'data directory (default ./data, or ATRIUM_DATA_DIR)')
    .option('--database-url <url>', 'postgres://… (default: SQLite in the data dir, or ATRIUM_DATABASE_URL)');
}

export function buildCli(): Command {
  const program = new Command('atrium')
    .description('Atrium: one self-hosted server for Speckle and AYON clients')
    .showHelpAfterError()
    .exitOverride();

  const serve = program.command('serve', { isDefault: true }).description('start the server');
  for (const f of serveFlags) serve.addOption(new Option(f.flag, `${f.help} [${f.env}]`));
  serve.action(async (flags: Record<string, string | undefined>) => {
    const config = configFrom(flags);
    const { buildApp } = await import('./app.js');
    const app = await buildApp(config);
    const url = await app.listen();
    app.http.log.info({ url, database: config.database.kind, blobs: config.blobs.kind }, `Atrium listening at ${url}`);
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      app.http.log.info({ signal }, 'shutting down: no new requests, finishing those in flight');
      const force = setTimeout(() => {
        app.http.log.error('shutdown timed out; exiting');
        process.exit(1);
      }, config.shutdownTimeoutMs + 2000);
      force.unref();
      app.close().then(
        () => process.exit(0),
        (err) => {
          app.http.log.error({ err }, 'error during shutdown');
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });

  addDbFlags(program.command('migrate').description('apply database migrations and exit')).action(async (flags) => {
    const config = configFrom(flags);
    const store = await openStore(config.database);
    try {
      const applied = await migrateToLatest(store);
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
    } finally {
      await store.close();
    }
  });

  const users = program.command('users').description('manage users');
  addDbFlags(
    users
      .command('create')
      .description('create a user (the first user ever is an admin)')
      .requiredOption('--email <email>', 'email address (unique, case-insensitive)')
      .requiredOption('--name <name>', 'display name')
      .option('--password <password>', 'password, at least 8 characters (or ATRIUM_NEW_USER_PASSWORD)')
      .option('--admin', 'make the user a server admin')
      .addOption(new Option('--role <role>', 'server role').choices(SERVER_ROLES as string[]))
      .option('--company <company>', 'company')
      .option('--username <name>', 'AYON login name (default: made from the email when first needed)'),
  ).action(async (flags) => {
    const password = flags.password ?? process.env.ATRIUM_NEW_USER_PASSWORD;
    if (!password) throw new AppError('USER_INPUT_ERROR', 'a password is required: --password or ATRIUM_NEW_USER_PASSWORD');
    const role: ServerRole | undefined = flags.admin ? 'admin' : flags.role;
    if (flags.username !== undefined && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*[a-zA-Z0-9]$/.test(flags.username))
      throw new AppError('USER_INPUT_ERROR', `invalid --username "${flags.username}": letters, digits, _ . - (not first or last), at least 2 characters`);
    const user = await withIdentity(flags, async (id) => {
      if (flags.username !== undefined && (await id.findUserByLogin(flags.username))) throw new AppError('USER_INPUT_ERROR', `username ${flags.username} is taken`);
      const u = await id.createUser({ email: flags.email, name: flags.name, password, role, company: flags.company ?? null, verified: true });
      if (flags.username !== undefined) await id.setUserFaceFields(u.id, { username: flags.username });
      return u;
    });
    console.log(`${user.id}\t${user.email}\t${user.role}`);
  });

  const tokens = program.command('tokens').description('manage access tokens');
  addDbFlags(
    tokens
      .command('create')
      .description('create a personal access token and print only the token')
      .requiredOption('--user <email>', "owner's email")
      .requiredOption('--name <name>', 'token name')
      .option('--scopes <list>', `comma-separated scopes, or "all" (${ALL_SCOPES.join(', ')})`, 'all')
      .option('--lifespan <duration>', 'lifetime: milliseconds, or 90m, 12h, 30d, 1y (default: ~100 years)'),
  ).action(async (flags) => {
    const scopes = flags.scopes === 'all' ? [...ALL_SCOPES] : String(flags.scopes).split(',').map((s: string) => s.trim()).filter(Boolean);
    const lifespanMs = flags.lifespan ? parseLifespan(flags.lifespan) : undefined;
    const token = await withIdentity(flags, async (id) => {
      const user = await id.getUserByEmail(flags.user);
      if (!user) throw new AppError('NOT_FOUND_ERROR', `no user with email ${flags.user}`);
      return (await id.mintToken({ userId: user.id, name: flags.name, scopes, lifespanMs })).token;
    });
    process.stdout.write(token + '\n');
  });
  addDbFlags(
    tokens.command('revoke').description('revoke a token (the token or its first 10 characters)').argument('<token>'),
  ).action(async (token: string, flags) => {
    const ok = await withIdentity(flags, (id) => id.revokeToken(token.slice(0, 10)));
    if (!ok) throw new AppError('NOT_FOUND_ERROR', 'no such token');
    console.log('revoked');
  });

  const datasets = program.command('datasets').description('version analytics datasets (DuckDB files)');
  addDbFlags(
    datasets
      .command('rebuild')
      .description('build the datasets of versions that have none, a failed one or an outdated one, with a progress bar')
      .option('--project <id>', 'only the versions of this project')
      .option('--force', 'rebuild every version, also those that are up to date'),
  ).action(async (flags) => {
    const { runDatasetsRebuild } = await import('./services/datasets-rebuild.js');
    const result = await runDatasetsRebuild(configFrom(flags), { projectId: flags.project, force: !!flags.force }).catch((err: unknown) => {
      if ((err as { usage?: boolean }).usage) throw new AppError('USER_INPUT_ERROR', (err as Error).message);
      throw err;
    });
    if (result.failed > 0) process.exitCode = 1;
  });

  return program;
}

export async function main(argv = process.argv): Promise<void> {
  try {
    await buildCli().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
    if (err instanceof ConfigError) {
      console.error(`atrium: ${err.message}`);
      process.exit(EXIT_USAGE);
    }
    if (err instanceof AppError) {
      console.error(`atrium: ${err.message}`);
      process.exit(err.code === 'USER_INPUT_ERROR' || err.code === 'TOKEN_CREATE_ERROR' ? EXIT_USAGE : 1);
    }
    console.error('atrium: unexpected error:', err instanceof Error ? err.message : err);
    process.exit(1);
  }
}


