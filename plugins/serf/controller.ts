// Serf page: status, settings (validated, re-shown with errors), a gossip-key generator, and the
// members this node sees (from the discovery cache: a page view never waits on serf).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ControllerContext } from '../../src/registry/define-plugin.js';
import { echoValues, parseForm } from '../../src/lib/form.js';
import { isPeer, SerfSettingsSchema, type SerfSettings } from './serf-conf.js';
import { newEncryptKey, type SerfModel } from './model.js';

const JoinQuerySchema = z.object({ join: z.string().max(260).refine(isPeer).optional() });

function formValues(settings: SerfSettings): Record<string, string> {
  return Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, Array.isArray(v) ? v.join('\n') : String(v)]));
}

export async function serfController(app: FastifyInstance, ctx: ControllerContext<SerfModel>) {
  const render = async (
    request: FastifyRequest,
    reply: FastifyReply,
    extra: { values?: Record<string, string>; errors?: Record<string, string>; notice?: string } = {},
    status = 200,
  ) => {
    const { settings, managed } = await ctx.model.read();
    const discovery = app.discovery?.snapshot();
    return reply.page(ctx.viewPath('index'), {
      title: 'serf:title',
      manifest: ctx.manifest,
      status: ctx.status(),
      activeJob: ctx.jobs.activeFor(ctx.manifest.id),
      values: extra.values ?? formValues(settings),
      errors: extra.errors ?? {},
      notice: extra.notice,
      managed,
      discovery,
      profiles: ['wan', 'lan', 'local'],
    }, status);
  };

  app.get('/', async (request, reply) => {
    const query = JoinQuerySchema.safeParse(request.query ?? {});
    const join = query.success ? query.data.join : undefined;
    if (!join) return render(request, reply, query.success ? {} : { notice: 'serf:joinInvalid' });
    // "Join through this node" from the search page: prefill the peer, the admin saves
    const { settings } = await ctx.model.read();
    const values = formValues(settings);
    if (!settings.peers.includes(join)) values.peers = [...settings.peers, join].join('\n');
    return render(request, reply, { values, notice: 'serf:joinPrefilled' });
  });

  // Fills the key field with a fresh random key; nothing is saved until "Save".
  app.post('/generate-key', async (request, reply) => {
    const values = { ...echoValues(request.body), encryptKey: newEncryptKey() };
    return render(request, reply, { values, notice: 'serf:keyGenerated' });
  });

  app.post('/', async (request, reply) => {
    const form = parseForm(SerfSettingsSchema, request.body, request.t);
    if (!form.ok) return render(request, reply, { values: echoValues(request.body), errors: form.errors }, 400);
    const active = ctx.jobs.activeFor(ctx.manifest.id);
    if (active) {
      request.flash('warning', 'jobs.alreadyRunning');
      return reply.redirect(`/jobs/${active.id}`, 303);
    }
    if (!ctx.status()?.installed) {
      request.flash('warning', 'serf:notInstalled');
      return reply.redirect('/serf', 303);
    }
    const record = ctx.jobs.enqueue({
      title: 'jobs.apply',
      titleParams: { plugin: 'serf:title' },
      pluginId: ctx.manifest.id,
      returnTo: '/serf',
      run: (job) => ctx.model.apply(form.data, job),
    });
    return reply.redirect(`/jobs/${record.id}`, 303);
  });
}
