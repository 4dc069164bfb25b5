import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { utimesSync } from 'node:fs';
import { Apt, parseStatusLine, type AptProgress } from '../../src/system/apt.js';
import { SystemError } from '../../src/system/errors.js';
import { RootPrefix } from '../../src/system/root.js';
import { createTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { RecordingRunner } from '../helpers/recording-runner.js';

const APT_OPTIONS = [
  'apt-get', '-y', '-q',
  '-o', 'APT::Status-Fd=1',
  '-o', 'DPkg::Lock::Timeout=900',
  '-o', 'Dpkg::Options::=--force-confdef',
  '-o', 'Dpkg::Options::=--force-confold',
];
const UPDATE = ['apt-get', '-q', '-o', 'DPkg::Lock::Timeout=900', 'update'];
const LIST = '/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages';

describe('parseStatusLine', () => {
  it('maps download progress to 0–40 %', () => {
    expect(parseStatusLine('dlstatus:1:50:Retrieving file 1 of 3')).toEqual({ percent: 20, message: 'Retrieving file 1 of 3' });
    expect(parseStatusLine('dlstatus:3:100:Retrieving file 3 of 3')?.percent).toBe(40);
  });

  it('maps dpkg progress to 40–100 %', () => {
    expect(parseStatusLine('pmstatus:snmpd:50:Configuring snmpd')).toEqual({ percent: 70, message: 'Configuring snmpd' });
    expect(parseStatusLine('pmstatus:dpkg-exec:0:Running dpkg')?.percent).toBe(40);
    expect(parseStatusLine('pmstatus:snmpd:100:Installed snmpd')?.percent).toBe(100);
  });

  it('accepts fractional percentages and messages with colons', () => {
    expect(parseStatusLine('pmstatus:libsnmp40:33.3333:Unpacking libsnmp40 (amd64): step 2')).toEqual({
      percent: 60, message: 'Unpacking libsnmp40 (amd64): step 2',
    });
  });

  it('ignores every other line', () => {
    expect(parseStatusLine('Reading package lists...')).toBeUndefined();
    expect(parseStatusLine('Setting up snmpd (5.9.3+dfsg-2+deb12u1) ...')).toBeUndefined();
    expect(parseStatusLine('E: Unable to locate package snmpdx')).toBeUndefined();
    expect(parseStatusLine('')).toBeUndefined();
    expect(parseStatusLine('dlstatus:1:abc:not a number')).toBeUndefined();
    expect(parseStatusLine('xstatus:1:50:unknown kind')).toBeUndefined();
  });
});

describe('Apt', () => {
  let root: TempRoot;
  let runner: RecordingRunner;
  let apt: Apt;

  beforeEach(() => {
    root = createTempRoot();
    runner = new RecordingRunner();
    apt = new Apt(new RootPrefix(root.dir), runner);
  });
  afterEach(() => root.cleanup());

  const freshLists = () => root.write(LIST, 'Package: snmpd\n');

  it('install issues exactly the expected apt-get argv (no update when lists are fresh)', async () => {
    freshLists();
    await apt.install(['snmpd']);
    expect(runner.calls.map((c) => c.argv)).toEqual([
      [...APT_OPTIONS, 'install', '--no-install-recommends', '--', 'snmpd'],
    ]);
    expect(runner.calls[0]?.input).toBeUndefined();
  });

  it('also treats lz4-compressed lists as package lists', async () => {
    root.write(`${LIST}.lz4`, 'x');
    await apt.install(['snmpd']);
    expect(runner.calls.map((c) => c.argv)).toEqual([
      [...APT_OPTIONS, 'install', '--no-install-recommends', '--', 'snmpd'],
    ]);
  });

  it('runs apt-get update first when there are no lists', async () => {
    await apt.install(['snmpd', 'snmp']);
    expect(runner.calls.map((c) => c.argv)).toEqual([
      UPDATE,
      [...APT_OPTIONS, 'install', '--no-install-recommends', '--', 'snmpd', 'snmp'],
    ]);
  });

  it('runs apt-get update when the folder only holds non-Packages files', async () => {
    root.write('/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease', 'x');
    await apt.install(['snmpd']);
    expect(runner.calls[0]?.argv).toEqual(UPDATE);
  });

  it('runs apt-get update when the lists are older than a day', async () => {
    freshLists();
    const old = new Date(Date.now() - 25 * 3600_000);
    utimesSync(root.p(LIST), old, old);
    await apt.install(['snmpd']);
    expect(runner.calls.map((c) => c.argv[0] + ' ' + c.argv[c.argv.length - 1])).toEqual(['apt-get update', 'apt-get snmpd']);
  });

  it('goes on with the install when apt-get update fails (offline node) and says so', async () => {
    runner.on(UPDATE, { exitCode: 100 });
    const lines: string[] = [];
    await apt.install(['snmpd'], { onLine: (l) => lines.push(l) });
    expect(runner.calls).toHaveLength(2);
    expect(lines.some((l) => /apt-get update failed \(exit 100\)/.test(l))).toBe(true);
  });

  it('reports progress from Status-Fd lines and passes other lines on', async () => {
    freshLists();
    runner.on(['apt-get'], {
      lines: [
        'Reading package lists...',
        'dlstatus:1:50:Retrieving file 1 of 2',
        '',
        'pmstatus:snmpd:50:Configuring snmpd',
        'Setting up snmpd (5.9.3) ...',
      ],
    });
    const progress: AptProgress[] = [];
    const lines: string[] = [];
    await apt.install(['snmpd'], { onProgress: (p) => progress.push(p), onLine: (l) => lines.push(l) });
    expect(progress).toEqual([
      { percent: 20, message: 'Retrieving file 1 of 2' },
      { percent: 70, message: 'Configuring snmpd' },
    ]);
    expect(lines).toEqual(['Reading package lists...', 'Setting up snmpd (5.9.3) ...']);
  });

  it('throws a SystemError carrying the exit code and stderr when apt-get fails', async () => {
    freshLists();
    runner.on(['apt-get'], { exitCode: 100, stderr: 'E: Unable to locate package snmpd\n' });
    const error = await apt.install(['snmpd']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SystemError);
    const details = (error as SystemError).details;
    expect(details.exitCode).toBe(100);
    expect(details.output).toContain('Unable to locate package');
    expect(details.argv).toEqual([...APT_OPTIONS, 'install', '--no-install-recommends', '--', 'snmpd']);
    expect((error as Error).message).toContain('100');
  });

  it.each(['snmpd;rm -rf /', '-oAPT::x=1', 'Snmpd', 'a', 'snmpd rm', '../snmpd', ''])(
    'refuses the package name %j without running anything',
    async (name) => {
      // no package lists: a valid install would start with apt-get update, so nothing may run at all
      await expect(apt.install(['snmpd', name])).rejects.toThrow(SystemError);
      await expect(apt.remove([name], { purge: true })).rejects.toThrow(/invalid package name/);
      expect(runner.calls).toEqual([]);
    },
  );

  it('remove uses remove, and purge when asked, without an update', async () => {
    await apt.remove(['snmpd']);
    await apt.remove(['snmpd'], { purge: true });
    expect(runner.calls.map((c) => c.argv)).toEqual([
      [...APT_OPTIONS, 'remove', '--', 'snmpd'],
      [...APT_OPTIONS, 'purge', '--', 'snmpd'],
    ]);
  });
});
