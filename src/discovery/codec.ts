// Wire formats of service discovery over serf. Pure functions, no I/O.
//
// ─── Format v1 ──────────────────────────────────────────────────────────────────────────────
// Serf gossips every node's tags, but all tags of a node together must fit in 512 bytes
// (msgpack-encoded, plus one magic byte). So the tags carry only an index; full records travel
// in the answer to a serf query.
//
//   tag "cl"  summary:  1|<microcloud>|<type>:<port>:<health>,<type>:<port>:<health>,...[|+N]
//             version "1"; microcloud [A-Za-z0-9._-]{0,32}; type [a-z0-9][a-z0-9-]{0,30};
//             port 1..65535; health u (up) / d (down) / ? (unknown). When the list would overflow
//             the budget, the tail is cut and "|+N" says how many services were left out.
//   tag "ch"  content hash: the first 12 characters of base64url(sha256(records JSON)). Peers
//             fetch the full records again only when it changes.
//
//   query "cloudy-services"  answered by every node with its records document:
//             "c1:" + base64(gzip(JSON array of ServiceRecord)), at most 8000 bytes (serf keeps
//             at most 8192 bytes of an event handler's output). The answer is printed by a
//             static handler (`cat <records file>`) the panel rewrites; no input reaches a shell.
//
// Budget (worst case, strings ≥ 32 bytes counted as msgpack str16): magic 1 + map header 1 +
// "cl" 3 + summary (≤ 416 + 3) + "ch" 3 + hash 13 = ≤ 440 bytes, leaving ≥ 72 bytes of the 512
// for other tags. 16 services with usual type names (proxy3, tahoe-lafs, syncthing...) take
// ~280 bytes without truncation; the full records of 64 services compress well under 8000.
//
// Legacy: original Cloudy nodes (avahi-ps serf plug) set tag "services" = base64(bzip2(JSON
// [{s,d,m,i,p,e,t}])). We decode it with a bounded bunzip (≤ 64 KiB output) so those nodes
// show up as source 'legacy'.
//
// Everything decoded here is untrusted: sizes are bounded before work is done, and the
// Catalogue validates each record against ServiceRecordSchema (invalid ones are dropped).
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import Bunzip from 'seek-bzip';
import { RECORD_VERSION, SERVICE_TYPE, type ServiceRecord } from './record.js';

export const FORMAT_VERSION = '1';
export const TAG_SUMMARY = 'cl';
export const TAG_HASH = 'ch';
export const LEGACY_TAG = 'services';
export const QUERY_NAME = 'cloudy-services';
/** Serf's limit for all tags of one node (memberlist meta). */
export const SERF_TAGS_LIMIT = 512;
/** What our own tags may take, so a node can still carry a couple of other tags. */
export const OWN_TAGS_BUDGET = 440;
/** Serf keeps at most 8192 bytes of a handler's output; stay below with room to spare. */
export const RESPONSE_LIMIT = 8000;
/** Decompressed size cap for anything from the network (gzip documents, legacy bzip2). */
export const MAX_DECODED_BYTES = 64 * 1024;
export const MAX_RECORDS = 64;
export const MICROCLOUD = /^[A-Za-z0-9._-]{0,32}$/;
const HASH = /^[A-Za-z0-9_-]{12}$/;
const DOC_PREFIX = 'c1:';

export type Health = ServiceRecord['health'];
const HEALTH_CHAR: Record<Health, string> = { up: 'u', down: 'd', unknown: '?' };
const CHAR_HEALTH: Record<string, Health> = { u: 'up', d: 'down', '?': 'unknown' };

// ─── sizes ──────────────────────────────────────────────────────────────────────────────────

/** msgpack size of a string, worst case (Go's codec may use str16 where str8 would do). */
export function msgpackStringSize(s: string): number {
  const n = Buffer.byteLength(s, 'utf8');
  if (n < 32) return 1 + n;
  if (n < 65536) return 3 + n;
  return 5 + n;
}

/** Upper bound of what serf counts against its 512-byte limit for these tags. */
export function encodedTagsSize(tags: Record<string, string>): number {
  const entries = Object.entries(tags);
  let size = 1 /* magic byte */ + (entries.length < 16 ? 1 : 3);
  for (const [key, value] of entries) size += msgpackStringSize(key) + msgpackStringSize(value);
  return size;
}

// ─── summary + hash tags ────────────────────────────────────────────────────────────────────

export interface SummaryEntry {
  type: string;
  port: number;
  health: Health;
}

export interface Summary {
  version: string;
  microcloud: string;
  services: SummaryEntry[];
  /** Services the sender left out for lack of room */
  omitted: number;
}

/** Deterministic JSON of records (sorted by type, port), the input of the hash. */
export function canonicalRecords(records: readonly ServiceRecord[]): ServiceRecord[] {
  return [...records].sort((a, b) => a.type.localeCompare(b.type) || a.port - b.port).slice(0, MAX_RECORDS);
}

export function contentHash(json: string): string {
  return createHash('sha256').update(json).digest('base64url').slice(0, 12);
}

/** The tags a node sets for its records. Always within OWN_TAGS_BUDGET. */
export function encodeTags(records: readonly ServiceRecord[], microcloud: string, hash: string): Record<string, string> {
  const cloud = MICROCLOUD.test(microcloud) ? microcloud : '';
  const head = `${FORMAT_VERSION}|${cloud}|`;
  const items = canonicalRecords(records).map((r) => `${r.type}:${r.port}:${HEALTH_CHAR[r.health]}`);
  for (let keep = items.length; keep >= 0; keep--) {
    const omitted = items.length - keep;
    const summary = head + items.slice(0, keep).join(',') + (omitted ? `|+${omitted}` : '');
    const tags = { [TAG_SUMMARY]: summary, [TAG_HASH]: hash };
    if (encodedTagsSize(tags) <= OWN_TAGS_BUDGET) return tags;
  }
  throw new Error('tags cannot fit the budget'); // unreachable: head + hash alone are ~60 bytes
}

/** Parses a peer's "cl" tag; undefined when it is not a v1 summary we understand. */
export function decodeSummary(tag: unknown): Summary | undefined {
  if (typeof tag !== 'string' || tag.length > SERF_TAGS_LIMIT) return undefined;
  const parts = tag.split('|');
  if (parts.length < 3 || parts.length > 4 || parts[0] !== FORMAT_VERSION) return undefined;
  const [, microcloud = '', list = '', more] = parts;
  if (!MICROCLOUD.test(microcloud)) return undefined;
  let omitted = 0;
  if (more !== undefined) {
    const m = /^\+(\d{1,4})$/.exec(more);
    if (!m) return undefined;
    omitted = Number(m[1]);
  }
  const services: SummaryEntry[] = [];
  for (const item of list ? list.split(',') : []) {
    const m = /^([a-z0-9][a-z0-9-]{0,30}):(\d{1,5}):([ud?])$/.exec(item);
    if (!m) continue;
    const port = Number(m[2]);
    if (port < 1 || port > 65535) continue;
    services.push({ type: m[1]!, port, health: CHAR_HEALTH[m[3]!]! });
    if (services.length >= MAX_RECORDS) break;
  }
  return { version: FORMAT_VERSION, microcloud, services, omitted };
}

export function decodeHash(tag: unknown): string | undefined {
  return typeof tag === 'string' && HASH.test(tag) ? tag : undefined;
}

/**
 * Records made from a summary alone (used until, or when, the full records cannot be fetched):
 * no description, the member's gossip address as host and address.
 */
export function recordsFromSummary(summary: Summary, node: string, address: string | undefined): Record<string, unknown>[] {
  return summary.services.map((s) => ({
    v: RECORD_VERSION,
    type: s.type,
    description: '',
    node,
    host: address ?? node,
    addresses: address ? [address] : [],
    port: s.port,
    microcloud: summary.microcloud,
    txt: {},
    health: s.health,
  }));
}

// ─── full records document (query answer) ──────────────────────────────────────────────────

export interface EncodedDocument {
  /** What the records file holds and the query answers */
  payload: string;
  /** Content hash for the "ch" tag */
  hash: string;
  /** Records that made it into the document (the last ones are dropped if it would not fit) */
  records: ServiceRecord[];
}

export function encodeDocument(records: readonly ServiceRecord[], limit = RESPONSE_LIMIT): EncodedDocument {
  let list = canonicalRecords(records);
  for (;;) {
    const json = JSON.stringify(list);
    const payload = DOC_PREFIX + gzipSync(json, { level: 9 }).toString('base64');
    if (payload.length <= limit || list.length === 0) return { payload, hash: contentHash(json), records: list };
    list = list.slice(0, -1);
  }
}

export interface DecodedDocument {
  records: unknown[];
  hash: string;
}

/** Decodes a peer's answer; undefined when it is not a bounded, well-formed v1 document. */
export function decodeDocument(payload: unknown): DecodedDocument | undefined {
  if (typeof payload !== 'string' || payload.length > 8192 || !payload.startsWith(DOC_PREFIX)) return undefined;
  const b64 = payload.slice(DOC_PREFIX.length).trim();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) return undefined;
  let json: string;
  try {
    json = gunzipSync(Buffer.from(b64, 'base64'), { maxOutputLength: MAX_DECODED_BYTES }).toString('utf8');
  } catch {
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  return { records: parsed.slice(0, MAX_RECORDS), hash: contentHash(json) };
}

// ─── legacy Cloudy "services" tag ──────────────────────────────────────────────────────────

class OutputTooLarge extends Error {}

/** bunzip2 that stops (throws) past `max` output bytes: a 512-byte tag cannot become 100 MB. */
export function boundedBunzip(input: Buffer, max = MAX_DECODED_BYTES): Buffer {
  const out = Buffer.alloc(max);
  let pos = 0;
  const stream = {
    writeByte(byte: number) {
      if (pos >= max) throw new OutputTooLarge(`bzip2 output exceeds ${max} bytes`);
      out[pos++] = byte;
    },
  };
  Bunzip.decode(input, stream as never);
  return out.subarray(0, pos);
}

/** "k=v k2=v2" (the original's txt, "&" already turned into spaces) → a bounded txt map. */
export function parseLegacyTxt(text: unknown): Record<string, string> {
  const txt: Record<string, string> = {};
  if (typeof text !== 'string') return txt;
  const bare: string[] = [];
  for (const token of text.slice(0, 1024).split(/[\s&]+/).filter(Boolean)) {
    const eq = token.indexOf('=');
    if (eq > 0) {
      const key = token.slice(0, eq).toLowerCase();
      const value = token.slice(eq + 1);
      if (/^[a-z0-9_-]{1,16}$/.test(key) && value.length <= 64 && !(key in txt)) txt[key] = value;
    } else {
      bare.push(token);
    }
    if (Object.keys(txt).length >= 7) break;
  }
  // an opaque value (tahoe's node id): kept under "txt" when it fits
  const opaque = bare.join(' ');
  if (opaque && opaque.length <= 64 && !('txt' in txt)) txt.txt = opaque;
  return txt;
}

/**
 * Decodes an original Cloudy node's "services" tag into (unvalidated) records of `node`.
 * Invalid base64 / bzip2 / JSON, or output past 64 KiB, give [].
 */
export function decodeLegacyServices(tag: unknown, node: string): Record<string, unknown>[] {
  if (typeof tag !== 'string' || tag.length === 0 || tag.length > SERF_TAGS_LIMIT) return [];
  const b64 = tag.trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) return [];
  let json: string;
  try {
    json = boundedBunzip(Buffer.from(b64, 'base64')).toString('utf8');
  } catch {
    return [];
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const records: Record<string, unknown>[] = [];
  for (const item of parsed.slice(0, MAX_RECORDS)) {
    if (!item || typeof item !== 'object') continue;
    const e = item as Record<string, unknown>;
    const type = typeof e.s === 'string' ? e.s.toLowerCase() : e.s;
    records.push({
      v: RECORD_VERSION,
      type: typeof type === 'string' && SERVICE_TYPE.test(type) ? type : e.s,
      description: typeof e.d === 'string' ? e.d.replaceAll('_', ' ') : e.d,
      node,
      host: e.m,
      addresses: typeof e.i === 'string' && e.i ? [e.i] : [],
      port: typeof e.p === 'string' && /^\d{1,5}$/.test(e.p) ? Number(e.p) : e.p,
      microcloud: typeof e.e === 'string' ? e.e : '',
      txt: parseLegacyTxt(e.t),
      health: 'unknown',
    });
  }
  return records;
}

/**
 * Serf member names of original Cloudy nodes are up to ~90 characters
 * ("<md5>-<ns>-<host>-<ip>:<port>"); the catalogue keys nodes by at most 64. Longer names keep
 * their (unique) head and their host/address tail.
 */
export function catalogueNodeName(memberName: string): string {
  return memberName.length <= 64 ? memberName : `${memberName.slice(0, 16)}~${memberName.slice(-47)}`;
}
