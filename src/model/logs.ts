// The log path as the stack declares it: which log agent runs, which files it tails under which
// job label, and where on the host those files are. The linter checks it statically; the gate
// proves it with a canary line per job.
import { posix } from 'node:path';
import { LOG_AGENTS, type LogAgentName, type LogAgentSpec } from '../base/log-agents.js';
import {
  configFlag,
  hostPathKey,
  isImage,
  mountedConfig,
  mountHolding,
  type ServiceModel,
  type StackModel,
} from './compose.js';

export interface LogJob {
  /** The `job` label the lines get (empty when the config sets none). */
  readonly job: string;
  /** Every label the config gives its lines (job, host, ...), `__`-prefixed ones left out. */
  readonly labels: Readonly<Record<string, string>>;
  /** The glob the agent tails, as a path inside its container. */
  readonly path: string;
  /** Where the glob is declared. */
  readonly file: string;
  readonly line: number;
}

/** The entry of the log agent a service runs, by its image (or its name). */
export function logAgentOf(s: ServiceModel): LogAgentSpec | undefined {
  return LOG_AGENTS.find((a) => isImage(s, a.image.split('/').pop() ?? a.name));
}

/** The log agents among the stack's services. */
export function logAgents(m: StackModel): ServiceModel[] {
  return m.services.filter((s) => logAgentOf(s));
}

/** The jobs of a log agent's config: each `__path__` glob with its job label and line. */
export function logJobs(m: StackModel, agent: ServiceModel): LogJob[] {
  const spec = logAgentOf(agent);
  return spec ? JOB_READERS[spec.name](m, agent) : [];
}

/** Promtail's config.yml: each static_configs' labels.__path__ with its job label. */
function promtailJobs(m: StackModel, agent: ServiceModel): LogJob[] {
  const cfgPath = mountedConfig(m, agent, configFlag(agent, 'config.file', '/etc/promtail/config.yml'));
  const y = cfgPath ? m.yaml(cfgPath) : undefined;
  const data = y?.data as
    | { scrape_configs?: { static_configs?: { labels?: Record<string, unknown> }[] }[] }
    | undefined;
  const out: LogJob[] = [];
  (data?.scrape_configs ?? []).forEach((sc, i) => {
    (sc.static_configs ?? []).forEach((st, j) => {
      const p = st.labels?.__path__;
      if (typeof p === 'string' && y) {
        out.push({
          job: String(st.labels?.job ?? ''),
          labels: streamLabels(Object.entries(st.labels ?? {})),
          path: p,
          file: y.path,
          line: y.lineOf(['scrape_configs', i, 'static_configs', j, 'labels', '__path__']),
        });
      }
    });
  });
  return out;
}

/** The labels a stream gets from its target: Promtail and Alloy drop the `__`-prefixed ones. */
function streamLabels(entries: readonly (readonly [unknown, unknown])[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of entries) if (typeof k === 'string' && !k.startsWith('__')) out[k] = String(v ?? '');
  return out;
}

/** Alloy's config.alloy: each `__path__ = "…"` with the `job` on the same line. */
function alloyJobs(m: StackModel, agent: ServiceModel): LogJob[] {
  const cfgPath = agent.mounts.find((mt) => mt.target.endsWith('.alloy') && m.files.has(hostPathKey(mt.source)));
  const file = cfgPath ? hostPathKey(cfgPath.source) : undefined;
  const text = file ? (m.files.get(file)?.content.toString('utf8') ?? '') : '';
  return text.split('\n').flatMap((l, i) =>
    [...l.matchAll(/"?__path__"?\s*=\s*"([^"]+)"/g)].map((x) => ({
      job: /"?job"?\s*=\s*"([^"]*)"/.exec(l)?.[1] ?? '',
      labels: streamLabels([...l.matchAll(/"?([A-Za-z_][A-Za-z0-9_]*)"?\s*=\s*"([^"]*)"/g)].map((p) => [p[1], p[2]])),
      path: x[1] ?? '',
      file: file ?? '',
      line: i + 1,
    })),
  );
}

/** How each log agent's config is read: one reader per entry of LOG_AGENTS. */
const JOB_READERS: Record<LogAgentName, (m: StackModel, agent: ServiceModel) => LogJob[]> = {
  promtail: promtailJobs,
  alloy: alloyJobs,
};

/**
 * The host directory a container directory of a service is bind-mounted from, or undefined when
 * no bind mount holds it. Stack-relative sources resolve against the stack's root on the host.
 */
export function hostDirOf(service: ServiceModel, containerDir: string, root: string): string | undefined {
  const at = hostMountOf(service, containerDir, root);
  return at && posix.join(at.source, at.below);
}

/**
 * The bind mount's source on the host that holds a container directory, and the path of that
 * directory below it ('' for the source itself). What is below the source may belong to whoever
 * writes the logs; the source is the stack's.
 */
export function hostMountOf(
  service: ServiceModel,
  containerDir: string,
  root: string,
): { source: string; below: string } | undefined {
  const mt = mountHolding(service, containerDir);
  if (!mt || mt.named) return undefined;
  const source = mt.source.startsWith('./') ? posix.join(root, mt.source) : mt.source;
  if (!source.startsWith('/')) return undefined;
  return { source: posix.normalize(source), below: posix.relative(mt.target, containerDir) };
}
