// Browser tier for the DNS plugin: a real panel (temp root, recording runner with a scripted
// named) on loopback, driven by Debian's chromium. The page in en, ca and es; install through the
// UI reaches 100 % on the job page; bad list input shows translated, line-numbered errors next to
// the fields, keeps the input and writes nothing; no horizontal scroll at phone width.
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser as PwBrowser, BrowserContext, Page } from 'playwright-core';
import { buildTestApp, type TestApp } from '../../../test/helpers/build-app.js';
import {
  DESKTOP, PHONE, PageErrors, expectFieldError, launchChromium, listenOnLoopback, localeString as str, loginInBrowser, readRepoJson,
  screenshot, waitForJobSucceeded,
} from '../../../test/helpers/browser.js';
import { fakeNamed, seedDebianBind } from './fake-named.js';

const dnsLocales = { en: readRepoJson('plugins/dns/locales/en.json'), ca: readRepoJson('plugins/dns/locales/ca.json'), es: readRepoJson('plugins/dns/locales/es.json') };
const caCommon = readRepoJson('locales/ca/common.json');
const enCommon = readRepoJson('locales/en/common.json');

const pageErrors = new PageErrors();
const { problems, expectedHttpErrors } = pageErrors;

describe('DNS page in a real browser', () => {
  let t: TestApp;
  let base: string;
  let browser: PwBrowser;
  let context: BrowserContext;
  let page: Page;

  const setLanguage = async (lang: string) => {
    await context.addCookies([{ name: 'cloudy_lang', value: lang, url: base }]);
  };

  beforeAll(async () => {
    t = await buildTestApp();
    seedDebianBind(t.root);
    fakeNamed(t.runner, t.root);
    // apt "installs" by writing the temp root's dpkg status, slowly enough to see the job run
    t.runner.on(['apt-get'], async (argv) => {
      if (argv.includes('install')) {
        await sleep(800);
        t.root.installed({ bind9: '1:9.18.49-1~deb12u3', 'bind9-dnsutils': '1:9.18.49-1~deb12u3' });
      }
      return { lines: ['dlstatus:1:40:Retrieving bind9', 'pmstatus:bind9:70:Installing bind9', 'pmstatus:bind9-dnsutils:90:Installing bind9-dnsutils'] };
    });
    await t.app.registry.refreshAll();
    base = await listenOnLoopback(t.app);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: DESKTOP, locale: 'en-US' });
    page = await context.newPage();
    pageErrors.watch(page, 'dns');
    await loginInBrowser(page, base, t.adminPassword);
  });

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await t?.close();
  });

  it('shows the DNS page in English, Catalan and Spanish, from the Guifi menu', async () => {
    for (const lang of ['en', 'ca', 'es'] as const) {
      await setLanguage(lang);
      await page.goto(`${base}/`);
      await page.click('[data-section=guifi] .dropdown-toggle');
      await Promise.all([page.waitForURL(`${base}/dns`), page.click('[data-section=guifi] a[href="/dns"]')]);
      expect(await page.getAttribute('html', 'lang')).toBe(lang);
      const l = dnsLocales[lang];
      expect((await page.textContent('h1'))?.trim()).toBe(str(l, 'title'));
      for (const field of ['zone', 'records', 'listenAddresses', 'forwardZones', 'dnssecValidation']) {
        expect((await page.textContent(`label[for=f-${field}]`))?.trim()).toBe(str(l, `form.${field}.label`));
      }
      expect((await page.textContent('#f-records-help'))?.trim()).toBe(str(l, 'form.records.help'));
      expect(await page.isVisible('[data-testid=install]')).toBe(true);
      await screenshot(page, `dns-${lang}-1280`);
    }
  });

  it('installs through the UI: the job page reaches 100 % and named answers with the defaults', async () => {
    await setLanguage('ca');
    await page.goto(`${base}/dns`);
    await Promise.all([page.waitForURL(/\/jobs\/[^/]+$/), page.click('[data-testid=install]')]);
    await waitForJobSucceeded(page);
    expect((await page.textContent('#job-state'))?.trim()).toBe(str(caCommon, 'jobs.state.succeeded'));
    await screenshot(page, 'dns-install-done-1280');
    const commands = t.runner.commands();
    expect(commands.some((c) => c.startsWith('apt-get') && c.endsWith('-- bind9 bind9-dnsutils'))).toBe(true);
    expect(commands).toContain('service named restart');
    expect(readFileSync(t.root.p('/etc/bind/cloudy/zones.conf'), 'utf8')).toContain('zone "cloudy.lan"');
    await page.goto(`${base}/dns`);
    expect(await page.isVisible('[data-testid=stop]')).toBe(true);
    expect((await page.textContent('[data-testid=use-as-dns]'))?.trim()).toBe(str(dnsLocales.ca, 'onlyThisNode'));
  });

  it('shows translated, line-numbered errors next to the fields, keeps the input and writes nothing', async () => {
    await setLanguage('ca');
    await page.goto(`${base}/dns`);
    const zonesBefore = readFileSync(t.root.p('/etc/bind/cloudy/zones.conf'), 'utf8');
    t.runner.calls.length = 0;
    const bad = {
      records: 'www A 10.1.2.3\nfiles CNAME www\nmal nom A 10.1.2.4',
      allowRecursion: '10.1.2.3/8',
      forwardZones: 'guifi.net 10.0.0.1:99999',
      zone: 'zona dolenta',
    };
    for (const [name, value] of Object.entries(bad)) await page.fill(`#f-${name}`, value);
    expectedHttpErrors.push({ status: 400, path: '/dns' });
    const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click('[data-testid=save]')]);
    expect(response.status()).toBe(400);
    await page.waitForSelector('[data-testid=form-errors]');
    expect((await page.textContent('[data-testid=form-errors]'))?.trim()).toBe(str(caCommon, 'validation.fixBelow'));
    const ca = dnsLocales.ca;
    const expected: Record<string, string> = {
      records: str(ca, 'errors.recordFormat').replace('{{line}}', '3'),
      allowRecursion: str(ca, 'errors.hostBits').replace('{{line}}', '1').replace('{{network}}', '10.0.0.0/8'),
      forwardZones: str(ca, 'errors.server').replace('{{line}}', '1'),
      zone: str(ca, 'errors.domainZone'),
    };
    for (const [name, value] of Object.entries(bad)) await expectFieldError(page, name, expected[name], value);
    expect(await page.locator('[data-field-error=listenAddresses]').count()).toBe(0);
    await screenshot(page, 'dns-errors-ca-1280');
    await page.setViewportSize(PHONE);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(PHONE.width);
    await screenshot(page, 'dns-errors-ca-390');
    await page.setViewportSize(DESKTOP);

    expect(readFileSync(t.root.p('/etc/bind/cloudy/zones.conf'), 'utf8')).toBe(zonesBefore);
    expect(existsSync(t.root.p('/etc/bind/cloudy/db.zona'))).toBe(false);
    expect(t.runner.commands()).toEqual([]);
  });

  it('saw no console errors or page errors', () => {
    expect(problems).toEqual([]);
    expect(expectedHttpErrors).toEqual([]);
    expect(str(enCommon, 'validation.fixBelow')).toBeTruthy();
  });
});
