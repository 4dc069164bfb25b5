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
  // callback style: reads (GET, HEAD, OPTIONS) go on without a promise
  app.addHook('preHandler', (request, reply, done) => {
    if (request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS') return done();
    const body = request.body as Record<string, unknown> | undefined;
    const given = (body && typeof body === 'object' ? body[CSRF_FIELD] : undefined) ?? request.headers['x-csrf-token'];
    if (tokensMatch(request.session.csrf, given)) return done();
    request.log.warn({ url: request.url }, 'CSRF token missing or wrong');
    // answered here: done() is not called
    void reply.code(403).type('text/html').view('views/pages/error.eta', {
      title: request.t('errors.csrfTitle'),
      message: request.t('errors.csrf'),
      status: 403,
    });
  });
}, { name: 'csrf', dependencies: ['session'] });
