/**
 * `client.version` — specklepy's VersionResource: versions (commits) of a model. A version points at
 * a root object sent before with `operations.send`.
 */
import { inputs } from '../inputs.js';
import type {
  CreateVersionInput,
  DeleteVersionsInput,
  MarkReceivedVersionInput,
  ModelVersionsFilter,
  MoveVersionsInput,
  UpdateVersionInput,
} from '../models/inputs.js';
import type { ResourceCollection } from '../models/common.js';
import type { Version } from '../models/version.js';
import { ResourceBase, expectCollection, expectObject, expectShape } from '../resource.js';
import type { GraphQLRequestOptions } from '../transport.js';
import { downloadVersionDataset, type DatasetDownload, type DatasetDownloadOptions, type VersionDatasetIds } from './version-datasets.js';

export const VERSION_GET_QUERY =
  'query VersionGet($projectId: String!, $versionId: String!) {data:project(id:$projectId) {data:version(id:$versionId) {id referencedObject message sourceApplication createdAt previewUrl authorUser {id name bio company verified role avatar}}}}';
export const VERSION_GET_VERSIONS_QUERY =
  'query VersionGetVersions($projectId: String!, $modelId: String!, $limit: Int!, $cursor: String, $filter: ModelVersionsFilter) {data:project(id:$projectId) {data:model(id:$modelId) {data:versions(limit:$limit,cursor:$cursor,filter:$filter) {items {id referencedObject message sourceApplication createdAt previewUrl authorUser {id name bio company verified role avatar}} cursor totalCount}}}}';
export const VERSION_CREATE_MUTATION =
  'mutation Create($input: CreateVersionInput!) {data:versionMutations {data:create(input:$input) {id referencedObject message sourceApplication createdAt previewUrl authorUser {id name bio company verified role avatar}}}}';
export const VERSION_UPDATE_MUTATION =
  'mutation VersionUpdate($input: UpdateVersionInput!) {data:versionMutations {data:update(input:$input) {id referencedObject message sourceApplication createdAt previewUrl authorUser {id name bio company verified role avatar}}}}';
export const VERSION_MOVE_TO_MODEL_MUTATION =
  'mutation VersionMoveToModel($input: MoveVersionsInput!) {data:versionMutations {data:moveToModel(input:$input) {data:id}}}';
export const VERSION_DELETE_MUTATION =
  'mutation VersionDelete($input: DeleteVersionsInput!) {data:versionMutations {data:delete(input:$input)}}';
export const VERSION_RECEIVED_MUTATION =
  'mutation MarkReceived($input: MarkReceivedVersionInput!) {data:versionMutations {data:markReceived(input:$input)}}';

export interface VersionGetVersionsOptions extends GraphQLRequestOptions {
  /** page size (default 25; Speckle refuses more than 100) */
  limit?: number;
  cursor?: string | null;
  filter?: ModelVersionsFilter | null;
}

export class VersionResource extends ResourceBase {
  readonly name = 'version';

  /** One version of a project. */
  async get(versionId: string, projectId: string, options?: GraphQLRequestOptions): Promise<Version> {
    const version = await this.queryPath<Version>(VERSION_GET_QUERY, ['data', 'data'], { projectId, versionId }, options);
    expectObject(version, 'version');
    return version;
  }

  /** One page of a model's versions (newest first). */
  async getVersions(modelId: string, projectId: string, options: VersionGetVersionsOptions = {}): Promise<ResourceCollection<Version>> {
    const variables = {
      projectId,
      modelId,
      limit: options.limit ?? 25,
      cursor: options.cursor ?? null,
      filter: options.filter ? inputs.modelVersionsFilter(options.filter) : null,
    };
    const versions = await this.queryPath<ResourceCollection<Version>>(VERSION_GET_VERSIONS_QUERY, ['data', 'data', 'data'], variables, options);
    expectCollection(versions, 'model.versions');
    return versions;
  }

  /** Creates a version of a model pointing at an object already sent to the project. */
  async create(input: CreateVersionInput, options?: GraphQLRequestOptions): Promise<Version> {
    const version = await this.queryPath<Version>(VERSION_CREATE_MUTATION, ['data', 'data'], { input: inputs.createVersion(input) }, options);
    expectObject(version, 'created version');
    return version;
  }

  /** Changes a version's message. */
  async update(input: UpdateVersionInput, options?: GraphQLRequestOptions): Promise<Version> {
    const version = await this.queryPath<Version>(VERSION_UPDATE_MUTATION, ['data', 'data'], { input: inputs.updateVersion(input) }, options);
    expectObject(version, 'updated version');
    return version;
  }

  /** Moves versions to the model named `targetModelName` (created when missing); returns that model's id. */
  async moveToModel(input: MoveVersionsInput, options?: GraphQLRequestOptions): Promise<string> {
    const id = await this.queryPath<string>(VERSION_MOVE_TO_MODEL_MUTATION, ['data', 'data', 'data'], { input: inputs.moveVersions(input) }, options);
    expectShape(typeof id === 'string', 'moveToModel must return the model id', id);
    return id;
  }

  /** Deletes versions; true when deleted. */
  async delete(input: DeleteVersionsInput, options?: GraphQLRequestOptions): Promise<boolean> {
    const deleted = await this.queryPath<boolean>(VERSION_DELETE_MUTATION, ['data', 'data'], { input: inputs.deleteVersions(input) }, options);
    expectShape(typeof deleted === 'boolean', 'versionMutations.delete must be a boolean', deleted);
    return deleted;
  }

  /** Downloads the version's analytics dataset `{versionId}.duckdb` (see version-datasets.ts). */
  downloadDataset(ids: VersionDatasetIds, options?: DatasetDownloadOptions): Promise<DatasetDownload> {
    return downloadVersionDataset(this.context.transport, ids, 'main', options);
  }

  /** Downloads the version's EAV dataset `{versionId}.eav.duckdb` (properties and proxies). */
  downloadEavDataset(ids: VersionDatasetIds, options?: DatasetDownloadOptions): Promise<DatasetDownload> {
    return downloadVersionDataset(this.context.transport, ids, 'eav', options);
  }

  /** Tells the server that an application received the version (for its activity feed). */
  async received(input: MarkReceivedVersionInput, options?: GraphQLRequestOptions): Promise<boolean> {
    const marked = await this.queryPath<boolean>(VERSION_RECEIVED_MUTATION, ['data', 'data'], { input: inputs.markReceivedVersion(input) }, options);
    expectShape(typeof marked === 'boolean', 'versionMutations.markReceived must be a boolean', marked);
    return marked;
  }
}
