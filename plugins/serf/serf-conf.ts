// Pure: the serf settings schema, and /etc/serf/cloudy.json rendered from settings / parsed
// back. No I/O. Serf refuses unknown keys in its config files, so the file holds serf options
// only (the micro-cloud name lives in the plugin's data folder).
import { z } from 'zod';
import { isIpv4, port } from '../../src/lib/fields.js';
import { QUERY_HANDLER } from '../../src/discovery/discovery.js';
import { MICROCLOUD } from '../../src/discovery/codec.js';

export const NODE_NAME = /^[A-Za-z0-9._-]{1,64}$/;
export const PROFILES = ['wan', 'lan', 'local'] as const;
/** Above serf's 1024-byte default, for answers of up to 8000 bytes (see codec.ts) */
export const QUERY_RESPONSE_SIZE_LIMIT = 9216;
const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

/** "10.1.2.3:5000" or "node.example.org:5000" */
export function isPeer(value: string): boolean {
  const m = /^(.+):(\d{1,5})$/.exec(value);
  if (!m) return false;
  const host = m[1]!;
  const p = Number(m[2]);
  if (p < 1 || p > 65535) return false;
  if (/^[\d.]+$/.test(host)) return isIpv4(host) && host !== '0.0.0.0';
  return HOSTNAME.test(host);
}

/** RPC only on loopback: the agent's RPC has no authentication by default. */
export function isLoopbackRpc(value: string): boolean {
  const m = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}):(\d{1,5})$/.exec(value);
  return Boolean(m && isIpv4(m[1]!) && Number(m[2]) >= 1 && Number(m[2]) <= 65535);
}

/** Gossip key: empty (no encryption) or base64 of 16, 24 or 32 bytes (AES-128/192/256). */
export function isEncryptKey(value: string): boolean {
  if (value === '') return true;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value) || value.length % 4 !== 0) return false;
  return [16, 24, 32].includes(Buffer.from(value, 'base64').length);
}

const peerList = z.union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : v.split(/[\s,]+/)).map((s) => s.trim()).filter(Boolean))
  .pipe(z.array(z.string().max(260, 'serf:errors.peers').refine(isPeer, 'serf:errors.peers')).max(16, 'serf:errors.tooManyPeers'));

export const SerfSettingsSchema = z.object({
  nodeName: z.string().trim().regex(NODE_NAME, 'serf:errors.nodeName'),
  bindAddress: z.string().trim().refine(isIpv4, 'serf:errors.bindAddress'),
  bindPort: port('serf:errors.port'),
  advertiseAddress: z.string().trim().refine((v) => v === '' || (isIpv4(v) && v !== '0.0.0.0'), 'serf:errors.advertiseAddress').default(''),
  rpcAddress: z.string().trim().refine(isLoopbackRpc, 'serf:errors.rpcAddress'),
  peers: peerList.default([]),
  microcloud: z.string().trim().regex(MICROCLOUD, 'serf:errors.microcloud').default(''),
  encryptKey: z.string().trim().refine(isEncryptKey, 'serf:errors.encryptKey').default(''),
  profile: z.enum(PROFILES, { message: 'serf:errors.profile' }).default('wan'),
});
export type SerfSettings = z.infer<typeof SerfSettingsSchema>;

/** What goes into /etc/serf/cloudy.json (serf's own option names). */
export function renderSerfConf(s: SerfSettings, options: { queryHandler?: string } = {}): string {
  const conf: Record<string, unknown> = {
    node_name: s.nodeName,
    bind: `${s.bindAddress}:${s.bindPort}`,
    ...(s.advertiseAddress ? { advertise: `${s.advertiseAddress}:${s.bindPort}` } : {}),
    rpc_addr: s.rpcAddress,
    profile: s.profile,
    ...(s.peers.length ? { retry_join: s.peers, retry_interval: '30s' } : {}),
    ...(s.encryptKey ? { encrypt_key: s.encryptKey } : {}),
    // a stop (SIGTERM from the init script) is a graceful leave: peers see "left", not "failed"
    leave_on_terminate: true,
    // the query "cloudy-services" is answered by printing the records file the panel writes
    event_handlers: [options.queryHandler ?? QUERY_HANDLER],
    query_response_size_limit: QUERY_RESPONSE_SIZE_LIMIT,
  };
  return JSON.stringify(conf, null, 2) + '\n';
}

/** Settings found in any serf JSON config (ours or a hand-written one); unknown shapes are ignored. */
export function parseSerfConf(text: string): Partial<SerfSettings> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return {};
  }
  if (!raw || typeof raw !== 'object') return {};
  const c = raw as Record<string, unknown>;
  const out: Partial<SerfSettings> = {};
  if (typeof c.node_name === 'string') out.nodeName = c.node_name;
  const hostPort = (v: unknown) => (typeof v === 'string' ? /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(v) : null);
  const bind = hostPort(c.bind);
  if (bind) {
    out.bindAddress = bind[1];
    out.bindPort = bind[2] ? Number(bind[2]) : 7946;
  }
  const advertise = hostPort(c.advertise);
  if (advertise) out.advertiseAddress = advertise[1];
  if (typeof c.rpc_addr === 'string') out.rpcAddress = c.rpc_addr;
  if (typeof c.profile === 'string' && (PROFILES as readonly string[]).includes(c.profile)) out.profile = c.profile as SerfSettings['profile'];
  const join = Array.isArray(c.retry_join) ? c.retry_join : Array.isArray(c.start_join) ? c.start_join : undefined;
  if (join) out.peers = join.filter((p): p is string => typeof p === 'string');
  if (typeof c.encrypt_key === 'string') out.encryptKey = c.encrypt_key;
  return out;
}

/** A stable default node name: the host name (sanitized) plus a short random suffix, chosen once. */
export function defaultNodeName(hostname: string, suffix: string): string {
  const base = hostname.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '').slice(0, 58) || 'cloudy';
  return `${base}-${suffix}`;
}
