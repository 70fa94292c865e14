/**
 * AYON GraphQL extension: lists. `sdl` may use `extend type Query { … }` / `extend type ProjectNode { … }`;
 * `resolvers` maps type name → field → resolver, merged into the schema by schema.ts.
 */
import type { GraphQLExtension } from './extensions.js';

export const listsExtension: GraphQLExtension = { sdl: '', resolvers: {} };
