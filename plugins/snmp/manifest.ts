// SNMP agent (Debian's snmpd) so guifi.net graph servers can read this node's traffic counters.
import type { ManifestInput } from '../../src/registry/manifest.js';

export const SNMPD_CONF = '/etc/snmp/snmpd.conf';

export const manifest = {
  id: 'snmp',
  version: 1,
  menu: { section: 'guifi', order: 50 },
  title: 'title',
  description: 'description',
  packages: ['snmpd'],
  services: [{ name: 'snmpd' }],
  configFiles: [SNMPD_CONF],
  commands: [],
  ports: [{ port: 161, protocol: 'udp' }],
} satisfies ManifestInput;
