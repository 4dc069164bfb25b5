// A failed OS operation, carrying what the user needs to see and what the log needs to keep.
export class SystemError extends Error {
  constructor(
    message: string,
    readonly details: { argv?: readonly string[]; exitCode?: number; output?: string; messageKey?: string } = {},
  ) {
    super(message);
    this.name = 'SystemError';
  }
}

/** Refused by a plugin's scoped handle: the manifest did not declare it. */
export class NotDeclaredError extends Error {
  constructor(kind: 'package' | 'service' | 'path' | 'command', value: string, pluginId: string) {
    super(`plugin ${pluginId} did not declare ${kind} ${value}`);
    this.name = 'NotDeclaredError';
  }
}
