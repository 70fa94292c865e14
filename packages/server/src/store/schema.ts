/** Row types of every table, as Kysely sees them. Times are epoch ms; booleans 0/1; JSON is text. */
import type { Generated } from 'kysely';
import type { AyonEventJobTables } from './schema-ayon-events.js';
import type { AyonActivityTables } from './schema-ayon-activities.js';
import type { AyonAddonTables } from './schema-ayon-addons.js';
import type { AyonDesktopTables } from './schema-ayon-desktop.js';
import type { AyonEntityListTables } from './schema-ayon-lists.js';
import type { AyonServiceRegistryTables } from './schema-ayon-realtime.js';

export interface UsersTable {
  id: string;
  email: string;
  /** lower-cased email, unique: emails are unique case-insensitively */
  email_lower: string;
  name: string;
  bio: string | null;
  company: string | null;
  avatar: string | null;
  verified: number;
  /** admin | user | guest | archived */
  server_role: string;
  password_digest: string | null;
  /** AYON login name (unique when set); built by the AYON face */
  username: string | null;
  /** 1 for AYON service users */
  is_service: number;
  /** JSON text: face-specific data (AYON user data, v1 profile fields) */
  data: string;
  created_at: number;
  updated_at: number;
}

export interface ApiTokensTable {
  /** 10-char public id: the first 10 characters of the token */
  id: string;
  /** SHA-256 (hex) of the secret part */
  digest: string;
  owner_id: string;
  name: string;
  last_chars: string;
  /** pat | app | ayon_session | ayon_api_key */
  kind: string;
  app_id: string | null;
  revoked: number;
  lifespan_ms: number;
  created_at: number;
  last_used: number;
}

export interface TokenScopesTable {
  token_id: string;
  scope: string;
}

export interface TokenResourceAccessTable {
  token_id: string;
  resource_type: string;
  resource_id: string;
}

export interface ServerAppsTable {
  id: string;
  /** SHA-256 (hex) of the app secret */
  secret_digest: string;
  name: string;
  description: string | null;
  terms_link: string | null;
  logo: string | null;
  public: number;
  trust_by_default: number;
  author_id: string | null;
  /** null: the server's own public URL (default web app) */
  redirect_url: string | null;
  created_at: number;
}

export interface ServerAppScopesTable {
  app_id: string;
  scope: string;
}

export interface AuthorizationCodesTable {
  id: string;
  app_id: string;
  user_id: string;
  challenge: string;
  created_at: number;
  lifespan_ms: number;
}

export interface RefreshTokensTable {
  id: string;
  digest: string;
  app_id: string;
  user_id: string;
  created_at: number;
  lifespan_ms: number;
}

export interface ServerConfigTable {
  id: number;
  name: string;
  company: string | null;
  description: string | null;
  admin_contact: string | null;
  terms_of_service: string | null;
  invite_only: number;
  guest_mode_enabled: number;
}

export interface JobsTable {
  id: Generated<number>;
  type: string;
  payload: string;
  /** queued | running | done | dead */
  status: string;
  attempts: number;
  max_attempts: number;
  run_at: number;
  lease_until: number | null;
  locked_by: string | null;
  last_error: string | null;
  /** at most one live job per (type, dedupe_key) */
  dedupe_key: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

export interface Database
  extends AyonEventJobTables,
    AyonActivityTables,
    AyonAddonTables,
    AyonDesktopTables,
    AyonEntityListTables,
    AyonServiceRegistryTables {
  users: UsersTable;
  api_tokens: ApiTokensTable;
  token_scopes: TokenScopesTable;
  token_resource_access: TokenResourceAccessTable;
  server_apps: ServerAppsTable;
  server_app_scopes: ServerAppScopesTable;
  authorization_codes: AuthorizationCodesTable;
  refresh_tokens: RefreshTokensTable;
  server_config: ServerConfigTable;
  jobs: JobsTable;
  projects: ProjectsTable;
  project_acl: ProjectAclTable;
  models: ModelsTable;
  versions: VersionsTable;
  version_receipts: VersionReceiptsTable;
  project_invites: ProjectInvitesTable;
  objects: ObjectsTable;
  version_datasets: VersionDatasetsTable;
  ayon_attributes: AyonAttributesTable;
  ayon_anatomy_presets: AyonAnatomyPresetsTable;
  ayon_access_groups: AyonAccessGroupsTable;
  ayon_projects: AyonProjectsTable;
  ayon_folders: AyonFoldersTable;
  ayon_tasks: AyonTasksTable;
  ayon_products: AyonProductsTable;
  ayon_versions: AyonVersionsTable;
  ayon_representations: AyonRepresentationsTable;
  ayon_workfiles: AyonWorkfilesTable;
  ayon_link_types: AyonLinkTypesTable;
  ayon_links: AyonLinksTable;
  ayon_thumbnails: AyonThumbnailsTable;
  ayon_files: AyonFilesTable;
  ayon_product_types: AyonProductTypesTable;
  ayon_events: AyonEventsTable;
  ayon_background_ops: AyonBackgroundOpsTable;
  v1_profiles: V1ProfilesTable;
  v1_streams: V1StreamsTable;
  v1_objects: V1ObjectsTable;
  v1_projects: V1ProjectsTable;
  v1_project_streams: V1ProjectStreamsTable;
  v1_clients: V1ClientsTable;
  v1_comments: V1CommentsTable;
  v1_user_lists: V1UserListsTable;
}

export interface ProjectsTable {
  id: string;
  name: string;
  description: string | null;
  /** public | private | unlisted */
  visibility: string;
  allow_public_comments: number;
  cloned_from: string | null;
  created_at: number;
  updated_at: number;
}

export interface ProjectAclTable {
  project_id: string;
  user_id: string;
  /** owner | contributor | reviewer */
  role: string;
  created_at: number;
}

export interface ModelsTable {
  id: string;
  project_id: string;
  /** full lower-cased path, e.g. "building/level 1" */
  name: string;
  description: string | null;
  author_id: string | null;
  created_at: number;
  updated_at: number;
}

export interface VersionsTable {
  id: string;
  project_id: string;
  model_id: string;
  referenced_object: string;
  author_id: string | null;
  message: string | null;
  source_application: string | null;
  total_children_count: number | null;
  /** JSON array of parent version ids */
  parents: string;
  created_at: number;
}

export interface VersionReceiptsTable {
  id: Generated<number>;
  version_id: string;
  user_id: string | null;
  source_application: string;
  message: string | null;
  created_at: number;
}

export interface ProjectInvitesTable {
  id: string;
  project_id: string;
  inviter_id: string;
  target_user_id: string | null;
  target_email: string | null;
  role: string;
  token: string;
  created_at: number;
}

export interface ObjectsTable {
  project_id: string;
  id: string;
  speckle_type: string;
  /** null for REST uploads, as Speckle stores them */
  total_children_count: number | null;
  /** the object's JSON text, including __closure */
  data: string;
  created_at: number;
}

// ---------------------------------------------------------------------------------------------
// AYON (migration 0010). JSON columns are text; see services/ayon/README.md.

export interface AyonAttributesTable {
  name: string;
  position: number;
  /** JSON array of scopes */
  scope: string;
  builtin: number;
  /** JSON: type, title, default, constraints, enum, inherit … */
  data: string;
}

export interface AyonAnatomyPresetsTable {
  name: string;
  version: string;
  is_primary: number;
  data: string;
  created_at: number;
  updated_at: number;
}

export interface AyonAccessGroupsTable {
  name: string;
  /** '_' for the studio-wide definition */
  project_name: string;
  data: string;
}

export interface AyonProjectsTable {
  name: string;
  name_lower: string;
  code: string;
  code_lower: string;
  label: string | null;
  library: number;
  active: number;
  skeleton: number;
  attrib: string;
  data: string;
  config: string;
  folder_types: string;
  task_types: string;
  statuses: string;
  tags: string;
  thumbnail_id: string | null;
  created_at: number;
  updated_at: number;
}

/** Columns every hierarchy entity table has. */
export interface AyonEntityColumns {
  seq: Generated<number>;
  project_name: string;
  id: string;
  status: string;
  tags: string;
  attrib: string;
  data: string;
  active: number;
  created_by: string | null;
  updated_by: string | null;
  created_at: number;
  updated_at: number;
}

export interface AyonFoldersTable extends AyonEntityColumns {
  name: string;
  name_lower: string;
  label: string | null;
  folder_type: string;
  parent_id: string | null;
  /** parent_id, or '' for a root folder */
  parent_key: string;
  /** "a/b/c", no leading slash */
  path: string;
  thumbnail_id: string | null;
  /** JSON: merged own (inheritable) attributes of the ancestors */
  inherited: string;
}

export interface AyonTasksTable extends AyonEntityColumns {
  name: string;
  name_lower: string;
  label: string | null;
  task_type: string;
  folder_id: string;
  assignees: string;
  thumbnail_id: string | null;
}

export interface AyonProductsTable extends AyonEntityColumns {
  name: string;
  name_lower: string;
  folder_id: string;
  product_type: string;
  product_base_type: string | null;
}

export interface AyonVersionsTable extends AyonEntityColumns {
  version: number;
  product_id: string;
  task_id: string | null;
  thumbnail_id: string | null;
  author: string | null;
}

export interface AyonRepresentationsTable extends AyonEntityColumns {
  name: string;
  name_lower: string;
  version_id: string;
  files: string;
  traits: string | null;
}

export interface AyonWorkfilesTable extends AyonEntityColumns {
  path: string;
  task_id: string;
  thumbnail_id: string | null;
}

export interface AyonLinkTypesTable {
  project_name: string;
  name: string;
  link_type: string;
  input_type: string;
  output_type: string;
  data: string;
  position: number;
}

export interface AyonLinksTable {
  seq: Generated<number>;
  project_name: string;
  id: string;
  name: string | null;
  link_type: string;
  input_id: string;
  input_type: string;
  output_id: string;
  output_type: string;
  author: string | null;
  data: string;
  created_at: number;
}

export interface AyonThumbnailsTable {
  project_name: string;
  id: string;
  mime: string;
  size: number;
  blob_key: string;
  created_at: number;
  updated_at: number;
}

export interface AyonFilesTable {
  project_name: string;
  id: string;
  filename: string;
  mime: string;
  size: number;
  blob_key: string;
  author: string | null;
  activity_id: string | null;
  version_id: string | null;
  label: string | null;
  created_at: number;
  updated_at: number;
}

export interface AyonProductTypesTable {
  name: string;
  data: string;
}

export interface AyonEventsTable {
  seq: Generated<number>;
  id: string;
  hash: string;
  topic: string;
  sender: string | null;
  sender_type: string | null;
  project_name: string | null;
  user_name: string | null;
  depends_on: string | null;
  /** pending | in_progress | finished | failed | aborted | restarted */
  status: string;
  retries: number;
  description: string;
  summary: string;
  payload: string;
  created_at: number;
  updated_at: number;
}

export interface AyonBackgroundOpsTable {
  id: string;
  project_name: string;
  user_id: string | null;
  /** pending | in_progress | completed */
  status: string;
  progress: number | null;
  /** JSON OperationsResponse once completed */
  result: string | null;
  created_at: number;
  updated_at: number;
}

// ---------------------------------------------------------------- PySpeckle v1 (migration 0020)

/** v1 profile fields Atrium's users lack; a user without a row has surname ''. */
export interface V1ProfilesTable {
  user_id: string;
  surname: string;
  /** number of v1 logins */
  logins: number;
  created_at: number;
  updated_at: number;
}

/** A v1 stream (DataStream). `doc`: JSON of every field not in a column (name, layers, tags, extras…). */
export interface V1StreamsTable {
  /** 24-hex ObjectId (`_id`) */
  id: string;
  /** the short id used in URLs (`streamId`) */
  stream_id: string;
  owner_id: string;
  private: number;
  anonymous_comments: number;
  /** JSON array of object ids, in stream order */
  objects: string;
  doc: string;
  created_at: number;
  updated_at: number;
}

export interface V1ObjectsTable {
  id: string;
  owner_id: string | null;
  private: number;
  anonymous_comments: number;
  type: string;
  /** md5 of the object as first sent (or the hash the client gave); objects are de-duplicated by it */
  hash: string;
  doc: string;
  created_at: number;
  updated_at: number;
}

export interface V1ProjectsTable {
  id: string;
  owner_id: string;
  private: number;
  anonymous_comments: number;
  doc: string;
  created_at: number;
  updated_at: number;
}

export interface V1ProjectStreamsTable {
  project_id: string;
  /** a stream's short id */
  stream_id: string;
  seq: number;
}

/** A v1 API client (UserAppClient). */
export interface V1ClientsTable {
  id: string;
  owner_id: string;
  /** the short id of the stream the client is connected to */
  stream_id: string | null;
  private: number;
  anonymous_comments: number;
  doc: string;
  created_at: number;
  updated_at: number;
}

export interface V1CommentsTable {
  id: string;
  /** null for an anonymous comment */
  owner_id: string | null;
  /** streams | projects | objects | comments */
  resource_type: string;
  /** a stream's short id, else the resource's `_id` */
  resource_id: string;
  doc: string;
  created_at: number;
  updated_at: number;
}

/** v1 lists of user ids: canRead, canWrite, permRead, permWrite (project permissions), assignedTo. */
export interface V1UserListsTable {
  /** stream | object | project | client | comment */
  resource_type: string;
  resource_id: string;
  list: string;
  user_id: string;
  seq: number;
}

/** Version analytics datasets (services/datasets.ts): one row per built or failed DuckDB file. */
export interface VersionDatasetsTable {
  version_id: string;
  /** main | eav */
  kind: string;
  project_id: string;
  /** ready | failed */
  status: string;
  blob_key: string | null;
  size: number | null;
  sha256: string | null;
  row_count: number | null;
  format: number;
  error: string | null;
  build_ms: number | null;
  built_at: number;
}
