/**
 * AYON REST routes: activities: comments, references, reactions, watchers, categories, suggestions, files. (Scaffold: filled in by the work on this area.)
 */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services/index.js';

export async function ayonActivityRoutes(_app: FastifyInstance, _opts: { services: Services }) {}
