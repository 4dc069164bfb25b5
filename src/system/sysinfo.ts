// Host facts for the status page, gathered in the background and served from memory: a page view
// never waits on the OS. Everything comes from node:os, /proc, /sys and /etc/os-release with
// asynchronous reads (and statfs for the disks): no process is spawned and nothing blocks the
// event loop (systeminformation, used before, ran execSync for interfaces, mounts, the FQDN and
// the CPU speed, ~85 ms per refresh).
import os from 'node:os';
import { promises as fs } from 'node:fs';

export interface HostStatus {
  hostname: string;
  os: string;
  kernel: string;
  cpuModel: string;
  cpuCores: number;
  load: [number, number, number];
  memTotal: number;
  memUsed: number;
  disks: { mount: string; size: number; used: number }[];
  uptimeSeconds: number;
  interfaces: { name: string; mac: string; addresses: string[]; up: boolean }[];
  collectedAt: number;
}

/** Mount points shown on the status page. */
const SHOWN_MOUNT = /^\/(?:$|srv(?:\/|$)|home(?:\/|$)|var(?:\/|$))/;
const NO_MAC = '00:00:00:00:00:00';

type Addresses = ReturnType<typeof os.networkInterfaces>;

function addressesOf(infos: Addresses[string]): string[] {
  return (infos ?? []).map((a) => `${a.address}/${a.cidr?.split('/')[1] ?? ''}`);
}

/** Cheap facts from node:os, so the first page has something before the first refresh. */
function quickStatus(): HostStatus {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    os: `${os.type()} ${os.release()}`,
    kernel: os.release(),
    cpuModel: cleanCpuModel(cpus[0]?.model) || 'unknown',
    cpuCores: cpus.length,
    load: os.loadavg() as [number, number, number],
    memTotal: os.totalmem(),
    memUsed: os.totalmem() - os.freemem(),
    disks: [],
    uptimeSeconds: Math.round(os.uptime()),
    interfaces: Object.entries(os.networkInterfaces()).map(([name, infos]) => ({
      name,
      mac: infos?.find((a) => a.mac !== NO_MAC)?.mac ?? '',
      addresses: addressesOf(infos),
      up: true,
    })),
    collectedAt: Date.now(),
  };
}

/** "Intel(R) Xeon(R) CPU E5-2650 v2 @ 2.60GHz" -> "Intel Xeon E5-2650 v2". */
export function cleanCpuModel(model: string | undefined): string {
  return (model ?? '').replace(/\((?:R|TM|tm|r)\)/g, '').replace(/\bCPU\b/g, '').split('@')[0]!.replace(/\s+/g, ' ').trim();
}

/** "key: value" or "KEY=value" lines into a map (first occurrence wins). */
function fields(text: string, separator: RegExp): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = separator.exec(line);
    if (match && !map.has(match[1]!)) map.set(match[1]!, match[2]!.trim().replace(/^"(.*)"$/, '$1'));
  }
  return map;
}

const readText = (file: string) => fs.readFile(file, 'utf8').catch(() => undefined);

/** /etc/os-release: "Debian GNU/Linux 12 (bookworm)". */
export function parseOsRelease(text: string | undefined): string | undefined {
  if (!text) return undefined;
  const f = fields(text, /^([A-Z_]+)=(.*)$/);
  return f.get('PRETTY_NAME') || [f.get('NAME'), f.get('VERSION_ID')].filter(Boolean).join(' ') || undefined;
}

/** /proc/meminfo: total and used (total - available, what the kernel could not hand out now), bytes. */
export function parseMeminfo(text: string | undefined): { total: number; used: number } | undefined {
  if (!text) return undefined;
  const f = fields(text, /^(\w+):\s+(\d+)/);
  const total = Number(f.get('MemTotal')) * 1024;
  const available = Number(f.get('MemAvailable') ?? Number(f.get('MemFree')) + Number(f.get('Buffers') ?? 0) + Number(f.get('Cached') ?? 0)) * 1024;
  return Number.isFinite(total) && total > 0 && Number.isFinite(available) ? { total, used: Math.max(0, total - available) } : undefined;
}

/** /proc/mounts: mount points of block devices shown on the page (each once; "\040" is a space). */
export function shownMounts(text: string | undefined): string[] {
  const mounts = new Set<string>();
  for (const line of (text ?? '').split('\n')) {
    const [device = '', mount = ''] = line.split(' ');
    const point = mount.replace(/\\040/g, ' ');
    if (device.startsWith('/') && SHOWN_MOUNT.test(point)) mounts.add(point);
  }
  return [...mounts];
}

async function disks(): Promise<HostStatus['disks']> {
  const mounts = shownMounts(await readText('/proc/mounts'));
  const sizes = await Promise.all(mounts.map(async (mount) => {
    try {
      const s = await fs.statfs(mount);
      return { mount, size: s.blocks * s.bsize, used: (s.blocks - s.bfree) * s.bsize };
    } catch {
      return undefined;
    }
  }));
  return sizes.filter((d): d is NonNullable<typeof d> => d !== undefined && d.size > 0);
}

/** Every interface in /sys/class/net (also those without an address), with its state and MAC. */
async function interfaces(): Promise<HostStatus['interfaces']> {
  const addresses = os.networkInterfaces();
  const names = await fs.readdir('/sys/class/net').catch(() => Object.keys(addresses));
  const list = await Promise.all(names.map(async (name) => {
    const dir = `/sys/class/net/${name}`;
    const [operstate, flags, address] = await Promise.all([readText(`${dir}/operstate`), readText(`${dir}/flags`), readText(`${dir}/address`)]);
    const state = operstate?.trim();
    // tun/tap devices (tinc) and lo report "unknown" while up: then the IFF_UP flag decides
    const up = state === 'up' || ((state === 'unknown' || state === undefined) && (Number.parseInt(flags?.trim() ?? '1', 16) & 1) === 1);
    const mac = address?.trim() || addresses[name]?.find((a) => a.mac !== NO_MAC)?.mac || '';
    return { name, mac: mac === NO_MAC ? '' : mac, addresses: addressesOf(addresses[name]), up };
  }));
  return list.sort((a, b) => (a.name === 'lo' ? -1 : b.name === 'lo' ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export class HostStatusCache {
  private current: HostStatus = quickStatus();
  private timer?: NodeJS.Timeout;
  private refreshing?: Promise<void>;
  private osName?: string;

  get(): HostStatus {
    return this.current;
  }

  async refresh(): Promise<void> {
    this.refreshing ??= this.collect().finally(() => { this.refreshing = undefined; });
    return this.refreshing;
  }

  private async collect(): Promise<void> {
    const [osRelease, meminfo, diskList, ifaces] = await Promise.all([
      this.osName === undefined ? readText('/etc/os-release') : undefined,
      readText('/proc/meminfo'),
      disks().catch(() => []),
      interfaces().catch(() => undefined),
    ]);
    this.osName ??= parseOsRelease(osRelease) ?? '';
    const mem = parseMeminfo(meminfo);
    const base = this.current;
    this.current = {
      ...base,
      hostname: os.hostname(),
      os: this.osName || base.os,
      kernel: os.release(),
      load: os.loadavg() as [number, number, number],
      uptimeSeconds: Math.round(os.uptime()),
      memTotal: mem?.total ?? os.totalmem(),
      memUsed: mem?.used ?? os.totalmem() - os.freemem(),
      disks: diskList,
      interfaces: ifaces ?? quickStatus().interfaces,
      collectedAt: Date.now(),
    };
  }

  start(intervalMs = 30_000): void {
    void this.refresh();
    // load and uptime move fast and cost nothing: refresh them in between
    this.timer = setInterval(() => {
      this.current = { ...this.current, load: os.loadavg() as [number, number, number], uptimeSeconds: Math.round(os.uptime()) };
      if (Date.now() - this.current.collectedAt > intervalMs) void this.refresh();
    }, 5000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
