// OpenSSH's ProxyCommand: a command (sh -c) whose stdin and stdout carry the SSH connection,
// e.g. `aws ssm start-session … --target %h` or `nc %h %p`. The SSH handshake, host key check
// and login run over it exactly as over TCP.
import { spawn } from 'node:child_process';
import { Duplex } from 'node:stream';

/** What %h, %p, %r and %n stand for. */
export interface ProxyTarget {
  readonly host: string;
  readonly port: number;
  readonly username: string;
}

/**
 * The command with its tokens filled in. The values are put in as they are, as OpenSSH does:
 * the settings hold host and user to letters, digits and . _ - : (nothing sh reads specially).
 */
export function expandProxyCommand(command: string, t: ProxyTarget): string {
  const values: Readonly<Record<string, string>> = { h: t.host, p: String(t.port), r: t.username, n: t.host, '%': '%' };
  return command.replace(/%(.)/g, (token, c: string) => values[c] ?? token);
}

/** A running proxy command: its pipe to hand ssh2 as `sock`, and what it said if it ended. */
export interface ProxyProcess {
  readonly sock: Duplex;
  readonly command: string;
  /** Resolves once it has exited (within waitMs), with its exit code and stderr's last lines; undefined while it runs. */
  ended(waitMs: number): Promise<ProxyExit | undefined>;
  /** How it ended, if it has. */
  exitedSoFar(): ProxyExit | undefined;
  stop(): void;
}

export interface ProxyExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

const STDERR_KEPT = 4096;

/** Starts the command; its stderr is kept (the end of it) for the error if it ends. */
export function startProxyCommand(command: string): ProxyProcess {
  // A group of its own: sh runs the command as its child (dash does not exec it), and stopping
  // the group ends both, not sh alone with nc or an SSM session left holding the connection.
  const child = spawn('sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const stopGroup = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  // A run that ends without closing the connection (an error on the way out) still ends it.
  process.once('exit', stopGroup);
  let stderr = '';
  let exit: ProxyExit | undefined;
  const exited = new Promise<ProxyExit>((resolve) => {
    child.once('exit', (code, signal) => {
      // Its last words may still be in the pipe; a grandchild holding stderr open is not waited for.
      const settle = () => {
        exit = { code, signal, stderr };
        resolve(exit);
      };
      if (child.stderr.readableEnded) return settle();
      child.stderr.once('end', settle);
      setTimeout(settle, 200).unref();
    });
    // sh itself could not start: as an exit, with why.
    child.once('error', (e) => {
      exit = { code: null, signal: null, stderr: `${stderr}${e.message}` };
      resolve(exit);
    });
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-STDERR_KEPT);
  });
  // Writing after it exited: the pipe's error ends the connection through the socket; not a crash.
  child.stdin.on('error', () => undefined);
  const sock = Duplex.from({ readable: child.stdout, writable: child.stdin });
  return {
    sock,
    command,
    ended: async (waitMs) => {
      if (exit) return { ...exit, stderr };
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<undefined>((r) => {
        timer = setTimeout(() => r(undefined), waitMs);
      });
      const done = await Promise.race([exited, timeout]);
      clearTimeout(timer);
      return done && { ...done, stderr };
    },
    exitedSoFar: () => exit && { ...exit, stderr },
    stop: () => {
      sock.destroy();
      stopGroup();
      process.off('exit', stopGroup);
    },
  };
}

/** "exited with code 1" / "was killed by SIGKILL", for messages. */
export function describeExit(e: ProxyExit): string {
  if (e.signal) return `was killed by ${e.signal}`;
  return e.code === null ? 'could not be started' : `exited with code ${e.code}`;
}

/** The last lines of what it said on stderr, or a note that it said nothing. */
export function stderrTail(e: ProxyExit, lines = 10): string {
  const text = e.stderr.trim();
  return text ? text.split('\n').slice(-lines).join('\n') : '(nothing on stderr)';
}
