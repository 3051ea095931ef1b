// Prometheus scrapes the app only where the app stack runs: with `stacks: monitoring` (or an
// agent without the app) the app's job is not rendered, so no target is down forever.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readSettings } from '../../src/settings/settings';
import { planStack } from '../../src/stack/plan';
import { withoutAbsentScrapeJobs } from '../../src/stack/scrape';
import { PROMTOOL, requireProgram } from '../helpers/machine';

function rendered(raw: Record<string, string>, path: string): string {
  const settings = readSettings({ 'app-image': 'me/back:1.4.2', ...raw }, { needsConnection: false });
  const f = planStack(settings).rendered.files.find((x) => x.path === path);
  if (!f) throw new Error(`${path} not rendered`);
  return f.content.toString();
}

const jobs = (text: string) => (parse(text).scrape_configs as { job_name: string }[]).map((j) => j.job_name);

function promtool(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'md-scrape-'));
  writeFileSync(join(dir, 'prometheus.yml'), text);
  return execFileSync(requireProgram(PROMTOOL), ['check', 'config', 'prometheus.yml'], { cwd: dir, encoding: 'utf8' });
}

describe('the app is scraped only where the app stack runs', () => {
  it('app + monitoring (the default): the app job, as the template has it', () => {
    const text = rendered({}, 'prometheus-dev.yml');
    expect(jobs(text)).toEqual(['app', 'node', 'prometheus']);
    expect(text).toContain('targets: ["server:19021"]');
  });

  it('stacks: monitoring: no app job, the rest of the file as it was, and promtool accepts it', () => {
    const full = rendered({}, 'prometheus-dev.yml');
    const text = rendered({ stacks: 'monitoring' }, 'prometheus-dev.yml');
    expect(jobs(text)).toEqual(['node', 'prometheus']);
    expect(text).not.toContain('server:');
    expect(text).not.toContain('Spring Boot Actuator');
    // Only the app job's lines (and its comment) are gone.
    const gone = full.split('\n').filter((l) => !text.split('\n').includes(l));
    expect(gone).toEqual([
      '  # Spring Boot Actuator on its private management port and path. Left out of the rendered file',
      '  # where the app stack does not run (stacks without app): it would be a target down forever.',
      '  - job_name: app',
      '    metrics_path: "/myendpoint/prometheus"',
      '      - targets: ["server:19021"]',
    ]);
    expect(promtool(text)).toContain('SUCCESS');
  });

  it('an agent host without the app stack: no app job; node, prometheus and remote_write stay', () => {
    const raw = {
      role: 'agent',
      'remote-write-url': 'https://c:9095/api/v1/write',
      'loki-push-url': 'https://c:9095/loki/api/v1/push',
    };
    expect(jobs(rendered(raw, 'prometheus-agent.yml'))).toEqual(['app', 'node', 'prometheus']);
    const text = rendered({ ...raw, stacks: 'agent' }, 'prometheus-agent.yml');
    expect(jobs(text)).toEqual(['node', 'prometheus']);
    expect(parse(text).remote_write[0].url).toBe('https://c:9095/api/v1/write');
    expect(promtool(text)).toContain('SUCCESS');
  });
});

describe('withoutAbsentScrapeJobs', () => {
  const absent = (h: string) => h === 'gone' || h === 'gone2';
  const config = `global:
  scrape_interval: 15s

scrape_configs:
  - job_name: a
    static_configs:
      - targets: ["here:1"]

  # about b
  - job_name: b
    static_configs:
      - targets: ["gone:1", "gone2:2"]

  - job_name: c
    static_configs:
      - targets: ["gone:1", "here:2"]

  - job_name: d
    static_configs:
      - targets: ["gone:3"]

remote_write:
  - url: http://x
`;

  it('drops the jobs whose every target is absent, by lines, with their comment', () => {
    expect(withoutAbsentScrapeJobs(config, absent)).toBe(`global:
  scrape_interval: 15s

scrape_configs:
  - job_name: a
    static_configs:
      - targets: ["here:1"]

  - job_name: c
    static_configs:
      - targets: ["gone:1", "here:2"]

remote_write:
  - url: http://x
`);
  });

  it('keeps the text as it is when nothing is absent, and jobs that discover their targets', () => {
    expect(withoutAbsentScrapeJobs(config, () => false)).toBe(config);
    const sd =
      'scrape_configs:\n  - job_name: s\n    dns_sd_configs: [{names: [gone]}]\n    static_configs:\n      - targets: ["gone:1"]\n';
    expect(withoutAbsentScrapeJobs(sd, absent)).toBe(sd);
  });

  it('a flow-style list is written out again without the job', () => {
    const flow =
      'scrape_configs: [{job_name: a, static_configs: [{targets: ["gone:1"]}]}, {job_name: b, static_configs: [{targets: ["here:1"]}]}]\n';
    expect(jobs(withoutAbsentScrapeJobs(flow, absent))).toEqual(['b']);
  });
});
