// The Squid plugin on the real host: apt purges and installs squid through jobs, the settings form
// writes the real fragment, squid restarts and proxies a request to the local test origin; LDAP
// logins against the test slapd (with and without a group); a network that is not allowed gets
// 403 although Debian's squid.conf allows localhost after the include; a new cache size shows in
// squid's own storedir report; a configuration squid -k parse refuses and a port squid cannot bind
// are both rolled back while the proxy keeps serving. All traffic stays on 127.0.0.1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Browser } from '../../../test/helpers/build-app.js';
import { startPanelOnHost, type PanelOnHost } from '../../../test/helpers/panel-on-host.js';
import type { SquidModel } from '../model.js';

if (process.getuid?.() !== 0) throw new Error('the integration tier runs as root');
const ORIGIN = process.env.CLOUDY_TEST_ORIGIN;
const LDAP_URL = process.env.CLOUDY_TEST_LDAP_URL;
const LDAP_BASE = process.env.CLOUDY_TEST_LDAP_BASE;
if (!ORIGIN || !LDAP_URL || !LDAP_BASE) throw new Error('run under scripts/test-services (CLOUDY_TEST_ORIGIN, CLOUDY_TEST_LDAP_URL, CLOUDY_TEST_LDAP_BASE)');
const LDAP_HOST = new URL(LDAP_URL).host; // 127.0.0.1:13389
for (const url of [ORIGIN, LDAP_URL]) if (new URL(url).hostname !== '127.0.0.1') throw new Error(`${url} is not on loopback`);

const PORT = 13130;
const BUSY_PORT = 13131;
const DEAD_LDAP = '127.0.0.1:13398'; // nothing listens there: the backup server must take over
const FRAGMENT = '/etc/squid/conf.d/cloudy.conf';
const BROKEN = '/etc/squid/conf.d/zz-cloudy-it-broken.conf';

const dpkgInstalled = (pkg: string) =>
  spawnSync('dpkg-query', ['-W', '-f=${db:Status-Abbrev}', pkg], { encoding: 'utf8' }).stdout.startsWith('ii');
const serviceRunning = () => spawnSync('service', ['squid', 'status']).status === 0;
const squidPid = () => (existsSync('/run/squid.pid') ? readFileSync('/run/squid.pid', 'utf8').trim() : '');

interface Answer { status: number; body: string; headers: http.IncomingHttpHeaders }

/** A request through the proxy at 127.0.0.1:<port> (absolute-URI form), optionally with Basic credentials. */
function viaProxy(port: number, url: string, credentials?: string): Promise<Answer> {
  const target = new URL(url);
  const headers: Record<string, string> = { host: target.host, connection: 'close' };
  if (credentials) headers['proxy-authorization'] = `Basic ${Buffer.from(credentials).toString('base64')}`;
  return request({ host: '127.0.0.1', port, path: url, headers });
}

/** squid's own cache-manager report, asked directly (origin form). */
const manager = (port: number, action: string) => request({ host: '127.0.0.1', port, path: `/squid-internal-mgr/${action}`, headers: { connection: 'close' } });

function request(options: http.RequestOptions): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get({ ...options, agent: false, timeout: 15_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      res.on('error', reject);
      res.on('aborted', () => reject(new Error('response aborted')));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

const maxSwapKb = (report: string) => Number(/^Maximum Swap Size\s*:\s*(\d+) KB/m.exec(report)?.[1]);

describe('Squid plugin on the real host', () => {
  let panel: PanelOnHost | undefined;
  let app: FastifyInstance;
  let b: Browser;
  const timings: string[] = [];

  const form = (overrides: Record<string, string> = {}) => ({
    port: String(PORT), allowedNetworks: '127.0.0.0/8', cacheDiskMb: '64', cacheMemMb: '16', maxObjectMb: '4',
    adminEmail: 'ops@cloudy.test', visibleHostname: 'cloudy-ci', errorLanguage: 'en', auth: 'none',
    ldapMain: LDAP_HOST, ldapBackup: '', ldapBaseDn: LDAP_BASE, ldapUserAttribute: 'uid', ldapGroup: '',
    ldapRealm: 'Cloudy CI proxy', parentProxy: '', ...overrides,
  });

  const runJob = async (url: string, body: Record<string, string> = {}) => {
    const { record, log } = await panel!.runJob(url, body);
    timings.push(`${url} ${JSON.stringify(body).slice(0, 60)}: ${record.state} in ${((record.finishedAt! - record.startedAt!) / 1000).toFixed(1)} s`);
    return { record, log };
  };
  const apply = async (overrides: Record<string, string> = {}) => {
    const job = await runJob('/squid', form(overrides));
    expect(job.record.state, job.log.join('\n')).toBe('succeeded');
    return job;
  };

  beforeAll(async () => {
    panel = await startPanelOnHost('squid');
    ({ app, browser: b } = panel);
  });

  afterAll(async () => {
    rmSync(BROKEN, { force: true });
    const started = Date.now();
    spawnSync('service', ['squid', 'stop']);
    timings.push(`service squid stop: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    console.log(`squid integration timings:\n  ${timings.join('\n  ')}`);
    await panel?.close();
  });

  it('purges and installs squid through jobs, with progress, and starts it with the panel\'s defaults', async () => {
    if (dpkgInstalled('squid')) {
      spawnSync('service', ['squid', 'stop']);
      const removed = await runJob('/squid/remove', { purge: 'on' });
      expect(removed.record.state, removed.log.join('\n')).toBe('succeeded');
      expect(dpkgInstalled('squid')).toBe(false);
    }
    // purge keeps files dpkg does not own; start from scratch to see the defaults being written
    rmSync(FRAGMENT, { force: true });
    const installed = await runJob('/squid/install');
    expect(installed.record.state, installed.log.join('\n')).toBe('succeeded');
    expect(installed.record.progress).toBe(100);
    expect(dpkgInstalled('squid')).toBe(true);
    expect(installed.log).toContain('squid -k parse: configuration accepted');
    const conf = readFileSync(FRAGMENT, 'utf8');
    expect(conf).toContain('Managed by Cloudy panel');
    expect(conf).toContain('acl cloudy_clients src 10.0.0.0/8 172.16.0.0/12\nhttp_access allow cloudy_clients\nhttp_access deny all\n');
    expect(conf).toContain('# http_port 3128 is declared in /etc/squid/squid.conf');
    expect(serviceRunning()).toBe(true);
    await app.registry.refreshStatus('squid');
    expect(app.registry.status('squid')).toMatchObject({ installed: true, running: true });
    expect(app.registry.status('squid')?.facts?.['squid:facts.answering']).toMatch(/^squid\/5\./);
    // the defaults allow 10/8 and 172.16/12 only: this host (127.0.0.1) is refused although
    // Debian's squid.conf says "http_access allow localhost" after the include
    const refused = await viaProxy(3128, `${ORIGIN}/`);
    expect(refused.status).toBe(403);
    expect(refused.headers['x-squid-error']).toMatch(/^ERR_ACCESS_DENIED/);
  });

  it('proxies a request to the local origin with the saved settings', async () => {
    const job = await apply();
    expect(job.log.some((l) => l.startsWith(`squid answers on 127.0.0.1:${PORT} (squid/5.`))).toBe(true);
    const conf = readFileSync(FRAGMENT, 'utf8');
    expect(conf).toContain(`\nhttp_port ${PORT}\n`);
    const answer = await viaProxy(PORT, `${ORIGIN}/`);
    expect(answer.status).toBe(200);
    expect(answer.body.trim()).toBe('hello-from-origin');
    expect(String(answer.headers.via)).toMatch(/cloudy-ci \(squid\/5\./);
    // Debian's own http_port 3128 stays (the panel never edits squid.conf) and obeys the same rules
    expect((await viaProxy(3128, `${ORIGIN}/`)).status).toBe(200);
    const page = await b.get('/squid');
    expect(page.body).toContain(`value="${PORT}"`);
    expect(page.body).toContain('data-testid="extra-ports"');
  });

  it('refuses clients outside the allowed networks with 403, on every port squid listens on', async () => {
    await apply({ allowedNetworks: '10.0.0.0/8' });
    for (const port of [PORT, 3128]) {
      const answer = await viaProxy(port, `${ORIGIN}/`);
      expect(answer.status, `port ${port}`).toBe(403);
      expect(answer.headers['x-squid-error']).toMatch(/^ERR_ACCESS_DENIED/);
      expect(answer.body).not.toContain('hello-from-origin');
    }
  });

  it('applies a new cache size: squid\'s storedir report and the status card show it', async () => {
    await apply({ cacheDiskMb: '64' });
    expect(maxSwapKb((await manager(PORT, 'storedir')).body)).toBe(64 * 1024);
    await apply({ cacheDiskMb: '96' });
    const report = await manager(PORT, 'storedir');
    expect(report.status).toBe(200);
    expect(maxSwapKb(report.body)).toBe(96 * 1024);
    await app.registry.refreshStatus('squid');
    expect(app.registry.status('squid')?.facts?.['squid:facts.cache']).toMatch(/ \/ 96 MB \(/);
  });

  it('asks for an LDAP login: none or a wrong password → 407, alice and bob → 200', async () => {
    await apply({ auth: 'ldap' });
    const none = await viaProxy(PORT, `${ORIGIN}/`);
    expect(none.status).toBe(407);
    expect(none.headers['proxy-authenticate']).toBe('Basic realm="Cloudy CI proxy"');
    expect((await viaProxy(PORT, `${ORIGIN}/`, 'alice:wrong')).status).toBe(407);
    expect((await viaProxy(PORT, `${ORIGIN}/`, 'nobody:alicepw')).status).toBe(407);
    const alice = await viaProxy(PORT, `${ORIGIN}/`, 'alice:alicepw');
    expect(alice.status).toBe(200);
    expect(alice.body.trim()).toBe('hello-from-origin');
    expect((await viaProxy(PORT, `${ORIGIN}/`, 'bob:bobpw')).status).toBe(200);
    const announcement = await (app.registry.plugins.get('squid')!.model as SquidModel).announcement();
    expect(announcement).toMatchObject({ port: PORT, txt: { federated: 'no', auth: 'ldap' } });
  });

  it('with a required group, only its members get through (others: 403, no new login prompt); the backup server answers when the main one is down', async () => {
    await apply({ auth: 'ldap', ldapMain: DEAD_LDAP, ldapBackup: LDAP_HOST, ldapGroup: `cn=cloudy-admins,ou=groups,${LDAP_BASE}` });
    expect((await viaProxy(PORT, `${ORIGIN}/`)).status).toBe(407);
    expect((await viaProxy(PORT, `${ORIGIN}/`, 'alice:wrong')).status).toBe(407);
    const alice = await viaProxy(PORT, `${ORIGIN}/`, 'alice:alicepw');
    expect(alice.status).toBe(200);
    expect(alice.body.trim()).toBe('hello-from-origin');
    // bob's password is right, so asking again would not help: squid answers 403 (the last ACL
    // of the deciding rule is "all", not an authentication ACL)
    const bob = await viaProxy(PORT, `${ORIGIN}/`, 'bob:bobpw');
    expect(bob.status).toBe(403);
    expect(bob.headers['proxy-authenticate']).toBeUndefined();
    expect(bob.body).not.toContain('hello-from-origin');
  });

  it('keeps the running squid and the old fragment when squid -k parse refuses the configuration', async () => {
    const before = readFileSync(FRAGMENT, 'utf8');
    const pid = squidPid();
    expect(pid).toMatch(/^\d+$/);
    // another (hand-written) file in conf.d that squid cannot parse: the panel must not restart into it
    writeFileSync(BROKEN, 'cloudy_it_bogus_directive on\n');
    try {
      const failed = await runJob('/squid', form({ cacheDiskMb: '80' }));
      expect(failed.record.state).toBe('failed');
      expect(failed.log.join('\n')).toContain("unrecognized: 'cloudy_it_bogus_directive'");
      expect(failed.log.join('\n')).toMatch(/ERROR: test failed: squid -k parse rejected the configuration \(exit 1\)/);
      expect(readFileSync(FRAGMENT, 'utf8')).toBe(before);
    } finally {
      rmSync(BROKEN, { force: true });
    }
    expect(squidPid()).toBe(pid);
    expect(serviceRunning()).toBe(true);
    expect((await viaProxy(PORT, `${ORIGIN}/`, 'alice:alicepw')).status).toBe(200);
  });

  it('rolls back a port squid cannot bind and keeps serving with the old settings', async () => {
    // something else (not squid) holds 127.0.0.1:BUSY_PORT: squid starts but cannot listen there
    const sockets = new Set<net.Socket>();
    const blocker = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.resume();
      socket.end('HTTP/1.0 200 OK\r\nServer: cloudy-it-blocker\r\nContent-Length: 0\r\n\r\n');
    });
    await new Promise<void>((resolve) => blocker.listen(BUSY_PORT, '127.0.0.1', () => resolve()));
    try {
      const before = readFileSync(FRAGMENT, 'utf8');
      const failed = await runJob('/squid', form({ port: String(BUSY_PORT), auth: 'none' }));
      expect(failed.record.state).toBe('failed');
      const log = failed.log.join('\n');
      expect(log).toContain(`squid does not answer on 127.0.0.1:${BUSY_PORT}: something else answers (HTTP 200, Server "cloudy-it-blocker")`);
      expect(log).toContain('restarting squid with the previous settings');
      expect(log).toContain(`squid answers on 127.0.0.1:${PORT}`);
      expect(readFileSync(FRAGMENT, 'utf8')).toBe(before);
      expect(serviceRunning()).toBe(true);
      // the old settings (LDAP + group) are live again
      expect((await viaProxy(PORT, `${ORIGIN}/`)).status).toBe(407);
      const alice = await viaProxy(PORT, `${ORIGIN}/`, 'alice:alicepw');
      expect(alice.status).toBe(200);
      expect(alice.body.trim()).toBe('hello-from-origin');
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('stops and starts through the panel', async () => {
    expect((await runJob('/squid/stop')).record.state).toBe('succeeded');
    expect(serviceRunning()).toBe(false);
    await expect(viaProxy(PORT, `${ORIGIN}/`)).rejects.toThrow(/ECONNREFUSED/);
    expect((await runJob('/squid/start')).record.state).toBe('succeeded');
    expect(serviceRunning()).toBe(true);
    // squid binds its port a moment after the init script returns
    let status = 0;
    for (let i = 0; i < 40 && status !== 407; i++) {
      status = await viaProxy(PORT, `${ORIGIN}/`).then((a) => a.status, () => 0);
      if (status !== 407) await new Promise((r) => setTimeout(r, 250));
    }
    expect(status).toBe(407);
  });
});
