// The plugin contract: a manifest (data), a model (what it changes on the OS) and a
// controller (routes under /<id>). Everything a plugin gets comes through its context.
import type { FastifyInstance } from 'fastify';
import type { FastifyBaseLogger } from 'fastify';
import type { PluginSystem } from '../system/index.js';
import type { JobContext, Jobs } from '../core/jobs.js';
import { ManifestSchema, type Manifest, type ManifestInput } from './manifest.js';
import type { CatalogueEntry } from '../discovery/record.js';

export interface PluginStatus {
  installed: boolean;
  running: boolean;
  version?: string;
  /** Extra facts for the status card: i18n key → value */
  facts?: Record<string, string>;
}

export interface PluginModel {
  status(): Promise<PluginStatus>;
  /** After apt installed the packages: write the default config, start the service. */
  afterInstall?(job: JobContext): Promise<void>;
  /** Before apt removes the packages. */
  beforeRemove?(job: JobContext): Promise<void>;
  /** Service actions; default: control the manifest's first service. */
  control?(verb: 'start' | 'stop' | 'restart', job: JobContext): Promise<void>;
  /**
   * What to announce for discovery (manifest.publish.type) while the service runs; undefined
   * when there is nothing to announce (not installed, not configured).
   */
  announcement?(): Promise<Announcement | undefined>;
}

export interface Announcement {
  port: number;
  /** Short human description (max 120 characters) */
  description: string;
  /** Small key/value facts (max 8 keys of [a-z0-9_-]{1,16}, values max 64 characters) */
  txt?: Record<string, string>;
}

/**
 * An action the search page offers on a discovered service of a type this plugin owns
 * (e.g. "use as proxy" for proxy3). Rendered escaped; POST actions carry the CSRF token.
 */
export interface SearchAction {
  /** i18n key (namespaced) of the button or label */
  label: string;
  kind: 'info' | 'link' | 'post';
  /** For 'info': text shown (e.g. "10.1.2.3:3128"); for 'link'/'post': a local path */
  text?: string;
  href?: string;
  /** Hidden fields of a 'post' action */
  fields?: Record<string, string>;
}

export interface PluginContext {
  manifest: Manifest;
  system: PluginSystem;
  dataDir: string;
  log: FastifyBaseLogger;
}

export interface ControllerContext<M extends PluginModel = PluginModel> extends PluginContext {
  model: M;
  jobs: Jobs;
  /** Renders the plugin's own template (plugins/<id>/views/<name>.eta) in the main layout. */
  viewPath(name: string): string;
  /** The last status (from the background refresh; never blocks). */
  status(): PluginStatus | undefined;
  /** Ask for a status refresh now (after a change). */
  refreshStatus(): Promise<void>;
}

export interface CloudyPlugin<M extends PluginModel = PluginModel> {
  manifest: Manifest;
  createModel(context: PluginContext): M;
  controller(app: FastifyInstance, context: ControllerContext<M>): Promise<void>;
  /** Search-page actions per discovered service type (keys: service types). */
  searchActions?: Record<string, (entry: CatalogueEntry) => SearchAction[]>;
}

/** A plugin whose manifest is checked (and its defaults filled in) once, when the plugin is defined. */
export function definePlugin<M extends PluginModel>(plugin: Omit<CloudyPlugin<M>, 'manifest'> & { manifest: ManifestInput }): CloudyPlugin<M> {
  return { ...plugin, manifest: ManifestSchema.parse(plugin.manifest) };
}
