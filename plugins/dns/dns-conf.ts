// Pure: the DNS settings (zod, one form field per setting, list fields one item per line), and
// the bind9 files rendered from them / parsed back. No I/O.
import { isIPv6 } from 'node:net';
import { z } from 'zod';
import type { TFunction } from 'i18next';
import { managedHeader } from '../../src/system/files.js';
import { IPV4, isIpv4, port } from '../../src/lib/fields.js';
import { translateIssues, type FieldErrors, type FormResult } from '../../src/lib/form.js';
import { DEBIAN_OPTIONS_COPY, ZONES_CONF, zoneFilePath } from './manifest.js';

// ---------------------------------------------------------------- settings

export interface Server {
  address: string;
  /** Only when not 53 */
  port?: number;
}
export interface ForwardZone {
  name: string;
  servers: Server[];
}
export const RECORD_TYPES = ['A', 'AAAA', 'CNAME'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];
export interface ZoneRecord {
  /** Relative to the zone; "@" is the zone itself */
  name: string;
  ttl?: number;
  type: RecordType;
  value: string;
}
export interface DnsSettings {
  /** IPv4 addresses named listens on; ["0.0.0.0"] = every interface */
  listenAddresses: string[];
  port: number;
  /** Networks (CIDR) that may use this server as a resolver; empty = no recursion at all */
  allowRecursion: string[];
  forwarders: Server[];
  /** Only ask the forwarders, never the root servers (when there are forwarders) */
  forwardOnly: boolean;
  forwardZones: ForwardZone[];
  /** The micro cloud's zone, answered authoritatively by this node */
  zone: string;
  records: ZoneRecord[];
  dnssecValidation: boolean;
}

export const LIMITS = { listen: 16, networks: 64, forwarders: 8, forwardZones: 50, serversPerZone: 8, records: 500, text: 20_000 };
export const TTL_MIN = 60;
export const TTL_MAX = 604_800;
/** The name server of the zone is ns.<zone>: the panel writes that record itself. */
export const NS_NAME = 'ns';
/** Zones Debian's named.conf.default-zones already defines (a second definition breaks named). */
export const RESERVED_ZONES = ['localhost', '127.in-addr.arpa', '0.in-addr.arpa', '255.in-addr.arpa'];

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
/** A domain name, lower case, without the final dot. */
const DOMAIN = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);
/** A record name relative to the zone; a leading "*" label makes a wildcard. */
const RELATIVE_NAME = new RegExp(`^(?:\\*|${LABEL})(?:\\.${LABEL})*$`);

export function isDomain(value: string): boolean {
  return value.length <= 253 && DOMAIN.test(value);
}

/** IPv6 in text form, without zone ids ("%eth0") or brackets. */
export function isIpv6(value: string): boolean {
  return /^[0-9a-fA-F:.]{2,45}$/.test(value) && isIPv6(value);
}

/** IPv4 network in CIDR form with no host bits set ("10.1.2.3/8" is refused by named). */
export function cidrProblem(value: string): 'invalid' | { network: string } | undefined {
  const match = /^(\d{1,3}(?:\.\d{1,3}){3})(?:\/(\d{1,2}))?$/.exec(value);
  if (!match || !IPV4.test(match[1]!)) return 'invalid';
  const bits = match[2] === undefined ? 32 : Number(match[2]);
  if (bits > 32) return 'invalid';
  const octets = match[1]!.split('.').map(Number);
  const address = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  const network = (address & mask) >>> 0;
  if (network === address) return undefined;
  const text = [24, 16, 8, 0].map((shift) => (network >>> shift) & 255).join('.');
  return { network: `${text}/${bits}` };
}

export function parseServer(value: string): Server | undefined {
  const match = /^([0-9.]+)(?::(\d{1,5}))?$/.exec(value);
  if (!match || !isIpv4(match[1]!)) return undefined;
  if (match[2] === undefined) return { address: match[1]! };
  const p = Number(match[2]);
  if (p < 1 || p > 65535) return undefined;
  return p === 53 ? { address: match[1]! } : { address: match[1]!, port: p };
}

export const formatServer = (s: Server) => (s.port ? `${s.address}:${s.port}` : s.address);

// ---------------------------------------------------------------- the form

type Ctx = z.core.$RefinementCtx<string>;
type Problem = { key: string; params?: Record<string, string | number | undefined> };

/** Runs `each` over the non-empty lines of a textarea; the first problem becomes the field's error. */
function lines<T>(text: string, ctx: Ctx, each: (line: string, n: number, out: T[]) => Problem | undefined): T[] & { failed?: true } {
  const out: T[] & { failed?: true } = [];
  const all = text.split(/\r?\n/);
  for (let i = 0; i < all.length; i++) {
    const line = all[i]!.trim();
    if (!line) continue;
    const problem = each(line, i + 1, out);
    if (problem) {
      ctx.addIssue({ code: 'custom', message: problem.key, params: { line: i + 1, ...problem.params } });
      out.failed = true;
      return out;
    }
  }
  return out;
}

const items = (line: string) => line.split(/[\s,]+/).filter(Boolean);
const TextArea = z.string().max(LIMITS.text, 'dns:errors.tooLong').default('');
const Checkbox = z.union([z.literal('on'), z.literal('')]).optional().transform((v) => v === 'on');

const ListenAddresses = z.string().max(LIMITS.text, 'dns:errors.tooLong').transform((text, ctx) => {
  const found = lines<string>(text, ctx, (line, _n, out) => {
    for (const item of items(line)) {
      if (!isIpv4(item)) return { key: 'dns:errors.listenAddress' };
      if (out.includes(item)) return { key: 'dns:errors.duplicate', params: { value: item } };
      if (out.length >= LIMITS.listen) return { key: 'dns:errors.tooMany', params: { max: LIMITS.listen } };
      out.push(item);
    }
    return undefined;
  });
  if (found.failed) return [...found];
  if (!found.length) ctx.addIssue({ code: 'custom', message: 'dns:errors.listenRequired' });
  else if (found.includes('0.0.0.0') && found.length > 1) ctx.addIssue({ code: 'custom', message: 'dns:errors.listenAny' });
  return [...found];
});

const Networks = TextArea.transform((text, ctx) => lines<string>(text, ctx, (line, _n, out) => {
  for (const item of items(line)) {
    const problem = cidrProblem(item);
    if (problem === 'invalid') return { key: 'dns:errors.network' };
    if (problem) return { key: 'dns:errors.hostBits', params: { network: problem.network } };
    if (out.includes(item)) return { key: 'dns:errors.duplicate', params: { value: item } };
    if (out.length >= LIMITS.networks) return { key: 'dns:errors.tooMany', params: { max: LIMITS.networks } };
    out.push(item);
  }
  return undefined;
}));

const Forwarders = TextArea.transform((text, ctx) => lines<Server>(text, ctx, (line, _n, out) => {
  for (const item of items(line)) {
    const server = parseServer(item);
    if (!server) return { key: 'dns:errors.server' };
    if (out.some((s) => formatServer(s) === formatServer(server))) return { key: 'dns:errors.duplicate', params: { value: item } };
    if (out.length >= LIMITS.forwarders) return { key: 'dns:errors.tooMany', params: { max: LIMITS.forwarders } };
    out.push(server);
  }
  return undefined;
}));

function domainProblem(name: string): Problem | undefined {
  if (!isDomain(name)) return { key: 'dns:errors.domain' };
  if (RESERVED_ZONES.includes(name)) return { key: 'dns:errors.reservedZone', params: { value: name } };
  return undefined;
}

const ForwardZones = TextArea.transform((text, ctx) => lines<ForwardZone>(text, ctx, (line, _n, out) => {
  const [rawName = '', ...rest] = items(line);
  const name = rawName.toLowerCase().replace(/\.$/, '');
  const bad = domainProblem(name);
  if (bad) return bad;
  if (out.some((z) => z.name === name)) return { key: 'dns:errors.duplicate', params: { value: name } };
  if (!rest.length) return { key: 'dns:errors.forwardZoneServers' };
  if (rest.length > LIMITS.serversPerZone) return { key: 'dns:errors.tooMany', params: { max: LIMITS.serversPerZone } };
  const servers: Server[] = [];
  for (const item of rest) {
    const server = parseServer(item);
    if (!server) return { key: 'dns:errors.server' };
    if (servers.some((s) => formatServer(s) === formatServer(server))) return { key: 'dns:errors.duplicate', params: { value: item } };
    servers.push(server);
  }
  if (out.length >= LIMITS.forwardZones) return { key: 'dns:errors.tooMany', params: { max: LIMITS.forwardZones } };
  out.push({ name, servers });
  return undefined;
}));

const OTHER_TYPES = ['MX', 'TXT', 'SRV', 'NS', 'PTR', 'CAA', 'SOA', 'SPF', 'HINFO', 'DNAME', 'SSHFP', 'TLSA', 'NAPTR', 'DS', 'DNSKEY'];

/** One record line: `name [ttl] [IN] type value`. */
export function parseRecordLine(line: string): ZoneRecord | Problem {
  const tokens = items(line).filter((token, i) => !(i > 0 && token.toUpperCase() === 'IN'));
  if (tokens.length !== 3 && tokens.length !== 4) return { key: 'dns:errors.recordFormat' };
  const [rawName, ...rest] = tokens as [string, ...string[]];
  const ttlText = tokens.length === 4 ? rest.shift()! : undefined;
  // "www MX 10 mail": a record type the panel does not offer
  if (ttlText && OTHER_TYPES.includes(ttlText.toUpperCase())) return { key: 'dns:errors.recordType' };
  const [rawType, value] = rest as [string, string];
  const name = rawName.toLowerCase();
  if (name !== '@' && !RELATIVE_NAME.test(name)) return { key: 'dns:errors.recordName' };
  let ttl: { ttl?: number } = {};
  if (ttlText !== undefined) {
    // "my host A 10.1.2.3": a name with a space, not a TTL
    if (!/^\d+$/.test(ttlText)) return { key: 'dns:errors.recordFormat' };
    if (ttlText.length > 7 || Number(ttlText) < TTL_MIN || Number(ttlText) > TTL_MAX) {
      return { key: 'dns:errors.recordTtl', params: { min: TTL_MIN, max: TTL_MAX } };
    }
    ttl = { ttl: Number(ttlText) };
  }
  const type = rawType.toUpperCase() as RecordType;
  if (!RECORD_TYPES.includes(type)) return { key: 'dns:errors.recordType' };
  switch (type) {
    case 'A':
      if (!isIpv4(value)) return { key: 'dns:errors.recordA' };
      return { name, ...ttl, type, value };
    case 'AAAA':
      if (!isIpv6(value)) return { key: 'dns:errors.recordAaaa' };
      return { name, ...ttl, type, value: value.toLowerCase() };
    case 'CNAME': {
      const target = value.toLowerCase();
      const absolute = target.endsWith('.') && isDomain(target.slice(0, -1));
      // names outside the zone end with a dot; "example.org" alone would mean example.org.<zone>
      const relative = target === '@' || new RegExp(`^${LABEL}$`).test(target);
      if (!absolute && !relative) return { key: 'dns:errors.recordCname' };
      return { name, ...ttl, type, value: target };
    }
  }
}

const Records = TextArea.transform((text, ctx) => lines<ZoneRecord>(text, ctx, (line, _n, out) => {
  const record = parseRecordLine(line);
  if ('key' in record) return record;
  if (record.name === NS_NAME) return { key: 'dns:errors.recordReserved', params: { value: NS_NAME } };
  if (record.type === 'CNAME') {
    if (record.name === '@') return { key: 'dns:errors.cnameApex' };
    if (record.value === record.name) return { key: 'dns:errors.cnameLoop' };
  }
  const sameName = out.filter((r) => r.name === record.name);
  if (sameName.some((r) => r.type === record.type && r.value === record.value)) {
    return { key: 'dns:errors.duplicate', params: { value: record.name } };
  }
  if (sameName.length && (record.type === 'CNAME' || sameName.some((r) => r.type === 'CNAME'))) {
    return { key: 'dns:errors.cnameConflict', params: { value: record.name } };
  }
  if (out.length >= LIMITS.records) return { key: 'dns:errors.tooMany', params: { max: LIMITS.records } };
  out.push(record);
  return undefined;
}));

const ZoneName = z.string().trim().toLowerCase().transform((value, ctx) => {
  const name = value.replace(/\.$/, '');
  const problem = name ? domainProblem(name) : { key: 'validation.required' };
  if (problem?.key === 'dns:errors.domain') ctx.addIssue({ code: 'custom', message: 'dns:errors.domainZone' });
  else if (problem) ctx.addIssue({ code: 'custom', message: problem.key, params: problem.params });
  return name;
});

/** The settings form: every field a string as the browser sends it (checkboxes: "on" or absent). */
export const DnsFormSchema = z.object({
  listenAddresses: ListenAddresses,
  port: port('dns:errors.port'),
  allowRecursion: Networks,
  forwarders: Forwarders,
  forwardOnly: Checkbox,
  forwardZones: ForwardZones,
  zone: ZoneName,
  records: Records,
  dnssecValidation: Checkbox,
}).superRefine((s, ctx) => {
  // zod runs this even when a field failed: only look at fields that parsed
  if (![s.forwardZones, s.records, s.allowRecursion, s.forwarders].every(Array.isArray) || typeof s.zone !== 'string') return;
  const clash = s.forwardZones.findIndex((f) => f.name === s.zone);
  if (clash >= 0) {
    ctx.addIssue({ code: 'custom', path: ['forwardZones'], message: 'dns:errors.forwardIsLocal', params: { value: s.zone } });
  }
  // Forwarding is recursion: with nobody allowed to recurse, forwarders would never be asked.
  if (!s.allowRecursion.length && (s.forwarders.length || s.forwardZones.length)) {
    ctx.addIssue({ code: 'custom', path: ['allowRecursion'], message: 'dns:errors.recursionNeeded' });
  }
  // Every owner name must fit in 253 characters once the zone is appended.
  const long = s.records.find((r) => r.name !== '@' && r.name.length + 1 + s.zone.length > 253);
  if (long) ctx.addIssue({ code: 'custom', path: ['records'], message: 'dns:errors.recordTooLong', params: { value: long.name } });
});
export type DnsFormInput = z.input<typeof DnsFormSchema>;

/** The form fields that hold a whole list (one item per line). */
export const TEXTAREAS = ['listenAddresses', 'allowRecursion', 'forwarders', 'forwardZones', 'records'] as const;

/** Form values (strings) of some settings: what the page shows, and what apply() re-validates. */
export function settingsToForm(s: DnsSettings): Record<string, string> {
  return {
    listenAddresses: s.listenAddresses.join('\n'),
    port: String(s.port),
    allowRecursion: s.allowRecursion.join('\n'),
    forwarders: s.forwarders.map(formatServer).join('\n'),
    forwardOnly: s.forwardOnly ? 'on' : '',
    forwardZones: s.forwardZones.map((f) => [f.name, ...f.servers.map(formatServer)].join(' ')).join('\n'),
    zone: s.zone,
    records: s.records.map((r) => [r.name, r.ttl, r.type, r.value].filter((x) => x !== undefined).join(' ')).join('\n'),
    dnssecValidation: s.dnssecValidation ? 'on' : '',
  };
}

/** Settings as the form schema sees them: the one validation path for the web, the CLI and apply(). */
export function validateSettings(s: DnsSettings): DnsSettings {
  return DnsFormSchema.parse(settingsToForm(s));
}

/**
 * Like parseForm(), but list errors carry their parameters (line number, limits) into the
 * translation: "Line 3: ...".
 */
export function parseDnsForm(body: unknown, t: TFunction): FormResult<DnsSettings> {
  const result = DnsFormSchema.safeParse(body ?? {});
  if (result.success) return { ok: true, data: result.data };
  const errors: FieldErrors = {};
  for (const issue of result.error.issues) {
    const field = issue.path.length ? String(issue.path[0]) : '_form';
    if (errors[field]) continue;
    const params = issue.code === 'custom' ? (issue as { params?: Record<string, unknown> }).params : undefined;
    errors[field] = params ? t(issue.message, params) : translateIssues([issue], t)[field]!;
  }
  return { ok: false, errors };
}

// ---------------------------------------------------------------- named.conf syntax

type Token = { kind: 'word' | 'string' | '{' | '}' | ';'; value: string };
export interface Statement {
  words: string[];
  block?: Statement[];
}

/** Tokens of named.conf syntax: words, "strings", braces, semicolons; comments dropped. */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (c === '#' || (c === '/' && text[i + 1] === '/')) {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
      continue;
    }
    if (c === '{' || c === '}' || c === ';') { tokens.push({ kind: c, value: c }); i++; continue; }
    if (c === '"') {
      let value = '';
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        value += text[i];
        i++;
      }
      i++;
      tokens.push({ kind: 'string', value });
      continue;
    }
    let value = '';
    while (i < text.length && !/[\s{};"#]/.test(text[i]!) && !(text[i] === '/' && (text[i + 1] === '/' || text[i + 1] === '*'))) value += text[i++];
    tokens.push({ kind: 'word', value });
  }
  return tokens;
}

/** Statements of a named.conf file (tolerant: a broken file gives what could be read). */
export function parseNamedConf(text: string): Statement[] {
  const tokens = tokenize(text);
  let i = 0;
  const statements = (): Statement[] => {
    const out: Statement[] = [];
    let current: Statement = { words: [] };
    while (i < tokens.length) {
      const token = tokens[i++]!;
      if (token.kind === '}') break;
      if (token.kind === '{') current.block = statements();
      else if (token.kind === ';') {
        if (current.words.length || current.block) out.push(current);
        current = { words: [] };
      } else if (!current.block) current.words.push(token.value);
    }
    if (current.words.length || current.block) out.push(current);
    return out;
  };
  return statements();
}

const find = (list: Statement[] | undefined, keyword: string) => (list ?? []).filter((s) => s.words[0] === keyword);

function serversOf(block: Statement[] | undefined): Server[] {
  const out: Server[] = [];
  for (const s of block ?? []) {
    const [address = '', keyword, p] = s.words;
    if (!isIpv4(address)) continue;
    const portNumber = keyword === 'port' && p && /^\d{1,5}$/.test(p) ? Number(p) : undefined;
    out.push(portNumber && portNumber !== 53 ? { address, port: portNumber } : { address });
  }
  return out;
}

// ---------------------------------------------------------------- named.conf.options

const list = (values: string[]) => `{ ${values.map((v) => `${v};`).join(' ')} }`;
const serverList = (servers: Server[]) => list(servers.map((s) => (s.port ? `${s.address} port ${s.port}` : s.address)));

export function renderOptionsConf(s: DnsSettings): string {
  const listen = s.listenAddresses.includes('0.0.0.0') ? ['any'] : s.listenAddresses;
  const exempt = [...s.forwardZones.map((f) => f.name), s.zone];
  const out = [
    managedHeader('dns', '//').trimEnd(),
    `// Debian's original file is kept in ${DEBIAN_OPTIONS_COPY}.`,
    `// The micro-cloud zone and the forward zones are in ${ZONES_CONF}.`,
    '',
    'options {',
    '\tdirectory "/var/cache/bind";',
    '',
    '\t// Where named listens (IPv4 only)',
    `\tlisten-on port ${s.port} ${list(listen)};`,
    '\tlisten-on-v6 { none; };',
    '',
  ];
  if (s.allowRecursion.length) {
    out.push(
      '\t// Who may use this server as a resolver; anyone may ask about the zone of this node',
      '\trecursion yes;',
      `\tallow-recursion ${list(s.allowRecursion)};`,
    );
  } else {
    out.push('\t// Only answers about the zone of this node (no resolver)', '\trecursion no;');
  }
  if (s.forwarders.length) {
    out.push('', '\t// Where other names are asked', `\tforwarders ${serverList(s.forwarders)};`, `\tforward ${s.forwardOnly ? 'only' : 'first'};`);
  }
  out.push('', `\tdnssec-validation ${s.dnssecValidation ? 'auto' : 'no'};`);
  if (s.dnssecValidation) {
    out.push('\t// Community zones are not signed: do not validate them', `\tvalidate-except ${list(exempt.map((n) => `"${n}"`))};`);
  }
  out.push(
    '',
    '\t// This node is the only server of its zone: nobody to notify, nothing to transfer',
    '\tnotify no;',
    '\tallow-transfer { none; };',
    '};',
    '',
  );
  return out.join('\n');
}

/** Reads settings from any named.conf.options (ours or Debian's); what it lacks stays undefined. */
export function parseOptionsConf(text: string): Partial<DnsSettings> {
  const options = find(parseNamedConf(text), 'options')[0]?.block;
  const out: Partial<DnsSettings> = {};
  if (!options) return out;
  for (const s of find(options, 'listen-on')) {
    const portIndex = s.words.indexOf('port');
    if (portIndex > 0 && /^\d{1,5}$/.test(s.words[portIndex + 1] ?? '')) out.port = Number(s.words[portIndex + 1]);
    const addresses = (s.block ?? []).map((a) => a.words[0] ?? '').map((a) => (a === 'any' ? '0.0.0.0' : a)).filter(isIpv4);
    out.listenAddresses = [...(out.listenAddresses ?? []), ...addresses];
  }
  if (out.listenAddresses && out.port === undefined) out.port = 53;
  const allow = find(options, 'allow-recursion')[0];
  if (allow) out.allowRecursion = (allow.block ?? []).map((a) => a.words[0] ?? '').filter((a) => cidrProblem(a) === undefined);
  if (find(options, 'recursion')[0]?.words[1] === 'no') out.allowRecursion = [];
  const forwarders = find(options, 'forwarders')[0];
  if (forwarders) out.forwarders = serversOf(forwarders.block);
  const forward = find(options, 'forward')[0]?.words[1];
  if (forward) out.forwardOnly = forward === 'only';
  const validation = find(options, 'dnssec-validation')[0]?.words[1];
  if (validation) out.dnssecValidation = validation !== 'no';
  return out;
}

// ---------------------------------------------------------------- zones.conf

export function renderZonesConf(s: DnsSettings): string {
  const out = [
    managedHeader('dns', '//').trimEnd(),
    `// Included from /etc/bind/named.conf.local. Add your own zones there, not here.`,
    '',
    '// The micro-cloud zone: this node answers for it (authoritative)',
    `zone "${s.zone}" {`,
    '\ttype primary;',
    `\tfile "${zoneFilePath(s.zone)}";`,
    '\tallow-query { any; };',
    '\tnotify no;',
    '};',
  ];
  if (s.forwardZones.length) out.push('', '// Forward zones: names under these domains are asked to these servers');
  for (const f of s.forwardZones) {
    out.push(`zone "${f.name}" {`, '\ttype forward;', '\tforward only;', `\tforwarders ${serverList(f.servers)};`, '};');
  }
  out.push('');
  return out.join('\n');
}

export function parseZonesConf(text: string): { zone?: string; forwardZones: ForwardZone[] } {
  const out: { zone?: string; forwardZones: ForwardZone[] } = { forwardZones: [] };
  for (const s of find(parseNamedConf(text), 'zone')) {
    const name = (s.words[1] ?? '').toLowerCase().replace(/\.$/, '');
    if (!isDomain(name)) continue;
    const type = find(s.block, 'type')[0]?.words[1];
    if ((type === 'primary' || type === 'master') && out.zone === undefined) out.zone = name;
    if (type === 'forward') out.forwardZones.push({ name, servers: serversOf(find(s.block, 'forwarders')[0]?.block) });
  }
  return out;
}

// ---------------------------------------------------------------- named.conf.local

export const INCLUDE_ZONES = `include "${ZONES_CONF}";`;

/** True when the file has an (uncommented) include of our zones.conf. */
export function includesZones(text: string): boolean {
  return parseNamedConf(text).some((s) => s.words[0] === 'include' && s.words[1] === ZONES_CONF);
}

/** named.conf.local with our include line added, or undefined when it is already there. */
export function withZonesInclude(text: string | undefined): string | undefined {
  if (text !== undefined && includesZones(text)) return undefined;
  const base = text === undefined ? '//\n// Do any local configuration here\n//\n' : text;
  return `${base}${base.endsWith('\n') || base === '' ? '' : '\n'}\n// Cloudy panel: the micro-cloud zone and forward zones (managed line, keep it)\n${INCLUDE_ZONES}\n`;
}

// ---------------------------------------------------------------- the zone file

const RECORDS_MARKER = '; Records from the panel';

/** SOA serials in the usual YYYYMMDDnn form, always increasing. */
export function nextSerial(previous: number | undefined, now: Date): number {
  const day = Number(`${now.getUTCFullYear()}${String(now.getUTCMonth() + 1).padStart(2, '0')}${String(now.getUTCDate()).padStart(2, '0')}`) * 100;
  if (previous === undefined || previous < day) return day;
  return Math.min(previous + 1, 4_294_967_295);
}

/** The address ns.<zone> points to: the first listen address others can reach, else 127.0.0.1. */
export function nameServerAddress(s: Pick<DnsSettings, 'listenAddresses'>): string {
  return s.listenAddresses.find((a) => a !== '0.0.0.0' && !a.startsWith('127.')) ?? '127.0.0.1';
}

export function renderZoneFile(s: Pick<DnsSettings, 'zone' | 'records' | 'listenAddresses'>, serial: number): string {
  const z = s.zone;
  const rows = s.records.map((r) => [r.name, r.ttl ?? '', 'IN', r.type, r.value].join('\t'));
  return [
    managedHeader('dns', ';').trimEnd(),
    `; Zone ${z}, included from ${ZONES_CONF}.`,
    '$TTL 3600',
    `@\tIN\tSOA\t${NS_NAME}.${z}. hostmaster.${z}. (`,
    `\t\t${serial}\t; serial`,
    '\t\t3600\t; refresh',
    '\t\t900\t; retry',
    '\t\t604800\t; expire',
    '\t\t300 )\t; negative answers TTL',
    `@\tIN\tNS\t${NS_NAME}.${z}.`,
    `${NS_NAME}\tIN\tA\t${nameServerAddress(s)}`,
    '',
    RECORDS_MARKER,
    ...rows,
    '',
  ].join('\n');
}

export function parseZoneFile(text: string): { serial?: number; records: ZoneRecord[] } {
  const serialMatch = /(\d{1,10})\s*;\s*serial/i.exec(text);
  const out: { serial?: number; records: ZoneRecord[] } = { records: [] };
  if (serialMatch) out.serial = Number(serialMatch[1]);
  const at = text.indexOf(RECORDS_MARKER);
  if (at < 0) return out;
  for (const raw of text.slice(at + RECORDS_MARKER.length).split('\n')) {
    const line = raw.replace(/;.*$/, '').trim();
    if (!line) continue;
    const record = parseRecordLine(line);
    if (!('key' in record)) out.records.push(record);
  }
  return out;
}
