// Issue #4 end to end: "from a browser, a user on node A sees the services of nodes B and C ranked
// by distance, with working actions". Three REAL serf agents on loopback (127.0.4.1-3, joined);
// B and C announce through the panel's own Discovery/Publisher/serf driver (records file answered
// by `serf query`, index in tags), like test/discovery/*.integration.test.ts. Panel A is the real
// buildApp with every plugin and background discovery: the serf plugin reads its endpoint from the
// managed /etc/serf/cloudy.json in a temp root, dpkg there says serf is installed and the
// supervised pid file holds agent A's real PID, so the registry sees serf running exactly as on a
// host without systemd. Its runner is the real one (execa), restricted to `serf ... -rpc-addr=A`:
// anything else is refused and fails the test. Nothing is injected into the catalogue.
// Runs as root (CI: scripts/test-services). Every agent is killed by PID in afterAll.
import { mkdirSync, readFileSync, symlinkSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser as PwBrowser, BrowserContext, Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { PanelSettingsSchema } from '../../src/config.js';
import { LoginThrottle } from '../../src/core/login-throttle.js';
import { createExecaRunner, type Runner } from '../../src/system/runner.js';
import { Catalogue } from '../../src/discovery/catalogue.js';
import { Discovery, RECORDS_FILE, type SerfEndpoint } from '../../src/discovery/discovery.js';
import type { LocalService } from '../../src/discovery/publisher.js';
import { formatRtt } from '../../src/pages/search.js';
import { renderSerfConf, SerfSettingsSchema } from '../../plugins/serf/serf-conf.js';
import { SERF_CONF } from '../../plugins/serf/manifest.js';
import { SerfLab, waitFor, type Agent } from '../discovery/serf-lab.js';
import { createTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { initialAdminPassword } from '../helpers/build-app.js';
import { DESKTOP, PHONE, PageErrors, launchChromium, listenOnLoopback, loginInBrowser, screenshot } from '../helpers/browser.js';

if (process.getuid?.() !== 0) throw new Error('this browser test starts serf agents: run it as root (bash scripts/test-services ...)');

// Only loopback addresses (127.0.4.x is this test's own range).
const IP = { a: '127.0.4.1', b: '127.0.4.2', c: '127.0.4.3' } as const;
const GOSSIP_PORT = 7946;
const rpcOf = (ip: string) => `${ip}:7373`;
const RPC_A = rpcOf(IP.a);

const t0 = Date.now();
const mark = (what: string) => console.log(`[discovery-e2e] +${((Date.now() - t0) / 1000).toFixed(1)} s ${what}`);

/**
 * The real runner, but only for the serf CLI against agent A's RPC: the panel runs with a temp root
 * prefix, and nothing else it might run (getent, apt, systemctl, a daemon) may touch this host.
 */
function serfOnlyRunner(ran: string[], refused: string[]): Runner {
  const real = createExecaRunner();
  return {
    async run(argv, options) {
      const line = argv.join(' ');
      if (argv[0] !== 'serf' || !argv.includes(`-rpc-addr=${RPC_A}`)) {
        refused.push(line);
        return { exitCode: 126, stdout: '', stderr: 'refused by the discovery e2e test', timedOut: false };
      }
      ran.push(line);
      return real.run(argv, options);
    },
    async spawnDetached(argv) {
      refused.push(`spawnDetached ${argv.join(' ')}`);
      throw new Error('the discovery e2e test starts no daemon through the panel');
    },
  };
}

/** A remote node: the panel's own Discovery (publisher + serf driver) against its agent. */
function remoteNode(agent: Agent, ip: string, microcloud: string, services: () => LocalService[]): Discovery {
  const endpoint: SerfEndpoint = { rpcAddress: agent.rpcAddress, address: ip, bindPort: GOSSIP_PORT, microcloud, host: `${agent.name}.cloudy.test` };
  return new Discovery({
    catalogue: new Catalogue(),
    runner: createExecaRunner(),
    endpoint: async () => endpoint,
    services: async () => services(),
    writeRecords: async (payload) => writeFileSync(agent.recordsFile, payload),
    readRecords: async () => { try { return readFileSync(agent.recordsFile, 'utf8'); } catch { return undefined; } },
  });
}

interface Row {
  type: string;
  node: string;
  health: string;
  description: string;
  badge: string;
  dataRtt: string;
  rttText: string;
  address: string;
  nodeCell: string;
  info: string[];
  links: { text: string; href: string }[];
}

describe('discovery end to end: panel A sees B and C through real serf agents', () => {
  const lab = new SerfLab();
  const agents = {} as Record<'a' | 'b' | 'c', Agent>;
  const remotes: Discovery[] = [];
  const ran: string[] = [];
  const refused: string[] = [];
  const pageErrors = new PageErrors();
  const { problems } = pageErrors;
  let root: TempRoot | undefined;
  let base: string | undefined;
  let app: FastifyInstance | undefined;
  let url = '';
  let adminPassword = '';
  let browser: PwBrowser | undefined;
  let context: BrowserContext | undefined;
  let page: Page;
  let nodeB: Discovery;
  let nodeC: Discovery;
  let bServices: LocalService[];

  const login = (p: Page) => loginInBrowser(p, url, adminPassword);

  const rows = (p: Page): Promise<Row[]> => p.$$eval('tr.search-row', (list) => list.map((r) => {
    const cells = r.querySelectorAll('td');
    return {
      type: r.getAttribute('data-type') ?? '',
      node: r.getAttribute('data-node') ?? '',
      health: r.getAttribute('data-health') ?? '',
      description: r.getAttribute('data-description') ?? '',
      badge: cells[0]?.textContent?.trim() ?? '',
      dataRtt: r.getAttribute('data-rtt') ?? '',
      rttText: cells[5]?.textContent?.trim() ?? '',
      // the address cell: "address:port" then the host name in a <small>
      address: cells[3]?.childNodes[0]?.textContent?.trim() ?? '',
      nodeCell: cells[2]?.textContent?.replace(/\s+/g, ' ').trim() ?? '',
      info: [...r.querySelectorAll('[data-action=info]')].map((e) => e.textContent?.replace(/\s+/g, ' ').trim() ?? ''),
      links: [...r.querySelectorAll('a[data-action=link]')].map((a) => ({ text: a.textContent?.trim() ?? '', href: a.getAttribute('href') ?? '' })),
    };
  }));

  /**
   * What a user does while waiting: press "Refresh" (asks the panel's discovery for a refresh in
   * the background and reloads the page), look again; bounded.
   */
  async function refreshUntil<T>(what: string, check: (list: Row[]) => T | undefined | false, timeoutMs = 30_000): Promise<T> {
    return waitFor(what, async () => {
      const back = page.waitForResponse((r) => r.request().method() === 'GET' && new URL(r.url()).pathname === '/search');
      await page.click('[data-testid=search-refresh] button[type=submit]');
      await back;
      await page.waitForLoadState('load');
      await page.waitForTimeout(400);
      await page.reload();
      return check(await rows(page));
    }, timeoutMs, 300);
  }

  beforeAll(async () => {
    // ── three real agents on loopback; B and C join through A ──
    agents.a = await lab.startAgent({ name: 'node-a', bind: IP.a, port: GOSSIP_PORT, rpcAddress: RPC_A });
    [agents.b, agents.c] = await Promise.all([
      lab.startAgent({ name: 'node-b', bind: IP.b, port: GOSSIP_PORT, rpcAddress: rpcOf(IP.b), peers: [`${IP.a}:${GOSSIP_PORT}`] }),
      lab.startAgent({ name: 'node-c', bind: IP.c, port: GOSSIP_PORT, rpcAddress: rpcOf(IP.c), peers: [`${IP.a}:${GOSSIP_PORT}`] }),
    ]);
    await waitFor('three alive members', () => lab.members(agents.a).filter((m) => m.status === 'alive').length === 3, 20_000);
    mark('3 agents joined');

    // ── B and C announce through the panel's own publisher ──
    bServices = [
      { type: 'proxy3', port: 3128, description: 'Squid proxy on node B', txt: { federated: 'yes' } },
      { type: 'serf', port: GOSSIP_PORT, description: 'Serf agent node-b: join the community cloud through this node' },
    ];
    const cServices: LocalService[] = [
      { type: 'dnsservice', port: 53, description: 'DNS resolver on node C' },
      { type: 'proxy3', port: 8080, description: 'Squid proxy on node C' },
    ];
    nodeB = remoteNode(agents.b, IP.b, 'mc-b', () => bServices);
    nodeC = remoteNode(agents.c, IP.c, 'mc-c', () => cServices);
    remotes.push(nodeB, nodeC);
    expect((await nodeB.publishOnce())?.action).toBe('set');
    expect((await nodeC.publishOnce())?.action).toBe('set');
    // agent A has network coordinates for B and C (serf's own estimate works), so the panel's
    // first coordinate read (it reads them every 30 s) already has them
    await waitFor('serf coordinates of B and C on A', () => ['node-b', 'node-c'].every((n) => lab.serf(agents.a, ['rtt', n]).status === 0), 30_000, 250);
    mark('B and C published, coordinates known');

    // ── panel A: temp root where the serf plugin finds a managed config for agent A ──
    root = createTempRoot();
    const settingsA = SerfSettingsSchema.parse({ nodeName: 'node-a', bindAddress: IP.a, bindPort: GOSSIP_PORT, rpcAddress: RPC_A, profile: 'lan' });
    root.write(SERF_CONF, renderSerfConf(settingsA)); // what the plugin itself writes
    root.installed({ serf: '0.8.2~ds1-4' });
    // no systemd, no init script in the root: the serf service is the pid-file supervised daemon;
    // its pid file holds the real agent's PID, so "running" is a real liveness check
    root.write('/run/cloudy/serf.pid', `${agents.a.pid}\n`);
    // agent A's query handler prints what panel A's publisher writes (RECORDS_FILE under the root)
    mkdirSync(path.dirname(root.p(RECORDS_FILE)), { recursive: true });
    symlinkSync(root.p(RECORDS_FILE), agents.a.recordsFile);

    base = mkdtempSync(path.join(tmpdir(), 'cloudy-e2e-'));
    const configDir = path.join(base, 'etc');
    app = await buildApp({
      config: { configDir, dataDir: path.join(base, 'var'), rootPrefix: root.dir, settings: PanelSettingsSchema.parse({}) },
      runner: serfOnlyRunner(ran, refused),
      background: true, // the real loops: registry status, serf discovery (refresh 10 s, publish 30 s)
      throttle: new LoginThrottle(1000),
    });
    url = await listenOnLoopback(app);
    adminPassword = initialAdminPassword(configDir);
    mark(`panel A listening on ${url}`);

    browser = await launchChromium();
    context = await browser.newContext({ viewport: DESKTOP, locale: 'en-US' });
    page = await context.newPage();
    pageErrors.watch(page, 'desktop');
    await login(page);
  });

  afterAll(async () => {
    await context?.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await app?.close().catch(() => undefined);
    for (const d of remotes) await d.stop().catch(() => undefined);
    await lab.cleanup(); // every agent by PID (SIGKILL), and the lab folder
    root?.cleanup();
    if (base) rmSync(base, { recursive: true, force: true });
    mark('cleaned up');
  });

  it('Search → "Look for services" lists B\'s and C\'s services by type, nearest first, with node, address, port', async () => {
    await page.click('[data-section=search] .dropdown-toggle');
    const first = page.locator('[data-section=search] .dropdown-menu a').first();
    expect((await first.textContent())?.trim()).toBe('Look for services');
    await Promise.all([page.waitForURL(`${url}/search`), first.click()]);

    // until the full records of B and C (descriptions come only from the query answer, not the
    // tags) and everybody's coordinates are there
    const list = await refreshUntil('B and C with full records and RTTs on the page', (l) => {
      const want = ['proxy3/node-b', 'serf/node-b', 'proxy3/node-c', 'dnsservice/node-c', 'serf/node-a'];
      const ok = want.every((k) => l.some((r) => `${r.type}/${r.node}` === k))
        && l.every((r) => r.description !== '' && r.rttText !== '—')
        && (l.find((r) => r.node === 'node-b' && r.type === 'proxy3')?.info.length ?? 0) > 0;
      return ok ? l : undefined;
    }, 40_000);
    mark('services of B and C on the page');
    await page.waitForTimeout(300);

    // grouped by type (alphabetical sections), with counts
    const sections = await page.$$eval('section.search-group', (s) => s.map((e) => ({
      type: e.getAttribute('data-type'), count: e.querySelector('[data-group-count]')?.textContent?.trim(),
      rows: [...e.querySelectorAll('tr.search-row')].map((r) => r.getAttribute('data-node')),
    })));
    expect(sections.map((s) => s.type)).toEqual(['dnsservice', 'proxy3', 'serf']);
    expect(sections.map((s) => [s.type, s.count])).toEqual([['dnsservice', '1'], ['proxy3', '2'], ['serf', '2']]);
    const navCounts = await page.$$eval('[data-count-for]', (b) => b.map((e) => `${e.getAttribute('data-count-for')}=${e.textContent?.trim()}`));
    expect(navCounts).toEqual(['dnsservice=1', 'proxy3=2', 'serf=2']);
    expect(await page.textContent('#search-summary')).toBe('Showing 5 of 5 services.');

    // every row: its node, address:port (the address the node announced), up, a measured RTT
    const byKey = new Map(list.map((r) => [`${r.type}/${r.node}`, r]));
    expect(byKey.get('proxy3/node-b')).toMatchObject({ address: `${IP.b}:3128`, health: 'up', badge: 'Up' });
    expect(byKey.get('serf/node-b')).toMatchObject({ address: `${IP.b}:${GOSSIP_PORT}`, health: 'up' });
    expect(byKey.get('proxy3/node-c')).toMatchObject({ address: `${IP.c}:8080`, health: 'up' });
    expect(byKey.get('dnsservice/node-c')).toMatchObject({ address: `${IP.c}:53`, health: 'up' });
    expect(byKey.get('serf/node-a')).toMatchObject({ address: `${IP.a}:${GOSSIP_PORT}`, health: 'up' }); // A announces itself
    for (const r of list) {
      expect(r.nodeCell, `${r.type}/${r.node}`).toBe(`${r.node} serf`); // name + source badge
      const rtt = Number(r.dataRtt);
      expect(r.dataRtt, `${r.type}/${r.node} has a distance`).not.toBe('');
      expect(Number.isFinite(rtt) && rtt >= 0 && rtt < 100, `${r.type}/${r.node} rtt ${r.dataRtt}`).toBe(true);
      expect(r.rttText).toBe(formatRtt(rtt)); // the text shown is that distance
    }
    expect(Number(byKey.get('serf/node-a')!.dataRtt)).toBe(0); // this node is at distance 0
    expect(await page.textContent('main')).toContain('Squid proxy on node B'); // from the query answer

    // ranked by distance: within each type, the RTTs shown never decrease
    for (const type of ['dnsservice', 'proxy3', 'serf']) {
      const rtts = list.filter((r) => r.type === type).map((r) => Number(r.dataRtt));
      expect(rtts, type).toEqual([...rtts].sort((x, y) => x - y));
    }
    expect(sections.find((s) => s.type === 'serf')!.rows[0]).toBe('node-a');
    const dist = Object.fromEntries(list.map((r) => [`${r.type}/${r.node}`, r.rttText]));
    console.log(`[discovery-e2e] RTTs shown on A: ${JSON.stringify(dist)}`);
    expect(problems).toEqual([]);
    await screenshot(page, 'search-e2e-1280');
  });

  it('the proxy3 action shows host:port to use as proxy (and dnsservice the server address)', async () => {
    const list = await rows(page);
    expect(list.find((r) => r.type === 'proxy3' && r.node === 'node-b')!.info).toEqual([`Use as proxy ${IP.b}:3128`]);
    expect(list.find((r) => r.type === 'proxy3' && r.node === 'node-c')!.info).toEqual([`Use as proxy ${IP.c}:8080`]);
    expect(list.find((r) => r.type === 'dnsservice' && r.node === 'node-c')!.info).toEqual([`Use as DNS server ${IP.c}`]);
  });

  it('"Join through this node" opens Setup Serf with B\'s address:port in the peers field', async () => {
    const link = page.locator('[data-testid=group-serf] tr[data-node=node-b] a[data-action=link]');
    expect((await link.textContent())?.trim()).toBe('Join through this node');
    expect(await link.getAttribute('href')).toBe(`/serf?join=${encodeURIComponent(`${IP.b}:${GOSSIP_PORT}`)}`);
    await Promise.all([page.waitForURL(/\/serf\?join=/), link.click()]);
    expect((await page.textContent('h1'))?.trim()).toBe('Setup Serf');
    expect(await page.textContent('[data-testid=serf-notice]')).toContain('The node to join through was added to the peers');
    expect(await page.inputValue('#f-peers')).toBe(`${IP.b}:${GOSSIP_PORT}`);
    expect(await page.inputValue('#f-rpcAddress')).toBe(RPC_A); // the settings are A's real config
    // the members table comes from the same discovery
    for (const n of ['node-a', 'node-b', 'node-c']) expect(await page.locator(`[data-testid=serf-members] tr[data-member=${n}]`).count(), n).toBe(1);
    expect(problems).toEqual([]);
    await page.goBack();
    await page.waitForURL(`${url}/search`);
  });

  it('fits a 390 px phone', async () => {
    const phone = await browser!.newContext({ viewport: PHONE, locale: 'en-US', isMobile: true, hasTouch: true });
    try {
      const p = await phone.newPage();
      pageErrors.watch(p, 'phone');
      await login(p);
      await p.goto(`${url}/search`);
      await p.waitForSelector('tr.search-row[data-node=node-c]');
      expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
      await screenshot(p, 'search-e2e-390');
    } finally {
      await phone.close();
    }
    expect(problems).toEqual([]);
  });

  it('a service B stops (withdrawn by its publisher) disappears after a refresh', async () => {
    bServices = bServices.filter((s) => s.type !== 'proxy3');
    expect((await nodeB.publishOnce())?.action).toBe('set');
    const started = Date.now();
    const list = await refreshUntil("B's proxy3 gone", (l) => (!l.some((r) => r.type === 'proxy3' && r.node === 'node-b') ? l : undefined));
    mark(`B's proxy3 gone from the page ${Date.now() - started} ms after it was withdrawn`);
    expect(list.filter((r) => r.type === 'proxy3').map((r) => r.node)).toEqual(['node-c']);
    expect(list.some((r) => r.type === 'serf' && r.node === 'node-b')).toBe(true); // the rest of B stays
    expect(await page.textContent('[data-testid=group-proxy3] [data-group-count]')).toBe('1');
  });

  it('killing C\'s agent (SIGKILL) shows C\'s services as down', async () => {
    await lab.kill(agents.c, 'SIGKILL');
    const started = Date.now();
    await refreshUntil('C failed', (l) => {
      const c = l.filter((r) => r.node === 'node-c');
      return c.length === 2 && c.every((r) => r.health === 'down') ? l : undefined;
    }, 45_000);
    mark(`C's services down on the page ${Date.now() - started} ms after SIGKILL`);
    const visible = () => page.$$eval('tr.search-row', (l) => l.filter((r) => !(r as HTMLElement).hidden && (r as HTMLElement).offsetParent !== null)
      .map((r) => `${r.getAttribute('data-type')}/${r.getAttribute('data-node')}`).sort());
    await page.selectOption('#s-health', 'down');
    expect(await visible()).toEqual(['dnsservice/node-c', 'proxy3/node-c']);
    const badges = await page.$$eval('tr.search-row[data-node=node-c] td:first-child', (l) => l.map((e) => e.textContent?.trim()));
    expect(badges).toEqual(['Node unreachable', 'Node unreachable']); // serf says failed
    await screenshot(page, 'search-e2e-down-1280');
    await page.selectOption('#s-health', 'up');
    expect(await visible()).toEqual(['serf/node-a', 'serf/node-b']);
    expect(problems).toEqual([]);
  });

  it('panel A only ran the serf CLI against its own agent', () => {
    expect(refused).toEqual([]);
    const verbs = new Set(ran.map((line) => line.split(' ')[1]));
    for (const verb of ['members', 'info', 'query', 'tags']) expect(verbs.has(verb), `serf ${verb}`).toBe(true);
    mark(`panel A ran ${ran.length} serf commands: ${[...verbs].join(', ')}`);
  });
});
