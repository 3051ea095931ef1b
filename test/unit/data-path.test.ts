// The data path's pieces without a host: where canary lines go for the bundled stack and for a
// broken one, the canary script on a real sh, reading Loki's answer, the plain words for a line
// that does not arrive, Grafana's answers, and the filters that keep canaries out of alerts.

import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { invocation } from '../../src/connection/shell';
import { gateProblems } from '../../src/engine/check';
import {
  CANARY_MARK,
  canaryFileName,
  canaryHits,
  canaryLine,
  canaryPlan,
  canaryQuery,
  canaryScript,
  parseCanaryWrites,
  whyNotArrived,
} from '../../src/health/canary';
import {
  grafanaProvisioning,
  judgeAlertRules,
  judgeContactPoints,
  judgeDatasourceHealth,
} from '../../src/health/grafana';
import { logPathServices } from '../../src/health/plan';
import { buildModel } from '../../src/model/compose';
import { dataPathRows } from '../../src/report/gate';
import { readSettings } from '../../src/settings/settings';
import { planStack } from '../../src/stack/plan';

function rendered(raw: Record<string, string> = {}) {
  const settings = readSettings({ 'app-image': 'me/back:1.4.2', ...raw }, { needsConnection: false });
  return planStack(settings, { uid: 1000, gid: 1000, home: '/home/ec2-user' }).rendered;
}

function bundledPlan(raw: Record<string, string> = {}) {
  const r = rendered(raw);
  const model = buildModel(r.files, r.variables);
  const agent = model.services.find((s) => s.name === (raw['log-agent'] ?? 'promtail'));
  if (!agent) throw new Error('no agent');
  return { model, plan: canaryPlan(model, agent, '/home/ec2-user/monitoring', 'tok'), rendered: r };
}

describe('canary spots', () => {
  it('puts one line per job of the bundled Promtail config in its host directory', () => {
    const { plan } = bundledPlan();
    expect(plan.agent).toMatchObject({ service: 'promtail', title: 'Promtail' });
    expect(plan.spots.map((s) => [s.job, s.hostFile, s.problem])).toEqual([
      ['debug_logs', `/home/ec2-user/monitoring/logs/app/debug/${CANARY_MARK}-tok.log`, undefined],
      ['info_logs', `/home/ec2-user/monitoring/logs/app/info/${CANARY_MARK}-tok.log`, undefined],
      ['warn_logs', `/home/ec2-user/monitoring/logs/app/warn/${CANARY_MARK}-tok.log`, undefined],
      ['error_logs', `/home/ec2-user/monitoring/logs/app/error/${CANARY_MARK}-tok.log`, undefined],
      ['nginx_log', `/home/ec2-user/monitoring/logs/nginx/${CANARY_MARK}-tok.log`, undefined],
    ]);
    expect(plan.spots[1]?.containerFile).toBe(`/var/log/app/info/${CANARY_MARK}-tok.log`);
  });

  it('reads the same jobs from the Alloy config', () => {
    const { plan } = bundledPlan({ 'log-agent': 'alloy' });
    expect(plan.agent.service).toBe('alloy');
    expect(plan.spots.map((s) => s.job)).toEqual(['debug_logs', 'info_logs', 'warn_logs', 'error_logs', 'nginx_log']);
  });

  it('names a job whose glob no host directory is mounted at', () => {
    const { model } = bundledPlan();
    const promtail = model.services.find((s) => s.name === 'promtail');
    if (!promtail) throw new Error('no promtail');
    const config = model.yaml('promtail-dev-config.yml')?.data as {
      scrape_configs: { static_configs: { labels: Record<string, string> }[] }[];
    };
    const labels = config.scrape_configs[1]?.static_configs[0]?.labels as Record<string, string>;
    labels.__path__ = '/logs/info/*.log';
    const spot = canaryPlan(model, promtail, '/r', 'tok').spots[1];
    expect(spot?.problem).toBe(
      'promtail watches /logs/info/*.log, but no host directory is mounted at /logs/info in its container (it mounts /etc/promtail/config.yml, /var/log/app, /var/log/nginx, /promtail)',
    );
  });

  it('makes a file name the glob matches', () => {
    expect(canaryFileName('*.log', 'ab12')).toBe(`${CANARY_MARK}-ab12.log`);
    expect(canaryFileName('app-*.log', 'ab12')).toBe(`app-${CANARY_MARK}-ab12.log`);
    expect(canaryFileName('access?.{log,txt}', 'ab12')).toBe('accessx.log');
    expect(canaryFileName('[ab]*.log', 'ab12')).toBe(`a${CANARY_MARK}-ab12.log`);
  });

  it('knows which services are on the log path: the agent, Loki and the writers of its directories', () => {
    // disk-guard removes nginx's log segments: a changed one proves the log path again.
    expect(logPathServices(rendered(), 'promtail').sort()).toEqual([
      'disk-guard',
      'loki',
      'nginx',
      'promtail',
      'server',
    ]);
    expect(logPathServices(rendered({ 'log-agent': 'alloy' }), 'alloy').sort()).toEqual([
      'alloy',
      'disk-guard',
      'loki',
      'nginx',
      'server',
    ]);
  });
});

describe('the canary script on a real sh', () => {
  it("writes this run's file, removes earlier runs' canary files only, and names missing directories", () => {
    const root = mkdtempSync(join(tmpdir(), 'md-canary-'));
    const info = join(root, 'logs/app/info');
    mkdirSync(info, { recursive: true });
    mkdirSync(join(root, 'logs/app/debug'), { recursive: true });
    const spots = (token: string) => [
      {
        job: 'info_logs',
        glob: '/var/log/app/info/*.log',
        containerFile: '/x',
        hostFile: `${info}/${canaryFileName('*.log', token)}`,
      },
      // Another job's file in the same directory: another extension, the same run.
      {
        job: 'info_txt',
        glob: '/var/log/app/info/*.txt',
        containerFile: '/x2',
        hostFile: `${info}/${canaryFileName('*.txt', token)}`,
      },
      {
        job: 'warn_logs',
        glob: '/var/log/app/warn/*.log',
        containerFile: '/y',
        hostFile: `${root}/logs/app/warn/${canaryFileName('*.log', token)}`,
      },
    ];
    const run = (token: string) => {
      const plan = { agent: { service: 'promtail', title: 'Promtail' }, spots: spots(token) };
      const { command, stdin } = invocation(canaryScript(plan, token, 'docker'));
      return parseCanaryWrites(execFileSync('sh', ['-c', command], { input: stdin, encoding: 'utf8' }));
    };
    // The app's own log, larger than any canary: never touched.
    writeFileSync(join(info, 'info.log'), 'x'.repeat(70_000));
    const first = run('aaa111');
    expect(first.get('info_logs')).toEqual({ state: 'wrote' });
    expect(first.get('warn_logs')).toEqual({ state: 'nodir', siblings: 'debug info' });
    expect(readFileSync(`${info}/${CANARY_MARK}-aaa111.log`, 'utf8')).toMatch(
      / INFO monitoring-deploy-canary aaa111 job=info_logs\n$/,
    );
    run('bbb222');
    expect(readdirSync(info).sort()).toEqual(['info.log', `${CANARY_MARK}-bbb222.log`, `${CANARY_MARK}-bbb222.txt`]);
    expect(readFileSync(`${info}/${CANARY_MARK}-bbb222.txt`, 'utf8')).toMatch(/ bbb222 job=info_txt\n$/);
    expect(readFileSync(join(info, 'info.log'), 'utf8')).toHaveLength(70_000);
  });

  it('reports a directory it may not write to', () => {
    if (process.getuid?.() === 0) {
      // Root writes anywhere; check the other branch through an unwritable path instead.
      const plan = {
        agent: { service: 'promtail', title: 'Promtail' },
        spots: [{ job: 'j', glob: '/g', containerFile: '/c', hostFile: '/proc/1/c.log' }],
      };
      const { command, stdin } = invocation(canaryScript(plan, 't', 'false'));
      expect(
        parseCanaryWrites(execFileSync('sh', ['-c', command], { input: stdin, encoding: 'utf8' })).get('j'),
      ).toEqual({
        state: 'denied',
      });
      return;
    }
    const root = mkdtempSync(join(tmpdir(), 'md-canary-'));
    chmodSync(root, 0o500);
    const plan = {
      agent: { service: 'p', title: 'P' },
      spots: [{ job: 'j', glob: '/g', containerFile: '/c', hostFile: `${root}/c.log` }],
    };
    const { command, stdin } = invocation(canaryScript(plan, 't', 'false'));
    expect(
      parseCanaryWrites(execFileSync('sh', ['-c', command], { input: stdin, encoding: 'utf8' })).get('j')?.state,
    ).toBe('denied');
  });
});

describe("reading Loki's answer", () => {
  const answer = (streams: { job: string; lines: string[] }[]) =>
    JSON.stringify({
      status: 'success',
      data: {
        resultType: 'streams',
        result: streams.map((s) => ({
          stream: { job: s.job, host: 'dev' },
          values: s.lines.map((l, i) => [`${1e18 + i}`, l]),
        })),
      },
    });

  it('counts a job as arrived only under its own job label', () => {
    const hits = canaryHits(
      answer([
        { job: 'info_logs', lines: [canaryLine('tok', 'info_logs'), canaryLine('old', 'info_logs')] },
        { job: 'debug_logs', lines: [canaryLine('tok', 'warn_logs')] },
      ]),
      'tok',
    );
    expect([...hits.arrived]).toEqual(['info_logs']);
    expect(hits.misrouted.get('warn_logs')).toBe('debug_logs');
  });

  it("asks for this run's token in the given jobs", () => {
    expect(canaryQuery('abc', ['info_logs', 'a.b'])).toBe('{job=~"info_logs|a\\\\.b"} |= "abc"');
  });
});

describe('why a line did not arrive', () => {
  const spot = { job: 'info_logs', glob: '/var/log/app/info/*.log', containerFile: '/var/log/app/info/m.log' };
  it('an agent that cannot reach Loki', () => {
    const logs =
      'level=warn ts=… caller=client.go:419 component=client host=loki:3100 msg="error sending batch, will retry" status=-1 tenant= error="Post \\"http://loki:3100/loki/api/v1/push\\": dial tcp: lookup loki on 127.0.0.11:53: no such host"';
    expect(whyNotArrived(spot, 'Promtail', undefined, logs)).toMatch(/^Promtail cannot reach Loki: /);
  });
  it('a Loki that refuses the push', () => {
    const logs =
      'level=error caller=client.go:430 msg="final error sending batch" status=400 error="server returned HTTP status 400 Bad Request (400): entry too far behind"';
    expect(whyNotArrived(spot, 'Promtail', undefined, logs)).toMatch(/^Loki refused Promtail's push \(HTTP 400\)/);
  });
  it("Promtail's log of its own /ready answering 500 is not a refused push", () => {
    const logs =
      'level=warn ts=2026-11-25T18:12:35.146129111Z caller=logging.go:144 trace_id_unsampled=784a80c24d8d595d msg="GET /ready (500) 185.04µs Response: \\"Not ready: Unable to find any logs to tail.\\" ws: false"';
    expect(whyNotArrived(spot, 'Promtail', undefined, logs)).toBe('Promtail has not sent it to Loki');
  });
  it('an agent that never read the file', () => {
    const metrics = 'promtail_read_lines_total{path="/var/log/app/debug/x.log"} 3\n';
    expect(whyNotArrived(spot, 'Promtail', metrics, '')).toBe(
      'Promtail does not tail /var/log/app/info/m.log (its __path__ /var/log/app/info/*.log): check the glob and the mount',
    );
  });
});

describe("Grafana's answers", () => {
  const ds = { uid: 'loki', name: 'Loki', url: 'http://loki:3100' };
  const res = (status: number, body: unknown) => ({ status, headers: {}, body: JSON.stringify(body) });
  it('a data source is usable on 200 status OK only', () => {
    expect(
      judgeDatasourceHealth(ds, res(200, { status: 'OK', message: 'Data source successfully connected.' })),
    ).toBeUndefined();
    expect(
      judgeDatasourceHealth(
        ds,
        res(400, {
          status: 'ERROR',
          message: 'Unable to connect with Loki. Please check the server logs for more details.',
        }),
      ),
    ).toBe(
      'Grafana cannot use data source Loki (uid loki, http://loki:3100): 400 Unable to connect with Loki. Please check the server logs for more details.',
    );
    expect(judgeDatasourceHealth(ds, res(401, { message: 'Invalid username or password' }))).toMatch(
      /refused the admin credentials/,
    );
  });
  it('every provisioned rule must be loaded', () => {
    expect(judgeAlertRules(['a', 'b'], res(200, [{ uid: 'a' }, { uid: 'b' }, { uid: 'c' }]))).toEqual({
      loaded: 3,
      why: undefined,
    });
    expect(judgeAlertRules(['a', 'b'], res(200, [{ uid: 'a' }]))).toEqual({
      loaded: 1,
      why: 'Grafana has not loaded the alert rules b (it has 1)',
    });
  });
  it('the Discord contact point must exist', () => {
    expect(
      judgeContactPoints(['discord'], res(200, [{ name: 'email receiver' }, { name: 'discord' }])),
    ).toBeUndefined();
    expect(judgeContactPoints(['discord'], res(200, [{ name: 'email receiver' }]))).toBe(
      'Grafana has no contact point discord',
    );
  });
  it('reads what the bundled provisioning files promise', () => {
    const r = rendered({ 'discord-webhook-url': 'https://discord.com/api/webhooks/1/x' });
    const p = grafanaProvisioning(buildModel(r.files, r.variables));
    expect(p?.datasources.map((d) => d.uid)).toEqual(['prometheus', 'loki']);
    expect(p?.ruleUids).toEqual([
      'md-cpu-high',
      'md-target-down',
      'md-host-silent',
      'md-memory-pressure',
      'md-disk-full',
      'md-error-logs',
    ]);
    expect(p?.contactPoints).toEqual(['discord']);
  });
});

describe('findings in plain words', () => {
  it('one sentence for log jobs failing for one reason, and Grafana in its own words', () => {
    const checks = [
      { name: 'loki', ok: false, detail: 'container loki is exited' },
      ...['info_logs', 'nginx_log'].map((j) => ({ name: `logs ${j}`, ok: false, detail: 'Loki is not running' })),
      { name: 'grafana data source Loki', ok: false, detail: 'Grafana cannot use data source Loki (uid loki): 400 x' },
    ];
    expect(gateProblems(checks, [])).toEqual([
      'Loki not ready: container loki is exited',
      'Grafana cannot use data source Loki (uid loki): 400 x',
      'logs of jobs info_logs, nginx_log are not reaching Loki: Loki is not running',
    ]);
    expect(dataPathRows({ ok: false, checks, targets: [] }).map((r) => r.what)).toEqual([
      'log job info_logs',
      'log job nginx_log',
      'Grafana data source Loki',
    ]);
  });
});

describe('canary lines stay out of alerts and dashboards', () => {
  it('every Loki query of the bundled rules and dashboards filters them out', () => {
    const r = rendered();
    const lokiQueries: string[] = [];
    for (const f of r.files.filter((x) => /dashboards\/.*\.json$|alerting\/rules\.yaml$/.test(x.path))) {
      const text = f.content.toString('utf8');
      for (const m of text.matchAll(/"?expr"?:\s*"?((?:[^"\\\n]|\\.)*\{job=[^\n]*)/g)) {
        const expr = m[1] as string;
        if (/_logs|nginx_log/.test(expr)) lokiQueries.push(expr);
      }
    }
    expect(lokiQueries.length).toBeGreaterThanOrEqual(8);
    for (const q of lokiQueries) expect(q.replace(/\\"/g, '"')).toContain(`!= "${CANARY_MARK}"`);
  });
});
