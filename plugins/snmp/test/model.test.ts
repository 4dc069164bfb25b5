import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import pino from 'pino';
import { createSystem } from '../../../src/system/index.js';
import { ManifestSchema } from '../../../src/registry/manifest.js';
import { ChangeFailedError } from '../../../src/system/index.js';
import { RecordingRunner } from '../../../test/helpers/recording-runner.js';
import { createTempRoot, type TempRoot } from '../../../test/helpers/temp-root.js';
import { manifest } from '../manifest.js';
import { SnmpModel } from '../model.js';
import { SnmpSettingsSchema } from '../snmpd-conf.js';

const good = SnmpSettingsSchema.parse({ community: 'guifi-graphs-1', listenAddress: '127.0.0.1', port: 16161, allowedNetwork: '10.0.0.0/8', sysLocation: 'Lab', sysContact: 'ops@example.org' });
const DEBIAN_DEFAULT = 'agentaddress  127.0.0.1,[::1]\nrocommunity  public default -V systemonly\n';

describe('SNMP model', () => {
  let root: TempRoot;
  let runner: RecordingRunner;
  let answering: (community: string) => boolean;
  let model: SnmpModel;

  beforeEach(() => {
    root = createTempRoot();
    root.installed({ snmpd: '5.9.3+dfsg-2+deb12u1' });
    root.write('/etc/init.d/snmpd', '#!/bin/sh\n');
    root.write('/etc/snmp/snmpd.conf', DEBIAN_DEFAULT);
    runner = new RecordingRunner();
    answering = () => true;
    const system = createSystem({ rootPrefix: root.dir, runner });
    const m = ManifestSchema.parse(manifest);
    model = new SnmpModel({ manifest: m, system: system.forPlugin(m), dataDir: root.p('/data'), log: pino({ level: 'silent' }) },
      async (_h, _p, community) => (answering(community) ? 'node' : undefined));
  });
  afterEach(() => root.cleanup());

  it('writes the managed file (0600, old one kept as backup) and restarts snmpd', async () => {
    await model.apply(good);
    const text = readFileSync(root.p('/etc/snmp/snmpd.conf'), 'utf8');
    expect(text).toContain('rocommunity guifi-graphs-1 10.0.0.0/8');
    expect(readFileSync(root.p('/etc/snmp/snmpd.conf.cloudy-bak'), 'utf8')).toBe(DEBIAN_DEFAULT);
    expect(runner.commands()).toEqual(['service snmpd restart']);
    expect((await model.read()).settings).toEqual(good);
  });

  it('restores the previous file and restarts again when the agent does not answer', async () => {
    answering = (community) => community !== 'guifi-graphs-1';
    const error = await model.apply(good).catch((e) => e);
    expect(error).toBeInstanceOf(ChangeFailedError);
    expect((error as ChangeFailedError).stage).toBe('activate');
    expect(readFileSync(root.p('/etc/snmp/snmpd.conf'), 'utf8')).toBe(DEBIAN_DEFAULT);
    expect(runner.commands()).toEqual(['service snmpd restart', 'service snmpd restart']);
  });

  it('rolls back when the restart itself fails', async () => {
    let first = true;
    runner.on(['service', 'snmpd', 'restart'], () => { const r = first ? { exitCode: 1, stderr: 'bind failed' } : {}; first = false; return r; });
    await expect(model.apply(good)).rejects.toThrow(/activate failed/);
    expect(readFileSync(root.p('/etc/snmp/snmpd.conf'), 'utf8')).toBe(DEBIAN_DEFAULT);
  });

  it('after install replaces Debian\'s "public" default with a random community', async () => {
    await model.afterInstall({ log: () => undefined, progress: () => undefined });
    const { settings, managed } = await model.read();
    expect(managed).toBe(true);
    expect(settings.community).not.toBe('public');
    expect(settings.community).toMatch(/^[A-Za-z0-9_-]{16}$/);
  });

  it('reports status from dpkg, the service manager and the probe', async () => {
    await model.apply(good);
    runner.on(['service', 'snmpd', 'status'], { exitCode: 0 });
    const status = await model.status();
    expect(status).toMatchObject({ installed: true, running: true, version: '5.9.3+dfsg-2+deb12u1' });
    expect(status.facts?.['snmp:facts.answering']).toBe('node');
    runner.on(['service', 'snmpd', 'status'], { exitCode: 3 });
    expect((await model.status()).running).toBe(false);
    root.installed({});
    expect(await model.status()).toEqual({ installed: false, running: false });
    expect(existsSync(root.p('/etc/snmp/snmpd.conf'))).toBe(true);
  });
});
