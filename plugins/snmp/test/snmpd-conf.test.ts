import { describe, expect, it } from 'vitest';
import { isCidr, parseSnmpdConf, renderSnmpdConf, SnmpSettingsSchema } from '../snmpd-conf.js';

const settings = SnmpSettingsSchema.parse({
  community: 'guifi-graphs-1', listenAddress: '0.0.0.0', port: '161', allowedNetwork: '10.0.0.0/8',
  sysLocation: 'Node Sants-UPC', sysContact: 'ops@example.org',
});

describe('snmpd.conf', () => {
  it('renders a managed file that parses back to the same settings', () => {
    const text = renderSnmpdConf(settings);
    expect(text.split('\n')[0]).toContain('Managed by Cloudy panel');
    expect(text).toContain('agentaddress udp:0.0.0.0:161\n');
    expect(text).toContain('rocommunity guifi-graphs-1 10.0.0.0/8\n');
    expect(text).toContain('rocommunity guifi-graphs-1 127.0.0.1\n');
    expect(text).toContain('sysLocation Node Sants-UPC\n');
    expect(text).not.toMatch(/rocommunity public/);
    expect(parseSnmpdConf(text)).toEqual(settings);
  });

  it("reads Debian's default file", () => {
    const debian = `sysLocation    Sitting on the Dock of the Bay\nsysContact     Me <me@example.org>\nmaster  agentx\nagentaddress  127.0.0.1,[::1]\nrocommunity  public default -V systemonly\n`;
    expect(parseSnmpdConf(debian)).toEqual({
      sysLocation: 'Sitting on the Dock of the Bay', sysContact: 'Me <me@example.org>',
      listenAddress: '127.0.0.1', port: 161, community: 'public', allowedNetwork: '0.0.0.0/0',
    });
  });

  it.each([
    ['community', 'public'], ['community', 'has space1'], ['community', 'a;rm -rf /'], ['community', 'short'],
    ['listenAddress', '256.1.1.1'], ['listenAddress', 'eth0'], ['port', '0'], ['port', '65536'], ['port', '1e3'], ['port', ''],
    ['allowedNetwork', '10.0.0.0/33'], ['allowedNetwork', '10.0.0/8'], ['sysLocation', 'line\nbreak'],
    ['sysContact', 'back\\slash'], ['sysLocation', ''], ['sysLocation', 'x'.repeat(201)],
  ])('refuses %s = %j', (field, value) => {
    const result = SnmpSettingsSchema.safeParse({ ...settings, [field]: value });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path).toEqual([field]);
  });

  it('checks CIDR', () => {
    expect(isCidr('10.0.0.0/8')).toBe(true);
    expect(isCidr('172.16.0.0/12')).toBe(true);
    expect(isCidr('1.2.3.4')).toBe(true);
    expect(isCidr('1.2.3.4/')).toBe(false);
    expect(isCidr('::1/128')).toBe(false);
  });
});
