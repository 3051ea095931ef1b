// A jump host (OpenSSH's ProxyJump): an SSH connection to the bastion, its host key pinned and
// checked as the host's is, and a channel it opens to the host (direct-tcpip, ssh2's forwardOut)
// that carries the host's own SSH connection end to end: the bastion sees only ciphertext.

import type { Duplex } from 'node:stream';
import type { NodeSSH } from 'node-ssh';
import { DeployError, HostUnreachableError } from '../errors.js';
import type { JumpHost } from '../settings/settings.js';
import { failedTry, JUMP_SIDE } from './connect-errors.js';
import { handshake } from './handshake.js';
import { type HostKeyDecision, JUMP_PIN } from './host-key.js';
import { channelFailureWords, FailedTry, type RawFailure, transientCause } from './tries.js';

/** The bastion's connection and the channel through it to the host. */
export interface JumpRoute {
  readonly channel: Duplex;
  readonly hostKey: HostKeyDecision;
  /** Why the bastion's connection ended, once it has. */
  lost(): Error | undefined;
  close(): void;
}

/** Connects to the jump host and opens a channel to host:port through it, both by `endsAt`. */
export async function openJump(
  jump: JumpHost,
  target: { readonly host: string; readonly port: number; readonly connectTimeoutMs: number },
  endsAt: number,
): Promise<JumpRoute> {
  const { host, port, connectTimeoutMs } = target;
  const { ssh, progress, failure } = await handshake(jump, JUMP_PIN, endsAt);
  const conn = ssh.connection;
  if (failure || !progress.decision || !conn)
    throw failedTry(
      failure ?? { message: 'the connection closed at once' },
      { ...jump, connectTimeoutMs, side: JUMP_SIDE },
      progress,
    );
  let lost: Error | undefined;
  // After the handshake nobody else listens: an error unheard here would end the process.
  conn.on('error', (e: Error) => {
    lost = e;
  });
  const channel = await forwardTo(ssh, jump, host, port, endsAt);
  return { channel, hostKey: progress.decision, lost: () => lost, close: () => ssh.dispose() };
}

/** The channel to the host, or a FailedTry naming the bastion and what it said. */
async function forwardTo(ssh: NodeSSH, jump: JumpHost, host: string, port: number, endsAt: number): Promise<Duplex> {
  let timer: NodeJS.Timeout | undefined;
  const opening = ssh.forwardOut('127.0.0.1', 0, host, port);
  try {
    return await Promise.race([
      opening,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(Object.assign(new Error('Timed out'), { code: 'ETIMEDOUT' })),
          endsAt - Date.now(),
        );
      }),
    ]);
  } catch (e) {
    opening.then(
      (late) => late.destroy(),
      () => undefined,
    );
    ssh.dispose();
    throw forwardFailure(e as RawFailure, jump, host, port);
  } finally {
    clearTimeout(timer);
  }
}

// RFC 4254 5.1: SSH_OPEN_ADMINISTRATIVELY_PROHIBITED.
const CHANNEL_PROHIBITED = 1;

function forwardFailure(e: RawFailure, jump: JumpHost, host: string, port: number): FailedTry {
  const bastion = `jump host ${jump.host}:${jump.port}`;
  const said = channelFailureWords(e.message ?? '');
  if (e.reason === CHANNEL_PROHIBITED)
    return new FailedTry(
      new DeployError(
        `The ${bastion} refused to open a connection to ${host}:${port} (${said}).`,
        'its sshd must allow TCP forwarding for this user (AllowTcpForwarding yes, the default; no PermitOpen that leaves the host out).',
      ),
    );
  const transient =
    e.code === 'ETIMEDOUT' ? 'the jump host got no answer from the host in time' : transientCause(e, true);
  return new FailedTry(
    new HostUnreachableError(
      `The ${bastion} could not connect to ${host}:${port}: ${said}.`,
      `check the host's address as the jump host sees it (a private address), that sshd runs there, and that its firewall / security group allows port ${port} from the jump host.`,
    ),
    transient,
  );
}
