// The disk budget: the most the stack will take on the host, item by item, against what each of
// the host's filesystems has free, before anything is written. What is already there counts:
// a redeploy needs only what its volumes, logs and images may still grow by.
import { shq } from '../connection/shell.js';
import { DeployError } from '../errors.js';
import { type Budgets, GiB, imageDiskBytes, METRICS_BLOCK_MARGIN, MiB, NGINX_SEGMENT } from '../model/budget.js';
import type { ServiceModel } from '../model/compose.js';
import type { RemoteLayout } from '../model/layout.js';

/** A line of the disk budget table: the most a thing may take on the host and what it takes now. */
export interface BudgetRow {
  readonly what: string;
  readonly where: string;
  readonly most: string;
  readonly now: string;
  readonly note: string;
}

/** The disk and memory budget as the reports show it. */
export interface BudgetReport {
  readonly rows: readonly BudgetRow[];
  /** One sentence per filesystem: free, what the stack may still take there, the verdict. */
  readonly filesystems: readonly string[];
  /** One sentence on memory: the limits against RAM and swap. */
  readonly memory?: string;
}

/** Where a thing lives: the swap file on /, images and volumes under Docker's root, the rest in remote-dir. */
export type Place = 'root' | 'docker' | 'stack';

export interface Filesystem {
  readonly place: Place;
  /** The filesystem's id (stat -f): two mounts of one filesystem share their free space. */
  readonly id: string;
  readonly mount: string;
  readonly sizeBytes: number;
  readonly availBytes: number;
}

/** What the host says about its disks and what the stack already takes there. */
export interface DiskUsage {
  readonly filesystems: readonly Filesystem[];
  /** Docker volume name -> bytes. */
  readonly volumes: Readonly<Record<string, number>>;
  /** image reference -> bytes, for the images already on the host. */
  readonly images: Readonly<Record<string, number>>;
  /** directory under remote-dir -> bytes. */
  readonly dirs: Readonly<Record<string, number>>;
}

/** The directories under remote-dir whose use is measured. */
export const MEASURED_DIRS = ['logs/app', 'logs/nginx', 'data/grafana', 'data/prometheus-agent'] as const;

/**
 * One script: df of /, of Docker's root and of remote-dir (its nearest existing parent on a first
 * deploy), the sizes of Docker's volumes (docker system df -v, the one CLI answer that has them),
 * of the images the stack runs that are already there, and du of the measured directories.
 */
export function diskUsageScript(
  docker: string,
  layout: RemoteLayout,
  dockerRoot: string,
  images: readonly string[],
): string {
  const dirs = MEASURED_DIRS.map((d) => shq(`${layout.root}/${d}`)).join(' ');
  return `d=${shq(layout.root)}; while [ ! -e "$d" ]; do d=$(dirname -- "$d"); done
for p in "root /" "docker ${dockerRoot}" "stack $d"; do
  df -Pk "\${p#* }" 2>/dev/null | awk -v k="\${p%% *}" -v id="$(stat -f -c %i "\${p#* }" 2>/dev/null)" 'NR==2 {print "@disk-fs", k, id, $2, $4, $NF}'
done
${docker} system df -v 2>/dev/null | awk '/^Local Volumes space usage/ {v=1; next} v == 1 && /^VOLUME NAME/ {v=2; next} v == 2 && NF == 0 {v=0} v == 2 {print "@volume", $1, $NF}'
${images.length ? `${docker} image inspect --format '@image {{.Size}} {{join .RepoTags " "}}' ${images.map(shq).join(' ')} 2>/dev/null` : ''}
du -sk ${dirs} 2>/dev/null | awk '{print "@du", $1, $2}'
true`;
}

/** Docker's human sizes (units.HumanSize: powers of 1000): 52.88kB, 1.2GB, 0B. */
export function humanBytes(text: string): number {
  const m = /^([0-9.]+)\s*([kMGTP]?)B$/.exec(text.trim());
  if (!m?.[1]) return 0;
  const scale = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15 }[m[2] ?? ''] ?? 1;
  return Math.round(Number(m[1]) * scale);
}

export function parseDiskUsage(out: string, layout: RemoteLayout): DiskUsage {
  const filesystems: Filesystem[] = [];
  const volumes: Record<string, number> = {};
  const images: Record<string, number> = {};
  const dirs: Record<string, number> = {};
  for (const line of out.split('\n')) {
    const [tag, ...f] = line.trim().split(/\s+/);
    if (tag === '@disk-fs' && f.length >= 5) {
      const [place, id, size, avail, mount] = f as [Place, string, string, string, string];
      filesystems.push({ place, id, mount, sizeBytes: Number(size) * 1024, availBytes: Number(avail) * 1024 });
    } else if (tag === '@volume' && f[0] && f[1]) volumes[f[0]] = humanBytes(f[1]);
    else if (tag === '@image' && f[0]) for (const ref of f.slice(1)) images[ref] = Number(f[0]);
    else if (tag === '@du' && f[0] && f[1]) dirs[f[1].slice(layout.root.length + 1)] = Number(f[0]) * 1024;
  }
  return { filesystems, volumes, images, dirs };
}

export interface BudgetItem {
  readonly what: string;
  readonly place: Place;
  /** The most it takes; undefined: nothing bounds it. */
  readonly capBytes?: number;
  /** What it takes now. */
  readonly usedBytes: number;
  /** How the cap holds, or where the figure comes from. */
  readonly note: string;
}

/** What the items are computed from. */
export interface BudgetInputs {
  readonly budgets: Budgets;
  /** The services this host runs, as the rendered compose files declare them. */
  readonly services: readonly ServiceModel[];
  /** Their image, as the deploy runs it (an images override wins). */
  readonly imageOf: (service: ServiceModel) => string;
  /** Their Compose project, for the names of their volumes. */
  readonly projectOf: (service: ServiceModel) => string;
  readonly usage: DiskUsage;
  /** The swap file the Swap step will write. */
  readonly swapFileBytes: number;
}

const has = (i: BudgetInputs, name: string) => i.services.some((s) => s.name === name);

/** A named volume's use, by the service that mounts it at a container path. */
function volumeUse(i: BudgetInputs, service: string, target: string): number {
  const s = i.services.find((x) => x.name === service);
  const mount = s?.mounts.find((m) => m.named && m.target === target);
  return (mount && s && i.usage.volumes[`${i.projectOf(s)}_${mount.source}`]) || 0;
}

function imagesItem(i: BudgetInputs): BudgetItem {
  const missing = [...new Set(i.services.map(i.imageOf))].filter((img) => img && !(img in i.usage.images));
  const bytes = missing.reduce((sum, img) => sum + imageDiskBytes(img).bytes, 0);
  return {
    what: 'images to pull',
    place: 'docker',
    capBytes: bytes,
    usedBytes: 0,
    note: missing.length ? missing.join(', ') : 'all on the host already',
  };
}

function containerLogsItem(i: BudgetInputs): BudgetItem {
  const unbounded = i.services.filter((s) => s.logMaxBytes === undefined).map((s) => s.name);
  const bytes = i.services.reduce((sum, s) => sum + (s.logMaxBytes ?? 0), 0);
  return {
    what: 'container logs',
    place: 'docker',
    capBytes: unbounded.length ? undefined : bytes,
    usedBytes: 0,
    note: unbounded.length
      ? `not rotated: ${unbounded.join(', ')} (set logging max-size and max-file)`
      : `${i.services.length} containers, Docker's json-file rotation`,
  };
}

const agentMode = (i: BudgetInputs) => i.services.some((s) => s.name === 'prometheus' && s.command.includes('--agent'));
const dirUse = (i: BudgetInputs, d: string) => i.usage.dirs[d] ?? 0;

/** One item of the budget, where the host runs what it is about. */
type ItemRule = (i: BudgetInputs) => BudgetItem | undefined;

const swapItem: ItemRule = (i) =>
  i.swapFileBytes > 0
    ? { what: 'swap file', place: 'root', capBytes: i.swapFileBytes, usedBytes: 0, note: 'swap-size' }
    : undefined;

const prometheusItem: ItemRule = (i) =>
  has(i, 'prometheus') && !agentMode(i)
    ? {
        what: 'Prometheus',
        place: 'docker',
        capBytes: Math.round(i.budgets.metricsBytes * (1 + METRICS_BLOCK_MARGIN)),
        usedBytes: volumeUse(i, 'prometheus', '/prometheus'),
        note: `metrics-disk-budget ${formatBytes(i.budgets.metricsBytes)} (WAL included) and one block written before the oldest goes`,
      }
    : undefined;

const agentWalItem: ItemRule = (i) =>
  agentMode(i)
    ? {
        what: "Prometheus agent's WAL",
        place: 'stack',
        capBytes: 256 * MiB,
        usedBytes: dirUse(i, 'data/prometheus-agent'),
        note: 'what remote write could not send yet, 12 hours at most (an estimate of the bytes)',
      }
    : undefined;

const lokiItem: ItemRule = (i) =>
  has(i, 'loki')
    ? {
        what: 'Loki',
        place: 'docker',
        capBytes: i.budgets.logsBytes,
        usedBytes: volumeUse(i, 'loki', '/loki'),
        note: 'logs-disk-budget (disk-guard and its rate limit)',
      }
    : undefined;

/** A directory of remote-dir that a service of the stack fills, up to a cap. */
const dirItem =
  (service: string, what: string, dir: string, cap: (i: BudgetInputs) => number, note: string): ItemRule =>
  (i) =>
    has(i, service) ? { what, place: 'stack', capBytes: cap(i), usedBytes: dirUse(i, dir), note } : undefined;

const ITEMS: readonly ItemRule[] = [
  imagesItem,
  swapItem,
  prometheusItem,
  agentWalItem,
  lokiItem,
  containerLogsItem,
  dirItem(
    'nginx',
    'nginx log files',
    'logs/nginx',
    () => 2 * NGINX_SEGMENT.kept * NGINX_SEGMENT.bytes,
    `access and error, ${NGINX_SEGMENT.kept} segments of ${formatBytes(NGINX_SEGMENT.bytes)} each at most`,
  ),
  dirItem(
    'server',
    'app log files',
    'logs/app',
    (i) => i.budgets.appLogsBytes,
    'app-logs-disk-budget: bounded by your Logback rolling policy, not by the deploy',
  ),
  dirItem('grafana', 'Grafana data', 'data/grafana', () => 256 * MiB, 'its database and plugins (an estimate)'),
  () => ({
    what: 'stack files, releases, log positions',
    place: 'stack',
    capBytes: 32 * MiB,
    usedBytes: 0,
    note: 'configs, the last 5 releases, the log agent and disk-guard state (an estimate)',
  }),
];

/** Everything the stack may take on the host at most, item by item. */
export function budgetItems(i: BudgetInputs): BudgetItem[] {
  return ITEMS.map((rule) => rule(i)).filter((item): item is BudgetItem => item !== undefined);
}

export interface FilesystemBudget {
  readonly mount: string;
  readonly places: readonly Place[];
  readonly sizeBytes: number;
  readonly availBytes: number;
  /** What the items on it may still grow by. */
  readonly growthBytes: number;
  /** Left free for the host itself. */
  readonly reserveBytes: number;
  /** growth + reserve beyond what is free; 0 when it fits. */
  readonly shortBytes: number;
}

export interface DiskBudget {
  readonly items: readonly BudgetItem[];
  readonly filesystems: readonly FilesystemBudget[];
}

/**
 * Room the host keeps for itself on each filesystem: 5% of it, at least 512 MiB (package
 * updates; journald alone may take 10% of the filesystem it writes to, up to 4 GiB).
 */
export const reserveFor = (sizeBytes: number) => Math.max(512 * MiB, Math.round(sizeBytes * 0.05));

export const growthOf = (item: BudgetItem) => Math.max(0, (item.capBytes ?? 0) - item.usedBytes);

export function diskBudget(items: readonly BudgetItem[], usage: DiskUsage): DiskBudget {
  const byId = new Map<string, Filesystem[]>();
  for (const fs of usage.filesystems) byId.set(fs.id, [...(byId.get(fs.id) ?? []), fs]);
  const filesystems = [...byId.values()].map((fss): FilesystemBudget => {
    const places = fss.map((f) => f.place);
    const { sizeBytes, availBytes, mount } = fss[0] as Filesystem;
    const growthBytes = items.filter((it) => places.includes(it.place)).reduce((sum, it) => sum + growthOf(it), 0);
    const reserveBytes = reserveFor(sizeBytes);
    return {
      mount,
      places,
      sizeBytes,
      availBytes,
      growthBytes,
      reserveBytes,
      shortBytes: Math.max(0, growthBytes + reserveBytes - availBytes),
    };
  });
  return { items, filesystems };
}

export function formatBytes(bytes: number): string {
  if (bytes >= GiB) return `${(bytes / GiB).toFixed(1)} GiB`;
  if (bytes > 0 && bytes < MiB) return `${Math.ceil(bytes / 1024)} KiB`;
  return `${Math.round(bytes / MiB)} MiB`;
}

const PLACE_WORDS: Record<Place, string> = {
  root: 'the swap file',
  docker: "Docker's images and volumes",
  stack: 'remote-dir',
};

/** The refusal for a stack that does not fit, naming what takes the space and what to change. */
export function diskBudgetError(budget: DiskBudget): DeployError | undefined {
  const short = budget.filesystems.filter((f) => f.shortBytes > 0);
  if (!short.length) return undefined;
  const lines = short.map((f) => {
    const big = budget.items
      .filter((it) => f.places.includes(it.place) && growthOf(it) > 0)
      .sort((a, b) => growthOf(b) - growthOf(a))
      .map((it) => `${it.what} ${formatBytes(growthOf(it))}`);
    return (
      `the filesystem of ${f.mount} (${f.places.map((p) => PLACE_WORDS[p]).join(', ')}) has ${formatBytes(f.availBytes)} free; ` +
      `the stack may still take ${formatBytes(f.growthBytes)} there (${big.join(', ')}) and ${formatBytes(f.reserveBytes)} stay free for the host: ` +
      `${formatBytes(f.shortBytes)} short`
    );
  });
  return new DeployError(
    `The stack does not fit on the host's disk; nothing was changed:\n  ${lines.join('\n  ')}`,
    fixFor(budget, short),
  );
}

function fixFor(budget: DiskBudget, short: readonly FilesystemBudget[]): string {
  const on = (what: string) =>
    budget.items.find((it) => it.what === what && short.some((f) => f.places.includes(it.place)));
  const fixes = [
    on('swap file') && 'a smaller swap-size (e.g. 1G)',
    on('Loki') && 'a smaller logs-disk-budget (e.g. 256M)',
    on('Prometheus') && 'a smaller metrics-disk-budget (e.g. 256M)',
    on('app log files') && 'a smaller app-logs-disk-budget',
  ].filter(Boolean);
  const most = Math.max(...short.map((f) => f.shortBytes));
  return `${fixes.length ? `set ${fixes.join(', or ')}; or ` : ''}give the host a bigger volume (at least ${formatBytes(most)} more; an EBS volume can grow while the instance runs), or free space (docker system prune, old files).`;
}

const PLACE_NAMES: Record<Place, string> = { root: '/', docker: 'Docker', stack: 'remote-dir' };

/** The budget as the reports show it; without filesystems (plan), only the items. */
export function budgetReport(budget: DiskBudget, memory?: string): BudgetReport {
  return {
    rows: budget.items.map((it) => ({
      what: it.what,
      where: PLACE_NAMES[it.place],
      most: it.capBytes === undefined ? 'no bound' : formatBytes(it.capBytes),
      now: it.usedBytes ? formatBytes(it.usedBytes) : '-',
      note: it.note,
    })),
    filesystems: budget.filesystems.map(
      (f) =>
        `${f.mount} (${f.places.map((p) => PLACE_NAMES[p]).join(', ')}): ${formatBytes(f.availBytes)} free of ${formatBytes(f.sizeBytes)}; ` +
        `the stack may still take ${formatBytes(f.growthBytes)}, ${formatBytes(f.reserveBytes)} stay free: ` +
        (f.shortBytes
          ? `${formatBytes(f.shortBytes)} short`
          : `fits, ${formatBytes(f.availBytes - f.growthBytes - f.reserveBytes)} to spare`),
    ),
    memory,
  };
}
