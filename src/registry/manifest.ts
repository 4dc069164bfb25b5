// What a plugin is, as data: validated at start-up. The id is the folder, the route prefix,
// the i18n namespace and the log name.
import { z } from 'zod';
import { PACKAGE_NAME } from '../system/apt.js';

export const MENU_SECTIONS = ['system', 'search', 'clommunity', 'guifi'] as const;
export type MenuSection = (typeof MENU_SECTIONS)[number];

const AbsolutePath = z.string().regex(/^\/(?!.*\/\.\.(\/|$))[A-Za-z0-9._@+\/-]+$/);

export const DaemonSpecSchema = z.object({
  argv: z.array(z.string().min(1)).min(1),
  pidFile: AbsolutePath,
  logFile: AbsolutePath,
  user: z.string().regex(/^[a-z_][a-z0-9_-]*$/).optional(),
  env: z.record(z.string(), z.string()).optional(),
});

export const ServiceSpecSchema = z.object({
  name: z.string().regex(/^[a-zA-Z0-9@._-]+$/),
  unit: z.string().regex(/^[a-zA-Z0-9@._-]+$/).optional(),
  initScript: z.string().regex(/^[a-zA-Z0-9@._-]+$/).optional(),
  daemon: DaemonSpecSchema.optional(),
});

export const ManifestSchema = z.object({
  id: z.string().regex(/^[a-z][a-z0-9-]{1,30}$/),
  /** Setup version: bump when the plugin needs a migration on existing nodes. */
  version: z.number().int().min(1),
  menu: z.object({
    section: z.enum(MENU_SECTIONS),
    /** Lower first. Bands: 10–49 services, 50–89 tools, 90+ settings. */
    order: z.number().int().min(0).max(999),
  }),
  /** i18n keys in the plugin's namespace */
  title: z.string().min(1),
  description: z.string().min(1),
  packages: z.array(z.string().regex(PACKAGE_NAME)).min(1),
  debconf: z.array(z.object({
    owner: z.string(),
    question: z.string(),
    type: z.enum(['string', 'boolean', 'select', 'password', 'note', 'multiselect']),
    value: z.string(),
  })).default([]),
  /** The first service is the plugin's main daemon (start/stop/restart buttons). */
  services: z.array(ServiceSpecSchema).min(1),
  configFiles: z.array(AbsolutePath).default([]),
  commands: z.array(z.string().min(1)).default([]),
  ports: z.array(z.object({ port: z.number().int().min(1).max(65535), protocol: z.enum(['tcp', 'udp']) })).default([]),
  /** Discovery service type announced while the service runs (serf + mDNS). */
  publish: z.object({ type: z.string().regex(/^[a-z0-9][a-z0-9-]{0,30}$/) }).optional(),
});

export type Manifest = z.infer<typeof ManifestSchema>;
export type ManifestInput = z.input<typeof ManifestSchema>;
