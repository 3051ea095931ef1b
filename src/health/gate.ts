// The health gate: the deploy is green only when every probe of the table answers healthy,
// every active Prometheus target is up with a scrape newer than this deploy, and (on an agent)
// the central endpoints take its credentials. Everything is reached through SSH tunnels to
// container addresses; nothing is published.

import { formatDuration } from '../base/format.js';
import type { Log } from '../base/log.js';
import { credentialsIn, httpViaHost } from '../connection/http.js';
import type { RemoteHost } from '../connection/ssh.js';
import { ConnectionLostError, DeployError, headline } from '../errors.js';
import { dockerCommand } from '../host/docker.js';
import type { HostFacts } from '../host/preflight.js';
import type { DataPathRow } from '../report/summary.js';
import type { AgentSettings, LogAgent, Role, Settings } from '../settings/settings.js';
import {
  type ArrivalPlan,
  askEndpoint,
  type ExpectedTarget,
  metricsArrival,
  type QueryEndpoint,
  queryRefused,
  shownUrl,
} from './arrival.js';
import {
  type CanaryPlan,
  type CanarySpot,
  canaryHits,
  canaryQuery,
  canaryScript,
  parseCanaryWrites,
  type WriteOutcome,
  whyNotArrived,
} from './canary.js';
import { type ContainerInfo, containerLogs, listContainers } from './containers.js';
import { type GrafanaPlan, inspectGrafana } from './grafana.js';
import { poll } from './poll.js';
import { type CheckState, type Probe, probesFor } from './probes.js';
import { type PushCredentials, type PushTarget, probePush } from './push.js';

export type { CheckState };

export interface TargetState {
  readonly job: string;
  readonly instance: string;
  readonly health: string;
  readonly lastError: string;
  readonly lastScrape: string;
  readonly scrapeUrl: string;
  /** The target's own scrape interval (Prometheus reports it per target), in ms. */
  readonly scrapeIntervalMs?: number;
}

export interface HealthState {
  readonly ok: boolean;
  readonly checks: readonly CheckState[];
  readonly targets: readonly TargetState[];
}

/** How the data got through: each log job's canary, Grafana's data sources and rules. */
export interface DataPath {
  readonly logs: readonly { readonly job: string; readonly hostFile?: string; readonly arrivedMs?: number }[];
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
  readonly canary?: CanaryPlan & { readonly token: string };
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

/**
 * A target whose container (or Prometheus itself) this run started or restarted counts only with
 * a scrape newer than the run's start: its old `up` says nothing of the new container. Any other
 * target is judged on its current state: up, and scraped within two of its scrape intervals.
 */
export interface Freshness {
  /** Host clock (epoch seconds) when this run started. */
  readonly sinceEpochSec: number;
  /** Services started or restarted by this run; `all` after a first deploy or a Prometheus restart. */
  readonly restarted: 'all' | readonly string[];
}

/** After (re)starting these services: their targets, or all after Prometheus restarted, need a fresh scrape. */
export function freshnessAfter(sinceEpochSec: number, restarted: readonly string[] | 'all'): Freshness {
  return { sinceEpochSec, restarted: restarted === 'all' || restarted.includes('prometheus') ? 'all' : restarted };
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

/**
 * The targets whose `up` must arrive, each with how recent its newest sample must be: as for
 * the targets check, newer than the run's start where this run (re)started it, else no older
 * than two of its scrape intervals before the run (the engine's own delay on top of that).
 */
export function expectedTargets(targets: readonly TargetState[], f: Freshness): ExpectedTarget[] {
  const since = f.sinceEpochSec * 1000;
  return targets.map((t) => ({
    job: t.job,
    instance: t.instance,
    sinceMs:
      f.restarted === 'all' || f.restarted.includes(targetService(t))
        ? since
        : since - (2 * (t.scrapeIntervalMs ?? 15_000) + 1_000),
  }));
}

/** Prometheus timestamps carry nanoseconds; Date.parse wants at most milliseconds. */
function parsePromTime(t: string): number {
  return Date.parse(t.replace(/(\.\d{3})\d+/, '$1'));
}

/** Prometheus' /api/v1/targets answer, as the gate reads it. */
export function parseTargets(body: string): TargetState[] {
  const data = JSON.parse(body) as { data?: { activeTargets?: Record<string, unknown>[] } };
  return (data.data?.activeTargets ?? []).map((t) => {
    const labels = (t.labels ?? {}) as Record<string, string>;
    return {
      job: labels.job ?? String(t.scrapePool ?? ''),
      instance: labels.instance ?? '',
      health: String(t.health ?? 'unknown'),
      lastError: String(t.lastError ?? ''),
      lastScrape: String(t.lastScrape ?? ''),
      scrapeUrl: String(t.scrapeUrl ?? ''),
      scrapeIntervalMs: durationMs(String(t.scrapeInterval ?? '')),
    };
  });
}

/** Prometheus' durations as the targets API writes them: 15s, 1m, 1m30s, 500ms. */
function durationMs(d: string): number | undefined {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...d.matchAll(/(\d+)(ms|s|m|h)/g)];
  if (!parts.length) return undefined;
  return parts.reduce((n, [, v, u]) => n + Number(v) * (units[u as string] ?? 0), 0);
}

/** The service a target belongs to: its instance's host (`localhost` is Prometheus itself). */
export function targetService(t: TargetState): string {
  const host = t.instance.replace(/:\d+$/, '');
  return host === 'localhost' || host === '127.0.0.1' ? 'prometheus' : host;
}

/** Why a target does not count as up for this run, or undefined; `nowMs`: Prometheus' clock. */
export function targetProblem(t: TargetState, f: Freshness, nowMs?: number): string | undefined {
  if (t.health !== 'up') return `${t.health}${t.lastError ? `: ${t.lastError}` : ''}`;
  const scraped = parsePromTime(t.lastScrape);
  if (f.restarted === 'all' || f.restarted.includes(targetService(t))) {
    return scraped >= f.sinceEpochSec * 1000 ? undefined : 'up, but not yet scraped since this deploy started';
  }
  // Two intervals, and a second for the Date header's whole seconds: a stuck scraper shows.
  const limit = 2 * (t.scrapeIntervalMs ?? 15_000) + 1_000;
  if (nowMs !== undefined && nowMs - scraped > limit)
    return `up, but last scraped ${Math.round((nowMs - scraped) / 1000)}s ago (more than two scrape intervals)`;
  return undefined;
}

/** The targets check: every active target up and scraped as recently as its rule asks. */
export function targetsCheck(
  targets: readonly TargetState[],
  f: Freshness,
  container: string,
  nowMs?: number,
): CheckState {
  const bad = targets.map((t) => [t, targetProblem(t, f, nowMs)] as const).filter(([, why]) => why);
  return {
    name: 'targets',
    ok: targets.length > 0 && bad.length === 0,
    detail:
      targets.length === 0
        ? 'Prometheus has no active targets'
        : bad.length
          ? bad.map(([t, why]) => `${t.job} ${t.instance} ${why}`).join('; ')
          : `${targets.length} up`,
    container,
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

async function targetsOf(remote: RemoteHost, prometheus: ContainerInfo, f: Freshness) {
  try {
    const res = await httpViaHost(remote, prometheus.address as string, 9090, {
      path: '/api/v1/targets?state=active',
      timeoutMs: 5_000,
    });
    const targets = parseTargets(res.body);
    const now = Date.parse(res.headers.date ?? '');
    return { targets, check: targetsCheck(targets, f, prometheus.name, Number.isNaN(now) ? undefined : now) };
  } catch (e) {
    return {
      targets: [],
      check: { name: 'targets', ok: false, detail: headline(e).slice(0, 160), container: prometheus.name },
    };
  }
}

/** What the gate learns over its looks: canary lines written and found, Grafana's rules. */
interface Progress {
  readonly started: number;
  looks: number;
  readonly writes: Map<string, WriteOutcome>;
  readonly arrivedMs: Map<string, number>;
  readonly misrouted: Map<string, string>;
  alertRulesLoaded?: number;
  /** When the agent's `up` series were all found at the metrics query URL. */
  metricsArrivedMs?: number;
}

const logCheckName = (job: string) => `logs ${job}`;

/**
 * Where the canary lines are looked for: the host's own Loki container (with its probe), or,
 * for an agent, a Loki query URL asked from the host, with the agent's host label.
 */
type LokiSource =
  | { readonly container?: ContainerInfo; readonly check?: CheckState; readonly endpoint?: undefined }
  | { readonly endpoint: QueryEndpoint; readonly host: string };

/** Writes the canary lines not yet written (their directory may appear later), then asks Loki. */
async function logPathChecks(
  remote: RemoteHost,
  facts: HostFacts,
  canary: NonNullable<GateOptions['canary']>,
  loki: LokiSource,
  agent: ContainerInfo | undefined,
  progress: Progress,
): Promise<CheckState[]> {
  const pending = canary.spots.filter((s) => s.hostFile && progress.writes.get(s.job)?.state !== 'wrote');
  if (pending.length) {
    const out = await remote.run(canaryScript({ ...canary, spots: pending }, canary.token, dockerCommand(facts)), {
      what: 'Writing the canary log lines',
    });
    for (const [job, w] of parseCanaryWrites(out)) progress.writes.set(job, w);
  }
  const waiting = canary.spots.filter(
    (s) => progress.writes.get(s.job)?.state === 'wrote' && !progress.arrivedMs.has(s.job),
  );
  const ask = (host?: string) => ({
    query: canaryQuery(
      canary.token,
      waiting.map((s) => s.job),
      host,
    ),
    start: `${(Math.floor(progress.started / 1000) - 300) * 1e9}`,
    limit: '1000',
    direction: 'forward',
  });
  const found = (body: string) => {
    const hits = canaryHits(body, canary.token);
    for (const job of hits.arrived)
      if (!progress.arrivedMs.has(job)) progress.arrivedMs.set(job, Date.now() - progress.started);
    for (const [job, label] of hits.misrouted) progress.misrouted.set(job, label);
  };
  let lokiDown: string | undefined;
  if (loki.endpoint) {
    if (waiting.length) {
      try {
        const res = await askEndpoint(remote, loki.endpoint, ask(loki.host));
        lokiDown = queryRefused(loki.endpoint, res.status, res.body);
        if (!lokiDown) found(res.body);
      } catch (e) {
        if (e instanceof ConnectionLostError) throw e;
        lokiDown = `${shownUrl(loki.endpoint.url)} cannot be reached from the host: ${headline(e)}`;
      }
    }
  } else {
    const lokiReady = loki.check?.ok === true;
    let queryFailed: string | undefined;
    if (waiting.length && loki.container?.address && lokiReady) {
      // A query that fails is this look's answer about the log path, not the end of the look.
      try {
        const res = await httpViaHost(remote, loki.container.address, 3100, {
          path: `/loki/api/v1/query_range?${new URLSearchParams(ask())}`,
          timeoutMs: 5_000,
        });
        if (res.status === 200) found(res.body);
        else queryFailed = `Loki answered the query with HTTP ${res.status}: ${res.body.trim().slice(0, 200)}`;
      } catch (e) {
        if (e instanceof ConnectionLostError) throw e;
        queryFailed = `Loki could not be queried: ${headline(e)}`;
      }
    }
    lokiDown = lokiReady
      ? queryFailed
      : !loki.check || loki.check.detail.startsWith('no ')
        ? 'there is no Loki container'
        : loki.check.detail.startsWith('container ')
          ? 'Loki is not running'
          : 'Loki is not ready yet';
  }
  const at = loki.endpoint && shownUrl(loki.endpoint.url);
  return canary.spots.map((s) => logCheck(s, canary, progress, agent, lokiDown, at));
}

function logCheck(
  spot: CanarySpot,
  canary: NonNullable<GateOptions['canary']>,
  progress: Progress,
  agent: ContainerInfo | undefined,
  lokiDown: string | undefined,
  /** The Loki query URL asked, if not the host's own Loki. */
  at: string | undefined,
): CheckState {
  const name = logCheckName(spot.job);
  const fail = (detail: string): CheckState => ({ name, ok: false, detail, container: agent?.name });
  if (spot.problem) return fail(spot.problem);
  const arrived = progress.arrivedMs.get(spot.job);
  if (arrived !== undefined)
    return { name, ok: true, detail: `canary arrived in ${formatDuration(arrived)}${at ? ` at ${at}` : ''}` };
  const written = progress.writes.get(spot.job);
  const where = `${canary.agent.title} watches ${spot.glob}, which is ${spot.hostFile?.replace(/\/[^/]*$/, '')} on the host`;
  if (written?.state === 'nodir')
    return fail(
      `${where}, and that directory does not exist: nothing writes there${written.siblings ? ` (next to it: ${written.siblings})` : ''}`,
    );
  if (written?.state === 'denied')
    return fail(`${where}, but the canary line could not be written there (no permission, no sudo)`);
  if (lokiDown) return fail(lokiDown);
  const misrouted = progress.misrouted.get(spot.job);
  if (misrouted !== undefined)
    return fail(`the line written to ${spot.hostFile} arrived under job "${misrouted}", not "${spot.job}"`);
  return fail(`the line written to ${spot.hostFile} is not ${at ? `at ${at}` : 'in Loki'} yet (${where})`);
}

/** The agent's `up` series at the metrics query URL, once its own Prometheus names its targets. */
async function metricsArrivalCheck(
  remote: RemoteHost,
  opts: GateOptions,
  endpoint: QueryEndpoint,
  targets: readonly TargetState[],
  progress: Progress,
): Promise<CheckState> {
  const name = 'metrics arrival';
  const host = opts.arrival?.host ?? '';
  if (!targets.length)
    return {
      name,
      ok: false,
      detail: `waiting for the agent's own targets before asking ${shownUrl(endpoint.url)}`,
    };
  const seen = await metricsArrival(remote, host, endpoint, expectedTargets(targets, opts.freshness));
  if (!seen.ok) return { name, ...seen };
  progress.metricsArrivedMs ??= Date.now() - progress.started;
  return { name, ok: true, detail: `${seen.detail} (arrived in ${formatDuration(progress.metricsArrivedMs)})` };
}

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
  const grafana = byService.get('grafana');
  const grafanaReady = checks.some((c) => c.name === 'grafana' && c.ok);
  const [logs, grafanaSeen] = await Promise.all([
    opts.canary
      ? logPathChecks(
          remote,
          facts,
          opts.canary,
          opts.arrival?.logs
            ? { endpoint: opts.arrival.logs, host: opts.arrival.host }
            : { container: byService.get('loki'), check: checks.find((c) => c.name === 'loki') },
          byService.get(opts.canary.agent.service),
          progress,
        )
      : [],
    opts.grafana && grafana?.address && grafanaReady
      ? inspectGrafana(remote, grafana.address, grafana.name, opts.grafana)
      : undefined,
  ]);
  checks.push(...logs);
  // Until Grafana answers, its probe is what fails; then what it says of its data counts.
  if (grafanaSeen) {
    checks.push(...grafanaSeen.checks);
    progress.alertRulesLoaded = grafanaSeen.alertRulesLoaded;
  }
  for (const c of containers) {
    // A probed service's stopped container is already reported by its probe.
    if (c.state !== 'running' && !checks.some((x) => x.container === c.name))
      checks.push({ name: c.service, ok: false, detail: `container ${c.name} is ${c.state}`, container: c.name });
  }
  let targets: TargetState[] = [];
  const prometheus = byService.get('prometheus');
  if (checks.find((c) => c.name === 'prometheus')?.ok && prometheus?.address) {
    const seen = await targetsOf(remote, prometheus, opts.freshness);
    targets = seen.targets;
    checks.push(seen.check);
  } else {
    checks.push({ name: 'targets', ok: false, detail: 'waiting for Prometheus' });
  }
  if (opts.arrival?.metrics)
    checks.push(await metricsArrivalCheck(remote, opts, opts.arrival.metrics, targets, progress));
  return { ok: checks.every((c) => c.ok), checks, targets };
}

/** Polls with backoff until everything is healthy; at the deadline, fails with what is not. */
export async function healthGate(remote: RemoteHost, facts: HostFacts, opts: GateOptions): Promise<GateResult> {
  const progress: Progress = {
    started: Date.now(),
    looks: 0,
    writes: new Map(),
    arrivedMs: new Map(),
    misrouted: new Map(),
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
  if (!result.done)
    throw await gateFailure(remote, facts, await explainLogs(remote, facts, opts, result.seen), opts.timeoutMs);
  return { ...result.seen, elapsedMs: result.elapsedMs, dataPath: dataPathOf(opts, progress) };
}

function dataPathOf(opts: GateOptions, progress: Progress): DataPath {
  return {
    logs: (opts.canary?.spots ?? []).map((s) => ({
      job: s.job,
      hostFile: s.hostFile,
      arrivedMs: progress.arrivedMs.get(s.job),
    })),
    alertRulesLoaded: progress.alertRulesLoaded,
  };
}

/** A canary line not found yet: in the host's Loki, or at the Loki query URL. */
const NOT_YET = / is not (?:in Loki|at (\S+)) yet .*$/;

/** Lines written but not found: say why, from the agent's metrics and its last log lines. */
async function explainLogs(
  remote: RemoteHost,
  facts: HostFacts,
  opts: GateOptions,
  state: HealthState,
): Promise<HealthState> {
  const canary = opts.canary;
  const unexplained = (c: CheckState) => c.name.startsWith('logs ') && !c.ok && NOT_YET.test(c.detail);
  if (!canary || !state.checks.some(unexplained)) return state;
  const agent = (await listContainers(remote, facts, opts.network).catch(() => [])).find(
    (c) => c.service === canary.agent.service,
  );
  const [metrics, logs] = await Promise.all([
    agent?.address && canary.agent.port
      ? httpViaHost(remote, agent.address, canary.agent.port, {
          path: '/metrics',
          timeoutMs: 5_000,
        })
          .then((r) => r.body)
          .catch(() => undefined)
      : undefined,
    agent ? containerLogs(remote, facts, agent.name, 40).catch(() => '') : '',
  ]);
  const checks = state.checks.map((c) => {
    const spot = canary.spots.find((s) => logCheckName(s.job) === c.name);
    if (!spot || !unexplained(c)) return c;
    const detail = `${c.detail.replace(NOT_YET, (_all, at?: string) => ` did not reach ${at ?? 'Loki'}`)}: ${
      agent
        ? whyNotArrived(spot, canary.agent.title, metrics, logs)
        : `the ${canary.agent.service} container is not there`
    }`;
    return { ...c, detail };
  });
  return { ...state, checks };
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

/**
 * Log jobs with their canary's arrival, each target, an agent's `up` series where they were
 * looked for, and what Grafana says of its data.
 */
export function dataPathRows(state: HealthState): DataPathRow[] {
  const rows: DataPathRow[] = [];
  for (const c of state.checks.filter((x) => x.name.startsWith('logs '))) {
    rows.push({ what: `log job ${c.name.slice(5)}`, ok: c.ok, detail: c.detail });
  }
  for (const t of state.targets) {
    rows.push({
      what: `target ${t.job} ${t.instance}`,
      ok: t.health === 'up',
      detail: t.health === 'up' ? `up, scraped ${t.lastScrape}` : `${t.health}: ${t.lastError}`,
    });
  }
  for (const c of state.checks.filter((x) => x.name === 'metrics arrival')) {
    rows.push({ what: 'metrics arrival', ok: c.ok, detail: c.detail });
  }
  for (const c of state.checks.filter((x) => x.name.startsWith('grafana '))) {
    rows.push({ what: c.name.replace(/^grafana /, 'Grafana '), ok: c.ok, detail: c.detail });
  }
  return rows;
}
