/** Row types of the AYON secrets, installers, dependency packages, actions tables (migration 0014_ayon_desktop). */

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface AyonDesktopTables {}
