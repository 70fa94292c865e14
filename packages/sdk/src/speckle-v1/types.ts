/**
 * The documents of the Speckle v1 API, as the v1 server (and Atrium's v1 face) sends them: MongoDB
 * style, with `_id`. Every document this SDK returns also carries `id` (= `_id`), as PySpeckle's
 * models expose it. v1 documents are open: fields not listed here are kept.
 */

/** Fields every v1 resource has (PySpeckle's ResourceBaseSchema), but `owner`. */
export interface V1ResourceFields {
  _id: string;
  id: string;
  private?: boolean;
  canRead?: string[];
  canWrite?: string[];
  anonymousComments?: boolean;
  comments?: string[];
  createdAt?: string;
  updatedAt?: string;
  [key: string]: unknown;
}

/** A v1 resource: its fields and the owner's user id. */
export interface V1Resource extends V1ResourceFields {
  owner?: string | null;
}

/** What a stream's `objects` holds: placeholders naming saved objects. */
export interface V1Placeholder {
  type: 'Placeholder';
  _id: string;
  id: string;
}

export interface V1Layer {
  guid: string;
  name?: string;
  orderIndex?: number;
  startIndex?: number;
  objectCount?: number;
  topology?: string;
  properties?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface V1Stream extends V1Resource {
  streamId: string;
  name?: string;
  description?: string;
  tags?: string[];
  commitMessage?: string;
  objects?: Array<V1Placeholder | { _id: string; type: string; [key: string]: unknown }>;
  layers?: V1Layer[];
  parent?: string | null;
  children?: string[];
  baseProperties?: Record<string, unknown>;
}

export interface V1Object extends V1Resource {
  type: string;
  name?: string | null;
  hash?: string;
  geometryHash?: string | null;
  applicationId?: string | null;
  properties?: Record<string, unknown> | null;
}

export interface V1Project extends V1Resource {
  name?: string;
  description?: string;
  tags?: string[];
  /** stream ids (short ids) of the project's streams */
  streams?: string[];
  permissions?: { canRead: string[]; canWrite: string[] };
}

export interface V1UserCard {
  _id: string;
  name?: string;
  surname?: string;
  email?: string;
  company?: string | null;
}

export interface V1ApiClient extends V1ResourceFields {
  /** the owner's id; `apiClients.get` answers the owner's card */
  owner?: string | V1UserCard | null;
  role?: string;
  documentName?: string;
  documentType?: string;
  documentLocation?: string;
  documentGuid?: string;
  streamId?: string;
  online?: boolean;
}

export interface V1Comment {
  _id: string;
  id: string;
  owner?: string | null;
  comments?: string[];
  text?: string;
  flagged?: boolean;
  resource?: { resourceType: string; resourceId: string };
  otherResources?: Array<{ resourceType: string; resourceId: string }>;
  closed?: boolean;
  assignedTo?: string[];
  labels?: string[];
  priority?: string;
  status?: string;
  view?: Record<string, unknown>;
  screenshot?: string;
  createdAt?: string;
  updatedAt?: string;
  [key: string]: unknown;
}

/** A user profile (accounts.getProfile) or another user's display card (accounts.get / search). */
export interface V1User {
  _id: string;
  id: string;
  email?: string;
  name?: string;
  surname?: string;
  company?: string | null;
  avatar?: string;
  role?: string;
  private?: boolean;
  verified?: boolean;
  archived?: boolean;
  apitoken?: string;
  createdAt?: string;
  updatedAt?: string;
  [key: string]: unknown;
}

/** `client.me` after login: the profile plus the login token (`JWT …`). */
export interface V1Me extends Partial<V1User> {
  token: string;
}

/** The confirmation payload of calls that answer no document: `{success: true, message, …}`. */
export interface V1Payload {
  success: true;
  message?: string;
  [key: string]: unknown;
}

/** Query-to-mongo style query of list and get calls: `fields`, `omit`, `sort`, `limit`, `offset`, criteria. */
export type V1Query = Record<string, string | number | boolean>;
