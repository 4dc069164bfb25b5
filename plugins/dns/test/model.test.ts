import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { ChangeFailedError, createSystem } from '../../../src/system/index.js';
import { ManifestSchema } from '../../../src/registry/manifest.js';
import { RecordingRunner } from '../../../test/helpers/recording-runner.js';
import { createTempRoot, type TempRoot } from '../../../test/helpers/temp-root.js';
import { manifest } from '../manifest.js';
import { DnsModel } from '../model.js';
import { DnsFormSchema, parseZoneFile } from '../dns-conf.js';
import { DEBIAN_LOCAL, DEBIAN_OPTIONS, fakeNamed, seedDebianBind, type FakeNamed } from './fake-named.js';
import plugin, { dnsSearchActions } from '../index.js';

const good = DnsFormSchema.parse({
  listenAddresses: '127.0.0.1', port: '15353', allowRecursion: '127.0.0.1/32', forwarders: '127.0.0.1:15354', forwardOnly: 'on',
  forwardZones: 'fwd.test 127.0.0.1:15354', zone: 'cloudy.test', records: 'www A 10.99.0.10\nfiles CNAME www', dnssecValidation: '',
});
const DAY = new Date('2026-11-21T10:00:00Z');

/**
 * Every file under the temp root's /etc/bind: path, mode and content. The system layer's
 * `.cloudy-bak` copies of previous versions are left out (a rolled-back change leaves them
 * holding the content that was restored: checked separately).
 */
function bindTree(root: TempRoot): string {
  const hash = createHash('sha256');
  const base = root.p('/etc/bind');
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const stat = statSync(full);
      if (stat.isDirectory()) { walk(full); continue; }
      if (name.endsWith('.cloudy-bak')) continue;
      hash.update(full.slice(base.length)).update(String(stat.mode)).update(readFileSync(full));
    }
  };
  walk(base);
  return hash.digest('hex');
}

describe('DNS model', () => {
  let root: TempRoot;
  let runner: RecordingRunner;
  let named: FakeNamed;
  let model: DnsModel;
  let log: string[];
  const job = () => ({ log: (line: string) => { log.push(line); }, progress: () => undefined });
  const read = (p: string) => readFileSync(root.p(p), 'utf8');
  const CHECKCONF = () => `/usr/bin/named-checkconf ${root.p('/etc/bind/named.conf')}`;
  const CHECKZONE = (zone: string) => `/usr/bin/named-checkzone ${zone} ${root.p(`/etc/bind/cloudy/db.${zone}`)}`;
  const DIG = (zone: string, port = 15353) => `/usr/bin/dig +norecurse +time=1 +tries=1 -p ${port} @127.0.0.1 ${zone} SOA`;

  beforeEach(() => {
    root = createTempRoot();
    root.installed({ bind9: '1:9.18.49-1~deb12u3', 'bind9-dnsutils': '1:9.18.49-1~deb12u3' });
    seedDebianBind(root);
    runner = new RecordingRunner();
    named = fakeNamed(runner, root);
    log = [];
    const system = createSystem({ rootPrefix: root.dir, runner });
    const m = ManifestSchema.parse(manifest);
    model = new DnsModel({ manifest: m, system: system.forPlugin(m), dataDir: root.p('/data'), log: pino({ level: 'silent' }) },
      { probeAttempts: 3, probeDelayMs: 5, now: () => DAY, localAddresses: () => ['127.0.0.1', '10.1.2.3'] });
  });
  afterEach(() => root.cleanup());

  it('writes every managed file, checks them, restarts named and waits for the new serial', async () => {
    await model.apply(good, job());
    // options: ours; Debian's kept once
    expect(read('/etc/bind/named.conf.options')).toContain('Managed by Cloudy panel');
    expect(read('/etc/bind/named.conf.options')).toContain('listen-on port 15353 { 127.0.0.1; };');
    expect(read('/etc/bind/cloudy/named.conf.options.debian')).toBe(DEBIAN_OPTIONS);
    // zones.conf, the zone file (0644: named reads it as user bind), and the include line
    expect(read('/etc/bind/cloudy/zones.conf')).toContain('zone "fwd.test" {\n\ttype forward;\n\tforward only;\n\tforwarders { 127.0.0.1 port 15354; };');
    const zone = read('/etc/bind/cloudy/db.cloudy.test');
    expect(zone).toContain('www\t\tIN\tA\t10.99.0.10\n');
    expect(parseZoneFile(zone).serial).toBe(2026112100);
    expect(statSync(root.p('/etc/bind/cloudy/db.cloudy.test')).mode & 0o777).toBe(0o644);
    expect(read('/etc/bind/named.conf.local')).toBe(`${DEBIAN_LOCAL}\n// Cloudy panel: the micro-cloud zone and forward zones (managed line, keep it)\ninclude "/etc/bind/cloudy/zones.conf";\n`);
    // Debian's main file is never touched
    expect(read('/etc/bind/named.conf')).toContain('include "/etc/bind/named.conf.default-zones";');
    expect(runner.commands()).toEqual([CHECKCONF(), CHECKZONE('cloudy.test'), 'service named restart', DIG('cloudy.test')]);
    expect(log).toContain('named answers on 127.0.0.1#15353: cloudy.test SOA serial 2026112100');
    expect(await model.read()).toEqual({ settings: good, managed: true, serial: 2026112100 });
  });

  it('bumps the serial only when the zone changes, and keeps the first copy of Debian\'s options', async () => {
    await model.apply(good);
    const options = read('/etc/bind/named.conf.options');
    await model.apply(good);
    expect(parseZoneFile(read('/etc/bind/cloudy/db.cloudy.test')).serial).toBe(2026112100);
    expect(read('/etc/bind/named.conf.local').match(/include "\/etc\/bind\/cloudy\/zones.conf"/g)).toHaveLength(1);
    await model.apply({ ...good, records: [...good.records, { name: 'cloud', type: 'AAAA', value: 'fd00::10' }] });
    expect(parseZoneFile(read('/etc/bind/cloudy/db.cloudy.test')).serial).toBe(2026112101);
    expect(named.loaded).toEqual({ port: 15353, zone: 'cloudy.test', serial: 2026112101 });
    expect(read('/etc/bind/named.conf.options')).toBe(options);
    expect(read('/etc/bind/cloudy/named.conf.options.debian')).toBe(DEBIAN_OPTIONS);
  });

  it('restores every file and does not touch named when named-checkconf refuses the config', async () => {
    const before = bindTree(root);
    runner.on(['/usr/bin/named-checkconf'], { exitCode: 1, stdout: '/etc/bind/named.conf.local:9: unknown option \'zonee\'\n' });
    const error = await model.apply(good, job()).catch((e) => e);
    expect(error).toBeInstanceOf(ChangeFailedError);
    expect((error as ChangeFailedError).stage).toBe('test');
    expect((error as ChangeFailedError).details.output).toContain("unknown option 'zonee'");
    expect(bindTree(root)).toBe(before);
    expect(existsSync(root.p('/etc/bind/cloudy/zones.conf'))).toBe(false);
    expect(runner.commands()).toEqual([CHECKCONF()]);
    expect(log).toContain(`$ ${CHECKCONF()}`);
  });

  it('restores every file when named-checkzone refuses the zone', async () => {
    await model.apply(good);
    const before = bindTree(root);
    runner.calls.length = 0;
    runner.on(['/usr/bin/named-checkzone'], { exitCode: 1, stdout: 'zone cloudy.test/IN: www: CNAME and other data\n' });
    const error = await model.apply({ ...good, records: [{ name: 'x', type: 'A', value: '10.0.0.1' }] }).catch((e) => e);
    expect((error as ChangeFailedError).stage).toBe('test');
    expect((error as ChangeFailedError).message).toContain('CNAME and other data');
    expect(bindTree(root)).toBe(before);
    expect(runner.commands()).toEqual([CHECKCONF(), CHECKZONE('cloudy.test')]);
    expect(named.restarts).toBe(1);
  });

  it('rolls back every file (the include line too) and restarts the old config when the restart fails', async () => {
    const before = bindTree(root);
    named.failRestarts = 1;
    const error = await model.apply(good).catch((e) => e);
    expect((error as ChangeFailedError).stage).toBe('activate');
    expect((error as ChangeFailedError).restored).toBe(true);
    expect(bindTree(root)).toBe(before);
    expect(read('/etc/bind/named.conf.local')).toBe(DEBIAN_LOCAL);
    expect(read('/etc/bind/named.conf.local.cloudy-bak')).toBe(DEBIAN_LOCAL);
    expect(read('/etc/bind/named.conf.options.cloudy-bak')).toBe(DEBIAN_OPTIONS);
    expect(runner.commands()).toEqual([CHECKCONF(), CHECKZONE('cloudy.test'), 'service named restart', 'service named restart']);
    expect(named.running).toBe(true);
  });

  it('rolls back a new zone that named does not serve, and checks the old zone answers again', async () => {
    await model.apply(good);
    const before = bindTree(root);
    runner.calls.length = 0;
    // the new zone never answers, e.g. the port is taken
    const renamed = { ...good, zone: 'other.test', port: 15399 };
    runner.on(['service', 'named', 'restart'], () => {
      named.restarts++;
      const zones = read('/etc/bind/cloudy/zones.conf');
      named.silent = zones.includes('other.test');
      named.loaded = { port: named.silent ? 15399 : 15353, zone: named.silent ? 'other.test' : 'cloudy.test', serial: 2026112100 };
      return {};
    });
    const error = await model.apply(renamed, job()).catch((e) => e);
    expect((error as ChangeFailedError).stage).toBe('activate');
    expect((error as ChangeFailedError).restored).toBe(true);
    expect(bindTree(root)).toBe(before);
    expect(existsSync(root.p('/etc/bind/cloudy/db.other.test'))).toBe(false);
    expect(read('/etc/bind/cloudy/db.cloudy.test')).toContain('www\t\tIN\tA\t10.99.0.10');
    const digs = runner.commands().filter((c) => c.startsWith('/usr/bin/dig'));
    expect(digs).toEqual([DIG('other.test', 15399), DIG('other.test', 15399), DIG('other.test', 15399), DIG('cloudy.test')]);
    expect(log.at(-1)).toBe('named answers on 127.0.0.1#15353: cloudy.test SOA serial 2026112100');
  });

  it('moves to a new zone name and removes the old zone file', async () => {
    await model.apply(good);
    await model.apply({ ...good, zone: 'mc1.guifi.net' });
    expect(existsSync(root.p('/etc/bind/cloudy/db.cloudy.test'))).toBe(false);
    expect(read('/etc/bind/cloudy/db.mc1.guifi.net')).toContain('@\tIN\tSOA\tns.mc1.guifi.net. hostmaster.mc1.guifi.net. (');
    expect(named.loaded?.zone).toBe('mc1.guifi.net');
  });

  it('refuses listen addresses that are not this host\'s, before touching anything', async () => {
    expect(model.checkHostFacts({ ...good, listenAddresses: ['10.9.9.9'] })).toEqual({ listenAddresses: { key: 'dns:errors.notLocal', params: { value: '10.9.9.9' } } });
    expect(model.checkHostFacts({ ...good, listenAddresses: ['0.0.0.0'] })).toEqual({});
    const before = bindTree(root);
    await expect(model.apply({ ...good, listenAddresses: ['10.9.9.9'] })).rejects.toThrow(/notLocal/);
    await expect(model.apply({ ...good, records: [{ name: '@', type: 'CNAME', value: 'www' }] })).rejects.toThrow();
    expect(bindTree(root)).toBe(before);
    expect(runner.calls).toEqual([]);
  });

  it("after install replaces Debian's options with safe defaults and starts answering", async () => {
    await model.afterInstall(job());
    const { settings, managed } = await model.read();
    expect(managed).toBe(true);
    expect(settings).toMatchObject({ listenAddresses: ['127.0.0.1'], port: 53, zone: 'cloudy.lan', dnssecValidation: true, records: [] });
    expect(named.loaded).toEqual({ port: 53, zone: 'cloudy.lan', serial: 2026112100 });
  });

  it('reports status from dpkg, the service manager and a live SOA query', async () => {
    expect(await model.status()).toEqual({ installed: true, running: false, version: '1:9.18.49-1~deb12u3', facts: { 'dns:facts.listen': '127.0.0.1:53' } });
    await model.apply(good);
    expect(await model.status()).toEqual({
      installed: true, running: true, version: '1:9.18.49-1~deb12u3',
      facts: { 'dns:facts.listen': '127.0.0.1:15353', 'dns:facts.zone': 'cloudy.test', 'dns:facts.answering': 'cloudy.test SOA 2026112100' },
    });
    named.silent = true;
    expect((await model.status()).facts?.['dns:facts.answering']).toBe('—');
    named.running = false;
    runner.calls.length = 0;
    expect((await model.status()).running).toBe(false);
    expect(runner.commands()).toEqual(['service named status']);
    root.installed({});
    expect(await model.status()).toEqual({ installed: false, running: false });
  });

  it('announces dnsservice with the zone once configured, and shows the address on the search page', async () => {
    expect(await model.announcement()).toBeUndefined();
    await model.apply(good);
    // only loopback: nobody else could use it
    expect(await model.announcement()).toBeUndefined();
    await model.apply({ ...good, listenAddresses: ['127.0.0.1', '10.1.2.3'] });
    expect(await model.announcement()).toEqual({ port: 15353, description: 'DNS server of cloudy.test', txt: { zone: 'cloudy.test' } });
    expect(plugin.manifest.publish).toEqual({ type: 'dnsservice' });
    expect(plugin.searchActions?.dnsservice).toBe(dnsSearchActions);
    const entry = {
      v: 1 as const, type: 'dnsservice', description: 'DNS', node: 'n1', host: 'n1.local', addresses: ['10.1.2.3'], port: 53,
      microcloud: '', txt: { zone: 'mc1.guifi.net' }, health: 'up' as const, source: 'serf' as const, nodeStatus: 'alive' as const, lastSeen: 0,
    };
    expect(dnsSearchActions(entry)).toEqual([
      { label: 'dns:search.useAsDns', kind: 'info', text: '10.1.2.3' },
      { label: 'dns:search.zone', kind: 'info', text: 'mc1.guifi.net' },
    ]);
    expect(dnsSearchActions({ ...entry, port: 5353, txt: { zone: '<script>' } })).toEqual([{ label: 'dns:search.useAsDns', kind: 'info', text: '10.1.2.3#5353' }]);
  });
});
