// What the DNS plugin changes on the OS: named.conf.options (owned), one include line in
// named.conf.local, /etc/bind/cloudy/ (zones.conf + the zone file), and the named service.
import os from 'node:os';
import type { Announcement, PluginContext, PluginModel, PluginStatus } from '../../src/registry/define-plugin.js';
import type { JobContext } from '../../src/core/jobs.js';
import { SystemError, type FileChange } from '../../src/system/index.js';
import {
  DEBIAN_OPTIONS_COPY, LOCAL_CONF, NAMED_CHECKCONF, NAMED_CHECKZONE, NAMED_CONF, OPTIONS_CONF, ZONES_CONF, zoneFilePath,
} from './manifest.js';
import {
  DnsFormSchema, nextSerial, parseOptionsConf, parseZoneFile, parseZonesConf, renderOptionsConf, renderZoneFile,
  renderZonesConf, settingsToForm, validateSettings, withZonesInclude, type DnsSettings,
} from './dns-conf.js';
import { digArgv, parseDig, soaSerial } from './dig.js';

const MANAGED = 'Managed by Cloudy panel';
const SERVICE = 'named';

export function defaultSettings(): DnsSettings {
  return {
    listenAddresses: ['127.0.0.1'],
    port: 53,
    // this host, and guifi.net's address space
    allowRecursion: ['127.0.0.0/8', '10.0.0.0/8'],
    forwarders: [],
    forwardOnly: true,
    forwardZones: [],
    zone: 'cloudy.lan',
    records: [],
    dnssecValidation: true,
  };
}

const readOptions = (text: string | undefined) => (text ? { parsed: parseOptionsConf(text), managed: text.includes(MANAGED) } : undefined);
const readZones = (text: string | undefined) => (text ? parseZonesConf(text) : undefined);
const readZone = (text: string | undefined) => (text ? parseZoneFile(text) : undefined);

export interface DnsModelOptions {
  /** How many times (and how far apart) to ask named for the zone's SOA after a restart. */
  probeAttempts?: number;
  probeDelayMs?: number;
  now?: () => Date;
  /** IPv4 addresses of this host (default: from os.networkInterfaces()). */
  localAddresses?: () => string[];
}

export type HostProblems = Record<string, { key: string; params?: Record<string, string> }>;

/** Where to ask named: 127.0.0.1 when it listens everywhere, else its first (local) address. */
const probeHost = (s: Pick<DnsSettings, 'listenAddresses'>) =>
  s.listenAddresses.includes('0.0.0.0') || s.listenAddresses.includes('127.0.0.1') ? '127.0.0.1' : s.listenAddresses[0]!;

interface Expectation { host: string; port: number; zone: string; serial?: number }

export class DnsModel implements PluginModel {
  private readonly options: Required<DnsModelOptions>;

  constructor(private readonly ctx: PluginContext, options: DnsModelOptions = {}) {
    this.options = {
      probeAttempts: options.probeAttempts ?? 20,
      probeDelayMs: options.probeDelayMs ?? 500,
      now: options.now ?? (() => new Date()),
      localAddresses: options.localAddresses
        ?? (() => Object.values(os.networkInterfaces()).flat().filter((a) => a?.family === 'IPv4').map((a) => a!.address)),
    };
  }

  /** Current settings from the real files; what they lack comes from the defaults. */
  async read(): Promise<{ settings: DnsSettings; managed: boolean; serial?: number }> {
    const system = this.ctx.system;
    // each file parsed once per change (ConfigFiles.readParsed)
    const options = await system.readParsed(OPTIONS_CONF, readOptions);
    const fromZones = await system.readParsed(ZONES_CONF, readZones);
    const fromZone = fromZones?.zone ? await system.readParsed(zoneFilePath(fromZones.zone), readZone) : undefined;
    const merged: DnsSettings = {
      ...defaultSettings(),
      ...(options?.parsed ?? {}),
      ...(fromZones ? { forwardZones: fromZones.forwardZones } : {}),
      ...(fromZones?.zone ? { zone: fromZones.zone } : {}),
      ...(fromZone ? { records: fromZone.records } : {}),
    };
    const valid = DnsFormSchema.safeParse(settingsToForm(merged));
    return {
      settings: valid.success ? valid.data : merged,
      managed: Boolean(options?.managed && fromZones?.zone),
      serial: fromZone?.serial,
    };
  }

  /** Form-level checks that need this host's facts (zod checks the shape). */
  checkHostFacts(settings: DnsSettings): HostProblems {
    const local = new Set(['0.0.0.0', ...this.options.localAddresses()]);
    const stranger = settings.listenAddresses.find((a) => !local.has(a));
    return stranger ? { listenAddresses: { key: 'dns:errors.notLocal', params: { value: stranger } } } : {};
  }

  /**
   * Writes the files, checks them with named-checkconf and named-checkzone, restarts named and
   * waits until it serves the new zone serial; any failure puts every file back (and named
   * keeps or gets back the old configuration).
   */
  async apply(input: DnsSettings, job?: JobContext): Promise<void> {
    const settings = validateSettings(input);
    const problems = Object.values(this.checkHostFacts(settings));
    if (problems.length) throw new SystemError(`invalid settings: ${problems.map((p) => `${p.key} ${p.params?.value ?? ''}`).join(', ')}`);
    const system = this.ctx.system;
    const current = await this.read();

    const zonePath = zoneFilePath(settings.zone);
    const oldZoneText = await system.readFile(zonePath);
    const oldSerial = oldZoneText ? parseZoneFile(oldZoneText).serial : undefined;
    // The serial only moves when the zone's content does.
    let serial = oldSerial ?? nextSerial(undefined, this.options.now());
    let zoneText = renderZoneFile(settings, serial);
    if (zoneText !== oldZoneText) {
      serial = nextSerial(oldSerial, this.options.now());
      zoneText = renderZoneFile(settings, serial);
    }

    const files: FileChange[] = [];
    const options = await system.readFile(OPTIONS_CONF);
    if (options !== undefined && !options.includes(MANAGED) && (await system.readFile(DEBIAN_OPTIONS_COPY)) === undefined) {
      job?.log(`keeping Debian's ${OPTIONS_CONF} as ${DEBIAN_OPTIONS_COPY}`);
      files.push({ path: DEBIAN_OPTIONS_COPY, content: options, mode: 0o644 });
    }
    // 0644 in /etc/bind (setgid group bind): named, running as bind, reads them all.
    files.push({ path: OPTIONS_CONF, content: renderOptionsConf(settings), mode: 0o644 });
    files.push({ path: zonePath, content: zoneText, mode: 0o644 });
    files.push({ path: ZONES_CONF, content: renderZonesConf(settings), mode: 0o644 });
    const oldZone = current.managed ? current.settings.zone : undefined;
    if (oldZone && oldZone !== settings.zone) files.push({ path: zoneFilePath(oldZone), content: null });
    const local = withZonesInclude(await system.readFile(LOCAL_CONF));
    if (local !== undefined) {
      job?.log(`adding the include of ${ZONES_CONF} to ${LOCAL_CONF}`);
      files.push({ path: LOCAL_CONF, content: local });
    }

    const previous: Expectation | undefined = current.managed
      ? { host: probeHost(current.settings), port: current.settings.port, zone: current.settings.zone, serial: current.serial }
      : undefined;
    const wanted: Expectation = { host: probeHost(settings), port: settings.port, zone: settings.zone, serial };
    let activations = 0;

    job?.log(`writing ${files.map((f) => f.path).join(', ')}`);
    await system.applyChange({
      files,
      test: async () => {
        await this.check([NAMED_CHECKCONF, system.root.path(NAMED_CONF)], job);
        await this.check([NAMED_CHECKZONE, settings.zone, system.root.path(zonePath)], job);
      },
      activate: async () => {
        // The first call brings the new config up; a second one (after a rollback) the old one.
        const expect = activations++ === 0 ? wanted : previous;
        job?.log('restarting named');
        await system.control(SERVICE, 'restart');
        if (!expect) return;
        const answered = await this.waitForSerial(expect);
        if (answered === undefined) {
          throw new SystemError(`named does not answer for ${expect.zone} on ${expect.host}#${expect.port}${expect.serial ? ` with serial ${expect.serial}` : ''}`, { messageKey: 'dns:errors.noAnswer' });
        }
        job?.log(`named answers on ${expect.host}#${expect.port}: ${expect.zone} SOA serial ${answered}`);
      },
    });
  }

  /** Runs a checker; its output goes to the job log, and a failure carries it in the error. */
  private async check(argv: string[], job?: JobContext): Promise<void> {
    job?.log(`$ ${argv.join(' ')}`);
    const result = await this.ctx.system.run(argv, { timeoutMs: 60_000 });
    const output = (result.stdout + result.stderr).trim();
    if (result.exitCode !== 0) {
      throw new SystemError(`${argv[0]} refused the configuration: ${output.split('\n').slice(-3).join(' ')}`, { argv, exitCode: result.exitCode, output: output.slice(-4000) });
    }
    for (const line of output.split('\n').filter(Boolean).slice(-20)) job?.log(line);
  }

  /** Asks named (on this host only) for the zone's SOA; the serial it serves, if authoritative. */
  private async askSoa(e: Expectation): Promise<number | undefined> {
    const result = await this.ctx.system.run(digArgv(e.host, e.port, e.zone, 'SOA'), { timeoutMs: 5_000 });
    return soaSerial(parseDig(result.stdout), e.zone);
  }

  private async waitForSerial(e: Expectation): Promise<number | undefined> {
    for (let attempt = 0; attempt < this.options.probeAttempts; attempt++) {
      if (attempt) await new Promise((resolve) => setTimeout(resolve, this.options.probeDelayMs));
      const serial = await this.askSoa(e);
      if (serial !== undefined && (e.serial === undefined || serial === e.serial)) return serial;
    }
    return undefined;
  }

  async afterInstall(job: JobContext): Promise<void> {
    // Keeps the panel's settings (or what Debian's file says, e.g. forwarders) when valid.
    const { settings } = await this.read();
    const valid = DnsFormSchema.safeParse(settingsToForm(settings));
    const chosen = valid.success && !Object.keys(this.checkHostFacts(valid.data)).length ? valid.data : defaultSettings();
    await this.apply(chosen, job);
  }

  async status(): Promise<PluginStatus> {
    const system = this.ctx.system;
    const pkg = await system.packageState('bind9');
    const installed = pkg?.installed ?? false;
    if (!installed) return { installed, running: false };
    const running = await system.isRunning(SERVICE);
    const { settings, managed } = await this.read();
    const facts: Record<string, string> = {
      'dns:facts.listen': settings.listenAddresses.map((a) => `${a}:${settings.port}`).join(', '),
    };
    if (managed) facts['dns:facts.zone'] = settings.zone;
    if (running && managed && (await system.packageState('bind9-dnsutils'))?.installed) {
      const serial = await this.askSoa({ host: probeHost(settings), port: settings.port, zone: settings.zone });
      facts['dns:facts.answering'] = serial === undefined ? '—' : `${settings.zone} SOA ${serial}`;
    }
    return { installed, running, version: pkg?.version, facts };
  }

  /**
   * Announced as `dnsservice` once the panel manages the configuration and named listens on
   * more than loopback (a server only this node can reach is nothing to announce).
   */
  async announcement(): Promise<Announcement | undefined> {
    if (!(await this.ctx.system.packageState('bind9'))?.installed) return undefined;
    const { settings, managed } = await this.read();
    if (!managed || settings.listenAddresses.every((a) => a.startsWith('127.'))) return undefined;
    return {
      port: settings.port,
      description: `DNS server of ${settings.zone}`.slice(0, 120),
      txt: settings.zone.length <= 64 ? { zone: settings.zone } : {},
    };
  }
}
