import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { Jobs, type JobEvent } from '../../src/core/jobs.js';
import { Browser, buildTestApp } from '../helpers/build-app.js';

const log = pino({ level: 'silent' });

describe('jobs', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(path.join(tmpdir(), 'cloudy-jobs-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs one job at a time, in order, keeping state and log on disk', async () => {
    const jobs = new Jobs(dir, log);
    await jobs.init();
    const order: string[] = [];
    let running = 0;
    let maxRunning = 0;
    const make = (name: string) => jobs.enqueue({
      title: name, returnTo: '/', run: async (job) => {
        running++; maxRunning = Math.max(maxRunning, running);
        order.push(`start ${name}`);
        job.log(`hello from ${name}`);
        job.progress(50, 'half');
        await new Promise((r) => setTimeout(r, 20));
        order.push(`end ${name}`);
        running--;
        if (name === 'b') throw new Error('b broke');
      },
    });
    const a = make('a');
    const b = make('b');
    await jobs.idle();
    expect(maxRunning).toBe(1);
    expect(order).toEqual(['start a', 'end a', 'start b', 'end b']);
    expect(jobs.get(a.id)).toMatchObject({ state: 'succeeded', progress: 100 });
    expect(jobs.get(b.id)).toMatchObject({ state: 'failed', error: 'b broke' });
    expect(JSON.parse(readFileSync(path.join(dir, 'jobs', `${b.id}.json`), 'utf8')).state).toBe('failed');
    expect(readFileSync(path.join(dir, 'jobs', `${a.id}.log`), 'utf8')).toContain('hello from a');
  });

  it('marks a job that was running when the panel died as interrupted', async () => {
    const first = new Jobs(dir, log);
    await first.init();
    let release!: () => void;
    const job = first.enqueue({ title: 'slow', returnTo: '/', run: () => new Promise<void>((r) => { release = r; }) });
    await new Promise((r) => setTimeout(r, 50));
    expect(JSON.parse(readFileSync(path.join(dir, 'jobs', `${job.id}.json`), 'utf8')).state).toBe('running');
    // "restart": a new Jobs over the same data dir
    const second = new Jobs(dir, log);
    await second.init();
    expect(second.get(job.id)?.state).toBe('interrupted');
    release();
    await first.idle();
  });

  it('streams state and log lines to subscribers', async () => {
    const jobs = new Jobs(dir, log);
    await jobs.init();
    const events: JobEvent[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const job = jobs.enqueue({ title: 't', returnTo: '/', run: async (ctx) => { await gate; ctx.log('line 1'); ctx.progress(40); } });
    jobs.subscribe(job.id, (e) => events.push(e));
    release();
    await jobs.idle();
    expect(events.filter((e) => e.type === 'log').map((e) => (e as { line: string }).line)).toEqual(['line 1']);
    expect(events.filter((e) => e.type === 'state').map((e) => (e as { record: { state: string } }).record.state)).toContain('succeeded');
  });
});

describe('job pages', () => {
  it('replays the log over SSE and shows a no-JavaScript refresh while running', async () => {
    const t = await buildTestApp();
    try {
      const b = new Browser(t.app);
      await b.login('admin', t.adminPassword);
      let release!: () => void;
      const gate = new Promise<void>((r) => { release = r; });
      const job = t.app.jobs.enqueue({ title: 'jobs.install', titleParams: { plugin: 'snmp:title' }, returnTo: '/snmp', run: async (ctx) => { ctx.log('step <one>'); ctx.progress(30, 'working'); await gate; } });
      await new Promise((r) => setTimeout(r, 20));
      const page = await b.get(`/jobs/${job.id}`);
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('<noscript><meta http-equiv="refresh" content="2"></noscript>');
      expect(page.body).toContain('step &lt;one&gt;');
      release();
      await t.app.jobs.idle();
      const events = await b.get(`/jobs/${job.id}/events`, { accept: 'text/event-stream' });
      expect(events.headers['content-type']).toContain('text/event-stream');
      expect(events.body).toContain('event: log\ndata: "step <one>"');
      expect(events.body).toMatch(/event: state\ndata: \{[^\n]*"state":"succeeded"/);
      const done = await b.get(`/jobs/${job.id}`);
      expect(done.body).not.toContain('http-equiv="refresh"');
      expect((await b.get('/jobs/not-a-job')).statusCode).toBe(404);
    } finally {
      await t.close();
    }
  });
});
