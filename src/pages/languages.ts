// Languages menu: the choice is a cookie, so it also works before logging in.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { LANG_COOKIE, LANGUAGE_CODES } from '../core/i18n.js';
import { safeNext } from '../core/auth.js';

const LanguageFormSchema = z.object({ lang: z.enum(LANGUAGE_CODES), next: z.string().optional() });

export async function languagePages(app: FastifyInstance) {
  app.get('/languages', async (_request, reply) => reply.page('views/pages/languages.eta', { title: 'languages.title' }));

  app.post('/languages', { config: { public: true } }, async (request, reply) => {
    const form = LanguageFormSchema.safeParse(request.body ?? {});
    if (!form.success) {
      request.flash('danger', 'languages.unknown');
      return reply.redirect('/languages', 303);
    }
    reply.setCookie(LANG_COOKIE, form.data.lang, { path: '/', sameSite: 'lax', httpOnly: true, maxAge: 365 * 24 * 3600 });
    return reply.redirect(safeNext(form.data.next, { allowLogin: true }), 303);
  });
}
