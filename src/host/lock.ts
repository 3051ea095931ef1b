// One deploy at a time per host. The lock is an flock held by a command that lives as long as
// our SSH session: released when we end it, and by the host itself if the connection drops, so
// a crashed runner never leaves a stale lock behind. The same session reads the host's state
// once the lock is held: taking the lock and learning what to change cost one round trip.
import type { Log } from '../base/log.js';
import { shq } from '../connection/shell.js';
import type { ExecResult, RemoteHost } from '../connection/ssh.js';
import { DeployError } from '../errors.js';

export interface HeldLock {
  readonly waitedMs: number;
  /** What the script given to acquireLock printed once the lock was held. */
  readonly output: string;
  /** Lets go of the lock: the session ends, and the host drops the flock with it. */
  release(): void;
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

const END = '@@lock-script-end';

/**
 * The lock lives in the login user's own directory (mode 700): no other local user can take it
 * first or fake its owner line. Then `then` runs under the lock; the session holds it until we
 * close our side or the connection goes. RemoteHost.hold gives it sh and the full PATH.
 */
export function lockScript(lockName: string, owner: string, timeoutSec: number, then = ''): string {
  const f = '"$f"';
  return [
    'd="$HOME/.monitoring-deploy"',
    '(umask 077; mkdir -p "$d") || exit 4',
    `f="$d"/${shq(`${lockName}.lock`)}`,
    // Without this check a missing flock would fail `flock -n` and then read as a lock held by another.
    'command -v flock >/dev/null 2>&1 || exit 127',
    `exec 9>>${f} || exit 4`,
    // flock -w exits 1 on its timeout; anything else is not a lock held by another deploy.
    `if ! flock -n 9; then echo "WAIT $(cat ${f}.owner 2>/dev/null)"; flock -w ${Math.ceil(timeoutSec)} 9; rc=$?; [ $rc = 0 ] || { [ $rc = 1 ] && exit 3; exit 4; }; fi`,
    `printf '%s\\n' ${shq(owner)} > ${f}.owner`,
    'echo LOCKED',
    then,
    `echo ${END}`,
    'cat >/dev/null',
  ].join('\n');
}

/** Why the lock was not taken, from the lock script's exit (null: the session ended first). */
function lockError(lockName: string, timeoutMs: number): (r: ExecResult) => DeployError {
  return (r) => {
    if (r.code === null)
      return new DeployError(
        `The SSH session ended before the deploy lock was taken: ${r.stderr.trim() || 'no reason given'}`,
      );
    if (r.code === 3)
      return new DeployError(
        `Another deploy to this host still held the lock after ${Math.round(timeoutMs / 1000)}s.`,
        'wait for it to finish (its owner is printed above), or raise lock-timeout.',
      );
    if (r.code === 127 || /flock: (not found|command not found)/.test(r.stderr))
      return new DeployError('The host has no `flock` (util-linux).', 'install util-linux on the host.');
    return new DeployError(
      `Could not take the deploy lock ~/.monitoring-deploy/${lockName}.lock (exit ${r.code}): ${r.stderr.trim()}`,
    );
  };
}

export async function acquireLock(
  remote: RemoteHost,
  lockName: string,
  timeoutMs: number,
  log: Log,
  then = '',
  owner = lockOwner(),
): Promise<HeldLock> {
  const started = Date.now();
  let waited = false;
  let lockedAt = 0;
  // The script's output is read as it comes: whoever holds the lock is named while we wait.
  const held = await remote.hold(lockScript(lockName, owner, timeoutMs / 1000, then), {
    what: 'Taking the deploy lock',
    explain: lockError(lockName, timeoutMs),
    ready: (out) => {
      const wait = /^WAIT (.*)$/m.exec(out);
      if (wait && !waited) {
        waited = true;
        log.info(
          `  another deploy holds the lock: ${wait[1] || 'owner unknown'}; waiting up to ${Math.round(timeoutMs / 1000)}s`,
        );
      }
      const locked = out.indexOf('LOCKED\n');
      if (locked >= 0 && !lockedAt) lockedAt = Date.now();
      const end = out.indexOf(`${END}\n`);
      return locked >= 0 && end > locked ? out.slice(locked + 'LOCKED\n'.length, end) : undefined;
    },
  });
  // No waiting for the close: ending our side ends the session, and the host drops the lock.
  return { waitedMs: lockedAt - started, output: held.value, release: held.release };
}
