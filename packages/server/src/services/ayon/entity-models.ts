/**
 * The six hierarchy entity types: table names, how a stored row becomes the REST model, and how
 * effective attributes are computed (ayon.md §6.2, §6.4). Pure functions over rows.
 *
 * Attribute inheritance: folders store their own values (`attrib`) and `inherited`, the merged own
 * values of their ancestors (inheritable attributes only). Effective folder attributes are
 * project ⊕ inherited ⊕ own; a task's are project ⊕ folder.inherited ⊕ folder own ⊕ task own. Other
 * entity types do not inherit.
 */
import type { EntityType } from './rules.js';
import { isoTime, parseJson } from './rules.js';
import type { AttributeDef } from './attributes.js';

export const TABLES = {
  folder: 'ayon_folders',
  task: 'ayon_tasks',
  product: 'ayon_products',
  version: 'ayon_versions',
  representation: 'ayon_representations',
  workfile: 'ayon_workfiles',
} as const;

export type Row = Record<string, any>;

/** Context needed to compute effective attributes. */
export interface AttribContext {
  projectAttrib: Record<string, unknown>;
  inheritable: Set<string>;
  /** attribute definitions in scope of the entity type */
  defs: Map<string, AttributeDef>;
}

export function pickInheritable(attrib: Record<string, unknown>, inheritable: Set<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(attrib)) if (inheritable.has(k) && v !== null && v !== undefined) out[k] = v;
  return out;
}

/** Inherited values a child of `folder` gets (its inherited ⊕ its own inheritable values). */
export function inheritedForChildOf(folder: Row | null, inheritable: Set<string>): Record<string, unknown> {
  if (!folder) return {};
  return { ...parseJson<Record<string, unknown>>(folder.inherited, {}), ...pickInheritable(parseJson(folder.attrib, {}), inheritable) };
}

/**
 * Effective attributes of an entity, restricted to attributes in scope. `inherited`: for folders the
 * row's `inherited`, for tasks the parent folder's inherited ⊕ own; undefined for types that do not inherit.
 */
export function effectiveAttrib(own: Record<string, unknown>, inherited: Record<string, unknown> | undefined, ctx: AttribContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of ctx.defs.keys()) {
    let v = own[name];
    if ((v === undefined || v === null) && inherited !== undefined && ctx.inheritable.has(name)) {
      v = inherited[name];
      if (v === undefined || v === null) v = ctx.projectAttrib[name];
    }
    if (v !== undefined && v !== null) out[name] = v;
  }
  return out;
}

export interface EntityReadExtras {
  /** folder rows: parent folder inherited values are in the row itself */
  folderInherited?: Record<string, unknown>;
  /** tasks: folder path; products: folder path; versions: folder path + product name … */
  parentPath?: string;
  hasVersions?: boolean;
}

/** Own attributes of a row, filtered to attributes still in the schema. */
export function ownAttrib(row: Row, defs: Map<string, AttributeDef>): Record<string, unknown> {
  const own = parseJson<Record<string, unknown>>(row.attrib, {});
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(own)) if (defs.has(k) && v !== null && v !== undefined) out[k] = v;
  return out;
}

function common(row: Row) {
  return {
    id: row.id as string,
    status: row.status as string,
    tags: parseJson<string[]>(row.tags, []),
    data: parseJson<Record<string, unknown>>(row.data, {}),
    active: row.active === 1 || row.active === true,
    createdBy: (row.created_by as string | null) ?? null,
    updatedBy: (row.updated_by as string | null) ?? null,
    createdAt: isoTime(row.created_at),
    updatedAt: isoTime(row.updated_at),
  };
}

/** The REST model of an entity (GET /api/projects/{p}/{type}s/{id}). */
export function restModel(type: EntityType, row: Row, ctx: AttribContext, extras: EntityReadExtras & { taskFolder?: Row | null }): Record<string, unknown> {
  const own = ownAttrib(row, ctx.defs);
  const c = common(row);
  switch (type) {
    case 'folder': {
      const attrib = effectiveAttrib(own, parseJson(row.inherited, {}), ctx);
      return {
        id: c.id,
        name: row.name,
        label: row.label ?? null,
        folderType: row.folder_type,
        parentId: row.parent_id ?? null,
        thumbnailId: row.thumbnail_id ?? null,
        path: `/${row.path}`,
        status: c.status,
        tags: c.tags,
        attrib,
        data: c.data,
        active: c.active,
        ownAttrib: Object.keys(own),
        hasVersions: extras.hasVersions ?? false,
        createdBy: c.createdBy,
        updatedBy: c.updatedBy,
        createdAt: c.createdAt,
        updatedAt: c.updatedAt,
      };
    }
    case 'task': {
      const attrib = effectiveAttrib(own, inheritedForChildOf(extras.taskFolder ?? null, ctx.inheritable), ctx);
      return {
        id: c.id,
        name: row.name,
        label: row.label ?? null,
        taskType: row.task_type,
        folderId: row.folder_id,
        assignees: parseJson<string[]>(row.assignees, []),
        thumbnailId: row.thumbnail_id ?? null,
        path: extras.parentPath !== undefined ? `/${extras.parentPath}/${row.name}` : undefined,
        status: c.status,
        tags: c.tags,
        attrib,
        data: c.data,
        active: c.active,
        ownAttrib: Object.keys(own),
        createdBy: c.createdBy,
        updatedBy: c.updatedBy,
        createdAt: c.createdAt,
        updatedAt: c.updatedAt,
      };
    }
    case 'product':
      return {
        id: c.id,
        name: row.name,
        folderId: row.folder_id,
        productType: row.product_type,
        ...(row.product_base_type ? { productBaseType: row.product_base_type } : {}),
        path: extras.parentPath !== undefined ? `/${extras.parentPath}/${row.name}` : undefined,
        status: c.status,
        tags: c.tags,
        attrib: own,
        data: c.data,
        active: c.active,
        ownAttrib: Object.keys(own),
        createdBy: c.createdBy,
        updatedBy: c.updatedBy,
        createdAt: c.createdAt,
        updatedAt: c.updatedAt,
      };
    case 'version':
      return {
        id: c.id,
        version: row.version,
        productId: row.product_id,
        taskId: row.task_id ?? null,
        thumbnailId: row.thumbnail_id ?? null,
        author: row.author ?? null,
        path: extras.parentPath !== undefined ? `/${extras.parentPath}/${versionLabel(row.version)}` : undefined,
        status: c.status,
        tags: c.tags,
        attrib: own,
        data: c.data,
        active: c.active,
        ownAttrib: Object.keys(own),
        createdBy: c.createdBy,
        updatedBy: c.updatedBy,
        createdAt: c.createdAt,
        updatedAt: c.updatedAt,
      };
    case 'representation':
      return {
        id: c.id,
        name: row.name,
        versionId: row.version_id,
        files: parseJson<unknown[]>(row.files, []),
        traits: row.traits === null || row.traits === undefined ? null : parseJson(row.traits, null),
        path: extras.parentPath !== undefined ? `/${extras.parentPath}/${row.name}` : undefined,
        status: c.status,
        tags: c.tags,
        attrib: own,
        data: c.data,
        active: c.active,
        ownAttrib: Object.keys(own),
        createdBy: c.createdBy,
        updatedBy: c.updatedBy,
        createdAt: c.createdAt,
        updatedAt: c.updatedAt,
      };
    case 'workfile':
      return {
        id: c.id,
        path: row.path,
        name: workfileName(row.path),
        taskId: row.task_id,
        thumbnailId: row.thumbnail_id ?? null,
        status: c.status,
        tags: c.tags,
        attrib: own,
        data: c.data,
        active: c.active,
        ownAttrib: Object.keys(own),
        createdBy: c.createdBy,
        updatedBy: c.updatedBy,
        createdAt: c.createdAt,
        updatedAt: c.updatedAt,
      };
  }
}

export const versionLabel = (v: number) => (v < 0 ? 'HERO' : `v${String(v).padStart(3, '0')}`);
export const workfileName = (path: string) => path.split(/[\\/]/).pop() ?? path;
