// Form field schemas shared by plugins, so "a port" or "a CIDR" means the same everywhere.
import { z } from 'zod';

const IPV4_PART = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
export const IPV4 = new RegExp(`^${IPV4_PART}(\\.${IPV4_PART}){3}$`);

/** A whole number typed in a form: digits only (no "1e3", no "0x10"), within [min, max]. */
export function wholeNumber(min: number, max: number, message: string) {
  return z.union([z.number(), z.string().trim().regex(/^\d{1,12}$/, message)])
    .transform(Number)
    .pipe(z.number().int(message).min(min, message).max(max, message));
}

export const port = (message: string) => wholeNumber(1, 65535, message);

export function isIpv4(value: string): boolean {
  return IPV4.test(value);
}

/** IPv4 network in CIDR form; a bare address means /32. */
export function isCidr(value: string): boolean {
  const [address, bits, ...rest] = value.split('/');
  if (rest.length || !address || !IPV4.test(address)) return false;
  if (bits === undefined) return true;
  return /^\d{1,2}$/.test(bits) && Number(bits) <= 32;
}
