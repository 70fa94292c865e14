/** Versions as specklepy's version queries select them. */
import type { LimitedUser } from './user.js';

/** specklepy `Version`. */
export interface Version {
  id: string;
  /** the root object's id (null when a workspace's history limit hides it) */
  referencedObject: string | null;
  message: string | null;
  sourceApplication: string | null;
  createdAt: string;
  previewUrl: string;
  authorUser: LimitedUser | null;
}
