/**
 * AYON REST routes: secrets, installers, dependency packages, actions. (Scaffold: filled in by the work on this area.)
 */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services/index.js';

export async function ayonDesktopRoutes(_app: FastifyInstance, _opts: { services: Services }) {}
