/**
 * Project anatomy (ayon.md §5.4): the built-in preset, stored presets, and the conversion between an
 * anatomy (snake_case settings JSON) and a project's folder/task types, statuses, tags, link types,
 * attributes and config.
 */
import type { Store } from '../../store/db.js';
import { badRequest, forbidden, notFound, conflict } from './errors.js';
import { isEntityType, isPlainObject, parseJson, PROJECT_NAME_RE } from './rules.js';
import type { AttributesService } from './attributes.js';

const ALL_SCOPES = ['folder', 'task', 'product', 'version', 'representation', 'workfile'];

export const PRESET_VERSION = '1.0.0';

/** AYON's default anatomy, with the current project attribute defaults filled in by the caller. */
export function builtinAnatomy(attributes: Record<string, unknown>): Record<string, unknown> {
  const folderType = (name: string, shortName: string, icon: string) => ({ name, shortName, icon, original_name: name });
  const taskType = (name: string, shortName: string, icon: string) => ({ name, shortName, icon, original_name: name });
  const status = (name: string, shortName: string, icon: string, color: string, state: string, scope: string[]) => ({
    name,
    shortName,
    state,
    icon,
    color,
    scope,
    original_name: name,
  });
  return {
    entity_naming: { capitalization: 'lower', separator: '_' },
    roots: [{ name: 'work', windows: 'C:/projects', linux: '/mnt/share/projects', darwin: '/Volumes/projects' }],
    templates: {
      version_padding: 3,
      version: 'v{version:0>{@version_padding}}',
      frame_padding: 4,
      frame: '{frame:0>{@frame_padding}}',
      work: [
        {
          name: 'default',
          directory: '{root[work]}/{project[name]}/{hierarchy}/{folder[name]}/work/{task[name]}',
          file: '{project[code]}_{folder[name]}_{task[name]}_{@version}<_{comment}>.{ext}',
        },
      ],
      publish: [
        {
          name: 'default',
          directory: '{root[work]}/{project[name]}/{hierarchy}/{folder[name]}/publish/{product[type]}/{product[name]}/{@version}',
          file: '{project[code]}_{folder[name]}_{product[name]}_{@version}<_{output}><.{@frame}><_{udim}>.{ext}',
        },
      ],
      hero: [
        {
          name: 'default',
          directory: '{root[work]}/{project[name]}/{hierarchy}/{folder[name]}/publish/{product[type]}/{product[name]}/hero',
          file: '{project[code]}_{folder[name]}_{task[name]}_hero<_{comment}>.{ext}',
        },
      ],
      delivery: [],
      others: [],
      staging_directories: [],
    },
    attributes,
    folder_types: [
      folderType('Folder', '', 'folder'),
      folderType('Library', 'lib', 'category'),
      folderType('Asset', '', 'smart_toy'),
      folderType('Episode', 'ep', 'live_tv'),
      folderType('Sequence', 'sq', 'theaters'),
      folderType('Shot', 'sh', 'movie'),
    ],
    task_types: [
      taskType('Generic', 'gener', 'task_alt'),
      taskType('Art', 'art', 'palette'),
      taskType('Modeling', 'mdl', 'language'),
      taskType('Texture', 'tex', 'brush'),
      taskType('Lookdev', 'look', 'ev_shadow'),
      taskType('Rigging', 'rig', 'construction'),
      taskType('Edit', 'edit', 'imagesearch_roller'),
      taskType('Layout', 'lay', 'nature_people'),
      taskType('Setdress', 'dress', 'scene'),
      taskType('Animation', 'anim', 'directions_run'),
      taskType('FX', 'fx', 'fireplace'),
      taskType('Lighting', 'lgt', 'highlight'),
      taskType('Paint', 'paint', 'video_stable'),
      taskType('Compositing', 'comp', 'layers'),
      taskType('Roto', 'roto', 'gesture'),
      taskType('Matchmove', 'matchmove', 'switch_video'),
    ],
    link_types: [
      { link_type: 'generative', input_type: 'version', output_type: 'version', color: '#2626e0', style: 'solid' },
      { link_type: 'breakdown', input_type: 'folder', output_type: 'folder', color: '#27792a', style: 'solid' },
      { link_type: 'reference', input_type: 'version', output_type: 'version', color: '#d94383', style: 'solid' },
      { link_type: 'template', input_type: 'folder', output_type: 'folder', color: '#d94383', style: 'solid' },
    ],
    statuses: [
      status('Not ready', 'NRD', 'fiber_new', '#3d444f', 'not_started', ALL_SCOPES),
      status('Ready to start', 'RDY', 'timer', '#bababa', 'not_started', ALL_SCOPES),
      status('In progress', 'PRG', 'play_arrow', '#5bb8f5', 'in_progress', ALL_SCOPES),
      status('Pending review', 'RVW', 'visibility', '#ffcd19', 'in_progress', ALL_SCOPES),
      status('Approved', 'APP', 'task_alt', '#08f094', 'done', ALL_SCOPES),
      status('On hold', 'HLD', 'back_hand', '#fa6e46', 'blocked', ALL_SCOPES),
      status('Omitted', 'OMT', 'block', '#cb1a1a', 'blocked', ALL_SCOPES),
    ],
    tags: [
      { name: 'important', color: '#ff2450', original_name: 'important' },
      { name: 'for reel', color: '#3d8eff', original_name: 'for reel' },
    ],
    product_base_types: { default: { color: '#cccccc', icon: 'deployed_code' }, definitions: [] },
  };
}

export interface ProjectAnatomyFields {
  folderTypes: Array<Record<string, unknown>>;
  taskTypes: Array<Record<string, unknown>>;
  statuses: Array<Record<string, unknown>>;
  tags: Array<Record<string, unknown>>;
  linkTypes: Array<{ name: string; linkType: string; inputType: string; outputType: string; data: Record<string, unknown> }>;
  attrib: Record<string, unknown>;
  config: Record<string, unknown>;
}

function namedList(v: unknown, what: string): Array<Record<string, unknown>> {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw badRequest(`Anatomy ${what} must be a list`);
  const seen = new Set<string>();
  return v.map((item) => {
    if (!isPlainObject(item) || typeof item.name !== 'string' || !item.name.trim()) throw badRequest(`Every anatomy ${what} item needs a name`);
    if (item.name.length > 100) throw badRequest(`Anatomy ${what} name "${item.name}" is too long`);
    if (seen.has(item.name)) throw badRequest(`Duplicate ${what} name "${item.name}"`);
    seen.add(item.name);
    return item;
  });
}

/** Anatomy → project columns (AYON's anatomy_to_project_data). */
export function anatomyToProject(anatomy: Record<string, unknown>): ProjectAnatomyFields {
  const folderTypes = namedList(anatomy.folder_types, 'folder type').map((t) => ({
    name: t.name,
    shortName: typeof t.shortName === 'string' ? t.shortName : '',
    icon: typeof t.icon === 'string' ? t.icon : 'folder',
    ...(typeof t.color === 'string' ? { color: t.color } : {}),
    original_name: t.original_name ?? t.name,
  }));
  const taskTypes = namedList(anatomy.task_types, 'task type').map((t) => ({
    name: t.name,
    shortName: typeof t.shortName === 'string' ? t.shortName : '',
    icon: typeof t.icon === 'string' ? t.icon : 'task_alt',
    ...(typeof t.color === 'string' ? { color: t.color } : {}),
    original_name: t.original_name ?? t.name,
  }));
  const statuses = namedList(anatomy.statuses, 'status').map((s) => ({
    name: s.name,
    shortName: typeof s.shortName === 'string' ? s.shortName : '',
    state: typeof s.state === 'string' ? s.state : 'not_started',
    icon: typeof s.icon === 'string' ? s.icon : '',
    color: typeof s.color === 'string' ? s.color : '#cacaca',
    scope: Array.isArray(s.scope) ? s.scope : ALL_SCOPES,
    original_name: s.original_name ?? s.name,
  }));
  const tags = namedList(anatomy.tags, 'tag').map((t) => ({
    name: t.name,
    color: typeof t.color === 'string' ? t.color : '#cacaca',
    original_name: t.original_name ?? t.name,
  }));
  const linkTypes: ProjectAnatomyFields['linkTypes'] = [];
  if (anatomy.link_types !== undefined && anatomy.link_types !== null) {
    if (!Array.isArray(anatomy.link_types)) throw badRequest('Anatomy link_types must be a list');
    for (const l of anatomy.link_types) {
      if (!isPlainObject(l) || typeof l.link_type !== 'string' || !l.link_type) throw badRequest('Every anatomy link type needs a link_type');
      if (!isEntityType(l.input_type) || !isEntityType(l.output_type)) throw badRequest('Link type input_type and output_type must be entity types');
      const name = `${l.link_type}|${l.input_type}|${l.output_type}`;
      if (linkTypes.some((x) => x.name === name)) throw badRequest(`Duplicate link type ${name}`);
      linkTypes.push({
        name,
        linkType: l.link_type,
        inputType: l.input_type,
        outputType: l.output_type,
        data: { color: l.color ?? null, style: l.style ?? 'solid' },
      });
    }
  }
  const config: Record<string, unknown> = {};
  const roots: Record<string, unknown> = {};
  if (anatomy.roots !== undefined) {
    if (!Array.isArray(anatomy.roots)) throw badRequest('Anatomy roots must be a list');
    for (const r of anatomy.roots) {
      if (!isPlainObject(r) || typeof r.name !== 'string' || !/^[a-zA-Z0-9_]{1,}$/.test(r.name)) throw badRequest('Invalid anatomy root name');
      roots[r.name] = { windows: r.windows ?? '', linux: r.linux ?? '', darwin: r.darwin ?? '' };
    }
  }
  config.roots = roots;
  const t = isPlainObject(anatomy.templates) ? anatomy.templates : {};
  const templates: Record<string, unknown> = {
    common: {
      version_padding: t.version_padding ?? 3,
      version: t.version ?? 'v{version:0>{@version_padding}}',
      frame_padding: t.frame_padding ?? 4,
      frame: t.frame ?? '{frame:0>{@frame_padding}}',
    },
  };
  for (const group of ['work', 'publish', 'hero', 'delivery', 'others', 'staging_directories']) {
    const list = t[group];
    if (!Array.isArray(list) || list.length === 0) continue;
    const key = group === 'staging_directories' ? 'staging' : group;
    const out: Record<string, unknown> = {};
    for (const item of list) {
      if (!isPlainObject(item) || typeof item.name !== 'string') continue;
      const { name, ...rest } = item;
      out[name] = rest;
    }
    templates[key] = out;
  }
  config.templates = templates;
  if (isPlainObject(anatomy.entity_naming)) config.entityNaming = anatomy.entity_naming;
  if (isPlainObject(anatomy.product_base_types)) config.productBaseTypes = anatomy.product_base_types;
  return {
    folderTypes,
    taskTypes,
    statuses,
    tags,
    linkTypes,
    attrib: isPlainObject(anatomy.attributes) ? anatomy.attributes : {},
    config,
  };
}

/** Project → anatomy (GET /api/projects/{p}/anatomy). */
export function projectToAnatomy(p: {
  folderTypes: Array<Record<string, unknown>>;
  taskTypes: Array<Record<string, unknown>>;
  statuses: Array<Record<string, unknown>>;
  tags: Array<Record<string, unknown>>;
  linkTypes: Array<{ linkType: string; inputType: string; outputType: string; data: Record<string, unknown> }>;
  attrib: Record<string, unknown>;
  config: Record<string, unknown>;
}): Record<string, unknown> {
  const config = p.config ?? {};
  const roots = isPlainObject(config.roots) ? config.roots : {};
  const tpl = isPlainObject(config.templates) ? config.templates : {};
  const common = isPlainObject(tpl.common) ? tpl.common : {};
  const templates: Record<string, unknown> = {
    version_padding: common.version_padding ?? 3,
    version: common.version ?? 'v{version:0>{@version_padding}}',
    frame_padding: common.frame_padding ?? 4,
    frame: common.frame ?? '{frame:0>{@frame_padding}}',
  };
  for (const group of ['work', 'publish', 'hero', 'delivery', 'others', 'staging']) {
    const g = isPlainObject(tpl[group]) ? tpl[group] : {};
    templates[group === 'staging' ? 'staging_directories' : group] = Object.entries(g).map(([name, v]) => ({ name, ...(isPlainObject(v) ? v : {}) }));
  }
  return {
    entity_naming: config.entityNaming ?? { capitalization: 'lower', separator: '_' },
    roots: Object.entries(roots).map(([name, v]) => ({ name, ...(isPlainObject(v) ? v : {}) })),
    templates,
    attributes: p.attrib,
    folder_types: p.folderTypes,
    task_types: p.taskTypes,
    link_types: p.linkTypes.map((l) => ({
      link_type: l.linkType,
      input_type: l.inputType,
      output_type: l.outputType,
      color: l.data?.color ?? null,
      style: l.data?.style ?? 'solid',
    })),
    statuses: p.statuses,
    tags: p.tags,
    product_base_types: config.productBaseTypes ?? { default: { color: '#cccccc', icon: 'deployed_code' }, definitions: [] },
  };
}

export function createAnatomyService(store: Store, attributes: AttributesService) {
  const { db } = store;

  async function builtin(): Promise<Record<string, unknown>> {
    return builtinAnatomy(await attributes.projectDefaults());
  }

  async function list() {
    const rows = await db.selectFrom('ayon_anatomy_presets').select(['name', 'version', 'is_primary']).orderBy('name').execute();
    return {
      version: PRESET_VERSION,
      presets: rows.map((r) => ({ name: r.name, primary: r.is_primary === 1, version: r.version })),
    };
  }

  /** `__builtin__`/`_` = built-in; `__primary__` = the primary preset, else built-in. */
  async function get(name: string): Promise<Record<string, unknown>> {
    if (name === '__builtin__' || name === '_') return builtin();
    if (name === '__primary__') {
      const r = await db.selectFrom('ayon_anatomy_presets').select('data').where('is_primary', '=', 1).executeTakeFirst();
      return r ? parseJson(r.data, {}) : builtin();
    }
    const r = await db.selectFrom('ayon_anatomy_presets').select('data').where('name', '=', name).executeTakeFirst();
    if (!r) throw notFound(`Anatomy preset ${name} not found`);
    return parseJson(r.data, {});
  }

  function checkName(name: string) {
    if (name === '__builtin__' || name === '__primary__' || name === '_') throw badRequest('Reserved preset name');
    if (!/^[a-zA-Z0-9_][a-zA-Z0-9_.\- ]{0,126}$/.test(name)) throw badRequest(`Invalid preset name "${name}"`);
  }

  async function save(isManager: boolean, name: string, anatomy: unknown) {
    if (!isManager) throw forbidden('Only managers can save anatomy presets');
    checkName(name);
    if (!isPlainObject(anatomy)) throw badRequest('Anatomy must be an object');
    anatomyToProject(anatomy); // validates
    const now = Date.now();
    const data = JSON.stringify(anatomy);
    const hit = await db.selectFrom('ayon_anatomy_presets').select('name').where('name', '=', name).executeTakeFirst();
    if (hit) await db.updateTable('ayon_anatomy_presets').set({ data, updated_at: now }).where('name', '=', name).execute();
    else await db.insertInto('ayon_anatomy_presets').values({ name, version: PRESET_VERSION, is_primary: 0, data, created_at: now, updated_at: now }).execute();
  }

  async function setPrimary(isManager: boolean, name: string, primary: boolean) {
    if (!isManager) throw forbidden('Only managers can change anatomy presets');
    const hit = await db.selectFrom('ayon_anatomy_presets').select('name').where('name', '=', name).executeTakeFirst();
    if (!hit) throw notFound(`Anatomy preset ${name} not found`);
    await db.transaction().execute(async (trx) => {
      if (primary) await trx.updateTable('ayon_anatomy_presets').set({ is_primary: 0 }).execute();
      await trx.updateTable('ayon_anatomy_presets').set({ is_primary: primary ? 1 : 0 }).where('name', '=', name).execute();
    });
  }

  async function rename(isManager: boolean, name: string, newName: unknown) {
    if (!isManager) throw forbidden('Only managers can change anatomy presets');
    if (typeof newName !== 'string') throw badRequest('name is required');
    checkName(newName);
    const clash = await db.selectFrom('ayon_anatomy_presets').select('name').where('name', '=', newName).executeTakeFirst();
    if (clash) throw conflict(`Anatomy preset ${newName} already exists`);
    const res = await db.updateTable('ayon_anatomy_presets').set({ name: newName, updated_at: Date.now() }).where('name', '=', name).executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) throw notFound(`Anatomy preset ${name} not found`);
  }

  async function remove(isManager: boolean, name: string) {
    if (!isManager) throw forbidden('Only managers can delete anatomy presets');
    const res = await db.deleteFrom('ayon_anatomy_presets').where('name', '=', name).executeTakeFirst();
    if (Number(res.numDeletedRows) === 0) throw notFound(`Anatomy preset ${name} not found`);
  }

  return { builtin, list, get, save, setPrimary, rename, remove };
}

export type AnatomyService = ReturnType<typeof createAnatomyService>;
export { PROJECT_NAME_RE };
