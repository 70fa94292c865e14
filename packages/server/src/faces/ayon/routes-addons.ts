/**
 * AYON REST routes: addons, bundles, settings and overrides. (Scaffold: filled in by the work on this area.)
 */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services/index.js';

export async function ayonAddonRoutes(_app: FastifyInstance, _opts: { services: Services }) {}
