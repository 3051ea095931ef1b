// An error the user can act on: what went wrong and how to fix it. Anything else that reaches
// the top is a bug in this action and is reported as one.
export class DeployError extends Error {
  constructor(
    message: string,
    readonly fix?: string,
  ) {
    super(fix ? `${message}\nFix: ${fix}` : message);
    this.name = 'DeployError';
  }
}

/**
 * An input the run cannot go on with, found before anything is asked of the host: a release id,
 * the stack directory and its names, the images input against the compose files, a key that
 * cannot be read. Said like a refused setting ("Invalid input: NAME: …"); the CLI exits 2.
 */
export class InputError extends DeployError {
  constructor(message: string, fix?: string) {
    super(`Invalid input: ${message}`, fix);
    this.name = 'InputError';
  }
}

/** No SSH answer at all (refused, timed out, unresolvable): for a watchdog, the host is down. */
export class HostUnreachableError extends DeployError {
  constructor(message: string, fix?: string) {
    super(message, fix);
    this.name = 'HostUnreachableError';
  }
}

/** An error's first line: its cause without the fix and details, for one-line reports. */
export function headline(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? '';
}

/** The SSH connection went away mid-run: nothing more can be asked of the host. */
export class ConnectionLostError extends DeployError {
  constructor(message: string, fix?: string) {
    super(message, fix);
    this.name = 'ConnectionLostError';
  }
}
