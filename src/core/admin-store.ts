// The local admin account: one scrypt hash in <configDir>/admin.json (0600). On first start a
// random password is generated, written to <configDir>/initial-admin-password (0600) and
// logged once. There is no default password.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConfigFiles } from '../system/files.js';
import { RootPrefix } from '../system/root.js';
import { hashPassword, randomPassword, verifyPassword } from './passwords.js';

const AdminRecordSchema = z.object({
  username: z.string().min(1),
  hash: z.string().startsWith('scrypt$'),
  generation: z.number().int().min(0),
});
type AdminRecord = z.infer<typeof AdminRecordSchema>;

export const ADMIN_FILE = 'admin.json';
export const INITIAL_PASSWORD_FILE = 'initial-admin-password';

export class AdminStore {
  private record?: AdminRecord;
  private readonly files = new ConfigFiles(new RootPrefix('/'));

  constructor(private readonly configDir: string) {}

  private get file() {
    return path.join(this.configDir, ADMIN_FILE);
  }

  /** Loads the admin, creating it with a random password on first start. Returns that password once. */
  async init(): Promise<{ createdPassword?: string }> {
    await fs.mkdir(this.configDir, { recursive: true, mode: 0o700 });
    try {
      this.record = AdminRecordSchema.parse(JSON.parse(await fs.readFile(this.file, 'utf8')));
      return {};
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const password = randomPassword();
    await this.save({ username: 'admin', hash: await hashPassword(password), generation: 0 });
    await this.files.writeAtomic(path.join(this.configDir, INITIAL_PASSWORD_FILE), `admin\n${password}\n`, { mode: 0o600 }, false);
    return { createdPassword: password };
  }

  private async save(record: AdminRecord): Promise<void> {
    await this.files.writeAtomic(this.file, JSON.stringify(record, null, 2) + '\n', { mode: 0o600 }, false);
    this.record = record;
  }

  get username(): string {
    return this.current.username;
  }

  get generation(): number {
    return this.current.generation;
  }

  private get current(): AdminRecord {
    if (!this.record) throw new Error('admin store not initialised');
    return this.record;
  }

  async verify(username: string, password: string): Promise<boolean> {
    if (username !== this.current.username) return false;
    return verifyPassword(password, this.current.hash);
  }

  /** Sets a new password; other sessions of the local admin stop being valid. */
  async changePassword(newPassword: string): Promise<void> {
    await this.save({ ...this.current, hash: await hashPassword(newPassword), generation: this.current.generation + 1 });
    await fs.rm(path.join(this.configDir, INITIAL_PASSWORD_FILE), { force: true });
  }
}
