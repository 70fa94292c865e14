/** How a Speckle request carries its token, and the context it resolves to. */
import type { FastifyRequest } from 'fastify';
import { ANONYMOUS, type AuthContext } from '../../services/identity.js';
import type { Services } from '../../services/index.js';

/** Authorization header (with "Bearer " removed), else cookie `authn`, else `?embedToken=`. */
export function speckleTokenFrom(req: FastifyRequest): string | null {
  const header = req.headers.authorization;
  if (typeof header === 'string') return header.replace('Bearer ', '').trim() || null;
  const cookie = req.headers.cookie;
  if (cookie) {
    const m = /(?:^|;\s*)authn=([^;]*)/.exec(cookie);
    if (m) return decodeURIComponent(m[1]).replace('Bearer ', '').trim() || null;
  }
  const q = req.query as Record<string, unknown> | undefined;
  if (q && typeof q.embedToken === 'string' && q.embedToken) return q.embedToken;
  return null;
}

/** null: a token was given and it is not valid (the caller answers 403). */
export async function speckleAuthContext(req: FastifyRequest, services: Services): Promise<AuthContext | null> {
  const token = speckleTokenFrom(req);
  if (!token) return ANONYMOUS;
  return services.identity.authenticateToken(token);
}
