// Cross-file checks for the mistakes the seed post made or warns about, on any stack.
// Each finding names the file and line, what is wrong, and the fix.

import { LOG_AGENTS } from '../base/log-agents.js';
import { NGINX_SEGMENTS } from '../model/budget.js';
import {
  configFlag,
  hostPathKey,
  imageTag,
  isImage,
  mountedConfig,
  mountHolding,
  type ServiceModel,
  type StackModel,
  within,
} from '../model/compose.js';
import { logAgents, logJobs } from '../model/logs.js';

export type Severity = 'error' | 'warning';

export interface Finding {
  readonly rule: string;
  readonly severity: Severity;
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

export interface LintContext {
  /** Where the app's Logback writes inside its container (app-logs-dir). */
  readonly appLogsDir: string;
  /** Actuator's management port (app-metrics-port). */
  readonly appMetricsPort: number;
  /** True when the deploy writes UID/GID to .env (monitoring-deploy always does). */
  readonly deployWritesUidEnv: boolean;
}

type Rule = (m: StackModel, ctx: LintContext) => Finding[];

const find = (m: StackModel, name: string) => m.services.filter((s) => isImage(s, name));

/** The app: the service named server, or the one whose image is the app-image. */
function appServices(m: StackModel): ServiceModel[] {
  const appImage = m.vars.APP_IMAGE;
  return m.services.filter((s) => s.name === 'server' || (!!appImage && s.image?.value === appImage));
}

/** An nginx whose own config logs only to stdout/stderr writes no files to collect. */
function nginxWritesLogFiles(m: StackModel, s: ServiceModel): boolean {
  const conf = mountedConfig(m, s, '/etc/nginx/nginx.conf');
  if (!conf) return true;
  return /\/var\/log\/nginx/.test(m.files.get(conf)?.content.toString('utf8') ?? '');
}

/**
 * Where nginx's log files reach the host: /var/log/nginx, or with log-segments.sh as its
 * entrypoint the segments' directory (its /var/log/nginx then holds only links).
 */
const nginxLogDir = (s: ServiceModel) =>
  s.mounts.some((mt) => mt.target === NGINX_SEGMENTS.script) ? NGINX_SEGMENTS.files : '/var/log/nginx';

const logMounts: Rule = (m, ctx) => {
  const out: Finding[] = [];
  const writers: { s: ServiceModel; dir: string; who: string }[] = [
    ...appServices(m).map((s) => ({ s, dir: ctx.appLogsDir, who: 'the app (Logback)' })),
    ...find(m, 'nginx')
      .filter((s) => nginxWritesLogFiles(m, s))
      .map((s) => ({ s, dir: nginxLogDir(s), who: 'nginx' })),
  ];
  for (const { s, dir, who } of writers) {
    if (mountHolding(s, dir)) continue;
    const logLike = s.mounts.find((mt) => /log/i.test(mt.target) || /log/i.test(mt.source));
    out.push({
      rule: 'log-mount',
      severity: 'error',
      file: logLike?.file ?? s.file,
      line: logLike?.line ?? s.line,
      message: logLike
        ? `${s.name} mounts ${logLike.source} at ${logLike.target}, but ${who} writes to ${dir}: nothing reaches the host and no error says so. Mount the host directory at ${dir}.`
        : `${s.name}: ${who} writes to ${dir}, which no volume brings to the host, so no log agent can read it. Add a volume like \${LOGS_DIR}/${s.name}:${dir}.`,
    });
  }
  return out;
};

const agentPathsRule: Rule = (m) => {
  const out: Finding[] = [];
  for (const agent of logAgents(m)) {
    for (const p of logJobs(m, agent)) {
      if (!p.path.startsWith('/')) {
        out.push({
          rule: 'agent-path',
          severity: 'error',
          file: p.file,
          line: p.line,
          message: `__path__ "${p.path}" is relative: it depends on the ${agent.name} container's working directory. Use the absolute path where the logs are mounted in ${agent.name}.`,
        });
      } else if (!agent.mounts.some((mt) => within(p.path.replace(/\*.*$/, ''), mt.target))) {
        out.push({
          rule: 'agent-path',
          severity: 'error',
          file: p.file,
          line: p.line,
          message: `__path__ "${p.path}" is outside every mount of the ${agent.name} container (${agent.mounts.map((x) => x.target).join(', ')}): it matches nothing. Mount the log directory there, or fix the path.`,
        });
      }
    }
  }
  return out;
};

const logDirsReachAgent: Rule = (m, ctx) => {
  const agents = logAgents(m);
  if (!agents.length) return [];
  const out: Finding[] = [];
  const writers = [
    ...appServices(m).map((s) => ({ s, dir: ctx.appLogsDir })),
    ...find(m, 'nginx').map((s) => ({ s, dir: nginxLogDir(s) })),
  ];
  for (const { s, dir } of writers) {
    const mt = mountHolding(s, dir);
    if (!mt || mt.named) continue;
    for (const agent of agents) {
      if (agent.mounts.some((a) => hostPathKey(a.source) === hostPathKey(mt.source))) continue;
      out.push({
        rule: 'log-dirs-align',
        severity: 'error',
        file: mt.file,
        line: mt.line,
        message: `${s.name} writes its logs to ${mt.source} on the host, but ${agent.name} mounts no such directory (it mounts ${agent.mounts
          .filter((a) => !a.named)
          .map((a) => a.source)
          .join(', ')}): its files never reach ${agent.name}. Use the same host path in both.`,
      });
    }
  }
  return out;
};

const prometheusTargets: Rule = (m) => {
  const out: Finding[] = [];
  const names = new Set(m.services.flatMap((s) => [s.name, s.containerName].filter((x): x is string => !!x)));
  for (const prom of find(m, 'prometheus')) {
    const cfg = mountedConfig(m, prom, '/etc/prometheus/prometheus.yml');
    const y = cfg ? m.yaml(cfg) : undefined;
    const data = y?.data as { scrape_configs?: { static_configs?: { targets?: unknown[] }[] }[] } | undefined;
    (data?.scrape_configs ?? []).forEach((sc, i) => {
      (sc.static_configs ?? []).forEach((st, j) => {
        (st.targets ?? []).forEach((t, k) => {
          const host = String(t).replace(/:\d+$/, '');
          if (
            ['localhost', '127.0.0.1', prom.name].includes(host) ||
            names.has(host) ||
            /^\d+\.\d+\.\d+\.\d+$/.test(host) ||
            host.includes('.')
          )
            return;
          out.push({
            rule: 'prometheus-target',
            severity: 'error',
            file: y?.path ?? prom.file,
            line: y?.lineOf(['scrape_configs', i, 'static_configs', j, 'targets', k]) ?? 1,
            message: `target "${t}": "${host}" is no service on the shared network (services: ${[...names].join(', ')}). Prometheus cannot resolve it; use a service name.`,
          });
        });
      });
    });
  }
  return out;
};

const INTERNAL_PORTS: Record<string, number> = {
  prometheus: 9090,
  'node-exporter': 9100,
  ...Object.fromEntries(LOG_AGENTS.map((a) => [a.name, a.port])),
};

const publishedInternals: Rule = (m, ctx) => {
  const out: Finding[] = [];
  for (const s of m.services) {
    for (const p of s.ports) {
      const target = Number(/(\d+)(?:\/\w+)?$/.exec(p.value)?.[1]);
      const internal = Object.entries(INTERNAL_PORTS).find(([name, port]) => isImage(s, name) || port === target);
      if (appServices(m).includes(s) && target === ctx.appMetricsPort) {
        out.push({
          rule: 'published-internal-port',
          severity: 'error',
          file: p.file,
          line: p.line,
          message: `${s.name} publishes Actuator's management port ${target} ("${p.value}"): anyone can read your app's metrics. Remove it; Prometheus reaches ${s.name}:${target} on the network.`,
        });
      } else if (internal) {
        out.push({
          rule: 'published-internal-port',
          severity: 'error',
          file: p.file,
          line: p.line,
          message: `${s.name} publishes "${p.value}": ${internal[0]} has no authentication and must stay on the internal network. Remove the port; it is reached by service name.`,
        });
      } else if (isImage(s, 'loki')) {
        out.push({
          rule: 'published-internal-port',
          severity: 'warning',
          file: p.file,
          line: p.line,
          message: `loki publishes "${p.value}": its push and query API has no authentication. Publish it only behind a firewall rule for a second server's agent, or put it behind nginx with auth.`,
        });
      }
    }
  }
  return out;
};

const REMOVED_LOKI_STORES = new Set([
  'aws',
  'aws-dynamo',
  'gcp',
  'gcp-columnkey',
  'bigtable',
  'bigtable-hashed',
  'cassandra',
  'grpc-store',
]);

/** `3.6` of `3.6.11`, `v3.6.0-amd64`; a tag without one is its own. */
const minorOf = (tag: string) => /^v?(\d+\.\d+)/.exec(tag)?.[1] ?? tag;

const lokiConfig: Rule = (m) => {
  const out: Finding[] = [];
  for (const loki of find(m, 'loki')) {
    const major = Number(/^v?(\d+)/.exec(imageTag(loki) ?? '')?.[1] ?? 3);
    if (major < 3) continue;
    const cfg = mountedConfig(m, loki, configFlag(loki, 'config.file', '/etc/loki/local-config.yaml'));
    const y = cfg ? m.yaml(cfg) : undefined;
    const configs = (y?.data as { schema_config?: { configs?: { schema?: string; store?: string }[] } } | undefined)
      ?.schema_config?.configs;
    (configs ?? []).forEach((c, i) => {
      const v = Number(/^v(\d+)$/.exec(c.schema ?? '')?.[1] ?? 0);
      if (v < 13) {
        out.push({
          rule: 'loki-schema',
          severity: 'error',
          file: y?.path ?? loki.file,
          line: y?.lineOf(['schema_config', 'configs', i, 'schema']) ?? 1,
          message: `schema ${c.schema}: Loki ${major} exits at start with "schema v13 is required to store Structured Metadata". Use schema: v13 with store: tsdb (a new period "from" today keeps old data readable).`,
        });
      }
      if (c.store && REMOVED_LOKI_STORES.has(c.store)) {
        out.push({
          rule: 'loki-schema',
          severity: 'error',
          file: y?.path ?? loki.file,
          line: y?.lineOf(['schema_config', 'configs', i, 'store']) ?? 1,
          message: `store "${c.store}" was removed in Loki 3. Use store: tsdb.`,
        });
      }
    });
    for (const promtail of find(m, 'promtail')) {
      const a = imageTag(promtail);
      const b = imageTag(loki);
      // The same minor, not the same tag: Promtail's last image is 3.6.11 while Loki's 3.6 line
      // goes on with patches (grafana/loki .github/release-workflows.jsonnet, v3.6.11 against v3.6.12).
      if (a && b && minorOf(a) !== minorOf(b)) {
        out.push({
          rule: 'promtail-loki-version',
          severity: 'error',
          file: promtail.image?.file ?? promtail.file,
          line: promtail.image?.line ?? promtail.line,
          message: `promtail ${a} and loki ${b} are of different minor versions: they are released together and may not work across them. Use the same major.minor for both (e.g. promtail 3.6.11 with loki 3.6.15).`,
        });
      }
    }
  }
  return out;
};

const latestTags: Rule = (m) =>
  m.services.flatMap((s): Finding[] => {
    if (!s.image || s.image.value.includes('@sha256:')) return [];
    const tag = imageTag(s);
    if (tag && tag !== 'latest') return [];
    const app = appServices(m).includes(s);
    return [
      {
        rule: 'latest-tag',
        severity: app ? 'warning' : 'error',
        file: s.image.file,
        line: s.image.line,
        message: `${s.name} uses ${s.image.value}${tag ? '' : ' (no tag means latest)'}: a redeploy may silently change versions${app ? '' : ', and Loki/Promtail may drift apart'}. Pin a version.`,
      },
    ];
  });

const uidGid: Rule = (m, ctx) => {
  if (ctx.deployWritesUidEnv) return [];
  const envText = m.files.get('.env')?.content.toString('utf8') ?? '';
  const hasUid = /^UID=/m.test(envText);
  return m.services
    .filter((s) => s.rawUser && /\$\{?(UID|GID)\b/.test(s.rawUser) && !hasUid)
    .map((s) => ({
      rule: 'uid-gid-env',
      severity: 'warning' as const,
      file: s.file,
      line: s.user?.line ?? s.line,
      message: `${s.name} uses user "${s.rawUser}", but a non-interactive SSH session does not export UID/GID, so Compose makes it ":". monitoring-deploy writes them to .env; when you run Compose by hand, put UID= and GID= in .env.`,
    }));
};

const grafanaData: Rule = (m) =>
  find(m, 'grafana')
    .filter((s) => !mountHolding(s, '/var/lib/grafana'))
    .map((s) => ({
      rule: 'grafana-data-volume',
      severity: 'error' as const,
      file: s.file,
      line: s.line,
      message: `${s.name} keeps /var/lib/grafana inside the container: dashboards, users and alert state are lost on every recreate. Mount a volume at /var/lib/grafana.`,
    }));

/** The seed post's variable, which Spring Boot does not read; the one it binds to spring.profiles.active. */
const springProfileEnv: Rule = (m) =>
  appServices(m)
    .filter((s) => 'ACTIVE_SPRING_PROFILE' in s.environment && !('SPRING_PROFILES_ACTIVE' in s.environment))
    .map((s) => ({
      rule: 'spring-profile-env',
      severity: 'warning' as const,
      file: s.file,
      line: m.yaml(s.file)?.lineOf(['services', s.name, 'environment']) ?? s.line,
      message: `${s.name} sets ACTIVE_SPRING_PROFILE, which Spring Boot does not read: the profile stays the default. Spring Boot takes spring.profiles.active from SPRING_PROFILES_ACTIVE; add SPRING_PROFILES_ACTIVE=${s.environment.ACTIVE_SPRING_PROFILE} (keep the other if your app reads it itself).`,
    }));

export const RULES: Readonly<Record<string, Rule>> = {
  'log-mount': logMounts,
  'agent-path': agentPathsRule,
  'log-dirs-align': logDirsReachAgent,
  'prometheus-target': prometheusTargets,
  'published-internal-port': publishedInternals,
  'loki-schema': lokiConfig,
  'latest-tag': latestTags,
  'uid-gid-env': uidGid,
  'grafana-data-volume': grafanaData,
  'spring-profile-env': springProfileEnv,
};
