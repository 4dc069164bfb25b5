// Announces this node's services over serf: every plugin whose manifest declares `publish` is
// announced while the registry sees its service running and its model has an announcement;
// it is withdrawn when it stops or is removed. Each run compares the wanted state with what
// the agent really carries (its tags) and what the records file holds, and repairs any
// difference, so a periodic run also restores everything after a serf or panel restart.
import type { FastifyBaseLogger } from 'fastify';
import type { Registry } from '../registry/registry.js';
import { ServiceRecordSchema, RECORD_VERSION, type ServiceRecord } from './record.js';
import { encodeDocument, encodeTags, TAG_HASH, TAG_SUMMARY, type Health } from './codec.js';

export interface LocalService {
  type: string;
  port: number;
  description: string;
  txt?: Record<string, string>;
  health?: Health;
}

/** What this node runs and wants announced, right now. */
export type ServiceSource = () => Promise<LocalService[]>;

type Log = Pick<FastifyBaseLogger, 'warn' | 'info' | 'debug'>;

/** The registry as a service source: `publish` manifests whose service runs and that announce something. */
export function registryServices(registry: Registry, log?: Log): ServiceSource {
  return async () => {
    const out: LocalService[] = [];
    for (const [id, loaded] of registry.plugins) {
      const type = loaded.context.manifest.publish?.type;
      if (!type || !loaded.model.announcement) continue;
      if (!registry.status(id)?.running) continue;
      try {
        const announcement = await loaded.model.announcement();
        if (announcement) out.push({ type, port: announcement.port, description: announcement.description, txt: announcement.txt ?? {}, health: 'up' });
      } catch (error) {
        log?.warn({ err: error, plugin: id }, 'announcement failed');
      }
    }
    return out;
  };
}

/** How this node is reached, for the records it publishes. */
export interface PublishIdentity {
  host: string;
  addresses: string[];
  microcloud: string;
}

/** The part of the serf driver the publisher uses. */
export interface PublishTarget {
  info(): Promise<{ name: string; tags: Record<string, string> }>;
  setTags(tags: Record<string, string>): Promise<void>;
  deleteTags(keys: readonly string[]): Promise<void>;
}

export interface PublishOutcome {
  /** reasserted: same tags set again (periodically, or after a broadcast that did not go out) */
  action: 'set' | 'reasserted' | 'withdrawn' | 'unchanged';
  node: string;
  records: ServiceRecord[];
  tags?: Record<string, string>;
  /** Services that could not be announced (invalid, or no room left) */
  dropped: number;
}

export interface PublisherOptions {
  target: PublishTarget;
  services: ServiceSource;
  identity: () => PublishIdentity | Promise<PublishIdentity>;
  /** Writes what the query handler prints (the records file). */
  writeRecords(payload: string): Promise<void>;
  readRecords(): Promise<string | undefined>;
  log?: Log;
  /**
   * Set the (unchanged) tags again this often, so an update whose gossip broadcast got lost on a
   * congested cluster spreads anyway (default 10 minutes).
   */
  reassertMs?: number;
  now?: () => number;
}

export class Publisher {
  /** serf reported that the last update's broadcast had not gone out yet */
  private pendingBroadcast = false;
  private lastSetAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: PublisherOptions) {}

  /** The records this node would publish now (validated; invalid announcements are left out). */
  async wanted(node: string): Promise<{ records: ServiceRecord[]; dropped: number }> {
    const identity = await this.options.identity();
    const records: ServiceRecord[] = [];
    let dropped = 0;
    const seen = new Set<string>();
    for (const service of await this.options.services()) {
      const parsed = ServiceRecordSchema.safeParse({
        v: RECORD_VERSION,
        type: service.type,
        description: service.description,
        node,
        host: identity.host,
        addresses: identity.addresses,
        port: service.port,
        microcloud: identity.microcloud,
        txt: service.txt ?? {},
        health: service.health ?? 'up',
      });
      const key = `${service.type}:${service.port}`;
      if (!parsed.success || seen.has(key)) {
        dropped++;
        this.options.log?.warn({ type: service.type, port: service.port }, 'service not announced: invalid or duplicate record');
        continue;
      }
      seen.add(key);
      records.push(parsed.data);
    }
    return { records, dropped };
  }

  /** One reconciliation: records file and tags as they should be. */
  async publishOnce(): Promise<PublishOutcome> {
    const { target } = this.options;
    const info = await target.info();
    const identity = await this.options.identity();
    const { records, dropped } = await this.wanted(info.name);
    const doc = encodeDocument(records);
    const lost = dropped + (records.length - doc.records.length);
    if (records.length !== doc.records.length) this.options.log?.warn({ kept: doc.records.length, of: records.length }, 'records do not fit a query answer: the last ones are not announced');
    if ((await this.options.readRecords()) !== doc.payload) await this.options.writeRecords(doc.payload);

    if (doc.records.length === 0) {
      const present = [TAG_SUMMARY, TAG_HASH].filter((k) => k in info.tags);
      if (present.length) {
        await target.deleteTags(present);
        return { action: 'withdrawn', node: info.name, records: [], dropped: lost };
      }
      return { action: 'unchanged', node: info.name, records: [], dropped: lost };
    }
    const tags = encodeTags(doc.records, identity.microcloud, doc.hash);
    const now = (this.options.now ?? Date.now)();
    const same = info.tags[TAG_SUMMARY] === tags[TAG_SUMMARY] && info.tags[TAG_HASH] === tags[TAG_HASH];
    if (same && !this.pendingBroadcast && now - this.lastSetAt < (this.options.reassertMs ?? 10 * 60_000)) {
      return { action: 'unchanged', node: info.name, records: doc.records, tags, dropped: lost };
    }
    try {
      await target.setTags(tags);
      this.pendingBroadcast = false;
    } catch (error) {
      // serf sets the tags locally and then waits (5 s) for the gossip broadcast to go out; on a
      // busy cluster that wait can time out although the tags are set. Such a broadcast may
      // never reach everybody, so the next run sets them again.
      const after = await target.info().catch(() => undefined);
      if (after?.tags[TAG_SUMMARY] !== tags[TAG_SUMMARY] || after?.tags[TAG_HASH] !== tags[TAG_HASH]) throw error;
      this.pendingBroadcast = true;
      this.options.log?.info({ err: error }, 'tags set; their broadcast is still pending');
    }
    this.lastSetAt = now;
    return { action: same ? 'reasserted' : 'set', node: info.name, records: doc.records, tags, dropped: lost };
  }
}
