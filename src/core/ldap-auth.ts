// LDAP login with ldapts: direct bind through a DN pattern, or search-then-bind; optional
// admin group; fail-over across the configured servers. ldapts loads on first use only.
import net from 'node:net';
import type { LdapSettings } from '../config.js';

export type LdapOutcome =
  | { result: 'ok'; dn: string }
  | { result: 'invalid' }
  | { result: 'forbidden'; dn: string }
  | { result: 'unreachable'; error: string }
  | { result: 'disabled' };

/** LDAP user names are restricted so they can never change a DN or a filter's meaning. */
export const LDAP_USERNAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** RFC 4514 escaping of an attribute value placed in a DN. */
export function escapeDnValue(value: string): string {
  return value
    .replace(/[\\,+"<>;=]/g, (c) => `\\${c}`)
    .replace(/^[ #]/, (c) => `\\${c}`)
    .replace(/ $/, '\\ ')
    .replace(/\0/g, '\\00');
}

/** RFC 4515 escaping of a value placed in a search filter. */
export function escapeFilterValue(value: string): string {
  return value.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function isConnectionError(error: unknown): boolean {
  const e = error as NodeJS.ErrnoException & { name?: string };
  return Boolean(e?.code && /^(ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|ECONNRESET|EAI_AGAIN)$/.test(e.code))
    || /timeout|timed out|connect|socket|closed/i.test(e?.message ?? '');
}

export async function authenticateLdap(settings: LdapSettings, username: string, password: string): Promise<LdapOutcome> {
  if (!settings.enabled || settings.urls.length === 0) return { result: 'disabled' };
  if (!LDAP_USERNAME.test(username) || password.length === 0 || password.length > 1024) return { result: 'invalid' };
  const { Client, InvalidCredentialsError } = await import('ldapts');
  let lastError = 'no server tried';
  for (const url of settings.urls) {
    const tlsOptions = { rejectUnauthorized: settings.tlsVerify };
    // ldapts speaks TLS from the first byte whenever tlsOptions is set: only give it for ldaps://
    const client = new Client({ url, timeout: settings.timeoutMs, connectTimeout: settings.timeoutMs, ...(url.startsWith('ldaps://') ? { tlsOptions } : {}) });
    try {
      if (settings.startTls && url.startsWith('ldap://')) await client.startTLS(tlsOptions);
      let dn: string;
      if (settings.bindDnPattern) {
        dn = settings.bindDnPattern.replaceAll('{user}', escapeDnValue(username));
      } else {
        if (settings.searchBindDn) await client.bind(settings.searchBindDn, settings.searchBindPassword);
        const filter = settings.searchFilter.replaceAll('{user}', escapeFilterValue(username));
        const { searchEntries } = await client.search(settings.searchBase, { scope: 'sub', filter, attributes: ['dn'], sizeLimit: 2 });
        if (searchEntries.length !== 1) return { result: 'invalid' };
        dn = searchEntries[0]!.dn;
      }
      try {
        await client.bind(dn, password);
      } catch (error) {
        if (error instanceof InvalidCredentialsError) return { result: 'invalid' };
        throw error;
      }
      if (settings.adminGroupDn) {
        const filter = `(|(member=${escapeFilterValue(dn)})(uniqueMember=${escapeFilterValue(dn)})(memberUid=${escapeFilterValue(username)}))`;
        const { searchEntries } = await client.search(settings.adminGroupDn, { scope: 'base', filter, attributes: ['dn'] });
        if (searchEntries.length === 0) return { result: 'forbidden', dn };
      }
      return { result: 'ok', dn };
    } catch (error) {
      lastError = (error as Error).message;
      if (!isConnectionError(error)) return { result: 'invalid' };
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }
  return { result: 'unreachable', error: lastError };
}

/** Cheap reachability probe (TCP connect to the first server that answers). */
export async function probeLdap(settings: LdapSettings): Promise<boolean> {
  for (const url of settings.urls) {
    const parsed = new URL(url);
    const port = Number(parsed.port || (parsed.protocol === 'ldaps:' ? 636 : 389));
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: parsed.hostname, port, timeout: settings.timeoutMs });
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('timeout', () => { socket.destroy(); resolve(false); });
      socket.once('error', () => resolve(false));
    });
    if (ok) return true;
  }
  return false;
}
