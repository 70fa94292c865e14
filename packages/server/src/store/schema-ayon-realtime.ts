/** Row types of the AYON services and hosts registry tables (migration 0016_ayon_services). */

export interface AyonHostsTable {
  name: string;
  /** epoch ms of the last heartbeat */
  last_seen: number;
  /** JSON {cpu, mem} */
  health: string;
}

export interface AyonServicesTable {
  name: string;
  hostname: string;
  addon_name: string;
  addon_version: string;
  service: string;
  should_run: number;
  is_running: number;
  /** epoch ms of the last heartbeat of its host, null before the first */
  last_seen: number | null;
  /** JSON: volumes, ports, memLimit, user, env, storagePath, image */
  data: string;
  created_at: number;
}

export interface AyonServiceRegistryTables {
  ayon_hosts: AyonHostsTable;
  ayon_services: AyonServicesTable;
}
