// The serf plugin on the real host, with Debian's serf and its init script (runs as _serf):
// the settings form writes /etc/serf/cloudy.json (0640 root:_serf, gossip key inside), serf
// restarts and answers on the configured RPC address (loopback, non-default port), the panel
// announces serf itself, the static query handler answers `cloudy-services` with the records
// file, the members table shows this node; stop works. Gossip binds 127.0.0.1 only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Browser } from '../../../test/helpers/build-app.js';
import { startPanelOnHost, type PanelOnHost } from '../../../test/helpers/panel-on-host.js';
import { decodeDocument } from '../../../src/discovery/codec.js';
import { RECORDS_FILE } from '../../../src/discovery/discovery.js';

if (process.getuid?.() !== 0) throw new Error('the integration tier runs as root');

const CONF = '/etc/serf/cloudy.json';
const RPC = '127.0.0.1:17380';
const KEY = randomBytes(32).toString('base64');
const serfStatus = () => spawnSync('service', ['serf', 'status']).status;
const serfCli = (...args: string[]) => spawnSync('serf', [args[0]!, `-rpc-addr=${RPC}`, ...args.slice(1)], { encoding: 'utf8' });

describe('serf plugin on the real host', () => {
  let panel: PanelOnHost | undefined;
  let app: FastifyInstance;
  let b: Browser;
  let runJob: PanelOnHost['runJob'];
  const saved = new Map<string, string | undefined>();
  const recordsDirExisted = existsSync(path.dirname(RECORDS_FILE));

  beforeAll(async () => {
    for (const file of [CONF, RECORDS_FILE]) saved.set(file, existsSync(file) ? readFileSync(file, 'utf8') : undefined);
    if (spawnSync('dpkg-query', ['-W', '-f=${db:Status-Abbrev}', 'serf'], { encoding: 'utf8' }).stdout !== 'ii ') {
      spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'serf'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    }
    spawnSync('service', ['serf', 'stop']);
    panel = await startPanelOnHost('serf');
    ({ app, browser: b, runJob } = panel);
  });

  afterAll(async () => {
    spawnSync('service', ['serf', 'stop']);
    await panel?.close();
    for (const [file, content] of saved) {
      if (content === undefined) rmSync(file, { force: true });
      else writeFileSync(file, content);
      rmSync(file + '.cloudy-bak', { force: true });
    }
    if (!recordsDirExisted) rmSync(path.dirname(RECORDS_FILE), { recursive: true, force: true });
  });

  it('applies settings: config 0640 root:_serf, serf restarts as _serf and answers on the configured RPC', async () => {
    const applied = await runJob('/serf', {
      nodeName: 'cloudy-ci-node', bindAddress: '127.0.0.1', bindPort: '17950', advertiseAddress: '', rpcAddress: RPC,
      peers: '', microcloud: 'ci-cloud', encryptKey: KEY, profile: 'local',
    });
    expect(applied.record.state, applied.log.join('\n')).toBe('succeeded');
    const stat = statSync(CONF);
    const serfGid = Number(spawnSync('getent', ['group', '_serf'], { encoding: 'utf8' }).stdout.split(':')[2]);
    expect(stat.mode & 0o777).toBe(0o640);
    expect([stat.uid, stat.gid]).toEqual([0, serfGid]);
    expect(serfStatus()).toBe(0);
    const info = JSON.parse(serfCli('info', '-format=json').stdout);
    expect(info.agent.name).toBe('cloudy-ci-node');
    expect(info.serf.encrypted).toBe('true');
    // the daemon really runs as _serf (it read the 0640 file through its group)
    const pid = readFileSync('/var/run/serf.pid', 'utf8').trim();
    expect(spawnSync('ps', ['-o', 'user=', '-p', pid], { encoding: 'utf8' }).stdout.trim()).toBe('_serf');
  });

  it('announces serf itself; the static handler answers the query with the records file', async () => {
    await app.registry.refreshAll();
    expect(app.registry.status('serf')).toMatchObject({ installed: true, running: true });
    const outcome = await app.discovery.publishOnce();
    expect(outcome?.action).toBe('set');
    expect(statSync(RECORDS_FILE).mode & 0o777).toBe(0o644);
    const tags = JSON.parse(serfCli('info', '-format=json').stdout).tags;
    expect(tags.cl).toBe('1|ci-cloud|serf:17950:u');
    const answer = JSON.parse(serfCli('query', '-format=json', '-no-ack', '-timeout=1s', 'cloudy-services').stdout);
    const doc = decodeDocument(answer.Responses['cloudy-ci-node'])!;
    expect(doc.hash).toBe(tags.ch);
    expect(doc.records).toEqual([expect.objectContaining({ type: 'serf', port: 17950, node: 'cloudy-ci-node', microcloud: 'ci-cloud', txt: { encrypted: 'yes' } })]);

    await app.discovery.refreshOnce();
    expect(app.catalogue.query({ type: 'serf' })[0]).toMatchObject({ node: 'cloudy-ci-node', source: 'serf', port: 17950, nodeStatus: 'alive' });
    const page = await b.get('/serf');
    expect(page.body).toContain('data-member="cloudy-ci-node"');
    expect(page.body).toContain('value="ci-cloud"');
  });

  it('stops and starts through the panel', async () => {
    expect((await runJob('/serf/stop')).record.state).toBe('succeeded');
    expect(serfStatus()).not.toBe(0);
    expect((await runJob('/serf/start')).record.state).toBe('succeeded');
    await new Promise((r) => setTimeout(r, 500));
    expect(serfCli('info').status).toBe(0);
    // tags are runtime state: gone after the restart, repaired by the next publish
    expect(JSON.parse(serfCli('info', '-format=json').stdout).tags.cl).toBeUndefined();
    await app.registry.refreshAll();
    expect((await app.discovery.publishOnce())?.action).toBe('set');
  });
});
