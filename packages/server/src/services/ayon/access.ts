/**
 * Who may do what (ayon.md §2.7). Admins, managers and services: everything on every project.
 * Other users: the projects listed in their access groups (`data.accessGroups`); reading needs any
 * group there, writing a group not marked readOnly. Guests: read-only on their assigned projects.
 */
import { forbidden } from './errors.js';
import type { AyonActor, AyonUsersService } from './users.js';

export function projectGroups(actor: AyonActor, project: string): string[] {
  const groups = actor.ayon.accessGroups ?? {};
  const l = project.toLowerCase();
  for (const [p, g] of Object.entries(groups)) if (p.toLowerCase() === l) return g;
  return [];
}

export function canReadProject(actor: AyonActor, project: string): boolean {
  if (actor.isManager) return true;
  return projectGroups(actor, project).length > 0;
}

export function createAccessPolicy(users: AyonUsersService) {
  function ensureRead(actor: AyonActor, project: string): void {
    if (!canReadProject(actor, project)) throw forbidden(`You do not have access to project ${project}`);
  }

  async function ensureWrite(actor: AyonActor, project: string): Promise<void> {
    if (actor.isManager) return;
    if (actor.isGuest) throw forbidden('Guests cannot modify projects');
    const groups = projectGroups(actor, project);
    if (!groups.length) throw forbidden(`You do not have access to project ${project}`);
    if (!(await users.canWrite(groups, project))) throw forbidden(`You have read-only access to project ${project}`);
  }

  function ensureManager(actor: AyonActor, detail = 'Only managers can do this'): void {
    if (!actor.isManager) throw forbidden(detail);
  }

  function ensureAdmin(actor: AyonActor, detail = 'Only administrators can do this'): void {
    if (!actor.isAdmin) throw forbidden(detail);
  }

  return { ensureRead, ensureWrite, ensureManager, ensureAdmin, canRead: canReadProject };
}

export type AccessPolicy = ReturnType<typeof createAccessPolicy>;
