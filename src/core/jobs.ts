// Long OS work (apt, restarts) runs as jobs: one at a time, in order. Each job keeps its state
// and log in <dataDir>/jobs so a browser can leave and re-attach, and a job that was running
// when the panel stopped shows as interrupted after the restart.
import { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'interrupted';

export interface JobRecord {
  id: string;
  /** i18n key and params of what the job does */
  title: string;
  titleParams?: Record<string, string>;
  pluginId?: string;
  state: JobState;
  progress: number;
  message: string;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  error?: string;
  /** Where the user goes when it is done */
  returnTo: string;
}

export interface JobContext {
  log(line: string): void;
  progress(percent: number, message?: string): void;
}

export interface JobRequest {
  title: string;
  titleParams?: Record<string, string>;
  pluginId?: string;
  returnTo: string;
  run(job: JobContext): Promise<void>;
}

export type JobEvent =
  | { type: 'state'; record: JobRecord }
  | { type: 'log'; line: string };

const MAX_LOG_LINES = 5000;
const MAX_LINE_LENGTH = 2000;
const KEEP_RECORDS = 200;
const ID = /^[0-9a-f-]{36}$/;

export class Jobs {
  private readonly records = new Map<string, JobRecord>();
  private readonly logs = new Map<string, string[]>();
  private readonly events = new EventEmitter();
  private queue: Promise<void> = Promise.resolve();
  private readonly dir: string;
  private pendingLog = new Map<string, string[]>();
  private flushTimer?: NodeJS.Timeout;

  constructor(dataDir: string, private readonly log: FastifyBaseLogger, private readonly onFinished?: (record: JobRecord) => Promise<void>) {
    this.dir = path.join(dataDir, 'jobs');
    this.events.setMaxListeners(0);
  }

  async init(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const names = (await fs.readdir(this.dir)).filter((n) => n.endsWith('.json'));
    const loaded: JobRecord[] = [];
    for (const name of names) {
      try {
        loaded.push(JSON.parse(await fs.readFile(path.join(this.dir, name), 'utf8')) as JobRecord);
      } catch {
        // a half-written record from a crash: ignore it
      }
    }
    loaded.sort((a, b) => b.createdAt - a.createdAt);
    for (const record of loaded.slice(KEEP_RECORDS)) {
      await fs.rm(path.join(this.dir, `${record.id}.json`), { force: true });
      await fs.rm(path.join(this.dir, `${record.id}.log`), { force: true });
    }
    for (const record of loaded.slice(0, KEEP_RECORDS)) {
      if (record.state === 'running' || record.state === 'queued') {
        record.state = 'interrupted';
        record.finishedAt ??= Date.now();
        await this.persist(record);
      }
      this.records.set(record.id, record);
    }
  }

  list(limit = 20): JobRecord[] {
    return [...this.records.values()].sort((a, b) => b.createdAt - a.createdAt).slice(0, limit);
  }

  get(id: string): JobRecord | undefined {
    return ID.test(id) ? this.records.get(id) : undefined;
  }

  /** The job that is queued or running for a plugin, if any (one at a time per plugin). */
  activeFor(pluginId: string): JobRecord | undefined {
    return [...this.records.values()].find((r) => r.pluginId === pluginId && (r.state === 'queued' || r.state === 'running'));
  }

  async logOf(id: string): Promise<string[]> {
    const live = this.logs.get(id);
    if (live) return live;
    if (!ID.test(id)) return [];
    const text = await fs.readFile(path.join(this.dir, `${id}.log`), 'utf8').catch(() => '');
    return text ? text.replace(/\n$/, '').split('\n') : [];
  }

  subscribe(id: string, listener: (event: JobEvent) => void): () => void {
    this.events.on(id, listener);
    return () => this.events.off(id, listener);
  }

  enqueue(request: JobRequest): JobRecord {
    const record: JobRecord = {
      id: randomUUID(),
      title: request.title,
      titleParams: request.titleParams,
      pluginId: request.pluginId,
      state: 'queued',
      progress: 0,
      message: '',
      createdAt: Date.now(),
      returnTo: request.returnTo,
    };
    this.records.set(record.id, record);
    this.logs.set(record.id, []);
    void this.persist(record);
    this.queue = this.queue.then(() => this.execute(record, request));
    return record;
  }

  /** Resolves when every queued job has finished (tests, shutdown). */
  async idle(): Promise<void> {
    let current: Promise<void>;
    do {
      current = this.queue;
      await current;
    } while (current !== this.queue);
    await this.flushLogs();
  }

  private emitState(record: JobRecord): void {
    this.events.emit(record.id, { type: 'state', record: { ...record } } satisfies JobEvent);
  }

  private appendLog(record: JobRecord, raw: string): void {
    const line = raw.length > MAX_LINE_LENGTH ? `${raw.slice(0, MAX_LINE_LENGTH)}…` : raw;
    const lines = this.logs.get(record.id)!;
    if (lines.length < MAX_LOG_LINES) lines.push(line);
    else if (lines.length === MAX_LOG_LINES) lines.push('… (log truncated)');
    (this.pendingLog.get(record.id) ?? this.pendingLog.set(record.id, []).get(record.id)!).push(line);
    this.flushTimer ??= setTimeout(() => void this.flushLogs(), 500);
    this.events.emit(record.id, { type: 'log', line } satisfies JobEvent);
  }

  private async flushLogs(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const pending = this.pendingLog;
    this.pendingLog = new Map();
    for (const [id, lines] of pending) {
      await fs.appendFile(path.join(this.dir, `${id}.log`), lines.join('\n') + '\n', { mode: 0o600 });
    }
  }

  private persisting = new Map<string, Promise<void>>();

  /** Writes the record atomically; writes of one job are serialised so they never race. */
  private persist(record: JobRecord): Promise<void> {
    const file = path.join(this.dir, `${record.id}.json`);
    const snapshot = JSON.stringify(record);
    const previous = this.persisting.get(record.id) ?? Promise.resolve();
    const next = previous.then(async () => {
      const temp = `${file}.tmp`;
      await fs.writeFile(temp, snapshot, { mode: 0o600 });
      await fs.rename(temp, file);
    }).catch((error) => this.log.warn({ err: error, job: record.id }, 'cannot save job record'));
    this.persisting.set(record.id, next);
    return next;
  }

  private async execute(record: JobRecord, request: JobRequest): Promise<void> {
    record.state = 'running';
    record.startedAt = Date.now();
    await this.persist(record);
    this.emitState(record);
    let lastPersist = 0;
    const context: JobContext = {
      log: (line) => this.appendLog(record, line),
      progress: (percent, message) => {
        record.progress = Math.max(record.progress, Math.max(0, Math.min(100, Math.round(percent))));
        if (message !== undefined) record.message = message.slice(0, 300);
        this.emitState(record);
        if (Date.now() - lastPersist > 1000) {
          lastPersist = Date.now();
          void this.persist(record);
        }
      },
    };
    try {
      await request.run(context);
      record.state = 'succeeded';
      record.progress = 100;
    } catch (error) {
      record.state = 'failed';
      record.error = (error as Error).message;
      const output = (error as { details?: { output?: string } }).details?.output;
      if (output) for (const line of output.trimEnd().split('\n').slice(-40)) this.appendLog(record, line);
      this.appendLog(record, `ERROR: ${record.error}`);
      this.log.warn({ job: record.id, title: record.title, err: error }, 'job failed');
    }
    // Refresh the plugin's status before announcing the end, so the page the user returns to is current.
    await this.onFinished?.(record).catch(() => undefined);
    record.finishedAt = Date.now();
    await this.flushLogs();
    await this.persist(record);
    this.emitState(record);
  }
}
