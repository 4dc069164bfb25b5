// SNMP page: status, settings form (validated, re-shown with errors), apply as a job.
import type { FastifyInstance } from 'fastify';
import type { ControllerContext } from '../../src/registry/define-plugin.js';
import { registerSettingsForm } from '../../src/registry/settings-controller.js';
import { SnmpSettingsSchema } from './snmpd-conf.js';
import type { SnmpModel } from './model.js';

export async function snmpController(app: FastifyInstance, ctx: ControllerContext<SnmpModel>) {
  registerSettingsForm(app, ctx, {
    schema: SnmpSettingsSchema,
    values: (settings) => Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, String(v)])),
  });
}
