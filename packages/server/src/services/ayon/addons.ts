/**
 * AYON addons, bundles, settings and overrides. (Scaffold: filled in by the work on this area.)
 */
import type { AyonCoreDeps } from './index.js';

export function createAddonsService(_core: AyonCoreDeps) {
  return {};
}
