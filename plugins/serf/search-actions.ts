// "Join through this node" on a discovered serf agent: a link that prefills the peer field.
import type { CatalogueEntry } from '../../src/discovery/record.js';
import type { SearchAction } from '../../src/registry/define-plugin.js';
import { isPeer } from './serf-conf.js';

export function serfSearchActions(entry: CatalogueEntry): SearchAction[] {
  const address = entry.addresses[0];
  if (!address || address.includes(':')) return []; // serf peers here are IPv4:port
  const peer = `${address}:${entry.port}`;
  if (!isPeer(peer)) return [];
  return [{ kind: 'link', label: 'serf:search.join', href: `/serf?join=${encodeURIComponent(peer)}` }];
}
