/**
 * GraphQL extensions of the AYON schema, one module per area: SDL (type definitions and
 * `extend type` blocks) plus resolvers. schema.ts appends the SDL and merges the resolvers.
 */
import { eventsExtension } from './ext-events.js';
import { activitiesExtension } from './ext-activities.js';
import { listsExtension } from './ext-lists.js';

export interface GraphQLExtension {
  sdl: string;
  resolvers: Record<string, Record<string, unknown>>;
}

export const EXTENSIONS: GraphQLExtension[] = [eventsExtension, activitiesExtension, listsExtension];
