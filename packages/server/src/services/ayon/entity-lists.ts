/**
 * AYON entity lists, their items and list folders. (Scaffold: filled in by the work on this area.)
 */
import type { AyonCoreDeps } from './index.js';

export function createEntityListsService(_core: AyonCoreDeps) {
  return {};
}
