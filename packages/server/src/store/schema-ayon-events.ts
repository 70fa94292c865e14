/** Row types of the AYON events REST, GraphQL events, enroll job queue, retention tables (migration 0011_ayon_event_jobs). */

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface AyonEventJobTables {}
