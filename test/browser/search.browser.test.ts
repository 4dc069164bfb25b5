// The search page in Debian's chromium (playwright-core, no browser download): hostile records
// from other nodes must stay text (no dialog ever, no console error, no CSP violation), the
// client-side filter and RTT sort work instantly, the GET form works without JavaScript, and the
// page fits a 390 px phone (tables scroll inside their own box). Screenshots in test-output/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser as PwBrowser, BrowserContext, Page } from 'playwright-core';
import { buildTestApp, type TestApp } from '../helpers/build-app.js';
import { DESKTOP, PHONE, PageErrors, launchChromium, listenOnLoopback, loginInBrowser, screenshot } from '../helpers/browser.js';
import type { ServiceRecord } from '../../src/discovery/record.js';

const XSS_SCRIPT = '<script>alert(1)</script>';
const XSS_IMG = '"><img src=x onerror=alert(1)>';
const XSS_SVG = '"><svg onload=alert(2)>';

const rec = (over: Partial<ServiceRecord> & Pick<ServiceRecord, 'node' | 'type' | 'port'>): ServiceRecord => ({
  v: 1, description: `${over.type} on ${over.node}`, host: 'node.example', addresses: ['10.0.0.1'], microcloud: '', txt: {}, health: 'up', ...over,
});

describe('search page in a real browser', () => {
  let t: TestApp;
  let base: string;
  let browser: PwBrowser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors = new PageErrors();
  const { problems } = pageErrors;
  const login = (p: Page) => loginInBrowser(p, base, t.adminPassword);

  const visibleRows = (p: Page) => p.$$eval('tr.search-row', (rows) => rows.filter((r) => !(r as HTMLElement).hidden && (r as HTMLElement).offsetParent !== null).map((r) => ({
    node: r.getAttribute('data-node'), type: r.getAttribute('data-type'), rtt: r.getAttribute('data-rtt'),
  })));

  beforeAll(async () => {
    t = await buildTestApp();
    const c = t.app.catalogue;
    c.setNode('serf', 'node-alpha', [
      rec({ node: 'node-alpha', type: 'proxy3', port: 3128, microcloud: 'barcelona', addresses: ['10.1.0.1'], host: 'alpha.local', txt: { federated: 'yes' } }),
      rec({ node: 'node-alpha', type: 'dnsservice', port: 53, microcloud: 'barcelona', health: 'unknown' }),
    ]);
    c.setNode('serf', 'node-beta', [
      rec({ node: 'node-beta', type: 'proxy3', port: 3128, health: 'down', addresses: ['10.2.0.1'], description: XSS_SCRIPT, txt: { note: XSS_IMG } }),
      rec({ node: 'node-beta', type: 'syncthing', port: 22000, description: `javascript:alert(3) ${XSS_IMG}` }),
    ]);
    c.setNode('mdns', 'node-gamma', [
      rec({ node: 'node-gamma', type: 'proxy3', port: 8080, microcloud: XSS_SVG, addresses: ['10.3.0.1'] }),
      rec({ node: 'node-gamma', type: 'syncthing', port: 22000, microcloud: 'barcelona' }),
    ]);
    c.setNode('legacy', XSS_IMG, [rec({ node: XSS_IMG, type: 'proxy3', port: 3129, description: XSS_IMG, microcloud: XSS_SCRIPT.slice(0, 32) })]);
    c.setNodeStatus('node-gamma', 'failed');
    c.setRtt('node-alpha', 0.4);
    c.setRtt('node-beta', 25);
    c.setRtt(XSS_IMG, 3.2);
    // a long tail so the phone layout has something to scroll
    for (let i = 0; i < 12; i++) c.setNode('serf', `far-node-${i}`, [rec({ node: `far-node-${i}`, type: 'tahoe-lafs', port: 3456, description: `Grid introducer number ${i} with a fairly long description text`, microcloud: 'girona' })]);
    for (let i = 0; i < 12; i++) c.setRtt(`far-node-${i}`, 40 + i * 17);

    base = await listenOnLoopback(t.app);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: DESKTOP, locale: 'en-US' });
    await pageErrors.watchCsp(context, 'js');
    page = await context.newPage();
    pageErrors.watch(page, 'js');
    await login(page);
  });

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await t?.close();
  });

  it('opens from the Search menu ("Look for services" first) and shows hostile records as text only', async () => {
    await page.click('[data-section=search] .dropdown-toggle');
    const first = page.locator('[data-section=search] .dropdown-menu a').first();
    expect((await first.textContent())?.trim()).toBe('Look for services');
    await Promise.all([page.waitForURL(`${base}/search`), first.click()]);
    await page.waitForSelector('tr.search-row');
    await page.waitForTimeout(300); // give any injected handler (onerror, onload) a chance to fire

    // the hostile strings are on screen, as text
    const text = await page.textContent('main');
    expect(text).toContain(XSS_SCRIPT);
    expect(text).toContain(XSS_IMG);
    expect(text).toContain(XSS_SVG);
    // ... and never became elements
    expect(await page.locator('main img, main svg, main script:not([src])').count()).toBe(0);
    expect(await page.locator('img[src=x]').count()).toBe(0);
    const scripts = await page.$$eval('script', (list) => list.map((s) => s.getAttribute('src') ?? 'INLINE'));
    expect(scripts.every((s) => s.startsWith('/assets/'))).toBe(true);
    // the hostile node name is an option value, intact
    const options = await page.$$eval('#s-near-list option', (list) => list.map((o) => (o as HTMLOptionElement).value));
    expect(options).toContain(XSS_IMG);
    expect(problems).toEqual([]);
    await screenshot(page, 'search-1280');
  });

  it('filters instantly in the page (no request, no reload)', async () => {
    const all = await visibleRows(page);
    expect(all.length).toBe(19);
    let requests = 0;
    const seen: string[] = [];
    // (chromium re-fetches the favicon when history.replaceState changes the URL: not a search)
    const count = (request: { url(): string }) => {
      if (new URL(request.url()).pathname.startsWith('/assets/')) return;
      requests++;
      seen.push(request.url());
    };
    page.on('request', count);
    const marker = await page.evaluate(() => { (window as unknown as { marker: number }).marker = 42; return 42; });

    await page.fill('#s-q', 'node-beta');
    const beta = await visibleRows(page);
    expect(beta.map((r) => r.node)).toEqual(['node-beta', 'node-beta']);
    expect(await page.isVisible('[data-testid=group-tahoe-lafs]')).toBe(false);
    expect(await page.textContent('[data-testid=group-proxy3] [data-group-count]')).toBe('1');
    expect(await page.textContent('#search-summary')).toBe('Showing 2 of 19 services.');

    await page.fill('#s-q', '');
    await page.selectOption('#s-type', 'proxy3');
    expect((await visibleRows(page)).every((r) => r.type === 'proxy3')).toBe(true);
    expect((await visibleRows(page)).length).toBe(4);
    await page.selectOption('#s-health', 'up');
    // up: alive and not down → node-alpha and the hostile node (beta is down, gamma failed)
    expect((await visibleRows(page)).map((r) => r.node).sort()).toEqual([XSS_IMG, 'node-alpha'].sort());
    await page.selectOption('#s-microcloud', 'barcelona');
    expect((await visibleRows(page)).map((r) => r.node)).toEqual(['node-alpha']);
    await page.fill('#s-q', 'nothing-matches-this');
    expect(await visibleRows(page)).toEqual([]);
    expect(await page.isVisible('#search-nomatch-js')).toBe(true);

    // still the same document, no request made, and the URL follows the filters
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(marker);
    page.off('request', count);
    expect(seen).toEqual([]);
    expect(requests).toBe(0);
    expect(new URL(page.url()).searchParams.get('type')).toBe('proxy3');

    await page.fill('#s-q', '');
    await page.selectOption('#s-type', '');
    await page.selectOption('#s-health', '');
    await page.selectOption('#s-microcloud', '');
    expect((await visibleRows(page)).length).toBe(19);
    expect(problems).toEqual([]);
  });

  it('sorts by RTT (and by node) in the page', async () => {
    const rtts = async () => (await page.$$eval('[data-testid=group-tahoe-lafs] tr.search-row', (rows) => rows.map((r) => r.getAttribute('data-rtt'))))
      .map((v) => (v === '' || v === null ? Infinity : Number(v)));
    const initial = await rtts();
    expect(initial).toEqual([...initial].sort((a, b) => a - b)); // nearest first from the server
    await page.click('[data-testid=group-tahoe-lafs] a[data-sort=rtt]');
    const descending = await rtts();
    expect(descending).toEqual([...initial].sort((a, b) => b - a));
    expect(await page.getAttribute('[data-testid=group-tahoe-lafs] th:has(a[data-sort=rtt])', 'aria-sort')).toBe('descending');
    await page.click('[data-testid=group-tahoe-lafs] a[data-sort=rtt]');
    expect(await rtts()).toEqual(initial);

    // proxy3: unknown RTT (failed node-gamma) stays last when ascending
    const proxyNodes = () => page.$$eval('[data-testid=group-proxy3] tr.search-row', (rows) => rows.map((r) => r.getAttribute('data-node')));
    expect(await proxyNodes()).toEqual(['node-alpha', XSS_IMG, 'node-beta', 'node-gamma']);
    await page.click('[data-testid=group-proxy3] a[data-sort=node]');
    expect(await proxyNodes()).toEqual(['node-alpha', XSS_IMG, 'node-beta', 'node-gamma'].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())));
    expect(new URL(page.url()).pathname).toBe('/search');
    expect(problems).toEqual([]);
  });

  it('works without JavaScript: the filter form is a GET', async () => {
    const noJs = await browser.newContext({ viewport: DESKTOP, locale: 'en-US', javaScriptEnabled: false });
    try {
      const plain = await noJs.newPage();
      pageErrors.watch(plain, 'nojs');
      await login(plain);
      await plain.goto(`${base}/search`);
      await plain.selectOption('#s-type', 'syncthing');
      await Promise.all([plain.waitForURL(/type=syncthing/), plain.click('[data-testid=search-apply]')]);
      const rows = await plain.$$eval('tr.search-row', (list) => list.map((r) => r.getAttribute('data-type')));
      expect(rows).toEqual(['syncthing', 'syncthing']);
      expect(await plain.textContent('main')).toContain(`javascript:alert(3) ${XSS_IMG}`);
    } finally {
      await noJs.close();
    }
    expect(problems).toEqual([]);
  });

  it('fits a 390 px phone: the page does not scroll sideways, the tables do', async () => {
    const phone = await browser.newContext({ viewport: PHONE, locale: 'en-US', isMobile: true, hasTouch: true });
    await pageErrors.watchCsp(phone, 'phone');
    try {
      const p = await phone.newPage();
      pageErrors.watch(p, 'phone');
      await login(p);
      await p.goto(`${base}/search`);
      await p.waitForSelector('tr.search-row');
      const width = await p.evaluate(() => document.documentElement.scrollWidth);
      expect(width).toBeLessThanOrEqual(PHONE.width);
      const box = await p.$eval('[data-testid=group-proxy3] .table-responsive', (el) => ({ client: el.clientWidth, scroll: el.scrollWidth }));
      expect(box.client).toBeLessThanOrEqual(PHONE.width);
      expect(box.scroll).toBeGreaterThan(box.client); // the table scrolls inside its box
      await screenshot(p, 'search-390');
    } finally {
      await phone.close();
    }
    expect(problems).toEqual([]);
  });
});
