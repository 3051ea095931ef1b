// The gate's targets: Prometheus' active targets, each up and scraped as recently as this run
// needs (newer than the run's start where the run restarted it), and on an agent its `up`
// series read back at the central metrics query URL.
import { formatDuration } from '../base/format.js';
import { httpViaHost } from '../connection/http.js';
import type { RemoteHost } from '../connection/ssh.js';
import { headline } from '../errors.js';
import { type ExpectedTarget, metricsArrival, type QueryEndpoint, shownUrl } from './arrival.js';
import type { ContainerInfo } from './containers.js';
import type { CheckState } from './probes.js';

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

/** Prometheus' active targets, and the targets check made of them. */
export async function readTargets(remote: RemoteHost, prometheus: ContainerInfo, f: Freshness) {
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

/** The agent's `up` series at the metrics query URL, once its own Prometheus names its targets. */
export async function metricsArrivalCheck(
  remote: RemoteHost,
  arrival: { readonly host: string; readonly endpoint: QueryEndpoint; readonly freshness: Freshness },
  targets: readonly TargetState[],
  progress: { readonly started: number; metricsArrivedMs?: number },
): Promise<CheckState> {
  const name = 'metrics arrival';
  const { endpoint } = arrival;
  if (!targets.length)
    return {
      name,
      ok: false,
      detail: `waiting for the agent's own targets before asking ${shownUrl(endpoint.url)}`,
    };
  const seen = await metricsArrival(remote, arrival.host, endpoint, expectedTargets(targets, arrival.freshness));
  if (!seen.ok) return { name, ...seen };
  progress.metricsArrivedMs ??= Date.now() - progress.started;
  return { name, ok: true, detail: `${seen.detail} (arrived in ${formatDuration(progress.metricsArrivedMs)})` };
}
