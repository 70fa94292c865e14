/** Messages of the subscriptions specklepy offers (the `data` of each event). */
import type { Model } from './model.js';
import type { Project } from './project.js';
import type { Version } from './version.js';

export interface UserProjectsUpdatedMessage {
  id: string;
  type: 'ADDED' | 'REMOVED';
  project: Project | null;
}

export interface ProjectUpdatedMessage {
  id: string;
  type: 'UPDATED' | 'DELETED';
  project: Project | null;
}

export interface ProjectModelsUpdatedMessage {
  id: string;
  type: 'CREATED' | 'UPDATED' | 'DELETED';
  /** null when deleted */
  model: Model | null;
}

export interface ProjectVersionsUpdatedMessage {
  id: string;
  type: 'CREATED' | 'UPDATED' | 'DELETED';
  modelId: string;
  version: Version | null;
}
