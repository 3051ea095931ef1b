// One SSH connection for a whole run: connect with a verified host key, run commands with a
// deadline, open tunnels to addresses on the host's Docker networks.

import type { NodeSSH } from 'node-ssh';
import type { ClientChannel } from 'ssh2';
import type { Log } from '../base/log.js';
import { ConnectionLostError, DeployError } from '../errors.js';
import type { ConnectionSettings } from '../settings/settings.js';
import type { HostKeyDecision } from './host-key.js';
import { type Route, reach, routeDetail, routeLoss, routeWarnings } from './reach.js';
import { invocation, outputTail } from './shell.js';

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
}

export interface ExecOptions {
  readonly stdin?: string;
  /** Deadline for this command; default 120 s. */
  readonly timeoutMs?: number;
  /** What the command does, for the timeout message (default: its first line). */
  readonly what?: string;
}

export interface RunOptions {
  /** What the script does, for its error: "Creating the Docker network". */
  readonly what: string;
  readonly fix?: string;
  /** Data for the script's stdin. */
  readonly stdin?: string;
  readonly timeoutMs?: number;
  /** A better error for some results (an exit code with a meaning, a known message); else the default. */
  readonly explain?: (result: ExecResult) => Error | undefined;
}

/** How a held script is run: run's options, and how to tell from its output that it got there. */
export interface HoldOptions<T> extends Omit<RunOptions, 'stdin' | 'timeoutMs'> {
  /**
   * Reads the script's stdout so far each time more arrives; a value means the script got where
   * it holds (a lock taken): hold resolves with it while the script runs on.
   */
  readonly ready: (stdout: string) => T | undefined;
}

/** A script that runs on until released, and what it said on its way there. */
export interface Held<T> {
  readonly value: T;
  /** Ends the script's stdin and our side of its session; no waiting for the host. */
  release(): void;
}

const DEFAULT_COMMAND_TIMEOUT_MS = 120_000;

export class RemoteHost {
  /** Remote commands and channels opened so far: what a no-op redeploy costs. */
  roundTrips = 0;
  private lost?: Error;

  private constructor(
    private readonly ssh: NodeSSH,
    readonly settings: ConnectionSettings,
    readonly hostKey: HostKeyDecision,
    private readonly route: Route,
    /** How many tries the connection took (1: the first got through). */
    readonly tries: number,
  ) {
    ssh.connection?.on('error', (e: Error) => {
      this.lost = e;
    });
    ssh.connection?.on('close', () => {
      this.lost ??= new Error('connection closed');
    });
  }

  /**
   * Connects as the settings say (directly, through a jump host or over a proxy command), the
   * host key checked; transient failures are tried again within connect-timeout, each in `log`.
   */
  static async connect(settings: ConnectionSettings, log?: Log): Promise<RemoteHost> {
    const reached = await reach(settings, log);
    return new RemoteHost(reached.ssh, settings, reached.hostKey, reached.route, reached.tries);
  }

  /** Runs a command; resolves with its exit code (never throws for a non-zero one). */
  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    this.assertAlive();
    this.roundTrips++;
    const timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    let channel: ClientChannel | undefined;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        channel?.close();
        reject(
          new DeployError(
            `${options.what ?? `Remote command ${firstLine(command)}`} did not finish within ${Math.round(timeoutMs / 1000)}s.`,
            'check the host is not overloaded (memory, swap, disk) and that Docker answers there.',
          ),
        );
      }, timeoutMs);
    });
    try {
      const result = await Promise.race([
        this.ssh.execCommand(command, {
          stdin: options.stdin,
          noTrim: true,
          onChannel: (c) => {
            channel = c;
          },
        }),
        deadline,
      ]);
      if (result.code === null) {
        // No exit status: the command died with the session. Was it the connection?
        await new Promise((r) => setTimeout(r, 100));
        if (this.lost || !this.ssh.isConnected())
          throw lostError(this.settings, this.route, this.lost ?? new Error('connection closed'));
      }
      return { stdout: result.stdout, stderr: result.stderr, code: result.code };
    } catch (e) {
      throw this.lost ? lostError(this.settings, this.route, this.lost) : e;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Runs a script under the host's POSIX sh with the full PATH; returns its stdout. A non-zero
   * exit becomes an error naming what failed, the exit code and the script's last output lines.
   */
  async run(script: string, options: RunOptions): Promise<string> {
    const { command, stdin } = invocation(script, options.stdin);
    const r = await this.exec(command, { stdin, timeoutMs: options.timeoutMs, what: options.what });
    if (r.code === 0) return r.stdout;
    throw scriptError(r, options);
  }

  /**
   * Runs a script that holds something while it lives (a lock holder), under the same sh and
   * PATH as run: the script goes as the argument, its stdin stays open, and it runs until
   * release() ends that (or the connection goes). Resolves once `ready` finds its value in the
   * output as it streams in; a script that ends before that fails as under run (code null when
   * the session ended without an exit status).
   */
  async hold<T>(script: string, options: HoldOptions<T>): Promise<Held<T>> {
    const channel = await this.open(invocation(script, '').command);
    const value = await new Promise<T>((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      const onData = (d: Buffer) => {
        stdout += d.toString();
        const v = options.ready(stdout);
        if (v === undefined) return;
        channel.stdout.off('data', onData);
        resolve(v);
      };
      channel.stdout.on('data', onData);
      channel.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      // After the value, these settle nothing; before it, they are the script's failure.
      channel.on('exit', (code: number | null) => reject(scriptError({ stdout, stderr, code }, options)));
      channel.on('close', () => reject(scriptError({ stdout, stderr, code: null }, options)));
    });
    return {
      value,
      release: () => {
        if (this.connected) channel.end();
      },
    };
  }

  /**
   * Runs a script as run does, but with bytes both ways: `input` goes to its stdin as it is, and
   * its stdout comes back as bytes (an archive), not as text.
   */
  async exchange(script: string, options: Omit<RunOptions, 'stdin'> & { readonly input?: Buffer }): Promise<Buffer> {
    const channel = await this.open(invocation(script, '').command);
    const timeoutMs = options.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const chunks: Buffer[] = [];
    let stderr = '';
    let code: number | null = null;
    const done = new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => {
        channel.close();
        reject(new DeployError(`${options.what} did not finish within ${Math.round(timeoutMs / 1000)}s.`));
      }, timeoutMs);
      channel.on('data', (d: Buffer) => chunks.push(d));
      channel.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      channel.on('exit', (c: number | null) => {
        code = c;
      });
      channel.on('close', () => resolve());
      channel.on('error', reject);
    });
    channel.end(options.input ?? Buffer.alloc(0));
    try {
      await done;
    } catch (e) {
      throw this.lost ? lostError(this.settings, this.route, this.lost) : e;
    } finally {
      clearTimeout(timer);
    }
    if (this.lost) throw lostError(this.settings, this.route, this.lost);
    const stdout = Buffer.concat(chunks);
    if (code === 0) return stdout;
    throw scriptError({ stdout: stdout.subarray(-4096).toString('utf8'), stderr, code }, options);
  }

  /** Starts a command and returns its channel once open: the command lives as long as the channel. */
  private async open(command: string, timeoutMs = 30_000): Promise<ClientChannel> {
    this.assertAlive();
    this.roundTrips++;
    const conn = this.ssh.connection;
    if (!conn) throw lostError(this.settings, this.route, this.lost ?? new Error('not connected'));
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        new Promise<ClientChannel>((resolve, reject) => {
          conn.exec(command, (err, channel) => (err ? reject(err) : resolve(channel)));
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new DeployError(`Opening a session on the host took longer than ${timeoutMs / 1000}s`)),
            timeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Opens a TCP channel from the host to address:port (e.g. a container's bridge IP). */
  async tunnel(address: string, port: number, timeoutMs = 10_000): Promise<ClientChannel> {
    this.assertAlive();
    this.roundTrips++;
    let timer: NodeJS.Timeout | undefined;
    const opening = this.ssh.forwardOut('127.0.0.1', 0, address, port);
    try {
      return (await Promise.race([
        opening,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            // A tunnel that opens after we gave up on it is closed at once, not left open.
            opening.then(
              (late) => late.destroy(),
              () => undefined,
            );
            reject(new DeployError(`Opening a tunnel to ${address}:${port} took longer than ${timeoutMs / 1000}s`));
          }, timeoutMs);
        }),
      ])) as ClientChannel;
    } catch (e) {
      if (this.lost) throw lostError(this.settings, this.route, this.lost);
      if (e instanceof DeployError) throw e;
      throw new DeployError(
        `Could not open a tunnel to ${address}:${port} on the host: ${(e as Error).message}`,
        'the sshd on the host must allow TCP forwarding (AllowTcpForwarding yes, the default).',
      );
    } finally {
      clearTimeout(timer);
    }
  }

  get connected(): boolean {
    return !this.lost && this.ssh.isConnected();
  }

  close(): void {
    this.ssh.dispose();
    this.route.close();
  }

  /** How the Connect step tells the way the connection went (empty when direct). */
  get routeDetail(): string {
    return routeDetail(this.settings, this.route);
  }

  /** Warnings about the way (a jump host let in without a pin). */
  get routeWarnings(): string[] {
    return routeWarnings(this.settings, this.route);
  }

  private assertAlive(): void {
    if (this.lost) throw lostError(this.settings, this.route, this.lost);
  }

  /** Throws the "connection lost" error if the connection went away (e.g. after a command died without an exit code). */
  assertConnected(): void {
    this.assertAlive();
    if (!this.ssh.isConnected()) throw lostError(this.settings, this.route, new Error('connection closed'));
  }
}

/** A script's failure, run or held: the step's own explanation, or what failed, the exit code and the last lines. */
function scriptError(r: ExecResult, options: RunOptions): Error {
  return (
    options.explain?.(r) ??
    new DeployError(
      `${options.what} failed on the host (exit ${r.code}):\n${outputTail(r.stdout, r.stderr)}`,
      options.fix,
    )
  );
}

function firstLine(command: string): string {
  const line = command.trim().split('\n')[0] ?? '';
  return line.length > 100 ? `${line.slice(0, 100)}…` : line;
}

function lostError(s: ConnectionSettings, route: Route, e: Error): ConnectionLostError {
  return new ConnectionLostError(
    `The SSH connection to ${s.host}:${s.port} was lost (${e.message}${routeLoss(route)}).`,
    'rerun the deploy; it picks up where this one stopped. If it keeps happening, check the network and the host load.',
  );
}
