// The catalogue refresher against scripted serf CLI output (RecordingRunner): what it queries,
// when, and what reaches the catalogue from honest, legacy and hostile members.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { Catalogue } from '../../src/discovery/catalogue.js';
import { Discovery } from '../../src/discovery/discovery.js';
import { encodeDocument, encodeTags } from '../../src/discovery/codec.js';
import type { ServiceRecord } from '../../src/discovery/record.js';
import { RecordingRunner } from '../helpers/recording-runner.js';

const log = pino({ level: 'silent' });
const RPC = '127.0.0.1:7373';
// Made with: printf '%s' '[{"s":"proxy3","d":"Proxy3_System","m":"cloudy1.guifi.local","i":"10.139.40.12","p":3128,"e":"demo","t":"Federated=Yes"},{"s":"serf",...}]' | bzip2 -9 -c | base64 -w0
const LEGACY_TAG = 'QlpoOTFBWSZTWZD2wgoAAEEfgBAFfnIDAFgqr6feajAAuWhqnqBoxAABoGmmIJVMmhoNAAAAAEoSMkZGIPQhjSNBpTDs/E8ZUkihNZHlpEDQ1J4IWCigL+FYmtCKgbWheRKx1w4a/YoMDBR6TcWGcTxeMInTPOIKJfC7p+tWBTeQ1IEpAnCEGNMVkCvkbhGIOGBIjo9HSMkWIFPvLTydhELaWdeMUKRBkkmYio8IUlIeOHuOPxdyRThQkJD2wgo=';

const rec = (node: string, over: Partial<ServiceRecord> = {}): ServiceRecord => ({
  v: 1, type: 'web', description: `Wiki on ${node}`, node, host: `${node}.test`, addresses: ['10.0.0.2'], port: 80, microcloud: 'mc', txt: {}, health: 'up', ...over,
});

function published(records: ServiceRecord[]) {
  const doc = encodeDocument(records);
  return { tags: encodeTags(doc.records, 'mc', doc.hash), payload: doc.payload };
}

describe('discovery refresher', () => {
  let runner: RecordingRunner;
  let catalogue: Catalogue;
  let discovery: Discovery;
  let members: unknown[];
  let answers: Record<string, string>;

  const member = (name: string, tags: Record<string, string>, status = 'alive', addr = '10.0.0.2') =>
    ({ name, addr: `${addr}:5000`, port: 5000, tags, status, protocol: { max: 5, min: 2, version: 5 } });

  beforeEach(() => {
    runner = new RecordingRunner();
    catalogue = new Catalogue();
    members = [];
    answers = {};
    runner.on(['serf', 'members'], () => ({ stdout: JSON.stringify({ members }) }));
    runner.on(['serf', 'info'], () => ({ stdout: JSON.stringify({ agent: { name: 'self' }, tags: {} }) }));
    runner.on(['serf', 'query'], (argv) => {
      const only = argv.filter((a) => a.startsWith('-node=')).map((a) => a.slice(6));
      const responses = Object.fromEntries(Object.entries(answers).filter(([n]) => !only.length || only.includes(n)));
      return { stdout: JSON.stringify({ Acks: null, Responses: responses }) };
    });
    discovery = new Discovery({
      catalogue, runner, log,
      endpoint: async () => ({ rpcAddress: RPC, address: '10.0.0.1', bindPort: 5000, microcloud: 'mc', host: 'self' }),
      services: async () => [],
      writeRecords: async () => undefined,
      readRecords: async () => undefined,
      coordinatesMs: Number.POSITIVE_INFINITY,
      refreshMs: 10_000,
    });
  });
  afterEach(() => discovery.stop());

  const queries = () => runner.calls.filter((c) => c.argv[1] === 'query').map((c) => c.argv);

  it('fetches full records only for nodes whose hash changed, naming them in the query', async () => {
    const b = published([rec('node-b'), rec('node-b', { type: 'proxy3', port: 3128, description: 'Proxy' })]);
    members = [member('self', {}), member('node-b', b.tags)];
    answers = { 'node-b': b.payload };
    await discovery.refreshOnce(1_000_000);
    expect(queries()).toEqual([['serf', 'query', `-rpc-addr=${RPC}`, '-format=json', '-no-ack', '-relay-factor=1', '-node=node-b', 'cloudy-services']]);
    expect(catalogue.query({ node: 'node-b' }).map((e) => [e.type, e.description, e.source])).toEqual([['proxy3', 'Proxy', 'serf'], ['web', 'Wiki on node-b', 'serf']]);

    runner.calls.length = 0;
    await discovery.refreshOnce(1_010_000);
    expect(queries()).toEqual([]); // same hash: nothing to fetch

    const b2 = published([rec('node-b')]);
    members = [member('self', {}), member('node-b', b2.tags)];
    answers = { 'node-b': b2.payload };
    await discovery.refreshOnce(1_020_000);
    expect(queries()).toHaveLength(1);
    expect(catalogue.query({ node: 'node-b' }).map((e) => e.type)).toEqual(['web']);
    expect(discovery.snapshot().members.map((m) => [m.name, m.services, m.format])).toEqual([['node-b', 1, 'cloudy'], ['self', 0, 'none']]);
  });

  it('shows a node from its summary tag until its answer arrives, backing off while it does not answer', async () => {
    const c = published([rec('node-c', { type: 'proxy3', port: 3128 })]);
    members = [member('node-c', c.tags, 'alive', '10.0.0.3')];
    await discovery.refreshOnce(1_000_000);
    expect(catalogue.query({ node: 'node-c' })[0]).toMatchObject({ type: 'proxy3', port: 3128, description: '', host: '10.0.0.3', addresses: ['10.0.0.3'], microcloud: 'mc' });
    runner.calls.length = 0;
    await discovery.refreshOnce(1_005_000); // within the 10 s back-off
    expect(queries()).toEqual([]);
    await discovery.refreshOnce(1_010_000);
    expect(queries()).toHaveLength(1); // tried again
    await discovery.refreshOnce(1_020_000); // second failure: 20 s back-off
    expect(queries()).toHaveLength(1);
    answers = { 'node-c': c.payload };
    await discovery.refreshOnce(1_030_000);
    expect(queries()).toHaveLength(2);
    expect(catalogue.query({ node: 'node-c' })[0]!.description).toBe('Wiki on node-c');
  });

  it('decodes legacy tags, maps member status, and forgets members that are gone', async () => {
    members = [member('old', { services: LEGACY_TAG }), member('dead', published([rec('dead')]).tags, 'failed'), member('gone', published([rec('gone')]).tags, 'left')];
    await discovery.refreshOnce(1_000_000);
    expect(catalogue.query({ node: 'old' }).map((e) => [e.type, e.source])).toEqual([['proxy3', 'legacy'], ['serf', 'legacy']]);
    expect(catalogue.query({ node: 'dead' })[0]!.nodeStatus).toBe('failed');
    expect(catalogue.query({ node: 'gone' })[0]!.nodeStatus).toBe('left');
    expect(queries()).toEqual([]); // nobody alive to ask
    members = [member('old', {})];
    await discovery.refreshOnce(1_010_000);
    expect(catalogue.all()).toEqual([]);
  });

  it('drops hostile members and answers: bad names, records for other nodes, garbage, oversized tags', async () => {
    const evil = published([rec('evil')]);
    const forged = encodeDocument([rec('victim', { description: 'forged' }), rec('evil', { type: 'ok', port: 81 })]);
    members = [
      member('evil', encodeTags(forged.records, 'mc', forged.hash)),
      member('bad\nname', evil.tags),
      { name: 'no-addr' },
      member('garbage', { cl: '1|mc|<script>:1:u', ch: 'not a hash!!' }),
      member('huge', { cl: 'x'.repeat(5000), services: 'A'.repeat(5000) }),
      member('victim', {}),
    ];
    answers = { evil: forged.payload, victim: 'c1:AAAA' };
    await discovery.refreshOnce(1_000_000);
    expect(catalogue.all().map((e) => [e.node, e.type])).toEqual([['evil', 'ok']]);
    // members with control characters in the name, no address or impossible (> 1 KiB) tags are dropped
    expect(discovery.snapshot().members.map((m) => m.name).sort()).toEqual(['evil', 'garbage', 'victim']);
  });

  it('reports an unreachable agent without throwing, and runs nothing without an endpoint', async () => {
    runner.on(['serf', 'members'], { exitCode: 1, stderr: 'Error connecting to Serf agent: dial tcp 127.0.0.1:7373: connect: connection refused' });
    await discovery.refreshOnce(1_000_000);
    expect(discovery.snapshot().lastError).toMatch(/connection refused/);
    const idle = new Discovery({
      catalogue, runner, log, endpoint: async () => undefined, services: async () => [], writeRecords: async () => undefined, readRecords: async () => undefined,
    });
    runner.calls.length = 0;
    await idle.refreshOnce();
    expect(await idle.publishOnce()).toBeUndefined();
    expect(runner.calls).toEqual([]);
  });
});
