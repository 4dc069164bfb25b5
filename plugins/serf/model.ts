// What the serf plugin changes on the OS: /etc/serf/cloudy.json (0640 root:_serf, it holds the
// gossip key) and the serf service. It also tells the core discovery how to reach the agent.
import { promises as fs } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { PluginContext, PluginModel, PluginStatus, Announcement } from '../../src/registry/define-plugin.js';
import type { JobContext } from '../../src/core/jobs.js';
import type { DiscoveryEndpointProvider, SerfEndpoint } from '../../src/discovery/discovery.js';
import { SystemError } from '../../src/system/index.js';
import { DEFAULT_BIND_PORT, SERF_CONF, SERF_USER } from './manifest.js';
import { defaultNodeName, parseSerfConf, renderSerfConf, SerfSettingsSchema, type SerfSettings } from './serf-conf.js';

/** Panel-side settings serf itself has no option for, plus the once-chosen default name. */
interface LocalState {
  microcloud?: string;
  defaultNodeName?: string;
}

/** The config file as read() needs it (parsed once per change, see ConfigFiles.readParsed). */
const readSerfConf = (text: string | undefined) => ({ parsed: text ? parseSerfConf(text) : {}, exists: text !== undefined });

export function newEncryptKey(): string {
  return randomBytes(32).toString('base64');
}

export class SerfModel implements PluginModel, DiscoveryEndpointProvider {
  constructor(
    private readonly ctx: PluginContext,
    private readonly hostname: () => string = os.hostname,
    /** How long to wait for the restarted agent's RPC to answer */
    private readonly rpcWaitMs = 5000,
  ) {}

  private get stateFile(): string {
    return path.join(this.ctx.dataDir, 'settings.json');
  }

  private async readState(): Promise<LocalState> {
    try {
      const raw = JSON.parse(await fs.readFile(this.stateFile, 'utf8')) as LocalState;
      return raw && typeof raw === 'object' ? raw : {};
    } catch {
      return {};
    }
  }

  private async writeState(state: LocalState): Promise<void> {
    await fs.mkdir(this.ctx.dataDir, { recursive: true, mode: 0o700 });
    const temp = `${this.stateFile}.${process.pid}.tmp`;
    await fs.writeFile(temp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
    await fs.rename(temp, this.stateFile);
  }

  /** Default settings; the default node name is derived from the host name once and kept. */
  async defaults(): Promise<SerfSettings> {
    const state = await this.readState();
    let nodeName = state.defaultNodeName;
    if (!nodeName) {
      nodeName = defaultNodeName(this.hostname(), randomBytes(2).toString('hex'));
      await this.writeState({ ...state, defaultNodeName: nodeName });
    }
    return SerfSettingsSchema.parse({
      nodeName,
      bindAddress: '0.0.0.0',
      bindPort: DEFAULT_BIND_PORT,
      advertiseAddress: '',
      rpcAddress: '127.0.0.1:7373',
      peers: [],
      microcloud: state.microcloud ?? '',
      encryptKey: '',
      profile: 'wan',
    });
  }

  /** Current settings from the real config file; missing fields come from the defaults. */
  async read(): Promise<{ settings: SerfSettings; managed: boolean }> {
    const { parsed, exists } = await this.ctx.system.readParsed(SERF_CONF, readSerfConf);
    const state = await this.readState();
    const merged = { ...(await this.defaults()), ...parsed, ...(state.microcloud !== undefined ? { microcloud: state.microcloud } : {}) };
    const valid = SerfSettingsSchema.safeParse(merged);
    return { settings: valid.success ? valid.data : await this.defaults(), managed: exists && valid.success };
  }

  private async serfGid(): Promise<number | undefined> {
    const result = await this.ctx.system.run(['getent', 'group', SERF_USER], { timeoutMs: 10_000 });
    const gid = Number(result.stdout.split(':')[2]);
    return result.exitCode === 0 && Number.isInteger(gid) && gid > 0 ? gid : undefined;
  }

  /** Writes the config (0640 root:_serf), restarts serf, waits for its RPC; rolls back otherwise. */
  async apply(input: SerfSettings, job?: JobContext): Promise<void> {
    const settings = SerfSettingsSchema.parse(input);
    const gid = await this.serfGid();
    if (gid === undefined) throw new SystemError(`no ${SERF_USER} group: is the serf package installed?`, { messageKey: 'serf:errors.noUser' });
    job?.log(`writing ${SERF_CONF} (mode 0640, group ${SERF_USER})`);
    const previous = await this.readState();
    await this.ctx.system.applyChange({
      files: [{ path: SERF_CONF, content: renderSerfConf(settings), mode: 0o640, uid: 0, gid }],
      activate: async () => {
        job?.log('restarting serf');
        await this.ctx.system.control('serf', 'restart');
        if (!(await this.waitForRpc(settings.rpcAddress))) {
          throw new SystemError(`serf does not answer on ${settings.rpcAddress}`, { messageKey: 'serf:errors.noAnswer' });
        }
        job?.log(`serf answers on ${settings.rpcAddress} as ${settings.nodeName}`);
      },
    });
    await this.writeState({ ...previous, microcloud: settings.microcloud });
  }

  private async waitForRpc(rpcAddress: string): Promise<boolean> {
    const deadline = Date.now() + this.rpcWaitMs;
    do {
      const result = await this.ctx.system.run(['serf', 'info', `-rpc-addr=${rpcAddress}`, '-format=json'], { timeoutMs: 5000 });
      if (result.exitCode === 0) return true;
      await new Promise((resolve) => setTimeout(resolve, 250));
    } while (Date.now() < deadline);
    return false;
  }

  async afterInstall(job: JobContext): Promise<void> {
    const { settings, managed } = await this.read();
    // Debian's serf without a config binds 0.0.0.0:7946 under a random-less host name; ours
    // has a stable name, the query handler and RPC on loopback.
    await this.apply(managed ? settings : await this.defaults(), job);
    await this.ctx.system.enable('serf').catch((error) => job.log(`enable at boot: ${(error as Error).message}`));
  }

  async status(): Promise<PluginStatus> {
    const pkg = await this.ctx.system.packageState('serf');
    const installed = pkg?.installed ?? false;
    if (!installed) return { installed, running: false };
    const running = await this.ctx.system.isRunning('serf');
    const { settings, managed } = await this.read();
    const facts: Record<string, string> = managed ? {
      'serf:facts.node': settings.nodeName,
      'serf:facts.bind': `${settings.bindAddress}:${settings.bindPort}`,
      'serf:facts.rpc': settings.rpcAddress,
      'serf:facts.encrypted': settings.encryptKey ? 'AES' : '—',
    } : {};
    return { installed, running, version: pkg?.version, facts };
  }

  /** Announce serf itself ("join through this node") while it runs with our config. */
  async announcement(): Promise<Announcement | undefined> {
    const { settings, managed } = await this.read();
    if (!managed) return undefined;
    return { port: settings.bindPort, description: `Serf agent ${settings.nodeName}: join the community cloud through this node`.slice(0, 120), txt: settings.encryptKey ? { encrypted: 'yes' } : {} };
  }

  /** How the core discovery reaches the local agent; undefined until our config exists. */
  async discoveryEndpoint(): Promise<SerfEndpoint | undefined> {
    const { settings, managed } = await this.read();
    if (!managed) return undefined;
    const host = this.hostname().toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '') || settings.nodeName.replace(/_/g, '-');
    return {
      rpcAddress: settings.rpcAddress,
      address: settings.advertiseAddress || (settings.bindAddress !== '0.0.0.0' ? settings.bindAddress : ''),
      bindPort: settings.bindPort,
      microcloud: settings.microcloud,
      host,
    };
  }
}
