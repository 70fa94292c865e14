/**
 * AYON activities: comments, references, reactions, watchers, categories, suggestions, files. (Scaffold: filled in by the work on this area.)
 */
import type { AyonCoreDeps } from './index.js';

export function createActivitiesService(_core: AyonCoreDeps) {
  return {};
}
