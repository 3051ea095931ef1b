// The health gate: the deploy is green only when Prometheus is ready and every active target is
// up with a scrape newer than this deploy, Loki is ready, Grafana answers, and the log agent is
// ready. Everything is reached through SSH tunnels to container addresses; nothing is published.
import { httpViaHost } from '../connection/http.js';
import type { RemoteHost } from '../connection/ssh.js';
import { DeployError } from '../errors.js';
import type { HostFacts } from '../host/preflight.js';
import type { Log } from '../report/log.js';
import { formatDuration } from '../settings/parse.js';
import type { LogAgent, Role } from '../settings/settings.js';
import { type ContainerInfo, containerLogs, listContainers } from './containers.js';
import { type PushCredentials, type PushTarget, probePush } from './push.js';

export interface TargetState {
  readonly job: string;
  readonly instance: string;
  readonly health: string;
  readonly lastError: string;
  readonly lastScrape: string;
  readonly scrapeUrl: string;
}

export interface CheckState {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  /** The container to show logs of when this check fails. */
  readonly container?: string;
}

export interface GateResult {
  readonly ok: boolean;
  readonly checks: readonly CheckState[];
  readonly targets: readonly TargetState[];
  readonly elapsedMs: number;
}

export interface GateOptions {
  readonly network: string;
  readonly logAgent: LogAgent;
  /** An agent host runs no Loki or Grafana; it must get its writes accepted centrally. */
  readonly role?: Role;
  readonly push?: { readonly targets: readonly PushTarget[]; readonly credentials: PushCredentials };
  readonly timeoutMs: number;
  /** Host clock (epoch seconds) when this deploy started: targets must have a newer scrape. */
  readonly sinceEpochSec: number;
  readonly log: Log;
}

interface Probe {
  readonly name: string;
  readonly service: string;
  readonly port: number;
  readonly path: string;
  judge(status: number, body: string): string | undefined;
}

const firstLine = (s: string) => s.trim().split('\n')[0]?.slice(0, 160) ?? '';

/** A service whose readiness endpoint answers 200 when it is ready. */
function readyProbe(service: string, port: number, path: string): Probe {
  return {
    name: service,
    service,
    port,
    path,
    judge: (s, b) => (s === 200 ? undefined : `${path} answered ${s} ${firstLine(b)}`),
  };
}

export function probes(logAgent: LogAgent, role: Role = 'monitoring'): Probe[] {
  const prometheus = readyProbe('prometheus', 9090, '/-/ready');
  const shipper =
    logAgent === 'alloy' ? readyProbe('alloy', 12345, '/-/ready') : readyProbe('promtail', 9080, '/ready');
  if (role === 'agent') return [prometheus, shipper];
  return [
    prometheus,
    {
      name: 'loki',
      service: 'loki',
      port: 3100,
      path: '/ready',
      judge: (s, b) => (s === 200 && b.trim() === 'ready' ? undefined : `/ready answered ${s} ${firstLine(b)}`),
    },
    {
      name: 'grafana',
      service: 'grafana',
      port: 3000,
      path: '/api/health',
      judge: (s, b) => {
        if (s !== 200) return `/api/health answered ${s} ${firstLine(b)}`;
        try {
          return (JSON.parse(b) as { database?: string }).database === 'ok' ? undefined : `database ${firstLine(b)}`;
        } catch {
          return `/api/health is not JSON: ${firstLine(b)}`;
        }
      },
    },
    shipper,
  ];
}

/** Prometheus timestamps carry nanoseconds; Date.parse wants at most milliseconds. */
export function parsePromTime(t: string): number {
  return Date.parse(t.replace(/(\.\d{3})\d+/, '$1'));
}

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
    };
  });
}

/** Why a target does not count as up for this deploy, or undefined. */
export function targetProblem(t: TargetState, sinceEpochSec: number): string | undefined {
  if (t.health !== 'up') return `${t.health}${t.lastError ? `: ${t.lastError}` : ''}`;
  const scraped = parsePromTime(t.lastScrape);
  if (!(scraped >= sinceEpochSec * 1000)) return 'up, but not yet scraped since this deploy started';
  return undefined;
}

async function probe(remote: RemoteHost, c: ContainerInfo | undefined, p: Probe): Promise<CheckState> {
  if (!c) return { name: p.name, ok: false, detail: `no ${p.service} container` };
  if (c.state !== 'running')
    return { name: p.name, ok: false, detail: `container ${c.name} is ${c.state}`, container: c.name };
  if (!c.address)
    return { name: p.name, ok: false, detail: `container ${c.name} has no address on the network`, container: c.name };
  try {
    const res = await httpViaHost(remote, c.address, p.port, { path: p.path, timeoutMs: 5_000 });
    const why = p.judge(res.status, res.body);
    return { name: p.name, ok: !why, detail: why ?? 'ready', container: c.name };
  } catch (e) {
    return { name: p.name, ok: false, detail: firstLine((e as Error).message), container: c.name };
  }
}

/** One look at everything the gate checks. */
export async function inspectHealth(
  remote: RemoteHost,
  facts: HostFacts,
  opts: GateOptions,
): Promise<Omit<GateResult, 'elapsedMs'>> {
  const containers = await listContainers(remote, facts, opts.network);
  const byService = new Map(containers.map((c) => [c.service, c]));
  const checks = await Promise.all([
    ...probes(opts.logAgent, opts.role).map((p) => probe(remote, byService.get(p.service), p)),
    ...(opts.push?.targets ?? []).map((t) => probePush(remote, t, opts.push?.credentials ?? { username: '' })),
  ]);
  for (const c of containers) {
    // A probed service's stopped container is already reported by its probe.
    if (c.state !== 'running' && !checks.some((x) => x.container === c.name))
      checks.push({ name: c.service, ok: false, detail: `container ${c.name} is ${c.state}`, container: c.name });
  }
  let targets: TargetState[] = [];
  const prom = byService.get('prometheus');
  if (checks.find((c) => c.name === 'prometheus')?.ok && prom?.address) {
    try {
      const res = await httpViaHost(remote, prom.address, 9090, {
        path: '/api/v1/targets?state=active',
        timeoutMs: 5_000,
      });
      targets = parseTargets(res.body);
      const bad = targets.map((t) => [t, targetProblem(t, opts.sinceEpochSec)] as const).filter(([, why]) => why);
      checks.push({
        name: 'targets',
        ok: targets.length > 0 && bad.length === 0,
        detail:
          targets.length === 0
            ? 'Prometheus has no active targets'
            : bad.length
              ? bad.map(([t, why]) => `${t.job} ${t.instance} ${why}`).join('; ')
              : `${targets.length} up`,
        container: prom.name,
      });
    } catch (e) {
      checks.push({ name: 'targets', ok: false, detail: firstLine((e as Error).message), container: prom.name });
    }
  } else {
    checks.push({ name: 'targets', ok: false, detail: 'waiting for Prometheus' });
  }
  return { ok: checks.every((c) => c.ok), checks, targets };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls with backoff until everything is healthy or the deadline passes. */
export async function healthGate(remote: RemoteHost, facts: HostFacts, opts: GateOptions): Promise<GateResult> {
  const started = Date.now();
  const deadline = started + opts.timeoutMs;
  let delay = 1_000;
  let last = '';
  for (;;) {
    let state: Omit<GateResult, 'elapsedMs'>;
    try {
      state = await inspectHealth(remote, facts, opts);
    } catch (e) {
      // The engine may be restarting: keep trying until the deadline.
      if (e instanceof DeployError && /connection .* was lost/i.test(e.message)) throw e;
      state = {
        ok: false,
        checks: [{ name: 'docker', ok: false, detail: firstLine((e as Error).message) }],
        targets: [],
      };
    }
    if (state.ok) return { ...state, elapsedMs: Date.now() - started };
    const waiting = state.checks
      .filter((c) => !c.ok)
      .map((c) => `${c.name}: ${c.detail}`)
      .join(' | ');
    if (waiting !== last) {
      opts.log.info(`  waiting (${formatDuration(Date.now() - started)}): ${waiting}`);
      last = waiting;
    }
    if (Date.now() + delay > deadline) {
      throw await gateFailure(remote, facts, state, opts.timeoutMs);
    }
    await sleep(delay);
    delay = Math.min(Math.round(delay * 1.5), 5_000);
  }
}

async function gateFailure(
  remote: RemoteHost,
  facts: HostFacts,
  state: Omit<GateResult, 'elapsedMs'>,
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
  const err = new GateError(lines.join('\n'), state);
  return err;
}

export class GateError extends DeployError {
  constructor(
    message: string,
    readonly state: Omit<GateResult, 'elapsedMs'>,
    fix = 'see the failing checks and logs above; `monitoring-deploy check` reruns the gate alone.',
  ) {
    super(message, fix || undefined);
    this.name = 'GateError';
  }
}
