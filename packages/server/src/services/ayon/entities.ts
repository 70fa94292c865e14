/**
 * Entity reads and writes for the REST face: GET one entity (REST model), the flat folder list, the
 * folder hierarchy, and create/update/delete as one-operation batches through the operations engine.
 */
import type { Store } from '../../store/db.js';
import { notFound } from './errors.js';
import { isPlainObject, newAyonId, normalizeId, parseJson, type EntityType } from './rules.js';
import { restModel, versionLabel, type AttribContext, type Row } from './entity-models.js';
import type { AttributesService } from './attributes.js';
import type { AyonProjectsService, Project } from './projects.js';
import type { AyonActor } from './users.js';
import type { OperationsService, RunOptions } from './operations.js';
import type { Queries } from './queries.js';

export function createEntitiesService(deps: { store: Store; attributes: AttributesService; projects: AyonProjectsService; operations: OperationsService; queries: Queries }) {
  const { attributes, projects, operations, queries } = deps;

  async function attribContext(project: Project, type: EntityType): Promise<AttribContext> {
    return { projectAttrib: project.attrib, inheritable: await attributes.inheritable(), defs: await attributes.forScope(type) };
  }

  async function one(type: EntityType, project: string, id: string): Promise<Row | null> {
    return (await queries.byIds(type, project, [id])).get(id) ?? null;
  }

  /** GET /api/projects/{p}/{type}s/{id}. */
  async function get(actor: AyonActor, projectName: string, type: EntityType, idRaw: string) {
    const project = await projects.resolve(actor, projectName);
    const id = normalizeId(idRaw);
    const row = id ? await one(type, project.name, id) : null;
    if (!row) throw notFound(`${type.charAt(0).toUpperCase() + type.slice(1)} ${idRaw} not found`);
    const ctx = await attribContext(project, type);
    const p = project.name;
    switch (type) {
      case 'folder': {
        const hv = await queries.foldersWithVersions(p, [row.id]);
        return restModel(type, row, ctx, { hasVersions: hv.has(row.id) });
      }
      case 'task': {
        const folder = await one('folder', p, row.folder_id);
        return restModel(type, row, ctx, { taskFolder: folder, parentPath: folder?.path });
      }
      case 'product': {
        const folder = await one('folder', p, row.folder_id);
        return restModel(type, row, ctx, { parentPath: folder?.path });
      }
      case 'version': {
        const product = await one('product', p, row.product_id);
        const folder = product ? await one('folder', p, product.folder_id) : null;
        return restModel(type, row, ctx, { parentPath: `${folder?.path ?? ''}/${product?.name ?? ''}` });
      }
      case 'representation': {
        const version = await one('version', p, row.version_id);
        const product = version ? await one('product', p, version.product_id) : null;
        const folder = product ? await one('folder', p, product.folder_id) : null;
        return restModel(type, row, ctx, { parentPath: `${folder?.path ?? ''}/${product?.name ?? ''}/${version ? versionLabel(version.version) : ''}` });
      }
      case 'workfile':
        return restModel(type, row, ctx, {});
    }
  }

  /** POST /api/projects/{p}/{type}s → the new id (201). */
  async function create(actor: AyonActor, project: string, type: EntityType, body: Record<string, unknown>, opts: RunOptions = {}) {
    const entityId = body.id !== undefined && body.id !== null ? body.id : undefined;
    const ops = operations.parseOperations([{ id: newAyonId(), type: 'create', entityType: type, entityId, data: body }]);
    const res = await operations.run(actor, project, ops, { ...opts, raiseOnError: true });
    return res.operations[0].entityId!;
  }

  async function update(actor: AyonActor, project: string, type: EntityType, id: string, body: Record<string, unknown>, opts: RunOptions = {}) {
    const ops = operations.parseOperations([{ id: newAyonId(), type: 'update', entityType: type, entityId: id, data: body }]);
    await operations.run(actor, project, ops, { ...opts, raiseOnError: true });
  }

  async function remove(actor: AyonActor, project: string, type: EntityType, id: string, force: boolean, opts: RunOptions = {}) {
    const ops = operations.parseOperations([{ id: newAyonId(), type: 'delete', entityType: type, entityId: id, force }]);
    await operations.run(actor, project, ops, { ...opts, raiseOnError: true });
  }

  /** GET /api/projects/{p}/folders: every folder, flat (ayon.md §6.5). */
  async function folderList(actor: AyonActor, projectName: string, includeAttrib: boolean) {
    const project = await projects.resolve(actor, projectName);
    const p = project.name;
    const rows = await queries.allFolders(p);
    const taskNames = await queries.taskNamesByFolder(p);
    const withChildren = new Set(rows.filter((r) => r.parent_id).map((r) => r.parent_id as string));
    const withProducts = await queries.distinctColumn('ayon_products', 'folder_id', p);
    const withVersions = await queries.foldersWithVersions(p, [...withProducts]);
    const ctx = includeAttrib ? await attribContext(project, 'folder') : null;
    return {
      folders: rows.map((r) => {
        const path = r.path as string;
        const out: Record<string, unknown> = {
          id: r.id,
          path,
          parentId: r.parent_id ?? null,
          parents: path.split('/').slice(0, -1),
          name: r.name,
          label: r.label ?? null,
          folderType: r.folder_type,
          hasTasks: taskNames.has(r.id),
          hasChildren: withChildren.has(r.id),
          hasReviewables: false,
          hasVersions: withVersions.has(r.id),
          taskNames: taskNames.get(r.id) ?? [],
          status: r.status,
          tags: parseJson(r.tags, []),
          thumbnailId: r.thumbnail_id ?? null,
          thumbnailHash: (parseJson<Record<string, unknown>>(r.data, {}).thumbnailHash as string | undefined) ?? null,
          active: r.active === 1,
          createdAt: new Date(Number(r.created_at)).toISOString().replace('Z', '+00:00'),
          updatedAt: new Date(Number(r.updated_at)).toISOString().replace('Z', '+00:00'),
        };
        if (ctx) {
          const rest = restModel('folder', r, ctx, {});
          out.attrib = rest.attrib;
          out.ownAttrib = rest.ownAttrib;
        }
        return out;
      }),
    };
  }

  /** GET /api/projects/{p}/hierarchy?search=&types=a,b: a nested tree of folders. */
  async function hierarchy(actor: AyonActor, projectName: string, search?: string, types?: string) {
    const project = await projects.resolve(actor, projectName);
    const p = project.name;
    const rows = await queries.allFolders(p);
    const taskNames = await queries.taskNamesByFolder(p);
    const typeSet = types ? new Set(types.split(',').map((t) => t.trim()).filter(Boolean)) : null;
    const s = search?.toLowerCase();
    const nodes = new Map<string, Record<string, unknown> & { children: unknown[] }>();
    for (const r of rows) {
      nodes.set(r.id, {
        id: r.id,
        name: r.name,
        label: r.label ?? r.name,
        status: r.status,
        folderType: r.folder_type,
        hasTasks: taskNames.has(r.id),
        taskNames: taskNames.get(r.id) ?? [],
        parents: (r.path as string).split('/').slice(0, -1),
        parentId: r.parent_id ?? null,
        children: [],
      });
    }
    const matches = (r: Row) => (!typeSet || typeSet.has(r.folder_type)) && (!s || (r.path as string).toLowerCase().includes(s) || (r.label ?? '').toLowerCase().includes(s));
    const keep = new Set<string>();
    const byId = new Map(rows.map((r) => [r.id as string, r]));
    for (const r of rows) {
      if (!matches(r)) continue;
      let cur: Row | undefined = r;
      while (cur && !keep.has(cur.id)) {
        keep.add(cur.id);
        cur = cur.parent_id ? byId.get(cur.parent_id) : undefined;
      }
    }
    const roots: unknown[] = [];
    for (const r of rows) {
      if (!keep.has(r.id)) continue;
      const n = nodes.get(r.id)!;
      if (r.parent_id && nodes.has(r.parent_id)) nodes.get(r.parent_id)!.children.push(n);
      else roots.push(n);
    }
    const sortTree = (list: unknown[]) => {
      (list as Array<{ name: string; children: unknown[] }>).sort((a, b) => a.name.localeCompare(b.name));
      for (const n of list as Array<{ children: unknown[] }>) sortTree(n.children);
    };
    sortTree(roots);
    return { detail: `Hierarchy loaded`, projectName: p, hierarchy: roots };
  }

  return { get, create, update, remove, folderList, hierarchy, attribContext };
}

export type EntitiesService = ReturnType<typeof createEntitiesService>;
export { isPlainObject };
