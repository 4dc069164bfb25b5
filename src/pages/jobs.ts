// Job pages: progress bar + live log over Server-Sent Events; without JavaScript the page
// refreshes itself while the job runs. Re-attaching replays the log so far.
import type { FastifyInstance } from 'fastify';
import type { JobEvent, Jobs } from '../core/jobs.js';

export async function jobPages(app: FastifyInstance, opts: { jobs: Jobs }) {
  const { jobs } = opts;

  app.get('/jobs', async (_request, reply) => reply.page('views/pages/jobs.eta', { title: 'jobs.title', jobs: jobs.list(50) }));

  app.get<{ Params: { id: string } }>('/jobs/:id', async (request, reply) => {
    const job = jobs.get(request.params.id);
    if (!job) return reply.page('views/pages/error.eta', { title: 'errors.notFoundTitle', message: request.t('errors.notFound'), status: 404 }, 404);
    const log = await jobs.logOf(job.id);
    const active = job.state === 'queued' || job.state === 'running';
    return reply.page('views/pages/job.eta', { title: 'jobs.one', job, log: log.slice(-500), noscriptRefresh: active ? 2 : undefined });
  });

  app.get<{ Params: { id: string } }>('/jobs/:id.json', async (request, reply) => {
    const job = jobs.get(request.params.id);
    if (!job) return reply.code(404).send({ error: 'not found' });
    return { ...job, log: await jobs.logOf(job.id) };
  });

  app.get<{ Params: { id: string } }>('/jobs/:id/events', async (request, reply) => {
    const job = jobs.get(request.params.id);
    if (!job) return reply.code(404).send({ error: 'not found' });
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    const send = (event: JobEvent) => {
      if (event.type === 'state') res.write(`event: state\ndata: ${JSON.stringify(event.record)}\n\n`);
      else res.write(`event: log\ndata: ${JSON.stringify(event.line)}\n\n`);
    };
    // Subscribe first so nothing falls between the replay and the live stream.
    const buffered: JobEvent[] = [];
    let replaying = true;
    const unsubscribe = jobs.subscribe(job.id, (event) => (replaying ? buffered.push(event) : send(event)));
    res.write('retry: 2000\n\n');
    for (const line of await jobs.logOf(job.id)) send({ type: 'log', line });
    send({ type: 'state', record: jobs.get(job.id)! });
    replaying = false;
    for (const event of buffered) if (event.type === 'state') send(event);
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    const close = () => {
      clearInterval(heartbeat);
      unsubscribe();
    };
    request.raw.on('close', close);
    const finished = (event: JobEvent) => {
      if (event.type === 'state' && !['queued', 'running'].includes(event.record.state)) {
        setTimeout(() => { close(); res.end(); }, 50);
      }
    };
    if (!['queued', 'running'].includes(jobs.get(job.id)!.state)) finished({ type: 'state', record: jobs.get(job.id)! });
    else {
      const stop = jobs.subscribe(job.id, finished);
      request.raw.on('close', stop);
    }
  });
}
