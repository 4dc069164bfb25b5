// Integration tier: the real panel app on this host (root prefix "/", the real runner, every
// plugin, no background loops) with throwaway config and data folders, and a logged-in admin.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { buildApp } from '../../src/app.js';
import { PanelSettingsSchema } from '../../src/config.js';
import type { JobRecord } from '../../src/core/jobs.js';
import { Browser, initialAdminPassword } from './build-app.js';

export interface PanelOnHost {
  app: FastifyInstance;
  /** The admin, logged in. */
  browser: Browser;
  /** Holds etc/ (config) and var/ (data); removed by close(). */
  dir: string;
  /**
   * Posts a form that starts a job (after loading the plugin's page for a CSRF token), expects the
   * 303 to the job and waits until every job is done: the job's record and log.
   */
  runJob(url: string, form?: Record<string, string>): Promise<{ record: JobRecord; log: string[] }>;
  close(): Promise<void>;
}

/** pluginId: whose page gives the CSRF token for runJob. dir: use this folder (default: a new temp one). */
export async function startPanelOnHost(pluginId: string, { dir = mkdtempSync(path.join(tmpdir(), `cloudy-${pluginId}-it-`)) } = {}): Promise<PanelOnHost> {
  let app: FastifyInstance | undefined;
  try {
    app = await buildApp({
      config: { configDir: path.join(dir, 'etc'), dataDir: path.join(dir, 'var'), rootPrefix: '/', settings: PanelSettingsSchema.parse({}) },
      background: false,
    });
    await app.ready();
    const browser = new Browser(app);
    await browser.login('admin', initialAdminPassword(path.join(dir, 'etc')));
    const ready = app;
    return {
      app: ready, browser, dir,
      async runJob(url, form = {}) {
        await browser.get(`/${pluginId}`);
        const res = await browser.post(url, form);
        expect(res.statusCode, res.body.slice(0, 2000)).toBe(303);
        const id = res.headers.location!.toString().split('/').pop()!;
        await ready.jobs.idle();
        return { record: ready.jobs.get(id)!, log: await ready.jobs.logOf(id) };
      },
      async close() {
        await ready.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await app?.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
