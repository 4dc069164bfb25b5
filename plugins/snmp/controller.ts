// SNMP page: status, settings form (validated, re-shown with errors), apply as a job.
import type { FastifyInstance } from 'fastify';
import type { ControllerContext } from '../../src/registry/define-plugin.js';
import { echoValues, parseForm } from '../../src/lib/form.js';
import { SnmpSettingsSchema } from './snmpd-conf.js';
import type { SnmpModel } from './model.js';

export async function snmpController(app: FastifyInstance, ctx: ControllerContext<SnmpModel>) {
  const render = async (reply: import('fastify').FastifyReply, extra: { values?: Record<string, string>; errors?: Record<string, string> } = {}, status = 200) => {
    const { settings, managed } = await ctx.model.read();
    const values = extra.values ?? Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, String(v)]));
    return reply.page(ctx.viewPath('index'), {
      title: 'snmp:title',
      manifest: ctx.manifest,
      status: ctx.status(),
      activeJob: ctx.jobs.activeFor(ctx.manifest.id),
      values,
      errors: extra.errors ?? {},
      managed,
    }, status);
  };

  app.get('/', async (_request, reply) => render(reply));

  app.post('/', async (request, reply) => {
    const form = parseForm(SnmpSettingsSchema, request.body, request.t);
    if (!form.ok) return render(reply, { values: echoValues(request.body), errors: form.errors }, 400);
    const hostErrors = ctx.model.checkHostFacts(form.data);
    if (Object.keys(hostErrors).length) {
      const errors = Object.fromEntries(Object.entries(hostErrors).map(([field, key]) => [field, request.t(key)]));
      return render(reply, { values: echoValues(request.body), errors }, 400);
    }
    const active = ctx.jobs.activeFor(ctx.manifest.id);
    if (active) {
      request.flash('warning', 'jobs.alreadyRunning');
      return reply.redirect(`/jobs/${active.id}`, 303);
    }
    if (!ctx.status()?.installed) {
      request.flash('warning', 'snmp:notInstalled');
      return reply.redirect('/snmp', 303);
    }
    const record = ctx.jobs.enqueue({
      title: 'jobs.apply',
      titleParams: { plugin: 'snmp:title' },
      pluginId: ctx.manifest.id,
      returnTo: '/snmp',
      run: (job) => ctx.model.apply(form.data, job),
    });
    return reply.redirect(`/jobs/${record.id}`, 303);
  });
}
