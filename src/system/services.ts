// Start/stop/restart/status of daemons with whichever manager this host has:
// systemd when it is PID 1, the init.d script (`service`) otherwise, and a pid-file
// supervisor for daemons that ship no init script (serf, syncthing on non-systemd hosts).
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import type { RootPrefix } from './root.js';
import type { Runner } from './runner.js';
import { SystemError } from './errors.js';

export interface DaemonSpec {
  /** Foreground command line of the daemon. */
  argv: string[];
  pidFile: string;
  logFile: string;
  /** Drop to this user with setpriv (only when the panel runs as root). */
  user?: string;
  env?: Record<string, string>;
}

export interface ServiceSpec {
  /** The name the plugin uses for it (also the systemd unit and init script unless overridden). */
  name: string;
  unit?: string;
  initScript?: string;
  daemon?: DaemonSpec;
}

export type ServiceBackend = 'systemd' | 'sysv' | 'supervised';
export type ServiceVerb = 'start' | 'stop' | 'restart' | 'reload';

const UNIT_NAME = /^[a-zA-Z0-9@._-]{1,100}$/;
const STOP_GRACE_MS = 10_000;

async function isDir(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isFile();
  } catch {
    return false;
  }
}

/** The process exists and is not a zombie waiting to be reaped. */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

export class Services {
  constructor(private readonly root: RootPrefix, private readonly runner: Runner) {}

  async backendFor(spec: ServiceSpec): Promise<ServiceBackend> {
    const unit = spec.unit ?? spec.name;
    const script = spec.initScript ?? spec.name;
    if (!UNIT_NAME.test(unit) || !UNIT_NAME.test(script)) throw new SystemError(`invalid service name ${spec.name}`);
    if (await isDir(this.root.path('/run/systemd/system'))) return 'systemd';
    if (await isFile(this.root.path(`/etc/init.d/${script}`))) return 'sysv';
    if (spec.daemon) return 'supervised';
    throw new SystemError(`no way to manage service ${spec.name} on this host`, { messageKey: 'errors.noServiceManager' });
  }

  private async runChecked(argv: string[]): Promise<void> {
    const result = await this.runner.run(argv, { timeoutMs: 120_000 });
    if (result.exitCode !== 0) {
      throw new SystemError(`${argv.join(' ')} failed (exit ${result.exitCode})`, {
        argv, exitCode: result.exitCode, output: (result.stderr + result.stdout).slice(-4000), messageKey: 'errors.serviceFailed',
      });
    }
  }

  async control(spec: ServiceSpec, verb: ServiceVerb): Promise<void> {
    const backend = await this.backendFor(spec);
    if (backend === 'systemd') return this.runChecked(['systemctl', verb, spec.unit ?? spec.name]);
    if (backend === 'sysv') return this.runChecked(['service', spec.initScript ?? spec.name, verb]);
    const daemon = spec.daemon as DaemonSpec;
    if (verb === 'stop') return this.stopSupervised(daemon);
    if (verb === 'start') {
      if (await this.supervisedPid(daemon)) return;
      return this.startSupervised(daemon);
    }
    await this.stopSupervised(daemon);
    return this.startSupervised(daemon);
  }

  start(spec: ServiceSpec) { return this.control(spec, 'start'); }
  stop(spec: ServiceSpec) { return this.control(spec, 'stop'); }
  restart(spec: ServiceSpec) { return this.control(spec, 'restart'); }
  reload(spec: ServiceSpec) { return this.control(spec, 'reload'); }

  /** Running or not. Spawns a process for systemd/sysv: call it from background refreshes, not page views. */
  async isRunning(spec: ServiceSpec): Promise<boolean> {
    const backend = await this.backendFor(spec).catch(() => undefined);
    if (backend === 'systemd') {
      return (await this.runner.run(['systemctl', 'is-active', '--quiet', spec.unit ?? spec.name], { timeoutMs: 15_000 })).exitCode === 0;
    }
    if (backend === 'sysv') {
      return (await this.runner.run(['service', spec.initScript ?? spec.name, 'status'], { timeoutMs: 15_000 })).exitCode === 0;
    }
    if (backend === 'supervised') return (await this.supervisedPid(spec.daemon as DaemonSpec)) !== undefined;
    return false;
  }

  /** Starts at boot too. */
  async enable(spec: ServiceSpec): Promise<void> {
    const backend = await this.backendFor(spec);
    if (backend === 'systemd') return this.runChecked(['systemctl', 'enable', spec.unit ?? spec.name]);
    if (backend === 'sysv') return this.runChecked(['update-rc.d', spec.initScript ?? spec.name, 'defaults']);
    // supervised daemons are started again by the panel at start-up (registry state)
  }

  async disable(spec: ServiceSpec): Promise<void> {
    const backend = await this.backendFor(spec);
    if (backend === 'systemd') return this.runChecked(['systemctl', 'disable', spec.unit ?? spec.name]);
    if (backend === 'sysv') return this.runChecked(['update-rc.d', spec.initScript ?? spec.name, 'disable']);
  }

  private async supervisedPid(daemon: DaemonSpec): Promise<number | undefined> {
    try {
      const pid = Number((await fs.readFile(this.root.path(daemon.pidFile), 'utf8')).trim());
      return Number.isInteger(pid) && pid > 1 && pidAlive(pid) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  private async startSupervised(daemon: DaemonSpec): Promise<void> {
    const pidFile = this.root.path(daemon.pidFile);
    const logFile = this.root.path(daemon.logFile);
    await fs.mkdir(path.dirname(pidFile), { recursive: true });
    await fs.mkdir(path.dirname(logFile), { recursive: true });
    const asUser = daemon.user && process.getuid?.() === 0
      ? ['setpriv', `--reuid=${daemon.user}`, `--regid=${daemon.user}`, '--init-groups', '--']
      : [];
    const pid = await this.runner.spawnDetached([...asUser, ...daemon.argv], { logFile, env: daemon.env });
    await fs.writeFile(pidFile, `${pid}\n`, { mode: 0o644 });
    // A daemon that dies at once (bad flags, port taken) is a failed start, not "running".
    await new Promise((resolve) => setTimeout(resolve, 300));
    if (!pidAlive(pid)) {
      await fs.rm(pidFile, { force: true });
      const log = await fs.readFile(logFile, 'utf8').catch(() => '');
      throw new SystemError(`${daemon.argv[0]} exited at start`, { argv: daemon.argv, output: log.slice(-2000), messageKey: 'errors.serviceFailed' });
    }
  }

  private async stopSupervised(daemon: DaemonSpec): Promise<void> {
    const pid = await this.supervisedPid(daemon);
    if (pid) {
      process.kill(pid, 'SIGTERM');
      const deadline = Date.now() + STOP_GRACE_MS;
      while (pidAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    await fs.rm(this.root.path(daemon.pidFile), { force: true });
  }
}
