/**
 * AYON events: the one function every AYON write uses to record what happened. It inserts
 * `ayon_events` rows inside the caller's transaction (so a rolled-back change leaves no event) and,
 * once that transaction has committed, publishes them on the in-process bus (channel `ayon.event`)
 * for realtime faces. /api/events, enroll and /ws build on this table later.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../store/schema.js';
import type { EventBus } from '../events.js';
import { newAyonId } from './rules.js';
import { bulkInsert } from './bulk.js';
import type { Dialect } from '../../store/db.js';

export interface AyonEventInput {
  topic: string;
  project?: string | null;
  user?: string | null;
  summary?: Record<string, unknown>;
  payload?: Record<string, unknown>;
  description?: string;
  sender?: string | null;
  senderType?: string | null;
  dependsOn?: string | null;
  status?: string;
  hash?: string;
}

export interface AyonEventRecord {
  id: string;
  hash: string;
  topic: string;
  project: string | null;
  user: string | null;
  sender: string | null;
  senderType: string | null;
  dependsOn: string | null;
  status: string;
  description: string;
  summary: Record<string, unknown>;
  payload: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

type Db = Kysely<Database> | Transaction<Database>;

export function createAyonEvents(bus: EventBus, dialect: Dialect) {
  /**
   * Writes the events in `db` (a transaction when the change is transactional) and returns the
   * records; call `publish(records)` after the commit.
   */
  async function dispatch(db: Db, events: AyonEventInput[], ctx: { sender?: string | null; senderType?: string | null } = {}): Promise<AyonEventRecord[]> {
    if (!events.length) return [];
    const now = Date.now();
    const records: AyonEventRecord[] = events.map((e) => {
      const id = newAyonId();
      return {
        id,
        hash: e.hash ?? id,
        topic: e.topic,
        project: e.project ?? null,
        user: e.user ?? null,
        sender: e.sender ?? ctx.sender ?? null,
        senderType: e.senderType ?? ctx.senderType ?? null,
        dependsOn: e.dependsOn ?? null,
        status: e.status ?? 'finished',
        description: e.description ?? '',
        summary: e.summary ?? {},
        payload: e.payload ?? {},
        createdAt: now,
        updatedAt: now,
      };
    });
    await bulkInsert(
      db,
      dialect,
      'ayon_events',
      records.map((r) => ({
            id: r.id,
            hash: r.hash,
            topic: r.topic,
            sender: r.sender,
            sender_type: r.senderType,
            project_name: r.project,
            user_name: r.user,
            depends_on: r.dependsOn,
            status: r.status,
            retries: 0,
            description: r.description,
            summary: JSON.stringify(r.summary),
            payload: JSON.stringify(r.payload),
        created_at: r.createdAt,
        updated_at: r.updatedAt,
      })),
    );
    return records;
  }

  /** After the commit: tells realtime listeners (and other nodes, through the relay). */
  function publish(records: AyonEventRecord[]): void {
    for (const r of records) bus.publish('ayon.event', r);
  }

  return { dispatch, publish };
}

export type AyonEvents = ReturnType<typeof createAyonEvents>;
