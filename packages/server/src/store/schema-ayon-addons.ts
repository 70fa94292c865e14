/** Row types of the AYON addons, bundles, settings and overrides tables (migration 0013_ayon_addons). */

export interface AyonAddonsTable {
  name: string;
  version: string;
  title: string;
  description: string;
  generation: string;
  /** JSON: the package.py / manifest.json fields that were literals */
  meta: string;
  /** JSON: { "<package path>": [<blob number>, <size>] } */
  files: string;
  settings_schema: string | null;
  settings_defaults: string | null;
  site_schema: string | null;
  site_defaults: string | null;
  zip_size: number;
  zip_sha256: string;
  created_by: string | null;
  created_at: number;
}

export interface AyonBundlesTable {
  name: string;
  /** JSON: addons, installer_version, dependency_packages, addon_development, is_project */
  data: string;
  is_production: number;
  is_staging: number;
  is_dev: number;
  is_archived: number;
  active_user: string | null;
  created_at: number;
}

export interface AyonAddonSettingsTable {
  addon_name: string;
  addon_version: string;
  /** studio | project | project_site | site */
  scope: string;
  project_name: string;
  variant: string;
  site_id: string;
  user_name: string;
  /** JSON overrides (studio/project/project_site) or values (site) */
  data: string;
  updated_at: number;
}

export interface AyonAddonTables {
  ayon_addons: AyonAddonsTable;
  ayon_bundles: AyonBundlesTable;
  ayon_addon_settings: AyonAddonSettingsTable;
}
