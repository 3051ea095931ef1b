// Renders a stack directory for one host: fills @@NAME@@ placeholders in config files, writes
// the .env that Compose interpolates ${NAME} from, the images override files and the secret
// files. Pure: the same settings and host give the same bytes, so an unchanged deploy uploads
// nothing.
import { createHash } from 'node:crypto';
import { DeployError, headline } from '../errors.js';
import { buildModel, parseComposeFile, stackMounts } from '../model/compose.js';
import { isText, readStackDir, type StackFile } from '../model/files.js';
import { COMPOSE_FILES, imagesOverrideFile, type RemoteLayout, SECRET_FILES, type StackKey } from '../model/layout.js';
import type { Settings } from '../settings/settings.js';
import { bundledStackDir } from './bundled.js';
import { absentServices, withoutAbsentScrapeJobs } from './scrape.js';

export interface HostIdentity {
  readonly uid: number;
  readonly gid: number;
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
  const profiles = [stack.logAgent, ...(agents.acceptAgents && agents.role === 'monitoring' ? ['receiver'] : [])];
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
    REMOTE_WRITE_URL: agents.remoteWriteUrl ?? '',
    LOKI_PUSH_URL: agents.lokiPushUrl ?? '',
    PUSH_USERNAME: agents.pushUsername,
  };
}

export function fillPlaceholders(path: string, text: string, vars: Readonly<Record<string, string>>): string {
  const lines = text.split('\n');
  return lines
    .map((line, i) =>
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
    )
    .join('\n');
}

function composeServices(file: StackFile): string[] {
  const { services, error } = parseComposeFile(file);
  if (error) throw new DeployError(`${file.path}:${error.line}: not valid YAML: ${headline(error.value)}`);
  return services.map((svc) => svc.name);
}

function envFile(vars: Readonly<Record<string, string>>, userEnv: string): string {
  const ours = Object.entries(vars).map(([k, v]) => `${k}=${v}`);
  return `${userEnv ? `${userEnv.trimEnd()}\n` : ''}# Written by monitoring-deploy on every deploy.\n${ours.join('\n')}\n`;
}

export function renderStack(
  settings: Settings,
  host: HostIdentity,
  layout: RemoteLayout,
  options: { composeV1?: boolean; requireAppImage?: boolean } = {},
): RenderedStack {
  const dir = settings.stack.stackDir ?? bundledStackDir();
  const vars = stackVariables(settings, host, layout);
  const source = readStackDir(dir);
  const byPath = new Map(source.map((f) => [f.path, f]));

  for (const stack of settings.stack.stacks) {
    if (!byPath.has(COMPOSE_FILES[stack])) {
      throw new DeployError(
        `The stack directory ${dir} has no ${COMPOSE_FILES[stack]}, but stacks includes "${stack}".`,
        `add the file, or remove "${stack}" from the stacks input.`,
      );
    }
  }
  if ((options.requireAppImage ?? true) && settings.stack.stacks.includes('app') && !vars.APP_IMAGE) {
    throw new DeployError(
      'No image for the app: the app stack needs app-image (your Spring Boot image, e.g. me/back:1.4.2).',
      'set app-image, or stacks: monitoring to deploy only the monitoring stack.',
    );
  }

  const foreign = filesOfOtherStacks(byPath, settings.stack.stacks);
  // Prometheus scrapes no service this host does not run (e.g. the app with stacks: monitoring).
  const { configs: scrapeConfigs, absent } = absentServices(buildModel(source, vars), settings.stack.stacks);
  const files: StackFile[] = [];
  for (const f of source) {
    if (f.path === '.env' || f.path.startsWith('secrets/')) continue;
    if (foreign(f.path)) continue;
    if (f.path === DISCORD_CONTACT_POINT_FILE && !settings.grafana.discordWebhookUrl) continue;
    let content = f.content;
    if (isText(content)) {
      let text = fillPlaceholders(f.path, content.toString('utf8'), vars);
      if (scrapeConfigs.has(f.path)) text = withoutAbsentScrapeJobs(text, (host) => absent.has(host));
      if (options.composeV1 && Object.values(COMPOSE_FILES).includes(f.path as never)) text = withV1Version(text);
      content = Buffer.from(text);
    }
    files.push({ ...f, content });
  }

  const services: Partial<Record<StackKey, string[]>> = {};
  const composeFiles: Partial<Record<StackKey, string[]>> = {};
  for (const stack of Object.keys(COMPOSE_FILES) as StackKey[]) {
    const file = byPath.get(COMPOSE_FILES[stack]);
    if (file) services[stack] = composeServices(file);
  }
  const known = new Set(Object.values(services).flat());
  const unknown = Object.keys(settings.stack.images).filter((s) => !known.has(s));
  if (unknown.length) {
    throw new DeployError(
      `images names ${unknown.map((s) => `"${s}"`).join(', ')}, which no compose file of the stack declares.`,
      `use service names from the compose files: ${[...known].join(', ')}.`,
    );
  }
  for (const stack of settings.stack.stacks) {
    composeFiles[stack] = [COMPOSE_FILES[stack]];
    const overrides = Object.entries(settings.stack.images).filter(([s]) => services[stack]?.includes(s));
    if (overrides.length) {
      const path = imagesOverrideFile(stack);
      const body = `# Written by monitoring-deploy from the images input.\nservices:\n${overrides
        .map(([s, image]) => `  ${s}:\n    image: ${JSON.stringify(image)}\n`)
        .join('')}`;
      files.push({
        path,
        content: Buffer.from(options.composeV1 ? withV1Version(body) : body),
        mode: 0o644,
        generated: true,
      });
      composeFiles[stack] = [COMPOSE_FILES[stack], path];
    }
  }

  const userEnv = byPath.get('.env')?.content.toString('utf8') ?? '';
  files.push({ path: '.env', content: Buffer.from(envFile(vars, userEnv)), mode: SECRET_MODE, generated: true });
  if (settings.grafana.adminPassword) {
    files.push({
      path: SECRET_FILES.grafanaAdminPassword,
      content: Buffer.from(settings.grafana.adminPassword),
      mode: SECRET_MODE,
      generated: true,
    });
  }
  if (settings.stack.stacks.includes('agent')) {
    // Always there (empty without a password): the agent's configs name it.
    files.push({
      path: SECRET_FILES.pushPassword,
      content: Buffer.from(settings.agents.pushPassword ?? ''),
      mode: SECRET_MODE,
      generated: true,
    });
  }
  if (settings.agents.acceptAgents && settings.stack.stacks.includes('monitoring') && settings.agents.pushPassword) {
    files.push({
      path: RECEIVER_HTPASSWD,
      content: Buffer.from(htpasswdLine(settings.agents.pushUsername, settings.agents.pushPassword, settings.secrets)),
      mode: SECRET_MODE,
      generated: true,
    });
  }
  if (settings.grafana.discordWebhookUrl) {
    files.push({
      path: SECRET_FILES.discordWebhookUrl,
      content: Buffer.from(settings.grafana.discordWebhookUrl),
      mode: SECRET_MODE,
      generated: true,
    });
  }
  files.sort((a, b) => a.path.localeCompare(b.path));
  return { files, variables: vars, composeFiles, services, userEnv: byPath.get('.env') };
}

/** Compose v1 reads a file without `version:` as the legacy v1 format; v2 ignores the line. */
function withV1Version(text: string): string {
  return /^version:/m.test(text) ? text : `version: "2.4"\n${text}`;
}

/**
 * nginx's `{SSHA}` scheme: base64(sha1(password + salt) + salt). The salt is derived from the
 * secrets, not random, so that an unchanged password renders the same bytes (no upload, no
 * restart) and a changed one a different line.
 */
export function htpasswdLine(user: string, password: string, secrets: readonly string[]): string {
  const salt = createHash('sha256')
    .update(`htpasswd-salt\0${user}\0${[...secrets].sort().join('\0')}`)
    .digest()
    .subarray(0, 8);
  const digest = createHash('sha1').update(password).update(salt).digest();
  return `${user}:{SSHA}${Buffer.concat([digest, salt]).toString('base64')}\n`;
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
