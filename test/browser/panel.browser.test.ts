// Browser tier: a real panel (temp root, recording runner) on loopback, driven by Debian's chromium
// through playwright-core. Login, language switch, SNMP form errors, job progress with and without
// JavaScript, light/dark theme, layout at desktop and phone widths (screenshots in test-output/).
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser as PwBrowser, BrowserContext, Page } from 'playwright-core';
import { buildTestApp, type TestApp } from '../helpers/build-app.js';
import {
  DESKTOP, PHONE, PageErrors, expectFieldError, launchChromium, listenOnLoopback, localeString as str, loginInBrowser, readRepoJson,
  screenshot, waitForFullJobBar, waitForJobSucceeded,
} from '../helpers/browser.js';

const caCommon = readRepoJson('locales/ca/common.json');
const enCommon = readRepoJson('locales/en/common.json');
const caSnmp = readRepoJson('plugins/snmp/locales/ca.json');

const pageErrors = new PageErrors();
const { problems, expectedHttpErrors } = pageErrors;

async function noHorizontalScroll(page: Page): Promise<void> {
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(width, `horizontal scroll at ${page.url()}`).toBeLessThanOrEqual(PHONE.width);
}

/** Opens the collapsed phone menu and waits for the collapse animation to end. */
async function openPhoneMenu(page: Page): Promise<void> {
  await page.click('.navbar-toggler');
  await page.waitForSelector('#nav.collapse.show', { state: 'visible' });
  await page.waitForFunction(() => !document.querySelector('#nav.collapsing'));
}

describe('panel in a real browser', () => {
  let t: TestApp;
  let base: string;
  let browser: PwBrowser;
  let context: BrowserContext;
  let page: Page;
  let noJs: BrowserContext | undefined;

  beforeAll(async () => {
    t = await buildTestApp();
    // snmpd installed (dpkg status + init script => sysv backend) but stopped, so the page offers "start";
    // starting takes a moment, so the job page can be seen while the job runs.
    t.root.installed({ snmpd: '5.9.3+dfsg-2+deb12u1' });
    t.root.write('/etc/init.d/snmpd', '#!/bin/sh\n');
    t.runner.on(['service', 'snmpd', 'status'], { exitCode: 3 });
    t.runner.on(['service', 'snmpd', 'start'], async () => { await sleep(2500); return { exitCode: 0 }; });
    await t.app.registry.refreshAll();
    t.runner.calls.length = 0; // from here on, only what the pages cause
    base = await listenOnLoopback(t.app);

    browser = await launchChromium();
    context = await browser.newContext({ viewport: DESKTOP, locale: 'en-US' });
    await pageErrors.watchCsp(context, 'js');
    page = await context.newPage();
    pageErrors.watch(page, 'js');
  });

  afterAll(async () => {
    await noJs?.close().catch(() => undefined);
    await context?.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await t?.close();
  });

  it('(a) logs in as admin and lands on the status page', async () => {
    await page.goto(`${base}/login`);
    await screenshot(page, 'login-1280');
    await page.fill('#f-username', 'admin');
    await page.fill('#f-password', t.adminPassword);
    await Promise.all([page.waitForURL(`${base}/`), page.click('[data-testid=login-submit]')]);
    await expect.poll(() => page.textContent('h1')).toContain(str(enCommon, 'status.title'));
    expect(await page.getAttribute('html', 'lang')).toBe('en');
  });

  it('(b) switches to Catalan through the Languages menu', async () => {
    await page.click('[data-section=languages] .dropdown-toggle');
    await page.click('[data-section=languages] button[value=ca]');
    await page.waitForSelector('html[lang=ca]', { state: 'attached' });
    expect(new URL(page.url()).pathname).toBe('/');
    for (const [section, key] of [['system', 'nav.system'], ['languages', 'nav.languages'], ['search', 'nav.search'], ['guifi', 'nav.guifi']] as const) {
      expect((await page.textContent(`[data-section=${section}] > .dropdown-toggle`))?.trim()).toBe(str(caCommon, key));
    }
    expect((await page.textContent('h1'))).toContain(str(caCommon, 'status.title'));
    expect(await page.textContent('#theme-menu')).toBe(str(caCommon, 'nav.theme'));
  });

  it('(c) shows SNMP field errors next to the fields, keeps the input, writes nothing', async () => {
    await page.click('[data-section=guifi] .dropdown-toggle');
    await Promise.all([page.waitForURL(`${base}/snmp`), page.click('[data-section=guifi] a[href="/snmp"]')]);
    expect((await page.textContent('h1'))?.trim()).toBe(str(caSnmp, 'title'));
    expect(await page.isVisible('[data-testid=start]')).toBe(true);

    const bad = { community: 'public', port: '99999', listenAddress: '1.2.3', allowedNetwork: 'x' };
    for (const [name, value] of Object.entries(bad)) await page.fill(`#f-${name}`, value);
    expectedHttpErrors.push({ status: 400, path: '/snmp' });
    const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click('[data-testid=save]')]);
    expect(response.status()).toBe(400);
    await page.waitForSelector('[data-testid=form-errors]');
    expect((await page.textContent('[data-testid=form-errors]'))?.trim()).toBe(str(caCommon, 'validation.fixBelow'));

    for (const [name, value] of Object.entries(bad)) await expectFieldError(page, name, str(caSnmp, `errors.${name}`), value);
    // the valid fields are not marked
    expect(await page.locator('[data-field-error=sysLocation]').count()).toBe(0);

    expect(existsSync(t.root.p('/etc/snmp/snmpd.conf'))).toBe(false);
    expect(t.runner.commands()).toEqual([]);
  });

  it('(d) lays out at 1280 px and at 390 px without horizontal scroll', async () => {
    // SNMP page with errors (the page the last test left)
    await screenshot(page, 'snmp-errors-1280');
    await page.setViewportSize(PHONE);
    await noHorizontalScroll(page);
    expect(await page.isVisible('.navbar-toggler')).toBe(true);
    expect(await page.isVisible('[data-section=system]')).toBe(false);
    await screenshot(page, 'snmp-errors-390');
    await openPhoneMenu(page);
    await noHorizontalScroll(page);
    await screenshot(page, 'snmp-menu-390');

    await page.goto(`${base}/`);
    await noHorizontalScroll(page);
    await screenshot(page, 'status-390');
    await openPhoneMenu(page);
    await page.click('[data-section=guifi] .dropdown-toggle');
    await page.waitForSelector('[data-section=guifi] .dropdown-menu.show');
    await noHorizontalScroll(page);
    await screenshot(page, 'status-menu-390');

    await page.setViewportSize(DESKTOP);
    await page.goto(`${base}/`);
    await screenshot(page, 'status-1280');
    await page.click('[data-section=system] .dropdown-toggle');
    await page.waitForSelector('[data-section=system] .dropdown-menu.show');
    await screenshot(page, 'status-menu-1280');
  });

  it('(e) switches to the dark theme and keeps it after a reload', async () => {
    await page.goto(`${base}/`);
    expect(await page.getAttribute('html', 'data-bs-theme')).toBe('light');
    await page.click('#theme-menu');
    await page.click('[data-theme-value=dark]');
    await page.waitForSelector('html[data-bs-theme=dark]', { state: 'attached' });
    await page.reload();
    expect(await page.getAttribute('html', 'data-bs-theme')).toBe('dark');
    expect(await page.getAttribute('html', 'data-theme-choice')).toBe('dark');
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(background).not.toBe('rgb(255, 255, 255)');
    await screenshot(page, 'status-dark-1280');
    await page.goto(`${base}/snmp`);
    await screenshot(page, 'snmp-dark-1280');
    await page.setViewportSize(PHONE);
    await noHorizontalScroll(page);
    await screenshot(page, 'snmp-dark-390');
    await page.setViewportSize(DESKTOP);
    // back to light for the rest
    await page.click('#theme-menu');
    await page.click('[data-theme-value=light]');
    await page.waitForSelector('html[data-bs-theme=light]', { state: 'attached' });
  });

  it('(g) runs a job: refreshes itself without JavaScript, live progress with it', async () => {
    noJs = await browser.newContext({ viewport: DESKTOP, locale: 'en-US', javaScriptEnabled: false });
    const plain = await noJs.newPage();
    pageErrors.watch(plain, 'nojs');
    await loginInBrowser(plain, base, t.adminPassword);
    expect(await plain.textContent('h1')).toContain(str(enCommon, 'status.title'));

    await plain.goto(`${base}/snmp`);
    await Promise.all([plain.waitForURL(/\/jobs\/[^/]+$/), plain.click('[data-testid=start]')]);
    const jobUrl = plain.url();
    const html = await plain.content();
    expect(html).toContain('<noscript><meta http-equiv="refresh"');
    expect(await plain.getAttribute('#job-state', 'data-state')).toMatch(/^(queued|running)$/);
    await screenshot(plain, 'job-running-nojs-1280');

    // the same job, with JavaScript (Catalan session): live updates over SSE until done
    await page.goto(jobUrl);
    await waitForJobSucceeded(page);
    expect((await page.textContent('#job-state'))?.trim()).toBe(str(caCommon, 'jobs.state.succeeded'));
    await waitForFullJobBar(page);
    expect(await page.isVisible('#job-result')).toBe(true);
    await screenshot(page, 'job-done-1280');

    // without JavaScript the meta refresh brings the finished state too
    await plain.waitForSelector('#job-state[data-state=succeeded]', { timeout: 20_000 });
    expect((await plain.textContent('#job-state'))?.trim()).toBe(str(enCommon, 'jobs.state.succeeded'));
    expect(await plain.content()).not.toContain('http-equiv="refresh"');

    expect(t.runner.commands()).toContain('service snmpd start');
  });

  it('(f) saw no console errors, page errors or CSP violations', () => {
    expect(problems).toEqual([]);
    expect(expectedHttpErrors, 'the expected 400 was reported as a console error').toEqual([]);
  });
});
