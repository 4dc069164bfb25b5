// Announces this node's running services in the micro cloud over mDNS: the same service list
// the serf publisher uses (registry: `publish` manifests whose service runs), on a timer and
// after every job, independent of serf (a micro cloud may have no serf at all).
import os from 'node:os';
import type { FastifyBaseLogger } from 'fastify';
import { RECORD_VERSION, ServiceRecordSchema, type ServiceRecord } from './record.js';
import type { ServiceSource } from './publisher.js';
import { hostLabel, interfaceIpv4, type MdnsAnnouncer } from './mdns.js';

export interface MdnsPublishingOptions {
  mdns: MdnsAnnouncer;
  services: ServiceSource;
  interfaceName: string;
  /** Micro-cloud name to put in records (e.g. from the serf settings); '' if none. */
  microcloud?: () => Promise<string>;
  log?: Pick<FastifyBaseLogger, 'warn'>;
  intervalMs?: number;
  nodeName?: string;
}

export async function mdnsRecords(options: MdnsPublishingOptions): Promise<ServiceRecord[]> {
  const node = (options.nodeName ?? os.hostname()).slice(0, 64);
  const addresses = interfaceIpv4(options.interfaceName).addresses.slice(0, 4);
  const microcloud = (await options.microcloud?.().catch(() => '')) ?? '';
  const records: ServiceRecord[] = [];
  for (const service of await options.services()) {
    const parsed = ServiceRecordSchema.safeParse({
      v: RECORD_VERSION, type: service.type, description: service.description, node,
      host: `${hostLabel(node)}.local`, addresses, port: service.port, microcloud,
      txt: service.txt ?? {}, health: service.health ?? 'up',
    });
    if (parsed.success) records.push(parsed.data);
    else options.log?.warn({ type: service.type }, 'mdns: service not announced (invalid record)');
  }
  return records;
}

export class MdnsPublishing {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(private readonly options: MdnsPublishingOptions) {}

  /** One reconciliation: announce exactly what runs now. */
  publishNow(): Promise<void> {
    this.running ??= mdnsRecords(this.options)
      .then((records) => this.options.mdns.sync(records))
      .catch((error) => this.options.log?.warn({ err: error }, 'mdns: publishing failed'))
      .finally(() => { this.running = undefined; });
    return this.running;
  }

  start(): void {
    void this.publishNow();
    this.timer = setInterval(() => void this.publishNow(), this.options.intervalMs ?? 30_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
