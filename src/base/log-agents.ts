// The log agents this action can run, one entry each. Everything that names an agent reads this
// table: the input's choices and default, the Compose profile and service, the pinned image, the
// readiness probe, the linter's internal ports, the titles people read, the end-of-life warning.
// What is agent-specific beyond it is its config (compose/, rendered by stack/) and the reader
// of that config (model/logs.ts, keyed by `name`).

export type LogAgentName = 'promtail' | 'alloy';

/** Where an agent can run: on the central stack, on an agent host, or both. */
export type LogAgentRole = 'monitoring' | 'agent';

export interface LogAgentSpec {
  /** The `log-agent` input's value, the Compose service and the Compose profile that starts it. */
  readonly name: LogAgentName;
  /** Its name for people. */
  readonly title: string;
  /** The image repository as the compose files name it; its last part identifies the service. */
  readonly image: string;
  readonly tag: string;
  /** Why this version, in one line (the README's version table). */
  readonly why: string;
  /** Its size on disk once pulled, rounded up, and where that figure comes from. */
  readonly diskMiB: number;
  readonly sizeFrom: string;
  /** The day it stopped getting fixes, if it has; and the agent to switch to. */
  readonly endOfLife?: { readonly since: string; readonly source: string; readonly successor: LogAgentName };
  /** Its HTTP server inside the stack's network: the readiness probe and the linter's port. */
  readonly port: number;
  readonly readyPath: string;
  readonly roles: readonly LogAgentRole[];
  /** The file names of its config besides *.yml, *.yaml and *.conf, read back by the watchdog. */
  readonly configGlob?: string;
  /**
   * It starts where this other agent stopped reading, from that agent's positions file, but
   * only while it has no positions of its own: those (a glob in its container) go first.
   */
  readonly takesOver?: { readonly from: LogAgentName; readonly ownPositions: string };
}

const PROMTAIL_END_OF_LIFE = '2026-03-02';

export const LOG_AGENTS: readonly LogAgentSpec[] = [
  {
    name: 'promtail',
    title: 'Promtail',
    image: 'grafana/promtail',
    tag: '3.6.11',
    why: `the last release with a Promtail image; end of life since ${PROMTAIL_END_OF_LIFE}`,
    diskMiB: 260,
    sizeFrom:
      'estimate: Ubuntu noble base (78 MB) with libsystemd and tzdata, and the promtail binary (102 MB built from v3.6.3 here)',
    endOfLife: {
      since: PROMTAIL_END_OF_LIFE,
      source: 'Loki docs, send-data/promtail/_index.md at v3.6.15',
      successor: 'alloy',
    },
    port: 9080,
    readyPath: '/ready',
    roles: ['monitoring', 'agent'],
  },
  {
    name: 'alloy',
    title: 'Alloy',
    image: 'grafana/alloy',
    tag: 'v1.18.1',
    why: 'newest release; every block and argument of config.alloy is valid in it',
    diskMiB: 500,
    sizeFrom: 'estimate: 408 MB on disk at v1.1 (grafana/alloy#1101), grown since',
    port: 12345,
    readyPath: '/-/ready',
    roles: ['monitoring', 'agent'],
    configGlob: '*.alloy',
    // loki.source.file's legacy_positions_file (compose/alloy/*.alloy): converted only when the
    // component's positions.yml is missing or empty (ConvertLegacyPositionsFile,
    // internal/component/loki/source/internal/positions/positions.go at v1.18.1).
    takesOver: { from: 'promtail', ownPositions: '/var/lib/alloy/data/loki.source.file.*/positions.yml' },
  },
];

export const DEFAULT_LOG_AGENT: LogAgentName = 'promtail';

export const LOG_AGENT_NAMES = LOG_AGENTS.map((a) => a.name);

/** The entry of a log agent by its name (the input's value, service and profile). */
export function logAgent(name: string): LogAgentSpec | undefined {
  return LOG_AGENTS.find((a) => a.name === name);
}
