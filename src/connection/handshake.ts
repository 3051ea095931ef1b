// One SSH login, the host's or a jump host's: the handshake with the end's host key checked
// against its pin, then the key login; how far it got, for the error and for whether to try again.
import type { Duplex } from 'node:stream';
import { NodeSSH } from 'node-ssh';
import type { ConnectionSettings } from '../settings/settings.js';
import type { TryProgress } from './connect-errors.js';
import { decideHostKey, type PinNames } from './host-key.js';
import type { RawFailure } from './tries.js';

const KEEPALIVE_INTERVAL_MS = 10_000;

/** An end to log in to: where, as whom, with which key, and the pin its host key must match. */
export type Login = Pick<ConnectionSettings, 'host' | 'port' | 'username' | 'privateKey' | 'passphrase' | 'hostKey'>;

/** A login that got through (no failure), or how far it got before `failure`. */
export interface Handshake {
  readonly ssh: NodeSSH;
  readonly progress: TryProgress;
  readonly failure?: RawFailure;
}

/** Logs in by `endsAt`, over `sock` when given (a proxy command's pipe, a jump host's channel), else over TCP. */
export async function handshake(login: Login, names: PinNames, endsAt: number, sock?: Duplex): Promise<Handshake> {
  const ssh = new NodeSSH();
  const progress: TryProgress = { tcpUp: sock !== undefined };
  const connecting = ssh.connect({
    host: login.host,
    port: login.port,
    sock,
    username: login.username,
    privateKey: login.privateKey,
    passphrase: login.passphrase,
    readyTimeout: Math.max(1, endsAt - Date.now()),
    keepaliveInterval: KEEPALIVE_INTERVAL_MS,
    keepaliveCountMax: 3,
    hostVerifier: (key: Buffer) => {
      progress.decision = decideHostKey(login.hostKey, login.host, login.port, key, names);
      return progress.decision.accepted;
    },
  });
  // NodeSSH makes its client before its first await: the TCP connect can be watched.
  ssh.connection?.once('connect', () => {
    progress.tcpUp = true;
  });
  try {
    await connecting;
  } catch (e) {
    ssh.dispose();
    return { ssh, progress, failure: e as RawFailure };
  }
  if (progress.decision) return { ssh, progress };
  ssh.dispose();
  return { ssh, progress, failure: { message: 'the SSH server completed a handshake without showing a host key' } };
}
