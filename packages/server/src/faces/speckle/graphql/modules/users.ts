/** activeUser, otherUser, user search and profile updates (Speckle's users module). */
import { AppError } from '../../../../domain/errors.js';
import { serverRoleWire } from '../../../../domain/roles.js';
import { hasScope } from '../../../../domain/scopes.js';
import type { User } from '../../../../services/identity.js';
import { checkScope, requireServerRole, requireRoleAndScope, type SpeckleContext } from '../context.js';
import type { SchemaModule } from '../executor.js';

const typeDefs = /* GraphQL */ `
extend type Query {
  "Gets the profile of the authenticated user or null if not authenticated"
  activeUser: User
  "Get the (limited) profile information of another server user"
  otherUser(id: String!): LimitedUser
  userSearch(query: String!, limit: Int! = 25, cursor: String, archived: Boolean = false, emailOnly: Boolean = false): UserSearchResultCollection!
}

extend type Mutation {
  activeUserMutations: ActiveUserMutations!
  "Edits a user's profile."
  userUpdate(user: UserUpdateInput!): Boolean!
}

type ActiveUserMutations {
  update(user: UserUpdateInput!): User!
}

input UserUpdateInput { name: String company: String bio: String avatar: String }

type User {
  id: ID!
  email: String
  name: String!
  bio: String
  company: String
  avatar: String
  verified: Boolean
  profiles: JSONObject
  role: String
  isOnboardingFinished: Boolean
  createdAt: DateTime
  hasPendingVerification: Boolean
  apiTokens: [ApiToken!]!
}

type LimitedUser {
  id: ID!
  name: String!
  bio: String
  company: String
  avatar: String
  verified: Boolean
  role: String
}

type UserSearchResultCollection { cursor: String items: [LimitedUser!]! }
`;

type UserParent = User & { __limited?: boolean };

const userView = (u: User) => ({ ...u, _user: u });

export const usersModule: SchemaModule = {
  typeDefs,
  resolvers: {
    Query: {
      activeUser: async (_p, _a, ctx: SpeckleContext) => {
        checkScope(ctx, 'profile:read');
        if (!ctx.auth.auth) return null;
        const u = await ctx.services.identity.getUser(ctx.auth.userId);
        return u ? userView(u) : null;
      },
      otherUser: async (_p, args: { id: string }, ctx: SpeckleContext) => {
        requireRoleAndScope(ctx, 'guest', 'users:read');
        const u = await ctx.services.identity.getUser(args.id);
        return u ? userView(u) : null;
      },
      userSearch: async (
        _p,
        args: { query: string; limit: number; cursor?: string | null; archived?: boolean | null; emailOnly?: boolean | null },
        ctx: SpeckleContext,
      ) => {
        requireServerRole(ctx, 'guest');
        checkScope(ctx, 'profile:read');
        checkScope(ctx, 'users:read');
        if (args.query.length < 3) throw new AppError('BAD_REQUEST_ERROR', 'Search query must be at least 3 characters.');
        if (args.limit > 100) throw new AppError('BAD_REQUEST_ERROR', 'Cannot return more than 100 items, please use pagination.');
        const offset = args.cursor ? Number(Buffer.from(args.cursor, 'base64').toString('utf8')) || 0 : 0;
        const users = await ctx.services.identity.searchUsers(args.query, offset + args.limit + 1, {
          archived: !!args.archived,
          emailOnly: !!args.emailOnly,
        });
        const page = users.slice(offset, offset + args.limit);
        const more = users.length > offset + args.limit;
        return {
          cursor: more ? Buffer.from(String(offset + args.limit)).toString('base64') : null,
          items: page.map(userView),
        };
      },
    },
    Mutation: {
      activeUserMutations: () => ({}),
      userUpdate: async (_p, args: { user: Record<string, string | null> }, ctx: SpeckleContext) => {
        const auth = requireRoleAndScope(ctx, 'guest', 'profile:write');
        await ctx.services.identity.updateUser(auth.userId, cleanUpdate(args.user));
        return true;
      },
    },
    ActiveUserMutations: {
      update: async (_p, args: { user: Record<string, string | null> }, ctx: SpeckleContext) => {
        const auth = requireRoleAndScope(ctx, 'guest', 'profile:write');
        return userView(await ctx.services.identity.updateUser(auth.userId, cleanUpdate(args.user)));
      },
    },
    User: {
      // Redacted (null, not an error) unless it is the caller's own with profile:email, or an admin with users:email.
      email: (p: UserParent, _a, ctx: SpeckleContext) => {
        if (!ctx.auth.auth) return null;
        if (ctx.auth.userId === p.id && hasScope(ctx.auth.scopes, 'profile:email')) return p.email;
        if (ctx.auth.role === 'admin' && hasScope(ctx.auth.scopes, 'users:email')) return p.email;
        return null;
      },
      role: (p: UserParent) => serverRoleWire(p.role),
      profiles: () => null,
      isOnboardingFinished: () => true,
      // no email verification flow on Atrium: nothing is ever pending
      hasPendingVerification: () => false,
      apiTokens: async (p: UserParent, _a, ctx: SpeckleContext) => {
        const auth = requireRoleAndScope(ctx, 'user', 'tokens:read');
        if (auth.userId !== p.id) throw new AppError('FORBIDDEN', 'You can only view your own tokens');
        return ctx.services.identity.listTokens(p.id);
      },
    },
    LimitedUser: {
      role: (p: UserParent) => serverRoleWire(p.role),
    },
  },
};

function cleanUpdate(u: Record<string, string | null>) {
  const out: Partial<Pick<User, 'name' | 'bio' | 'company' | 'avatar'>> = {};
  for (const k of ['name', 'bio', 'company', 'avatar'] as const) {
    const v = u[k];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') throw new AppError('USER_INPUT_ERROR', `${k} must be a string`);
    if (k === 'avatar' && v.length > 5_000_000) throw new AppError('USER_INPUT_ERROR', 'Avatar too large');
    if (k !== 'avatar' && v.length > 2000) throw new AppError('USER_INPUT_ERROR', `${k} is too long`);
    out[k] = v;
  }
  return out;
}
