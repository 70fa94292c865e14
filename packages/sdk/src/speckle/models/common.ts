/** Shapes shared by several resources. */

/** One page of a list (specklepy `ResourceCollection`); page on with `cursor` until `items` is empty. */
export interface ResourceCollection<T> {
  totalCount: number;
  /** opaque; null when the server has nothing more (Speckle returns a cursor whenever it returned items) */
  cursor: string | null;
  items: T[];
}

/** The answer of a permission check (`authorized`, a machine `code` such as `OK`, a human `message`). */
export interface PermissionCheckResult {
  authorized: boolean;
  code: string;
  message: string;
}
