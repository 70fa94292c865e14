/** Row types of the AYON the /ws realtime socket and the services/hosts registry tables (migration 0016_ayon_services). */

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface AyonServiceRegistryTables {}
