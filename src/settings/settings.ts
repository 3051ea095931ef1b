// Every input is read and validated here, once, into a typed Settings object. The action and
// the CLI both hand their raw values (strings, as action.yml would pass them) to readSettings.
import { MIN_MASKED_LENGTH } from '../base/log.js';
import { DEFAULT_LOG_AGENT, LOG_AGENT_NAMES, type LogAgentName } from '../base/log-agents.js';
import { PUSH_PASSWORD_MIN, type PushPath, plainHttpProblems } from './exposure.js';
import { INPUTS } from './inputs.js';
import { knownHostsProblems } from './known-hosts.js';
import {
  type JumpSpec,
  parseBoolean,
  parseCertificate,
  parseChoice,
  parseContainerDir,
  parseDuration,
  parseHost,
  parseHostName,
  parseHttpUrl,
  parseImage,
  parseImageOverrides,
  parseInputFile,
  parseInteger,
  parseIpAddress,
  parseJumpSpec,
  parseList,
  parseLocalDir,
  parseOutputFile,
  parsePassword,
  parsePort,
  parseProxyCommand,
  parsePushUsername,
  parseQueryUrl,
  parseRemoteDir,
  parseSize,
  parseUrlPath,
  parseUserName,
  parseWebhookUrl,
  shown,
  urlCredentials,
  webhookToken,
} from './parse.js';

export type RawInputs = Readonly<Record<string, string | undefined>>;

export type HostKeyPolicy =
  | {
      readonly kind: 'fingerprints';
      readonly fingerprints: readonly string[];
      /** known_hosts text whose @revoked lines refuse a key even when it is pinned here. */
      readonly revokedIn?: string;
    }
  | { readonly kind: 'known-hosts'; readonly knownHosts: string }
  | { readonly kind: 'insecure-skip' }
  | { readonly kind: 'unpinned' };

export interface ConnectionSettings {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly privateKey: string;
  readonly passphrase?: string;
  readonly hostKey: HostKeyPolicy;
  /** The whole time to reach the host, every try included (transient failures are tried again). */
  readonly connectTimeoutMs: number;
  /** OpenSSH's ProxyCommand (%h %p %r %n %% not yet expanded): the connection runs over its stdin and stdout. */
  readonly proxyCommand?: string;
  /** The jump host the host is reached through (proxy-jump, or a hosts line's jump=). */
  readonly jump?: JumpHost;
  /** How any jump host of this run is logged in to and its key checked (for hosts lines' jump=). */
  readonly jumpAccess?: JumpAccess;
}

/** The login and host key check of a jump host: proxy-jump-ssh-key (default ssh-key), proxy-jump-fingerprint or known-hosts. */
export interface JumpAccess {
  readonly privateKey: string;
  readonly passphrase?: string;
  readonly hostKey: HostKeyPolicy;
}

export interface JumpHost extends JumpAccess {
  readonly host: string;
  readonly port: number;
  readonly username: string;
}

export type StackName = 'app' | 'monitoring' | 'agent';
export type Role = 'monitoring' | 'agent';
export type PullPolicy = 'missing' | 'always' | 'never';
export type LogAgent = LogAgentName;

export interface StackSettings {
  readonly stackDir?: string;
  readonly remoteDir: string;
  readonly network: string;
  readonly stacks: readonly StackName[];
  readonly appImage?: string;
  readonly appMetricsPort: number;
  readonly appMetricsPath: string;
  readonly appLogsDir: string;
  readonly images: Readonly<Record<string, string>>;
  readonly pull: PullPolicy;
  readonly logAgent: LogAgent;
}

export interface AgentSettings {
  readonly role: Role;
  /** Central: publish the authenticated receiver for agents. */
  readonly acceptAgents: boolean;
  /**
   * The push path speaks TLS (receiver-tls auto or true): the central receiver does, and agents
   * send only to https:// (or loopback). off: plain HTTP, chosen explicitly.
   */
  readonly receiverTls: 'on' | 'off';
  /** Agent: the certificate (PEM) trusted for the push endpoints. */
  readonly pushCa?: string;
  readonly receiverPort: number;
  readonly receiverBind: string;
  /** Agent: where metrics and logs go. */
  readonly remoteWriteUrl?: string;
  readonly lokiPushUrl?: string;
  readonly pushUsername: string;
  readonly pushPassword?: string;
  /** Agent: where its data is read back (query endpoints), and with which credentials. */
  readonly metricsQueryUrl?: string;
  readonly logsQueryUrl?: string;
  readonly queryUsername?: string;
  readonly queryPassword?: string;
  /** Set per host in a run with a monitoring host: its name; arrival is checked there. */
  readonly centralHost?: string;
}

/** One line of the hosts input. */
export interface HostEntry {
  readonly name: string;
  readonly role: Role;
  readonly host: string;
  readonly port?: number;
  /** Login user on this host (default: the username input). */
  readonly user?: string;
  readonly fingerprint?: string;
  /** The address agents reach a monitoring host at (default: host). */
  readonly address?: string;
  /** jump=: this host's jump host, or none to connect directly despite proxy-jump. */
  readonly jump?: JumpSpec | 'none';
}

export interface GrafanaSettings {
  /** The host address Grafana's port is published on. */
  readonly bind: string;
  readonly adminPassword?: string;
  readonly discordWebhookUrl?: string;
  /** Send one test notification through Grafana's Discord contact point after the gate. */
  readonly discordTestNotification: boolean;
  readonly cpuAlertThreshold: number;
  readonly dashboards: readonly number[];
}

/** Disk budgets: bytes, or auto (from the size of the disk Docker keeps its volumes on). */
export interface DiskSettings {
  readonly logsBudget: number | 'auto';
  readonly metricsBudget: number | 'auto';
  readonly appLogsBudget: number;
}

export type Command = 'deploy' | 'check' | 'backup' | 'restore';

/** The volumes a backup may add to Grafana's state (backup-include). */
export const BACKUP_INCLUDE = ['prometheus', 'loki'] as const;
export type BackupInclude = (typeof BACKUP_INCLUDE)[number];

export interface BackupSettings {
  /** The passphrase of the archive (backup-key); required by backup and restore. */
  readonly key?: string;
  /** backup: where to write the archive; undefined: the command's default place. */
  readonly path?: string;
  readonly include: readonly BackupInclude[];
  /** restore: the archive to read. */
  readonly restoreFrom?: string;
  readonly overwrite: boolean;
}
export type NotifyOn = 'failure' | 'never';

export interface Settings {
  readonly command: Command;
  /** The host's name in labels, messages and the summary. */
  readonly hostName: string;
  readonly notifyOn: NotifyOn;
  readonly connection: ConnectionSettings;
  readonly stack: StackSettings;
  readonly agents: AgentSettings;
  /** Several hosts in one run (the hosts input); empty for a single host. */
  readonly hosts: readonly HostEntry[];
  readonly parallel: number;
  readonly grafana: GrafanaSettings;
  readonly swapBytes: number;
  readonly disk: DiskSettings;
  readonly healthTimeoutMs: number;
  readonly rollback: boolean;
  readonly lockTimeoutMs: number;
  readonly backup: BackupSettings;
  /** Values that must never be printed: handed to core.setSecret and the log redactor. */
  readonly secrets: readonly string[];
}

export class SettingsError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.length === 1 ? `Invalid input: ${problems[0]}` : `Invalid inputs:\n  - ${problems.join('\n  - ')}`);
    this.name = 'SettingsError';
  }
}

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

// Limits a careless value cannot pass: at most minutes to connect, an hour for the gate, hours
// for another deploy's lock; swap beyond 64G is a typo on the hosts this is for.
const SECOND = 1000;
const CONNECT_TIMEOUT = { min: SECOND, max: 10 * 60 * SECOND };
const HEALTH_TIMEOUT = { min: SECOND, max: 60 * 60 * SECOND };
const LOCK_TIMEOUT = { min: SECOND, max: 6 * 60 * 60 * SECOND };
const SWAP_SIZE = { min: 1024 ** 2, max: 64 * 1024 ** 3, zero: 'leave swap alone' };
// A budget under 32M leaves Loki or Prometheus no room to work; over 1T is a typo on these hosts.
const DISK_BUDGET = { min: 32 * 1024 ** 2, max: 1024 ** 4 };

function parseBudget(value: string, input: string): number | 'auto' {
  if (value.trim().toLowerCase() === 'auto') return 'auto';
  try {
    return parseSize(value, input, DISK_BUDGET);
  } catch (e) {
    throw new Error(`${(e as Error).message.replace(/\)?$/, (end) => (end ? '; or auto)' : ', or auto'))}`);
  }
}

/** Required inputs that have no value. */
export function missingRequired(raw: RawInputs): string[] {
  return INPUTS.filter((i) => i.required && !raw[i.name]?.trim()).map((i) => i.name);
}

export interface ReadOptions {
  /**
   * false for commands that need no host (plan, lint): the connection inputs may then be
   * missing, and the host label defaults to PLAN_HOST.
   */
  readonly needsConnection?: boolean;
}

export const PLAN_HOST = 'dev-server';

/** Reads inputs by name; each parse problem is collected, so one run reports every bad input at once. */
interface InputReader {
  readonly raw: RawInputs;
  readonly problems: string[];
  /** The input, or its default. */
  value(name: string): string;
  optional(name: string): string | undefined;
  attempt<T>(fn: () => T, fallback: T): T;
  /**
   * An optional value, parsed when given. A bad one is reported and kept, so that the checks
   * that follow (e.g. "role agent needs remote-write-url") do not also call it missing.
   */
  optionalParsed(name: string, parse: (value: string, input: string) => string): string | undefined;
}

function inputReader(raw: RawInputs): InputReader {
  const problems: string[] = [];
  const value = (name: string): string => {
    const given = raw[name];
    if (given !== undefined && given.trim() !== '') return given;
    return INPUTS.find((i) => i.name === name)?.default ?? '';
  };
  const optional = (name: string): string | undefined => value(name).trim() || undefined;
  const attempt = <T>(fn: () => T, fallback: T): T => {
    try {
      return fn();
    } catch (e) {
      if (e instanceof SettingsError) problems.push(...e.problems);
      else problems.push((e as Error).message);
      return fallback;
    }
  };
  const optionalParsed = (name: string, parse: (value: string, input: string) => string): string | undefined => {
    const v = optional(name);
    return v && attempt(() => parse(v, name), v);
  };
  return { raw, problems, value, optional, attempt, optionalParsed };
}

export function readSettings(raw: RawInputs, options: ReadOptions = {}): Settings {
  const needsConnection = options.needsConnection ?? true;
  const r = inputReader(raw);
  const { value, attempt } = r;
  // With the hosts input, each line names its host.
  const missing = needsConnection
    ? [...(raw.host?.trim() || raw.hosts?.trim() ? [] : ['host']), ...missingRequired(raw)]
    : [];
  if (missing.length) r.problems.push(`missing required input${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`);
  const { role, stacks } = readRoleAndStacks(r);
  const command = attempt(
    () => parseChoice(value('command'), 'command', ['deploy', 'check', 'backup', 'restore'] as const),
    'deploy',
  );
  const connection = readConnection(r, needsConnection);
  const givenHostName = value('host-name').trim();
  const settings: Settings = {
    command,
    // A bad host is reported as host; host-name then has no default to blame.
    hostName: givenHostName ? attempt(() => parseHostName(givenHostName, 'host-name'), '') : connection.host,
    notifyOn: attempt(
      () =>
        parseChoice(value('notify-on') || (command === 'check' ? 'failure' : 'never'), 'notify-on', [
          'failure',
          'never',
        ] as const),
      'never',
    ),
    connection,
    stack: readStack(r, stacks, connection.username),
    agents: readAgents(r, role),
    hosts: attempt(() => parseHosts(value('hosts'), { remoteDir: value('remote-dir') }), []),
    parallel: attempt(() => parseInteger(value('parallel'), 'parallel', 1, 20), 3),
    grafana: readGrafana(r),
    swapBytes: attempt(() => parseSize(value('swap-size'), 'swap-size', SWAP_SIZE), 0),
    disk: readDisk(r),
    healthTimeoutMs: attempt(() => parseDuration(value('health-timeout'), 'health-timeout', HEALTH_TIMEOUT), 180_000),
    rollback: attempt(() => parseBoolean(value('rollback'), 'rollback'), true),
    lockTimeoutMs: attempt(() => parseDuration(value('lock-timeout'), 'lock-timeout', LOCK_TIMEOUT), 600_000),
    backup: readBackup(r, command),
    secrets: secretValues(raw),
  };
  const keyProblem = privateKeyProblem(connection.privateKey, 'ssh-key');
  if (needsConnection && !missing.includes('ssh-key') && keyProblem) r.problems.push(keyProblem);
  r.problems.push(...crossPinnedHostsProblems(settings.hosts, connection.hostKey));
  r.problems.push(...receiverPortProblems(settings, !!raw['receiver-port']?.trim()));
  r.problems.push(...agentProblems(settings, needsConnection), ...routeProblems(settings));
  if (r.problems.length) throw new SettingsError(r.problems);
  return settings;
}

function readRoleAndStacks({ raw, problems, value, attempt }: InputReader): { role: Role; stacks: StackName[] } {
  const role = attempt(() => parseChoice(value('role'), 'role', ['monitoring', 'agent'] as const), 'monitoring');
  const stacks = attempt(
    () =>
      parseList(value('stacks') || (role === 'agent' ? 'app,agent' : 'app,monitoring')).map((s) =>
        parseChoice(s, 'stacks', ['app', 'monitoring', 'agent'] as const),
      ),
    [],
  );
  if (raw.stacks !== undefined && stacks.length === 0 && !problems.some((p) => p.startsWith('stacks'))) {
    problems.push('stacks: name at least one of app, monitoring, agent');
  }
  const wrongStack = role === 'agent' ? 'monitoring' : 'agent';
  if (stacks.includes(wrongStack))
    problems.push(`stacks: "${wrongStack}" does not run on a ${role} host (role: ${role})`);
  return { role, stacks };
}

function readConnection(r: InputReader, needsConnection: boolean): ConnectionSettings {
  const { raw, value, attempt } = r;
  const hostKey = attempt((): HostKeyPolicy => hostKeyPolicy(value), { kind: 'unpinned' });
  const givenHost = value('host').trim();
  const givenUser = value('username').trim();
  return {
    ...readRoute(r, givenUser),
    host: givenHost ? attempt(() => parseHost(givenHost, 'host'), '') : needsConnection ? '' : PLAN_HOST,
    port: attempt(() => parsePort(value('port'), 'port'), 22),
    username: givenUser ? attempt(() => parseUserName(givenUser, 'username'), '') : '',
    privateKey: normalizeKey(value('ssh-key')),
    passphrase: raw['ssh-key-passphrase'] || undefined,
    hostKey,
    connectTimeoutMs: attempt(
      () => parseDuration(value('connect-timeout'), 'connect-timeout', CONNECT_TIMEOUT),
      30_000,
    ),
  };
}

function readStack(r: InputReader, stacks: readonly StackName[], username: string): StackSettings {
  const { value, attempt, optionalParsed } = r;
  const network = value('network').trim();
  if (!NETWORK_NAME.test(network))
    r.problems.push(
      `network: ${shown(network)} is not a valid Docker network name (letters, digits and _ . -, starting with a letter or digit)`,
    );
  return {
    stackDir: optionalParsed('stack-dir', parseLocalDir),
    remoteDir: attempt(() => parseRemoteDir(value('remote-dir'), 'remote-dir', username), '~/monitoring'),
    network,
    stacks,
    appImage: optionalParsed('app-image', parseImage),
    appMetricsPort: attempt(() => parsePort(value('app-metrics-port'), 'app-metrics-port'), 19021),
    appMetricsPath: attempt(() => parseUrlPath(value('app-metrics-path'), 'app-metrics-path'), '/'),
    appLogsDir: attempt(() => parseContainerDir(value('app-logs-dir'), 'app-logs-dir'), '/app/logs'),
    images: attempt(() => parseImageOverrides(value('images'), 'images'), {}),
    pull: attempt(() => parseChoice(value('pull'), 'pull', ['missing', 'always', 'never'] as const), 'missing'),
    logAgent: attempt(() => parseChoice(value('log-agent'), 'log-agent', LOG_AGENT_NAMES), DEFAULT_LOG_AGENT),
  };
}

function readAgents({ raw, value, optional, attempt, optionalParsed }: InputReader, role: Role): AgentSettings {
  return {
    role,
    acceptAgents: attempt(() => parseBoolean(value('accept-agents'), 'accept-agents'), false),
    // auto is TLS: a receiver in plain HTTP must be asked for (receiver-tls: false).
    receiverTls: attempt(
      () =>
        parseChoice(value('receiver-tls'), 'receiver-tls', ['auto', 'true', 'false'] as const) === 'false'
          ? 'off'
          : 'on',
      'on' as const,
    ),
    pushCa: attempt(() => parseCertificate(optional('push-ca'), 'push-ca'), undefined),
    receiverPort: attempt(() => parsePort(value('receiver-port'), 'receiver-port'), 9095),
    receiverBind: attempt(() => parseIpAddress(value('receiver-bind'), 'receiver-bind'), '0.0.0.0'),
    remoteWriteUrl: optionalParsed('remote-write-url', parseHttpUrl),
    lokiPushUrl: optionalParsed('loki-push-url', parseHttpUrl),
    pushUsername: attempt(() => parsePushUsername(value('push-username'), 'push-username'), 'agent'),
    pushPassword: passwordInput({ raw, attempt }, 'push-password', PUSH_PASSWORD_MIN),
    metricsQueryUrl: optionalParsed('metrics-query-url', (v, i) => parseQueryUrl(v, i, 'metrics')),
    logsQueryUrl: optionalParsed('logs-query-url', (v, i) => parseQueryUrl(v, i, 'logs')),
    queryUsername: optionalParsed('query-username', parsePushUsername),
    // Chosen by whoever runs the query endpoint: held only to what the redactor can mask.
    queryPassword: passwordInput({ raw, attempt }, 'query-password', MIN_MASKED_LENGTH),
  };
}

// Grafana itself takes 4 characters and up (pkg/services/user/password.go, with its default
// password_policy off; 12 and four kinds of character with it on): 8 is the floor of a password
// that is neither guessed in a few tries at the login form nor too short to mask.
const GRAFANA_ADMIN_PASSWORD_MIN = 8;

/** A password input as given (not trimmed: a space may be part of it), checked by parsePassword. */
function passwordInput(
  { raw, attempt }: Pick<InputReader, 'raw' | 'attempt'>,
  name: string,
  min: number,
): string | undefined {
  const v = raw[name];
  return v ? attempt(() => parsePassword(v, name, min), v) : undefined;
}

function readGrafana({ raw, value, attempt, optionalParsed }: InputReader): GrafanaSettings {
  return {
    bind: attempt(() => parseIpAddress(value('grafana-bind'), 'grafana-bind'), '0.0.0.0'),
    adminPassword: passwordInput({ raw, attempt }, 'grafana-admin-password', GRAFANA_ADMIN_PASSWORD_MIN),
    discordWebhookUrl: optionalParsed('discord-webhook-url', parseWebhookUrl),
    discordTestNotification: attempt(
      () => parseBoolean(value('discord-test-notification'), 'discord-test-notification'),
      false,
    ),
    cpuAlertThreshold: attempt(() => parseInteger(value('cpu-alert-threshold'), 'cpu-alert-threshold', 1, 100), 70),
    dashboards: attempt(
      () =>
        parseList(value('grafana-dashboards'))
          .filter((id) => id.toLowerCase() !== 'none')
          .map((id) => {
            if (!/^[0-9]{1,9}$/.test(id) || Number(id) === 0)
              throw new Error(`grafana-dashboards: ${shown(id)} is not a grafana.com dashboard id`);
            return Number(id);
          }),
      [],
    ),
  };
}

// An archive's passphrase is all that stands between a copied file and Grafana's secret key: as
// long as push-password, which guards writes only.
export const BACKUP_KEY_MIN = 16;

/** backup-*, restore-*: what backup and restore need, and nothing asked of the other commands. */
function readBackup(r: InputReader, command: Command): BackupSettings {
  const { raw, value, attempt, optional } = r;
  const key = passwordInput(r, 'backup-key', BACKUP_KEY_MIN);
  const restoreFrom = optional('restore-from');
  const settings: BackupSettings = {
    key,
    path: optional('backup-path') && attempt(() => parseOutputFile(value('backup-path').trim(), 'backup-path'), ''),
    include: attempt(
      () => parseList(value('backup-include')).map((p) => parseChoice(p, 'backup-include', BACKUP_INCLUDE)),
      [],
    ),
    restoreFrom: restoreFrom && attempt(() => parseInputFile(restoreFrom, 'restore-from'), restoreFrom),
    overwrite: attempt(() => parseBoolean(value('restore-overwrite'), 'restore-overwrite'), false),
  };
  if ((command === 'backup' || command === 'restore') && !raw['backup-key'])
    r.problems.push(
      `backup-key: ${command} needs it (from a secret): the passphrase the archive is ${command === 'backup' ? 'encrypted' : 'opened'} with, at least ${BACKUP_KEY_MIN} characters`,
    );
  if (command === 'restore' && !restoreFrom)
    r.problems.push('restore-from: restore needs the archive to put on the host (a file a backup wrote)');
  if ((command === 'backup' || command === 'restore') && value('hosts').trim())
    r.problems.push(`hosts: ${command} works on one host; give host (run one ${command} per host)`);
  return settings;
}

function readDisk({ value, attempt }: InputReader): DiskSettings {
  return {
    logsBudget: attempt(() => parseBudget(value('logs-disk-budget'), 'logs-disk-budget'), 'auto'),
    metricsBudget: attempt(() => parseBudget(value('metrics-disk-budget'), 'metrics-disk-budget'), 'auto'),
    appLogsBudget: attempt(
      () => parseSize(value('app-logs-disk-budget'), 'app-logs-disk-budget', DISK_BUDGET),
      256 * 1024 ** 2,
    ),
  };
}

/** What role, stacks, URLs and credentials must agree on. */
function agentProblems(s: Settings, needsConnection: boolean): string[] {
  const a = s.agents;
  const out: string[] = [];
  if (a.acceptAgents && !a.pushPassword)
    out.push('accept-agents: needs push-password (from a secret): the receiver never accepts writes without auth');
  out.push(...plainHttpProblems(pushPath(s)));
  if (s.hosts.length && s.command === 'check')
    out.push('hosts: command check watches one host; run one check per host (a matrix job)');
  if (s.hosts.length) {
    const central = s.hosts.find((h) => h.role === 'monitoring');
    const agents = s.hosts.filter((h) => h.role === 'agent');
    if (agents.length && !central && (!a.remoteWriteUrl || !a.lokiPushUrl))
      out.push('hosts: agents without a role=monitoring host need remote-write-url and loki-push-url');
    if (agents.length && central && !a.pushPassword)
      out.push('hosts: agents sending to the monitoring host need push-password (from a secret)');
  } else if (a.role === 'agent' && needsConnection && (!a.remoteWriteUrl || !a.lokiPushUrl)) {
    out.push('role agent needs remote-write-url and loki-push-url (where its metrics and logs go)');
  }
  const anyAgent = s.hosts.length ? s.hosts.some((h) => h.role === 'agent') : a.role === 'agent';
  const queryInputs = [
    ...(a.metricsQueryUrl ? ['metrics-query-url'] : []),
    ...(a.logsQueryUrl ? ['logs-query-url'] : []),
  ];
  if (queryInputs.length && !anyAgent)
    out.push(
      `${queryInputs.join(', ')}: only an agent's data is read back there (role: agent, or role=agent lines in hosts)`,
    );
  return out;
}

/** Whether the central receiver runs in this run: on the one host, or on the hosts input's monitoring host. */
export function receiverRuns(s: Settings): boolean {
  const { agents } = s;
  if (!s.hosts.length)
    return agents.acceptAgents && agents.role === 'monitoring' && s.stack.stacks.includes('monitoring');
  return (
    s.hosts.some((h) => h.role === 'monitoring') && (agents.acceptAgents || s.hosts.some((h) => h.role === 'agent'))
  );
}

/** The push path of a run: what its receiver publishes, and the URLs its agents were given. */
export function pushPath(s: Settings): PushPath {
  const a = s.agents;
  const anyAgent = s.hosts.length ? s.hosts.some((h) => h.role === 'agent') : a.role === 'agent';
  return {
    receiverRuns: receiverRuns(s),
    receiverTls: a.receiverTls,
    receiverBind: a.receiverBind,
    receiverPort: a.receiverPort,
    agentUrls: anyAgent
      ? {
          'remote-write-url': a.remoteWriteUrl,
          'loki-push-url': a.lokiPushUrl,
          'metrics-query-url': a.metricsQueryUrl,
          'logs-query-url': a.logsQueryUrl,
        }
      : {},
  };
}

const HOSTS_KEYS = ['name', 'role', 'host', 'port', 'user', 'fingerprint', 'address', 'jump'];

/**
 * The hosts input: `name=… role=… host=… [port=…] [user=…] [fingerprint=…] [address=…] [jump=…]` per line.
 * With remoteDir, a line's user= must not have it as their home either.
 */
export function parseHosts(text: string, options: { remoteDir?: string } = {}): HostEntry[] {
  const entries: HostEntry[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const where = `hosts line ${i + 1}`;
    const kv: Record<string, string> = {};
    for (const token of line.split(/\s+/)) {
      const m = /^([a-z]+)=(.+)$/.exec(token);
      if (!m?.[1] || !m[2]) throw new Error(`${where}: ${shown(token)} is not key=value`);
      if (!HOSTS_KEYS.includes(m[1])) throw new Error(`${where}: unknown key "${m[1]}" (${HOSTS_KEYS.join(', ')})`);
      // The last of two values would win silently: which one was meant is the user's call.
      if (m[1] in kv) throw new Error(`${where}: key "${m[1]}" is given twice`);
      kv[m[1]] = m[2];
    }
    if (!kv.name || !kv.host || !kv.role) throw new Error(`${where}: needs name=, role= and host=`);
    parseHostName(kv.name, `${where}: name`);
    // (A remote-dir bad for everyone is reported once, as remote-dir.)
    if (kv.user && options.remoteDir && succeeds(() => parseRemoteDir(options.remoteDir ?? '', 'remote-dir', '')))
      parseRemoteDir(options.remoteDir, `${where}: remote-dir`, kv.user);
    if (kv.fingerprint && !FINGERPRINT.test(kv.fingerprint))
      throw new Error(`${where}: fingerprint ${shown(kv.fingerprint)} is not SHA256:… as ssh-keygen -lf prints`);
    entries.push({
      name: kv.name,
      role: parseChoice(kv.role, `${where}: role`, ['monitoring', 'agent'] as const),
      host: parseHost(kv.host, `${where}: host`),
      port: kv.port ? parsePort(kv.port, `${where}: port`) : undefined,
      user: kv.user ? parseUserName(kv.user, `${where}: user`) : undefined,
      fingerprint: kv.fingerprint,
      address: kv.address ? parseHost(kv.address, `${where}: address`) : undefined,
      jump: kv.jump === 'none' ? 'none' : kv.jump ? parseJumpSpec(kv.jump, `${where}: jump`) : undefined,
    });
  }
  const names = entries.map((e) => e.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new Error(`hosts: the name "${dup}" is used twice`);
  if (entries.length && entries.filter((e) => e.role === 'monitoring').length > 1)
    throw new Error('hosts: at most one host has role=monitoring (the central stack agents send to)');
  return entries;
}

function succeeds(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}

/** A list of SHA256 host key fingerprints, as `ssh-keygen -lf` prints them. */
function parseFingerprints(text: string, input: string): string[] {
  const fingerprints = parseList(text);
  const bad = fingerprints.find((fp) => !FINGERPRINT.test(fp));
  if (bad)
    throw new Error(
      `${input}: ${shown(bad)} is not a SHA256 fingerprint (expected SHA256: and 43 base64 characters, as \`ssh-keygen -lf\` prints)`,
    );
  return fingerprints;
}

/** Why a key input is not a private key (a .pub file, or other text), else undefined. */
function privateKeyProblem(key: string, input: string): string | undefined {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) return undefined;
  return `${input}: this is not a private key (expected a -----BEGIN … PRIVATE KEY----- block; pass the private key, not the .pub file)`;
}

function hostKeyPolicy(value: (name: string) => string): HostKeyPolicy {
  const fingerprints = parseFingerprints(value('host-fingerprint'), 'host-fingerprint');
  const knownHosts = value('known-hosts').trim();
  const skip = parseBoolean(value('insecure-skip-host-key-check'), 'insecure-skip-host-key-check');
  const bad = knownHostsProblems(knownHosts);
  if (bad.length) throw new SettingsError(bad);
  if (fingerprints.length && knownHosts)
    throw new Error(
      "host-fingerprint and known-hosts are both set, but only one can pin the host key: with both, known-hosts' lines (its @revoked ones too) would go unread. Keep one: known-hosts (matched by host name, as ssh does; needed for several hosts without fingerprint= on each hosts line) or host-fingerprint",
    );
  if (fingerprints.length) return { kind: 'fingerprints', fingerprints };
  if (knownHosts) return { kind: 'known-hosts', knownHosts };
  if (skip) return { kind: 'insecure-skip' };
  return { kind: 'unpinned' };
}

/** The host ports the bundled stacks publish (a unit test reads them from the compose files). */
export const STACK_HOST_PORTS: readonly {
  readonly port: number;
  readonly service: string;
  readonly stack: StackName;
}[] = [
  { port: 80, service: 'nginx', stack: 'app' },
  { port: 3000, service: 'grafana', stack: 'monitoring' },
];

/**
 * receiver-port on a port the central host already uses: its SSH port, or one the stacks there
 * publish. Docker would fail to publish it, or, with sshd bound to one address only, take SSH's
 * place. Checked when the receiver runs or receiver-port is given.
 */
function receiverPortProblems(s: Settings, given: boolean): string[] {
  const central = s.hosts.find((h) => h.role === 'monitoring');
  const runs = s.agents.acceptAgents || (!!central && s.hosts.some((h) => h.role === 'agent'));
  if (!runs && !given) return [];
  const port = s.agents.receiverPort;
  const sshPort = central?.port ?? s.connection.port;
  const where = 'pick a port nothing else on the monitoring host listens on (default 9095)';
  if (port === sshPort)
    return [`receiver-port: ${port} is the SSH port of the monitoring host, which the receiver would take; ${where}`];
  const taken = STACK_HOST_PORTS.find((p) => p.port === port && s.stack.stacks.includes(p.stack));
  if (taken)
    return [
      `receiver-port: ${port} is the port ${taken.service} (${taken.stack} stack) publishes on the host; ${where}`,
    ];
  return [];
}

/**
 * A hosts line's host key policy: its own fingerprint= when it has one (known-hosts' @revoked
 * lines still apply), else the run's.
 */
export function hostKeyOf(entry: HostEntry, policy: HostKeyPolicy): HostKeyPolicy {
  if (!entry.fingerprint) return policy;
  const revokedIn = policy.kind === 'known-hosts' ? policy.knownHosts : undefined;
  return { kind: 'fingerprints', fingerprints: [entry.fingerprint], ...(revokedIn ? { revokedIn } : {}) };
}

/**
 * Hosts lines that would take another host's key. The host-fingerprint list pins each line
 * without fingerprint=: shared by two such lines, either host accepts the other's key; holding
 * a key another line pins, the line without one accepts that host's key. (known-hosts names its
 * hosts, so it pins each on its own.)
 */
function crossPinnedHostsProblems(hosts: readonly HostEntry[], policy: HostKeyPolicy): string[] {
  if (hosts.length < 2 || policy.kind !== 'fingerprints') return [];
  const unpinned = hosts.filter((h) => !h.fingerprint);
  const fix = `add fingerprint=SHA256:… to the line (\`ssh-keyscan -p PORT HOST | ssh-keygen -lf -\` from a trusted machine), or pin the hosts with known-hosts instead of host-fingerprint`;
  if (unpinned.length > 1)
    return unpinned.map(
      (h) =>
        `hosts: the line of ${h.name} has no fingerprint=, and host-fingerprint is the pin of ${unpinned.length} lines then: each of them would accept the others' keys; ${fix}`,
    );
  const [open] = unpinned;
  const other = hosts.find((h) => h.fingerprint && policy.fingerprints.includes(h.fingerprint));
  if (open && other)
    return [
      `hosts: the line of ${open.name} has no fingerprint=, so host-fingerprint pins it, and that list holds the key of ${other.name} (its fingerprint=): ${open.name} would accept ${other.name}'s key; ${fix}`,
    ];
  return [];
}

/** Secrets pasted into GitHub often lose their final newline or gain \r; OpenSSH parsers mind. */
function normalizeKey(key: string): string {
  const k = key.replace(/\r\n/g, '\n').trim();
  return k ? `${k}\n` : '';
}

/**
 * Every secret input's value, each line of a multi-line one, and the credentials in the endpoint
 * URLs: to mask and to redact.
 */
export function secretValues(raw: RawInputs): string[] {
  const out = new Set<string>();
  for (const input of INPUTS) {
    const v = raw[input.name];
    if (!input.secret || !v?.trim()) continue;
    out.add(v.trim());
    // A multi-line secret is masked line by line, as GitHub masks it.
    for (const line of v.split(/\r?\n/)) if (line.trim().length >= MIN_MASKED_LENGTH) out.add(line.trim());
  }
  // Credentials in an endpoint URL (https://user:token@…) are as secret as push-password.
  for (const name of ['remote-write-url', 'loki-push-url', 'metrics-query-url', 'logs-query-url'])
    for (const c of urlCredentials(raw[name] ?? '')) out.add(c);
  // A webhook's token alone posts to the channel: masked wherever it shows without the rest of the URL.
  const token = webhookToken(raw['discord-webhook-url'] ?? '');
  if (token) out.add(token);
  return [...out];
}

/**
 * How the host is reached when not directly: proxy-command, or proxy-jump with its own key
 * (default: ssh-key) and its own host key pin (proxy-jump-fingerprint, else known-hosts lines
 * for it; insecure-skip-host-key-check covers it as it covers the host).
 */
function readRoute(
  { raw, value, optional, attempt, problems }: InputReader,
  username: string,
): Pick<ConnectionSettings, 'proxyCommand' | 'jump' | 'jumpAccess'> {
  const proxyCommand = attempt(() => {
    const v = optional('proxy-command');
    return v === undefined ? undefined : parseProxyCommand(v, 'proxy-command');
  }, undefined);
  const jumpSpec = attempt(() => {
    const v = optional('proxy-jump');
    return v === undefined ? undefined : parseJumpSpec(v, 'proxy-jump');
  }, undefined);
  if (proxyCommand && jumpSpec)
    problems.push(
      'proxy-command and proxy-jump: give one of them (a jump host, or a command that carries the connection)',
    );
  const givenKey = value('proxy-jump-ssh-key');
  const keyProblem = givenKey.trim() ? privateKeyProblem(givenKey, 'proxy-jump-ssh-key') : undefined;
  if (keyProblem) problems.push(keyProblem);
  const jumpAccess: JumpAccess = {
    privateKey: normalizeKey(givenKey.trim() ? givenKey : value('ssh-key')),
    passphrase: (givenKey.trim() ? raw['proxy-jump-ssh-key-passphrase'] : raw['ssh-key-passphrase']) || undefined,
    hostKey: attempt(() => jumpHostKeyPolicy(value), { kind: 'unpinned' }),
  };
  const jump = jumpSpec && {
    host: jumpSpec.host,
    port: jumpSpec.port ?? 22,
    username: jumpSpec.user ?? username,
    ...jumpAccess,
  };
  return { proxyCommand, jump, jumpAccess };
}

/** A jump host's pin: proxy-jump-fingerprint, else the known-hosts input (its lines name each host). */
function jumpHostKeyPolicy(value: (name: string) => string): HostKeyPolicy {
  const fingerprints = parseFingerprints(value('proxy-jump-fingerprint'), 'proxy-jump-fingerprint');
  if (fingerprints.length) return { kind: 'fingerprints', fingerprints };
  // known-hosts is read (and its bad lines reported) for the host already.
  const knownHosts = value('known-hosts').trim();
  if (knownHosts && !knownHostsProblems(knownHosts).length) return { kind: 'known-hosts', knownHosts };
  // (A bad value is reported once, for the host.)
  const skip = value('insecure-skip-host-key-check');
  if (succeeds(() => parseBoolean(skip, '')) && parseBoolean(skip, '')) return { kind: 'insecure-skip' };
  return { kind: 'unpinned' };
}

/** A host reached one way: a hosts line's jump= does not mix with proxy-command. */
function routeProblems(s: Settings): string[] {
  if (!s.connection.proxyCommand) return [];
  return s.hosts
    .filter((h) => h.jump && h.jump !== 'none')
    .map((h) => `hosts line of ${h.name}: jump= and proxy-command both say how to reach it; give one of them`);
}
