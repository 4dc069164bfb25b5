// DNS server (Debian's bind9, service `named`): an authoritative zone for the micro cloud, a
// resolver for the community's clients, forwarders and per-domain forward zones (guifi.net).
import type { ManifestInput } from '../../src/registry/manifest.js';

/** Debian's main file: includes the three below. The panel never writes it. */
export const NAMED_CONF = '/etc/bind/named.conf';
/** Owned by the panel: the whole `options { }` block (Debian's original is kept, see below). */
export const OPTIONS_CONF = '/etc/bind/named.conf.options';
/** The admin's file: the panel only adds one managed include line to it. */
export const LOCAL_CONF = '/etc/bind/named.conf.local';
/** Owned by the panel: zones.conf, the zone file, and the copy of Debian's options file. */
export const CLOUDY_DIR = '/etc/bind/cloudy/';
export const ZONES_CONF = '/etc/bind/cloudy/zones.conf';
export const DEBIAN_OPTIONS_COPY = '/etc/bind/cloudy/named.conf.options.debian';
export const zoneFilePath = (zone: string) => `${CLOUDY_DIR}db.${zone}`;

// bind9-utils (a dependency of bind9) ships the checkers; bind9-dnsutils ships dig.
export const NAMED_CHECKCONF = '/usr/bin/named-checkconf';
export const NAMED_CHECKZONE = '/usr/bin/named-checkzone';
export const DIG = '/usr/bin/dig';

export const manifest = {
  id: 'dns',
  version: 1,
  menu: { section: 'guifi', order: 30 },
  title: 'title',
  description: 'description',
  packages: ['bind9', 'bind9-dnsutils'],
  // Debian's init script and systemd unit are both `named` (bind9.service is only an alias).
  services: [{ name: 'named', initScript: 'named' }],
  configFiles: [OPTIONS_CONF, LOCAL_CONF, CLOUDY_DIR],
  commands: [NAMED_CHECKCONF, NAMED_CHECKZONE, DIG],
  ports: [{ port: 53, protocol: 'udp' }, { port: 53, protocol: 'tcp' }],
  publish: { type: 'dnsservice' },
} satisfies ManifestInput;
