/**
 * AyonClient methods for the AYON addons area (ayon-python-api's ServerAPI in camelCase), added to the
 * class by declaration merging. (Scaffold: filled in by the work on this area.)
 */
import { AyonClient } from './client.js';

declare module './client.js' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface AyonClient {}
}

export const addonsMethods = AyonClient;
