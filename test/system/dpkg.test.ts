import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFileSync, statSync, utimesSync, writeFileSync, rmSync } from 'node:fs';
import { DpkgStatus, parseDpkgStatus } from '../../src/system/dpkg.js';
import { RootPrefix } from '../../src/system/root.js';
import { createTempRoot, dpkgStanza, type TempRoot } from '../helpers/temp-root.js';

// Shaped like a real /var/lib/dpkg/status: continuation lines, conffiles, multi-arch entries.
const STATUS = `Package: snmpd
Status: install ok installed
Priority: optional
Section: net
Installed-Size: 120
Maintainer: Net-SNMP Packaging Team <pkg-net-snmp-devel@lists.alioth.debian.org>
Architecture: amd64
Source: net-snmp
Version: 5.9.3+dfsg-2+deb12u1
Depends: adduser, debconf (>= 0.5) | debconf-2.0, libc6 (>= 2.34)
Conffiles:
 /etc/default/snmpd 3f7c9f4a6bd83e8a8c2f6c5f0f4d3e21
 /etc/snmp/snmpd.conf 5d3e8a6c0b1a2f3e4d5c6b7a8f9e0d1c
Description: SNMP (Simple Network Management Protocol) agents
 The Simple Network Management Protocol (SNMP) provides a framework
 for the exchange of management information between agents (servers)
 Package: not-a-real-field-in-a-description
Homepage: http://net-snmp.sourceforge.net/

Package: bind9
Status: deinstall ok config-files
Priority: optional
Section: net
Architecture: amd64
Version: 1:9.18.24-1
Conffiles:
 /etc/bind/named.conf 0f3e2c1d4b5a69788796a5b4c3d2e1f0
Description: Internet Domain Name Server

Package: squid
Status: install ok unpacked
Priority: optional
Architecture: amd64
Version: 5.7-2+deb12u1
Description: Full featured Web Proxy cache (HTTP proxy)

Package: libc6
Status: install ok installed
Priority: optional
Architecture: i386
Multi-Arch: same
Version: 2.36-9+deb12u7
Description: GNU C Library: Shared libraries

Package: libc6
Status: install ok installed
Priority: optional
Architecture: amd64
Multi-Arch: same
Version: 2.36-9+deb12u7
Description: GNU C Library: Shared libraries

Package: libfoo1
Status: deinstall ok config-files
Architecture: i386
Multi-Arch: same
Version: 1.0-1
Description: old i386 copy

Package: libfoo1
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Version: 1.2-1
Description: current amd64 copy

Package: libbar1
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Version: 2.0-1
Description: installed amd64 copy

Package: libbar1
Status: deinstall ok config-files
Architecture: i386
Multi-Arch: same
Version: 1.9-1
Description: removed i386 copy

Package: tor
Status: hold ok installed
Priority: optional
Architecture: amd64
Version: 0.4.7.16-1
Description: anonymizing overlay network for TCP

Package: half
Status: install reinstreq half-installed
Architecture: amd64
Version: 0.1
Description: broken install
`;

describe('parseDpkgStatus', () => {
  const packages = parseDpkgStatus(STATUS);

  it('finds one entry per package name', () => {
    expect([...packages.keys()].sort()).toEqual(['bind9', 'half', 'libbar1', 'libc6', 'libfoo1', 'snmpd', 'squid', 'tor']);
  });

  it('marks "install ok installed" as installed, with its version', () => {
    expect(packages.get('snmpd')).toEqual({
      name: 'snmpd', status: 'install ok installed', version: '5.9.3+dfsg-2+deb12u1', installed: true,
    });
  });

  it('does not take a "Package:" inside an indented description for a new package', () => {
    expect(packages.has('not-a-real-field-in-a-description')).toBe(false);
  });

  it('treats removed-with-config-files as not installed (keeps status and version)', () => {
    expect(packages.get('bind9')).toEqual({
      name: 'bind9', status: 'deinstall ok config-files', version: '1:9.18.24-1', installed: false,
    });
  });

  it('treats unpacked-but-not-configured and half-installed as not installed', () => {
    expect(packages.get('squid')).toMatchObject({ status: 'install ok unpacked', installed: false, version: '5.7-2+deb12u1' });
    expect(packages.get('half')?.installed).toBe(false);
  });

  it('treats a held package as installed', () => {
    expect(packages.get('tor')).toMatchObject({ status: 'hold ok installed', installed: true, version: '0.4.7.16-1' });
  });

  it('keeps the installed architecture of a multi-arch package, whichever comes first', () => {
    expect(packages.get('libc6')).toMatchObject({ installed: true, version: '2.36-9+deb12u7' });
    expect(packages.get('libfoo1')).toMatchObject({ installed: true, version: '1.2-1', status: 'install ok installed' });
    expect(packages.get('libbar1')).toMatchObject({ installed: true, version: '2.0-1', status: 'install ok installed' });
  });

  it('returns an empty map for an empty file', () => {
    expect(parseDpkgStatus('').size).toBe(0);
  });
});

describe('DpkgStatus', () => {
  let root: TempRoot;
  let dpkg: DpkgStatus;
  const statusFile = () => root.p('/var/lib/dpkg/status');

  beforeEach(() => {
    root = createTempRoot();
    dpkg = new DpkgStatus(new RootPrefix(root.dir));
  });
  afterEach(() => root.cleanup());

  it('reads the status file inside the root', async () => {
    root.installed({ snmpd: '5.9.3', avahi: '0.8' });
    expect(await dpkg.isInstalled('snmpd')).toBe(true);
    expect(await dpkg.isInstalled('bind9')).toBe(false);
    expect((await dpkg.get('avahi'))?.version).toBe('0.8');
  });

  it('returns nothing (instead of throwing) when there is no status file', async () => {
    rmSync(statusFile());
    expect((await dpkg.all()).size).toBe(0);
    expect(await dpkg.isInstalled('snmpd')).toBe(false);
  });

  it('sees a rewritten file (size changes)', async () => {
    root.installed({ snmpd: '5.9.3' });
    expect(await dpkg.isInstalled('snmpd')).toBe(true);
    root.write('/var/lib/dpkg/status', dpkgStanza('snmpd', '5.9.3', 'deinstall ok config-files'));
    expect(await dpkg.isInstalled('snmpd')).toBe(false);
  });

  it('sees a rewritten file of the same size when its mtime changes', async () => {
    const fixed = new Date('2024-01-01T00:00:00Z');
    root.installed({ snmpd: '1.0' });
    utimesSync(statusFile(), fixed, fixed);
    expect((await dpkg.get('snmpd'))?.version).toBe('1.0');

    root.installed({ snmpd: '2.0' }); // same length, new mtime
    expect(statSync(statusFile()).size).toBe(dpkgStanza('snmpd', '1.0').length);
    expect((await dpkg.get('snmpd'))?.version).toBe('2.0');
  });

  it('does not re-read the file while its size and mtime are unchanged', async () => {
    const fixed = new Date('2024-01-01T00:00:00Z');
    root.installed({ snmpd: '1.0' });
    utimesSync(statusFile(), fixed, fixed);
    const first = await dpkg.all();
    expect(first.get('snmpd')?.version).toBe('1.0');

    // Same size, same mtime, different content: only a cache explains seeing the old version.
    writeFileSync(statusFile(), readFileSync(statusFile(), 'utf8').replace('Version: 1.0', 'Version: 9.9'));
    utimesSync(statusFile(), fixed, fixed);
    const second = await dpkg.all();
    expect(second).toBe(first);
    expect(second.get('snmpd')?.version).toBe('1.0');

    // and once the mtime moves, the new content is read
    const later = new Date('2024-01-02T00:00:00Z');
    utimesSync(statusFile(), later, later);
    expect((await dpkg.get('snmpd'))?.version).toBe('9.9');
  });
});
