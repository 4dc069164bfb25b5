// The plugin contract: a manifest (data), a model (what it changes on the OS) and a
// controller (routes under /<id>). Everything a plugin gets comes through its context.
import type { FastifyInstance } from 'fastify';
import type { FastifyBaseLogger } from 'fastify';
import type { PluginSystem } from '../system/index.js';
import type { JobContext, Jobs } from '../core/jobs.js';
import { ManifestSchema, type Manifest, type ManifestInput } from './manifest.js';

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
}

export function definePlugin<M extends PluginModel>(plugin: {
  manifest: ManifestInput;
  createModel(context: PluginContext): M;
  controller(app: FastifyInstance, context: ControllerContext<M>): Promise<void>;
}): CloudyPlugin<M> {
  return { ...plugin, manifest: ManifestSchema.parse(plugin.manifest) };
}
