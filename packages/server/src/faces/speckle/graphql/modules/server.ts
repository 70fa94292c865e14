/** serverInfo, apps and personal access tokens (Speckle's core + auth modules). */
import { ROLE_DESCRIPTIONS, SERVER_ROLE_TITLES } from '../../../../domain/roles.js';
import { SCOPES } from '../../../../domain/scopes.js';
import { BigIntScalar, DateTime, JSONObject, JSONScalar } from '../scalars.js';
import { checkScope, requireRoleAndScope, type SpeckleContext } from '../context.js';
import type { SchemaModule } from '../executor.js';
import type { AppInfo } from '../../../../services/apps.js';

const typeDefs = /* GraphQL */ `
scalar DateTime
scalar BigInt
scalar JSONObject
scalar JSON

type Query {
  serverInfo: ServerInfo!
  "Gets a specific app from the server."
  app(id: String!): ServerApp
  "Returns all the publicly available apps on this server."
  apps: [ServerAppListItem]
}

type Mutation {
  serverInfoUpdate(info: ServerInfoUpdateInput!): Boolean
  "Creates an personal api token."
  apiTokenCreate(token: ApiTokenCreateInput!): String!
  "Revokes (deletes) an personal api token/app token."
  apiTokenRevoke(token: String!): Boolean!
}

type ServerMigration { movedFrom: String movedTo: String }

type ServerInfo {
  name: String!
  company: String
  description: String
  adminContact: String
  canonicalUrl: String
  termsOfService: String
  roles: [Role!]! @deprecated(reason: "Use role constants from the @speckle/shared npm package instead")
  scopes: [Scope!]!
  inviteOnly: Boolean
  guestModeEnabled: Boolean!
  version: String
  serverRoles: [ServerRoleItem!]!
  automateUrl: String
  migration: ServerMigration
  enableNewWebUiMessaging: Boolean
  configuration: ServerConfiguration!
  blobSizeLimitBytes: Int! @deprecated(reason: "Use the ServerInfo{configuration{blobSizeLimitBytes}} field instead.")
  authStrategies: [AuthStrategy!]!
  workspaces: ServerWorkspacesInfo!
  automate: ServerAutomateInfo!
  multiRegion: ServerMultiRegionConfiguration!
}

type ServerConfiguration {
  objectSizeLimitBytes: Int!
  objectMultipartUploadSizeLimitBytes: Int!
  blobSizeLimitBytes: Int!
  isEmailEnabled: Boolean!
  emailVerificationTimeoutMinutes: Int!
}

type AuthStrategy { id: String! name: String! icon: String! url: String! color: String }
type ServerWorkspacesInfo { workspacesEnabled: Boolean! }
type ServerAutomateInfo { availableFunctionTemplates: [AutomateFunctionTemplate!]! }
type AutomateFunctionTemplate { id: String! title: String! logo: String! url: String! }
type ServerMultiRegionConfiguration { regionKeys: [String!]! }
type Role { name: String! description: String! resourceTarget: String! }
type ServerRoleItem { id: String! title: String! }
type Scope { name: String! description: String! }

input ServerInfoUpdateInput {
  name: String!
  company: String
  description: String
  adminContact: String
  termsOfService: String
  inviteOnly: Boolean
  guestModeEnabled: Boolean
}

enum TokenResourceIdentifierType { project workspace }
input TokenResourceIdentifierInput { id: String! type: TokenResourceIdentifierType! }
input ApiTokenCreateInput { scopes: [String!]! name: String! lifespan: BigInt limitResources: [TokenResourceIdentifierInput!] }

type ApiToken {
  id: String!
  name: String!
  lastChars: String!
  scopes: [String]!
  createdAt: DateTime!
  lifespan: BigInt!
  lastUsed: DateTime!
}

type AppAuthor { name: String! id: String! avatar: String }

type ServerAppListItem {
  id: String!
  name: String!
  description: String
  redirectUrl: String!
  termsAndConditionsLink: String
  trustByDefault: Boolean
  logo: String
  author: AppAuthor
}

type ServerApp {
  id: String!
  secret: String
  name: String!
  description: String
  termsAndConditionsLink: String
  logo: String
  public: Boolean
  trustByDefault: Boolean
  author: AppAuthor
  createdAt: DateTime!
  redirectUrl: String!
  scopes: [Scope!]!
}
`;

async function appAuthor(app: AppInfo, ctx: SpeckleContext) {
  if (!app.authorId) return null;
  const u = await ctx.services.identity.getUser(app.authorId);
  return u ? { id: u.id, name: u.name, avatar: u.avatar } : null;
}

export const serverModule: SchemaModule = {
  typeDefs,
  resolvers: {
    DateTime,
    BigInt: BigIntScalar,
    JSONObject,
    JSON: JSONScalar,
    Query: {
      serverInfo: async (_p, _a, ctx: SpeckleContext) => {
        const info = await ctx.services.serverInfo.get();
        const limits = ctx.services.config.limits;
        return {
          ...info,
          roles: ROLE_DESCRIPTIONS,
          scopes: SCOPES.filter((s) => s.public).map(({ name, description }) => ({ name, description })),
          serverRoles: SERVER_ROLE_TITLES.filter((r) => r.role !== 'guest' || info.guestModeEnabled).map(({ id, title }) => ({ id, title })),
          automateUrl: null,
          migration: { movedFrom: null, movedTo: null },
          enableNewWebUiMessaging: false,
          configuration: {
            objectSizeLimitBytes: limits.objectSizeBytes,
            objectMultipartUploadSizeLimitBytes: limits.uploadPartBytes,
            blobSizeLimitBytes: limits.requestBodyBytes,
            isEmailEnabled: false,
            emailVerificationTimeoutMinutes: 5,
          },
          blobSizeLimitBytes: limits.requestBodyBytes,
          authStrategies: [{ id: 'local', name: 'Local', icon: 'TODO', url: '/auth/local', color: 'accent' }],
          workspaces: { workspacesEnabled: false },
          automate: { availableFunctionTemplates: [] },
          multiRegion: { regionKeys: [] },
        };
      },
      app: async (_p, args: { id: string }, ctx: SpeckleContext) => {
        const app = await ctx.services.apps.getApp(args.id);
        if (!app) return null;
        return { ...app, secret: null, _app: app };
      },
      apps: async (_p, _a, ctx: SpeckleContext) => {
        checkScope(ctx, 'apps:read');
        return (await ctx.services.apps.listApps()).filter((a) => a.public).map((a) => ({ ...a, _app: a }));
      },
    },
    ServerAppListItem: {
      author: (p: { _app: AppInfo }, _a, ctx: SpeckleContext) => appAuthor(p._app, ctx),
    },
    ServerApp: {
      author: (p: { _app: AppInfo }, _a, ctx: SpeckleContext) => appAuthor(p._app, ctx),
      createdAt: (p: { _app: AppInfo }) => p._app.createdAt,
      scopes: (p: { _app: AppInfo }) =>
        p._app.scopes.map((name) => ({ name, description: SCOPES.find((s) => s.name === name)?.description ?? name })),
    },
    Mutation: {
      serverInfoUpdate: async (_p, args: { info: Record<string, unknown> }, ctx: SpeckleContext) => {
        requireRoleAndScope(ctx, 'admin', 'server:setup');
        await ctx.services.serverInfo.update(args.info as never);
        return true;
      },
      apiTokenCreate: async (_p, args: { token: Record<string, unknown> }, ctx: SpeckleContext) => {
        requireRoleAndScope(ctx, 'user', 'tokens:write');
        return ctx.services.identity.createPersonalToken(ctx.auth, args.token as never);
      },
      apiTokenRevoke: async (_p, args: { token: string }, ctx: SpeckleContext) => {
        requireRoleAndScope(ctx, 'user', 'tokens:write');
        return ctx.services.identity.revokeOwnToken(ctx.auth, args.token);
      },
    },
  },
};
