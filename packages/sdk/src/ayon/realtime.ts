/**
 * AyonClient methods for AYON realtime and the services/hosts registry, added to the class by
 * declaration merging:
 *
 * - `listenEvents({topics, project, onEvent, signal})`: AYON's `/ws` socket (ayon-python-api has no
 *   equivalent; it is what the web UI and services use). Sends `{"topic":"auth","token",…}` with the
 *   client's token once open; every pushed event goes to `onEvent` (heartbeats to `onHeartbeat`).
 *   No reconnect: `closed` settles when the socket ends; `close()` or aborting `signal` closes it
 *   cleanly (code 1000). AYON itself checks the token against its session store, so with an API key
 *   make a REST call first (AyonClient does when it validates the token); Atrium accepts keys directly.
 * - `getServices`, `spawnService`, `updateService`, `deleteService`, `getHosts`: ayon_api's
 *   ServicesAPI in camelCase, same endpoints and bodies; `sendHostHeartbeat` is what an AYON service
 *   host (ASH) sends, for tools that act as one.
 *
 * Node 20 has no global WebSocket, so the `ws` package is used (loaded on first use).
 */
import { AyonClient } from './client.js';
import { AyonError } from './errors.js';

type Dict = Record<string, any>;

/** A message pushed by `/ws` (ayon.md §11.6). */
export interface AyonEventMessage {
  id: string;
  topic: string;
  project: string | null;
  user: string | null;
  dependsOn: string | null;
  description: string;
  summary: Dict;
  status: string;
  progress?: number;
  sender: string | null;
  senderType: string | null;
  store?: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface ListenEventsOptions {
  /** topic prefixes (`"entity.folder"`, `"*"` = everything); default `["*"]` */
  topics?: string[];
  /** only this project's events (plus the server-wide ones) */
  project?: string;
  onEvent: (event: AyonEventMessage) => void;
  onHeartbeat?: () => void;
  /** aborting closes the socket */
  signal?: AbortSignal;
  /** how long to wait for the socket to open, in ms (default 10 s) */
  openTimeoutMs?: number;
}

export interface AyonEventListener {
  /** settles when the socket has closed: resolves with the close code; rejects if `onEvent` threw */
  readonly closed: Promise<number>;
  /** closes the socket (code 1000) and waits until it is closed */
  close(): Promise<number>;
}

export interface AyonServiceConfig {
  volumes?: string[] | null;
  ports?: string[] | null;
  memLimit?: string | null;
  user?: string | null;
  env?: Dict;
  storagePath?: string | null;
  [key: string]: unknown;
}

interface WsLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  on(event: 'open', l: () => void): void;
  on(event: 'message', l: (data: unknown, isBinary: boolean) => void): void;
  on(event: 'close', l: (code: number) => void): void;
  on(event: 'error', l: (err: Error) => void): void;
}

async function openSocket(url: string): Promise<WsLike> {
  const specifier = 'ws';
  let mod: { WebSocket?: unknown; default?: unknown };
  try {
    mod = (await import(specifier)) as { WebSocket?: unknown; default?: unknown };
  } catch (err) {
    throw new AyonError(`listening to events needs the "ws" package (npm install ws): ${(err as Error).message}`);
  }
  const Ctor = (mod.WebSocket ?? mod.default) as new (url: string) => WsLike;
  return new Ctor(url);
}

/** `http(s)://host/base` → `ws(s)://host/base/ws` */
export function ayonWsUrl(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, '').replace(/^http/i, 'ws')}/ws`;
}

declare module './client.js' {
  interface AyonClient {
    listenEvents(opts: ListenEventsOptions): Promise<AyonEventListener>;
    getServices(): Promise<Dict[]>;
    spawnService(serviceName: string, addonName: string, addonVersion: string, service: string, hostname: string, config?: AyonServiceConfig): Promise<void>;
    updateService(serviceName: string, opts?: { shouldRun?: boolean; hostname?: string; error?: string; config?: AyonServiceConfig }): Promise<void>;
    deleteService(serviceName: string): Promise<void>;
    getHosts(): Promise<Dict[]>;
    sendHostHeartbeat(hostname: string, health?: { cpu?: number; mem?: number }, services?: string[]): Promise<Dict[]>;
  }
}

AyonClient.prototype.listenEvents = async function (this: AyonClient, opts: ListenEventsOptions): Promise<AyonEventListener> {
  const token = this.accessToken;
  if (!token) throw new AyonError('listenEvents needs a token: log in or pass one');
  if (opts.signal?.aborted) throw new AyonError('listenEvents: aborted');
  const ws = await openSocket(ayonWsUrl(this.baseUrl));
  let failure: unknown;
  const closed = new Promise<number>((resolve, reject) => {
    ws.on('close', (code) => {
      opts.signal?.removeEventListener('abort', onAbort);
      if (failure !== undefined) reject(failure);
      else resolve(code);
    });
  });
  closed.catch(() => {});
  const onAbort = () => ws.close(1000);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.close();
      reject(new AyonError(`listenEvents: the socket did not open within ${opts.openTimeoutMs ?? 10_000} ms`));
    }, opts.openTimeoutMs ?? 10_000);
    ws.on('open', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.on('error', (err) => {
      clearTimeout(timer);
      reject(new AyonError(`listenEvents: ${err.message}`));
    });
  });
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    let m: Dict;
    try {
      m = JSON.parse(String(data));
    } catch {
      return;
    }
    if (!m || typeof m.topic !== 'string') return;
    try {
      if (m.topic === 'heartbeat') opts.onHeartbeat?.();
      else opts.onEvent(m as AyonEventMessage);
    } catch (err) {
      failure = err;
      ws.close(1000);
    }
  });
  ws.send(JSON.stringify({ topic: 'auth', token, subscribe: opts.topics ?? ['*'], ...(opts.project ? { project: opts.project } : {}) }));
  return {
    closed,
    close() {
      if (ws.readyState === 0 || ws.readyState === 1) ws.close(1000);
      return closed;
    },
  };
};

AyonClient.prototype.getServices = async function (this: AyonClient): Promise<Dict[]> {
  return (await this.request('GET', 'services')).data.services;
};

AyonClient.prototype.spawnService = async function (
  this: AyonClient,
  serviceName: string,
  addonName: string,
  addonVersion: string,
  service: string,
  hostname: string,
  config?: AyonServiceConfig,
): Promise<void> {
  const json: Dict = { addonName, addonVersion, service, hostname };
  if (config !== undefined) json.config = config;
  await this.request('PUT', `services/${encodeURIComponent(serviceName)}`, { json });
};

AyonClient.prototype.updateService = async function (
  this: AyonClient,
  serviceName: string,
  opts: { shouldRun?: boolean; hostname?: string; error?: string; config?: AyonServiceConfig } = {},
): Promise<void> {
  const json: Dict = { ...(opts.config ?? {}) };
  if (opts.shouldRun !== undefined) json.shouldRun = opts.shouldRun;
  if (opts.hostname !== undefined) json.hostname = opts.hostname;
  if (opts.error !== undefined) {
    const v = await this.getServerVersionTuple();
    if (v.major < 1 || (v.major === 1 && (v.minor < 16 || (v.minor === 16 && v.patch < 7)))) {
      throw new AyonError("Argument 'error' of 'updateService' is supported for AYON server 1.16.7 and above.");
    }
    json.error = opts.error;
  }
  await this.request('PATCH', `services/${encodeURIComponent(serviceName)}`, { json });
};

AyonClient.prototype.deleteService = async function (this: AyonClient, serviceName: string): Promise<void> {
  await this.request('DELETE', `services/${encodeURIComponent(serviceName)}`);
};

AyonClient.prototype.getHosts = async function (this: AyonClient): Promise<Dict[]> {
  return (await this.request('GET', 'hosts')).data.hosts;
};

AyonClient.prototype.sendHostHeartbeat = async function (
  this: AyonClient,
  hostname: string,
  health: { cpu?: number; mem?: number } = {},
  services: string[] = [],
): Promise<Dict[]> {
  const res = await this.request('POST', 'hosts/heartbeat', { json: { hostname, health: { cpu: health.cpu ?? 0, mem: health.mem ?? 0 }, services } });
  return res.data.services;
};

export const realtimeMethods = AyonClient;
