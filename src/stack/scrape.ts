// Prometheus scrapes only what runs on this host: a scrape job whose every target is a service
// of a stack the host does not run (the app's `server` with `stacks: monitoring`, or on an agent
// without the app) would be a target down forever, with its alert firing forever. Such jobs are
// left out of the rendered config.
import { isSeq, LineCounter, parseDocument } from 'yaml';
import { configFlag, isImage, mountedConfig, type ServiceModel, type StackModel } from '../model/compose.js';
import { COMPOSE_FILES, type StackKey } from '../model/layout.js';

export interface AbsentServices {
  /** The Prometheus configs of the stacks this host runs (stack-relative paths). */
  readonly configs: ReadonlySet<string>;
  /** Names (and container names) of services only stacks this host does not run declare. */
  readonly absent: ReadonlySet<string>;
}

/** What this host runs no service for, and which Prometheus configs scrape. */
export function absentServices(m: StackModel, running: readonly StackKey[]): AbsentServices {
  const files = new Set<string>(running.map((s) => COMPOSE_FILES[s]));
  const names = (s: ServiceModel) => [s.name, ...(s.containerName ? [s.containerName] : [])];
  const here = m.services.filter((s) => files.has(s.file));
  const present = new Set(here.flatMap(names));
  const configs = here
    .filter((s) => isImage(s, 'prometheus'))
    .map((s) => mountedConfig(m, s, configFlag(s, 'config.file', '/etc/prometheus/prometheus.yml')))
    .filter((p): p is string => !!p);
  const absent = m.services
    .filter((s) => !files.has(s.file))
    .flatMap(names)
    .filter((n) => !present.has(n));
  return { configs: new Set(configs), absent: new Set(absent) };
}

interface ScrapeJob {
  readonly job_name?: unknown;
  readonly static_configs?: readonly { readonly targets?: readonly unknown[] }[];
  readonly [key: string]: unknown;
}

/** The job scrapes only static targets, each on a host that `absent` names. */
function onlyAbsentTargets(job: ScrapeJob, absent: (host: string) => boolean): boolean {
  const discovers = Object.keys(job).some((k) => k.endsWith('_sd_configs'));
  const targets = (job.static_configs ?? []).flatMap((c) => c.targets ?? []).map(String);
  return !discovers && targets.length > 0 && targets.every((t) => absent(t.replace(/:\d+$/, '')));
}

/**
 * A Prometheus config without the scrape jobs whose every target is absent. The jobs' lines
 * (with the comment lines just above them) are cut out of the text, so the rest of the file
 * keeps its bytes; a layout that cannot be cut by lines is written out again by the YAML library.
 */
export function withoutAbsentScrapeJobs(text: string, absent: (host: string) => boolean): string {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  const seq = doc.get('scrape_configs', true);
  if (doc.errors.length || !isSeq(seq)) return text;
  const jobs = seq.items.map((item) => ((item as { toJSON?: () => unknown }).toJSON?.() ?? {}) as ScrapeJob);
  const drop = jobs.map((j) => onlyAbsentTargets(j, absent));
  if (!drop.includes(true)) return text;
  const kept = jobs.filter((_, i) => !drop[i]).map((j) => j.job_name);

  const cut = cutByLines(text, seq, lc, drop);
  if (cut !== undefined) {
    const again = parseDocument(cut).toJS() as { scrape_configs?: ScrapeJob[] | null } | null;
    const names = (again?.scrape_configs ?? []).map((j) => j.job_name);
    if (JSON.stringify(names) === JSON.stringify(kept)) return cut;
  }
  for (let i = drop.length - 1; i >= 0; i--) if (drop[i]) seq.items.splice(i, 1);
  return doc.toString();
}

/** The text without the lines of the dropped items of a block sequence, or undefined. */
function cutByLines(
  text: string,
  seq: { readonly flow?: boolean; readonly items: readonly unknown[] },
  lc: LineCounter,
  drop: readonly boolean[],
): string | undefined {
  if (seq.flow) return undefined;
  const lines = text.split('\n');
  const spans: [number, number][] = [];
  for (const [i, item] of seq.items.entries()) {
    const offset = (item as { range?: [number, number, number] }).range?.[0];
    if (offset === undefined) return undefined;
    let start = lc.linePos(offset).line - 1;
    const dash = lines[start]?.search(/\S/) ?? -1;
    if (dash < 0 || lines[start]?.[dash] !== '-') return undefined;
    // The item's lines: up to the next line at or left of its dash (blank lines go with it).
    let end = start + 1;
    while (end < lines.length && (lines[end]?.trim() === '' || (lines[end]?.search(/\S/) ?? 0) > dash)) end++;
    // Comment lines just above the item belong to it.
    while (start > 0 && lines[start - 1]?.trim().startsWith('#') && lines[start - 1]?.search(/\S/) === dash) start--;
    if (i === seq.items.length - 1) {
      // The last item: the blank lines after it separate the sequence from what follows; keep
      // them, and take the ones before it (after the item it followed) instead.
      while (end > start && lines[end - 1]?.trim() === '') end--;
      while (start > 0 && lines[start - 1]?.trim() === '' && end < lines.length) start--;
    }
    if (drop[i]) spans.push([start, end]);
  }
  const out = lines.filter((_, n) => !spans.some(([a, b]) => n >= a && n < b));
  return out.join('\n');
}
