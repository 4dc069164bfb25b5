// debconf answers go to debconf-set-selections on stdin, never on a command line.
import type { Runner } from './runner.js';
import { SystemError } from './errors.js';

export interface DebconfAnswer {
  owner: string;
  question: string;
  type: 'string' | 'boolean' | 'select' | 'password' | 'note' | 'multiselect';
  value: string;
}

const TOKEN = /^[a-z0-9][a-z0-9+.\-/_]*$/i;

export function renderSelections(answers: readonly DebconfAnswer[]): string {
  return answers.map((a) => {
    if (!TOKEN.test(a.owner) || !TOKEN.test(a.question) || /[\r\n]/.test(a.value)) {
      throw new SystemError(`invalid debconf answer for ${a.owner} ${a.question}`);
    }
    return `${a.owner} ${a.question} ${a.type} ${a.value}`;
  }).join('\n') + '\n';
}

export class Debconf {
  constructor(private readonly runner: Runner) {}

  async preseed(answers: readonly DebconfAnswer[]): Promise<void> {
    if (answers.length === 0) return;
    const argv = ['debconf-set-selections'];
    const result = await this.runner.run(argv, { input: renderSelections(answers), timeoutMs: 30_000 });
    if (result.exitCode !== 0) {
      throw new SystemError('debconf-set-selections failed', { argv, exitCode: result.exitCode, output: result.stderr });
    }
  }
}
