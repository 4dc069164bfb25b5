import { describePluginContract } from '../../../test/plugin-contract.js';
import serf from '../index.js';
import { SerfModel } from '../model.js';

describePluginContract({
  plugin: { ...serf, createModel: (ctx) => new SerfModel(ctx, () => 'contract-host') },
  validForm: {
    nodeName: 'node-a', bindAddress: '0.0.0.0', bindPort: '5000', advertiseAddress: '10.1.2.3', rpcAddress: '127.0.0.1:7373',
    peers: '10.139.40.122:5000\n10.1.1.1:5000', microcloud: 'gracia', encryptKey: 'q83vEjRWeJCrze8SNFZ4kA==', profile: 'wan',
  },
  invalidForm: {
    nodeName: 'bad name!', bindAddress: '10.1.2', bindPort: '70000', rpcAddress: '10.0.0.1:7373', peers: '10.1.1.1',
    microcloud: '<script>alert(1)</script>', encryptKey: 'not-a-key', profile: 'fast',
  },
  invalidFields: ['nodeName', 'bindAddress', 'bindPort', 'rpcAddress', 'peers', 'microcloud', 'encryptKey', 'profile'],
  writes: '/etc/serf/cloudy.json',
  seed: (root) => { root.write('/etc/init.d/serf', '#!/bin/sh\n'); },
  script: (runner) => { runner.on(['getent', 'group', '_serf'], { stdout: '_serf:x:107:\n' }); },
});
