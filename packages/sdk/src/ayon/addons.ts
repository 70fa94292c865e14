/**
 * AyonClient methods for addons, bundles and settings (ayon-python-api's ServerAPI in camelCase),
 * added to the class by declaration merging. Same endpoints, query parameters and bodies as
 * ayon_api: settings getters default to the client's settings variant (`AYON_DEFAULT_SETTINGS_VARIANT`
 * or "production") and, for project settings, to the connection's site id.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AyonClient } from './client.js';

type Dict = Record<string, any>;

export interface DevBundleAddonInfo {
  enabled: boolean;
  path: string;
}

export interface BundleOptions {
  dependencyPackages?: Record<string, string | null>;
  isProduction?: boolean;
  isStaging?: boolean;
  isDev?: boolean;
  devActiveUser?: string | null;
  devAddonsConfig?: Record<string, DevBundleAddonInfo>;
}

export interface BundleUpdateOptions extends BundleOptions {
  addonVersions?: Record<string, string | null>;
  installerVersion?: string;
}

export interface SettingsContext {
  projectName?: string;
  variant?: string;
  siteId?: string;
  useSite?: boolean;
}

export interface BulkSettingsOptions {
  bundleName?: string;
  projectBundleName?: string;
  projectName?: string;
  variant?: string;
  siteId?: string;
  useSite?: boolean;
  onlyValues?: boolean;
}

declare module './client.js' {
  interface AyonClient {
    getDefaultSettingsVariant(): string;
    setDefaultSettingsVariant(variant: string): void;
    getSiteId(): string | null;
    setSiteId(siteId: string | null): void;

    getAddonsInfo(details?: boolean): Promise<{ addons: Dict[] }>;
    getAddonEndpoint(addonName: string, addonVersion: string, ...subpaths: string[]): string;
    getAddonUrl(addonName: string, addonVersion: string, subpaths?: string[], useRest?: boolean): string;
    uploadAddonZip(src: Uint8Array | string): Promise<{ eventId: string }>;
    downloadAddonPrivateFile(addonName: string, addonVersion: string, filename: string, destinationDir: string, destinationFilename?: string): Promise<string>;
    deleteAddon(addonName: string, purge?: boolean): Promise<void>;
    deleteAddonVersion(addonName: string, addonVersion: string, purge?: boolean): Promise<void>;

    getBundles(): Promise<Dict>;
    createBundle(name: string, addonVersions: Record<string, string>, installerVersion: string | null, opts?: BundleOptions): Promise<void>;
    updateBundle(bundleName: string, opts?: BundleUpdateOptions): Promise<void>;
    checkBundleCompatibility(name: string, addonVersions: Record<string, string>, installerVersion: string | null, opts?: BundleOptions): Promise<{ success: boolean; issues: Dict[] }>;
    deleteBundle(bundleName: string): Promise<void>;

    getProjectBundle(projectName: string, variant?: 'production' | 'staging'): Promise<Dict>;
    setProjectBundle(
      projectName: string,
      addons: Record<string, string | null>,
      installerVersion?: string | null,
      dependencyPackages?: Record<string, string | null> | null,
      variant?: 'production' | 'staging',
    ): Promise<void>;
    unsetProjectBundle(projectName: string, variant?: 'production' | 'staging'): Promise<void>;

    getAddonSettingsSchema(addonName: string, addonVersion: string, projectName?: string, variant?: string, siteId?: string): Promise<Dict>;
    getAddonSiteSettingsSchema(addonName: string, addonVersion: string): Promise<Dict>;
    getAddonStudioSettings(addonName: string, addonVersion: string, variant?: string): Promise<Dict>;
    getAddonProjectSettings(addonName: string, addonVersion: string, projectName: string, opts?: Omit<SettingsContext, 'projectName'>): Promise<Dict>;
    getAddonSettings(addonName: string, addonVersion: string, opts?: SettingsContext): Promise<Dict>;
    getAddonSiteSettings(addonName: string, addonVersion: string, siteId?: string): Promise<Dict>;
    getBundleSettings(opts?: Omit<BulkSettingsOptions, 'onlyValues'>): Promise<Dict>;
    getAddonsStudioSettings(opts?: Omit<BulkSettingsOptions, 'projectName'>): Promise<Dict>;
    getAddonsProjectSettings(projectName: string, opts?: Omit<BulkSettingsOptions, 'projectName'>): Promise<Dict>;
    getAddonsSettings(opts?: BulkSettingsOptions): Promise<Dict>;

    setAddonStudioSettings(addonName: string, addonVersion: string, settings: Dict, variant?: string): Promise<void>;
    setAddonProjectSettings(addonName: string, addonVersion: string, projectName: string, settings: Dict, variant?: string, siteId?: string): Promise<void>;
    setAddonSettings(addonName: string, addonVersion: string, settings: Dict, opts?: { projectName?: string; variant?: string; siteId?: string }): Promise<void>;
    setAddonSiteSettings(addonName: string, addonVersion: string, settings: Dict, siteId?: string): Promise<void>;

    getAddonStudioOverrides(addonName: string, addonVersion: string, variant?: string, asVersion?: string): Promise<Dict>;
    getAddonProjectOverrides(addonName: string, addonVersion: string, projectName: string, variant?: string, siteId?: string, asVersion?: string): Promise<Dict>;
    modifyAddonStudioOverrides(addonName: string, addonVersion: string, action: 'delete' | 'pin', path: string[], variant?: string): Promise<void>;
    modifyAddonProjectOverrides(addonName: string, addonVersion: string, projectName: string, action: 'delete' | 'pin', path: string[], variant?: string, siteId?: string): Promise<void>;
    deleteAddonStudioOverrides(addonName: string, addonVersion: string, variant?: string): Promise<void>;
    deleteAddonProjectOverrides(addonName: string, addonVersion: string, projectName: string, variant?: string, siteId?: string): Promise<void>;
    getAddonStudioRawOverrides(addonName: string, addonVersion: string, variant?: string): Promise<Dict>;
    getAddonProjectRawOverrides(addonName: string, addonVersion: string, projectName: string, variant?: string, siteId?: string): Promise<Dict>;
    setAddonStudioRawOverrides(addonName: string, addonVersion: string, overrides: Dict, variant?: string): Promise<void>;
    setAddonProjectRawOverrides(addonName: string, addonVersion: string, projectName: string, overrides: Dict, variant?: string, siteId?: string): Promise<void>;
  }
}

const variants = new WeakMap<AyonClient, string>();
/** The client options (private to AyonClient) hold the connection's site id. */
const optsOf = (c: AyonClient) => (c as unknown as { opts: { siteId?: string } }).opts;
const enc = encodeURIComponent;

AyonClient.prototype.getDefaultSettingsVariant = function (this: AyonClient) {
  return variants.get(this) ?? (process.env.AYON_DEFAULT_SETTINGS_VARIANT || 'production');
};
AyonClient.prototype.setDefaultSettingsVariant = function (this: AyonClient, variant: string) {
  variants.set(this, variant);
};
AyonClient.prototype.getSiteId = function (this: AyonClient) {
  return optsOf(this).siteId ?? null;
};
AyonClient.prototype.setSiteId = function (this: AyonClient, siteId: string | null) {
  optsOf(this).siteId = siteId ?? undefined;
};

// ------------------------------------------------------------------ addons

AyonClient.prototype.getAddonsInfo = async function (this: AyonClient, details = true) {
  return (await this.get('addons', details ? { details: 1 } : undefined)).data;
};
AyonClient.prototype.getAddonEndpoint = function (this: AyonClient, addonName: string, addonVersion: string, ...subpaths: string[]) {
  return `addons/${addonName}/${addonVersion}${subpaths.length ? `/${subpaths.join('/')}` : ''}`;
};
AyonClient.prototype.getAddonUrl = function (this: AyonClient, addonName: string, addonVersion: string, subpaths: string[] = [], useRest = true) {
  // as ayon_api: use_rest=True gives the base url (addon routes outside /api)
  return `${useRest ? this.baseUrl : `${this.baseUrl}/api`}/${this.getAddonEndpoint(addonName, addonVersion, ...subpaths)}`;
};
AyonClient.prototype.uploadAddonZip = async function (this: AyonClient, src: Uint8Array | string) {
  const data = typeof src === 'string' ? new Uint8Array(await fsp.readFile(src)) : src;
  return (await this.request('POST', 'addons/install', { body: data as unknown as BodyInit, contentType: 'application/octet-stream' })).data;
};
AyonClient.prototype.downloadAddonPrivateFile = async function (this: AyonClient, addonName: string, addonVersion: string, filename: string, destinationDir: string, destinationFilename?: string) {
  const dst = path.join(destinationDir, destinationFilename || filename);
  const r = await this.request('GET', `${this.baseUrl}/${this.getAddonEndpoint(addonName, addonVersion, 'private', filename)}`);
  const len = r.headers.get('content-length');
  if (len === null) throw new Error('Missing Content-Length header');
  if (Number(len) !== r.body.length) throw new Error(`Downloaded ${r.body.length} out of ${len} bytes`);
  await fsp.mkdir(path.dirname(dst), { recursive: true });
  await fsp.writeFile(dst, r.body);
  return dst;
};
AyonClient.prototype.deleteAddon = async function (this: AyonClient, addonName: string, purge?: boolean) {
  await this.delete(`addons/${enc(addonName)}`, purge === undefined ? undefined : { purge: purge ? 'true' : 'false' });
};
AyonClient.prototype.deleteAddonVersion = async function (this: AyonClient, addonName: string, addonVersion: string, purge?: boolean) {
  await this.delete(`addons/${enc(addonName)}/${enc(addonVersion)}`, purge === undefined ? undefined : { purge: purge ? 'true' : 'false' });
};

// ------------------------------------------------------------------ bundles

function bundleBody(o: BundleOptions): Dict {
  const body: Dict = {};
  if (o.dependencyPackages !== undefined) body.dependencyPackages = o.dependencyPackages;
  if (o.isProduction !== undefined) body.isProduction = o.isProduction;
  if (o.isStaging !== undefined) body.isStaging = o.isStaging;
  if (o.isDev !== undefined) body.isDev = o.isDev;
  if (o.devActiveUser !== undefined) body.activeUser = o.devActiveUser;
  if (o.devAddonsConfig !== undefined) body.addonDevelopment = o.devAddonsConfig;
  return body;
}

AyonClient.prototype.getBundles = async function (this: AyonClient) {
  return (await this.get('bundles')).data;
};
AyonClient.prototype.createBundle = async function (this: AyonClient, name: string, addonVersions: Record<string, string>, installerVersion: string | null, opts: BundleOptions = {}) {
  await this.post('bundles', { name, installerVersion, addons: addonVersions, ...bundleBody(opts) });
};
AyonClient.prototype.updateBundle = async function (this: AyonClient, bundleName: string, opts: BundleUpdateOptions = {}) {
  const body = bundleBody(opts);
  if (opts.installerVersion !== undefined) body.installerVersion = opts.installerVersion;
  if (opts.addonVersions !== undefined) body.addons = opts.addonVersions;
  await this.patch(`bundles/${enc(bundleName)}`, body);
};
AyonClient.prototype.checkBundleCompatibility = async function (this: AyonClient, name: string, addonVersions: Record<string, string>, installerVersion: string | null, opts: BundleOptions = {}) {
  return (await this.post('bundles/check', { name, installerVersion, addons: addonVersions, ...bundleBody(opts) })).data;
};
AyonClient.prototype.deleteBundle = async function (this: AyonClient, bundleName: string) {
  await this.delete(`bundles/${enc(bundleName)}`);
};

// project bundles: addon versions pinned per project and variant (null disables an addon)
AyonClient.prototype.getProjectBundle = async function (this: AyonClient, projectName: string, variant: 'production' | 'staging' = 'production') {
  return (await this.get(`projects/${enc(projectName)}/bundle`, { variant })).data;
};
AyonClient.prototype.setProjectBundle = async function (
  this: AyonClient,
  projectName: string,
  addons: Record<string, string | null>,
  installerVersion?: string | null,
  dependencyPackages?: Record<string, string | null> | null,
  variant: 'production' | 'staging' = 'production',
) {
  const body: Dict = { addons };
  if (installerVersion !== undefined && installerVersion !== null) body.installerVersion = installerVersion;
  if (dependencyPackages !== undefined && dependencyPackages !== null) body.dependencyPackages = dependencyPackages;
  await this.request('POST', `projects/${enc(projectName)}/bundle`, { json: body, params: { variant } });
};
AyonClient.prototype.unsetProjectBundle = async function (this: AyonClient, projectName: string, variant: 'production' | 'staging' = 'production') {
  await this.request('DELETE', `projects/${enc(projectName)}/bundle`, { params: { variant } });
};

// ------------------------------------------------------------------ settings

const base = (n: string, v: string) => `addons/${enc(n)}/${enc(v)}`;

AyonClient.prototype.getAddonSettingsSchema = async function (this: AyonClient, addonName: string, addonVersion: string, projectName?: string, variant?: string, siteId?: string) {
  const params: Dict = { variant: variant || undefined };
  if (projectName) params.site_id = siteId || undefined;
  return (await this.get(`${base(addonName, addonVersion)}/schema${projectName ? `/${enc(projectName)}` : ''}`, params)).data;
};
AyonClient.prototype.getAddonSiteSettingsSchema = async function (this: AyonClient, addonName: string, addonVersion: string) {
  return (await this.get(`${base(addonName, addonVersion)}/siteSettings/schema`)).data;
};
AyonClient.prototype.getAddonStudioSettings = async function (this: AyonClient, addonName: string, addonVersion: string, variant?: string) {
  return (await this.get(`${base(addonName, addonVersion)}/settings`, { variant: variant ?? this.getDefaultSettingsVariant() })).data;
};
AyonClient.prototype.getAddonProjectSettings = async function (this: AyonClient, addonName: string, addonVersion: string, projectName: string, opts: Omit<SettingsContext, 'projectName'> = {}) {
  const site = opts.useSite === false ? undefined : opts.siteId || this.getSiteId() || undefined;
  return (await this.get(`${base(addonName, addonVersion)}/settings/${enc(projectName)}`, { site, variant: opts.variant ?? this.getDefaultSettingsVariant() })).data;
};
AyonClient.prototype.getAddonSettings = async function (this: AyonClient, addonName: string, addonVersion: string, opts: SettingsContext = {}) {
  if (!opts.projectName) return this.getAddonStudioSettings(addonName, addonVersion, opts.variant);
  return this.getAddonProjectSettings(addonName, addonVersion, opts.projectName, opts);
};
AyonClient.prototype.getAddonSiteSettings = async function (this: AyonClient, addonName: string, addonVersion: string, siteId?: string) {
  const site = siteId ?? this.getSiteId();
  if (!site) return {};
  return (await this.get(`${base(addonName, addonVersion)}/siteSettings`, { site })).data;
};
AyonClient.prototype.getBundleSettings = async function (this: AyonClient, opts: Omit<BulkSettingsOptions, 'onlyValues'> = {}) {
  const site = opts.useSite === false ? undefined : opts.siteId || this.getSiteId() || undefined;
  return (
    await this.get('settings', {
      project_name: opts.projectName || undefined,
      bundle_name: opts.bundleName || undefined,
      project_bundle_name: opts.projectBundleName || undefined,
      variant: opts.variant || this.getDefaultSettingsVariant(),
      site_id: site,
    })
  ).data;
};
const values = (out: Dict) => Object.fromEntries((out.addons as Dict[]).map((a) => [a.name, a.settings]));
AyonClient.prototype.getAddonsStudioSettings = async function (this: AyonClient, opts: Omit<BulkSettingsOptions, 'projectName'> = {}) {
  const out = await this.getBundleSettings({ ...opts, projectName: undefined });
  return opts.onlyValues === false ? out : values(out);
};
AyonClient.prototype.getAddonsProjectSettings = async function (this: AyonClient, projectName: string, opts: Omit<BulkSettingsOptions, 'projectName'> = {}) {
  if (!projectName) throw new Error('Project name must be passed.');
  const out = await this.getBundleSettings({ ...opts, projectName });
  return opts.onlyValues === false ? out : values(out);
};
AyonClient.prototype.getAddonsSettings = async function (this: AyonClient, opts: BulkSettingsOptions = {}) {
  return opts.projectName ? this.getAddonsProjectSettings(opts.projectName, opts) : this.getAddonsStudioSettings(opts);
};

AyonClient.prototype.setAddonStudioSettings = async function (this: AyonClient, addonName: string, addonVersion: string, settings: Dict, variant?: string) {
  await this.request('POST', `${base(addonName, addonVersion)}/settings`, { json: settings, params: { variant: variant ?? this.getDefaultSettingsVariant() } });
};
AyonClient.prototype.setAddonProjectSettings = async function (this: AyonClient, addonName: string, addonVersion: string, projectName: string, settings: Dict, variant?: string, siteId?: string) {
  await this.request('POST', `${base(addonName, addonVersion)}/settings/${enc(projectName)}`, {
    json: settings,
    params: { site_id: siteId || undefined, variant: variant ?? this.getDefaultSettingsVariant() },
  });
};
AyonClient.prototype.setAddonSettings = async function (this: AyonClient, addonName: string, addonVersion: string, settings: Dict, opts: { projectName?: string; variant?: string; siteId?: string } = {}) {
  if (!opts.projectName) {
    if (opts.siteId) throw new Error("Argument 'siteId' can be used only with 'projectName'.");
    return this.setAddonStudioSettings(addonName, addonVersion, settings, opts.variant);
  }
  return this.setAddonProjectSettings(addonName, addonVersion, opts.projectName, settings, opts.variant, opts.siteId);
};
AyonClient.prototype.setAddonSiteSettings = async function (this: AyonClient, addonName: string, addonVersion: string, settings: Dict, siteId?: string) {
  const site = siteId ?? this.getSiteId();
  if (!site) throw new Error('Site id is not available.');
  await this.request('PUT', `${base(addonName, addonVersion)}/siteSettings`, { json: settings, params: { site_id: site } });
};

// ------------------------------------------------------------------ overrides

AyonClient.prototype.getAddonStudioOverrides = async function (this: AyonClient, addonName: string, addonVersion: string, variant?: string, asVersion?: string) {
  return (await this.get(`${base(addonName, addonVersion)}/overrides`, { variant: variant ?? this.getDefaultSettingsVariant(), as: asVersion || undefined })).data;
};
AyonClient.prototype.getAddonProjectOverrides = async function (this: AyonClient, addonName: string, addonVersion: string, projectName: string, variant?: string, siteId?: string, asVersion?: string) {
  return (
    await this.get(`${base(addonName, addonVersion)}/overrides/${enc(projectName)}`, {
      site_id: siteId || undefined,
      variant: variant ?? this.getDefaultSettingsVariant(),
      as: asVersion || undefined,
    })
  ).data;
};
AyonClient.prototype.modifyAddonStudioOverrides = async function (this: AyonClient, addonName: string, addonVersion: string, action: 'delete' | 'pin', p: string[], variant?: string) {
  await this.request('POST', `${base(addonName, addonVersion)}/overrides`, { json: { action, path: p }, params: { variant: variant ?? this.getDefaultSettingsVariant() } });
};
AyonClient.prototype.modifyAddonProjectOverrides = async function (this: AyonClient, addonName: string, addonVersion: string, projectName: string, action: 'delete' | 'pin', p: string[], variant?: string, siteId?: string) {
  await this.request('POST', `${base(addonName, addonVersion)}/overrides/${enc(projectName)}`, {
    json: { action, path: p },
    params: { site_id: siteId || undefined, variant: variant ?? this.getDefaultSettingsVariant() },
  });
};
AyonClient.prototype.deleteAddonStudioOverrides = async function (this: AyonClient, addonName: string, addonVersion: string, variant?: string) {
  await this.delete(`${base(addonName, addonVersion)}/overrides`, { variant: variant ?? this.getDefaultSettingsVariant() });
};
AyonClient.prototype.deleteAddonProjectOverrides = async function (this: AyonClient, addonName: string, addonVersion: string, projectName: string, variant?: string, siteId?: string) {
  await this.delete(`${base(addonName, addonVersion)}/overrides/${enc(projectName)}`, { site_id: siteId || undefined, variant: variant ?? this.getDefaultSettingsVariant() });
};
AyonClient.prototype.getAddonStudioRawOverrides = async function (this: AyonClient, addonName: string, addonVersion: string, variant?: string) {
  return (await this.get(`${base(addonName, addonVersion)}/rawOverrides`, { variant: variant ?? this.getDefaultSettingsVariant() })).data;
};
AyonClient.prototype.getAddonProjectRawOverrides = async function (this: AyonClient, addonName: string, addonVersion: string, projectName: string, variant?: string, siteId?: string) {
  return (await this.get(`${base(addonName, addonVersion)}/rawOverrides/${enc(projectName)}`, { site_id: siteId || undefined, variant: variant ?? this.getDefaultSettingsVariant() })).data;
};
AyonClient.prototype.setAddonStudioRawOverrides = async function (this: AyonClient, addonName: string, addonVersion: string, overrides: Dict, variant?: string) {
  await this.request('PUT', `${base(addonName, addonVersion)}/rawOverrides`, { json: overrides, params: { variant: variant ?? this.getDefaultSettingsVariant() } });
};
AyonClient.prototype.setAddonProjectRawOverrides = async function (this: AyonClient, addonName: string, addonVersion: string, projectName: string, overrides: Dict, variant?: string, siteId?: string) {
  await this.request('PUT', `${base(addonName, addonVersion)}/rawOverrides/${enc(projectName)}`, {
    json: overrides,
    params: { site_id: siteId || undefined, variant: variant ?? this.getDefaultSettingsVariant() },
  });
};

export const addonsMethods = AyonClient;
