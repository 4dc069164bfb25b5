// Pure: the settings schema, and the managed squid fragment rendered from settings / parsed back.
// No I/O. The fragment is /etc/squid/conf.d/cloudy.conf: Debian's squid.conf includes conf.d/*.conf
// *before* its own `http_access allow localhost` and `http_port 3128`, so the fragment ends with
// `http_access deny all` (nothing after the include can open the proxy) and only declares its port
// when squid.conf does not already listen on exactly that port (see squidConfListenPorts).
import { z } from 'zod';
import { managedHeader } from '../../src/system/files.js';
import { isCidr, port, wholeNumber } from '../../src/lib/fields.js';

export const SPOOL_DIR = '/var/spool/squid';
export const LANGPACK_DIR = '/usr/share/squid-langpack';
export const BASIC_LDAP_AUTH = '/usr/lib/squid/basic_ldap_auth';
export const LDAP_GROUP_HELPER = '/usr/lib/squid/ext_ldap_group_acl';

/**
 * Error-page languages: directories shipped by Debian's squid-langpack (checked on bookworm,
 * package 20220130-1), by their own names. 'auto' keeps squid's negotiation from the browser's
 * Accept-Language (English when nothing matches).
 */
export const ERROR_LANGUAGES = {
  auto: '',
  ar: 'العربية', ca: 'Català', cs: 'Čeština', da: 'Dansk', de: 'Deutsch', el: 'Ελληνικά', en: 'English',
  es: 'Español', fi: 'Suomi', fr: 'Français', he: 'עברית', hu: 'Magyar', it: 'Italiano', ja: '日本語',
  ko: '한국어', nl: 'Nederlands', oc: 'Occitan', pl: 'Polski', pt: 'Português', 'pt-br': 'Português (Brasil)',
  ro: 'Română', ru: 'Русский', sk: 'Slovenčina', sv: 'Svenska', tr: 'Türkçe', uk: 'Українська',
  'zh-hans': '简体中文', 'zh-hant': '繁體中文',
} as const;
export type ErrorLanguage = keyof typeof ERROR_LANGUAGES;
const LANGUAGE_CODES = Object.keys(ERROR_LANGUAGES) as [ErrorLanguage, ...ErrorLanguage[]];

export const AUTH_MODES = ['none', 'ldap'] as const;

/** The guifi.net values the original Cloudy proxy (guifi-proxy3) used: suggested, never required. */
export const GUIFI_LDAP = {
  main: 'ldap.guifi.net',
  backup: 'ldap2.guifi.net',
  baseDn: 'o=webusers,dc=guifi,dc=net',
  userAttribute: 'uid',
  realm: 'Guifi Proxy3 Squid proxy-caching federated server',
} as const;

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOSTNAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);
/** A DNS name or an IPv4 address: letters, digits, dots and inner hyphens only. */
export function isHostname(value: string): boolean {
  return value.length <= 253 && HOSTNAME.test(value);
}

/** host or host:port with a port in 1–65535; returns undefined when it is neither. */
export function parseHostPort(value: string): { host: string; port?: number } | undefined {
  const match = /^([^:\s]+)(?::(\d{1,5}))?$/.exec(value);
  if (!match || !isHostname(match[1]!)) return undefined;
  if (match[2] === undefined) return { host: match[1]! };
  const p = Number(match[2]);
  return p >= 1 && p <= 65535 ? { host: match[1]!, port: p } : undefined;
}

// A DN whose values are plain (no quotes, backslashes, parentheses, "*" or "%"): safe inside a
// double-quoted helper argument and inside an LDAP filter.
const RDN = '[A-Za-z][A-Za-z0-9-]{0,63}=[A-Za-z0-9._@-](?:[A-Za-z0-9 ._@-]{0,126}[A-Za-z0-9._@-])?';
const DN = new RegExp(`^${RDN}(?:, ?${RDN}){0,15}$`);
export function isDn(value: string): boolean {
  return value.length <= 400 && DN.test(value);
}

/** Splits "cn=admins,ou=groups,dc=x" into its first RDN and the rest. */
export function splitDn(dn: string): { attribute: string; value: string; parent: string } | undefined {
  const match = /^([A-Za-z][A-Za-z0-9-]*)=([^,]+), ?(.+)$/.exec(dn);
  return match ? { attribute: match[1]!, value: match[2]!, parent: match[3]! } : undefined;
}

const EMAIL = /^[A-Za-z0-9._+-]{1,64}@[^@\s]+$/;
const REALM = /^[^"\\%\x00-\x1f\x7f]*$/;

/** Networks typed one per line (or separated by spaces or commas). */
export function splitNetworks(value: unknown): unknown {
  if (Array.isArray(value)) return value;
  if (typeof value !== 'string') return value;
  return value.split(/[\s,]+/).filter(Boolean);
}

const Text = (max: number) => z.string().trim().max(max, 'squid:errors.tooLong');
const optionalField = (check: (v: string) => boolean, message: string, max = 400) =>
  Text(max).refine((v) => v === '' || check(v), message).default('');

export const SquidSettingsSchema = z.object({
  port: port('squid:errors.port'),
  allowedNetworks: z.preprocess(splitNetworks, z.array(z.string(), 'squid:errors.allowedNetworks')
    .min(1, 'squid:errors.allowedNetworksEmpty')
    .max(32, 'squid:errors.allowedNetworksMany')
    .refine((list) => list.every(isCidr), 'squid:errors.allowedNetworks')),
  cacheDiskMb: wholeNumber(0, 1_048_576, 'squid:errors.cacheDiskMb'),
  cacheMemMb: wholeNumber(1, 65_536, 'squid:errors.cacheMemMb'),
  maxObjectMb: wholeNumber(1, 65_536, 'squid:errors.maxObjectMb'),
  adminEmail: Text(254).min(1, 'squid:errors.required')
    .refine((v) => v === '' || (EMAIL.test(v) && isHostname(v.split('@')[1] ?? '')), 'squid:errors.adminEmail'),
  visibleHostname: Text(253).min(1, 'squid:errors.required').refine((v) => v === '' || isHostname(v), 'squid:errors.hostname'),
  errorLanguage: z.enum(LANGUAGE_CODES, 'squid:errors.errorLanguage'),
  auth: z.enum(AUTH_MODES, 'squid:errors.auth'),
  ldapMain: optionalField((v) => parseHostPort(v) !== undefined, 'squid:errors.ldapServer', 260),
  ldapBackup: optionalField((v) => parseHostPort(v) !== undefined, 'squid:errors.ldapServer', 260),
  ldapBaseDn: optionalField(isDn, 'squid:errors.dn'),
  ldapUserAttribute: optionalField((v) => /^[A-Za-z][A-Za-z0-9-]{0,63}$/.test(v), 'squid:errors.ldapUserAttribute', 64),
  ldapGroup: optionalField((v) => isDn(v) && splitDn(v) !== undefined, 'squid:errors.ldapGroup'),
  ldapRealm: Text(120).refine((v) => REALM.test(v), 'squid:errors.realm').default(''),
  parentProxy: optionalField((v) => parseHostPort(v)?.port !== undefined, 'squid:errors.parentProxy', 260),
}).superRefine((s, ctx) => {
  // runs even when other fields failed, so every problem shows at once: guard the types
  const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
  if (s.auth === 'ldap') {
    if (s.ldapMain === '') issue('ldapMain', 'squid:errors.requiredForLdap');
    if (s.ldapBaseDn === '') issue('ldapBaseDn', 'squid:errors.requiredForLdap');
    if (s.ldapUserAttribute === '') issue('ldapUserAttribute', 'squid:errors.requiredForLdap');
    if (s.ldapRealm === '') issue('ldapRealm', 'squid:errors.requiredForLdap');
  }
  // nobody should run an open proxy by accident: the whole Internet needs authentication
  if (s.auth === 'none' && Array.isArray(s.allowedNetworks) && s.allowedNetworks.some((n) => /\/0$/.test(String(n)))) {
    issue('allowedNetworks', 'squid:errors.openProxy');
  }
});
export type SquidSettings = z.infer<typeof SquidSettingsSchema>;
export type SquidForm = Record<keyof SquidSettings, string>;

/** Settings as the form shows them (strings; networks one per line). */
export function toFormValues(s: SquidSettings): SquidForm {
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, Array.isArray(v) ? v.join('\n') : String(v)])) as SquidForm;
}

export interface RenderOptions {
  /** squid.conf itself already listens on exactly this port (Debian's `http_port 3128`). */
  portDeclaredElsewhere?: boolean;
}

const q = (value: string) => `"${value}"`;

function ldapServers(s: SquidSettings): string[] {
  return [s.ldapMain, s.ldapBackup].filter(Boolean);
}

export function renderSquidConf(s: SquidSettings, options: RenderOptions = {}): string {
  const lines = [
    managedHeader('squid').trimEnd(),
    '# Included by /etc/squid/squid.conf (include /etc/squid/conf.d/*.conf) before Debian\'s own',
    '# access rules: it ends with "http_access deny all", so only what is allowed here gets through.',
    '',
  ];
  lines.push('# Where the proxy listens');
  if (options.portDeclaredElsewhere) lines.push(`# http_port ${s.port} is declared in /etc/squid/squid.conf (not repeated here)`);
  else lines.push(`http_port ${s.port}`);
  lines.push(
    '',
    '# Who runs it and how it calls itself on error pages',
    `visible_hostname ${s.visibleHostname}`,
    `cache_mgr ${s.adminEmail}`,
  );
  if (s.errorLanguage !== 'auto') lines.push(`error_directory ${LANGPACK_DIR}/${s.errorLanguage}`);
  else lines.push('# error pages: in the language the browser asks for');
  lines.push(
    '',
    '# Cache (maximum_object_size must come before cache_dir)',
    `cache_mem ${s.cacheMemMb} MB`,
    `maximum_object_size ${s.maxObjectMb} MB`,
  );
  if (s.cacheDiskMb > 0) lines.push(`cache_dir ufs ${SPOOL_DIR} ${s.cacheDiskMb} 16 256`);
  else lines.push('# no disk cache: memory only');
  lines.push('', '# Stop and restart in about a second instead of the default 30', 'shutdown_lifetime 1 seconds');

  const parent = s.parentProxy ? parseHostPort(s.parentProxy) : undefined;
  if (parent?.port) {
    lines.push(
      '',
      '# Federation: every request goes through the parent proxy',
      `cache_peer ${parent.host} parent ${parent.port} 0 no-query no-digest default name=cloudy_parent`,
      'never_direct allow all',
    );
  }

  const allow = ['cloudy_clients'];
  if (s.auth === 'ldap') {
    const servers = ldapServers(s).join(' ');
    lines.push(
      '',
      '# Users log in with their LDAP account (Basic authentication; the backup server is tried second)',
      `auth_param basic program ${BASIC_LDAP_AUTH} -v 3 -c 5 -b ${q(s.ldapBaseDn)} -f ${q(`(${s.ldapUserAttribute}=%s)`)} ${servers}`,
      'auth_param basic children 5 startup=1 idle=1',
      `auth_param basic realm ${s.ldapRealm}`,
      'auth_param basic credentialsttl 1 hour',
      'acl cloudy_users proxy_auth REQUIRED',
    );
    allow.push('cloudy_users');
    const group = s.ldapGroup ? splitDn(s.ldapGroup) : undefined;
    if (group) {
      const filter = `(&(${group.attribute}=${group.value})(|(member=%u)(uniqueMember=%u)))`;
      lines.push(
        `# ...and must be members of ${s.ldapGroup} (others get 403 Forbidden, not a new login prompt)`,
        `external_acl_type cloudy_group ttl=300 negative_ttl=60 children-max=5 children-startup=1 %LOGIN ${LDAP_GROUP_HELPER} -v 3 -c 5 -b ${q(group.parent)} -f ${q(filter)} -B ${q(s.ldapBaseDn)} -F ${q(`(${s.ldapUserAttribute}=%s)`)} ${servers}`,
        'acl cloudy_group external cloudy_group member',
      );
      allow.push('cloudy_group');
    }
  }

  lines.push(
    '',
    '# Who may use the proxy; everything else is refused here, before the rules that follow the include',
    `acl cloudy_clients src ${s.allowedNetworks.join(' ')}`,
    `http_access allow ${allow.join(' ')}`,
    'http_access deny all',
    '',
  );
  return lines.join('\n');
}

/** Splits a helper command line the way squid does: spaces, with "double quoted" words. */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) words.push(m[1] ?? m[2]!);
  return words;
}

/** Options (-x value) and positional words of a helper command line. */
function helperArgs(words: string[]): { opts: Record<string, string>; rest: string[] } {
  const opts: Record<string, string> = {};
  const rest: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (/^-[A-Za-z]$/.test(word) && !['-P', '-R', '-Z', '-d', '-g', '-S', '-K'].includes(word)) opts[word] = words[++i] ?? '';
    else if (!word.startsWith('-')) rest.push(word);
  }
  return { opts, rest };
}

/** Reads settings back from the managed fragment; fields it cannot find stay undefined. */
export function parseSquidConf(text: string): Partial<SquidSettings> {
  const out: Partial<SquidSettings> = {};
  let sawAuth = false;
  let networks: string[] | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const declared = /^# http_port (\d+) is declared in/.exec(line);
    if (declared) { out.port = Number(declared[1]); continue; }
    if (!line || line.startsWith('#')) continue;
    const [keyword = '', ...rest] = line.split(/\s+/);
    const value = line.slice(keyword.length).trim();
    switch (keyword) {
      case 'http_port': {
        const match = /^(?:.*:)?(\d+)$/.exec(rest[0] ?? '');
        if (match) out.port = Number(match[1]);
        break;
      }
      case 'visible_hostname': out.visibleHostname = value; break;
      case 'cache_mgr': out.adminEmail = value; break;
      case 'error_directory': {
        const code = value.startsWith(`${LANGPACK_DIR}/`) ? value.slice(LANGPACK_DIR.length + 1) : '';
        if (code in ERROR_LANGUAGES) out.errorLanguage = code as ErrorLanguage;
        break;
      }
      case 'cache_mem': if (/^\d+$/.test(rest[0] ?? '') && rest[1] === 'MB') out.cacheMemMb = Number(rest[0]); break;
      case 'maximum_object_size': if (/^\d+$/.test(rest[0] ?? '') && rest[1] === 'MB') out.maxObjectMb = Number(rest[0]); break;
      case 'cache_dir': if (/^\d+$/.test(rest[2] ?? '')) out.cacheDiskMb = Number(rest[2]); break;
      case 'cache_peer': if (rest[1] === 'parent' && rest[0] && rest[2]) out.parentProxy = `${rest[0]}:${rest[2]}`; break;
      case 'auth_param':
        if (rest[0] !== 'basic') break;
        if (rest[1] === 'program' && rest[2] === BASIC_LDAP_AUTH) {
          sawAuth = true;
          const { opts, rest: servers } = helperArgs(splitWords(rest.slice(3).join(' ')));
          out.ldapBaseDn = opts['-b'] ?? '';
          out.ldapUserAttribute = /^\(([A-Za-z][A-Za-z0-9-]*)=%s\)$/.exec(opts['-f'] ?? '')?.[1] ?? '';
          out.ldapMain = servers[0] ?? '';
          out.ldapBackup = servers[1] ?? '';
        }
        if (rest[1] === 'realm') out.ldapRealm = line.replace(/^auth_param\s+basic\s+realm\s*/, '');
        break;
      case 'external_acl_type':
        if (rest[0] === 'cloudy_group') {
          const { opts } = helperArgs(splitWords(value.slice(value.indexOf(LDAP_GROUP_HELPER) + LDAP_GROUP_HELPER.length)));
          const rdn = /^\(&\(([A-Za-z][A-Za-z0-9-]*)=([^()]+)\)/.exec(opts['-f'] ?? '');
          if (rdn && opts['-b']) out.ldapGroup = `${rdn[1]}=${rdn[2]},${opts['-b']}`;
        }
        break;
      case 'acl':
        if (rest[0] === 'cloudy_clients' && rest[1] === 'src') networks = rest.slice(2);
        break;
    }
  }
  if (networks) out.allowedNetworks = networks;
  if (text.includes('Managed by Cloudy panel')) {
    out.auth = sawAuth ? 'ldap' : 'none';
    out.errorLanguage ??= 'auto';
    out.cacheDiskMb ??= 0;
    out.parentProxy ??= '';
    if (sawAuth) out.ldapGroup ??= '';
  }
  return out;
}

/**
 * The ports squid.conf itself (outside conf.d) listens on: active `http_port` lines.
 * `bare` lists those declared as a plain port (all addresses), the form the fragment would repeat.
 */
export function squidConfListenPorts(text: string): { ports: number[]; bare: number[] } {
  const ports: number[] = [];
  const bare: number[] = [];
  for (const raw of text.split('\n')) {
    const match = /^\s*http_port\s+(\S+)/.exec(raw);
    if (!match) continue;
    const spec = match[1]!;
    const port = /^(?:.*:)?(\d{1,5})$/.exec(spec);
    if (!port) continue;
    ports.push(Number(port[1]));
    if (/^\d+$/.test(spec)) bare.push(Number(spec));
  }
  return { ports, bare };
}

/** Lines of `squid -k parse` output that explain a refusal (it prints every line it processes). */
export function parseProblems(output: string): string[] {
  return output.split('\n').filter((l) => /FATAL|ERROR|Bungled|WARNING|unrecognized/.test(l)).map((l) => l.trim()).slice(-20);
}

/** squid -k parse exits 0 even for some FATAL errors (a missing error directory or helper). */
export function parseRejected(exitCode: number, output: string): boolean {
  return exitCode !== 0 || /FATAL:|Bungled/.test(output);
}
