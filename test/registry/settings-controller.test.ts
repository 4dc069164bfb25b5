// The shared settings page (src/registry/settings-controller.ts), through the SNMP plugin (the
// reference): the refusals and the job the four settings controllers used to spell out each.
import { existsSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildTestApp, Browser, type TestApp } from '../helpers/build-app.js';
import snmp from '../../plugins/snmp/index.js';
import { SnmpModel } from '../../plugins/snmp/model.js';

const VALID = { community: 'guifi-graphs-1', listenAddress: '127.0.0.1', port: '16161', allowedNetwork: '10.0.0.0/8', sysLocation: 'Test lab', sysContact: 'ops@example.org' };

describe('registerSettingsForm (SNMP page)', () => {
  let t: TestApp;
  let b: Browser;

  beforeEach(async () => {
    t = await buildTestApp({ plugins: [{ ...snmp, createModel: (ctx) => new SnmpModel(ctx, async () => 'test-node') }] });
    t.root.write('/etc/init.d/snmpd', '#!/bin/sh\n');
    b = new Browser(t.app, 'en');
    await b.login('admin', t.adminPassword);
  });
  afterEach(async () => t.close());

  const install = async () => {
    t.root.installed({ snmpd: '5.9.3+dfsg-2+deb12u1' });
    await t.app.registry.refreshAll();
  };

  it('refuses to apply while the package is not installed: back to the page with a warning', async () => {
    await b.get('/snmp');
    const res = await b.post('/snmp', VALID);
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/snmp');
    expect((await b.get('/snmp')).body).toContain('Install the SNMP agent first.');
    expect(t.app.jobs.list(10)).toEqual([]);
  });

  it('re-shows the form (400) with a translated host-fact error and what was typed', async () => {
    await install();
    await b.get('/snmp');
    const res = await b.post('/snmp', { ...VALID, listenAddress: '192.0.2.99' });
    expect(res.statusCode).toBe(400);
    expect(res.body).toMatch(/data-field-error="listenAddress">\s*This is not an address of this node/);
    expect(res.body).toContain('value="192.0.2.99"');
    expect(t.app.jobs.list(10)).toEqual([]);
  });

  it('sends to the active job of the plugin instead of queueing another', async () => {
    await install();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const active = t.app.jobs.enqueue({ title: 'jobs.apply', pluginId: 'snmp', returnTo: '/snmp', run: () => gate });
    await b.get('/snmp');
    const res = await b.post('/snmp', VALID);
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe(`/jobs/${active.id}`);
    expect(t.app.jobs.list(10)).toHaveLength(1);
    release();
    await t.app.jobs.idle();
  });

  it('applies valid settings as a job and redirects to it', async () => {
    await install();
    await b.get('/snmp');
    const res = await b.post('/snmp', VALID);
    expect(res.statusCode).toBe(303);
    const job = t.app.jobs.list(1)[0]!;
    expect(res.headers.location).toBe(`/jobs/${job.id}`);
    expect(job).toMatchObject({ title: 'jobs.apply', titleParams: { plugin: 'snmp:title' }, pluginId: 'snmp', returnTo: '/snmp' });
    await t.app.jobs.idle();
    expect(t.app.jobs.get(job.id)?.state).toBe('succeeded');
    expect(existsSync(t.root.p('/etc/snmp/snmpd.conf'))).toBe(true);
  });
});
