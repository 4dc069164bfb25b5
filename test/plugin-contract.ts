// The shared contract every plugin passes: manifest and translations complete, page renders in
// every language, bad input is refused with translated errors and changes nothing, and the
// lifecycle install → configure → stop → start → remove issues the right commands against a temp
// root with a recording runner (apt "installs" by writing the temp root's dpkg status).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { CloudyPlugin } from '../src/registry/define-plugin.js';
import { ManifestSchema } from '../src/registry/manifest.js';
import { LANGUAGE_CODES } from '../src/core/i18n.js';
import { Browser, buildTestApp, type TestApp } from './helpers/build-app.js';
import { RecordingRunner } from './helpers/recording-runner.js';
import type { TempRoot } from './helpers/temp-root.js';

export interface ContractOptions {
  plugin: CloudyPlugin;
  /** Settings form values that are valid. */
  validForm: Record<string, string>;
  /** Form values that are invalid, and the fields that must show an error. */
  invalidForm: Record<string, string>;
  invalidFields: string[];
  /** Which settings path (under the temp root) the valid form must write. */
  writes: string;
  /** Extra seeding before each test (init scripts, config files...). */
  seed?(root: TempRoot): void;
  /** Scripted answers for the plugin's own commands (config checks, probes). */
  script?(runner: RecordingRunner, root: TempRoot): void;
}

function treeHash(dir: string): string {
  const hash = createHash('sha256');
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const full = path.join(d, name);
      const stat = statSync(full);
      hash.update(full.slice(dir.length)).update(String(stat.mode));
      if (stat.isDirectory()) walk(full);
      else hash.update(readFileSync(full));
    }
  };
  walk(dir);
  return hash.digest('hex');
}

function lookup(object: unknown, key: string): unknown {
  return key.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), object);
}

export function describePluginContract(options: ContractOptions): void {
  const { plugin } = options;
  const id = plugin.manifest.id;

  describe(`plugin contract: ${id}`, () => {
    let t: TestApp;
    let runner: RecordingRunner;

    beforeEach(async () => {
      runner = new RecordingRunner();
      t = await buildTestApp({ runner, plugins: [plugin] });
      options.seed?.(t.root);
      runner.on(['apt-get'], (argv) => {
        const verb = argv.find((a) => ['install', 'remove', 'purge', 'update'].includes(a));
        if (verb === 'install') t.root.installed(Object.fromEntries(plugin.manifest.packages.map((p) => [p, '1.0-1'])));
        if (verb === 'remove' || verb === 'purge') t.root.installed({});
        return { lines: ['dlstatus:1:50:Retrieving', `pmstatus:${plugin.manifest.packages[0]}:50:Installing`, 'Setting up...'] };
      });
      options.script?.(runner, t.root);
      await t.app.registry.refreshAll();
    });
    afterEach(async () => t.close());

    it('has a valid manifest whose id is its folder and is listed in plugins/index.ts', () => {
      expect(ManifestSchema.parse(plugin.manifest)).toEqual(plugin.manifest);
      expect(existsSync(path.join('plugins', id, 'manifest.ts'))).toBe(true);
      expect(readFileSync('plugins/index.ts', 'utf8')).toContain(`./${id}/index.js`);
    });

    it('has its title and description in every language', () => {
      for (const lang of LANGUAGE_CODES) {
        const file = path.join('plugins', id, 'locales', `${lang}.json`);
        const messages = JSON.parse(readFileSync(file, 'utf8'));
        expect(typeof lookup(messages, plugin.manifest.title), `${lang} title`).toBe('string');
        expect(typeof lookup(messages, plugin.manifest.description), `${lang} description`).toBe('string');
      }
    });

    it('renders its page in every language and appears in its menu', async () => {
      const b = new Browser(t.app);
      await b.login('admin', t.adminPassword);
      for (const lang of LANGUAGE_CODES) {
        const messages = JSON.parse(readFileSync(path.join('plugins', id, 'locales', `${lang}.json`), 'utf8'));
        const res = await b.get(`/${id}`, { 'accept-language': lang });
        expect(res.statusCode).toBe(200);
        expect(res.body).toContain(`<html lang="${lang}"`);
        expect(res.body).toContain(String(lookup(messages, plugin.manifest.title)).replaceAll('"', '&quot;'));
        expect(res.body).toContain(`href="/${id}"`);
      }
    });

    it('refuses bad input with translated field errors, keeps the input and changes nothing', async () => {
      t.root.installed(Object.fromEntries(plugin.manifest.packages.map((p) => [p, '1.0-1'])));
      await t.app.registry.refreshAll();
      const b = new Browser(t.app);
      await b.login('admin', t.adminPassword);
      const before = treeHash(t.root.dir);
      runner.calls.length = 0;
      for (const lang of LANGUAGE_CODES) {
        await b.get(`/${id}`, { 'accept-language': lang });
        const res = await b.post(`/${id}`, { ...options.validForm, ...options.invalidForm });
        expect(res.statusCode).toBe(400);
        for (const field of options.invalidFields) {
          expect(res.body, `${lang}: error for ${field}`).toMatch(new RegExp(`data-field-error="${field}">[^<]+<`));
        }
        for (const value of Object.values(options.invalidForm)) {
          const escaped = value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
          expect(res.body).toContain(escaped);
        }
      }
      expect(treeHash(t.root.dir)).toBe(before);
      expect(runner.calls).toEqual([]);
    });

    it('goes through install → configure → stop → start → remove', async () => {
      const b = new Browser(t.app);
      await b.login('admin', t.adminPassword);
      await b.get(`/${id}`);
      const install = await b.post(`/${id}/install`, {});
      expect(install.statusCode).toBe(303);
      expect(install.headers.location).toMatch(/^\/jobs\/[0-9a-f-]{36}$/);
      await t.app.jobs.idle();
      const job = t.app.jobs.list(1)[0]!;
      expect(job.state, job.error).toBe('succeeded');
      const aptInstall = runner.calls.find((c) => c.argv[0] === 'apt-get' && c.argv.includes('install'))!;
      expect(aptInstall.argv.slice(-plugin.manifest.packages.length)).toEqual(plugin.manifest.packages);
      expect(t.app.registry.status(id)?.installed).toBe(true);

      await b.get(`/${id}`);
      const save = await b.post(`/${id}`, options.validForm);
      expect(save.statusCode).toBe(303);
      await t.app.jobs.idle();
      expect(t.app.jobs.list(1)[0]!.state, t.app.jobs.list(1)[0]!.error).toBe('succeeded');
      expect(existsSync(t.root.p(options.writes))).toBe(true);

      const service = plugin.manifest.services[0]!;
      for (const verb of ['stop', 'start'] as const) {
        runner.calls.length = 0;
        await b.get(`/${id}`);
        expect((await b.post(`/${id}/${verb}`, {})).statusCode).toBe(303);
        await t.app.jobs.idle();
        expect(runner.commands()).toContain(`service ${service.initScript ?? service.name} ${verb}`);
      }

      runner.calls.length = 0;
      await b.get(`/${id}`);
      expect((await b.post(`/${id}/remove`, { purge: 'on' })).statusCode).toBe(303);
      await t.app.jobs.idle();
      const remove = runner.calls.find((c) => c.argv[0] === 'apt-get' && c.argv.includes('purge'));
      expect(remove?.argv.slice(-plugin.manifest.packages.length)).toEqual(plugin.manifest.packages);
      expect(t.app.registry.status(id)?.installed).toBe(false);
    });
  });
}
