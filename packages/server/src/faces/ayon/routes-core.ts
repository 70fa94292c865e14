/**
 * AYON REST routes: info, auth, users, access groups, attributes, anatomy presets, system.
 */
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../services/index.js';
import { AyonError } from '../../services/ayon/errors.js';
import { attributeWire } from '../../services/ayon/attributes.js';
import { userModel } from '../../services/ayon/users.js';
import { isPlainObject } from '../../services/ayon/rules.js';
import { actorOf, bodyOf, nonGuest, queryOf, senderOf } from './http.js';

export async function ayonCoreRoutes(app: FastifyInstance, opts: { services: Services }) {
  const ayon = opts.services.ayon;

  // ------------------------------------------------------------------ info

  app.get('/api/info', async (req) => {
    const out: Record<string, unknown> = {
      version: ayon.version,
      uptime: (Date.now() - ayon.startedAt) / 1000,
      releaseInfo: { version: ayon.version, buildDate: null, buildTime: null, frontendBranch: null, backendBranch: 'atrium', frontendCommit: null, backendCommit: null },
    };
    const actor = req.ayonActor;
    if (actor) {
      out.user = await ayon.users.me(actor);
      out.attributes = (await ayon.attributes.list()).map(attributeWire);
      out.sites = [];
      out.ssoOptions = [];
      out.extras = '';
    } else if (queryOf(req).full === 'true') {
      out.motd = null;
      out.loginPageBackground = null;
      out.loginPageBrand = null;
      out.noAdminUser = (await opts.services.identity.countUsers()) === 0;
      out.passwordRecoveryAvailable = false;
      out.hidePasswordAuth = false;
      out.ssoOptions = [];
    }
    return out;
  });

  // ------------------------------------------------------------------ auth

  app.post('/api/auth/login', async (req) => {
    const b = bodyOf(req);
    const key = `ayon-login-failed:${req.ip}`;
    try {
      opts.services.loginLimiter.check(key);
    } catch {
      throw new AyonError(403, 'Too many failed login attempts');
    }
    try {
      const res = await ayon.users.login(b.name, b.password, { ip: req.ip, userAgent: String(req.headers['user-agent'] ?? '') });
      return { ...res, error: null, redirectUrl: null };
    } catch (err) {
      if (err instanceof AyonError && err.status === 403) opts.services.loginLimiter.hit(key);
      throw err;
    }
  });

  app.post('/api/auth/logout', async (req) => {
    const actor = actorOf(req);
    await ayon.users.logout(actor);
    return { detail: 'Logged out' };
  });

  // ------------------------------------------------------------------ users

  app.get('/api/users/me', async (req) => ayon.users.me(actorOf(req)));

  app.get('/api/users', async (req) => {
    const actor = nonGuest(req);
    if (!actor.isManager) throw new AyonError(403, 'Only managers can list users');
    return (await ayon.users.listAll()).map((u) => userModel(u));
  });

  app.get<{ Params: { name: string } }>('/api/users/:name', async (req) => {
    const actor = actorOf(req);
    if (req.params.name === 'me') return ayon.users.me(actor);
    return ayon.users.get(actor, req.params.name);
  });

  app.put<{ Params: { name: string } }>('/api/users/:name', async (req, reply) => {
    await ayon.users.create(nonGuest(req), req.params.name, bodyOf(req));
    return reply.status(204).send();
  });

  app.patch<{ Params: { name: string } }>('/api/users/:name', async (req, reply) => {
    await ayon.users.update(actorOf(req), req.params.name, bodyOf(req));
    return reply.status(204).send();
  });

  app.delete<{ Params: { name: string } }>('/api/users/:name', async (req, reply) => {
    await ayon.users.remove(nonGuest(req), req.params.name);
    return reply.status(204).send();
  });

  app.patch<{ Params: { name: string } }>('/api/users/:name/password', async (req, reply) => {
    await ayon.users.changePassword(actorOf(req), req.params.name, bodyOf(req));
    return reply.status(204).send();
  });

  const rename = async (req: { params: { name: string }; body: unknown } & Parameters<typeof bodyOf>[0], newKey: string) => {
    const b = bodyOf(req);
    await ayon.users.rename(nonGuest(req), req.params.name, b[newKey] ?? b.name ?? b.newName);
  };
  app.post<{ Params: { name: string } }>('/api/users/:name/rename', async (req, reply) => {
    await rename(req, 'name');
    return reply.status(204).send();
  });
  app.patch<{ Params: { name: string } }>('/api/users/:name/rename', async (req, reply) => {
    await rename(req, 'newName');
    return reply.status(204).send();
  });

  app.patch<{ Params: { name: string } }>('/api/users/:name/accessGroups', async (req, reply) => {
    await ayon.users.setAccessGroups(nonGuest(req), req.params.name, bodyOf(req));
    return reply.status(204).send();
  });

  app.get<{ Params: { name: string } }>('/api/users/:name/apikeys', async (req) => ayon.users.listApiKeys(actorOf(req), req.params.name));
  app.post<{ Params: { name: string } }>('/api/users/:name/apikeys', async (req, reply) => {
    await ayon.users.createApiKey(nonGuest(req), req.params.name, bodyOf(req));
    return reply.status(201).send();
  });
  app.patch<{ Params: { name: string; id: string } }>('/api/users/:name/apikeys/:id', async (req, reply) => {
    await ayon.users.updateApiKey(nonGuest(req), req.params.name, req.params.id, bodyOf(req));
    return reply.status(204).send();
  });
  app.delete<{ Params: { name: string; id: string } }>('/api/users/:name/apikeys/:id', async (req, reply) => {
    await ayon.users.deleteApiKey(actorOf(req), req.params.name, req.params.id);
    return reply.status(204).send();
  });

  app.get<{ Params: { name: string } }>('/api/users/:name/sessions', async (req) => ({ sessions: await ayon.users.listSessions(actorOf(req), req.params.name) }));
  app.delete<{ Params: { name: string; id: string } }>('/api/users/:name/sessions/:id', async (req, reply) => {
    await ayon.users.deleteSession(actorOf(req), req.params.name, req.params.id);
    return reply.status(204).send();
  });

  app.get<{ Params: { name: string; project?: string } }>('/api/users/:name/permissions', async (req) => permissions(req.params.name, null, req));
  app.get<{ Params: { name: string; project: string } }>('/api/users/:name/permissions/:project', async (req) => permissions(req.params.name, req.params.project, req));

  async function permissions(name: string, project: string | null, req: Parameters<typeof actorOf>[0]) {
    const actor = actorOf(req);
    const u = name === 'me' ? actor : await ayon.users.requireByName(name);
    if (u.id !== actor.id && !actor.isManager) throw new AyonError(403, 'You are not allowed to read permissions of other users');
    const groups = project ? Object.entries(u.ayon.accessGroups ?? {}).find(([p]) => p.toLowerCase() === project.toLowerCase())?.[1] ?? [] : [];
    const write = u.isManager || (project ? await ayon.users.canWrite(groups, project) : false);
    return {
      studio: { createProjects: u.isManager, listAllUsers: u.isManager },
      project: project
        ? { enabled: u.isManager || groups.length > 0, accessGroups: groups, create: write, update: write, delete: write, read: u.isManager || groups.length > 0 }
        : null,
    };
  }

  // ------------------------------------------------------------------ access groups and project access

  app.get('/api/accessGroups/_schema', async (req) => {
    actorOf(req);
    return { title: 'Access group', type: 'object', properties: { readOnly: { type: 'boolean', title: 'Read only' }, description: { type: 'string' } } };
  });
  app.get<{ Params: { project: string } }>('/api/accessGroups/:project', async (req) => {
    actorOf(req);
    return ayon.users.listAccessGroups(req.params.project);
  });
  app.get<{ Params: { name: string; project: string } }>('/api/accessGroups/:name/:project', async (req) => {
    actorOf(req);
    return ayon.users.getAccessGroup(req.params.name, req.params.project);
  });
  app.put<{ Params: { name: string; project: string } }>('/api/accessGroups/:name/:project', async (req, reply) => {
    await ayon.users.saveAccessGroup(nonGuest(req), req.params.name, req.params.project, req.body);
    return reply.status(204).send();
  });
  app.delete<{ Params: { name: string; project: string } }>('/api/accessGroups/:name/:project', async (req, reply) => {
    await ayon.users.deleteAccessGroup(nonGuest(req), req.params.name, req.params.project);
    return reply.status(204).send();
  });

  /** POST /api/access {project: {user: [groups]}}. */
  app.post('/api/access', async (req, reply) => {
    const actor = nonGuest(req);
    const body = req.body;
    if (!isPlainObject(body)) throw new AyonError(400, 'Body must be {project: {user: [accessGroups]}}');
    for (const [project, byUser] of Object.entries(body)) {
      if (!isPlainObject(byUser)) throw new AyonError(400, 'Body must be {project: {user: [accessGroups]}}');
      const p = await ayon.projects.resolve(actor, project, { allowSkeleton: true });
      for (const [user, groups] of Object.entries(byUser)) await ayon.users.setProjectAccess(actor, user, p.name, groups);
    }
    return reply.status(204).send();
  });

  app.get<{ Params: { project: string } }>('/api/projects/:project/users', async (req) => {
    const actor = nonGuest(req);
    const p = await ayon.projects.resolve(actor, req.params.project, { allowSkeleton: true });
    const out: Record<string, string[]> = {};
    for (const u of await ayon.users.listAll()) {
      const g = Object.entries(u.ayon.accessGroups ?? {}).find(([k]) => k.toLowerCase() === p.name.toLowerCase());
      if (g && g[1].length) out[u.name] = g[1];
    }
    return out;
  });

  app.patch<{ Params: { project: string; user: string } }>('/api/projects/:project/users/:user', async (req) => {
    const actor = nonGuest(req);
    const p = await ayon.projects.resolve(actor, req.params.project, { allowSkeleton: true });
    await ayon.users.setProjectAccess(actor, req.params.user, p.name, req.body ?? []);
    const u = await ayon.users.requireByName(req.params.user);
    return u.ayon.accessGroups ?? {};
  });

  // ------------------------------------------------------------------ attributes

  app.get('/api/attributes', async (req) => {
    actorOf(req);
    return { attributes: (await ayon.attributes.list()).map(attributeWire) };
  });
  app.put('/api/attributes', async (req, reply) => {
    await ayon.attributes.setAll(actorOf(req).isAdmin, bodyOf(req));
    return reply.status(204).send();
  });
  app.get<{ Params: { name: string } }>('/api/attributes/:name', async (req) => {
    actorOf(req);
    return attributeWire(await ayon.attributes.get(req.params.name));
  });
  app.put<{ Params: { name: string } }>('/api/attributes/:name', async (req, reply) => {
    await ayon.attributes.put(actorOf(req).isAdmin, req.params.name, bodyOf(req));
    return reply.status(204).send();
  });
  app.patch<{ Params: { name: string } }>('/api/attributes/:name', async (req, reply) => {
    await ayon.attributes.patch(actorOf(req).isAdmin, req.params.name, bodyOf(req));
    return reply.status(204).send();
  });
  app.delete<{ Params: { name: string } }>('/api/attributes/:name', async (req, reply) => {
    await ayon.attributes.remove(actorOf(req).isAdmin, req.params.name);
    return reply.status(204).send();
  });

  // ------------------------------------------------------------------ anatomy presets

  app.get('/api/anatomy/presets', async (req) => {
    actorOf(req);
    return ayon.anatomy.list();
  });
  app.get('/api/anatomy/schema', async (req) => {
    actorOf(req);
    return anatomySchema();
  });
  app.get<{ Params: { name: string } }>('/api/anatomy/presets/:name', async (req) => {
    actorOf(req);
    return ayon.anatomy.get(req.params.name);
  });
  app.put<{ Params: { name: string } }>('/api/anatomy/presets/:name', async (req, reply) => {
    await ayon.anatomy.save(nonGuest(req).isManager, req.params.name, req.body);
    return reply.status(204).send();
  });
  app.delete<{ Params: { name: string } }>('/api/anatomy/presets/:name', async (req, reply) => {
    await ayon.anatomy.remove(nonGuest(req).isManager, req.params.name);
    return reply.status(204).send();
  });
  app.post<{ Params: { name: string } }>('/api/anatomy/presets/:name/primary', async (req, reply) => {
    await ayon.anatomy.setPrimary(nonGuest(req).isManager, req.params.name, true);
    return reply.status(204).send();
  });
  app.delete<{ Params: { name: string } }>('/api/anatomy/presets/:name/primary', async (req, reply) => {
    await ayon.anatomy.setPrimary(nonGuest(req).isManager, req.params.name, false);
    return reply.status(204).send();
  });
  app.post<{ Params: { name: string } }>('/api/anatomy/presets/:name/rename', async (req, reply) => {
    await ayon.anatomy.rename(nonGuest(req).isManager, req.params.name, bodyOf(req).name);
    return reply.status(204).send();
  });

  // ------------------------------------------------------------------ system

  app.post('/api/system/restart', async (req, reply) => {
    const actor = actorOf(req);
    if (!actor.isManager) throw new AyonError(403, 'Only managers and administrators can restart the server');
    const records = await ayon.events.dispatch(opts.services.store.db, [{ topic: 'server.restart_requested', user: actor.name, description: 'Server restart requested' }], senderOf(req));
    ayon.events.publish(records);
    // Atrium applies configuration changes live: a restart request is recorded, nothing restarts.
    return reply.status(204).send();
  });
  app.get('/api/system/restartRequired', async (req) => {
    actorOf(req);
    return { required: false, reason: null };
  });
  app.get('/api/system/sites', async (req) => {
    actorOf(req);
    return [];
  });
}

function anatomySchema() {
  const named = (extra: Record<string, unknown> = {}) => ({ type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, ...extra }, required: ['name'] } });
  return {
    title: 'Project anatomy',
    type: 'object',
    properties: {
      entity_naming: { type: 'object' },
      roots: named({ windows: { type: 'string' }, linux: { type: 'string' }, darwin: { type: 'string' } }),
      templates: { type: 'object' },
      attributes: { type: 'object' },
      folder_types: named({ shortName: { type: 'string' }, icon: { type: 'string' } }),
      task_types: named({ shortName: { type: 'string' }, icon: { type: 'string' } }),
      link_types: { type: 'array', items: { type: 'object' } },
      statuses: named({ shortName: { type: 'string' }, state: { type: 'string' }, icon: { type: 'string' }, color: { type: 'string' }, scope: { type: 'array' } }),
      tags: named({ color: { type: 'string' } }),
      product_base_types: { type: 'object' },
    },
  };
}
