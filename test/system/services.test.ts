import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { Services, type ServiceSpec } from '../../src/system/services.js';
import { SystemError } from '../../src/system/errors.js';
import { RootPrefix } from '../../src/system/root.js';
import type { DetachedOptions, Runner, RunResult } from '../../src/system/runner.js';
import { createTempRoot, type TempRoot } from '../helpers/temp-root.js';
import { RecordingRunner } from '../helpers/recording-runner.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function waitUntil(check: () => boolean, ms = 3000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return check();
}

describe('Services', () => {
  let root: TempRoot;
  let runner: RecordingRunner;
  let services: Services;

  beforeEach(() => {
    root = createTempRoot();
    runner = new RecordingRunner();
    services = new Services(new RootPrefix(root.dir), runner);
  });
  afterEach(() => {
    runner.killDetached();
    root.cleanup();
  });

  const snmpd: ServiceSpec = { name: 'snmpd' };
  const systemdHost = () => mkdirSync(root.p('/run/systemd/system'), { recursive: true });
  const initScript = (name: string) => root.write(`/etc/init.d/${name}`, '#!/bin/sh\n');

  describe('systemd', () => {
    beforeEach(systemdHost);

    it('is chosen when /run/systemd/system is a folder, even if an init script exists', async () => {
      initScript('snmpd');
      expect(await services.backendFor(snmpd)).toBe('systemd');
    });

    it('is not chosen when /run/systemd/system is a plain file', async () => {
      root.cleanup();
      root = createTempRoot();
      services = new Services(new RootPrefix(root.dir), runner);
      root.write('/run/systemd/system', '');
      initScript('snmpd');
      expect(await services.backendFor(snmpd)).toBe('sysv');
    });

    it('controls the unit with systemctl', async () => {
      await services.restart(snmpd);
      await services.control(snmpd, 'reload');
      await services.enable(snmpd);
      await services.disable(snmpd);
      expect(runner.calls.map((c) => c.argv)).toEqual([
        ['systemctl', 'restart', 'snmpd'],
        ['systemctl', 'reload', 'snmpd'],
        ['systemctl', 'enable', 'snmpd'],
        ['systemctl', 'disable', 'snmpd'],
      ]);
    });

    it('uses the unit override', async () => {
      await services.start({ name: 'dns', unit: 'named' });
      expect(runner.calls[0]?.argv).toEqual(['systemctl', 'start', 'named']);
    });

    it('asks systemctl is-active --quiet for the status', async () => {
      expect(await services.isRunning(snmpd)).toBe(true);
      runner.on(['systemctl', 'is-active'], { exitCode: 3 });
      expect(await services.isRunning(snmpd)).toBe(false);
      expect(runner.calls.map((c) => c.argv)).toEqual([
        ['systemctl', 'is-active', '--quiet', 'snmpd'],
        ['systemctl', 'is-active', '--quiet', 'snmpd'],
      ]);
    });

    it('throws a SystemError with the command output when systemctl fails', async () => {
      runner.on(['systemctl', 'restart'], { exitCode: 1, stderr: 'Job for snmpd.service failed.\n' });
      const error = await services.restart(snmpd).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SystemError);
      expect((error as SystemError).details).toMatchObject({ exitCode: 1, argv: ['systemctl', 'restart', 'snmpd'] });
      expect((error as SystemError).details.output).toContain('Job for snmpd.service failed.');
    });
  });

  describe('sysv', () => {
    it('is chosen when /etc/init.d/NAME exists and systemd is not running', async () => {
      initScript('snmpd');
      expect(await services.backendFor(snmpd)).toBe('sysv');
      await services.restart(snmpd);
      await services.stop(snmpd);
      await services.enable(snmpd);
      await services.disable(snmpd);
      expect(runner.calls.map((c) => c.argv)).toEqual([
        ['service', 'snmpd', 'restart'],
        ['service', 'snmpd', 'stop'],
        ['update-rc.d', 'snmpd', 'defaults'],
        ['update-rc.d', 'snmpd', 'disable'],
      ]);
    });

    it('reads the status from `service NAME status`: 0 = running, 3 = stopped', async () => {
      initScript('snmpd');
      runner.on(['service', 'snmpd', 'status'], { exitCode: 0 });
      expect(await services.isRunning(snmpd)).toBe(true);
      runner.on(['service', 'snmpd', 'status'], { exitCode: 3 });
      expect(await services.isRunning(snmpd)).toBe(false);
      expect(runner.calls.map((c) => c.argv)).toEqual([
        ['service', 'snmpd', 'status'],
        ['service', 'snmpd', 'status'],
      ]);
    });

    it('uses the initScript override (bind9 → named)', async () => {
      const bind9: ServiceSpec = { name: 'bind9', initScript: 'named' };
      await expect(services.backendFor(bind9)).rejects.toThrow(SystemError); // no /etc/init.d/named yet
      initScript('named');
      expect(await services.backendFor(bind9)).toBe('sysv');
      await services.restart(bind9);
      expect(runner.calls.map((c) => c.argv)).toEqual([['service', 'named', 'restart']]);
    });

    it('throws a SystemError with the output when `service` fails', async () => {
      initScript('snmpd');
      runner.on(['service', 'snmpd', 'restart'], {
        exitCode: 1, stdout: 'Restarting snmpd ... failed!\n', stderr: 'snmpd: bad config line 3\n',
      });
      const error = await services.restart(snmpd).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SystemError);
      const details = (error as SystemError).details;
      expect(details.exitCode).toBe(1);
      expect(details.argv).toEqual(['service', 'snmpd', 'restart']);
      expect(details.output).toContain('bad config line 3');
      expect(details.output).toContain('Restarting snmpd ... failed!');
      expect(details.messageKey).toBe('errors.serviceFailed');
    });
  });

  describe('supervised (pid file)', () => {
    const serf: ServiceSpec = {
      name: 'serf',
      daemon: { argv: ['/usr/bin/serf', 'agent'], pidFile: '/run/cloudy/serf.pid', logFile: '/var/log/cloudy/serf.log' },
    };

    it('is chosen when there is neither systemd nor an init script but a daemon spec', async () => {
      expect(await services.backendFor(serf)).toBe('supervised');
    });

    it('start writes the pid file inside the root; isRunning follows the process; stop kills it and removes the pid file', async () => {
      expect(await services.isRunning(serf)).toBe(false);
      await services.start(serf);
      expect(runner.calls).toEqual([{ argv: ['/usr/bin/serf', 'agent'] }]);

      const pidFile = root.p('/run/cloudy/serf.pid');
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      expect(pid).toBe(runner.detachedPids[0]);
      expect(alive(pid)).toBe(true);
      expect(existsSync('/run/cloudy/serf.pid') && readFileSync('/run/cloudy/serf.pid', 'utf8').trim() === String(pid)).toBe(false);
      expect(await services.isRunning(serf)).toBe(true);

      // starting again while it runs spawns nothing new
      await services.start(serf);
      expect(runner.calls).toHaveLength(1);

      const stopping = Date.now();
      await services.stop(serf);
      // sleep honours SIGTERM: no need to wait out the 10 s grace period before SIGKILL
      expect(Date.now() - stopping).toBeLessThan(5000);
      expect(await waitUntil(() => !alive(pid))).toBe(true);
      expect(existsSync(pidFile)).toBe(false);
      expect(await services.isRunning(serf)).toBe(false);
    });

    it('restart replaces the running process', async () => {
      await services.start(serf);
      const first = runner.detachedPids[0]!;
      await services.restart(serf);
      const second = Number(readFileSync(root.p('/run/cloudy/serf.pid'), 'utf8').trim());
      expect(second).not.toBe(first);
      expect(second).toBe(runner.detachedPids[1]);
      expect(await waitUntil(() => !alive(first))).toBe(true);
      expect(alive(second)).toBe(true);
    });

    it('treats a stale pid file (dead process) as not running', async () => {
      const child = spawn('true');
      await new Promise((r) => child.on('exit', r));
      root.write('/run/cloudy/serf.pid', `${child.pid}\n`);
      expect(await services.isRunning(serf)).toBe(false);
    });

    it('start throws when the daemon exits at once, and leaves no pid file', async () => {
      const dying: Runner = {
        async run(): Promise<RunResult> {
          return { exitCode: 0, stdout: '', stderr: '', timedOut: false };
        },
        async spawnDetached(_argv: readonly string[], options: DetachedOptions): Promise<number> {
          const child = spawn('sh', ['-c', `echo "bind: address already in use" >> "${options.logFile}"; exit 1`], { stdio: 'ignore' });
          return child.pid!;
        },
      };
      const dyingServices = new Services(new RootPrefix(root.dir), dying);
      const error = await dyingServices.start(serf).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SystemError);
      expect((error as Error).message).toContain('/usr/bin/serf exited at start');
      expect((error as SystemError).details.output).toContain('address already in use');
      expect(existsSync(root.p('/run/cloudy/serf.pid'))).toBe(false);
      expect(await dyingServices.isRunning(serf)).toBe(false);
    });

    it('start throws for a daemon that is simply `false`', async () => {
      const runsFalse: Runner = {
        run: async () => ({ exitCode: 0, stdout: '', stderr: '', timedOut: false }),
        spawnDetached: async () => spawn('false', [], { stdio: 'ignore' }).pid!,
      };
      await expect(new Services(new RootPrefix(root.dir), runsFalse).start(serf)).rejects.toThrow(/exited at start/);
    });
  });

  it('throws when no backend applies (no systemd, no init script, no daemon spec)', async () => {
    const error = await services.restart(snmpd).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SystemError);
    expect((error as SystemError).details.messageKey).toBe('errors.noServiceManager');
    expect(runner.calls).toEqual([]);
    expect(await services.isRunning(snmpd)).toBe(false);
  });

  it('refuses service names that are not unit names', async () => {
    systemdHost();
    await expect(services.restart({ name: 'snmpd; reboot' })).rejects.toThrow(/invalid service name/);
    await expect(services.restart({ name: 'x', initScript: '../../bin/sh' })).rejects.toThrow(/invalid service name/);
    expect(runner.calls).toEqual([]);
  });
});
