// mDNS for real, between two network namespaces joined by a veth pair (with the multicast route
// each side needs), never in the host namespace:
//   A runs the panel's MdnsDiscovery and announces; B runs another one and browses (its catalogue
//   must show A's services with the right fields); withdrawals send goodbyes; a node that dies
//   without a goodbye drops out after a refresh; avahi-daemon + avahi-browse in B see A's
//   services, and a service avahi-publish announces in B reaches A's catalogue.
// Each side is a small node process under `ip netns exec` (test/discovery/mdns-node.ts) talking
// JSON lines over stdin/stdout. Run as root:
//   bash scripts/test-services npx vitest run --project integration test/discovery/mdns
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CatalogueEntry, ServiceRecord } from '../../src/discovery/record.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = path.join(REPO, 'test/discovery/mdns-node.ts');
const tag = String(process.pid % 100000);
const NS_A = `cmdnsA${tag}`;
const NS_B = `cmdnsB${tag}`;
const IF_A = `vmA${tag}`;
const IF_B = `vmB${tag}`;
const NET = `10.231.${Number(tag) % 250}`;
const IP_A = `${NET}.1`;
const IP_B = `${NET}.2`;
const isRoot = process.getuid?.() === 0;
const hasTool = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

function run(argv: string[], env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env, timeout: 20_000 });
  if (result.status !== 0) throw new Error(`${argv.join(' ')} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

/** One MdnsDiscovery in a namespace, driven over JSON lines. */
class Side {
  private readonly process: ChildProcessWithoutNullStreams;
  private readonly waiting = new Map<number, (message: Record<string, unknown>) => void>();
  private next = 1;
  readonly stderr: string[] = [];
  readonly started: Promise<Record<string, unknown>>;

  constructor(readonly ns: string, iface: string, types: string[] = []) {
    this.process = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', SCRIPT, iface, types.join(',')], {
      cwd: REPO, env: { ...process.env, MDNS_REFRESH_MS: '1000', MDNS_SETTLE_MS: '500' },
    });
    let onStart: (m: Record<string, unknown>) => void = () => undefined;
    this.started = new Promise((resolve) => { onStart = resolve; });
    readline.createInterface({ input: this.process.stdout }).on('line', (line) => {
      const message = JSON.parse(line) as Record<string, unknown>;
      if (message.event === 'started') onStart(message);
      const resolve = this.waiting.get(message.id as number);
      if (resolve) { this.waiting.delete(message.id as number); resolve(message); }
    });
    readline.createInterface({ input: this.process.stderr }).on('line', (line) => this.stderr.push(line));
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  send(cmd: string, extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.ns}: no answer to ${cmd}; stderr: ${this.stderr.join('\n')}`)), 10_000);
      this.waiting.set(id, (m) => { clearTimeout(timer); resolve(m); });
      this.process.stdin.write(JSON.stringify({ id, cmd, ...extra }) + '\n');
    });
  }

  async catalogue(): Promise<{ entries: CatalogueEntry[]; lastRefresh: number }> {
    return (await this.send('catalogue')) as unknown as { entries: CatalogueEntry[]; lastRefresh: number };
  }

  /** Polls the catalogue until `check` holds (or fails with the last view). */
  async until(check: (entries: CatalogueEntry[]) => boolean, what: string, timeoutMs = 15_000): Promise<CatalogueEntry[]> {
    const end = Date.now() + timeoutMs;
    let entries: CatalogueEntry[] = [];
    while (Date.now() < end) {
      entries = (await this.catalogue()).entries;
      if (check(entries)) return entries;
      await sleep(200);
    }
    throw new Error(`${this.ns}: timed out waiting for ${what}; catalogue: ${JSON.stringify(entries)}; stderr: ${this.stderr.join('\n')}`);
  }

  async close(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = new Promise((resolve) => this.process.once('exit', resolve));
    await Promise.race([this.send('close').catch(() => undefined), sleep(3000)]);
    await Promise.race([exited, sleep(3000)]);
    if (this.process.exitCode === null && this.process.signalCode === null) this.kill();
  }

  /** Dies without a goodbye. */
  kill(): void {
    if (this.process.pid) process.kill(this.process.pid, 'SIGKILL');
  }
}

const recordA = (over: Partial<ServiceRecord> & Pick<ServiceRecord, 'type' | 'port'>): ServiceRecord => ({
  v: 1, description: `${over.type} of node A`, node: 'nodeA', host: 'nodea.local', addresses: [], microcloud: 'mc-test', txt: {}, health: 'up', ...over,
});

describe.skipIf(!isRoot || !hasTool('ip'))('mDNS between two network namespaces', () => {
  const sides: Side[] = [];
  const pids: number[] = [];
  let temp = '';

  beforeAll(() => {
    temp = mkdtempSync(path.join(tmpdir(), 'cloudy-mdns-'));
    run(['ip', 'netns', 'add', NS_A]);
    run(['ip', 'netns', 'add', NS_B]);
    run(['ip', 'link', 'add', IF_A, 'type', 'veth', 'peer', 'name', IF_B]);
    run(['ip', 'link', 'set', IF_A, 'netns', NS_A]);
    run(['ip', 'link', 'set', IF_B, 'netns', NS_B]);
    for (const [ns, iface, ip] of [[NS_A, IF_A, IP_A], [NS_B, IF_B, IP_B]] as const) {
      run(['ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', iface]);
      run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      run(['ip', '-n', ns, 'link', 'set', iface, 'up']);
      // without this route multicast finds nothing, silently
      run(['ip', '-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', iface]);
    }
  });

  afterAll(async () => {
    for (const side of sides) await side.close().catch(() => undefined);
    for (const pid of pids.reverse()) {
      try { process.kill(pid, 'SIGTERM'); } catch { /* already gone */ }
    }
    await sleep(pids.length ? 500 : 0);
    for (const ns of [NS_A, NS_B]) spawnSync('ip', ['netns', 'del', ns]);
    if (temp) rmSync(temp, { recursive: true, force: true });
  });

  let a: Side;
  let b: Side;
  /** When A last (re)published: it re-announces unasked 1 s and 3 s later. */
  let announcedAt = 0;

  it('B finds what A announces, with the right fields (wildcard DNS-SD browse)', async () => {
    a = new Side(NS_A, IF_A);
    b = new Side(NS_B, IF_B); // no known types: only the _services._dns-sd._udp meta-query
    sides.push(a, b);
    expect(await a.started).toMatchObject({ running: true });
    expect(await b.started).toMatchObject({ running: true });
    await a.send('sync', {
      records: [
        recordA({ type: 'proxy3', port: 3128, txt: { federated: 'yes' } }),
        recordA({ type: 'tahoe-lafs', port: 3456, health: 'unknown', description: '<script>alert(1)</script> grid' }),
      ],
    });
    const seen = await b.until((e) => e.length === 2, "A's two services in B");
    const proxy = seen.find((e) => e.type === 'proxy3')!;
    expect(proxy).toMatchObject({
      v: 1, type: 'proxy3', description: 'proxy3 of node A', node: 'nodeA', host: 'nodea.local', addresses: [IP_A],
      port: 3128, microcloud: 'mc-test', txt: { federated: 'yes' }, health: 'up', source: 'mdns', nodeStatus: 'alive',
    });
    const tahoe = seen.find((e) => e.type === 'tahoe-lafs')!;
    expect(tahoe).toMatchObject({ port: 3456, health: 'unknown', description: '<script>alert(1)</script> grid', addresses: [IP_A] });
  });

  it('a changed record is re-announced (health down) and B follows', async () => {
    await a.send('announce', { records: [recordA({ type: 'proxy3', port: 3128, txt: { federated: 'yes' }, health: 'down' })] });
    announcedAt = Date.now();
    await b.until((e) => e.find((x) => x.type === 'proxy3')?.health === 'down', 'proxy3 health down in B');
  });

  it('withdraw sends goodbyes: B drops the service, the other one keeps its address', async () => {
    // past A's unsolicited re-announcements, so B's next browse only gets what A answers to queries
    await sleep(Math.max(0, announcedAt + 3500 - Date.now()));
    const before = Date.now();
    await a.send('withdraw', { type: 'tahoe-lafs' });
    await b.until((e) => e.length === 1 && e[0]!.type === 'proxy3', 'tahoe-lafs gone from B', 5000);
    // a fresh browse after the goodbye still resolves proxy3 with A's address (the shared host
    // record was not withdrawn with tahoe-lafs)
    const end = Date.now() + 10_000;
    let view = await b.catalogue();
    while (view.lastRefresh < before + 1000 && Date.now() < end) { await sleep(200); view = await b.catalogue(); }
    expect(view.lastRefresh).toBeGreaterThan(before + 1000);
    expect(view.entries).toHaveLength(1);
    expect(view.entries[0]).toMatchObject({ type: 'proxy3', addresses: [IP_A] });
  });

  it('avahi-browse in B sees A\'s service; an avahi-published service reaches A', async (context) => {
    if (!hasTool('avahi-daemon') || !hasTool('avahi-browse') || !hasTool('dbus-daemon')) {
      context.skip('avahi-daemon, avahi-utils or dbus not installed');
      return;
    }
    // a private system bus for B's avahi (never the host's), and avahi's runtime dir on a tmpfs
    // that only exists in that process's mount namespace (ip netns exec gives it its own)
    const busDir = path.join(temp, 'bus');
    mkdirSync(busDir);
    chmodSync(temp, 0o755);
    const messagebus = spawnSync('id', ['-u', 'messagebus'], { encoding: 'utf8' });
    if (messagebus.status === 0) chownSync(busDir, Number(messagebus.stdout.trim()), -1);
    const bus = `unix:path=${busDir}/bus.sock`;
    const dbusPid = Number(run(['dbus-daemon', '--system', `--address=${bus}`, '--nopidfile', '--fork', '--print-pid']).trim().split('\n')[0]);
    pids.push(dbusPid);
    const env = { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: bus };
    const conf = path.join(temp, 'avahi-B.conf');
    writeFileSync(conf, `[server]\nuse-ipv6=no\nallow-interfaces=${IF_B}\nhost-name=avahi-b\n[wide-area]\nenable-wide-area=no\n[publish]\npublish-hinfo=no\npublish-workstation=no\n`);
    chmodSync(conf, 0o644);
    const daemonLog: string[] = [];
    const daemon = spawn('ip', ['netns', 'exec', NS_B, 'sh', '-c',
      `mount -t tmpfs tmpfs /run && mkdir /run/avahi-daemon && exec avahi-daemon --no-rlimits -f ${conf}`], { env });
    pids.push(daemon.pid!);
    daemon.stdout.on('data', (d: Buffer) => daemonLog.push(d.toString()));
    daemon.stderr.on('data', (d: Buffer) => daemonLog.push(d.toString()));

    // avahi-browse -rpt: "=;iface;IPv4;name;type;domain;host;address;port;txt"
    let resolved: string[] = [];
    const end = Date.now() + 20_000;
    while (Date.now() < end) {
      const browse = spawnSync('ip', ['netns', 'exec', NS_B, 'avahi-browse', '-rpt', '_proxy3._tcp'], { encoding: 'utf8', env, timeout: 10_000 });
      resolved = browse.stdout.split('\n').filter((l) => l.startsWith('=;'));
      if (resolved.length) break;
      await sleep(300);
    }
    expect(resolved, `avahi-browse saw nothing; avahi log: ${daemonLog.join('')}`).toHaveLength(1);
    const fields = resolved[0]!.split(';');
    expect(fields[1]).toBe(IF_B);
    expect(fields[3]).toBe('proxy3\\032of\\032node\\032A\\032\\091nodeA\\0583128\\093'); // "proxy3 of node A [nodeA:3128]"
    expect(fields[4]).toBe('_proxy3._tcp');
    expect(fields[6]).toBe('nodea.local');
    expect(fields[7]).toBe(IP_A);
    expect(fields[8]).toBe('3128');
    for (const txt of ['"v=1"', '"node=nodeA"', '"microcloud=mc-test"', '"health=down"', '"federated=yes"', '"description=proxy3 of node A"']) {
      expect(fields[9]).toContain(txt);
    }

    // the other way: avahi-publish in B → A's catalogue (source mdns, host from avahi)
    const publisher = spawn('ip', ['netns', 'exec', NS_B, 'avahi-publish', '-s', 'Avahi SNMP', '_snmp._tcp', '161',
      'v=1', 'node=nodeB', 'description=SNMP announced by avahi', 'microcloud=mc-test', 'health=up'], { env });
    pids.push(publisher.pid!);
    // (the first answer may come without the host's address record; a later browse has it)
    const entries = await a.until((e) => e.some((x) => x.node === 'nodeB' && x.type === 'snmp' && x.addresses.includes(IP_B)), 'the avahi service in A', 20_000);
    expect(entries.find((x) => x.node === 'nodeB')).toMatchObject({
      type: 'snmp', port: 161, host: 'avahi-b.local', description: 'SNMP announced by avahi', microcloud: 'mc-test', health: 'up', source: 'mdns',
    });
    // avahi says goodbye when the publisher goes away
    process.kill(publisher.pid!, 'SIGTERM');
    await a.until((e) => !e.some((x) => x.node === 'nodeB'), 'the avahi service gone from A', 10_000);
  });

  it('a node that dies without a goodbye drops out after a refresh', async () => {
    a.kill();
    await b.until((e) => !e.some((x) => x.node === 'nodeA'), "A's services gone from B after A died", 10_000);
  });
});
