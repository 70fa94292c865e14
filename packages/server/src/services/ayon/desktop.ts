/**
 * AYON secrets, installers, dependency packages, actions. (Scaffold: filled in by the work on this area.)
 */
import type { AyonCoreDeps } from './index.js';

export function createDesktopService(_core: AyonCoreDeps) {
  return {};
}
