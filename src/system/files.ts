// Config files: atomic writes (temp + fsync + rename) with a backup, restore, and "managed" headers.
import { promises as fs, constants as fsConstants, statSync } from 'node:fs';
import path from 'node:path';
import type { RootPrefix } from './root.js';

export const BACKUP_SUFFIX = '.cloudy-bak';

/** What a file looked like before a change, enough to put it back exactly. */
export interface FileSnapshot {
  osPath: string;
  existed: boolean;
  content?: Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
}

export interface WriteOptions {
  mode?: number;
  /** chown to this uid/gid after writing (only honoured when running as root). */
  uid?: number;
  gid?: number;
}

/** A file changed less than this long ago is not remembered: another write within the same
 * timestamp tick could keep its size and times (the "racy timestamp" problem git also has). */
const RACY_MS = 2000;

/** What tells one version of a file from another (all zero: the file does not exist). */
interface FileIdentity { dev: number; ino: number; size: number; mtimeMs: number; ctimeMs: number }
const MISSING: FileIdentity = { dev: 0, ino: 0, size: 0, mtimeMs: 0, ctimeMs: 0 };
const sameFile = (a: FileIdentity, b: FileIdentity) =>
  a.ino === b.ino && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.size === b.size && a.dev === b.dev;

export class ConfigFiles {
  private readonly parsed = new Map<string, { real: string; identity: FileIdentity; results: WeakMap<object, unknown> }>();
  private readonly racyMs: number;

  /** `racyMs`: tests lower it to see the cache at work on files they have just written. */
  constructor(private readonly root: RootPrefix, options: { racyMs?: number } = {}) {
    this.racyMs = options.racyMs ?? RACY_MS;
  }

  /**
   * `parse(text)` of a file (`undefined` when it does not exist), remembered per parse function
   * until the file changes: a page view costs one stat() instead of open/read/close and a parse.
   * The file is identified by device, inode, size, mtime and ctime, so an atomic replace (new
   * inode) and an in-place edit by hand are both seen on the next call. A file changed in the
   * last 2 s is parsed again each time, so two writes within one timestamp tick cannot hide the
   * second, and a remembered file's next change moves its times by more than any rounding.
   * The result is shared: it is frozen, treat it as read-only.
   */
  async readParsed<T>(osPath: string, parse: (text: string | undefined) => T): Promise<T> {
    const entry = this.parsed.get(osPath);
    const real = entry?.real ?? this.root.path(osPath);
    let stat: FileIdentity | undefined;
    try {
      // statSync on purpose: a metadata lookup in the inode cache takes a few µs, the promise
      // version costs several times that in CPU (thread-pool round trip) on a page's hot path
      stat = statSync(real, { throwIfNoEntry: false });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
    }
    const identity = stat ?? MISSING;
    const same = entry !== undefined && sameFile(entry.identity, identity);
    if (same && entry.results.has(parse)) return entry.results.get(parse) as T;
    // read after stat: the text is at least as new as the identity, so a change after the stat
    // shows as a new identity next time (never a stale result)
    const result = deepFreeze(parse(stat ? await this.read(osPath) : undefined));
    if (Date.now() - Math.max(identity.mtimeMs, identity.ctimeMs) >= this.racyMs) {
      const { dev, ino, size, mtimeMs, ctimeMs } = identity;
      const kept = same ? entry : { real, identity: { dev, ino, size, mtimeMs, ctimeMs }, results: new WeakMap<object, unknown>() };
      kept.results.set(parse, result);
      this.parsed.set(osPath, kept);
    }
    return result;
  }

  async read(osPath: string): Promise<string | undefined> {
    try {
      return await fs.readFile(this.root.path(osPath), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async exists(osPath: string): Promise<boolean> {
    try {
      await fs.access(this.root.path(osPath), fsConstants.F_OK);
      return true;
    } catch {
      return false;
    }
  }

  async snapshot(osPath: string): Promise<FileSnapshot> {
    const real = this.root.path(osPath);
    try {
      const [content, stat] = await Promise.all([fs.readFile(real), fs.stat(real)]);
      return { osPath, existed: true, content, mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { osPath, existed: false };
      throw error;
    }
  }

  /** Puts a file back as the snapshot saw it (removes it if it did not exist). */
  async restore(snapshot: FileSnapshot): Promise<void> {
    if (!snapshot.existed) {
      await fs.rm(this.root.path(snapshot.osPath), { force: true });
      return;
    }
    await this.writeAtomic(snapshot.osPath, snapshot.content ?? Buffer.alloc(0), { mode: snapshot.mode, uid: snapshot.uid, gid: snapshot.gid }, false);
  }

  /**
   * Writes via a temp file in the same folder, fsyncs it, keeps the previous version as
   * `<file>.cloudy-bak`, then renames over the target, so a crash leaves old or new, never half.
   */
  async writeAtomic(osPath: string, content: string | Buffer, options: WriteOptions = {}, keepBackup = true): Promise<void> {
    const real = this.root.path(osPath);
    const dir = path.dirname(real);
    await fs.mkdir(dir, { recursive: true });
    let mode = options.mode;
    let { uid, gid } = options;
    try {
      const stat = await fs.stat(real);
      mode ??= stat.mode & 0o7777;
      // keep the owner of a file we replace (e.g. root:_serf), unless told otherwise
      if (uid === undefined) ({ uid, gid } = stat);
      if (keepBackup) await fs.copyFile(real, real + BACKUP_SUFFIX);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const temp = path.join(dir, `.${path.basename(real)}.${process.pid}.${Date.now()}.tmp`);
    const handle = await fs.open(temp, 'wx', mode ?? 0o644);
    try {
      await handle.writeFile(content);
      await handle.chmod(mode ?? 0o644);
      if (uid !== undefined && process.getuid?.() === 0) {
        await handle.chown(uid, gid ?? uid);
      }
      await handle.sync();
    } catch (error) {
      await handle.close();
      await fs.rm(temp, { force: true });
      throw error;
    }
    await handle.close();
    await fs.rename(temp, real);
    const dirHandle = await fs.open(dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  }

  async remove(osPath: string): Promise<void> {
    await fs.rm(this.root.path(osPath), { force: true });
  }

  async mkdir(osPath: string, mode = 0o755): Promise<void> {
    await fs.mkdir(this.root.path(osPath), { recursive: true, mode });
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/** The first lines of every file the panel generates. */
export function managedHeader(what: string, comment = '#'): string {
  return [
    `${comment} Managed by Cloudy panel (${what}). Changes made here are overwritten`,
    `${comment} the next time the settings are saved from the panel.`,
    '',
  ].join('\n');
}
