// Home after login: the host at a glance and one card per plugin, all from memory.
import type { FastifyInstance } from 'fastify';
import type { HostStatusCache } from '../system/sysinfo.js';
import type { Registry } from '../registry/registry.js';

export async function statusPages(app: FastifyInstance, opts: { host: HostStatusCache; registry: Registry }) {
  app.get('/', async (_request, reply) => {
    const host = opts.host.get();
    const plugins = [...opts.registry.plugins.values()].map(({ context: { manifest } }) => ({
      id: manifest.id,
      title: `${manifest.id}:${manifest.title}`,
      description: `${manifest.id}:${manifest.description}`,
      section: manifest.menu.section,
      publish: manifest.publish?.type,
      status: opts.registry.status(manifest.id),
    }));
    return reply.page('views/pages/status.eta', { title: 'status.title', host, plugins });
  });

  app.get('/healthz', { config: { public: true } }, async () => ({ ok: true }));
}
