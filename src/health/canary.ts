// The log path, proven: a line unique to this run is appended to a file of our own in every
// directory the log agent tails, and the gate passes only when Loki returns each line under its
// directory's job label. A wrong mount, a wrong __path__, an agent that cannot reach Loki or a
// Loki that refuses the push each end in a sentence that says so.
import { posix } from 'node:path';
import { shq } from '../connection/shell.js';
import type { ServiceModel, StackModel } from '../model/compose.js';
import { hostMountOf, logAgentOf, logJobs } from '../model/logs.js';

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
  /**
   * The mount's source on the host that holds hostFile (absent: hostFile's own directory). Below
   * it, whoever writes the logs may have made the directories, links among them.
   */
  readonly hostRoot?: string;
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
  const at = hostMountOf(agent, containerDir, root);
  if (!at)
    return {
      ...base,
      problem: `${agent.name} watches ${job.path}, but no host directory is mounted at ${containerDir} in its container (it mounts ${agent.mounts.map((m) => m.target).join(', ')})`,
    };
  return { ...base, hostFile: posix.join(at.source, at.below, posix.basename(containerFile)), hostRoot: at.source };
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
 * The writer, run as `sh -c W _ ROOT BELOW NAME TEXT [own]`: it walks from ROOT (the mount's
 * source) down BELOW one directory at a time and never through a link (the app may own the
 * directories below ROOT, and a link there could lead the write, or the removal, anywhere),
 * checks that it stands where the path says, then makes NAME there as a new file: never through
 * a link, never into what is there. Only the login user's writer (`own`) removes earlier runs'
 * canary files there (regular files only, found without following links) and appends to a
 * regular file already there. Exit 3: a directory is missing (what is next to it printed);
 * 4: a link (its path below ROOT printed); 5: NAME is taken; anything else: not allowed to (the
 * next writer may be).
 */
function writerScript(token: string): string {
  return [
    `cd -P -- "$1" 2>/dev/null || { ls -1 -- "\${1%/*}" 2>/dev/null | tr '\\n' ' '; exit 3; }`,
    'top=$(pwd -P); top=${top%/}; rel=',
    'set -f; IFS=/',
    'for c in $2; do',
    '  unset IFS',
    '  case $c in ""|.|..) echo "$rel$c"; exit 4 ;; esac',
    '  if [ -L "$c" ]; then echo "$rel$c"; exit 4; fi',
    `  if [ ! -d "$c" ]; then ls -1 | tr '\\n' ' '; exit 3; fi`,
    '  cd -P -- "$c" || exit 2',
    '  rel="$rel$c/"; top="$top/$c"',
    'done',
    'unset IFS',
    // A directory swapped for a link between the look and the cd: not where the path says.
    '[ "$(pwd -P)" = "${top:-/}" ] || { echo "${rel%/}"; exit 4; }',
    `[ "$5" != own ] || find . -maxdepth 1 -type f -name '*${CANARY_MARK}-*' ! -name '*${CANARY_MARK}-${token}*' -delete 2>/dev/null || :`,
    'if [ -L "./$3" ] || { [ -e "./$3" ] && [ ! -f "./$3" ]; }; then exit 5; fi',
    // A glob without a wildcard names one file, maybe the app's own log: only the login user appends.
    `if [ -e "./$3" ]; then [ "$5" = own ] || exit 5; printf '%s\\n' "$4" >> "./$3" || exit 2; exit 0; fi`,
    `set -C; printf '%s\\n' "$4" > "./$3" || exit 2`,
  ].join('\n');
}

/** One file to write: the jobs whose lines go in it (two jobs may watch the same file name). */
interface CanaryFile {
  readonly jobs: string[];
  readonly root: string;
  readonly below: string;
  readonly name: string;
  readonly lines: string[];
}

function canaryFiles(plan: CanaryPlan, token: string): CanaryFile[] {
  const files = new Map<string, CanaryFile>();
  for (const s of plan.spots) {
    if (!s.hostFile) continue;
    const dir = posix.dirname(s.hostFile);
    const root = s.hostRoot ?? dir;
    const file = files.get(s.hostFile) ?? {
      jobs: [],
      root,
      below: posix.relative(root, dir),
      name: posix.basename(s.hostFile),
      lines: [],
    };
    file.jobs.push(s.job);
    file.lines.push(canaryLine(token, s.job));
    files.set(s.hostFile, file);
  }
  return [...files.values()];
}

/**
 * Writes each job's line to a new file on the host: as the login user (who also removes earlier
 * runs' files), else with `sudo -n`, else from a throwaway container of the agent's own image
 * that mounts only the mount's source (the app's log directories may belong to the user the app
 * runs as). Root only ever makes the new file, through no link. Prints `@wrote JOB`,
 * `@nodir JOB DIR-LISTING`, `@link JOB PATH`, `@taken JOB PATH` or `@denied JOB`.
 */
export function canaryScript(plan: CanaryPlan, token: string, docker: string): string {
  const viaDocker = plan.agent.image
    ? `if again; then r=$(${docker} run --rm --user 0:0 --network none --entrypoint /bin/sh -v "$2:/c" ${shq(plan.agent.image)} -c "$W" _ /c "$3" "$4" "$5" 2>/dev/null); c=$?; fi`
    : '';
  const lines = [
    `W=${shq(writerScript(token))}`,
    `say() { printf '%s\\n' "$2" | while IFS= read -r j; do echo "@$1 $j $3"; done; }`,
    // Written, or refused for a reason no other user would change: no one else tries.
    'again() { case $c in 0|3|4|5) return 1 ;; esac; }',
    'put() {',
    '  r=$(sh -c "$W" _ "$2" "$3" "$4" "$5" own 2>/dev/null); c=$?',
    '  if again; then r=$(sudo -n sh -c "$W" _ "$2" "$3" "$4" "$5" 2>/dev/null); c=$?; fi',
    `  ${viaDocker}`,
    '  case $c in',
    '    0) say wrote "$1" ;;',
    '    3) say nodir "$1" "$r" ;;',
    '    4) say link "$1" "$2/$r" ;;',
    '    5) say taken "$1" "$2/${3:+$3/}$4" ;;',
    '    *) say denied "$1" ;;',
    '  esac',
    '}',
  ];
  for (const f of canaryFiles(plan, token))
    lines.push(
      `put ${shq(f.jobs.join('\n'))} ${shq(f.root)} ${shq(f.below)} ${shq(f.name)} ${shq(f.lines.join('\n'))}`,
    );
  return lines.join('\n');
}

export type WriteOutcome =
  | { readonly state: 'wrote' }
  | { readonly state: 'nodir'; readonly siblings: string }
  | { readonly state: 'link' | 'taken'; readonly path: string }
  | { readonly state: 'denied' };

export function parseCanaryWrites(stdout: string): Map<string, WriteOutcome> {
  const out = new Map<string, WriteOutcome>();
  for (const line of stdout.split('\n')) {
    const m = /^@(wrote|nodir|link|taken|denied) (\S+) ?(.*)$/.exec(line);
    if (!m?.[1] || !m[2]) continue;
    out.set(m[2], writeOutcome(m[1], (m[3] ?? '').trim()));
  }
  return out;
}

function writeOutcome(state: string, rest: string): WriteOutcome {
  if (state === 'nodir') return { state, siblings: rest };
  if (state === 'link' || state === 'taken') return { state, path: rest };
  return { state: state === 'wrote' ? 'wrote' : 'denied' };
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
