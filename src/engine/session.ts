// What every command on a host begins with: a run (settings, log, steps), the connection with a
// verified host key, the read-only preflight, and the per-host lock around anything that
// changes the host.

import type { Log } from '../base/log.js';
import { hostKeyDetail, unverifiedHostKeyWarning } from '../connection/host-key.js';
import { RemoteHost } from '../connection/ssh.js';
import { DeployError } from '../errors.js';
import { acquireLock } from '../host/lock.js';
import { describeHost, type HostFacts, preflight, preflightProblems } from '../host/preflight.js';
import { Steps } from '../report/steps.js';
import type { Settings } from '../settings/settings.js';

export interface Run {
  readonly settings: Settings;
  readonly log: Log;
  readonly steps: Steps;
  /** Warnings of this run, for the summary; each is logged as it is found. */
  readonly warnings: string[];
}

export interface OnHost extends Run {
  readonly remote: RemoteHost;
  readonly facts: HostFacts;
}

export function newRun(settings: Settings, log: Log): Run {
  return { settings, log, steps: new Steps(log), warnings: [] };
}

export function warn(run: Run, warning: string): void {
  run.warnings.push(warning);
  run.log.warn(warning);
}

export function connectStep(run: Run): Promise<RemoteHost> {
  const { connection } = run.settings;
  // The step's name stays short (the terminal's columns); where it connects is its detail.
  return run.steps.run('Connect', async () => {
    const remote = await RemoteHost.connect(connection, run.log);
    for (const w of remote.routeWarnings) warn(run, w);
    const warning = unverifiedHostKeyWarning(connection.host, connection.port, remote.hostKey);
    if (warning) warn(run, warning);
    const tries = remote.tries > 1 ? `, on try ${remote.tries}` : '';
    return {
      value: remote,
      detail: `${connection.username}@${connection.host}:${connection.port}${remote.routeDetail}, ${hostKeyDetail(remote.hostKey)}${tries}`,
    };
  });
}

/** A run that connects (the Connect step), hands the connection to fn, and always closes it. */
export async function onConnection<T>(
  settings: Settings,
  log: Log,
  fn: (run: Run, remote: RemoteHost) => Promise<T>,
): Promise<T> {
  const run = newRun(settings, log);
  const remote = await connectStep(run);
  try {
    return await fn(run, remote);
  } finally {
    remote.close();
  }
}

/** Read-only facts; with `strict`, a host that cannot be deployed to stops the run here. */
export function preflightStep(run: Run, remote: RemoteHost, strict = true): Promise<HostFacts> {
  return run.steps.run('Preflight', async () => {
    const facts = await preflight(remote);
    const problems = strict ? preflightProblems(facts, run.settings.connection.username) : [];
    if (problems.length)
      throw new DeployError(`The host is not ready; nothing was changed:\n  - ${problems.join('\n  - ')}`);
    return { value: facts, detail: describeHost(facts) };
  });
}

/**
 * Runs fn holding the host's deploy lock (a step of its own) and always lets go of it. `then` is a
 * script the lock's own session runs once it holds the lock; fn gets its output.
 */
export async function withLock<T>(
  h: OnHost,
  lockName: string,
  then: string,
  fn: (output: string) => Promise<T>,
): Promise<T> {
  const lock = await h.steps.run('Lock', async () => {
    const held = await acquireLock(h.remote, lockName, h.settings.lockTimeoutMs, h.log, then);
    return {
      value: held,
      detail: held.waitedMs > 1000 ? `waited ${Math.round(held.waitedMs / 1000)}s for another deploy` : 'taken',
    };
  });
  try {
    return await fn(lock.output);
  } finally {
    lock.release();
  }
}
