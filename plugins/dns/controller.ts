// DNS page: status, settings form (validated line by line, re-shown with errors), apply as a job.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ControllerContext } from '../../src/registry/define-plugin.js';
import { echoValues } from '../../src/lib/form.js';
import { LIMITS, parseDnsForm, settingsToForm, TEXTAREAS, type DnsSettings } from './dns-conf.js';
import type { DnsModel } from './model.js';

/** What the user typed, to refill the form; list fields may be longer than echoValues keeps. */
function echo(body: unknown): Record<string, string> {
  const values = echoValues(body);
  const raw = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  for (const name of TEXTAREAS) {
    const value = raw[name];
    if (typeof value === 'string') values[name] = value.slice(0, LIMITS.text + 1);
  }
  return values;
}

/** Addresses other machines can use ("all" = every address of this node); [] = this node only. */
function clientAddresses(s: DnsSettings): string[] | 'all' {
  if (s.listenAddresses.includes('0.0.0.0')) return 'all';
  const suffix = s.port === 53 ? '' : `#${s.port}`;
  return s.listenAddresses.filter((a) => !a.startsWith('127.')).map((a) => a + suffix);
}

export async function dnsController(app: FastifyInstance, ctx: ControllerContext<DnsModel>) {
  const render = async (reply: FastifyReply, extra: { values?: Record<string, string>; errors?: Record<string, string> } = {}, status = 200) => {
    const { settings, managed } = await ctx.model.read();
    return reply.page(ctx.viewPath('index'), {
      title: 'dns:title',
      manifest: ctx.manifest,
      status: ctx.status(),
      activeJob: ctx.jobs.activeFor(ctx.manifest.id),
      values: extra.values ?? settingsToForm(settings),
      errors: extra.errors ?? {},
      managed,
      // what clients should use as their DNS server (shown once the panel manages named)
      clients: managed ? clientAddresses(settings) : undefined,
    }, status);
  };

  app.get('/', async (_request, reply) => render(reply));

  app.post('/', async (request, reply) => {
    const form = parseDnsForm(request.body, request.t);
    if (!form.ok) return render(reply, { values: echo(request.body), errors: form.errors }, 400);
    const hostErrors = ctx.model.checkHostFacts(form.data);
    if (Object.keys(hostErrors).length) {
      const errors = Object.fromEntries(Object.entries(hostErrors).map(([field, p]) => [field, request.t(p.key, p.params)]));
      return render(reply, { values: echo(request.body), errors }, 400);
    }
    const active = ctx.jobs.activeFor(ctx.manifest.id);
    if (active) {
      request.flash('warning', 'jobs.alreadyRunning');
      return reply.redirect(`/jobs/${active.id}`, 303);
    }
    if (!ctx.status()?.installed) {
      request.flash('warning', 'dns:notInstalled');
      return reply.redirect('/dns', 303);
    }
    const record = ctx.jobs.enqueue({
      title: 'jobs.apply',
      titleParams: { plugin: 'dns:title' },
      pluginId: ctx.manifest.id,
      returnTo: '/dns',
      run: (job) => ctx.model.apply(form.data, job),
    });
    return reply.redirect(`/jobs/${record.id}`, 303);
  });
}
