// `command: check`, the watchdog: connect with the same host-key rules, run the read-only
// preflight and the full health gate, and say in plain words what is wrong. Changes nothing.

import type { Log, StepRecord, StepResult } from '../base/log.js';
import { inParallel } from '../connection/shell.js';
import type { RemoteHost } from '../connection/ssh.js';
import { DeployError, HostUnreachableError, headline, InputError } from '../errors.js';
import { containersScript, parseContainers } from '../health/containers.js';
import { diskWatchProblems, diskWatchScript, parseDiskWatch } from '../health/disk-watch.js';
import { type CheckState, GateError, type GateResult, gateOptions, healthGate } from '../health/gate.js';
import { containerIncidents, containerLookScript, parseContainerLook } from '../health/incidents.js';
import { dataPathOptions } from '../health/plan.js';
import { checkTitle } from '../health/probes.js';
import type { TargetState } from '../health/targets.js';
import { formatBytes } from '../host/disk-budget.js';
import { dockerCommand } from '../host/docker.js';
import { parsePassword, passwordState } from '../host/grafana-admin.js';
import { type HostFacts, preflightProblems } from '../host/preflight.js';
import { buildModel } from '../model/compose.js';
import { remoteLayout } from '../model/layout.js';
import type { Outcome } from '../notify/notify.js';
import { gateDetail } from '../report/gate.js';
import type { Settings } from '../settings/settings.js';
import { type DeployedStack, deployedLogAgent, deployedScript, parseDeployed } from '../stack/deployed.js';
import { connectStep, newRun, preflightStep, type Run } from './session.js';

export interface CheckReport {
  readonly ok: boolean;
  /** What is wrong, one sentence each; empty when healthy. */
  readonly problems: readonly string[];
  readonly steps: readonly StepRecord[];
  readonly targets: readonly TargetState[];
  readonly checks: readonly CheckState[];
  /** The error that ended the check early (connection, preflight), if any. */
  readonly error?: Error;
  /** Remote commands and channels the check cost. */
  readonly roundTrips: number;
  /** Warnings of this check (each logged as found), for the summary. */
  readonly warnings: readonly string[];
}

// Swap nearly full on a 1 GB box means the next allocation is the OOM killer's.
const SWAP_NEARLY_FULL = 0.9;

export async function runCheck(settings: Settings, log: Log): Promise<CheckReport> {
  const run = newRun(settings, log);
  let remote: RemoteHost | undefined;
  // A check that stopped before the gate has no targets or checks to show.
  const report = (r: Findings): CheckReport => ({
    targets: [],
    checks: [],
    ...r,
    ok: r.problems.length === 0,
    steps: run.steps.records,
    roundTrips: remote?.roundTrips ?? 0,
    warnings: run.warnings,
  });
  try {
    remote = await connectStep(run);
  } catch (e) {
    // A key that cannot be read says nothing of the host: the run's input is wrong.
    if (e instanceof InputError) throw e;
    const problem = `${e instanceof HostUnreachableError ? 'Host unreachable' : 'Cannot log in'}: ${headline(e)}`;
    return report({ problems: [problem], error: e as Error });
  }
  try {
    return report(await checkHost(run, remote));
  } catch (e) {
    if (!(e instanceof DeployError)) throw e;
    return report({ problems: [`Check failed: ${headline(e)}`], error: e });
  } finally {
    remote.close();
  }
}

type Findings = Pick<CheckReport, 'problems' | 'error'> & Partial<Pick<CheckReport, 'targets' | 'checks'>>;

/** The read-only preflight, then the gate: what is wrong with the host and its stack. */
async function checkHost(run: Run, remote: RemoteHost): Promise<Findings> {
  let facts: HostFacts;
  try {
    facts = await preflightStep(run, remote, false);
  } catch (e) {
    return { problems: [`Preflight failed: ${headline(e)}`], error: e as Error };
  }
  const hostProblems = [...preflightProblems(facts, run.settings.connection.username), ...swapProblems(facts)];
  if (facts.dockerAccess === 'none') return { problems: hostProblems };
  try {
    const gate = await run.steps.run('Health gate', () => gateStep(run, remote, facts, hostProblems));
    return { problems: hostProblems, targets: gate.targets, checks: gate.checks };
  } catch (e) {
    if (!(e instanceof GateError)) throw e;
    const { checks, targets } = e.state;
    return { problems: [...gateProblems(checks, targets), ...hostProblems], targets, checks, error: e };
  }
}

/**
 * What is deployed there decides what to prove, whatever inputs this check was given. Problems
 * since the last check (restarts, budgets) are added to hostProblems before the gate runs.
 */
async function gateStep(
  run: Run,
  remote: RemoteHost,
  facts: HostFacts,
  hostProblems: string[],
): Promise<StepResult<GateResult>> {
  const { settings, log } = run;
  const layout = remoteLayout(settings.stack.remoteDir, facts.home);
  const docker = dockerCommand(facts);
  const read = await remote.run(
    inParallel([
      deployedScript(layout.root),
      passwordState(layout),
      containersScript(docker, settings.stack.network),
      containerLookScript(docker, layout.root),
      diskWatchScript(layout),
    ]),
    { what: 'Reading the deployed stack' },
  );
  const deployed = parseDeployed(read);
  const logAgent = deployedLogAgent(deployed);
  const options = {
    // Nothing was restarted: each target is judged on its current state.
    ...gateOptions(settings, log, { sinceEpochSec: facts.hostNowSec, restarted: [] }),
    logAgent,
    containers: parseContainers(read),
    ...(await dataPathOptions(remote, deployed, layout, logAgent, {
      canary: true,
      lokiElsewhere: settings.agents.role === 'agent' && !!settings.agents.logsQueryUrl,
      appLogsDir: settings.stack.appLogsDir,
      adminPassword: parsePassword(read) ?? '',
    })),
  };
  hostProblems.push(...historyProblems(settings, deployed, read));
  const gate = await healthGate(remote, facts, options);
  return { value: gate, detail: gateDetail(gate, options) };
}

/** Since the last check: containers restarted or OOM-killed; what grows beyond its budget. */
function historyProblems(settings: Settings, deployed: DeployedStack, read: string): string[] {
  const services = buildModel(deployed.files, deployed.variables).services;
  const memLimitOf = (name: string) => {
    const bytes = services.find((s) => (s.containerName ?? s.name) === name)?.memLimitBytes;
    return bytes === undefined ? undefined : formatBytes(bytes);
  };
  return [
    ...containerIncidents(parseContainerLook(read), memLimitOf),
    ...diskWatchProblems(
      parseDiskWatch(read),
      services.some((s) => s.name === 'disk-guard'),
      settings.disk.appLogsBudget,
    ),
  ];
}

/** The gate's failing checks and down targets, as sentences for a person. */
export function gateProblems(checks: readonly CheckState[], targets: readonly TargetState[]): string[] {
  const out: string[] = [];
  for (const c of checks.filter((x) => !x.ok && !x.name.startsWith('logs '))) {
    const service = checkTitle(c.name);
    if (c.name.startsWith('grafana ')) out.push(c.detail);
    else if (service) out.push(`${service} not ready: ${c.detail}`);
    else if (c.name !== 'targets') out.push(`${c.name}: ${c.detail}`);
    // The down targets are listed one by one below; "waiting for Prometheus" is already said.
    else if (!targets.some((t) => t.health !== 'up') && c.detail !== 'waiting for Prometheus')
      out.push(`Prometheus targets: ${c.detail}`);
  }
  // Log jobs failing for one reason (Loki down, say) are one finding.
  const logJobs = new Map<string, string[]>();
  for (const c of checks.filter((x) => !x.ok && x.name.startsWith('logs '))) {
    logJobs.set(c.detail, [...(logJobs.get(c.detail) ?? []), c.name.slice(5)]);
  }
  for (const [detail, jobs] of logJobs) {
    out.push(`logs of job${jobs.length > 1 ? 's' : ''} ${jobs.join(', ')} are not reaching Loki: ${detail}`);
  }
  for (const t of targets.filter((x) => x.health !== 'up')) {
    out.push(`Prometheus target ${t.job} (${t.instance}) is ${t.health}${t.lastError ? `: ${t.lastError}` : ''}`);
  }
  return out;
}

/** A check's result as notify reads it. */
export function checkOutcome(report: CheckReport): Outcome {
  return {
    ok: report.ok,
    problems: report.problems,
    what: 'check',
    healthyDetail: `${report.targets.length} targets up`,
  };
}

export function swapProblems(f: HostFacts): string[] {
  if (f.swapTotalBytes <= 0) return [];
  const used = f.swapTotalBytes - f.swapFreeBytes;
  if (used / f.swapTotalBytes < SWAP_NEARLY_FULL) return [];
  const mib = (b: number) => Math.round(b / 1024 ** 2);
  return [
    `Swap nearly full: ${mib(used)} of ${mib(f.swapTotalBytes)} MiB used. Fix: find what grew (\`docker stats\`), lower its memory limit, or raise swap-size.`,
  ];
}

/** A failed deploy's problems in the watchdog's words: the gate's findings, or the error's first line. */
export function failureProblems(error: Error): string[] {
  if (error instanceof GateError) return gateProblems(error.state.checks, error.state.targets);
  return [headline(error)];
}

/** The error a failed check ends with: every problem, then the details of what stopped it. */
export function checkFailure(hostName: string, report: CheckReport): DeployError {
  const head = `The check of ${hostName} failed:\n  - ${report.problems.join('\n  - ')}`;
  const error = report.error;
  if (!error) return new DeployError(head);
  return error instanceof GateError
    ? new GateError(`${head}\n\n${error.message}`, error.state, '')
    : new DeployError(`${head}\n\n${error.message}`);
}
