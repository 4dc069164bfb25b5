// Three real serf agents in three network namespaces (cln-a, cln-b, cln-c) joined by veths to a
// bridge in a fourth (cln-br), 10.201.0.1-3. Each node runs the panel's own discovery code
// (driver + publisher + refresher) with commands prefixed by `ip netns exec <ns>` and its RPC
// reached through a unix-socket proxy inside the namespace. Node B announces through a real
// Registry whose test plugin's status the test controls; node C announces 17 services.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import pino from 'pino';
import { readFileSync, writeFileSync } from 'node:fs';
import { SerfLab, waitFor, type Agent } from './serf-lab.js';
import { Catalogue } from '../../src/discovery/catalogue.js';
import { Discovery, type SerfEndpoint } from '../../src/discovery/discovery.js';
import { registryServices, type LocalService } from '../../src/discovery/publisher.js';
import { encodedTagsSize, SERF_TAGS_LIMIT } from '../../src/discovery/codec.js';
import { Registry } from '../../src/registry/registry.js';
import { definePlugin, type PluginStatus } from '../../src/registry/define-plugin.js';
import { createSystem } from '../../src/system/index.js';
import { RecordingRunner } from '../helpers/recording-runner.js';
import { createTempRoot, type TempRoot } from '../helpers/temp-root.js';

if (process.getuid?.() !== 0) throw new Error('the integration tier runs as root');

const log = pino({ level: 'silent' });
const C_TYPES = ['proxy3', 'dnsservice', 'snpservice', 'tahoe-lafs', 'syncthing', 'peerstreamer', 'tincvpn', 'owp',
  'webdav', 'ipfs', 'docker', 'guifi-web', 'serf', 'cloudy-mon', 'ntp', 'mumble', 'jitsi'];

function fileIo(file: string) {
  return {
    writeRecords: async (payload: string) => writeFileSync(file, payload),
    readRecords: async () => { try { return readFileSync(file, 'utf8'); } catch { return undefined; } },
  };
}

describe('serf discovery across three network namespaces', () => {
  const lab = new SerfLab();
  let root: TempRoot;
  let agents: Record<'a' | 'b' | 'c', Agent>;
  let nodes: Record<'a' | 'b' | 'c', Discovery>;
  let catalogueA: Catalogue;
  let webStatus: PluginStatus = { installed: true, running: true };
  let registryB: Registry;

  beforeAll(async () => {
    const addresses = lab.bridge('cln-', ['cln-a', 'cln-b', 'cln-c']);
    const addr = (ns: string) => addresses.get(ns)!;
    const start = (ns: string, name: string, peers: string[] = []) =>
      lab.startAgent({ name, bind: addr(ns), rpcAddress: '127.0.0.1:7373', netns: ns, peers });
    const a = await start('cln-a', 'node-a');
    const [b, c] = await Promise.all([start('cln-b', 'node-b', [`${addr('cln-a')}:7946`]), start('cln-c', 'node-c', [`${addr('cln-a')}:7946`])]);
    agents = { a, b, c };

    // Node B: a real Registry with a test plugin that publishes "web" while its status says running
    root = createTempRoot();
    const system = createSystem({ rootPrefix: root.dir, runner: new RecordingRunner() });
    const web = definePlugin({
      manifest: { id: 'testweb', version: 1, menu: { section: 'clommunity', order: 10 }, title: 't', description: 'd', packages: ['testweb'], services: [{ name: 'testweb' }], publish: { type: 'web' } },
      createModel: () => ({
        status: async () => webStatus,
        announcement: async () => ({ port: 8080, description: 'Community <script>alert(1)</script> wiki', txt: { lang: 'ca', path: '/wiki' } }),
      }),
      controller: async () => undefined,
    });
    registryB = new Registry([web], { system, dataDir: path.join(root.dir, 'data'), log, projectRoot: process.cwd() });
    await registryB.refreshAll();

    const cServices: LocalService[] = C_TYPES.map((type, i) => ({ type, port: 3000 + i, description: `${type} on node C`, txt: { n: String(i) } }));
    const make = async (key: 'a' | 'b' | 'c', ns: string, services: () => Promise<LocalService[]>, catalogue = new Catalogue()) => {
      const endpoint: SerfEndpoint = { rpcAddress: '127.0.0.1:7373', address: addr(ns), bindPort: 7946, microcloud: `mc-${key}`, host: `node-${key}.guifi.test` };
      return new Discovery({
        catalogue,
        runner: lab.runner(ns),
        endpoint: async () => endpoint,
        services,
        ...fileIo(agents[key].recordsFile),
        connect: await lab.rpcProxy(ns, '127.0.0.1:7373'),
        log,
        coordinatesMs: 0,
      });
    };
    catalogueA = new Catalogue();
    nodes = {
      a: await make('a', 'cln-a', async () => [{ type: 'serf', port: 7946, description: 'Serf agent node-a' }], catalogueA),
      b: await make('b', 'cln-b', registryServices(registryB, log)),
      c: await make('c', 'cln-c', async () => cServices),
    };
    await waitFor('three alive members', () => lab.members(a).filter((m) => m.status === 'alive').length === 3);
  });

  afterAll(async () => {
    for (const d of Object.values(nodes ?? {})) await d.stop();
    await lab.cleanup();
    root?.cleanup();
  });

  it('publishes through the panel code: tags within 512 bytes, records answered by query', async () => {
    for (const key of ['a', 'b', 'c'] as const) {
      const outcome = await nodes[key].publishOnce();
      expect(outcome?.action, key).toBe('set');
      expect(encodedTagsSize(outcome!.tags!)).toBeLessThanOrEqual(SERF_TAGS_LIMIT);
    }
    expect((await nodes.c.publishOnce())?.records).toHaveLength(C_TYPES.length);
    // the agents really carry the tags (serf itself refuses more than 512 bytes)
    const seen = lab.members(agents.a);
    expect(seen.find((m) => m.name === 'node-c')?.tags.cl).toMatch(/^1\|mc-c\|/);
    expect(seen.find((m) => m.name === 'node-b')?.tags.ch).toMatch(/^[A-Za-z0-9_-]{12}$/);
  });

  it('the catalogue on A sees all services of B and C with their full fields', async () => {
    await waitFor('17 services of C and the web of B', async () => {
      await nodes.a.refreshOnce();
      const c = catalogueA.query({ node: 'node-c' });
      const b = catalogueA.query({ node: 'node-b' });
      return c.length === C_TYPES.length && c.every((e) => e.description) && b.some((e) => e.type === 'web' && e.description);
    }, 30_000, 500);
    const web = catalogueA.query({ node: 'node-b', type: 'web' })[0]!;
    expect(web).toMatchObject({
      source: 'serf', type: 'web', port: 8080, node: 'node-b', host: 'node-b.guifi.test', addresses: ['10.201.0.2'],
      microcloud: 'mc-b', txt: { lang: 'ca', path: '/wiki' }, health: 'up', nodeStatus: 'alive',
      description: 'Community <script>alert(1)</script> wiki', // kept as text; the page escapes it
    });
    const tahoe = catalogueA.query({ node: 'node-c', type: 'tahoe-lafs' })[0]!;
    expect(tahoe).toMatchObject({ port: 3003, addresses: ['10.201.0.3'], microcloud: 'mc-c', description: 'tahoe-lafs on node C', txt: { n: '3' } });
    expect(catalogueA.query({ node: 'node-a' }).map((e) => e.type)).toEqual(['serf']);
  });

  it('estimates RTTs from serf coordinates and orders by them', async () => {
    const rtts = await waitFor('coordinates of all three nodes', async () => {
      await nodes.a.refreshOnce();
      const b = catalogueA.estimateRtt('node-a', 'node-b');
      const c = catalogueA.estimateRtt('node-a', 'node-c');
      return b !== undefined && c !== undefined && catalogueA.coordinate('node-a') ? { b, c } : undefined;
    }, 30_000, 1000);
    expect(typeof rtts.b).toBe('number');
    expect(typeof rtts.c).toBe('number');
    // veths in one kernel: all near zero (no netem here to add real latency)
    expect(rtts.b).toBeLessThan(50);
    expect(rtts.c).toBeLessThan(50);
    const all = catalogueA.all();
    for (const e of all) expect(typeof e.rttMs, `${e.node} ${e.type}`).toBe('number');
    for (let i = 1; i < all.length; i++) expect(all[i]!.rttMs!).toBeGreaterThanOrEqual(all[i - 1]!.rttMs!);
    const nearB = catalogueA.query({ near: 'node-b' });
    expect(nearB[0]!.node).toBe('node-b'); // distance 0 to itself
    for (let i = 1; i < nearB.length; i++) expect(nearB[i]!.rttMs!).toBeGreaterThanOrEqual(nearB[i - 1]!.rttMs!);
    console.log(`[serf-netns] estimated RTT from node-a: node-b ${rtts.b} ms, node-c ${rtts.c} ms`);
  });

  it('withdraws a service when it stops', async () => {
    webStatus = { installed: true, running: false };
    await registryB.refreshAll();
    expect((await nodes.b.publishOnce())?.action).toBe('withdrawn');
    await waitFor('web of B gone on A', async () => {
      await nodes.a.refreshOnce();
      return catalogueA.query({ node: 'node-b' }).length === 0;
    }, 30_000, 500);
    webStatus = { installed: true, running: true };
    await registryB.refreshAll();
    expect((await nodes.b.publishOnce())?.action).toBe('set');
    await waitFor('web of B back on A', async () => {
      await nodes.a.refreshOnce();
      return catalogueA.query({ node: 'node-b', type: 'web' })[0]?.description;
    }, 30_000, 500);
  });

  it('a killed agent (SIGKILL) shows as failed, its services as down', async () => {
    await lab.kill(agents.c, 'SIGKILL');
    const started = Date.now();
    await waitFor('node-c failed', async () => {
      await nodes.a.refreshOnce();
      const entries = catalogueA.query({ node: 'node-c' });
      return entries.length > 0 && entries.every((e) => e.nodeStatus === 'failed');
    }, 60_000, 500);
    console.log(`[serf-netns] node-c seen failed ${Date.now() - started} ms after SIGKILL`);
    expect(catalogueA.query({ node: 'node-c', health: 'up' })).toEqual([]);
    expect(catalogueA.query({ node: 'node-c', health: 'down' })).toHaveLength(C_TYPES.length);
    expect(catalogueA.query({ node: 'node-b', health: 'up' })).toHaveLength(1);
  });
});
