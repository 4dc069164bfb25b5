// The system layer: the only code that touches the OS. Plugins get a scoped handle that
// refuses packages, services, paths and commands their manifest did not declare.
import { RootPrefix } from './root.js';
import { createExecaRunner, type Runner, type RunOptions, type RunResult } from './runner.js';
import { ConfigFiles, type WriteOptions } from './files.js';
import { DpkgStatus, type PackageState } from './dpkg.js';
import { Apt, type AptCallbacks } from './apt.js';
import { Debconf, type DebconfAnswer } from './debconf.js';
import { Services, type ServiceSpec, type ServiceVerb } from './services.js';
import { applyChange, type ChangePlan } from './transaction.js';
import { NotDeclaredError, SystemError } from './errors.js';

export { RootPrefix } from './root.js';
export type { Runner, RunOptions, RunResult } from './runner.js';
export { SystemError, NotDeclaredError } from './errors.js';
export { ChangeFailedError } from './transaction.js';
export { managedHeader } from './files.js';
export type { ServiceSpec, DaemonSpec } from './services.js';
export type { DebconfAnswer } from './debconf.js';
export type { ChangePlan, FileChange } from './transaction.js';
export type { AptProgress } from './apt.js';

/** What a plugin declares about its footprint on the OS (a subset of its manifest). */
export interface PluginDeclaration {
  id: string;
  packages: readonly string[];
  services: readonly ServiceSpec[];
  /** Absolute paths; an entry ending in "/" allows everything below it. */
  configFiles: readonly string[];
  /** Executables the plugin may run directly (checks, CLIs): absolute paths or names. */
  commands: readonly string[];
  debconf?: readonly DebconfAnswer[];
}

export interface System {
  root: RootPrefix;
  runner: Runner;
  files: ConfigFiles;
  dpkg: DpkgStatus;
  apt: Apt;
  debconf: Debconf;
  services: Services;
  forPlugin(declaration: PluginDeclaration): PluginSystem;
}

export function createSystem(options: { rootPrefix?: string; runner?: Runner } = {}): System {
  const root = new RootPrefix(options.rootPrefix ?? '/');
  const runner = options.runner ?? createExecaRunner();
  const files = new ConfigFiles(root);
  const system: System = {
    root,
    runner,
    files,
    dpkg: new DpkgStatus(root),
    apt: new Apt(root, runner),
    debconf: new Debconf(runner),
    services: new Services(root, runner),
    forPlugin: (declaration) => new PluginSystem(system, declaration),
  };
  return system;
}

/** A plugin's view of the system: only what its manifest declared. */
export class PluginSystem {
  constructor(private readonly system: System, readonly declaration: PluginDeclaration) {}

  get root(): RootPrefix {
    return this.system.root;
  }

  private allowPackage(name: string): void {
    if (!this.declaration.packages.includes(name)) throw new NotDeclaredError('package', name, this.declaration.id);
  }

  private service(name: string): ServiceSpec {
    const spec = this.declaration.services.find((s) => s.name === name);
    if (!spec) throw new NotDeclaredError('service', name, this.declaration.id);
    return spec;
  }

  private allowPath(osPath: string): void {
    if (osPath.split('/').includes('..')) throw new NotDeclaredError('path', osPath, this.declaration.id);
    const ok = this.declaration.configFiles.some((entry) =>
      entry.endsWith('/') ? osPath.startsWith(entry) && osPath.length > entry.length : osPath === entry);
    if (!ok) throw new NotDeclaredError('path', osPath, this.declaration.id);
  }

  // --- packages
  packageState(name: string): Promise<PackageState | undefined> {
    this.allowPackage(name);
    return this.system.dpkg.get(name);
  }

  async isInstalled(): Promise<boolean> {
    const states = await Promise.all(this.declaration.packages.map((p) => this.system.dpkg.isInstalled(p)));
    return states.every(Boolean);
  }

  async install(callbacks: AptCallbacks = {}): Promise<void> {
    await this.system.debconf.preseed(this.declaration.debconf ?? []);
    await this.system.apt.install(this.declaration.packages, callbacks);
  }

  async remove(options: { purge?: boolean } & AptCallbacks = {}): Promise<void> {
    await this.system.apt.remove(this.declaration.packages, options);
  }

  // --- services
  control(name: string, verb: ServiceVerb): Promise<void> {
    return this.system.services.control(this.service(name), verb);
  }

  isRunning(name: string): Promise<boolean> {
    return this.system.services.isRunning(this.service(name));
  }

  enable(name: string): Promise<void> {
    return this.system.services.enable(this.service(name));
  }

  disable(name: string): Promise<void> {
    return this.system.services.disable(this.service(name));
  }

  // --- files
  readFile(osPath: string): Promise<string | undefined> {
    this.allowPath(osPath);
    return this.system.files.read(osPath);
  }

  /** `parse(text)` of a declared file, remembered until the file changes (read-only result). */
  readParsed<T>(osPath: string, parse: (text: string | undefined) => T): Promise<T> {
    this.allowPath(osPath);
    return this.system.files.readParsed(osPath, parse);
  }

  writeFile(osPath: string, content: string, options?: WriteOptions): Promise<void> {
    this.allowPath(osPath);
    return this.system.files.writeAtomic(osPath, content, options);
  }

  applyChange(plan: ChangePlan): Promise<void> {
    for (const change of plan.files) this.allowPath(change.path);
    return applyChange(this.system.files, plan);
  }

  // --- commands
  async run(argv: readonly string[], options?: RunOptions): Promise<RunResult> {
    const [command] = argv;
    if (!command || !this.declaration.commands.includes(command)) {
      throw new NotDeclaredError('command', command ?? '', this.declaration.id);
    }
    return this.system.runner.run(argv, options);
  }

  /** Runs a declared command and throws a SystemError with its output when it fails. */
  async runChecked(argv: readonly string[], options?: RunOptions): Promise<RunResult> {
    const result = await this.run(argv, options);
    if (result.exitCode !== 0) {
      throw new SystemError(`${argv[0]} failed (exit ${result.exitCode})`, {
        argv, exitCode: result.exitCode, output: (result.stderr + result.stdout).slice(-4000),
      });
    }
    return result;
  }
}
