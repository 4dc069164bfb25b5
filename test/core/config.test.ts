import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig, updateSettingsFile } from '../../src/config.js';

describe('panel config', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(path.join(tmpdir(), 'cloudy-config-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('defaults to 0.0.0.0:7000 with /etc/cloudy and /var/lib/cloudy', async () => {
    const config = await loadConfig({});
    expect(config.settings.port).toBe(7000);
    expect(config.settings.host).toBe('0.0.0.0');
    expect(config.configDir).toBe('/etc/cloudy');
    expect(config.dataDir).toBe('/var/lib/cloudy');
    expect(config.rootPrefix).toBe('/');
  });

  it('takes overrides from the environment and the file, and refuses a bad file', async () => {
    writeFileSync(path.join(dir, 'cloudy.json'), JSON.stringify({ port: 7100, defaultLanguage: 'ca' }));
    const config = await loadConfig({ CLOUDY_CONFIG_DIR: dir, CLOUDY_HOST: '127.0.0.1' });
    expect(config.settings).toMatchObject({ port: 7100, host: '127.0.0.1', defaultLanguage: 'ca' });
    expect((await loadConfig({ CLOUDY_CONFIG_DIR: dir, CLOUDY_PORT: '7200' })).settings.port).toBe(7200);
    await expect(loadConfig({ CLOUDY_CONFIG_DIR: dir, CLOUDY_PORT: 'seventy' })).rejects.toThrow();
    writeFileSync(path.join(dir, 'cloudy.json'), JSON.stringify({ port: 'x' }));
    await expect(loadConfig({ CLOUDY_CONFIG_DIR: dir })).rejects.toThrow();
    writeFileSync(path.join(dir, 'cloudy.json'), '{not json');
    await expect(loadConfig({ CLOUDY_CONFIG_DIR: dir })).rejects.toThrow(/cannot read/);
  });

  it('updates only the given keys, atomically, mode 0600', async () => {
    writeFileSync(path.join(dir, 'cloudy.json'), JSON.stringify({ port: 7100 }));
    const config = await loadConfig({ CLOUDY_CONFIG_DIR: dir, CLOUDY_PORT: '7999' });
    await updateSettingsFile(dir, { ldap: { ...config.settings.ldap, enabled: true, urls: ['ldap://127.0.0.1:389'] } });
    const saved = JSON.parse(readFileSync(path.join(dir, 'cloudy.json'), 'utf8'));
    expect(saved.port).toBe(7100);
    expect(saved.ldap.urls).toEqual(['ldap://127.0.0.1:389']);
    expect(statSync(path.join(dir, 'cloudy.json')).mode & 0o777).toBe(0o600);
  });
});
