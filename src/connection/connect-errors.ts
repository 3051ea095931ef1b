// A failed connect in words: whose fault (the host or the jump host), what went wrong, which
// input fixes it; and whether trying again may help (see tries.ts).
import { DeployError, HostUnreachableError, InputError } from '../errors.js';
import { HOST_PIN, type HostKeyDecision, JUMP_PIN, type PinNames } from './host-key.js';
import { FailedTry, type RawFailure, TRANSIENT_CODES, transientCause } from './tries.js';

/** Which end a message is about, and the inputs that set it. */
export interface Side extends PinNames {
  readonly keyInput: string;
  /** The key as a refusal names it: "key" for the host's, the input for a jump host's. */
  readonly keyWords: string;
  readonly passphraseInput: string;
  readonly hostInput: string;
}

export const HOST_SIDE: Side = {
  ...HOST_PIN,
  keyInput: 'ssh-key',
  keyWords: 'key',
  passphraseInput: 'ssh-key-passphrase',
  hostInput: 'host',
};
export const JUMP_SIDE: Side = {
  ...JUMP_PIN,
  keyInput: 'proxy-jump-ssh-key',
  keyWords: 'proxy-jump-ssh-key',
  passphraseInput: 'proxy-jump-ssh-key-passphrase',
  hostInput: 'proxy-jump',
};

/** An end of the connection: where, as whom, and which inputs name it. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly passphrase?: string;
  /** connect-timeout, which a "no answer" message names. */
  readonly connectTimeoutMs: number;
  readonly side: Side;
}

/** What a try got to before it failed: whether the TCP connection (or pipe) was up, and the host key decision. */
export interface TryProgress {
  tcpUp: boolean;
  decision?: HostKeyDecision;
}

/** A failed try of one end: its error, transient or not. A refused host key never is. */
export function failedTry(e: RawFailure, end: Endpoint, progress: TryProgress): FailedTry {
  const { decision } = progress;
  if (decision && !decision.accepted)
    return new FailedTry(new DeployError(decision.reason ?? `Host key of ${where(end)} refused`));
  const transient = decision ? undefined : transientCause(e, progress.tcpUp);
  return new FailedTry(connectError(e, end), transient);
}

function where(end: Endpoint): string {
  return `${end.side.what}${end.host}:${end.port}`;
}

/** The error of a failed connect to one end, naming the input to fix. */
export function connectError(e: RawFailure, end: Endpoint): DeployError {
  const { side } = end;
  const at = where(end);
  const msg = e.message ?? String(e);
  const key = keyProblem(msg, end);
  if (key) return key;
  if (e.level === 'client-authentication' || /authentication methods failed/i.test(msg)) {
    return new DeployError(
      `Authentication refused: ${at} did not accept the ${side.keyWords} for user "${end.username}".`,
      `add the matching public key to ~${end.username}/.ssh/authorized_keys on ${side.what || 'the host '}${end.host}, and check the username (ec2-user on Amazon Linux, ubuntu on Ubuntu).`,
    );
  }
  return unreachableError(e, end) ?? new DeployError(`Could not connect to ${at}: ${msg}`);
}

/**
 * The key refused by the SSH client as it read it, before any socket was opened: an input error.
 * The client's own words are not repeated: some quote the key's bytes (`Unsupported OpenSSH key
 * magic: …`, `… private key type: …`, ssh2 lib/protocol/keyParser.js).
 */
function keyProblem(msg: string, end: Endpoint): InputError | undefined {
  const { side } = end;
  if (/passphrase/i.test(msg) || /Encrypted private/i.test(msg)) {
    return end.passphrase
      ? new InputError(
          `${side.passphraseInput}: it does not decrypt the ${side.keyInput} (a wrong passphrase for this key)`,
          `set ${side.passphraseInput} to the passphrase of this key (or use a key without one).`,
        )
      : new InputError(
          `${side.passphraseInput}: empty, but the ${side.keyInput} is encrypted with a passphrase`,
          `pass the passphrase as ${side.passphraseInput} (from a secret).`,
        );
  }
  if (!/Cannot parse privateKey|Unsupported key format|privateKey/i.test(msg)) return undefined;
  return new InputError(
    `${side.keyInput}: the private key cannot be read: it is damaged or cut short, or of a kind this SSH client does not read`,
    'pass the whole private key file, including the -----BEGIN and -----END lines (an OpenSSH key, e.g. from ssh-keygen -t ed25519).',
  );
}

/** No SSH answer at all: refused, unresolvable, timed out. */
function unreachableError(e: RawFailure, end: Endpoint): HostUnreachableError | undefined {
  const at = where(end);
  const msg = e.message ?? String(e);
  if (e.code === 'ECONNREFUSED')
    return new HostUnreachableError(
      `Connection refused by ${at}: nothing listens for SSH on port ${end.port}.`,
      `check the ${end.side.hostInput} and port, and that sshd is running there.`,
    );
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN')
    return new HostUnreachableError(
      `The host name "${end.host}"${end.side.what ? ` of the ${end.side.what.trim()}` : ''} does not resolve.`,
      `check the ${end.side.hostInput} input.`,
    );
  // The other socket failures that pass (refused and name lookup are told apart above).
  if (typeof e.code === 'string' && Object.hasOwn(TRANSIENT_CODES, e.code)) return unansweredError(end, msg);
  if (/timed out|No response|Connection lost before handshake/i.test(msg)) return unansweredError(end, msg);
  return undefined;
}

function unansweredError(end: Endpoint, msg: string): HostUnreachableError {
  return new HostUnreachableError(
    `Host unreachable: no SSH answer from ${where(end)} within ${Math.round(end.connectTimeoutMs / 1000)}s (${msg}).`,
    `check that it is running, its address, and that its firewall / security group allows port ${end.port} from this runner.`,
  );
}
