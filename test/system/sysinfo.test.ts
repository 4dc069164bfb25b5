import { describe, expect, it } from 'vitest';
import { cleanCpuModel, HostStatusCache, parseMeminfo, parseOsRelease, shownMounts } from '../../src/system/sysinfo.js';

describe('host facts', () => {
  it('names the OS from /etc/os-release', () => {
    expect(parseOsRelease('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n')).toBe('Debian GNU/Linux 12 (bookworm)');
    expect(parseOsRelease('NAME="Debian GNU/Linux"\nVERSION_ID="12"\n')).toBe('Debian GNU/Linux 12');
    expect(parseOsRelease(undefined)).toBeUndefined();
    expect(parseOsRelease('garbage')).toBeUndefined();
  });

  it('counts used memory as total - available', () => {
    expect(parseMeminfo('MemTotal:       2000 kB\nMemFree:         100 kB\nMemAvailable:    500 kB\n')).toEqual({ total: 2000 * 1024, used: 1500 * 1024 });
    // old kernels without MemAvailable: free + buffers + cached
    expect(parseMeminfo('MemTotal: 2000 kB\nMemFree: 100 kB\nBuffers: 100 kB\nCached: 300 kB\n')).toEqual({ total: 2000 * 1024, used: 1500 * 1024 });
    expect(parseMeminfo('')).toBeUndefined();
  });

  it('shows /, /srv, /home and /var mounts of block devices, each once', () => {
    const mounts = [
      '/dev/sda1 / ext4 rw,relatime 0 0',
      'proc /proc proc rw 0 0',
      'tmpfs /var/run tmpfs rw 0 0',
      '/dev/sda2 /srv/my\\040data ext4 rw 0 0',
      '/dev/sda3 /home ext4 rw 0 0',
      '/dev/sda3 /home ext4 rw 0 0',
      '/dev/sdb1 /variable ext4 rw 0 0',
      'server:/export /srv/nfs nfs rw 0 0',
    ].join('\n');
    expect(shownMounts(mounts)).toEqual(['/', '/srv/my data', '/home']);
  });

  it('tidies CPU model names', () => {
    expect(cleanCpuModel('Intel(R) Xeon(R) CPU E5-2650 v2 @ 2.60GHz')).toBe('Intel Xeon E5-2650 v2');
    expect(cleanCpuModel('ARMv7 Processor rev 3 (v7l)')).toBe('ARMv7 Processor rev 3 (v7l)');
    expect(cleanCpuModel(undefined)).toBe('');
  });

  it('collects this host from node:os, /proc and /sys', async () => {
    const cache = new HostStatusCache();
    const quick = cache.get();
    expect(quick.cpuCores).toBeGreaterThan(0);
    await cache.refresh();
    const full = cache.get();
    expect(full.collectedAt).toBeGreaterThanOrEqual(quick.collectedAt);
    expect(full.memTotal).toBeGreaterThan(0);
    expect(full.interfaces.some((i) => i.name === 'lo')).toBe(true);
  });
});
