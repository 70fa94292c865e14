/**
 * AYON addons, bundles, settings and overrides (ayon.md §12).
 *
 * Addons are packages, never code: an uploaded zip is checked (addons/zip.ts), its metadata read
 * from `package.py` literals or `manifest.json` (addons/package.ts), and its files kept in the blob
 * store; the server-side Python of an addon is stored but NOT executed. What Atrium serves from a
 * package: the listing, `private/` and `public/` files, and settings described by our convention —
 * `settings/schema.json` (JSON Schema of the studio/project settings), `settings/defaults.json`,
 * `settings/site_schema.json` and `settings/site_defaults.json` (site settings).
 *
 * Settings resolve like AYON: defaults → studio overrides (per variant: production, staging or a dev
 * bundle name) → project overrides (per variant) → project-site overrides (per site and user). Site
 * settings are separate values per site and user. Writes take full values and store only the
 * differences (addons/settings.ts extractOverrides), validated against the schema first.
 */
import { createHash } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { AyonCoreDeps } from './index.js';
import type { Database } from '../../store/schema.js';
import type { AyonActor } from './users.js';
import type { AyonEventInput } from './events.js';
import { AyonError, badRequest, forbidden, notFound } from './errors.js';
import { isPlainObject, isoTime, newAyonId, parseJson } from './rules.js';
import { isUniqueViolation } from '../../store/db.js';
import { ZipError, readZipDirectory, readZipEntry, type ZipEntry } from './addons/zip.js';
import { ADDON_NAME_RE, SEMVER_RE, compareSemver, parsePackagePy, parseTomlSubset, parseYamlScalars, semverMatches } from './addons/package.js';
import {
  extractOverrides,
  getPath,
  listOverrides,
  mergeSettings,
  projectScopedOverrides,
  removePath,
  schemaDefaults,
  schemaScopes,
  setPath,
  validateSettings,
  type Obj,
} from './addons/settings.js';

type Db = Kysely<Database> | Transaction<Database>;

/** Limits of an addon zip (the compressed body is capped by the route). */
export const ADDON_LIMITS = { maxEntries: 20_000, maxTotalBytes: 1024 * 1024 * 1024, maxZipBytes: 512 * 1024 * 1024 };
const JSON_FILE_MAX = 4 * 1024 * 1024;
const NAME_RE = /^[a-zA-Z0-9_]([a-zA-Z0-9_.\-]*[a-zA-Z0-9_])?$/;
const PLATFORMS = new Set(['windows', 'linux', 'darwin']);

export interface AddonRecord {
  name: string;
  version: string;
  title: string;
  description: string;
  generation: string;
  meta: Obj;
  files: Record<string, [number, number]>;
  schema: Obj | null;
  defaults: Obj;
  siteSchema: Obj | null;
  siteDefaults: Obj;
  createdAt: number;
}

export interface BundleRecord {
  name: string;
  createdAt: number;
  addons: Record<string, string | null>;
  installerVersion: string | null;
  dependencyPackages: Record<string, string | null>;
  addonDevelopment: Record<string, { enabled: boolean; path: string }>;
  isProduction: boolean;
  isStaging: boolean;
  isDev: boolean;
  isArchived: boolean;
  isProject: boolean;
  activeUser: string | null;
}

const validation = (detail: string, errors: unknown[] = []) => new AyonError(400, detail, 'bad-request', { errors });

function rowToAddon(r: Database['ayon_addons']): AddonRecord {
  const schema = r.settings_schema ? parseJson<Obj>(r.settings_schema, {}) : null;
  const siteSchema = r.site_schema ? parseJson<Obj>(r.site_schema, {}) : null;
  return {
    name: r.name,
    version: r.version,
    title: r.title,
    description: r.description,
    generation: r.generation,
    meta: parseJson<Obj>(r.meta, {}),
    files: parseJson<Record<string, [number, number]>>(r.files, {}),
    schema,
    defaults: r.settings_defaults !== null ? parseJson<Obj>(r.settings_defaults, {}) : {},
    siteSchema,
    siteDefaults: r.site_defaults !== null ? parseJson<Obj>(r.site_defaults, {}) : {},
    createdAt: Number(r.created_at),
  };
}

function rowToBundle(r: Database['ayon_bundles']): BundleRecord {
  const d = parseJson<Obj>(r.data, {});
  return {
    name: r.name,
    createdAt: Number(r.created_at),
    addons: (isPlainObject(d.addons) ? d.addons : {}) as Record<string, string | null>,
    installerVersion: typeof d.installer_version === 'string' ? d.installer_version : null,
    dependencyPackages: (isPlainObject(d.dependency_packages) ? d.dependency_packages : {}) as Record<string, string | null>,
    addonDevelopment: (isPlainObject(d.addon_development) ? d.addon_development : {}) as BundleRecord['addonDevelopment'],
    isProduction: !!r.is_production,
    isStaging: !!r.is_staging,
    isDev: !!r.is_dev,
    isArchived: !!r.is_archived,
    isProject: d.is_project === true,
    activeUser: r.active_user,
  };
}

export function bundleToJson(b: BundleRecord) {
  return {
    name: b.name,
    createdAt: isoTime(b.createdAt),
    addons: b.addons,
    installerVersion: b.installerVersion,
    dependencyPackages: b.dependencyPackages,
    addonDevelopment: b.addonDevelopment,
    isProduction: b.isProduction,
    isStaging: b.isStaging,
    isArchived: b.isArchived,
    isDev: b.isDev,
    isProject: b.isProject,
    activeUser: b.activeUser,
  };
}

/** Reads a JSON object file of the package; a broken one refuses the install. */
function jsonFile(name: string, buf: Buffer | undefined): Obj | null {
  if (!buf) return null;
  if (buf.length > JSON_FILE_MAX) throw new AyonError(400, `Invalid addon zip: ${name} is larger than ${JSON_FILE_MAX} bytes`);
  try {
    const v = JSON.parse(buf.toString('utf8'));
    if (!isPlainObject(v)) throw new Error('not an object');
    return v;
  } catch (e) {
    throw new AyonError(400, `Invalid addon zip: ${name} is not a JSON object (${(e as Error).message})`);
  }
}

export function createAddonsService(core: AyonCoreDeps) {
  const { store, blobs, events, projects } = core;
  const db = store.db;

  const addonKey = (name: string, version: string, generation: string) => `addons/${name}/${version}/${generation}`;

  core.bus.subscribe('ayon.event', (e: unknown) => {
    const ev = e as { topic?: string; project?: string | null; createdAt?: number };
    if (ev?.topic !== 'entity.project.deleted' || !ev.project) return;
    db.deleteFrom('ayon_addon_settings')
      .where('project_name', '=', ev.project)
      .where('scope', 'in', ['project', 'project_site'])
      .where('updated_at', '<=', ev.createdAt ?? Date.now())
      .execute()
      .catch(() => {});
  });

  async function emit(q: Db, list: AyonEventInput[]) {
    return events.dispatch(q, list);
  }

  // ------------------------------------------------------------------------------ addon packages

  async function getAddon(name: string, version: string, q: Db = db): Promise<AddonRecord | null> {
    if (typeof name !== 'string' || typeof version !== 'string') return null;
    const r = await q.selectFrom('ayon_addons').selectAll().where('name', '=', name).where('version', '=', version).executeTakeFirst();
    return r ? rowToAddon(r) : null;
  }

  async function requireAddon(name: string, version: string): Promise<AddonRecord> {
    const a = await getAddon(name, version);
    if (!a) throw notFound(`Addon ${name} ${version} not found`);
    return a;
  }

  /**
   * Installs an addon zip. Everything is checked before anything is stored; the files go to a new
   * blob generation and the row is written last, so a failure leaves nothing behind.
   */
  async function install(actor: AyonActor, zip: Buffer, opts: { overwrite?: boolean } = {}): Promise<{ eventId: string }> {
    if (!actor.isAdmin) throw forbidden('Only admins can install addons');
    let entries: ZipEntry[];
    try {
      entries = readZipDirectory(zip, ADDON_LIMITS);
    } catch (e) {
      if (e instanceof ZipError) throw new AyonError(400, `Invalid addon zip: ${e.message}`);
      throw e;
    }
    const byName = new Map(entries.map((e) => [e.name, e]));
    const read = (e: ZipEntry) => {
      try {
        return readZipEntry(zip, e);
      } catch (err) {
        if (err instanceof ZipError) throw new AyonError(400, `Invalid addon zip: ${err.message}`);
        throw err;
      }
    };

    // which layout, in AYON's order: manifest.json (the addon under addon/), or package.yaml /
    // package.yml / package.py at the root (the whole zip is the addon)
    let meta: Obj;
    let root = '';
    const yaml = byName.get('package.yaml') ?? byName.get('package.yml');
    if (byName.has('manifest.json')) {
      const m = jsonFile('manifest.json', read(byName.get('manifest.json')!)) ?? {};
      meta = { ...m, name: m.addon_name, version: m.addon_version };
      root = 'addon/';
    } else if (yaml) {
      meta = parseYamlScalars(read(yaml).toString('utf8'));
    } else if (byName.has('package.py')) {
      meta = parsePackagePy(read(byName.get('package.py')!).toString('utf8'));
    } else throw new AyonError(409, 'Unsupported addon format');
    const name = meta.name;
    const version = meta.version;
    const manifest = root ? 'manifest' : yaml ? yaml.name : 'package.py';
    if (typeof name !== 'string' || !name) throw new AyonError(409, `Addon name not found in ${manifest}`);
    if (typeof version !== 'string' || !version) throw new AyonError(409, `Addon version not found in ${manifest}`);
    if (!ADDON_NAME_RE.test(name) || name.length > 128) throw new AyonError(400, `Invalid addon name ${JSON.stringify(name)}`);
    if (!SEMVER_RE.test(version) || version.length > 128) throw new AyonError(400, `Invalid addon version ${JSON.stringify(version)}: not a semantic version`);

    const existing = await getAddon(name, version);
    if (existing && !opts.overwrite) throw new AyonError(409, `Addon ${name} ${version} is already installed`);

    // pass 1: inflate and check every file (sizes, CRC) before storing any; keep only the
    // settings files. Pass 2 inflates again while storing, so memory stays one entry wide.
    const files = entries.filter((e) => !e.isDir && e.name.startsWith(root) && e.name.length > root.length);
    const contents = new Map<string, Buffer>();
    const SETTINGS_FILES = new Set(['settings/schema.json', 'settings/defaults.json', 'settings/site_schema.json', 'settings/site_defaults.json', 'private/pyproject.toml']);
    for (const e of files) {
      const b = read(e);
      const path = e.name.slice(root.length);
      if (SETTINGS_FILES.has(path)) contents.set(path, b);
    }
    const schema = jsonFile('settings/schema.json', contents.get('settings/schema.json'));
    const defaultsFile = jsonFile('settings/defaults.json', contents.get('settings/defaults.json'));
    const siteSchema = jsonFile('settings/site_schema.json', contents.get('settings/site_schema.json'));
    const siteDefaultsFile = jsonFile('settings/site_defaults.json', contents.get('settings/site_defaults.json'));
    const hasSettings = schema !== null || defaultsFile !== null;
    const defaults = hasSettings ? mergeSettings(schema ? schemaDefaults(schema) : {}, defaultsFile) : null;
    if (schema && defaults) {
      const errs = validateSettings(schema, defaults);
      if (errs.length) throw new AyonError(400, 'Invalid addon zip: settings/defaults.json does not match settings/schema.json', 'bad-request', { errors: errs });
    }
    const pyproject = contents.get('private/pyproject.toml');
    if (pyproject && pyproject.length <= JSON_FILE_MAX) {
      // AYON lists the client's pyproject.toml with the version (clientPyproject)
      const parsed = parseTomlSubset(pyproject.toString('utf8'));
      meta = { ...meta, client_pyproject: parsed ?? { error: 'Unable to parse pyproject.toml' } };
    }
    const hasSite = siteSchema !== null || siteDefaultsFile !== null;
    const siteDefaults = hasSite ? mergeSettings(siteSchema ? schemaDefaults(siteSchema) : {}, siteDefaultsFile) : null;

    const generation = newAyonId();
    const prefix = addonKey(name, version, generation);
    const fileMap: Record<string, [number, number]> = {};
    const sha = createHash('sha256').update(zip).digest('hex');
    try {
      await blobs.put(`${prefix}/package.zip`, zip, { contentType: 'application/zip' });
      let n = 0;
      for (const e of files) {
        const b = read(e);
        await blobs.put(`${prefix}/files/${n}`, b);
        fileMap[e.name.slice(root.length)] = [n, b.length];
        n++;
      }
    } catch (e) {
      await blobs.deletePrefix(prefix).catch(() => {});
      throw e;
    }
    const title = typeof meta.title === 'string' && meta.title ? meta.title : name;
    const description = typeof meta.description === 'string' ? meta.description : '';
    const now = Date.now();
    const row = {
      name,
      version,
      title,
      description,
      generation,
      meta: JSON.stringify(meta),
      files: JSON.stringify(fileMap),
      settings_schema: hasSettings ? JSON.stringify(schema ?? {}) : null,
      settings_defaults: defaults ? JSON.stringify(defaults) : null,
      site_schema: hasSite ? JSON.stringify(siteSchema ?? {}) : null,
      site_defaults: siteDefaults ? JSON.stringify(siteDefaults) : null,
      zip_size: zip.length,
      zip_sha256: sha,
      created_by: actor.name,
      created_at: now,
    };
    let recs;
    let replaced: string | null = null;
    try {
      recs = await db.transaction().execute(async (tx) => {
        if (existing) {
          // the generation actually replaced (a concurrent overwrite may have changed it)
          const cur = await tx.selectFrom('ayon_addons').select('generation').where('name', '=', name).where('version', '=', version).executeTakeFirst();
          replaced = cur?.generation ?? null;
          await tx.deleteFrom('ayon_addons').where('name', '=', name).where('version', '=', version).execute();
        }
        await tx.insertInto('ayon_addons').values(row).execute();
        return emit(tx, [
          {
            topic: 'addon.install',
            user: actor.name,
            description: `Addon ${name} ${version} installed`,
            summary: { name, version, zip_size: zip.length, sha256: sha },
            status: 'finished',
          },
        ]);
      });
    } catch (e) {
      await blobs.deletePrefix(prefix).catch(() => {});
      if (isUniqueViolation(e)) throw new AyonError(409, `Addon ${name} ${version} is already installed`);
      throw e;
    }
    events.publish(recs);
    if (replaced) await blobs.deletePrefix(addonKey(name, version, replaced)).catch(() => {});
    return { eventId: recs[0].id };
  }

  async function activeVersions(): Promise<Record<string, { production?: string; staging?: string }>> {
    const rows = await db.selectFrom('ayon_bundles').selectAll().where((eb) => eb.or([eb('is_production', '=', 1), eb('is_staging', '=', 1)])).execute();
    const out: Record<string, { production?: string; staging?: string }> = {};
    for (const r of rows) {
      const b = rowToBundle(r);
      for (const [n, v] of Object.entries(b.addons)) {
        if (!v) continue;
        out[n] ??= {};
        if (b.isProduction) out[n].production = v;
        if (b.isStaging) out[n].staging = v;
      }
    }
    return out;
  }

  function versionInfo(a: AddonRecord, details: boolean, baseUrl: string): Obj {
    const info: Obj = {
      hasSettings: a.schema !== null,
      hasSiteSettings: a.siteSchema !== null,
      frontendScopes: isPlainObject(a.meta.frontend_scopes) ? a.meta.frontend_scopes : {},
      isBroken: false,
      projectCanOverrideAddonVersion: a.meta.project_can_override_addon_version === true,
    };
    if (details) {
      // as AYON: the local copy of the client code, downloaded from the private folder
      if (a.files['private/client.zip']) info.clientSourceInfo = [{ type: 'server', filename: 'client.zip' }];
      if (isPlainObject(a.meta.client_pyproject)) info.clientPyproject = a.meta.client_pyproject;
      if (isPlainObject(a.meta.services) && Object.keys(a.meta.services).length) info.services = a.meta.services;
    }
    return info;
  }

  async function list(actor: AyonActor, details: boolean, baseUrl = '') {
    void actor;
    const rows = await db.selectFrom('ayon_addons').selectAll().execute();
    const active = await activeVersions();
    const byName = new Map<string, AddonRecord[]>();
    for (const r of rows) {
      const a = rowToAddon(r);
      if (!byName.has(a.name)) byName.set(a.name, []);
      byName.get(a.name)!.push(a);
    }
    const addons = [...byName.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, vs]) => {
        vs.sort((x, y) => compareSemver(x.version, y.version));
        const latest = vs[vs.length - 1];
        const versions: Obj = {};
        for (const v of vs) versions[v.version] = versionInfo(v, details, baseUrl);
        const out: Obj = {
          name,
          title: latest.title,
          versions,
          description: latest.description,
          addonType: latest.meta.addon_type === 'pipeline' ? 'pipeline' : 'server',
          system: false,
          projectCanOverrideAddonVersion: latest.meta.project_can_override_addon_version === true,
        };
        if (active[name]?.production) out.productionVersion = active[name].production;
        if (active[name]?.staging) out.stagingVersion = active[name].staging;
        return out;
      });
    return { addons };
  }

  async function deleteAddon(actor: AyonActor, name: string, version: string | null, purge: boolean) {
    if (!actor.isAdmin) throw forbidden('Only admins can delete addons');
    let sel = db.selectFrom('ayon_addons').selectAll().where('name', '=', name);
    if (version !== null) sel = sel.where('version', '=', version);
    const rows = await sel.execute();
    if (!rows.length) throw notFound(version === null ? 'Addon not found' : 'Addon version not found');
    const recs = await db.transaction().execute(async (tx) => {
      let del = tx.deleteFrom('ayon_addons').where('name', '=', name);
      if (version !== null) del = del.where('version', '=', version);
      await del.execute();
      if (purge) {
        let ds = tx.deleteFrom('ayon_addon_settings').where('addon_name', '=', name);
        if (version !== null) ds = ds.where('addon_version', '=', version);
        await ds.execute();
      }
      return emit(tx, [
        {
          topic: 'addon.uninstall',
          user: actor.name,
          description: version === null ? `Addon ${name} deleted` : `Addon ${name} ${version} deleted`,
          summary: { name, version, purge },
        },
      ]);
    });
    events.publish(recs);
    for (const r of rows) await blobs.deletePrefix(`addons/${r.name}/${r.version}`).catch(() => {});
  }

  /**
   * Opens a file of a package's `private/` or `public/` folder. Only paths stored from the zip can
   * be named (a lookup, never a path join), so `..` and friends simply are not found.
   */
  async function openFile(name: string, version: string, folder: 'private' | 'public' | 'frontend', path: string, range?: { start: number; end?: number }) {
    const a = await getAddon(name, version);
    const segs = path.split('/');
    if (!a || !path || segs.some((s) => s === '' || s === '.' || s === '..') || path.includes('\\') || path.includes('\0')) throw notFound('File not found');
    // the frontend is served from frontend/dist (AYON's layout), else frontend/
    const f = folder === 'frontend' ? (a.files[`frontend/dist/${path}`] ?? a.files[`frontend/${path}`]) : a.files[`${folder}/${path}`];
    if (!f) throw notFound('File not found');
    const read = await blobs.get(`${addonKey(a.name, a.version, a.generation)}/files/${f[0]}`, range);
    if (!read) throw notFound('File not found');
    return { read, filename: segs[segs.length - 1] };
  }

  async function downloadZip(actor: AyonActor, name: string, version: string) {
    if (!actor.isAdmin) throw forbidden('Only admins can download addon packages');
    const a = await requireAddon(name, version);
    const read = await blobs.get(`${addonKey(a.name, a.version, a.generation)}/package.zip`);
    if (!read) throw notFound('File not found');
    return read;
  }

  // ------------------------------------------------------------------------------ settings storage

  /**
   * A stored row's key. `since`: the project's creation time — rows older than it belong to an
   * earlier project of the same name (deleted since) and are ignored, then overwritten.
   */
  type Key = { scope: 'studio' | 'project' | 'project_site' | 'site'; project?: string; since?: number; variant?: string; site?: string; user?: string };
  type Proj = { name: string; createdAt: number };

  const keyWhere = (a: { name: string; version: string }, k: Key) => ({
    addon_name: a.name,
    addon_version: a.version,
    scope: k.scope,
    project_name: k.project ?? '',
    variant: k.variant ?? '',
    site_id: k.site ?? '',
    user_name: k.user ?? '',
  });

  async function readStored(a: { name: string; version: string }, k: Key, q: Db = db): Promise<Obj | null> {
    const w = keyWhere(a, k);
    const r = await q
      .selectFrom('ayon_addon_settings')
      .select(['data', 'updated_at'])
      .where('addon_name', '=', w.addon_name)
      .where('addon_version', '=', w.addon_version)
      .where('scope', '=', w.scope)
      .where('project_name', '=', w.project_name)
      .where('variant', '=', w.variant)
      .where('site_id', '=', w.site_id)
      .where('user_name', '=', w.user_name)
      .executeTakeFirst();
    if (!r || (k.since !== undefined && Number(r.updated_at) < k.since)) return null;
    return parseJson<Obj>(r.data, {});
  }

  /** Writes (or with null deletes) one stored override/value row; returns the previous data. */
  async function writeStored(q: Db, a: { name: string; version: string }, k: Key, data: Obj | null): Promise<Obj | null> {
    const w = keyWhere(a, k);
    const prev = await readStored(a, k, q);
    const del = () =>
      q
        .deleteFrom('ayon_addon_settings')
        .where('addon_name', '=', w.addon_name)
        .where('addon_version', '=', w.addon_version)
        .where('scope', '=', w.scope)
        .where('project_name', '=', w.project_name)
        .where('variant', '=', w.variant)
        .where('site_id', '=', w.site_id)
        .where('user_name', '=', w.user_name)
        .execute();
    if (data === null) {
      if (prev) await del();
      return prev;
    }
    const now = Date.now();
    await q
      .insertInto('ayon_addon_settings')
      .values({ ...w, data: JSON.stringify(data), updated_at: now })
      .onConflict((oc) =>
        oc.columns(['addon_name', 'addon_version', 'scope', 'project_name', 'variant', 'site_id', 'user_name']).doUpdateSet({ data: JSON.stringify(data), updated_at: now }),
      )
      .execute();
    return prev;
  }

  const variantOf = (v: unknown) => (typeof v === 'string' && v ? v : 'production');

  async function studioSettings(a: AddonRecord, variant: string): Promise<Obj> {
    return mergeSettings(a.defaults, await readStored(a, { scope: 'studio', variant }));
  }
  async function projectSettings(a: AddonRecord, p: Proj, variant: string): Promise<Obj> {
    return mergeSettings(await studioSettings(a, variant), await readStored(a, { scope: 'project', project: p.name, since: p.createdAt, variant }));
  }
  async function projectSiteSettings(a: AddonRecord, p: Proj, variant: string, site: string, user: string): Promise<Obj> {
    return mergeSettings(await projectSettings(a, p, variant), await readStored(a, { scope: 'project_site', project: p.name, since: p.createdAt, site, user }));
  }
  async function siteValues(a: AddonRecord, site: string, user: string): Promise<Obj> {
    return mergeSettings(a.siteDefaults, await readStored(a, { scope: 'site', site, user }));
  }

  /** The schema with the addon's title, as AYON answers; {} for addons without settings. */
  async function getSchema(actor: AyonActor, name: string, version: string, project?: string) {
    const a = await requireAddon(name, version);
    if (project) await projects.resolve(actor, project);
    if (!a.schema) return {};
    return { ...a.schema, title: a.title };
  }

  async function getSiteSchema(name: string, version: string) {
    const a = await requireAddon(name, version);
    if (!a.siteSchema) return {};
    return { ...a.siteSchema, title: a.title };
  }

  async function getStudioSettings(name: string, version: string, q: Record<string, string | undefined>) {
    const a = await requireAddon(name, version);
    if (a.schema === null) return {};
    const as = q.as && q.as !== version ? await requireAddon(name, q.as) : null;
    if (as) return mergeSettings(a.defaults, await readStored(as, { scope: 'studio', variant: variantOf(q.variant) }));
    return studioSettings(a, variantOf(q.variant));
  }

  async function getProjectSettings(actor: AyonActor, name: string, version: string, project: string, q: Record<string, string | undefined>) {
    const a = await requireAddon(name, version);
    const p = await projects.resolve(actor, project);
    if (a.schema === null) throw notFound(`Settings for ${name} ${version} not found`);
    const site = q.site_id || q.site;
    const variant = variantOf(q.variant);
    return site ? projectSiteSettings(a, p, variant, site, actor.name) : projectSettings(a, p, variant);
  }

  function pinsOf(payload: Obj) {
    const pins = Array.isArray(payload.__pinned_fields__) ? (payload.__pinned_fields__ as unknown[]).filter(Array.isArray).map((x) => (x as unknown[]).map(String)) : [];
    const unpins = Array.isArray(payload.__unpinned_fields__) ? (payload.__unpinned_fields__ as unknown[]).filter(Array.isArray).map((x) => (x as unknown[]).map(String)) : [];
    const { __pinned_fields__: _p, __unpinned_fields__: _u, ...rest } = payload;
    return { pins, unpins, values: rest };
  }

  function validated(a: AddonRecord, values: Obj): Obj {
    // like model(**payload): what is not sent takes the defaults
    const full = mergeSettings(a.defaults, values);
    if (a.schema) {
      const errors = validateSettings(a.schema, full);
      if (errors.length) throw validation('Invalid settings', errors);
    }
    return full;
  }

  async function settingsChanged(q: Db, actor: AyonActor, a: AddonRecord, k: Key, prev: Obj | null, next: Obj | null, how = '') {
    const where = k.scope === 'studio' ? `${k.variant}` : k.scope === 'project' ? `${k.project} ${k.variant}` : `${k.project} site ${k.site}`;
    return emit(q, [
      {
        topic: 'settings.changed',
        project: k.project ?? null,
        user: actor.name,
        description: `${a.name} ${a.version} ${where} overrides changed${how}`,
        summary: {
          addon_name: a.name,
          addon_version: a.version,
          variant: k.variant ?? null,
          ...(k.project ? { project_name: k.project } : {}),
          ...(k.site ? { site_id: k.site } : {}),
        },
        payload: { originalValue: prev ?? {}, newValue: next ?? {} },
      },
    ]);
  }

  async function saveOverrides(actor: AyonActor, a: AddonRecord, k: Key, data: Obj | null, how = '') {
    const recs = await db.transaction().execute(async (tx) => {
      const prev = await writeStored(tx, a, k, data);
      return settingsChanged(tx, actor, a, k, prev, data, how);
    });
    events.publish(recs);
  }

  async function setStudioSettings(actor: AyonActor, name: string, version: string, variant: string | undefined, payload: unknown) {
    if (!actor.isManager) throw forbidden('Only managers can change studio settings');
    if (!isPlainObject(payload)) throw validation('Invalid settings', [{ loc: [], msg: 'value is not a valid dict', type: 'type_error.dict' }]);
    const a = await requireAddon(name, version);
    if (a.schema === null) throw badRequest('This addon does not have settings');
    const v = variantOf(variant);
    const { pins, unpins, values } = pinsOf(payload);
    const full = validated(a, values);
    const k: Key = { scope: 'studio', variant: v };
    const existing = (await readStored(a, k)) ?? {};
    const original = mergeSettings(a.defaults, existing);
    await saveOverrides(actor, a, k, extractOverrides(original, full, existing, pins, unpins));
  }

  async function setProjectSettings(actor: AyonActor, name: string, version: string, project: string, q: Record<string, string | undefined>, payload: unknown) {
    if (!isPlainObject(payload)) throw validation('Invalid settings', [{ loc: [], msg: 'value is not a valid dict', type: 'type_error.dict' }]);
    const a = await requireAddon(name, version);
    const p = await projects.resolve(actor, project);
    const site = q.site_id || q.site;
    if (!site && !actor.isManager) throw forbidden('Only managers can change project settings');
    if (a.schema === null) throw badRequest(`Addon ${name} has no settings`);
    const variant = variantOf(q.variant);
    const { pins, unpins, values } = pinsOf(payload);
    const full = validated(a, values);
    const k: Key = site ? { scope: 'project_site', project: p.name, since: p.createdAt, site, user: actor.name } : { scope: 'project', project: p.name, since: p.createdAt, variant };
    // an addon pinned by the project's bundle keeps the whole model as its project settings
    if (!site && (await frozenAddon(p.name, name, variant))) return saveOverrides(actor, a, k, full);
    const existing = (await readStored(a, k)) ?? {};
    // the original at this level already holds the existing overrides of this level
    const original = site ? await projectSiteSettings(a, p, variant, site, actor.name) : await projectSettings(a, p, variant);
    await saveOverrides(actor, a, k, extractOverrides(original, full, existing, pins, unpins));
  }

  async function overridesKey(actor: AyonActor, name: string, version: string, project: string | undefined, q: Record<string, string | undefined>, write: boolean | 'raw') {
    const a = await requireAddon(name, version);
    const variant = variantOf(q.variant);
    const site = q.site_id || q.site;
    if (!project) {
      if (!actor.isManager) throw forbidden();
      return { a, k: { scope: 'studio', variant } as Key, variant, p: null };
    }
    const p = await projects.resolve(actor, project);
    if (site) return { a, k: { scope: 'project_site', project: p.name, since: p.createdAt, site, user: actor.name } as Key, variant, p };
    if (write === true && (await frozenAddon(p.name, name, variant))) throw badRequest('Cannot modify overrides when a project bundle is frozen. Please unfreeze the bundle first.');
    if (write && !actor.isManager) throw forbidden('Only managers can change project settings');
    return { a, k: { scope: 'project', project: p.name, since: p.createdAt, variant } as Key, variant, p };
  }

  async function getOverrides(actor: AyonActor, name: string, version: string, project: string | undefined, q: Record<string, string | undefined>) {
    const { a, k, variant } = await overridesKey(actor, name, version, project, q, false);
    if (a.schema === null) return {};
    const src = q.as && q.as !== version ? await requireAddon(name, q.as) : a;
    const out: Obj = listOverrides((await readStored(src, { scope: 'studio', variant })) ?? {}, 'studio');
    if (k.scope !== 'studio') Object.assign(out, listOverrides((await readStored(src, { scope: 'project', project: k.project, since: k.since, variant })) ?? {}, 'project'));
    if (k.scope === 'project_site') Object.assign(out, listOverrides((await readStored(src, k)) ?? {}, 'site'));
    return out;
  }

  async function deleteOverrides(actor: AyonActor, name: string, version: string, project: string | undefined, q: Record<string, string | undefined>) {
    const { a, k } = await overridesKey(actor, name, version, project, q, true);
    await saveOverrides(actor, a, k, null, ' (overrides removed)');
  }

  async function modifyOverrides(actor: AyonActor, name: string, version: string, project: string | undefined, q: Record<string, string | undefined>, body: Obj) {
    const { a, k, variant, p } = await overridesKey(actor, name, version, project, q, true);
    const action = body.action;
    const path = body.path;
    if ((action !== 'delete' && action !== 'pin') || !Array.isArray(path) || !path.length || !path.every((x) => typeof x === 'string'))
      throw validation('Request validation error', [{ loc: ['body'], msg: "action must be 'delete' or 'pin' and path a non-empty list of strings", type: 'value_error' }]);
    const existing = (await readStored(a, k)) ?? {};
    if (action === 'delete') removePath(existing, path as string[]);
    else {
      const current =
        k.scope === 'studio'
          ? await studioSettings(a, variant)
          : k.scope === 'project'
            ? await projectSettings(a, p!, variant)
            : await projectSiteSettings(a, p!, variant, k.site!, k.user!);
      const v = getPath(current, path as string[]);
      if (v === undefined) throw badRequest(`Settings path ${(path as string[]).join('/')} not found`);
      setPath(existing, path as string[], v);
    }
    await saveOverrides(actor, a, k, existing, ` (${action} ${(path as string[]).join('/')})`);
  }

  async function getRawOverrides(actor: AyonActor, name: string, version: string, project: string | undefined, q: Record<string, string | undefined>) {
    const site = q.site_id || q.site;
    if (!(project && site) && !actor.isAdmin) throw forbidden('Only admins can access raw overrides');
    const { a, k } = await overridesKey(actor, name, version, project, q, false);
    return (await readStored(a, k)) ?? {};
  }

  async function putRawOverrides(actor: AyonActor, name: string, version: string, project: string | undefined, q: Record<string, string | undefined>, body: unknown) {
    const site = q.site_id || q.site;
    if (!(project && site) && !actor.isAdmin) throw forbidden('Only admins can access raw overrides');
    if (!isPlainObject(body)) throw validation('Invalid overrides', [{ loc: ['body'], msg: 'value is not a valid dict', type: 'type_error.dict' }]);
    const { a, k } = await overridesKey(actor, name, version, project, q, 'raw');
    await saveOverrides(actor, a, k, body, ' using low-level API');
  }

  async function getSiteSettings(actor: AyonActor, name: string, version: string, site: string | undefined) {
    const a = await requireAddon(name, version);
    if (a.siteSchema === null || !site) return {};
    return siteValues(a, site, actor.name);
  }

  async function setSiteSettings(actor: AyonActor, name: string, version: string, site: string | undefined, payload: unknown) {
    const a = await requireAddon(name, version);
    if (!site) throw badRequest('Site ID is required');
    if (a.siteSchema === null) return;
    if (!isPlainObject(payload)) throw validation('Invalid settings', [{ loc: [], msg: 'value is not a valid dict', type: 'type_error.dict' }]);
    const full = mergeSettings(a.siteDefaults, payload);
    const errors = validateSettings(a.siteSchema, full);
    if (errors.length) throw validation('Invalid settings', errors);
    await db.transaction().execute((tx) => writeStored(tx, a, { scope: 'site', site, user: actor.name }, full));
  }

  /** GET /api/settings: every addon of a bundle with its resolved settings. */
  async function allSettings(actor: AyonActor, q: Record<string, string | undefined>) {
    const variant = variantOf(q.variant);
    const site = q.site_id || q.site || undefined;
    let bundleName = q.bundle_name || undefined;
    if (bundleName !== undefined && !NAME_RE.test(bundleName)) throw validation(`Request validation error in [GET] /api/settings`, [{ loc: ['query', 'bundle_name'], msg: 'invalid bundle name', type: 'value_error.str.regex' }]);
    let proj: Proj | undefined;
    if (q.project_name) proj = await projects.resolve(actor, q.project_name);
    const list = await addonListForSettings(actor, { bundleName, projectBundleName: q.project_bundle_name || undefined, project: proj, variant });
    proj = list.project;
    const project = proj?.name;
    bundleName = list.bundleName;
    const items: Obj[] = [];
    for (const [addonName, addonVersion] of Object.entries(list.addons)) {
      const fromProjectBundle = list.isProjectBundle && !list.inherited.has(addonName);
      const a = await getAddon(addonName, addonVersion);
      if (!a) {
        items.push({ name: addonName, title: addonName, version: addonVersion, settings: {}, isBroken: false, hasSettings: false, hasProjectSettings: false, hasProjectSiteSettings: false, hasSiteSettings: false, isProjectBundle: false });
        continue;
      }
      const scopes = a.schema ? schemaScopes(a.schema) : new Set<string>();
      const item: Obj = {
        name: a.name,
        version: a.version,
        title: a.title || a.name,
        hasSettings: scopes.has('studio'),
        hasProjectSettings: scopes.has('project'),
        hasProjectSiteSettings: scopes.has('site'),
        hasSiteSettings: a.siteSchema !== null,
        isBroken: false,
        isProjectBundle: fromProjectBundle,
      };
      if (a.schema !== null) {
        const studioOv = await readStored(a, { scope: 'studio', variant });
        item.hasStudioOverrides = !!studioOv && Object.keys(studioOv).length > 0;
        if (project) {
          const pov = await readStored(a, { scope: 'project', project, since: proj!.createdAt, variant });
          item.hasProjectOverrides = !!pov && Object.keys(pov).length > 0;
          if (site) {
            const sov = await readStored(a, { scope: 'project_site', project, since: proj!.createdAt, site, user: actor.name });
            item.hasProjectSiteOverrides = !!sov && Object.keys(sov).length > 0;
          }
        }
        item.settings = q.summary === 'true' || q.summary === '1' ? {} : proj ? (site ? await projectSiteSettings(a, proj, variant, site, actor.name) : await projectSettings(a, proj, variant)) : await studioSettings(a, variant);
      } else item.settings = {};
      if (site && a.siteSchema !== null) item.siteSettings = await siteValues(a, site, actor.name);
      items.push(item);
    }
    items.sort((x, y) => String(x.title).toLowerCase().localeCompare(String(y.title).toLowerCase()));
    return { ...(project ? { projectName: project } : {}), bundleName, addons: items, inheritedAddons: list.isProjectBundle ? [...list.inherited] : [] };
  }

  /**
   * Copies the studio (and with `withProjects` the project) overrides of every addon present in both
   * bundles from the source bundle's version and variant to the target's (AYON's
   * migrateSettingsByBundle; an addon's own migration code cannot run here, so overrides are copied
   * as they are and replace the target's).
   */
  async function migrateSettingsByBundle(actor: AyonActor, body: Obj) {
    if (!actor.isAdmin) throw forbidden('Only admins can migrate bundle settings');
    const str = (k: string) => {
      const v = body[k];
      if (typeof v !== 'string' || !v) throw validation('Request validation error', [{ loc: ['body', k], msg: 'field required', type: 'value_error.missing' }]);
      return v;
    };
    const [sb, tb, sv, tv] = [str('sourceBundle'), str('targetBundle'), str('sourceVariant'), str('targetVariant')];
    const withProjects = body.withProjects !== false;
    if (!['production', 'staging'].includes(sv) && sb !== sv) throw badRequest('When source_variant is not production or staging, source_bundle must be the same as source_variant');
    if (!['production', 'staging'].includes(tv) && tb !== tv) throw badRequest('When target_variant is not production or staging, target_bundle must be the same as target_variant');
    const get = async (n: string) => {
      const r = await db.selectFrom('ayon_bundles').selectAll().where('name', '=', n).executeTakeFirst();
      return r ? Object.fromEntries(Object.entries(rowToBundle(r).addons).filter(([, v]) => !!v)) as Record<string, string> : null;
    };
    const src = await get(sb);
    const dst = await get(tb);
    if (!src || !Object.keys(src).length) throw notFound(src ? `Source bundle ${sb} has no addons` : `Source bundle ${sb} not found`);
    if (!dst || !Object.keys(dst).length) throw notFound(dst ? `Target bundle ${tb} has no addons` : `Target bundle ${tb} not found`);
    const scopes = withProjects ? ['studio', 'project'] : ['studio'];
    const recs = await db.transaction().execute(async (tx) => {
      const evs: AyonEventInput[] = [];
      for (const name of Object.keys(src).filter((n) => n in dst)) {
        const [from, to] = [src[name], dst[name]];
        if (!(await getAddon(name, from, tx)) || !(await getAddon(name, to, tx))) continue;
        if (from === to && sv === tv) continue;
        const rows = await tx.selectFrom('ayon_addon_settings').selectAll().where('addon_name', '=', name).where('addon_version', '=', from).where('scope', 'in', scopes).where('variant', '=', sv).execute();
        await tx.deleteFrom('ayon_addon_settings').where('addon_name', '=', name).where('addon_version', '=', to).where('scope', 'in', scopes).where('variant', '=', tv).execute();
        const now = Date.now();
        for (const r of rows) await tx.insertInto('ayon_addon_settings').values({ ...r, addon_version: to, variant: tv, updated_at: now }).execute();
        evs.push({
          topic: 'settings.changed',
          user: actor.name,
          description: `${name} ${to} ${tv} overrides migrated from ${from} ${sv}`,
          summary: { addon_name: name, addon_version: to, variant: tv, source_version: from, source_variant: sv },
        });
      }
      return emit(tx, evs);
    });
    events.publish(recs);
    return null;
  }

  /** The latest addon install events (AYON's GET /api/addons/install). */
  async function installEvents(actor: AyonActor) {
    void actor;
    const rows = await db.selectFrom('ayon_events').selectAll().where('topic', 'in', ['addon.install', 'addon.install_from_url']).orderBy('updated_at', 'desc').limit(100).execute();
    return {
      items: rows.map((r) => {
        const summary = parseJson<Obj>(r.summary, {});
        return {
          id: r.id,
          topic: r.topic,
          description: r.description,
          addonName: summary.name ?? null,
          addonVersion: summary.version ?? null,
          user: r.user_name,
          status: r.status,
          createdAt: isoTime(Number(r.created_at)),
          updatedAt: isoTime(Number(r.updated_at)),
        };
      }),
      // nothing of an addon runs inside Atrium: installing never needs a restart
      restartRequired: false,
    };
  }

  // ------------------------------------------------------------------------------ bundles

  /**
   * Bundle writes take turns on PostgreSQL (a transaction-scoped advisory lock): concurrent writers
   * moving the production/staging flag would otherwise collide on the one-flag indexes or deadlock.
   * SQLite writers are serialised already.
   */
  async function lockBundles(tx: Transaction<Database>) {
    if (store.dialect === 'postgres') await sql`select pg_advisory_xact_lock(${BUNDLE_LOCK}::bigint)`.execute(tx);
  }

  async function listBundles(archived: boolean) {
    let sel = db.selectFrom('ayon_bundles').selectAll();
    if (!archived) sel = sel.where('is_archived', '=', 0);
    const rows = await sel.orderBy('created_at', 'desc').orderBy('name').execute();
    const bundles = rows.map(rowToBundle);
    return {
      bundles: bundles.map(bundleToJson),
      productionBundle: bundles.find((b) => b.isProduction)?.name ?? null,
      stagingBundle: bundles.find((b) => b.isStaging)?.name ?? null,
      devBundles: bundles.filter((b) => b.isDev).map((b) => b.name),
    };
  }

  function parseAddonsMap(v: unknown, strict: boolean, loc: string): Record<string, string | null> {
    if (v === undefined || v === null) return {};
    if (!isPlainObject(v)) throw validation(`Request validation error`, [{ loc: ['body', loc], msg: 'value is not a valid dict', type: 'type_error.dict' }]);
    const out: Record<string, string | null> = {};
    for (const [k, x] of Object.entries(v)) {
      if (x === null || (typeof x === 'string' && x.toLowerCase() === 'none')) out[k] = null;
      else if (typeof x !== 'string') throw validation('Request validation error', [{ loc: ['body', loc, k], msg: 'str type expected', type: 'type_error.str' }]);
      else if (strict && !['__inherit__', '__disable__'].includes(x) && !SEMVER_RE.test(x))
        throw validation('Request validation error', [{ loc: ['body', loc, k], msg: `Version '${x}' for addon '${k}' is not a valid semantic version.`, type: 'value_error' }]);
      else out[k] = x;
    }
    return out;
  }

  function parseDeps(v: unknown): Record<string, string | null> {
    if (v === undefined || v === null) return {};
    if (!isPlainObject(v)) throw validation('Request validation error', [{ loc: ['body', 'dependencyPackages'], msg: 'value is not a valid dict', type: 'type_error.dict' }]);
    for (const [k, x] of Object.entries(v)) {
      if (!PLATFORMS.has(k)) throw validation('Request validation error', [{ loc: ['body', 'dependencyPackages', k], msg: "value is not a valid enumeration member; permitted: 'windows', 'linux', 'darwin'", type: 'type_error.enum' }]);
      if (x !== null && typeof x !== 'string') throw validation('Request validation error', [{ loc: ['body', 'dependencyPackages', k], msg: 'str type expected', type: 'type_error.str' }]);
    }
    return v as Record<string, string | null>;
  }

  function parseDev(v: unknown): BundleRecord['addonDevelopment'] {
    if (v === undefined || v === null) return {};
    if (!isPlainObject(v)) throw validation('Request validation error', [{ loc: ['body', 'addonDevelopment'], msg: 'value is not a valid dict', type: 'type_error.dict' }]);
    const out: BundleRecord['addonDevelopment'] = {};
    for (const [k, x] of Object.entries(v)) {
      const o = isPlainObject(x) ? x : {};
      out[k] = { enabled: o.enabled === undefined ? true : o.enabled === true, path: typeof o.path === 'string' ? o.path : '' };
    }
    return out;
  }

  const flag = (v: unknown, loc: string): boolean | undefined => {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') throw validation('Request validation error', [{ loc: ['body', loc], msg: 'value could not be parsed to a boolean', type: 'type_error.bool' }]);
    return v;
  };

  function bundleFromBody(body: Obj): BundleRecord {
    const name = body.name;
    if (typeof name !== 'string' || !NAME_RE.test(name) || name.length > 255)
      throw validation('Request validation error', [{ loc: ['body', 'name'], msg: `string does not match regex "${NAME_RE.source}"`, type: 'value_error.str.regex' }]);
    const iv = body.installerVersion;
    if (iv !== undefined && iv !== null && typeof iv !== 'string') throw validation('Request validation error', [{ loc: ['body', 'installerVersion'], msg: 'str type expected', type: 'type_error.str' }]);
    return {
      name,
      createdAt: Date.now(),
      addons: parseAddonsMap(body.addons, false, 'addons'),
      installerVersion: (iv as string | null | undefined) ?? null,
      dependencyPackages: parseDeps(body.dependencyPackages),
      addonDevelopment: parseDev(body.addonDevelopment),
      isProduction: flag(body.isProduction, 'isProduction') ?? false,
      isStaging: flag(body.isStaging, 'isStaging') ?? false,
      isDev: flag(body.isDev, 'isDev') ?? false,
      isArchived: false,
      isProject: flag(body.isProject, 'isProject') ?? false,
      activeUser: typeof body.activeUser === 'string' ? body.activeUser : null,
    };
  }

  /** AYON's check_bundle: every addon version installed, compatibility declared by the packages honoured. */
  async function checkBundle(b: Pick<BundleRecord, 'addons' | 'installerVersion'>, q: Db = db) {
    const issues: Obj[] = [];
    for (const [addonName, addonVersion] of Object.entries(b.addons)) {
      if (!addonVersion || addonVersion === '__inherit__' || addonVersion === '__disable__') continue;
      const a = await getAddon(addonName, addonVersion, q);
      if (!a) {
        issues.push({ severity: 'error', addon: addonName, message: `${addonName} ${addonVersion} is not active`, requiredAddon: addonName });
        continue;
      }
      const m = a.meta;
      const compat = isPlainObject(m.compatibility) ? m.compatibility : m;
      const serverReq = compat.server_version ?? compat.ayon_server_version;
      if (typeof serverReq === 'string' && !semverMatches(AYON_API_LEVEL, serverReq))
        issues.push({ severity: 'error', addon: addonName, message: `Ayon server ${serverReq} is required`, requiredAddon: null });
      const launcherReq = compat.launcher_version ?? compat.ayon_launcher_version;
      if (typeof launcherReq === 'string') {
        if (!b.installerVersion) issues.push({ severity: 'error', addon: addonName, message: 'Launcher is required', requiredAddon: null });
        else if (!semverMatches(b.installerVersion, launcherReq)) issues.push({ severity: 'error', addon: addonName, message: `Launcher ${launcherReq} is required`, requiredAddon: null });
      }
      const req = (compat.required_addons ?? compat.ayon_required_addons) as unknown;
      for (const [rn, rv] of Object.entries(isPlainObject(req) ? req : {})) {
        const bv = b.addons[rn];
        if (!bv) {
          if (rv !== null) issues.push({ severity: 'error', addon: addonName, message: `${rn} is required`, requiredAddon: rn });
        } else if (rv === null) issues.push({ severity: 'error', addon: addonName, message: `${rn} must not be used`, requiredAddon: rn });
        else if (typeof rv === 'string' && !semverMatches(bv, rv)) issues.push({ severity: 'error', addon: addonName, message: `${rn} ${rv} is required`, requiredAddon: rn });
      }
      const soft = (compat.soft_required_addons ?? compat.ayon_soft_required_addons) as unknown;
      for (const [rn, rv] of Object.entries(isPlainObject(soft) ? soft : {})) {
        const bv = b.addons[rn];
        if (bv && typeof rv === 'string' && !semverMatches(bv, rv)) issues.push({ severity: 'error', addon: addonName, message: `${rn} ${rv} is required`, requiredAddon: rn });
      }
      const comp = (compat.compatible_addons ?? compat.ayon_compatible_addons) as unknown;
      for (const [rn, rv] of Object.entries(isPlainObject(comp) ? comp : {})) {
        const bv = b.addons[rn];
        if (bv && typeof rv === 'string' && !semverMatches(bv, rv)) issues.push({ severity: 'warning', addon: addonName, message: `only compatible with ${rn} ${rv}`, requiredAddon: rn });
      }
    }
    const success = !issues.some((i) => i.severity === 'error');
    return { success, issues };
  }

  function checkMessage(res: { issues: Obj[] }) {
    const e = res.issues.filter((i) => i.severity === 'error').pop();
    return `Failed to validate bundle: ${e?.addon}: ${e?.message}`;
  }

  async function check(actor: AyonActor, body: Obj) {
    void actor;
    const b = bundleFromBody(body);
    return checkBundle(b);
  }

  async function createBundle(actor: AyonActor, body: Obj, force: boolean) {
    if (!actor.isAdmin) throw forbidden('Only admins can create bundles');
    const b = bundleFromBody(body);
    if (!force) {
      const res = await checkBundle(b);
      if (!res.success) throw badRequest(checkMessage(res));
    }
    if (b.isProject) {
      if (b.isProduction || b.isStaging) throw badRequest('Project bundles cannot be set as production or staging');
      if (b.isDev) throw badRequest('Project bundles cannot be set as development');
      for (const n of Object.keys(b.addons)) {
        const any = await db.selectFrom('ayon_addons').select('name').where('name', '=', n).executeTakeFirst();
        if (!any) throw badRequest(`Addon ${n} does not exist`);
      }
    }
    const data = {
      addons: b.addons,
      installer_version: b.installerVersion,
      dependency_packages: b.dependencyPackages,
      ...(b.isProject ? { is_project: true } : {}),
      ...(Object.keys(b.addonDevelopment).length ? { addon_development: b.addonDevelopment } : {}),
    };
    let recs;
    for (let attempt = 0; ; attempt++) {
      try {
        recs = await db.transaction().execute(async (tx) => {
          await lockBundles(tx);
          if (b.isProduction) await tx.updateTable('ayon_bundles').set({ is_production: 0 }).where('is_production', '=', 1).execute();
          if (b.isStaging) await tx.updateTable('ayon_bundles').set({ is_staging: 0 }).where('is_staging', '=', 1).execute();
          if (b.activeUser) await tx.updateTable('ayon_bundles').set({ active_user: null }).where('active_user', '=', b.activeUser).execute();
          await tx
            .insertInto('ayon_bundles')
            .values({
              name: b.name,
              data: JSON.stringify(data),
              is_production: b.isProduction ? 1 : 0,
              is_staging: b.isStaging ? 1 : 0,
              is_dev: b.isDev ? 1 : 0,
              is_archived: 0,
              active_user: b.activeUser,
              created_at: b.createdAt,
            })
            .execute();
          const stat = b.isProduction ? ' production' : b.isStaging ? ' staging' : b.isDev ? ' development' : '';
          return emit(tx, [
            {
              topic: 'bundle.created',
              user: actor.name,
              description: `New${stat} bundle '${b.name}' created`,
              summary: { name: b.name, isProduction: b.isProduction, isStaging: b.isStaging, isDev: b.isDev },
              payload: data,
            },
          ]);
        });
        break;
      } catch (e) {
        if (!isUniqueViolation(e)) throw e;
        // a concurrent writer took the production/staging flag first: take it over, once more
        const same = await db.selectFrom('ayon_bundles').select('name').where('name', '=', b.name).executeTakeFirst();
        if (same || attempt >= 3) throw new AyonError(409, `Bundle ${b.name} already exists`, 'constraint-violation');
      }
    }
    events.publish(recs);
  }

  async function updateBundle(actor: AyonActor, name: string, body: Obj, force: boolean) {
    if (!actor.isAdmin) throw forbidden('Only admins can patch bundles');
    const patchAddons = body.addons === undefined || body.addons === null ? null : parseAddonsMap(body.addons, true, 'addons');
    const patchDeps = body.dependencyPackages === undefined || body.dependencyPackages === null ? null : parseDeps(body.dependencyPackages);
    const patchDev = body.addonDevelopment === undefined || body.addonDevelopment === null ? null : parseDev(body.addonDevelopment);
    const pProd = flag(body.isProduction, 'isProduction');
    const pStag = flag(body.isStaging, 'isStaging');
    const pArch = flag(body.isArchived, 'isArchived');
    const pDev = flag(body.isDev, 'isDev');
    const iv = body.installerVersion;
    if (iv !== undefined && iv !== null && typeof iv !== 'string') throw validation('Request validation error', [{ loc: ['body', 'installerVersion'], msg: 'str type expected', type: 'type_error.str' }]);
    const run = () => db.transaction().execute(async (tx) => {
      await lockBundles(tx);
      const r = await tx.selectFrom('ayon_bundles').selectAll().where('name', '=', name).executeTakeFirst();
      if (!r) throw notFound('Bundle not found');
      const b = rowToBundle(r);
      if (pArch && (b.isProduction || b.isStaging)) throw badRequest('Cannot archive bundle that is production or staging');
      if (b.isProject) {
        if (pProd || pStag) throw badRequest('Cannot update production or staging bundle');
        if (pDev) throw badRequest('Cannot update dev bundle');
      }
      if (b.isDev) {
        if ('activeUser' in body) {
          const au = typeof body.activeUser === 'string' ? body.activeUser : null;
          if (au) await tx.updateTable('ayon_bundles').set({ active_user: null }).where('active_user', '=', au).execute();
          b.activeUser = au;
        }
        if (patchDev) b.addonDevelopment = patchDev;
        if (typeof iv === 'string') b.installerVersion = iv;
      } else b.activeUser = null;
      if (patchDeps) b.dependencyPackages = patchDeps;
      if (patchAddons) {
        const addons = { ...b.addons };
        for (const [n, v] of Object.entries(patchAddons)) {
          const exists = await tx.selectFrom('ayon_addons').select('name').where('name', '=', n).executeTakeFirst();
          if (!exists) continue; // AYON ignores addons it does not know
          if (v === null) delete addons[n];
          else addons[n] = v;
        }
        b.addons = addons;
      }
      if (!force) {
        const res = await checkBundle(b, tx);
        if (!res.success) throw badRequest(checkMessage(res));
      }
      if (pArch !== undefined) b.isArchived = pArch;
      if (pDev !== undefined) b.isDev = pDev;
      if (pProd !== undefined) {
        if (pProd) await tx.updateTable('ayon_bundles').set({ is_production: 0 }).where('is_production', '=', 1).execute();
        b.isProduction = pProd;
      }
      if (pStag !== undefined) {
        if (pStag) await tx.updateTable('ayon_bundles').set({ is_staging: 0 }).where('is_staging', '=', 1).execute();
        b.isStaging = pStag;
      }
      const data = {
        addons: b.addons,
        dependency_packages: b.dependencyPackages,
        installer_version: b.installerVersion,
        is_project: b.isProject,
        ...(b.isDev ? { addon_development: b.addonDevelopment } : {}),
      };
      await tx
        .updateTable('ayon_bundles')
        .set({
          data: JSON.stringify(data),
          is_production: b.isProduction ? 1 : 0,
          is_staging: b.isStaging ? 1 : 0,
          is_dev: b.isDev ? 1 : 0,
          is_archived: b.isArchived ? 1 : 0,
          active_user: b.activeUser,
        })
        .where('name', '=', name)
        .execute();
      const changed = Object.keys(body).filter((k) => ['addons', 'installerVersion', 'dependencyPackages', 'isProduction', 'isStaging', 'isArchived', 'isDev', 'activeUser', 'addonDevelopment'].includes(k));
      return emit(tx, [
        {
          topic: 'bundle.updated',
          user: actor.name,
          description: `Bundle ${name} changed: ${changed.join(', ') || 'nothing'}`,
          summary: { name, changedFields: changed, isProduction: b.isProduction, isStaging: b.isStaging, isArchived: b.isArchived, isDev: b.isDev, isProject: b.isProject },
          payload: data,
        },
      ]);
    });
    let recs;
    for (let attempt = 0; ; attempt++) {
      try {
        recs = await run();
        break;
      } catch (e) {
        // a concurrent writer took the production/staging flag first: take it over
        if (!isUniqueViolation(e) || attempt >= 3) throw e;
      }
    }
    events.publish(recs);
  }

  async function deleteBundle(actor: AyonActor, name: string) {
    if (!actor.isAdmin) throw forbidden('Only admins can delete bundles');
    const recs = await db.transaction().execute(async (tx) => {
      const r = await tx.deleteFrom('ayon_bundles').where('name', '=', name).executeTakeFirst();
      if (!Number(r.numDeletedRows)) return [];
      return emit(tx, [{ topic: 'bundle.deleted', user: actor.name, description: `Bundle ${name} deleted`, summary: { name } }]);
    });
    events.publish(recs);
  }


  // ------------------------------------------------------------------------------ project bundles

  /**
   * A project bundle pins addon versions for one project and variant (AYON's "freeze"): a bundle row
   * named `__project__<project>__<variant>` with `is_project`, referenced from the project's
   * `data.bundle[variant]` (where AYON keeps it, so the project model and GraphQL show it).
   */
  type PbVariant = 'production' | 'staging';
  const projectBundleName = (project: string, variant: PbVariant) => `__project__${project}__${variant}`;

  function pbVariant(v: string | undefined): PbVariant {
    const x = v === undefined || v === '' ? 'production' : v;
    if (x !== 'production' && x !== 'staging')
      throw validation('Request validation error', [{ loc: ['query', 'variant'], msg: "unexpected value; permitted: 'production', 'staging'", type: 'value_error.const' }]);
    return x;
  }

  function bundleRefs(data: Obj): Record<string, string> {
    const b = isPlainObject(data.bundle) ? data.bundle : {};
    return Object.fromEntries(Object.entries(b).filter(([, v]) => typeof v === 'string' && v)) as Record<string, string>;
  }

  async function projectData(q: Db, project: string, lock = false): Promise<Obj> {
    let sel = q.selectFrom('ayon_projects').select('data').where('name', '=', project);
    if (lock && store.dialect === 'postgres') sel = sel.forUpdate();
    const r = await sel.executeTakeFirst();
    if (!r) throw notFound(`Project ${project} not found`);
    return parseJson<Obj>(r.data, {});
  }

  /** Sets (or with null removes) project data.bundle[variant]; the key goes when nothing is left. */
  async function setBundleRefs(q: Db, project: string, refs: Record<string, string | null | undefined>) {
    const data = await projectData(q, project, true);
    const b: Obj = isPlainObject(data.bundle) ? { ...data.bundle } : {};
    for (const [variant, v] of Object.entries(refs)) {
      if (v === undefined) continue;
      if (v === null) delete b[variant];
      else b[variant] = v;
    }
    if (Object.keys(b).length) data.bundle = b;
    else delete data.bundle;
    await q.updateTable('ayon_projects').set({ data: JSON.stringify(data), updated_at: Date.now() }).where('name', '=', project).execute();
  }

  async function studioBundle(variant: string, q: Db = db): Promise<BundleRecord | null> {
    const r = await q.selectFrom('ayon_bundles').selectAll().where(variant === 'production' ? 'is_production' : 'is_staging', '=', 1).executeTakeFirst();
    return r ? rowToBundle(r) : null;
  }

  /** The project bundle the project uses for the variant (a project bundle row it references), or null. */
  async function usedProjectBundle(project: string, variant: string, q: Db = db): Promise<BundleRecord | null> {
    const name = bundleRefs(await projectData(q, project))[variant];
    if (!name) return null;
    const r = await q.selectFrom('ayon_bundles').selectAll().where('name', '=', name).executeTakeFirst();
    const b = r ? rowToBundle(r) : null;
    return b?.isProject ? b : null;
  }

  /** Whether the project's bundle for the variant pins a version of the addon (its settings are then frozen). */
  async function frozenAddon(project: string, addonName: string, variant: string): Promise<boolean> {
    if (variant !== 'production' && variant !== 'staging') return false;
    const name = bundleRefs(await projectData(db, project))[variant];
    if (!name) return false;
    const r = await db.selectFrom('ayon_bundles').select('data').where('name', '=', name).executeTakeFirst();
    const v = r ? (parseJson<Obj>(r.data, {}).addons as Obj | undefined)?.[addonName] : undefined;
    return typeof v === 'string' && !!v && v !== '__inherit__' && v !== '__disable__';
  }

  /** Whether the addon version lets a project bundle choose it (package.py `project_can_override_addon_version`). */
  const overridable = (a: AddonRecord) => a.meta.project_can_override_addon_version === true;

  /** AYON's deprecated POST /api/projects/{project}/bundles: points the project at project bundles by name. */
  async function setProjectBundles(actor: AyonActor, project: string, body: Obj) {
    const p = await projects.resolve(actor, project);
    const refs: Record<string, string | null | undefined> = {};
    for (const variant of ['production', 'staging']) {
      const v = body[variant];
      if (v !== undefined && v !== null && typeof v !== 'string')
        throw validation('Request validation error', [{ loc: ['body', variant], msg: 'str type expected', type: 'type_error.str' }]);
      refs[variant] = v === '' ? null : (v as string | null | undefined);
    }
    if (!actor.isManager) throw forbidden('Only managers can set project bundle');
    for (const name of Object.values(refs)) {
      if (!name) continue;
      const r = await db.selectFrom('ayon_bundles').selectAll().where('name', '=', name).executeTakeFirst();
      if (!r) throw notFound(`Bundle ${name} not found`);
      if (!rowToBundle(r).isProject) throw badRequest(`Bundle ${name} is not a project bundle`);
    }
    await db.transaction().execute((tx) => setBundleRefs(tx, p.name, refs));
  }

  /**
   * AYON's POST /api/projects/{project}/bundle (set_project_bundle, "freeze"): stores the project
   * bundle and makes the project's settings of every chosen addon version a full copy, so later
   * studio changes no longer reach the project.
   */
  async function freezeProjectBundle(actor: AyonActor, project: string, variantQ: string | undefined, body: Obj) {
    const p = await projects.resolve(actor, project);
    const variant = pbVariant(variantQ);
    if (body.addons === undefined || body.addons === null) throw validation('Request validation error', [{ loc: ['body', 'addons'], msg: 'field required', type: 'value_error.missing' }]);
    const addonsIn = parseAddonsMap(body.addons, false, 'addons');
    const iv = body.installerVersion;
    if (iv !== undefined && iv !== null && typeof iv !== 'string') throw validation('Request validation error', [{ loc: ['body', 'installerVersion'], msg: 'str type expected', type: 'type_error.str' }]);
    const deps = parseDeps(body.dependencyPackages);
    if (!actor.isManager) throw forbidden('Only managers can set project bundle');
    const addons: Record<string, string | null> = {};
    for (const [n, v] of Object.entries(addonsIn)) addons[n] = v === '__disable__' ? null : v;

    // every chosen version must exist and allow project overrides; its current project settings
    // (studio + project overrides of that version) become the project's full overrides
    const copies: { a: AddonRecord; full: Obj }[] = [];
    for (const [n, v] of Object.entries(addons)) {
      if (v === null || v === '__inherit__') continue;
      const a = await getAddon(n, v);
      if (!a) throw notFound(`Addon ${n} ${v} not found`);
      if (!overridable(a)) throw badRequest(`Addon ${n} version ${v} does not allow project overrides`);
      if (a.schema === null) continue;
      copies.push({ a, full: await projectSettings(a, p, variant) });
    }
    const name = projectBundleName(p.name, variant);
    const data = JSON.stringify({ addons, installer_version: (iv as string | null | undefined) ?? null, dependency_packages: deps, is_project: true });
    const recs = await db.transaction().execute(async (tx) => {
      await tx
        .insertInto('ayon_bundles')
        .values({ name, data, is_production: 0, is_staging: 0, is_dev: 0, is_archived: 0, active_user: null, created_at: Date.now() })
        .onConflict((oc) => oc.column('name').doUpdateSet({ data, is_production: 0, is_staging: 0, is_dev: 0 }))
        .execute();
      const out = [];
      for (const { a, full } of copies) {
        const k: Key = { scope: 'project', project: p.name, since: p.createdAt, variant };
        const prev = await writeStored(tx, a, k, full);
        // one settings.changed per copied addon, as AYON dispatches them after the freeze
        out.push(...(await settingsChanged(tx, actor, a, k, prev, full, ' (project bundle)')));
      }
      await setBundleRefs(tx, p.name, { [variant]: name });
      return out;
    });
    events.publish(recs);
    return null;
  }

  /**
   * AYON's DELETE /api/projects/{project}/bundle (unset_project_bundle, "unfreeze"): the project
   * follows the studio bundle again. Project overrides of the pinned versions keep only project-scoped
   * fields; where the studio bundle uses another version they are carried over to it (as they are —
   * an addon's own migration code does not run here). The bundle row goes.
   */
  async function unfreezeProjectBundle(actor: AyonActor, project: string, variantQ: string | undefined) {
    const p = await projects.resolve(actor, project);
    const variant = pbVariant(variantQ);
    if (!actor.isManager) throw forbidden('Only managers can unset project bundle');
    const pb = await usedProjectBundle(p.name, variant);
    const studio = (await studioBundle(variant))?.addons ?? {};
    const k: Key = { scope: 'project', project: p.name, since: p.createdAt, variant };
    const writes: { a: AddonRecord; data: Obj; prev: Obj | null }[] = [];
    for (const [n, v] of Object.entries(pb?.addons ?? {})) {
      if (!v || v === '__inherit__' || v === '__disable__') continue;
      const a = await getAddon(n, v);
      if (!a || a.schema === null) continue;
      const stored = await readStored(a, k);
      const kept = stored ? projectScopedOverrides(a.schema, stored) : null;
      if (stored && kept && JSON.stringify(kept) !== JSON.stringify(stored)) writes.push({ a, data: kept, prev: stored });
      const sv = studio[n];
      if (!sv || sv === v) continue;
      const sa = await getAddon(n, sv);
      if (!sa || sa.schema === null) continue;
      writes.push({ a: sa, data: kept ?? {}, prev: await readStored(sa, k) });
    }
    const recs = await db.transaction().execute(async (tx) => {
      const out = [];
      for (const w of writes) {
        await writeStored(tx, w.a, k, w.data);
        out.push(...(await settingsChanged(tx, actor, w.a, k, w.prev, w.data, ' (project bundle released)')));
      }
      await setBundleRefs(tx, p.name, { [variant]: null });
      await tx.deleteFrom('ayon_bundles').where('name', '=', projectBundleName(p.name, variant)).execute();
      return out;
    });
    events.publish(recs);
  }

  /** AYON's GET /api/projects/{project}/bundle: the versions a project uses and what it could choose. */
  async function getProjectBundle(actor: AyonActor, project: string, variantQ: string | undefined) {
    const p = await projects.resolve(actor, project);
    const variant = pbVariant(variantQ);
    if (!actor.isManager) throw forbidden('Only managers can get project bundle information');
    const base = await studioBundle(variant);
    if (!base) throw notFound(`${variant} bundle is not set`);
    let installerVersion = base.installerVersion;
    let dependencyPackages = base.dependencyPackages;
    const pb = await usedProjectBundle(p.name, variant);
    if (pb) {
      installerVersion = pb.installerVersion;
      dependencyPackages = pb.dependencyPackages;
    }
    const byName = new Map<string, AddonRecord[]>();
    for (const r of await db.selectFrom('ayon_addons').selectAll().execute()) {
      const a = rowToAddon(r);
      if (!byName.has(a.name)) byName.set(a.name, []);
      byName.get(a.name)!.push(a);
    }
    const addons: Record<string, string> = {};
    const addonMetadata: Obj[] = [];
    for (const [name, versions] of [...byName.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
      if (!versions.some(overridable)) continue;
      const baseVersion = base.addons[name] || null;
      if (pb) addons[name] = pb.addons[name] ?? '__disable__';
      else if (!baseVersion) addons[name] = '__disable__';
      else {
        const a = versions.find((x) => x.version === baseVersion);
        addons[name] = !a ? '__disable__' : overridable(a) ? baseVersion : '__inherit__';
      }
      const latest = [...versions].sort((x, y) => compareSemver(x.version, y.version)).pop()!;
      const options: Obj[] = [
        { value: '__inherit__', label: `Inherit (${baseVersion ?? 'DISABLED'})` },
        { value: '__disable__', label: 'Disable' },
        ...versions
          .map((v) => v.version)
          .sort()
          .reverse()
          .map((v) => {
            const ok = overridable(versions.find((x) => x.version === v)!);
            return ok ? { value: v, label: v } : { value: v, label: v, disabled: true, disabledMessage: 'This version cannot be used in project bundles.' };
          }),
      ];
      addonMetadata.push({ name, label: latest.title || name, options });
    }
    // what the desktop area holds: launcher versions and dependency package files per platform
    const pkgs = await db.selectFrom('ayon_desktop_packages').select(['kind', 'platform', 'version', 'filename']).execute();
    const installerOptions = [...new Set(pkgs.filter((r) => r.kind === 'installer' && r.version).map((r) => r.version))].sort().reverse();
    const dependencyPackageOptions: Record<string, string[]> = { windows: [], linux: [], darwin: [] };
    for (const r of pkgs) if (r.kind === 'dependency_package' && r.platform in dependencyPackageOptions) dependencyPackageOptions[r.platform].push(r.filename);
    for (const l of Object.values(dependencyPackageOptions)) l.sort().reverse();
    return { addons, installerVersion, dependencyPackages, addonMetadata, installerOptions, dependencyPackageOptions };
  }

  /**
   * The addons settings are read for (AYON's addon list for settings): the studio bundle's, with a
   * project bundle's versions (the project's for the variant, or one named explicitly) over them.
   */
  async function addonListForSettings(actor: AyonActor, opts: { bundleName?: string; projectBundleName?: string; project?: Proj; variant: string }) {
    let { bundleName, projectBundleName: pbName } = opts;
    const { variant } = opts;
    if (!pbName && bundleName?.startsWith('__project__')) {
      pbName = bundleName;
      bundleName = undefined;
    }
    let b;
    if (variant !== 'production' && variant !== 'staging') b = await db.selectFrom('ayon_bundles').selectAll().where('name', '=', variant).executeTakeFirst();
    else if (!bundleName) b = await db.selectFrom('ayon_bundles').selectAll().where(variant === 'production' ? 'is_production' : 'is_staging', '=', 1).executeTakeFirst();
    else b = await db.selectFrom('ayon_bundles').selectAll().where('name', '=', bundleName).executeTakeFirst();
    if (!b) throw notFound('Bundle not found');
    const studio = rowToBundle(b);
    const addons: Record<string, string> = {};
    for (const [n, v] of Object.entries(studio.addons)) if (v) addons[n] = v;
    let project = opts.project;
    if (project && !pbName && (variant === 'production' || variant === 'staging')) pbName = bundleRefs(await projectData(db, project.name))[variant];
    if (!pbName) return { addons, inherited: new Set<string>(), bundleName: studio.name, project, isProjectBundle: false };

    // the project bundle must be a project bundle some project uses for this variant
    const r = await db.selectFrom('ayon_bundles').selectAll().where('name', '=', pbName).executeTakeFirst();
    const pb = r ? rowToBundle(r) : null;
    let user: string | undefined;
    if (pb?.isProject) {
      if (project && bundleRefs(await projectData(db, project.name))[variant] === pb.name) user = project.name;
      else {
        const rows = await db.selectFrom('ayon_projects').select(['name', 'data']).where('data', 'like', '%"bundle"%').execute();
        user = rows.find((x) => bundleRefs(parseJson<Obj>(x.data, {}))[variant] === pb.name)?.name;
      }
    }
    if (!pb || !user) throw notFound(`Project bundle ${pbName} not found`);
    if (!project) project = await projects.resolve(actor, user);
    const inherited = new Set(Object.keys(addons));
    for (const [n, v] of Object.entries(pb.addons)) {
      if (v === '__inherit__') continue;
      if (v === null) {
        delete addons[n];
        inherited.delete(n);
        continue;
      }
      const a = await getAddon(n, v);
      if (!a || !overridable(a)) continue; // unknown or not allowed: the studio version stays
      addons[n] = v;
      inherited.delete(n);
    }
    return { addons, inherited, bundleName: pb.name, project, isProjectBundle: true };
  }

  return {
    install,
    list,
    getAddon,
    deleteAddon,
    openFile,
    downloadZip,
    getSchema,
    getSiteSchema,
    getStudioSettings,
    setStudioSettings,
    getProjectSettings,
    setProjectSettings,
    getOverrides,
    deleteOverrides,
    modifyOverrides,
    getRawOverrides,
    putRawOverrides,
    getSiteSettings,
    setSiteSettings,
    allSettings,
    migrateSettingsByBundle,
    installEvents,
    listBundles,
    checkBundle: check,
    createBundle,
    updateBundle,
    deleteBundle,
    setProjectBundles,
    freezeProjectBundle,
    unfreezeProjectBundle,
    getProjectBundle,
  };
}

/** The AYON API level compatibility requirements are checked against (services/ayon/index.ts AYON_VERSION). */
const AYON_API_LEVEL = '1.16.0';
/** The advisory lock key bundle writers take on PostgreSQL (any fixed number; "ayonbndl"). */
const BUNDLE_LOCK = 0x6179_6f6e_626e_646cn.toString();

export type AddonsService = ReturnType<typeof createAddonsService>;
