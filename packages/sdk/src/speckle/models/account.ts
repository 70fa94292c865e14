import type { ServerInfo } from './server.js';

/** What the client knows about the user a token belongs to (specklepy's `UserInfo`). */
export interface UserInfo {
  id?: string | null;
  name?: string | null;
  email?: string | null;
  company?: string | null;
  avatar?: string | null;
}

/** specklepy's `Account`: the token in use plus what authentication learnt about server and user. */
export interface Account {
  token: string | null;
  serverInfo: Partial<ServerInfo> & { url: string };
  userInfo: UserInfo;
}
