// The alert rules' PromQL, run by the real Prometheus: `promtool test rules` (Debian's Prometheus
// 3 package) on a Prometheus rule with the same expression and `for` as the Grafana rule.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { PROMTOOL, requireProgram } from '../helpers/machine';

interface GrafanaRule {
  uid: string;
  for: string;
  data: { refId: string; model: { expr?: string } }[];
}

const rules = parse(
  readFileSync(resolve(__dirname, '../../compose/grafana/provisioning/alerting/rules.yaml'), 'utf8'),
) as { groups: { rules: GrafanaRule[] }[] };

function grafanaRule(uid: string): { expr: string; for: string } {
  const r = rules.groups.flatMap((g) => g.rules).find((x) => x.uid === uid);
  const expr = r?.data.find((d) => d.refId === 'A')?.model.expr;
  if (!r || !expr) throw new Error(`no rule ${uid} with a query A`);
  return { expr, for: r.for };
}

/** Runs promtool test rules on one alert and the given tests; returns its output, or throws. */
function promtoolTest(alert: { expr: string; for: string }, tests: unknown[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'md-rules-'));
  writeFileSync(
    join(dir, 'rules.yml'),
    stringify({ groups: [{ name: 'md', rules: [{ alert: 'Rule', expr: alert.expr, for: alert.for }] }] }),
  );
  writeFileSync(join(dir, 'test.yml'), stringify({ rule_files: ['rules.yml'], evaluation_interval: '1m', tests }));
  return execFileSync(requireProgram(PROMTOOL), ['test', 'rules', 'test.yml'], {
    cwd: dir,
    encoding: 'utf8',
    stdio: 'pipe',
  });
}

describe('md-host-silent: a host that stops sending', () => {
  const rule = grafanaRule('md-host-silent');
  const input_series = [
    // agent1 sends for 20 minutes, then nothing (its host died).
    { series: 'up{host="agent1",job="node",instance="node-exporter:9100"}', values: '1x20' },
    { series: 'up{host="agent1",job="prometheus",instance="localhost:9090"}', values: '1x20' },
    // dev keeps sending for 25 hours, one of its targets down (that is md-target-down's case).
    { series: 'up{host="dev",job="node",instance="node-exporter:9100"}', values: '1x1500' },
    { series: 'up{host="dev",job="app",instance="server:19021"}', values: '0x1500' },
    // agent2 starts sending only at minute 40: before that it never existed.
    { series: 'up{host="agent2",job="node",instance="node-exporter:9100"}', values: '_x40 1x1460' },
  ];
  const at = (eval_time: string, hosts: string[]) => ({
    eval_time,
    alertname: 'Rule',
    exp_alerts: hosts.map((host) => ({ exp_labels: { host } })),
  });

  it('fires for agent1 only, once its series are gone, and forgets it a day later', () => {
    const out = promtoolTest(rule, [
      {
        interval: '1m',
        input_series,
        alert_rule_test: [
          at('15m', []), // everyone sending
          at('24m', []), // agent1's last sample is still within the 5m lookback
          at('30m', ['agent1']),
          at('12h', ['agent1']),
          at('1d1h', []), // no agent1 sample within the day any more
        ],
      },
    ]);
    expect(out).toContain('SUCCESS');
  });

  it('the test can fail: expecting dev to fire too is refused by promtool', () => {
    expect(() =>
      promtoolTest(rule, [{ interval: '1m', input_series, alert_rule_test: [at('30m', ['agent1', 'dev'])] }]),
    ).toThrow(/FAILED/);
  });
});
