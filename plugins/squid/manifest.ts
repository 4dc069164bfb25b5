// Squid web proxy/cache (Debian's squid), the successor of guifi.net's "Proxy3": a caching proxy
// for the community network, optionally with LDAP logins and a parent proxy (federation).
import type { ManifestInput } from '../../src/registry/manifest.js';

/** The panel's own fragment, included by Debian's squid.conf (the only file the panel writes). */
export const SQUID_FRAGMENT = '/etc/squid/conf.d/cloudy.conf';
/** The admin's main config: read (its own http_port lines), never written. */
export const SQUID_CONF = '/etc/squid/squid.conf';
export const SQUID_BIN = '/usr/sbin/squid';

export const manifest = {
  id: 'squid',
  version: 1,
  menu: { section: 'guifi', order: 20 },
  title: 'title',
  description: 'description',
  packages: ['squid'],
  services: [{ name: 'squid' }],
  configFiles: [SQUID_FRAGMENT, SQUID_CONF],
  commands: [SQUID_BIN],
  ports: [{ port: 3128, protocol: 'tcp' }],
  publish: { type: 'proxy3' },
} satisfies ManifestInput;
