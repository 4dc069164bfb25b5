// What the Squid plugin changes on the OS: its fragment /etc/squid/conf.d/cloudy.conf and the
// squid service. Debian's squid.conf is read (for its own http_port lines) and never written.
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Announcement, PluginContext, PluginModel, PluginStatus } from '../../src/registry/define-plugin.js';
import type { JobContext } from '../../src/core/jobs.js';
import { SystemError } from '../../src/system/index.js';
import { SQUID_BIN, SQUID_CONF, SQUID_FRAGMENT } from './manifest.js';
import {
  GUIFI_LDAP, isHostname, parseProblems, parseRejected, parseSquidConf, renderSquidConf, squidConfListenPorts,
  SquidSettingsSchema, type SquidSettings,
} from './squid-conf.js';
import { describeAnswer, formatMb, isSquid, parseStoreDir, probeSquid, type ProbeAnswer, type SquidProbe } from './squid-probe.js';

const SERVICE = 'squid';
const STORE_REPORT = '/squid-internal-mgr/storedir';

export function defaultSettings(): SquidSettings {
  const host = os.hostname();
  const hostname = isHostname(host) ? host : 'cloudy';
  return {
    port: 3128,
    allowedNetworks: ['10.0.0.0/8', '172.16.0.0/12'],
    cacheDiskMb: 1024,
    cacheMemMb: 128,
    maxObjectMb: 32,
    adminEmail: `root@${hostname}`,
    visibleHostname: hostname,
    errorLanguage: 'auto',
    auth: 'none',
    ldapMain: GUIFI_LDAP.main,
    ldapBackup: GUIFI_LDAP.backup,
    ldapBaseDn: GUIFI_LDAP.baseDn,
    ldapUserAttribute: GUIFI_LDAP.userAttribute,
    ldapGroup: '',
    ldapRealm: GUIFI_LDAP.realm,
    parentProxy: '',
  };
}

const readFragment = (text: string | undefined) =>
  ({ parsed: text ? parseSquidConf(text) : {}, managed: Boolean(text?.includes('Managed by Cloudy panel')) });
const readMainPorts = (text: string | undefined) => squidConfListenPorts(text ?? '');

export interface HostProblem {
  key: string;
  params?: Record<string, string>;
}

export interface SquidModelOptions {
  probe?: SquidProbe;
  /** How long to wait for squid to answer after a restart */
  answerTimeoutMs?: number;
}

export interface SquidReading {
  settings: SquidSettings;
  /** The fragment exists and is ours */
  managed: boolean;
  /** Ports squid.conf itself listens on (Debian: 3128), besides the fragment's */
  mainPorts: number[];
  /** Of those, the ones declared as a bare port (the fragment must not repeat them) */
  mainBarePorts: number[];
}

export class SquidModel implements PluginModel {
  private readonly probe: SquidProbe;
  private readonly answerTimeoutMs: number;

  constructor(private readonly ctx: PluginContext, options: SquidModelOptions = {}) {
    this.probe = options.probe ?? probeSquid;
    this.answerTimeoutMs = options.answerTimeoutMs ?? 20_000;
  }

  /** Current settings from the fragment; what it lacks (or has invalid) comes from the defaults. */
  async read(): Promise<SquidReading> {
    // both parsed once per change of the file (squid.conf is large), see ConfigFiles.readParsed
    const [fragment, ports] = await Promise.all([
      this.ctx.system.readParsed(SQUID_FRAGMENT, readFragment),
      this.ctx.system.readParsed(SQUID_CONF, readMainPorts),
    ]);
    const defaults = defaultSettings();
    const merged: Record<string, unknown> = { ...defaults, ...fragment.parsed };
    let valid = SquidSettingsSchema.safeParse(merged);
    if (!valid.success) {
      // a hand-edited fragment: keep what is valid, show defaults for the rest
      for (const issue of valid.error.issues) {
        const field = String(issue.path[0] ?? '');
        if (field in defaults) merged[field] = defaults[field as keyof SquidSettings];
      }
      valid = SquidSettingsSchema.safeParse(merged);
    }
    return {
      settings: valid.success ? valid.data : defaults,
      managed: fragment.managed,
      mainPorts: ports.ports,
      mainBarePorts: ports.bare,
    };
  }

  /** Form-level checks that need this host's facts (zod checks the shape). */
  checkHostFacts(settings: SquidSettings): Record<string, HostProblem> {
    const problems: Record<string, HostProblem> = {};
    const halfMb = Math.floor(os.totalmem() / 2 / 1024 / 1024);
    if (settings.cacheMemMb > halfMb) problems.cacheMemMb = { key: 'squid:errors.cacheMemHost', params: { max: String(halfMb) } };
    return problems;
  }

  /**
   * Writes the fragment, checks it with `squid -k parse`, restarts squid and waits until squid
   * itself answers on the new port. Any failure puts the previous fragment back (and squid as it
   * was: restarted with the old settings, or stopped again if it was stopped).
   */
  async apply(input: SquidSettings, job?: JobContext): Promise<void> {
    const settings = SquidSettingsSchema.parse(input);
    const problems = Object.values(this.checkHostFacts(settings));
    if (problems.length) throw new SystemError(`invalid settings: ${problems.map((p) => p.key).join(', ')}`);
    const before = await this.read();
    const portDeclaredElsewhere = before.mainBarePorts.includes(settings.port);
    if (portDeclaredElsewhere) job?.log(`http_port ${settings.port} is already declared in ${SQUID_CONF}: not repeated`);
    const others = before.mainPorts.filter((p) => p !== settings.port);
    if (others.length) job?.log(`note: ${SQUID_CONF} also listens on ${others.join(', ')} (same access rules)`);
    const wasRunning = await this.ctx.system.isRunning(SERVICE);
    // where the old configuration answers, to check the rollback too
    const previousPort = before.managed ? before.settings.port : (before.mainPorts[0] ?? 3128);
    let attempt = 0;

    job?.progress(20, `writing ${SQUID_FRAGMENT}`);
    job?.log(`writing ${SQUID_FRAGMENT}`);
    await this.ctx.system.applyChange({
      files: [{ path: SQUID_FRAGMENT, content: renderSquidConf(settings, { portDeclaredElsewhere }), mode: 0o644 }],
      test: async () => {
        job?.progress(40, 'squid -k parse');
        await this.checkConfig(job);
      },
      activate: async () => {
        attempt++;
        if (attempt === 1) {
          job?.progress(60, 'restarting squid');
          job?.log('restarting squid');
          await this.ctx.system.control(SERVICE, 'restart');
          await this.waitForSquid(settings.port, job);
          return;
        }
        // rolling back: the previous fragment is in place again
        if (!wasRunning) {
          job?.log('squid was not running before: stopping it again');
          await this.ctx.system.control(SERVICE, 'stop');
          return;
        }
        job?.log('restarting squid with the previous settings');
        await this.ctx.system.control(SERVICE, 'restart');
        await this.waitForSquid(previousPort, job);
      },
    });
    job?.progress(100, 'done');
  }

  /** `squid -k parse` on the whole configuration (squid.conf and every conf.d file). */
  async checkConfig(job?: JobContext): Promise<void> {
    const argv = [SQUID_BIN, '-k', 'parse', '-f', SQUID_CONF];
    const result = await this.ctx.system.run(argv, { timeoutMs: 60_000 });
    const output = `${result.stderr}\n${result.stdout}`;
    const problems = parseProblems(output);
    if (parseRejected(result.exitCode, output)) {
      for (const line of problems) job?.log(line);
      throw new SystemError(`squid -k parse rejected the configuration (exit ${result.exitCode})`, {
        argv, exitCode: result.exitCode, output: problems.join('\n') || output.trim().slice(-2000), messageKey: 'squid:errors.parse',
      });
    }
    for (const line of problems) job?.log(line);
    job?.log('squid -k parse: configuration accepted');
  }

  /**
   * Polls 127.0.0.1:<port> until squid itself answers. Another program answering there means squid
   * could not bind the port (it logs an error and runs without it): give up after a few answers.
   */
  private async waitForSquid(port: number, job?: JobContext): Promise<ProbeAnswer> {
    const started = Date.now();
    let last: ProbeAnswer | undefined;
    let foreign = 0;
    while (Date.now() - started < this.answerTimeoutMs && foreign < 3) {
      last = await this.probe(port, STORE_REPORT, 1000);
      if (last && isSquid(last)) {
        job?.log(`squid answers on 127.0.0.1:${port} (${describeAnswer(last)}) after ${Date.now() - started} ms`);
        const store = parseStoreDir(last.body);
        if (store) job?.log(`disk cache: ${formatMb(store.currentKb)} used of ${formatMb(store.maxKb)}`);
        return last;
      }
      foreign = last ? foreign + 1 : 0;
      await sleep(250);
    }
    const seen = last ? `something else answers (HTTP ${last.status}, Server "${last.server}")` : 'nothing answers';
    throw new SystemError(`squid does not answer on 127.0.0.1:${port}: ${seen}`, { messageKey: 'squid:errors.noAnswer' });
  }

  async afterInstall(job: JobContext): Promise<void> {
    const { settings, managed } = await this.read();
    // Debian's default only serves localhost on 3128; start from the panel's settings (or keep ours).
    await this.apply(managed ? settings : defaultSettings(), job);
  }

  async status(): Promise<PluginStatus> {
    const pkg = await this.ctx.system.packageState('squid');
    const installed = pkg?.installed ?? false;
    if (!installed) return { installed, running: false };
    const running = await this.ctx.system.isRunning(SERVICE);
    const { settings, managed, mainPorts } = await this.read();
    const ports = [...new Set([...(managed ? [settings.port] : []), ...mainPorts])];
    const facts: Record<string, string> = { 'squid:facts.listen': ports.length ? `${ports.join(', ')}/tcp` : '—' };
    if (running) {
      const port = managed ? settings.port : (mainPorts[0] ?? 3128);
      const answer = await this.probe(port, STORE_REPORT, 1000);
      facts['squid:facts.answering'] = answer && isSquid(answer) ? describeAnswer(answer) : '—';
      const store = answer && isSquid(answer) ? parseStoreDir(answer.body) : undefined;
      if (store && store.maxKb > 0) {
        const percent = Math.round((store.currentKb / store.maxKb) * 1000) / 10;
        facts['squid:facts.cache'] = `${formatMb(store.currentKb)} / ${formatMb(store.maxKb)} (${percent}%)`;
      }
    }
    if (managed) {
      facts['squid:facts.memory'] = `${settings.cacheMemMb} MB`;
      if (settings.auth === 'ldap') facts['squid:facts.ldap'] = [settings.ldapMain, settings.ldapBackup].filter(Boolean).join(', ');
      if (settings.parentProxy) facts['squid:facts.parent'] = settings.parentProxy;
    }
    return { installed, running, version: pkg?.version, facts };
  }

  /** proxy3 record for discovery: only once the panel configured an installed squid. */
  async announcement(): Promise<Announcement | undefined> {
    if (!(await this.ctx.system.isInstalled())) return undefined;
    const { settings, managed } = await this.read();
    if (!managed) return undefined;
    return {
      port: settings.port,
      description: `Squid web proxy (Proxy3) on ${settings.visibleHostname}`.slice(0, 120),
      txt: { federated: settings.parentProxy ? 'yes' : 'no', auth: settings.auth },
    };
  }
}
