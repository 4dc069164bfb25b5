import { describePluginContract } from '../../../test/plugin-contract.js';
import snmp from '../index.js';
import { SnmpModel } from '../model.js';

// The agent "answers" only once snmpd has been restarted through the service manager.
let restarted = false;
describePluginContract({
  plugin: { ...snmp, createModel: (ctx) => new SnmpModel(ctx, async () => (restarted ? 'test-node' : undefined)) },
  validForm: { community: 'guifi-graphs-1', listenAddress: '127.0.0.1', port: '16161', allowedNetwork: '10.0.0.0/8', sysLocation: 'Test lab', sysContact: 'ops@example.org' },
  invalidForm: { community: 'public', port: '99999', listenAddress: '1.2.3', allowedNetwork: '10.0.0.0/33', sysLocation: 'a "quoted" <b>' },
  invalidFields: ['community', 'port', 'listenAddress', 'allowedNetwork', 'sysLocation'],
  writes: '/etc/snmp/snmpd.conf',
  seed: (root) => { root.write('/etc/init.d/snmpd', '#!/bin/sh\n'); restarted = false; },
  script: (runner) => runner.on(['service', 'snmpd', 'restart'], () => { restarted = true; return {}; }),
});
