// What the SNMP plugin changes on the OS: /etc/snmp/snmpd.conf, and the snmpd service.
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { PluginContext, PluginModel, PluginStatus } from '../../src/registry/define-plugin.js';
import type { JobContext } from '../../src/core/jobs.js';
import { SNMPD_CONF } from './manifest.js';
import { parseSnmpdConf, renderSnmpdConf, SnmpSettingsSchema, type SnmpSettings } from './snmpd-conf.js';
import { probeSysName } from './snmp-probe.js';
import { SystemError } from '../../src/system/index.js';

export function defaultSettings(): SnmpSettings {
  return {
    // A random community: there is no guessable default.
    community: randomBytes(12).toString('base64url').slice(0, 16),
    listenAddress: '0.0.0.0',
    port: 161,
    allowedNetwork: '10.0.0.0/8',
    sysLocation: 'Cloudy node',
    sysContact: `root@${os.hostname()}`,
  };
}

/** snmpd.conf as read() needs it (cached by the system layer until the file changes); `complete`:
 * the settings when the file alone has every one of them, valid (as read() would merge them). */
function readSnmpdConf(text: string | undefined) {
  const parsed = text ? parseSnmpdConf(text) : {};
  return { parsed, managed: Boolean(text?.includes('Managed by Cloudy panel')), complete: SnmpSettingsSchema.safeParse(parsed).data };
}

export type SysNameProbe = (host: string, port: number, community: string, timeoutMs: number) => Promise<string | undefined>;

export class SnmpModel implements PluginModel {
  constructor(private readonly ctx: PluginContext, private readonly probe: SysNameProbe = probeSysName) {}

  /** Current settings from the real snmpd.conf; fields it lacks come from the defaults. */
  async read(): Promise<{ settings: SnmpSettings; managed: boolean }> {
    const { parsed, managed, complete } = await this.ctx.system.readParsed(SNMPD_CONF, readSnmpdConf);
    if (complete) return { settings: complete, managed }; // every field in the file: no defaults
    const merged = { ...defaultSettings(), ...parsed };
    const valid = SnmpSettingsSchema.safeParse(merged);
    return {
      settings: valid.success ? valid.data : { ...merged, community: defaultSettings().community },
      managed,
    };
  }

  /** Form-level checks that need this host's facts (zod checks the shape). */
  checkHostFacts(settings: SnmpSettings): Record<string, string> {
    const local = new Set(['0.0.0.0', ...Object.values(os.networkInterfaces()).flat().map((a) => a?.address)]);
    return local.has(settings.listenAddress) ? {} : { listenAddress: 'snmp:errors.notLocal' };
  }

  /** Writes snmpd.conf and restarts snmpd; if it does not come back answering, the old file returns. */
  async apply(input: SnmpSettings, job?: JobContext): Promise<void> {
    const settings = SnmpSettingsSchema.parse(input);
    const problems = Object.values(this.checkHostFacts(settings));
    if (problems.length) throw new SystemError(`invalid settings: ${problems.join(', ')}`);
    job?.log(`writing ${SNMPD_CONF}`);
    await this.ctx.system.applyChange({
      files: [{ path: SNMPD_CONF, content: renderSnmpdConf(settings), mode: 0o600 }],
      activate: async () => {
        job?.log('restarting snmpd');
        await this.ctx.system.control('snmpd', 'restart');
        const answer = await this.waitForAnswer(settings);
        if (answer === undefined) throw new SystemError('snmpd does not answer with the new settings', { messageKey: 'snmp:errors.noAnswer' });
        job?.log(`snmpd answers: sysName = ${answer}`);
      },
    });
  }

  private async waitForAnswer(settings: SnmpSettings): Promise<string | undefined> {
    // Only ever probe this host: 127.0.0.1 for "all interfaces", else our own (checked) address.
    const host = settings.listenAddress === '0.0.0.0' ? '127.0.0.1' : settings.listenAddress;
    for (let attempt = 0; attempt < 10; attempt++) {
      const answer = await this.probe(host, settings.port, settings.community, 500);
      if (answer !== undefined) return answer;
    }
    return undefined;
  }

  async afterInstall(job: JobContext): Promise<void> {
    const { settings, managed } = await this.read();
    // Debian's default config answers "public" to everyone; replace it with safe defaults.
    await this.apply(managed ? settings : defaultSettings(), job);
  }

  async status(): Promise<PluginStatus> {
    const pkg = await this.ctx.system.packageState('snmpd');
    const installed = pkg?.installed ?? false;
    if (!installed) return { installed, running: false };
    const running = await this.ctx.system.isRunning('snmpd');
    const { settings } = await this.read();
    const facts: Record<string, string> = { 'snmp:facts.listen': `${settings.listenAddress}:${settings.port}/udp` };
    if (running) {
      const host = settings.listenAddress === '0.0.0.0' ? '127.0.0.1' : settings.listenAddress;
      const sysName = await this.probe(host, settings.port, settings.community, 500);
      facts['snmp:facts.answering'] = sysName ?? '—';
    }
    return { installed, running, version: pkg?.version, facts };
  }
}
