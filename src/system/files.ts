// Config files: atomic writes (temp + fsync + rename) with a backup, restore, and "managed" headers.
import { promises as fs, constants as fsConstants } from 'node:fs';
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

export class ConfigFiles {
  constructor(private readonly root: RootPrefix) {}

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

/** The first lines of every file the panel generates. */
export function managedHeader(what: string, comment = '#'): string {
  return [
    `${comment} Managed by Cloudy panel (${what}). Changes made here are overwritten`,
    `${comment} the next time the settings are saved from the panel.`,
    '',
  ].join('\n');
}
