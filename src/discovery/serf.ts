// The serf driver: the panel's only way to talk to the local serf agent. Every call names the
// configured RPC address explicitly (never serf's implicit default), commands run through the
// system layer's Runner (argv arrays, no shell), and coordinates come over one RPC connection.
// Everything the agent reports about other nodes is untrusted and validated here.
import { z } from 'zod';
import type { Runner } from '../system/runner.js';
import { SerfRpcClient, type Connector } from './serf-rpc.js';
import type { Coordinate } from './coordinates.js';

export type MemberStatus = 'alive' | 'leaving' | 'left' | 'failed' | 'none';

export interface SerfMember {
  name: string;
  /** Gossip address (IP) and port as the cluster sees them */
  addr: string;
  port: number;
  tags: Record<string, string>;
  status: MemberStatus;
}

export const MAX_MEMBERS = 5000;
const NAME = /^[^\x00-\x1f\x7f]{1,128}$/;

const MemberSchema = z.object({
  name: z.string().regex(NAME),
  addr: z.string().max(64),
  port: z.number().int().min(0).max(65535),
  tags: z.record(z.string().max(128), z.string().max(1024)).nullish(),
  status: z.string().max(16),
});

const MembersSchema = z.object({ members: z.array(z.unknown()).nullish() });
const InfoSchema = z.object({ agent: z.object({ name: z.string().regex(NAME) }), tags: z.record(z.string(), z.string()).nullish() });
const QuerySchema = z.object({ Responses: z.record(z.string(), z.string()).nullish() });

export class SerfError extends Error {
  constructor(message: string, readonly output = '') {
    super(message);
    this.name = 'SerfError';
  }
}

const STATUSES = new Set<MemberStatus>(['alive', 'leaving', 'left', 'failed', 'none']);

/** "10.1.2.3:7946" / "[fd00::1]:7946" → the address part */
export function hostOfAddr(addr: string): string {
  const v6 = /^\[([0-9A-Fa-f:.]+)\]:\d+$/.exec(addr);
  if (v6) return v6[1]!;
  const v4 = /^([^:]+):\d+$/.exec(addr);
  return v4 ? v4[1]! : addr;
}

export interface SerfDriverOptions {
  /** The agent's RPC address, IPv4:port (from the serf settings). */
  rpcAddress: string;
  /** serf binary; a test may prefix commands through its own Runner instead */
  serf?: string;
  timeoutMs?: number;
  /** How the RPC (coordinates) connection is opened; default TCP to rpcAddress. */
  connect?: Connector;
}

export class SerfDriver {
  private rpc?: SerfRpcClient;

  constructor(private readonly runner: Runner, private readonly options: SerfDriverOptions) {
    if (!/^\d{1,3}(\.\d{1,3}){3}:\d{1,5}$/.test(options.rpcAddress)) throw new SerfError(`invalid RPC address ${options.rpcAddress}`);
  }

  get rpcAddress(): string {
    return this.options.rpcAddress;
  }

  private argv(command: string, ...args: string[]): string[] {
    return [this.options.serf ?? 'serf', command, `-rpc-addr=${this.options.rpcAddress}`, ...args];
  }

  private async run(argv: string[], timeoutMs = this.options.timeoutMs ?? 15_000): Promise<string> {
    const result = await this.runner.run(argv, { timeoutMs });
    if (result.exitCode !== 0) {
      throw new SerfError(`${argv.slice(0, 2).join(' ')} failed (exit ${result.exitCode}): ${(result.stderr || result.stdout).trim().slice(0, 300)}`, (result.stderr + result.stdout).slice(-2000));
    }
    return result.stdout;
  }

  private static json(text: string, what: string): unknown {
    try {
      return JSON.parse(text);
    } catch {
      throw new SerfError(`serf ${what}: not JSON`, text.slice(0, 300));
    }
  }

  /** All members the agent knows, with status and tags. Invalid entries are dropped. */
  async members(): Promise<SerfMember[]> {
    const parsed = MembersSchema.safeParse(SerfDriver.json(await this.run(this.argv('members', '-format=json')), 'members'));
    if (!parsed.success) throw new SerfError('serf members: unexpected output');
    const members: SerfMember[] = [];
    for (const raw of (parsed.data.members ?? []).slice(0, MAX_MEMBERS)) {
      const m = MemberSchema.safeParse(raw);
      if (!m.success) continue;
      const status = (STATUSES.has(m.data.status as MemberStatus) ? m.data.status : 'none') as MemberStatus;
      members.push({ name: m.data.name, addr: hostOfAddr(m.data.addr), port: m.data.port, tags: m.data.tags ?? {}, status });
    }
    return members;
  }

  /** This agent's own name and tags. */
  async info(): Promise<{ name: string; tags: Record<string, string> }> {
    const parsed = InfoSchema.safeParse(SerfDriver.json(await this.run(this.argv('info', '-format=json')), 'info'));
    if (!parsed.success) throw new SerfError('serf info: unexpected output');
    return { name: parsed.data.agent.name, tags: parsed.data.tags ?? {} };
  }

  async setTags(tags: Record<string, string>): Promise<void> {
    const args: string[] = [];
    for (const [key, value] of Object.entries(tags)) {
      if (!/^[A-Za-z0-9_.-]{1,32}$/.test(key) || /[\x00-\x1f]/.test(value)) throw new SerfError(`invalid tag ${key}`);
      args.push('-set', `${key}=${value}`);
    }
    if (args.length) await this.run(this.argv('tags', ...args));
  }

  async deleteTags(keys: readonly string[]): Promise<void> {
    const args = keys.flatMap((k) => ['-delete', k]);
    if (args.length) await this.run(this.argv('tags', ...args));
  }

  /**
   * Sends a query and collects the answers (node → payload) until its deadline: `timeoutMs`, or
   * serf's own default, which grows with the cluster size and the gossip profile. `nodes` limits
   * who answers (all nodes when empty); `relayFactor` sends each answer through that many extra
   * nodes too, for lossy links.
   */
  async query(name: string, options: { nodes?: readonly string[]; timeoutMs?: number; relayFactor?: number } = {}): Promise<Map<string, string>> {
    const filters = (options.nodes ?? []).map((n) => `-node=${n}`);
    const timeout = options.timeoutMs === undefined ? [] : [`-timeout=${options.timeoutMs}ms`];
    const relay = options.relayFactor ? [`-relay-factor=${Math.min(5, Math.max(0, Math.trunc(options.relayFactor)))}`] : [];
    const stdout = await this.run(this.argv('query', '-format=json', '-no-ack', ...timeout, ...relay, ...filters, name), (options.timeoutMs ?? 60_000) + 15_000);
    const parsed = QuerySchema.safeParse(SerfDriver.json(stdout, 'query'));
    if (!parsed.success) throw new SerfError('serf query: unexpected output');
    return new Map(Object.entries(parsed.data.Responses ?? {}).slice(0, MAX_MEMBERS));
  }

  /** Network coordinates of these nodes (those the agent has one for), over RPC. */
  async coordinates(nodes: readonly string[]): Promise<Map<string, Coordinate>> {
    this.rpc ??= new SerfRpcClient({ address: this.options.rpcAddress, connect: this.options.connect, timeoutMs: this.options.timeoutMs ?? 5000 });
    return this.rpc.getCoordinates(nodes.slice(0, MAX_MEMBERS));
  }

  close(): void {
    this.rpc?.close();
    this.rpc = undefined;
  }
}
