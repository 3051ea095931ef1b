// Our own dashboards reference only the provisioned datasource uids and the log jobs Promtail
// sends, so they work on first start without any manual import step.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const dir = resolve(__dirname, '../../compose/grafana/dashboards');
const LOG_JOBS = ['debug_logs', 'info_logs', 'warn_logs', 'error_logs', 'nginx_log'];

function* walk(o: unknown): Generator<Record<string, unknown>> {
  if (Array.isArray(o)) for (const x of o) yield* walk(x);
  else if (o && typeof o === 'object') {
    yield o as Record<string, unknown>;
    for (const v of Object.values(o)) yield* walk(v);
  }
}

describe('bundled dashboards', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  const dashboards = files.map((f) => ({ file: f, json: JSON.parse(readFileSync(join(dir, f), 'utf8')) }));

  it('are Host, Spring Boot, Logs and Overview with stable uids', () => {
    expect(dashboards.map((d) => [d.json.uid, d.json.title]).sort()).toEqual([
      ['md-host', 'Host'],
      ['md-logs', 'Logs'],
      ['md-overview', 'Overview'],
      ['md-spring-boot', 'Spring Boot'],
    ]);
  });

  it('use only the provisioned datasource uids, no ${DS_...} inputs', () => {
    const datasources = parse(readFileSync(resolve(dir, '../provisioning/datasources/datasources.yaml'), 'utf8'));
    const uids = new Set((datasources.datasources as { uid: string }[]).map((d) => d.uid));
    for (const { file, json } of dashboards) {
      expect(JSON.stringify(json), file).not.toMatch(/\$\{DS_/);
      for (const node of walk(json)) {
        const ds = node.datasource as { uid?: string } | undefined;
        if (ds && typeof ds === 'object' && ds.uid && !ds.uid.startsWith('-- ') && ds.uid !== '__expr__') {
          expect(uids.has(ds.uid), `${file}: datasource ${ds.uid}`).toBe(true);
        }
      }
    }
  });

  it('query only the log jobs that Promtail sends', () => {
    for (const { file, json } of dashboards) {
      for (const node of walk(json)) {
        const expr = node.expr;
        if (typeof expr !== 'string' || !(node.datasource as { uid?: string } | undefined)?.uid?.includes('loki'))
          continue;
        for (const m of expr.matchAll(/job=~?"([^"]+)"/g)) {
          const jobs = (m[1] ?? '').split('|');
          for (const j of jobs) expect(LOG_JOBS, `${file}: ${expr}`).toContain(j);
        }
      }
    }
  });

  it("query no node_network_* series: node-exporter's network namespace is its container's, not the host's", () => {
    const offenders = dashboards.flatMap(({ file, json }) =>
      [...walk(json)]
        .map((n) => n.expr)
        .filter((e): e is string => typeof e === 'string' && /\bnode_network_/.test(e))
        .map((e) => `${file}: ${e}`),
    );
    expect(offenders).toEqual([]);
  });

  it('the overview shows host, app and logs panels on one page', () => {
    const overview = dashboards.find((d) => d.json.uid === 'md-overview')?.json;
    const exprs = [...walk(overview)]
      .map((n) => n.expr)
      .filter((e): e is string => typeof e === 'string')
      .join('\n');
    expect(exprs).toContain('node_cpu_seconds_total');
    expect(exprs).toContain('jvm_memory_used_bytes');
    expect(exprs).toContain('error_logs');
  });
});
