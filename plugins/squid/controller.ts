// Squid page: status, settings form (validated, re-shown with errors), apply as a job.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ControllerContext } from '../../src/registry/define-plugin.js';
import { echoValues, parseForm } from '../../src/lib/form.js';
import { ERROR_LANGUAGES, SquidSettingsSchema, toFormValues } from './squid-conf.js';
import type { SquidModel } from './model.js';

export async function squidController(app: FastifyInstance, ctx: ControllerContext<SquidModel>) {
  const render = async (reply: FastifyReply, extra: { values?: Record<string, string>; errors?: Record<string, string> } = {}, status = 200) => {
    const { settings, managed, mainPorts } = await ctx.model.read();
    const values = extra.values ?? toFormValues(settings);
    return reply.page(ctx.viewPath('index'), {
      title: 'squid:title',
      manifest: ctx.manifest,
      status: ctx.status(),
      activeJob: ctx.jobs.activeFor(ctx.manifest.id),
      values,
      errors: extra.errors ?? {},
      managed,
      // squid.conf's own listeners other than the configured port (Debian: http_port 3128)
      extraPorts: mainPorts.filter((p) => String(p) !== values.port),
      errorLanguages: ERROR_LANGUAGES,
    }, status);
  };

  app.get('/', async (_request, reply) => render(reply));

  app.post('/', async (request, reply) => {
    const form = parseForm(SquidSettingsSchema, request.body, request.t);
    if (!form.ok) return render(reply, { values: echoValues(request.body), errors: form.errors }, 400);
    const hostProblems = ctx.model.checkHostFacts(form.data);
    if (Object.keys(hostProblems).length) {
      const errors = Object.fromEntries(Object.entries(hostProblems).map(([field, p]) => [field, request.t(p.key, p.params)]));
      return render(reply, { values: echoValues(request.body), errors }, 400);
    }
    const active = ctx.jobs.activeFor(ctx.manifest.id);
    if (active) {
      request.flash('warning', 'jobs.alreadyRunning');
      return reply.redirect(`/jobs/${active.id}`, 303);
    }
    if (!ctx.status()?.installed) {
      request.flash('warning', 'squid:notInstalled');
      return reply.redirect('/squid', 303);
    }
    const record = ctx.jobs.enqueue({
      title: 'jobs.apply',
      titleParams: { plugin: 'squid:title' },
      pluginId: ctx.manifest.id,
      returnTo: '/squid',
      run: (job) => ctx.model.apply(form.data, job),
    });
    return reply.redirect(`/jobs/${record.id}`, 303);
  });
}
