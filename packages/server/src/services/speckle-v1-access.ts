/**
 * Who may do what to a v1 resource: the v1 permission rules (owner or admin: everything; `write`:
 * listed in canWrite; `read`: public, or listed in canRead/canWrite; `comment`: public with anonymous
 * comments, else listed; `delete`: owner or admin), plus Atrium's token scopes. Errors carry v1's
 * messages: a message with "authorised" in it is what v1 answers 401 for.
 */
import { AppError } from '../domain/errors.js';
import { hasScope } from '../domain/scopes.js';
import type { ServerRole } from '../domain/roles.js';

/** An authenticated v1 caller. `null` stands for an anonymous one (v1's guest). */
export interface V1Caller {
  userId: string;
  role: ServerRole;
  scopes: string[];
  tokenKind: string;
}
export type V1Actor = V1Caller | null;

export type V1Op = 'read' | 'write' | 'comment' | 'delete';

/** The fields of a v1 resource the permission rules look at. */
export interface Guarded {
  ownerId: string | null;
  private: boolean;
  anonymousComments: boolean;
  canRead: string[];
  canWrite: string[];
}

/** Fields only the owner (or an admin) may change. */
export const PROTECTED_FIELDS = ['owner', 'email'];

export const notFound = (message = 'Resource not found.'): AppError => new AppError('NOT_FOUND_ERROR', message);
export const notAuthorised = (message: string): AppError => new AppError('UNAUTHORIZED', message);
export const notOwner = (kind: string): AppError => new AppError('FORBIDDEN', `You do not own the ${kind}.`);

export const isAdmin = (actor: V1Actor): boolean => actor !== null && actor.role === 'admin';

/** Throws unless `actor` may do `op` on `res`. `modKeys`: the fields an update sends. */
export function permit(actor: V1Actor, res: Guarded | undefined | null, op: V1Op, opts: { kind?: string; modKeys?: string[] } = {}): void {
  if (!res) throw notFound();
  if (actor) {
    const publicRead = op === 'read' && !res.private;
    const scope = op === 'read' ? 'streams:read' : 'streams:write';
    if (!publicRead && !hasScope(actor.scopes, scope))
      throw notAuthorised(`You are not authorised to ${op}: your token lacks the ${scope} scope.`);
    if (actor.role === 'admin' || (res.ownerId !== null && actor.userId === res.ownerId)) return;
  }
  for (const key of opts.modKeys ?? []) {
    if (PROTECTED_FIELDS.includes(key)) throw notAuthorised(`Protected field, you are not authorised to edit ${key}.`);
  }
  const uid = actor?.userId;
  const inWrite = uid !== undefined && res.canWrite.includes(uid);
  const inRead = uid !== undefined && res.canRead.includes(uid);
  switch (op) {
    case 'write':
      if (inWrite) return;
      throw notAuthorised('You are not authorised to write.');
    case 'read':
      if (!res.private || inWrite || inRead) return;
      throw notAuthorised('You are not authorised to read.');
    case 'comment':
      if (!res.private && res.anonymousComments) return;
      if (!actor && !res.anonymousComments) throw notAuthorised('You are not authorised to comment.');
      if (inWrite || inRead) return;
      throw notAuthorised('You are not authorised to comment.');
    case 'delete':
      throw notOwner(opts.kind ?? 'resource');
  }
}

/** `permit` as a yes/no answer. */
export function allowed(actor: V1Actor, res: Guarded | undefined | null, op: V1Op): boolean {
  try {
    permit(actor, res, op);
    return true;
  } catch {
    return false;
  }
}

/** Calls on the caller's own account need the scope; admins' calls on others need the admin role. */
export function needScope(actor: V1Actor, scope: string): V1Caller {
  if (!actor) throw notAuthorised('You are not authorised: log in first.');
  if (!hasScope(actor.scopes, scope)) throw notAuthorised(`You are not authorised: your token lacks the ${scope} scope.`);
  return actor;
}
