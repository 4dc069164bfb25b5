import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import pino from 'pino';
import { ChangeFailedError, createSystem } from '../../../src/system/index.js';
import { ManifestSchema } from '../../../src/registry/manifest.js';
import type { CatalogueEntry } from '../../../src/discovery/record.js';
import { RecordingRunner } from '../../../test/helpers/recording-runner.js';
import { createTempRoot, type TempRoot } from '../../../test/helpers/temp-root.js';
import { manifest } from '../manifest.js';
import { SquidModel } from '../model.js';
import { parseSquidConf, SquidSettingsSchema } from '../squid-conf.js';
import type { ProbeAnswer } from '../squid-probe.js';
import squid from '../index.js';

const DEBIAN_SQUID_CONF = 'acl localnet src 10.0.0.0/8\nhttp_access allow localhost manager\nhttp_access deny manager\ninclude /etc/squid/conf.d/*.conf\nhttp_access allow localhost\nhttp_access deny all\nhttp_port 3128\ncoredump_dir /var/spool/squid\n';
const FRAGMENT = '/etc/squid/conf.d/cloudy.conf';
const PARSE = '/usr/sbin/squid -k parse -f /etc/squid/squid.conf';
const good = SquidSettingsSchema.parse({
  port: '13130', allowedNetworks: '127.0.0.0/8', cacheDiskMb: '2048', cacheMemMb: '64', maxObjectMb: '8', adminEmail: 'ops@cloudy.test',
  visibleHostname: 'proxy.cloudy.test', errorLanguage: 'es', auth: 'none', ldapMain: '', ldapBackup: '', ldapBaseDn: '', ldapUserAttribute: '',
  ldapGroup: '', ldapRealm: '', parentProxy: '',
});
const job = () => {
  const lines: string[] = [];
  return { lines, log: (line: string) => void lines.push(line), progress: () => undefined };
};

describe('Squid model', () => {
  let root: TempRoot;
  let runner: RecordingRunner;
  let model: SquidModel;
  /** What the fake squid listens on: set when "service squid restart/start" runs, from the files then. */
  let listening: Map<number, { server: string; maxKb: number }>;
  let running: boolean;

  const startFakeSquid = () => {
    listening = new Map();
    const text = existsSync(root.p(FRAGMENT)) ? readFileSync(root.p(FRAGMENT), 'utf8') : '';
    const parsed = parseSquidConf(text);
    const maxKb = (parsed.cacheDiskMb ?? 0) * 1024;
    listening.set(3128, { server: 'squid/5.7', maxKb });
    if (parsed.port) listening.set(parsed.port, { server: 'squid/5.7', maxKb });
    running = true;
  };

  beforeEach(() => {
    root = createTempRoot();
    root.installed({ squid: '5.7-2+deb12u6' });
    root.write('/etc/init.d/squid', '#!/bin/sh\n');
    root.write('/etc/squid/squid.conf', DEBIAN_SQUID_CONF);
    runner = new RecordingRunner();
    running = true;
    listening = new Map([[3128, { server: 'squid/5.7', maxKb: 0 }]]);
    runner.on(['service', 'squid', 'restart'], () => { startFakeSquid(); return {}; });
    runner.on(['service', 'squid', 'start'], () => { startFakeSquid(); return {}; });
    runner.on(['service', 'squid', 'stop'], () => { running = false; listening = new Map(); return {}; });
    runner.on(['service', 'squid', 'status'], () => ({ exitCode: running ? 0 : 3 }));
    runner.on(['/usr/sbin/squid', '-k', 'parse'], { stderr: '2026/11/21 20:14:17| Processing: http_port 13130\n' });
    const system = createSystem({ rootPrefix: root.dir, runner });
    const m = ManifestSchema.parse(manifest);
    const probe = async (port: number, path: string): Promise<ProbeAnswer | undefined> => {
      const squid = listening.get(port);
      if (!squid) return undefined;
      expect(path).toBe('/squid-internal-mgr/storedir');
      return { status: 200, server: squid.server, body: `Store Directory Statistics:\nStore Entries          : 53\nMaximum Swap Size      : ${squid.maxKb} KB\nCurrent Store Swap Size: 1536.00 KB\n` };
    };
    model = new SquidModel({ manifest: m, system: system.forPlugin(m), dataDir: root.p('/data'), log: pino({ level: 'silent' }) }, { probe, answerTimeoutMs: 600 });
  });
  afterEach(() => root.cleanup());

  it('writes the fragment, checks it with squid -k parse, restarts squid and waits for it to answer', async () => {
    const j = job();
    await model.apply(good, j);
    const text = readFileSync(root.p(FRAGMENT), 'utf8');
    expect(text).toContain('\nhttp_port 13130\n');
    expect(text).toContain('\nacl cloudy_clients src 127.0.0.0/8\nhttp_access allow cloudy_clients\nhttp_access deny all\n');
    expect(statSync(root.p(FRAGMENT)).mode & 0o777).toBe(0o644);
    // the admin's squid.conf is never touched
    expect(readFileSync(root.p('/etc/squid/squid.conf'), 'utf8')).toBe(DEBIAN_SQUID_CONF);
    expect(runner.commands()).toEqual(['service squid status', PARSE, 'service squid restart']);
    expect(runner.calls.find((c) => c.argv[0] === '/usr/sbin/squid')!.argv).toEqual(['/usr/sbin/squid', '-k', 'parse', '-f', '/etc/squid/squid.conf']);
    expect(j.lines).toContain('squid -k parse: configuration accepted');
    expect(j.lines.some((l) => /^squid answers on 127\.0\.0\.1:13130 \(squid\/5\.7\)/.test(l))).toBe(true);
    expect(j.lines).toContain('disk cache: 1.5 MB used of 2048 MB');
    expect(j.lines).toContain('note: /etc/squid/squid.conf also listens on 3128 (same access rules)');
    const reading = await model.read();
    expect(reading.settings).toEqual({ ...good, ldapMain: 'ldap.guifi.net', ldapBackup: 'ldap2.guifi.net', ldapBaseDn: 'o=webusers,dc=guifi,dc=net', ldapUserAttribute: 'uid', ldapRealm: 'Guifi Proxy3 Squid proxy-caching federated server' });
    expect(reading.managed).toBe(true);
    expect(reading.mainPorts).toEqual([3128]);
  });

  it("does not repeat Debian's http_port 3128 when 3128 is chosen", async () => {
    const j = job();
    await model.apply({ ...good, port: 3128 }, j);
    const text = readFileSync(root.p(FRAGMENT), 'utf8');
    expect(text).not.toMatch(/^http_port/m);
    expect(j.lines).toContain('http_port 3128 is already declared in /etc/squid/squid.conf: not repeated');
    expect((await model.read()).settings.port).toBe(3128);
  });

  it('keeps the previous fragment and never restarts when squid -k parse refuses the configuration', async () => {
    await model.apply(good);
    const before = readFileSync(root.p(FRAGMENT), 'utf8');
    runner.calls.length = 0;
    runner.on(['/usr/sbin/squid', '-k', 'parse'], { exitCode: 1, stderr: '2026/11/21| Processing: cache_peer x\n2026/11/21| FATAL: Bungled /etc/squid/conf.d/cloudy.conf line 20: cache_peer x\n' });
    const j = job();
    const error = await model.apply({ ...good, port: 13131, parentProxy: 'parent.cloudy.test:3128' }, j).catch((e) => e);
    expect(error).toBeInstanceOf(ChangeFailedError);
    expect((error as ChangeFailedError).stage).toBe('test');
    expect((error as ChangeFailedError).details.output).toBe('2026/11/21| FATAL: Bungled /etc/squid/conf.d/cloudy.conf line 20: cache_peer x');
    expect(j.lines).toContain('2026/11/21| FATAL: Bungled /etc/squid/conf.d/cloudy.conf line 20: cache_peer x');
    expect(readFileSync(root.p(FRAGMENT), 'utf8')).toBe(before);
    expect(runner.commands()).toEqual(['service squid status', PARSE]);
    expect(listening.has(13130)).toBe(true);
  });

  it('treats a FATAL line as a refusal even when squid -k parse exits 0', async () => {
    runner.on(['/usr/sbin/squid', '-k', 'parse'], { exitCode: 0, stderr: '2026/11/21| FATAL: Error Directory /usr/share/squid-langpack/es: (2) No such file or directory\n' });
    const error = await model.apply(good).catch((e) => e);
    expect((error as ChangeFailedError).stage).toBe('test');
    expect(existsSync(root.p(FRAGMENT))).toBe(false);
    expect(runner.commands()).not.toContain('service squid restart');
  });

  it('restores the previous fragment and restarts squid with it when the restart fails', async () => {
    await model.apply(good);
    const before = readFileSync(root.p(FRAGMENT), 'utf8');
    runner.calls.length = 0;
    let first = true;
    runner.on(['service', 'squid', 'restart'], () => {
      if (first) { first = false; running = false; listening = new Map(); return { exitCode: 3, stdout: 'FATAL: something' }; }
      startFakeSquid();
      return {};
    });
    const j = job();
    const error = await model.apply({ ...good, port: 13131 }, j).catch((e) => e);
    expect((error as ChangeFailedError).stage).toBe('activate');
    expect((error as ChangeFailedError).restored).toBe(true);
    expect(readFileSync(root.p(FRAGMENT), 'utf8')).toBe(before);
    expect(runner.commands()).toEqual(['service squid status', PARSE, 'service squid restart', 'service squid restart']);
    expect(j.lines).toContain('restarting squid with the previous settings');
    expect(listening.has(13130)).toBe(true);
  });

  it('rolls back when something else than squid answers on the new port', async () => {
    await model.apply(good);
    const before = readFileSync(root.p(FRAGMENT), 'utf8');
    runner.on(['service', 'squid', 'restart'], () => {
      startFakeSquid();
      // port 13131 is taken by another program: squid logs an error and runs without it
      listening.set(13131, { server: 'SimpleHTTP/0.6 Python/3.11.2', maxKb: 0 });
      return {};
    });
    const error = await model.apply({ ...good, port: 13131 }).catch((e) => e);
    expect((error as ChangeFailedError).stage).toBe('activate');
    expect((error as ChangeFailedError).message).toContain('squid does not answer on 127.0.0.1:13131: something else answers (HTTP 200, Server "SimpleHTTP/0.6 Python/3.11.2")');
    expect((error as ChangeFailedError).restored).toBe(true);
    expect(readFileSync(root.p(FRAGMENT), 'utf8')).toBe(before);
  });

  it('leaves squid stopped after a rollback when it was stopped before', async () => {
    running = false;
    listening = new Map();
    runner.on(['service', 'squid', 'restart'], () => { running = true; listening = new Map(); return {}; }); // starts but never answers
    const error = await model.apply(good).catch((e) => e);
    expect((error as ChangeFailedError).stage).toBe('activate');
    expect(runner.commands()).toEqual(['service squid status', PARSE, 'service squid restart', 'service squid stop']);
    expect(existsSync(root.p(FRAGMENT))).toBe(false);
    expect(running).toBe(false);
  });

  it("after install replaces Debian's localhost-only default with the panel's defaults on 3128", async () => {
    await model.afterInstall(job());
    const { settings, managed } = await model.read();
    expect(managed).toBe(true);
    expect(settings).toMatchObject({ port: 3128, allowedNetworks: ['10.0.0.0/8', '172.16.0.0/12'], auth: 'none', cacheDiskMb: 1024 });
    expect(readFileSync(root.p(FRAGMENT), 'utf8')).not.toMatch(/^http_port/m);
    // a second install keeps what the admin chose
    await model.apply(good);
    await model.afterInstall(job());
    expect((await model.read()).settings.port).toBe(13130);
  });

  it('reports status from dpkg, the service manager and squid\'s own storedir report', async () => {
    await model.apply(good);
    const status = await model.status();
    expect(status).toMatchObject({ installed: true, running: true, version: '5.7-2+deb12u6' });
    expect(status.facts).toEqual({
      'squid:facts.listen': '13130, 3128/tcp',
      'squid:facts.answering': 'squid/5.7',
      'squid:facts.cache': '1.5 MB / 2048 MB (0.1%)',
      'squid:facts.memory': '64 MB',
    });
    running = false;
    listening = new Map();
    const stopped = await model.status();
    expect(stopped.running).toBe(false);
    expect(stopped.facts?.['squid:facts.answering']).toBeUndefined();
    root.installed({});
    expect(await model.status()).toEqual({ installed: false, running: false });
  });

  it('announces proxy3 only once configured, with federation and auth in txt', async () => {
    expect(await model.announcement()).toBeUndefined();
    await model.apply(good);
    expect(await model.announcement()).toEqual({ port: 13130, description: 'Squid web proxy (Proxy3) on proxy.cloudy.test', txt: { federated: 'no', auth: 'none' } });
    await model.apply({ ...good, auth: 'ldap', ldapMain: '127.0.0.1:13389', ldapBaseDn: 'dc=cloudy,dc=test', ldapUserAttribute: 'uid', ldapRealm: 'Cloudy', parentProxy: 'parent.cloudy.test:3128' });
    expect((await model.announcement())?.txt).toEqual({ federated: 'yes', auth: 'ldap' });
    root.installed({});
    expect(await model.announcement()).toBeUndefined();
  });

  it('refuses a memory cache bigger than half of this node\'s memory', async () => {
    const halfMb = Math.floor(os.totalmem() / 2 / 1024 / 1024);
    expect(model.checkHostFacts({ ...good, cacheMemMb: Math.min(halfMb, 65_536) })).toEqual({});
    if (halfMb < 65_536) {
      expect(model.checkHostFacts({ ...good, cacheMemMb: halfMb + 1 })).toEqual({ cacheMemMb: { key: 'squid:errors.cacheMemHost', params: { max: String(halfMb) } } });
      await expect(model.apply({ ...good, cacheMemMb: halfMb + 1 })).rejects.toThrow(/cacheMemHost/);
      expect(runner.calls).toEqual([]);
    }
  });

  it('offers "use as proxy" for discovered proxy3 services', () => {
    const entry = { type: 'proxy3', host: 'node7', addresses: ['10.1.2.3'], port: 3128 } as unknown as CatalogueEntry;
    expect(squid.searchActions!.proxy3!(entry)).toEqual([{ kind: 'info', label: 'squid:search.useAsProxy', text: '10.1.2.3:3128' }]);
    expect(squid.searchActions!.proxy3!({ ...entry, addresses: [] })[0]!.text).toBe('node7:3128');
  });
});
