// The Squid proxy plugin (guifi.net "Proxy3"): caching web proxy, LDAP logins, federation.
import { definePlugin } from '../../src/registry/define-plugin.js';
import { manifest } from './manifest.js';
import { SquidModel } from './model.js';
import { squidController } from './controller.js';

export default definePlugin({
  manifest,
  createModel: (context) => new SquidModel(context),
  controller: squidController,
  searchActions: {
    proxy3: (entry) => [{ kind: 'info', label: 'squid:search.useAsProxy', text: `${entry.addresses[0] ?? entry.host}:${entry.port}` }],
  },
});
