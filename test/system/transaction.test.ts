import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import { applyChange, ChangeFailedError, type ChangePlan } from '../../src/system/transaction.js';
import { ConfigFiles } from '../../src/system/files.js';
import { SystemError } from '../../src/system/errors.js';
import { RootPrefix } from '../../src/system/root.js';
import { createTempRoot, type TempRoot } from '../helpers/temp-root.js';

describe('applyChange', () => {
  let root: TempRoot;
  let files: ConfigFiles;
  const read = (osPath: string) => readFileSync(root.p(osPath), 'utf8');

  beforeEach(() => {
    root = createTempRoot();
    files = new ConfigFiles(new RootPrefix(root.dir));
    root.write('/etc/snmp/snmpd.conf', 'old snmpd\n');
    chmodSync(root.p('/etc/snmp/snmpd.conf'), 0o600);
    root.write('/etc/default/snmpd', 'old default\n');
  });
  afterEach(() => root.cleanup());

  const newFiles = (): ChangePlan['files'] => [
    { path: '/etc/snmp/snmpd.conf', content: 'new snmpd\n', mode: 0o640 },
    { path: '/etc/snmp/snmpd.conf.d/extra.conf', content: 'brand new file\n' },
    { path: '/etc/default/snmpd', content: null },
  ];

  const expectOldState = () => {
    expect(read('/etc/snmp/snmpd.conf')).toBe('old snmpd\n');
    expect(statSync(root.p('/etc/snmp/snmpd.conf')).mode & 0o7777).toBe(0o600);
    expect(existsSync(root.p('/etc/snmp/snmpd.conf.d/extra.conf'))).toBe(false);
    expect(read('/etc/default/snmpd')).toBe('old default\n');
  };

  it('writes (and deletes) the files, then runs test, then activate, with the new files in place', async () => {
    const order: string[] = [];
    await applyChange(files, {
      files: newFiles(),
      test: async () => {
        order.push('test');
        expect(read('/etc/snmp/snmpd.conf')).toBe('new snmpd\n');
        expect(read('/etc/snmp/snmpd.conf.d/extra.conf')).toBe('brand new file\n');
        expect(existsSync(root.p('/etc/default/snmpd'))).toBe(false);
      },
      activate: async () => {
        order.push('activate');
        expect(read('/etc/snmp/snmpd.conf')).toBe('new snmpd\n');
      },
    });
    expect(order).toEqual(['test', 'activate']);
    expect(read('/etc/snmp/snmpd.conf')).toBe('new snmpd\n');
    expect(statSync(root.p('/etc/snmp/snmpd.conf')).mode & 0o7777).toBe(0o640);
    expect(read('/etc/snmp/snmpd.conf.d/extra.conf')).toBe('brand new file\n');
    expect(existsSync(root.p('/etc/default/snmpd'))).toBe(false);
  });

  it('works without test and activate', async () => {
    await applyChange(files, { files: [{ path: '/etc/x.conf', content: 'x' }] });
    expect(read('/etc/x.conf')).toBe('x');
  });

  it('when test throws: every file is back as before and activate is never called', async () => {
    let activations = 0;
    const failure = new SystemError('squid -k parse failed', { output: 'FATAL: bad line 3' });
    const error = await applyChange(files, {
      files: newFiles(),
      test: async () => { throw failure; },
      activate: async () => { activations++; },
    }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ChangeFailedError);
    const changeError = error as ChangeFailedError;
    expect(changeError.stage).toBe('test');
    expect(changeError.restored).toBe(true);
    expect(changeError.failure).toBe(failure);
    expect(changeError.details.output).toBe('FATAL: bad line 3');
    expect(changeError.details.messageKey).toBe('errors.change.test');
    expect(activations).toBe(0);
    expectOldState();
  });

  it('when activate throws: files are restored and activate runs again with the old files in place', async () => {
    const seen: string[] = [];
    let calls = 0;
    const error = await applyChange(files, {
      files: newFiles(),
      activate: async () => {
        calls++;
        seen.push(read('/etc/snmp/snmpd.conf'));
        if (calls === 1) throw new Error('snmpd failed to start');
        // second call: the old config must already be back
        expect(existsSync(root.p('/etc/snmp/snmpd.conf.d/extra.conf'))).toBe(false);
        expect(read('/etc/default/snmpd')).toBe('old default\n');
      },
    }).catch((e: unknown) => e);

    expect(calls).toBe(2);
    expect(seen).toEqual(['new snmpd\n', 'old snmpd\n']);
    expect(error).toBeInstanceOf(ChangeFailedError);
    expect((error as ChangeFailedError).stage).toBe('activate');
    expect((error as ChangeFailedError).restored).toBe(true);
    expect((error as Error).message).toContain('snmpd failed to start');
    expectOldState();
  });

  it('when the second activate fails too: restored is false (files are still the old ones)', async () => {
    let calls = 0;
    const error = await applyChange(files, {
      files: newFiles(),
      activate: async () => {
        calls++;
        throw new Error(`attempt ${calls} failed`);
      },
    }).catch((e: unknown) => e);

    expect(calls).toBe(2);
    expect(error).toBeInstanceOf(ChangeFailedError);
    expect((error as ChangeFailedError).stage).toBe('activate');
    expect((error as ChangeFailedError).restored).toBe(false);
    // the error reports the first failure, the one the user needs to see
    expect((error as Error).message).toContain('attempt 1 failed');
    expectOldState();
  });

  it('when a write fails: earlier files are rolled back and the stage is write', async () => {
    let tested = false;
    const error = await applyChange(files, {
      files: [
        { path: '/etc/snmp/snmpd.conf', content: 'new snmpd\n' },
        { path: '/etc/../escape', content: 'x' },
      ],
      test: async () => { tested = true; },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChangeFailedError);
    expect((error as ChangeFailedError).stage).toBe('write');
    expect(tested).toBe(false);
    expect(read('/etc/snmp/snmpd.conf')).toBe('old snmpd\n');
  });

  it('restores correctly when the same path appears twice in one plan', async () => {
    await applyChange(files, {
      files: [
        { path: '/etc/snmp/snmpd.conf', content: 'first\n' },
        { path: '/etc/snmp/snmpd.conf', content: 'second\n' },
      ],
      test: async () => { throw new Error('no'); },
    }).catch(() => undefined);
    expect(read('/etc/snmp/snmpd.conf')).toBe('old snmpd\n');
  });
});
