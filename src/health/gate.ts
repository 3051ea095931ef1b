// The health gate, its orchestration: the deploy is green only when every probe of the table
// answers healthy, every active Prometheus target is up with a scrape newer than this deploy
// (targets.ts), each log job's canary line is in Loki (log-path.ts), Grafana reads its data
// (grafana.ts) and, on an agent, the central endpoints take its credentials. Everything is
// reached through SSH tunnels to container addresses; nothing is published.

import { formatDuration } from '../base/format.js';
import type { Log } from '../base/log.js';
import { credentialsIn, httpViaHost } from '../connection/http.js';
import type { RemoteHost } from '../connection/ssh.js';
import { DeployError, headline } from '../errors.js';
import type { HostFacts } from '../host/preflight.js';
import type { AgentSettings, LogAgent, Role, Settings } from '../settings/settings.js';
import type { AppLinesMode } from './app-lines.js';
import type { ArrivalPlan, QueryEndpoint } from './arrival.js';
import { type ContainerInfo, containerLogs, listContainers } from './containers.js';
import { type GrafanaPlan, inspectGrafana } from './grafana.js';
import {
  type AppLinesRun,
  appLineChecks,
  type CanaryRun,
  explainLogs,
  type LogProgress,
  type LokiSource,
  logPathChecks,
  withAppLines,
} from './log-path.js';
import { poll } from './poll.js';
import { type CheckState, type Probe, probesFor } from './probes.js';
import { type PushCredentials, type PushTarget, probePush } from './push.js';
import { type Freshness, metricsArrivalCheck, readTargets, type TargetState } from './targets.js';

export type { CheckState };

export interface HealthState {
  readonly ok: boolean;
  readonly checks: readonly CheckState[];
  readonly targets: readonly TargetState[];
}

/** How the data got through: each log job's canary, Grafana's data sources and rules. */
export interface DataPath {
  readonly logs: readonly { readonly job: string; readonly hostFile?: string; readonly arrivedMs?: number }[];
  /** The jobs whose newest line on disk was found in Loki (or, on a no-op, a line as fresh), of how many. */
  readonly appLines?: { readonly mode: AppLinesMode; readonly arrived: readonly string[]; readonly jobs: number };
  readonly alertRulesLoaded?: number;
}

export interface GateResult extends HealthState {
  readonly elapsedMs: number;
  readonly dataPath: DataPath;
}

export interface GateOptions {
  readonly network: string;
  readonly logAgent: LogAgent;
  /** An agent host runs no Loki or Grafana; it must get its writes accepted centrally. */
  readonly role: Role;
  readonly push?: {
    readonly targets: readonly PushTarget[];
    readonly credentials: PushCredentials;
    /** The pinned certificate (push-ca). */
    readonly ca?: string;
  };
  readonly timeoutMs: number;
  /** Which targets must show a scrape newer than this run's start, and which their current state. */
  readonly freshness: Freshness;
  readonly log: Log;
  /** The containers as the run already saw them: the first look needs not list them again. */
  readonly containers?: readonly ContainerInfo[];
  /** Prove the log path: write these canary lines and find each in Loki (token: this run's). */
  readonly canary?: CanaryRun;
  /** Find each log job's newest line on disk in Loki, and name the files no job reads. */
  readonly appLines?: AppLinesRun;
  /** Ask Grafana whether it can use its data sources and has loaded its rules. */
  readonly grafana?: GrafanaPlan;
  /**
   * An agent: read its data back at these query URLs (its `up` series; the canary lines, with
   * a canary plan). Without them, the gate says arrival was not checked.
   */
  readonly arrival?: ArrivalPlan;
  /** An agent in a run with the monitoring host: its arrival is checked there, after the gate. */
  readonly centralHost?: string;
}

/** The gate for one run's settings; the caller says which targets must be freshly scraped. */
export function gateOptions(settings: Settings, log: Log, freshness: Freshness): GateOptions {
  const { agents } = settings;
  const push =
    agents.role === 'agent' && agents.remoteWriteUrl && agents.lokiPushUrl
      ? {
          targets: [
            { name: 'remote write' as const, url: agents.remoteWriteUrl },
            { name: 'Loki push' as const, url: agents.lokiPushUrl },
          ],
          credentials: { username: agents.pushUsername, password: agents.pushPassword },
          ca: agents.pushCa,
        }
      : undefined;
  const metrics = queryEndpoint(agents, 'metrics-query-url', agents.metricsQueryUrl);
  const logs = queryEndpoint(agents, 'logs-query-url', agents.logsQueryUrl);
  return {
    network: settings.stack.network,
    logAgent: settings.stack.logAgent,
    role: agents.role,
    push,
    timeoutMs: settings.healthTimeoutMs,
    freshness,
    log,
    ...(agents.role === 'agent' && (metrics || logs) ? { arrival: { host: settings.hostName, metrics, logs } } : {}),
    ...(agents.role === 'agent' && agents.centralHost ? { centralHost: agents.centralHost } : {}),
  };
}

/**
 * A query URL and its credentials: the URL's own user:password@ (as the agents do for the push
 * URLs), else query-username / query-password, else the push credentials.
 */
export function queryEndpoint(agents: AgentSettings, input: string, url?: string): QueryEndpoint | undefined {
  if (!url) return undefined;
  const inUrl = credentialsIn(url);
  if (inUrl) return { url, credentials: { ...inUrl, from: `the user:password@ of ${input}` } };
  const username = agents.queryUsername ?? agents.pushUsername;
  const userName = agents.queryUsername ? 'query-username' : 'push-username';
  return {
    url,
    credentials: agents.queryPassword
      ? { username, password: agents.queryPassword, from: `${userName} / query-password` }
      : { username, password: agents.pushPassword, from: `${userName} / push-password (query-password is not set)` },
  };
}

async function probe(remote: RemoteHost, c: ContainerInfo | undefined, p: Probe): Promise<CheckState> {
  const name = p.service;
  if (!c) return { name, ok: false, detail: `no ${p.service} container` };
  if (c.state !== 'running') return { name, ok: false, detail: `container ${c.name} is ${c.state}`, container: c.name };
  if (!c.address)
    return { name, ok: false, detail: `container ${c.name} has no address on the network`, container: c.name };
  try {
    const res = await httpViaHost(remote, c.address, p.port, { path: p.path, timeoutMs: 5_000 });
    const why = p.judge(res.status, res.body);
    return { name, ok: !why, detail: why ?? 'ready', container: c.name };
  } catch (e) {
    return { name, ok: false, detail: headline(e).slice(0, 160), container: c.name };
  }
}

/** What the gate learns over its looks: the log path's canaries, Grafana's rules, arrival. */
type Progress = LogProgress & {
  looks: number;
  alertRulesLoaded?: number;
  /** When the agent's `up` series were all found at the metrics query URL. */
  metricsArrivedMs?: number;
};

/** One look at everything the gate checks. */
async function inspectHealth(
  remote: RemoteHost,
  facts: HostFacts,
  opts: GateOptions,
  progress: Progress,
): Promise<HealthState> {
  // The run's own look at the containers serves the first round; later rounds ask again.
  const containers =
    progress.looks++ === 0 && opts.containers ? opts.containers : await listContainers(remote, facts, opts.network);
  const byService = new Map(containers.map((c) => [c.service, c]));
  const checks = await Promise.all([
    ...probesFor(opts.role, opts.logAgent).map((p) => probe(remote, byService.get(p.service), p)),
    ...(opts.push?.targets ?? []).map((t) =>
      probePush(remote, t, opts.push?.credentials ?? { username: '' }, 5_000, opts.push?.ca),
    ),
  ]);
  checks.push(...(await dataChecks(remote, facts, opts, byService, checks, progress)));
  for (const c of containers) {
    // A probed service's stopped container is already reported by its probe.
    if (c.state !== 'running' && !checks.some((x) => x.container === c.name))
      checks.push({ name: c.service, ok: false, detail: `container ${c.name} is ${c.state}`, container: c.name });
  }
  const { targets, check } = await targetsLook(remote, opts, byService.get('prometheus'), checks);
  checks.push(check);
  if (opts.arrival?.metrics) {
    const arrival = { host: opts.arrival.host, endpoint: opts.arrival.metrics, freshness: opts.freshness };
    checks.push(await metricsArrivalCheck(remote, arrival, targets, progress));
  }
  return { ok: checks.every((c) => c.ok), checks, targets };
}

/** The log path's canaries and what Grafana says of its data, once their services answer. */
async function dataChecks(
  remote: RemoteHost,
  facts: HostFacts,
  opts: GateOptions,
  byService: ReadonlyMap<string, ContainerInfo>,
  probed: readonly CheckState[],
  progress: Progress,
): Promise<CheckState[]> {
  const grafana = byService.get('grafana');
  const grafanaReady = probed.some((c) => c.name === 'grafana' && c.ok);
  const loki: LokiSource = opts.arrival?.logs
    ? { endpoint: opts.arrival.logs, host: opts.arrival.host }
    : { container: byService.get('loki'), check: probed.find((c) => c.name === 'loki') };
  const agent = byService.get(opts.canary?.agent.service ?? opts.logAgent);
  const [canaryChecks, appLines, grafanaSeen] = await Promise.all([
    opts.canary ? logPathChecks(remote, facts, opts.canary, loki, agent, progress) : [],
    opts.appLines ? appLineChecks(remote, facts, opts.appLines, loki, agent, progress) : undefined,
    opts.grafana && grafana?.address && grafanaReady
      ? inspectGrafana(remote, grafana.address, grafana.name, opts.grafana)
      : undefined,
  ]);
  // Until Grafana answers, its probe is what fails; then what it says of its data counts.
  if (grafanaSeen) progress.alertRulesLoaded = grafanaSeen.alertRulesLoaded;
  const logs = appLines ? withAppLines(canaryChecks, appLines.verdicts) : canaryChecks;
  return [...logs, ...(appLines?.unread ? [appLines.unread] : []), ...(grafanaSeen?.checks ?? [])];
}

/** Prometheus' targets, once its probe says it is ready. */
async function targetsLook(
  remote: RemoteHost,
  opts: GateOptions,
  prometheus: ContainerInfo | undefined,
  probed: readonly CheckState[],
): Promise<{ targets: TargetState[]; check: CheckState }> {
  if (!probed.find((c) => c.name === 'prometheus')?.ok || !prometheus?.address)
    return { targets: [], check: { name: 'targets', ok: false, detail: 'waiting for Prometheus' } };
  return readTargets(remote, prometheus, opts.freshness);
}

/** Polls with backoff until everything is healthy; at the deadline, fails with what is not. */
export async function healthGate(remote: RemoteHost, facts: HostFacts, opts: GateOptions): Promise<GateResult> {
  const progress: Progress = {
    started: Date.now(),
    looks: 0,
    writes: new Map(),
    arrivedMs: new Map(),
    misrouted: new Map(),
    appLines: { arrived: new Set() },
  };
  const result = await poll<HealthState>({
    timeoutMs: opts.timeoutMs,
    log: opts.log,
    // Services just (re)started answer within a second or two: look early, then back off.
    firstDelayMs: 250,
    look: () => inspectHealth(remote, facts, opts, progress),
    done: (s) => s.ok,
    // The engine may be restarting: keep trying until the deadline.
    failed: (e) => ({
      ok: false,
      checks: [{ name: 'docker', ok: false, detail: headline(e).slice(0, 160) }],
      targets: [],
    }),
    waiting: (s) =>
      s.checks
        .filter((c) => !c.ok)
        .map((c) => `${c.name}: ${c.detail}`)
        .join(' | '),
  });
  if (!result.done) {
    const checks = await explainLogs(remote, facts, opts.network, opts.canary, result.seen.checks);
    throw await gateFailure(remote, facts, { ...result.seen, checks }, opts.timeoutMs);
  }
  return { ...result.seen, elapsedMs: result.elapsedMs, dataPath: dataPathOf(opts, progress) };
}

function dataPathOf(opts: GateOptions, progress: Progress): DataPath {
  return {
    logs: (opts.canary?.spots ?? []).map((s) => ({
      job: s.job,
      hostFile: s.hostFile,
      arrivedMs: progress.arrivedMs.get(s.job),
    })),
    ...(opts.appLines && {
      appLines: {
        mode: opts.appLines.mode,
        arrived: [...progress.appLines.arrived],
        jobs: opts.appLines.plan.jobs.length,
      },
    }),
    alertRulesLoaded: progress.alertRulesLoaded,
  };
}

async function gateFailure(
  remote: RemoteHost,
  facts: HostFacts,
  state: HealthState,
  timeoutMs: number,
): Promise<DeployError> {
  const lines = [`The stack did not become healthy within ${formatDuration(timeoutMs)}:`];
  for (const c of state.checks.filter((x) => !x.ok)) lines.push(`  - ${c.name}: ${c.detail}`);
  for (const t of state.targets.filter((x) => x.health !== 'up')) {
    lines.push(`  - target ${t.job} ${t.scrapeUrl}: ${t.health}, lastError: ${t.lastError || '(none)'}`);
  }
  const broken = [
    ...new Set(
      state.checks.filter((c) => !c.ok && c.container && c.name !== 'targets').map((c) => c.container as string),
    ),
  ];
  for (const name of broken) {
    try {
      const logs = await containerLogs(remote, facts, name);
      lines.push(`Last log lines of ${name}:`, ...logs.split('\n').map((l) => `    ${l}`));
    } catch {
      lines.push(`(could not read the logs of ${name})`);
    }
  }
  return new GateError(lines.join('\n'), state);
}

export class GateError extends DeployError {
  constructor(
    message: string,
    readonly state: HealthState,
    fix = 'see the failing checks and logs above; fix what they name and run again.',
  ) {
    super(message, fix || undefined);
    this.name = 'GateError';
  }
}
