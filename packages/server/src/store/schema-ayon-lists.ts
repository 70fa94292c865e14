/** Row types of the AYON entity lists, their items and list folders tables (migration 0015_ayon_entity_lists). */
import type { Generated } from 'kysely';

export interface AyonEntityListFoldersTable {
  seq: Generated<number>;
  project_name: string;
  id: string;
  label: string;
  label_lower: string;
  parent_id: string | null;
  /** parent_id, or '' for root folders */
  parent_key: string;
  position: number;
  owner: string | null;
  /** JSON text: {user: level} */
  access: string;
  /** JSON text: {color, icon, scope, …} */
  data: string;
}

export interface AyonEntityListsTable {
  seq: Generated<number>;
  project_name: string;
  id: string;
  entity_list_type: string;
  entity_type: string;
  entity_list_folder_id: string | null;
  label: string;
  owner: string | null;
  access: string;
  template: string;
  attrib: string;
  data: string;
  tags: string;
  /** JSON text: the list's item-attribute definitions [{name, data}] */
  attributes: string;
  item_count: number;
  active: number;
  created_by: string | null;
  updated_by: string | null;
  created_at: number;
  updated_at: number;
}

export interface AyonEntityListItemsTable {
  seq: Generated<number>;
  project_name: string;
  id: string;
  list_id: string;
  entity_id: string;
  position: number;
  label: string | null;
  attrib: string;
  data: string;
  tags: string;
  folder_path: string;
  created_by: string | null;
  updated_by: string | null;
  created_at: number;
  updated_at: number;
}

export interface AyonEntityListTables {
  ayon_entity_list_folders: AyonEntityListFoldersTable;
  ayon_entity_lists: AyonEntityListsTable;
  ayon_entity_list_items: AyonEntityListItemsTable;
}
