// One SSH connection for a whole run: connect with a verified host key, run commands with a
// deadline, open tunnels to addresses on the host's Docker networks.

import { NodeSSH } from 'node-ssh';
import type { ClientChannel } from 'ssh2';
import { ConnectionLostError, DeployError, HostUnreachableError, InputError } from '../errors.js';
import type { ConnectionSettings } from '../settings/settings.js';
import { decideHostKey, type HostKeyDecision } from './host-key.js';
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
const KEEPALIVE_INTERVAL_MS = 10_000;

export class RemoteHost {
  /** Remote commands and channels opened so far: what a no-op redeploy costs. */
  roundTrips = 0;
  private lost?: Error;

  private constructor(
    private readonly ssh: NodeSSH,
    readonly settings: ConnectionSettings,
    readonly hostKey: HostKeyDecision,
  ) {
    ssh.connection?.on('error', (e: Error) => {
      this.lost = e;
    });
    ssh.connection?.on('close', () => {
      this.lost ??= new Error('connection closed');
    });
  }

  static async connect(settings: ConnectionSettings): Promise<RemoteHost> {
    const ssh = new NodeSSH();
    let decision: HostKeyDecision | undefined;
    try {
      await ssh.connect({
        host: settings.host,
        port: settings.port,
        username: settings.username,
        privateKey: settings.privateKey,
        passphrase: settings.passphrase,
        readyTimeout: settings.connectTimeoutMs,
        keepaliveInterval: KEEPALIVE_INTERVAL_MS,
        keepaliveCountMax: 3,
        hostVerifier: (key: Buffer) => {
          decision = decideHostKey(settings.hostKey, settings.host, settings.port, key);
          return decision.accepted;
        },
      });
    } catch (e) {
      ssh.dispose();
      throw connectError(e as Error & { code?: string; level?: string }, settings, decision);
    }
    if (!decision) {
      ssh.dispose();
      throw new DeployError('The SSH server completed a handshake without showing a host key; refusing to go on.');
    }
    return new RemoteHost(ssh, settings, decision);
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
          throw lostError(this.settings, this.lost ?? new Error('connection closed'));
      }
      return { stdout: result.stdout, stderr: result.stderr, code: result.code };
    } catch (e) {
      throw this.lost ? lostError(this.settings, this.lost) : e;
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

  /** Starts a command and returns its channel once open: the command lives as long as the channel. */
  private async open(command: string, timeoutMs = 30_000): Promise<ClientChannel> {
    this.assertAlive();
    this.roundTrips++;
    const conn = this.ssh.connection;
    if (!conn) throw lostError(this.settings, this.lost ?? new Error('not connected'));
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
      if (this.lost) throw lostError(this.settings, this.lost);
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
  }

  private assertAlive(): void {
    if (this.lost) throw lostError(this.settings, this.lost);
  }

  /** Throws the "connection lost" error if the connection went away (e.g. after a command died without an exit code). */
  assertConnected(): void {
    this.assertAlive();
    if (!this.ssh.isConnected()) throw lostError(this.settings, new Error('connection closed'));
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

function lostError(s: ConnectionSettings, e: Error): ConnectionLostError {
  return new ConnectionLostError(
    `The SSH connection to ${s.host}:${s.port} was lost (${e.message}).`,
    'rerun the deploy; it picks up where this one stopped. If it keeps happening, check the network and the host load.',
  );
}

/**
 * The key refused by the SSH client as it read it, before any socket was opened: an input error.
 * The client's own words are not repeated: some quote the key's bytes (`Unsupported OpenSSH key
 * magic: …`, `… private key type: …`, ssh2 lib/protocol/keyParser.js).
 */
function keyProblem(msg: string, s: ConnectionSettings): InputError | undefined {
  if (/passphrase/i.test(msg) || /Encrypted private/i.test(msg)) {
    return s.passphrase
      ? new InputError(
          'ssh-key-passphrase: it does not decrypt the ssh-key (a wrong passphrase for this key)',
          'set ssh-key-passphrase to the passphrase of this key (or use a key without one).',
        )
      : new InputError(
          'ssh-key-passphrase: empty, but the ssh-key is encrypted with a passphrase',
          'pass the passphrase as ssh-key-passphrase (from a secret).',
        );
  }
  if (!/Cannot parse privateKey|Unsupported key format|privateKey/i.test(msg)) return undefined;
  return new InputError(
    'ssh-key: the private key cannot be read: it is damaged or cut short, or of a kind this SSH client does not read',
    'pass the whole private key file, including the -----BEGIN and -----END lines (an OpenSSH key, e.g. from ssh-keygen -t ed25519).',
  );
}

function connectError(
  e: Error & { code?: string; level?: string },
  s: ConnectionSettings,
  decision: HostKeyDecision | undefined,
): DeployError {
  const where = `${s.host}:${s.port}`;
  if (decision && !decision.accepted) return new DeployError(decision.reason ?? `Host key of ${where} refused`);
  const msg = e.message ?? String(e);
  const key = keyProblem(msg, s);
  if (key) return key;
  if (e.level === 'client-authentication' || /authentication methods failed/i.test(msg)) {
    return new DeployError(
      `Authentication refused: ${where} did not accept the key for user "${s.username}".`,
      `add the matching public key to ~${s.username}/.ssh/authorized_keys on the host, and check the username (ec2-user on Amazon Linux, ubuntu on Ubuntu).`,
    );
  }
  if (e.code === 'ECONNREFUSED') {
    return new HostUnreachableError(
      `Connection refused by ${where}: nothing listens for SSH on port ${s.port}.`,
      'check the host and port, and that sshd is running on the host.',
    );
  }
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') {
    return new HostUnreachableError(`The host name "${s.host}" does not resolve.`, 'check the host input.');
  }
  if (
    e.code === 'ETIMEDOUT' ||
    e.code === 'EHOSTUNREACH' ||
    e.code === 'ENETUNREACH' ||
    /timed out|No response/i.test(msg)
  ) {
    return new HostUnreachableError(
      `Host unreachable: no SSH answer from ${where} within ${Math.round(s.connectTimeoutMs / 1000)}s (${msg}).`,
      `check that the host is running, its address, and that its firewall / security group allows port ${s.port} from this runner.`,
    );
  }
  return new DeployError(`Could not connect to ${where}: ${msg}`);
}
