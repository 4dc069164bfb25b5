// The search page ("Look for services") against a real app with a filled catalogue: groups and
// counts, every filter, RTT ordering, invalid query parameters, hostile records escaped, plugin
// actions (and the ones that must not be rendered), the navbar entry and the empty state.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plugins as realPlugins } from '../../plugins/index.js';
import { definePlugin, type CloudyPlugin } from '../../src/registry/define-plugin.js';
import type { ServiceRecord } from '../../src/discovery/record.js';
import { formatRtt, parseSearchQuery, searchHref, ROWS_PER_TYPE } from '../../src/pages/search.js';
import { buildTestApp, Browser, type TestApp } from '../helpers/build-app.js';

const XSS_SCRIPT = '<script>alert(1)</script>';
const XSS_IMG = '"><img src=x onerror=alert(1)>';
const XSS_SVG = '"><svg onload=alert(2)>';

/** A plugin that owns the types "testsvc" and "boom" and offers good and bad actions. */
const testPlugin = definePlugin({
  manifest: {
    id: 'searchtest', version: 1, menu: { section: 'search', order: 80 }, title: 'title', description: 'description',
    packages: ['hello'], services: [{ name: 'searchtest' }], publish: { type: 'testsvc' },
  },
  createModel: () => ({ status: async () => ({ installed: false, running: false }) }),
  controller: async () => undefined,
  searchActions: {
    testsvc: (entry) => [
      { kind: 'info', label: 'searchtest:search.address', text: `${entry.addresses[0] ?? entry.host}:${entry.port}` },
      { kind: 'link', label: 'searchtest:search.open', href: `/searchtest/use?node=${encodeURIComponent(entry.node)}&port=${entry.port}` },
      { kind: 'post', label: 'searchtest:search.join', href: '/searchtest/join', fields: { node: entry.node, note: entry.txt.note ?? '' } },
      // none of these may reach the page
      { kind: 'link', label: 'searchtest:search.evil1', href: 'https://evil.example/steal' },
      { kind: 'link', label: 'searchtest:search.evil2', href: '//evil.example/steal' },
      { kind: 'link', label: 'searchtest:search.evil3', href: 'javascript:alert(3)' },
      { kind: 'link', label: 'searchtest:search.evil4', href: '/\\evil.example/steal' },
      { kind: 'post', label: 'searchtest:search.evil5', href: '/ok', fields: { _csrf: 'forged' } as Record<string, string> },
    ],
    boom: () => { throw new Error('plugin bug'); },
  },
}) as unknown as CloudyPlugin;

const rec = (over: Partial<ServiceRecord> & Pick<ServiceRecord, 'node' | 'type' | 'port'>): ServiceRecord => ({
  v: 1, description: `${over.type} on ${over.node}`, host: 'node.example', addresses: ['10.0.0.1'], microcloud: '', txt: {}, health: 'up', ...over,
});

interface Row { type: string; health: string; microcloud: string; node: string; rtt: string; description: string }
const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
/** The result rows as the page renders them (attributes in template order). */
function rows(body: string): Row[] {
  const re = /<tr class="search-row" data-type="([^"]*)" data-health="([^"]*)" data-microcloud="([^"]*)" data-node="([^"]*)" data-rtt="([^"]*)" data-description="([^"]*)"/g;
  return [...body.matchAll(re)].map((m) => ({
    type: m[1]!, health: m[2]!, microcloud: unescape(m[3]!), node: unescape(m[4]!), rtt: m[5]!, description: unescape(m[6]!),
  }));
}
function groupSection(body: string, type: string): string {
  const start = body.indexOf(`data-testid="group-${type}"`);
  if (start === -1) return '';
  const end = body.indexOf('</section>', start);
  return body.slice(start, end);
}
const groupCount = (body: string, type: string) => Number(/data-group-count>(\d+)</.exec(groupSection(body, type))?.[1] ?? NaN);
const types = (body: string) => [...new Set(rows(body).map((r) => r.type))];

describe('search page', () => {
  let t: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    t = await buildTestApp({ plugins: [...realPlugins, testPlugin] });
    browser = new Browser(t.app);
    await browser.login('admin', t.adminPassword);
    const c = t.app.catalogue;
    // nodeA: near, micro cloud mc1, alive
    c.setNode('serf', 'nodeA', [
      rec({ node: 'nodeA', type: 'proxy3', port: 3128, microcloud: 'mc1', addresses: ['10.1.0.1'], host: 'nodea.local' }),
      rec({ node: 'nodeA', type: 'dnsservice', port: 53, microcloud: 'mc1', health: 'unknown' }),
    ]);
    // nodeB: farther, no micro cloud; a hostile description and txt
    c.setNode('serf', 'nodeB', [
      rec({ node: 'nodeB', type: 'proxy3', port: 3128, health: 'down', addresses: ['10.2.0.1'] }),
      rec({ node: 'nodeB', type: 'testsvc', port: 8080, description: XSS_SCRIPT, txt: { note: XSS_IMG }, addresses: ['10.2.0.1'] }),
      rec({ node: 'nodeB', type: 'boom', port: 1 }),
    ]);
    // nodeC: failed, RTT unknown, micro cloud mc1; a hostile micro cloud
    c.setNode('mdns', 'nodeC', [
      rec({ node: 'nodeC', type: 'testsvc', port: 9090, microcloud: 'mc1' }),
      rec({ node: 'nodeC', type: 'snmp', port: 161, microcloud: 'mc1' }),
    ]);
    // a node whose very name is hostile (node names are free text)
    c.setNode('legacy', XSS_IMG, [rec({ node: XSS_IMG, type: 'snmp', port: 1161, microcloud: XSS_SVG, description: XSS_IMG })]);
    c.setNodeStatus('nodeC', 'failed');
    c.setRtt('nodeA', 0.4);
    c.setRtt('nodeB', 12.5);
    c.setRtt(XSS_IMG, 80);
    // network coordinates (seconds): A at 0, B 10 ms away, hostile node 20 ms away; C has none
    c.setCoordinate('nodeA', { vec: [0, 0], error: 0.1, adjustment: 0, height: 0 });
    c.setCoordinate('nodeB', { vec: [0.01, 0], error: 0.1, adjustment: 0, height: 0 });
    c.setCoordinate(XSS_IMG, { vec: [0.03, 0], error: 0.1, adjustment: 0, height: 0 });
  });

  afterAll(async () => t?.close());

  it('groups the services by type with counts, nearest first, RTT shown', async () => {
    const response = await browser.get('/search');
    expect(response.statusCode).toBe(200);
    const body = response.body;
    expect(types(body).sort()).toEqual(['boom', 'dnsservice', 'proxy3', 'snmp', 'testsvc']);
    expect(groupCount(body, 'proxy3')).toBe(2);
    expect(groupCount(body, 'testsvc')).toBe(2);
    expect(groupCount(body, 'snmp')).toBe(2);
    expect(groupCount(body, 'dnsservice')).toBe(1);
    // groups alphabetical
    const order = [...body.matchAll(/data-testid="group-([a-z0-9-]+)"/g)].map((m) => m[1]);
    expect(order).toEqual(['boom', 'dnsservice', 'proxy3', 'snmp', 'testsvc']);
    // RTT ordering inside a group: known distances ascending, unknown last
    expect(rows(groupSection(body, 'proxy3')).map((r) => r.node)).toEqual(['nodeA', 'nodeB']);
    expect(rows(groupSection(body, 'testsvc')).map((r) => r.node)).toEqual(['nodeB', 'nodeC']);
    expect(rows(groupSection(body, 'snmp')).map((r) => r.node)).toEqual([XSS_IMG, 'nodeC']);
    expect(groupSection(body, 'proxy3')).toContain('>0.4 ms<');
    expect(groupSection(body, 'proxy3')).toContain('>13 ms<');
    expect(groupSection(body, 'testsvc')).toMatch(/rtt-unknown">—</);
    // health as the catalogue says: failed node and health=down are "down"
    const byKey = new Map(rows(body).map((r) => [`${r.node}/${r.type}`, r]));
    expect(byKey.get('nodeB/proxy3')!.health).toBe('down');
    expect(byKey.get('nodeC/testsvc')!.health).toBe('down');
    expect(byKey.get('nodeA/dnsservice')!.health).toBe('up');
    expect(body).toContain('Node unreachable');
    expect(body).toMatch(/data-testid="search-updated"[^>]*>Updated \d+ s ago</);
  });

  it('filters by type, health, micro cloud and text', async () => {
    let body = (await browser.get('/search?type=proxy3')).body;
    expect(types(body)).toEqual(['proxy3']);
    expect(rows(body)).toHaveLength(2);
    expect(body).toMatch(/<option value="proxy3" selected>/);

    body = (await browser.get('/search?health=up')).body;
    expect(rows(body).map((r) => `${r.node}/${r.type}`).sort()).toEqual([`${XSS_IMG}/snmp`, 'nodeA/dnsservice', 'nodeA/proxy3', 'nodeB/boom', 'nodeB/testsvc'].sort());
    body = (await browser.get('/search?health=down')).body;
    expect(rows(body).map((r) => `${r.node}/${r.type}`).sort()).toEqual(['nodeB/proxy3', 'nodeC/snmp', 'nodeC/testsvc']);
    expect(rows(body).every((r) => r.health === 'down')).toBe(true);

    body = (await browser.get('/search?microcloud=mc1')).body;
    expect(rows(body).map((r) => r.node).sort()).toEqual(['nodeA', 'nodeA', 'nodeC', 'nodeC']);
    expect(rows(body).every((r) => r.microcloud === 'mc1')).toBe(true);

    body = (await browser.get('/search?type=proxy3&health=up&microcloud=mc1')).body;
    expect(rows(body).map((r) => `${r.node}/${r.type}`)).toEqual(['nodeA/proxy3']);

    body = (await browser.get('/search?q=10.2.0.1')).body;
    expect(rows(body).map((r) => `${r.node}/${r.type}`).sort()).toEqual(['nodeB/proxy3', 'nodeB/testsvc']);

    body = (await browser.get('/search?type=proxy3&microcloud=nowhere')).body;
    expect(rows(body)).toHaveLength(0);
    expect(body).toContain('data-testid="search-nomatch"');
    expect(body).toContain('No service matches these filters.');
  });

  it('sorts by the distance from another node when its coordinates are known, explains when not', async () => {
    let body = (await browser.get('/search?near=nodeB')).body;
    expect(body).toContain('data-testid="search-near-node"');
    // from nodeB: itself (0), then nodeA (10 ms)
    expect(rows(groupSection(body, 'proxy3')).map((r) => [r.node, r.rtt])).toEqual([['nodeB', '0'], ['nodeA', '10']]);
    expect(groupSection(body, 'proxy3')).toContain('>10 ms<');
    // from nodeB the hostile node (20 ms) is nearer than nodeC (no coordinates → unknown, last)
    expect(rows(groupSection(body, 'snmp')).map((r) => r.node)).toEqual([XSS_IMG, 'nodeC']);

    // nodeC has no coordinates: its own services first, then by distance from this node, and a note
    body = (await browser.get('/search?near=nodeC')).body;
    expect(body).toContain('data-testid="search-near-fallback"');
    expect(body).toContain('Distances from node “nodeC” are not known');
    expect(rows(groupSection(body, 'snmp')).map((r) => r.node)).toEqual(['nodeC', XSS_IMG]);
    expect(rows(groupSection(body, 'testsvc')).map((r) => r.node)).toEqual(['nodeC', 'nodeB']);

    // unknown node: said so, escaped
    body = (await browser.get(`/search?near=${encodeURIComponent('<b>ghost</b>')}`)).body;
    expect(body).toContain('data-testid="search-near-unknown"');
    expect(body).toContain('&lt;b&gt;ghost&lt;/b&gt;');
    expect(body).not.toContain('<b>ghost</b>');
  });

  it('other sort orders (no JavaScript: header links)', async () => {
    const body = (await browser.get('/search?sort=node&type=snmp')).body;
    expect(rows(body).map((r) => r.node)).toEqual([XSS_IMG, 'nodeC'].sort((a, b) => a.localeCompare(b)));
    const described = (await browser.get('/search?sort=description&type=proxy3')).body;
    expect(rows(described).map((r) => r.description)).toEqual(['proxy3 on nodeA', 'proxy3 on nodeB']);
    expect(described).toContain('href="/search?type=proxy3&amp;sort=node#type-proxy3"');
  });

  it('ignores invalid query parameters with a translated message and never reflects them raw', async () => {
    const response = await browser.get(`/search?type=${encodeURIComponent(XSS_SCRIPT)}&health=sideways&page=0&sort=${encodeURIComponent(XSS_IMG)}`);
    expect(response.statusCode).toBe(200);
    const body = response.body;
    expect(body).toContain('data-testid="search-invalid"');
    expect(body).toMatch(/Some filters were not valid and were ignored: Type, State, Order, Page\./);
    expect(body).not.toContain(XSS_SCRIPT);
    expect(body).not.toContain('<img src=x');
    // the other filters still apply: nothing was filtered, all types shown
    expect(types(body)).toHaveLength(5);

    // repeated parameters (arrays) are invalid too
    const twice = await browser.get('/search?type=proxy3&type=snmp');
    expect(twice.body).toContain('data-testid="search-invalid"');

    const catalan = new Browser(t.app, 'ca');
    await catalan.login('admin', t.adminPassword);
    const ca = (await catalan.get(`/search?type=${encodeURIComponent(XSS_SCRIPT)}`)).body;
    expect(ca).toContain('Alguns filtres no eren vàlids i no s&#39;han tingut en compte: Tipus.');
    expect(ca).toContain('Cerca serveis');
  });

  it('escapes hostile records everywhere (text and attributes)', async () => {
    const body = (await browser.get('/search')).body;
    for (const bad of [XSS_SCRIPT, '<img src=x', '<svg onload', 'onerror=alert(1)>', '"><svg', '"><img src=x']) expect(body).not.toContain(bad);
    expect(body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(body).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
    expect(body).toContain('&quot;&gt;&lt;svg onload=alert(2)&gt;');
    // the hostile node name also lands in the "near node" select and the post action fields
    expect(body).toContain(`<option value="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;">`);
    const near = (await browser.get(`/search?near=${encodeURIComponent(XSS_IMG)}`)).body;
    expect(near).not.toContain('<img src=x');
    expect(near).toContain('data-testid="search-near-node"');
  });

  it('shows the actions of the plugin that owns the type, and only safe ones', async () => {
    const body = (await browser.get('/search?type=testsvc')).body;
    const section = groupSection(body, 'testsvc');
    expect(section).toContain('data-action="info"');
    expect(section).toContain('10.2.0.1:8080');
    expect(section).toContain('href="/searchtest/use?node=nodeB&amp;port=8080"');
    // POST action: a form with the CSRF token and escaped hidden fields
    const form = /<form method="post" action="\/searchtest\/join"[\s\S]*?<\/form>/.exec(section)?.[0] ?? '';
    expect(form).toContain(`name="_csrf" value="${browser.csrf}"`);
    expect(form).toContain('name="node" value="nodeB"');
    expect(form).toContain('name="note" value="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"');
    // never: foreign, protocol-relative, javascript: or backslash hrefs, nor a forged _csrf field
    expect(body).not.toContain('evil.example');
    expect(body).not.toContain('javascript:');
    expect(body).not.toContain('forged');
    for (const n of [1, 2, 3, 4, 5]) expect(body).not.toContain(`search.evil${n}`);
    // another plugin's type gets another plugin's actions (squid owns proxy3)
    const proxy = groupSection((await browser.get('/search?type=proxy3')).body, 'proxy3');
    expect(proxy).toContain('10.1.0.1:3128');
    expect(proxy).not.toContain('/searchtest/');
    // a plugin that throws does not break the page
    const boom = await browser.get('/search?type=boom');
    expect(boom.statusCode).toBe(200);
    expect(rows(boom.body)).toHaveLength(1);
  });

  it('cuts long groups with a "show all" link and pages a chosen type', async () => {
    for (let i = 0; i < ROWS_PER_TYPE + 10; i++) {
      t.app.catalogue.setNode('serf', `bulk${i}`, [rec({ node: `bulk${i}`, type: 'bulk', port: 1000 + i })]);
    }
    try {
      const body = (await browser.get('/search')).body;
      expect(groupCount(body, 'bulk')).toBe(ROWS_PER_TYPE + 10);
      expect(rows(groupSection(body, 'bulk'))).toHaveLength(ROWS_PER_TYPE);
      expect(groupSection(body, 'bulk')).toContain('href="/search?type=bulk" data-testid="more-bulk"');
      const all = (await browser.get('/search?type=bulk')).body;
      expect(rows(all)).toHaveLength(ROWS_PER_TYPE + 10);
    } finally {
      for (let i = 0; i < ROWS_PER_TYPE + 10; i++) t.app.catalogue.removeNode('serf', `bulk${i}`);
    }
  });

  it('puts "Look for services" first in the Search menu, before the plugins', async () => {
    const body = (await browser.get('/search')).body;
    const menu = /data-section="search"[\s\S]*?<\/ul>/.exec(body)?.[0] ?? '';
    const links = [...menu.matchAll(/<a class="dropdown-item[^"]*" href="([^"]+)"/g)].map((m) => m[1]);
    expect(links[0]).toBe('/search');
    expect(links).toContain('/searchtest');
    expect(menu).toContain('aria-current="page">Look for services<');
  });

  it('refresh: POST only with the CSRF token, never waits, returns to the same search', async () => {
    const forged = await browser.post('/search/refresh', { back: 'type=proxy3' }, { withCsrf: false });
    expect(forged.statusCode).toBe(403);
    const response = await browser.post('/search/refresh', { back: 'type=proxy3' });
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toBe('/search?type=proxy3');
    const next = await browser.get('/search?type=proxy3');
    expect(next.body).toContain('Refreshing in the background');
    const bad = await browser.post('/search/refresh', { back: '"><script>' });
    expect(bad.headers.location).toBe('/search');
  });

  it('requires a login', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/search' });
    expect(response.statusCode).toBe(303);
    expect(response.headers.location).toMatch(/^\/login/);
  });
});

describe('search page without services', () => {
  it('explains how to set up Serf (and mDNS)', async () => {
    const t = await buildTestApp();
    try {
      const browser = new Browser(t.app);
      await browser.login('admin', t.adminPassword);
      const body = (await browser.get('/search')).body;
      expect(body).toContain('data-testid="search-empty"');
      expect(body).toContain('No services found yet');
      expect(body).toContain('Serf connects it to the whole community cloud.');
      expect(body).toContain('mDNS is off');
      if (t.app.registry.plugins.has('serf')) expect(body).toContain('href="/serf" data-testid="setup-serf"');
      expect(body).not.toContain('data-testid="search-filters"');
    } finally {
      await t.close();
    }
  });
});

describe('search helpers', () => {
  it('parses filters one by one', () => {
    expect(parseSearchQuery({ type: 'proxy3', health: 'up', q: '  x ', page: '2' })).toEqual({ query: { type: 'proxy3', health: 'up', q: 'x', page: 2 }, invalid: [] });
    expect(parseSearchQuery({ type: 'Bad Type', near: 'a'.repeat(65), microcloud: '\u0000' }).invalid).toEqual(['type', 'microcloud', 'near']);
    expect(parseSearchQuery({ unknown: 'x', type: '' })).toEqual({ query: {}, invalid: [] });
  });

  it('builds links from validated values only', () => {
    expect(searchHref({ type: 'proxy3', sort: 'rtt', page: 1 })).toBe('/search?type=proxy3');
    expect(searchHref({ q: 'a&b' }, { page: 2 })).toBe('/search?q=a%26b&page=2');
    expect(searchHref({})).toBe('/search');
  });

  it('formats RTTs', () => {
    expect(formatRtt(undefined)).toBe('—');
    expect(formatRtt(0.42)).toBe('0.4 ms');
    expect(formatRtt(12.5)).toBe('13 ms');
    expect(formatRtt(1500)).toBe('1.5 s');
  });
});
