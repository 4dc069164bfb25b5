// Background discovery over serf: a refresher that keeps the Catalogue up to date (members,
// status, tags, full records fetched by query only when a node's content hash changes, legacy
// Cloudy tags, network coordinates) and the publisher loop (this node's own services). Pages
// read the Catalogue and `snapshot()`; nothing here ever runs during a page view. When serf is
// not installed, configured or running (no endpoint), both loops simply do nothing.
import type { FastifyBaseLogger } from 'fastify';
import type { Runner } from '../system/runner.js';
import type { Catalogue } from './catalogue.js';
import type { CatalogueEntry } from './record.js';
import {
  catalogueNodeName, decodeDocument, decodeHash, decodeLegacyServices, decodeSummary,
  LEGACY_TAG, QUERY_NAME, recordsFromSummary, TAG_HASH, TAG_SUMMARY,
} from './codec.js';
import { SerfDriver, type MemberStatus, type SerfMember } from './serf.js';
import type { Connector } from './serf-rpc.js';
import { Publisher, registryServices, type PublishOutcome, type ServiceSource } from './publisher.js';
import type { Registry } from '../registry/registry.js';
import type { System } from '../system/index.js';

/** Where the publisher writes, and the serf query handler prints, this node's records. */
export const RECORDS_FILE = '/var/lib/cloudy-discovery/serf-records';
/** The static handler line in the agent's config: no input of any kind reaches it. */
export const QUERY_HANDLER = `query:${QUERY_NAME}=cat ${RECORDS_FILE}`;

/** What the serf settings say about the local agent (from the serf plugin). */
export interface SerfEndpoint {
  rpcAddress: string;
  /** Address others reach this node at (advertise, or bind when not 0.0.0.0); '' = as serf sees us */
  address: string;
  bindPort: number;
  microcloud: string;
  /** Host name put in records */
  host: string;
}

/** A plugin model that knows the local serf agent (the serf plugin). */
export interface DiscoveryEndpointProvider {
  discoveryEndpoint(): Promise<SerfEndpoint | undefined>;
}

export function hasDiscoveryEndpoint(model: unknown): model is DiscoveryEndpointProvider {
  return typeof (model as Partial<DiscoveryEndpointProvider> | undefined)?.discoveryEndpoint === 'function';
}

export interface MemberView {
  name: string;
  addr: string;
  port: number;
  status: MemberStatus;
  rttMs?: number;
  services: number;
  format: 'cloudy' | 'legacy' | 'none';
}

export interface DiscoverySnapshot {
  enabled: boolean;
  self?: string;
  members: MemberView[];
  lastRefresh?: number;
  lastError?: string;
  lastPublish?: PublishOutcome & { at: number };
}

export interface DiscoveryOptions {
  catalogue: Catalogue;
  runner: Runner;
  endpoint(): Promise<SerfEndpoint | undefined>;
  services: ServiceSource;
  writeRecords(payload: string): Promise<void>;
  readRecords(): Promise<string | undefined>;
  log?: Pick<FastifyBaseLogger, 'warn' | 'info' | 'debug'>;
  refreshMs?: number;
  publishMs?: number;
  coordinatesMs?: number;
  /** Query deadline; default: serf's own, scaled to the cluster size and profile */
  queryTimeoutMs?: number;
  /** Route the RPC connection (tests: into a network namespace) */
  connect?: Connector;
}

interface NodeState {
  /** hash of the records we hold for it */
  hash?: string;
  /** a full document was received at least once */
  fetched: boolean;
  failures: number;
  nextTry: number;
  legacyTag?: string;
}

const MAX_BACKOFF_MS = 5 * 60_000;
/** Above this many nodes to fetch, ask everybody instead of listing names in the query */
const FILTER_MAX_NODES = 20;

function catalogueStatus(status: MemberStatus): CatalogueEntry['nodeStatus'] {
  if (status === 'alive') return 'alive';
  if (status === 'left' || status === 'leaving') return 'left';
  return 'failed';
}

export class Discovery {
  private driver?: SerfDriver;
  private driverKey = '';
  private publisher?: Publisher;
  private endpointNow?: SerfEndpoint;
  private readonly nodes = new Map<string, NodeState>();
  private state: DiscoverySnapshot = { enabled: false, members: [] };
  private selfMember?: SerfMember;
  /** The agent's own name (from `serf info`, re-read by every publish run) */
  private selfName?: string;
  private lastCoordinates = 0;
  private timers: NodeJS.Timeout[] = [];
  private running = false;
  private publishTimer?: NodeJS.Timeout;
  private refreshing?: Promise<void>;
  private publishing?: Promise<PublishOutcome | undefined>;

  constructor(private readonly options: DiscoveryOptions) {}

  get catalogue(): Catalogue {
    return this.options.catalogue;
  }

  snapshot(): DiscoverySnapshot {
    return this.state;
  }

  private async current(): Promise<SerfDriver | undefined> {
    let endpoint: SerfEndpoint | undefined;
    try {
      endpoint = await this.options.endpoint();
    } catch (error) {
      this.options.log?.warn({ err: error }, 'discovery: cannot read the serf settings');
    }
    const key = endpoint ? JSON.stringify(endpoint) : '';
    if (key !== this.driverKey) {
      this.driver?.close();
      this.driver = endpoint ? new SerfDriver(this.options.runner, { rpcAddress: endpoint.rpcAddress, connect: this.options.connect }) : undefined;
      this.driverKey = key;
      this.endpointNow = endpoint;
      this.publisher = this.driver ? new Publisher({
        target: this.driver,
        services: this.options.services,
        identity: () => this.identity(),
        writeRecords: this.options.writeRecords,
        readRecords: this.options.readRecords,
        log: this.options.log,
      }) : undefined;
      this.lastCoordinates = 0;
      this.selfName = undefined;
    }
    this.state = { ...this.state, enabled: Boolean(this.driver) };
    return this.driver;
  }

  private identity() {
    const ep = this.endpointNow!;
    const address = ep.address || this.selfMember?.addr || '';
    return { host: ep.host, addresses: address ? [address] : [], microcloud: ep.microcloud };
  }

  /** One pass: members, status, tags, changed records, coordinates. */
  refreshOnce(now = Date.now()): Promise<void> {
    this.refreshing ??= this.doRefresh(now).finally(() => { this.refreshing = undefined; });
    return this.refreshing;
  }

  private async doRefresh(now: number): Promise<void> {
    const driver = await this.current();
    if (!driver) return;
    const { catalogue } = this.options;
    try {
      const members = await driver.members();
      this.selfName ??= (await driver.info()).name;
      const selfName = this.selfName;
      this.selfMember = members.find((m) => m.name === selfName);
      catalogue.setSelf(catalogueNodeName(selfName));
      const seen = new Set<string>();
      const toFetch: SerfMember[] = [];
      for (const m of members) {
        const node = catalogueNodeName(m.name);
        seen.add(node);
        catalogue.setNodeStatus(node, catalogueStatus(m.status));
        const state = this.nodes.get(m.name) ?? { fetched: false, failures: 0, nextTry: 0 };
        this.nodes.set(m.name, state);

        const legacy = m.tags[LEGACY_TAG];
        if (legacy !== state.legacyTag) {
          state.legacyTag = legacy;
          if (legacy) catalogue.setNode('legacy', node, decodeLegacyServices(legacy, node), now);
          else catalogue.removeNode('legacy', node);
        }

        const summary = decodeSummary(m.tags[TAG_SUMMARY]);
        const hash = decodeHash(m.tags[TAG_HASH]);
        if (!summary || !hash) {
          if (state.hash !== undefined || state.fetched) catalogue.removeNode('serf', node);
          state.hash = undefined;
          state.fetched = false;
          continue;
        }
        if (state.hash === hash) continue;
        if (!state.fetched) catalogue.setNode('serf', node, recordsFromSummary(summary, node, m.addr), now);
        if (m.status === 'alive' && now >= state.nextTry) toFetch.push(m);
      }
      // members serf no longer lists (reaped): drop what serf told us (mDNS keeps its own view)
      for (const source of ['serf', 'legacy'] as const) {
        for (const node of catalogue.nodes(source)) {
          if (seen.has(node)) continue;
          catalogue.removeNode(source, node);
          catalogue.setCoordinate(node, undefined);
        }
      }
      for (const name of [...this.nodes.keys()]) if (!seen.has(catalogueNodeName(name))) this.nodes.delete(name);

      if (toFetch.length) await this.fetch(driver, toFetch, now);
      if (now - this.lastCoordinates >= (this.options.coordinatesMs ?? 30_000)) {
        this.lastCoordinates = now;
        await this.refreshCoordinates(driver, members).catch((error) => this.options.log?.debug({ err: error }, 'discovery: coordinates unavailable'));
      }
      const counts = new Map<string, number>();
      for (const e of catalogue.all()) counts.set(e.node, (counts.get(e.node) ?? 0) + 1);
      this.state = {
        ...this.state,
        self: selfName,
        lastRefresh: now,
        lastError: undefined,
        members: members.map((m): MemberView => {
          const node = catalogueNodeName(m.name);
          return {
            name: m.name, addr: m.addr, port: m.port, status: m.status,
            rttMs: catalogue.estimateRtt(catalogueNodeName(selfName), node),
            services: counts.get(node) ?? 0,
            format: m.tags[TAG_SUMMARY] ? 'cloudy' : m.tags[LEGACY_TAG] ? 'legacy' : 'none',
          };
        }).sort((a, b) => (a.rttMs ?? Infinity) - (b.rttMs ?? Infinity) || a.name.localeCompare(b.name)),
      };
    } catch (error) {
      this.state = { ...this.state, lastError: (error as Error).message };
      this.options.log?.debug({ err: error }, 'discovery refresh failed');
    }
  }

  private async fetch(driver: SerfDriver, targets: SerfMember[], now: number): Promise<void> {
    const { catalogue } = this.options;
    const names = targets.map((t) => t.name);
    const answers = await driver.query(QUERY_NAME, {
      nodes: names.length > FILTER_MAX_NODES ? [] : names,
      timeoutMs: this.options.queryTimeoutMs,
      relayFactor: 1,
    });
    for (const member of targets) {
      const state = this.nodes.get(member.name)!;
      const doc = decodeDocument(answers.get(member.name));
      const tagHash = decodeHash(member.tags[TAG_HASH]);
      if (doc) {
        catalogue.setNode('serf', catalogueNodeName(member.name), doc.records, now);
        state.fetched = true;
        state.hash = doc.hash;
      }
      if (doc && doc.hash === tagHash) {
        state.failures = 0;
        state.nextTry = 0;
      } else {
        // no answer, garbage, or records and tags out of step: try again later, backing off
        state.failures++;
        state.nextTry = now + Math.min(MAX_BACKOFF_MS, (this.options.refreshMs ?? 10_000) * 2 ** (state.failures - 1));
      }
    }
  }

  private async refreshCoordinates(driver: SerfDriver, members: SerfMember[]): Promise<void> {
    const names = members.filter((m) => m.status === 'alive').map((m) => m.name);
    const coordinates = await driver.coordinates(names);
    for (const [name, coordinate] of coordinates) this.options.catalogue.setCoordinate(catalogueNodeName(name), coordinate);
  }

  /** One publisher reconciliation (undefined when serf is not available). */
  publishOnce(): Promise<PublishOutcome | undefined> {
    this.publishing ??= this.doPublish().finally(() => { this.publishing = undefined; });
    return this.publishing;
  }

  private async doPublish(): Promise<PublishOutcome | undefined> {
    await this.current();
    if (!this.publisher) return undefined;
    try {
      const outcome = await this.publisher.publishOnce();
      this.selfName = outcome.node;
      if (outcome.action !== 'unchanged') this.options.log?.info({ action: outcome.action, services: outcome.records.length }, 'discovery: announcements updated');
      this.state = { ...this.state, lastPublish: { ...outcome, at: Date.now() } };
      return outcome;
    } catch (error) {
      this.options.log?.warn({ err: error }, 'discovery: publishing failed');
      return undefined;
    }
  }

  /** Publish shortly (after a job changed a service), coalescing bursts. */
  publishSoon(delayMs = 1000): void {
    if (!this.running || this.publishTimer) return;
    this.publishTimer = setTimeout(() => {
      this.publishTimer = undefined;
      void this.publishOnce();
    }, delayMs);
    this.publishTimer.unref();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const loop = (fn: () => Promise<unknown>, everyMs: number, firstMs: number) => {
      const tick = () => {
        if (!this.running) return;
        void fn().finally(() => {
          if (!this.running) return;
          const timer = setTimeout(tick, everyMs);
          timer.unref();
          this.timers.push(timer);
          if (this.timers.length > 8) this.timers = this.timers.slice(-4);
        });
      };
      const timer = setTimeout(tick, firstMs);
      timer.unref();
      this.timers.push(timer);
    };
    loop(() => this.refreshOnce(), this.options.refreshMs ?? 10_000, 500);
    loop(() => this.publishOnce(), this.options.publishMs ?? 30_000, 1500);
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers = [];
    if (this.publishTimer) clearTimeout(this.publishTimer);
    this.publishTimer = undefined;
    await Promise.allSettled([this.refreshing, this.publishing]);
    this.driver?.close();
  }
}

/**
 * The panel's discovery: the endpoint comes from the plugin that knows the local agent (the serf
 * plugin) while the registry sees it running; services from the registry; records written through
 * the system layer (root prefix) as a world-readable file (the serf daemon user prints it).
 */
export function createSerfDiscovery(deps: {
  catalogue: Catalogue;
  registry: Registry;
  system: Pick<System, 'runner' | 'files'>;
  log?: DiscoveryOptions['log'];
  options?: Partial<Pick<DiscoveryOptions, 'refreshMs' | 'publishMs' | 'coordinatesMs' | 'queryTimeoutMs'>>;
}): Discovery {
  const { registry, system } = deps;
  return new Discovery({
    catalogue: deps.catalogue,
    runner: system.runner,
    endpoint: async () => {
      for (const [id, loaded] of registry.plugins) {
        if (!hasDiscoveryEndpoint(loaded.model)) continue;
        if (!registry.status(id)?.running) return undefined;
        return loaded.model.discoveryEndpoint();
      }
      return undefined;
    },
    services: registryServices(registry, deps.log),
    writeRecords: (payload) => system.files.writeAtomic(RECORDS_FILE, payload, { mode: 0o644 }, false),
    readRecords: () => system.files.read(RECORDS_FILE),
    log: deps.log,
    ...deps.options,
  });
}
