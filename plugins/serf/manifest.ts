// Serf gossip agent (Debian's serf): the community-wide service announcement network. Other
// nodes' services reach the search page through it, and this node's services are announced
// over it (see src/discovery/README.md).
import type { ManifestInput } from '../../src/registry/manifest.js';

export const SERF_CONF = '/etc/serf/cloudy.json';
export const SERF_USER = '_serf';
export const DEFAULT_BIND_PORT = 5000;

export const manifest = {
  id: 'serf',
  version: 1,
  menu: { section: 'search', order: 10 },
  title: 'title',
  description: 'description',
  packages: ['serf'],
  services: [{
    name: 'serf',
    // Debian ships /etc/init.d/serf and serf.service (both run `serf agent -config-dir /etc/serf`);
    // on a host with neither the panel supervises the same command line itself.
    daemon: {
      argv: ['/usr/bin/serf', 'agent', '-config-dir=/etc/serf'],
      pidFile: '/run/cloudy/serf.pid',
      logFile: '/var/log/cloudy/serf.log',
      user: SERF_USER,
    },
  }],
  configFiles: [SERF_CONF],
  commands: ['serf', 'getent'],
  ports: [{ port: DEFAULT_BIND_PORT, protocol: 'tcp' }, { port: DEFAULT_BIND_PORT, protocol: 'udp' }],
  publish: { type: 'serf' },
} satisfies ManifestInput;
