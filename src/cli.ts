#!/usr/bin/env node
// `cloudy`: the panel's command line. Same models, same validation, no HTTP needed.
//   cloudy status | cloudy plugins | cloudy <install|remove|purge|start|stop|restart> <plugin>
//   cloudy reset-admin-password
import pino from 'pino';
import { z } from 'zod';
import { loadConfig } from './config.js';
import { createSystem } from './system/index.js';
import { Registry, LIFECYCLE_ACTIONS } from './registry/registry.js';
import { AdminStore } from './core/admin-store.js';
import { randomPassword } from './core/passwords.js';
import { plugins } from '../plugins/index.js';
import { PROJECT_ROOT } from './app.js';

const CommandSchema = z.discriminatedUnion('command', [
  z.object({ command: z.literal('status') }),
  z.object({ command: z.literal('plugins') }),
  z.object({ command: z.literal('reset-admin-password') }),
  z.object({ command: z.enum(LIFECYCLE_ACTIONS), plugin: z.string().regex(/^[a-z][a-z0-9-]{1,30}$/, 'plugin id: lowercase letters, digits and -') }),
]);

const USAGE = `usage: cloudy status | plugins | reset-admin-password | <${LIFECYCLE_ACTIONS.join('|')}> <plugin>`;

export async function main(argv: string[]): Promise<number> {
  const parsed = CommandSchema.safeParse({ command: argv[0], plugin: argv[1] });
  if (!parsed.success) {
    process.stderr.write(`${USAGE}\n${parsed.error.issues.map((i) => `  ${i.path.join('.') || 'command'}: ${i.message}`).join('\n')}\n`);
    return 2;
  }
  const config = await loadConfig();
  const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
  const registry = new Registry(plugins, { system: createSystem({ rootPrefix: config.rootPrefix }), dataDir: config.dataDir, log, projectRoot: PROJECT_ROOT });
  const cmd = parsed.data;
  switch (cmd.command) {
    case 'plugins':
      for (const [id, { context: { manifest } }] of registry.plugins) {
        process.stdout.write(`${id}\t${manifest.menu.section}\t${manifest.packages.join(',')}\n`);
      }
      return 0;
    case 'status':
      await registry.refreshAll();
      for (const id of registry.ids) {
        const s = registry.status(id);
        process.stdout.write(`${id}\t${s?.installed ? 'installed' : 'not-installed'}\t${s?.running ? 'running' : 'stopped'}\t${s?.version ?? ''}\n`);
      }
      return 0;
    case 'reset-admin-password': {
      const admin = new AdminStore(config.configDir);
      await admin.init();
      const password = randomPassword();
      await admin.changePassword(password);
      process.stdout.write(`new password for ${admin.username}: ${password}\n`);
      return 0;
    }
    default: {
      if (!registry.plugins.has(cmd.plugin)) {
        process.stderr.write(`no plugin "${cmd.plugin}"; known: ${registry.ids.join(', ')}\n`);
        return 2;
      }
      try {
        await registry.runLifecycle(cmd.plugin, cmd.command, {
          log: (line) => process.stdout.write(`${line}\n`),
          progress: (percent, message) => process.stderr.write(`[${String(percent).padStart(3)}%] ${message ?? ''}\n`),
        });
        return 0;
      } catch (error) {
        process.stderr.write(`failed: ${(error as Error).message}\n`);
        return 1;
      }
    }
  }
}

process.exitCode = await main(process.argv.slice(2));
