// Host facts for the status page, gathered in the background (systeminformation spawns
// processes for some of them) and served from memory: a page view never waits on the OS.
import os from 'node:os';
import si from 'systeminformation';

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

/** Cheap facts from node:os, so the first page has something before the first refresh. */
function quickStatus(): HostStatus {
  const load = os.loadavg() as [number, number, number];
  return {
    hostname: os.hostname(),
    os: `${os.type()} ${os.release()}`,
    kernel: os.release(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cpuCores: os.cpus().length,
    load,
    memTotal: os.totalmem(),
    memUsed: os.totalmem() - os.freemem(),
    disks: [],
    uptimeSeconds: Math.round(os.uptime()),
    interfaces: Object.entries(os.networkInterfaces()).map(([name, addrs]) => ({
      name,
      mac: addrs?.[0]?.mac ?? '',
      addresses: (addrs ?? []).map((a) => `${a.address}/${a.cidr?.split('/')[1] ?? ''}`),
      up: true,
    })),
    collectedAt: Date.now(),
  };
}

export class HostStatusCache {
  private current: HostStatus = quickStatus();
  private timer?: NodeJS.Timeout;
  private refreshing?: Promise<void>;

  get(): HostStatus {
    return this.current;
  }

  async refresh(): Promise<void> {
    this.refreshing ??= this.collect().finally(() => { this.refreshing = undefined; });
    return this.refreshing;
  }

  private async collect(): Promise<void> {
    const base = quickStatus();
    const [osInfo, cpu, mem, fsSize, ifaces] = await Promise.all([
      si.osInfo().catch(() => undefined),
      si.cpu().catch(() => undefined),
      si.mem().catch(() => undefined),
      si.fsSize().catch(() => []),
      si.networkInterfaces().catch(() => []),
    ]);
    const ifaceList = Array.isArray(ifaces) ? ifaces : [ifaces];
    this.current = {
      ...base,
      os: osInfo ? `${osInfo.distro} ${osInfo.release}`.trim() : base.os,
      kernel: osInfo?.kernel ?? base.kernel,
      cpuModel: cpu ? `${cpu.manufacturer} ${cpu.brand}`.trim() : base.cpuModel,
      memTotal: mem?.total ?? base.memTotal,
      memUsed: mem ? mem.active : base.memUsed,
      disks: fsSize
        .filter((d) => d.mount === '/' || d.mount.startsWith('/srv') || d.mount.startsWith('/home') || d.mount.startsWith('/var'))
        .map((d) => ({ mount: d.mount, size: d.size, used: d.used })),
      interfaces: ifaceList.length
        ? ifaceList.map((i) => ({
          name: i.iface,
          mac: i.mac,
          addresses: [i.ip4 && `${i.ip4}/${i.ip4subnet}`, i.ip6 && `${i.ip6}`].filter(Boolean) as string[],
          up: i.operstate === 'up' || i.iface === 'lo',
        }))
        : base.interfaces,
      collectedAt: Date.now(),
    };
  }

  start(intervalMs = 30_000): void {
    void this.refresh();
    // load and memory move fast and cost nothing: refresh them in between
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
