/**
 * Thumbnails, project files and reviewables (ayon.md §6.6–6.7). Bytes live in the blob store under
 * random keys (`ayon/thumbnails/<32hex>`, `ayon/files/<32hex>`): client file names never become keys.
 * The database keeps metadata only.
 */
import { Readable } from 'node:stream';
import { sql } from 'kysely';
import type { Store } from '../../store/db.js';
import type { BlobStore, BlobRead } from '../../store/blobs/index.js';
import { BlobTooLargeError } from '../../store/blobs/index.js';
import { AyonError, badRequest, conflict, forbidden, notFound } from './errors.js';
import { isoTime, newAyonId, normalizeId, parseJson, type EntityType } from './rules.js';
import { TABLES } from './entity-models.js';
import type { AyonProjectsService } from './projects.js';
import type { AyonActor } from './users.js';
import type { AccessPolicy } from './access.js';
import type { EntitiesService } from './entities.js';

/** an always-false condition: `in ()` of an empty list (a NUL placeholder value is refused by PostgreSQL) */
const NOTHING = sql<boolean>`1 = 0`;

export const THUMBNAIL_TYPES = ['image/png', 'image/jpeg'];

/** 1×1 transparent PNG, sent with 203 when an entity has no thumbnail. */
export const PLACEHOLDER_PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' + '1f15c4890000000d4944415478da63fcffff3f0300050601025ea3fa710000000049454e44ae426082',
  'hex',
);

function sniff(head: Buffer): 'image/png' | 'image/jpeg' | null {
  if (head.length >= 8 && head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'image/jpeg';
  return null;
}

/** A file name the client gave (x-file-name): a plain name, no directories or tricks. */
export function checkFileName(name: unknown): string {
  if (typeof name !== 'string') throw badRequest('Missing file name (x-file-name header)');
  let n = name;
  try {
    n = decodeURIComponent(name);
  } catch {
    /* keep as given */
  }
  n = n.normalize('NFC');
  if (!n || n.length > 255) throw badRequest('Invalid file name');
  if (/[\u0000-\u001f\u007f/\\]/.test(n) || n === '.' || n === '..' || n.startsWith('..') || /^[a-zA-Z]:/.test(n))
    throw badRequest('Invalid file name: it must not contain path separators or control characters');
  return n;
}

export interface StoredBlob {
  read: BlobRead;
  mime: string;
  size: number;
}

export function createMediaService(deps: { store: Store; blobs: BlobStore; projects: AyonProjectsService; access: AccessPolicy; entities: EntitiesService; maxUploadBytes: number }) {
  const { store, blobs, projects, access, entities, maxUploadBytes } = deps;
  const { db } = store;

  /** Reads the first bytes to check the declared image type, then stores the whole body. */
  async function storeImage(body: NodeJS.ReadableStream, mime: string | undefined): Promise<{ key: string; size: number; mime: string }> {
    const declared = (mime ?? '').split(';')[0].trim().toLowerCase();
    if (!THUMBNAIL_TYPES.includes(declared)) {
      (body as Readable).resume?.();
      throw new AyonError(415, 'Thumbnail must be in png or jpeg format');
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of body as AsyncIterable<Buffer>) {
      const b = Buffer.isBuffer(c) ? c : Buffer.from(c);
      size += b.length;
      if (size > maxUploadBytes) throw new AyonError(413, `Thumbnail exceeds the limit of ${maxUploadBytes} bytes`);
      chunks.push(b);
    }
    const buf = Buffer.concat(chunks);
    if (!buf.length) throw badRequest('Missing thumbnail data');
    const actual = sniff(buf.subarray(0, 16));
    if (actual !== declared) throw new AyonError(415, 'Thumbnail must be in png or jpeg format');
    const key = `ayon/thumbnails/${newAyonId()}`;
    await blobs.put(key, buf, { contentType: declared });
    return { key, size: buf.length, mime: declared };
  }

  async function saveThumbnail(project: string, id: string, img: { key: string; size: number; mime: string }) {
    const now = Date.now();
    const old = await db.selectFrom('ayon_thumbnails').select('blob_key').where('project_name', '=', project).where('id', '=', id).executeTakeFirst();
    if (old) {
      await db.updateTable('ayon_thumbnails').set({ mime: img.mime, size: img.size, blob_key: img.key, updated_at: now }).where('project_name', '=', project).where('id', '=', id).execute();
      await blobs.delete(old.blob_key).catch(() => undefined);
    } else {
      await db.insertInto('ayon_thumbnails').values({ project_name: project, id, mime: img.mime, size: img.size, blob_key: img.key, created_at: now, updated_at: now }).execute();
    }
  }

  /** POST …/thumbnails → {id} (server-generated id). */
  async function createThumbnail(actor: AyonActor, projectName: string, mime: string | undefined, body: NodeJS.ReadableStream) {
    const p = await projects.resolve(actor, projectName);
    await access.ensureWrite(actor, p.name);
    const img = await storeImage(body, mime);
    const id = newAyonId();
    await saveThumbnail(p.name, id, img);
    return { id, affectedEntities: null };
  }

  /** PUT …/thumbnails/{id}: create or replace with a given id (managers). */
  async function putThumbnail(actor: AyonActor, projectName: string, idRaw: string, mime: string | undefined, body: NodeJS.ReadableStream) {
    const p = await projects.resolve(actor, projectName);
    access.ensureManager(actor, 'Only managers can update thumbnails by id');
    const id = normalizeId(idRaw);
    if (!id) throw badRequest('Invalid thumbnail id');
    const img = await storeImage(body, mime);
    await saveThumbnail(p.name, id, img);
    return { id, affectedEntities: null };
  }

  async function thumbnailBlob(project: string, id: string): Promise<(StoredBlob & { id: string; updatedAt: number }) | null> {
    const row = await db.selectFrom('ayon_thumbnails').selectAll().where('project_name', '=', project).where('id', '=', id).executeTakeFirst();
    if (!row) return null;
    const read = await blobs.get(row.blob_key);
    if (!read) return null;
    return { read, mime: row.mime, size: read.size, id: row.id, updatedAt: row.updated_at };
  }

  /** GET …/thumbnails/{id} (managers, as AYON). */
  async function getThumbnail(actor: AyonActor, projectName: string, idRaw: string) {
    const p = await projects.resolve(actor, projectName);
    access.ensureManager(actor, 'Only managers can read thumbnails by id');
    const id = normalizeId(idRaw);
    return id ? thumbnailBlob(p.name, id) : null;
  }

  /** GET …/{type}s/{id}/thumbnail: the entity's thumbnail; folders fall back to their latest version's. */
  async function getEntityThumbnail(actor: AyonActor, projectName: string, type: EntityType, idRaw: string) {
    const p = await projects.resolve(actor, projectName);
    const id = normalizeId(idRaw);
    if (!id) throw badRequest('Invalid entity id');
    if (!['folder', 'task', 'version', 'workfile'].includes(type)) throw badRequest(`${type} has no thumbnail`);
    const row = await (db as any).selectFrom(TABLES[type]).select('thumbnail_id').where('project_name', '=', p.name).where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound(`${type} ${id} not found`);
    let tid: string | null = row.thumbnail_id;
    if (!tid && type === 'folder') {
      const v = await db
        .selectFrom('ayon_versions as v')
        .innerJoin('ayon_products as pr', (j) => j.onRef('pr.id', '=', 'v.product_id').onRef('pr.project_name', '=', 'v.project_name'))
        .select('v.thumbnail_id')
        .where('v.project_name', '=', p.name)
        .where('pr.folder_id', '=', id)
        .where('v.thumbnail_id', 'is not', null)
        .orderBy('v.seq', 'desc')
        .limit(1)
        .executeTakeFirst();
      tid = v?.thumbnail_id ?? null;
    }
    return tid ? thumbnailBlob(p.name, tid) : null;
  }

  /** POST …/{type}s/{id}/thumbnail: stores the image and assigns it through the operations engine. */
  async function setEntityThumbnail(actor: AyonActor, projectName: string, type: EntityType, idRaw: string, mime: string | undefined, body: NodeJS.ReadableStream) {
    const p = await projects.resolve(actor, projectName);
    await access.ensureWrite(actor, p.name);
    if (!['folder', 'task', 'version', 'workfile'].includes(type)) throw badRequest(`${type} has no thumbnail`);
    const id = normalizeId(idRaw);
    if (!id) throw badRequest('Invalid entity id');
    const exists = await (db as any).selectFrom(TABLES[type]).select('id').where('project_name', '=', p.name).where('id', '=', id).executeTakeFirst();
    if (!exists) throw notFound(`${type} ${id} not found`);
    const img = await storeImage(body, mime);
    const tid = newAyonId();
    await saveThumbnail(p.name, tid, img);
    await entities.update(actor, p.name, type, id, { thumbnailId: tid });
    return { id: tid };
  }

  async function setProjectThumbnail(actor: AyonActor, projectName: string, mime: string | undefined, body: NodeJS.ReadableStream) {
    const p = await projects.resolve(actor, projectName);
    access.ensureManager(actor, 'Only managers can set the project thumbnail');
    const img = await storeImage(body, mime);
    const tid = newAyonId();
    await saveThumbnail(p.name, tid, img);
    await db.updateTable('ayon_projects').set({ thumbnail_id: tid, updated_at: Date.now() }).where('name', '=', p.name).execute();
    return { id: tid };
  }

  async function getProjectThumbnail(actor: AyonActor, projectName: string) {
    const p = await projects.resolve(actor, projectName);
    return p.thumbnailId ? thumbnailBlob(p.name, p.thumbnailId) : null;
  }

  // ---------------------------------------------------------------- project files

  async function storeFile(body: NodeJS.ReadableStream, mime: string) {
    const key = `ayon/files/${newAyonId()}`;
    try {
      const info = await blobs.put(key, body, { contentType: mime, maxBytes: maxUploadBytes });
      return { key, size: info.size };
    } catch (err) {
      if (err instanceof BlobTooLargeError) throw new AyonError(413, `File exceeds the limit of ${maxUploadBytes} bytes`);
      throw err;
    }
  }

  function cleanMime(mime: string | undefined): string {
    const m = (mime ?? 'application/octet-stream').split(';')[0].trim().toLowerCase();
    if (!/^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/.test(m)) throw badRequest('Invalid content type');
    return m;
  }

  /** POST …/files → {id} (201). The id comes from X-File-ID (or the query), else is generated. */
  async function uploadFile(
    actor: AyonActor,
    projectName: string,
    meta: { fileId?: string; activityId?: string; fileName?: string; mime?: string; contentLength?: number },
    body: NodeJS.ReadableStream,
  ) {
    const p = await projects.resolve(actor, projectName);
    await access.ensureWrite(actor, p.name);
    const filename = checkFileName(meta.fileName);
    const mime = cleanMime(meta.mime);
    if (meta.contentLength !== undefined && meta.contentLength > maxUploadBytes) throw new AyonError(413, `File exceeds the limit of ${maxUploadBytes} bytes`);
    const id = meta.fileId ? normalizeId(meta.fileId) : newAyonId();
    if (!id) throw badRequest('Invalid file id');
    const activityId = meta.activityId ? normalizeId(meta.activityId) : null;
    if (meta.activityId && !activityId) throw badRequest('Invalid activity id');
    const clash = await db.selectFrom('ayon_files').select('id').where('project_name', '=', p.name).where('id', '=', id).executeTakeFirst();
    if (clash) throw conflict(`File ${id} already exists`);
    const { key, size } = await storeFile(body, mime);
    const now = Date.now();
    await db
      .insertInto('ayon_files')
      .values({ project_name: p.name, id, filename, mime, size, blob_key: key, author: actor.name, activity_id: activityId, version_id: null, label: null, created_at: now, updated_at: now })
      .execute();
    return { id };
  }

  async function fileRow(actor: AyonActor, projectName: string, idRaw: string) {
    const p = await projects.resolve(actor, projectName);
    const id = normalizeId(idRaw);
    const row = id ? await db.selectFrom('ayon_files').selectAll().where('project_name', '=', p.name).where('id', '=', id).executeTakeFirst() : undefined;
    if (!row) throw notFound(`File ${idRaw} not found`);
    return row;
  }

  async function fileInfo(actor: AyonActor, projectName: string, idRaw: string) {
    const r = await fileRow(actor, projectName, idRaw);
    return { id: r.id, filename: r.filename, size: r.size, mime: r.mime, author: r.author, activityId: r.activity_id, createdAt: isoTime(r.created_at), updatedAt: isoTime(r.updated_at) };
  }

  /** Opens a file for download; `range` as in HTTP (inclusive). */
  async function openFile(actor: AyonActor, projectName: string, idRaw: string, range?: { start: number; end?: number }) {
    const r = await fileRow(actor, projectName, idRaw);
    const read = await blobs.get(r.blob_key, range);
    if (!read) throw notFound(`File ${idRaw} not found`);
    return { read, row: r };
  }

  async function deleteFile(actor: AyonActor, projectName: string, idRaw: string) {
    const r = await fileRow(actor, projectName, idRaw);
    await access.ensureWrite(actor, r.project_name);
    await db.deleteFrom('ayon_files').where('project_name', '=', r.project_name).where('id', '=', r.id).execute();
    await blobs.delete(r.blob_key).catch(() => undefined);
  }

  // ---------------------------------------------------------------- reviewables

  async function uploadReviewable(actor: AyonActor, projectName: string, versionRaw: string, meta: { fileName?: string; mime?: string; label?: string }, body: NodeJS.ReadableStream) {
    const p = await projects.resolve(actor, projectName);
    await access.ensureWrite(actor, p.name);
    const versionId = normalizeId(versionRaw);
    const v = versionId ? await db.selectFrom('ayon_versions').select('id').where('project_name', '=', p.name).where('id', '=', versionId).executeTakeFirst() : undefined;
    if (!v) throw notFound(`Version ${versionRaw} not found`);
    const filename = checkFileName(meta.fileName);
    const mime = cleanMime(meta.mime);
    if (!/^(image|video)\//.test(mime)) throw new AyonError(415, 'Reviewables must be images or videos');
    const { key, size } = await storeFile(body, mime);
    const id = newAyonId();
    const activityId = newAyonId();
    const now = Date.now();
    await db
      .insertInto('ayon_files')
      .values({ project_name: p.name, id, filename, mime, size, blob_key: key, author: actor.name, activity_id: activityId, version_id: v.id, label: meta.label ?? null, created_at: now, updated_at: now })
      .execute();
    return reviewableModel({ id, filename, mime, size, author: actor.name, activity_id: activityId, label: meta.label ?? null, created_at: now, updated_at: now });
  }

  function reviewableModel(r: { id: string; filename: string; mime: string; size: number; author: string | null; activity_id: string | null; label: string | null; created_at: number; updated_at: number }) {
    return {
      fileId: r.id,
      activityId: r.activity_id,
      filename: r.filename,
      label: r.label ?? r.filename,
      mimetype: r.mime,
      availability: 'ready',
      mediaInfo: { size: r.size },
      createdFrom: null,
      processing: null,
      author: r.author,
      createdAt: isoTime(r.created_at),
      updatedAt: isoTime(r.updated_at),
    };
  }

  async function listReviewables(actor: AyonActor, projectName: string, versionRaw: string) {
    const p = await projects.resolve(actor, projectName);
    const versionId = normalizeId(versionRaw);
    const v = versionId ? await db.selectFrom('ayon_versions').select(['id', 'version']).where('project_name', '=', p.name).where('id', '=', versionId).executeTakeFirst() : undefined;
    if (!v) throw notFound(`Version ${versionRaw} not found`);
    const rows = await db.selectFrom('ayon_files').selectAll().where('project_name', '=', p.name).where('version_id', '=', v.id).orderBy('created_at').execute();
    return { id: v.id, name: v.version < 0 ? 'HERO' : `v${String(v.version).padStart(3, '0')}`, version: v.version, status: null, productId: null, reviewables: rows.map(reviewableModel) };
  }

  /** POST …/repreContextFilter: representation ids whose data.context matches every key's regexes. */
  async function repreContextFilter(actor: AyonActor, projectName: string, body: Record<string, unknown>) {
    const p = await projects.resolve(actor, projectName);
    let q = db.selectFrom('ayon_representations').select(['id', 'data']).where('project_name', '=', p.name);
    if (Array.isArray(body.names)) q = body.names.length ? q.where('name', 'in', body.names as string[]) : q.where(NOTHING);
    if (Array.isArray(body.versionIds)) q = q.where('version_id', 'in', body.versionIds.length ? (body.versionIds as string[]).map((v) => normalizeId(v) ?? v) : ['']);
    if (!Array.isArray(body.context)) throw badRequest('context must be a list of {key, values}');
    const filters = (body.context as Array<{ key?: unknown; values?: unknown }>).map((c) => {
      if (typeof c?.key !== 'string' || !Array.isArray(c.values)) throw badRequest('context must be a list of {key, values}');
      const res = (c.values as unknown[]).map((v) => {
        if (typeof v !== 'string') throw badRequest('context values must be regular expressions');
        if (v.length > 512) throw badRequest('Regular expression is too long (512 characters at most)');
        try {
          return new RegExp(v);
        } catch {
          throw badRequest(`Invalid regular expression: ${v}`);
        }
      });
      return { path: c.key.split('.'), res };
    });
    const ids: string[] = [];
    for (const r of await q.orderBy('seq').execute()) {
      const data = parseJson<Record<string, unknown>>(r.data, {});
      const ok = filters.every((f) => {
        let v: unknown = data.context;
        for (const k of f.path) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined;
        if (v === undefined || v === null) return false;
        return f.res.some((re) => re.test(String(v)));
      });
      if (ok) ids.push(r.id);
      if (ids.length >= 100) break;
    }
    return { ids };
  }

  return {
    createThumbnail,
    putThumbnail,
    getThumbnail,
    getEntityThumbnail,
    setEntityThumbnail,
    setProjectThumbnail,
    getProjectThumbnail,
    uploadFile,
    fileInfo,
    openFile,
    deleteFile,
    uploadReviewable,
    listReviewables,
    repreContextFilter,
    forbidden,
    Readable,
  };
}

export type MediaService = ReturnType<typeof createMediaService>;
