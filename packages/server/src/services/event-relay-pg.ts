/**
 * Cross-node fan-out of the event bus through PostgreSQL LISTEN/NOTIFY.
 *
 * Every node keeps one dedicated connection that LISTENs on one channel and also sends its NOTIFYs,
 * so a node's events leave in the order they were published. A notification carries the node id;
 * a node ignores its own (its local listeners were already called by `publish`). PostgreSQL caps a
 * notification at 8000 bytes: bus events carry ids, so they fit; a larger one is split into parts
 * (base64 of its UTF-8 bytes) that the other nodes put back together.
 *
 * The connection is re-opened after an error, with a growing delay. Events published meanwhile are
 * queued (up to a bound) and sent once it is back; events other nodes sent meanwhile are missed.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { BusEvent, EventBus, EventRelay } from './events.js';

export interface PgEventRelayOptions {
  connectionString: string;
  bus: Pick<EventBus, 'deliverRemote'>;
  /** the LISTEN/NOTIFY channel, shared by every node of one deployment */
  channel?: string;
  nodeId?: string;
  logger?: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

export interface PgEventRelay extends EventRelay {
  readonly nodeId: string;
  readonly channel: string;
  close(): Promise<void>;
}

/** Largest NOTIFY payload sent whole; PostgreSQL's limit is 8000 bytes. */
export const MAX_NOTIFY_BYTES = 7000;
/** bytes of the event per part when it has to be split (base64 makes ~6.7 kB of it) */
const PART_BYTES = 5000;
/** an event larger than this is not relayed at all */
export const MAX_RELAYED_EVENT_BYTES = 1024 * 1024;
const MAX_PENDING_SENDS = 10_000;
const PARTIAL_TTL_MS = 30_000;

/** n: node id, s: sequence (PostgreSQL folds identical payloads of one transaction), c: bus channel, p: payload */
interface Whole { n: string; s: number; c: string; p: unknown }
interface Part { n: string; m: number; k: number; t: number; d: string }

const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;

export async function createPgEventRelay(opts: PgEventRelayOptions): Promise<PgEventRelay> {
  const nodeId = opts.nodeId ?? randomUUID();
  const channel = opts.channel ?? 'atrium_events';
  const log = opts.logger;
  let client: pg.Client | null = null;
  let ready = false;
  let closing = false;
  let reconnectDelay = 100;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let messageSeq = 0;
  let eventSeq = 0;
  /** NOTIFY payloads waiting to be sent, in publish order */
  const pending: string[] = [];
  let sending = false;
  /** parts of split events, by sender and message */
  const partials = new Map<string, { parts: string[]; got: number; at: number }>();

  function onNotification(msg: pg.Notification) {
    if (msg.channel !== channel || !msg.payload) return;
    let data: Whole | Part;
    try {
      data = JSON.parse(msg.payload);
    } catch {
      return;
    }
    if (!data || typeof data !== 'object' || data.n === nodeId) return;
    if ('d' in data) return onPart(data);
    if (typeof data.c === 'string') deliver({ channel: data.c, payload: data.p });
  }

  function onPart(part: Part) {
    const key = `${part.n}:${part.m}`;
    const now = Date.now();
    for (const [k, v] of partials) if (now - v.at > PARTIAL_TTL_MS) partials.delete(k);
    let entry = partials.get(key);
    if (!entry) partials.set(key, (entry = { parts: new Array(part.t), got: 0, at: now }));
    if (entry.parts[part.k] === undefined) {
      entry.parts[part.k] = part.d;
      entry.got++;
    }
    if (entry.got < part.t) return;
    partials.delete(key);
    try {
      const whole = JSON.parse(Buffer.concat(entry.parts.map((d) => Buffer.from(d, 'base64'))).toString('utf8')) as Whole;
      deliver({ channel: whole.c, payload: whole.p });
    } catch (err) {
      log?.warn({ err }, 'event relay: dropped a malformed split event');
    }
  }

  function deliver(event: BusEvent) {
    try {
      opts.bus.deliverRemote(event);
    } catch (err) {
      log?.error({ err }, 'event relay: delivering a remote event failed');
    }
  }

  /** Sends what is pending, in order, in batches of one statement each (one connection, one query at a time). */
  function flush() {
    if (sending) return;
    sending = true;
    void (async () => {
      try {
        while (ready && client && pending.length) {
          const c = client;
          const batch = pending.splice(0, 100);
          try {
            await c.query('select pg_notify($1, p) from unnest($2::text[]) as p', [channel, batch]);
          } catch (err) {
            if (client !== c) {
              // the connection went away: send them again once it is back
              pending.unshift(...batch);
            } else log?.warn({ err }, 'event relay: NOTIFY failed; events dropped');
          }
        }
      } finally {
        sending = false;
      }
    })();
  }

  function scheduleReconnect() {
    if (closing || reconnectTimer) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      connect().catch(() => scheduleReconnect());
    }, reconnectDelay);
    reconnectDelay = Math.min(reconnectDelay * 2, 5000);
  }

  async function connect() {
    const c = new pg.Client({ connectionString: opts.connectionString, application_name: `atrium-events-${nodeId.slice(0, 8)}` });
    const lost = (err?: Error) => {
      if (client !== c) return;
      ready = false;
      client = null;
      c.removeAllListeners('notification');
      void c.end().catch(() => {});
      if (!closing) {
        log?.warn({ err }, 'event relay: connection lost; reconnecting');
        scheduleReconnect();
      }
    };
    c.on('error', lost);
    c.on('end', () => lost());
    c.on('notification', onNotification);
    client = c;
    try {
      await c.connect();
      await c.query(`LISTEN ${quoteIdent(channel)}`);
    } catch (err) {
      if (client === c) client = null;
      c.removeAllListeners('notification');
      await c.end().catch(() => {});
      throw err;
    }
    if (closing) {
      await c.end().catch(() => {});
      return;
    }
    ready = true;
    reconnectDelay = 100;
    flush();
  }

  function encode(event: BusEvent): string[] {
    const whole = JSON.stringify({ n: nodeId, s: ++eventSeq, c: event.channel, p: event.payload } satisfies Whole);
    const bytes = Buffer.from(whole, 'utf8');
    if (bytes.length <= MAX_NOTIFY_BYTES) return [whole];
    if (bytes.length > MAX_RELAYED_EVENT_BYTES) {
      log?.warn({ channel: event.channel, bytes: bytes.length }, 'event relay: event too large to relay; other nodes will not see it');
      return [];
    }
    const m = ++messageSeq;
    const t = Math.ceil(bytes.length / PART_BYTES);
    const parts: string[] = [];
    for (let k = 0; k < t; k++) {
      const d = bytes.subarray(k * PART_BYTES, (k + 1) * PART_BYTES).toString('base64');
      parts.push(JSON.stringify({ n: nodeId, m, k, t, d } satisfies Part));
    }
    return parts;
  }

  await connect();

  return {
    nodeId,
    channel,
    send(event: BusEvent) {
      if (closing) return;
      let payloads: string[];
      try {
        payloads = encode(event);
      } catch (err) {
        log?.warn({ err, channel: event.channel }, 'event relay: event is not serialisable');
        return;
      }
      for (const p of payloads) pending.push(p);
      if (pending.length > MAX_PENDING_SENDS) {
        pending.splice(0, pending.length - MAX_PENDING_SENDS);
        log?.warn({}, 'event relay: too many events waiting for the database; dropped the oldest');
      }
      flush();
    },
    async close() {
      if (closing) return;
      closing = true;
      clearTimeout(reconnectTimer);
      // what was published before close still goes out (bounded: the database may be gone)
      const deadline = Date.now() + 2000;
      while ((pending.length || sending) && ready && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      const c = client;
      client = null;
      ready = false;
      if (c) {
        c.removeAllListeners('notification');
        await c.query(`UNLISTEN ${quoteIdent(channel)}`).catch(() => {});
        await c.end().catch(() => {});
      }
    },
  };
}
