// Login rate limiting: after too many failures from one address or for one user name,
// further attempts are refused until the window passes (in memory; a restart forgives).
export class LoginThrottle {
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(private readonly maxFailures = 8, private readonly windowMs = 15 * 60_000) {}

  /** Seconds to wait before another attempt, 0 if allowed. */
  retryAfter(keys: readonly string[], now = Date.now()): number {
    let wait = 0;
    for (const key of keys) {
      const entry = this.failures.get(key);
      if (!entry) continue;
      if (now - entry.since > this.windowMs) {
        this.failures.delete(key);
        continue;
      }
      if (entry.count >= this.maxFailures) wait = Math.max(wait, Math.ceil((entry.since + this.windowMs - now) / 1000));
    }
    return wait;
  }

  fail(keys: readonly string[], now = Date.now()): void {
    for (const key of keys) {
      const entry = this.failures.get(key);
      if (!entry || now - entry.since > this.windowMs) this.failures.set(key, { count: 1, since: now });
      else entry.count++;
    }
    if (this.failures.size > 10_000) this.failures.clear(); // bound memory under a spray attack
  }

  succeed(keys: readonly string[]): void {
    for (const key of keys) this.failures.delete(key);
  }
}
