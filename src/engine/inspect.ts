// The CLI's look at a host, through the same connection as a deploy (the host key verified, an
// unverified one warned of): its facts (preflight), a command of the user's own (exec), and an
// HTTP GET inside its Docker network (fetch). None of them changes the host by itself.

import type { Log } from '../base/log.js';
import type { HostKeyDecision } from '../connection/host-key.js';
import { type HttpResponse, httpViaHost } from '../connection/http.js';
import type { ExecResult } from '../connection/ssh.js';
import { containerAddress } from '../host/docker.js';
import { type HostFacts, preflightProblems } from '../host/preflight.js';
import type { Settings } from '../settings/settings.js';
import { onConnection, preflightStep } from './session.js';

export interface PreflightReport {
  readonly hostKey: HostKeyDecision;
  readonly facts: HostFacts;
  /** Why a deploy would stop at its preflight; empty when the host is ready. */
  readonly problems: readonly string[];
}

/** An address inside the host's Docker network: a container, its port and a path. */
export interface FetchTarget {
  readonly container: string;
  readonly port: number;
  readonly path: string;
}

/** A command as long as this may run on the host. */
const EXEC_TIMEOUT_MS = 600_000;

/** `monitoring-deploy preflight`: what the host has, and what would stop a deploy there. */
export function runPreflight(settings: Settings, log: Log): Promise<PreflightReport> {
  return onConnection(settings, log, async (run, remote) => {
    const facts = await preflightStep(run, remote, false);
    return { hostKey: remote.hostKey, facts, problems: preflightProblems(facts, settings.connection.username) };
  });
}

/**
 * `monitoring-deploy exec -- COMMAND`: a person's own command, passed as it is to their login
 * shell (not a script of ours, so not through RemoteHost.run); its exit code is the answer.
 */
export function runExec(settings: Settings, log: Log, command: string): Promise<ExecResult> {
  return onConnection(settings, log, (_run, remote) => remote.exec(command, { timeoutMs: EXEC_TIMEOUT_MS }));
}

/** `monitoring-deploy fetch CONTAINER:PORT/PATH`: a GET through a tunnel, no published port needed. */
export function runFetch(settings: Settings, log: Log, target: FetchTarget): Promise<HttpResponse> {
  return onConnection(settings, log, async (run, remote) => {
    const facts = await preflightStep(run, remote, false);
    const address = await containerAddress(remote, facts, target.container);
    return httpViaHost(remote, address, target.port, { path: target.path });
  });
}
