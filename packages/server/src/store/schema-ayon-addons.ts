/** Row types of the AYON addons, bundles, settings and overrides tables (migration 0013_ayon_addons). */

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface AyonAddonTables {}
