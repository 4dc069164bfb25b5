// A real panel app (all plugins, real views and translations) on temp dirs, not listening.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp, type BuildOptions } from '../../src/app.js';
import { PanelSettingsSchema, type PanelConfig } from '../../src/config.js';
import { createTempRoot, type TempRoot } from './temp-root.js';
import { RecordingRunner } from './recording-runner.js';
import { LoginThrottle } from '../../src/core/login-throttle.js';

export interface TestApp {
  app: FastifyInstance;
  root: TempRoot;
  runner: RecordingRunner;
  config: PanelConfig;
  adminPassword: string;
  close(): Promise<void>;
}

/** The local admin's first password, which the first start writes to <configDir>/initial-admin-password. */
export function initialAdminPassword(configDir: string): string {
  return readFileSync(path.join(configDir, 'initial-admin-password'), 'utf8').split('\n')[1]!;
}

export async function buildTestApp(options: Partial<BuildOptions> & { settings?: Partial<PanelConfig['settings']> } = {}): Promise<TestApp> {
  const root = createTempRoot();
  const base = mkdtempSync(path.join(tmpdir(), 'cloudy-app-'));
  const runner = (options.runner as RecordingRunner | undefined) ?? new RecordingRunner();
  const config: PanelConfig = {
    configDir: path.join(base, 'etc'),
    dataDir: path.join(base, 'var'),
    rootPrefix: root.dir,
    settings: PanelSettingsSchema.parse(options.settings ?? {}),
    ...options.config,
  };
  const app = await buildApp({ background: false, throttle: new LoginThrottle(1000), ...options, config, runner });
  await app.ready();
  const adminPassword = initialAdminPassword(config.configDir);
  return {
    app, root, runner, config, adminPassword,
    async close() {
      await app.close();
      runner.killDetached?.();
      root.cleanup();
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/** Cookie jar + CSRF token handling over app.inject, like a browser. */
export class Browser {
  private cookies = new Map<string, string>();
  csrf = '';

  constructor(private readonly app: FastifyInstance, private readonly lang?: string) {}

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private remember(response: LightMyRequestResponse): void {
    for (const c of response.cookies) this.cookies.set(c.name, c.value);
    const match = /name="_csrf" value="([^"]+)"/.exec(response.body);
    if (match) this.csrf = match[1]!;
  }

  async get(url: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    const response = await this.app.inject({ method: 'GET', url, headers: { cookie: this.cookieHeader(), ...(this.lang ? { 'accept-language': this.lang } : {}), ...headers } });
    this.remember(response);
    return response;
  }

  async post(url: string, form: Record<string, string>, { withCsrf = true } = {}): Promise<LightMyRequestResponse> {
    const payload = new URLSearchParams({ ...(withCsrf ? { _csrf: this.csrf } : {}), ...form }).toString();
    const response = await this.app.inject({
      method: 'POST', url, payload,
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: this.cookieHeader(), ...(this.lang ? { 'accept-language': this.lang } : {}) },
    });
    this.remember(response);
    return response;
  }

  async login(username: string, password: string): Promise<LightMyRequestResponse> {
    await this.get('/login');
    return this.post('/login', { username, password });
  }
}
