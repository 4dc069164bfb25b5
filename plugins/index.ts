// Every plugin the panel loads, explicitly (a test checks this list matches the folders).
import type { CloudyPlugin } from '../src/registry/define-plugin.js';
import snmp from './snmp/index.js';

export const plugins: readonly CloudyPlugin[] = [snmp] as unknown as readonly CloudyPlugin[];
