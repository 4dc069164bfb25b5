// Browser tier for the Squid page: a real panel (temp root, recording runner, fake squid probe) on
// loopback, driven by Debian's chromium through playwright-core. Install through the UI and watch
// the job page reach 100 %; the page in English, Catalan and Spanish refuses bad input with
// translated errors next to the fields and writes nothing; phone width without horizontal scroll.
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser as PwBrowser, type BrowserContext, type Page } from 'playwright-core';
import { buildTestApp, type TestApp } from '../../../test/helpers/build-app.js';
import type { CloudyPlugin } from '../../../src/registry/define-plugin.js';
import squid from '../index.js';
import { SquidModel } from '../model.js';
import { parseSquidConf } from '../squid-conf.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const SHOTS = path.join(REPO, 'test-output', 'screenshots');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const FRAGMENT = '/etc/squid/conf.d/cloudy.conf';

type Json = Record<string, unknown>;
const readJson = (relative: string): Json => JSON.parse(readFileSync(path.join(REPO, relative), 'utf8')) as Json;
function str(locale: Json, key: string): string {
  const value = key.split('.').reduce<unknown>((node, part) => (node as Json | undefined)?.[part], locale);
  if (typeof value !== 'string') throw new Error(`locale key ${key} missing`);
  return value;
}
const locales = { en: readJson('plugins/squid/locales/en.json'), ca: readJson('plugins/squid/locales/ca.json'), es: readJson('plugins/squid/locales/es.json') };

const problems: string[] = [];
const expectedHttpErrors: { status: number; path: string }[] = [];

function watch(page: Page, label: string): void {
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const failed = /^Failed to load resource: the server responded with a status of (\d+)/.exec(message.text());
    if (failed) {
      const where = new URL(message.location().url || page.url()).pathname;
      const index = expectedHttpErrors.findIndex((e) => e.status === Number(failed[1]) && e.path === where);
      if (index >= 0) { expectedHttpErrors.splice(index, 1); return; }
    }
    problems.push(`${label} console: ${message.text()} @ ${message.location().url || page.url()}`);
  });
  page.on('pageerror', (error) => problems.push(`${label} pageerror: ${error.message} @ ${page.url()}`));
}

async function shoot(page: Page, name: string): Promise<void> {
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  expect(statSync(file).size, `${name}.png looks empty`).toBeGreaterThan(10_000);
}

describe('Squid page in a real browser', () => {
  let t: TestApp;
  let base: string;
  let browser: PwBrowser;
  let context: BrowserContext;
  let page: Page;
  /** The fake squid answers on the port of the fragment it was last (re)started with. */
  let listeningOn: number | undefined;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const plugin = {
      ...squid,
      createModel: (ctx) => new SquidModel(ctx, {
        answerTimeoutMs: 2000,
        probe: async (port) => (port === listeningOn ? { status: 200, server: 'squid/5.7', body: 'Maximum Swap Size      : 1048576 KB\nCurrent Store Swap Size: 2048.00 KB\n' } : undefined),
      }),
    } as CloudyPlugin<SquidModel>;
    t = await buildTestApp({ plugins: [plugin as unknown as CloudyPlugin] });
    t.root.write('/etc/init.d/squid', '#!/bin/sh\n');
    t.root.write('/etc/squid/squid.conf', 'include /etc/squid/conf.d/*.conf\nhttp_access allow localhost\nhttp_access deny all\nhttp_port 3128\n');
    // apt takes a moment, so the job page is seen while it runs
    t.runner.on(['apt-get'], async (argv) => {
      if (!argv.includes('install')) return {};
      await sleep(1500);
      t.root.installed({ squid: '5.7-2+deb12u6' });
      return { lines: ['dlstatus:1:40:Retrieving squid', 'pmstatus:squid:70:Installing squid', 'Setting up squid (5.7-2+deb12u6) ...'] };
    });
    t.runner.on(['/usr/sbin/squid', '-k', 'parse'], { stderr: 'Processing: http_port 3128\n' });
    t.runner.on(['service', 'squid', 'restart'], () => {
      const file = t.root.p(FRAGMENT);
      listeningOn = existsSync(file) ? parseSquidConf(readFileSync(file, 'utf8')).port ?? 3128 : 3128;
      return {};
    });
    t.runner.on(['service', 'squid', 'status'], () => ({ exitCode: listeningOn ? 0 : 3 }));
    await t.app.registry.refreshAll();
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const address = t.app.server.address();
    if (!address || typeof address === 'string') throw new Error('no address');
    base = `http://127.0.0.1:${address.port}`;

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    context = await browser.newContext({ viewport: DESKTOP, locale: 'en-US' });
    page = await context.newPage();
    watch(page, 'squid');
    await page.goto(`${base}/login`);
    await page.fill('#f-username', 'admin');
    await page.fill('#f-password', t.adminPassword);
    await Promise.all([page.waitForURL(`${base}/`), page.click('[data-testid=login-submit]')]);
  });

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await t?.close();
  });

  it('installs squid from the page and follows the job to 100 %', async () => {
    await page.goto(`${base}/squid`);
    expect((await page.textContent('h1'))?.trim()).toBe(str(locales.en, 'title'));
    expect(await page.isVisible('[data-testid=install]')).toBe(true);
    await Promise.all([page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/), page.click('[data-testid=install]')]);
    // still running when the page shows up
    expect(await page.getAttribute('#job-state', 'data-state')).toMatch(/^(queued|running)$/);
    await shoot(page, 'squid-install-running-1280');
    await page.waitForSelector('#job-state[data-state=succeeded]', { timeout: 20_000 });
    expect(await page.getAttribute('#job-progress', 'aria-valuenow')).toBe('100');
    expect((await page.textContent('#job-bar'))?.trim()).toBe('100%');
    await page.waitForFunction(() => {
      const bar = document.getElementById('job-bar')!.getBoundingClientRect();
      const track = document.getElementById('job-progress')!.getBoundingClientRect();
      return Math.abs(bar.width - track.width) < 1;
    }, undefined, { timeout: 5_000 });
    const log = await page.textContent('#job-log');
    expect(log).toContain('squid -k parse: configuration accepted');
    expect(log).toContain('squid answers on 127.0.0.1:3128 (squid/5.7)');
    await shoot(page, 'squid-install-done-1280');
    const commands = t.runner.commands();
    expect(commands.some((c) => c.startsWith('apt-get') && c.endsWith('install --no-install-recommends -- squid'))).toBe(true);
    expect(commands).toContain('/usr/sbin/squid -k parse -f /etc/squid/squid.conf');
    expect(commands).toContain('service squid restart');
    expect(readFileSync(t.root.p(FRAGMENT), 'utf8')).toContain('acl cloudy_clients src 10.0.0.0/8 172.16.0.0/12');

    await Promise.all([page.waitForURL(`${base}/squid`), page.click('#job-back')]);
    expect(await page.isVisible('[data-testid=squid-form]')).toBe(true);
    expect(await page.isVisible('[data-testid=stop]')).toBe(true);
    expect(await page.inputValue('#f-port')).toBe('3128');
    await shoot(page, 'squid-1280');
  });

  for (const lang of ['en', 'ca', 'es'] as const) {
    it(`(${lang}) shows translated field errors next to the fields, keeps the input and writes nothing`, async () => {
      await context.addCookies([{ name: 'cloudy_lang', value: lang, url: base }]);
      await page.goto(`${base}/squid`);
      expect(await page.getAttribute('html', 'lang')).toBe(lang);
      expect((await page.textContent('h1'))?.trim()).toBe(str(locales[lang], 'title'));
      expect((await page.textContent('label[for=f-cacheDiskMb]'))?.trim()).toBe(str(locales[lang], 'form.cacheDiskMb.label'));
      const fragment = readFileSync(t.root.p(FRAGMENT), 'utf8');
      const calls = t.runner.calls.length;

      const bad = { port: '99999', visibleHostname: 'my proxy; reboot', allowedNetworks: '10.0.0.0/33', adminEmail: 'nobody', cacheDiskMb: '99999999999', ldapMain: '' };
      for (const [name, value] of Object.entries(bad)) await page.fill(`#f-${name}`, value);
      await page.selectOption('#f-auth', 'ldap');
      expectedHttpErrors.push({ status: 400, path: '/squid' });
      const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click('[data-testid=save]')]);
      expect(response.status()).toBe(400);
      await page.waitForSelector('[data-testid=form-errors]');

      const expected: Record<string, string> = {
        port: 'errors.port', visibleHostname: 'errors.hostname', allowedNetworks: 'errors.allowedNetworks',
        adminEmail: 'errors.adminEmail', cacheDiskMb: 'errors.cacheDiskMb', ldapMain: 'errors.requiredForLdap',
      };
      for (const [name, key] of Object.entries(expected)) {
        const error = page.locator(`[data-field-error=${name}]`);
        expect(await error.isVisible(), `error of ${name} visible`).toBe(true);
        expect((await error.textContent())?.trim()).toBe(str(locales[lang], key));
        const input = page.locator(`#f-${name}`);
        expect(await input.inputValue()).toBe(bad[name as keyof typeof bad]);
        expect(await input.getAttribute('class')).toContain('is-invalid');
        expect(await input.getAttribute('aria-describedby')).toContain(`f-${name}-error`);
        const [inputBox, errorBox] = [await input.boundingBox(), await error.boundingBox()];
        expect(errorBox!.y).toBeGreaterThanOrEqual(inputBox!.y + inputBox!.height - 1);
        expect(errorBox!.y - (inputBox!.y + inputBox!.height)).toBeLessThan(40);
      }
      expect(await page.inputValue('#f-auth')).toBe('ldap');
      expect(await page.locator('[data-field-error=maxObjectMb]').count()).toBe(0);
      expect(readFileSync(t.root.p(FRAGMENT), 'utf8')).toBe(fragment);
      expect(t.runner.calls.length).toBe(calls);
      await shoot(page, `squid-errors-${lang}-1280`);
    });
  }

  it('lays out at 390 px without horizontal scroll', async () => {
    await page.setViewportSize(PHONE);
    await page.goto(`${base}/squid`);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(PHONE.width);
    await shoot(page, 'squid-390');
    await page.setViewportSize(DESKTOP);
  });

  it('saw no console errors, page errors or CSP violations', () => {
    expect(problems).toEqual([]);
    expect(expectedHttpErrors, 'the expected 400s were reported as console errors').toEqual([]);
  });
});
