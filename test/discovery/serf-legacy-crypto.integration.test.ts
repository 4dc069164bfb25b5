// Real serf agents on loopback (127.0.2.x): (c) an original Cloudy node's "services" tag
// (base64 of bzip2 of JSON, made with the bzip2 CLI) shows up in the catalogue as source
// 'legacy'; (d) gossip encryption: same key joins, a different key (or no key) cannot.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { SerfLab, waitFor } from './serf-lab.js';
import { Catalogue } from '../../src/discovery/catalogue.js';
import { Discovery } from '../../src/discovery/discovery.js';
import { catalogueNodeName } from '../../src/discovery/codec.js';

if (process.getuid?.() !== 0) throw new Error('the integration tier runs as root');

const log = pino({ level: 'silent' });
const lab = new SerfLab();
afterAll(() => lab.cleanup());

describe('legacy Cloudy tag on a real agent', () => {
  it('decodes base64(bzip2(JSON)) set with `serf tags -set services=...` as source legacy', async () => {
    // A node name as the original package-serf made them: <md5 id>-<nanoseconds>-<host>-<ip>:<port>
    const legacyName = 'd41d8cd98f00b204e9800998ecf8427e-1700000000123456789-oldcloudy-127.0.2.2:7946';
    const modern = await lab.startAgent({ name: 'modern', bind: '127.0.2.1', rpcAddress: '127.0.2.1:7373' });
    const old = await lab.startAgent({ name: legacyName, bind: '127.0.2.2', rpcAddress: '127.0.2.2:7373', peers: ['127.0.2.1:7946'] });
    const json = JSON.stringify([
      { s: 'proxy3', d: 'Proxy3_System', m: 'oldcloudy.guifi.local', i: '10.139.1.2', p: '3128', e: 'demo', t: 'Federated=Yes' },
      { s: 'tahoe-lafs', d: 'Tahoe-LAFS-Grid', m: 'oldcloudy.guifi.local', i: '10.139.1.2', p: '45620', e: 'demo', t: 'abcdefghijklmnop' },
      { s: 'syncthing', d: 'Syncthing_instance_running', m: 'oldcloudy.guifi.local', i: '10.139.1.2', p: '22000', e: 'demo', t: 'node_id=ABCD-EFGH' },
    ]);
    const blob = execFileSync('bzip2', ['-c', '-9'], { input: json }).toString('base64');
    expect(blob.length).toBeLessThan(500);
    const set = lab.serf(old, ['tags', '-set', `services=${blob}`]);
    expect(set.status, set.stderr).toBe(0);

    const catalogue = new Catalogue();
    const discovery = new Discovery({
      catalogue, runner: lab.runner(), log,
      endpoint: async () => ({ rpcAddress: modern.rpcAddress, address: '127.0.2.1', bindPort: 7946, microcloud: '', host: 'modern' }),
      services: async () => [],
      writeRecords: async (p) => writeFileSync(modern.recordsFile, p),
      readRecords: async () => { try { return readFileSync(modern.recordsFile, 'utf8'); } catch { return undefined; } },
    });
    try {
      const node = catalogueNodeName(legacyName);
      await waitFor('legacy services on the modern node', async () => {
        await discovery.refreshOnce();
        return catalogue.query({ node }).length === 3;
      }, 20_000, 300);
      const proxy = catalogue.query({ node, type: 'proxy3' })[0]!;
      expect(proxy).toMatchObject({
        source: 'legacy', description: 'Proxy3 System', host: 'oldcloudy.guifi.local', addresses: ['10.139.1.2'],
        port: 3128, microcloud: 'demo', txt: { federated: 'Yes' }, nodeStatus: 'alive',
      });
      expect(catalogue.query({ node, type: 'tahoe-lafs' })[0]!.txt).toEqual({ txt: 'abcdefghijklmnop' });
      expect(catalogue.query({ node, type: 'syncthing' })[0]!.description).toBe('Syncthing instance running');
      expect(discovery.snapshot().members.find((m) => m.name === legacyName)?.format).toBe('legacy');
    } finally {
      await discovery.stop();
    }
  });
});

describe('gossip encryption', () => {
  it('agents with the same key join; a different key or no key cannot', async () => {
    const key = randomBytes(32).toString('base64');
    const one = await lab.startAgent({ name: 'crypt-1', bind: '127.0.2.3', rpcAddress: '127.0.2.3:7373', encryptKey: key });
    const two = await lab.startAgent({ name: 'crypt-2', bind: '127.0.2.4', rpcAddress: '127.0.2.4:7373', encryptKey: key });
    const other = await lab.startAgent({ name: 'crypt-other', bind: '127.0.2.5', rpcAddress: '127.0.2.5:7373', encryptKey: randomBytes(16).toString('base64') });
    const plain = await lab.startAgent({ name: 'crypt-plain', bind: '127.0.2.6', rpcAddress: '127.0.2.6:7373' });

    const info = JSON.parse(lab.serf(one, ['info', '-format=json']).stdout);
    expect(info.serf.encrypted).toBe('true');

    expect(lab.serf(two, ['join', '127.0.2.3:7946']).status).toBe(0);
    await waitFor('crypt-1 and crypt-2 alive together', () => lab.members(one).filter((m) => m.status === 'alive').length === 2);

    const wrongKey = lab.serf(other, ['join', '127.0.2.3:7946']);
    expect(wrongKey.status).not.toBe(0);
    const noKey = lab.serf(plain, ['join', '127.0.2.3:7946']);
    expect(noKey.status).not.toBe(0);
    await new Promise((r) => setTimeout(r, 2000));
    expect(lab.members(one).map((m) => m.name).sort()).toEqual(['crypt-1', 'crypt-2']);
    expect(lab.members(other).map((m) => m.name)).toEqual(['crypt-other']);
    expect(lab.members(plain).map((m) => m.name)).toEqual(['crypt-plain']);
  });
});
