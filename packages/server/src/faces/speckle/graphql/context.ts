/** What every Speckle resolver receives, and the guards that mirror Speckle's schema directives. */
import type { Services } from '../../../services/index.js';
import type { AuthContext } from '../../../services/identity.js';
import { AppError } from '../../../domain/errors.js';
import { hasScope } from '../../../domain/scopes.js';
import { serverRoleAtLeast, type ServerRole } from '../../../domain/roles.js';

export interface SpeckleContext {
  auth: AuthContext;
  services: Services;
  requestId: string;
}

/** `@hasScope`: checked only when a token is present; anonymous callers pass (the resolver decides). */
export function checkScope(ctx: SpeckleContext, scope: string): void {
  if (ctx.auth.auth && !hasScope(ctx.auth.scopes, scope))
    throw new AppError('FORBIDDEN', `Your auth token does not have the required scope: ${scope}.`);
}

/** `@hasServerRole`: an authenticated user with at least this server role. */
export function requireServerRole(ctx: SpeckleContext, role: ServerRole): Extract<AuthContext, { auth: true }> {
  if (!ctx.auth.auth) throw new AppError('FORBIDDEN', 'You do not have the required server role');
  if (!serverRoleAtLeast(ctx.auth.role, role)) throw new AppError('FORBIDDEN', 'You do not have the required server role');
  return ctx.auth;
}

/** Both at once, in Speckle's order (role first, then scope). */
export function requireRoleAndScope(ctx: SpeckleContext, role: ServerRole, scope: string) {
  const auth = requireServerRole(ctx, role);
  checkScope(ctx, scope);
  return auth;
}
