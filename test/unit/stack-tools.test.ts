// Real tools agree with the rendered bundled stack: promtool (Debian's Prometheus 3 package),
// `docker compose config` (the Compose v2 plugin), and Grafana's documented provisioning keys.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { StackFile } from '../../src/model/files';
import { readSettings } from '../../src/settings/settings';
import { planStack } from '../../src/stack/plan';
import { COMPOSE_V2, PROMTOOL, requireProgram } from '../helpers/machine';
import { writeStack } from '../helpers/stack-dir';
import { DOCUMENTED_KEYS, REQUIRED_KEYS } from './grafana-documented-keys';

function renderTo(raw: Record<string, string>): { dir: string; files: StackFile[] } {
  const settings = readSettings({ 'app-image': 'me/back:1.4.2', ...raw }, { needsConnection: false });
  const files = [...planStack(settings).rendered.files];
  return { dir: writeStack(files), files };
}

const run = (cmd: string, args: string[], cwd: string) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('promtool', () => {
  it('check config passes on the rendered prometheus-dev.yml', () => {
    const { dir } = renderTo({ 'app-metrics-path': '/internal/metrics', 'app-metrics-port': '18080' });
    const out = run(requireProgram(PROMTOOL), ['check', 'config', 'prometheus-dev.yml'], dir);
    expect(out).toContain('SUCCESS');
  });

  it('fails on a broken one (the check can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'md-prom-'));
    writeFileSync(join(dir, 'p.yml'), 'scrape_configs:\n  - job_name: x\n    scrape_interval: soon\n');
    // The program first, outside the throw: a promtool missing or of another version is not this failure.
    const promtool = requireProgram(PROMTOOL);
    expect(() => run(promtool, ['check', 'config', 'p.yml'], dir)).toThrow();
  });
});

describe('docker compose config', () => {
  let dir: string;
  beforeAll(() => {
    dir = renderTo({ images: 'loki=mirror.local/grafana/loki:3.6.3' }).dir;
  });

  it('accepts the app stack', () => {
    const cfg = parse(
      run(requireProgram(COMPOSE_V2), ['compose', '-p', 'md-app', '-f', 'docker-compose-dev.yml', 'config'], dir),
    );
    expect(cfg.services.server.image).toBe('me/back:1.4.2');
    // The variable Spring Boot reads, and the seed post's own for apps that read it themselves.
    expect(cfg.services.server.environment).toMatchObject({
      SPRING_PROFILES_ACTIVE: 'dev',
      ACTIVE_SPRING_PROFILE: 'dev',
    });
    expect(cfg.services.server.volumes[0]).toMatchObject({
      source: '/home/ec2-user/monitoring/logs/app',
      target: '/app/logs',
    });
    expect(cfg.networks.shared).toMatchObject({ name: 'monitoring', external: true });
  });

  it('accepts the monitoring stack with the images override, interpolating UID/GID from .env', () => {
    const cfg = parse(
      run(
        requireProgram(COMPOSE_V2),
        [
          'compose',
          '-p',
          'md-monitoring',
          '-f',
          'docker-compose-dev-monitoring.yml',
          '-f',
          'docker-compose-dev-monitoring.images.yml',
          'config',
        ],
        dir,
      ),
    );
    expect(cfg.services.loki.image).toBe('mirror.local/grafana/loki:3.6.3');
    expect(cfg.services.grafana.user).toBe('1000:1000');
    // The promtail profile is active from COMPOSE_PROFILES in .env; alloy is not.
    expect(Object.keys(cfg.services).sort()).toEqual([
      'disk-guard',
      'grafana',
      'loki',
      'node-exporter',
      'prometheus',
      'promtail',
    ]);
    // Only Grafana publishes a port.
    const published = Object.entries(cfg.services as Record<string, { ports?: { published: string }[] }>)
      .filter(([, s]) => s.ports?.length)
      .map(([n, s]) => `${n}:${s.ports?.map((p) => p.published).join(',')}`);
    expect(published).toEqual(['grafana:3000']);
    for (const [name, s] of Object.entries(cfg.services as Record<string, { mem_limit?: unknown }>)) {
      expect(s.mem_limit, `${name} has a memory limit`).toBeDefined();
    }
  });

  it('rejects a broken compose file (the check can fail)', () => {
    writeFileSync(join(dir, 'broken.yml'), 'services:\n  x:\n    image: a\n    mem_limit: [1\n');
    const docker = requireProgram(COMPOSE_V2);
    expect(() => run(docker, ['compose', '-f', 'broken.yml', 'config'], dir)).toThrow();
  });
});

describe('Grafana provisioning files use only documented keys', () => {
  const yamlOf = (files: StackFile[], path: string) => {
    const f = files.find((x) => x.path === path);
    if (!f) throw new Error(`${path} not rendered`);
    return parse(f.content.toString()) as Record<string, unknown>;
  };
  const unknownKeys = (o: unknown, allowed: readonly string[]) =>
    Object.keys((o ?? {}) as object).filter((k) => !allowed.includes(k));
  const missingKeys = (o: unknown, required: readonly string[]) =>
    required.filter((k) => !(k in ((o ?? {}) as object)));
  const K = DOCUMENTED_KEYS as unknown as Record<string, readonly string[]>;
  const R = REQUIRED_KEYS as unknown as Record<string, readonly string[]>;

  function check(o: unknown, kind: string): string[] {
    return [
      ...unknownKeys(o, K[kind] ?? []).map((k) => `${kind}: undocumented key "${k}"`),
      ...missingKeys(o, R[kind] ?? []).map((k) => `${kind}: missing required key "${k}"`),
    ];
  }

  it('datasources, dashboards, contact points, policies and rules', () => {
    const { files } = renderTo({ 'discord-webhook-url': 'https://discord.com/api/webhooks/1/abc' });
    const problems: string[] = [];
    const ds = yamlOf(files, 'grafana/provisioning/datasources/datasources.yaml');
    problems.push(...check(ds, 'datasourcesFile'));
    for (const d of ds.datasources as Record<string, unknown>[]) {
      problems.push(...check(d, 'datasource'));
      problems.push(
        ...unknownKeys(d.jsonData, [...(K.datasourceJsonData ?? []), ...(K.lokiJsonData ?? [])]).map(
          (k) => `jsonData: "${k}"`,
        ),
      );
    }
    expect((ds.datasources as { uid: string }[]).map((d) => d.uid).sort()).toEqual(['loki', 'prometheus']);

    const dash = yamlOf(files, 'grafana/provisioning/dashboards/dashboards.yaml');
    problems.push(...check(dash, 'dashboardsFile'));
    for (const p of dash.providers as Record<string, unknown>[]) {
      problems.push(...check(p, 'dashboardProvider'), ...check(p.options, 'dashboardProviderOptions'));
    }

    // The plugins directory exists (Grafana logs an error at every start without it), with no apps.
    const plugins = yamlOf(files, 'grafana/provisioning/plugins/plugins.yaml');
    problems.push(...check(plugins, 'pluginsFile'));
    expect(plugins).toEqual({ apiVersion: 1, apps: [] });

    for (const path of ['discord.yaml', 'policies.yaml', 'rules.yaml'].map(
      (f) => `grafana/provisioning/alerting/${f}`,
    )) {
      const doc = yamlOf(files, path);
      problems.push(...check(doc, 'alertingFile'));
      for (const cp of (doc.contactPoints ?? []) as Record<string, unknown>[]) {
        problems.push(...check(cp, 'contactPoint'));
        for (const r of cp.receivers as Record<string, unknown>[])
          problems.push(...check(r, 'receiver'), ...check(r.settings, 'discordSettings'));
      }
      for (const p of (doc.policies ?? []) as Record<string, unknown>[]) problems.push(...check(p, 'policy'));
      for (const g of (doc.groups ?? []) as Record<string, unknown>[]) {
        problems.push(...check(g, 'ruleGroup'));
        for (const r of g.rules as Record<string, unknown>[]) {
          problems.push(...check(r, 'rule'));
          for (const d of r.data as Record<string, unknown>[]) {
            problems.push(...check(d, 'ruleData'));
            if (d.relativeTimeRange) problems.push(...check(d.relativeTimeRange, 'relativeTimeRange'));
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('the Discord contact point reads the webhook from the secret file, never inline', () => {
    const url = 'https://discord.com/api/webhooks/123/very-secret-token';
    const { files } = renderTo({ 'discord-webhook-url': url });
    const leaks = files.filter((f) => f.content.toString().includes(url)).map((f) => `${f.path} ${f.mode.toString(8)}`);
    expect(leaks).toEqual(['secrets/discord_webhook_url 600']);
    const cp = yamlOf(files, 'grafana/provisioning/alerting/discord.yaml') as {
      contactPoints: { receivers: { settings: { url: string } }[] }[];
    };
    expect(cp.contactPoints[0]?.receivers[0]?.settings.url).toBe('$__file{/etc/grafana/secrets/discord_webhook_url}');
    expect(yamlOf(files, 'grafana/provisioning/alerting/policies.yaml').policies).toMatchObject([
      { receiver: 'discord' },
    ]);
  });

  it('without a webhook: no Discord contact point, policy on the default receiver, rules still there', () => {
    const { files } = renderTo({ 'cpu-alert-threshold': '85' });
    expect(files.map((f) => f.path)).not.toContain('grafana/provisioning/alerting/discord.yaml');
    expect(files.map((f) => f.path)).not.toContain('secrets/discord_webhook_url');
    expect(yamlOf(files, 'grafana/provisioning/alerting/policies.yaml').policies).toMatchObject([
      { receiver: 'grafana-default-email' },
    ]);
    const rules = yamlOf(files, 'grafana/provisioning/alerting/rules.yaml') as {
      groups: { rules: { uid: string; for: string }[] }[];
    };
    const uids = rules.groups.flatMap((g) => g.rules.map((r) => r.uid));
    expect(uids).toEqual([
      'md-cpu-high',
      'md-target-down',
      'md-host-silent',
      'md-memory-pressure',
      'md-disk-full',
      'md-error-logs',
    ]);
    const cpu = JSON.stringify(rules.groups[0]?.rules[0]);
    expect(cpu).toContain('$B > 85');
    expect(rules.groups[0]?.rules[0]?.for).toBe('5m');
  });
});
