/** Row types of the AYON activities: comments, references, reactions, watchers, categories, suggestions, files tables (migration 0012_ayon_activities). */

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface AyonActivityTables {}
