import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTempRoot } from '../helpers/temp-root.js';

function cloudy(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30_000 });
}

describe('cloudy CLI', () => {
  const root = createTempRoot();
  const base = mkdtempSync(path.join(tmpdir(), 'cloudy-cli-'));
  const env = { CLOUDY_ROOT_PREFIX: root.dir, CLOUDY_CONFIG_DIR: path.join(base, 'etc'), CLOUDY_DATA_DIR: path.join(base, 'var') };

  it('lists plugins and reads status from the (temp) root', () => {
    root.installed({ snmpd: '5.9.3' });
    const list = cloudy(['plugins'], env);
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(/^snmp\tguifi\tsnmpd$/m);
    const status = cloudy(['status'], env);
    expect(status.status).toBe(0);
    expect(status.stdout).toMatch(/^snmp\tinstalled\tstopped\t5\.9\.3$/m);
  });

  it('validates its arguments', () => {
    expect(cloudy(['explode'], env).status).toBe(2);
    const missing = cloudy(['install'], env);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('usage: cloudy');
    expect(cloudy(['install', 'Bad;Id'], env).status).toBe(2);
    expect(cloudy(['install', 'nosuchplugin'], env).stderr).toContain('no plugin "nosuchplugin"');
  });

  it('resets the admin password', () => {
    const res = cloudy(['reset-admin-password'], env);
    expect(res.status).toBe(0);
    expect(res.stdout).toMatch(/^new password for admin: [A-Za-z0-9]{20}$/m);
    rmSync(base, { recursive: true, force: true });
    root.cleanup();
  });
});
