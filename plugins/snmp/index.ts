// The SNMP plugin: the reference every other plugin copies.
import { definePlugin } from '../../src/registry/define-plugin.js';
import { manifest } from './manifest.js';
import { SnmpModel } from './model.js';
import { snmpController } from './controller.js';

export default definePlugin({
  manifest,
  createModel: (context) => new SnmpModel(context),
  controller: snmpController,
});
