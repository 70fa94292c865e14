/**
 * AYON the /ws realtime socket and the services/hosts registry. (Scaffold: filled in by the work on this area.)
 */
import type { AyonCoreDeps } from './index.js';

export function createServiceRegistry(_core: AyonCoreDeps) {
  return {};
}
