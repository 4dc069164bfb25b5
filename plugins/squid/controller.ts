// Squid page: status, settings form (validated, re-shown with errors), apply as a job.
import type { FastifyInstance } from 'fastify';
import type { ControllerContext } from '../../src/registry/define-plugin.js';
import { registerSettingsForm } from '../../src/registry/settings-controller.js';
import { ERROR_LANGUAGES, SquidSettingsSchema, toFormValues } from './squid-conf.js';
import type { SquidModel } from './model.js';

export async function squidController(app: FastifyInstance, ctx: ControllerContext<SquidModel>) {
  registerSettingsForm(app, ctx, {
    schema: SquidSettingsSchema,
    values: toFormValues,
    locals: ({ mainPorts }, values) => ({
      // squid.conf's own listeners other than the configured port (Debian: http_port 3128)
      extraPorts: mainPorts.filter((p) => String(p) !== values.port),
      errorLanguages: ERROR_LANGUAGES,
    }),
  });
}
