// Scale: 50 real serf agents on 127.0.1.1..127.0.1.50 (loopback only), each announcing 2
// services through the panel's Publisher + SerfDriver; the Discovery refresher on the first
// node must see all 100 services with their full records within a bounded time.
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import pino from 'pino';
import { SerfLab, waitFor, type Agent } from './serf-lab.js';
import { Catalogue } from '../../src/discovery/catalogue.js';
import { Discovery } from '../../src/discovery/discovery.js';
import { Publisher } from '../../src/discovery/publisher.js';
import { SerfDriver } from '../../src/discovery/serf.js';

if (process.getuid?.() !== 0) throw new Error('the integration tier runs as root');

const AGENTS = 50;
const CONVERGENCE_LIMIT_MS = 60_000;
const log = pino({ level: 'silent' });
const lab = new SerfLab();
afterAll(() => lab.cleanup());

const io = (agent: Agent) => ({
  writeRecords: async (p: string) => writeFileSync(agent.recordsFile, p),
  readRecords: async () => { try { return readFileSync(agent.recordsFile, 'utf8'); } catch { return undefined; } },
});

describe(`serf discovery with ${AGENTS} agents`, () => {
  it(`sees all ${AGENTS * 2} services on one node within ${CONVERGENCE_LIMIT_MS / 1000} s`, async () => {
    const t0 = Date.now();
    const first = await lab.startAgent({ name: 'scale-01', bind: '127.0.1.1', rpcAddress: '127.0.1.1:7373' });
    const rest: Agent[] = [];
    for (let batch = 2; batch <= AGENTS; batch += 10) {
      const ids = Array.from({ length: Math.min(10, AGENTS - batch + 1) }, (_, i) => batch + i);
      rest.push(...await Promise.all(ids.map((n) => lab.startAgent({
        name: `scale-${String(n).padStart(2, '0')}`, bind: `127.0.1.${n}`, rpcAddress: `127.0.1.${n}:7373`, peers: ['127.0.1.1:7946'],
      }))));
    }
    const agents = [first, ...rest];
    await waitFor('all members alive on scale-01', () => lab.members(first).filter((m) => m.status === 'alive').length === AGENTS, 60_000, 500);
    const tJoined = Date.now();

    const runner = lab.runner();
    const publishers = agents.map((agent, i) => new Publisher({
      target: new SerfDriver(runner, { rpcAddress: agent.rpcAddress }),
      services: async () => [
        { type: 'web', port: 8000 + i, description: `Web server ${i + 1}`, txt: { i: String(i + 1) } },
        { type: i % 2 ? 'proxy3' : 'dnsservice', port: i % 2 ? 3128 : 53, description: `Service of ${agent.name}` },
      ],
      identity: () => ({ host: `${agent.name}.scale.test`, addresses: [`127.0.1.${i + 1}`], microcloud: 'scale' }),
      ...io(agent),
      log,
    }));
    const results = await Promise.all(publishers.map((p) => p.publishOnce()));
    expect(results.every((r) => r.action === 'set')).toBe(true);
    const tPublished = Date.now();
    // every node keeps publishing periodically, as the panel does (30 s there, 10 s here): an
    // update whose broadcast did not go out on the congested cluster is set again
    let reasserted = 0;
    let republishing = true;
    const republish = (async () => {
      while (republishing) {
        for (let waited = 0; waited < 10_000 && republishing; waited += 250) await new Promise((r) => setTimeout(r, 250));
        if (!republishing) break;
        const outcomes = await Promise.all(publishers.map((p) => p.publishOnce().catch(() => undefined)));
        reasserted += outcomes.filter((o) => o?.action === 'reasserted').length;
      }
    })();

    const catalogue = new Catalogue();
    const discovery = new Discovery({
      catalogue, runner, log,
      endpoint: async () => ({ rpcAddress: first.rpcAddress, address: '127.0.1.1', bindPort: 7946, microcloud: 'scale', host: 'scale-01' }),
      services: async () => [],
      ...io(first),
    });
    let refreshes = 0;
    try {
      await waitFor('all services with full records', async () => {
        refreshes++;
        await discovery.refreshOnce();
        const full = catalogue.query({}).filter((e) => e.source === 'serf' && e.description);
        return full.length >= AGENTS * 2;
      }, CONVERGENCE_LIMIT_MS, 200).catch((error) => {
        const full = new Set(catalogue.query({}).filter((e) => e.description).map((e) => e.node));
        const missing = agents.map((a) => a.name).filter((n) => !full.has(n));
        const snap = discovery.snapshot();
        console.log(`[serf-scale] not converged: missing ${missing.join(', ')}; lastError ${snap.lastError}; members ${JSON.stringify(snap.members.filter((m) => missing.includes(m.name)))}`);
        for (const name of missing.slice(0, 3)) {
          const agent = agents.find((a) => a.name === name)!;
          console.log(`[serf-scale] ${name}: own tags ${lab.serf(agent, ['info', '-format=json']).stdout.slice(0, 600)}; seen by first: ${JSON.stringify(lab.members(first).find((m) => m.name === name))}; log ${readFileSync(agent.logFile, 'utf8').slice(-600)}`);
        }
        throw error;
      });
      const tConverged = Date.now();
      const entries = catalogue.query({});
      expect(entries).toHaveLength(AGENTS * 2);
      expect(new Set(entries.map((e) => e.node)).size).toBe(AGENTS);
      expect(catalogue.query({ type: 'web', node: 'scale-37' })[0]).toMatchObject({ port: 8036, addresses: ['127.0.1.37'], description: 'Web server 37', microcloud: 'scale' });

      const agentRss = agents.map((a) => lab.rssKb(a.pid));
      const report = {
        agents: AGENTS,
        services: entries.length,
        startAndJoinMs: tJoined - t0,
        publishMs: tPublished - tJoined,
        convergenceMs: tConverged - tPublished,
        refreshes,
        tagsSetAgainByPeriodicRuns: reasserted,
        agentRssMiB: { total: Math.round(agentRss.reduce((a, b) => a + b, 0) / 1024), perAgentMax: Math.round(Math.max(...agentRss) / 1024) },
        testProcessRssMiB: Math.round(process.memoryUsage().rss / 1024 / 1024),
      };
      console.log(`[serf-scale] ${JSON.stringify(report)}`);
      expect(report.convergenceMs).toBeLessThan(CONVERGENCE_LIMIT_MS);
    } finally {
      republishing = false;
      await republish;
      await discovery.stop();
    }
  });
});
