// The search catalogue: every service this node knows of, from serf (whole community cloud),
// mDNS (micro cloud) and legacy Cloudy tags, kept in memory by background refreshers so the
// search page renders without waiting on the network. Sources replace their own view of a node
// atomically; entries from different sources for the same service are merged on display.
import { ServiceRecordSchema, type CatalogueEntry, type ServiceRecord } from './record.js';
import { toCoordinate, vivaldiDistanceMs, type Coordinate } from './coordinates.js';

export type Source = CatalogueEntry['source'];

export interface CatalogueFilter {
  type?: string;
  /** 'up' = node alive and health not down; 'down' = the rest */
  health?: 'up' | 'down';
  microcloud?: string;
  /** Only services of this node */
  node?: string;
  /**
   * Rank by estimated RTT from this node instead of from ours (serf network coordinates);
   * entries' rttMs are then relative to it. Ignored when its coordinate is unknown.
   */
  near?: string;
}

export interface TypeGroup {
  type: string;
  count: number;
  entries: CatalogueEntry[];
}

/** Per-node bounds: a node announcing 10,000 services keeps only the first few. */
export const MAX_SERVICES_PER_NODE = 64;
export const MAX_NODES = 5000;

const keyOf = (e: Pick<ServiceRecord, 'node' | 'type' | 'port'>) => `${e.node}\u0000${e.type}\u0000${e.port}`;

export class Catalogue {
  /** source → node → entries */
  private readonly bySource = new Map<Source, Map<string, CatalogueEntry[]>>();
  private readonly rtt = new Map<string, number>();
  private readonly nodeStatus = new Map<string, CatalogueEntry['nodeStatus']>();
  /** Serf network coordinates per node (Vivaldi), to estimate RTTs between any two nodes */
  private readonly coords = new Map<string, Coordinate>();
  /** This node's serf name: RTTs are estimated from it when no explicit RTT was set */
  private self?: string;
  private version = 0;
  private cache?: { version: number; merged: CatalogueEntry[] };

  /**
   * Replaces what `source` knows about `node`. Records are validated here (untrusted input):
   * invalid ones are dropped and counted.
   */
  setNode(source: Source, node: string, records: readonly unknown[], now = Date.now()): { accepted: number; dropped: number } {
    const nodes = this.bySource.get(source) ?? this.bySource.set(source, new Map()).get(source)!;
    if (!nodes.has(node) && this.nodeCount() >= MAX_NODES) return { accepted: 0, dropped: records.length };
    const entries: CatalogueEntry[] = [];
    let dropped = 0;
    for (const raw of records.slice(0, MAX_SERVICES_PER_NODE)) {
      const parsed = ServiceRecordSchema.safeParse(raw);
      if (!parsed.success || parsed.data.node !== node) {
        dropped++;
        continue;
      }
      entries.push({ ...parsed.data, source, nodeStatus: this.nodeStatus.get(node) ?? 'alive', lastSeen: now });
    }
    dropped += Math.max(0, records.length - MAX_SERVICES_PER_NODE);
    if (entries.length) nodes.set(node, entries);
    else nodes.delete(node);
    this.version++;
    return { accepted: entries.length, dropped };
  }

  removeNode(source: Source, node: string): void {
    if (this.bySource.get(source)?.delete(node)) this.version++;
  }

  /** Nodes `source` knows, so a refresher can remove the ones that disappeared. */
  nodes(source: Source): string[] {
    return [...(this.bySource.get(source)?.keys() ?? [])];
  }

  setNodeStatus(node: string, status: CatalogueEntry['nodeStatus']): void {
    if (this.nodeStatus.get(node) === status) return;
    this.nodeStatus.set(node, status);
    this.version++;
  }

  setRtt(node: string, ms: number | undefined): void {
    if (ms === undefined || !Number.isFinite(ms) || ms < 0) this.rtt.delete(node);
    else this.rtt.set(node, Math.round(ms * 1000) / 1000);
    this.version++;
  }

  /** This node's name in serf (for RTT estimates from coordinates). */
  setSelf(node: string | undefined): void {
    if (this.self === node) return;
    this.self = node;
    this.version++;
  }

  /** Stores (validated) serf coordinates of a node; undefined forgets them. */
  setCoordinate(node: string, coordinate: Coordinate | undefined): void {
    if (coordinate === undefined) {
      if (this.coords.delete(node)) this.version++;
      return;
    }
    const valid = toCoordinate({ Vec: coordinate.vec, Error: coordinate.error, Adjustment: coordinate.adjustment, Height: coordinate.height });
    if (!valid || (!this.coords.has(node) && this.coords.size >= MAX_NODES)) return;
    this.coords.set(node, valid);
    this.version++;
  }

  coordinate(node: string): Coordinate | undefined {
    return this.coords.get(node);
  }

  /** Estimated RTT in ms between two nodes from their coordinates (serf's Vivaldi distance). */
  estimateRtt(a: string, b: string): number | undefined {
    if (a === b && this.coords.has(a)) return 0;
    const ca = this.coords.get(a);
    const cb = this.coords.get(b);
    if (!ca || !cb) return undefined;
    const ms = vivaldiDistanceMs(ca, cb);
    return ms === undefined ? undefined : Math.round(ms * 1000) / 1000;
  }

  /** Forgets everything about a node (it left serf's member list for good). */
  forgetNode(node: string): void {
    for (const source of this.bySource.keys()) this.removeNode(source, node);
    this.nodeStatus.delete(node);
    this.rtt.delete(node);
    this.coords.delete(node);
    this.version++;
  }

  private rttOf(node: string): number | undefined {
    return this.rtt.get(node) ?? (this.self ? this.estimateRtt(this.self, node) : undefined);
  }

  private nodeCount(): number {
    const all = new Set<string>();
    for (const nodes of this.bySource.values()) for (const node of nodes.keys()) all.add(node);
    return all.size;
  }

  /** Every service once (serf wins over legacy, legacy over mDNS for the same node/type/port), nearest first. */
  all(): CatalogueEntry[] {
    if (this.cache?.version === this.version) return this.cache.merged;
    const merged = new Map<string, CatalogueEntry>();
    for (const source of ['mdns', 'legacy', 'serf'] as const) {
      for (const entries of this.bySource.get(source)?.values() ?? []) {
        for (const entry of entries) {
          merged.set(keyOf(entry), {
            ...entry,
            nodeStatus: this.nodeStatus.get(entry.node) ?? entry.nodeStatus,
            rttMs: this.rttOf(entry.node),
          });
        }
      }
    }
    const list = [...merged.values()].sort((a, b) =>
      (a.rttMs ?? Number.POSITIVE_INFINITY) - (b.rttMs ?? Number.POSITIVE_INFINITY)
      || a.type.localeCompare(b.type) || a.node.localeCompare(b.node) || a.port - b.port);
    this.cache = { version: this.version, merged: list };
    return list;
  }

  isUp(entry: CatalogueEntry): boolean {
    return entry.nodeStatus === 'alive' && entry.health !== 'down';
  }

  query(filter: CatalogueFilter = {}): CatalogueEntry[] {
    let list = this.all();
    if (filter.near && this.coords.has(filter.near)) {
      const near = filter.near;
      list = list.map((e) => ({ ...e, rttMs: this.estimateRtt(near, e.node) })).sort((a, b) =>
        (a.rttMs ?? Number.POSITIVE_INFINITY) - (b.rttMs ?? Number.POSITIVE_INFINITY)
        || a.type.localeCompare(b.type) || a.node.localeCompare(b.node) || a.port - b.port);
    }
    return list.filter((e) =>
      (!filter.type || e.type === filter.type)
      && (!filter.microcloud || e.microcloud === filter.microcloud)
      && (!filter.node || e.node === filter.node)
      && (!filter.health || (filter.health === 'up') === this.isUp(e)));
  }

  /** Grouped by type (alphabetical), each group nearest first. */
  groups(filter: CatalogueFilter = {}): TypeGroup[] {
    const groups = new Map<string, CatalogueEntry[]>();
    for (const entry of this.query(filter)) (groups.get(entry.type) ?? groups.set(entry.type, []).get(entry.type)!).push(entry);
    return [...groups].sort(([a], [b]) => a.localeCompare(b)).map(([type, entries]) => ({ type, count: entries.length, entries }));
  }

  /** Facets for the filter form: types and micro clouds with counts. */
  facets(): { types: [string, number][]; microclouds: [string, number][]; nodes: string[] } {
    const types = new Map<string, number>();
    const clouds = new Map<string, number>();
    const nodes = new Set<string>();
    for (const e of this.all()) {
      types.set(e.type, (types.get(e.type) ?? 0) + 1);
      if (e.microcloud) clouds.set(e.microcloud, (clouds.get(e.microcloud) ?? 0) + 1);
      nodes.add(e.node);
    }
    const sorted = (m: Map<string, number>) => [...m].sort(([a], [b]) => a.localeCompare(b));
    return { types: sorted(types), microclouds: sorted(clouds), nodes: [...nodes].sort() };
  }
}
