// An agent's data, read back where it lands: the `up` series of every target it scrapes
// (arriving by remote write, labelled with its host name) must be 1, and its logs must be found.
// Two places to read: the central host's own Prometheus and Loki (a run with the monitoring host,
// through that host's SSH connection), or the query URLs of any engine (VictoriaMetrics, Mimir,
// Grafana Cloud, a Loki cluster), asked from the agent host itself.

import { oneLine } from '../base/format.js';
import type { Log } from '../base/log.js';
import { answerWords, basicAuth, httpFromHost, httpViaHost, statusWords } from '../connection/http.js';
import type { RemoteHost } from '../connection/ssh.js';
import { headline } from '../errors.js';
import type { HostFacts } from '../host/preflight.js';
import { withoutUserinfo } from '../settings/parse.js';
import { listContainers } from './containers.js';
import { poll } from './poll.js';

/** A query endpoint, and the credentials to ask it with. */
export interface QueryEndpoint {
  readonly url: string;
  readonly credentials: {
    readonly username: string;
    readonly password?: string;
    /** Where they come from, for a refusal: `query-username / query-password`, … */
    readonly from: string;
  };
}

/** Where an agent's data is read back, by its host label. */
export interface ArrivalPlan {
  readonly host: string;
  readonly metrics?: QueryEndpoint;
  readonly logs?: QueryEndpoint;
}

/**
 * Asked of every engine with each query. VictoriaMetrics hides samples newer than its
 * -search.latencyOffset (30 s by default) unless a query sets latency_offset (it refuses 0; 1ms
 * is the least), and nocache=1 keeps its response cache out. Prometheus ignores parameters it
 * does not know (3.5 checked); Mimir and Thanos, which read the same API's parameters by name,
 * were not run here.
 */
export const FRESH_PARAMS: Readonly<Record<string, string>> = { latency_offset: '1ms', nocache: '1' };

/** The URL with these query parameters set, keeping any it already had. */
export function withParams(url: string, params: Readonly<Record<string, string>>): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u.toString();
}

/** A URL as messages and the summary show it: no user:password@. */
export const shownUrl = withoutUserinfo;

/** The selector of a host's `up` series. */
export const upSelector = (host: string) => `up{host=${JSON.stringify(host)}}`;

/** The newest `up` sample of one series; `atMs` when the answer has sample times (a range). */
export interface UpSeries {
  readonly job: string;
  readonly instance: string;
  readonly up: string;
  readonly atMs?: number;
}

/**
 * A Prometheus query API answer for `up`: an instant vector (`value`: the query's time) or a
 * range (`values`: the raw samples, the newest last).
 */
export function parseUpAnswer(body: string): UpSeries[] {
  const data = JSON.parse(body) as {
    status?: string;
    error?: string;
    data?: {
      result?: { metric?: Record<string, string>; value?: [number, string]; values?: [number, string][] }[];
    };
  };
  if (data.status !== 'success' || !Array.isArray(data.data?.result))
    throw new Error(data.error ?? 'not a query answer');
  return data.data.result.map((r) => {
    const last = r.values?.at(-1) ?? r.value;
    return {
      job: r.metric?.job ?? '',
      instance: r.metric?.instance ?? '',
      up: last?.[1] ?? '',
      ...(r.values && last ? { atMs: Math.round(Number(last[0]) * 1000) } : {}),
    };
  });
}

/** A target the agent scrapes; its newest sample must be no older than sinceMs (host clock). */
export interface ExpectedTarget {
  readonly job: string;
  readonly instance: string;
  readonly sinceMs?: number;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

/** What has not arrived yet of these targets' `up` series; empty when all are there, 1 and fresh. */
export function missingUp(expected: readonly ExpectedTarget[], series: readonly UpSeries[]): string[] {
  if (!series.length) return ['no series yet'];
  return expected.flatMap((t) => {
    const s = series.find((x) => x.job === t.job && x.instance === t.instance);
    const name = `${t.job} (${t.instance})`;
    if (!s) return [`no series for ${name} yet`];
    if (s.up !== '1') return [`${name} is ${s.up} (down where the agent scrapes it)`];
    if (t.sinceMs !== undefined && s.atMs !== undefined && s.atMs < t.sinceMs)
      return [`${name}: newest sample ${iso(s.atMs)}, none since ${iso(t.sinceMs)} yet`];
    return [];
  });
}

/** A query endpoint's answer other than 200, in words; undefined for 200. */
export function queryRefused(endpoint: QueryEndpoint, status: number, body: string): string | undefined {
  const where = shownUrl(endpoint.url);
  if (status === 200) return undefined;
  if (status === 401 || status === 403)
    return `${where} answered ${statusWords(status)}: ${endpoint.credentials.from} are not accepted there`;
  if (status === 404) return `${where} answered 404: no query endpoint at that path`;
  let said = body;
  try {
    // Prometheus, VictoriaMetrics and Loki say what is wrong in a JSON error.
    said = (JSON.parse(body) as { error?: string }).error ?? body;
  } catch {}
  return `${where} answered ${answerWords(status, said)}`;
}

export interface QueryOutcome {
  readonly ok: boolean;
  readonly detail: string;
}

/** A GET of the endpoint with these parameters, from the host, with its credentials. */
export function askEndpoint(remote: RemoteHost, endpoint: QueryEndpoint, params: Readonly<Record<string, string>>) {
  return httpFromHost(remote, withParams(endpoint.url, params), {
    headers: basicAuth(endpoint.credentials),
    timeoutMs: 5_000,
  });
}

/**
 * One look at the metrics query URL: the raw `up` samples of the host over Prometheus' lookback
 * (5 minutes), so that both the newest value and its time are known, as fresh as the engine
 * shows them.
 */
export async function metricsArrival(
  remote: RemoteHost,
  host: string,
  endpoint: QueryEndpoint,
  expected: readonly ExpectedTarget[],
): Promise<QueryOutcome> {
  const where = shownUrl(endpoint.url);
  const selector = upSelector(host);
  const fail = (detail: string) => ({ ok: false, detail });
  let res: Awaited<ReturnType<typeof askEndpoint>>;
  try {
    res = await askEndpoint(remote, endpoint, { query: `${selector}[5m]`, ...FRESH_PARAMS });
  } catch (e) {
    return fail(`${where} cannot be reached from the host: ${headline(e)}`);
  }
  const refused = queryRefused(endpoint, res.status, res.body);
  if (refused) return fail(refused);
  let series: UpSeries[];
  try {
    series = parseUpAnswer(res.body);
  } catch {
    return fail(`${where} answered 200, but not as a Prometheus query API does: ${oneLine(res.body, 120)}`);
  }
  const missing = missingUp(expected, series);
  if (missing.length) return fail(`waiting for ${selector} at ${where}: ${missing.join('; ')}`);
  const n = expected.length;
  return { ok: true, detail: `${selector} of ${n} target${n === 1 ? '' : 's'} is 1 at ${where}` };
}

/** An agent host and the targets its own Prometheus scrapes (from its gate). */
export interface ExpectedAgent {
  readonly host: string;
  readonly targets: readonly { readonly job: string; readonly instance: string }[];
}

export interface Arrival {
  readonly host: string;
  readonly ok: boolean;
  readonly detail: string;
  /** The jobs whose `up` series arrived, with their value. */
  readonly series: readonly UpSeries[];
  readonly logs: boolean;
}

/** One look at what the central Prometheus and Loki hold for each agent host. */
async function lookForAgents(
  remote: RemoteHost,
  facts: HostFacts,
  network: string,
  agents: readonly ExpectedAgent[],
): Promise<Arrival[]> {
  const containers = await listContainers(remote, facts, network);
  const address = (service: string) => containers.find((c) => c.service === service && c.state === 'running')?.address;
  const prometheus = address('prometheus');
  const loki = address('loki');
  let logHosts: string[] = [];
  if (loki) {
    const res = await httpViaHost(remote, loki, 3100, { path: '/loki/api/v1/label/host/values', timeoutMs: 5_000 });
    if (res.status === 200) logHosts = ((JSON.parse(res.body) as { data?: string[] }).data ?? []).map(String);
  }
  const out: Arrival[] = [];
  for (const { host, targets } of agents) {
    let series: UpSeries[] = [];
    let queryProblem = prometheus ? '' : 'the central Prometheus is not running';
    if (prometheus) {
      const res = await httpViaHost(remote, prometheus, 9090, {
        path: `/api/v1/query?query=${encodeURIComponent(upSelector(host))}`,
        timeoutMs: 5_000,
      });
      if (res.status === 200) series = parseUpAnswer(res.body);
      else queryProblem = `the central Prometheus answered ${res.status} ${oneLine(res.body, 120)}`;
    }
    const logs = logHosts.includes(host);
    // Every target the agent scrapes must have arrived, not just the first batch.
    const missing = queryProblem ? [] : missingUp(targets, series);
    const problems = [
      ...(queryProblem ? [queryProblem] : []),
      ...(missing.length ? [`${upSelector(host)} in the central Prometheus: ${missing.join('; ')}`] : []),
      ...(logs ? [] : [`no log streams with host="${host}" in the central Loki yet`]),
    ];
    out.push({
      host,
      ok: problems.length === 0,
      detail: problems.length ? problems.join('; ') : `${series.length} up series and log streams arrived`,
      series,
      logs,
    });
  }
  return out;
}

/** Polls until every agent's data is there or the deadline passes; returns the last look. */
export async function waitForAgents(
  remote: RemoteHost,
  facts: HostFacts,
  network: string,
  agents: readonly ExpectedAgent[],
  timeoutMs: number,
  log: Log,
): Promise<Arrival[]> {
  const result = await poll<Arrival[]>({
    timeoutMs,
    log,
    label: 'waiting for agents',
    look: () => lookForAgents(remote, facts, network, agents),
    done: (seen) => seen.every((a) => a.ok),
    failed: (e) => agents.map(({ host }) => ({ host, ok: false, detail: headline(e), series: [], logs: false })),
    waiting: (seen) =>
      seen
        .filter((a) => !a.ok)
        .map((a) => `${a.host}: ${a.detail}`)
        .join(' | '),
  });
  return result.seen;
}
