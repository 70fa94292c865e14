/** Row types of the AYON entity lists, their items and list folders tables (migration 0015_ayon_entity_lists). */

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface AyonEntityListTables {}
