/**
 * AYON events REST, GraphQL events, enroll job queue, retention. (Scaffold: filled in by the work on this area.)
 */
import type { AyonCoreDeps } from './index.js';

export function createEventStreamService(_core: AyonCoreDeps) {
  return {};
}
