/** Row types of the AYON activities tables (migration 0012_ayon_activities). */
import type { Generated } from 'kysely';

export interface AyonActivitiesTable {
  seq: Generated<number>;
  project_name: string;
  id: string;
  activity_type: string;
  body: string;
  /** JSON list of strings */
  tags: string;
  /** JSON object: origin, parents, author, files, reactions, watcher, category … */
  data: string;
  author: string | null;
  category: string | null;
  created_at: number;
  updated_at: number;
}

export interface AyonActivityRefsTable {
  seq: Generated<number>;
  project_name: string;
  id: string;
  activity_id: string;
  reference_type: string;
  entity_type: string;
  entity_id: string | null;
  entity_name: string | null;
  /** entity_id ?? entity_name: one reference per referenced thing per activity */
  ref_key: string;
  active: number;
  data: string;
  created_at: number;
  updated_at: number;
}

export interface AyonActivityTables {
  ayon_activities: AyonActivitiesTable;
  ayon_activity_refs: AyonActivityRefsTable;
}
