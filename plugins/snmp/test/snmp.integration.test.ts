// The SNMP plugin on the real host: apt removes and installs snmpd through jobs, the settings
// form writes the real config, snmpd restarts and snmpwalk answers with our sysLocation; a
// setting snmpd cannot use (its port is taken) is rolled back and the agent keeps answering.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import dgram from 'node:dgram';
import type { FastifyInstance } from 'fastify';
import type { Browser } from '../../../test/helpers/build-app.js';
import { startPanelOnHost, type PanelOnHost } from '../../../test/helpers/panel-on-host.js';

if (process.getuid?.() !== 0) throw new Error('the integration tier runs as root');

const PORT = 16170;
const BUSY_PORT = 16171;
const COMMUNITY = 'cloudy-ci-test';

const dpkgInstalled = (pkg: string) =>
  spawnSync('dpkg-query', ['-W', '-f=${db:Status-Abbrev}', pkg], { encoding: 'utf8' }).stdout.startsWith('ii');
const serviceRunning = () => spawnSync('service', ['snmpd', 'status']).status === 0;
const snmpwalk = (port: number, community: string) =>
  spawnSync('snmpwalk', ['-v2c', '-c', community, '-On', '-t', '1', '-r', '1', `127.0.0.1:${port}`, '.1.3.6.1.2.1.1'], { encoding: 'utf8', env: { ...process.env, MIBS: '' } });

describe('SNMP plugin on the real host', () => {
  let panel: PanelOnHost | undefined;
  let app: FastifyInstance;
  let b: Browser;
  let runJob: PanelOnHost['runJob'];

  beforeAll(async () => {
    panel = await startPanelOnHost('snmp');
    ({ app, browser: b, runJob } = panel);
  });

  afterAll(async () => {
    spawnSync('service', ['snmpd', 'stop']);
    await panel?.close();
  });

  it('removes (purge) and installs snmpd through jobs, with progress, and starts it with safe defaults', async () => {
    if (dpkgInstalled('snmpd')) {
      const removed = await runJob('/snmp/remove', { purge: 'on' });
      expect(removed.record.state, removed.log.join('\n')).toBe('succeeded');
      expect(dpkgInstalled('snmpd')).toBe(false);
    }
    const installed = await runJob('/snmp/install');
    expect(installed.record.state, installed.log.join('\n')).toBe('succeeded');
    expect(installed.record.progress).toBe(100);
    expect(dpkgInstalled('snmpd')).toBe(true);
    const conf = readFileSync('/etc/snmp/snmpd.conf', 'utf8');
    expect(conf).toContain('Managed by Cloudy panel');
    expect(conf).not.toMatch(/rocommunity\s+public/);
    expect(serviceRunning()).toBe(true);
    expect(app.registry.status('snmp')).toMatchObject({ installed: true, running: true });
  });

  it('applies settings: snmpwalk answers with the configured sysLocation, not with a wrong community', async () => {
    const applied = await runJob('/snmp', {
      community: COMMUNITY, listenAddress: '127.0.0.1', port: String(PORT), allowedNetwork: '127.0.0.0/8',
      sysLocation: 'Cloudy CI lab, rack 2', sysContact: 'ops@cloudy.test',
    });
    expect(applied.record.state, applied.log.join('\n')).toBe('succeeded');
    const walk = snmpwalk(PORT, COMMUNITY);
    expect(walk.status, walk.stderr).toBe(0);
    expect(walk.stdout).toContain('.1.3.6.1.2.1.1.6.0 = STRING: "Cloudy CI lab, rack 2"');
    expect(walk.stdout).toContain('.1.3.6.1.2.1.1.4.0 = STRING: "ops@cloudy.test"');
    expect(snmpwalk(PORT, 'wrong-community').status).not.toBe(0);
    const page = await b.get('/snmp');
    expect(page.body).toContain('value="Cloudy CI lab, rack 2"');
  });

  it('rolls back a port snmpd cannot bind and keeps answering with the old settings', async () => {
    const blocker = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => blocker.bind(BUSY_PORT, '127.0.0.1', () => resolve()));
    try {
      const before = readFileSync('/etc/snmp/snmpd.conf', 'utf8');
      const failed = await runJob('/snmp', {
        community: COMMUNITY, listenAddress: '127.0.0.1', port: String(BUSY_PORT), allowedNetwork: '127.0.0.0/8',
        sysLocation: 'Should not stay', sysContact: 'ops@cloudy.test',
      });
      expect(failed.record.state).toBe('failed');
      expect(readFileSync('/etc/snmp/snmpd.conf', 'utf8')).toBe(before);
      const walk = snmpwalk(PORT, COMMUNITY);
      expect(walk.status, walk.stderr).toBe(0);
      expect(walk.stdout).toContain('Cloudy CI lab, rack 2');
    } finally {
      blocker.close();
    }
  });

  it('stops and starts through the panel', async () => {
    expect((await runJob('/snmp/stop')).record.state).toBe('succeeded');
    expect(serviceRunning()).toBe(false);
    expect((await runJob('/snmp/start')).record.state).toBe('succeeded');
    expect(serviceRunning()).toBe(true);
    expect(execFileSync('snmpget', ['-v2c', '-c', COMMUNITY, '-On', '-t', '1', `127.0.0.1:${PORT}`, '.1.3.6.1.2.1.1.5.0'], { encoding: 'utf8' })).toContain('STRING');
  });
});
