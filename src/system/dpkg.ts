// Reads /var/lib/dpkg/status directly (cached by mtime): "is it installed?" never spawns a process.
import { promises as fs } from 'node:fs';
import type { RootPrefix } from './root.js';

export interface PackageState {
  name: string;
  /** e.g. "install ok installed", "deinstall ok config-files" */
  status: string;
  version?: string;
  installed: boolean;
}

/**
 * A copy that does not keep `text` alive: V8 makes substrings of 13+ characters "slices" that
 * hold on to the whole parent, and the status file is ~1 MB (2 MB in memory when it has any
 * non-ASCII description).
 */
const own = (value: string) => (value.length < 13 ? value : (' ' + value).slice(1));

export function parseDpkgStatus(text: string): Map<string, PackageState> {
  const packages = new Map<string, PackageState>();
  for (const stanza of text.split(/\n\s*\n/)) {
    let name: string | undefined;
    let status = '';
    let version: string | undefined;
    for (const line of stanza.split('\n')) {
      if (line.startsWith('Package: ')) name = line.slice(9).trim();
      else if (line.startsWith('Status: ')) status = line.slice(8).trim();
      else if (line.startsWith('Version: ')) version = line.slice(9).trim();
    }
    if (!name) continue;
    // "<want> <flag> <state>": the state word says what is on disk ("hold ok installed" is installed too).
    const installed = status.split(/\s+/)[2] === 'installed';
    // Multi-arch packages appear once per architecture; keep the installed one.
    const previous = packages.get(name);
    if (!previous || (!previous.installed && installed)) {
      const key = own(name);
      packages.set(key, { name: key, status: own(status), version: version === undefined ? undefined : own(version), installed });
    }
  }
  return packages;
}

export class DpkgStatus {
  private cache?: { mtimeMs: number; size: number; packages: Map<string, PackageState> };
  /** The read in progress: every plugin asks at once when the status refresh starts. */
  private reading?: Promise<unknown>;

  constructor(private readonly root: RootPrefix) {}

  private get file(): string {
    return this.root.path('/var/lib/dpkg/status');
  }

  async all(): Promise<Map<string, PackageState>> {
    // one parse at a time; after waiting, the usual stat decides whether that parse is current
    while (this.reading) await this.reading.catch(() => undefined);
    const reading = this.load();
    this.reading = reading;
    try {
      return await reading;
    } finally {
      if (this.reading === reading) this.reading = undefined;
    }
  }

  private async load(): Promise<Map<string, PackageState>> {
    let stat;
    try {
      stat = await fs.stat(this.file);
    } catch {
      return new Map();
    }
    if (!this.cache || this.cache.mtimeMs !== stat.mtimeMs || this.cache.size !== stat.size) {
      const text = await fs.readFile(this.file, 'utf8');
      this.cache = { mtimeMs: stat.mtimeMs, size: stat.size, packages: parseDpkgStatus(text) };
    }
    return this.cache.packages;
  }

  async get(name: string): Promise<PackageState | undefined> {
    return (await this.all()).get(name);
  }

  async isInstalled(name: string): Promise<boolean> {
    return (await this.get(name))?.installed ?? false;
  }
}
