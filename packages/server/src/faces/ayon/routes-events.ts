/**
 * AYON REST routes: events REST, GraphQL events, enroll job queue, retention. (Scaffold: filled in by the work on this area.)
 */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services/index.js';

export async function ayonEventRoutes(_app: FastifyInstance, _opts: { services: Services }) {}
