// A Runner that records every argv and answers from a script of canned results: the typed seam
// unit tests use instead of mocking execa.
import type { Runner, RunOptions, RunResult } from '../../src/system/runner.js';

export interface RecordedCall {
  argv: string[];
  input?: string;
}

type Answer = Partial<RunResult> & { lines?: string[] };
type Rule = { match: (argv: readonly string[]) => boolean; answer: Answer | ((argv: readonly string[]) => Answer | Promise<Answer>) };

export class RecordingRunner implements Runner {
  readonly calls: RecordedCall[] = [];
  private readonly rules: Rule[] = [];
  detachedPids: number[] = [];

  /** Answer commands whose argv starts with `prefix` (later rules win). */
  on(prefix: readonly string[], answer: Rule['answer']): this {
    this.rules.unshift({ match: (argv) => prefix.every((p, i) => argv[i] === p), answer });
    return this;
  }

  commands(): string[] {
    return this.calls.map((c) => c.argv.join(' '));
  }

  async run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    this.calls.push({ argv: [...argv], input: options.input });
    const rule = this.rules.find((r) => r.match(argv));
    const answer = rule ? (typeof rule.answer === 'function' ? await rule.answer(argv) : rule.answer) : {};
    for (const line of answer.lines ?? []) options.onLine?.(line, 'stdout');
    return { exitCode: answer.exitCode ?? 0, stdout: answer.stdout ?? (answer.lines ?? []).join('\n'), stderr: answer.stderr ?? '', timedOut: false };
  }

  async spawnDetached(argv: readonly string[]): Promise<number> {
    this.calls.push({ argv: [...argv] });
    // a real, harmless long-lived process so pid checks behave as with a real daemon
    const { spawn } = await import('node:child_process');
    const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    child.unref();
    this.detachedPids.push(child.pid!);
    return child.pid!;
  }

  killDetached(): void {
    for (const pid of this.detachedPids) { try { process.kill(pid); } catch { /* gone */ } }
  }
}
