// The DNS plugin: bind9 as the micro cloud's name server and the community's resolver.
import { definePlugin, type SearchAction } from '../../src/registry/define-plugin.js';
import type { CatalogueEntry } from '../../src/discovery/record.js';
import { isIpv4 } from '../../src/lib/fields.js';
import { manifest } from './manifest.js';
import { DnsModel } from './model.js';
import { dnsController } from './controller.js';
import { isDomain } from './dns-conf.js';

/** On the search page, a discovered DNS server shows the address to use as DNS server. */
export function dnsSearchActions(entry: CatalogueEntry): SearchAction[] {
  const address = entry.addresses.find(isIpv4) ?? entry.addresses[0] ?? entry.host;
  const actions: SearchAction[] = [
    { label: 'dns:search.useAsDns', kind: 'info', text: entry.port === 53 ? address : `${address}#${entry.port}` },
  ];
  const zone = entry.txt.zone;
  if (zone && isDomain(zone)) actions.push({ label: 'dns:search.zone', kind: 'info', text: zone });
  return actions;
}

export default definePlugin({
  manifest,
  createModel: (context) => new DnsModel(context),
  controller: dnsController,
  searchActions: { dnsservice: dnsSearchActions },
});
