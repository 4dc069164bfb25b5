import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createSystem, NotDeclaredError, type PluginDeclaration, type PluginSystem } from '../../src/system/index.js';
import { createTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { RecordingRunner } from '../helpers/recording-runner.js';

const SNMP: PluginDeclaration = {
  id: 'snmp',
  packages: ['snmpd', 'snmp'],
  services: [{ name: 'snmpd' }],
  configFiles: ['/etc/snmp/', '/etc/default/snmpd'],
  commands: ['/usr/bin/snmpwalk', 'snmpget'],
  debconf: [{ owner: 'snmpd', question: 'snmpd/upgrade', type: 'boolean', value: 'true' }],
};

describe('PluginSystem (createSystem().forPlugin)', () => {
  let root: TempRoot;
  let runner: RecordingRunner;
  let plugin: PluginSystem;

  beforeEach(() => {
    root = createTempRoot();
    runner = new RecordingRunner();
    plugin = createSystem({ rootPrefix: root.dir, runner }).forPlugin(SNMP);
  });
  afterEach(() => root.cleanup());

  describe('packages', () => {
    it('answers for declared packages', async () => {
      root.installed({ snmpd: '5.9.3' });
      expect(await plugin.packageState('snmpd')).toMatchObject({ installed: true, version: '5.9.3' });
      expect(await plugin.packageState('snmp')).toBeUndefined();
      expect(await plugin.isInstalled()).toBe(false);
      root.installed({ snmpd: '5.9.3', snmp: '5.9.3' });
      expect(await plugin.isInstalled()).toBe(true);
    });

    it('refuses undeclared packages', async () => {
      root.installed({ openssh: '1' });
      expect(() => plugin.packageState('openssh')).toThrow(NotDeclaredError);
      expect(() => plugin.packageState('openssh')).toThrow('plugin snmp did not declare package openssh');
    });

    it('install preseeds the debconf answers before apt-get install of the declared packages', async () => {
      await plugin.install();
      expect(runner.calls.map((c) => c.argv)).toEqual([
        ['debconf-set-selections'],
        ['apt-get', '-q', '-o', 'DPkg::Lock::Timeout=900', 'update'], // the temp root has no package lists
        ['apt-get', '-y', '-q', '-o', 'APT::Status-Fd=1', '-o', 'DPkg::Lock::Timeout=900',
          '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold',
          'install', '--no-install-recommends', '--', 'snmpd', 'snmp'],
      ]);
      expect(runner.calls[0]?.input).toBe('snmpd snmpd/upgrade boolean true\n');
    });

    it('install does not reach apt-get when preseeding fails', async () => {
      runner.on(['debconf-set-selections'], { exitCode: 1 });
      await expect(plugin.install()).rejects.toThrow('debconf-set-selections failed');
      expect(runner.calls.map((c) => c.argv[0])).toEqual(['debconf-set-selections']);
    });

    it('remove only touches the declared packages', async () => {
      await plugin.remove({ purge: true });
      expect(runner.calls.map((c) => c.argv.slice(-4))).toEqual([['purge', '--', 'snmpd', 'snmp']]);
    });
  });

  describe('services', () => {
    beforeEach(() => mkdirSync(root.p('/run/systemd/system'), { recursive: true }));

    it('controls declared services', async () => {
      await plugin.control('snmpd', 'restart');
      expect(await plugin.isRunning('snmpd')).toBe(true);
      await plugin.enable('snmpd');
      expect(runner.calls.map((c) => c.argv)).toEqual([
        ['systemctl', 'restart', 'snmpd'],
        ['systemctl', 'is-active', '--quiet', 'snmpd'],
        ['systemctl', 'enable', 'snmpd'],
      ]);
    });

    it('refuses undeclared services without running anything', async () => {
      expect(() => plugin.control('ssh', 'stop')).toThrow(NotDeclaredError);
      expect(() => plugin.isRunning('ssh')).toThrow(NotDeclaredError);
      expect(() => plugin.disable('ssh')).toThrow('did not declare service ssh');
      expect(runner.calls).toEqual([]);
    });
  });

  describe('paths', () => {
    it('reads and writes declared files and anything under a declared folder', async () => {
      await plugin.writeFile('/etc/snmp/snmpd.conf', 'rocommunity public\n');
      await plugin.writeFile('/etc/snmp/snmpd.conf.d/a.conf', 'a\n');
      await plugin.writeFile('/etc/default/snmpd', 'SNMPDOPTS=""\n');
      expect(readFileSync(root.p('/etc/snmp/snmpd.conf'), 'utf8')).toBe('rocommunity public\n');
      expect(await plugin.readFile('/etc/snmp/snmpd.conf.d/a.conf')).toBe('a\n');
      expect(await plugin.readFile('/etc/default/snmpd')).toBe('SNMPDOPTS=""\n');
    });

    it.each([
      ['an undeclared file', '/etc/passwd'],
      ['a .. trick out of a declared folder', '/etc/snmp/../passwd'],
      ['a deeper .. trick', '/etc/snmp/conf.d/../../shadow'],
      ['a sibling folder sharing the prefix', '/etc/snmpx/a'],
      ['a sibling file sharing a declared name', '/etc/default/snmpd.bak'],
      ['the declared folder itself', '/etc/snmp/'],
      ['the declared folder without a slash', '/etc/snmp'],
      ['a relative path', 'etc/snmp/snmpd.conf'],
    ])('refuses %s (%s) for readFile, writeFile and applyChange', async (_what, osPath) => {
      expect(() => plugin.readFile(osPath)).toThrow(NotDeclaredError);
      expect(() => plugin.writeFile(osPath, 'x')).toThrow(NotDeclaredError);
      expect(() => plugin.applyChange({ files: [{ path: osPath, content: 'x' }] })).toThrow(NotDeclaredError);
    });

    it('refuses a whole applyChange when one of its files is undeclared, before writing any', async () => {
      let activated = false;
      expect(() => plugin.applyChange({
        files: [
          { path: '/etc/snmp/snmpd.conf', content: 'new\n' },
          { path: '/etc/snmpx/a', content: 'x' },
        ],
        activate: async () => { activated = true; },
      })).toThrow(NotDeclaredError);
      expect(existsSync(root.p('/etc/snmp/snmpd.conf'))).toBe(false);
      expect(existsSync(root.p('/etc/snmpx/a'))).toBe(false);
      expect(activated).toBe(false);
    });

    it('applies a change to declared files', async () => {
      let activated = false;
      await plugin.applyChange({
        files: [{ path: '/etc/snmp/snmpd.conf', content: 'new\n' }],
        activate: async () => { activated = true; },
      });
      expect(readFileSync(root.p('/etc/snmp/snmpd.conf'), 'utf8')).toBe('new\n');
      expect(activated).toBe(true);
    });
  });

  describe('commands', () => {
    it('runs declared commands through the runner', async () => {
      runner.on(['snmpget'], { stdout: 'SNMPv2-MIB::sysName.0 = STRING: node1\n' });
      const result = await plugin.run(['snmpget', '-v2c', '-c', 'public', 'localhost', 'sysName.0']);
      await plugin.run(['/usr/bin/snmpwalk', 'localhost']);
      expect(result.stdout).toContain('node1');
      expect(runner.calls.map((c) => c.argv[0])).toEqual(['snmpget', '/usr/bin/snmpwalk']);
    });

    it('refuses undeclared commands, including other spellings of a declared one', async () => {
      for (const argv of [['rm', '-rf', '/'], ['/usr/bin/snmpget'], ['snmpwalk'], ['/usr/bin/../bin/snmpwalk'], []]) {
        await expect(plugin.run(argv)).rejects.toThrow(NotDeclaredError);
      }
      expect(runner.calls).toEqual([]);
    });

    it('runChecked throws a SystemError with the output on a non-zero exit', async () => {
      runner.on(['snmpget'], { exitCode: 1, stderr: 'Timeout: No Response from localhost\n' });
      await expect(plugin.runChecked(['snmpget', 'localhost'])).rejects.toMatchObject({
        name: 'SystemError', details: { exitCode: 1, output: expect.stringContaining('No Response') },
      });
    });
  });
});
