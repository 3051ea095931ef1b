// A real OpenSSH sshd on 127.0.0.1 for unit tests of how a connection is made (retries, proxy
// command, jump host): its own host key, a key-only login for the user running the tests, its
// config as the sandbox's (test/sandbox/lib.sh sshd_config). No Docker, no sandbox user.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePorts } from './realbin';

export const SSHD = '/usr/sbin/sshd';

export interface LocalSshd {
  readonly port: number;
  readonly user: string;
  readonly fingerprint: string;
  /** A key the sshd takes, and one it does not. */
  readonly key: string;
  readonly otherKey: string;
  /** A host key the sshd does not have: its fingerprint, to pin wrongly. */
  readonly otherFingerprint: string;
  /** Starts it (again) on its port; resolves once it listens. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** What sshd logged (connections, refusals). */
  log(): string;
  dispose(): Promise<void>;
}

function keygen(dir: string, name: string): { key: string; fingerprint: string } {
  const path = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', path]);
  const fingerprint = execFileSync('ssh-keygen', ['-lf', `${path}.pub`], { encoding: 'utf8' }).split(' ')[1] ?? '';
  return { key: readFileSync(path, 'utf8'), fingerprint };
}

export interface SshdOptions {
  /** Extra sshd_config lines (e.g. AllowTcpForwarding no). */
  readonly config?: readonly string[];
  /** Listen here instead of 127.0.0.1. */
  readonly address?: string;
}

/** A configured sshd, not yet started (start() it). */
export async function localSshd(options: SshdOptions = {}): Promise<LocalSshd> {
  const dir = mkdtempSync(join(tmpdir(), 'md-sshd-'));
  const [port = 0] = await freePorts(1);
  const user = userInfo().username;
  const host = keygen(dir, 'host_ed25519');
  const other = keygen(dir, 'other_host_ed25519');
  const client = keygen(dir, 'id_ed25519');
  const unauthorized = keygen(dir, 'id_unauthorized');
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'id_ed25519.pub')));
  // As root, sshd wants its privilege separation directory.
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true });
  const config = [
    `Port ${port}`,
    `ListenAddress ${options.address ?? '127.0.0.1'}`,
    `HostKey ${join(dir, 'host_ed25519')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AllowUsers ${user}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'PermitRootLogin prohibit-password',
    'StrictModes no',
    'UsePAM no',
    'MaxStartups 50',
    ...(options.config ?? []),
  ];
  writeFileSync(join(dir, 'sshd_config'), `${config.join('\n')}\n`);
  let proc: ChildProcess | undefined;
  const sshd: LocalSshd = {
    port,
    user,
    fingerprint: host.fingerprint,
    key: client.key,
    otherKey: unauthorized.key,
    otherFingerprint: other.fingerprint,
    start: async () => {
      // -D: it stays this process (stopped by its pid); -e would send the log to stderr, -E keeps it.
      proc = spawn(SSHD, ['-D', '-f', join(dir, 'sshd_config'), '-E', join(dir, 'sshd.log')], { stdio: 'ignore' });
      await untilListening(port, proc);
    },
    stop: async () => {
      const p = proc;
      proc = undefined;
      if (!p || p.exitCode !== null) return;
      await new Promise((ok) => {
        p.once('exit', ok);
        p.kill('SIGTERM');
      });
    },
    log: () => (existsSync(join(dir, 'sshd.log')) ? readFileSync(join(dir, 'sshd.log'), 'utf8') : ''),
    dispose: async () => {
      await sshd.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return sshd;
}

async function untilListening(port: number, proc: ChildProcess): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`sshd exited with ${proc.exitCode} before it listened on ${port}`);
    const up = await new Promise<boolean>((ok) => {
      const s = tcpConnect(port, '127.0.0.1', () => {
        s.destroy();
        ok(true);
      });
      s.on('error', () => ok(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not listen on ${port} within 5s`);
}

/** What a front listener does with one incoming connection. */
export type FrontMove = 'reset' | 'silent' | 'pass';

/**
 * A TCP listener in front of a real sshd: connection n gets moves[n] (the last move for all
 * after): `reset` reads the client's banner, then answers with a TCP reset (a reset during key
 * exchange); `silent` takes the connection and says nothing (a host that is not up yet: no
 * banner); `pass` pipes it to the sshd. With `listenPort`, on that port (started late, the
 * connections before it are refused).
 */
export async function frontListener(
  sshdPort: number,
  moves: readonly FrontMove[],
  listenPort = 0,
): Promise<{ port: number; connections(): number; close(): Promise<void> }> {
  let n = 0;
  const held: Socket[] = [];
  const server: Server = createServer((client) => {
    const move = moves[Math.min(n++, moves.length - 1)];
    held.push(client);
    client.on('error', () => undefined);
    if (move === 'reset') client.once('data', () => client.resetAndDestroy());
    if (move !== 'pass') return;
    const upstream = tcpConnect(sshdPort, '127.0.0.1');
    upstream.on('error', () => client.destroy());
    client.pipe(upstream).pipe(client);
    held.push(upstream);
  });
  await new Promise<void>((ok) => server.listen(listenPort, '127.0.0.1', ok));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => n,
    close: async () => {
      for (const s of held) s.destroy();
      await new Promise((ok) => server.close(ok));
    },
  };
}
