/**
 * `client.model` — specklepy's ModelResource: a project's models (branches), with pages of their
 * versions. Model names are lower-cased by the server; `main` cannot be deleted.
 */
import { inputs } from '../inputs.js';
import type { CreateModelInput, DeleteModelInput, ModelVersionsFilter, ProjectModelsFilter, UpdateModelInput } from '../models/inputs.js';
import type { ResourceCollection, PermissionCheckResult } from '../models/common.js';
import type { Model, ModelWithVersions } from '../models/model.js';
import { ResourceBase, expectCollection, expectObject, expectShape } from '../resource.js';
import type { GraphQLRequestOptions } from '../transport.js';

export const MODEL_GET_QUERY =
  'query ModelGet($modelId: String!, $projectId: String!) {data:project(id:$projectId) {data:model(id:$modelId) {id name previewUrl updatedAt description displayName createdAt author {avatar bio company id name role verified}}}}';
export const MODEL_GET_WITH_VERSIONS_QUERY =
  'query ModelGetWithVersions($modelId: String!, $projectId: String!, $versionsLimit: Int!, $versionsCursor: String, $versionsFilter: ModelVersionsFilter) {data:project(id:$projectId) {data:model(id:$modelId) {id name previewUrl updatedAt versions(limit:$versionsLimit,cursor:$versionsCursor,filter:$versionsFilter) {items {id referencedObject message sourceApplication createdAt previewUrl authorUser {avatar id name bio company verified role}} totalCount cursor} description displayName createdAt author {avatar bio company id name role verified}}}}';
export const MODEL_GET_MODELS_QUERY =
  'query ProjectGetWithModels($projectId: String!, $modelsLimit: Int!, $modelsCursor: String, $modelsFilter: ProjectModelsFilter) {data:project(id:$projectId) {data:models(limit:$modelsLimit,cursor:$modelsCursor,filter:$modelsFilter) {items {id name previewUrl updatedAt displayName description createdAt author {avatar bio company id name role verified}} totalCount cursor}}}';
export const MODEL_CREATE_MUTATION =
  'mutation ModelCreate($input: CreateModelInput!) {data:modelMutations {data:create(input:$input) {id displayName name description createdAt updatedAt previewUrl author {avatar bio company id name role verified}}}}';
export const MODEL_DELETE_MUTATION =
  'mutation ModelDelete($input: DeleteModelInput!) {data:modelMutations {data:delete(input:$input)}}';
export const MODEL_UPDATE_MUTATION =
  'mutation ModelUpdate($input: UpdateModelInput!) {data:modelMutations {data:update(input:$input) {id name displayName description createdAt updatedAt previewUrl author {avatar bio company id name role verified}}}}';
export const MODEL_GET_PERMISSIONS_QUERY =
  'query ModelPermissions($projectId: String!, $modelId: String!) {data:project(id:$projectId) {data:model(id:$modelId) {data:permissions {canUpdate {authorized code message} canDelete {authorized code message} canCreateVersion {authorized code message}}}}}';

export interface ModelGetWithVersionsOptions extends GraphQLRequestOptions {
  /** page size (default 25; Speckle refuses more than 100) */
  versionsLimit?: number;
  versionsCursor?: string | null;
  versionsFilter?: ModelVersionsFilter | null;
}

export interface ModelGetModelsOptions extends GraphQLRequestOptions {
  /** page size (default 25) */
  modelsLimit?: number;
  modelsCursor?: string | null;
  modelsFilter?: ProjectModelsFilter | null;
}

/** `model.getPermissions`. */
export interface ModelPermissionChecks {
  canUpdate: PermissionCheckResult;
  canDelete: PermissionCheckResult;
  canCreateVersion: PermissionCheckResult;
}

export class ModelResource extends ResourceBase {
  readonly name = 'model';

  /** One model of a project. */
  async get(modelId: string, projectId: string, options?: GraphQLRequestOptions): Promise<Model> {
    const model = await this.queryPath<Model>(MODEL_GET_QUERY, ['data', 'data'], { modelId, projectId }, options);
    expectObject(model, 'model', ['id', 'name']);
    return model;
  }

  /** The model with one page of its versions (newest first). */
  async getWithVersions(modelId: string, projectId: string, options: ModelGetWithVersionsOptions = {}): Promise<ModelWithVersions> {
    const variables = {
      projectId,
      modelId,
      versionsLimit: options.versionsLimit ?? 25,
      versionsCursor: options.versionsCursor ?? null,
      versionsFilter: options.versionsFilter ? inputs.modelVersionsFilter(options.versionsFilter) : null,
    };
    const model = await this.queryPath<ModelWithVersions>(MODEL_GET_WITH_VERSIONS_QUERY, ['data', 'data'], variables, options);
    expectObject(model, 'model', ['id', 'name']);
    expectCollection(model.versions, 'model.versions');
    return model;
  }

  /** One page of a project's models (most recently updated first). */
  async getModels(projectId: string, options: ModelGetModelsOptions = {}): Promise<ResourceCollection<Model>> {
    const variables = {
      projectId,
      modelsLimit: options.modelsLimit ?? 25,
      modelsCursor: options.modelsCursor ?? null,
      modelsFilter: options.modelsFilter ? inputs.projectModelsFilter(options.modelsFilter) : null,
    };
    const models = await this.queryPath<ResourceCollection<Model>>(MODEL_GET_MODELS_QUERY, ['data', 'data'], variables, options);
    expectCollection(models, 'project.models', ['id', 'name']);
    return models;
  }

  /** Creates a model (`name` may hold `/` to nest it: `facade/north`). */
  async create(input: CreateModelInput, options?: GraphQLRequestOptions): Promise<Model> {
    const model = await this.queryPath<Model>(MODEL_CREATE_MUTATION, ['data', 'data'], { input: inputs.createModel(input) }, options);
    expectObject(model, 'created model', ['id', 'name']);
    return model;
  }

  /** Deletes a model and its versions; true when deleted. */
  async delete(input: DeleteModelInput, options?: GraphQLRequestOptions): Promise<boolean> {
    const deleted = await this.queryPath<boolean>(MODEL_DELETE_MUTATION, ['data', 'data'], { input: inputs.deleteModel(input) }, options);
    expectShape(typeof deleted === 'boolean', 'modelMutations.delete must be a boolean', deleted);
    return deleted;
  }

  /** Renames a model or changes its description (null keys are left unchanged). */
  async update(input: UpdateModelInput, options?: GraphQLRequestOptions): Promise<Model> {
    const model = await this.queryPath<Model>(MODEL_UPDATE_MUTATION, ['data', 'data'], { input: inputs.updateModel(input) }, options);
    expectObject(model, 'updated model', ['id', 'name']);
    return model;
  }

  /** What the caller may do with the model: canUpdate, canDelete, canCreateVersion. */
  async getPermissions(projectId: string, modelId: string, options?: GraphQLRequestOptions): Promise<ModelPermissionChecks> {
    const checks = await this.queryPath<ModelPermissionChecks>(MODEL_GET_PERMISSIONS_QUERY, ['data', 'data', 'data'], { projectId, modelId }, options);
    expectShape(typeof checks?.canUpdate?.authorized === 'boolean', 'model permissions must be permission checks', checks);
    return checks;
  }
}
