// The log path, proven: a line unique to this run is appended to a file of our own in every
// directory the log agent tails, and the gate passes only when Loki returns each line under its
// directory's job label. A wrong mount, a wrong __path__, an agent that cannot reach Loki or a
// Loki that refuses the push each end in a sentence that says so.
import { posix } from 'node:path';
import { shq } from '../connection/shell.js';
import type { ServiceModel, StackModel } from '../model/compose.js';
import { hostDirOf, logAgentOf, logJobs } from '../model/logs.js';

/** Marks every canary line and file: dashboards and alert rules filter it out. */
export const CANARY_MARK = 'monitoring-deploy-canary';

export interface CanarySpot {
  readonly job: string;
  /** The glob the agent tails (a path inside its container). */
  readonly glob: string;
  /** Our file, inside the agent's container, matching the glob. */
  readonly containerFile: string;
  /** The same file on the host, when the glob's directory is mounted from the host. */
  readonly hostFile?: string;
  /** Why no line can be placed for this job (found without touching the host). */
  readonly problem?: string;
}

export interface CanaryPlan {
  readonly agent: {
    readonly service: string;
    readonly title: string;
    readonly image?: string;
    /** Its HTTP server (its /metrics tells what it read and sent). */
    readonly port?: number;
  };
  readonly spots: readonly CanarySpot[];
}

/**
 * A file name the glob's last part matches: `*.log` → `monitoring-deploy-canary-TOKEN.log`. A new
 * file each run: the log agent keeps read offsets by path, and an offset saved for an older file
 * of the same name (its positions outlive a log directory made afresh) would skip the new line.
 */
export function canaryFileName(pattern: string, token: string): string {
  return pattern
    .replace(/\{([^,}]*)[^}]*\}/g, '$1')
    .replace(/\[!?(.)[^\]]*\]/g, '$1')
    .replace(/\*+/g, `${CANARY_MARK}-${token}`)
    .replace(/\?/g, 'x');
}

const WILDCARD = /[*?[{]/;

function spotOf(job: { job: string; path: string }, agent: ServiceModel, root: string, token: string): CanarySpot {
  const parts = job.path.split('/');
  const last = parts.pop() ?? '';
  // A `**` directory matches zero directories too: the canary goes where it starts.
  const dirParts = parts.filter((p) => p !== '**');
  const containerDir = dirParts.join('/') || '/';
  const containerFile = posix.join(containerDir, canaryFileName(last, token));
  const base = { job: job.job, glob: job.path, containerFile };
  if (!job.job)
    return { ...base, problem: `${job.path} has no job label, so its lines cannot be found in Loki by job` };
  if (dirParts.some((p) => WILDCARD.test(p)))
    return {
      ...base,
      problem: `${job.path} has a wildcard directory: there is no one directory to put a canary line in`,
    };
  const hostDir = hostDirOf(agent, containerDir, root);
  if (!hostDir)
    return {
      ...base,
      problem: `${agent.name} watches ${job.path}, but no host directory is mounted at ${containerDir} in its container (it mounts ${agent.mounts.map((m) => m.target).join(', ')})`,
    };
  return { ...base, hostFile: posix.join(hostDir, posix.basename(containerFile)) };
}

/** Where the canary lines go: one spot per job of the agent's config. */
export function canaryPlan(model: StackModel, agent: ServiceModel, root: string, token: string): CanaryPlan {
  return {
    agent: {
      service: agent.name,
      title: logAgentOf(agent)?.title ?? agent.name,
      image: agent.image?.value,
      port: logAgentOf(agent)?.port,
    },
    spots: logJobs(model, agent).map((j) => spotOf(j, agent, root, token)),
  };
}

/** The line written for a job: the mark, this run's token, and the job it should arrive under. */
export function canaryLine(token: string, job: string, at = new Date()): string {
  return `${at.toISOString()} INFO ${CANARY_MARK} ${token} job=${job}`;
}

/**
 * Appends each job's line to its file on the host: as the login user, else with `sudo -n`, else
 * from a throwaway container of the agent's own image (the app's log directories may belong to
 * the user the app runs as). Prints `@wrote JOB`, `@nodir JOB DIR-LISTING` or `@denied JOB`.
 */
export function canaryScript(plan: CanaryPlan, token: string, docker: string): string {
  // Earlier runs' canary files in the directory go (this run's token kept): one small file each.
  const append = `f=$1; for o in "\${f%/*}"/*${CANARY_MARK}-*; do case "$o" in *${CANARY_MARK}-${token}*) ;; *) rm -f -- "$o" ;; esac; done; printf '%s\\n' "$2" >> "$f"`;
  const viaDocker = plan.agent.image
    ? `|| ${docker} run --rm --user 0:0 --network none --entrypoint /bin/sh -v "$d:/c" ${shq(plan.agent.image)} -c "$W" _ "/c/$n" "$3" >/dev/null 2>&1`
    : '';
  const lines = [
    `W=${shq(append)}`,
    'put() {',
    '  d=$(dirname -- "$2"); n=$(basename -- "$2")',
    `  if [ ! -d "$d" ]; then echo "@nodir $1 $(ls -1 -- "$(dirname -- "$d")" 2>/dev/null | tr '\\n' ' ')"; return; fi`,
    `  if sh -c "$W" _ "$2" "$3" 2>/dev/null || sudo -n sh -c "$W" _ "$2" "$3" 2>/dev/null ${viaDocker}; then echo "@wrote $1"; else echo "@denied $1"; fi`,
    '}',
  ];
  for (const s of plan.spots) {
    if (s.hostFile) lines.push(`put ${shq(s.job)} ${shq(s.hostFile)} ${shq(canaryLine(token, s.job))}`);
  }
  return lines.join('\n');
}

export type WriteOutcome =
  | { readonly state: 'wrote' }
  | { readonly state: 'nodir'; readonly siblings: string }
  | { readonly state: 'denied' };

export function parseCanaryWrites(stdout: string): Map<string, WriteOutcome> {
  const out = new Map<string, WriteOutcome>();
  for (const line of stdout.split('\n')) {
    const m = /^@(wrote|nodir|denied) (\S+) ?(.*)$/.exec(line);
    if (!m?.[1] || !m[2]) continue;
    out.set(
      m[2],
      m[1] === 'nodir' ? { state: 'nodir', siblings: (m[3] ?? '').trim() } : { state: m[1] as 'wrote' | 'denied' },
    );
  }
  return out;
}

/** LogQL for this run's lines of the given jobs (and host label, on a Loki shared by hosts). */
export function canaryQuery(token: string, jobs: readonly string[], host?: string): string {
  const re = jobs.map((j) => j.replace(/[\\^$.*+?()[\]{}|]/g, '\\\\$&')).join('|');
  return `{job=~"${re}"${host ? `, host=${JSON.stringify(host)}` : ''}} |= "${token}"`;
}

/** The jobs whose own line came back, and lines that came back under another job. */
export function canaryHits(body: string, token: string): { arrived: Set<string>; misrouted: Map<string, string> } {
  const data = JSON.parse(body) as {
    data?: { result?: { stream?: Record<string, string>; values?: [string, string][] }[] };
  };
  const arrived = new Set<string>();
  const misrouted = new Map<string, string>();
  for (const r of data.data?.result ?? []) {
    const label = r.stream?.job ?? '';
    for (const [, line] of r.values ?? []) {
      if (!line.includes(token)) continue;
      const wanted = /job=(\S+)/.exec(line)?.[1] ?? '';
      if (wanted === label) arrived.add(wanted);
      else misrouted.set(wanted, label);
    }
  }
  return { arrived, misrouted };
}

/** Plain words for why a written line is not in Loki, from the agent's metrics and log lines. */
export function whyNotArrived(spot: CanarySpot, agentTitle: string, metrics: string | undefined, logs: string): string {
  const read = metrics
    ?.split('\n')
    .some((l) => /read_lines_total\{/.test(l) && l.includes(`path="${spot.containerFile}"`) && !/ 0$/.test(l.trim()));
  const pushError = logs
    .split('\n')
    .reverse()
    .find(
      (l) =>
        /error sending batch|final error sending batch|failed to send batch|error=|level=error|level=warn/i.test(l) &&
        // Its own HTTP server's log of a request (our /ready probe answered 500) is not a push.
        !/msg="(GET|POST|HEAD|PUT) \//.test(l),
    );
  if (pushError && /connection refused|no such host|i\/o timeout|dial tcp|context deadline exceeded/i.test(pushError))
    return `${agentTitle} cannot reach Loki: ${pushError.trim().slice(0, 240)}`;
  const status = /status(?:[ _]code)?[=: ]+(\d{3})|HTTP status (\d{3})|\((\d{3})\)/i.exec(pushError ?? '');
  if (pushError && status)
    return `Loki refused ${agentTitle}'s push (HTTP ${status[1] ?? status[2] ?? status[3]}): ${pushError.trim().slice(0, 240)}`;
  if (read === false)
    return `${agentTitle} does not tail ${spot.containerFile} (its __path__ ${spot.glob}): check the glob and the mount`;
  if (read)
    return `${agentTitle} read the line, but Loki does not return it${pushError ? `: ${pushError.trim().slice(0, 240)}` : ''}`;
  return `${agentTitle} has not sent it to Loki${pushError ? `: ${pushError.trim().slice(0, 240)}` : ''}`;
}
