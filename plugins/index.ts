// Every plugin the panel loads, explicitly (a test checks this list matches the folders).
import type { CloudyPlugin } from '../src/registry/define-plugin.js';
import snmp from './snmp/index.js';
import squid from './squid/index.js';
import dns from './dns/index.js';
import serf from './serf/index.js';

export const plugins: readonly CloudyPlugin[] = [snmp, dns, squid, serf] as unknown as readonly CloudyPlugin[];
