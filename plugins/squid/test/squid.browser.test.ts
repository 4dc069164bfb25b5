// Browser tier for the Squid page: a real panel (temp root, recording runner, fake squid probe) on
// loopback, driven by Debian's chromium through playwright-core. Install through the UI and watch
// the job page reach 100 %; the page in English, Catalan and Spanish refuses bad input with
// translated errors next to the fields and writes nothing; phone width without horizontal scroll.
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser as PwBrowser, BrowserContext, Page } from 'playwright-core';
import { buildTestApp, type TestApp } from '../../../test/helpers/build-app.js';
import {
  DESKTOP, PHONE, PageErrors, expectFieldError, launchChromium, listenOnLoopback, localeString as str, loginInBrowser, readRepoJson,
  screenshot, waitForFullJobBar, waitForJobSucceeded,
} from '../../../test/helpers/browser.js';
import type { CloudyPlugin } from '../../../src/registry/define-plugin.js';
import squid from '../index.js';
import { SquidModel } from '../model.js';
import { parseSquidConf } from '../squid-conf.js';

const FRAGMENT = '/etc/squid/conf.d/cloudy.conf';

const locales = { en: readRepoJson('plugins/squid/locales/en.json'), ca: readRepoJson('plugins/squid/locales/ca.json'), es: readRepoJson('plugins/squid/locales/es.json') };

const pageErrors = new PageErrors();
const { problems, expectedHttpErrors } = pageErrors;

describe('Squid page in a real browser', () => {
  let t: TestApp;
  let base: string;
  let browser: PwBrowser;
  let context: BrowserContext;
  let page: Page;
  /** The fake squid answers on the port of the fragment it was last (re)started with. */
  let listeningOn: number | undefined;

  beforeAll(async () => {
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
    base = await listenOnLoopback(t.app);

    browser = await launchChromium();
    context = await browser.newContext({ viewport: DESKTOP, locale: 'en-US' });
    page = await context.newPage();
    pageErrors.watch(page, 'squid');
    await loginInBrowser(page, base, t.adminPassword);
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
    await screenshot(page, 'squid-install-running-1280');
    await waitForJobSucceeded(page);
    await waitForFullJobBar(page);
    const log = await page.textContent('#job-log');
    expect(log).toContain('squid -k parse: configuration accepted');
    expect(log).toContain('squid answers on 127.0.0.1:3128 (squid/5.7)');
    await screenshot(page, 'squid-install-done-1280');
    const commands = t.runner.commands();
    expect(commands.some((c) => c.startsWith('apt-get') && c.endsWith('install --no-install-recommends -- squid'))).toBe(true);
    expect(commands).toContain('/usr/sbin/squid -k parse -f /etc/squid/squid.conf');
    expect(commands).toContain('service squid restart');
    expect(readFileSync(t.root.p(FRAGMENT), 'utf8')).toContain('acl cloudy_clients src 10.0.0.0/8 172.16.0.0/12');

    await Promise.all([page.waitForURL(`${base}/squid`), page.click('#job-back')]);
    expect(await page.isVisible('[data-testid=squid-form]')).toBe(true);
    expect(await page.isVisible('[data-testid=stop]')).toBe(true);
    expect(await page.inputValue('#f-port')).toBe('3128');
    await screenshot(page, 'squid-1280');
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
      for (const [name, key] of Object.entries(expected)) await expectFieldError(page, name, str(locales[lang], key), bad[name as keyof typeof bad]);
      expect(await page.inputValue('#f-auth')).toBe('ldap');
      expect(await page.locator('[data-field-error=maxObjectMb]').count()).toBe(0);
      expect(readFileSync(t.root.p(FRAGMENT), 'utf8')).toBe(fragment);
      expect(t.runner.calls.length).toBe(calls);
      await screenshot(page, `squid-errors-${lang}-1280`);
    });
  }

  it('lays out at 390 px without horizontal scroll', async () => {
    await page.setViewportSize(PHONE);
    await page.goto(`${base}/squid`);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(PHONE.width);
    await screenshot(page, 'squid-390');
    await page.setViewportSize(DESKTOP);
  });

  it('saw no console errors, page errors or CSP violations', () => {
    expect(problems).toEqual([]);
    expect(expectedHttpErrors, 'the expected 400s were reported as console errors').toEqual([]);
  });
});
