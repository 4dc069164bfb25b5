// mDNS / DNS-SD in the micro cloud (bonjour-service): announce this node's services on one chosen
// network interface and browse the services of the other nodes on that link, feeding the search
// Catalogue with source 'mdns'. It knows nothing about serf: any publisher can drive it.
//
// ── For publishers ──────────────────────────────────────────────────────────────────────────────
//
//   const mdns: MdnsAnnouncer | undefined = app.mdns;   // undefined while mDNS is off
//   await mdns?.sync(records);          // announce exactly these records (withdraw the others)
//   await mdns?.announce([record]);     // add or update these (key: type + port), keep the rest
//   await mdns?.withdraw('proxy3');     // goodbye for every announcement of that type (or type+port)
//   mdns?.announced();                  // what is wanted now
//
// Records are ServiceRecords (src/discovery/record.ts), validated again here. The announcer keeps
// the wanted set: if the interface is not up yet (a tinc device appearing later), it publishes as
// soon as it is. Re-announcing an unchanged record does nothing; a changed one (health, TXT, ...)
// is withdrawn and published again.
//
// ── On the wire ─────────────────────────────────────────────────────────────────────────────────
//
//   <description> [<node>:<port>]._<type>._tcp.local   SRV → <node>.local:<port>   A → interface IPv4
//   TXT: v=1 description=… node=… microcloud=… health=up|down|unknown, then the record's own txt keys
//        (a txt key that collides with those five is not sent).
//
// This is plain DNS-SD, so `avahi-browse -rpt _<type>._tcp` on the same link sees it, and services
// announced by avahi with the same TXT keys are found too. Records are announced three times
// (0, 1, 3 s) and then answered on query; there is no name probing: the instance name carries
// the node and port, so a clash would be another node impersonating this one, which probing
// would not prevent either.
//
// ── Browsing ────────────────────────────────────────────────────────────────────────────────────
//
// A wildcard browser (`_services._dns-sd._udp.local` meta-query) plus one browser per known type.
// Every refresh a fresh set of browsers replaces the old one after a short settle window, so a node
// that vanished without a goodbye drops out after one refresh; goodbye packets (TTL 0) remove a
// service at once. Everything received is untrusted: answers from outside the interface's subnets
// are ignored, TXT is decoded here (first occurrence of a key wins, RFC 6763 §6.4), every field is
// bounded, and the Catalogue validates the records again (invalid ones are dropped).
//
// Safety: nothing here starts unless settings say `mdns.enabled` AND name an interface. Sending is
// bound to that interface (IP_MULTICAST_IF); never run this in a network namespace whose interfaces
// nobody chose for it (tests run it under `ip netns exec`).
import os from 'node:os';
import type { EventEmitter } from 'node:events';
import { Bonjour, Service, type Browser } from 'bonjour-service';
import type { FastifyBaseLogger } from 'fastify';
import { HealthSchema, RECORD_VERSION, SERVICE_TYPE, ServiceRecordSchema, type ServiceRecord } from './record.js';
import type { Catalogue } from './catalogue.js';
import type { MdnsSettings } from '../config.js';

export interface MdnsAnnouncer {
  /** Adds or updates these records (keyed by type + port); other announcements stay. */
  announce(records: readonly ServiceRecord[]): Promise<void>;
  /** Withdraws (goodbye, TTL 0) every announcement of `type`, or only the one on `port`. */
  withdraw(type: string, port?: number): Promise<void>;
  /** Announces exactly `records`: withdraws whatever is not among them. */
  sync(records: readonly ServiceRecord[]): Promise<void>;
  /** The records wanted on the link now. */
  announced(): ServiceRecord[];
}

/** TXT keys the wire format uses itself. */
export const RESERVED_TXT = ['v', 'description', 'node', 'microcloud', 'health'] as const;
const RESERVED = new Set<string>(RESERVED_TXT);
const TXT_KEY = /^[a-z0-9_-]{1,16}$/;
const MAX_LABEL_BYTES = 63;
const MAX_TXT_STRING = 255;
/** At most this many browsed services are looked at per sync (a hostile link can announce many). */
export const MAX_BROWSED = 4096;

type Logger = Pick<FastifyBaseLogger, 'info' | 'warn' | 'debug'>;
const silent: Logger = { info: () => undefined, warn: () => undefined, debug: () => undefined };

const keyOf = (r: Pick<ServiceRecord, 'type' | 'port'>) => `${r.type}:${r.port}`;

/** Cuts a string to at most `max` UTF-8 bytes without splitting a character. */
export function truncateBytes(text: string, max: number): string {
  if (Buffer.byteLength(text) <= max) return text;
  let out = '';
  for (const ch of text) {
    if (Buffer.byteLength(out + ch) > max) break;
    out += ch;
  }
  return out;
}

/** A DNS host label for a node name: lower case letters, digits and '-', at most 63 characters. */
export function hostLabel(node: string): string {
  const label = node.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, MAX_LABEL_BYTES).replace(/-+$/, '');
  return label || 'cloudy';
}

/** The DNS-SD instance name: "<description> [<node>:<port>]", one label of at most 63 bytes. */
export function instanceName(record: Pick<ServiceRecord, 'description' | 'node' | 'port'>): string {
  // bonjour turns '.' into '-'; keep the label printable and free of separators.
  const clean = (s: string) => s.replace(/[\u0000-\u001f\u007f.\\]+/g, ' ').replace(/\s+/g, ' ').trim();
  const suffix = ` [${truncateBytes(clean(record.node), 40)}:${record.port}]`;
  const description = truncateBytes(clean(record.description) || 'Cloudy', MAX_LABEL_BYTES - Buffer.byteLength(suffix)).trim();
  return `${description}${suffix}`;
}

/** TXT key/values for a record (each "key=value" string fits in 255 bytes). */
export function txtFor(record: ServiceRecord): Record<string, string> {
  const txt: Record<string, string> = {
    v: String(RECORD_VERSION),
    description: truncateBytes(record.description, MAX_TXT_STRING - 'description='.length),
    node: record.node,
    microcloud: record.microcloud,
    health: record.health,
  };
  for (const [key, value] of Object.entries(record.txt)) {
    if (!RESERVED.has(key) && TXT_KEY.test(key)) txt[key] = value;
  }
  return txt;
}

/** What bonjour's publish() gets for a record. */
export function serviceConfigFor(record: ServiceRecord) {
  return {
    name: instanceName(record),
    type: record.type,
    protocol: 'tcp' as const,
    port: record.port,
    host: `${hostLabel(record.node)}.local`,
    txt: txtFor(record),
    disableIPv6: true,
  };
}

/**
 * Decodes DNS-SD TXT strings strictly: "key=value" (key case-insensitive, ASCII), the first
 * occurrence of a key wins, at most 32 strings looked at, values at most 255 bytes.
 */
export function decodeTxt(raw: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (!Array.isArray(raw)) return out;
  for (const item of raw.slice(0, 32)) {
    const buffer = Buffer.isBuffer(item) ? item : typeof item === 'string' ? Buffer.from(item) : undefined;
    if (!buffer || buffer.length === 0 || buffer.length > MAX_TXT_STRING) continue;
    const text = buffer.toString('utf8');
    const eq = text.indexOf('=');
    const key = (eq === -1 ? text : text.slice(0, eq)).toLowerCase();
    if (!/^[\x21-\x3c\x3e-\x7e]{1,64}$/.test(key) || out.has(key)) continue;
    out.set(key, eq === -1 ? '' : text.slice(eq + 1));
  }
  return out;
}

/** What we read of a browsed service (bonjour's Service plus its raw TXT strings). */
export interface BrowsedService {
  name?: unknown;
  type?: unknown;
  protocol?: unknown;
  host?: unknown;
  port?: unknown;
  addresses?: unknown;
  txt?: unknown;
  rawTxt?: unknown;
  referer?: { address?: unknown } | undefined;
}

/**
 * A browsed service as a candidate ServiceRecord, or undefined when it is not a Cloudy service
 * (no v=1 or no node in TXT, not TCP, a type we do not accept). The result is still untrusted:
 * Catalogue.setNode validates it.
 */
export function recordFromService(service: BrowsedService): Record<string, unknown> | undefined {
  if (service.protocol !== undefined && service.protocol !== 'tcp') return undefined;
  if (typeof service.type !== 'string' || !SERVICE_TYPE.test(service.type)) return undefined;
  let txt = decodeTxt(service.rawTxt);
  if (txt.size === 0 && service.txt && typeof service.txt === 'object') {
    // No raw strings (older bonjour): use its decoded object, own string properties only.
    txt = new Map(Object.entries(service.txt as Record<string, unknown>)
      .filter((e): e is [string, string] => typeof e[1] === 'string')
      .map(([k, v]) => [k.toLowerCase(), v] as [string, string]));
  }
  if (txt.get('v') !== String(RECORD_VERSION)) return undefined;
  const node = txt.get('node');
  if (!node) return undefined;
  const health = HealthSchema.safeParse(txt.get('health'));
  const extra: Record<string, string> = {};
  for (const [key, value] of txt) {
    if (RESERVED.has(key) || key === '__proto__' || !TXT_KEY.test(key) || value.length > 64) continue;
    if (Object.keys(extra).length >= 8) break;
    extra[key] = value;
  }
  const addresses = Array.isArray(service.addresses)
    ? service.addresses.filter((a): a is string => typeof a === 'string' && a.length <= 39).slice(0, 4)
    : [];
  const host = typeof service.host === 'string' ? service.host.replace(/\.$/, '') : '';
  return {
    v: RECORD_VERSION,
    type: service.type,
    description: txt.get('description') ?? (typeof service.name === 'string' ? service.name : ''),
    node,
    host,
    addresses,
    port: service.port,
    microcloud: txt.get('microcloud') ?? '',
    txt: extra,
    health: health.success ? health.data : 'unknown',
  };
}

interface Subnet { address: number; mask: number }
const ipv4ToInt = (ip: string): number | undefined => {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
};

/** The IPv4 addresses and subnets of an interface, from os.networkInterfaces(). */
export function interfaceIpv4(name: string, interfaces = os.networkInterfaces()): { addresses: string[]; subnets: Subnet[] } {
  const addresses: string[] = [];
  const subnets: Subnet[] = [];
  for (const info of interfaces[name] ?? []) {
    if (info.family !== 'IPv4') continue;
    const address = ipv4ToInt(info.address);
    const mask = ipv4ToInt(info.netmask);
    if (address === undefined || mask === undefined) continue;
    addresses.push(info.address);
    subnets.push({ address: (address & mask) >>> 0, mask });
  }
  return { addresses, subnets };
}

export function inSubnets(ip: unknown, subnets: readonly Subnet[]): boolean {
  if (typeof ip !== 'string') return false;
  const value = ipv4ToInt(ip);
  return value !== undefined && subnets.some((s) => ((value & s.mask) >>> 0) === s.address);
}

export interface MdnsOptions {
  /** Network interface name (required: mDNS never starts without one). */
  interface: string;
  catalogue: Catalogue;
  /** Service types to browse for explicitly (besides the DNS-SD meta-query). */
  knownTypes?: () => Iterable<string>;
  log?: Logger;
  /** A fresh browse this often (ms); default 30 s. */
  refreshMs?: number;
  /** How long a fresh browse collects answers before it replaces the previous one (ms); default 3 s. */
  settleMs?: number;
  /** For tests: os.networkInterfaces() replacement. */
  networkInterfaces?: () => ReturnType<typeof os.networkInterfaces>;
}

interface DnsRecord { name: string; type: string; ttl: number; data: unknown }
interface Published { record: ServiceRecord; records: DnsRecord[]; timers: NodeJS.Timeout[] }

type MdnsSocket = EventEmitter & { respond(records: unknown, cb?: (err?: Error | null) => void): void };
type BonjourInternals = { server: { mdns: MdnsSocket; register(records: unknown): void; unregister(records: unknown): void } };

const sameRecord = (a: DnsRecord, b: DnsRecord) => a.type === b.type && a.name.toLowerCase() === b.name.toLowerCase()
  && JSON.stringify(a.data) === JSON.stringify(b.data);
/** Announcements after the first one (RFC 6762 §8.3: at least two, one second apart). */
const REANNOUNCE_MS = [1000, 3000];
const noop = () => undefined;

/** Announces and browses on one interface; see the top of the file. */
export class MdnsDiscovery implements MdnsAnnouncer {
  private bonjour?: Bonjour;
  private iface?: { addresses: string[]; subnets: Subnet[] };
  private readonly wanted = new Map<string, ServiceRecord>();
  private readonly published = new Map<string, Published>();
  private browsers: Browser[] = [];
  private fresh: Browser[] = [];
  private timer?: NodeJS.Timeout;
  private settleTimer?: NodeJS.Timeout;
  private syncTimer?: NodeJS.Timeout;
  private closed = false;
  private queue: Promise<void> = Promise.resolve();
  private readonly log: Logger;
  private readonly refreshMs: number;
  private readonly settleMs: number;
  /** When the last complete browse finished (ms since epoch), 0 before the first. */
  lastRefresh = 0;
  /** Services ignored by the last sync (not Cloudy, outside the subnet, invalid). */
  ignored = 0;

  constructor(private readonly options: MdnsOptions) {
    this.log = options.log ?? silent;
    this.refreshMs = options.refreshMs ?? 30_000;
    this.settleMs = options.settleMs ?? 3_000;
  }

  /** Whether the interface was found and the socket is open. */
  get running(): boolean {
    return this.bonjour !== undefined;
  }

  /** Starts now if the interface has an IPv4 address, else at each refresh until it has one. */
  start(): void {
    if (!this.options.interface) throw new Error('mDNS needs an interface');
    this.tryOpen();
    this.timer = setInterval(() => {
      if (!this.bonjour) this.tryOpen();
      else this.refresh();
    }, this.refreshMs);
    this.timer.unref();
  }

  private get server(): BonjourInternals['server'] {
    return (this.bonjour as unknown as BonjourInternals).server;
  }

  private tryOpen(): void {
    if (this.closed || this.bonjour) return;
    const iface = interfaceIpv4(this.options.interface, this.options.networkInterfaces?.());
    if (iface.addresses.length === 0) {
      this.log.warn({ interface: this.options.interface }, 'mDNS: interface has no IPv4 address (yet); not announcing or browsing');
      return;
    }
    this.iface = iface;
    // Membership and outgoing multicast on the chosen interface only. Bind to 0.0.0.0: a socket
    // bound to a unicast address does not receive multicast on Linux.
    const bonjour = new Bonjour({ interface: iface.addresses[0], bind: '0.0.0.0' } as never, (error: Error) => {
      this.log.warn({ err: error }, 'mDNS: send failed');
    });
    this.bonjour = bonjour;
    this.server.mdns.on('error', (error: Error) => this.log.warn({ err: error }, 'mDNS socket error'));
    this.server.mdns.on('warning', (error: Error) => this.log.debug({ err: error }, 'mDNS warning'));
    this.log.info({ interface: this.options.interface, address: iface.addresses[0] }, 'mDNS: announcing and browsing');
    void this.reconcile();
    this.refresh();
  }

  // ── announcing ──

  async announce(records: readonly ServiceRecord[]): Promise<void> {
    for (const record of this.validOnly(records)) this.wanted.set(keyOf(record), record);
    await this.reconcile();
  }

  async withdraw(type: string, port?: number): Promise<void> {
    for (const [key, record] of this.wanted) if (record.type === type && (port === undefined || record.port === port)) this.wanted.delete(key);
    await this.reconcile();
  }

  async sync(records: readonly ServiceRecord[]): Promise<void> {
    this.wanted.clear();
    for (const record of this.validOnly(records)) this.wanted.set(keyOf(record), record);
    await this.reconcile();
  }

  announced(): ServiceRecord[] {
    return [...this.wanted.values()];
  }

  private validOnly(records: readonly ServiceRecord[]): ServiceRecord[] {
    const valid: ServiceRecord[] = [];
    for (const record of records) {
      const parsed = ServiceRecordSchema.safeParse(record);
      if (parsed.success) valid.push(parsed.data);
      else this.log.warn({ type: (record as { type?: unknown }).type }, 'mDNS: invalid record not announced');
    }
    return valid;
  }

  /** Brings what is on the wire in line with `wanted`, one change at a time. */
  private reconcile(): Promise<void> {
    this.queue = this.queue.then(() => this.reconcileNow()).catch((error) => this.log.warn({ err: error }, 'mDNS: announce failed'));
    return this.queue;
  }

  private async reconcileNow(): Promise<void> {
    if (!this.bonjour) return;
    for (const [key, current] of [...this.published]) {
      const want = this.wanted.get(key);
      if (want && JSON.stringify(want) === JSON.stringify(current.record)) continue;
      this.published.delete(key);
      await this.unpublish(current);
    }
    for (const [key, record] of this.wanted) if (!this.published.has(key)) this.published.set(key, this.publish(record));
  }

  /**
   * Registers the records with bonjour's responder (it answers queries) and announces them.
   * bonjour's own publish() is not used: it would put every interface's addresses in the A
   * records, and its teardown sends goodbyes for records other services still share.
   */
  private publish(record: ServiceRecord): Published {
    const allowed = new Set(this.iface!.addresses);
    const service = new Service(serviceConfigFor(record), noop, noop);
    const records = (service.records() as DnsRecord[]).filter((rr) => (rr.type !== 'A' && rr.type !== 'AAAA') || allowed.has(String(rr.data)));
    this.server.register(records);
    const send = () => { if (this.bonjour) this.server.mdns.respond(records, noop); };
    send();
    return { record, records, timers: REANNOUNCE_MS.map((ms) => setTimeout(send, ms).unref()) };
  }

  /** Goodbye (TTL 0) for the records only this service used; resolves once it is sent. */
  private unpublish(gone: Published): Promise<void> {
    for (const t of gone.timers) clearTimeout(t);
    const remaining = [...this.published.values()];
    const shared = (rr: DnsRecord) => remaining.some((other) => other.records.some((o) => sameRecord(o, rr)));
    // bonjour's unregister drops records by name (also the shared host A and type-list PTR):
    // put back those of the services that stay.
    this.server.unregister(gone.records);
    for (const other of remaining) this.server.register(other.records);
    const goodbye = gone.records.filter((rr) => !shared(rr)).map((rr) => ({ ...rr, ttl: 0 }));
    if (!this.bonjour || goodbye.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.server.mdns.respond(goodbye, () => resolve()));
  }

  // ── browsing ──

  /** Starts a fresh browse; it replaces the current one after the settle window. Never blocks. */
  refresh(): void {
    if (!this.bonjour || this.closed || this.fresh.length) return;
    const types = new Set<string>();
    for (const type of this.options.knownTypes?.() ?? []) if (SERVICE_TYPE.test(type)) types.add(type);
    const onChange = () => this.scheduleSync();
    const fresh = [this.bonjour.find(null), ...[...types].slice(0, 64).map((type) => this.bonjour!.find({ type, protocol: 'tcp' }))];
    for (const browser of fresh) {
      browser.on('up', onChange);
      browser.on('down', onChange);
      browser.on('txt-update', onChange);
      browser.on('srv-update', onChange);
    }
    this.fresh = fresh;
    this.settleTimer = setTimeout(() => {
      for (const old of this.browsers) old.stop();
      this.browsers = this.fresh;
      this.fresh = [];
      this.lastRefresh = Date.now();
      this.syncNow();
    }, this.settleMs);
    this.settleTimer.unref();
  }

  private scheduleSync(): void {
    if (this.syncTimer || this.closed) return;
    this.syncTimer = setTimeout(() => {
      this.syncTimer = undefined;
      this.syncNow();
    }, 100);
    this.syncTimer.unref();
  }

  /** Replaces the Catalogue's mDNS view with what the browsers hold now. */
  syncNow(): void {
    if (this.closed) return;
    const seen = new Map<string, BrowsedService>();
    for (const browser of [...this.browsers, ...this.fresh]) {
      for (const service of browser.services) {
        if (seen.size >= MAX_BROWSED) break;
        if (typeof service.fqdn === 'string' && !seen.has(service.fqdn.toLowerCase())) seen.set(service.fqdn.toLowerCase(), service as unknown as BrowsedService);
      }
    }
    const byNode = new Map<string, unknown[]>();
    let ignored = 0;
    for (const service of seen.values()) {
      if (this.iface && !inSubnets(service.referer?.address, this.iface.subnets)) { ignored++; continue; }
      const record = recordFromService(service);
      if (!record || typeof record.node !== 'string') { ignored++; continue; }
      const list = byNode.get(record.node) ?? byNode.set(record.node, []).get(record.node)!;
      list.push(record);
    }
    const { catalogue } = this.options;
    for (const [node, records] of byNode) ignored += catalogue.setNode('mdns', node, records).dropped;
    for (const node of catalogue.nodes('mdns')) if (!byNode.has(node)) catalogue.removeNode('mdns', node);
    this.ignored = ignored;
  }

  /** Goodbyes for everything announced, then closes the socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of [this.timer, this.settleTimer, this.syncTimer]) if (t) clearTimeout(t);
    for (const browser of [...this.browsers, ...this.fresh]) browser.stop();
    this.browsers = [];
    this.fresh = [];
    await this.queue;
    const bonjour = this.bonjour;
    if (!bonjour) return;
    const all = [...this.published.values()];
    this.published.clear();
    for (const p of all) for (const t of p.timers) clearTimeout(t);
    const goodbye = all.flatMap((p) => p.records.map((rr) => ({ ...rr, ttl: 0 })))
      .filter((rr, i, list) => list.findIndex((o) => sameRecord(o, rr)) === i);
    if (goodbye.length) {
      await new Promise<void>((resolve) => {
        const timeout = setTimeout(resolve, 1000);
        this.server.mdns.respond(goodbye, () => { clearTimeout(timeout); resolve(); });
      });
    }
    this.bonjour = undefined;
    await new Promise<void>((resolve) => bonjour.destroy(() => resolve()));
  }
}

/** The panel's mDNS, or undefined when the settings leave it off (the default). */
export function createMdns(settings: MdnsSettings, deps: Omit<MdnsOptions, 'interface'>): MdnsDiscovery | undefined {
  if (!settings.enabled || !settings.interface) return undefined;
  return new MdnsDiscovery({ ...deps, interface: settings.interface });
}
