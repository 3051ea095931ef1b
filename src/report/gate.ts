// The gate's results as people read them: the Health gate step's line and the data path table.

import { shownUrl } from '../health/arrival.js';
import type { GateOptions, GateResult, HealthState } from '../health/gate.js';
import { probesFor, titles } from '../health/probes.js';
import type { DataPathRow } from './summary.js';

/** The Health gate step's line: what was proven, and on an agent, what was not. */
export function gateDetail(gate: GateResult, options: GateOptions): string {
  const parts = [`${gate.targets.length} targets up`, `${titles(probesFor(options.role, options.logAgent))} ready`];
  if (options.push) parts.push('remote write and Loki push accept the credentials');
  const metrics = gate.checks.find((c) => c.name === 'metrics arrival' && c.ok);
  if (metrics) parts.push(metrics.detail);
  const logs = gate.dataPath.logs.filter((l) => l.arrivedMs !== undefined);
  const lokiAt = options.arrival?.logs && shownUrl(options.arrival.logs.url);
  if (logs.length) parts.push(`canary lines of ${logs.length} log jobs ${lokiAt ? `found at ${lokiAt}` : 'in Loki'}`);
  const app = gate.dataPath.appLines;
  if (app) {
    const rest = app.jobs - app.arrived.length;
    const quiet = rest ? ` (${rest} not awaited: quiet, nothing written, or nothing since the agent started)` : '';
    parts.push(
      app.mode === 'content'
        ? `the app's newest lines of ${app.arrived.length} log jobs in Loki${quiet}`
        : `Loki keeps up with ${app.arrived.length} log jobs${quiet}, nothing written`,
    );
  }
  if (options.role === 'agent') {
    const unchecked = [
      ...(options.arrival?.metrics ? [] : ['metrics-query-url']),
      ...(options.arrival?.logs ? [] : ['logs-query-url']),
    ];
    if (options.centralHost) parts.push(`arrival is checked at ${options.centralHost} once every host is deployed`);
    else if (unchecked.length === 2) parts.push('arrival was not checked (no metrics-query-url / logs-query-url)');
    else if (unchecked.length)
      parts.push(
        `${unchecked[0] === 'metrics-query-url' ? 'metrics' : 'log'} arrival was not checked (no ${unchecked[0]})`,
      );
  }
  if (options.grafana)
    parts.push(
      `Grafana reads ${options.grafana.datasources.length} data sources, ${gate.dataPath.alertRulesLoaded ?? 0} alert rules loaded`,
    );
  return parts.join('; ');
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
