/** Row types of the AYON secrets, installers, dependency packages, actions tables (migration 0014_ayon_desktop). */

export interface AyonSecretsTable {
  name: string;
  value: string;
  updated_at: number;
}

export interface AyonDesktopPackagesTable {
  /** installer | dependency_package */
  kind: string;
  filename: string;
  /** windows | linux | darwin */
  platform: string;
  /** installer version (installers) or installerVersion (dependency packages) */
  version: string;
  /** JSON: the manifest (camelCase, known fields only) */
  manifest: string;
  /** set once an upload completed and matched the manifest's checksum and size */
  blob_key: string | null;
  blob_size: number | null;
  created_at: number;
  updated_at: number;
}

export interface AyonActionConfigsTable {
  user_name: string;
  addon_name: string;
  identifier: string;
  /** '' outside a project */
  project_name: string;
  addon_version: string;
  /** JSON object */
  data: string;
  updated_at: number;
}

export interface AyonDesktopTables {
  ayon_secrets: AyonSecretsTable;
  ayon_desktop_packages: AyonDesktopPackagesTable;
  ayon_action_configs: AyonActionConfigsTable;
}
