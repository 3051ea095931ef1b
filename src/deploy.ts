// The deploy engine behind both the action and `monitoring-deploy deploy`: one SSH connection,
// a sequence of named steps under a per-host lock, and a health gate before it is green.
import { RemoteHost } from './connection/ssh.js';
import { DeployError } from './errors.js';
import { GateError, type GateOptions, type GateResult, healthGate, type TargetState } from './health/gate.js';
import { ensureDirs } from './host/dirs.js';
import { dockerCommand, shq } from './host/docker.js';
import { acquireLock } from './host/lock.js';
import { ensureNetwork } from './host/network.js';
import { type HostFacts, preflight, preflightProblems } from './host/preflight.js';
import { ensureSwap } from './host/swap.js';
import { formatFinding } from './lint/lint.js';
import type { Log } from './report/log.js';
import { type StepOutcome, type StepRecord, Steps } from './report/steps.js';
import type { Settings } from './settings/settings.js';
import { type UpResult, upStacks, validateStacks } from './stack/compose.js';
import { ensureGrafanaComDashboards } from './stack/grafana-com.js';
import type { RemoteLayout } from './stack/layout.js';
import { assertLintClean, planStack } from './stack/plan.js';
import { restoreRelease } from './stack/releases.js';
import { commit, planUpload, readRemoteState, STAGING, saveRelease, stage } from './stack/upload.js';

export interface DeployResult {
  readonly steps: readonly StepRecord[];
  readonly changed: boolean;
  readonly restarted: readonly string[];
  readonly release: string;
  readonly targets: readonly TargetState[];
  readonly grafanaUrl: string;
  readonly uploadedBytes: number;
  readonly roundTrips: number;
  readonly gateMs: number;
  readonly warnings: readonly string[];
  /** With keepConnection: the open connection (the caller closes it) and the host's facts. */
  readonly connection?: { readonly remote: RemoteHost; readonly facts: HostFacts };
}

export interface DeployOptions {
  /** Leave the SSH connection open after a green deploy, for checks made on this host later. */
  readonly keepConnection?: boolean;
}

export class DeployFailure extends DeployError {
  constructor(
    readonly error: Error,
    readonly steps: readonly StepRecord[],
  ) {
    super(error.message);
    this.name = 'DeployFailure';
  }
}

export async function deploy(settings: Settings, log: Log, options: DeployOptions = {}): Promise<DeployResult> {
  const steps = new Steps(log);
  const warnings: string[] = [];
  const warn = (w: string) => {
    warnings.push(w);
    log.warn(w);
  };
  try {
    return await deploySteps(settings, log, steps, warn, warnings, options);
  } catch (e) {
    throw new DeployFailure(e as Error, steps.records);
  }
}

async function deploySteps(
  settings: Settings,
  log: Log,
  steps: Steps,
  warn: (w: string) => void,
  warnings: string[],
  options: DeployOptions,
): Promise<DeployResult> {
  const { connection, stack } = settings;
  // Lint first, on this machine: a broken stack never gets as far as the host.
  await steps.run('Lint stack', async () => {
    const { findings } = planStack(settings);
    for (const f of findings.filter((x) => x.severity === 'warning')) warn(formatFinding(f));
    assertLintClean(findings);
    return { detail: `${findings.length} warning(s)` };
  });
  const remote = (
    await steps.run(`Connect to ${connection.username}@${connection.host}:${connection.port}`, async () => {
      const r = await RemoteHost.connect(connection);
      return { remote: r, detail: `host key ${r.hostKey.keyType} ${r.hostKey.fingerprint}` };
    })
  ).remote;
  let keep = false;
  try {
    const facts = (
      await steps.run('Preflight', async () => {
        const f = await preflight(remote);
        const problems = preflightProblems(f, connection.username);
        if (problems.length)
          throw new DeployError(`The host is not ready; nothing was changed:\n  - ${problems.join('\n  - ')}`);
        return { facts: f, detail: describeHost(f) };
      })
    ).facts;
    const plan = planStack(
      settings,
      { uid: facts.uid, gid: facts.gid, home: facts.home },
      { composeV1: facts.compose?.command === 'docker-compose' },
    );
    const lock = await steps.run('Lock', async () => {
      const l = await acquireLock(remote, plan.layout.lockFile, settings.lockTimeoutMs, log);
      return {
        lock: l,
        detail: l.waitedMs > 1000 ? `waited ${Math.round(l.waitedMs / 1000)}s for another deploy` : 'taken',
      };
    });
    try {
      await steps.run('Swap', () => ensureSwap(remote, facts, settings.swapBytes));
      await steps.run('Network', () => ensureNetwork(remote, dockerCommand(facts), stack.network));
      await steps.run('Directories', () =>
        ensureDirs(
          remote,
          plan.layout,
          !settings.grafana.adminPassword && settings.stack.stacks.includes('monitoring'),
          settings.stack.stacks.includes('agent'),
        ),
      );
      const upload = await steps.run('Upload', async () => {
        const state = await readRemoteState(remote, plan.layout, plan.rendered.files);
        const up = planUpload(plan.rendered.files, state);
        if (!up.changed.length && !up.removed.length) {
          if (!state.saved) await saveRelease(remote, plan.layout, up.release);
          return {
            up,
            bytes: 0,
            changed: false,
            detail: `release ${up.release}: all ${up.unchanged.length} files up to date`,
          };
        }
        const bytes = await stage(remote, plan.layout, up, plan.rendered.files);
        // Compose checks the new files before anything running is touched.
        try {
          await validateStacks(remote, facts, `${plan.layout.root}/${STAGING}`, plan.rendered);
        } catch (e) {
          await remote.exec(`rm -rf ${shq(`${plan.layout.root}/${STAGING}`)}`);
          throw e;
        }
        await commit(remote, plan.layout, up);
        return {
          up,
          previous: state.release,
          bytes,
          changed: true,
          detail: `release ${up.release}: ${up.changed.length} file(s) written (${bytes} bytes)${up.removed.length ? `, ${up.removed.length} removed` : ''}`,
        };
      });
      if (settings.stack.stacks.includes('monitoring')) {
        const dash = await steps.run('Grafana dashboards', () =>
          ensureGrafanaComDashboards(remote, plan.layout, settings.grafana.dashboards),
        );
        for (const w of dash.warnings) warn(w);
      }
      const changedPaths = upload.up.changed.map((f) => f.path);
      const gateOptions = gateOptionsFor(settings, log);
      let up: UpResult;
      let gate: { gate: GateResult };
      try {
        up = await steps.run('Stacks', async () => {
          const r = await upStacks(remote, facts, plan.layout.root, plan.rendered, changedPaths, stack.pull);
          return {
            ...r,
            changed: r.restarted.length > 0,
            detail: r.restarted.length ? `(re)started ${r.restarted.join(', ')}` : 'all running, nothing to restart',
          };
        });
        gate = await steps.run('Health gate', async () => {
          const g = await healthGate(remote, facts, gateOptions(facts.hostNowSec));
          const ready =
            settings.agents.role === 'agent'
              ? `${stack.logAgent} ready; remote write and Loki push accept the credentials`
              : `Loki, Grafana and ${stack.logAgent} ready`;
          return { gate: g, detail: `${g.targets.length} targets up; ${ready}` };
        });
      } catch (e) {
        const previous = upload.previous;
        if (!settings.rollback || !previous || previous === upload.up.release) {
          const why = !settings.rollback
            ? 'rollback is off'
            : !previous
              ? 'this was the first release on the host'
              : 'this deploy changed no files';
          throw withMessage(e as Error, `${(e as Error).message}\n\nNot rolled back: ${why}.`);
        }
        try {
          await steps.run(`Rollback to ${previous}`, () =>
            // The restored release has its own push credentials, which this run does not know:
            // its gate checks the host alone.
            rollBack(remote, facts, plan.layout, previous, settings, (since) => ({
              ...gateOptions(since),
              push: undefined,
            })),
          );
        } catch (rollbackError) {
          throw withMessage(
            e as Error,
            `${(e as Error).message}\n\nRollback to release ${previous} failed too: ${(rollbackError as Error).message}`,
          );
        }
        throw withMessage(
          e as Error,
          `${(e as Error).message}\n\nRolled back to release ${previous}, which is healthy again. The failed release ${upload.up.release} is kept on the host.`,
        );
      }
      keep = options.keepConnection === true;
      return {
        ...(keep ? { connection: { remote, facts } } : {}),
        steps: steps.records,
        changed: steps.changed,
        restarted: up.restarted,
        release: upload.up.release,
        targets: gate.gate.targets,
        grafanaUrl: `http://${connection.host}:3000`,
        uploadedBytes: upload.bytes,
        roundTrips: remote.roundTrips,
        gateMs: gate.gate.elapsedMs,
        warnings,
      };
    } finally {
      await lock.lock.release();
    }
  } finally {
    if (!keep) remote.close();
  }
}

/** Gate settings for one run; the caller picks the host time scrapes must be newer than. */
export function gateOptionsFor(settings: Settings, log: Log): (sinceEpochSec: number) => GateOptions {
  const { agents } = settings;
  const push =
    agents.role === 'agent' && agents.remoteWriteUrl && agents.lokiPushUrl
      ? {
          targets: [
            { name: 'remote write' as const, url: agents.remoteWriteUrl },
            { name: 'Loki push' as const, url: agents.lokiPushUrl },
          ],
          credentials: { username: agents.pushUsername, password: agents.pushPassword },
        }
      : undefined;
  return (sinceEpochSec) => ({
    network: settings.stack.network,
    logAgent: settings.stack.logAgent,
    role: agents.role,
    push,
    timeoutMs: settings.healthTimeoutMs,
    sinceEpochSec,
    log,
  });
}

/** The same failure with more to say; a gate failure keeps the target states it saw. */
function withMessage(e: Error, message: string): DeployError {
  return e instanceof GateError ? new GateError(message, e.state, '') : new DeployError(message);
}

/** Puts an earlier release's files back, restarts what they change, and gates on its health. */
export async function rollBack(
  remote: RemoteHost,
  facts: HostFacts,
  layout: RemoteLayout,
  release: string,
  settings: Settings,
  gateOptions: (sinceEpochSec: number) => GateOptions,
): Promise<StepOutcome & { gate: GateResult }> {
  const now = Number((await remote.exec('date +%s')).stdout.trim()) || facts.hostNowSec;
  const restored = await restoreRelease(remote, layout, release, settings.stack.stacks);
  const up = await upStacks(remote, facts, layout.root, restored.stack, restored.changedPaths, 'never');
  const gate = await healthGate(remote, facts, gateOptions(now));
  return {
    changed: true,
    gate,
    detail: `restored ${restored.changedPaths.length} file(s), (re)started ${up.restarted.join(', ') || 'nothing'}; ${gate.targets.length} targets up`,
  };
}

export function describeHost(f: HostFacts): string {
  const mib = (b: number) => `${Math.round(b / 1024 ** 2)} MiB`;
  return `${f.os} ${f.arch}; Docker ${f.dockerServerVersion} (${f.dockerAccess}); ${f.compose?.command} ${f.compose?.version}; memory ${mib(f.memTotalBytes)}, swap ${mib(f.swapTotalBytes)}, disk free ${mib(f.diskFreeBytes)}`;
}
