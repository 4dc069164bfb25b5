// The panel's own settings: one zod-validated JSON file in the config dir (/etc/cloudy),
// with environment overrides for development (CLOUDY_CONFIG_DIR, CLOUDY_DATA_DIR, ...).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConfigFiles } from './system/files.js';
import { RootPrefix } from './system/root.js';

export const LdapSettingsSchema = z.object({
  enabled: z.boolean().default(false),
  /** Tried in order; the second and later are fail-over servers. */
  urls: z.array(z.string().regex(/^ldaps?:\/\/[^\s/]+\/?$/)).max(4).default([]),
  /** "uid={user},ou=people,dc=example,dc=org": bind directly as the user. */
  bindDnPattern: z.string().max(300).default(''),
  /** Search-then-bind, used when no pattern is set. */
  searchBase: z.string().max(300).default(''),
  searchFilter: z.string().max(300).default('(uid={user})'),
  searchBindDn: z.string().max(300).default(''),
  searchBindPassword: z.string().max(300).default(''),
  /** Only members of this group (DN) may log in as admin; empty = any valid user. */
  adminGroupDn: z.string().max(300).default(''),
  startTls: z.boolean().default(false),
  tlsVerify: z.boolean().default(true),
  timeoutMs: z.number().int().min(200).max(30_000).default(3000),
});
export type LdapSettings = z.infer<typeof LdapSettingsSchema>;

/**
 * mDNS (multicast DNS-SD) in the micro cloud. Off unless switched on AND bound to an interface:
 * it multicasts, so it must never run on an interface nobody chose (e.g. a VM's uplink).
 */
export const MdnsSettingsSchema = z.object({
  enabled: z.boolean().default(false),
  /** Network interface of the micro cloud (e.g. the tinc device); empty = mDNS stays off. */
  interface: z.string().regex(/^$|^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,14}$/).default(''),
});
export type MdnsSettings = z.infer<typeof MdnsSettingsSchema>;

export const PanelSettingsSchema = z.object({
  host: z.string().default('0.0.0.0'),
  port: z.number().int().min(1).max(65535).default(7000),
  defaultLanguage: z.string().default('en'),
  ldap: LdapSettingsSchema.default(LdapSettingsSchema.parse({})),
  mdns: MdnsSettingsSchema.default(MdnsSettingsSchema.parse({})),
});
export type PanelSettings = z.infer<typeof PanelSettingsSchema>;

export interface PanelConfig {
  configDir: string;
  dataDir: string;
  /** "/" in production; a folder when developing or testing against a fake root. */
  rootPrefix: string;
  settings: PanelSettings;
}

export const SETTINGS_FILE = 'cloudy.json';

export function configPaths(env: NodeJS.ProcessEnv = process.env) {
  return {
    configDir: path.resolve(env.CLOUDY_CONFIG_DIR ?? '/etc/cloudy'),
    dataDir: path.resolve(env.CLOUDY_DATA_DIR ?? '/var/lib/cloudy'),
    rootPrefix: path.resolve(env.CLOUDY_ROOT_PREFIX ?? '/'),
  };
}

export async function loadConfig(env: NodeJS.ProcessEnv = process.env): Promise<PanelConfig> {
  const paths = configPaths(env);
  let raw: unknown = {};
  try {
    raw = JSON.parse(await fs.readFile(path.join(paths.configDir, SETTINGS_FILE), 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${SETTINGS_FILE}: ${(error as Error).message}`);
  }
  const settings = PanelSettingsSchema.parse(raw);
  if (env.CLOUDY_PORT) settings.port = z.coerce.number().int().min(0).max(65535).parse(env.CLOUDY_PORT);
  if (env.CLOUDY_HOST) settings.host = z.string().min(1).parse(env.CLOUDY_HOST);
  return { ...paths, settings };
}

/**
 * Changes some settings in the file, atomically (0600: it holds the LDAP search password).
 * Only the given keys change: environment overrides (CLOUDY_PORT...) never leak into the file.
 */
export async function updateSettingsFile(configDir: string, change: Partial<PanelSettings>): Promise<void> {
  const file = path.join(configDir, SETTINGS_FILE);
  let current: unknown = {};
  try {
    current = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const next = PanelSettingsSchema.parse({ ...(current as object), ...change });
  await new ConfigFiles(new RootPrefix('/')).writeAtomic(file, JSON.stringify(next, null, 2) + '\n', { mode: 0o600 });
}
