// A scripted "named" for unit tests: `service named restart` loads whatever the temp root's
// config says (port, zone, zone serial) and dig then answers with that SOA, as the real one would.
import { existsSync, readFileSync } from 'node:fs';
import type { RecordingRunner } from '../../../test/helpers/recording-runner.js';
import type { TempRoot } from '../../../test/helpers/temp-root.js';
import { parseOptionsConf, parseZoneFile, parseZonesConf } from '../dns-conf.js';
import { OPTIONS_CONF, ZONES_CONF, zoneFilePath } from '../manifest.js';

export const DEBIAN_NAMED_CONF = `include "/etc/bind/named.conf.options";\ninclude "/etc/bind/named.conf.local";\ninclude "/etc/bind/named.conf.default-zones";\n`;
export const DEBIAN_OPTIONS = `options {\n\tdirectory "/var/cache/bind";\n\n\t// forwarders {\n\t// \t0.0.0.0;\n\t// };\n\n\tdnssec-validation auto;\n\n\tlisten-on-v6 { any; };\n};\n`;
export const DEBIAN_LOCAL = `//\n// Do any local configuration here\n//\n\n// Consider adding the 1918 zones here, if they are not used in your\n// organization\n//include "/etc/bind/zones.rfc1918";\n\n`;

/** A Debian 12 /etc/bind as bind9 installs it, plus the init script (sysv backend). */
export function seedDebianBind(root: TempRoot): void {
  root.write('/etc/init.d/named', '#!/bin/sh\n');
  root.write('/etc/bind/named.conf', DEBIAN_NAMED_CONF);
  root.write('/etc/bind/named.conf.options', DEBIAN_OPTIONS);
  root.write('/etc/bind/named.conf.local', DEBIAN_LOCAL);
}

export function digSoa(zone: string, serial: number, flags = 'qr aa ra'): string {
  return [
    ';; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 4242',
    `;; flags: ${flags}; QUERY: 1, ANSWER: 1, AUTHORITY: 1, ADDITIONAL: 2`,
    '',
    ';; ANSWER SECTION:',
    `${zone}.\t\t3600\tIN\tSOA\tns.${zone}. hostmaster.${zone}. ${serial} 3600 900 604800 300`,
    '',
  ].join('\n');
}

export interface FakeNamed {
  running: boolean;
  /** What the last (re)start loaded */
  loaded?: { port: number; zone: string; serial: number };
  restarts: number;
  /** Make the next N restarts fail (exit 1), as when named cannot start. */
  failRestarts: number;
  /** Load but never answer (as when named cannot bind its port). */
  silent: boolean;
}

export function fakeNamed(runner: RecordingRunner, root: TempRoot): FakeNamed {
  const state: FakeNamed = { running: false, restarts: 0, failRestarts: 0, silent: false };
  const read = (osPath: string) => (existsSync(root.p(osPath)) ? readFileSync(root.p(osPath), 'utf8') : undefined);
  const load = () => {
    state.loaded = undefined;
    const options = read(OPTIONS_CONF);
    const zones = read(ZONES_CONF);
    const zone = zones ? parseZonesConf(zones).zone : undefined;
    const zoneText = zone ? read(zoneFilePath(zone)) : undefined;
    const serial = zoneText ? parseZoneFile(zoneText).serial : undefined;
    if (zone && serial !== undefined) state.loaded = { port: (options && parseOptionsConf(options).port) || 53, zone, serial };
  };
  const start = () => {
    state.restarts++;
    if (state.failRestarts > 0) {
      state.failRestarts--;
      state.running = false;
      state.loaded = undefined;
      return { exitCode: 1, stderr: 'Starting domain name service...: named failed!' };
    }
    load();
    state.running = true;
    return {};
  };
  runner.on(['service', 'named', 'restart'], start);
  runner.on(['service', 'named', 'start'], start);
  runner.on(['service', 'named', 'stop'], () => { state.running = false; state.loaded = undefined; return {}; });
  runner.on(['service', 'named', 'status'], () => ({ exitCode: state.running ? 0 : 3 }));
  runner.on(['/usr/bin/dig'], (argv) => {
    const port = Number(argv[argv.indexOf('-p') + 1]);
    const zone = argv[argv.length - 2];
    const l = state.loaded;
    if (state.running && !state.silent && l && l.port === port && l.zone === zone) return { stdout: digSoa(zone, l.serial) };
    return { exitCode: 9, stdout: `;; communications error to 127.0.0.1#${port}: connection refused\n;; no servers could be reached\n` };
  });
  return state;
}
