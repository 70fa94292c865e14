/**
 * AyonClient methods for AYON events and event jobs (ayon-python-api's EventsAPI in camelCase,
 * same endpoints and bodies), plus `runEventJobWorker`: the enroll → in_progress → finished/failed
 * loop a processing service runs, with progress reporting and AbortSignal shutdown.
 */
import { AyonClient } from './client.js';

type Dict = Record<string, any>;

export type EventStatus = 'pending' | 'in_progress' | 'finished' | 'failed' | 'aborted' | 'restarted';

export interface EventFilter {
  conditions?: Array<{ key: string; value?: unknown; operator?: string } | EventFilter>;
  operator?: 'and' | 'or';
}

export interface DispatchEventOptions {
  sender?: string;
  eventHash?: string;
  projectName?: string;
  username?: string;
  dependsOn?: string;
  description?: string;
  summary?: Dict;
  payload?: Dict;
  finished?: boolean;
  store?: boolean;
}

export interface GetEventsOptions {
  topics?: Iterable<string>;
  eventIds?: Iterable<string>;
  projectNames?: Iterable<string>;
  statuses?: Iterable<EventStatus | string>;
  users?: Iterable<string>;
  textFilter?: string;
  includeLogs?: boolean;
  hasChildren?: boolean;
  newerThan?: string;
  olderThan?: string;
  fields?: Iterable<string>;
  limit?: number;
  order?: 'asc' | 'desc' | 'ascending' | 'descending';
  first?: number;
  last?: number;
}

export interface UpdateEventOptions {
  sender?: string;
  projectName?: string;
  username?: string;
  status?: EventStatus;
  description?: string;
  summary?: Dict;
  payload?: Dict;
  progress?: number;
  retries?: number;
}

export interface EnrollOptions {
  description?: string;
  sequential?: boolean;
  eventsFilter?: EventFilter;
  maxRetries?: number;
  ignoreOlderThan?: number | string;
  ignoreSenderTypes?: string[];
}

export interface EnrollEventData {
  id: string;
  dependsOn: string;
  hash: string;
  status: string;
}

export interface EventJobContext {
  /** the job (target) event */
  job: EnrollEventData;
  /** the full source event the job depends on */
  source: Dict;
  /** reports progress 0..100 (PATCH, broadcast to listeners, not stored) */
  progress(percent: number, description?: string): Promise<void>;
  signal: AbortSignal;
}

export interface EventJobWorkerOptions extends EnrollOptions {
  sourceTopic: string | string[];
  targetTopic: string;
  sender: string;
  /** does the work; resolve → finished (an object result is stored as the job's summary), throw → failed */
  handler(ctx: EventJobContext): Promise<Dict | void>;
  signal?: AbortSignal;
  /** wait between enrolls when there is nothing to do (ms, default 1000) */
  idleMs?: number;
  /** stop once there is nothing to do instead of waiting for more */
  stopWhenIdle?: boolean;
  onError?(err: unknown, job: EnrollEventData | null): void;
}

export const DEFAULT_EVENT_FIELDS = ['id', 'hash', 'createdAt', 'dependsOn', 'description', 'project', 'retries', 'sender', 'status', 'topic', 'updatedAt', 'user'];

declare module './client.js' {
  interface AyonClient {
    getEvent(eventId: string): Promise<Dict>;
    getEvents(opts?: GetEventsOptions): AsyncGenerator<Dict>;
    dispatchEvent(topic: string, opts?: DispatchEventOptions): Promise<{ id: string }>;
    createEvent(topic: string, opts?: DispatchEventOptions): Promise<string>;
    updateEvent(eventId: string, opts?: UpdateEventOptions): Promise<void>;
    deleteEvent(eventId: string): Promise<void>;
    deleteEvents(eventsFilter: EventFilter): Promise<void>;
    enrollEventJob(sourceTopic: string | string[], targetTopic: string, sender: string, opts?: EnrollOptions): Promise<EnrollEventData | null>;
    runEventJobWorker(opts: EventJobWorkerOptions): Promise<{ processed: number; failed: number }>;
  }
}

AyonClient.prototype.getEvent = async function (this: AyonClient, eventId: string) {
  return (await this.get(`events/${eventId}`)).data;
};

const list = (v: Iterable<string> | undefined) => (v === undefined ? undefined : [...v]);

AyonClient.prototype.getEvents = async function* (this: AyonClient, opts: GetEventsOptions = {}) {
  const vars: Dict = {};
  for (const [k, v] of [
    ['eventTopics', list(opts.topics)],
    ['eventIds', list(opts.eventIds)],
    ['projectNames', list(opts.projectNames)],
    ['eventStatuses', list(opts.statuses)],
    ['eventUsers', list(opts.users)],
  ] as const) {
    if (v === undefined) continue;
    if (!v.length) return; // as ayon_api: an empty list filter matches nothing
    vars[k] = v;
  }
  vars.includeLogsFilter = opts.includeLogs ?? false;
  if (opts.hasChildren !== undefined) vars.hasChildrenFilter = opts.hasChildren;
  if (opts.newerThan !== undefined) vars.newerThanFilter = opts.newerThan;
  if (opts.olderThan !== undefined) vars.olderThanFilter = opts.olderThan;
  if (opts.textFilter !== undefined) vars.textFilter = opts.textFilter;
  const fields = [...new Set(opts.fields ? [...opts.fields] : DEFAULT_EVENT_FIELDS)];
  const desc = opts.last !== undefined || opts.order === 'desc' || opts.order === 'descending';
  const limit = opts.limit ?? (opts.last ?? opts.first);
  const query = `query Events($eventTopics:[String!],$eventIds:[String!],$projectNames:[String!],$eventStatuses:[String!],$eventUsers:[String!],$includeLogsFilter:Boolean,$hasChildrenFilter:Boolean,$newerThanFilter:String,$olderThanFilter:String,$textFilter:String,$n:Int,$cursor:String){
  events(ids:$eventIds,topics:$eventTopics,projects:$projectNames,statuses:$eventStatuses,users:$eventUsers,includeLogs:$includeLogsFilter,hasChildren:$hasChildrenFilter,newerThan:$newerThanFilter,olderThan:$olderThanFilter,filter:$textFilter,${desc ? 'last:$n,before:$cursor' : 'first:$n,after:$cursor'}){
    pageInfo{endCursor hasNextPage hasPreviousPage} edges{node{${fields.join(' ')}}}}}`;
  let cursor: string | null = null;
  let fetched = 0;
  for (;;) {
    const n = limit ? Math.min(300, limit - fetched) : 300;
    if (n <= 0) return;
    const conn: Dict = (await this.queryGraphql(query, { ...vars, n, cursor })).events;
    for (const e of conn.edges) yield e.node;
    fetched += conn.edges.length;
    const more = desc ? conn.pageInfo.hasPreviousPage : conn.pageInfo.hasNextPage;
    if (!more || !conn.edges.length) return;
    if (!conn.pageInfo.endCursor || conn.pageInfo.endCursor === cursor) throw new Error("Cursor didn't change during pagination.");
    cursor = conn.pageInfo.endCursor;
  }
};

AyonClient.prototype.dispatchEvent = async function (this: AyonClient, topic: string, opts: DispatchEventOptions = {}) {
  const body: Dict = {
    topic,
    sender: opts.sender ?? null,
    hash: opts.eventHash ?? null,
    project: opts.projectName ?? null,
    user: opts.username ?? null,
    description: opts.description ?? null,
    summary: opts.summary ?? {},
    payload: opts.payload ?? {},
    finished: opts.finished ?? true,
    store: opts.store ?? true,
  };
  if (opts.dependsOn) body.dependsOn = opts.dependsOn;
  return (await this.post('events', body)).data;
};

AyonClient.prototype.createEvent = async function (this: AyonClient, topic: string, opts: DispatchEventOptions = {}) {
  return (await this.dispatchEvent(topic, opts)).id;
};

AyonClient.prototype.updateEvent = async function (this: AyonClient, eventId: string, opts: UpdateEventOptions = {}) {
  const body: Dict = {};
  for (const [k, v] of [
    ['sender', opts.sender],
    ['project', opts.projectName],
    ['user', opts.username],
    ['status', opts.status],
    ['description', opts.description],
    ['summary', opts.summary],
    ['payload', opts.payload],
    ['progress', opts.progress],
    ['retries', opts.retries],
  ] as const)
    if (v !== undefined && v !== null) body[k] = v;
  await this.patch(`events/${eventId}`, body);
};

AyonClient.prototype.deleteEvent = async function (this: AyonClient, eventId: string) {
  await this.delete(`events/${eventId}`);
};

AyonClient.prototype.deleteEvents = async function (this: AyonClient, eventsFilter: EventFilter) {
  if (!eventsFilter?.conditions?.length) throw new Error('Filter without conditions would delete all events.');
  await this.post('eventops', { type: 'delete', filter: eventsFilter });
};

AyonClient.prototype.enrollEventJob = async function (this: AyonClient, sourceTopic: string | string[], targetTopic: string, sender: string, opts: EnrollOptions = {}) {
  const body: Dict = { sourceTopic, targetTopic, sender };
  if (opts.maxRetries !== undefined) body.maxRetries = opts.maxRetries;
  if (opts.sequential !== undefined) body.sequential = opts.sequential;
  if (opts.description !== undefined) body.description = opts.description;
  if (opts.eventsFilter !== undefined) body.filter = opts.eventsFilter;
  if (opts.ignoreOlderThan !== undefined) body.ignoreOlderThan = opts.ignoreOlderThan;
  if (opts.ignoreSenderTypes !== undefined) body.ignoreSenderTypes = [...opts.ignoreSenderTypes];
  const res = await this.request('POST', 'enroll', { json: body, raw: true });
  // as ayon_api: nothing to do (204), busy (503) and errors all read as "no job"; errors still throw
  // here when they are the caller's fault (400/403), which ayon_api only logs
  if (res.status === 204 || res.status === 503) return null;
  if (res.status === 400 || res.status === 403) throw new Error(`enroll refused (${res.status}): ${res.data?.detail ?? ''}`);
  if (res.status >= 400) return null;
  return res.data as EnrollEventData;
};

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

AyonClient.prototype.runEventJobWorker = async function (this: AyonClient, opts: EventJobWorkerOptions) {
  const signal = opts.signal ?? new AbortController().signal;
  const { sourceTopic, targetTopic, sender, handler } = opts;
  let processed = 0;
  let failed = 0;
  while (!signal.aborted) {
    let job: EnrollEventData | null = null;
    try {
      job = await this.enrollEventJob(sourceTopic, targetTopic, sender, opts);
    } catch (err) {
      opts.onError?.(err, null);
      if (opts.stopWhenIdle) throw err;
      await sleep(opts.idleMs ?? 1000, signal);
      continue;
    }
    if (!job) {
      if (opts.stopWhenIdle) break;
      await sleep(opts.idleMs ?? 1000, signal);
      continue;
    }
    const current = job;
    try {
      await this.updateEvent(current.id, { status: 'in_progress', progress: 0 });
      const source = await this.getEvent(current.dependsOn);
      const result = await handler({
        job: current,
        source,
        signal,
        progress: (percent, description) => this.updateEvent(current.id, { progress: Math.max(0, Math.min(100, percent)), description }),
      });
      await this.updateEvent(current.id, { status: 'finished', progress: 100, ...(result && typeof result === 'object' ? { summary: result } : {}) });
      processed++;
    } catch (err) {
      failed++;
      opts.onError?.(err, current);
      try {
        await this.updateEvent(current.id, { status: 'failed', description: String((err as Error)?.message ?? err).slice(0, 1000) });
      } catch (e2) {
        opts.onError?.(e2, current);
      }
    }
  }
  return { processed, failed };
};

export const eventsMethods = AyonClient;
