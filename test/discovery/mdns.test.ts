// mDNS without the network: the wire mapping (record → DNS-SD service → record), strict TXT
// decoding of hostile answers, interface/subnet checks and "off unless configured".
import { describe, expect, it } from 'vitest';
import os from 'node:os';
import { Catalogue } from '../../src/discovery/catalogue.js';
import { ServiceRecordSchema, type ServiceRecord } from '../../src/discovery/record.js';
import {
  createMdns, decodeTxt, hostLabel, inSubnets, instanceName, interfaceIpv4, MdnsDiscovery, recordFromService,
  serviceConfigFor, txtFor,
} from '../../src/discovery/mdns.js';
import { MdnsSettingsSchema, PanelSettingsSchema } from '../../src/config.js';

const record: ServiceRecord = {
  v: 1, type: 'proxy3', description: 'Proxy of node A', node: 'nodeA', host: 'nodea.local', addresses: ['10.0.0.1'],
  port: 3128, microcloud: 'mc1', txt: { federated: 'yes', node: 'spoof' }, health: 'up',
};
const txtStrings = (txt: Record<string, string>) => Object.entries(txt).map(([k, v]) => Buffer.from(`${k}=${v}`));

/** What bonjour's browser hands us for a service announced with `txt`. */
const browsed = (txt: Buffer[], over: Record<string, unknown> = {}) => ({
  name: 'Proxy of node A [nodeA:3128]', type: 'proxy3', protocol: 'tcp', host: 'nodea.local', port: 3128,
  addresses: ['10.0.0.1'], rawTxt: txt, txt: {}, referer: { address: '10.0.0.1' }, ...over,
});

describe('mDNS wire mapping', () => {
  it('announces the record fields in TXT, never letting txt keys override them', () => {
    const txt = txtFor(record);
    expect(txt).toEqual({ v: '1', description: 'Proxy of node A', node: 'nodeA', microcloud: 'mc1', health: 'up', federated: 'yes' });
    const config = serviceConfigFor(record);
    expect(config).toMatchObject({ type: 'proxy3', protocol: 'tcp', port: 3128, host: 'nodea.local' });
    expect(config.name).toBe('Proxy of node A [nodeA:3128]');
  });

  it('keeps names and TXT strings within DNS limits', () => {
    const long = { ...record, description: 'é'.repeat(120), node: 'x'.repeat(64) };
    expect(Buffer.byteLength(instanceName(long))).toBeLessThanOrEqual(63);
    expect(instanceName({ ...record, description: 'a.b\\c\u0001' })).toBe('a b c [nodeA:3128]');
    for (const [k, v] of Object.entries(txtFor(long))) expect(Buffer.byteLength(`${k}=${v}`)).toBeLessThanOrEqual(255);
    expect(hostLabel('abc-123-Host_10.0.0.1:5000')).toBe('abc-123-host-10-0-0-1-5000');
    expect(hostLabel('***')).toBe('cloudy');
    expect(hostLabel('a'.repeat(80))).toHaveLength(63);
  });

  it('round-trips a record through what a browser receives', () => {
    const back = recordFromService(browsed(txtStrings(txtFor(record))));
    const parsed = ServiceRecordSchema.parse(back);
    expect(parsed).toEqual({ ...record, txt: { federated: 'yes' } });
  });

  it('ignores what is not a Cloudy service', () => {
    expect(recordFromService(browsed(txtStrings({ node: 'nodeA' })))).toBeUndefined(); // no v=1
    expect(recordFromService(browsed(txtStrings({ v: '2', node: 'nodeA' })))).toBeUndefined();
    expect(recordFromService(browsed(txtStrings({ v: '1' })))).toBeUndefined(); // no node
    expect(recordFromService(browsed(txtStrings({ v: '1', node: 'n' }), { protocol: 'udp' }))).toBeUndefined();
    expect(recordFromService(browsed(txtStrings({ v: '1', node: 'n' }), { type: 'Bad_Type' }))).toBeUndefined();
    expect(recordFromService(browsed([], { txt: undefined }))).toBeUndefined();
  });

  it('decodes hostile TXT strictly: first key wins, bounded, no prototype tricks', () => {
    const raw = [
      Buffer.from('v=1'), Buffer.from('NODE=first'), Buffer.from('node=second'), Buffer.from('__proto__=x'),
      Buffer.from('health=exploded'), Buffer.from(`description=${'<script>alert(1)</script>'}`), Buffer.from('=novalue'),
      Buffer.from('x'.repeat(300)), Buffer.from('flag'), Buffer.from(`long=${'y'.repeat(100)}`),
      ...Array.from({ length: 20 }, (_, i) => Buffer.from(`k${i}=v${i}`)),
    ];
    const decoded = decodeTxt(raw);
    expect(decoded.get('node')).toBe('first');
    expect(decoded.get('flag')).toBe('');
    expect(decoded.has('')).toBe(false);
    expect([...decoded.keys()].some((k) => k.length > 64)).toBe(false);
    expect(({} as Record<string, unknown>).x).toBeUndefined();

    const candidate = recordFromService(browsed(raw))!;
    expect(candidate.node).toBe('first');
    expect(candidate.health).toBe('unknown');
    expect(candidate.description).toBe('<script>alert(1)</script>'); // kept as text; pages escape it
    const txt = candidate.txt as Record<string, string>;
    expect(Object.keys(txt).length).toBeLessThanOrEqual(8);
    expect(txt.long).toBeUndefined(); // value over 64 characters
    expect(Object.getPrototypeOf(txt)).toBe(Object.prototype);
    expect(ServiceRecordSchema.safeParse(candidate).success).toBe(true);
    expect(decodeTxt('not an array').size).toBe(0);
  });

  it('lets the catalogue drop what the schema refuses (too many addresses, bad port)', () => {
    const catalogue = new Catalogue();
    const good = recordFromService(browsed(txtStrings(txtFor(record))))!;
    const badPort = recordFromService(browsed(txtStrings(txtFor(record)), { port: 70000 }))!;
    const badAddress = recordFromService(browsed(txtStrings(txtFor(record)), { addresses: ['<img>'] }))!;
    expect(catalogue.setNode('mdns', 'nodeA', [good, badPort, badAddress])).toEqual({ accepted: 1, dropped: 2 });
    expect(catalogue.all()[0]).toMatchObject({ source: 'mdns', node: 'nodeA', port: 3128 });
  });
});

describe('mDNS interface handling', () => {
  const fake = {
    tinc0: [
      { address: '10.139.40.5', netmask: '255.255.255.0', family: 'IPv4', mac: 'aa:bb:cc:dd:ee:ff', internal: false, cidr: '10.139.40.5/24' },
      { address: 'fe80::1', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: 'aa:bb:cc:dd:ee:ff', internal: false, cidr: 'fe80::1/64', scopeid: 2 },
    ],
  } as unknown as ReturnType<typeof os.networkInterfaces>;

  it('finds the IPv4 subnets of the interface and checks senders against them', () => {
    const { addresses, subnets } = interfaceIpv4('tinc0', fake);
    expect(addresses).toEqual(['10.139.40.5']);
    expect(inSubnets('10.139.40.200', subnets)).toBe(true);
    expect(inSubnets('10.139.41.1', subnets)).toBe(false);
    expect(inSubnets('not-an-ip', subnets)).toBe(false);
    expect(inSubnets(undefined, subnets)).toBe(false);
    expect(interfaceIpv4('eth9', fake).addresses).toEqual([]);
  });

  it('is off by default and needs an interface', () => {
    const settings = PanelSettingsSchema.parse({});
    expect(settings.mdns).toEqual({ enabled: false, interface: '' });
    const catalogue = new Catalogue();
    expect(createMdns(settings.mdns, { catalogue })).toBeUndefined();
    expect(createMdns({ enabled: true, interface: '' }, { catalogue })).toBeUndefined();
    expect(createMdns({ enabled: false, interface: 'tinc0' }, { catalogue })).toBeUndefined();
    expect(createMdns({ enabled: true, interface: 'tinc0' }, { catalogue })).toBeInstanceOf(MdnsDiscovery);
    expect(MdnsSettingsSchema.safeParse({ enabled: true, interface: 'eth0; rm -rf /' }).success).toBe(false);
  });

  it('does not open a socket while the interface has no IPv4 address, but keeps what to announce', async () => {
    const warnings: string[] = [];
    const mdns = new MdnsDiscovery({
      interface: 'tinc0', catalogue: new Catalogue(), networkInterfaces: () => ({}),
      log: { info: () => undefined, debug: () => undefined, warn: (_o: unknown, msg?: string) => { warnings.push(String(msg)); } } as never,
    });
    mdns.start();
    try {
      expect(mdns.running).toBe(false);
      expect(warnings.join()).toMatch(/no IPv4 address/);
      await mdns.sync([record, { ...record, port: 0 } as ServiceRecord]);
      expect(mdns.announced()).toHaveLength(1);
      await mdns.announce([{ ...record, type: 'dnsservice', port: 53 }]);
      expect(mdns.announced().map((r) => r.type).sort()).toEqual(['dnsservice', 'proxy3']);
      await mdns.withdraw('proxy3');
      expect(mdns.announced().map((r) => r.type)).toEqual(['dnsservice']);
    } finally {
      await mdns.close();
    }
  });
});
