// buildApp(options): the whole panel as a Fastify instance. Never listens (server.ts does).
import { promises as fs } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import { createSystem, type Runner, type System } from './system/index.js';
import { HostStatusCache } from './system/sysinfo.js';
import { ConfigFiles } from './system/files.js';
import { RootPrefix } from './system/root.js';
import compressPlugin from './core/compress.js';
import i18nPlugin, { createI18n, isLanguage } from './core/i18n.js';
import sessionPlugin from './core/session.js';
import csrfPlugin from './core/csrf.js';
import viewPlugin from './core/view.js';
import authPlugin from './core/auth.js';
import { AdminStore } from './core/admin-store.js';
import { LoginThrottle } from './core/login-throttle.js';
import { Jobs } from './core/jobs.js';
import { Registry } from './registry/registry.js';
import type { CloudyPlugin } from './registry/define-plugin.js';
import { statusPages } from './pages/status.js';
import { languagePages } from './pages/languages.js';
import { systemPages } from './pages/system.js';
import { jobPages } from './pages/jobs.js';
import { searchPages } from './pages/search.js';
import { menuPages, withCoreEntries } from './pages/menu.js';
import { Catalogue } from './discovery/catalogue.js';
import { createMdns, type MdnsDiscovery } from './discovery/mdns.js';
import { createSerfDiscovery, type Discovery } from './discovery/discovery.js';
import { MdnsPublishing } from './discovery/mdns-publisher.js';
import { registryServices } from './discovery/publisher.js';
import { updateSettingsFile, type PanelConfig } from './config.js';
import { plugins as defaultPlugins } from '../plugins/index.js';

const BACKGROUND_DELAY_MS = 1500;

/**
 * Fastify's JSON-schema compilers (ajv, fast-json-stringify) load when a route first declares a
 * schema, not at every start (~10 ms and a few MB): the panel validates with zod, so they never
 * load unless somebody adds a Fastify schema, which then works as usual.
 */
type CompilerFactory = (...args: unknown[]) => unknown;
/** Fastify's own dependency, resolved from where Fastify is installed (as Fastify would). */
const fastifyDependency = (name: string) => {
  const requireHere = createRequire(import.meta.url);
  return (createRequire(requireHere.resolve('fastify'))(name) as () => CompilerFactory)();
};
let validatorFactory: CompilerFactory | undefined;
let serializerFactory: CompilerFactory | undefined;
const schemaCompilersOnDemand = {
  buildValidator: (...args: unknown[]) => (validatorFactory ??= fastifyDependency('@fastify/ajv-compiler'))(...args),
  buildSerializer: (...args: unknown[]) => (serializerFactory ??= fastifyDependency('@fastify/fast-json-stringify-compiler'))(...args),
} as unknown as NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;

/**
 * Fastify's access log ("incoming request", "request completed") at level debug instead of info:
 * two JSON lines per page view cost about as much CPU as rendering the page, and journald keeps
 * them. LOG_LEVEL=debug shows them; errors are still logged as Fastify does.
 */
class DebugAccessLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) super.requestCompleted(error, request, reply);
    else reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

/** The repository (or installed package) root: views/, locales/, public/, plugins/ live here. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), fileURLToPath(import.meta.url).includes('/dist/') ? '../..' : '..');

export interface BuildOptions {
  config: PanelConfig;
  /** Injected command runner (tests record argv); default: execa. */
  runner?: Runner;
  plugins?: readonly CloudyPlugin[];
  logger?: FastifyServerOptions['logger'];
  /** Start background refreshers (status, sysinfo). Off in unit tests for determinism. */
  background?: boolean;
  /** How long after ready the background refreshers start (default 1.5 s). */
  backgroundDelayMs?: number;
  throttle?: LoginThrottle;
}

declare module 'fastify' {
  interface FastifyInstance {
    system: System;
    registry: Registry;
    jobs: Jobs;
    hostStatus: HostStatusCache;
    panelConfig: PanelConfig;
    /** Every service this node knows of (serf, mDNS, legacy), kept fresh in the background. */
    catalogue: Catalogue;
    /** mDNS in the micro cloud (MdnsAnnouncer for publishers); undefined while it is off (the default). */
    mdns: MdnsDiscovery | undefined;
    /** Serf discovery: refreshes the catalogue from serf and announces this node's services. */
    discovery: Discovery;
    /** Every route, as registered (the CSRF test walks the POST ones). */
    routeTable: { method: string; url: string; public: boolean }[];
  }
}

async function loadSessionKey(configDir: string): Promise<Buffer> {
  const file = path.join(configDir, 'session.key');
  try {
    const key = Buffer.from((await fs.readFile(file, 'utf8')).trim(), 'base64');
    if (key.length === 32) return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const key = randomBytes(32);
  await new ConfigFiles(new RootPrefix('/')).writeAtomic(file, key.toString('base64') + '\n', { mode: 0o600 }, false);
  return key;
}

export async function buildApp(options: BuildOptions): Promise<FastifyInstance> {
  const { config } = options;
  const app = Fastify({
    logger: options.logger ?? false,
    logController: new DebugAccessLog(),
    schemaController: { compilersFactory: schemaCompilersOnDemand },
    trustProxy: false,
    bodyLimit: 256 * 1024,
    routerOptions: { ignoreTrailingSlash: true },
  });
  const routeTable: FastifyInstance['routeTable'] = [];
  app.decorate('routeTable', routeTable);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      routeTable.push({ method, url: route.url, public: Boolean((route.config as { public?: boolean } | undefined)?.public) });
    }
  });
  await fs.mkdir(config.configDir, { recursive: true, mode: 0o700 });
  await fs.mkdir(config.dataDir, { recursive: true, mode: 0o700 });

  const system = createSystem({ rootPrefix: config.rootPrefix, runner: options.runner });
  const registry = new Registry(options.plugins ?? defaultPlugins, { system, dataDir: config.dataDir, log: app.log, projectRoot: PROJECT_ROOT });
  let discovery: Discovery | undefined;
  const jobs = new Jobs(config.dataDir, app.log, async (record) => {
    if (record.pluginId) await registry.refreshStatus(record.pluginId);
    discovery?.publishSoon(); // a service may have started or stopped: re-announce soon
    void mdnsPublishing?.publishNow();
  });
  await jobs.init();
  const hostStatus = new HostStatusCache();
  const admin = new AdminStore(config.configDir);
  const { createdPassword } = await admin.init();
  if (createdPassword) {
    app.log.warn(`first start: local admin "admin" created with password ${createdPassword} (also in ${path.join(config.configDir, 'initial-admin-password')}, mode 0600); change it under System → Change password`);
  }
  const i18n = await createI18n(PROJECT_ROOT, registry.ids);

  app.decorate('system', system);
  app.decorate('registry', registry);
  app.decorate('jobs', jobs);
  app.decorate('hostStatus', hostStatus);
  app.decorate('panelConfig', config);
  // One catalogue for every discovery source (decorated once, whoever gets here first).
  if (!app.hasDecorator('catalogue')) app.decorate('catalogue', new Catalogue());
  const mdns = createMdns(config.settings.mdns, {
    catalogue: app.catalogue,
    log: app.log.child({ component: 'mdns' }),
    knownTypes: () => [
      ...[...registry.plugins.values()].flatMap(({ context }) => (context.manifest.publish ? [context.manifest.publish.type] : [])),
      ...app.catalogue.facets().types.map(([type]) => type),
    ],
  });
  app.decorate('mdns', mdns);
  const mdnsPublishing = mdns && new MdnsPublishing({
    mdns,
    services: registryServices(registry, app.log),
    interfaceName: config.settings.mdns.interface,
    log: app.log.child({ component: 'mdns-publisher' }),
  });
  discovery = createSerfDiscovery({ catalogue: app.catalogue, registry, system, log: app.log.child({ component: 'serf-discovery' }) });
  app.decorate('discovery', discovery);

  await app.register(compressPlugin, { threshold: 1024 });
  await app.register(fastifyCookie);
  await app.register(fastifyFormbody, { bodyLimit: 256 * 1024 });
  await app.register(i18nPlugin, { i18n, defaultLanguage: isLanguage(config.settings.defaultLanguage) ? config.settings.defaultLanguage : 'en' });
  await app.register(sessionPlugin, { key: await loadSessionKey(config.configDir) });
  const menus = withCoreEntries(registry.menus()); // fixed once the plugins are loaded
  await app.register(viewPlugin, { projectRoot: PROJECT_ROOT, menus: () => menus, production: process.env.NODE_ENV !== 'development' });
  await app.register(csrfPlugin);
  await app.register(authPlugin, { admin, ldapSettings: () => config.settings.ldap, throttle: options.throttle });

  await app.register(statusPages, { host: hostStatus, registry });
  await app.register(languagePages);
  await app.register(menuPages, { menus: () => menus });
  await app.register(jobPages, { jobs });
  await app.register(searchPages, { catalogue: () => app.catalogue, registry });
  await app.register(systemPages, {
    saveLdap: async (ldap) => {
      config.settings.ldap = ldap;
      await updateSettingsFile(config.configDir, { ldap });
    },
  });
  await registry.mount(app, jobs);

  app.setNotFoundHandler({ preHandler: undefined }, async (request, reply) =>
    reply.page('views/pages/error.eta', { title: 'errors.notFoundTitle', message: request.t('errors.notFound'), status: 404 }, 404));
  app.setErrorHandler(async (error: Error & { statusCode?: number }, request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) request.log.error({ err: error, url: request.url }, 'request failed');
    if (!request.t) return reply.code(status).send({ error: status === 500 ? 'internal error' : error.message });
    return reply.page('views/pages/error.eta', {
      title: status === 500 ? 'errors.internalTitle' : 'errors.badRequestTitle',
      message: request.t(status === 500 ? 'errors.internal' : 'errors.badRequest'),
      status,
    }, status);
  });

  if (options.background ?? true) {
    // Shortly after start-up, not during it: the refreshers spawn processes (service status) and
    // read /proc and /sys, which would compete with the first requests on a small box. Until then
    // the status page shows node:os facts and "status unknown".
    let timer: NodeJS.Timeout | undefined;
    app.addHook('onReady', async () => {
      timer = setTimeout(() => {
        hostStatus.start();
        registry.startBackgroundRefresh();
        discovery?.start();
      }, options.backgroundDelayMs ?? BACKGROUND_DELAY_MS);
      timer.unref();
    });
    app.addHook('onClose', async () => clearTimeout(timer));
  } else {
    app.addHook('onReady', async () => registry.refreshAll());
  }
  if (mdns) app.addHook('onReady', async () => { await mdns.start(); mdnsPublishing?.start(); });
  app.addHook('onClose', async () => {
    await mdnsPublishing?.stop();
    await mdns?.close();
    await discovery?.stop();
    hostStatus.stop();
    registry.stop();
    await jobs.idle();
  });
  return app;
}
