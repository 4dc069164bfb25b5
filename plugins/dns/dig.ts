// Pure: the argv of a dig query and its output read back (status, flags, answer records).
import { DIG } from './manifest.js';

export interface DigAnswer {
  /** NOERROR, NXDOMAIN, REFUSED, SERVFAIL... */
  status: string;
  flags: string[];
  answers: { name: string; ttl: number; type: string; data: string }[];
}

/**
 * A non-recursive question to one server of this host: never lets dig read resolv.conf
 * (the server is always given) and never retries for long.
 */
export function digArgv(server: string, port: number, name: string, type: string): string[] {
  return [DIG, '+norecurse', '+time=1', '+tries=1', '-p', String(port), `@${server}`, name, type];
}

/** undefined when dig got no answer at all (timeout, connection refused). */
export function parseDig(stdout: string): DigAnswer | undefined {
  const header = /->>HEADER<<-.*status:\s*([A-Z]+)/.exec(stdout);
  if (!header) return undefined;
  const flags = /;; flags:([^;]*);/.exec(stdout)?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
  const answers: DigAnswer['answers'] = [];
  const section = /;; ANSWER SECTION:\n([\s\S]*?)(?:\n\n|$)/.exec(stdout)?.[1] ?? '';
  for (const line of section.split('\n')) {
    const match = /^(\S+)\s+(\d+)\s+IN\s+(\S+)\s+(.*)$/.exec(line.trim());
    if (match) answers.push({ name: match[1]!, ttl: Number(match[2]), type: match[3]!, data: match[4]!.trim() });
  }
  return { status: header[1]!, flags, answers };
}

/** The serial of an authoritative SOA answer, if that is what the answer is. */
export function soaSerial(answer: DigAnswer | undefined, zone: string): number | undefined {
  if (!answer || answer.status !== 'NOERROR' || !answer.flags.includes('aa')) return undefined;
  const soa = answer.answers.find((a) => a.type === 'SOA' && a.name.toLowerCase() === `${zone}.`);
  const serial = soa?.data.split(/\s+/)[2];
  return serial && /^\d+$/.test(serial) ? Number(serial) : undefined;
}
