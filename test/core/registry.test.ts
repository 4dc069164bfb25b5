import { describe, expect, it } from 'vitest';
import { readdirSync, existsSync, readFileSync } from 'node:fs';
import pino from 'pino';
import { plugins } from '../../plugins/index.js';
import { Registry } from '../../src/registry/registry.js';
import { definePlugin } from '../../src/registry/define-plugin.js';
import { createSystem } from '../../src/system/index.js';
import { RecordingRunner } from '../helpers/recording-runner.js';

const log = pino({ level: 'silent' });
const system = createSystem({ rootPrefix: '/nonexistent-root', runner: new RecordingRunner() });

function fakePlugin(id: string, section: 'guifi' | 'search' | 'clommunity' | 'system', order: number) {
  return definePlugin({
    manifest: { id, version: 1, menu: { section, order }, title: 'title', description: 'description', packages: ['hello'], services: [{ name: id }] },
    createModel: () => ({ status: async () => ({ installed: false, running: false }) }),
    controller: async () => undefined,
  });
}

describe('plugin registry', () => {
  it('plugins/index.ts lists exactly the plugin folders', () => {
    const folders = readdirSync('plugins', { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(`plugins/${d.name}/manifest.ts`)).map((d) => d.name).sort();
    expect(plugins.map((p) => p.manifest.id).sort()).toEqual(folders);
  });

  it('builds menus per section, ordered by manifest order then id', () => {
    const registry = new Registry([fakePlugin('zeta', 'guifi', 10), fakePlugin('alpha', 'guifi', 20), fakePlugin('beta', 'guifi', 10), fakePlugin('gamma', 'search', 1)],
      { system, dataDir: '/tmp/x', log, projectRoot: '.' });
    const menus = registry.menus();
    expect(menus.guifi.map((e) => e.id)).toEqual(['beta', 'zeta', 'alpha']);
    expect(menus.search).toEqual([{ id: 'gamma', title: 'gamma:title', href: '/gamma', order: 1 }]);
    expect(menus.clommunity).toEqual([]);
  });

  it('refuses invalid manifests and duplicate ids', () => {
    expect(() => fakePlugin('Bad Id', 'guifi', 1)).toThrow();
    expect(() => definePlugin({
      manifest: { id: 'x1', version: 1, menu: { section: 'guifi', order: 1 }, title: 't', description: 'd', packages: ['ok; rm -rf /'], services: [{ name: 'x' }] },
      createModel: () => ({ status: async () => ({ installed: false, running: false }) }),
      controller: async () => undefined,
    })).toThrow();
    expect(() => new Registry([fakePlugin('same', 'guifi', 1), fakePlugin('same', 'search', 2)], { system, dataDir: '/tmp/x', log, projectRoot: '.' })).toThrow(/duplicate/);
  });

  it('gives each plugin a handle scoped to its manifest', () => {
    const registry = new Registry([fakePlugin('alpha', 'guifi', 1)], { system, dataDir: '/tmp/x', log, projectRoot: '.' });
    const handle = registry.plugins.get('alpha')!.context.system;
    expect(() => handle.packageState('openssh-server')).toThrow(/did not declare package/);
    expect(() => handle.readFile('/etc/shadow')).toThrow(/did not declare path/);
  });

  it('only src/system runs commands or imports execa', () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const full = `${dir}/${entry.name}`;
        if (entry.isDirectory()) { walk(full); continue; }
        if (!full.endsWith('.ts') || full.includes('/test/') || full.startsWith('src/system/')) continue;
        const text = readFileSync(full, 'utf8');
        if (/from 'execa'|from 'node:child_process'|require\('child_process'\)/.test(text)) offenders.push(full);
      }
    };
    walk('src');
    walk('plugins');
    expect(offenders).toEqual([]);
  });
});

describe('menu pages (no JavaScript needed)', () => {
  it('lists each section with core entries first, and 404s an unknown section', async () => {
    const { buildTestApp, Browser } = await import('../helpers/build-app.js');
    const t = await buildTestApp();
    try {
      const b = new Browser(t.app);
      await b.login('admin', t.adminPassword);
      const guifi = await b.get('/menu/guifi');
      expect(guifi.statusCode).toBe(200);
      for (const id of ['snmp', 'squid', 'dns']) expect(guifi.body).toContain(`class="list-group-item list-group-item-action" href="/${id}"`);
      const search = await b.get('/menu/search');
      expect(search.body.indexOf('href="/search"')).toBeLessThan(search.body.indexOf('href="/serf"'));
      const system = await b.get('/menu/system');
      expect(system.body).toContain('action="/logout"');
      expect((await b.get('/menu/bogus')).statusCode).toBe(404);
      const home = await b.get('/');
      expect(home.body).toContain('href="/menu/guifi"');
      expect(home.body).toContain('css/nojs.css');
    } finally {
      await t.close();
    }
  });
});
