import { describe, expect, it } from 'vitest';
import { Debconf, renderSelections, type DebconfAnswer } from '../../src/system/debconf.js';
import { SystemError } from '../../src/system/errors.js';
import { RecordingRunner } from '../helpers/recording-runner.js';

const ANSWERS: DebconfAnswer[] = [
  { owner: 'slapd', question: 'slapd/password1', type: 'password', value: 's3cret with spaces' },
  { owner: 'snmpd', question: 'snmpd/upgrade', type: 'boolean', value: 'true' },
];

describe('Debconf', () => {
  it('sends the selections on stdin to debconf-set-selections, never in argv', async () => {
    const runner = new RecordingRunner();
    await new Debconf(runner).preseed(ANSWERS);
    expect(runner.calls).toHaveLength(1);
    expect(runner.calls[0]?.argv).toEqual(['debconf-set-selections']);
    expect(runner.calls[0]?.input).toBe(
      'slapd slapd/password1 password s3cret with spaces\nsnmpd snmpd/upgrade boolean true\n',
    );
    expect(runner.calls[0]?.argv.join(' ')).not.toContain('s3cret');
  });

  it('runs nothing when there are no answers', async () => {
    const runner = new RecordingRunner();
    await new Debconf(runner).preseed([]);
    expect(runner.calls).toEqual([]);
  });

  it.each(['a\nslapd slapd/password1 password injected', 'a\rb', 'trailing\n'])(
    'refuses a value containing a line break (%j) without running anything',
    async (value) => {
      const runner = new RecordingRunner();
      const answers: DebconfAnswer[] = [{ owner: 'snmpd', question: 'snmpd/x', type: 'string', value }];
      await expect(new Debconf(runner).preseed(answers)).rejects.toThrow(SystemError);
      expect(runner.calls).toEqual([]);
    },
  );

  it('refuses owners and questions that are not plain tokens', () => {
    expect(() => renderSelections([{ owner: 'snmpd x', question: 'q', type: 'string', value: 'v' }])).toThrow(SystemError);
    expect(() => renderSelections([{ owner: 'snmpd', question: 'a b', type: 'string', value: 'v' }])).toThrow(SystemError);
    expect(() => renderSelections([{ owner: '', question: 'q', type: 'string', value: 'v' }])).toThrow(SystemError);
  });

  it('throws a SystemError with the exit code when debconf-set-selections fails', async () => {
    const runner = new RecordingRunner().on(['debconf-set-selections'], { exitCode: 1, stderr: 'error: bad line' });
    const error = await new Debconf(runner).preseed(ANSWERS).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SystemError);
    expect((error as SystemError).details).toMatchObject({ exitCode: 1, output: 'error: bad line' });
  });
});
