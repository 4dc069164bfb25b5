import { describe, expect, it } from 'vitest';
import dgram from 'node:dgram';
import { decodeSysName, encodeGetRequest, probeSysName } from '../snmp-probe.js';

describe('SNMP probe encoding', () => {
  it('encodes a v2c GET for sysName.0', () => {
    const packet = encodeGetRequest('abc', 5);
    // SEQUENCE { INTEGER 1 (v2c), OCTET STRING "abc", GetRequest ... OID 1.3.6.1.2.1.1.5.0, NULL }
    expect(packet.subarray(2, 5)).toEqual(Buffer.from([0x02, 0x01, 0x01]));
    expect(packet.subarray(5, 10)).toEqual(Buffer.from([0x04, 0x03, 0x61, 0x62, 0x63]));
    expect(packet.includes(Buffer.from([0x06, 0x08, 0x2b, 6, 1, 2, 1, 1, 5, 0]))).toBe(true);
  });

  it('reads sysName from a response and nothing from an error without a value', () => {
    const community = Buffer.from([0x04, 0x03, 0x61, 0x62, 0x63]);
    const value = Buffer.from([0x04, 0x04, 0x6e, 0x6f, 0x64, 0x65]);
    const oid = Buffer.from([0x06, 0x08, 0x2b, 6, 1, 2, 1, 1, 5, 0]);
    const varbind = Buffer.concat([Buffer.from([0x30, oid.length + value.length]), oid, value]);
    const list = Buffer.concat([Buffer.from([0x30, varbind.length]), varbind]);
    const pduBody = Buffer.concat([Buffer.from([0x02, 0x01, 0x05, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00]), list]);
    const pdu = Buffer.concat([Buffer.from([0xa2, pduBody.length]), pduBody]);
    const body = Buffer.concat([Buffer.from([0x02, 0x01, 0x01]), community, pdu]);
    expect(decodeSysName(Buffer.concat([Buffer.from([0x30, body.length]), body]))).toBe('node');
    expect(decodeSysName(Buffer.from([0x30, 0x05, 0x04, 0x03, 0x61, 0x62, 0x63]))).toBeUndefined();
    expect(decodeSysName(Buffer.from([0x30, 0x7f, 0x04]))).toBeUndefined();
  });

  it('times out quietly when nothing answers', async () => {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    const { port } = socket.address();
    socket.close();
    expect(await probeSysName('127.0.0.1', port, 'community', 200)).toBeUndefined();
  });
});
