// The gate's log path: a canary line written into each file the log agent tails, then found in
// Loki under its job (the host's own Loki, or for an agent the central Loki query URL). When a
// line does not arrive, the agent's own metrics and last log lines say why.
import { formatDuration, oneLine } from '../base/format.js';
import { httpViaHost } from '../connection/http.js';
import type { RemoteHost } from '../connection/ssh.js';
import { ConnectionLostError, headline } from '../errors.js';
import { dockerCommand } from '../host/docker.js';
import type { HostFacts } from '../host/preflight.js';
import {
  type AppLinesMode,
  type AppLinesPlan,
  appLineQuery,
  appLinesScript,
  appLineVerdict,
  awaited,
  type DiskLook,
  holdsLine,
  parseDiskLook,
  unreadDetail,
  unreadFiles,
} from './app-lines.js';
import { askEndpoint, type QueryEndpoint, queryRefused, shownUrl } from './arrival.js';
import {
  type CanaryPlan,
  type CanarySpot,
  canaryHits,
  canaryQuery,
  canaryScript,
  parseCanaryWrites,
  type WriteOutcome,
  whyNotArrived,
} from './canary.js';
import { type ContainerInfo, containerLogs, listContainers } from './containers.js';
import type { CheckState } from './probes.js';

/** The canary plan of one run: its lines carry this run's token. */
export type CanaryRun = CanaryPlan & { readonly token: string };

/** What the gate learns of the log path over its looks: lines written, found, misrouted. */
export interface LogProgress {
  readonly started: number;
  readonly writes: Map<string, WriteOutcome>;
  readonly arrivedMs: Map<string, number>;
  readonly misrouted: Map<string, string>;
  /** The app's own lines: the host's log files as last read, and the jobs whose line is in Loki. */
  readonly appLines: { disk?: DiskLook; readonly arrived: Set<string> };
}

/** The app's own lines of one run: what to read on the host, and what proves them in Loki. */
export interface AppLinesRun {
  readonly plan: AppLinesPlan;
  readonly mode: AppLinesMode;
}

export const logCheckName = (job: string) => `logs ${job}`;

/**
 * Where the canary lines are looked for: the host's own Loki container (with its probe), or,
 * for an agent, a Loki query URL asked from the host, with the agent's host label.
 */
export type LokiSource =
  | { readonly container?: ContainerInfo; readonly check?: CheckState; readonly endpoint?: undefined }
  | { readonly endpoint: QueryEndpoint; readonly host: string };

/** Writes the canary lines not yet written (their directory may appear later), then asks Loki. */
export async function logPathChecks(
  remote: RemoteHost,
  facts: HostFacts,
  canary: CanaryRun,
  loki: LokiSource,
  agent: ContainerInfo | undefined,
  progress: LogProgress,
): Promise<CheckState[]> {
  await writeCanaries(remote, facts, canary, progress);
  const waiting = canary.spots.filter(
    (s) => progress.writes.get(s.job)?.state === 'wrote' && !progress.arrivedMs.has(s.job),
  );
  const query = (host?: string) => ({
    query: canaryQuery(
      canary.token,
      waiting.map((s) => s.job),
      host,
    ),
    start: `${(Math.floor(progress.started / 1000) - 300) * 1e9}`,
    limit: '1000',
    direction: 'forward',
  });
  const lokiDown = await askLoki(remote, loki, waiting.length ? query(loki.endpoint && loki.host) : undefined, (body) =>
    noteHits(body, canary.token, progress),
  );
  const at = loki.endpoint && shownUrl(loki.endpoint.url);
  return canary.spots.map((s) => logCheck(s, canary, progress, agent, lokiDown, at));
}

/**
 * Reads the host's log files (once; again while a job has no file yet when proving anew), asks
 * Loki for each job's newest line, and judges: per job, and the files no job reads.
 */
export async function appLineChecks(
  remote: RemoteHost,
  facts: HostFacts,
  lines: AppLinesRun,
  loki: LokiSource,
  agent: ContainerInfo | undefined,
  progress: LogProgress,
): Promise<{ readonly verdicts: ReadonlyMap<string, CheckState>; readonly unread?: CheckState }> {
  const { plan, mode } = lines;
  const state = progress.appLines;
  const incomplete = (d: DiskLook) => plan.jobs.some((j) => d.jobs.get(j.job)?.state !== 'newest');
  if (!state.disk || (mode === 'content' && incomplete(state.disk)))
    state.disk = keepAwaited(
      state.disk,
      parseDiskLook(
        await remote.run(appLinesScript(plan, agent && { docker: dockerCommand(facts), container: agent.name }), {
          what: "Reading the app's log files",
        }),
      ),
    );
  const disk = state.disk;
  const lokiDown = await Promise.all(
    plan.jobs.map(async (j) => {
      const seen = disk.jobs.get(j.job);
      if (state.arrived.has(j.job) || !awaited(seen, disk)) return undefined;
      const ask = (m: AppLinesMode | 'after') =>
        askLoki(remote, loki, appLineQuery(j, seen, disk.nowSec, m), (body) => {
          if (holdsLine(body)) state.arrived.add(j.job);
        });
      const down = await ask(mode);
      return down || mode === 'fresh' || state.arrived.has(j.job) ? down : ask('after');
    }),
  );
  const verdicts = new Map<string, CheckState>();
  plan.jobs.forEach((j, i) => {
    const v = appLineVerdict(j, disk, state.arrived.has(j.job), mode, plan.agentTitle);
    // Loki that cannot be asked is one cause for every job, said in the same words.
    const why = v.ok ? v : { ok: false, detail: lokiDown[i] ?? v.detail };
    verdicts.set(j.job, { name: logCheckName(j.job), ...why, ...(why.ok ? {} : { container: agent?.name }) });
  });
  const unread = unreadFiles(plan, disk);
  return {
    verdicts,
    unread: unread.length ? { name: 'unread logs', ok: false, detail: unreadDetail(plan, unread) } : undefined,
  };
}

/**
 * A newer look, keeping each line already awaited: a busy app writes a newer line before every
 * look, and chasing the newest one would wait on lines the agent has not had time to read.
 */
function keepAwaited(before: DiskLook | undefined, now: DiskLook): DiskLook {
  if (!before) return now;
  const jobs = new Map(now.jobs);
  for (const [job, seen] of before.jobs) if (awaited(seen, before)) jobs.set(job, seen);
  return { ...now, jobs };
}

/** A job's canary check and its app-line verdict as one check: both must hold. */
export function withAppLines(checks: readonly CheckState[], verdicts: ReadonlyMap<string, CheckState>): CheckState[] {
  const merged = checks.map((c) => {
    const v = verdicts.get(c.name.slice('logs '.length));
    // A canary that cannot arrive says why; the app's line cannot arrive either.
    if (!v?.detail || !c.ok) return c;
    return { ...c, ok: v.ok, detail: `${c.detail}; ${v.detail}`, container: c.container ?? v.container };
  });
  const named = new Set(checks.map((c) => c.name));
  return [...merged, ...[...verdicts.values()].filter((v) => v.detail && !named.has(v.name))];
}

/** The lines not yet written: their directory may have appeared since the last look. */
async function writeCanaries(remote: RemoteHost, facts: HostFacts, canary: CanaryRun, progress: LogProgress) {
  const pending = canary.spots.filter((s) => s.hostFile && progress.writes.get(s.job)?.state !== 'wrote');
  if (!pending.length) return;
  const out = await remote.run(canaryScript({ ...canary, spots: pending }, canary.token, dockerCommand(facts)), {
    what: 'Writing the canary log lines',
  });
  for (const [job, w] of parseCanaryWrites(out)) progress.writes.set(job, w);
}

function noteHits(body: string, token: string, progress: LogProgress): void {
  const hits = canaryHits(body, token);
  for (const job of hits.arrived)
    if (!progress.arrivedMs.has(job)) progress.arrivedMs.set(job, Date.now() - progress.started);
  for (const [job, label] of hits.misrouted) progress.misrouted.set(job, label);
}

/** Asks the host's Loki or the Loki query URL; says why not if it cannot be asked. */
function askLoki(
  remote: RemoteHost,
  loki: LokiSource,
  query: Record<string, string> | undefined,
  found: (body: string) => void,
): Promise<string | undefined> {
  if (!loki.endpoint) return askOwnLoki(remote, loki, query, found);
  return query ? askQueryUrl(remote, loki.endpoint, query, found) : Promise.resolve(undefined);
}

/** An agent's lines at the central Loki query URL; why not, if it cannot be asked. */
async function askQueryUrl(
  remote: RemoteHost,
  endpoint: QueryEndpoint,
  query: Record<string, string>,
  found: (body: string) => void,
): Promise<string | undefined> {
  try {
    const res = await askEndpoint(remote, endpoint, query);
    const refused = queryRefused(endpoint, res.status, res.body);
    if (!refused) found(res.body);
    return refused;
  } catch (e) {
    if (e instanceof ConnectionLostError) throw e;
    return `${shownUrl(endpoint.url)} cannot be reached from the host: ${headline(e)}`;
  }
}

/** The lines in the host's own Loki, once it is ready; why not, if it cannot be asked. */
async function askOwnLoki(
  remote: RemoteHost,
  loki: Extract<LokiSource, { endpoint?: undefined }>,
  query: Record<string, string> | undefined,
  found: (body: string) => void,
): Promise<string | undefined> {
  if (loki.check?.ok !== true) {
    if (!loki.check || loki.check.detail.startsWith('no ')) return 'there is no Loki container';
    return loki.check.detail.startsWith('container ') ? 'Loki is not running' : 'Loki is not ready yet';
  }
  if (!query || !loki.container?.address) return undefined;
  // A query that fails is this look's answer about the log path, not the end of the look.
  try {
    const res = await httpViaHost(remote, loki.container.address, 3100, {
      path: `/loki/api/v1/query_range?${new URLSearchParams(query)}`,
      timeoutMs: 5_000,
    });
    if (res.status === 200) found(res.body);
    else return `Loki answered the query with HTTP ${res.status}: ${oneLine(res.body, 200)}`;
  } catch (e) {
    if (e instanceof ConnectionLostError) throw e;
    return `Loki could not be queried: ${headline(e)}`;
  }
  return undefined;
}

function logCheck(
  spot: CanarySpot,
  canary: CanaryRun,
  progress: LogProgress,
  agent: ContainerInfo | undefined,
  lokiDown: string | undefined,
  /** The Loki query URL asked, if not the host's own Loki. */
  at: string | undefined,
): CheckState {
  const name = logCheckName(spot.job);
  const fail = (detail: string): CheckState => ({ name, ok: false, detail, container: agent?.name });
  if (spot.problem) return fail(spot.problem);
  const arrived = progress.arrivedMs.get(spot.job);
  if (arrived !== undefined)
    return { name, ok: true, detail: `canary arrived in ${formatDuration(arrived)}${at ? ` at ${at}` : ''}` };
  const written = progress.writes.get(spot.job);
  const where = `${canary.agent.title} watches ${spot.glob}, which is ${spot.hostFile?.replace(/\/[^/]*$/, '')} on the host`;
  if (written?.state === 'nodir')
    return fail(
      `${where}, and that directory does not exist: nothing writes there${written.siblings ? ` (next to it: ${written.siblings})` : ''}`,
    );
  if (written?.state === 'denied')
    return fail(`${where}, but the canary line could not be written there (no permission, no sudo)`);
  if (written?.state === 'link')
    return fail(
      `${where}, but ${written.path} is a symbolic link: the canary is not written through it (whoever can write the log directory could point it anywhere, and the deploy would create and remove files there). Make it a real directory, and find out who made the link`,
    );
  if (written?.state === 'taken')
    return fail(
      `${where}, but ${written.path} is there already and this run did not make it: the canary is never written through a link, and only the login user appends to a file that is there (root makes new files only). Remove it, or let the login user write it, and deploy again`,
    );
  if (lokiDown) return fail(lokiDown);
  const misrouted = progress.misrouted.get(spot.job);
  if (misrouted !== undefined)
    return fail(`the line written to ${spot.hostFile} arrived under job "${misrouted}", not "${spot.job}"`);
  return fail(`the line written to ${spot.hostFile} is not ${at ? `at ${at}` : 'in Loki'} yet (${where})`);
}

/** A canary line not found yet: in the host's Loki, or at the Loki query URL, and where it was written. */
const NOT_YET = / is not (?:in Loki|at (\S+)) yet \([^()]*\)/;

/** Lines written but not found: say why, from the agent's metrics and its last log lines. */
export async function explainLogs(
  remote: RemoteHost,
  facts: HostFacts,
  network: string,
  canary: CanaryRun | undefined,
  checks: readonly CheckState[],
): Promise<readonly CheckState[]> {
  const unexplained = (c: CheckState) => c.name.startsWith('logs ') && !c.ok && NOT_YET.test(c.detail);
  if (!canary || !checks.some(unexplained)) return checks;
  const agent = (await listContainers(remote, facts, network).catch(() => [])).find(
    (c) => c.service === canary.agent.service,
  );
  const [metrics, logs] = await Promise.all([
    agent?.address && canary.agent.port
      ? httpViaHost(remote, agent.address, canary.agent.port, { path: '/metrics', timeoutMs: 5_000 })
          .then((r) => r.body)
          .catch(() => undefined)
      : undefined,
    agent ? containerLogs(remote, facts, agent.name, 40).catch(() => '') : '',
  ]);
  return checks.map((c) => {
    const spot = canary.spots.find((s) => logCheckName(s.job) === c.name);
    if (!spot || !unexplained(c)) return c;
    const why = agent
      ? whyNotArrived(spot, canary.agent.title, metrics, logs)
      : `the ${canary.agent.service} container is not there`;
    return {
      ...c,
      detail: c.detail.replace(NOT_YET, (_all, at?: string) => ` did not reach ${at ?? 'Loki'}: ${why}`),
    };
  });
}
