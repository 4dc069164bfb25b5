// The settings page of a service plugin, mounted under /<id>: GET / shows the status and the
// settings form; POST / validates the form (re-shown with translated errors next to the fields and
// what was typed, 400), checks it against this host, refuses while a job of the plugin is active
// (303 to that job) or while the package is not installed (303 back), then applies the settings as
// a job (303 to /jobs/<id>). Install, remove, start, stop and restart come from the registry.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TFunction } from 'i18next';
import type { z } from 'zod';
import type { JobContext } from '../core/jobs.js';
import { echoValues, parseForm, type FieldErrors, type FormResult } from '../lib/form.js';
import type { ControllerContext, PluginModel } from './define-plugin.js';

/** A setting this host contradicts (e.g. an address it does not have): i18n key (+ parameters). */
export type HostProblem = string | { key: string; params?: Record<string, string> };

/** What the page needs of the plugin's model (its own settings type in place of unknown). */
export interface SettingsModel extends PluginModel {
  /** The settings in the real files; managed = the panel wrote them. */
  read(): Promise<{ settings: object; managed: boolean }>;
  apply(settings: unknown, job?: JobContext): Promise<void>;
  /** Checks of valid settings against this host: field → problem. */
  checkHostFacts?(settings: unknown): Record<string, HostProblem>;
}

type SettingsOf<M extends SettingsModel> = Parameters<M['apply']>[0];
type ReadingOf<M extends SettingsModel> = Awaited<ReturnType<M['read']>>;
type FormValues = Record<string, string>;

export type SettingsFormOptions<M extends SettingsModel> = (
  | { /** The form, parsed with parseForm */ schema: z.ZodType<SettingsOf<M>> }
  | { /** A parser of the plugin's own */ parse(body: unknown, t: TFunction): FormResult<SettingsOf<M>> }
) & {
  /** The settings read → the form's values. */
  values(settings: ReadingOf<M>['settings']): FormValues;
  /** What the user typed, to refill the form after an error (default: echoValues). */
  echo?(body: unknown): FormValues;
  /** The template's own variables, from what the model read and the values shown. */
  locals?(reading: ReadingOf<M>, values: FormValues): Record<string, unknown>;
  /** The plugin serves GET / itself (with the render function returned). */
  ownGetRoute?: boolean;
};

export interface SettingsPageExtra {
  values?: FormValues;
  errors?: FieldErrors;
  /** More template variables (e.g. a notice) */
  locals?: Record<string, unknown>;
}

export type RenderSettingsPage = (reply: FastifyReply, extra?: SettingsPageExtra, status?: number) => Promise<FastifyReply>;

/**
 * Registers GET / (unless ownGetRoute) and POST / of the plugin's settings page
 * (views/index.eta: title, manifest, status, activeJob, values, errors, managed + locals);
 * returns the page's render function for the plugin's other routes.
 */
export function registerSettingsForm<M extends SettingsModel>(app: FastifyInstance, ctx: ControllerContext<M>, options: SettingsFormOptions<M>): RenderSettingsPage {
  const id = ctx.manifest.id;
  const echo = options.echo ?? echoValues;
  const parse = (body: unknown, t: TFunction): FormResult<SettingsOf<M>> =>
    'schema' in options ? parseForm(options.schema, body, t) : options.parse(body, t);

  const render: RenderSettingsPage = async (reply, extra = {}, status = 200) => {
    const reading = await ctx.model.read() as ReadingOf<M>;
    const values = extra.values ?? options.values(reading.settings);
    return reply.page(ctx.viewPath('index'), {
      title: `${id}:title`,
      manifest: ctx.manifest,
      status: ctx.status(),
      activeJob: ctx.jobs.activeFor(id),
      values,
      errors: extra.errors ?? {},
      managed: reading.managed,
      ...options.locals?.(reading, values),
      ...extra.locals,
    }, status);
  };

  if (!options.ownGetRoute) app.get('/', async (_request, reply) => render(reply));

  app.post('/', async (request, reply) => {
    const form = parse(request.body, request.t);
    if (!form.ok) return render(reply, { values: echo(request.body), errors: form.errors }, 400);
    const hostProblems = ctx.model.checkHostFacts?.(form.data) ?? {};
    if (Object.keys(hostProblems).length) {
      const errors = Object.fromEntries(Object.entries(hostProblems).map(([field, p]) => [field, typeof p === 'string' ? request.t(p) : request.t(p.key, p.params)]));
      return render(reply, { values: echo(request.body), errors }, 400);
    }
    const active = ctx.jobs.activeFor(id);
    if (active) {
      request.flash('warning', 'jobs.alreadyRunning');
      return reply.redirect(`/jobs/${active.id}`, 303);
    }
    if (!ctx.status()?.installed) {
      request.flash('warning', `${id}:notInstalled`);
      return reply.redirect(`/${id}`, 303);
    }
    const record = ctx.jobs.enqueue({
      title: 'jobs.apply',
      titleParams: { plugin: `${id}:title` },
      pluginId: id,
      returnTo: `/${id}`,
      run: (job) => ctx.model.apply(form.data, job),
    });
    return reply.redirect(`/jobs/${record.id}`, 303);
  });

  return render;
}
