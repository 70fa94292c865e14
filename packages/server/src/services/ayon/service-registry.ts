/**
 * AYON services and hosts registry (what AYON's `/api/hosts` and `/api/services` keep): AYON service
 * hosts (ASH) send heartbeats with their health and the services they run; administrators declare
 * which addon services should run on which host. Data only — Atrium does not start containers; an
 * ASH pointed at Atrium gets the same answers it would get from AYON and does the running itself.
 *
 * Rules (ayon-backend api/services): heartbeats are for service users only (403 "Only services have
 * hearts to beat"), upsert the host and mark each of its services running or not; the answer lists the
 * host's services that should run. Spawning, patching and deleting services is admin-only (service
 * users are admins in AYON). Listing services: admins and services see them, other users get an
 * empty list (the documented behaviour of newer AYON servers: a service's `env` may carry secrets).
 *
 * Spawning needs the addon version installed (404 "Addon … version … does not exist", as AYON). When
 * its package.py declares `services` as a literal dict, the service must be one of them (404 "This
 * addon does not have this service") and its `image` is copied into the service data, as AYON does.
 * Services declared only in the addon's server code cannot be read (Atrium never runs addon code):
 * then any service name is accepted and `image` stays null.
 *
 * Divergences, on purpose: AYON answers an unknown host in PUT/PATCH with a foreign-key failure (500)
 * and a duplicate name with a unique violation (500); here they are 404 "Host … not found" and 409.
 */
import type { AyonCoreDeps } from './index.js';
import type { AyonActor } from './users.js';
import type { AyonServicesTable } from '../../store/schema-ayon-realtime.js';
import { AyonError, conflict, forbidden, notFound } from './errors.js';
import { isPlainObject, isoTime } from './rules.js';
import { isUniqueViolation } from '../../store/db.js';

/** where a request came from, for AYON's validation error detail */
export interface RequestPlace {
  method: string;
  path: string;
}

/** an installed addon version, or null */
export type AddonLookup = (name: string, version: string) => Promise<{ meta: Record<string, unknown> } | null>;

export interface ServiceConfig {
  volumes: string[] | null;
  ports: string[] | null;
  memLimit: string | null;
  user: string | null;
  env: Record<string, unknown>;
  storagePath: string | null;
}

const CONFIG_KEYS = ['volumes', 'ports', 'memLimit', 'user', 'env', 'storagePath'] as const;
const MAX_NAME = 255;

function invalid(where: RequestPlace, msg: string): AyonError {
  return new AyonError(400, `Request validation error in [${where.method}] ${where.path}`, 'bad-request', {
    path: where.path,
    traceback: msg,
    errors: [{ loc: ['body', msg.split(':')[0]], msg: msg.split(': ').slice(1).join(': ') || msg }],
  });
}

/** pydantic-like coercion of a `str` field: strings, and numbers as their text */
function str(v: unknown, field: string, where: RequestPlace, opts: { required?: boolean; nullable?: boolean } = {}): string | null | undefined {
  if (v === undefined) {
    if (opts.required) throw invalid(where, `${field}: field required`);
    return undefined;
  }
  if (v === null) {
    if (opts.nullable) return null;
    throw invalid(where, `${field}: none is not an allowed value`);
  }
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  throw invalid(where, `${field}: str type expected`);
}

function name(v: unknown, field: string, where: RequestPlace): string {
  const s = str(v, field, where, { required: true })!;
  if (!s.trim() || s.length > MAX_NAME) throw invalid(where, `${field}: must be 1 to ${MAX_NAME} characters`);
  return s;
}

function strList(v: unknown, field: string, where: RequestPlace): string[] | null | undefined {
  if (v === undefined || v === null) return v as null | undefined;
  if (!Array.isArray(v)) throw invalid(where, `${field}: value is not a valid list`);
  return v.map((x, i) => str(x, `${field}.${i}`, where, { required: true })!);
}

/** The ServiceConfigModel fields present in `body` (camelCase or snake_case keys), validated. */
function configFields(body: Record<string, unknown>, where: RequestPlace, prefix = ''): Partial<ServiceConfig> {
  const get = (k: string) => (k in body ? body[k] : body[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)]);
  const out: Partial<ServiceConfig> = {};
  const volumes = strList(get('volumes'), `${prefix}volumes`, where);
  if (volumes !== undefined) out.volumes = volumes;
  const ports = strList(get('ports'), `${prefix}ports`, where);
  if (ports !== undefined) out.ports = ports;
  for (const k of ['memLimit', 'user', 'storagePath'] as const) {
    const v = str(get(k), `${prefix}${k}`, where, { nullable: true });
    if (v !== undefined) out[k] = v;
  }
  const env = get('env');
  if (env !== undefined) {
    if (env === null) out.env = {};
    else if (!isPlainObject(env)) throw invalid(where, `${prefix}env: value is not a valid dict`);
    else out.env = env;
  }
  return out;
}

const emptyConfig = (): ServiceConfig & { image: string | null } => ({ volumes: null, ports: null, memLimit: null, user: null, env: {}, storagePath: null, image: null });

function parseJson(text: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text);
    return isPlainObject(v) ? v : {};
  } catch {
    return {};
  }
}

function healthOf(v: unknown, where: RequestPlace): { cpu: number; mem: number } {
  if (v === undefined) throw invalid(where, 'health: field required');
  if (!isPlainObject(v)) throw invalid(where, 'health: value is not a valid dict');
  const out = { cpu: 0, mem: 0 };
  for (const k of ['cpu', 'mem'] as const) {
    const x = v[k];
    if (x === undefined) continue;
    const n = typeof x === 'string' && x.trim() !== '' ? Number(x) : x;
    if (typeof n !== 'number' || !Number.isFinite(n)) throw invalid(where, `health.${k}: value is not a valid float`);
    if (n < 0 || n > 100) throw invalid(where, `health.${k}: ensure this value is between 0 and 100`);
    out[k] = n;
  }
  return out;
}

export function createServiceRegistry(core: AyonCoreDeps) {
  const db = core.store.db;

  const isAdmin = (a: AyonActor) => !a.isGuest && (a.isAdmin || a.isService);

  function serviceModel(r: AyonServicesTable, now: number) {
    const data = { ...emptyConfig(), ...parseJson(r.data) };
    return {
      name: r.name,
      hostname: r.hostname,
      addonName: r.addon_name,
      addonVersion: r.addon_version,
      service: r.service,
      shouldRun: Number(r.should_run) === 1,
      isRunning: Number(r.is_running) === 1,
      lastSeen: isoTime(r.last_seen),
      lastSeenDelta: r.last_seen === null || r.last_seen === undefined ? null : Math.max(0, (now - Number(r.last_seen)) / 1000),
      data,
    };
  }

  async function allServices() {
    const rows = await db.selectFrom('ayon_services').selectAll().orderBy('name', 'asc').execute();
    const now = Date.now();
    return rows.map((r) => serviceModel(r, now));
  }

  async function hostExists(hostname: string): Promise<boolean> {
    return !!(await db.selectFrom('ayon_hosts').select('name').where('name', '=', hostname).executeTakeFirst());
  }

  /** GET /api/hosts */
  async function listHosts(_actor: AyonActor) {
    const rows = await db.selectFrom('ayon_hosts').selectAll().orderBy('name', 'asc').execute();
    return {
      hosts: rows.map((r) => {
        const h = parseJson(r.health);
        return { name: r.name, lastSeen: isoTime(r.last_seen), health: { cpu: Number(h.cpu ?? 0), mem: Number(h.mem ?? 0) } };
      }),
    };
  }

  /** POST /api/hosts/heartbeat: upserts the host, marks its services running or not, answers what should run there. */
  async function heartbeat(actor: AyonActor, body: Record<string, unknown>, where: RequestPlace) {
    if (!actor.isService) throw forbidden('Only services have hearts to beat');
    const hostname = name(body.hostname, 'hostname', where);
    const health = healthOf(body.health, where);
    const running = strList(body.services, 'services', where) ?? [];
    const now = Date.now();
    await db.transaction().execute(async (trx) => {
      await trx
        .insertInto('ayon_hosts')
        .values({ name: hostname, last_seen: now, health: JSON.stringify(health) })
        .onConflict((oc) => oc.column('name').doUpdateSet({ last_seen: now, health: JSON.stringify(health) }))
        .execute();
      await trx.updateTable('ayon_services').set({ is_running: 0, last_seen: now }).where('hostname', '=', hostname).execute();
      if (running.length) await trx.updateTable('ayon_services').set({ is_running: 1 }).where('hostname', '=', hostname).where('name', 'in', running).execute();
    });
    const rows = await db.selectFrom('ayon_services').selectAll().where('hostname', '=', hostname).where('should_run', '=', 1).orderBy('name', 'asc').execute();
    return { services: rows.map((r) => serviceModel(r, now)) };
  }

  /** GET /api/services */
  async function listServices(actor: AyonActor) {
    if (!isAdmin(actor)) return { services: [] };
    return { services: await allServices() };
  }

  /**
   * PUT /api/services/{name}: declares a service (204). `addon` finds an installed addon version
   * (services.ayon.addons.getAddon; the registry does not own addons).
   */
  async function spawn(actor: AyonActor, serviceName: string, body: Record<string, unknown>, where: RequestPlace, addon: AddonLookup) {
    if (!isAdmin(actor)) throw forbidden('Only admins can spawn services');
    const svcName = name(serviceName, 'name', where);
    const addonName = name(body.addonName, 'addonName', where);
    const addonVersion = name(body.addonVersion, 'addonVersion', where);
    const service = name(body.service, 'service', where);
    const hostname = name(body.hostname, 'hostname', where);
    let config: Partial<ServiceConfig> = {};
    if (body.config !== undefined && body.config !== null) {
      if (!isPlainObject(body.config)) throw invalid(where, 'config: value is not a valid dict');
      config = configFields(body.config, where, 'config.');
    }
    const installed = await addon(addonName, addonVersion);
    if (!installed) throw notFound(`Addon ${addonName} version ${addonVersion} does not exist`);
    let image: string | null = null;
    const declared = installed.meta.services;
    if (isPlainObject(declared)) {
      const def = declared[service];
      if (def === undefined) throw notFound('This addon does not have this service');
      if (isPlainObject(def) && typeof def.image === 'string') image = def.image;
    }
    if (!(await hostExists(hostname))) throw notFound(`Host ${hostname} not found`);
    const data = { ...emptyConfig(), ...config, image };
    try {
      await db
        .insertInto('ayon_services')
        .values({
          name: svcName,
          hostname,
          addon_name: addonName,
          addon_version: addonVersion,
          service,
          should_run: 1,
          is_running: 0,
          last_seen: null,
          data: JSON.stringify(data),
          created_at: Date.now(),
        })
        .execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict(`Service ${svcName} already exists`);
      throw err;
    }
  }

  /** PATCH /api/services/{name}: shouldRun, hostname, and config fields (top level, or the deprecated `config`). */
  async function patch(actor: AyonActor, serviceName: string, body: Record<string, unknown>, where: RequestPlace) {
    if (!isAdmin(actor)) throw forbidden('Only admins can modify services');
    let shouldRun: boolean | undefined;
    if (body.shouldRun !== undefined && body.shouldRun !== null) {
      if (typeof body.shouldRun !== 'boolean') throw invalid(where, 'shouldRun: value could not be parsed to a boolean');
      shouldRun = body.shouldRun;
    }
    const hostname = body.hostname === undefined || body.hostname === null ? undefined : name(body.hostname, 'hostname', where);
    let legacy: Partial<ServiceConfig> = {};
    if (body.config !== undefined && body.config !== null) {
      if (!isPlainObject(body.config)) throw invalid(where, 'config: value is not a valid dict');
      legacy = configFields(body.config, where, 'config.');
    }
    const top = configFields(body, where);
    const row = await db.selectFrom('ayon_services').selectAll().where('name', '=', serviceName).executeTakeFirst();
    if (!row) throw notFound('Service not found');
    if (hostname !== undefined && hostname !== row.hostname && !(await hostExists(hostname))) throw notFound(`Host ${hostname} not found`);
    const data = { ...emptyConfig(), ...parseJson(row.data), ...legacy, ...top };
    const set: Partial<AyonServicesTable> = { data: JSON.stringify(data) };
    if (shouldRun !== undefined) set.should_run = shouldRun ? 1 : 0;
    if (hostname !== undefined) set.hostname = hostname;
    await db.updateTable('ayon_services').set(set).where('name', '=', serviceName).execute();
  }

  /** DELETE /api/services/{name} (204, also when there was none, as AYON). */
  async function remove(actor: AyonActor, serviceName: string) {
    if (!isAdmin(actor)) throw forbidden('Only admins can delete services');
    await db.deleteFrom('ayon_services').where('name', '=', serviceName).execute();
  }

  return { listHosts, heartbeat, listServices, spawn, patch, remove, configKeys: CONFIG_KEYS };
}

export type ServiceRegistry = ReturnType<typeof createServiceRegistry>;
