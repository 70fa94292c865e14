/**
 * Speckle's `/auth/*` REST: local register/login (redirect with an access code for the web app),
 * access codes for other apps, the code/refresh-token exchange, and logout.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, isAppError } from '../../../domain/errors.js';
import type { Services } from '../../../services/index.js';
import { setRetryAfter } from '../errors.js';

const WEB_APP = 'spklwebapp';

function bodyOf(req: FastifyRequest): Record<string, unknown> {
  const b = req.body;
  return b && typeof b === 'object' && !Array.isArray(b) ? (b as Record<string, unknown>) : {};
}

function sendRateLimited(reply: FastifyReply, err: AppError) {
  setRetryAfter(reply, err.info?.retryAfterMs as number | undefined);
  return reply.status(429).send({ error: { message: err.message, code: 'RATE_LIMIT_ERROR' } });
}

export async function speckleAuthRoutes(app: FastifyInstance, opts: { services: Services }) {
  const { services } = opts;
  const { identity, apps, loginLimiter, config } = services;

  app.post('/auth/local/login', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const body = bodyOf(req);
    const email = typeof body.email === 'string' ? body.email.trim().toLowerCase() : '';
    const keys = [`ip:${req.ip}`, `email:${email}`];
    try {
      for (const k of keys) loginLimiter.check(k);
    } catch (err) {
      if (isAppError(err)) return sendRateLimited(reply, err);
      throw err;
    }
    if (!q.challenge) return reply.status(400).type('text/plain').send('Missing challenge');
    let user;
    try {
      user = await identity.verifyPassword(body.email, body.password);
    } catch (err) {
      if (isAppError(err) && err.code === 'UNAUTHORIZED') {
        for (const k of keys) loginLimiter.hit(k);
        req.log.info({ ip: req.ip }, 'login failed');
        return reply.status(401).send({ err: true, message: 'Invalid credentials.' });
      }
      throw err;
    }
    loginLimiter.reset(`email:${email}`);
    const code = await apps.createAccessCode(WEB_APP, user.id, q.challenge);
    return reply.redirect(`${config.publicUrl}/?access_code=${code}`, 302);
  });

  app.post('/auth/local/register', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    try {
      loginLimiter.check(`register:${req.ip}`);
    } catch (err) {
      if (isAppError(err)) return sendRateLimited(reply, err);
      throw err;
    }
    if (!q.challenge) return reply.status(400).type('text/plain').send('Missing challenge');
    const body = bodyOf(req);
    const settings = await services.serverInfo.get();
    if (settings.inviteOnly && (await identity.countUsers()) > 0)
      throw new AppError('FORBIDDEN', 'This server is invite only. Please authenticate yourself through a valid invite link.');
    loginLimiter.hit(`register:${req.ip}`);
    const user = await identity.createUser({
      email: body.email as string,
      name: body.name as string,
      password: (body.password ?? '') as string,
      company: typeof body.company === 'string' ? body.company : null,
    });
    const code = await apps.createAccessCode(WEB_APP, user.id, q.challenge);
    return reply.redirect(`${config.publicUrl}/?access_code=${code}&register=true`, 302);
  });

  app.get('/auth/accesscode', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    try {
      if (!q.appId || !q.challenge || !q.token) throw new AppError('USER_INPUT_ERROR', 'Missing appId, challenge or token');
      const ctx = await identity.authenticateToken(q.token);
      if (!ctx) throw new AppError('USER_INPUT_ERROR', 'Invalid token');
      const { code, redirectUrl } = await apps.accessCodeForToken(ctx, q.appId, q.challenge);
      const target = `${redirectUrl}${redirectUrl.includes('?') ? '&' : '?'}access_code=${code}`;
      if (q.preventRedirect) return reply.send({ redirectUrl: target });
      return reply.redirect(target, 302);
    } catch (err) {
      if (isAppError(err) && err.status < 500) return reply.status(400).type('text/plain').send(err.message);
      req.log.error({ err }, 'accesscode failed');
      return reply.status(500).type('text/plain').send('Something went wrong while processing your request');
    }
  });

  app.post('/auth/token', async (req, reply) => {
    const body = bodyOf(req);
    try {
      const tokens = await apps.exchange(body);
      if (typeof body.refreshToken === 'string') reply.header('Cache-Control', 'no-cache, no-store');
      return reply.send(tokens);
    } catch (err) {
      if (isAppError(err)) return reply.status(401).send({ err: err.message });
      req.log.error({ err }, 'token exchange failed');
      return reply.status(401).send({ err: 'Something went wrong' });
    }
  });

  app.post('/auth/logout', async (req, reply) => {
    const body = bodyOf(req);
    try {
      await apps.logout(body.token, body.refreshToken);
      return reply.send({ message: 'You have logged out.' });
    } catch {
      return reply.status(400).type('text/plain').send('Something went wrong while trying to logout.');
    }
  });
}
