/** Users as specklepy's user queries select them. */

/** The authenticated user (`activeUser`); `email` is null unless the token has `profile:email`. */
export interface User {
  id: string;
  email: string | null;
  name: string;
  bio: string | null;
  company: string | null;
  avatar: string | null;
  verified: boolean | null;
  /** server role, e.g. `server:admin` */
  role: string | null;
}

/** Another user as anyone may see them (no email). */
export interface LimitedUser {
  id: string;
  name: string;
  bio: string | null;
  company: string | null;
  avatar: string | null;
  verified: boolean | null;
  role: string | null;
}

/** `otherUser.userSearch`: one page of users (no totalCount). */
export interface UserSearchResultCollection {
  cursor: string | null;
  items: LimitedUser[];
}
