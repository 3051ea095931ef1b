// The deploy engine behind both the action and `monitoring-deploy deploy`: one SSH connection,
// a sequence of named steps under a per-host lock, a health gate before it is green, and the
// previous release put back when the gate fails.

import { isIPv6 } from 'node:net';
import type { Log, StepRecord } from '../base/log.js';
import { logAgent } from '../base/log-agents.js';
import type { RemoteHost } from '../connection/ssh.js';
import { ConnectionLostError, DeployError } from '../errors.js';
import { appLogsWarning } from '../health/app-logs.js';
import { GateError, type GateResult, gateOptions, healthGate } from '../health/gate.js';
import { appServiceNames, dataPathOptions, logPathServices } from '../health/plan.js';
import { freshnessAfter, type TargetState } from '../health/targets.js';
import { ensureDirs, unsafeDirsError } from '../host/dirs.js';
import type { BudgetReport } from '../host/disk-budget.js';
import { dockerCommand } from '../host/docker.js';
import { applyGrafanaAdminPassword } from '../host/grafana-admin.js';
import { ensureNetwork } from '../host/network.js';
import type { HostFacts } from '../host/preflight.js';
import { ensureSwap } from '../host/swap.js';
import { formatFinding } from '../lint/lint.js';
import { type RemoteLayout, SECRET_FILES, STAGING } from '../model/layout.js';
import { gateDetail } from '../report/gate.js';
import { grafanaExposureWarning, plainHttpWarnings } from '../settings/exposure.js';
import { pushPath, type Settings } from '../settings/settings.js';
import { stacksUpToDate, type UpResult, upStacks, validateStacks, wantedServices } from '../stack/compose.js';
import { ensureGrafanaComDashboards } from '../stack/grafana-com.js';
import { assertLintClean, planStack, renderForHost } from '../stack/plan.js';
import type { RenderedStack } from '../stack/render.js';
import { commit, dropStaging, planUpload, saveRelease, stage, type UploadPlan } from '../stack/upload.js';
import { budgetStep } from './budget.js';
import { dirsWanted, type HostState, hostStateScript, keptOnHost, parseHostState } from './host-state.js';
import { rollBack } from './rollback.js';
import { connectStep, newRun, type OnHost, preflightStep, type Run, warn, withLock } from './session.js';
import { testNotificationStep, webhookStep } from './webhook.js';

export interface DeployResult {
  readonly steps: readonly StepRecord[];
  readonly changed: boolean;
  readonly restarted: readonly string[];
  readonly release: string;
  readonly targets: readonly TargetState[];
  /** The gate's last look: checks, targets and the data path. */
  readonly gate: GateResult;
  readonly grafanaUrl: string;
  readonly uploadedBytes: number;
  readonly roundTrips: number;
  readonly gateMs: number;
  readonly warnings: readonly string[];
  /** The receiver's self-signed certificate (receiver-tls), for the agents to pin. */
  readonly receiverCert?: string;
  /** What the stack may take of the host's disk and memory. */
  readonly budget?: BudgetReport;
  /** With keepConnection: the open connection (the caller closes it) and the host's facts. */
  readonly connection?: { readonly remote: RemoteHost; readonly facts: HostFacts };
}

export interface DeployOptions {
  /** Leave the SSH connection open after a green deploy, for checks made on this host later. */
  readonly keepConnection?: boolean;
  /**
   * Work done under the deploy's lock before its steps (a restore): `stateScript` runs as the
   * lock is taken, `run` gets its output; the host's state is read after it.
   */
  readonly prepare?: {
    /** Steps of its own on the runner, before the deploy's first (opening an archive). */
    readonly first?: (run: Run) => Promise<void>;
    readonly stateScript: (h: Deploying) => string;
    readonly run: (h: Deploying, output: string) => Promise<void>;
  };
}

export class DeployFailure extends DeployError {
  constructor(
    readonly error: Error,
    readonly steps: readonly StepRecord[],
    readonly warnings: readonly string[] = [],
  ) {
    super(error.message);
    this.name = 'DeployFailure';
  }
}

/** A run on a host whose files are rendered for it. */
export interface Deploying extends OnHost {
  readonly layout: RemoteLayout;
  readonly rendered: RenderedStack;
}

/** …and whose state it has read under the lock. */
interface Changing extends Deploying {
  readonly state: HostState;
}

interface Uploaded {
  readonly plan: UploadPlan;
  /** The release that was current before this deploy, if any. */
  readonly previous?: string;
  readonly bytes: number;
}

export async function deploy(settings: Settings, log: Log, options: DeployOptions = {}): Promise<DeployResult> {
  const run = newRun(settings, log);
  try {
    await options.prepare?.first?.(run);
    await lintStep(run);
    const remote = await connectStep(run);
    let keep = false;
    try {
      const facts = await preflightStep(run, remote);
      await webhookStep(run, remote);
      const h: Deploying = {
        ...run,
        remote,
        facts,
        ...renderForHost(settings, facts, { composeV1: facts.compose?.command === 'docker-compose' }),
      };
      const result = await lockedChange(h, options.prepare);
      if (settings.grafana.discordTestNotification) await testNotificationStep(h, result.release);
      keep = options.keepConnection === true;
      return keep ? { ...result, connection: { remote, facts } } : result;
    } finally {
      if (!keep) remote.close();
    }
  } catch (e) {
    throw new DeployFailure(e as Error, run.steps.records, run.warnings);
  }
}

/** The host changed under its lock: prepared first when asked, then the deploy's steps. */
function lockedChange(h: Deploying, prepare: DeployOptions['prepare']): Promise<DeployResult> {
  if (!prepare)
    return withLock(h, h.layout.lockName, hostStateScript(h), (state) =>
      changeHost({ ...h, state: parseHostState(state, h.layout) }),
    );
  return withLock(h, h.layout.lockName, prepare.stateScript(h), async (output) => {
    await prepare.run(h, output);
    const state = await h.remote.run(hostStateScript(h), { what: "Reading the host's state" });
    return changeHost({ ...h, state: parseHostState(state, h.layout) });
  });
}

/** The deploy's word on its log agent, if it is end of life: since when, and how to switch. */
export function logAgentWarning(settings: Settings): string | undefined {
  const { stacks } = settings.stack;
  const agent = logAgent(settings.stack.logAgent);
  const eol = agent?.endOfLife;
  const next = eol && logAgent(eol.successor);
  if (!agent || !next || !stacks.some((s) => s === 'monitoring' || s === 'agent')) return undefined;
  return `${agent.title} is end of life since ${eol.since}: it gets no fixes any more, not even for security. Switch to ${next.title} with the input \`log-agent: ${next.name}\` (the same log jobs and labels; the next deploy stops ${agent.title}, then starts ${next.title} where ${agent.title} stopped reading).`;
}

/** What this run exposes on the network that the user should know of, and how to close it. */
export function exposureWarnings(settings: Settings): string[] {
  const grafana = settings.stack.stacks.includes('monitoring')
    ? grafanaExposureWarning(settings.grafana.bind)
    : undefined;
  return [...(grafana ? [grafana] : []), ...plainHttpWarnings(pushPath(settings))];
}

/** Lint first, on this machine: a broken stack never gets as far as the host. */
function lintStep(run: Run): Promise<void> {
  return run.steps.run('Lint stack', async () => {
    const { findings } = planStack(run.settings);
    const agentWarning = logAgentWarning(run.settings);
    if (agentWarning) warn(run, agentWarning);
    for (const w of exposureWarnings(run.settings)) warn(run, w);
    for (const f of findings.filter((x) => x.severity === 'warning')) warn(run, formatFinding(f));
    assertLintClean(findings);
    return { detail: `${findings.length} warning(s)` };
  });
}

async function changeHost(h: Changing): Promise<DeployResult> {
  const budget = await budgetStep(h);
  const receiverCert = await prepareHost(h);
  const uploaded = await uploadStep(h);
  if (h.settings.stack.stacks.includes('monitoring')) await dashboardsStep(h);
  try {
    const up = await stacksStep(h, uploaded);
    if (adminPasswordChanged(h, uploaded))
      await h.steps.run('Grafana admin password', () => applyGrafanaAdminPassword(h.remote, h.facts));
    const gate = await gateStep(h, uploaded, up);
    if (uploaded.previous === undefined || up.restarted.some((s) => appServiceNames(h.rendered).includes(s))) {
      // Only advice: a failure to look must not fail (and roll back) a release that passed its gate.
      const warning = await appLogsWarning(h.remote, h.facts, h.rendered, h.layout, h.settings.stack.appLogsDir).catch(
        () => undefined,
      );
      if (warning) warn(h, warning);
    }
    return {
      steps: h.steps.records,
      changed: h.steps.changed,
      restarted: up.restarted,
      release: uploaded.plan.release,
      targets: gate.targets,
      gate,
      grafanaUrl: grafanaUrl(h.settings),
      uploadedBytes: uploaded.bytes,
      roundTrips: h.remote.roundTrips,
      gateMs: gate.elapsedMs,
      warnings: h.warnings,
      receiverCert,
      budget,
    };
  } catch (e) {
    throw await afterFailure(h, uploaded, e as Error);
  }
}

/** Where Grafana answers: the host's address, or the one address grafana-bind publishes it on. */
function grafanaUrl(settings: Settings): string {
  const { bind } = settings.grafana;
  const at = bind === '0.0.0.0' || bind === '::' ? settings.connection.host : bind;
  return `http://${isIPv6(at) ? `[${at}]` : at}:3000`;
}

/**
 * Swap, the shared network and the directories the stacks bind-mount: commands only for what is
 * missing. Returns the receiver's TLS certificate, when it has one.
 */
async function prepareHost(h: Changing): Promise<string | undefined> {
  const { settings, remote, facts, state } = h;
  // Before swap and network: a refused remote dir leaves the host as it was.
  if (state.unsafeDirs.length)
    await h.steps.run('Directories', () => Promise.reject(unsafeDirsError(state.unsafeDirs)));
  await h.steps.run('Swap', () => ensureSwap(remote, facts, settings.swapBytes, state.swapActiveKb));
  await h.steps.run('Network', () =>
    ensureNetwork(remote, dockerCommand(facts), settings.stack.network, state.networkDriver),
  );
  const made = await h.steps.run('Directories', () => ensureDirs(remote, dirsWanted(h), state.missing));
  if (made.warning) warn(h, made.warning);
  return made.receiverCert ?? state.receiverCert;
}

/** Only what differs is written: staged, checked by Compose, then moved into place. */
function uploadStep(h: Changing): Promise<Uploaded> {
  const { remote, layout, rendered, facts, state } = h;
  return h.steps.run('Upload', async () => {
    // Without grafana-admin-password, the last one given stays Grafana's password (its database
    // has it): the file is kept, not removed with the input; so is Grafana's secret key.
    const plan = planUpload(rendered.files, state.files, keptOnHost(h.settings));
    if (!plan.changed.length && !plan.removed.length) {
      if (!state.files.saved) await saveRelease(remote, layout, plan.release);
      return {
        value: { plan, previous: state.files.release, bytes: 0 },
        changed: false,
        detail: `release ${plan.release}: all ${plan.unchanged.length} files up to date`,
      };
    }
    const bytes = await stage(remote, layout, plan, rendered.files);
    // Compose checks the new files before anything running is touched.
    await validateStacks(remote, facts, `${layout.root}/${STAGING}`, rendered).catch(async (e) => {
      // Compose's complaint is what the person needs; a failed cleanup must not replace it.
      await dropStaging(remote, layout).catch(() => undefined);
      throw e;
    });
    await commit(remote, layout, plan);
    return {
      value: { plan, previous: state.files.release, bytes },
      changed: true,
      detail: `release ${plan.release}: ${plan.changed.length} file(s) written (${bytes} bytes)${plan.removed.length ? `, ${plan.removed.length} removed` : ''}`,
    };
  });
}

async function dashboardsStep(h: Changing): Promise<void> {
  const warnings = await h.steps.run('Grafana dashboards', async () => {
    const outcome = await ensureGrafanaComDashboards(
      h.remote,
      h.layout,
      h.settings.grafana.dashboards,
      h.state.dashboards,
    );
    return { ...outcome, value: outcome.warnings };
  });
  for (const w of warnings) warn(h, w);
}

/**
 * A Grafana database already exists (the host kept a password before) and this deploy wrote
 * another password: Grafana would keep the old one.
 */
function adminPasswordChanged(h: Changing, uploaded: Uploaded): boolean {
  return (
    h.state.grafanaPassword !== undefined &&
    h.settings.stack.stacks.includes('monitoring') &&
    uploaded.plan.changed.some((f) => f.path === SECRET_FILES.grafanaAdminPassword)
  );
}

type StacksUp = UpResult & { readonly ran: boolean };

function stacksStep(h: Changing, uploaded: Uploaded): Promise<StacksUp> {
  const { plan } = uploaded;
  return h.steps.run<StacksUp>('Stacks', async () => {
    const pull = h.settings.stack.pull;
    const current = plan.changed.length === 0 && plan.removed.length === 0;
    if (
      current &&
      stacksUpToDate(h.state.upRelease, plan.release, pull, wantedServices(h.rendered), h.state.containers)
    )
      return {
        value: { restarted: [], removed: [], ran: false },
        changed: false,
        detail: 'all running, nothing to restart',
      };
    const changedPaths = plan.changed.map((f) => f.path);
    const up = await upStacks(h.remote, h.facts, {
      root: h.layout.root,
      rendered: h.rendered,
      changedPaths,
      pull,
      release: plan.release,
    });
    const said = [
      up.restarted.length ? `(re)started ${up.restarted.join(', ')}` : '',
      up.removed.length ? `stopped and removed ${up.removed.join(', ')} (no longer run)` : '',
    ].filter(Boolean);
    return {
      value: { ...up, ran: true },
      changed: up.restarted.length + up.removed.length > 0,
      detail: said.join('; ') || 'all running, nothing to restart',
    };
  });
}

function gateStep(h: Changing, uploaded: Uploaded, up: StacksUp): Promise<GateResult> {
  const first = uploaded.previous === undefined;
  // On a first deploy, or when this one (re)started anything on the log path: prove it again.
  // An agent's lines go to an engine elsewhere, which can change without this host: every time.
  const onLogPath = logPathServices(h.rendered, h.settings.stack.logAgent);
  const lokiElsewhere = h.settings.agents.role === 'agent' && !!h.settings.agents.logsQueryUrl;
  const canary = first || lokiElsewhere || up.restarted.some((s) => onLogPath.includes(s));
  return h.steps.run('Health gate', async () => {
    const options = {
      ...gateOptions(
        h.settings,
        h.log,
        freshnessAfter(up.hostNowSec ?? h.facts.hostNowSec, first ? 'all' : up.restarted),
      ),
      // Compose did not run: the containers are as the lock's read saw them.
      containers: up.ran ? undefined : h.state.containers,
      ...(await dataPathOptions(h.remote, h.rendered, h.layout, h.settings.stack.logAgent, {
        canary,
        lokiElsewhere,
        appLogsDir: h.settings.stack.appLogsDir,
        adminPassword: h.settings.grafana.adminPassword ?? h.state.grafanaPassword,
      })),
    };
    const gate = await healthGate(h.remote, h.facts, options);
    return { value: gate, detail: gateDetail(gate, options) };
  });
}

/** After a failed start or gate: the previous release back if there is one, and why or why not. */
async function afterFailure(h: Changing, uploaded: Uploaded, e: Error): Promise<Error> {
  const { previous, plan } = uploaded;
  const notRolledBack = !h.settings.rollback
    ? 'rollback is off'
    : !previous
      ? 'this was the first release on the host'
      : previous === plan.release
        ? 'this deploy changed no files'
        : undefined;
  if (notRolledBack || !previous) return withMessage(e, `${e.message}\n\nNot rolled back: ${notRolledBack}.`);
  if (e instanceof ConnectionLostError) {
    return withMessage(
      e,
      `${e.message}\n\nNot rolled back: the connection is gone. Rerun the deploy once the host answers (it carries on from what the host has), or put release ${previous} back with \`monitoring-deploy rollback ${previous}\`.`,
    );
  }
  try {
    // The restored release has its own push credentials, which this run does not know.
    await h.steps.run(`Rollback to ${previous}`, () => rollBack(h, h.layout, previous, false));
  } catch (rollbackError) {
    return withMessage(
      e,
      `${e.message}\n\nRollback to release ${previous} failed too: ${(rollbackError as Error).message}`,
    );
  }
  return withMessage(
    e,
    `${e.message}\n\nRolled back to release ${previous}, which is healthy again. The failed release ${plan.release} is kept on the host.`,
  );
}

/** The same failure with more to say; a gate failure keeps the target states it saw. */
function withMessage(e: Error, message: string): DeployError {
  return e instanceof GateError ? new GateError(message, e.state, '') : new DeployError(message);
}
