// Renders a stack directory for one host: fills @@NAME@@ placeholders in config files, writes
// the .env that Compose interpolates ${NAME} from, the images override files and the secret
// files. Pure: the same settings and host give the same bytes, so an unchanged deploy uploads
// nothing.
import { createHash } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { pinnedName } from '../connection/tls.js';
import { DeployError, headline, InputError } from '../errors.js';
import { lokiLimits, prometheusSize, resolveBudgets } from '../model/budget.js';
import { buildModel, parseComposeFile, stackMounts } from '../model/compose.js';
import { isText, readStackDir, type StackFile } from '../model/files.js';
import { COMPOSE_FILES, imagesOverrideFile, type RemoteLayout, SECRET_FILES, type StackKey } from '../model/layout.js';
import { receiverRuns, type Settings } from '../settings/settings.js';
import { bundledStackDir } from './bundled.js';
import { absentServices, withoutAbsentScrapeJobs } from './scrape.js';

export interface HostIdentity {
  readonly uid: number;
  readonly gid: number;
  /** Size of the disk Docker keeps its volumes on (auto budgets); unknown: PLAN_DISK_BYTES. */
  readonly volumeDiskBytes?: number;
}

export interface RenderedStack {
  readonly files: readonly StackFile[];
  readonly variables: Readonly<Record<string, string>>;
  /** Per stack to run: the compose files to pass with -f, in order. */
  readonly composeFiles: Readonly<Partial<Record<StackKey, readonly string[]>>>;
  /** Per stack: its services, as its compose file declares them. */
  readonly services: Readonly<Partial<Record<StackKey, readonly string[]>>>;
  /** The stack dir's own .env, if it has one (merged into the written .env). */
  readonly userEnv?: StackFile;
}

export const DISCORD_CONTACT_POINT_FILE = 'grafana/provisioning/alerting/discord.yaml';
/**
 * The receiver's users: a salted hash (never the password), mode 600; the receiver's nginx runs
 * as the login user, who owns it.
 */
export const RECEIVER_HTPASSWD = 'receiver/htpasswd';

const PLACEHOLDER = /@@([A-Z][A-Z0-9_]*)@@/g;
const SECRET_MODE = 0o600;

export function stackVariables(settings: Settings, host: HostIdentity, layout: RemoteLayout): Record<string, string> {
  const { stack, grafana, agents } = settings;
  const profiles = [stack.logAgent, ...(receiverRuns(settings) ? ['receiver'] : [])];
  const receiverTls = agents.receiverTls === 'on';
  const budgets = resolveBudgets(settings.disk, host.volumeDiskBytes);
  const loki = lokiLimits(budgets.logsBytes);
  return {
    NETWORK: stack.network,
    APP_IMAGE: stack.images.server ?? stack.appImage ?? '',
    APP_METRICS_PORT: String(stack.appMetricsPort),
    APP_METRICS_PATH: stack.appMetricsPath,
    APP_LOGS_DIR: stack.appLogsDir,
    UID: String(host.uid),
    GID: String(host.gid),
    DATA_DIR: layout.dataDir,
    LOGS_DIR: layout.logsDir,
    HOST_LABEL: settings.hostName,
    CPU_ALERT_THRESHOLD: String(grafana.cpuAlertThreshold),
    ALERT_RECEIVER: grafana.discordWebhookUrl ? 'discord' : 'grafana-default-email',
    COMPOSE_PROFILES: profiles.join(','),
    RECEIVER_PORT: String(agents.receiverPort),
    RECEIVER_BIND: agents.receiverBind,
    GRAFANA_BIND: grafana.bind,
    // nginx: the receiver's listen parameters and TLS lines (empty for plain HTTP).
    RECEIVER_LISTEN: receiverTls ? '8080 ssl' : '8080',
    RECEIVER_TLS: receiverTls
      ? `ssl_certificate ${RECEIVER_TLS_MOUNT}/receiver.crt;\nssl_certificate_key ${RECEIVER_TLS_MOUNT}/receiver.key;`
      : '',
    // The agent's tls_config for the push endpoints (empty: the system's CAs): Promtail's YAML, Alloy's block.
    PUSH_TLS: pushTlsBlock(agents.pushCa),
    ALLOY_PUSH_TLS: alloyPushTlsBlock(agents.pushCa),
    REMOTE_WRITE_URL: agents.remoteWriteUrl ?? '',
    LOKI_PUSH_URL: agents.lokiPushUrl ?? '',
    PUSH_USERNAME: agents.pushUsername,
    // Disk budgets (model/budget.ts): Prometheus' retention size, Loki's and its rate limits.
    METRICS_DISK_BUDGET: prometheusSize(budgets.metricsBytes),
    LOGS_DISK_BUDGET_BYTES: String(budgets.logsBytes),
    LOKI_INGESTION_RATE_MB: loki.ingestionRateMb,
    LOKI_INGESTION_BURST_MB: loki.ingestionBurstMb,
    LOKI_STREAM_RATE_LIMIT: loki.streamRate,
    LOKI_STREAM_BURST: loki.streamBurst,
  };
}

/** Where the receiver's certificate and key are mounted in its container. */
const RECEIVER_TLS_MOUNT = '/etc/nginx/tls';
/** The agent's trusted certificate for its push endpoints, in its stack dir. */
const PUSH_CA_FILE = 'push-ca.pem';
/** Where an agent's push-ca.pem is mounted in its Prometheus and log agent. */
const PUSH_CA_MOUNT = '/etc/monitoring-deploy/push-ca.pem';

/**
 * The agent's tls_config: its push-ca trusted, and for the receiver's own self-signed
 * certificate the name it carries (the agents reach it by an address it cannot know).
 */
function pushTlsBlock(ca: string | undefined): string {
  if (!ca) return '';
  const name = pinnedName(ca);
  return ['tls_config:', `  ca_file: ${PUSH_CA_MOUNT}`, ...(name ? [`  server_name: ${name}`] : [])].join('\n');
}

/** The same tls_config in Alloy's syntax, for loki.write's endpoint block. */
function alloyPushTlsBlock(ca: string | undefined): string {
  if (!ca) return '';
  const name = pinnedName(ca);
  return [
    'tls_config {',
    `  ca_file     = ${JSON.stringify(PUSH_CA_MOUNT)}`,
    ...(name ? [`  server_name = ${JSON.stringify(name)}`] : []),
    '}',
  ].join('\n');
}

/**
 * Fills `@@NAME@@`. A line that is only a placeholder (or a comment of one) takes a block: each of
 * its lines at the placeholder's indentation, and no line at all when the value is empty.
 */
export function fillPlaceholders(path: string, text: string, vars: Readonly<Record<string, string>>): string {
  return text
    .split('\n')
    .flatMap((line, i) => {
      // `# @@NAME@@` (YAML) or `// @@NAME@@` (Alloy) alone on its line keeps a file valid before rendering.
      const block = /^(\s*)(?:(?:#|\/\/)\s*)?@@([A-Z][A-Z0-9_]*)@@\s*$/.exec(line);
      const value = block ? vars[block[2] as string] : undefined;
      if (block && value !== undefined) return value === '' ? [] : value.split('\n').map((l) => `${block[1]}${l}`);
      return [
        line.replace(PLACEHOLDER, (_, name: string) => {
          const v = vars[name];
          if (v === undefined) {
            throw new DeployError(
              `${path}:${i + 1}: unknown placeholder @@${name}@@`,
              `use one of ${Object.keys(vars)
                .map((k) => `@@${k}@@`)
                .join(', ')}`,
            );
          }
          return v;
        }),
      ];
    })
    .join('\n');
}

function composeServices(file: StackFile): string[] {
  const { services, error } = parseComposeFile(file);
  if (error) throw new DeployError(`${file.path}:${error.line}: not valid YAML: ${headline(error.value)}`);
  return services.map((svc) => svc.name);
}

function envFile(vars: Readonly<Record<string, string>>, userEnv: string): string {
  // Blocks (several lines for a config file) are nothing Compose interpolates.
  const ours = Object.entries(vars)
    .filter(([, v]) => !v.includes('\n'))
    .map(([k, v]) => `${k}=${v}`);
  return `${userEnv ? `${userEnv.trimEnd()}\n` : ''}# Written by monitoring-deploy on every deploy.\n${ours.join('\n')}\n`;
}

interface RenderOptions {
  readonly composeV1?: boolean;
  readonly requireAppImage?: boolean;
}

export function renderStack(
  settings: Settings,
  host: HostIdentity,
  layout: RemoteLayout,
  options: RenderOptions = {},
): RenderedStack {
  const dir = settings.stack.stackDir ?? bundledStackDir();
  const vars = stackVariables(settings, host, layout);
  const source = readStackDir(dir);
  const byPath = new Map(source.map((f) => [f.path, f]));
  refuseIncompleteStack(dir, byPath, settings, vars, options);
  const rendered = renderedSources(source, byPath, settings, vars, options);
  const { services, composeFiles, overrides } = composeFilesOf(byPath, settings, options);
  const files = [
    ...rendered,
    ...overrides,
    ...generatedFiles(settings, vars, byPath.get('.env')?.content.toString('utf8') ?? ''),
  ];
  files.sort((a, b) => a.path.localeCompare(b.path));
  return { files, variables: vars, composeFiles, services, userEnv: byPath.get('.env') };
}

/** A compose file missing for a stack asked for, or the app stack without an image. */
function refuseIncompleteStack(
  dir: string,
  byPath: ReadonlyMap<string, StackFile>,
  settings: Settings,
  vars: Readonly<Record<string, string>>,
  options: RenderOptions,
): void {
  for (const stack of settings.stack.stacks) {
    if (!byPath.has(COMPOSE_FILES[stack])) {
      throw new InputError(
        `stack-dir: ${JSON.stringify(dir)} has no ${COMPOSE_FILES[stack]}, but stacks includes "${stack}" (a stack directory holds the compose file of each stack it deploys)`,
        `add the file, or remove "${stack}" from the stacks input.`,
      );
    }
  }
  if ((options.requireAppImage ?? true) && settings.stack.stacks.includes('app') && !vars.APP_IMAGE) {
    throw new InputError(
      'app-image: none given, but the app stack needs one (your Spring Boot image, e.g. me/back:1.4.2)',
      'set app-image, or stacks: monitoring to deploy only the monitoring stack.',
    );
  }
}

/** The stack directory's files for the stacks this host runs, placeholders filled. */
function renderedSources(
  source: readonly StackFile[],
  byPath: ReadonlyMap<string, StackFile>,
  settings: Settings,
  vars: Readonly<Record<string, string>>,
  options: RenderOptions,
): StackFile[] {
  const foreign = filesOfOtherStacks(byPath, settings.stack.stacks);
  // Prometheus scrapes no service this host does not run (e.g. the app with stacks: monitoring).
  const { configs: scrapeConfigs, absent } = absentServices(buildModel(source, vars), settings.stack.stacks);
  const files: StackFile[] = [];
  for (const f of source) {
    if (f.path === '.env' || f.path.startsWith('secrets/')) continue;
    if (foreign(f.path)) continue;
    if (f.path === DISCORD_CONTACT_POINT_FILE && !settings.grafana.discordWebhookUrl) continue;
    if (!isText(f.content)) {
      files.push(f);
      continue;
    }
    let text = fillPlaceholders(f.path, f.content.toString('utf8'), vars);
    if (scrapeConfigs.has(f.path)) text = withoutAbsentScrapeJobs(text, (host) => absent.has(host));
    if (options.composeV1 && Object.values(COMPOSE_FILES).includes(f.path as never)) text = withV1Version(text);
    // A config that carries a credential (https://user:token@… in an endpoint URL) is a secret too.
    const mode = carriesSecret(text, settings.secrets) ? SECRET_MODE : f.mode;
    files.push({ ...f, content: Buffer.from(text), mode });
  }
  return files;
}

/** Each stack's services and compose files, with an override file where the images input names its services. */
function composeFilesOf(byPath: ReadonlyMap<string, StackFile>, settings: Settings, options: RenderOptions) {
  const services: Partial<Record<StackKey, string[]>> = {};
  const composeFiles: Partial<Record<StackKey, string[]>> = {};
  const overrides: StackFile[] = [];
  for (const stack of Object.keys(COMPOSE_FILES) as StackKey[]) {
    const file = byPath.get(COMPOSE_FILES[stack]);
    if (file) services[stack] = composeServices(file);
  }
  const known = new Set(Object.values(services).flat());
  const unknown = Object.keys(settings.stack.images).filter((s) => !known.has(s));
  if (unknown.length) {
    throw new InputError(
      `images: ${unknown.map((s) => JSON.stringify(s)).join(', ')} is no service of the stack's compose files (each line is SERVICE=IMAGE)`,
      `use service names from the compose files: ${[...known].join(', ')}.`,
    );
  }
  for (const stack of settings.stack.stacks) {
    composeFiles[stack] = [COMPOSE_FILES[stack]];
    const images = Object.entries(settings.stack.images).filter(([s]) => services[stack]?.includes(s));
    if (!images.length) continue;
    const path = imagesOverrideFile(stack);
    const body = `# Written by monitoring-deploy from the images input.\nservices:\n${images
      .map(([s, image]) => `  ${s}:\n    image: ${JSON.stringify(image)}\n`)
      .join('')}`;
    overrides.push(generated(path, options.composeV1 ? withV1Version(body) : body, 0o644));
    composeFiles[stack] = [COMPOSE_FILES[stack], path];
  }
  return { services, composeFiles, overrides };
}

function generated(path: string, content: string, mode: number): StackFile {
  return { path, content: Buffer.from(content), mode, generated: true };
}

/** What the deploy writes besides the stack directory: .env and the secret files. */
function generatedFiles(settings: Settings, vars: Readonly<Record<string, string>>, userEnv: string): StackFile[] {
  const { grafana, agents, stack } = settings;
  const files = [generated('.env', envFile(vars, userEnv), SECRET_MODE)];
  if (grafana.adminPassword)
    files.push(generated(SECRET_FILES.grafanaAdminPassword, grafana.adminPassword, SECRET_MODE));
  if (stack.stacks.includes('agent')) {
    // Always there (empty without push-ca, without a password): the agent's compose file and configs name them.
    files.push(generated(PUSH_CA_FILE, agents.pushCa ?? '', 0o644));
    files.push(generated(SECRET_FILES.pushPassword, agents.pushPassword ?? '', SECRET_MODE));
  }
  if (receiverRuns(settings)) {
    // Without the file, Docker would make a directory in its place, and a later deploy fail there.
    if (!agents.pushPassword)
      throw new DeployError(
        'The receiver runs (accept-agents, or agents in the hosts input), but push-password is empty: it would start without its htpasswd.',
        'set push-password (from a secret, at least 16 characters).',
      );
    const line = htpasswdLine(agents.pushUsername, agents.pushPassword, settings.secrets);
    files.push(generated(RECEIVER_HTPASSWD, line, SECRET_MODE));
  }
  if (grafana.discordWebhookUrl)
    files.push(generated(SECRET_FILES.discordWebhookUrl, grafana.discordWebhookUrl, SECRET_MODE));
  return files;
}

// A URL with user:password@ in it, whoever's and however short (not only the run's secrets:
// an endpoint URL may come from the stack directory's own files). Up to the last @ of the word,
// as a password may hold / ? or #: a path with an @ in it makes a file private needlessly, never
// the other way round.
const URL_WITH_USERINFO = /[a-z][a-z0-9+.-]*:\/\/[^\s"'`<>]*@/i;

/**
 * Whether a rendered text holds a credential: one of the run's secret values (short ones would
 * match by chance) or any URL's userinfo.
 */
function carriesSecret(text: string, secrets: readonly string[]): boolean {
  return URL_WITH_USERINFO.test(text) || secrets.some((v) => v.length >= 6 && text.includes(v));
}

/** Compose v1 reads a file without `version:` as the legacy v1 format; v2 ignores the line. */
function withV1Version(text: string): string {
  return /^version:/m.test(text) ? text : `version: "2.4"\n${text}`;
}

/**
 * bcrypt's cost in the receiver's htpasswd: 2^5 rounds. nginx hashes again on every request (it
 * keeps no cache), so the cost is paid per push: about 2 ms of CPU a request here
 * (scripts/bench-receiver-auth.mjs), under 1% of a core per agent, where cost 10 takes 60 ms and
 * ten agents would take more than a core. push-password is at least 16 characters, which no
 * guessing reaches; the hash is there for a stolen file and a weak password.
 */
export const HTPASSWD_BCRYPT_COST = 5;

/**
 * bcrypt (`$2b$`, which nginx checks through crypt(3): musl's in the receiver image, which takes
 * costs 04-19 (musl src/crypt/crypt_blowfish.c), libxcrypt on Debian). The salt is derived from the secrets, not random, so that an unchanged password
 * renders the same bytes (no upload, no restart) and a changed one a different line.
 */
export function htpasswdLine(user: string, password: string, secrets: readonly string[]): string {
  const salt = createHash('sha256')
    .update(`htpasswd-salt\0${user}\0${[...secrets].sort().join('\0')}`)
    .digest()
    .subarray(0, 16);
  const cost = String(HTPASSWD_BCRYPT_COST).padStart(2, '0');
  return `${user}:${bcrypt.hashSync(password, `$2b$${cost}$${bcrypt.encodeBase64([...salt], 16)}`)}\n`;
}

/**
 * Files that belong only to stacks this host does not run (an agent host needs no Grafana
 * dashboards, the central host no agent config): their compose files and what only they
 * bind-mount. Files no compose file mounts are kept, as before.
 */
function filesOfOtherStacks(
  byPath: ReadonlyMap<string, StackFile>,
  running: readonly StackKey[],
): (path: string) => boolean {
  const mountedBy = new Map<string, Set<StackKey>>();
  const others = new Set<string>();
  for (const stack of Object.keys(COMPOSE_FILES) as StackKey[]) {
    const file = byPath.get(COMPOSE_FILES[stack]);
    if (!file) continue;
    if (!running.includes(stack)) others.add(file.path);
    for (const source of bindSources(file)) {
      const set = mountedBy.get(source) ?? new Set<StackKey>();
      set.add(stack);
      mountedBy.set(source, set);
    }
  }
  return (path) => {
    if (others.has(path)) return true;
    const owners = [...mountedBy.entries()]
      .filter(([source]) => path === source || path.startsWith(`${source}/`))
      .flatMap(([, stacks]) => [...stacks]);
    return owners.length > 0 && !owners.some((o) => running.includes(o));
  };
}

/** The stack-relative sources (`./x`) of a compose file's bind mounts. */
function bindSources(file: StackFile): string[] {
  return parseComposeFile(file).services.flatMap(stackMounts);
}
