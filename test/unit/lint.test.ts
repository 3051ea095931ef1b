// Each lint rule on a stack that trips it and on one that does not; the bundled stack is clean;
// the seed post's own files trip the rules for the mistakes it made.
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Finding, lintStack } from '../../src/lint/lint';
import type { StackFile } from '../../src/model/files';
import { readSettings } from '../../src/settings/settings';
import { planStack } from '../../src/stack/plan';

const ctx = { appLogsDir: '/app/logs', appMetricsPort: 19021, deployWritesUidEnv: true };
const vars = {
  LOGS_DIR: '/home/u/monitoring/logs',
  APP_IMAGE: 'me/back:1.0.0',
  NETWORK: 'net',
  UID: '1000',
  GID: '1000',
};

function file(path: string, text: string): StackFile {
  return { path, content: Buffer.from(text), mode: 0o644 };
}

/** A small correct stack; each test breaks one thing in it. */
function stack(over: Partial<Record<string, string>> = {}): StackFile[] {
  const files: Record<string, string> = {
    'docker-compose-dev.yml': `services:
  server:
    image: \${APP_IMAGE}
    volumes:
      - \${LOGS_DIR}/app:/app/logs
  nginx:
    image: nginx:1.30.4-alpine
    ports:
      - "80:80"
    volumes:
      - \${LOGS_DIR}/nginx:/var/log/nginx
`,
    'docker-compose-dev-monitoring.yml': `services:
  prometheus:
    image: prom/prometheus:v3.13.2
    volumes:
      - ./prometheus-dev.yml:/etc/prometheus/prometheus.yml:ro
  node-exporter:
    image: prom/node-exporter:v1.12.1
  loki:
    image: grafana/loki:3.6.15
    command: -config.file=/etc/loki/loki-config.yml
    volumes:
      - ./loki-dev-config.yml:/etc/loki/loki-config.yml:ro
      - loki-data:/loki
  promtail:
    image: grafana/promtail:3.6.11
    command: -config.file=/etc/promtail/config.yml
    volumes:
      - ./promtail-dev-config.yml:/etc/promtail/config.yml:ro
      - \${LOGS_DIR}/app:/var/log/app:ro
      - \${LOGS_DIR}/nginx:/var/log/nginx:ro
  grafana:
    image: grafana/grafana:13.2.0
    user: "\${UID}:\${GID}"
    ports:
      - "3000:3000"
    volumes:
      - grafana-data:/var/lib/grafana
`,
    'prometheus-dev.yml': `scrape_configs:
  - job_name: app
    metrics_path: /myendpoint/prometheus
    static_configs:
      - targets: ["server:19021"]
  - job_name: node
    static_configs:
      - targets: ["node-exporter:9100"]
`,
    'promtail-dev-config.yml': `clients:
  - url: http://loki:3100/loki/api/v1/push
scrape_configs:
  - job_name: info
    static_configs:
      - targets: [localhost]
        labels:
          job: info_logs
          __path__: /var/log/app/info/*.log
  - job_name: nginx
    static_configs:
      - targets: [localhost]
        labels:
          job: nginx_log
          __path__: /var/log/nginx/*.log
`,
    'loki-dev-config.yml': `schema_config:
  configs:
    - from: 2024-04-01
      store: tsdb
      object_store: filesystem
      schema: v13
`,
  };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) delete files[k];
    else files[k] = v;
  }
  return Object.entries(files).map(([p, t]) => file(p, t));
}

const replaceIn = (name: string, from: string | RegExp, to: string) => {
  const f = stack().find((x) => x.path === name);
  if (!f) throw new Error(name);
  const text = f.content.toString();
  const out = text.replace(from, to);
  if (out === text) throw new Error(`fixture edit did not apply to ${name}: ${from}`);
  return { [name]: out };
};

const lint = (files: StackFile[], c = ctx) => lintStack(files, vars, c);
const rules = (fs: Finding[]) => fs.map((f) => `${f.rule}@${f.file}:${f.line}`);

describe('lint rules', () => {
  it('the small correct stack is clean', () => {
    expect(lint(stack())).toEqual([]);
  });

  it('log-mount: the app mounting ~/logs at /logs while Logback writes /app/logs', () => {
    const fs = lint(stack(replaceIn('docker-compose-dev.yml', '${LOGS_DIR}/app:/app/logs', '~/logs:/logs')));
    const f = fs.find((x) => x.rule === 'log-mount');
    expect(f).toMatchObject({ severity: 'error', file: 'docker-compose-dev.yml', line: 5 });
    expect(f?.message).toContain('mounts ~/logs at /logs, but the app (Logback) writes to /app/logs');
  });

  it('log-mount: nginx without a log volume', () => {
    const fs = lint(stack(replaceIn('docker-compose-dev.yml', '      - ${LOGS_DIR}/nginx:/var/log/nginx\n', '')));
    expect(rules(fs)).toContain('log-mount@docker-compose-dev.yml:6');
  });

  it('log-mount: an nginx whose own config logs only to stdout needs no log volume; one writing files does', () => {
    const withProxy = (conf: string) =>
      stack({
        'docker-compose-dev-monitoring.yml': `${stack()
          .find((f) => f.path === 'docker-compose-dev-monitoring.yml')
          ?.content.toString()}  receiver:
    image: nginx:1.30.4-alpine
    volumes:
      - ./receiver/nginx.conf:/etc/nginx/nginx.conf:ro
`,
        'receiver/nginx.conf': conf,
      });
    expect(rules(lint(withProxy('http { access_log /dev/stdout; error_log stderr; }')))).toEqual([]);
    expect(rules(lint(withProxy('http { access_log /var/log/nginx/access.log; }')))).toEqual([
      'log-mount@docker-compose-dev-monitoring.yml:28',
    ]);
  });

  it('agent-path: a relative __path__, and one outside every promtail mount', () => {
    const fs = lint(
      stack(
        replaceIn(
          'promtail-dev-config.yml',
          /__path__: \/var\/log\/app\/info\/\*\.log\n([\s\S]*)__path__: \/var\/log\/nginx\/\*\.log/,
          '__path__: ./logs/info/*.log\n$1__path__: /nginx/logs/*.log',
        ),
      ),
    );
    const found = fs.filter((f) => f.rule === 'agent-path');
    expect(found.map((f) => f.line)).toEqual([9, 15]);
    expect(found[0]?.message).toContain('is relative');
    expect(found[1]?.message).toContain('outside every mount of the promtail container');
  });

  it('log-dirs-align: nginx writing to a host dir that promtail does not mount', () => {
    const fs = lint(
      stack(
        replaceIn('docker-compose-dev.yml', '${LOGS_DIR}/nginx:/var/log/nginx', './nginx/log/nginx:/var/log/nginx'),
      ),
    );
    const f = fs.find((x) => x.rule === 'log-dirs-align');
    expect(f).toMatchObject({ severity: 'error', file: 'docker-compose-dev.yml', line: 11 });
    expect(f?.message).toContain(
      'nginx writes its logs to ./nginx/log/nginx on the host, but promtail mounts no such directory',
    );
  });

  it('prometheus-target: a target host that is no service', () => {
    const fs = lint(stack(replaceIn('prometheus-dev.yml', 'server:19021', 'backend:19021')));
    expect(rules(fs)).toEqual(['prometheus-target@prometheus-dev.yml:5']);
    expect(fs[0]?.message).toContain('"backend" is no service on the shared network');
    // container_name counts as a name on the network
    const named = lint(
      stack({
        ...replaceIn('prometheus-dev.yml', 'server:19021', 'backend:19021'),
        ...replaceIn('docker-compose-dev.yml', '  server:\n', '  server:\n    container_name: backend\n'),
      }),
    );
    expect(named).toEqual([]);
  });

  it('published-internal-port: node-exporter, prometheus, the management port; loki only warns', () => {
    const fs = lint(
      stack(
        replaceIn(
          'docker-compose-dev-monitoring.yml',
          '    image: prom/node-exporter:v1.12.1\n',
          '    image: prom/node-exporter:v1.12.1\n    ports:\n      - 9100:9100\n',
        ),
      ),
    );
    expect(rules(fs)).toEqual(['published-internal-port@docker-compose-dev-monitoring.yml:9']);
    const mgmt = lint(
      stack(
        replaceIn(
          'docker-compose-dev.yml',
          '    image: ${APP_IMAGE}\n',
          '    image: ${APP_IMAGE}\n    ports:\n      - "19021:19021"\n',
        ),
      ),
    );
    expect(mgmt[0]?.message).toContain("publishes Actuator's management port 19021");
    const loki = lint(
      stack(
        replaceIn(
          'docker-compose-dev-monitoring.yml',
          '    image: grafana/loki:3.6.15\n',
          '    image: grafana/loki:3.6.15\n    ports:\n      - "3100:3100"\n',
        ),
      ),
    );
    expect(loki.map((f) => f.severity)).toEqual(['warning']);
    // Grafana's and nginx's published ports are expected.
    expect(lint(stack())).toEqual([]);
  });

  it('loki-schema: v12 and a removed store on Loki 3; fine on Loki 2', () => {
    const v12 = stack(replaceIn('loki-dev-config.yml', 'schema: v13', 'schema: v12'));
    const fs = lint(v12);
    expect(rules(fs)).toEqual(['loki-schema@loki-dev-config.yml:6']);
    expect(fs[0]?.message).toContain('schema v13 is required to store Structured Metadata');
    const store = lint(stack(replaceIn('loki-dev-config.yml', 'store: tsdb', 'store: aws-dynamo')));
    expect(store[0]?.message).toContain('store "aws-dynamo" was removed in Loki 3');
    const loki2 = v12.map((f) =>
      f.path === 'docker-compose-dev-monitoring.yml'
        ? file(f.path, f.content.toString().replace(/3\.6\.\d+/g, '2.9.4'))
        : f,
    );
    expect(lint(loki2)).toEqual([]);
  });

  it('promtail-loki-version: different minor versions; patches of one minor are fine', () => {
    const fs = lint(
      stack(replaceIn('docker-compose-dev-monitoring.yml', 'grafana/promtail:3.6.11', 'grafana/promtail:3.5.1')),
    );
    expect(rules(fs)).toEqual(['promtail-loki-version@docker-compose-dev-monitoring.yml:15']);
    expect(fs[0]?.message).toContain('promtail 3.5.1 and loki 3.6.15 are of different minor versions');
    // The small correct stack runs promtail 3.6.11 (the last image) with loki 3.6.15: clean.
    expect(lint(stack())).toEqual([]);
    const v = lint(stack(replaceIn('docker-compose-dev-monitoring.yml', 'grafana/loki:3.6.15', 'grafana/loki:v3.7.0')));
    expect(rules(v)).toEqual(['promtail-loki-version@docker-compose-dev-monitoring.yml:15']);
  });

  it('latest-tag: an error for the stack, a warning for the app image', () => {
    const fs = lint(
      stack(replaceIn('docker-compose-dev-monitoring.yml', 'prom/prometheus:v3.13.2', 'prom/prometheus:latest')),
    );
    expect(fs.map((f) => [f.rule, f.severity, f.line])).toEqual([['latest-tag', 'error', 3]]);
    const untagged = lint(
      stack(replaceIn('docker-compose-dev-monitoring.yml', 'prom/node-exporter:v1.12.1', 'prom/node-exporter')),
    );
    expect(untagged[0]?.message).toContain('no tag means latest');
    const app = lintStack(stack(), { ...vars, APP_IMAGE: 'me/back:latest' }, ctx);
    expect(app.map((f) => [f.rule, f.severity])).toEqual([['latest-tag', 'warning']]);
  });

  it('uid-gid-env: $UID without .env when compose is run by hand; silent when the deploy writes .env', () => {
    const byHand = { ...ctx, deployWritesUidEnv: false };
    const fs = lint(stack(), byHand);
    expect(rules(fs)).toEqual(['uid-gid-env@docker-compose-dev-monitoring.yml:23']);
    expect(lint([...stack(), file('.env', 'UID=1000\nGID=1000\n')], byHand)).toEqual([]);
    expect(lint(stack())).toEqual([]);
  });

  it('grafana-data-volume: Grafana without a volume at /var/lib/grafana', () => {
    const fs = lint(
      stack(replaceIn('docker-compose-dev-monitoring.yml', '      - grafana-data:/var/lib/grafana\n', '')),
    );
    expect(rules(fs)).toEqual(['grafana-data-volume@docker-compose-dev-monitoring.yml:21']);
  });

  it('spring-profile-env: ACTIVE_SPRING_PROFILE alone warns; with SPRING_PROFILES_ACTIVE it is fine', () => {
    const seedStyle = replaceIn(
      'docker-compose-dev.yml',
      '    image: ${APP_IMAGE}\n',
      '    image: ${APP_IMAGE}\n    environment:\n      - ACTIVE_SPRING_PROFILE=dev\n',
    );
    const fs = lint(stack(seedStyle));
    expect(fs.map((f) => [f.rule, f.severity, f.line])).toEqual([['spring-profile-env', 'warning', 4]]);
    expect(fs[0]?.message).toContain('add SPRING_PROFILES_ACTIVE=dev');
    const both = replaceIn(
      'docker-compose-dev.yml',
      '    image: ${APP_IMAGE}\n',
      '    image: ${APP_IMAGE}\n    environment:\n      SPRING_PROFILES_ACTIVE: dev\n      ACTIVE_SPRING_PROFILE: dev\n',
    );
    expect(lint(stack(both))).toEqual([]);
  });

  it('a YAML syntax error is reported with its line', () => {
    const fs = lint(stack({ 'prometheus-dev.yml': 'scrape_configs:\n  - job_name: [unclosed\n' }));
    expect(fs.some((f) => f.rule === 'yaml' && f.file === 'prometheus-dev.yml')).toBe(true);
  });
});

describe('real stacks', () => {
  it('the bundled stack lints clean', () => {
    const s = readSettings({ 'app-image': 'me/back:1.4.2' }, { needsConnection: false });
    expect(planStack(s).findings).toEqual([]);
    const alloy = readSettings({ 'app-image': 'me/back:1.4.2', 'log-agent': 'alloy' }, { needsConnection: false });
    expect(planStack(alloy).findings).toEqual([]);
  });

  it("the seed post's stack trips the rules for each of its mistakes", () => {
    const s = readSettings({ 'stack-dir': resolve(__dirname, '../fixtures/seed-stack') }, { needsConnection: false });
    const found = planStack(s, undefined, { lintOnly: true }).findings;
    const byRule = (r: string) => found.filter((f) => f.rule === r);
    // Loki 3 (latest) with schema v12
    expect(byRule('loki-schema')).toHaveLength(1);
    // every monitoring image on :latest (the post pinned only nginx)
    expect(
      byRule('latest-tag')
        .filter((f) => f.severity === 'error')
        .map((f) => f.message.split(' ')[0]),
    ).toEqual(['prometheus', 'grafana', 'loki', 'promtail', 'node-exporter']);
    // ./logs/... relative __path__ globs
    expect(byRule('agent-path').length).toBe(5);
    // nginx writes ./nginx/log/nginx, promtail mounts ~/nginx/log/nginx
    expect(byRule('log-dirs-align').map((f) => f.message.split(' ')[0])).toEqual(['nginx']);
    // Loki 3100 published: a warning
    expect(byRule('published-internal-port').map((f) => f.severity)).toEqual(['warning']);
    // user: "$UID:$GID" with no .env
    expect(byRule('uid-gid-env')).toHaveLength(1);
    // ACTIVE_SPRING_PROFILE, which Spring Boot does not read
    expect(byRule('spring-profile-env').map((f) => f.severity)).toEqual(['warning']);
  });
});
