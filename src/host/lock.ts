// One deploy at a time per host. The lock is an flock held by a command that lives as long as
// our SSH session: released when we end it, and by the host itself if the connection drops, so
// a crashed runner never leaves a stale lock behind.
import type { ClientChannel } from 'ssh2';
import { shq } from '../connection/shell.js';
import type { RemoteHost } from '../connection/ssh.js';
import { DeployError } from '../errors.js';
import type { Log } from '../report/log.js';

export interface HeldLock {
  readonly waitedMs: number;
  release(): Promise<void>;
}

/** Who is deploying, shown to whoever waits: the workflow run, or user@machine for the CLI. */
export function lockOwner(env: NodeJS.ProcessEnv = process.env): string {
  const when = new Date().toISOString();
  if (env.GITHUB_RUN_ID) {
    const url = `${env.GITHUB_SERVER_URL ?? 'https://github.com'}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`;
    return `${env.GITHUB_WORKFLOW ?? 'workflow'} run by ${env.GITHUB_ACTOR ?? '?'} (${url}), started ${when}`;
  }
  return `${env.USER ?? 'someone'} with the monitoring-deploy CLI, started ${when}`;
}

export function lockScript(lockFile: string, owner: string, timeoutSec: number): string {
  // Named per user id: /tmp is sticky, and a file left by another (or a recreated) user of the
  // same path could not be opened.
  const f = '"$f"';
  return [
    `f=${shq(lockFile)}-$(id -u).lock`,
    `exec 9>>${f} || exit 4`,
    `if ! flock -n 9; then echo "WAIT $(cat ${f}.owner 2>/dev/null)"; flock -w ${Math.ceil(timeoutSec)} 9 || exit 3; fi`,
    `printf '%s\\n' ${shq(owner)} > ${f}.owner`,
    'echo LOCKED',
    // Hold the lock until we close our side, or the connection goes.
    'cat >/dev/null',
  ].join('\n');
}

export async function acquireLock(
  remote: RemoteHost,
  lockFile: string,
  timeoutMs: number,
  log: Log,
  owner = lockOwner(),
): Promise<HeldLock> {
  const started = Date.now();
  const channel: ClientChannel = await remote.session(`sh -c ${shq(lockScript(lockFile, owner, timeoutMs / 1000))}`);
  let out = '';
  let err = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      out += d.toString();
      for (const line of out.split('\n').slice(0, -1)) {
        if (line.startsWith('WAIT ')) {
          log.info(
            `  another deploy holds the lock: ${line.slice(5) || 'owner unknown'}; waiting up to ${Math.round(timeoutMs / 1000)}s`,
          );
          out = out.slice(out.indexOf(line) + line.length + 1);
        } else if (line === 'LOCKED') {
          channel.stdout.off('data', onData);
          resolve();
          return;
        }
      }
    };
    channel.stdout.on('data', onData);
    channel.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    channel.on('exit', (code: number | null) => {
      if (code === 3) {
        reject(
          new DeployError(
            `Another deploy to this host still held the lock after ${Math.round(timeoutMs / 1000)}s.`,
            'wait for it to finish (its owner is printed above), or raise lock-timeout.',
          ),
        );
      } else if (code === 127 || /flock: (not found|command not found)/.test(err)) {
        reject(new DeployError('The host has no `flock` (util-linux).', 'install util-linux on the host.'));
      } else {
        reject(new DeployError(`Could not take the deploy lock ${lockFile}-<uid>.lock (exit ${code}): ${err.trim()}`));
      }
    });
  });
  return {
    waitedMs: Date.now() - started,
    release: async () => {
      // On a lost connection the host has already dropped the lock with the session.
      if (!remote.connected) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 5_000);
        channel.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        channel.end();
      });
    },
  };
}
