/**
 * AYON secrets, installers, dependency packages and actions (ayon.md §12).
 *
 * Secrets: admins (and service users, whom AYON counts as admins) read and write values; managers may
 * list names (no values); everyone else 403.
 * Values are stored as given: Atrium's configuration has no server-wide secret to derive an
 * encryption key from yet, so protect the database as you would protect the secrets themselves.
 * Values never reach a log line (nothing here logs them; request bodies are not logged).
 *
 * Installers and dependency packages: a manifest row (POST, admins), then the file (PUT, admins),
 * streamed into the blob store under a fresh key while its size and checksum (md5 | sha1 | sha256, as
 * declared in the manifest) are computed. Only a complete upload that matches the manifest is attached
 * to the row (`blob_key`); a mismatching, empty or interrupted upload is deleted and the manifest stays
 * without a file. AYON itself does not verify the checksum — Atrium refuses a mismatch with 400.
 *
 * Actions: AYON actions are Python code of server addons. Atrium runs no addon code, so no action is
 * listed and executing one answers `success: false` ("not available"). What works is data: action
 * configs stored per user/addon/identifier/project, and take/abort of `action.launcher` events that
 * something else (a service, `POST /api/events`) created.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { Transaction } from 'kysely';
import type { Database } from '../../store/schema.js';
import type { AyonCoreDeps } from './index.js';
import type { AyonActor } from './users.js';
import { AyonError } from './errors.js';
import { isPlainObject, parseJson } from './rules.js';
import { BlobTooLargeError, type BlobRead } from '../../store/blobs/index.js';

// ------------------------------------------------------------------------------------------------
// validation helpers

/** AYON's NAME_REGEX (secret names). */
const SECRET_NAME_RE = /^[a-zA-Z0-9_]([a-zA-Z0-9_.-]*[a-zA-Z0-9_])?$/;
/** AYON's package filename regex `^[\w\-+._]+$` (Python's \w is Unicode-aware). */
const FILENAME_RE = /^[\p{L}\p{N}_\-+.]+$/u;
const ADDON_NAME_RE = /^[a-zA-Z0-9_][a-zA-Z0-9_.-]*[a-zA-Z0-9_]$/;
const SEMVER_RE =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
const ACTION_TOKEN_RE = /^[a-f0-9]{64}/;
export const PLATFORMS = ['windows', 'linux', 'darwin'] as const;
export const CHECKSUM_ALGORITHMS = ['md5', 'sha1', 'sha256'] as const;
const ACTION_ENTITY_TYPES = ['project', 'list', 'folder', 'task', 'product', 'version', 'representation', 'workfile'];
export type PackageKind = 'installer' | 'dependency_package';

const invalid = (loc: string, msg: string) => new AyonError(400, `${loc}: ${msg}`, 'bad-request');

/** AYON's `is_admin`: admins, and service users (unless guests) — services read secrets and publish packages. */
const isAdminLike = (actor: AyonActor) => !actor.isGuest && (actor.isAdmin || actor.isService);

function requireAdmin(actor: AyonActor, detail: string) {
  if (!isAdminLike(actor)) throw new AyonError(403, detail);
}

function optString(b: Record<string, unknown>, key: string): string | undefined {
  const v = b[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(key, 'str type expected');
  return v;
}

function reqString(b: Record<string, unknown>, key: string): string {
  const v = optString(b, key);
  if (v === undefined) throw invalid(key, 'field required');
  return v;
}

function stringMap(b: Record<string, unknown>, key: string, allowNested: boolean, dropNull = false): Record<string, unknown> {
  const v = b[key];
  if (v === undefined || v === null) return {};
  if (!isPlainObject(v)) throw invalid(key, 'value is not a valid dict');
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === null && dropNull) continue;
    if (typeof x === 'string') out[k] = x;
    else if (allowNested && isPlainObject(x) && Object.values(x).every((y) => typeof y === 'string')) out[k] = { ...x };
    else throw invalid(`${key}.${k}`, 'str type expected');
  }
  return out;
}

export function validFilename(name: unknown): name is string {
  return typeof name === 'string' && name.length > 0 && name.length <= 255 && FILENAME_RE.test(name) && !name.includes('..') && name !== '.';
}

export interface Source {
  type: 'server' | 'http';
  url?: string;
}

function parseSources(v: unknown): Source[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalid('sources', 'value is not a valid list');
  return v.map((s, i) => {
    if (!isPlainObject(s)) throw invalid(`sources.${i}`, 'value is not a valid dict');
    const type = s.type === 'url' ? 'http' : s.type; // "url" is AYON's legacy name of "http"
    if (type !== 'server' && type !== 'http') throw invalid(`sources.${i}.type`, "unexpected value; permitted: 'server', 'http'");
    const out: Source = { type };
    if (s.url !== undefined && s.url !== null) {
      if (typeof s.url !== 'string') throw invalid(`sources.${i}.url`, 'str type expected');
      out.url = s.url;
    }
    return out;
  });
}

/** The algorithm a checksum was made with: as declared, else guessed from its length. */
function algorithmOf(m: Manifest): (typeof CHECKSUM_ALGORITHMS)[number] | null {
  if (!m.checksum) return null;
  if (m.checksumAlgorithm) return m.checksumAlgorithm;
  return ({ 32: 'md5', 40: 'sha1', 64: 'sha256' } as const)[m.checksum.length as 32 | 40 | 64] ?? null;
}

// ------------------------------------------------------------------------------------------------
// manifests

export interface Manifest {
  filename: string;
  platform: (typeof PLATFORMS)[number];
  size?: number;
  checksum?: string;
  checksumAlgorithm?: (typeof CHECKSUM_ALGORITHMS)[number];
  sources: Source[];
  pythonVersion?: string;
  distroShort?: string;
  // installers
  version?: string;
  runtimePythonModules?: Record<string, unknown>;
  // dependency packages
  installerVersion?: string;
  sourceAddons?: Record<string, unknown>;
  pythonModules: Record<string, unknown>;
}

/** Validates a POSTed manifest (AYON's InstallerManifest / DependencyPackageManifest); 400 on bad input. */
export function parseManifest(kind: PackageKind, b: Record<string, unknown>): Manifest {
  const filename = b.filename;
  if (filename === undefined || filename === null) throw invalid('filename', 'field required');
  if (!validFilename(filename)) throw invalid('filename', 'invalid file name (letters, digits, "_", "-", "+", "." only; no "..")');
  const platform = b.platform;
  if (platform === undefined || platform === null) throw invalid('platform', 'field required');
  if (!(PLATFORMS as readonly unknown[]).includes(platform)) throw invalid('platform', "unexpected value; permitted: 'windows', 'linux', 'darwin'");
  const m: Manifest = { filename, platform: platform as Manifest['platform'], sources: parseSources(b.sources), pythonModules: stringMap(b, 'pythonModules', true) };
  if (b.size !== undefined && b.size !== null) {
    if (typeof b.size !== 'number' || !Number.isSafeInteger(b.size) || b.size < 0) throw invalid('size', 'value is not a valid integer');
    m.size = b.size;
  }
  const checksum = optString(b, 'checksum');
  if (checksum !== undefined) m.checksum = checksum;
  const alg = b.checksumAlgorithm;
  if (alg !== undefined && alg !== null) {
    if (!(CHECKSUM_ALGORITHMS as readonly unknown[]).includes(alg)) throw invalid('checksumAlgorithm', "unexpected value; permitted: 'md5', 'sha1', 'sha256'");
    m.checksumAlgorithm = alg as Manifest['checksumAlgorithm'];
  }
  if (m.checksum !== undefined && m.checksumAlgorithm) {
    const len = { md5: 32, sha1: 40, sha256: 64 }[m.checksumAlgorithm];
    if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(m.checksum)) throw invalid('checksum', `not a ${m.checksumAlgorithm} hex digest`);
  }
  const pv = optString(b, 'pythonVersion');
  if (pv !== undefined) m.pythonVersion = pv;
  const ds = optString(b, 'distroShort');
  if (ds !== undefined) m.distroShort = ds;
  if (kind === 'installer') {
    m.version = reqString(b, 'version');
    m.runtimePythonModules = stringMap(b, 'runtimePythonModules', false);
  } else {
    m.installerVersion = reqString(b, 'installerVersion');
    // AYON drops addons whose version is null
    m.sourceAddons = stringMap(b, 'sourceAddons', false, true);
  }
  return m;
}

type PackageRow = { kind: string; filename: string; platform: string; version: string; manifest: string; blob_key: string | null; blob_size: number | null };

/** A manifest as AYON lists it: None-valued keys left out, a "server" source first once the file is here. */
function present(row: PackageRow): Manifest {
  const m = parseJson<Manifest>(row.manifest, { filename: row.filename, platform: row.platform as Manifest['platform'], sources: [], pythonModules: {} });
  const sources = [...(m.sources ?? [])];
  if (row.blob_key && !sources.some((s) => s.type === 'server')) sources.unshift({ type: 'server' });
  return { ...m, sources };
}

/** What a manifest says about its file's bytes (a sources change does not touch it). */
function fileIdentity(row: PackageRow): string {
  const m = parseJson<Partial<Manifest>>(row.manifest, {});
  return JSON.stringify([m.size ?? null, m.checksum?.toLowerCase() ?? null, m.checksumAlgorithm ?? null]);
}

/** Hashes and counts what flows through (the blob store enforces the size limit). */
class Digest extends Transform {
  readonly hash;
  bytes = 0;
  constructor(alg: string) {
    super();
    this.hash = createHash(alg);
    // errors reach the blob store's put through the stream state; never crash the process as unhandled
    this.on('error', () => {});
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    cb(null, chunk);
  }
}

// ------------------------------------------------------------------------------------------------

export function createDesktopService(core: AyonCoreDeps) {
  const { store, blobs } = core;
  const db = store.db;

  const label = (kind: PackageKind) => (kind === 'installer' ? 'Installer' : 'Dependency package');
  const labelLower = (kind: PackageKind) => (kind === 'installer' ? 'installers' : 'dependency packages');

  /** The row, locked until the transaction ends (PostgreSQL; SQLite transactions are serialised anyway). */
  async function lockRow(trx: Transaction<Database>, kind: PackageKind, filename: string): Promise<PackageRow | undefined> {
    let q = trx.selectFrom('ayon_desktop_packages').selectAll().where('kind', '=', kind).where('filename', '=', filename);
    if (store.dialect === 'postgres') q = q.forUpdate();
    return q.executeTakeFirst();
  }

  async function findRow(kind: PackageKind, filename: string): Promise<PackageRow | undefined> {
    return db.selectFrom('ayon_desktop_packages').selectAll().where('kind', '=', kind).where('filename', '=', filename).executeTakeFirst();
  }
  async function requireRow(kind: PackageKind, filename: string): Promise<PackageRow> {
    const row = await findRow(kind, filename);
    if (!row) throw new AyonError(404, kind === 'installer' ? `Installer manifest ${filename} not found` : `Dependency package ${filename} not found`);
    return row;
  }

  // ---------------------------------------------------------------------------------------------- secrets

  function checkSecretName(name: string) {
    if (!SECRET_NAME_RE.test(name) || name.length > 255) throw invalid('secret_name', `string does not match regex "${SECRET_NAME_RE.source}"`);
  }

  const secrets = {
    /** Admins get values; managers names only; internal secrets (`_…`) are never listed. */
    async list(actor: AyonActor): Promise<Array<{ name: string; value?: string }>> {
      if (!actor.isManager && !isAdminLike(actor)) throw new AyonError(403, 'Forbidden');
      const rows = await db.selectFrom('ayon_secrets').select(['name', 'value']).orderBy('name').execute();
      return rows.filter((r) => !r.name.startsWith('_')).map((r) => (isAdminLike(actor) ? { name: r.name, value: r.value } : { name: r.name }));
    },
    async get(actor: AyonActor, name: string): Promise<{ name: string; value: string }> {
      requireAdmin(actor, 'Forbidden');
      checkSecretName(name);
      const row = await db.selectFrom('ayon_secrets').select(['name', 'value']).where('name', '=', name).executeTakeFirst();
      if (!row) throw new AyonError(404, 'Not found');
      return { name: row.name, value: row.value };
    },
    async save(actor: AyonActor, name: string, body: Record<string, unknown>): Promise<void> {
      requireAdmin(actor, 'Forbidden');
      checkSecretName(name);
      const value = body.value;
      if (value === undefined || value === null) throw new AyonError(400, 'No value provided');
      if (typeof value !== 'string') throw invalid('value', 'str type expected');
      const now = Date.now();
      await db
        .insertInto('ayon_secrets')
        .values({ name, value, updated_at: now })
        .onConflict((oc) => oc.column('name').doUpdateSet({ value, updated_at: now }))
        .execute();
    },
    /** 204 whether or not it existed, as AYON. */
    async delete(actor: AyonActor, name: string): Promise<void> {
      requireAdmin(actor, 'Forbidden');
      checkSecretName(name);
      await db.deleteFrom('ayon_secrets').where('name', '=', name).execute();
    },
    /** For server-side code (services, hooks): the value of a secret, or null. */
    async value(name: string): Promise<string | null> {
      const row = await db.selectFrom('ayon_secrets').select('value').where('name', '=', name).executeTakeFirst();
      return row?.value ?? null;
    },
  };

  // ---------------------------------------------------------------------------------------------- packages

  const packages = {
    async list(actor: AyonActor, kind: PackageKind, filter: { version?: string; platform?: string; variant?: string } = {}): Promise<Manifest[]> {
      void actor;
      if (filter.variant !== undefined) {
        if (kind !== 'installer' || (filter.variant !== 'production' && filter.variant !== 'staging')) {
          throw invalid('variant', "unexpected value; permitted: 'production', 'staging'");
        }
        // AYON: the installer version of the production/staging bundle replaces the version filter
        const bundle = await db
          .selectFrom('ayon_bundles')
          .select('data')
          .where(filter.variant === 'production' ? 'is_production' : 'is_staging', '=', 1)
          .executeTakeFirst();
        if (!bundle) throw new AyonError(404, `No ${filter.variant} bundle found`);
        const iv = parseJson<Record<string, unknown>>(bundle.data, {}).installer_version;
        // (a bundle without an installer version filters nothing, as in AYON)
        filter = { ...filter, version: typeof iv === 'string' && iv ? iv : undefined };
      }
      if (filter.platform !== undefined && !(PLATFORMS as readonly string[]).includes(filter.platform)) {
        throw invalid('platform', "unexpected value; permitted: 'windows', 'linux', 'darwin'");
      }
      let q = db.selectFrom('ayon_desktop_packages').selectAll().where('kind', '=', kind);
      if (filter.platform) q = q.where('platform', '=', filter.platform);
      if (filter.version) q = q.where('version', '=', filter.version);
      const rows = await q.orderBy('filename').execute();
      return rows.map(present);
    },

    async get(actor: AyonActor, kind: PackageKind, filename: string): Promise<Manifest> {
      void actor;
      return present(await requireRow(kind, filename));
    },

    /** Creates (or with `force` replaces) a manifest; a replaced manifest loses its uploaded file. */
    async create(actor: AyonActor, kind: PackageKind, body: Record<string, unknown>, opts: { force?: boolean; url?: string } = {}): Promise<{ eventId?: string }> {
      requireAdmin(actor, kind === 'installer' ? 'Only admins can create installers' : 'Only admins can save dependency packages.');
      if (opts.url) throw new AyonError(501, `Installing ${labelLower(kind)} from a URL is not supported by this server: create the manifest and upload the file`);
      const m = parseManifest(kind, body);
      const version = (kind === 'installer' ? m.version : m.installerVersion) as string;
      const now = Date.now();
      const oldBlob = await db.transaction().execute(async (trx) => {
        const existing = await lockRow(trx, kind, m.filename);
        if (existing && !opts.force) {
          throw new AyonError(409, kind === 'installer' ? 'Installer already exists' : `Dependency package ${m.filename} already exists`);
        }
        if (kind === 'installer' && !opts.force) {
          const same = await trx
            .selectFrom('ayon_desktop_packages')
            .select('filename')
            .where('kind', '=', kind)
            .where('version', '=', version)
            .where('platform', '=', m.platform)
            .executeTakeFirst();
          if (same) throw new AyonError(409, 'Installer with the same version and platform already exists');
        }
        if (existing) {
          await trx
            .updateTable('ayon_desktop_packages')
            .set({ platform: m.platform, version, manifest: JSON.stringify(m), blob_key: null, blob_size: null, updated_at: now })
            .where('kind', '=', kind)
            .where('filename', '=', m.filename)
            .execute();
        } else {
          await trx
            .insertInto('ayon_desktop_packages')
            .values({ kind, filename: m.filename, platform: m.platform, version, manifest: JSON.stringify(m), blob_key: null, blob_size: null, created_at: now, updated_at: now })
            .execute();
        }
        return existing?.blob_key ?? null;
      });
      if (oldBlob) await blobs.delete(oldBlob).catch(() => {});
      return {};
    },

    /**
     * The file of a manifest, streamed to a fresh blob while its size and checksum are computed; it
     * replaces the previous file only if it is complete and matches the manifest.
     */
    async upload(actor: AyonActor, kind: PackageKind, filename: string, body: NodeJS.ReadableStream): Promise<{ size: number }> {
      requireAdmin(actor, kind === 'installer' ? 'Only admins can upload installers' : 'Only admins can upload dependency packages.');
      const row = await requireRow(kind, filename);
      const m = present(row);
      const alg = algorithmOf(m);
      const digest = new Digest(alg ?? 'sha256');
      const key = `ayon/desktop/${kind === 'installer' ? 'installers' : 'dependency_packages'}/${randomUUID()}`;
      const drop = () => blobs.delete(key).catch(() => {});
      // a client that goes away mid-upload: the body errors, or closes without ending
      let ended = false;
      body.on('end', () => (ended = true));
      body.on('error', (err: Error) => digest.destroy(err));
      body.on('close', () => {
        if (!ended) digest.destroy(new AyonError(400, 'Upload interrupted; nothing was stored'));
      });
      body.pipe(digest);
      // after a refusal mid-body, read the rest and throw it away: the client (requests) reads the
      // answer only once it has sent everything, so it would otherwise wait on a stalled socket
      const discard = () => {
        const b = body as NodeJS.ReadableStream & { unpipe?: (d: NodeJS.WritableStream) => void };
        b.unpipe?.(digest);
        b.resume();
      };
      try {
        await blobs.put(key, digest, { contentType: 'application/octet-stream', ...(m.size !== undefined ? { maxBytes: m.size } : {}) });
      } catch (err) {
        discard();
        await drop();
        if (err instanceof BlobTooLargeError) throw new AyonError(400, `Upload is larger than the manifest's size (${m.size} bytes); nothing was stored`);
        throw err;
      }
      const size = digest.bytes;
      if (size === 0) {
        await drop();
        throw new AyonError(400, 'Empty file');
      }
      if (m.size !== undefined && m.size !== size) {
        await drop();
        throw new AyonError(400, `Size mismatch: the manifest says ${m.size} bytes, ${size} were uploaded; nothing was stored`);
      }
      if (alg && m.checksum) {
        const got = digest.hash.digest('hex');
        if (got.toLowerCase() !== m.checksum.toLowerCase()) {
          await drop();
          throw new AyonError(400, `Checksum mismatch: the ${alg} of the upload is ${got}, the manifest says ${m.checksum.toLowerCase()}; nothing was stored`, 'checksum-mismatch');
        }
      }
      // attach only if the manifest still describes these bytes (size, checksum); the file it replaces is
      // read under the row lock, so concurrent uploads never orphan a blob
      const attached = await db.transaction().execute(async (trx) => {
        const cur = await lockRow(trx, kind, filename);
        if (!cur || fileIdentity(cur) !== fileIdentity(row)) return { ok: false as const };
        await trx
          .updateTable('ayon_desktop_packages')
          .set({ blob_key: key, blob_size: size, updated_at: Date.now() })
          .where('kind', '=', kind)
          .where('filename', '=', filename)
          .execute();
        return { ok: true as const, previous: cur.blob_key };
      });
      if (!attached.ok) {
        await drop();
        throw new AyonError(409, `${label(kind)} ${filename} changed during the upload; nothing was stored`);
      }
      if (attached.previous && attached.previous !== key) await blobs.delete(attached.previous).catch(() => {});
      return { size };
    },

    async open(actor: AyonActor, kind: PackageKind, filename: string, range?: { start: number; end?: number }): Promise<BlobRead> {
      void actor;
      const row = await findRow(kind, filename);
      if (!row?.blob_key) throw new AyonError(404, 'File not found');
      const read = await blobs.get(row.blob_key, range);
      if (!read) throw new AyonError(404, 'File not found');
      return read;
    },

    async updateSources(actor: AyonActor, kind: PackageKind, filename: string, body: Record<string, unknown>): Promise<void> {
      requireAdmin(actor, kind === 'installer' ? 'Only admins can patch installers' : 'Only admins can update dependency packages');
      const sources = parseSources(body.sources);
      const row = await requireRow(kind, filename);
      const m = parseJson<Manifest>(row.manifest, { filename, platform: row.platform as Manifest['platform'], sources: [], pythonModules: {} });
      m.sources = sources;
      await db
        .updateTable('ayon_desktop_packages')
        .set({ manifest: JSON.stringify(m), updated_at: Date.now() })
        .where('kind', '=', kind)
        .where('filename', '=', filename)
        .execute();
    },

    async delete(actor: AyonActor, kind: PackageKind, filename: string): Promise<void> {
      requireAdmin(actor, kind === 'installer' ? 'Only admins can delete installers' : 'Only admins can delete dependency packages');
      const blobKey = await db.transaction().execute(async (trx) => {
        const row = await lockRow(trx, kind, filename);
        if (!row) throw new AyonError(404, kind === 'installer' ? `Installer manifest ${filename} not found` : `Dependency package ${filename} not found`);
        await trx.deleteFrom('ayon_desktop_packages').where('kind', '=', kind).where('filename', '=', filename).execute();
        return row.blob_key;
      });
      if (blobKey) await blobs.delete(blobKey).catch(() => {});
    },
  };

  // ---------------------------------------------------------------------------------------------- actions

  interface ActionContext {
    projectName: string | null;
    entityType: string | null;
    entityIds: string[] | null;
    entitySubtypes: string[] | null;
    formData: Record<string, unknown> | null;
  }

  /** AYON's ActionContext: without a project the entity fields are dropped. */
  function parseContext(b: Record<string, unknown>): ActionContext {
    const projectName = optString(b, 'projectName') ?? null;
    let entityType = optString(b, 'entityType') ?? null;
    if (entityType !== null && !ACTION_ENTITY_TYPES.includes(entityType)) throw invalid('entityType', `unexpected value; permitted: ${ACTION_ENTITY_TYPES.map((t) => `'${t}'`).join(', ')}`);
    const list = (key: string): string[] | null => {
      const v = b[key];
      if (v === undefined || v === null) return null;
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw invalid(key, 'value is not a valid list of strings');
      return v as string[];
    };
    let entityIds = list('entityIds');
    let entitySubtypes = list('entitySubtypes');
    const fd = b.formData;
    if (fd !== undefined && fd !== null && !isPlainObject(fd)) throw invalid('formData', 'value is not a valid dict');
    if (projectName === null) {
      entityType = null;
      entityIds = null;
      entitySubtypes = null;
    } else if (entityType !== null && entityIds === null) entityIds = [];
    return { projectName, entityType, entityIds, entitySubtypes, formData: (fd as Record<string, unknown> | undefined) ?? null };
  }

  function checkActionAddress(q: { addonName?: string; addonVersion?: string; identifier?: string }) {
    if (!q.addonName) throw invalid('addonName', 'field required');
    if (!ADDON_NAME_RE.test(q.addonName)) throw invalid('addonName', `string does not match regex "${ADDON_NAME_RE.source}"`);
    if (!q.addonVersion) throw invalid('addonVersion', 'field required');
    if (!SEMVER_RE.test(q.addonVersion)) throw invalid('addonVersion', 'not a semantic version');
    if (!q.identifier) throw invalid('identifier', 'field required');
    return { addonName: q.addonName, addonVersion: q.addonVersion, identifier: q.identifier };
  }

  function checkToken(token: string) {
    if (!ACTION_TOKEN_RE.test(token)) throw invalid('token', `string does not match regex "[a-f0-9]{64}"`);
  }

  const snakeToCamel = (o: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()), v]));

  const actions = {
    /**
     * Atrium runs no addon code, so there are no simple or dynamic actions to offer: the list is
     * always empty (guests get the empty list too, as in AYON).
     */
    async list(actor: AyonActor, query: { mode?: string; variant?: string }, body: Record<string, unknown>): Promise<{ actions: unknown[] }> {
      const mode = query.mode ?? 'simple';
      if (!['simple', 'dynamic', 'all'].includes(mode)) throw invalid('mode', "unexpected value; permitted: 'simple', 'dynamic', 'all'");
      parseContext(body);
      void actor;
      return { actions: [] };
    },

    /** GET /api/actions/manage: admins only; the list is empty for the same reason. */
    async manage(actor: AyonActor): Promise<unknown[]> {
      requireAdmin(actor, 'Only admins can manage actions');
      return [];
    },

    /** No handler exists for any action here: AYON's response shape with success=false. */
    async execute(actor: AyonActor, query: { addonName?: string; addonVersion?: string; identifier?: string; variant?: string }, body: Record<string, unknown>) {
      const a = checkActionAddress(query);
      parseContext(body);
      void actor;
      return {
        type: 'simple',
        success: false,
        message: `Action "${a.identifier}" of ${a.addonName} ${a.addonVersion} is not available: this server does not run addon code`,
        payload: null,
      };
    },

    /** With `value`: stores it (an empty object clears it) and returns it; without: the stored config or {}. */
    async config(actor: AyonActor, query: { addonName?: string; addonVersion?: string; identifier?: string; variant?: string }, body: Record<string, unknown>): Promise<Record<string, unknown>> {
      const a = checkActionAddress(query);
      const ctx = parseContext(body);
      const value = body.value;
      if (value !== undefined && value !== null && !isPlainObject(value)) throw invalid('value', 'value is not a valid dict');
      const where = { user_name: actor.name, addon_name: a.addonName, identifier: a.identifier, project_name: ctx.projectName ?? '' };
      const sel = db
        .selectFrom('ayon_action_configs')
        .select('data')
        .where('user_name', '=', where.user_name)
        .where('addon_name', '=', where.addon_name)
        .where('identifier', '=', where.identifier)
        .where('project_name', '=', where.project_name);
      if (value === undefined || value === null) {
        const row = await sel.executeTakeFirst();
        return parseJson<Record<string, unknown>>(row?.data, {});
      }
      const del = db
        .deleteFrom('ayon_action_configs')
        .where('user_name', '=', where.user_name)
        .where('addon_name', '=', where.addon_name)
        .where('identifier', '=', where.identifier)
        .where('project_name', '=', where.project_name);
      if (Object.keys(value).length === 0) {
        await del.execute();
        return {};
      }
      const data = JSON.stringify(value);
      const now = Date.now();
      await db
        .insertInto('ayon_action_configs')
        .values({ ...where, addon_version: a.addonVersion, data, updated_at: now })
        .onConflict((oc) => oc.columns(['user_name', 'addon_name', 'identifier', 'project_name']).doUpdateSet({ addon_version: a.addonVersion, data, updated_at: now }))
        .execute();
      return value;
    },

    /** The launcher takes a pending `action.launcher` event by its hash; it becomes in_progress. */
    async take(actor: AyonActor, token: string) {
      void actor;
      checkToken(token);
      const ev = await db
        .selectFrom('ayon_events')
        .selectAll()
        .where('hash', '=', token)
        .where('topic', '=', 'action.launcher')
        .where('status', '=', 'pending')
        .executeTakeFirst();
      if (!ev) throw new AyonError(404, 'Invalid token');
      const payload = parseJson<Record<string, unknown>>(ev.payload, {});
      const summary = parseJson<Record<string, unknown>>(ev.summary, {});
      const pick = (o: Record<string, unknown>, snake: string, camel: string) => {
        const v = o[snake] ?? o[camel];
        return typeof v === 'string' ? v : '';
      };
      const ctx = isPlainObject(payload.context) ? snakeToCamel(payload.context) : {};
      const res = await db
        .updateTable('ayon_events')
        .set({ status: 'in_progress', updated_at: Date.now() })
        .where('id', '=', ev.id)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) throw new AyonError(404, 'Invalid token');
      return {
        eventId: ev.id,
        actionIdentifier: pick(summary, 'action_identifier', 'actionIdentifier'),
        args: Array.isArray(payload.args) ? payload.args : [],
        context: {
          projectName: ctx.projectName ?? null,
          entityType: ctx.entityType ?? null,
          entitySubtypes: ctx.entitySubtypes ?? null,
          entityIds: ctx.entityIds ?? null,
          formData: ctx.formData ?? null,
        },
        addonName: pick(summary, 'addon_name', 'addonName'),
        addonVersion: pick(summary, 'addon_version', 'addonVersion'),
        variant: pick(summary, 'variant', 'variant'),
        userName: ev.user_name ?? '',
      };
    },

    /** Aborts a pending or running `action.launcher` event; its description becomes the message. */
    async abort(actor: AyonActor, token: string, body: Record<string, unknown>): Promise<null> {
      void actor;
      checkToken(token);
      const message = optString(body, 'message') ?? 'Action aborted by user';
      const res = await db
        .updateTable('ayon_events')
        .set({ status: 'aborted', description: message, updated_at: Date.now() })
        .where('hash', '=', token)
        .where('topic', '=', 'action.launcher')
        .where('status', 'in', ['pending', 'in_progress'])
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) throw new AyonError(404, 'Invalid token');
      return null;
    },
  };

  return { secrets, packages, actions };
}

export type DesktopService = ReturnType<typeof createDesktopService>;
