/** Models (and their versions) as specklepy's model queries select them. */
import type { ResourceCollection } from './common.js';
import type { LimitedUser } from './user.js';
import type { Version } from './version.js';

/** specklepy `Model`. */
export interface Model {
  id: string;
  /** full lower-cased path, e.g. `facade/north` */
  name: string;
  /** last `/` segment of the name */
  displayName: string;
  description: string | null;
  author: LimitedUser | null;
  createdAt: string;
  updatedAt: string;
  /** null while the model has no version */
  previewUrl: string | null;
}

/** `model.getWithVersions`: the model with one page of its versions. */
export interface ModelWithVersions extends Model {
  versions: ResourceCollection<Version>;
}
