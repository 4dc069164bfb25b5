import { describe, expect, it } from 'vitest';
import { defaultNodeName, isEncryptKey, isLoopbackRpc, isPeer, parseSerfConf, renderSerfConf, SerfSettingsSchema } from '../serf-conf.js';
import { QUERY_HANDLER } from '../../../src/discovery/discovery.js';

const good = SerfSettingsSchema.parse({
  nodeName: 'gracia-node_1.a', bindAddress: '0.0.0.0', bindPort: '5000', advertiseAddress: '10.1.2.3', rpcAddress: '127.0.0.1:7373',
  peers: '10.139.40.122:5000, serf.guifi.test:5000\n10.1.1.1:7946', microcloud: 'gracia', encryptKey: 'q83vEjRWeJCrze8SNFZ4kA==', profile: 'lan',
});

describe('serf settings', () => {
  it('renders serf options only, with the static query handler and a raised answer limit', () => {
    const conf = JSON.parse(renderSerfConf(good));
    expect(conf).toEqual({
      node_name: 'gracia-node_1.a', bind: '0.0.0.0:5000', advertise: '10.1.2.3:5000', rpc_addr: '127.0.0.1:7373', profile: 'lan',
      retry_join: ['10.139.40.122:5000', 'serf.guifi.test:5000', '10.1.1.1:7946'], retry_interval: '30s', encrypt_key: 'q83vEjRWeJCrze8SNFZ4kA==',
      leave_on_terminate: true, event_handlers: [QUERY_HANDLER], query_response_size_limit: 9216,
    });
    expect(QUERY_HANDLER).toBe('query:cloudy-services=cat /var/lib/cloudy-discovery/serf-records');
    expect(parseSerfConf(renderSerfConf(good))).toEqual({ ...good, microcloud: undefined });
  });

  it('leaves out what is not set', () => {
    const conf = JSON.parse(renderSerfConf({ ...good, advertiseAddress: '', peers: [], encryptKey: '' }));
    expect(Object.keys(conf)).not.toContain('advertise');
    expect(Object.keys(conf)).not.toContain('retry_join');
    expect(Object.keys(conf)).not.toContain('encrypt_key');
  });

  it('validates every field', () => {
    expect(isPeer('10.1.2.3:5000')).toBe(true);
    expect(isPeer('node.guifi.net:5000')).toBe(true);
    for (const bad of ['10.1.2.3', '10.1.2.300:5000', '0.0.0.0:5000', '10.1.2.3:0', '10.1.2.3:70000', '-x:1', 'a b:1', '$(id):1']) expect(isPeer(bad), bad).toBe(false);
    expect(isLoopbackRpc('127.0.0.1:7373')).toBe(true);
    expect(isLoopbackRpc('10.0.0.1:7373')).toBe(false);
    expect(isLoopbackRpc('0.0.0.0:7373')).toBe(false);
    for (const n of [16, 24, 32]) expect(isEncryptKey(Buffer.alloc(n, 7).toString('base64'))).toBe(true);
    for (const bad of [Buffer.alloc(20).toString('base64'), 'not base64', 'AAAA']) expect(isEncryptKey(bad)).toBe(false);
    expect(isEncryptKey('')).toBe(true);
    const result = SerfSettingsSchema.safeParse({ ...good, nodeName: 'a b', peers: Array.from({ length: 17 }, (_, i) => `10.0.0.${i + 1}:5000`), profile: 'x', microcloud: 'a'.repeat(33) });
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => [i.path[0], i.message])).toEqual([
      ['nodeName', 'serf:errors.nodeName'], ['peers', 'serf:errors.tooManyPeers'], ['microcloud', 'serf:errors.microcloud'], ['profile', 'serf:errors.profile'],
    ]);
  });

  it('derives a default node name from the host name', () => {
    expect(defaultNodeName('Cloudy Node.local', 'ab12')).toBe('cloudy-node.local-ab12');
    expect(defaultNodeName('---', 'ab12')).toBe('cloudy-ab12');
    expect(defaultNodeName('x'.repeat(100), 'ab12')).toHaveLength(63);
  });
});
