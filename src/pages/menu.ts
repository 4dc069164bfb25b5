// The navbar's sections: core entries first, then the plugins' (from their manifests). Each
// section also has its own page (/menu/<section>) so the menus work without JavaScript.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { MENU_SECTIONS, type MenuSection } from '../registry/manifest.js';
import type { MenuEntry, Menus } from '../registry/registry.js';

const CORE_ENTRIES: Record<MenuSection, MenuEntry[]> = {
  system: [
    { id: 'status', title: 'nav.status', href: '/', order: 0 },
    { id: 'jobs', title: 'nav.jobs', href: '/jobs', order: 1 },
    { id: 'password', title: 'nav.password', href: '/system/password', order: 2 },
    { id: 'ldap', title: 'nav.ldap', href: '/system/ldap', order: 3 },
  ],
  search: [{ id: 'search', title: 'search.title', href: '/search', order: 0 }],
  clommunity: [],
  guifi: [],
};

export function withCoreEntries(plugins: Menus): Menus {
  return Object.fromEntries(MENU_SECTIONS.map((s) => [s, [...CORE_ENTRIES[s], ...plugins[s]]])) as Menus;
}

const SectionParams = z.object({ section: z.enum(MENU_SECTIONS) });

export async function menuPages(app: FastifyInstance, opts: { menus: () => Menus }) {
  app.get('/menu/:section', async (request, reply) => {
    const params = SectionParams.safeParse(request.params);
    if (!params.success) {
      return reply.page('views/pages/error.eta', { title: 'errors.notFoundTitle', message: request.t('errors.notFound'), status: 404 }, 404);
    }
    const section = params.data.section;
    return reply.page('views/pages/menu.eta', { title: `nav.${section}`, section, entries: opts.menus()[section] });
  });
}
