// Pure: the settings schema, and snmpd.conf rendered from settings / parsed back. No I/O.
import { z } from 'zod';
import { managedHeader } from '../../src/system/files.js';
import { isCidr, isIpv4, port } from '../../src/lib/fields.js';

export { isCidr };

/** Free text that is safe on one snmpd.conf line: printable, no backslash or quote tricks. */
const LineText = (key: string) => z.string().trim().max(200, 'validation.tooLong').regex(/^[^\\"\x00-\x1f\x7f]*$/, key);

export const SnmpSettingsSchema = z.object({
  community: z.string().trim()
    .regex(/^[A-Za-z0-9._~-]{8,32}$/, 'snmp:errors.community')
    .refine((c) => !['public', 'private'].includes(c.toLowerCase()), 'snmp:errors.communityGuessable'),
  listenAddress: z.string().trim().refine(isIpv4, 'snmp:errors.listenAddress'),
  port: port('snmp:errors.port'),
  allowedNetwork: z.string().trim().refine(isCidr, 'snmp:errors.allowedNetwork'),
  sysLocation: LineText('snmp:errors.text').min(1, 'validation.required'),
  sysContact: LineText('snmp:errors.text').min(1, 'validation.required'),
});
export type SnmpSettings = z.infer<typeof SnmpSettingsSchema>;

export function renderSnmpdConf(s: SnmpSettings): string {
  return [
    managedHeader('snmp').trimEnd(),
    '# Put your own additions in /etc/snmp/snmpd.conf.d/*.conf: the panel never touches them.',
    '',
    '# Where the agent listens (address and UDP port chosen in the panel)',
    `agentaddress udp:${s.listenAddress}:${s.port}`,
    '',
    '# Read-only access to the whole tree, only with this community and only from this network',
    `rocommunity ${s.community} ${s.allowedNetwork}`,
    '# ...and from this host, so the panel can check that the agent answers',
    `rocommunity ${s.community} 127.0.0.1`,
    '',
    '# Who and where: shown to graph servers as sysLocation.0 and sysContact.0',
    `sysLocation ${s.sysLocation}`,
    `sysContact ${s.sysContact}`,
    '# 72 = applications + end-to-end host',
    'sysServices 72',
    '',
    'includeDir /etc/snmp/snmpd.conf.d',
    '',
  ].join('\n');
}

/** Reads settings back from any snmpd.conf (ours or Debian's); fields it cannot find stay undefined. */
export function parseSnmpdConf(text: string): Partial<SnmpSettings> {
  const out: Partial<SnmpSettings> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [keyword = '', ...rest] = line.split(/\s+/);
    const value = line.slice(keyword.length).trim();
    switch (keyword.toLowerCase()) {
      case 'agentaddress': {
        const first = value.split(',')[0] ?? '';
        const match = /^(?:udp:)?(\d+\.\d+\.\d+\.\d+)(?::(\d+))?$/.exec(first);
        if (match) {
          out.listenAddress = match[1];
          out.port = match[2] ? Number(match[2]) : 161;
        }
        break;
      }
      case 'rocommunity':
        // the first line names the allowed network; our extra 127.0.0.1 line is for the panel
        if (out.community !== undefined) break;
        if (rest[0]) out.community = rest[0];
        if (rest[1] && isCidr(rest[1])) out.allowedNetwork = rest[1];
        else if (rest[1] === 'default' || rest[1] === undefined) out.allowedNetwork = '0.0.0.0/0';
        break;
      case 'syslocation': out.sysLocation = value; break;
      case 'syscontact': out.sysContact = value; break;
    }
  }
  return out;
}
