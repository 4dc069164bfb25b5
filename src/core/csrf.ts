// CSRF: every state-changing request carries the session's token (hidden `_csrf` field or
// `x-csrf-token` header). Checked for every POST/PUT/PATCH/DELETE route, no opt-out.
import { timingSafeEqual } from 'node:crypto';
import fp from 'fastify-plugin';

export const CSRF_FIELD = '_csrf';

export function tokensMatch(expected: string, given: unknown): boolean {
  if (typeof given !== 'string' || given.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(expected), Buffer.from(given));
}

export default fp(async (app) => {
  app.addHook('preHandler', async (request, reply) => {
    if (request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS') return;
    const body = request.body as Record<string, unknown> | undefined;
    const given = (body && typeof body === 'object' ? body[CSRF_FIELD] : undefined) ?? request.headers['x-csrf-token'];
    if (!tokensMatch(request.session.csrf, given)) {
      request.log.warn({ url: request.url }, 'CSRF token missing or wrong');
      return reply.code(403).type('text/html').view('views/pages/error.eta', {
        title: request.t('errors.csrfTitle'),
        message: request.t('errors.csrf'),
        status: 403,
      });
    }
  });
}, { name: 'csrf', dependencies: ['session'] });
