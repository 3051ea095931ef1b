// What the gate asks each service, in one table: the gate, the watchdog's sentences, the step
// details, `plan` and the README all read it. Adding a probe is one entry here (and its test).
import { firstLine as firstLineOf } from '../base/format.js';
import { LOG_AGENTS } from '../base/log-agents.js';
import type { LogAgent, Role } from '../settings/settings.js';

export interface CheckState {
  /** The probe's service, or another check's name (targets, docker, remote write, …). */
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  /** The container to show logs of when this check fails. */
  readonly container?: string;
}

export interface Probe {
  /** Compose service whose container is probed. */
  readonly service: string;
  /** How a person calls it: "Prometheus". */
  readonly title: string;
  readonly port: number;
  readonly path: string;
  /** Roles whose stack runs it. */
  readonly roles: readonly Role[];
  /** Only with this log agent (the log shipper's own probe). */
  readonly logAgent?: LogAgent;
  /** What the answer means: undefined when healthy, else why not. */
  judge(status: number, body: string): string | undefined;
  /** What "healthy" means, for the README. */
  readonly healthy: string;
}

const firstLine = (s: string) => firstLineOf(s, 160);

/** A service whose readiness endpoint answers 200 when it is ready. */
function ready(
  service: string,
  title: string,
  port: number,
  path: string,
  roles: readonly Role[],
  logAgent?: LogAgent,
): Probe {
  return {
    service,
    title,
    port,
    path,
    roles,
    logAgent,
    healthy: '200',
    judge: (s, b) => (s === 200 ? undefined : `${path} answered ${s} ${firstLine(b)}`),
  };
}

export function judgeLokiReady(status: number, body: string): string | undefined {
  return status === 200 && body.trim() === 'ready' ? undefined : `/ready answered ${status} ${firstLine(body)}`;
}

export function judgeGrafanaHealth(status: number, body: string): string | undefined {
  if (status !== 200) return `/api/health answered ${status} ${firstLine(body)}`;
  try {
    return (JSON.parse(body) as { database?: string }).database === 'ok' ? undefined : `database ${firstLine(body)}`;
  } catch {
    return `/api/health is not JSON: ${firstLine(body)}`;
  }
}

export const PROBES: readonly Probe[] = [
  ready('prometheus', 'Prometheus', 9090, '/-/ready', ['monitoring', 'agent']),
  {
    service: 'loki',
    title: 'Loki',
    port: 3100,
    path: '/ready',
    roles: ['monitoring'],
    healthy: '200 `ready`',
    judge: judgeLokiReady,
  },
  {
    service: 'grafana',
    title: 'Grafana',
    port: 3000,
    path: '/api/health',
    roles: ['monitoring'],
    healthy: '200, `"database": "ok"`',
    judge: judgeGrafanaHealth,
  },
  ...LOG_AGENTS.map((a) => ready(a.name, a.title, a.port, a.readyPath, a.roles, a.name)),
];

/** The probes of a host with this role and log agent, in the table's order. */
export function probesFor(role: Role, logAgent: LogAgent): Probe[] {
  return PROBES.filter((p) => p.roles.includes(role) && (!p.logAgent || p.logAgent === logAgent));
}

/** "Prometheus, Loki, Grafana and Promtail": the probes' titles as a phrase. */
export function titles(probes: readonly Probe[]): string {
  const names = probes.map((p) => p.title);
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : (names[0] ?? '');
}

/** How a person calls a check: the probe's title, or the check's own name. */
export function checkTitle(name: string): string | undefined {
  return PROBES.find((p) => p.service === name)?.title;
}

/** The README's table of probes. */
export function probesMarkdown(): string {
  return [
    '| service | endpoint (through the SSH tunnel) | healthy when | roles |',
    '| --- | --- | --- | --- |',
    ...PROBES.map(
      (p) =>
        `| ${p.title}${p.logAgent ? ` (log-agent: ${p.logAgent})` : ''} | \`${p.service}:${p.port}${p.path}\` | ${p.healthy} | ${p.roles.join(', ')} |`,
    ),
  ].join('\n');
}
