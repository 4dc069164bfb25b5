// Serf page: status, settings (validated, re-shown with errors), a gossip-key generator, and the
// members this node sees (from the discovery cache: a page view never waits on serf).
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ControllerContext } from '../../src/registry/define-plugin.js';
import { echoValues } from '../../src/lib/form.js';
import { registerSettingsForm } from '../../src/registry/settings-controller.js';
import { isPeer, SerfSettingsSchema, type SerfSettings } from './serf-conf.js';
import { newEncryptKey, type SerfModel } from './model.js';

const JoinQuerySchema = z.object({ join: z.string().max(260).refine(isPeer).optional() });

function formValues(settings: SerfSettings): Record<string, string> {
  return Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, Array.isArray(v) ? v.join('\n') : String(v)]));
}

export async function serfController(app: FastifyInstance, ctx: ControllerContext<SerfModel>) {
  const render = registerSettingsForm(app, ctx, {
    schema: SerfSettingsSchema,
    values: formValues,
    locals: () => ({ discovery: app.discovery?.snapshot(), profiles: ['wan', 'lan', 'local'] }),
    ownGetRoute: true,
  });

  app.get('/', async (request, reply) => {
    const query = JoinQuerySchema.safeParse(request.query ?? {});
    const join = query.success ? query.data.join : undefined;
    if (!join) return render(reply, query.success ? {} : { locals: { notice: 'serf:joinInvalid' } });
    // "Join through this node" from the search page: prefill the peer, the admin saves
    const { settings } = await ctx.model.read();
    const values = formValues(settings);
    if (!settings.peers.includes(join)) values.peers = [...settings.peers, join].join('\n');
    return render(reply, { values, locals: { notice: 'serf:joinPrefilled' } });
  });

  // Fills the key field with a fresh random key; nothing is saved until "Save".
  app.post('/generate-key', async (request, reply) => {
    const values = { ...echoValues(request.body), encryptKey: newEncryptKey() };
    return render(reply, { values, locals: { notice: 'serf:keyGenerated' } });
  });
}
