// Publisher decisions through the production wiring (createSerfDiscovery): a real Registry with
// test plugins whose status the test controls, a temp root for the records file, and the
// RecordingRunner standing in for the serf CLI (its `serf info` answers with the tags the
// recorded `serf tags` commands set, like the agent does).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { createSystem } from '../../src/system/index.js';
import { Registry } from '../../src/registry/registry.js';
import { definePlugin, type PluginStatus, type Announcement } from '../../src/registry/define-plugin.js';
import { Catalogue } from '../../src/discovery/catalogue.js';
import { createSerfDiscovery, RECORDS_FILE, type Discovery, type SerfEndpoint } from '../../src/discovery/discovery.js';
import { decodeDocument, decodeSummary } from '../../src/discovery/codec.js';
import { RecordingRunner } from '../helpers/recording-runner.js';
import { createTempRoot, type TempRoot } from '../helpers/temp-root.js';

const log = pino({ level: 'silent' });
const RPC = '127.0.0.9:7001'; // not serf's default: every command must name it

function testPlugin(id: string, options: { publish?: string; status: () => PluginStatus; announcement?: () => Announcement | undefined; endpoint?: () => SerfEndpoint | undefined }) {
  return definePlugin({
    manifest: { id, version: 1, menu: { section: 'clommunity', order: 10 }, title: 't', description: 'd', packages: [id], services: [{ name: id }], ...(options.publish ? { publish: { type: options.publish } } : {}) },
    createModel: () => ({
      status: async () => options.status(),
      ...(options.announcement ? { announcement: async () => options.announcement!() } : {}),
      ...(options.endpoint ? { discoveryEndpoint: async () => options.endpoint!() } : {}),
    }),
    controller: async () => undefined,
  });
}

describe('publisher', () => {
  let root: TempRoot;
  let runner: RecordingRunner;
  let registry: Registry;
  let discovery: Discovery;
  let agentTags: Record<string, string>;
  let serfRunning: boolean;
  let web: PluginStatus;
  let silent: PluginStatus;
  let tagsAnswer: { exitCode?: number; stderr?: string; apply: boolean };

  beforeEach(async () => {
    root = createTempRoot();
    runner = new RecordingRunner();
    agentTags = { role: 'test' };
    serfRunning = true;
    web = { installed: true, running: true };
    silent = { installed: true, running: true };
    tagsAnswer = { apply: true };
    runner.on(['serf', 'info'], () => ({ stdout: JSON.stringify({ agent: { name: 'node-a' }, tags: agentTags }) }));
    runner.on(['serf', 'tags'], (argv) => {
      if (tagsAnswer.apply) {
        for (let i = 3; i < argv.length; i += 2) {
          if (argv[i] === '-set') { const [k, ...v] = argv[i + 1]!.split('='); agentTags[k!] = v.join('='); }
          if (argv[i] === '-delete') delete agentTags[argv[i + 1]!];
        }
      }
      return { exitCode: tagsAnswer.exitCode ?? 0, stderr: tagsAnswer.stderr ?? '', stdout: 'Successfully updated agent tags' };
    });
    const system = createSystem({ rootPrefix: root.dir, runner });
    registry = new Registry([
      testPlugin('serfish', {
        status: () => ({ installed: true, running: serfRunning }),
        endpoint: () => ({ rpcAddress: RPC, address: '10.1.2.3', bindPort: 5000, microcloud: 'gracia', host: 'node-a.guifi.local' }),
      }),
      testPlugin('web', { publish: 'web', status: () => web, announcement: () => ({ port: 8080, description: 'Community wiki', txt: { lang: 'ca' } }) }),
      testPlugin('silent', { publish: 'silent', status: () => silent, announcement: () => undefined }),
      testPlugin('plain', { status: () => ({ installed: true, running: true }) }),
    ], { system, dataDir: path.join(root.dir, 'data'), log, projectRoot: process.cwd() });
    await registry.refreshAll();
    discovery = createSerfDiscovery({ catalogue: new Catalogue(), registry, system, log });
  });

  afterEach(async () => {
    await discovery.stop();
    root.cleanup();
  });

  const tagCommands = () => runner.calls.filter((c) => c.argv[1] === 'tags').map((c) => c.argv);
  const recordsFile = () => readFileSync(root.p(RECORDS_FILE), 'utf8');

  it('announces running services with a publish type and an announcement, through `serf tags -set`', async () => {
    const outcome = await discovery.publishOnce();
    expect(outcome?.action).toBe('set');
    const [argv, ...more] = tagCommands();
    expect(more).toEqual([]);
    expect(argv!.slice(0, 3)).toEqual(['serf', 'tags', `-rpc-addr=${RPC}`]);
    expect(argv![3]).toBe('-set');
    expect(argv![4]).toBe('cl=1|gracia|web:8080:u');
    expect(argv![5]).toBe('-set');
    expect(argv![6]).toMatch(/^ch=[A-Za-z0-9_-]{12}$/);
    // the query answer: the records file, world-readable for the serf daemon user
    const doc = decodeDocument(recordsFile())!;
    expect(`ch=${doc.hash}`).toBe(argv![6]);
    expect(doc.records).toEqual([{
      v: 1, type: 'web', description: 'Community wiki', node: 'node-a', host: 'node-a.guifi.local', addresses: ['10.1.2.3'],
      port: 8080, microcloud: 'gracia', txt: { lang: 'ca' }, health: 'up',
    }]);
    expect((await import('node:fs')).statSync(root.p(RECORDS_FILE)).mode & 0o777).toBe(0o644);
    expect(agentTags.role).toBe('test'); // other tags untouched
  });

  it('names the configured RPC address in every serf command', async () => {
    await discovery.publishOnce();
    await discovery.refreshOnce().catch(() => undefined);
    const serfCalls = runner.calls.filter((c) => c.argv[0] === 'serf');
    expect(serfCalls.length).toBeGreaterThan(2);
    for (const call of serfCalls) expect(call.argv[2]).toBe(`-rpc-addr=${RPC}`);
  });

  it('does nothing while the state is already right, and repairs it after a serf restart', async () => {
    await discovery.publishOnce();
    runner.calls.length = 0;
    expect((await discovery.publishOnce())?.action).toBe('unchanged');
    expect(tagCommands()).toEqual([]);
    agentTags = {}; // serf restarted: runtime tags are gone
    expect((await discovery.publishOnce())?.action).toBe('set');
    expect(decodeSummary(agentTags.cl)?.services).toEqual([{ type: 'web', port: 8080, health: 'up' }]);
  });

  it('withdraws a service when it stops, with `serf tags -delete`', async () => {
    await discovery.publishOnce();
    web = { installed: true, running: false };
    await registry.refreshAll();
    runner.calls.length = 0;
    expect((await discovery.publishOnce())?.action).toBe('withdrawn');
    expect(tagCommands()).toEqual([['serf', 'tags', `-rpc-addr=${RPC}`, '-delete', 'cl', '-delete', 'ch']]);
    expect(decodeDocument(recordsFile())!.records).toEqual([]);
    expect(agentTags).toEqual({ role: 'test' });
    runner.calls.length = 0;
    expect((await discovery.publishOnce())?.action).toBe('unchanged');
    expect(tagCommands()).toEqual([]);
  });

  it('withdraws a removed plugin and announces one that comes back', async () => {
    await discovery.publishOnce();
    web = { installed: false, running: false };
    await registry.refreshAll();
    expect((await discovery.publishOnce())?.action).toBe('withdrawn');
    web = { installed: true, running: true };
    await registry.refreshAll();
    expect((await discovery.publishOnce())?.action).toBe('set');
  });

  it('runs no command at all while serf is not running', async () => {
    serfRunning = false;
    await registry.refreshAll();
    runner.calls.length = 0;
    expect(await discovery.publishOnce()).toBeUndefined();
    await discovery.refreshOnce();
    expect(runner.calls).toEqual([]);
    expect(discovery.snapshot().enabled).toBe(false);
    expect(existsSync(root.p(RECORDS_FILE))).toBe(false);
  });

  it('accepts a set whose gossip broadcast timed out when the agent carries the tags, and reports it otherwise', async () => {
    tagsAnswer = { apply: true, exitCode: 1, stderr: 'Error setting tags: timeout waiting for update broadcast' };
    expect((await discovery.publishOnce())?.action).toBe('set');
    // that broadcast may never reach everybody: the next run sets the same tags again
    tagsAnswer = { apply: true };
    runner.calls.length = 0;
    expect((await discovery.publishOnce())?.action).toBe('reasserted');
    expect(tagCommands()).toHaveLength(1);
    expect((await discovery.publishOnce())?.action).toBe('unchanged');
    agentTags = {};
    tagsAnswer = { apply: false, exitCode: 1, stderr: 'Error setting tags: Encoded length of tags exceeds limit of 512 bytes' };
    expect(await discovery.publishOnce()).toBeUndefined();
  });

  it('sets unchanged tags again after reassertMs, in case a broadcast was lost', async () => {
    let now = 1_000_000;
    const { Publisher } = await import('../../src/discovery/publisher.js');
    const { SerfDriver } = await import('../../src/discovery/serf.js');
    const publisher = new Publisher({
      target: new SerfDriver(runner, { rpcAddress: RPC }),
      services: async () => [{ type: 'web', port: 80, description: 'w' }],
      identity: () => ({ host: 'h', addresses: [], microcloud: '' }),
      writeRecords: async () => undefined, readRecords: async () => undefined,
      reassertMs: 600_000, now: () => now,
    });
    expect((await publisher.publishOnce()).action).toBe('set');
    now += 599_000;
    expect((await publisher.publishOnce()).action).toBe('unchanged');
    now += 2000;
    expect((await publisher.publishOnce()).action).toBe('reasserted');
  });
});
