import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { encode } from '@msgpack/msgpack';
import {
  boundedBunzip, catalogueNodeName, decodeDocument, decodeHash, decodeLegacyServices, decodeSummary, encodeDocument,
  encodedTagsSize, encodeTags, MAX_DECODED_BYTES, OWN_TAGS_BUDGET, parseLegacyTxt, recordsFromSummary, RESPONSE_LIMIT, SERF_TAGS_LIMIT,
} from '../../src/discovery/codec.js';
import { Catalogue, MAX_SERVICES_PER_NODE } from '../../src/discovery/catalogue.js';
import type { ServiceRecord } from '../../src/discovery/record.js';

const record = (over: Partial<ServiceRecord> = {}): ServiceRecord => ({
  v: 1, type: 'proxy3', description: 'Federated proxy', node: 'node-a', host: 'node-a.guifi.local', addresses: ['10.1.2.3'],
  port: 3128, microcloud: 'gracia', txt: { federated: 'yes' }, health: 'up', ...over,
});

// The usual Cloudy service types (avahi-service files, plugins) plus a few more
const USUAL = ['proxy3', 'dnsservice', 'snpservice', 'tahoe-lafs', 'syncthing', 'peerstreamer', 'tincvpn', 'owp',
  'webdav', 'ipfs', 'docker', 'guifi-web', 'serf', 'cloudy-mon', 'ntp', 'mumble'];

/** Exact msgpack size as serf counts it (1 magic byte + the map), with str8 where it fits. */
const exactSize = (tags: Record<string, string>) => 1 + encode(tags).length;

// Made with: printf '%s' '<the JSON below>' | bzip2 -9 -c | base64 -w0   (bzip2 1.0.8, Debian 12)
const LEGACY_JSON = '[{"s":"proxy3","d":"Proxy3_System","m":"cloudy1.guifi.local","i":"10.139.40.12","p":3128,"e":"demo","t":"Federated=Yes"},{"s":"serf","d":"SERF_instance_running","m":"cloudy1.guifi.local","i":"10.139.40.12","p":"5000","e":"demo","t":""}]';
const LEGACY_TAG = 'QlpoOTFBWSZTWZD2wgoAAEEfgBAFfnIDAFgqr6feajAAuWhqnqBoxAABoGmmIJVMmhoNAAAAAEoSMkZGIPQhjSNBpTDs/E8ZUkihNZHlpEDQ1J4IWCigL+FYmtCKgbWheRKx1w4a/YoMDBR6TcWGcTxeMInTPOIKJfC7p+tWBTeQ1IEpAnCEGNMVkCvkbhGIOGBIjo9HSMkWIFPvLTydhELaWdeMUKRBkkmYio8IUlIeOHuOPxdyRThQkJD2wgo=';
// Made with: head -c 10000000 /dev/zero | bzip2 -9 -c | base64 -w0   — 68 bytes that inflate to 10 MB
const BZIP2_BOMB = 'QlpoOTFBWSZTWdOl3HwATJfAEMAAAAgACCAAMMwFKaaqRFGwFEUeLuSKcKEhp0u4+A==';

describe('v1 tags', () => {
  it('round-trips the summary and the hash', () => {
    const records = [record(), record({ type: 'dnsservice', port: 53, health: 'down' }), record({ type: 'web', port: 80, health: 'unknown' })];
    const doc = encodeDocument(records);
    const tags = encodeTags(doc.records, 'gracia', doc.hash);
    expect(tags.cl).toBe('1|gracia|dnsservice:53:d,proxy3:3128:u,web:80:?');
    expect(decodeHash(tags.ch)).toBe(doc.hash);
    const summary = decodeSummary(tags.cl)!;
    expect(summary).toEqual({
      version: '1', microcloud: 'gracia', omitted: 0,
      services: [{ type: 'dnsservice', port: 53, health: 'down' }, { type: 'proxy3', port: 3128, health: 'up' }, { type: 'web', port: 80, health: 'unknown' }],
    });
    const fallback = recordsFromSummary(summary, 'node-a', '10.1.2.3');
    expect(new Catalogue().setNode('serf', 'node-a', fallback)).toEqual({ accepted: 3, dropped: 0 });
  });

  it(`fits 16 services of the usual types in serf's ${SERF_TAGS_LIMIT}-byte budget without cutting`, () => {
    const records = USUAL.map((type, i) => record({ type, port: 1000 + i * 1111 }));
    expect(records).toHaveLength(16);
    const doc = encodeDocument(records);
    const tags = encodeTags(doc.records, 'a-32-characters-microcloud-name_', doc.hash);
    const summary = decodeSummary(tags.cl)!;
    expect(summary.services).toHaveLength(16);
    expect(summary.omitted).toBe(0);
    expect(encodedTagsSize(tags)).toBeLessThanOrEqual(OWN_TAGS_BUDGET);
    expect(exactSize(tags)).toBeLessThanOrEqual(encodedTagsSize(tags));
    // room left for another tag such as role=proxy
    expect(exactSize({ ...tags, role: 'community-proxy' })).toBeLessThanOrEqual(SERF_TAGS_LIMIT);
    console.log(`[codec] 16 usual services: tags ${exactSize(tags)} bytes (bound ${encodedTagsSize(tags)}) of ${SERF_TAGS_LIMIT}; query answer ${doc.payload.length} of ${RESPONSE_LIMIT} bytes`);
  });

  it('cuts the summary (saying how many were left out) but keeps every record in the query answer', () => {
    const records = Array.from({ length: 64 }, (_, i) => record({
      type: `t${String(i).padStart(2, '0')}-long-service-type-name-abcd`.slice(0, 31), port: 60000 + i,
      description: `Service number ${i} with a long enough description to be realistic`, txt: { a: 'x'.repeat(40), b: 'y'.repeat(40) },
    }));
    const doc = encodeDocument(records);
    expect(doc.records).toHaveLength(64);
    expect(doc.payload.length).toBeLessThanOrEqual(RESPONSE_LIMIT);
    const tags = encodeTags(doc.records, 'mc', doc.hash);
    expect(encodedTagsSize(tags)).toBeLessThanOrEqual(OWN_TAGS_BUDGET);
    const summary = decodeSummary(tags.cl)!;
    expect(summary.services.length + summary.omitted).toBe(64);
    expect(summary.omitted).toBeGreaterThan(0);
    expect(decodeDocument(doc.payload)!.records).toHaveLength(64);
  });

  it('drops the last records when even compressed they exceed the answer limit', () => {
    // random-looking text does not compress: this cannot fit 8000 bytes
    const noise = (_i: number) => randomBytes(48).toString('base64');
    const records = Array.from({ length: 64 }, (_, i) => record({ type: `svc-${i}`, port: 1000 + i, description: noise(i) + noise(i + 1), txt: Object.fromEntries(Array.from({ length: 8 }, (_, k) => [`k${k}`, noise(i * 8 + k)])) }));
    const doc = encodeDocument(records);
    expect(doc.payload.length).toBeLessThanOrEqual(RESPONSE_LIMIT);
    expect(doc.records.length).toBeLessThan(64);
    expect(decodeDocument(doc.payload)!.records).toHaveLength(doc.records.length);
  });

  it('refuses malformed summaries and hashes', () => {
    for (const bad of ['', '2|mc|a:1:u', '1|bad cloud|a:1:u', '1|mc|a:1:u|x', 'x'.repeat(600), 42, undefined]) expect(decodeSummary(bad)).toBeUndefined();
    expect(decodeSummary('1|mc|Bad_Type:1:u,ok:0:u,ok:70000:u,good:80:u,also:81:z')!.services).toEqual([{ type: 'good', port: 80, health: 'up' }]);
    expect(decodeHash('short')).toBeUndefined();
    expect(decodeHash('<script>abcd')).toBeUndefined();
  });
});

describe('query answer document', () => {
  it('round-trips records and its hash matches the tag', () => {
    const doc = encodeDocument([record()]);
    const decoded = decodeDocument(doc.payload)!;
    expect(decoded.records).toEqual([record()]);
    expect(decoded.hash).toBe(doc.hash);
  });

  it('refuses hostile answers: wrong prefix, bad base64, not gzip, gzip bombs, not an array', () => {
    expect(decodeDocument('[{"type":"x"}]')).toBeUndefined();
    expect(decodeDocument('c1:@@@@')).toBeUndefined();
    expect(decodeDocument('c1:' + Buffer.from('plain').toString('base64'))).toBeUndefined();
    const bomb = 'c1:' + gzipSync(Buffer.alloc(5_000_000, 0x20)).toString('base64');
    expect(bomb.length).toBeLessThan(8192);
    expect(decodeDocument(bomb)).toBeUndefined();
    expect(decodeDocument('c1:' + gzipSync('{"a":1}').toString('base64'))).toBeUndefined();
    expect(decodeDocument('c1:' + 'A'.repeat(9000))).toBeUndefined();
  });
});

describe('legacy Cloudy "services" tag', () => {
  it('decodes a real bzip2 blob (fixture made with the bzip2 CLI) and maps the fields', () => {
    const records = decodeLegacyServices(LEGACY_TAG, 'old-node');
    const catalogue = new Catalogue();
    expect(catalogue.setNode('legacy', 'old-node', records)).toEqual({ accepted: 2, dropped: 0 });
    const [proxy, serf] = [catalogue.query({ type: 'proxy3' })[0]!, catalogue.query({ type: 'serf' })[0]!];
    expect(proxy).toMatchObject({
      source: 'legacy', type: 'proxy3', description: 'Proxy3 System', host: 'cloudy1.guifi.local', addresses: ['10.139.40.12'],
      port: 3128, microcloud: 'demo', txt: { federated: 'Yes' }, health: 'unknown', node: 'old-node',
    });
    expect(serf).toMatchObject({ description: 'SERF instance running', port: 5000, txt: {} });
  });

  it.skipIf(spawnSync('bzip2', ['--help']).error !== undefined)('decodes what the bzip2 CLI makes right now', () => {
    const out = spawnSync('bzip2', ['-9', '-c'], { input: LEGACY_JSON });
    expect(out.status).toBe(0);
    expect(decodeLegacyServices(out.stdout.toString('base64'), 'n')).toHaveLength(2);
  });

  it('gives nothing for invalid base64, invalid bzip2, oversized tags and non-arrays', () => {
    expect(decodeLegacyServices('not base64 !!!', 'n')).toEqual([]);
    expect(decodeLegacyServices('QlpoOTFBWSZTWQ==', 'n')).toEqual([]); // bzip2 header, then nothing
    expect(decodeLegacyServices(Buffer.from('hello world, not bzip2').toString('base64'), 'n')).toEqual([]);
    expect(decodeLegacyServices(LEGACY_TAG.slice(0, 100), 'n')).toEqual([]); // truncated stream
    expect(decodeLegacyServices('A'.repeat(1000), 'n')).toEqual([]);
    expect(decodeLegacyServices(42, 'n')).toEqual([]);
  });

  it('stops a bzip2 bomb at 64 KiB instead of inflating 10 MB', () => {
    const started = Date.now();
    expect(() => boundedBunzip(Buffer.from(BZIP2_BOMB, 'base64'))).toThrow(new RegExp(`exceeds ${MAX_DECODED_BYTES}`));
    expect(decodeLegacyServices(BZIP2_BOMB, 'n')).toEqual([]);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(boundedBunzip(Buffer.from(BZIP2_BOMB, 'base64'), 20_000_000)).toHaveLength(10_000_000); // really a bomb
  });

  it('parses the original txt ("k=v k2=v2", "&" as separator) into a bounded map', () => {
    expect(parseLegacyTxt('Federated=Yes')).toEqual({ federated: 'Yes' });
    expect(parseLegacyTxt('node_id=ABC&x=1')).toEqual({ node_id: 'ABC', x: '1' });
    expect(parseLegacyTxt('pb-opaque-id')).toEqual({ txt: 'pb-opaque-id' });
    expect(parseLegacyTxt(`k=${'v'.repeat(65)} bad!key=1 ok=1`)).toEqual({ ok: '1' });
    expect(Object.keys(parseLegacyTxt(Array.from({ length: 50 }, (_, i) => `k${i}=v`).join(' '))).length).toBeLessThanOrEqual(8);
  });

  it('keeps long original node names unique and within 64 characters', () => {
    const a = catalogueNodeName('d41d8cd98f00b204e9800998ecf8427e-1700000000123456789-oldcloudy-10.139.40.12:5000');
    const b = catalogueNodeName('aaaad8cd98f00b204e9800998ecf8427e-1700000000123456789-oldcloudy-10.139.40.12:5000');
    expect(a.length).toBeLessThanOrEqual(64);
    expect(a).not.toBe(b);
    expect(a.endsWith('oldcloudy-10.139.40.12:5000')).toBe(true);
    expect(catalogueNodeName('short')).toBe('short');
  });
});

describe('untrusted records through the catalogue', () => {
  it('keeps <script> in a description as text (escaping is the page\'s job) and drops oversized fields', () => {
    const catalogue = new Catalogue();
    const result = catalogue.setNode('serf', 'node-a', [
      record({ description: '<script>alert(1)</script>' }),
      record({ type: 'a', description: 'x'.repeat(121) }),
      record({ type: 'b', host: 'bad host<>' }),
      record({ type: 'c', txt: { 'BAD KEY': 'x' } }),
      record({ type: 'd', addresses: ['not-an-ip'] }),
      record({ type: 'e', node: 'someone-else' }),
      { ...record({ type: 'f' }), port: 0 },
      'garbage',
    ]);
    expect(result).toEqual({ accepted: 1, dropped: 7 });
    expect(catalogue.all()[0]!.description).toBe('<script>alert(1)</script>');
  });

  it(`bounds a node announcing 10,000 services to ${MAX_SERVICES_PER_NODE}`, () => {
    const catalogue = new Catalogue();
    const many = Array.from({ length: 10_000 }, (_, i) => record({ type: `s${i}`, port: (i % 65535) + 1 }));
    const started = Date.now();
    expect(catalogue.setNode('serf', 'node-a', many)).toEqual({ accepted: MAX_SERVICES_PER_NODE, dropped: 10_000 - MAX_SERVICES_PER_NODE });
    expect(catalogue.all()).toHaveLength(MAX_SERVICES_PER_NODE);
    expect(Date.now() - started).toBeLessThan(1000);
    // and a query answer can never carry more than 64
    const doc = encodeDocument(many);
    expect(doc.records.length).toBeLessThanOrEqual(64);
  });
});
