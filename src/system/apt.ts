// apt-get install/remove with progress read from APT::Status-Fd. Waits for the dpkg lock.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { RootPrefix } from './root.js';
import type { Runner } from './runner.js';
import { SystemError } from './errors.js';

export interface AptProgress {
  percent: number;
  message: string;
}

export interface AptCallbacks {
  onProgress?: (progress: AptProgress) => void;
  onLine?: (line: string) => void;
}

export const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]{1,62}$/;
const LOCK_TIMEOUT_S = 900;
const APT_TIMEOUT_MS = 45 * 60_000;
const LISTS_MAX_AGE_MS = 24 * 3600_000;

/**
 * One Status-Fd line → overall progress. Downloads take 0–40 %, dpkg work 40–100 %:
 * dlstatus:<n>:<percent>:<text>  pmstatus:<pkg>:<percent>:<text>
 */
export function parseStatusLine(line: string): AptProgress | undefined {
  const match = /^(dlstatus|pmstatus|pmerror|pmconffile):([^:]*):([\d.]+):(.*)$/.exec(line.trim());
  if (!match) return undefined;
  const [, kind, , value, message] = match;
  const percent = Number(value);
  if (!Number.isFinite(percent)) return undefined;
  const overall = kind === 'dlstatus' ? percent * 0.4 : 40 + percent * 0.6;
  return { percent: Math.max(0, Math.min(100, Math.round(overall))), message: message ?? '' };
}

export class Apt {
  constructor(private readonly root: RootPrefix, private readonly runner: Runner) {}

  private async listsAreStale(): Promise<boolean> {
    const dir = this.root.path('/var/lib/apt/lists');
    try {
      const names = (await fs.readdir(dir)).filter((n) => n.endsWith('_Packages') || n.endsWith('_Packages.lz4'));
      if (names.length === 0) return true;
      const stats = await Promise.all(names.map((n) => fs.stat(path.join(dir, n))));
      return Date.now() - Math.max(...stats.map((s) => s.mtimeMs)) > LISTS_MAX_AGE_MS;
    } catch {
      return true;
    }
  }

  private aptArgv(verb: string[], packages: readonly string[]): string[] {
    for (const name of packages) {
      if (!PACKAGE_NAME.test(name)) throw new SystemError(`invalid package name: ${name}`);
    }
    return [
      'apt-get', '-y', '-q',
      '-o', 'APT::Status-Fd=1',
      '-o', `DPkg::Lock::Timeout=${LOCK_TIMEOUT_S}`,
      '-o', 'Dpkg::Options::=--force-confdef',
      '-o', 'Dpkg::Options::=--force-confold',
      ...verb, '--', ...packages,
    ];
  }

  private async runApt(argv: string[], callbacks: AptCallbacks): Promise<void> {
    const result = await this.runner.run(argv, {
      timeoutMs: APT_TIMEOUT_MS,
      onLine: (line) => {
        const progress = parseStatusLine(line);
        if (progress) callbacks.onProgress?.(progress);
        else if (line.trim()) callbacks.onLine?.(line);
      },
    });
    if (result.exitCode !== 0) {
      throw new SystemError(`apt-get failed with exit code ${result.exitCode}`, {
        argv, exitCode: result.exitCode, output: result.stderr.slice(-4000), messageKey: 'errors.aptFailed',
      });
    }
  }

  /** Refreshes the package lists when they are missing or older than a day; offline nodes go on. */
  async updateIfStale(callbacks: AptCallbacks = {}): Promise<void> {
    if (!(await this.listsAreStale())) return;
    callbacks.onLine?.('apt-get update (package lists are missing or older than a day)');
    const result = await this.runner.run(
      ['apt-get', '-q', '-o', `DPkg::Lock::Timeout=${LOCK_TIMEOUT_S}`, 'update'],
      { timeoutMs: 10 * 60_000, onLine: (line) => { if (line.trim()) callbacks.onLine?.(line); } },
    );
    if (result.exitCode !== 0) callbacks.onLine?.(`apt-get update failed (exit ${result.exitCode}); trying with the lists we have`);
  }

  async install(packages: readonly string[], callbacks: AptCallbacks = {}): Promise<void> {
    const argv = this.aptArgv(['install', '--no-install-recommends'], packages); // validates names before any command runs
    await this.updateIfStale(callbacks);
    await this.runApt(argv, callbacks);
  }

  async remove(packages: readonly string[], options: { purge?: boolean } & AptCallbacks = {}): Promise<void> {
    await this.runApt(this.aptArgv([options.purge ? 'purge' : 'remove'], packages), options);
  }
}
