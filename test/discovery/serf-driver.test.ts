import { describe, expect, it } from 'vitest';
import { hostOfAddr, SerfDriver } from '../../src/discovery/serf.js';
import { RecordingRunner } from '../helpers/recording-runner.js';

describe('serf driver', () => {
  it('always names the configured RPC address and passes values as single argv items (no shell)', async () => {
    const runner = new RecordingRunner();
    runner.on(['serf', 'query'], { stdout: '{"Acks":null,"Responses":null}' });
    const driver = new SerfDriver(runner, { rpcAddress: '127.0.0.5:7000' });
    await driver.setTags({ cl: '1|mc|web:80:u', ch: 'abcdefghijkl' });
    await driver.deleteTags(['cl']);
    expect(await driver.query('cloudy-services', { nodes: ['-evil', 'a b;rm -rf /'], timeoutMs: 1500 })).toEqual(new Map());
    expect(runner.calls.map((c) => c.argv)).toEqual([
      ['serf', 'tags', '-rpc-addr=127.0.0.5:7000', '-set', 'cl=1|mc|web:80:u', '-set', 'ch=abcdefghijkl'],
      ['serf', 'tags', '-rpc-addr=127.0.0.5:7000', '-delete', 'cl'],
      ['serf', 'query', '-rpc-addr=127.0.0.5:7000', '-format=json', '-no-ack', '-timeout=1500ms', '-node=-evil', '-node=a b;rm -rf /', 'cloudy-services'],
    ]);
    await expect(driver.setTags({ 'bad key': 'x' })).rejects.toThrow(/invalid tag/);
    await expect(driver.setTags({ k: 'line\nbreak' })).rejects.toThrow(/invalid tag/);
    expect(() => new SerfDriver(runner, { rpcAddress: 'localhost' })).toThrow(/invalid RPC address/);
  });

  it('parses members, dropping invalid entries and mapping unknown statuses', async () => {
    const runner = new RecordingRunner();
    runner.on(['serf', 'members'], { stdout: JSON.stringify({ members: [
      { name: 'a', addr: '10.0.0.1:5000', port: 5000, tags: { cl: 'x' }, status: 'alive' },
      { name: 'b', addr: '[fd00::2]:5000', port: 5000, tags: null, status: 'weird' },
      { name: 'c\u0000', addr: '10.0.0.3:5000', port: 5000, tags: {}, status: 'alive' },
      { name: 'd', addr: '10.0.0.4:5000', port: 'x', tags: {}, status: 'alive' },
      'junk',
    ] }) });
    const members = await new SerfDriver(runner, { rpcAddress: '127.0.0.1:7373' }).members();
    expect(members).toEqual([
      { name: 'a', addr: '10.0.0.1', port: 5000, tags: { cl: 'x' }, status: 'alive' },
      { name: 'b', addr: 'fd00::2', port: 5000, tags: {}, status: 'none' },
    ]);
    expect(hostOfAddr('10.1.2.3:7946')).toBe('10.1.2.3');
    runner.on(['serf', 'members'], { stdout: 'Error connecting', exitCode: 1 });
    await expect(new SerfDriver(runner, { rpcAddress: '127.0.0.1:7373' }).members()).rejects.toThrow(/exit 1/);
  });
});
