/**
 * `client.activeUser` — specklepy's ActiveUserResource: the user the token belongs to.
 * (Later: update, getProjects, getProjectInvites, canCreatePersonalProjects, …)
 */
import type { User } from '../models/user.js';
import { ResourceBase, expectShape, isObject } from '../resource.js';
import type { GraphQLRequestOptions } from '../transport.js';

export const ACTIVE_USER_GET_QUERY = 'query User {data:activeUser {id email name bio company avatar verified role}}';

export class ActiveUserResource extends ResourceBase {
  readonly name = 'active_user';

  /**
   * The authenticated user, or null when the request is anonymous. A token without `profile:read`
   * fails with GraphQLError code FORBIDDEN. `email` is null unless the token has `profile:email`.
   */
  async get(options?: GraphQLRequestOptions): Promise<User | null> {
    const user = await this.query<unknown>(ACTIVE_USER_GET_QUERY, 'data', undefined, options);
    if (user === null) return null;
    expectShape(
      isObject(user) && typeof user.id === 'string' && typeof user.name === 'string',
      'activeUser must have a string id and name',
      user,
    );
    return user as unknown as User;
  }
}
