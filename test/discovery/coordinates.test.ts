// Network coordinates: serf's Vivaldi distance, the catalogue's RTT estimates ("from this node"
// and "near node X"), and the RPC client against an in-process server speaking serf's framing
// (msgpack header {Seq, Error} + body) on 127.0.0.1.
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { decodeMultiStream, encode } from '@msgpack/msgpack';
import { Catalogue } from '../../src/discovery/catalogue.js';
import { vivaldiDistanceMs, toCoordinate, type Coordinate } from '../../src/discovery/coordinates.js';
import { SerfRpcClient } from '../../src/discovery/serf-rpc.js';
import type { ServiceRecord } from '../../src/discovery/record.js';

const coord = (vec: number[], height = 0, adjustment = 0): Coordinate => ({ vec, error: 0.5, height, adjustment });
const rec = (node: string, type = 'web'): ServiceRecord => ({
  v: 1, type, description: '', node, host: `${node}.test`, addresses: [], port: 80, microcloud: '', txt: {}, health: 'up',
});

describe('Vivaldi distance', () => {
  it('is |a−b| + heights, plus adjustments when that stays positive, in ms', () => {
    const a = coord([0, 0, 0.003], 0.0001, 0.0002);
    const b = coord([0.004, 0, 0], 0.0002, -0.0001);
    // sqrt(0.004² + 0.003²) = 0.005 s; + 0.0003 heights = 0.0053; + 0.0001 adjustments = 0.0054 s
    expect(vivaldiDistanceMs(a, b)).toBeCloseTo(5.4, 9);
    expect(vivaldiDistanceMs(coord([0.001]), coord([0.002], 0, -0.01))).toBeCloseTo(1, 9); // adjusted < 0 → unadjusted
    expect(vivaldiDistanceMs(coord([0, 0]), coord([0]))).toBeUndefined();
  });

  it('accepts only finite, bounded coordinates', () => {
    expect(toCoordinate({ Vec: [0.1, 0.2], Error: 1, Adjustment: 0, Height: 0.00001 })).toEqual({ vec: [0.1, 0.2], error: 1, adjustment: 0, height: 0.00001 });
    for (const bad of [null, {}, { Vec: [], Error: 1, Adjustment: 0, Height: 0 }, { Vec: [NaN], Error: 1, Adjustment: 0, Height: 0 },
      { Vec: new Array(17).fill(0), Error: 1, Adjustment: 0, Height: 0 }, { Vec: [0], Error: 1, Adjustment: 0, Height: -1 }, { Vec: ['1'], Error: 1, Adjustment: 0, Height: 0 }]) {
      expect(toCoordinate(bad)).toBeUndefined();
    }
  });
});

describe('catalogue RTTs from coordinates', () => {
  it('ranks from this node, or from any node ("near X")', () => {
    const c = new Catalogue();
    c.setNode('serf', 'far', [rec('far')]);
    c.setNode('serf', 'mid', [rec('mid')]);
    c.setNode('serf', 'near', [rec('near')]);
    c.setNode('serf', 'unknown', [rec('unknown')]);
    c.setCoordinate('self', coord([0, 0]));
    c.setCoordinate('near', coord([0.001, 0]));
    c.setCoordinate('mid', coord([0.010, 0]));
    c.setCoordinate('far', coord([0.100, 0]));
    c.setSelf('self');
    expect(c.all().map((e) => [e.node, e.rttMs])).toEqual([['near', 1], ['mid', 10], ['far', 100], ['unknown', undefined]]);
    expect(c.query({ near: 'far' }).map((e) => [e.node, e.rttMs])).toEqual([['far', 0], ['mid', 90], ['near', 99], ['unknown', undefined]]);
    c.setRtt('far', 0.5); // an explicit measurement wins over the estimate
    expect(c.all()[0]!.node).toBe('far');
    c.forgetNode('mid');
    expect(c.all().map((e) => e.node)).toEqual(['far', 'near', 'unknown']);
    expect(c.coordinate('mid')).toBeUndefined();
  });
});

describe('serf RPC client', () => {
  let server: net.Server | undefined;
  afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  /** A minimal agent: handshake, then get-coordinate from a table (answers in reverse order of arrival per batch). */
  async function fakeAgent(coords: Record<string, unknown>, seen: unknown[]): Promise<string> {
    server = net.createServer(async (socket) => {
      let header: { Command: string; Seq: number } | undefined;
      for await (const object of decodeMultiStream(socket)) {
        if (!header) { header = object as { Command: string; Seq: number }; continue; }
        const body = object as Record<string, unknown>;
        seen.push({ ...header, body });
        if (header.Command === 'handshake') socket.write(encode({ Seq: header.Seq, Error: '' }));
        else if (header.Command === 'get-coordinate') {
          const c = coords[String(body.Node)];
          socket.write(Buffer.concat([encode({ Seq: header.Seq, Error: '' }), encode({ Coord: c ?? { Vec: [0], Error: 0, Adjustment: 0, Height: 0 }, Ok: c !== undefined })]));
        } else socket.write(encode({ Seq: header.Seq, Error: 'Unsupported command' }));
        header = undefined;
      }
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    return `127.0.0.1:${(server!.address() as net.AddressInfo).port}`;
  }

  it('handshakes once, then pipelines get-coordinate requests over one connection', async () => {
    const seen: unknown[] = [];
    const address = await fakeAgent({
      a: { Vec: [0.001, 0, 0, 0, 0, 0, 0, 0], Error: 0.2, Adjustment: 0.00001, Height: 0.00002 },
      b: { Vec: [0.002, 0, 0, 0, 0, 0, 0, 0], Error: 0.3, Adjustment: 0, Height: 0.00001 },
      bad: { Vec: ['x'], Error: 0, Adjustment: 0, Height: 0 },
    }, seen);
    const client = new SerfRpcClient({ address, timeoutMs: 2000 });
    const coords = await client.getCoordinates(['a', 'b', 'missing', 'bad']);
    expect([...coords.keys()]).toEqual(['a', 'b']);
    expect(coords.get('a')).toEqual({ vec: [0.001, 0, 0, 0, 0, 0, 0, 0], error: 0.2, adjustment: 0.00001, height: 0.00002 });
    expect(await client.getCoordinate('b')).toMatchObject({ height: 0.00001 });
    client.close();
    expect((seen as { Command: string }[]).map((s) => s.Command)).toEqual(['handshake', 'get-coordinate', 'get-coordinate', 'get-coordinate', 'get-coordinate', 'get-coordinate']);
    expect(seen[0]).toMatchObject({ Command: 'handshake', body: { Version: 1 } });
  });

  it('fails cleanly when nothing listens', async () => {
    const client = new SerfRpcClient({ address: '127.0.0.1:1', timeoutMs: 1000 });
    await expect(client.getCoordinate('a')).rejects.toThrow();
    client.close();
    await expect(new SerfRpcClient({ address: 'localhost:7373' }).getCoordinate('a')).rejects.toThrow(/invalid RPC address/);
  });
});
