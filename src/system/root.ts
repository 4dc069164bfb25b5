// Maps absolute OS paths under a root prefix: "/" in production, a temp folder in unit tests.
import path from 'node:path';

export class RootPrefix {
  readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = path.resolve(prefix);
  }

  /** The real location of an absolute OS path. Refuses relative paths and `..` escapes. */
  path(osPath: string): string {
    if (!path.isAbsolute(osPath)) throw new Error(`not an absolute path: ${osPath}`);
    if (osPath.split('/').includes('..')) throw new Error(`path escapes the root: ${osPath}`);
    const normal = path.posix.normalize(osPath);
    return this.prefix === '/' ? normal : path.join(this.prefix, normal);
  }

  get isHostRoot(): boolean {
    return this.prefix === '/';
  }
}
