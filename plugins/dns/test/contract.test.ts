import { describePluginContract } from '../../../test/plugin-contract.js';
import dns from '../index.js';
import { DnsModel } from '../model.js';
import { fakeNamed, seedDebianBind } from './fake-named.js';

// named "answers" (dig gets the SOA of the zone file on disk) only after a restart through the
// service manager: the scripted stand-in in fake-named.ts.
describePluginContract({
  plugin: { ...dns, createModel: (ctx) => new DnsModel(ctx, { probeAttempts: 3, probeDelayMs: 5 }) },
  validForm: {
    listenAddresses: '127.0.0.1', port: '15353', allowRecursion: '127.0.0.1/32', forwarders: '127.0.0.1:15354', forwardOnly: 'on',
    forwardZones: 'fwd.test 127.0.0.1:15354', zone: 'cloudy.test', records: 'www A 10.99.0.10\nfiles CNAME www', dnssecValidation: '',
  },
  invalidForm: {
    listenAddresses: '127.0.0.1\n1.2.3', port: '99999', allowRecursion: '10.0.0.0/33', forwarders: '10.0.0.1:0',
    forwardZones: 'guifi.net', zone: 'bad zone;', records: 'www A 10.99.0.10\n$(reboot) A 10.99.0.11',
  },
  invalidFields: ['listenAddresses', 'port', 'allowRecursion', 'forwarders', 'forwardZones', 'zone', 'records'],
  writes: '/etc/bind/cloudy/zones.conf',
  seed: (root) => seedDebianBind(root),
  script: (runner, root) => { fakeNamed(runner, root); },
});
