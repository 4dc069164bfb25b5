import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigFiles, BACKUP_SUFFIX, managedHeader } from '../../src/system/files.js';
import { RootPrefix } from '../../src/system/root.js';
import { createTempRoot, type TempRoot } from '../helpers/temp-root.js';

const modeOf = (real: string) => statSync(real).mode & 0o7777;
const tempFilesIn = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.tmp'));

describe('ConfigFiles', () => {
  let root: TempRoot;
  let files: ConfigFiles;

  beforeEach(() => {
    root = createTempRoot();
    files = new ConfigFiles(new RootPrefix(root.dir));
  });
  afterEach(() => root.cleanup());

  describe('readParsed', () => {
    const count = { calls: 0 };
    const lines = (text: string | undefined) => { count.calls++; return { lines: text?.split('\n') ?? [] }; };

    it('parses once while the file is unchanged, again after an atomic write or an edit in place', async () => {
      const cached = new ConfigFiles(new RootPrefix(root.dir), { racyMs: 0 });
      count.calls = 0;
      expect(await cached.readParsed('/etc/app.conf', lines)).toEqual({ lines: [] });
      await cached.writeAtomic('/etc/app.conf', 'a\nb');
      const first = await cached.readParsed('/etc/app.conf', lines);
      expect(first).toEqual({ lines: ['a', 'b'] });
      expect(await cached.readParsed('/etc/app.conf', lines)).toBe(first);
      expect(count.calls).toBe(2);
      expect(Object.isFrozen(first.lines)).toBe(true);
      // an admin's editor writing in place, same size
      writeFileSync(root.p('/etc/app.conf'), 'c\nd');
      utimesSync(root.p('/etc/app.conf'), 1_000_000, 1_000_000); // a distinct mtime (racyMs 0 skips the same-tick guard)
      expect(await cached.readParsed('/etc/app.conf', lines)).toEqual({ lines: ['c', 'd'] });
      rmSync(root.p('/etc/app.conf'));
      expect(await cached.readParsed('/etc/app.conf', lines)).toEqual({ lines: [] });
      expect(count.calls).toBe(4);
    });

    it('does not remember a file changed in the last moments (same-tick writes)', async () => {
      count.calls = 0;
      await files.writeAtomic('/etc/app.conf', 'x');
      await files.readParsed('/etc/app.conf', lines);
      await files.readParsed('/etc/app.conf', lines);
      expect(count.calls).toBe(2);
    });
  });

  describe('writeAtomic', () => {
    it('creates missing parent folders and writes the content with the given mode', async () => {
      await files.writeAtomic('/etc/deep/nested/app.conf', 'key = value\n', { mode: 0o640 });
      const real = root.p('/etc/deep/nested/app.conf');
      expect(readFileSync(real, 'utf8')).toBe('key = value\n');
      expect(modeOf(real)).toBe(0o640);
    });

    it('defaults to mode 0644 for a new file', async () => {
      await files.writeAtomic('/etc/new.conf', 'x');
      expect(modeOf(root.p('/etc/new.conf'))).toBe(0o644);
    });

    it('keeps the mode of an existing file when none is given', async () => {
      root.write('/etc/secret.conf', 'old');
      chmodSync(root.p('/etc/secret.conf'), 0o600);
      await files.writeAtomic('/etc/secret.conf', 'new');
      expect(readFileSync(root.p('/etc/secret.conf'), 'utf8')).toBe('new');
      expect(modeOf(root.p('/etc/secret.conf'))).toBe(0o600);
    });

    it('keeps the previous version as <file>.cloudy-bak', async () => {
      root.write('/etc/snmp/snmpd.conf', 'previous\n');
      await files.writeAtomic('/etc/snmp/snmpd.conf', 'current\n');
      expect(BACKUP_SUFFIX).toBe('.cloudy-bak');
      expect(readFileSync(root.p('/etc/snmp/snmpd.conf.cloudy-bak'), 'utf8')).toBe('previous\n');
      expect(readFileSync(root.p('/etc/snmp/snmpd.conf'), 'utf8')).toBe('current\n');

      await files.writeAtomic('/etc/snmp/snmpd.conf', 'third\n');
      expect(readFileSync(root.p('/etc/snmp/snmpd.conf.cloudy-bak'), 'utf8')).toBe('current\n');
    });

    it('makes no backup when the file did not exist, or when asked not to', async () => {
      await files.writeAtomic('/etc/a.conf', 'first');
      expect(existsSync(root.p('/etc/a.conf.cloudy-bak'))).toBe(false);
      await files.writeAtomic('/etc/a.conf', 'second', {}, false);
      expect(existsSync(root.p('/etc/a.conf.cloudy-bak'))).toBe(false);
      expect(readFileSync(root.p('/etc/a.conf'), 'utf8')).toBe('second');
    });

    it('leaves no temp files behind', async () => {
      root.write('/etc/app/app.conf', 'v0');
      for (let i = 1; i <= 3; i++) await files.writeAtomic('/etc/app/app.conf', `v${i}`);
      expect(tempFilesIn(root.p('/etc/app'))).toEqual([]);
      expect(readdirSync(root.p('/etc/app')).sort()).toEqual(['app.conf', 'app.conf.cloudy-bak']);
    });

    it('writes Buffers byte for byte', async () => {
      const bytes = Buffer.from([0, 1, 2, 255, 10]);
      await files.writeAtomic('/etc/bin.dat', bytes);
      expect(readFileSync(root.p('/etc/bin.dat')).equals(bytes)).toBe(true);
    });

    it('refuses a path that escapes the root', async () => {
      await expect(files.writeAtomic('/etc/../../outside', 'x')).rejects.toThrow(/escapes the root/);
      expect(existsSync(path.join(path.dirname(root.dir), 'outside'))).toBe(false);
    });
  });

  describe('read / exists / remove', () => {
    it('reads existing files and returns undefined for missing ones', async () => {
      root.write('/etc/hostname', 'node1\n');
      expect(await files.read('/etc/hostname')).toBe('node1\n');
      expect(await files.read('/etc/missing')).toBeUndefined();
      expect(await files.exists('/etc/hostname')).toBe(true);
      expect(await files.exists('/etc/missing')).toBe(false);
      await files.remove('/etc/hostname');
      expect(await files.exists('/etc/hostname')).toBe(false);
    });
  });

  describe('snapshot / restore', () => {
    it('restores content and mode of a file that existed', async () => {
      root.write('/etc/app.conf', 'original\n');
      chmodSync(root.p('/etc/app.conf'), 0o640);
      const snap = await files.snapshot('/etc/app.conf');
      expect(snap).toMatchObject({ osPath: '/etc/app.conf', existed: true, mode: 0o640 });

      await files.writeAtomic('/etc/app.conf', 'changed and longer\n', { mode: 0o600 });
      expect(modeOf(root.p('/etc/app.conf'))).toBe(0o600);

      await files.restore(snap);
      expect(readFileSync(root.p('/etc/app.conf'), 'utf8')).toBe('original\n');
      expect(modeOf(root.p('/etc/app.conf'))).toBe(0o640);
      expect(tempFilesIn(root.p('/etc'))).toEqual([]);
    });

    it('restores a file that was deleted after the snapshot', async () => {
      root.write('/etc/app.conf', 'keep me');
      const snap = await files.snapshot('/etc/app.conf');
      await files.remove('/etc/app.conf');
      await files.restore(snap);
      expect(readFileSync(root.p('/etc/app.conf'), 'utf8')).toBe('keep me');
    });

    it('removes a file that did not exist before', async () => {
      const snap = await files.snapshot('/etc/new.conf');
      expect(snap).toEqual({ osPath: '/etc/new.conf', existed: false });
      await files.writeAtomic('/etc/new.conf', 'fresh');
      expect(existsSync(root.p('/etc/new.conf'))).toBe(true);
      await files.restore(snap);
      expect(existsSync(root.p('/etc/new.conf'))).toBe(false);
    });
  });

  it('managedHeader names the panel and uses the given comment marker', () => {
    const header = managedHeader('SNMP', ';');
    expect(header.split('\n')[0]).toBe('; Managed by Cloudy panel (SNMP). Changes made here are overwritten');
    expect(header.endsWith('\n')).toBe(true);
  });
});

describe('ownership (as root)', () => {
  it.runIf(process.getuid?.() === 0)('keeps the owner of a replaced file and restores it with a snapshot', async () => {
    const { mkdtempSync, writeFileSync, chownSync, statSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const pathMod = await import('node:path');
    const { ConfigFiles } = await import('../../src/system/files.js');
    const { RootPrefix } = await import('../../src/system/root.js');
    const dir = mkdtempSync(pathMod.join(tmpdir(), 'cloudy-owner-'));
    try {
      writeFileSync(pathMod.join(dir, 'conf'), 'old\n');
      chownSync(pathMod.join(dir, 'conf'), 65534, 65534);
      const files = new ConfigFiles(new RootPrefix(dir));
      const snapshot = await files.snapshot('/conf');
      await files.writeAtomic('/conf', 'new\n');
      expect(statSync(pathMod.join(dir, 'conf')).uid).toBe(65534);
      chownSync(pathMod.join(dir, 'conf'), 0, 0);
      await files.restore(snapshot);
      const stat = statSync(pathMod.join(dir, 'conf'));
      expect([stat.uid, stat.gid]).toEqual([65534, 65534]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
