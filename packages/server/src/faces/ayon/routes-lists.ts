/**
 * AYON REST routes: entity lists, their items and list folders. (Scaffold: filled in by the work on this area.)
 */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services/index.js';

export async function ayonEntityListRoutes(_app: FastifyInstance, _opts: { services: Services }) {}
