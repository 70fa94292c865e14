/**
 * `client.otherUser` — specklepy's OtherUserResource: other users' public profiles, and user search.
 * Both need the `users:read` scope.
 */
import type { LimitedUser, UserSearchResultCollection } from '../models/user.js';
import { ResourceBase, expectObject, expectShape, isObject } from '../resource.js';
import type { GraphQLRequestOptions } from '../transport.js';

export const OTHER_USER_GET_QUERY =
  'query LimitedUser($id: String!) {data:otherUser(id:$id) {id name bio company avatar verified role}}';
export const OTHER_USER_USER_SEARCH_QUERY =
  'query UserSearch($query: String!, $limit: Int!, $cursor: String, $archived: Boolean, $emailOnly: Boolean) {data:userSearch(query:$query,limit:$limit,cursor:$cursor,archived:$archived,emailOnly:$emailOnly) {cursor items {id name bio company avatar verified role}}}';

export interface UserSearchOptions extends GraphQLRequestOptions {
  /** page size (default 25; Speckle refuses more than 100) */
  limit?: number;
  cursor?: string | null;
  /** include archived users (default false) */
  archived?: boolean;
  /** match the email address only (default false) */
  emailOnly?: boolean;
}

export class OtherUserResource extends ResourceBase {
  readonly name = 'other_user';

  /** Another user's public profile, or null when there is no such user. */
  async get(id: string, options?: GraphQLRequestOptions): Promise<LimitedUser | null> {
    const user = await this.queryPath<LimitedUser | null>(OTHER_USER_GET_QUERY, ['data'], { id }, options, true);
    if (user !== null) expectObject(user, 'otherUser', ['id', 'name']);
    return user;
  }

  /** Searches users by name or email (the query needs at least 3 characters). */
  async userSearch(query: string, options: UserSearchOptions = {}): Promise<UserSearchResultCollection> {
    const variables = {
      query,
      limit: options.limit ?? 25,
      cursor: options.cursor ?? null,
      archived: options.archived ?? false,
      emailOnly: options.emailOnly ?? false,
    };
    const result = await this.queryPath<UserSearchResultCollection>(OTHER_USER_USER_SEARCH_QUERY, ['data'], variables, options);
    expectShape(isObject(result) && Array.isArray(result.items), 'userSearch must be {cursor, items}', result);
    for (const user of result.items) expectObject(user, 'userSearch.items[]', ['id', 'name']);
    return result;
  }
}
