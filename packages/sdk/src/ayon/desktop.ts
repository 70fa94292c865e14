/**
 * AyonClient methods for secrets, desktop installers, dependency packages and actions
 * (ayon-python-api's ServerAPI in camelCase), added to the class by declaration merging.
 *
 * Uploads send the file as the request body of `PUT /api/desktop/{installers|dependencyPackages}/{name}`
 * (Atrium checks it against the manifest's size and checksum and refuses a mismatch with 400);
 * downloads return the bytes, check them against Content-Length and, given a path, write them there.
 * `fileChecksum` computes the md5/sha1/sha256 a manifest declares.
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { AyonClient } from './client.js';

type Dict = Record<string, any>;

export type AyonPlatform = 'windows' | 'linux' | 'darwin';
export type ChecksumAlgorithm = 'md5' | 'sha1' | 'sha256';

export interface AyonSecret {
  name: string;
  value?: string;
}

export interface PackageSource {
  type: 'server' | 'http';
  url?: string;
}

export interface InstallerInfo {
  filename: string;
  platform: AyonPlatform;
  size?: number;
  checksum?: string;
  checksumAlgorithm?: ChecksumAlgorithm;
  sources: PackageSource[];
  version: string;
  pythonVersion?: string;
  pythonModules: Dict;
  runtimePythonModules: Dict;
}

export interface DependencyPackageInfo {
  filename: string;
  platform: AyonPlatform;
  size?: number;
  checksum?: string;
  checksumAlgorithm?: ChecksumAlgorithm;
  sources: PackageSource[];
  installerVersion: string;
  sourceAddons: Record<string, string>;
  pythonModules: Dict;
  pythonVersion?: string;
}

export interface CreateInstallerOptions {
  filename: string;
  version: string;
  pythonVersion: string;
  platformName: AyonPlatform;
  pythonModules: Record<string, string>;
  runtimePythonModules: Record<string, string>;
  checksum: string;
  checksumAlgorithm: ChecksumAlgorithm;
  fileSize: number;
  sources?: PackageSource[];
}

export interface CreateDependencyPackageOptions {
  filename: string;
  pythonModules: Record<string, string>;
  sourceAddons: Record<string, string | null>;
  installerVersion: string;
  checksum: string;
  checksumAlgorithm: ChecksumAlgorithm;
  fileSize: number;
  pythonVersion?: string;
  sources?: PackageSource[];
  platformName?: AyonPlatform;
}

export interface ActionContextOptions {
  projectName?: string;
  entityType?: 'project' | 'list' | 'folder' | 'task' | 'product' | 'version' | 'representation' | 'workfile';
  entityIds?: string[];
  entitySubtypes?: string[];
  formData?: Dict;
  variant?: string;
}

export interface ActionTriggerResponse {
  type: 'form' | 'launcher' | 'navigate' | 'query' | 'redirect' | 'simple';
  success: boolean;
  message: string | null;
  payload: Dict | null;
}

export interface ActionTakeResponse {
  eventId: string;
  actionIdentifier: string;
  args: string[];
  context: Dict;
  addonName: string;
  addonVersion: string;
  variant: string;
  userName: string;
}

/** The hex digest a package manifest declares for these bytes. */
export function fileChecksum(data: Uint8Array, algorithm: ChecksumAlgorithm = 'md5'): string {
  return createHash(algorithm).update(data).digest('hex');
}

const currentPlatform = (): AyonPlatform => (process.platform === 'win32' ? 'windows' : process.platform === 'darwin' ? 'darwin' : 'linux');

declare module './client.js' {
  interface AyonClient {
    getSecrets(): Promise<AyonSecret[]>;
    getSecret(secretName: string): Promise<AyonSecret>;
    saveSecret(secretName: string, secretValue: string): Promise<void>;
    deleteSecret(secretName: string): Promise<void>;

    getInstallers(version?: string | null, platformName?: AyonPlatform | null): Promise<{ installers: InstallerInfo[] }>;
    createInstaller(opts: CreateInstallerOptions): Promise<void>;
    updateInstaller(filename: string, sources: PackageSource[]): Promise<void>;
    deleteInstaller(filename: string): Promise<void>;
    /** `src`: the bytes, or a path to read them from. */
    uploadInstaller(src: Uint8Array | string, dstFilename: string): Promise<void>;
    /** The installer's bytes; also written to `dstFilepath` when given. */
    downloadInstaller(filename: string, dstFilepath?: string): Promise<Uint8Array>;

    getDependencyPackages(): Promise<{ packages: DependencyPackageInfo[] }>;
    createDependencyPackage(opts: CreateDependencyPackageOptions): Promise<void>;
    updateDependencyPackage(filename: string, sources: PackageSource[]): Promise<void>;
    deleteDependencyPackage(filename: string): Promise<void>;
    uploadDependencyPackage(src: Uint8Array | string, dstFilename: string): Promise<void>;
    /** The package's bytes; also written to `dstDirectory/dstFilename` when both are given. */
    downloadDependencyPackage(srcFilename: string, dstDirectory?: string, dstFilename?: string): Promise<Uint8Array>;

    getActions(opts?: ActionContextOptions & { mode?: 'simple' | 'dynamic' | 'all' }): Promise<Dict[]>;
    triggerAction(identifier: string, addonName: string, addonVersion: string, opts?: ActionContextOptions): Promise<ActionTriggerResponse>;
    getActionConfig(identifier: string, addonName: string, addonVersion: string, opts?: ActionContextOptions): Promise<Dict>;
    setActionConfig(identifier: string, addonName: string, addonVersion: string, value: Dict, opts?: ActionContextOptions): Promise<Dict>;
    takeAction(actionToken: string): Promise<ActionTakeResponse>;
    abortAction(actionToken: string, message?: string): Promise<void>;
  }
}

// ------------------------------------------------------------------ secrets

AyonClient.prototype.getSecrets = async function (this: AyonClient) {
  return (await this.get('secrets')).data;
};
AyonClient.prototype.getSecret = async function (this: AyonClient, secretName: string) {
  return (await this.get(`secrets/${secretName}`)).data;
};
AyonClient.prototype.saveSecret = async function (this: AyonClient, secretName: string, secretValue: string) {
  await this.put(`secrets/${secretName}`, { name: secretName, value: secretValue });
};
AyonClient.prototype.deleteSecret = async function (this: AyonClient, secretName: string) {
  await this.delete(`secrets/${secretName}`);
};

// ------------------------------------------------------------------ files

async function uploadTo(client: AyonClient, endpoint: string, src: Uint8Array | string): Promise<void> {
  const data = typeof src === 'string' ? new Uint8Array(await fsp.readFile(src)) : src;
  await client.request('PUT', endpoint, { body: data as unknown as BodyInit, contentType: 'application/octet-stream' });
}

async function downloadFrom(client: AyonClient, endpoint: string, dst?: string): Promise<Uint8Array> {
  const r = await client.request('GET', endpoint);
  const len = r.headers.get('content-length');
  if (len === null) throw new Error('Missing Content-Length header');
  if (Number(len) !== r.body.length) throw new Error(`Downloaded ${r.body.length} out of ${len} bytes`);
  if (dst) {
    await fsp.mkdir(path.dirname(dst), { recursive: true });
    await fsp.writeFile(dst, r.body);
  }
  return r.body;
}

// ------------------------------------------------------------------ installers

AyonClient.prototype.getInstallers = async function (this: AyonClient, version?: string | null, platformName?: AyonPlatform | null) {
  return (await this.get('desktop/installers', { version: version || undefined, platform: platformName || undefined })).data;
};
AyonClient.prototype.createInstaller = async function (this: AyonClient, o: CreateInstallerOptions) {
  const body: Dict = {
    filename: o.filename,
    version: o.version,
    pythonVersion: o.pythonVersion,
    platform: o.platformName,
    pythonModules: o.pythonModules,
    runtimePythonModules: o.runtimePythonModules,
    checksum: o.checksum,
    checksumAlgorithm: o.checksumAlgorithm,
    size: o.fileSize,
  };
  if (o.sources?.length) body.sources = o.sources;
  await this.post('desktop/installers', body);
};
AyonClient.prototype.updateInstaller = async function (this: AyonClient, filename: string, sources: PackageSource[]) {
  await this.patch(`desktop/installers/${filename}`, { sources });
};
AyonClient.prototype.deleteInstaller = async function (this: AyonClient, filename: string) {
  await this.delete(`desktop/installers/${filename}`);
};
AyonClient.prototype.uploadInstaller = async function (this: AyonClient, src: Uint8Array | string, dstFilename: string) {
  await uploadTo(this, `desktop/installers/${dstFilename}`, src);
};
AyonClient.prototype.downloadInstaller = async function (this: AyonClient, filename: string, dstFilepath?: string) {
  return downloadFrom(this, `desktop/installers/${filename}`, dstFilepath);
};

// ------------------------------------------------------------------ dependency packages

AyonClient.prototype.getDependencyPackages = async function (this: AyonClient) {
  return (await this.get('desktop/dependencyPackages')).data;
};
AyonClient.prototype.createDependencyPackage = async function (this: AyonClient, o: CreateDependencyPackageOptions) {
  const body: Dict = {
    filename: o.filename,
    pythonModules: o.pythonModules,
    sourceAddons: o.sourceAddons,
    installerVersion: o.installerVersion,
    checksum: o.checksum,
    checksumAlgorithm: o.checksumAlgorithm,
    size: o.fileSize,
    platform: o.platformName ?? currentPlatform(),
  };
  if (o.pythonVersion) body.pythonVersion = o.pythonVersion;
  if (o.sources?.length) body.sources = o.sources;
  await this.post('desktop/dependencyPackages', body);
};
AyonClient.prototype.updateDependencyPackage = async function (this: AyonClient, filename: string, sources: PackageSource[]) {
  await this.patch(`desktop/dependencyPackages/${filename}`, { sources });
};
AyonClient.prototype.deleteDependencyPackage = async function (this: AyonClient, filename: string) {
  await this.delete(`desktop/dependencyPackages/${filename}`);
};
AyonClient.prototype.uploadDependencyPackage = async function (this: AyonClient, src: Uint8Array | string, dstFilename: string) {
  await uploadTo(this, `desktop/dependencyPackages/${dstFilename}`, src);
};
AyonClient.prototype.downloadDependencyPackage = async function (this: AyonClient, srcFilename: string, dstDirectory?: string, dstFilename?: string) {
  const dst = dstDirectory && dstFilename ? path.join(dstDirectory, dstFilename) : undefined;
  return downloadFrom(this, `desktop/dependencyPackages/${srcFilename}`, dst);
};

// ------------------------------------------------------------------ actions

function contextBody(o: ActionContextOptions): Dict {
  const body: Dict = {};
  if (o.projectName !== undefined) body.projectName = o.projectName;
  if (o.entityType !== undefined) body.entityType = o.entityType;
  if (o.entityIds !== undefined) body.entityIds = o.entityIds;
  if (o.entitySubtypes !== undefined) body.entitySubtypes = o.entitySubtypes;
  if (o.formData !== undefined) body.formData = o.formData;
  return body;
}

const actionParams = (identifier: string, addonName: string, addonVersion: string, variant?: string) => ({
  addonName,
  addonVersion,
  identifier,
  variant: variant ?? 'production',
});

AyonClient.prototype.getActions = async function (this: AyonClient, opts: ActionContextOptions & { mode?: 'simple' | 'dynamic' | 'all' } = {}) {
  const params: Dict = { variant: opts.variant ?? 'production' };
  if (opts.mode) params.mode = opts.mode;
  return (await this.request('POST', 'actions/list', { params, json: contextBody(opts) })).data.actions;
};
AyonClient.prototype.triggerAction = async function (this: AyonClient, identifier: string, addonName: string, addonVersion: string, opts: ActionContextOptions = {}) {
  return (await this.request('POST', 'actions/execute', { params: actionParams(identifier, addonName, addonVersion, opts.variant), json: contextBody(opts) })).data;
};
AyonClient.prototype.getActionConfig = async function (this: AyonClient, identifier: string, addonName: string, addonVersion: string, opts: ActionContextOptions = {}) {
  return (await this.request('POST', 'actions/config', { params: actionParams(identifier, addonName, addonVersion, opts.variant), json: contextBody(opts) })).data;
};
AyonClient.prototype.setActionConfig = async function (this: AyonClient, identifier: string, addonName: string, addonVersion: string, value: Dict, opts: ActionContextOptions = {}) {
  return (await this.request('POST', 'actions/config', { params: actionParams(identifier, addonName, addonVersion, opts.variant), json: { ...contextBody(opts), value } })).data;
};
/** GET /api/actions/take/{token} (ayon_api GETs the abort URL, which Atrium answers the same way). */
AyonClient.prototype.takeAction = async function (this: AyonClient, actionToken: string) {
  return (await this.get(`actions/take/${actionToken}`)).data;
};
AyonClient.prototype.abortAction = async function (this: AyonClient, actionToken: string, message?: string) {
  await this.post(`actions/abort/${actionToken}`, { message: message ?? 'Action aborted' });
};

export const desktopMethods = AyonClient;
