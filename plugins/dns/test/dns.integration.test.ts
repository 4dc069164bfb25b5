// The DNS plugin on the real host: the settings form configures the system's bind9 (service
// named) on 127.0.0.1:15353; its zone answers authoritatively, a forward zone and the global
// forwarders go to a throwaway dnsmasq on 127.0.0.1:15354, a client outside the ACL is refused,
// bad input changes nothing, and settings named refuses or cannot use are rolled back while the
// old config keeps answering. Loopback only: every forwarder is on 127.0.0.1, `forward only`,
// DNSSEC validation off, and only names under the test zones are asked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync,
} from 'node:fs';
import dgram from 'node:dgram';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Browser } from '../../../test/helpers/build-app.js';
import { startPanelOnHost, type PanelOnHost } from '../../../test/helpers/panel-on-host.js';
import { parseDig } from '../dig.js';
import { parseZoneFile } from '../dns-conf.js';

if (process.getuid?.() !== 0) throw new Error('the integration tier runs as root');

const PORT = 15353;
const DNSMASQ_PORT = 15354;
const BUSY_PORT = 15355;
const ZONE = 'cloudy.test';
const BIND = '/etc/bind';
const CACHE = '/var/cache/bind';

const form = (extra: Record<string, string> = {}) => ({
  listenAddresses: '127.0.0.1',
  port: String(PORT),
  allowRecursion: '127.0.0.1/32',
  forwarders: `127.0.0.1:${DNSMASQ_PORT}`,
  forwardOnly: 'on',
  forwardZones: `fwd.test 127.0.0.1:${DNSMASQ_PORT}`,
  zone: ZONE,
  records: 'www A 10.99.0.10\nfiles CNAME www\ncloud 300 AAAA fd00::10',
  dnssecValidation: '',
  ...extra,
});

const dig = (name: string, type: string, { port = PORT, source }: { port?: number; source?: string } = {}) => {
  const argv = ['+time=2', '+tries=1', '-p', String(port), '@127.0.0.1', ...(source ? ['-b', source] : []), name, type];
  const run = spawnSync('dig', argv, { encoding: 'utf8' });
  return { ...parseDig(run.stdout), raw: run.stdout };
};
const named = (verb: string) => spawnSync('service', ['named', verb], { encoding: 'utf8' });
const namedPid = () => (existsSync('/run/named/named.pid') ? readFileSync('/run/named/named.pid', 'utf8').trim() : undefined);

interface Saved { content: Buffer; mode: number; uid: number; gid: number; atime: Date; mtime: Date }
/** Every file under a folder (relative path → content, mode, owner). */
function snapshot(dir: string): Map<string, Saved> {
  const out = new Map<string, Saved>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = path.join(d, name);
      const stat = statSync(full);
      if (stat.isDirectory()) walk(full);
      else out.set(full, { content: readFileSync(full), mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid, atime: stat.atime, mtime: stat.mtime });
    }
  };
  walk(dir);
  return out;
}
/** Hash of the files under /etc/bind; `withBackups: false` leaves the system layer's .cloudy-bak copies out. */
function bindHash({ withBackups = true } = {}): string {
  const hash = createHash('sha256');
  for (const [file, saved] of [...snapshot(BIND)].sort(([a], [b]) => a.localeCompare(b))) {
    if (!withBackups && file.endsWith('.cloudy-bak')) continue;
    hash.update(file).update(String(saved.mode)).update(saved.content);
  }
  return hash.digest('hex');
}

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

describe('DNS plugin on the real host (bind9)', () => {
  let panel: PanelOnHost | undefined;
  let app: FastifyInstance;
  let base: string;
  let b: Browser;
  let runJob: PanelOnHost['runJob'];
  let dnsmasq: ChildProcess | undefined;
  let original: Map<string, Saved>;
  let originalCache: Set<string>;
  const originalDirs = new Set<string>();

  beforeAll(async () => {
    expect(spawnSync('dpkg-query', ['-W', '-f=${db:Status-Abbrev}', 'bind9', 'bind9-dnsutils', 'dnsmasq'], { encoding: 'utf8' }).stdout).toBe('ii ii ii ');
    for (const p of [PORT, DNSMASQ_PORT, BUSY_PORT]) {
      expect(spawnSync('ss', ['-Hlun', `sport = :${p}`], { encoding: 'utf8' }).stdout.trim(), `udp port ${p} is free`).toBe('');
    }
    // Put everything back afterwards: /etc/bind exactly, and named's cache folder.
    original = snapshot(BIND);
    for (const d of readdirSync(BIND, { withFileTypes: true })) if (d.isDirectory()) originalDirs.add(path.join(BIND, d.name));
    originalCache = new Set(readdirSync(CACHE));
    named('stop');
    // Until the panel writes its own, a loopback-only options file: if anything restarted named
    // with Debian's defaults (port 53 everywhere, DNSSEC trust-anchor refresh) it would reach out.
    writeFileSync(path.join(BIND, 'named.conf.options'),
      `options {\n\tdirectory "${CACHE}";\n\tlisten-on port ${PORT} { 127.0.0.1; };\n\tlisten-on-v6 { none; };\n\trecursion no;\n\tdnssec-validation no;\n\tnotify no;\n};\n`);

    base = mkdtempSync(path.join(tmpdir(), 'cloudy-dns-it-'));
    chmodSync(base, 0o755);
    dnsmasq = spawn('dnsmasq', ['-k', '--conf-file=/dev/null', `--port=${DNSMASQ_PORT}`, '--listen-address=127.0.0.1', '--bind-interfaces',
      '--no-resolv', '--no-hosts', '--no-poll', `--pid-file=${path.join(base, 'dnsmasq.pid')}`,
      '--local=/fwd.test/', '--host-record=node1.fwd.test,10.99.0.1',
      '--local=/global.test/', '--host-record=node2.global.test,10.99.0.2'], { stdio: 'ignore' });
    expect(await waitFor(() => dig('node1.fwd.test', 'A', { port: DNSMASQ_PORT }).status === 'NOERROR', 5000), 'dnsmasq answers').toBe(true);

    panel = await startPanelOnHost('dns', { dir: base });
    ({ app, browser: b, runJob } = panel);
    await app.registry.refreshAll();
  });

  afterAll(async () => {
    named('stop');
    if (dnsmasq?.pid) {
      process.kill(dnsmasq.pid, 'SIGTERM');
      await waitFor(() => dnsmasq!.exitCode !== null || dnsmasq!.signalCode !== null, 5000);
    }
    await panel?.close();
    // /etc/bind as it was: new files and folders out, the old ones back with their owner and mode.
    if (original) {
      for (const file of snapshot(BIND).keys()) if (!original.has(file)) rmSync(file, { force: true });
      for (const d of readdirSync(BIND, { withFileTypes: true })) {
        const full = path.join(BIND, d.name);
        if (d.isDirectory() && !originalDirs.has(full)) rmSync(full, { recursive: true, force: true });
      }
      const now = snapshot(BIND);
      for (const [file, saved] of original) {
        const current = now.get(file);
        if (current && current.content.equals(saved.content) && current.mode === saved.mode && current.uid === saved.uid && current.gid === saved.gid) continue;
        writeFileSync(file, saved.content);
        chmodSync(file, saved.mode);
        chownSync(file, saved.uid, saved.gid);
        utimesSync(file, saved.atime, saved.mtime);
      }
      for (const name of readdirSync(CACHE)) if (!originalCache.has(name)) rmSync(path.join(CACHE, name), { recursive: true, force: true });
    }
    if (base) rmSync(base, { recursive: true, force: true });
  });

  it('applies the settings: named answers for the zone authoritatively (aa), as user bind', async () => {
    expect(app.registry.status('dns')).toMatchObject({ installed: true, running: false });
    const applied = await runJob('/dns', form());
    expect(applied.record.state, applied.log.join('\n')).toBe('succeeded');
    expect(applied.log.join('\n')).toMatch(/named-checkconf \/etc\/bind\/named.conf/);
    expect(applied.log.join('\n')).toMatch(/zone cloudy\.test\/IN: loaded serial \d+\nOK/);
    expect(applied.log.join('\n')).toMatch(/named answers on 127\.0\.0\.1#15353: cloudy\.test SOA serial \d+/);

    const www = dig(`www.${ZONE}`, 'A');
    expect(www.status, www.raw).toBe('NOERROR');
    expect(www.flags).toContain('aa');
    expect(www.answers).toEqual([{ name: `www.${ZONE}.`, ttl: 3600, type: 'A', data: '10.99.0.10' }]);
    const files = dig(`files.${ZONE}`, 'A');
    expect(files.answers?.map((a) => [a.type, a.data])).toEqual([['CNAME', `www.${ZONE}.`], ['A', '10.99.0.10']]);
    expect(dig(`cloud.${ZONE}`, 'AAAA').answers).toEqual([{ name: `cloud.${ZONE}.`, ttl: 300, type: 'AAAA', data: 'fd00::10' }]);
    expect(dig(`nothing.${ZONE}`, 'A').status).toBe('NXDOMAIN');

    // the files: Debian's named.conf untouched, ours readable by group bind, named runs as bind
    expect(readFileSync('/etc/bind/named.conf')).toEqual(original.get('/etc/bind/named.conf')!.content);
    expect(readFileSync('/etc/bind/named.conf.local', 'utf8')).toContain('include "/etc/bind/cloudy/zones.conf";');
    const bindGid = Number(spawnSync('getent', ['group', 'bind'], { encoding: 'utf8' }).stdout.split(':')[2]);
    const zoneFile = statSync(`/etc/bind/cloudy/db.${ZONE}`);
    expect(zoneFile.gid).toBe(bindGid);
    expect(zoneFile.mode & 0o040).toBe(0o040);
    expect(spawnSync('ps', ['-o', 'user=', '-p', namedPid()!], { encoding: 'utf8' }).stdout.trim()).toBe('bind');

    const status = app.registry.status('dns')!;
    expect(status).toMatchObject({ installed: true, running: true });
    expect(status.facts?.['dns:facts.answering']).toMatch(/^cloudy\.test SOA \d+$/);
    const page = await b.get('/dns');
    expect(page.body).toContain('www A 10.99.0.10');
    expect(page.body).not.toContain('The current configuration is Debian');
  });

  it('forwards a forward zone and other names to their servers (dnsmasq) and returns the answer', () => {
    const forwarded = dig('node1.fwd.test', 'A');
    expect(forwarded.status, forwarded.raw).toBe('NOERROR');
    expect(forwarded.flags).not.toContain('aa');
    expect(forwarded.answers?.map((a) => a.data)).toEqual(['10.99.0.1']);
    // not in a forward zone: the global forwarders (forward only)
    const global = dig('node2.global.test', 'A');
    expect(global.status, global.raw).toBe('NOERROR');
    expect(global.answers?.map((a) => a.data)).toEqual(['10.99.0.2']);
  });

  it('refuses recursion to a client outside the ACL, but still tells it about the zone', () => {
    const refused = dig('node1.fwd.test', 'A', { source: '127.0.0.2' });
    expect(refused.status, refused.raw).toBe('REFUSED');
    expect(refused.answers).toEqual([]);
    expect(dig('node2.global.test', 'A', { source: '127.0.0.2' }).status).toBe('REFUSED');
    const zone = dig(`www.${ZONE}`, 'A', { source: '127.0.0.2' });
    expect(zone.status).toBe('NOERROR');
    expect(zone.flags).toContain('aa');
  });

  it('refuses an invalid record in the form (400, field error) and changes nothing on disk', async () => {
    const before = bindHash();
    const pid = namedPid();
    await b.get('/dns');
    const res = await b.post('/dns', form({ records: 'www A 10.99.0.10\nevil;rm A 10.99.0.11' }));
    expect(res.statusCode).toBe(400);
    expect(res.body).toMatch(/data-field-error="records">Line 2: [^<]+</);
    expect(res.body).toContain('evil;rm A 10.99.0.11');
    await app.jobs.idle();
    expect(bindHash()).toBe(before);
    expect(namedPid()).toBe(pid);
  });

  it('rolls back a port named cannot listen on; the old config keeps answering', async () => {
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => udp.bind(BUSY_PORT, '127.0.0.1', () => resolve()));
    const tcp = net.createServer();
    await new Promise<void>((resolve) => tcp.listen(BUSY_PORT, '127.0.0.1', () => resolve()));
    try {
      const before = bindHash({ withBackups: false });
      const serial = parseZoneFile(readFileSync(`/etc/bind/cloudy/db.${ZONE}`, 'utf8')).serial;
      const failed = await runJob('/dns', form({ port: String(BUSY_PORT), records: 'www A 10.99.0.20' }));
      expect(failed.record.state, failed.log.join('\n')).toBe('failed');
      expect(failed.log.join('\n')).toMatch(/activate failed/);
      expect(bindHash({ withBackups: false })).toBe(before);
      expect(parseZoneFile(readFileSync(`/etc/bind/cloudy/db.${ZONE}`, 'utf8')).serial).toBe(serial);
      // the rollback restarted named with the old config, and checked it answers again
      expect(failed.log.join('\n')).toMatch(new RegExp(`named answers on 127\\.0\\.0\\.1#${PORT}: cloudy\\.test SOA serial ${serial}`));
      const www = dig(`www.${ZONE}`, 'A');
      expect(www.answers?.map((a) => a.data), www.raw).toEqual(['10.99.0.10']);
      expect(app.registry.status('dns')?.running).toBe(true);
    } finally {
      udp.close();
      await new Promise((resolve) => tcp.close(resolve));
    }
  });

  it('stops at named-checkconf\'s refusal: every file back, named untouched, the message in the job log', async () => {
    const local = readFileSync('/etc/bind/named.conf.local', 'utf8');
    // an admin's own mistake in named.conf.local: a primary zone without a file
    writeFileSync('/etc/bind/named.conf.local', `${local}zone "broken.test" { type primary; };\n`);
    try {
      const before = bindHash({ withBackups: false });
      const pid = namedPid();
      const failed = await runJob('/dns', form({ records: 'www A 10.99.0.30' }));
      expect(failed.record.state).toBe('failed');
      expect(failed.log.join('\n')).toMatch(/test failed: \/usr\/bin\/named-checkconf refused the configuration/);
      expect(failed.log.join('\n')).toMatch(/zone 'broken\.test': missing 'file' entry/);
      expect(bindHash({ withBackups: false })).toBe(before);
      expect(namedPid()).toBe(pid);
      expect(dig(`www.${ZONE}`, 'A').answers?.map((a) => a.data)).toEqual(['10.99.0.10']);
    } finally {
      writeFileSync('/etc/bind/named.conf.local', local);
    }
  });

  it('changes a record: the serial moves on and the new answer is served', async () => {
    const serial = parseZoneFile(readFileSync(`/etc/bind/cloudy/db.${ZONE}`, 'utf8')).serial!;
    const applied = await runJob('/dns', form({ records: 'www A 10.99.0.40\nfiles CNAME www' }));
    expect(applied.record.state, applied.log.join('\n')).toBe('succeeded');
    const next = parseZoneFile(readFileSync(`/etc/bind/cloudy/db.${ZONE}`, 'utf8')).serial!;
    expect(next).toBeGreaterThan(serial);
    expect(dig(ZONE, 'SOA').answers?.[0]?.data.split(' ')[2]).toBe(String(next));
    expect(dig(`www.${ZONE}`, 'A').answers?.map((a) => a.data)).toEqual(['10.99.0.40']);
    expect(dig(`cloud.${ZONE}`, 'AAAA').status).toBe('NXDOMAIN');
  });

  it('stops and starts named through the panel', async () => {
    expect((await runJob('/dns/stop')).record.state).toBe('succeeded');
    expect(named('status').status).not.toBe(0);
    expect(dig(`www.${ZONE}`, 'A').status).toBeUndefined();
    expect((await runJob('/dns/start')).record.state).toBe('succeeded');
    expect(named('status').status).toBe(0);
    expect(await waitFor(() => dig(`www.${ZONE}`, 'A').answers?.[0]?.data === '10.99.0.40', 5000)).toBe(true);
  });
});
