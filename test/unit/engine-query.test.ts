// An agent's arrival check against the real engines, run here as local processes on loopback:
// VictoriaMetrics with its default flags (its query API, the 30 s latency offset that hides
// fresh samples, and the per-query parameters that see past it), Loki (this run's canary line,
// by job and host label) and Prometheus 3 (it ignores the parameters it does not know). Each
// part is skipped, saying so, when its program is not on this machine: VictoriaMetrics and Loki
// from the realbin directory (SANDBOX_REALBIN, ../shared/realbin, /work/shared/realbin), as the
// sandbox builds its images from them; Prometheus the sandbox's own Debian sid package (before any
// on the PATH), checked to be 3.x: a Prometheus 2 (Debian bookworm's) fails its parts, saying so.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RemoteHost } from '../../src/connection/ssh';
import {
  askEndpoint,
  FRESH_PARAMS,
  metricsArrival,
  parseUpAnswer,
  type QueryEndpoint,
  queryRefused,
} from '../../src/health/arrival';
import { canaryHits, canaryLine, canaryQuery } from '../../src/health/canary';
import { type GateOptions, type GateResult, gateOptions, healthGate } from '../../src/health/gate';
import type { HostFacts } from '../../src/host/preflight';
import { dataPathRows, gateDetail } from '../../src/report/gate';
import { readSettings } from '../../src/settings/settings';
import { direct, directTunnel } from '../helpers/direct';
import { findProgram, PROMETHEUS as PROMETHEUS_SPEC } from '../helpers/machine';
import { freePorts, realbin, unpacked } from '../helpers/realbin';

const REPO = resolve(__dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'md-engines-'));

/** Prometheus 3, or why not: none at all skips its parts; one of another version fails them. */
function prometheus(): { bin?: string; problem?: string } {
  const p = findProgram(PROMETHEUS_SPEC);
  if (p.path) console.info(`engine-query: prometheus ${p.version} at ${p.path}`);
  else if (!p.problem) console.warn('engine-query: no prometheus (the sandbox cache or PATH): its tests are skipped');
  return { bin: p.path, problem: p.problem };
}
/** Fails a test of the Prometheus parts, first thing, when the Prometheus found is not 3.x. */
function needPrometheus3(): void {
  if (PROM.problem) throw new Error(PROM.problem);
}

const VM = realbin('victoria-metrics', 'engine-query');
const LOKI = realbin('loki', 'engine-query');
const PROM = prometheus();
const PROMETHEUS = PROM.bin;
const PROMTAIL = realbin('promtail', 'engine-query');

const running: ChildProcess[] = [];
const byName: Record<string, ChildProcess> = {};
/** Starts a program with its output in NAME.log; returns that file. */
function start(bin: string, args: string[], name: string): string {
  const log = join(work, `${name}.log`);
  const out = openSync(log, 'w');
  const child = spawn(bin, args, { stdio: ['ignore', out, out], cwd: work });
  running.push(child);
  byName[name] = child;
  return log;
}

async function waitUntil(what: string, fn: () => Promise<boolean>, timeoutMs = 30_000, log?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  const tail = log ? `; its log ends:\n${readFileSync(log, 'utf8').split('\n').slice(-15).join('\n')}` : '';
  throw new Error(`${what} did not happen within ${timeoutMs / 1000}s${tail}`);
}

afterAll(() => {
  for (const p of running) p.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

/** The engines found, started at once (Loki takes seconds to be ready); each part waits for its own. */
/** The unpacked programs (their .xz files are VM, LOKI and PROMTAIL). */
const bins = { vm: '', loki: '', promtail: '' };
const engines = {
  vm: '',
  loki: '',
  prometheus: 0,
  agentPrometheus: 0,
  promtail: 0,
  logs: {} as Record<string, string>,
};
let vmArgs: string[] = [];
beforeAll(async () => {
  const [vmBin = '', lokiBin = '', promtailBin = ''] = await Promise.all(
    [VM, LOKI, PROMTAIL].map((xz) => (xz ? unpacked(xz) : '')),
  );
  Object.assign(bins, { vm: vmBin, loki: lokiBin, promtail: promtailBin });
  const [vm, lokiHttp, lokiGrpc, prometheus, agentPrometheus, promtail] = await freePorts(6);
  Object.assign(engines, { agentPrometheus, promtail });
  if (VM) {
    engines.vm = `http://127.0.0.1:${vm}`;
    vmArgs = [
      `-httpListenAddr=127.0.0.1:${vm}`,
      `-storageDataPath=${join(work, 'vm-data')}`,
      '-httpAuth.username=reader',
      '-httpAuth.password=right-password-long',
    ];
    engines.logs.vm = start(bins.vm, vmArgs, 'vm');
  }
  if (LOKI) {
    engines.loki = `http://127.0.0.1:${lokiHttp}`;
    const config = readFileSync(join(REPO, 'compose/loki-dev-config.yml'), 'utf8')
      .replace(/\/loki\b/g, join(work, 'loki-data'))
      .replace('http_listen_port: 3100', `http_listen_port: ${lokiHttp}\n  http_listen_address: 127.0.0.1`)
      .replace('grpc_listen_port: 9096', `grpc_listen_port: ${lokiGrpc}\n  grpc_listen_address: 127.0.0.1`);
    writeFileSync(join(work, 'loki.yml'), config);
    engines.logs.loki = start(
      bins.loki,
      [`-config.file=${join(work, 'loki.yml')}`, '-ingester.min-ready-duration=1s'],
      'loki',
    );
  }
  if (PROMETHEUS) {
    engines.prometheus = prometheus as number;
    writeFileSync(
      join(work, 'prometheus.yml'),
      `global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: prometheus\n    static_configs: [{ targets: ["127.0.0.1:${prometheus}"], labels: { host: "self" } }]\n`,
    );
    start(
      PROMETHEUS,
      [
        `--config.file=${join(work, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(work, 'prom-data')}`,
        `--web.listen-address=127.0.0.1:${prometheus}`,
      ],
      'prometheus',
    );
  }
  if (AGENT_PARTS && PROMETHEUS) firstGate = firstDeploy();
});

const endpoint = (url: string, password = 'right-password-long'): QueryEndpoint => ({
  url,
  credentials: { username: 'reader', password, from: 'query-username / query-password' },
});

describe.skipIf(!VM)('VictoriaMetrics 1.150, default flags, behind basic auth', () => {
  let base = '';
  const auth = { Authorization: `Basic ${Buffer.from('reader:right-password-long').toString('base64')}` };
  beforeAll(async () => {
    base = engines.vm;
    await waitUntil(
      'VictoriaMetrics answering',
      async () => (await fetch(`${base}/health`, { headers: auth })).ok,
      30_000,
      engines.logs.vm,
    );
  }, 60_000);

  it('refuses latency_offset=0 (so the gate asks for 1ms), and takes the gate parameters', async () => {
    const at = endpoint(`${base}/api/v1/query`);
    const zero = await askEndpoint(direct, at, { query: 'up', latency_offset: '0s' });
    expect(queryRefused(at, zero.status, zero.body)).toBe(
      `${base}/api/v1/query answered 400 Bad Request: latency_offset=0ms is out of allowed range [1ms ... 3153600000000ms]`,
    );
    const fresh = await askEndpoint(direct, at, { query: 'up{host="nobody"}[5m]', ...FRESH_PARAMS });
    expect(fresh.status).toBe(200);
    expect(parseUpAnswer(fresh.body)).toEqual([]);
  });

  it('a wrong password: the 401, with the URL and where the credentials come from', async () => {
    const r = await metricsArrival(direct, 'agent1', endpoint(`${base}/api/v1/query`, 'wrong'), []);
    expect(r).toEqual({
      ok: false,
      detail: `${base}/api/v1/query answered 401 Unauthorized: query-username / query-password are not accepted there`,
    });
  });

  it("a fresh sample is hidden from a default query for the latency offset; the gate's query finds it", async () => {
    const host = `unit-${process.pid}`;
    const now = Date.now();
    const lines = [
      `up{host="${host}",job="node",instance="node-exporter:9100"} 1 ${now}`,
      `up{host="${host}",job="prometheus",instance="localhost:9090"} 1 ${now}`,
      `up{host="${host}",job="app",instance="server:19021"} 0 ${now}`,
    ];
    const put = await fetch(`${base}/api/v1/import/prometheus`, {
      method: 'POST',
      headers: auth,
      body: lines.join('\n'),
    });
    expect(put.status).toBe(204);
    // The /prometheus prefix (vmselect's form, and Mimir's) and a parameter of the URL's own.
    const at = endpoint(`${base}/prometheus/api/v1/query?extra_label=host=${host}`);
    const expected = [
      { job: 'node', instance: 'node-exporter:9100', sinceMs: now - 1_000 },
      { job: 'prometheus', instance: 'localhost:9090', sinceMs: now - 1_000 },
    ];
    let seen = await metricsArrival(direct, host, at, expected);
    expect(seen.detail).toBe(
      `waiting for up{host="${host}"} at ${base}/prometheus/api/v1/query?extra_label=host=${host}: no series yet`,
    );
    await waitUntil('the samples found with the gate parameters', async () => {
      seen = await metricsArrival(direct, host, at, expected);
      return seen.ok;
    });
    const foundAfter = Date.now() - now;
    expect(seen.detail).toBe(
      `up{host="${host}"} of 2 targets is 1 at ${base}/prometheus/api/v1/query?extra_label=host=${host}`,
    );
    // A new series takes VictoriaMetrics several seconds to show even so (about 10 s here).
    expect(foundAfter).toBeLessThan(25_000);
    // Without the parameters, the same query sees nothing until the samples are 30 s old.
    const plain = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(`up{host="${host}"}`)}`, {
      headers: auth,
    });
    expect(Date.now() - now).toBeLessThan(30_000);
    expect(parseUpAnswer(await plain.text())).toEqual([]);

    // The raw samples: the newest value and its time, for every series.
    const raw = await askEndpoint(direct, at, { query: `up{host="${host}"}[5m]`, ...FRESH_PARAMS });
    expect(parseUpAnswer(raw.body).sort((a, b) => a.job.localeCompare(b.job))).toEqual([
      { job: 'app', instance: 'server:19021', up: '0', atMs: now },
      { job: 'node', instance: 'node-exporter:9100', up: '1', atMs: now },
      { job: 'prometheus', instance: 'localhost:9090', up: '1', atMs: now },
    ]);
    // What is missing, down or older than the run, in words.
    const more = await metricsArrival(direct, host, at, [
      ...expected,
      { job: 'app', instance: 'server:19021' },
      { job: 'nginx', instance: 'nginx:80' },
      { job: 'node', instance: 'node-exporter:9100', sinceMs: now + 60_000 },
    ]);
    expect(more.ok).toBe(false);
    const waiting = `waiting for up{host="${host}"} at ${base}/prometheus/api/v1/query?extra_label=host=${host}: `;
    expect(more.detail.startsWith(waiting)).toBe(true);
    expect(more.detail.slice(waiting.length).split('; ')).toEqual([
      'app (server:19021) is 0 (down where the agent scrapes it)',
      'no series for nginx (nginx:80) yet',
      `node (node-exporter:9100): newest sample ${new Date(now).toISOString().replace(/\.\d+Z$/, 'Z')}, none since ${new Date(now + 60_000).toISOString().replace(/\.\d+Z$/, 'Z')} yet`,
    ]);
  }, 60_000);
});

describe.skipIf(!LOKI)('Loki 3.6, the bundled config', () => {
  let base = '';
  beforeAll(async () => {
    base = engines.loki;
    await waitUntil('Loki ready', async () => (await fetch(`${base}/ready`)).ok, 60_000, engines.logs.loki);
  }, 90_000);

  it("finds this run's canary line by its job and the agent's host label", async () => {
    const token = `t${process.pid}x`;
    const push = (host: string, job: string) =>
      fetch(`${base}/loki/api/v1/push`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          streams: [{ stream: { job, host }, values: [[`${Date.now()}000000`, canaryLine(token, 'info_logs')]] }],
        }),
      });
    expect((await push('agent9', 'info_logs')).status).toBe(204);
    const at = endpoint(`${base}/loki/api/v1/query_range`);
    const ask = (host: string) =>
      askEndpoint(direct, at, {
        query: canaryQuery(token, ['info_logs', 'debug_logs'], host),
        start: `${(Math.floor(Date.now() / 1000) - 300) * 1e9}`,
        limit: '1000',
        direction: 'forward',
      });
    let hits = canaryHits('{}', token);
    await waitUntil('the line found', async () => {
      const res = await ask('agent9');
      hits = canaryHits(res.body, token);
      return res.status === 200 && hits.arrived.size > 0;
    });
    expect([...hits.arrived]).toEqual(['info_logs']);
    // Another host's label: not this agent's line.
    expect(canaryHits((await ask('agent8')).body, token).arrived.size).toBe(0);
    // Loki's own refusal of a query, in its words.
    const bad = await askEndpoint(direct, at, { query: '{job=' });
    expect(queryRefused(at, bad.status, bad.body)).toMatch(
      new RegExp(`^${base}/loki/api/v1/query_range answered 400 Bad Request: parse error`),
    );
  });
});

describe.skipIf(!PROMETHEUS && !PROM.problem)('Prometheus 3 (the sandbox Debian package)', () => {
  it('ignores latency_offset and nocache, and answers the raw samples of up[5m]', async () => {
    needPrometheus3();
    const port = engines.prometheus;
    const at = endpoint(`http://127.0.0.1:${port}/api/v1/query`);
    let seen = { ok: false, detail: '' };
    await waitUntil('up{host="self"} found with the gate parameters', async () => {
      seen = await metricsArrival(direct, 'self', at, [{ job: 'prometheus', instance: `127.0.0.1:${port}` }]);
      return seen.ok;
    });
    expect(seen.detail).toBe(`up{host="self"} of 1 target is 1 at http://127.0.0.1:${port}/api/v1/query`);
  }, 60_000);
});

const AGENT_HOST = `agent-u${process.pid}`;

/**
 * An agent host without Docker or SSH: its "containers" are local processes (the real Prometheus
 * in agent mode and the real Promtail), reached through a tunnel that maps their container
 * addresses to local ports; its scripts (the canary lines) run on this machine's sh.
 */
function localAgentHost(): RemoteHost {
  const ports: Record<string, number> = {
    '10.9.0.2:9090': engines.agentPrometheus,
    '10.9.0.3:9080': engines.promtail,
  };
  return {
    roundTrips: 0,
    ...directTunnel(ports),
    run: async (script: string) => {
      if (script.includes('com.docker.compose.project'))
        return [
          '@container prometheus|md-agent|/prometheus-agent|running||0|10.9.0.2',
          '@container promtail|md-agent|/promtail|running||0|10.9.0.3',
        ].join('\n');
      if (/ logs --tail /.test(script)) return '';
      return execFileSync('sh', ['-c', script], { encoding: 'utf8' });
    },
  } as unknown as RemoteHost;
}

const FACTS = { dockerAccess: 'direct', hostNowSec: 0 } as HostFacts;

/** The agent's settings, as the action would read them: push and query URLs at the engines. */
function agentSettings(over: Record<string, string> = {}) {
  return readSettings({
    host: '10.9.0.1',
    username: 'ec2-user',
    'ssh-key': '-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----',
    'insecure-skip-host-key-check': 'true',
    role: 'agent',
    'host-name': AGENT_HOST,
    'remote-write-url': `${engines.vm}/api/v1/write`,
    'loki-push-url': `${engines.loki}/loki/api/v1/push`,
    'push-username': 'reader',
    'push-password': 'right-password-long',
    'metrics-query-url': `${engines.vm}/api/v1/query`,
    'logs-query-url': `${engines.loki}/loki/api/v1/query_range`,
    ...over,
  });
}

/** The gate as a deploy runs it on the agent, with a canary line in the info job's directory. */
async function agentGate(settings: ReturnType<typeof agentSettings>, timeoutMs: number, restarted: 'all' | [] = []) {
  const lines: string[] = [];
  const log = {
    info: (l: string) => lines.push(l),
    warn: (l: string) => lines.push(l),
    error: (l: string) => lines.push(l),
  };
  const options: GateOptions = {
    ...gateOptions(settings, log, { sinceEpochSec: Math.floor(Date.now() / 1000), restarted }),
    timeoutMs,
    canary: {
      agent: { service: 'promtail', title: 'Promtail' },
      token: `tok${Date.now()}`,
      spots: [
        {
          job: 'info_logs',
          glob: `${work}/logs/app/info/*.log`,
          containerFile: `${work}/logs/app/info/monitoring-deploy-canary.log`,
          hostFile: `${work}/logs/app/info/monitoring-deploy-canary.log`,
        },
      ],
    },
  };
  const started = Date.now();
  try {
    const result = await healthGate(localAgentHost(), FACTS, options);
    return { result, lines, options, ms: Date.now() - started };
  } catch (e) {
    return { error: e as Error, lines, options, ms: Date.now() - started };
  }
}

const AGENT_PARTS = !!(VM && LOKI && (PROMETHEUS || PROM.problem) && PROMTAIL);

/**
 * A first deploy of the agent: once VictoriaMetrics answers, its Prometheus (agent mode) and
 * Promtail start, and the gate with them, within the default health-timeout. It runs while the
 * tests of the engines' APIs do; its test awaits it.
 */
async function firstDeploy(): ReturnType<typeof agentGate> {
  await waitUntil(
    'VictoriaMetrics answering',
    async () =>
      (
        await fetch(`${engines.vm}/health`, {
          headers: {
            Authorization: `Basic ${Buffer.from('reader:right-password-long').toString('base64')}`,
          },
        })
      ).ok,
    30_000,
    engines.logs.vm,
  );
  // Loki may still be warming up: Promtail retries as the bundled agent config has it do.
  mkdirSync(join(work, 'logs/app/info'), { recursive: true });
  // The app's own file: Promtail watches the directory from its start, as on a host in use.
  writeFileSync(join(work, 'logs/app/info/app.log'), 'INFO started\n');
  writeFileSync(
    join(work, 'agent.yml'),
    `global: { scrape_interval: 5s }
scrape_configs:
- job_name: prometheus
  static_configs: [{ targets: ["localhost:${engines.agentPrometheus}"], labels: { host: "${AGENT_HOST}" } }]
remote_write:
- url: ${engines.vm}/api/v1/write
  basic_auth: { username: reader, password: right-password-long }
`,
  );
  writeFileSync(
    join(work, 'promtail.yml'),
    `server: { http_listen_address: 127.0.0.1, http_listen_port: ${engines.promtail}, grpc_listen_port: 0 }
positions: { filename: ${work}/positions.yaml }
clients:
- url: ${engines.loki}/loki/api/v1/push
scrape_configs:
- job_name: info
  static_configs:
    - targets: [localhost]
      labels: { job: info_logs, host: "${AGENT_HOST}", __path__: "${work}/logs/app/info/*.log" }
`,
  );
  engines.logs.agent = start(
    PROMETHEUS as string,
    [
      '--agent',
      `--config.file=${join(work, 'agent.yml')}`,
      `--storage.agent.path=${join(work, 'agent-wal')}`,
      `--web.listen-address=127.0.0.1:${engines.agentPrometheus}`,
    ],
    'agent',
  );
  engines.logs.promtail = start(bins.promtail, [`-config.file=${join(work, 'promtail.yml')}`], 'promtail');
  return agentGate(agentSettings(), 180_000, 'all');
}
let firstGate: ReturnType<typeof agentGate> | undefined;

describe.skipIf(!AGENT_PARTS)(
  "the agent's gate, no Docker: the real Prometheus agent → VictoriaMetrics, the real Promtail → Loki",
  () => {
    it('goes green only once its up series is 1 at the metrics query URL and its canary line is at the Loki query URL', async () => {
      needPrometheus3();
      const gate = await (firstGate as ReturnType<typeof agentGate>);
      expect(gate.error?.message).toBeUndefined();
      const checks = gate.result?.checks ?? [];
      expect(checks.find((c) => c.name === 'metrics arrival')).toEqual({
        name: 'metrics arrival',
        ok: true,
        detail: expect.stringMatching(
          new RegExp(
            `^up\\{host="${AGENT_HOST}"\\} of 1 target is 1 at ${engines.vm}/api/v1/query \\(arrived in [\\d.]+s\\)$`,
          ),
        ),
      });
      expect(checks.find((c) => c.name === 'logs info_logs')?.detail).toMatch(
        new RegExp(`^canary arrived in [\\d.]+s at ${engines.loki}/loki/api/v1/query_range$`),
      );
      // What it waited for, in the progress lines: the agent's series, not there at first.
      expect(gate.lines.join('\n')).toMatch(
        new RegExp(
          `metrics arrival: waiting for up\\{host="${AGENT_HOST}"\\} at ${engines.vm}/api/v1/query: no series yet`,
        ),
      );
      expect(gateDetail(gate.result as GateResult, gate.options)).toMatch(
        new RegExp(
          `; up\\{host="${AGENT_HOST}"\\} of 1 target is 1 at .*; canary lines of 1 log jobs found at ${engines.loki}/loki/api/v1/query_range`,
        ),
      );
      expect(dataPathRows(gate.result as GateResult).map((r) => r.what)).toEqual([
        'log job info_logs',
        `target prometheus localhost:${engines.agentPrometheus}`,
        'metrics arrival',
      ]);
      console.info(`engine-query: the agent's gate was green ${(gate.ms / 1000).toFixed(1)} s after the agent started`);
      expect(gate.ms).toBeLessThan(90_000);
    }, 200_000);

    it('a wrong query password: fails naming the query URL and its 401', async () => {
      needPrometheus3();
      const gate = await agentGate(agentSettings({ 'query-password': 'not-the-password' }), 3_000);
      expect(gate.error?.message).toContain(
        `metrics arrival: ${engines.vm}/api/v1/query answered 401 Unauthorized: push-username / query-password are not accepted there`,
      );
    }, 30_000);

    it('VictoriaMetrics stopped: fails naming the remote-write endpoint; started again: green', async () => {
      needPrometheus3();
      const vm = byName.vm as ChildProcess;
      const exited = new Promise((r) => vm.once('exit', r));
      vm.kill('SIGTERM');
      await exited;
      const down = await agentGate(agentSettings(), 3_000);
      expect(down.error?.message).toMatch(
        new RegExp(`remote write: ${engines.vm}/api/v1/write cannot be reached from the host: .*ECONNREFUSED`),
      );
      start(bins.vm, vmArgs, 'vm');
      const back = await agentGate(agentSettings(), 120_000);
      expect(back.error?.message).toBeUndefined();
      expect(back.result?.ok).toBe(true);
    }, 200_000);
  },
);
