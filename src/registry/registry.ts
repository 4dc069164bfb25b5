// Validates the plugin list, gives each plugin its scoped system handle and model, mounts its
// controller under /<id> with the shared lifecycle actions, keeps every plugin's status fresh
// in the background, and builds the menus from the manifests.
import path from 'node:path';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { System } from '../system/index.js';
import type { Jobs, JobContext } from '../core/jobs.js';
import { ManifestSchema, MENU_SECTIONS, type MenuSection } from './manifest.js';
import type { CloudyPlugin, PluginContext, PluginModel, PluginStatus } from './define-plugin.js';

export interface MenuEntry {
  id: string;
  /** i18n key (namespaced) */
  title: string;
  href: string;
  order: number;
}

export type Menus = Record<MenuSection, MenuEntry[]>;

export interface LoadedPlugin {
  plugin: CloudyPlugin;
  context: PluginContext;
  model: PluginModel;
}

const STATUS_INTERVAL_MS = 20_000;
export const LIFECYCLE_ACTIONS = ['install', 'remove', 'purge', 'start', 'stop', 'restart'] as const;
export type LifecycleAction = (typeof LIFECYCLE_ACTIONS)[number];
const RemoveFormSchema = z.object({ purge: z.literal('on').optional() });

export class Registry {
  readonly plugins = new Map<string, LoadedPlugin>();
  private readonly statuses = new Map<string, PluginStatus>();
  private timer?: NodeJS.Timeout;

  constructor(
    plugins: readonly CloudyPlugin[],
    private readonly deps: { system: System; dataDir: string; log: FastifyBaseLogger; projectRoot: string },
  ) {
    for (const plugin of plugins) {
      const manifest = ManifestSchema.parse(plugin.manifest);
      if (this.plugins.has(manifest.id)) throw new Error(`duplicate plugin id ${manifest.id}`);
      const context: PluginContext = {
        manifest,
        system: deps.system.forPlugin(manifest),
        dataDir: path.join(deps.dataDir, 'plugins', manifest.id),
        log: deps.log.child({ plugin: manifest.id }),
      };
      this.plugins.set(manifest.id, { plugin, context, model: plugin.createModel(context) });
    }
  }

  get ids(): string[] {
    return [...this.plugins.keys()];
  }

  status(id: string): PluginStatus | undefined {
    return this.statuses.get(id);
  }

  async refreshStatus(id: string): Promise<void> {
    const loaded = this.plugins.get(id);
    if (!loaded) return;
    try {
      this.statuses.set(id, await loaded.model.status());
    } catch (error) {
      loaded.context.log.warn({ err: error }, 'status refresh failed');
    }
  }

  async refreshAll(): Promise<void> {
    await Promise.all(this.ids.map((id) => this.refreshStatus(id)));
  }

  startBackgroundRefresh(): void {
    void this.refreshAll();
    this.timer = setInterval(() => void this.refreshAll(), STATUS_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private menusCache?: Menus;

  /** The plugins' menu entries by section (computed once: the plugin list never changes). Read-only. */
  menus(): Menus {
    if (this.menusCache) return this.menusCache;
    const menus = Object.fromEntries(MENU_SECTIONS.map((s) => [s, [] as MenuEntry[]])) as Menus;
    for (const { context: { manifest } } of this.plugins.values()) {
      menus[manifest.menu.section].push({
        id: manifest.id,
        title: `${manifest.id}:${manifest.title}`,
        href: `/${manifest.id}`,
        order: manifest.menu.order,
      });
    }
    for (const section of MENU_SECTIONS) Object.freeze(menus[section].sort((a, b) => a.order - b.order || a.id.localeCompare(b.id)));
    this.menusCache = Object.freeze(menus);
    return menus;
  }

  /** The shared lifecycle of every plugin: the web actions and the CLI both run this. */
  async runLifecycle(id: string, action: LifecycleAction, job: JobContext): Promise<void> {
    const loaded = this.plugins.get(id);
    if (!loaded) throw new Error(`no plugin ${id}`);
    const { context, model } = loaded;
    const mainService = context.manifest.services[0]!.name;
    switch (action) {
      case 'install':
        job.progress(1, 'apt-get install');
        await context.system.install({
          onProgress: (p) => job.progress(Math.min(p.percent, 95), p.message),
          onLine: (line) => job.log(line),
        });
        job.progress(95, 'configure');
        if (model.afterInstall) await model.afterInstall(job);
        break;
      case 'remove':
      case 'purge':
        if (model.beforeRemove) await model.beforeRemove(job);
        else await context.system.control(mainService, 'stop').catch((e) => job.log(`stop: ${(e as Error).message}`));
        await context.system.remove({
          purge: action === 'purge',
          onProgress: (p) => job.progress(p.percent, p.message),
          onLine: (line) => job.log(line),
        });
        break;
      default:
        job.progress(10, `${action} ${mainService}`);
        if (model.control) await model.control(action, job);
        else await context.system.control(mainService, action);
        job.log(`${action} ${mainService}: done`);
    }
  }

  /** Mounts every plugin: lifecycle actions + its own controller, encapsulated under /<id>. */
  async mount(app: FastifyInstance, jobs: Jobs): Promise<void> {
    for (const [id, loaded] of this.plugins) {
      const { plugin, context, model } = loaded;
      await app.register(async (scope) => {
        const enqueue = (
          request: import('fastify').FastifyRequest,
          reply: import('fastify').FastifyReply,
          title: string,
          run: (job: JobContext) => Promise<void>,
        ) => {
          const active = jobs.activeFor(id);
          if (active) {
            request.flash('warning', 'jobs.alreadyRunning');
            return reply.redirect(`/jobs/${active.id}`, 303);
          }
          const record = jobs.enqueue({ title, titleParams: { plugin: `${id}:${context.manifest.title}` }, pluginId: id, returnTo: `/${id}`, run });
          return reply.redirect(`/jobs/${record.id}`, 303);
        };

        scope.post('/install', async (request, reply) =>
          enqueue(request, reply, 'jobs.install', (job) => this.runLifecycle(id, 'install', job)));

        scope.post('/remove', async (request, reply) => {
          const form = RemoveFormSchema.safeParse(request.body ?? {});
          const purge = form.success && form.data.purge === 'on';
          return enqueue(request, reply, purge ? 'jobs.purge' : 'jobs.remove', (job) => this.runLifecycle(id, purge ? 'purge' : 'remove', job));
        });

        for (const verb of ['start', 'stop', 'restart'] as const) {
          scope.post(`/${verb}`, async (request, reply) => enqueue(request, reply, `jobs.${verb}`, (job) => this.runLifecycle(id, verb, job)));
        }

        await plugin.controller(scope, {
          ...context,
          model,
          jobs,
          viewPath: (name) => `plugins/${id}/views/${name}.eta`,
          status: () => this.statuses.get(id),
          refreshStatus: () => this.refreshStatus(id),
        });
      }, { prefix: `/${id}` });
    }
  }
}
