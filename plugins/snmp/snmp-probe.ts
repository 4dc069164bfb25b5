// A minimal SNMPv2c GET of sysName.0 over UDP: proves the agent answers with our community
// (the service manager alone saying "running" is not enough). BER by hand, ~no dependencies.
import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';

const SYS_NAME_OID = [1, 3, 6, 1, 2, 1, 1, 5, 0];

function tlv(tag: number, body: Buffer): Buffer {
  const len = body.length;
  const header = len < 128 ? Buffer.from([tag, len]) : len < 256 ? Buffer.from([tag, 0x81, len]) : Buffer.from([tag, 0x82, len >> 8, len & 0xff]);
  return Buffer.concat([header, body]);
}

function integer(n: number): Buffer {
  const bytes: number[] = [];
  let v = n;
  do { bytes.unshift(v & 0xff); v = Math.floor(v / 256); } while (v > 0);
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return tlv(0x02, Buffer.from(bytes));
}

function oid(parts: number[]): Buffer {
  const bytes = [parts[0]! * 40 + parts[1]!];
  for (const p of parts.slice(2)) {
    const chunk = [p & 0x7f];
    let v = p >> 7;
    while (v > 0) { chunk.unshift((v & 0x7f) | 0x80); v >>= 7; }
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

export function encodeGetRequest(community: string, requestId: number): Buffer {
  const varbind = tlv(0x30, Buffer.concat([oid(SYS_NAME_OID), Buffer.from([0x05, 0x00])]));
  const pdu = tlv(0xa0, Buffer.concat([integer(requestId), integer(0), integer(0), tlv(0x30, varbind)]));
  return tlv(0x30, Buffer.concat([integer(1), tlv(0x04, Buffer.from(community, 'utf8')), pdu]));
}

/** Walks the response and returns the value of sysName.0 (undefined for errors). */
export function decodeSysName(message: Buffer): string | undefined {
  const strings: string[] = [];
  const walk = (buf: Buffer) => {
    let i = 0;
    while (i + 2 <= buf.length) {
      const tag = buf[i]!;
      let len = buf[i + 1]!;
      let offset = i + 2;
      if (len & 0x80) {
        const n = len & 0x7f;
        if (n > 2 || offset + n > buf.length) return;
        len = n === 1 ? buf[offset]! : (buf[offset]! << 8) | buf[offset + 1]!;
        offset += n;
      }
      if (offset + len > buf.length) return;
      const body = buf.subarray(offset, offset + len);
      if (tag === 0x04) strings.push(body.toString('utf8'));
      else if (tag === 0x30 || (tag >= 0xa0 && tag <= 0xa8)) walk(body);
      i = offset + len;
    }
  };
  walk(message);
  // the first OCTET STRING is the community; a second one is the varbind's value
  return strings.length >= 2 ? strings[strings.length - 1] : undefined;
}

export async function probeSysName(host: string, port: number, community: string, timeoutMs = 1000): Promise<string | undefined> {
  const socket = dgram.createSocket('udp4');
  const requestId = randomInt(1, 2 ** 30);
  try {
    return await new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      socket.on('message', (msg) => { clearTimeout(timer); resolve(decodeSysName(msg)); });
      socket.on('error', () => { clearTimeout(timer); resolve(undefined); });
      socket.send(encodeGetRequest(community, requestId), port, host);
    });
  } finally {
    socket.close();
  }
}
