// A config change that either fully lands or leaves the previous working state:
// snapshot → write → test the config → activate (restart) → on failure restore + re-activate.
import type { ConfigFiles, FileSnapshot, WriteOptions } from './files.js';
import { SystemError } from './errors.js';

export interface FileChange extends WriteOptions {
  path: string;
  /** New content, or null to delete the file. */
  content: string | null;
}

export interface ChangePlan {
  files: FileChange[];
  /** Checks the written config (e.g. `squid -k parse`); throwing rolls the files back. */
  test?: () => Promise<void>;
  /** Makes the change live (restart/reload); throwing rolls back and activates the old config. */
  activate?: () => Promise<void>;
}

export class ChangeFailedError extends SystemError {
  constructor(readonly stage: 'write' | 'test' | 'activate', readonly failure: unknown, readonly restored: boolean) {
    super(`${stage} failed: ${(failure as Error)?.message ?? String(failure)}`, {
      output: (failure as SystemError)?.details?.output,
      messageKey: `errors.change.${stage}`,
    });
    this.name = 'ChangeFailedError';
  }
}

export async function applyChange(files: ConfigFiles, plan: ChangePlan): Promise<void> {
  const snapshots: FileSnapshot[] = [];
  const rollback = async () => {
    for (const snapshot of snapshots.reverse()) await files.restore(snapshot);
  };
  try {
    for (const change of plan.files) {
      snapshots.push(await files.snapshot(change.path));
      if (change.content === null) await files.remove(change.path);
      else await files.writeAtomic(change.path, change.content, change);
    }
  } catch (error) {
    await rollback();
    throw new ChangeFailedError('write', error, true);
  }
  if (plan.test) {
    try {
      await plan.test();
    } catch (error) {
      await rollback();
      throw new ChangeFailedError('test', error, true);
    }
  }
  if (plan.activate) {
    try {
      await plan.activate();
    } catch (error) {
      await rollback();
      // Bring the service back with the old config; if even that fails, say so.
      const restored = await plan.activate().then(() => true, () => false);
      throw new ChangeFailedError('activate', error, restored);
    }
  }
}
