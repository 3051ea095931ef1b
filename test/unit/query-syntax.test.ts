// Every PromQL and LogQL expression of the stack parses with the official grammars, Grafana's
// variables filled in as Grafana would; a typo in a dashboard panel, a Grafana alert rule or a
// Prometheus rule file is a lint error naming the file, the panel or rule and the expression, and
// stops the deploy before the host is touched.
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  dashboardOf,
  goDuration,
  grafanaBuiltins,
  interpolateGrafana,
  lintVariableValues,
  stackQueries,
} from '../../src/lint/queries';
import { lintExpression, syntaxErrorAt } from '../../src/lint/query-syntax';
import { buildModel } from '../../src/model/compose';
import { readStackDir } from '../../src/model/files';
import { readSettings } from '../../src/settings/settings';
import { assertLintClean, planStack } from '../../src/stack/plan';

const BUNDLED = resolve(__dirname, '../../compose');

function bundledCopy(edit: (dir: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'md-query-syntax-'));
  cpSync(BUNDLED, dir, { recursive: true });
  edit(dir);
  return dir;
}

function replaceIn(dir: string, path: string, from: string, to: string) {
  const f = join(dir, path);
  const text = readFileSync(f, 'utf8');
  if (!text.includes(from)) throw new Error(`fixture edit did not apply to ${path}: ${from}`);
  writeFileSync(f, text.replace(from, to));
}

const planOf = (stackDir?: string) =>
  planStack(
    readSettings(
      { 'app-image': 'me/back:1.4.2', ...(stackDir ? { 'stack-dir': stackDir } : {}) },
      {
        needsConnection: false,
      },
    ),
  );

const querySyntaxFindings = (stackDir: string) => planOf(stackDir).findings.filter((f) => f.rule === 'query-syntax');

/** The panel targets with an expression, counted straight from the dashboard files. */
function bundledTargetCount(): number {
  const dir = join(BUNDLED, 'grafana/dashboards');
  const count = (panels: { targets?: { expr?: string }[]; panels?: unknown[] }[] = []): number =>
    panels.reduce(
      (n, p) => n + (p.targets ?? []).filter((t) => typeof t.expr === 'string').length + count(p.panels as never),
      0,
    );
  return readdirSync(dir).reduce((n, f) => n + count(JSON.parse(readFileSync(join(dir, f), 'utf8')).panels), 0);
}

describe('the bundled stack', () => {
  const model = buildModel(readStackDir(BUNDLED), {});
  const queries = stackQueries(model);

  it('has every dashboard target and every alert rule query found, in the right language', () => {
    const panels = queries.filter((q) => q.owner.startsWith('panel '));
    expect(panels).toHaveLength(bundledTargetCount());
    const rules = queries.filter((q) => q.owner.startsWith('alert rule '));
    expect(rules.map((q) => `${q.language} ${q.owner}`)).toEqual([
      'promql alert rule "Host CPU usage high"',
      'promql alert rule "Scrape target down"',
      'promql alert rule "Host stopped sending"',
      'promql alert rule "Memory and swap pressure high"',
      'promql alert rule "Disk nearly full"',
      'logql alert rule "Error log lines"',
    ]);
    expect(new Set(panels.map((q) => q.language))).toEqual(new Set(['promql', 'logql']));
    expect(queries.find((q) => q.owner === 'panel "Application: ERROR"')?.language).toBe('logql');
  });

  it('every expression parses, Grafana variables filled in', () => {
    const failing = queries
      .map((q) => ({ q, expr: lintExpression(q) }))
      .filter(({ q, expr }) => syntaxErrorAt(q.language, expr) !== undefined)
      .map(({ q, expr }) => `${q.file} ${q.owner}: ${expr}`);
    expect(failing).toEqual([]);
    // Filled in: no $variable is left in what was parsed.
    expect(queries.map(lintExpression).filter((e) => /\$\w|\[\[/.test(e))).toEqual([]);
    expect(planOf().findings).toEqual([]);
  });
});

describe('a typo is refused before the host is touched', () => {
  it('in a dashboard panel: the file, the panel, the expression and where it stops parsing', () => {
    const dir = bundledCopy((d) =>
      replaceIn(d, 'grafana/dashboards/host.json', 'avg by (host, mode) (rate(', 'avg by (host, mode (rate('),
    );
    const found = querySyntaxFindings(dir);
    expect(found).toHaveLength(1);
    const f = found[0];
    expect(f?.severity).toBe('error');
    expect(f?.file).toBe('grafana/dashboards/host.json');
    expect(readFileSync(join(dir, f?.file ?? ''), 'utf8').split('\n')[(f?.line ?? 0) - 1]).toContain(
      'avg by (host, mode (rate(',
    );
    expect(f?.message).toContain('panel "CPU by mode" (query A): this PromQL does not parse at character');
    expect(f?.message).toContain('avg by (host, mode ⟨here⟩(rate(node_cpu_seconds_total');
    // What was parsed is what Grafana sends, with the expression as written next to it.
    expect(f?.message).toContain('[1m0s]');
    expect(f?.message).toContain('written: avg by (host, mode (rate(node_cpu_seconds_total{job="node", host=~"$host"');
    const settings = readSettings({ 'app-image': 'me/back:1.4.2', 'stack-dir': dir }, { needsConnection: false });
    expect(() => assertLintClean(planStack(settings).findings)).toThrow(
      /nothing was changed on the host:\n {2}grafana\/dashboards\/host\.json:\d+: error \[query-syntax\] panel "CPU by mode"/,
    );
  });

  it('in a LogQL panel, and a variable the dashboard does not define', () => {
    const dir = bundledCopy((d) => {
      replaceIn(
        d,
        'grafana/dashboards/logs.json',
        '{job=\\"warn_logs\\", host=~\\"$host\\"}',
        '{job=\\"warn_logs\\", host=~\\"$host\\"',
      );
      replaceIn(d, 'grafana/dashboards/overview.json', '[$__rate_interval]', '[$rate_window]');
    });
    const found = querySyntaxFindings(dir);
    expect(found.map((f) => f.file)).toEqual(['grafana/dashboards/logs.json', 'grafana/dashboards/overview.json']);
    expect(found[0]?.message).toContain('panel "Application: WARN" (query A): this LogQL does not parse');
    expect(found[1]?.message).toContain('$rate_window is a variable the dashboard does not define');
  });

  it('in a Grafana alert rule: the file, its line, the rule title and the expression', () => {
    const dir = bundledCopy((d) =>
      replaceIn(
        d,
        'grafana/provisioning/alerting/rules.yaml',
        'expr: 100 - avg by (host, instance) (rate(node_cpu_seconds_total{mode="idle"}[5m])) * 100',
        'expr: 100 - avg by (host, instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]) * 100',
      ),
    );
    const found = querySyntaxFindings(dir);
    expect(found).toHaveLength(1);
    const f = found[0];
    expect(f?.file).toBe('grafana/provisioning/alerting/rules.yaml');
    expect(readFileSync(join(dir, f?.file ?? ''), 'utf8').split('\n')[(f?.line ?? 0) - 1]).toContain(
      'expr: 100 - avg by (host, instance)',
    );
    expect(f?.message).toContain('alert rule "Host CPU usage high" (query A): this PromQL does not parse');
    expect(f?.message).toContain('(rate(node_cpu_seconds_total{mode="idle"}[5m]) * 100⟨here⟩');
  });

  it('in a LogQL alert rule and in a Prometheus rule file', () => {
    const dir = bundledCopy((d) => {
      replaceIn(
        d,
        'grafana/provisioning/alerting/rules.yaml',
        'count_over_time({job="error_logs"} != "monitoring-deploy-canary" [5m])',
        'count_over_time({job="error_logs"} != monitoring-deploy-canary [5m])',
      );
      mkdirSync(join(d, 'prometheus-rules'));
      writeFileSync(
        join(d, 'prometheus-rules/app.yml'),
        'groups:\n  - name: app\n    rules:\n      - record: job:up:sum\n        expr: sum by (job) (up\n',
      );
    });
    const found = querySyntaxFindings(dir);
    expect(found.map((f) => `${f.file}:${f.line}`)).toEqual([
      expect.stringMatching(/^grafana\/provisioning\/alerting\/rules\.yaml:\d+$/),
      'prometheus-rules/app.yml:5',
    ]);
    expect(found[0]?.message).toContain('alert rule "Error log lines" (query A): this LogQL does not parse');
    expect(found[1]?.message).toContain('recording rule "job:up:sum": this PromQL does not parse');
  });
});

describe("Grafana's variables", () => {
  it('the built-ins as its backend fills them in (promlib InterpolateVariables, loki interpolateVariables)', () => {
    const prom = grafanaBuiltins(3_600_000, 15_000, 15_000);
    expect(prom).toMatchObject({
      __interval: '15s',
      __interval_ms: '15000',
      __range: '3600s',
      __range_s: '3600',
      __range_ms: '3600000',
      __rate_interval: '1m0s',
      __rate_interval_ms: '60000',
    });
    // A long range: $__interval + scrape interval wins over 4 × scrape interval.
    expect(grafanaBuiltins(7 * 86_400_000, 600_000, 15_000).__rate_interval).toBe('10m15s');
    expect(grafanaBuiltins(3_600_000, 5000)).not.toHaveProperty('__rate_interval');
    expect([goDuration(45_000), goDuration(90_000), goDuration(3_600_000)]).toEqual(['45s', '1m30s', '1h0m0s']);
  });

  it('each syntax Grafana accepts: $var, ${var}, ${var:format}, [[var]]; unknown ones stay', () => {
    const values = { host: '.*', __rate_interval: '1m0s' };
    expect(interpolateGrafana('rate(x{host=~"$host"}[$__rate_interval])', values)).toBe('rate(x{host=~".*"}[1m0s])');
    expect(interpolateGrafana('x{host=~"${host}", a=~"${host:regex}", b=~"[[host]]"}', values)).toBe(
      'x{host=~".*", a=~".*", b=~".*"}',
    );
    expect(interpolateGrafana('x{a="$other"} and y{b=~"end$"}', values)).toBe('x{a="$other"} and y{b=~"end$"}');
  });

  it("a dashboard's variables: All as its allValue, else the current value", () => {
    const text = readFileSync(join(BUNDLED, 'grafana/dashboards/logs.json'), 'utf8');
    const dash = dashboardOf(text);
    expect(dash && lintVariableValues(dash)).toEqual({ host: '.*', search: '' });
    const picked = {
      panels: [],
      templating: { list: [{ name: 'host', includeAll: true, current: { value: ['agent1'] } }] },
    };
    expect(lintVariableValues(picked)).toEqual({ host: 'agent1' });
  });
});
