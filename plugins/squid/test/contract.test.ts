import { existsSync, readFileSync } from 'node:fs';
import { describePluginContract } from '../../../test/plugin-contract.js';
import type { TempRoot } from '../../../test/helpers/temp-root.js';
import squid from '../index.js';
import { SquidModel } from '../model.js';
import { parseSquidConf } from '../squid-conf.js';

// The fake squid answers (Server: squid/5.7) on the port of the fragment it was last started with.
let root: TempRoot | undefined;
let listeningOn: number | undefined;
const fragmentPort = () => {
  const file = root?.p('/etc/squid/conf.d/cloudy.conf');
  return file && existsSync(file) ? parseSquidConf(readFileSync(file, 'utf8')).port : undefined;
};
describePluginContract({
  plugin: {
    ...squid,
    createModel: (ctx) => new SquidModel(ctx, {
      answerTimeoutMs: 500,
      probe: async (port) => (port === listeningOn ? { status: 403, server: 'squid/5.7', body: '' } : undefined),
    }),
  },
  validForm: {
    port: '13130', allowedNetworks: '10.0.0.0/8\n172.16.0.0/12', cacheDiskMb: '1024', cacheMemMb: '128', maxObjectMb: '32',
    adminEmail: 'ops@guifi.net', visibleHostname: 'proxy.node1.guifi.net', errorLanguage: 'ca', auth: 'ldap',
    ldapMain: '127.0.0.1:13389', ldapBackup: 'ldap2.guifi.net', ldapBaseDn: 'o=webusers,dc=guifi,dc=net', ldapUserAttribute: 'uid',
    ldapGroup: 'cn=proxy-users,ou=groups,dc=guifi,dc=net', ldapRealm: 'Guifi Proxy3', parentProxy: 'parent.guifi.net:3128',
  },
  invalidForm: {
    port: '99999', allowedNetworks: '10.0.0.0/33', cacheDiskMb: '99999999999', visibleHostname: 'my proxy; reboot',
    adminEmail: 'nobody', errorLanguage: 'klingon', ldapMain: 'ldap guifi net', ldapBaseDn: 'o="x"', ldapRealm: '<b>100%</b>',
    parentProxy: 'parent.guifi.net',
  },
  invalidFields: ['port', 'allowedNetworks', 'cacheDiskMb', 'visibleHostname', 'adminEmail', 'errorLanguage', 'ldapMain', 'ldapBaseDn', 'ldapRealm', 'parentProxy'],
  writes: '/etc/squid/conf.d/cloudy.conf',
  seed: (r) => {
    root = r;
    listeningOn = undefined;
    r.write('/etc/init.d/squid', '#!/bin/sh\n');
    r.write('/etc/squid/squid.conf', 'include /etc/squid/conf.d/*.conf\nhttp_access allow localhost\nhttp_access deny all\nhttp_port 3128\n');
  },
  script: (runner) => {
    runner.on(['/usr/sbin/squid', '-k', 'parse'], { exitCode: 0, stderr: 'Processing: http_port 3128\n' });
    runner.on(['service', 'squid', 'restart'], () => { listeningOn = fragmentPort() ?? 3128; return {}; });
    runner.on(['service', 'squid', 'status'], () => ({ exitCode: listeningOn ? 0 : 3 }));
  },
});
