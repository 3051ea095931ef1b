// An agent's health is checked where its data lands: on the central host, its `up` series
// (arriving by remote write, labelled with its host name) must all be 1, and Loki must know its
// host label (its log streams arrived). Asked through the central host's own SSH connection.
import { httpViaHost } from '../connection/http.js';
import type { RemoteHost } from '../connection/ssh.js';
import { headline } from '../errors.js';
import type { HostFacts } from '../host/preflight.js';
import type { Log } from '../report/log.js';
import { listContainers } from './containers.js';
import { poll } from './poll.js';

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
  readonly series: readonly { job: string; instance: string; up: string }[];
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
    let series: Arrival['series'] = [];
    let queryProblem = prometheus ? '' : 'the central Prometheus is not running';
    if (prometheus) {
      const query = encodeURIComponent(`up{host=${JSON.stringify(host)}}`);
      const res = await httpViaHost(remote, prometheus, 9090, {
        path: `/api/v1/query?query=${query}`,
        timeoutMs: 5_000,
      });
      if (res.status === 200) {
        const body = JSON.parse(res.body) as {
          data?: { result?: { metric: Record<string, string>; value: [number, string] }[] };
        };
        series = (body.data?.result ?? []).map((r) => ({
          job: r.metric.job ?? '',
          instance: r.metric.instance ?? '',
          up: r.value[1],
        }));
      } else {
        queryProblem = `the central Prometheus answered ${res.status} ${res.body.slice(0, 120)}`;
      }
    }
    const logs = logHosts.includes(host);
    const down = series.filter((x) => x.up !== '1');
    // Every target the agent scrapes must have arrived, not just the first batch.
    const missing = targets.filter((t) => !series.some((x) => x.job === t.job && x.instance === t.instance));
    const problems = [
      ...(queryProblem ? [queryProblem] : []),
      ...(series.length === 0 && !queryProblem ? [`no up{host="${host}"} series in the central Prometheus yet`] : []),
      ...(series.length ? missing.map((t) => `no up series for ${t.job} (${t.instance}) of ${host} yet`) : []),
      ...down.map((x) => `${x.job} (${x.instance}) is down on ${host}`),
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
