/**
 * The resources of PySpeckle's `SpeckleApiClient`, camelCase: accounts, projects, streams, apiClients
 * (URL segment `clients`), comments, objects. Each method is one v1 call; documents come back with
 * `id` added (= `_id`); calls that answer no document return the envelope (`{success, message, …}`).
 */
import type { RequestOptions, SpeckleApiClient } from './client.js';
import { withId } from './client.js';
import type { V1ApiClient, V1Comment, V1Object, V1Payload, V1Placeholder, V1Project, V1Query, V1Stream, V1User } from './types.js';

type Doc = Record<string, unknown>;

abstract class V1ResourceBase {
  constructor(
    protected readonly client: SpeckleApiClient,
    /** URL segment of the resource (`streams`, `clients`…) */
    protected readonly segment: string,
  ) {}

  protected call(method: string, path: string, opts?: RequestOptions): Promise<Doc> {
    return this.client.request(method, `/${this.segment}${path}`, opts);
  }

  protected async one<T>(method: string, path: string, opts?: RequestOptions): Promise<T> {
    return withId((await this.call(method, path, opts)).resource) as T;
  }

  protected async many<T>(method: string, path: string, opts?: RequestOptions): Promise<T[]> {
    const list = (await this.call(method, path, opts)).resources;
    return (Array.isArray(list) ? list : []).map((d) => withId(d)) as T[];
  }

  protected async payload(method: string, path: string, opts?: RequestOptions): Promise<V1Payload> {
    return (await this.call(method, path, opts)) as V1Payload;
  }

  /** Comments attached to one of this resource's documents: `/comments/<segment>/<id>`. */
  async commentGet(id: string): Promise<V1Comment[]> {
    const list = (await this.client.request('GET', `/comments/${this.segment}/${encodeURIComponent(id)}`)).resources;
    return (Array.isArray(list) ? list : []).map((d) => withId(d)) as V1Comment[];
  }

  /** Adds a comment (`{text, …}`) to one of this resource's documents. */
  async commentCreate(id: string, data: Partial<V1Comment> & { text: string }): Promise<V1Comment> {
    return withId((await this.client.request('POST', `/comments/${this.segment}/${encodeURIComponent(id)}`, { body: data })).resource) as V1Comment;
  }
}

const seg = (id: string) => `/${encodeURIComponent(id)}`;

export class AccountsResource extends V1ResourceBase {
  constructor(client: SpeckleApiClient) {
    super(client, 'accounts');
  }

  /** Another user's display card (`_id, name, surname, company, archived`; email for admins). */
  get(id: string): Promise<V1User> {
    return this.one('GET', seg(id));
  }

  /** The logged-in user's profile. */
  getProfile(): Promise<V1User> {
    return this.one('GET', '/');
  }

  /** Updates name, surname, company of the logged-in user (falsy values are ignored by v1). */
  updateProfile(data: { name?: string; surname?: string; company?: string; [key: string]: unknown }): Promise<V1Payload> {
    return this.payload('PUT', '/', { body: data });
  }

  /** Admins only: the user's server role (`admin`, `user`…). */
  setRole(id: string, role: string): Promise<V1Payload> {
    return this.payload('PUT', seg(id), { body: { role } });
  }

  /** Users whose name, surname or email contains `search` (at least 3 characters; at most 10 answers). */
  search(search: string): Promise<V1User[]> {
    return this.many('POST', '/search', { body: { searchString: search } });
  }
}

export class ProjectsResource extends V1ResourceBase {
  constructor(client: SpeckleApiClient) {
    super(client, 'projects');
  }

  list(): Promise<V1Project[]> {
    return this.many('GET', '/');
  }
  create(data: Partial<V1Project>): Promise<V1Project> {
    return this.one('POST', '/', { body: data });
  }
  get(id: string): Promise<V1Project> {
    return this.one('GET', seg(id));
  }
  /** Replaces the fields sent (a `streams` list replaces the project's streams). */
  update(id: string, data: Partial<V1Project>): Promise<V1Payload> {
    return this.payload('PUT', seg(id), { body: data });
  }
  delete(id: string): Promise<V1Payload & { modifiedStreams?: Doc[] }> {
    return this.payload('DELETE', seg(id));
  }
  /** Puts a stream in the project: the stream gets the project's permissions. */
  addStream(id: string, streamId: string): Promise<V1Payload & { project: V1Project; stream: Doc }> {
    return this.payload('PUT', `${seg(id)}/addstream${seg(streamId)}`) as Promise<V1Payload & { project: V1Project; stream: Doc }>;
  }
  removeStream(id: string, streamId: string): Promise<V1Payload & { project: V1Project; stream: Doc }> {
    return this.payload('DELETE', `${seg(id)}/removestream${seg(streamId)}`) as Promise<V1Payload & { project: V1Project; stream: Doc }>;
  }
  /** Adds a user: read on the project, write on its streams. */
  addUser(id: string, userId: string): Promise<V1Payload> {
    return this.payload('PUT', `${seg(id)}/adduser${seg(userId)}`);
  }
  removeUser(id: string, userId: string): Promise<V1Payload> {
    return this.payload('DELETE', `${seg(id)}/removeuser${seg(userId)}`);
  }
  /** Write (and read) on the project's streams. */
  upgradeUser(id: string, userId: string): Promise<V1Payload> {
    return this.payload('PUT', `${seg(id)}/upgradeuser${seg(userId)}`);
  }
  /** Read only on the project's streams. */
  downgradeUser(id: string, userId: string): Promise<V1Payload> {
    return this.payload('PUT', `${seg(id)}/downgradeuser${seg(userId)}`);
  }
}

export class StreamsResource extends V1ResourceBase {
  constructor(client: SpeckleApiClient) {
    super(client, 'streams');
  }

  /** The caller's streams (owned or shared), without objects by default. */
  list(query: V1Query | null = { omit: 'objects' }): Promise<V1Stream[]> {
    return this.many('GET', '/', { query });
  }
  /** Creates a stream; `objects` may hold new objects (saved) and placeholders of existing ones. */
  create(data: Doc): Promise<V1Stream> {
    return this.one('POST', '/', { body: data });
  }
  get(id: string, query?: V1Query | null): Promise<V1Stream> {
    return this.one('GET', seg(id), { query });
  }
  update(id: string, data: Doc): Promise<V1Payload> {
    return this.payload('PUT', seg(id), { body: data });
  }
  /** Deletes the stream (and its children the caller owns); `deletedStreams` lists them. */
  delete(id: string): Promise<V1Payload & { deletedStreams?: string[] }> {
    return this.payload('DELETE', seg(id));
  }
  /** Clones a stream; answers `[clone, parent]` (without objects and layers), as PySpeckle does. */
  async clone(id: string, name?: string | null): Promise<[V1Stream, V1Stream]> {
    const p = await this.call('POST', `${seg(id)}/clone`, { body: name ? { name } : {} });
    return [withId(p.clone) as V1Stream, withId(p.parent) as V1Stream];
  }
  /** Objects (ids) and layers (by guid) in both streams, only in `id`, only in `otherId`. */
  async diff(id: string, otherId: string): Promise<{ objects: { common: string[]; inA: string[]; inB: string[] }; layers: { common: Doc[]; inA: Doc[]; inB: Doc[] } }> {
    const p = await this.call('GET', `${seg(id)}/diff${seg(otherId)}`);
    return { objects: p.objects as never, layers: p.layers as never };
  }
  /** The stream's objects, in stream order. */
  listObjects(id: string, query?: V1Query | null): Promise<V1Object[]> {
    return this.many('GET', `${seg(id)}/objects`, { query });
  }
  /** The API clients connected to the stream. */
  listClients(id: string): Promise<V1ApiClient[]> {
    return this.many('GET', `${seg(id)}/clients`);
  }
}

export class ApiClientsResource extends V1ResourceBase {
  constructor(client: SpeckleApiClient) {
    super(client, 'clients');
  }

  /** The caller's API clients. */
  list(): Promise<V1ApiClient[]> {
    return this.many('GET', '/');
  }
  /** Creates an API client; without a login (or with `isAnonymous: true`) the id is a temporary `temp-…`. */
  create(data: Partial<V1ApiClient> & { isAnonymous?: boolean }): Promise<V1ApiClient> {
    return this.one('POST', '/', { body: data });
  }
  get(id: string): Promise<V1ApiClient> {
    return this.one('GET', seg(id));
  }
  update(id: string, data: Partial<V1ApiClient>): Promise<V1Payload> {
    return this.payload('PUT', seg(id), { body: data });
  }
  delete(id: string): Promise<V1Payload> {
    return this.payload('DELETE', seg(id));
  }
}

export class CommentsResource extends V1ResourceBase {
  constructor(client: SpeckleApiClient) {
    super(client, 'comments');
  }

  /** The caller's comments and those assigned to them. */
  list(): Promise<V1Comment[]> {
    return this.many('GET', '/');
  }
  get(id: string): Promise<V1Comment> {
    return this.one('GET', seg(id));
  }
  update(id: string, data: Partial<V1Comment>): Promise<V1Payload & { fields?: string[] }> {
    return this.payload('PUT', seg(id), { body: data });
  }
  /** Deletes the comment and its replies. */
  delete(id: string): Promise<V1Payload> {
    return this.payload('DELETE', seg(id));
  }
  /** Comments assigned to the caller. */
  assigned(): Promise<V1Comment[]> {
    return this.many('GET', '/assigned');
  }
}

export class ObjectsResource extends V1ResourceBase {
  constructor(client: SpeckleApiClient) {
    super(client, 'objects');
  }

  /** v1 servers have no route to list objects (PySpeckle's `objects.list` fails before sending). */
  async list(): Promise<never> {
    throw new TypeError('objects.list is not served by v1 servers: list a stream’s objects with streams.listObjects');
  }
  /** Saves one object or many; answers placeholders (`{type: 'Placeholder', _id}`) in order. */
  create(data: Doc | Doc[]): Promise<V1Placeholder[]> {
    return this.many('POST', '/', { body: data });
  }
  get(id: string, query?: V1Query | null): Promise<V1Object> {
    return this.one('GET', seg(id), { query });
  }
  update(id: string, data: Partial<V1Object>): Promise<V1Payload> {
    return this.payload('PUT', seg(id), { body: data });
  }
  delete(id: string): Promise<V1Payload> {
    return this.payload('DELETE', seg(id));
  }
  /**
   * Objects by id, in the order asked; one the caller may not read (or that does not exist) comes back
   * as `{_id, type: 'String', value: 'You do not have permissions to view this object'}`.
   */
  getBulk(objectIds: string[], query?: V1Query | null): Promise<V1Object[]> {
    return this.many('POST', '/getbulk', { body: objectIds, query });
  }
  /** Merges `data` into the object's `properties`. */
  setProperties(id: string, data: Doc): Promise<V1Payload> {
    return this.payload('PUT', `${seg(id)}/properties`, { body: data });
  }
}
