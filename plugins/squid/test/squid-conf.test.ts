import { describe, expect, it } from 'vitest';
import {
  isDn, parseHostPort, parseProblems, parseRejected, parseSquidConf, renderSquidConf, splitDn, splitWords,
  squidConfListenPorts, SquidSettingsSchema, toFormValues, type SquidSettings,
} from '../squid-conf.js';

const form = {
  port: '13130', allowedNetworks: '10.0.0.0/8\r\n172.16.0.0/12', cacheDiskMb: '2048', cacheMemMb: '256', maxObjectMb: '64',
  adminEmail: 'ops@guifi.net', visibleHostname: 'proxy.node1.guifi.net', errorLanguage: 'ca', auth: 'none',
  ldapMain: 'ldap.guifi.net', ldapBackup: 'ldap2.guifi.net', ldapBaseDn: 'o=webusers,dc=guifi,dc=net', ldapUserAttribute: 'uid',
  ldapGroup: '', ldapRealm: 'Guifi Proxy3 Squid proxy-caching federated server', parentProxy: '',
};
const plain = SquidSettingsSchema.parse(form);
const ldap = SquidSettingsSchema.parse({
  ...form, auth: 'ldap', ldapMain: '127.0.0.1:13389', ldapBackup: 'ldap-backup.example.net', ldapBaseDn: 'dc=cloudy, dc=test',
  ldapGroup: 'cn=cloudy-admins,ou=groups,dc=cloudy,dc=test', ldapRealm: 'Cloudy proxy', parentProxy: 'parent.guifi.net:3128', errorLanguage: 'auto',
});

const DEBIAN_SQUID_CONF = `#	WELCOME TO SQUID 5.7
acl localnet src 10.0.0.0/8		# RFC 1918 local private network (LAN)
http_access deny !Safe_ports
#  TAG: http_port
#	http_port 3128 accel
include /etc/squid/conf.d/*.conf
http_access allow localhost
http_access deny all
# Squid normally listens to port 3128
http_port 3128
coredump_dir /var/spool/squid
`;

describe('squid fragment', () => {
  it('renders a managed fragment that parses back to the same settings (no auth)', () => {
    const text = renderSquidConf(plain);
    expect(text.split('\n')[0]).toContain('Managed by Cloudy panel');
    expect(text).toContain('\nhttp_port 13130\n');
    expect(text).toContain('\nvisible_hostname proxy.node1.guifi.net\n');
    expect(text).toContain('\ncache_mgr ops@guifi.net\n');
    expect(text).toContain('\nerror_directory /usr/share/squid-langpack/ca\n');
    expect(text).toContain('\ncache_mem 256 MB\n');
    expect(text).toContain('\ncache_dir ufs /var/spool/squid 2048 16 256\n');
    expect(text).toContain('\nshutdown_lifetime 1 seconds\n');
    expect(text.indexOf('maximum_object_size 64 MB')).toBeLessThan(text.indexOf('\ncache_dir'));
    expect(text).not.toContain('auth_param');
    expect(text).not.toContain('cache_peer');
    // the allowed networks, then nothing else: Debian's "allow localhost" after the include never matters
    expect(text.trimEnd().split('\n').slice(-3)).toEqual([
      'acl cloudy_clients src 10.0.0.0/8 172.16.0.0/12',
      'http_access allow cloudy_clients',
      'http_access deny all',
    ]);
    expect(parseSquidConf(text)).toEqual(Object.fromEntries(Object.entries(plain).filter(([k]) => !k.startsWith('ldap'))));
  });

  it('renders LDAP authentication, the group check and the parent proxy, and parses them back', () => {
    const text = renderSquidConf(ldap);
    expect(text).toContain('\nauth_param basic program /usr/lib/squid/basic_ldap_auth -v 3 -c 5 -b "dc=cloudy, dc=test" -f "(uid=%s)" 127.0.0.1:13389 ldap-backup.example.net\n');
    expect(text).toContain('\nauth_param basic realm Cloudy proxy\n');
    expect(text).toContain('\nacl cloudy_users proxy_auth REQUIRED\n');
    expect(text).toContain('/usr/lib/squid/ext_ldap_group_acl -v 3 -c 5 -b "ou=groups,dc=cloudy,dc=test" -f "(&(cn=cloudy-admins)(|(member=%u)(uniqueMember=%u)))" -B "dc=cloudy, dc=test" -F "(uid=%s)" 127.0.0.1:13389 ldap-backup.example.net\n');
    expect(text).toContain('\ncache_peer parent.guifi.net parent 3128 0 no-query no-digest default name=cloudy_parent\nnever_direct allow all\n');
    expect(text).not.toContain('error_directory');
    expect(text.trimEnd().split('\n').slice(-2)).toEqual(['http_access allow cloudy_clients cloudy_users cloudy_group', 'http_access deny all']);
    expect(parseSquidConf(text)).toEqual(ldap);
  });

  it('leaves the port to squid.conf when it already declares it, and still reads it back', () => {
    const settings = { ...plain, port: 3128 };
    const text = renderSquidConf(settings, { portDeclaredElsewhere: true });
    expect(text).not.toMatch(/^http_port/m);
    expect(text).toContain('# http_port 3128 is declared in /etc/squid/squid.conf');
    expect(parseSquidConf(text).port).toBe(3128);
  });

  it('keeps the cache in memory with a disk size of 0', () => {
    const text = renderSquidConf({ ...plain, cacheDiskMb: 0 });
    expect(text).not.toMatch(/^cache_dir/m);
    expect(parseSquidConf(text).cacheDiskMb).toBe(0);
  });

  it("finds the ports Debian's squid.conf listens on (active lines only)", () => {
    expect(squidConfListenPorts(DEBIAN_SQUID_CONF)).toEqual({ ports: [3128], bare: [3128] });
    expect(squidConfListenPorts('http_port 127.0.0.1:3129 name=x\n  http_port 8080\n#http_port 1\n')).toEqual({ ports: [3129, 8080], bare: [8080] });
    expect(parseSquidConf(DEBIAN_SQUID_CONF)).toEqual({ port: 3128 });
  });

  it('shows networks one per line in the form', () => {
    expect(toFormValues(plain).allowedNetworks).toBe('10.0.0.0/8\n172.16.0.0/12');
    expect(toFormValues(plain).port).toBe('13130');
    expect(SquidSettingsSchema.parse({ ...form, allowedNetworks: ' 10.1.0.0/16, 10.2.0.0/16 ' }).allowedNetworks).toEqual(['10.1.0.0/16', '10.2.0.0/16']);
  });

  it.each([
    ['port', '0'], ['port', '65536'], ['port', '1e3'], ['port', ''], ['port', '99999999999999999999'], ['port', '3128; rm -rf /'],
    ['allowedNetworks', ''], ['allowedNetworks', '10.0.0.0/33'], ['allowedNetworks', '10.0.0/8'], ['allowedNetworks', '10.0.0.0/8 all'],
    ['allowedNetworks', '0.0.0.0/0'], ['allowedNetworks', Array.from({ length: 33 }, (_, i) => `10.${i}.0.0/16`).join('\n')],
    ['cacheDiskMb', '-1'], ['cacheDiskMb', '1048577'], ['cacheDiskMb', '999999999999'], ['cacheDiskMb', '1.5'], ['cacheDiskMb', ''],
    ['cacheMemMb', '0'], ['cacheMemMb', '65537'], ['maxObjectMb', '0'], ['maxObjectMb', 'lots'],
    ['adminEmail', ''], ['adminEmail', 'not-an-email'], ['adminEmail', 'a b@guifi.net'], ['adminEmail', 'me@guifi.net\ncache_peer x'],
    ['visibleHostname', ''], ['visibleHostname', 'my proxy'], ['visibleHostname', 'proxy;reboot'], ['visibleHostname', '$(id)'], ['visibleHostname', `${'a'.repeat(64)}.net`],
    ['errorLanguage', 'xx'], ['errorLanguage', '../../etc'], ['errorLanguage', 'English'],
    ['auth', 'kerberos'], ['auth', ''],
    ['ldapMain', 'ldap guifi net'], ['ldapMain', 'ldap.guifi.net:0'], ['ldapMain', 'ldap.guifi.net:70000'], ['ldapMain', 'ldap`id`'], ['ldapBackup', 'a;b'],
    ['ldapBaseDn', 'o=webusers,dc=guifi,dc=net"'], ['ldapBaseDn', 'webusers'], ['ldapBaseDn', 'o=a)(uid=*'],
    ['ldapUserAttribute', 'u id'], ['ldapUserAttribute', 'uid)(x'],
    ['ldapGroup', 'cloudy-admins'], ['ldapGroup', 'cn=x*'], ['ldapGroup', 'cn=only'],
    ['ldapRealm', 'say "hi"'], ['ldapRealm', 'line\nbreak'], ['ldapRealm', '100%'], ['ldapRealm', 'x'.repeat(121)],
    ['parentProxy', 'parent.guifi.net'], ['parentProxy', 'parent.guifi.net:99999'], ['parentProxy', 'parent guifi:3128'], ['parentProxy', 'http://p:3128'],
  ])('refuses %s = %j', (field, value) => {
    const result = SquidSettingsSchema.safeParse({ ...form, [field]: value });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path).toEqual([field]);
    expect(result.error!.issues[0]!.message).toMatch(/^squid:errors\.\w+$/);
  });

  it('requires the LDAP fields only when LDAP is on, and reports them all at once', () => {
    const empty = { ...form, ldapMain: '', ldapBaseDn: '', ldapUserAttribute: '', ldapRealm: '' };
    expect(SquidSettingsSchema.safeParse(empty).success).toBe(true);
    const result = SquidSettingsSchema.safeParse({ ...empty, auth: 'ldap', port: '70000' });
    expect(result.success).toBe(false);
    const fields = Object.fromEntries(result.error!.issues.map((i) => [String(i.path[0]), i.message]));
    expect(fields).toEqual({
      port: 'squid:errors.port',
      ldapMain: 'squid:errors.requiredForLdap', ldapBaseDn: 'squid:errors.requiredForLdap',
      ldapUserAttribute: 'squid:errors.requiredForLdap', ldapRealm: 'squid:errors.requiredForLdap',
    });
    // with authentication, the whole Internet may be allowed
    expect(SquidSettingsSchema.safeParse({ ...form, auth: 'ldap', allowedNetworks: '0.0.0.0/0' }).success).toBe(true);
  });

  it('checks host:port, DNs and helper words', () => {
    expect(parseHostPort('ldap.guifi.net')).toEqual({ host: 'ldap.guifi.net' });
    expect(parseHostPort('10.1.2.3:636')).toEqual({ host: '10.1.2.3', port: 636 });
    expect(parseHostPort('-bad.net')).toBeUndefined();
    expect(isDn('o=webusers,dc=guifi,dc=net')).toBe(true);
    expect(isDn('cn=Proxy Users,ou=groups,dc=x')).toBe(true);
    expect(isDn('cn=x,dc=y\\')).toBe(false);
    expect(splitDn('cn=a b,ou=g,dc=x')).toEqual({ attribute: 'cn', value: 'a b', parent: 'ou=g,dc=x' });
    expect(splitWords('-b "o=a b,dc=c" -f "(uid=%s)" h1 h2')).toEqual(['-b', 'o=a b,dc=c', '-f', '(uid=%s)', 'h1', 'h2']);
  });

  it('tells a refused squid -k parse from an accepted one', () => {
    expect(parseRejected(0, '2026/01/01| Processing: http_port 3128\n')).toBe(false);
    expect(parseRejected(1, '')).toBe(true);
    const unknown = "2026/01/01| Processing: bogus on\n2026/01/01| /etc/squid/conf.d/x.conf(2): unrecognized: 'bogus'\n";
    expect(parseRejected(1, unknown)).toBe(true);
    expect(parseProblems(unknown)).toEqual(["2026/01/01| /etc/squid/conf.d/x.conf(2): unrecognized: 'bogus'"]);
    // squid exits 0 for some fatal problems: the output decides
    const missingDir = '2026/01/01| Processing: error_directory /x\n2026/01/01| FATAL: Error Directory /x: (2) No such file or directory\n';
    expect(parseRejected(0, missingDir)).toBe(true);
    expect(parseProblems(missingDir)).toEqual(['2026/01/01| FATAL: Error Directory /x: (2) No such file or directory']);
  });

  it('is what the settings type says', () => {
    const s: SquidSettings = plain;
    expect(s.allowedNetworks).toEqual(['10.0.0.0/8', '172.16.0.0/12']);
    expect(s.cacheDiskMb).toBe(2048);
  });
});
