/**
 * AYON GraphQL extension: `events(...)` (ayon.md §11.3) with every filter ayon_api sends
 * (`statuses`, or `states` on old servers). `summary`/`payload` are JSON strings on the wire.
 */
import { GraphQLError } from 'graphql';
import type { Selectable } from 'kysely';
import type { GraphQLExtension } from './extensions.js';
import type { AyonGqlContext } from './schema.js';
import type { Database } from '../../../store/schema.js';
import { AyonError } from '../../../services/ayon/errors.js';

type Row = Selectable<Database['ayon_events']>;

const sdl = `
type EventNode {
  id: String!
  hash: String!
  topic: String!
  project: String
  user: String
  sender: String
  senderType: String
  dependsOn: String
  status: String!
  retries: Int!
  description: String
  summary: String!
  payload: String!
  createdAt: DateTime!
  updatedAt: DateTime!
  hasChildren: Boolean!
}
type EventEdge { node: EventNode!
  cursor: String }
type EventsConnection { edges: [EventEdge!]!
  pageInfo: PageInfo!
  totalCount: Int }
extend type Query {
  events(ids: [String!], topics: [String!], projects: [String!], statuses: [String!], states: [String!], users: [String!], includeLogs: Boolean, hasChildren: Boolean, newerThan: String, olderThan: String, filter: String, first: Int, after: String, last: Int, before: String): EventsConnection!
}
`;

const CHILDREN = Symbol('children');
type Page = { edges: Array<{ node: Row }>; [CHILDREN]?: Promise<Set<string>> };

export const eventsExtension: GraphQLExtension = {
  sdl,
  resolvers: {
    Query: {
      events: async (_: unknown, args: Record<string, any>, ctx: AyonGqlContext) => {
        try {
          const page = (await ctx.ayon.eventStream.list(ctx.actor, args)) as unknown as Page;
          // one query answers hasChildren for the whole page, when it is asked for
          let pending: Promise<Set<string>> | null = null;
          const children = () => (pending ??= ctx.ayon.eventStream.withChildren(page.edges.map((e) => e.node.id)));
          for (const e of page.edges) (e.node as any)[CHILDREN] = children;
          return page;
        } catch (err) {
          if (err instanceof AyonError) throw new GraphQLError(err.message, { extensions: { status: err.status } });
          throw err;
        }
      },
    },
    EventNode: {
      project: (n: Row) => n.project_name,
      user: (n: Row) => n.user_name,
      senderType: (n: Row) => n.sender_type,
      dependsOn: (n: Row) => n.depends_on,
      retries: (n: Row) => Number(n.retries),
      createdAt: (n: Row) => Number(n.created_at),
      updatedAt: (n: Row) => Number(n.updated_at),
      summary: (n: Row) => n.summary || '{}',
      payload: (n: Row) => n.payload || '{}',
      hasChildren: async (n: Row) => {
        const f = (n as any)[CHILDREN] as (() => Promise<Set<string>>) | undefined;
        return f ? (await f()).has(n.id) : false;
      },
    },
  },
};
