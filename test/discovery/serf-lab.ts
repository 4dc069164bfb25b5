// Real serf agents for the discovery integration tests: on loopback addresses (127.x) or inside
// network namespaces the test creates (10.201.x.y on veths to a bridge namespace). Every process
// is tracked by PID and every namespace by name, and `cleanup()` removes them all.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createExecaRunner, type Runner } from '../../src/system/runner.js';
import { renderSerfConf, SerfSettingsSchema, type SerfSettings } from '../../plugins/serf/serf-conf.js';
import { QUERY_NAME } from '../../src/discovery/codec.js';

export interface Agent {
  name: string;
  pid: number;
  netns?: string;
  rpcAddress: string;
  recordsFile: string;
  logFile: string;
  child: ChildProcess;
  /** argv prefix to run a command where the agent lives */
  exec(argv: string[]): string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(everyMs);
  }
}

function sh(argv: string[], check = true): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (check && r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** Kills a process by PID and waits until it is gone. */
async function stopPid(pid: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  try { process.kill(pid, signal); } catch { return; }
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    try { process.kill(pid, 0); } catch { return; }
    await sleep(50);
  }
  try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
}

export class SerfLab {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'cloudy-serf-lab-'));
  readonly agents: Agent[] = [];
  private readonly pids: number[] = [];
  private readonly namespaces: string[] = [];

  /** A runner that runs every command inside `netns` (or plainly when undefined). */
  runner(netns?: string): Runner {
    const base = createExecaRunner();
    if (!netns) return base;
    const prefix = ['ip', 'netns', 'exec', netns];
    return {
      run: (argv, options) => base.run([...prefix, ...argv], options),
      spawnDetached: (argv, options) => base.spawnDetached([...prefix, ...argv], options),
    };
  }

  /**
   * Namespaces `names` on one bridge (in its own namespace `${prefix}br`): name[i] gets
   * 10.201.<subnet>.<i+1>/24. Returns name → address.
   */
  bridge(prefix: string, names: string[], subnet = 0): Map<string, string> {
    const br = `${prefix}br`;
    for (const ns of [br, ...names]) {
      spawnSync('ip', ['netns', 'del', ns]);
      sh(['ip', 'netns', 'add', ns]);
      this.namespaces.push(ns);
      sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
    sh(['ip', '-n', br, 'link', 'add', 'br0', 'type', 'bridge']);
    sh(['ip', '-n', br, 'link', 'set', 'br0', 'up']);
    const out = new Map<string, string>();
    names.forEach((ns, i) => {
      const address = `10.201.${subnet}.${i + 1}`;
      sh(['ip', '-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', `p${i}`, 'netns', br]);
      sh(['ip', '-n', br, 'link', 'set', `p${i}`, 'master', 'br0']);
      sh(['ip', '-n', br, 'link', 'set', `p${i}`, 'up']);
      sh(['ip', '-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
      sh(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
      out.set(ns, address);
    });
    return out;
  }

  /** Starts `serf agent` with a config rendered by the serf plugin's own renderer. */
  async startAgent(options: {
    name: string;
    bind: string;
    port?: number;
    rpcAddress: string;
    netns?: string;
    peers?: string[];
    encryptKey?: string;
    profile?: SerfSettings['profile'];
  }): Promise<Agent> {
    const file = options.name.replace(/[^A-Za-z0-9._-]/g, '_').slice(-60);
    const recordsFile = path.join(this.dir, `records-${file}`);
    const logFile = path.join(this.dir, `serf-${file}.log`);
    const settings = SerfSettingsSchema.parse({
      nodeName: 'placeholder',
      bindAddress: options.bind,
      bindPort: options.port ?? 7946,
      rpcAddress: options.rpcAddress,
      peers: options.peers ?? [],
      encryptKey: options.encryptKey ?? '',
      profile: options.profile ?? 'lan',
    });
    const conf = JSON.parse(renderSerfConf(settings, { queryHandler: `query:${QUERY_NAME}=cat ${recordsFile}` }));
    conf.retry_interval = '1s';
    conf.node_name = options.name; // may be an original Cloudy name, which our settings refuse
    const confFile = path.join(this.dir, `serf-${file}.json`);
    writeFileSync(confFile, JSON.stringify(conf, null, 2));
    const prefix = options.netns ? ['ip', 'netns', 'exec', options.netns] : [];
    const argv = [...prefix, 'serf', 'agent', `-config-file=${confFile}`, '-log-level=warn'];
    const { openSync } = await import('node:fs');
    const fd = openSync(logFile, 'a');
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', fd, fd] });
    if (!child.pid) throw new Error(`cannot start serf ${options.name}`);
    this.pids.push(child.pid);
    const agent: Agent = {
      name: options.name, pid: child.pid, netns: options.netns, rpcAddress: options.rpcAddress, recordsFile, logFile, child,
      exec: (cmd) => [...prefix, ...cmd],
    };
    this.agents.push(agent);
    await waitFor(`serf ${options.name} RPC`, () => {
      if (child.exitCode !== null) throw new Error(`serf ${options.name} exited: ${readFileSync(logFile, 'utf8').slice(-800)}`);
      return spawnSync(agent.exec(['serf', 'info', `-rpc-addr=${options.rpcAddress}`])[0]!, agent.exec(['serf', 'info', `-rpc-addr=${options.rpcAddress}`]).slice(1)).status === 0;
    }, 15_000, 100);
    return agent;
  }

  /** serf CLI against an agent; returns {status, stdout, stderr}. */
  serf(agent: Agent, args: string[]) {
    const argv = agent.exec(['serf', args[0]!, `-rpc-addr=${agent.rpcAddress}`, ...args.slice(1)]);
    return spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  }

  members(agent: Agent): { name: string; status: string; tags: Record<string, string> }[] {
    const r = this.serf(agent, ['members', '-format=json']);
    if (r.status !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout).members ?? [];
  }

  /** A unix-socket → TCP proxy running inside `netns`, so the test process can reach that namespace's loopback RPC. */
  async rpcProxy(netns: string, target: string): Promise<(host: string, port: number) => net.Socket> {
    const script = path.join(this.dir, 'rpc-proxy.mjs');
    if (!existsSync(script)) {
      writeFileSync(script, [
        "import net from 'node:net'; import fs from 'node:fs';",
        'const [sock, host, port] = process.argv.slice(2);',
        'try { fs.unlinkSync(sock); } catch {}',
        'net.createServer((c) => { const u = net.connect({ host, port: Number(port) });',
        "  c.pipe(u); u.pipe(c); c.on('error', () => u.destroy()); u.on('error', () => c.destroy()); c.on('close', () => u.destroy()); u.on('close', () => c.destroy()); })",
        "  .listen(sock, () => console.log('ready'));",
      ].join('\n'));
    }
    const sock = path.join(this.dir, `rpc-${netns}.sock`);
    const [host, port] = target.split(':');
    const child = spawn('ip', ['netns', 'exec', netns, process.execPath, script, sock, host!, port!], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.pids.push(child.pid!);
    await new Promise<void>((resolve, reject) => {
      child.stdout!.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`rpc proxy exited ${code}`)));
    });
    return () => net.connect(sock);
  }

  async kill(agent: Agent, signal: NodeJS.Signals): Promise<void> {
    await stopPid(agent.pid, signal);
  }

  rssKb(pid: number): number {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return m ? Number(m[1]) : 0;
    } catch {
      return 0;
    }
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.pids.map((pid) => stopPid(pid, 'SIGKILL')));
    for (const ns of this.namespaces.reverse()) spawnSync('ip', ['netns', 'del', ns]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
