// DNS page: status, settings form (validated line by line, re-shown with errors), apply as a job.
import type { FastifyInstance } from 'fastify';
import type { ControllerContext } from '../../src/registry/define-plugin.js';
import { registerSettingsForm } from '../../src/registry/settings-controller.js';
import { echoValues } from '../../src/lib/form.js';
import { LIMITS, parseDnsForm, settingsToForm, TEXTAREAS, type DnsSettings } from './dns-conf.js';
import type { DnsModel } from './model.js';

/** What the user typed, to refill the form; list fields may be longer than echoValues keeps. */
function echo(body: unknown): Record<string, string> {
  const values = echoValues(body);
  const raw = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  for (const name of TEXTAREAS) {
    const value = raw[name];
    if (typeof value === 'string') values[name] = value.slice(0, LIMITS.text + 1);
  }
  return values;
}

/** Addresses other machines can use ("all" = every address of this node); [] = this node only. */
function clientAddresses(s: DnsSettings): string[] | 'all' {
  if (s.listenAddresses.includes('0.0.0.0')) return 'all';
  const suffix = s.port === 53 ? '' : `#${s.port}`;
  return s.listenAddresses.filter((a) => !a.startsWith('127.')).map((a) => a + suffix);
}

export async function dnsController(app: FastifyInstance, ctx: ControllerContext<DnsModel>) {
  registerSettingsForm(app, ctx, {
    parse: parseDnsForm,
    values: settingsToForm,
    echo,
    // what clients should use as their DNS server (shown once the panel manages named)
    locals: ({ settings, managed }) => ({ clients: managed ? clientAddresses(settings) : undefined }),
  });
}
