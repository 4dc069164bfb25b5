// Asks the running squid, over loopback HTTP, who it is and how full its cache is: an origin-form
// GET of /squid-internal-mgr/<action> is answered by squid itself (Debian's squid.conf allows the
// cache manager from localhost before the conf.d include). No process is spawned.
import http from 'node:http';

export interface ProbeAnswer {
  status: number;
  /** The Server header ("squid/5.7" when squid answered) */
  server: string;
  /** The Via header ("1.1 node (squid/5.7)") */
  via?: string;
  /** X-Squid-Error, on squid's own error pages */
  squidError?: string;
  body: string;
}

/** GET http://127.0.0.1:<port><path>; undefined when nothing answers in time. Only ever loopback. */
export type SquidProbe = (port: number, path: string, timeoutMs: number) => Promise<ProbeAnswer | undefined>;

export const probeSquid: SquidProbe = (port, path, timeoutMs) => new Promise((resolve) => {
  let done = false;
  const finish = (answer: ProbeAnswer | undefined) => { if (!done) { done = true; resolve(answer); } };
  const request = http.get({ host: '127.0.0.1', port, path, timeout: timeoutMs, agent: false, headers: { connection: 'close' } }, (response) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= 256 * 1024) chunks.push(chunk);
    });
    response.on('end', () => {
      finish({
        status: response.statusCode ?? 0,
        server: String(response.headers.server ?? ''),
        via: String(response.headers.via ?? ''),
        squidError: String(response.headers['x-squid-error'] ?? ''),
        body: Buffer.concat(chunks).toString('utf8'),
      });
      // never leave the socket half-open (a non-squid server that closes first would keep it)
      request.destroy();
    });
    response.on('error', () => finish(undefined));
    response.on('close', () => finish(undefined));
  });
  request.on('timeout', () => { request.destroy(); finish(undefined); });
  request.on('error', () => finish(undefined));
  setTimeout(() => { request.destroy(); finish(undefined); }, timeoutMs + 100).unref();
});

/** Squid's own answers say so in Server (unless hidden), Via or X-Squid-Error. */
export function isSquid(answer: ProbeAnswer | undefined): boolean {
  if (!answer) return false;
  return /^squid\//i.test(answer.server) || /\(squid\/[\d.]+\)/i.test(answer.via ?? '') || Boolean(answer.squidError);
}

/** What answered, for logs: "squid/5.7", or the Via header when squid hides its Server header. */
export function describeAnswer(answer: ProbeAnswer): string {
  return answer.server || answer.via || `HTTP ${answer.status}`;
}

export interface StoreInfo {
  /** Disk cache size limit and use, in KB (0 / 0 without a cache_dir) */
  maxKb: number;
  currentKb: number;
}

/** Reads the totals of squid's "storedir" report. */
export function parseStoreDir(body: string): StoreInfo | undefined {
  const max = /^Maximum Swap Size\s*:\s*([\d.]+) KB/m.exec(body);
  const current = /^Current Store Swap Size\s*:\s*([\d.]+) KB/m.exec(body);
  if (!max || !current) return undefined;
  return { maxKb: Number(max[1]), currentKb: Number(current[1]) };
}

export function formatMb(kb: number): string {
  const mb = kb / 1024;
  return mb >= 100 || Number.isInteger(mb) ? `${Math.round(mb)} MB` : `${mb.toFixed(1)} MB`;
}
