// The one way to run an OS command: an argv array (never a shell), a timeout and a fixed
// environment. Injected everywhere so unit tests can record argv instead of mocking modules.
// execa loads on first use (~90 ms of module loading the panel does not need to start).
import type { execa as Execa } from 'execa';

let loaded: Promise<typeof Execa> | undefined;
const loadExeca = () => (loaded ??= import('execa').then((m) => m.execa));

export interface RunOptions {
  /** Written to the command's stdin (debconf answers, never on the command line). */
  input?: string;
  timeoutMs?: number;
  env?: Record<string, string>;
  cwd?: string;
  /** Called with each complete stdout/stderr line while the command runs (job logs, apt progress). */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface DetachedOptions {
  logFile: string;
  env?: Record<string, string>;
  cwd?: string;
}

export interface Runner {
  run(argv: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Starts a daemon that outlives the call (pid-file backend); resolves with its PID. */
  spawnDetached(argv: readonly string[], options: DetachedOptions): Promise<number>;
}

export const BASE_ENV = {
  LC_ALL: 'C',
  LANG: 'C',
  DEBIAN_FRONTEND: 'noninteractive',
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
} as const;

const DEFAULT_TIMEOUT_MS = 120_000;

function assertArgv(argv: readonly string[]): asserts argv is [string, ...string[]] {
  if (argv.length === 0 || argv.some((a) => typeof a !== 'string' || a.includes('\0'))) {
    throw new Error('argv must be a non-empty array of strings without NUL');
  }
}

export function createExecaRunner(): Runner {
  return {
    async run(argv, options = {}) {
      assertArgv(argv);
      const [file, ...args] = argv;
      const execa = await loadExeca();
      const subprocess = execa(file, args, {
        input: options.input,
        timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        env: { ...BASE_ENV, ...options.env },
        extendEnv: false,
        cwd: options.cwd,
        reject: false,
        stripFinalNewline: false,
        buffer: true,
        lines: false,
        forceKillAfterDelay: 5000,
      });
      if (options.onLine) {
        const onLine = options.onLine;
        for (const [stream, name] of [[subprocess.stdout, 'stdout'], [subprocess.stderr, 'stderr']] as const) {
          let pending = '';
          stream?.on('data', (chunk: Buffer) => {
            pending += chunk.toString('utf8');
            const lines = pending.split('\n');
            pending = lines.pop() ?? '';
            for (const line of lines) onLine(line, name);
          });
          stream?.on('end', () => { if (pending) onLine(pending, name); });
        }
      }
      const result = await subprocess;
      return {
        exitCode: result.exitCode ?? (result.timedOut ? 124 : 127),
        stdout: String(result.stdout ?? ''),
        stderr: String(result.stderr ?? result.message ?? ''),
        timedOut: Boolean(result.timedOut),
      };
    },

    async spawnDetached(argv, options) {
      assertArgv(argv);
      const [file, ...args] = argv;
      const execa = await loadExeca();
      const subprocess = execa(file, args, {
        env: { ...BASE_ENV, ...options.env },
        extendEnv: false,
        cwd: options.cwd,
        detached: true,
        stdin: 'ignore',
        stdout: { file: options.logFile, append: true },
        stderr: { file: options.logFile, append: true },
        reject: false,
        cleanup: false,
      });
      subprocess.catch(() => undefined);
      const pid = subprocess.pid;
      if (pid === undefined) {
        const failed = await subprocess;
        throw new Error(`could not start ${file}: ${failed.message}`);
      }
      subprocess.unref();
      return pid;
    },
  };
}
