import { describe, expect, it } from 'vitest';
import { RootPrefix } from '../../src/system/root.js';

describe('RootPrefix', () => {
  it('joins absolute OS paths under the prefix', () => {
    const root = new RootPrefix('/tmp/cloudy-root-x');
    expect(root.path('/etc/snmp/snmpd.conf')).toBe('/tmp/cloudy-root-x/etc/snmp/snmpd.conf');
    expect(root.path('/')).toBe('/tmp/cloudy-root-x/');
    expect(root.isHostRoot).toBe(false);
  });

  it('resolves a relative or trailing-slash prefix to an absolute one', () => {
    expect(new RootPrefix('/tmp/r/').path('/etc/x')).toBe('/tmp/r/etc/x');
    expect(new RootPrefix('rel').prefix).toBe(`${process.cwd()}/rel`);
  });

  it('refuses relative OS paths', () => {
    const root = new RootPrefix('/tmp/r');
    expect(() => root.path('etc/passwd')).toThrow(/not an absolute path/);
    expect(() => root.path('./etc/passwd')).toThrow(/not an absolute path/);
    expect(() => root.path('')).toThrow(/not an absolute path/);
  });

  it('refuses paths with .. segments, even ones that would normalise inside the root', () => {
    const root = new RootPrefix('/tmp/r');
    expect(() => root.path('/../etc/passwd')).toThrow(/escapes the root/);
    expect(() => root.path('/etc/snmp/../../../etc/shadow')).toThrow(/escapes the root/);
    expect(() => root.path('/etc/snmp/../passwd')).toThrow(/escapes the root/);
    expect(() => root.path('/etc/..')).toThrow(/escapes the root/);
  });

  it('allows names that merely contain dots', () => {
    const root = new RootPrefix('/tmp/r');
    expect(root.path('/etc/..hidden/a...b')).toBe('/tmp/r/etc/..hidden/a...b');
  });

  it('normalises redundant separators and . segments', () => {
    expect(new RootPrefix('/tmp/r').path('/etc//snmp/./snmpd.conf')).toBe('/tmp/r/etc/snmp/snmpd.conf');
  });

  it('maps prefix "/" to the OS path itself', () => {
    const root = new RootPrefix('/');
    expect(root.isHostRoot).toBe(true);
    expect(root.path('/etc/snmp/snmpd.conf')).toBe('/etc/snmp/snmpd.conf');
    expect(root.path('/var/lib/dpkg/status')).toBe('/var/lib/dpkg/status');
    expect(() => root.path('/etc/../root/.ssh')).toThrow(/escapes the root/);
  });
});
