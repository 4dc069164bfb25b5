import { describe, expect, it } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import { describeAnswer, formatMb, isSquid, parseStoreDir, probeSquid } from '../squid-probe.js';

// squid 5.7's answer to GET /squid-internal-mgr/storedir (trimmed)
const STOREDIR = `Store Directory Statistics:
Store Entries          : 53
Maximum Swap Size      : 102400 KB
Current Store Swap Size: 1536.00 KB
Current Capacity       : 1.50% used, 98.50% free

Store Directory #0 (ufs): /var/spool/squid
Maximum Size: 102400 KB
Current Size: 1536.00 KB
`;

async function serve(handler: http.RequestListener): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  return { port, close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
}

describe('squid probe', () => {
  it('reads the storedir report', () => {
    expect(parseStoreDir(STOREDIR)).toEqual({ maxKb: 102400, currentKb: 1536 });
    expect(parseStoreDir('Access Denied')).toBeUndefined();
    expect(formatMb(102400)).toBe('100 MB');
    expect(formatMb(1536)).toBe('1.5 MB');
  });

  it('recognises squid by its Server, Via or X-Squid-Error header, and nothing else', () => {
    expect(isSquid({ status: 200, server: 'squid/5.7', body: '' })).toBe(true);
    expect(isSquid({ status: 200, server: '', via: '1.1 node (squid/5.7)', body: '' })).toBe(true);
    expect(isSquid({ status: 403, server: '', squidError: 'ERR_ACCESS_DENIED 0', body: '' })).toBe(true);
    expect(isSquid({ status: 200, server: 'SimpleHTTP/0.6 Python/3.11.2', via: '', body: '' })).toBe(false);
    expect(isSquid(undefined)).toBe(false);
    expect(describeAnswer({ status: 200, server: '', via: '1.1 node (squid/5.7)', body: '' })).toBe('1.1 node (squid/5.7)');
  });

  it('asks 127.0.0.1 over HTTP and returns status, headers and body', async () => {
    let seen = '';
    const fake = await serve((req, res) => {
      seen = `${req.method} ${req.url} ${req.headers.host}`;
      res.writeHead(200, { server: 'squid/5.7', via: '1.1 fake (squid/5.7)' }).end(STOREDIR);
    });
    try {
      const answer = await probeSquid(fake.port, '/squid-internal-mgr/storedir', 1000);
      expect(seen).toBe(`GET /squid-internal-mgr/storedir 127.0.0.1:${fake.port}`);
      expect(answer).toMatchObject({ status: 200, server: 'squid/5.7', via: '1.1 fake (squid/5.7)', body: STOREDIR });
    } finally {
      await fake.close();
    }
  });

  it('gives up quietly on a closed port and on a server that never answers', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const started = Date.now();
      expect(await probeSquid(port, '/', 300)).toBeUndefined();
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      silent.close();
    }
    expect(await probeSquid(port, '/', 300)).toBeUndefined();
  });
});
