// Several hosts in one run (the hosts input): the central monitoring host and agents, deployed
// in parallel with a small limit, one SSH connection each. An agent counts as green only when
// its data has arrived centrally, which is checked over the central host's connection. One
// host failing never hides the others' results.
import { isIPv6 } from 'node:net';
import { formatDuration } from '../base/format.js';
import type { Log, StepRecord } from '../base/log.js';
import { DeployError } from '../errors.js';
import { type Arrival, waitForAgents } from '../health/arrival.js';
import {
  type ConnectionSettings,
  type HostEntry,
  hostKeyOf,
  type JumpHost,
  type Settings,
  type StackName,
} from '../settings/settings.js';
import { DeployFailure, type DeployResult, deploy } from './deploy.js';

export interface HostOutcome {
  readonly name: string;
  readonly role: HostEntry['role'];
  readonly host: string;
  readonly ok: boolean;
  readonly durationMs: number;
  readonly steps: readonly StepRecord[];
  readonly result?: DeployResult;
  readonly error?: Error;
  /** For an agent deployed with its central host: what arrived there. */
  readonly arrival?: Arrival;
}

/** Whether the central receiver speaks TLS in this run (receiver-tls auto or true), which agents then pin. */
export function receiverTlsInRun(settings: Settings): boolean {
  return settings.agents.receiverTls === 'on';
}

/**
 * One host's settings: the shared inputs, with its own address, name, role and endpoints. An
 * agent of a TLS receiver pins `receiverCert`, the certificate its central host made.
 */
export function hostSettings(
  settings: Settings,
  entry: HostEntry,
  central?: HostEntry,
  receiverCert?: string,
): Settings {
  const tls = receiverTlsInRun(settings);
  // The shared stacks input, with the role stack of this host in place of the other role's.
  const forRole = (s: StackName): StackName =>
    entry.role === 'agent' && s === 'monitoring'
      ? 'agent'
      : entry.role === 'monitoring' && s === 'agent'
        ? 'monitoring'
        : s;
  const centralAddress = central && (central.address ?? central.host);
  // An IPv6 address goes in brackets in a URL.
  const base = centralAddress
    ? `${tls ? 'https' : 'http'}://${isIPv6(centralAddress) ? `[${centralAddress}]` : centralAddress}:${settings.agents.receiverPort}`
    : undefined;
  return {
    ...settings,
    hosts: [],
    hostName: entry.name,
    connection: {
      ...settings.connection,
      host: entry.host,
      port: entry.port ?? settings.connection.port,
      username: entry.user ?? settings.connection.username,
      hostKey: hostKeyOf(entry, settings.connection.hostKey),
      jump: jumpOf(settings.connection, entry),
    },
    stack: { ...settings.stack, stacks: [...new Set(settings.stack.stacks.map(forRole))] },
    agents: {
      ...settings.agents,
      role: entry.role,
      // The receiver runs for agents of this run, or when asked for (agents deployed in other runs).
      acceptAgents:
        entry.role === 'monitoring'
          ? settings.agents.acceptAgents || settings.hosts.some((h) => h.role === 'agent')
          : false,
      receiverTls: tls ? 'on' : 'off',
      pushCa: settings.agents.pushCa ?? (entry.role === 'agent' && tls ? receiverCert : undefined),
      remoteWriteUrl: settings.agents.remoteWriteUrl ?? (base && `${base}/api/v1/write`),
      lokiPushUrl: settings.agents.lokiPushUrl ?? (base && `${base}/loki/api/v1/push`),
      centralHost: entry.role === 'agent' ? central?.name : undefined,
    },
  };
}

/**
 * A host's jump host: its line's jump= (logged in to and pinned as proxy-jump's inputs say),
 * none for jump=none, else proxy-jump's.
 */
export function jumpOf(c: ConnectionSettings, entry: HostEntry): JumpHost | undefined {
  if (entry.jump === 'none') return undefined;
  if (!entry.jump) return c.jump;
  // Settings made by hand may lack the access: the jump host's key is then unpinned, and refused.
  const access = c.jumpAccess ?? { privateKey: c.privateKey, passphrase: c.passphrase, hostKey: { kind: 'unpinned' } };
  return { host: entry.jump.host, port: entry.jump.port ?? 22, username: entry.jump.user ?? c.username, ...access };
}

/** Runs tasks with at most `limit` at once, each result in its place. */
export async function withLimit<T>(limit: number, tasks: readonly (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await (tasks[i] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

export function prefixedLog(log: Log, prefix: string): Log {
  return {
    info: (l) => log.info(`[${prefix}] ${l}`),
    warn: (l) => log.warn(`[${prefix}] ${l}`),
    error: (l) => log.error(`[${prefix}] ${l}`),
  };
}

/** An agent left alone because its central host could not give it what it needs. */
function skipped(entry: HostEntry, why: string, central: string): HostOutcome {
  return {
    ...describe(entry),
    ok: false,
    durationMs: 0,
    steps: [],
    error: new DeployError(`Not deployed: ${why}.`, `fix ${central} first (its error is above), then rerun.`),
  };
}

type HostDeploy = (entry: HostEntry, receiverCert?: string) => () => Promise<HostOutcome>;

export async function deployFleet(settings: Settings, log: Log): Promise<HostOutcome[]> {
  const central = settings.hosts.find((h) => h.role === 'monitoring');
  const agents = settings.hosts.filter((h) => h.role === 'agent');
  const deployHost: HostDeploy = (entry, receiverCert) => async () => {
    const started = Date.now();
    const s = hostSettings(settings, entry, central, receiverCert);
    const hostLog = prefixedLog(log, entry.name);
    try {
      const result = await deploy(s, hostLog, { keepConnection: entry === central && agents.length > 0 });
      return { ...describe(entry), ok: true, durationMs: Date.now() - started, steps: result.steps, result };
    } catch (e) {
      const error = e instanceof DeployFailure ? e.error : (e as Error);
      const steps = e instanceof DeployFailure ? e.steps : [];
      hostLog.error(error.message);
      return { ...describe(entry), ok: false, durationMs: Date.now() - started, steps, error };
    }
  };
  const outcomes =
    central && agents.length && receiverTlsInRun(settings)
      ? await centralThenPinningAgents(settings, log, central, agents, deployHost)
      : // The central host first, so that its receiver is up while the agents' gates ask for it.
        await withLimit(
          settings.parallel,
          [...(central ? [central] : []), ...agents].map((entry) => deployHost(entry)),
        );
  const centralOutcome = outcomes.find((o) => o.role === 'monitoring');
  const connection = centralOutcome?.result?.connection;
  if (!centralOutcome || !connection) return outcomes;
  try {
    return await withAgentsArrival(settings, log, centralOutcome.name, connection, outcomes);
  } finally {
    connection.remote.close();
  }
}

/** The agents pin the certificate the central host makes: it goes first, then they go together. */
async function centralThenPinningAgents(
  settings: Settings,
  log: Log,
  central: HostEntry,
  agents: readonly HostEntry[],
  deployHost: HostDeploy,
): Promise<HostOutcome[]> {
  const first = await deployHost(central)();
  const cert = first.result?.receiverCert;
  if (cert || settings.agents.pushCa)
    return [
      first,
      ...(await withLimit(
        settings.parallel,
        agents.map((a) => deployHost(a, cert)),
      )),
    ];
  // Nothing to pin: an agent deployed now would send to a receiver it cannot trust.
  const why = first.ok
    ? `${central.name} gave no receiver certificate`
    : `${central.name} failed, and the agents pin the receiver certificate it makes`;
  for (const a of agents) prefixedLog(log, a.name).error(`not deployed: ${why}.`);
  return [first, ...agents.map((a) => skipped(a, why, central.name))];
}

/** The deployed agents' data looked for at the central host; each agent's outcome says if it came. */
async function withAgentsArrival(
  settings: Settings,
  log: Log,
  centralName: string,
  connection: NonNullable<DeployResult['connection']>,
  outcomes: HostOutcome[],
): Promise<HostOutcome[]> {
  const deployed = outcomes
    .filter((o) => o.role === 'agent' && o.ok)
    .map((o) => ({ host: o.name, targets: o.result?.targets ?? [] }));
  if (!deployed.length) return outcomes;
  const started = Date.now();
  const centralLog = prefixedLog(log, centralName);
  centralLog.info(`▶ Agents' data: waiting for ${deployed.map((a) => a.host).join(', ')} in Prometheus and Loki`);
  const { remote, facts } = connection;
  const seen = await waitForAgents(
    remote,
    facts,
    settings.stack.network,
    deployed,
    settings.healthTimeoutMs,
    centralLog,
  );
  centralLog.info(
    `✓ Agents' data: ${seen.filter((a) => a.ok).length}/${seen.length} arrived in ${formatDuration(Date.now() - started)}`,
  );
  return outcomes.map((o) => {
    const arrival = seen.find((a) => a.host === o.name);
    if (!arrival) return o;
    const step: StepRecord = {
      name: 'Data at the central host',
      status: arrival.ok ? 'ok' : 'failed',
      durationMs: Date.now() - started,
      detail: arrival.detail,
    };
    const error = arrival.ok
      ? undefined
      : new Error(
          `${o.name} deployed, but its data did not arrive at ${centralName} within ${formatDuration(settings.healthTimeoutMs)}: ${arrival.detail}`,
        );
    return { ...o, ok: arrival.ok, arrival, steps: [...o.steps, step], error };
  });
}

function describe(entry: HostEntry) {
  return { name: entry.name, role: entry.role, host: entry.host };
}
