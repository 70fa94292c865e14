/**
 * AYON REST routes: the /ws realtime socket and the services/hosts registry. (Scaffold: filled in by the work on this area.)
 */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services/index.js';

export async function ayonRealtimeRoutes(_app: FastifyInstance, _opts: { services: Services }) {}
