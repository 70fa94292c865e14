/**
 * Reads of the hierarchy (what GraphQL and the REST getters ask): filtered, keyset-paged lists of
 * each entity type, and batch lookups by id used to resolve parents and computed fields without
 * one query per node.
 *
 * Paging follows AYON (ayon.md §8.2–8.3): rows in creation order (`seq`); `first/after` ascending,
 * `last/before` newest first with `endCursor` on the oldest edge (so `before: endCursor` continues);
 * `hasNextPage`/`hasPreviousPage` exact (one extra row is read). Filters that SQL cannot express
 * portably (regular expressions, QueryFilter over merged attributes) run in memory over chunks, and
 * the page is filled from the next chunk when needed.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Store } from '../../store/db.js';
import { badRequest } from './errors.js';
import { jsonListLike, normalizeId, type EntityType } from './rules.js';
import { TABLES, type Row } from './entity-models.js';
import { evaluateFilter, type QueryFilter } from './query-filter.js';

/** an always-false condition: `in ()` of an empty list (a NUL placeholder value is refused by PostgreSQL) */
const NOTHING = sql<boolean>`1 = 0`;

export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

export interface Page<T = Row> {
  rows: T[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 5000;

export const encodeCursor = (seq: number) => Buffer.from(JSON.stringify([Number(seq)])).toString('base64');
export function decodeCursor(c: string | null | undefined): number | null {
  if (c === null || c === undefined || c === '') return null;
  try {
    const v = JSON.parse(Buffer.from(c, 'base64').toString('utf8'));
    if (Array.isArray(v) && typeof v[0] === 'number' && Number.isInteger(v[0])) return v[0];
  } catch {
    /* fall through */
  }
  throw badRequest('Invalid cursor');
}

export type HasLinks = 'NONE' | 'IN' | 'OUT' | 'ANY' | 'BOTH';

export interface EntityFilter {
  ids?: string[] | null;
  names?: string[] | null;
  statuses?: string[] | null;
  tags?: string[] | null;
  hasLinks?: HasLinks | null;
  /** in-memory predicate applied after SQL (regex filters, QueryFilter) */
  predicate?: ((row: Row) => boolean) | null;
  /** called with every chunk of rows before `predicate` (to batch-load what the predicate needs) */
  prepare?: ((rows: Row[]) => Promise<void>) | null;
  // folders
  parentIds?: string[] | null;
  paths?: string[] | null;
  folderTypes?: string[] | null;
  hasProducts?: boolean | null;
  hasTasks?: boolean | null;
  hasChildren?: boolean | null;
  folderAssignees?: string[] | null;
  // tasks
  taskTypes?: string[] | null;
  folderIds?: string[] | null;
  assignees?: string[] | null;
  assigneesAny?: string[] | null;
  // products
  productTypes?: string[] | null;
  productBaseTypes?: string[] | null;
  // versions
  productIds?: string[] | null;
  taskIds?: string[] | null;
  versions?: number[] | null;
  heroOnly?: boolean | null;
  latestOnly?: boolean | null;
  heroOrLatestOnly?: boolean | null;
  // representations
  versionIds?: string[] | null;
  // workfiles
  workfilePaths?: string[] | null;
}

const idList = (l: string[]) => l.map((x) => normalizeId(x) ?? x);

export function createQueries(store: Store) {
  const db = store.db as unknown as Kysely<any>;

  function applyFilter(type: EntityType, q: any, f: EntityFilter, project: string) {
    const t = 'e';
    const exists = (table: string, col: string, extra?: (sub: any) => any) => {
      let sub = db.selectFrom(`${table} as x`).select(sql.lit(1).as('one')).where('x.project_name', '=', project).whereRef(`x.${col}`, '=', `${t}.id`);
      if (extra) sub = extra(sub);
      return sub;
    };
    if (f.ids) q = q.where(`${t}.id`, 'in', f.ids.length ? idList(f.ids) : ['']);
    if (f.names) {
      if (type === 'workfile') q = f.names.length ? q.where(`${t}.path`, 'in', f.names) : q.where(NOTHING);
      else q = f.names.length ? q.where(`${t}.name`, 'in', f.names) : q.where(NOTHING);
    }
    if (f.statuses) q = f.statuses.length ? q.where(`${t}.status`, 'in', f.statuses) : q.where(NOTHING);
    if (f.tags?.length) for (const tag of f.tags) q = q.where(sql`${sql.ref(`${t}.tags`)} LIKE ${jsonListLike(tag)} ESCAPE '!'`);
    if (f.hasLinks) {
      const inbound = db.selectFrom('ayon_links as l').select(sql.lit(1).as('one')).where('l.project_name', '=', project).whereRef('l.output_id', '=', `${t}.id`);
      const outbound = db.selectFrom('ayon_links as l').select(sql.lit(1).as('one')).where('l.project_name', '=', project).whereRef('l.input_id', '=', `${t}.id`);
      q = q.where((eb: any) => {
        switch (f.hasLinks) {
          case 'IN':
            return eb.exists(inbound);
          case 'OUT':
            return eb.exists(outbound);
          case 'ANY':
            return eb.or([eb.exists(inbound), eb.exists(outbound)]);
          case 'BOTH':
            return eb.and([eb.exists(inbound), eb.exists(outbound)]);
          default:
            return eb.and([eb.not(eb.exists(inbound)), eb.not(eb.exists(outbound))]);
        }
      });
    }
    switch (type) {
      case 'folder':
        if (f.parentIds) {
          const keys = f.parentIds.map((p) => (p === 'root' || p === null ? '' : normalizeId(p) ?? p));
          q = keys.length ? q.where(`${t}.parent_key`, 'in', keys) : q.where(NOTHING);
        }
        if (f.paths) {
          const paths = f.paths.map((p) => p.replace(/^\/+|\/+$/g, ''));
          q = paths.length ? q.where(`${t}.path`, 'in', paths) : q.where(NOTHING);
        }
        if (f.folderTypes) q = f.folderTypes.length ? q.where(`${t}.folder_type`, 'in', f.folderTypes) : q.where(NOTHING);
        if (f.hasProducts !== undefined && f.hasProducts !== null)
          q = q.where((eb: any) => (f.hasProducts ? eb.exists(exists('ayon_products', 'folder_id')) : eb.not(eb.exists(exists('ayon_products', 'folder_id')))));
        if (f.hasTasks !== undefined && f.hasTasks !== null)
          q = q.where((eb: any) => (f.hasTasks ? eb.exists(exists('ayon_tasks', 'folder_id')) : eb.not(eb.exists(exists('ayon_tasks', 'folder_id')))));
        if (f.hasChildren !== undefined && f.hasChildren !== null)
          q = q.where((eb: any) => (f.hasChildren ? eb.exists(exists('ayon_folders', 'parent_key')) : eb.not(eb.exists(exists('ayon_folders', 'parent_key')))));
        if (f.folderAssignees?.length) {
          q = q.where((eb: any) =>
            eb.exists(
              exists('ayon_tasks', 'folder_id', (sub: any) => {
                for (const a of f.folderAssignees!) sub = sub.where(sql`x.assignees LIKE ${jsonListLike(a)} ESCAPE '!'`);
                return sub;
              }),
            ),
          );
        }
        break;
      case 'task':
        if (f.taskTypes) q = f.taskTypes.length ? q.where(`${t}.task_type`, 'in', f.taskTypes) : q.where(NOTHING);
        if (f.folderIds) q = q.where(`${t}.folder_id`, 'in', f.folderIds.length ? idList(f.folderIds) : ['']);
        if (f.assignees?.length) for (const a of f.assignees) q = q.where(sql`${sql.ref(`${t}.assignees`)} LIKE ${jsonListLike(a)} ESCAPE '!'`);
        if (f.assigneesAny?.length)
          q = q.where((eb: any) => eb.or(f.assigneesAny!.map((a) => sql<boolean>`${sql.ref(`${t}.assignees`)} LIKE ${jsonListLike(a)} ESCAPE '!'`)));
        break;
      case 'product':
        if (f.folderIds) q = q.where(`${t}.folder_id`, 'in', f.folderIds.length ? idList(f.folderIds) : ['']);
        if (f.productTypes) q = f.productTypes.length ? q.where(`${t}.product_type`, 'in', f.productTypes) : q.where(NOTHING);
        if (f.productBaseTypes) q = f.productBaseTypes.length ? q.where(`${t}.product_base_type`, 'in', f.productBaseTypes) : q.where(NOTHING);
        break;
      case 'version': {
        if (f.productIds) q = q.where(`${t}.product_id`, 'in', f.productIds.length ? idList(f.productIds) : ['']);
        if (f.taskIds) q = q.where(`${t}.task_id`, 'in', f.taskIds.length ? idList(f.taskIds) : ['']);
        if (f.versions) q = q.where(`${t}.version`, 'in', f.versions.length ? f.versions : [Number.MIN_SAFE_INTEGER]);
        const latest = sql<boolean>`${sql.ref(`${t}.version`)} = (SELECT MAX(v2.version) FROM ayon_versions v2 WHERE v2.project_name = ${sql.ref(`${t}.project_name`)} AND v2.product_id = ${sql.ref(`${t}.product_id`)} AND v2.version >= 0)`;
        if (f.heroOrLatestOnly) q = q.where((eb: any) => eb.or([eb(`${t}.version`, '<', 0), latest]));
        else if (f.heroOnly) q = q.where(`${t}.version`, '<', 0);
        else if (f.latestOnly) q = q.where(latest);
        break;
      }
      case 'representation':
        if (f.versionIds) q = q.where(`${t}.version_id`, 'in', f.versionIds.length ? idList(f.versionIds) : ['']);
        break;
      case 'workfile':
        if (f.taskIds) q = q.where(`${t}.task_id`, 'in', f.taskIds.length ? idList(f.taskIds) : ['']);
        if (f.workfilePaths) q = f.workfilePaths.length ? q.where(`${t}.path`, 'in', f.workfilePaths) : q.where(NOTHING);
        break;
    }
    return q;
  }

  /** One page of entities of `type` in `project`. */
  async function list(type: EntityType, project: string, f: EntityFilter, page: PageArgs): Promise<Page> {
    const desc = page.last !== undefined && page.last !== null && (page.first === undefined || page.first === null);
    let size = desc ? page.last! : page.first ?? DEFAULT_PAGE;
    if (!Number.isInteger(size) || size < 0) throw badRequest('first/last must be a non-negative integer');
    size = Math.min(size, MAX_PAGE);
    const cursor = decodeCursor(desc ? page.before : page.after);
    const want = size + 1;
    const out: Row[] = [];
    let from = cursor;
    const chunk = f.predicate ? Math.max(want, 1000) : want;
    let exhausted = false;
    while (out.length < want && !exhausted) {
      let q = db.selectFrom(`${TABLES[type]} as e`).selectAll('e').where('e.project_name', '=', project);
      q = applyFilter(type, q, f, project);
      if (from !== null) q = q.where('e.seq', desc ? '<' : '>', from);
      const rows = (await q.orderBy('e.seq', desc ? 'desc' : 'asc').limit(chunk).execute()) as Row[];
      if (rows.length < chunk) exhausted = true;
      if (rows.length) from = Number(rows[rows.length - 1].seq);
      if (f.predicate && f.prepare && rows.length) await f.prepare(rows);
      for (const r of rows) {
        if (f.predicate && !f.predicate(r)) continue;
        out.push(r);
        if (out.length >= want) break;
      }
      if (!f.predicate) break;
    }
    const more = out.length > size;
    const rows = out.slice(0, size);
    const first = rows[0];
    const last = rows[rows.length - 1];
    return {
      rows,
      hasNextPage: desc ? cursor !== null : more,
      hasPreviousPage: desc ? more : cursor !== null,
      startCursor: first ? encodeCursor(first.seq) : null,
      endCursor: last ? encodeCursor(last.seq) : null,
    };
  }

  /** Rows by id (for loaders), as a map. */
  async function byIds(type: EntityType, project: string, ids: string[]): Promise<Map<string, Row>> {
    const out = new Map<string, Row>();
    const uniq = [...new Set(ids)];
    for (let i = 0; i < uniq.length; i += 500) {
      const rows = await db.selectFrom(TABLES[type]).selectAll().where('project_name', '=', project).where('id', 'in', uniq.slice(i, i + 500)).execute();
      for (const r of rows) out.set(r.id, r);
    }
    return out;
  }

  /** Counts of children per parent id: `childCol` in `table` grouped. */
  async function countBy(table: string, childCol: string, project: string, ids: string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    const uniq = [...new Set(ids)];
    for (let i = 0; i < uniq.length; i += 500) {
      const rows = await db
        .selectFrom(table)
        .select([childCol, (eb: any) => eb.fn.countAll().as('n')])
        .where('project_name', '=', project)
        .where(childCol, 'in', uniq.slice(i, i + 500))
        .groupBy(childCol)
        .execute();
      for (const r of rows) out.set(r[childCol], Number(r.n));
    }
    return out;
  }

  /** Folder ids (of `ids`) that have at least one version through their products. */
  async function foldersWithVersions(project: string, ids: string[]): Promise<Set<string>> {
    const out = new Set<string>();
    const uniq = [...new Set(ids)];
    for (let i = 0; i < uniq.length; i += 500) {
      const rows = await db
        .selectFrom('ayon_products as p')
        .innerJoin('ayon_versions as v', (j: any) => j.onRef('v.product_id', '=', 'p.id').onRef('v.project_name', '=', 'p.project_name'))
        .select('p.folder_id')
        .distinct()
        .where('p.project_name', '=', project)
        .where('p.folder_id', 'in', uniq.slice(i, i + 500))
        .execute();
      for (const r of rows) out.add(r.folder_id);
    }
    return out;
  }

  /** Latest (highest non-negative) version row per product. */
  async function latestVersions(project: string, productIds: string[]): Promise<Map<string, Row>> {
    const out = new Map<string, Row>();
    const uniq = [...new Set(productIds)];
    for (let i = 0; i < uniq.length; i += 500) {
      const part = uniq.slice(i, i + 500);
      const rows = await db
        .selectFrom('ayon_versions as e')
        .selectAll('e')
        .where('e.project_name', '=', project)
        .where('e.product_id', 'in', part)
        .where(
          sql<boolean>`e.version = (SELECT MAX(v2.version) FROM ayon_versions v2 WHERE v2.project_name = e.project_name AND v2.product_id = e.product_id AND v2.version >= 0)`,
        )
        .execute();
      for (const r of rows) out.set(r.product_id, r);
    }
    return out;
  }

  /** Links of entities, with the other side; direction 'in' = the entity is the link's output. */
  async function linksOf(project: string, ids: string[], opts: { direction?: string | null; linkTypes?: string[] | null; names?: string[] | null }) {
    const out: Row[] = [];
    const uniq = [...new Set(ids)];
    for (let i = 0; i < uniq.length; i += 500) {
      const part = uniq.slice(i, i + 500);
      let q = db.selectFrom('ayon_links').selectAll().where('project_name', '=', project);
      if (opts.direction === 'in') q = q.where('output_id', 'in', part);
      else if (opts.direction === 'out') q = q.where('input_id', 'in', part);
      else q = q.where((eb: any) => eb.or([eb('input_id', 'in', part), eb('output_id', 'in', part)]));
      if (opts.names) q = opts.names.length ? q.where('name', 'in', opts.names) : q.where(NOTHING);
      if (opts.linkTypes) {
        const lts = opts.linkTypes;
        q = q.where((eb: any) => eb.or(lts.map((lt) => (lt.includes('|') ? eb('link_type', '=', lt) : eb('link_type', 'like', `${lt.replace(/[!%_]/g, (c) => `!${c}`)}|%`)))));
      }
      out.push(...((await q.orderBy('seq').execute()) as Row[]));
    }
    return out;
  }

  /** Folder rows of a project, for the flat REST list and hierarchy (one query each). */
  async function allFolders(project: string): Promise<Row[]> {
    return (await db.selectFrom('ayon_folders').selectAll().where('project_name', '=', project).orderBy('seq').execute()) as Row[];
  }

  async function taskNamesByFolder(project: string): Promise<Map<string, string[]>> {
    const rows = await db.selectFrom('ayon_tasks').select(['folder_id', 'name']).where('project_name', '=', project).orderBy('seq').execute();
    const out = new Map<string, string[]>();
    for (const r of rows) {
      const l = out.get(r.folder_id) ?? [];
      l.push(r.name);
      out.set(r.folder_id, l);
    }
    return out;
  }

  async function distinctColumn(table: string, column: string, project: string): Promise<Set<string>> {
    const rows = await db.selectFrom(table).select(column).distinct().where('project_name', '=', project).execute();
    return new Set(rows.map((r) => r[column]));
  }

  async function usedTags(project: string): Promise<string[]> {
    const tags = new Set<string>();
    for (const table of Object.values(TABLES)) {
      const rows = await db.selectFrom(table).select('tags').distinct().where('project_name', '=', project).where('tags', '!=', '[]').execute();
      for (const r of rows) for (const t of JSON.parse(r.tags) as string[]) tags.add(t);
    }
    return [...tags].sort();
  }

  return { list, byIds, countBy, foldersWithVersions, latestVersions, linksOf, allFolders, taskNamesByFolder, distinctColumn, usedTags };
}

export type Queries = ReturnType<typeof createQueries>;
export { evaluateFilter, type QueryFilter };
