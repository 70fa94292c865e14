/**
 * The in-process event bus: services publish what changed after their transaction commits;
 * realtime faces (GraphQL subscriptions, AYON /ws, the v1 websocket) subscribe. With several server
 * processes, a relay (PostgreSQL LISTEN/NOTIFY) forwards events between nodes through `attachRelay`.
 */

export interface BusEvent<T = unknown> {
  /** e.g. "speckle.project.versions" */
  channel: string;
  payload: T;
}

type Listener = (payload: unknown, channel: string) => void;

export interface EventRelay {
  /** forwards a locally published event to other nodes */
  send(event: BusEvent): void;
}

export function createEventBus() {
  const listeners = new Map<string, Set<Listener>>();
  let relay: EventRelay | undefined;

  function deliver(channel: string, payload: unknown) {
    for (const key of [channel, '*']) {
      const set = listeners.get(key);
      if (!set) continue;
      for (const l of [...set]) {
        try {
          l(payload, channel);
        } catch {
          /* one listener failing must not stop the others */
        }
      }
    }
  }

  return {
    /** Publishes to local listeners (synchronously) and to the relay, if any. */
    publish(channel: string, payload: unknown): void {
      deliver(channel, payload);
      relay?.send({ channel, payload });
    },
    /** Delivers an event that arrived from another node (not relayed again). */
    deliverRemote(event: BusEvent): void {
      deliver(event.channel, event.payload);
    },
    /** `channel` '*' receives everything. Returns the unsubscribe function. */
    subscribe(channel: string, listener: Listener): () => void {
      let set = listeners.get(channel);
      if (!set) listeners.set(channel, (set = new Set()));
      set.add(listener);
      return () => {
        set!.delete(listener);
        if (set!.size === 0) listeners.delete(channel);
      };
    },
    attachRelay(r: EventRelay | undefined): void {
      relay = r;
    },
    listenerCount(channel: string): number {
      return listeners.get(channel)?.size ?? 0;
    },
  };
}

export type EventBus = ReturnType<typeof createEventBus>;
