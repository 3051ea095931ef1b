// Renders a stack directory for one host: fills @@NAME@@ placeholders in config files, writes
// the .env that Compose interpolates ${NAME} from, the images override files and the secret
// files. Pure: the same settings and host give the same bytes, so an unchanged deploy uploads
// nothing.
import { parseDocument } from 'yaml';
import { DeployError } from '../errors.js';
import type { Settings } from '../settings/settings.js';
import { bundledStackDir } from './bundled.js';
import { isText, readStackDir, type StackFile } from './files.js';
import { COMPOSE_FILES, imagesOverrideFile, type RemoteLayout, type StackKey } from './layout.js';

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
export const SECRET_FILES = {
  grafanaAdminPassword: 'secrets/grafana_admin_password',
  discordWebhookUrl: 'secrets/discord_webhook_url',
} as const;

const PLACEHOLDER = /@@([A-Z][A-Z0-9_]*)@@/g;
const SECRET_MODE = 0o600;

export function stackVariables(settings: Settings, host: HostIdentity, layout: RemoteLayout): Record<string, string> {
  const { stack, grafana } = settings;
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
    COMPOSE_PROFILES: stack.logAgent,
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
  const doc = parseDocument(file.content.toString('utf8'));
  const e = doc.errors[0];
  if (e) {
    throw new DeployError(`${file.path}:${e.linePos?.[0]?.line ?? 1}: not valid YAML: ${e.message.split('\n')[0]}`);
  }
  const data = doc.toJS() as { services?: Record<string, unknown> } | null;
  return Object.keys(data?.services ?? {});
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

  const files: StackFile[] = [];
  for (const f of source) {
    if (f.path === '.env' || f.path.startsWith('secrets/')) continue;
    if (f.path === DISCORD_CONTACT_POINT_FILE && !settings.grafana.discordWebhookUrl) continue;
    let content = f.content;
    if (isText(content)) {
      let text = fillPlaceholders(f.path, content.toString('utf8'), vars);
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
