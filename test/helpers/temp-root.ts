// A throwaway root folder seeded like a small Debian system (dpkg status, init scripts...).
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TempRoot {
  dir: string;
  /** Real path of an OS path inside the temp root */
  p(osPath: string): string;
  write(osPath: string, content: string): void;
  installed(packages: Record<string, string>): void;
  cleanup(): void;
}

export function dpkgStanza(name: string, version: string, status = 'install ok installed'): string {
  return `Package: ${name}\nStatus: ${status}\nPriority: optional\nArchitecture: amd64\nVersion: ${version}\nDescription: ${name}\n`;
}

export function createTempRoot(): TempRoot {
  const dir = mkdtempSync(path.join(tmpdir(), 'cloudy-root-'));
  const p = (osPath: string) => path.join(dir, osPath);
  const write = (osPath: string, content: string) => {
    mkdirSync(path.dirname(p(osPath)), { recursive: true });
    writeFileSync(p(osPath), content);
  };
  write('/var/lib/dpkg/status', '');
  return {
    dir,
    p,
    write,
    installed(packages) {
      write('/var/lib/dpkg/status', Object.entries(packages).map(([n, v]) => dpkgStanza(n, v)).join('\n'));
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
