// The service record: what a node says about one service it runs. Everything here arrives from
// other nodes, so it is untrusted: every field is validated and bounded, and pages escape it.
import { z } from 'zod';

export const RECORD_VERSION = 1;
export const SERVICE_TYPE = /^[a-z0-9][a-z0-9-]{0,30}$/;
const HOST = /^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9A-Fa-f:]{2,39}$/;

export const HealthSchema = z.enum(['up', 'down', 'unknown']);

export const ServiceRecordSchema = z.object({
  v: z.literal(RECORD_VERSION),
  type: z.string().regex(SERVICE_TYPE),
  description: z.string().max(120),
  /** Serf node name (stable) or mDNS host of the publishing node */
  node: z.string().min(1).max(64),
  host: z.string().regex(HOST).max(253),
  addresses: z.array(z.string().refine((a) => IPV4.test(a) || IPV6.test(a))).max(4),
  port: z.number().int().min(1).max(65535),
  microcloud: z.string().max(32).default(''),
  txt: z.record(z.string().regex(/^[a-z0-9_-]{1,16}$/), z.string().max(64)).default({})
    .refine((t) => Object.keys(t).length <= 8),
  health: HealthSchema.default('unknown'),
});
export type ServiceRecord = z.infer<typeof ServiceRecordSchema>;

/** A record as the search catalogue holds it: where it came from and how far its node is. */
export interface CatalogueEntry extends ServiceRecord {
  source: 'serf' | 'mdns' | 'legacy';
  /** alive / failed / left as serf reports the node; 'alive' for mDNS answers */
  nodeStatus: 'alive' | 'failed' | 'left';
  /** Round-trip estimate from this node (serf network coordinates), if known */
  rttMs?: number;
  lastSeen: number;
}
