// The app's own lines on the log path. A canary line proves the agent ships what matches its
// glob; it cannot prove that the app's files match it (the seed post's failure: logs written
// where, or under a name that, the agent never reads). So the gate also reads the host's log
// directories, without writing: each job's newest line on disk must be in Loki, and a file the
// app writes that no job's glob matches fails the gate, named with its job, glob and fix.
import { posix } from 'node:path';
import { shq } from '../connection/shell.js';
import type { ServiceModel, StackModel } from '../model/compose.js';
import { hostDirOf, logAgentOf, logJobs } from '../model/logs.js';
import { CANARY_MARK } from './canary.js';

/** A file written within these minutes counts as being written now. */
export const RECENT_MINUTES = 10;
/**
 * On a run that proves nothing anew (a no-op), a job passes when Loki holds one of its lines
 * stamped no earlier than this before the newest line on disk: the agent is keeping up. A break
 * of the log path younger than this margin cannot be seen without writing.
 */
export const FRESH_MARGIN_SEC = 15;
/** How much of a file's end is read to find its last complete line. */
const TAIL_BYTES = 2048;
/** The part of a line looked for in Loki: its start (a timestamp makes it unique). */
const NEEDLE_CHARS = 160;

export interface AppLinesJob {
  readonly job: string;
  /** The stream selector: the labels the agent's config gives this job's lines. */
  readonly labels: Readonly<Record<string, string>>;
  /** The glob as the agent sees it, and where it is declared. */
  readonly glob: string;
  readonly declared: string;
  /** The directory on the host where the glob starts, and the glob from there. */
  readonly hostDir: string;
  readonly hostGlob: string;
  /** The patterns a file's own name must match (the glob's last part, braces expanded). */
  readonly names: readonly string[];
  /** The glob has a `**`: files below hostDir at any depth. */
  readonly deep: boolean;
}

export interface AppLinesPlan {
  readonly agentTitle: string;
  readonly jobs: readonly AppLinesJob[];
  /** The app's log directory on the host: files there that no job reads are named. */
  readonly appDir?: string;
  /** The agent's host directories and where it sees them, to name a path in a job to add. */
  readonly agentDirs: readonly { readonly host: string; readonly container: string }[];
}

const WILDCARD = /[*?[{]/;

/** `a{b,c}d` → `abd`, `acd` (nested and several groups too): shell `case` has no braces. */
export function expandBraces(pattern: string): string[] {
  const m = /\{([^{}]*)\}/.exec(pattern);
  if (!m) return [pattern];
  const [head, tail] = [pattern.slice(0, m.index), pattern.slice(m.index + m[0].length)];
  return (m[1] ?? '').split(',').flatMap((alt) => expandBraces(`${head}${alt}${tail}`));
}

/** A glob (Promtail's and Alloy's doublestar syntax) as a regular expression over a whole path. */
export function globRegExp(glob: string): RegExp {
  let re = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob.charAt(i);
    if (glob.startsWith('**/', i)) {
      re += '(?:[^/]*/)*';
      i += 2;
    } else if (glob.startsWith('**', i)) {
      re += '.*';
      i += 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        re += `[${glob
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (c === '{') {
      braces++;
      re += '(?:';
    } else if (c === '}' && braces > 0) {
      braces--;
      re += ')';
    } else if (c === ',' && braces > 0) re += '|';
    else re += c.replace(/[\\^$.+()|]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function jobOf(job: ReturnType<typeof logJobs>[number], agent: ServiceModel, root: string): AppLinesJob | undefined {
  const parts = job.path.split('/');
  const fixed = parts.findIndex((p) => WILDCARD.test(p));
  if (!job.job || fixed < 0 || fixed < parts.length - 1 - (parts[fixed] === '**' ? 1 : 0)) return undefined;
  const hostDir = hostDirOf(agent, parts.slice(0, fixed).join('/') || '/', root);
  if (!hostDir) return undefined;
  const rest = parts.slice(fixed);
  return {
    job: job.job,
    labels: Object.keys(job.labels).length ? job.labels : { job: job.job },
    glob: job.path,
    declared: `${job.file}:${job.line}`,
    hostDir,
    hostGlob: posix.join(hostDir, ...rest),
    names: expandBraces(rest[rest.length - 1] ?? '*'),
    deep: rest[0] === '**',
  };
}

/**
 * The jobs whose files can be read on the host (a glob whose directories are plain, or end in
 * one `**`, under a host directory mounted into the agent), and the app's log directory.
 */
export function appLinesPlan(
  model: StackModel,
  agent: ServiceModel,
  root: string,
  appDir: string | undefined,
): AppLinesPlan {
  return {
    agentTitle: logAgentOf(agent)?.title ?? agent.name,
    jobs: logJobs(model, agent).flatMap((j) => jobOf(j, agent, root) ?? []),
    appDir,
    agentDirs: agent.mounts.flatMap((m) => {
      const host = m.named ? undefined : hostDirOf(agent, m.target, root);
      return host ? [{ host, container: m.target }] : [];
    }),
  };
}

/**
 * Reads the host, writes nothing. Prints `@now EPOCH`; per job `@newest JOB MTIME BASE64-TAIL PATH`
 * (its newest file's end), `@nofile JOB` or `@nodir JOB`; and `@recent MTIME PATH` for every file
 * written within RECENT_MINUTES in the jobs' directories and the app's log directory.
 */
export function appLinesScript(
  plan: AppLinesPlan,
  agent?: { readonly docker: string; readonly container: string },
): string {
  const lines = [
    'echo "@now $(date +%s)"',
    // Lines written before the agent (re)started went with its previous run, maybe to another Loki or labels.
    ...(agent
      ? [
          `a=$(${agent.docker} inspect -f '{{.State.StartedAt}}' ${shq(agent.container)} 2>/dev/null) && echo "@agent $(date -d "$a" +%s 2>/dev/null)"`,
        ]
      : []),
    // An empty file (a segment just made, a log just rotated) holds no line: the one before does.
    `files() { find "$1" -maxdepth "$2" -type f ! -empty ! -name ${shq(`*${CANARY_MARK}*`)} ! -name '.*' -exec stat -c '%Y %n' {} + 2>/dev/null; }`,
    'newest() {',
    '  job=$1; d=$2; depth=$3; shift 3',
    '  [ -d "$d" ] || { echo "@nodir $job"; return; }',
    '  files "$d" "$depth" | sort -rn | while read -r t f; do',
    '    for p in "$@"; do case "${f##*/}" in $p)',
    `      echo "@newest $job $t $({ tail -c ${TAIL_BYTES} -- "$f" 2>/dev/null || sudo -n tail -c ${TAIL_BYTES} -- "$f"; } | base64 | tr -d '\\n') $f"; exit 3;;`,
    '    esac; done',
    '  done',
    '  [ $? = 3 ] || echo "@nofile $job"',
    '}',
  ];
  for (const j of plan.jobs) {
    lines.push(`newest ${shq(j.job)} ${shq(j.hostDir)} ${j.deep ? 8 : 1} ${j.names.map(shq).join(' ')}`);
  }
  const scanned = new Map<string, number>();
  for (const j of plan.jobs) scanned.set(j.hostDir, Math.max(scanned.get(j.hostDir) ?? 0, j.deep ? 8 : 1));
  if (plan.appDir) scanned.set(plan.appDir, Math.max(scanned.get(plan.appDir) ?? 0, 3));
  for (const [dir, depth] of scanned) {
    lines.push(
      `[ -d ${shq(dir)} ] && find ${shq(dir)} -maxdepth ${depth} -type f -mmin -${RECENT_MINUTES} ! -name ${shq(`*${CANARY_MARK}*`)} ! -name '.*' -exec stat -c '@recent %Y %n' {} + 2>/dev/null | head -n 100`,
    );
  }
  lines.push('true');
  return lines.join('\n');
}

/** One file as the host's look saw it. */
export interface FileSeen {
  readonly path: string;
  readonly mtimeSec: number;
}

export type JobOnDisk =
  | (FileSeen & { readonly state: 'newest'; readonly needle?: string })
  | { readonly state: 'nofile' | 'nodir' };

export interface DiskLook {
  readonly nowSec: number;
  /** When the log agent's container started, if known. */
  readonly agentStartSec?: number;
  readonly jobs: ReadonlyMap<string, JobOnDisk>;
  readonly recent: readonly FileSeen[];
}

export function parseDiskLook(stdout: string): DiskLook {
  let nowSec = Math.floor(Date.now() / 1000);
  let agentStartSec: number | undefined;
  const jobs = new Map<string, JobOnDisk>();
  const recent = new Map<string, FileSeen>();
  for (const line of stdout.split('\n')) {
    const now = /^@now (\d+)$/.exec(line);
    const agentStart = /^@agent (\d+)$/.exec(line);
    if (agentStart) agentStartSec = Number(agentStart[1]);
    const newest = /^@newest (\S+) (\d+) (\S*) (.+)$/.exec(line);
    const none = /^@(nofile|nodir) (\S+)$/.exec(line);
    const rec = /^@recent (\d+) (.+)$/.exec(line);
    if (now) nowSec = Number(now[1]);
    else if (newest?.[1] && newest[4])
      jobs.set(newest[1], {
        state: 'newest',
        path: newest[4],
        mtimeSec: Number(newest[2]),
        needle: needleOf(Buffer.from(newest[3] ?? '', 'base64')),
      });
    else if (none?.[2]) jobs.set(none[2], { state: none[1] as 'nofile' | 'nodir' });
    else if (rec?.[2]) recent.set(rec[2], { path: rec[2], mtimeSec: Number(rec[1]) });
  }
  return { nowSec, agentStartSec, jobs, recent: [...recent.values()] };
}

/**
 * What to look for in Loki of a file's end: its last complete line (the agent ships a line once
 * its newline is written), from its start, or from its end when the line is longer than the
 * piece read. Undefined when no line is complete yet.
 */
export function needleOf(tail: Buffer): string | undefined {
  const text = tail.toString('utf8');
  const lines = text.slice(0, text.lastIndexOf('\n') + 1).split('\n');
  lines.pop();
  while (lines.length && !lines[lines.length - 1]?.trim()) lines.pop();
  const last = lines.pop()?.replace(/\r$/, '');
  if (!last) return undefined;
  // With no newline before it, the line may have begun before the piece read.
  const whole = lines.length > 0 || tail.length < TAIL_BYTES;
  const needle = (whole ? last.slice(0, NEEDLE_CHARS) : last.slice(-NEEDLE_CHARS)).replace(/^\uFFFD+/, '');
  return needle.trim() ? needle : undefined;
}

/** A LogQL stream selector for a job's labels. */
export function selectorOf(labels: Readonly<Record<string, string>>): string {
  return `{${Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(', ')}}`;
}

/** A LogQL string literal: raw (backquoted) unless the text has a backquote itself. */
function logqlString(text: string): string {
  return text.includes('`') ? JSON.stringify(text) : `\`${text}\``;
}

/** Proving a path anew: the newest line itself. Else: any line no older than the margin. */
export type AppLinesMode = 'content' | 'fresh';

/**
 * The Loki query_range parameters that find a job's newest line: by its content; or, `after`,
 * any line of the job stamped after that line was written (a line Loki lost or refused, e.g. in a
 * batch dropped for the rate limit, must not hold the gate while newer ones arrive); or, `fresh`
 * (a no-op), any line no older than the margin before it.
 */
export function appLineQuery(
  job: AppLinesJob,
  seen: FileSeen & { readonly needle?: string },
  nowSec: number,
  mode: AppLinesMode | 'after',
): Record<string, string> {
  const filter =
    mode === 'content' && seen.needle ? `|= ${logqlString(seen.needle)}` : `!= ${JSON.stringify(CANARY_MARK)}`;
  // The agent stamps a line when it reads it (or with the time it parses from it): not long
  // before the file changed, and at most Loki's grace period for future lines after now.
  const startSec = {
    content: seen.mtimeSec - 600,
    after: seen.mtimeSec + 1,
    fresh: seen.mtimeSec - FRESH_MARGIN_SEC,
  }[mode];
  return {
    query: `${selectorOf(job.labels)} ${filter}`,
    start: `${startSec}000000000`,
    end: `${nowSec + 600}000000000`,
    limit: '1',
    direction: 'backward',
  };
}

/** Whether a query_range answer holds a line. */
export function holdsLine(body: string): boolean {
  const data = JSON.parse(body) as { data?: { result?: { values?: unknown[] }[] } };
  return (data.data?.result ?? []).some((r) => (r.values?.length ?? 0) > 0);
}

/** An age in whole units: a file's time has whole seconds. */
function ago(nowSec: number, thenSec: number): string {
  const s = Math.max(0, nowSec - thenSec);
  if (s < 120) return `${s}s`;
  return s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
}

/** Whether a job's newest line is one the gate waits for (written recently, complete). */
export function awaited(
  seen: JobOnDisk | undefined,
  disk: Pick<DiskLook, 'nowSec' | 'agentStartSec'>,
): seen is FileSeen & {
  state: 'newest';
  needle?: string;
} {
  // A line still being written (no newline) is not shipped yet; one written before the agent
  // (re)started went with its previous run (maybe to another Loki, or under other labels).
  return (
    seen?.state === 'newest' &&
    disk.nowSec - seen.mtimeSec <= RECENT_MINUTES * 60 &&
    seen.mtimeSec >= (disk.agentStartSec ?? 0) &&
    seen.needle !== undefined
  );
}

/** A job's verdict on the app's own lines: ok, what was seen, and what is still awaited. */
export function appLineVerdict(
  job: AppLinesJob,
  disk: DiskLook,
  arrived: boolean,
  mode: AppLinesMode,
  agentTitle: string,
): { ok: boolean; detail: string } {
  const seen = disk.jobs.get(job.job);
  // A directory that is not there is the canary's to name.
  if (seen?.state === 'nodir') return { ok: true, detail: '' };
  if (seen?.state !== 'newest') return { ok: true, detail: `the app has written nothing ${job.glob} matches yet` };
  const file = posix.basename(seen.path);
  const age = ago(disk.nowSec, seen.mtimeSec);
  if (!awaited(seen, disk)) {
    if (!seen.needle) return { ok: true, detail: `${file} has no complete line yet` };
    if (seen.mtimeSec < (disk.agentStartSec ?? 0) && disk.nowSec - seen.mtimeSec <= RECENT_MINUTES * 60)
      return { ok: true, detail: `${file} last written before ${agentTitle} (re)started: nothing new since` };
    return { ok: true, detail: `quiet: ${file} last written ${age} ago` };
  }
  if (arrived)
    return {
      ok: true,
      detail:
        mode === 'content'
          ? `the app's newest line (${file}, written ${age} ago) is in Loki`
          : `Loki keeps up with ${file} (written ${age} ago)`,
    };
  return {
    ok: false,
    detail:
      mode === 'content'
        ? `the newest line of ${seen.path} is not in Loki under ${selectorOf(job.labels)}, nor any line after it: ${agentTitle} has not shipped it`
        : `${seen.path} is being written, but Loki has no line under ${selectorOf(job.labels)} from ${FRESH_MARGIN_SEC}s before its newest: ${agentTitle} has stopped shipping it`,
  };
}

/** Rotated or compressed copies: written once at rotation, their lines were read before it. */
const ROTATED = /\.(gz|zip|bz2|xz|zst|lz4|tmp|swp|lck|lock)$|\.\d+$/i;

/** A file being written that no job's glob matches, and the jobs that read its directory. */
export interface UnreadFile extends FileSeen {
  readonly watchedBy: readonly AppLinesJob[];
}

/** Files written within RECENT_MINUTES that no job reads: in a job's directory, or the app's. */
export function unreadFiles(plan: AppLinesPlan, disk: DiskLook): UnreadFile[] {
  const globs = plan.jobs.map((j) => globRegExp(j.hostGlob));
  const watches = (j: AppLinesJob, path: string) =>
    posix.dirname(path) === j.hostDir || (j.deep && path.startsWith(`${j.hostDir}/`));
  return disk.recent
    .filter((f) => !ROTATED.test(f.path) && !globs.some((re) => re.test(f.path)))
    .sort((a, b) => a.path.localeCompare(b.path))
    .map((f) => ({ ...f, watchedBy: plan.jobs.filter((j) => watches(j, f.path)) }));
}

/** Where the agent sees a host path, if it mounts its directory. */
function agentPathOf(plan: AppLinesPlan, path: string): string | undefined {
  const dir = plan.agentDirs.find((d) => path.startsWith(`${d.host}/`));
  return dir && posix.join(dir.container, path.slice(dir.host.length + 1));
}

/** One sentence per directory: the files, the jobs that read it and their globs, and the fix. */
export function unreadDetail(plan: AppLinesPlan, files: readonly UnreadFile[]): string {
  const byDir = new Map<string, UnreadFile[]>();
  for (const f of files) byDir.set(posix.dirname(f.path), [...(byDir.get(posix.dirname(f.path)) ?? []), f]);
  const config = plan.jobs[0]?.declared.replace(/:\d+$/, '') ?? "the log agent's config";
  return [...byDir.entries()]
    .map(([dir, here]) => {
      const named = here
        .slice(0, 4)
        .map((f) => posix.basename(f.path))
        .join(', ');
      // No ages: the watchdog tells a new outage from the same one by these words.
      const list = `${dir}/ has ${named}${here.length > 4 ? ` and ${here.length - 4} more` : ''} (written in the last ${RECENT_MINUTES} min)`;
      const readers = here[0]?.watchedBy ?? [];
      if (readers.length)
        return `${list}, which ${readers.map((j) => `job ${j.job} (glob ${j.glob}, ${j.declared})`).join(' and ')} does not match: ${plan.agentTitle} never reads ${here.length > 1 ? 'them' : 'it'}. Make the glob match the app's file names, or have the app write names the glob matches`;
      const seen = here[0] && agentPathOf(plan, here[0].path);
      return `${list}, which no log job reads (the jobs read ${plan.jobs.map((j) => j.glob).join(', ')} as ${plan.agentTitle} sees them). The bundled jobs expect the seed's Logback layout: one file per level under debug/, info/, warn/ and error/ of the log directory (a logback-spring.xml with a file appender per level; a default Spring Boot app writes one spring.log instead). Write that layout, or add a job reading ${seen ?? `${dir} (mounted into the log agent)`} to ${config}`;
    })
    .join(' | ');
}
