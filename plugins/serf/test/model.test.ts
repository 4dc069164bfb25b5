import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { createSystem, ChangeFailedError } from '../../../src/system/index.js';
import { ManifestSchema } from '../../../src/registry/manifest.js';
import { RecordingRunner } from '../../../test/helpers/recording-runner.js';
import { createTempRoot, type TempRoot } from '../../../test/helpers/temp-root.js';
import { Browser, buildTestApp } from '../../../test/helpers/build-app.js';
import { manifest } from '../manifest.js';
import { SerfModel } from '../model.js';
import { SerfSettingsSchema } from '../serf-conf.js';
import { serfSearchActions } from '../search-actions.js';
import serf from '../index.js';
import type { CatalogueEntry } from '../../../src/discovery/record.js';

const good = SerfSettingsSchema.parse({
  nodeName: 'node-a', bindAddress: '0.0.0.0', bindPort: 5000, advertiseAddress: '10.1.2.3', rpcAddress: '127.0.0.1:7400',
  peers: ['10.139.40.122:5000'], microcloud: 'gracia', encryptKey: 'q83vEjRWeJCrze8SNFZ4kA==', profile: 'wan',
});
const SERF_GID = 4242;

describe('serf model', () => {
  let root: TempRoot;
  let runner: RecordingRunner;
  let model: SerfModel;
  let dataDir: string;

  beforeEach(() => {
    root = createTempRoot();
    root.installed({ serf: '0.9.4~ds1-1+b13' });
    root.write('/etc/init.d/serf', '#!/bin/sh\n');
    runner = new RecordingRunner();
    runner.on(['getent', 'group', '_serf'], { stdout: `_serf:x:${SERF_GID}:\n` });
    const system = createSystem({ rootPrefix: root.dir, runner });
    const m = ManifestSchema.parse(manifest);
    dataDir = root.p('/data/plugins/serf');
    model = new SerfModel({ manifest: m, system: system.forPlugin(m), dataDir, log: pino({ level: 'silent' }) }, () => 'Gracia Node', 600);
  });
  afterEach(() => root.cleanup());

  it('writes /etc/serf/cloudy.json 0640 for group _serf, restarts serf and waits for its RPC', async () => {
    await model.apply(good);
    const file = root.p('/etc/serf/cloudy.json');
    const stat = statSync(file);
    expect(stat.mode & 0o777).toBe(0o640);
    if (process.getuid?.() === 0) expect([stat.uid, stat.gid]).toEqual([0, SERF_GID]);
    expect(JSON.parse(readFileSync(file, 'utf8')).encrypt_key).toBe(good.encryptKey);
    expect(runner.commands()).toEqual(['getent group _serf', 'service serf restart', 'serf info -rpc-addr=127.0.0.1:7400 -format=json']);
    expect((await model.read())).toEqual({ settings: good, managed: true });
  });

  it('restores the previous config when serf does not come back', async () => {
    await model.apply(good);
    const before = readFileSync(root.p('/etc/serf/cloudy.json'), 'utf8');
    runner.on(['serf', 'info'], { exitCode: 1, stderr: 'Error connecting to Serf agent' });
    const error = await model.apply({ ...good, bindPort: 6000, microcloud: 'other' }).catch((e) => e);
    expect(error).toBeInstanceOf(ChangeFailedError);
    expect(readFileSync(root.p('/etc/serf/cloudy.json'), 'utf8')).toBe(before);
    expect((await model.read()).settings.microcloud).toBe('gracia');
  });

  it('keeps the default node name stable (derived once from the host name)', async () => {
    const first = (await model.read()).settings.nodeName;
    expect(first).toMatch(/^gracia-node-[0-9a-f]{4}$/);
    expect((await model.read()).settings.nodeName).toBe(first);
    expect((await model.defaults()).nodeName).toBe(first);
    await model.afterInstall({ log: () => undefined, progress: () => undefined });
    expect(JSON.parse(readFileSync(root.p('/etc/serf/cloudy.json'), 'utf8')).node_name).toBe(first);
    expect(runner.commands()).toContain('update-rc.d serf defaults');
  });

  it('tells discovery how to reach the agent, and announces serf itself', async () => {
    expect(await model.discoveryEndpoint()).toBeUndefined();
    expect(await model.announcement()).toBeUndefined();
    await model.apply(good);
    expect(await model.discoveryEndpoint()).toEqual({ rpcAddress: '127.0.0.1:7400', address: '10.1.2.3', bindPort: 5000, microcloud: 'gracia', host: 'gracia-node' });
    expect(await model.announcement()).toMatchObject({ port: 5000, txt: { encrypted: 'yes' } });
    await model.apply({ ...good, advertiseAddress: '', bindAddress: '10.9.9.9' });
    expect((await model.discoveryEndpoint())?.address).toBe('10.9.9.9');
    await model.apply({ ...good, advertiseAddress: '' });
    expect((await model.discoveryEndpoint())?.address).toBe(''); // taken from serf's view of us
  });

  it('reports status from dpkg and the service manager', async () => {
    await model.apply(good);
    runner.on(['service', 'serf', 'status'], { exitCode: 0 });
    expect(await model.status()).toMatchObject({ installed: true, running: true, facts: { 'serf:facts.node': 'node-a', 'serf:facts.encrypted': 'AES' } });
    root.installed({});
    expect(await model.status()).toEqual({ installed: false, running: false });
  });
});

describe('serf page', () => {
  const entry = (addresses: string[], port = 5000) => ({ addresses, port } as unknown as CatalogueEntry);

  it('offers "join through this node" for discovered serf agents', () => {
    expect(serfSearchActions(entry(['10.1.2.3']))).toEqual([{ kind: 'link', label: 'serf:search.join', href: '/serf?join=10.1.2.3%3A5000' }]);
    expect(serfSearchActions(entry([]))).toEqual([]);
    expect(serfSearchActions(entry(['fd00::1']))).toEqual([]);
  });

  it('prefills the join field from a valid ?join= and ignores an invalid one; generates keys without saving', async () => {
    const t = await buildTestApp({ plugins: [{ ...serf, createModel: (ctx) => new SerfModel(ctx, () => 'host') }] });
    try {
      const b = new Browser(t.app);
      await b.login('admin', t.adminPassword);
      const ok = await b.get('/serf?join=10.1.2.3%3A5000');
      expect(ok.statusCode).toBe(200);
      expect(ok.body).toMatch(/<textarea[^>]*name="peers"[^>]*>10\.1\.2\.3:5000<\/textarea>/);
      expect(ok.body).toContain('data-testid="serf-notice"');
      const bad = await b.get('/serf?join=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E');
      expect(bad.statusCode).toBe(200);
      expect(bad.body).not.toContain('<script>alert(1)');
      expect(bad.body).toMatch(/<textarea[^>]*name="peers"[^>]*><\/textarea>/);
      const gen = await b.post('/serf/generate-key', { nodeName: 'kept-name', encryptKey: '' });
      expect(gen.statusCode).toBe(200);
      const key = /name="encryptKey" value="([^"]+)"/.exec(gen.body)?.[1];
      expect(Buffer.from(key!, 'base64')).toHaveLength(32);
      expect(gen.body).toContain('value="kept-name"');
      expect(t.runner.calls).toEqual([]);
      // the members table reads the discovery cache
      expect(ok.body).toContain('data-testid="serf-members"');
    } finally {
      await t.close();
    }
  });
});
