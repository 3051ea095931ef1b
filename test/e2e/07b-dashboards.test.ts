// Dashboards that tell the truth, with two hosts reporting: every panel query of the bundled
// dashboards runs against the sandbox's real Prometheus and real Loki, its Grafana variables
// filled in as Grafana would for the dashboards' default view (the last hour, host = All). A
// panel a default app fills must have data from both hosts, and no series may lack the host
// label (that is two hosts merged into one line). Panels that a healthy default app leaves empty
// are listed below with the reason, not skipped.
//
// It runs right after 07-agents (the name sorts there), on the central host (`central`) and the
// agent host (`agent1`) that file leaves deployed; run on its own, it deploys them itself.
// Grafana is a stand-in in the sandbox: what Grafana does with a query before sending it (the
// variable interpolation, $__interval and $__rate_interval) is emulated here, by src/lint/queries.ts.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { dashboardQueries, grafanaBuiltins, interpolateGrafana, type StackQuery } from '../../src/lint/queries';
import { type AgentHost, fleetInputs, loadAgent } from '../helpers/agents';
import { deployWithAction, lokiGet, sh } from '../helpers/deploy';
import { loadSandbox, type Sandbox } from '../helpers/sandbox';

const HOSTS = ['central', 'agent1'];
const DASHBOARDS = resolve(__dirname, '../../compose/grafana/dashboards');
const RANGE_MS = 3_600_000; // every bundled dashboard opens on now-1h
// Prometheus: the data source's timeInterval (15 s) is the floor of $__interval, so a one-hour
// view gets 15 s; $__rate_interval is then max(15 s + 15 s, 4 × 15 s) = 1m0s. Loki has no floor:
// Grafana's frontend makes one hour over a panel about 900 px wide 4 s, rounded to 5 s.
const BUILTINS = {
  promql: grafanaBuiltins(RANGE_MS, 15_000, 15_000),
  logql: grafanaBuiltins(RANGE_MS, 5000),
} as const;

/** Targets a healthy default app leaves empty, and why. Keyed `Dashboard › panel › refId`. */
const EMPTY_FOR_A_HEALTHY_APP: Record<string, string> = {
  'Overview › HTTP 5xx › A': 'no 5xx answers: the app is healthy',
  'Overview › HTTP request rate / 5xx rate › B': 'no 5xx answers: the app is healthy',
  'Spring Boot › HTTP 5xx › A': 'no 5xx answers: the app is healthy',
  'Spring Boot › HTTP 5xx error rate › A': 'no 5xx answers: the app is healthy',
  'Spring Boot › HikariCP active connections › A': 'the app has no JDBC DataSource (HikariCP publishes only with one)',
  'Overview › Error log lines (5m) › A': 'no ERROR lines: the app is healthy (08-data-path fills it on purpose)',
  'Logs › Application: ERROR › A': 'no ERROR lines: the app is healthy',
  'Logs › nginx error log › A': 'nginx logs at level warn and above only: nothing went wrong',
};

/** Swap panels are empty on a host without swap (`> 0` keeps a division by zero out). */
const EMPTY_WITHOUT_SWAP = [
  'Host › Swap used › A',
  'Host › Memory & swap used % › B',
  'Overview › Host swap › A',
  'Overview › Host CPU / memory / swap % › C',
];

interface Series {
  readonly labels: Record<string, string>;
  readonly samples: number;
}

interface PanelQuery extends StackQuery {
  readonly key: string;
}

let s: Sandbox;
let agent: AgentHost;
let prometheus = '';

function bundledQueries(): PanelQuery[] {
  const types = {
    byUid: new Map([
      ['prometheus', 'prometheus'],
      ['loki', 'loki'],
    ]),
    defaultType: 'prometheus',
  };
  return readdirSync(DASHBOARDS).flatMap((file) => {
    const text = readFileSync(join(DASHBOARDS, file), 'utf8');
    const title = JSON.parse(text).title as string;
    return dashboardQueries(file, text, types).map((q) => ({
      ...q,
      key: `${title} › ${q.owner.replace(/^panel "(.*)"$/, '$1')} › ${q.refId}`,
    }));
  });
}

/** The query as Grafana sends it, with the host variable set to `host` (`.*`: All). */
const asSent = (q: StackQuery, host: string) =>
  interpolateGrafana(q.expr, { ...BUILTINS[q.language], ...q.variables, host });

async function promSeries(q: StackQuery, expr: string, now: number): Promise<Series[]> {
  const params = q.instant
    ? `query?time=${now / 1000}`
    : `query_range?start=${(now - RANGE_MS) / 1000}&end=${now / 1000}&step=15`;
  const res = await fetch(`${prometheus}/api/v1/${params}&query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data?: { result: { metric: Record<string, string>; value?: unknown; values?: unknown[] }[] };
  };
  if (body.status !== 'success') throw new Error(`Prometheus refused ${expr}: ${body.error}`);
  return (body.data?.result ?? []).map((r) => ({ labels: r.metric, samples: r.values ? r.values.length : 1 }));
}

function lokiSeries(q: StackQuery, expr: string, now: number): Series[] {
  const ns = (ms: number) => `${BigInt(ms) * 1_000_000n}`;
  const path = q.instant
    ? `/loki/api/v1/query?time=${ns(now)}&query=${encodeURIComponent(expr)}`
    : `/loki/api/v1/query_range?start=${ns(now - RANGE_MS)}&end=${ns(now)}&step=5s&limit=1000&direction=backward&query=${encodeURIComponent(expr)}`;
  const body = JSON.parse(lokiGet(path)) as {
    data?: { result: { stream?: Record<string, string>; metric?: Record<string, string>; values?: unknown[] }[] };
  };
  return (body.data?.result ?? []).map((r) => ({
    labels: r.stream ?? r.metric ?? {},
    samples: r.values ? r.values.length : 1,
  }));
}

async function seriesOf(q: StackQuery, host: string): Promise<Series[]> {
  const expr = asSent(q, host);
  const now = Date.now();
  const all = q.language === 'promql' ? await promSeries(q, expr, now) : lokiSeries(q, expr, now);
  return all.filter((x) => x.samples > 0);
}

/** What is wrong with one target's answer, with two hosts reporting; empty when nothing is. */
function judge(q: PanelQuery, series: Series[], mayBeEmpty: (key: string) => boolean): string[] {
  const problems: string[] = [];
  const merged = series.filter((x) => !x.labels.host);
  if (merged.length)
    problems.push(`${q.key}: ${merged.length} series without a host label (hosts merged): ${asSent(q, '.*')}`);
  const shown = new Set(series.map((x) => x.labels.host));
  const missing = HOSTS.filter((h) => !shown.has(h));
  if (missing.length && !(series.length === 0 && mayBeEmpty(q.key)))
    problems.push(`${q.key}: no data for ${missing.join(', ')}: ${asSent(q, '.*')}`);
  return problems;
}

async function swaplessHosts(): Promise<boolean> {
  const swap = await promSeries(
    { instant: true } as StackQuery,
    'sum by (host) (node_memory_SwapTotal_bytes{job="node"}) > 0',
    Date.now(),
  );
  return swap.length < HOSTS.length;
}

async function dashboardProblems(queries: PanelQuery[]): Promise<string[]> {
  const noSwap = await swaplessHosts();
  const mayBeEmpty = (key: string) => key in EMPTY_FOR_A_HEALTHY_APP || (noSwap && EMPTY_WITHOUT_SWAP.includes(key));
  const problems: string[] = [];
  for (const q of queries) problems.push(...judge(q, await seriesOf(q, '.*'), mayBeEmpty));
  return problems;
}

async function bothHostsReport(): Promise<boolean> {
  const up = await promSeries({ instant: true } as StackQuery, 'count by (host) (up == 1)', Date.now());
  return HOSTS.every((h) => up.some((x) => x.labels.host === h));
}

const containerIp = (name: string) =>
  sh(`docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' ${name}`).split(' ')[0];

beforeAll(async () => {
  s = loadSandbox();
  agent = loadAgent('agent1');
  let reporting = false;
  try {
    prometheus = `http://${containerIp('prometheus')}:9090`;
    reporting = await bothHostsReport();
  } catch {}
  if (!reporting) {
    const r = await deployWithAction(fleetInputs(s, agent, 'Push-Secret-Dashboards-7b'));
    expect(r.code, r.stdout).toBe(0);
    prometheus = `http://${containerIp('prometheus')}:9090`;
  }
  // One request to each host's nginx, so that both access logs have a line.
  for (const address of [s.host, agent.host]) expect((await fetch(`http://${address}/`)).status).toBeLessThan(600);
});

describe('bundled dashboards with two hosts reporting', () => {
  const queries = bundledQueries();

  it('every panel a default app fills shows both hosts, each in series of its own', async () => {
    expect(queries.length).toBeGreaterThan(50);
    // Listed panels exist: a renamed panel must not leave a stale excuse behind.
    const keys = new Set(queries.map((q) => q.key));
    expect([...Object.keys(EMPTY_FOR_A_HEALTHY_APP), ...EMPTY_WITHOUT_SWAP].filter((k) => !keys.has(k))).toEqual([]);
    // Rates need two scrapes within $__rate_interval of the agent's freshly started app: wait for them.
    await expect.poll(() => dashboardProblems(queries), { timeout: 150_000, interval: 10_000 }).toEqual([]);
  });

  it('the p95 latency panels have data: the app publishes its histogram buckets on both hosts', async () => {
    const p95 = queries.filter((q) => q.expr.includes('http_server_requests_seconds_bucket'));
    expect(p95.map((q) => q.key).sort()).toEqual([
      'Overview › HTTP p95 latency › A',
      'Overview › HTTP p95 latency › A',
      'Spring Boot › HTTP latency p95 / p99 › A',
      'Spring Boot › HTTP latency p95 / p99 › B',
    ]);
    for (const q of p95) {
      const series = await seriesOf(q, '.*');
      // Hosts the sandbox ran under other names earlier may still have series in the range.
      const hosts = series.map((x) => x.labels.host);
      for (const host of HOSTS)
        expect(
          hosts.filter((h) => h === host),
          `${q.key}: ${host}`,
        ).toHaveLength(1);
    }
  });

  it('the host variable set to one host shows that host only', async () => {
    const leaks: string[] = [];
    for (const q of queries) {
      const other = (await seriesOf(q, 'agent1')).filter((x) => x.labels.host !== 'agent1');
      if (other.length) leaks.push(`${q.key}: ${other.map((x) => x.labels.host ?? '(no host)').join(', ')}`);
    }
    expect(leaks).toEqual([]);
  });

  it('the test can fail: a panel grouped by instance, as before, is caught merging the hosts', async () => {
    const cpu = queries.find((q) => q.key === 'Host › CPU busy % › A');
    if (!cpu) throw new Error('no Host › CPU busy % panel');
    const old = { ...cpu, expr: cpu.expr.replace('avg by (host, instance)', 'avg by (instance)') };
    const problems = judge(old, await seriesOf(old, '.*'), () => false);
    expect(problems).toEqual([
      expect.stringMatching(/^Host › CPU busy % › A: 1 series without a host label \(hosts merged\)/),
      expect.stringMatching(/^Host › CPU busy % › A: no data for central, agent1/),
    ]);
  });
});
