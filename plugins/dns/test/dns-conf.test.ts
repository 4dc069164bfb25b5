import { describe, expect, it } from 'vitest';
import i18next from 'i18next';
import { readFileSync } from 'node:fs';
import {
  cidrProblem, DnsFormSchema, includesZones, nextSerial, parseDnsForm, parseNamedConf, parseOptionsConf, parseZoneFile,
  parseZonesConf, renderOptionsConf, renderZoneFile, renderZonesConf, settingsToForm, validateSettings, withZonesInclude,
  type DnsSettings,
} from '../dns-conf.js';
import { digArgv, parseDig, soaSerial } from '../dig.js';

const form = {
  listenAddresses: '127.0.0.1\n10.1.2.3',
  port: '53',
  allowRecursion: '127.0.0.0/8\n10.0.0.0/8, 172.16.0.0/12',
  forwarders: '10.0.0.1\n10.0.0.2:5353',
  forwardOnly: 'on',
  forwardZones: 'guifi.net 10.90.0.1 10.90.0.2:5353\n10.in-addr.arpa 10.90.0.1',
  zone: 'Cloudy.Lan',
  records: 'www A 10.1.2.3\n\n@ A 10.1.2.3\ncloud 300 AAAA FD00::10\nfiles CNAME www\next IN CNAME example.org.\n*.apps A 10.1.2.4',
  dnssecValidation: 'on',
};
const settings = DnsFormSchema.parse(form);

const DEBIAN_OPTIONS = `options {
\tdirectory "/var/cache/bind";

\t// forwarders {
\t// \t0.0.0.0;
\t// };

\t//========================================================================
\t// If BIND logs error messages about the root key being expired,
\t//========================================================================
\tdnssec-validation auto;

\tlisten-on-v6 { any; };
};
`;

describe('DNS settings form', () => {
  it('turns the form into settings (lists one item per line, names in lower case)', () => {
    expect(settings).toEqual({
      listenAddresses: ['127.0.0.1', '10.1.2.3'],
      port: 53,
      allowRecursion: ['127.0.0.0/8', '10.0.0.0/8', '172.16.0.0/12'],
      forwarders: [{ address: '10.0.0.1' }, { address: '10.0.0.2', port: 5353 }],
      forwardOnly: true,
      forwardZones: [
        { name: 'guifi.net', servers: [{ address: '10.90.0.1' }, { address: '10.90.0.2', port: 5353 }] },
        { name: '10.in-addr.arpa', servers: [{ address: '10.90.0.1' }] },
      ],
      zone: 'cloudy.lan',
      records: [
        { name: 'www', type: 'A', value: '10.1.2.3' },
        { name: '@', type: 'A', value: '10.1.2.3' },
        { name: 'cloud', ttl: 300, type: 'AAAA', value: 'fd00::10' },
        { name: 'files', type: 'CNAME', value: 'www' },
        { name: 'ext', type: 'CNAME', value: 'example.org.' },
        { name: '*.apps', type: 'A', value: '10.1.2.4' },
      ],
      dnssecValidation: true,
    });
  });

  it('round-trips settings through the form values', () => {
    expect(DnsFormSchema.parse(settingsToForm(settings))).toEqual(settings);
    expect(validateSettings(settings)).toEqual(settings);
  });

  it('reads unchecked checkboxes and empty optional lists', () => {
    const s = DnsFormSchema.parse({ listenAddresses: '0.0.0.0', port: '15353', zone: 'mc1.guifi.net' });
    // no resolver at all: fine without forwarders
    expect(DnsFormSchema.safeParse({ ...form, allowRecursion: '', forwarders: '', forwardZones: '' }).success).toBe(true);
    expect(s).toMatchObject({ listenAddresses: ['0.0.0.0'], port: 15353, allowRecursion: [], forwarders: [], forwardZones: [], records: [], forwardOnly: false, dnssecValidation: false });
  });

  const bad: [string, string, string][] = [
    // field, value, expected error key
    ['listenAddresses', '', 'dns:errors.listenRequired'],
    ['listenAddresses', '127.0.0.1\n10.1.2', 'dns:errors.listenAddress'],
    ['listenAddresses', '256.0.0.1', 'dns:errors.listenAddress'],
    ['listenAddresses', '127.0.0.1;rm -rf /', 'dns:errors.listenAddress'],
    ['listenAddresses', '::1', 'dns:errors.listenAddress'],
    ['listenAddresses', '0.0.0.0 127.0.0.1', 'dns:errors.listenAny'],
    ['listenAddresses', '127.0.0.1 127.0.0.1', 'dns:errors.duplicate'],
    ['port', '0', 'dns:errors.port'],
    ['port', '65536', 'dns:errors.port'],
    ['port', '1e3', 'dns:errors.port'],
    ['port', '99999999999999999999', 'dns:errors.port'],
    ['port', '', 'dns:errors.port'],
    ['port', '53; rndc stop', 'dns:errors.port'],
    ['allowRecursion', '10.0.0.0/33', 'dns:errors.network'],
    ['allowRecursion', '10.0.0/8', 'dns:errors.network'],
    ['allowRecursion', 'any', 'dns:errors.network'],
    ['allowRecursion', '10.1.2.3/8', 'dns:errors.hostBits'],
    ['allowRecursion', '10.0.0.0/8 }; allow-query { any', 'dns:errors.network'],
    ['forwarders', '10.0.0.1:0', 'dns:errors.server'],
    ['forwarders', '10.0.0.1:65536', 'dns:errors.server'],
    ['forwarders', '10.0.0.1 port 53', 'dns:errors.server'],
    ['forwarders', 'dns.guifi.net', 'dns:errors.server'],
    ['forwarders', '1.1.1.1\n1.1.1.2\n1.1.1.3\n1.1.1.4\n1.1.1.5\n1.1.1.6\n1.1.1.7\n1.1.1.8\n1.1.1.9', 'dns:errors.tooMany'],
    ['forwardZones', 'guifi.net', 'dns:errors.forwardZoneServers'],
    ['forwardZones', 'guifi net 10.0.0.1', 'dns:errors.server'],
    ['forwardZones', 'gui_fi.net 10.0.0.1', 'dns:errors.domain'],
    ['forwardZones', '$(reboot).net 10.0.0.1', 'dns:errors.domain'],
    ['forwardZones', 'localhost 10.0.0.1', 'dns:errors.reservedZone'],
    ['forwardZones', 'guifi.net 10.0.0.1\nGUIFI.net 10.0.0.2', 'dns:errors.duplicate'],
    ['forwardZones', 'cloudy.lan 10.0.0.1', 'dns:errors.forwardIsLocal'],
    ['allowRecursion', '', 'dns:errors.recursionNeeded'],
    ['forwardZones', `${'a'.repeat(64)}.net 10.0.0.1`, 'dns:errors.domain'],
    ['zone', '', 'validation.required'],
    ['zone', 'my zone', 'dns:errors.domainZone'],
    ['zone', 'cloudy.lan;', 'dns:errors.domainZone'],
    ['zone', '`id`.lan', 'dns:errors.domainZone'],
    ['zone', '-bad.lan', 'dns:errors.domainZone'],
    ['zone', 'a..b', 'dns:errors.domainZone'],
    ['zone', '127.in-addr.arpa', 'dns:errors.reservedZone'],
    ['records', 'my host A 10.1.2.3', 'dns:errors.recordFormat'],
    ['records', 'www A', 'dns:errors.recordFormat'],
    ['records', 'www;id A 10.1.2.3', 'dns:errors.recordName'],
    ['records', '$(id) A 10.1.2.3', 'dns:errors.recordName'],
    ['records', '`id` A 10.1.2.3', 'dns:errors.recordName'],
    ['records', 'www. A 10.1.2.3', 'dns:errors.recordName'],
    ['records', 'a.*.b A 10.1.2.3', 'dns:errors.recordName'],
    ['records', 'www 5 A 10.1.2.3', 'dns:errors.recordTtl'],
    ['records', 'www 99999999999 A 10.1.2.3', 'dns:errors.recordTtl'],
    ['records', 'www 604801 A 10.1.2.3', 'dns:errors.recordTtl'],
    ['records', 'www MX 10 mail', 'dns:errors.recordType'],
    ['records', 'www TXT hello', 'dns:errors.recordType'],
    ['records', 'www A 10.1.2.256', 'dns:errors.recordA'],
    ['records', 'www A fd00::1', 'dns:errors.recordA'],
    ['records', 'www AAAA 10.1.2.3', 'dns:errors.recordAaaa'],
    ['records', 'www AAAA fe80::1%eth0', 'dns:errors.recordAaaa'],
    ['records', 'www AAAA fd00:::1', 'dns:errors.recordAaaa'],
    ['records', 'www CNAME example.org', 'dns:errors.recordCname'],
    ['records', 'www CNAME *.apps', 'dns:errors.recordCname'],
    ['records', 'www CNAME $(id)', 'dns:errors.recordCname'],
    ['records', '@ CNAME www', 'dns:errors.cnameApex'],
    ['records', 'www CNAME www', 'dns:errors.cnameLoop'],
    ['records', 'www A 10.1.2.3\nwww CNAME web', 'dns:errors.cnameConflict'],
    ['records', 'www CNAME web\nwww A 10.1.2.3', 'dns:errors.cnameConflict'],
    ['records', 'www A 10.1.2.3\nWWW A 10.1.2.3', 'dns:errors.duplicate'],
    ['records', 'ns A 10.1.2.3', 'dns:errors.recordReserved'],
    ['records', `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(60)} A 10.1.2.3`, 'dns:errors.recordTooLong'],
    ['records', 'www CNAME node1.sub', 'dns:errors.recordCname'],
    ['records', 'www A 10.1.2.3\n'.repeat(2000), 'dns:errors.tooLong'],
  ];

  it.each(bad.map(([field, value, key]) => ({ field, value, key, shown: value.length > 50 ? `${value.slice(0, 50)}…` : value })))('refuses $field = $shown ($key)', ({ field, value, key }) => {
    const result = DnsFormSchema.safeParse({ ...form, zone: 'cloudy.lan', [field]: value });
    expect(result.success).toBe(false);
    const issue = result.error!.issues[0]!;
    expect(issue.path).toEqual([field]);
    expect(issue.message).toBe(key);
  });

  it('points list errors at their line', () => {
    const result = DnsFormSchema.safeParse({ ...form, records: 'www A 10.1.2.3\n\nfiles CNAME www\nbad name A 10.1.2.4' });
    const issue = result.error!.issues[0] as unknown as { params: { line: number } };
    expect(issue.params.line).toBe(4);
  });

  it('suggests the network when host bits are set', () => {
    expect(cidrProblem('10.1.2.3/8')).toEqual({ network: '10.0.0.0/8' });
    expect(cidrProblem('192.168.1.77/24')).toEqual({ network: '192.168.1.0/24' });
    expect(cidrProblem('0.0.0.0/0')).toBeUndefined();
    expect(cidrProblem('10.1.2.3')).toBeUndefined();
    expect(cidrProblem('10.1.2.3/32')).toBeUndefined();
    expect(cidrProblem('10.1.2.3/')).toBe('invalid');
  });

  it('translates errors with their line number in every language', async () => {
    const t = i18next.createInstance();
    const resources = Object.fromEntries(['en', 'ca', 'es'].map((lng) => [lng, { dns: JSON.parse(readFileSync(`plugins/dns/locales/${lng}.json`, 'utf8')) }]));
    await t.init({ resources, lng: 'en', fallbackLng: false, ns: ['dns'], interpolation: { escapeValue: false }, showSupportNotice: false } as Parameters<typeof t.init>[0]);
    const body = { ...form, records: 'www A 10.1.2.3\nwww AAAA 10.1.2.3', allowRecursion: '10.1.2.3/8', port: '0' };
    const en = parseDnsForm(body, t.getFixedT('en'));
    expect(en).toEqual({
      ok: false,
      errors: {
        records: 'Line 2: an AAAA record needs an IPv6 address such as fd00::10.',
        allowRecursion: 'Line 1: this is an address inside a network, not a network; did you mean 10.0.0.0/8?',
        port: 'The port must be a number from 1 to 65535.',
      },
    });
    const ca = parseDnsForm(body, t.getFixedT('ca'));
    expect(!ca.ok && ca.errors.records).toBe('Línia 2: un registre AAAA necessita una adreça IPv6, com ara fd00::10.');
    const es = parseDnsForm(body, t.getFixedT('es'));
    expect(!es.ok && es.errors.allowRecursion).toBe('Línea 1: esto es una dirección dentro de una red, no una red; ¿quería decir 10.0.0.0/8?');
    expect(parseDnsForm(form, t.getFixedT('en')).ok).toBe(true);
  });
});

describe('named.conf.options', () => {
  it('renders a managed options block that parses back to the same settings', () => {
    const text = renderOptionsConf(settings);
    expect(text.split('\n')[0]).toContain('Managed by Cloudy panel');
    expect(text).toContain('\tdirectory "/var/cache/bind";\n');
    expect(text).toContain('\tlisten-on port 53 { 127.0.0.1; 10.1.2.3; };\n');
    expect(text).toContain('\tlisten-on-v6 { none; };\n');
    expect(text).toContain('\trecursion yes;\n\tallow-recursion { 127.0.0.0/8; 10.0.0.0/8; 172.16.0.0/12; };\n');
    expect(text).toContain('\tforwarders { 10.0.0.1; 10.0.0.2 port 5353; };\n\tforward only;\n');
    expect(text).toContain('\tdnssec-validation auto;\n');
    expect(text).toContain('\tvalidate-except { "guifi.net"; "10.in-addr.arpa"; "cloudy.lan"; };\n');
    expect(parseOptionsConf(text)).toEqual({
      listenAddresses: settings.listenAddresses, port: 53, allowRecursion: settings.allowRecursion,
      forwarders: settings.forwarders, forwardOnly: true, dnssecValidation: true,
    });
  });

  it('renders "no resolver", "any" and "forward first" variants', () => {
    const s: DnsSettings = { ...settings, listenAddresses: ['0.0.0.0'], port: 15353, allowRecursion: [], forwarders: [], dnssecValidation: false };
    const text = renderOptionsConf(s);
    expect(text).toContain('listen-on port 15353 { any; };');
    expect(text).toContain('recursion no;');
    expect(text).not.toContain('allow-recursion');
    expect(text).not.toContain('forwarders');
    expect(text).toContain('dnssec-validation no;');
    expect(text).not.toContain('validate-except');
    expect(parseOptionsConf(text)).toEqual({ listenAddresses: ['0.0.0.0'], port: 15353, allowRecursion: [], dnssecValidation: false });
    expect(renderOptionsConf({ ...settings, forwardOnly: false })).toContain('forward first;');
  });

  it("reads Debian's default file (commented forwarders are not forwarders)", () => {
    expect(parseOptionsConf(DEBIAN_OPTIONS)).toEqual({ dnssecValidation: true });
    expect(parseOptionsConf('options { listen-on { any; }; forwarders { 10.0.0.1 port 5353; 10.0.0.2; }; forward first; dnssec-validation no; };'))
      .toEqual({ listenAddresses: ['0.0.0.0'], port: 53, forwarders: [{ address: '10.0.0.1', port: 5353 }, { address: '10.0.0.2' }], forwardOnly: false, dnssecValidation: false });
  });

  it('tokenizes comments, strings and nested blocks', () => {
    expect(parseNamedConf('/* a { */ zone "x.y" { type forward; # c\n forwarders { 1.2.3.4 port 5; }; }; // d\ninclude "/f";')).toEqual([
      { words: ['zone', 'x.y'], block: [{ words: ['type', 'forward'] }, { words: ['forwarders'], block: [{ words: ['1.2.3.4', 'port', '5'] }] }] },
      { words: ['include', '/f'] },
    ]);
    expect(() => parseNamedConf('options { broken')).not.toThrow();
  });
});

describe('zones.conf and named.conf.local', () => {
  it('renders the primary zone and the forward zones, and parses them back', () => {
    const text = renderZonesConf(settings);
    expect(text).toContain('zone "cloudy.lan" {\n\ttype primary;\n\tfile "/etc/bind/cloudy/db.cloudy.lan";\n\tallow-query { any; };\n\tnotify no;\n};');
    expect(text).toContain('zone "guifi.net" {\n\ttype forward;\n\tforward only;\n\tforwarders { 10.90.0.1; 10.90.0.2 port 5353; };\n};');
    expect(parseZonesConf(text)).toEqual({ zone: 'cloudy.lan', forwardZones: settings.forwardZones });
  });

  it('adds one include line to named.conf.local, once, keeping what the admin wrote', () => {
    const debian = '//\n// Do any local configuration here\n//\n\n// Consider adding the 1918 zones here, if they are not used in your\n// organization\n//include "/etc/bind/zones.rfc1918";\n';
    const added = withZonesInclude(debian)!;
    expect(added.startsWith(debian)).toBe(true);
    expect(added).toContain('\ninclude "/etc/bind/cloudy/zones.conf";\n');
    expect(includesZones(added)).toBe(true);
    expect(withZonesInclude(added)).toBeUndefined();
    // a commented-out include does not count
    expect(includesZones('// include "/etc/bind/cloudy/zones.conf";\n')).toBe(false);
    expect(includesZones(withZonesInclude(undefined)!)).toBe(true);
  });
});

describe('zone file', () => {
  it('renders SOA, NS, the ns address and the records; parses records and serial back', () => {
    const text = renderZoneFile(settings, 2026112105);
    expect(text).toContain('@\tIN\tSOA\tns.cloudy.lan. hostmaster.cloudy.lan. (');
    expect(text).toContain('\t\t2026112105\t; serial\n');
    expect(text).toContain('@\tIN\tNS\tns.cloudy.lan.\nns\tIN\tA\t10.1.2.3\n');
    expect(text).toContain('cloud\t300\tIN\tAAAA\tfd00::10\n');
    expect(text).toContain('ext\t\tIN\tCNAME\texample.org.\n');
    expect(parseZoneFile(text)).toEqual({ serial: 2026112105, records: settings.records });
    expect(renderZoneFile({ ...settings, listenAddresses: ['127.0.0.1'] }, 1)).toContain('ns\tIN\tA\t127.0.0.1\n');
    expect(renderZoneFile({ ...settings, listenAddresses: ['0.0.0.0'] }, 1)).toContain('ns\tIN\tA\t127.0.0.1\n');
  });

  it('moves serials forward in YYYYMMDDnn form', () => {
    const day = new Date('2026-11-21T12:00:00Z');
    expect(nextSerial(undefined, day)).toBe(2026112100);
    expect(nextSerial(2026112100, day)).toBe(2026112101);
    expect(nextSerial(2026111999, day)).toBe(2026112100);
    expect(nextSerial(3000000000, day)).toBe(3000000001);
    expect(nextSerial(4294967295, day)).toBe(4294967295);
  });
});

describe('dig output', () => {
  const answer = `
; <<>> DiG 9.18.49-1~deb12u3-Debian <<>> +norecurse -p 15353 @127.0.0.1 cloudy.lan SOA
;; Got answer:
;; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 42869
;; flags: qr aa ra; QUERY: 1, ANSWER: 1, AUTHORITY: 1, ADDITIONAL: 2

;; QUESTION SECTION:
;cloudy.lan.\t\t\tIN\tSOA

;; ANSWER SECTION:
cloudy.lan.\t\t3600\tIN\tSOA\tns.cloudy.lan. hostmaster.cloudy.lan. 2026112100 3600 900 604800 300

;; AUTHORITY SECTION:
cloudy.lan.\t\t3600\tIN\tNS\tns.cloudy.lan.
`;

  it('reads status, flags, answers and the SOA serial', () => {
    const parsed = parseDig(answer)!;
    expect(parsed.status).toBe('NOERROR');
    expect(parsed.flags).toEqual(['qr', 'aa', 'ra']);
    expect(parsed.answers).toEqual([{ name: 'cloudy.lan.', ttl: 3600, type: 'SOA', data: 'ns.cloudy.lan. hostmaster.cloudy.lan. 2026112100 3600 900 604800 300' }]);
    expect(soaSerial(parsed, 'cloudy.lan')).toBe(2026112100);
    expect(soaSerial(parsed, 'other.lan')).toBeUndefined();
    expect(soaSerial({ ...parsed, flags: ['qr', 'ra'] }, 'cloudy.lan')).toBeUndefined();
    expect(soaSerial(parseDig(answer.replace('NOERROR', 'REFUSED')), 'cloudy.lan')).toBeUndefined();
  });

  it('sees no answer when dig got none, and never lets dig choose the server', () => {
    expect(parseDig(';; communications error to 127.0.0.1#15353: connection refused\n;; no servers could be reached\n')).toBeUndefined();
    expect(digArgv('127.0.0.1', 15353, 'cloudy.lan', 'SOA')).toEqual(['/usr/bin/dig', '+norecurse', '+time=1', '+tries=1', '-p', '15353', '@127.0.0.1', 'cloudy.lan', 'SOA']);
  });
});
