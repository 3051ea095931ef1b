// What the gate must prove of the data path on this host, read from the stack as deployed: the
// log agent's jobs and where their files are (for the canary lines), Grafana's provisioned data
// sources, rules and contact points, and the admin credentials to ask Grafana with.
import { randomBytes } from 'node:crypto';
import { shq } from '../connection/shell.js';
import type { RemoteHost } from '../connection/ssh.js';
import { shownUrl } from '../health/arrival.js';
import { CANARY_MARK, canaryPlan } from '../health/canary.js';
import type { GateOptions, GateResult } from '../health/gate.js';
import { grafanaProvisioning } from '../health/grafana.js';
import { probesFor, titles } from '../health/probes.js';
import { dockerCommand } from '../host/docker.js';
import type { HostFacts } from '../host/preflight.js';
import { buildModel, hostPathKey, type ServiceModel, type StackModel } from '../model/compose.js';
import { type RemoteLayout, SECRET_FILES } from '../model/layout.js';
import { hostDirOf, logAgents } from '../model/logs.js';
import type { DeployedStack } from '../stack/deployed.js';

/** Whether Compose runs the service: no profile, or one of the active ones. */
function runs(model: StackModel, s: ServiceModel): boolean {
  const active = (model.vars.COMPOSE_PROFILES ?? '').split(',');
  return s.profiles.length === 0 || s.profiles.some((p) => active.includes(p));
}

/** The log agent that runs: the service of that name whose profile is active (or has none). */
function runningAgent(model: StackModel, logAgent: string): ServiceModel | undefined {
  return logAgents(model).find((s) => s.name === logAgent && runs(model, s));
}

/**
 * The services on the log path: the agent, Loki, and every service writing into a host
 * directory the agent reads. When a deploy (re)starts one of them, the canary runs again.
 */
export function logPathServices(stack: DeployedStack, logAgent: string): string[] {
  const model = buildModel(stack.files, stack.variables);
  const agent = runningAgent(model, logAgent);
  if (!agent) return [];
  const read = agent.mounts.filter((m) => !m.named).map((m) => hostPathKey(m.source));
  const writers = model.services.filter(
    (s) => s !== agent && runs(model, s) && s.mounts.some((m) => !m.named && read.includes(hostPathKey(m.source))),
  );
  return [agent.name, 'loki', ...writers.map((s) => s.name)];
}

export interface DataPathWanted {
  /** Write canary lines and find them in Loki. */
  readonly canary: boolean;
  /** The host runs no Loki: its lines are found at a Loki query URL (an agent's logs-query-url). */
  readonly lokiElsewhere?: boolean;
  /** Grafana's admin password when this run knows it; else it is read from the host. */
  readonly adminPassword?: string;
}

export async function dataPathOptions(
  remote: RemoteHost,
  stack: DeployedStack,
  layout: RemoteLayout,
  logAgent: string,
  wanted: DataPathWanted,
): Promise<Pick<GateOptions, 'canary' | 'grafana'>> {
  const model = buildModel(stack.files, stack.variables);
  const agent = runningAgent(model, logAgent);
  const token = randomBytes(6).toString('hex');
  const canary =
    wanted.canary && agent && (wanted.lokiElsewhere || model.services.some((s) => s.name === 'loki'))
      ? { ...canaryPlan(model, agent, layout.root, token), token }
      : undefined;
  const provisioned = grafanaProvisioning(model);
  const grafanaService = model.services.find((s) => s.name === 'grafana');
  if (!provisioned || !grafanaService) return { canary };
  const password =
    wanted.adminPassword ??
    (
      await remote.run(`cat ${shq(`${layout.root}/${SECRET_FILES.grafanaAdminPassword}`)} 2>/dev/null || true`, {
        what: "Reading Grafana's admin password",
      })
    ).trim();
  const user = grafanaService.environment.GF_SECURITY_ADMIN_USER || 'admin';
  return { canary, grafana: { ...provisioned, user, password } };
}

/** The app: the service named server, or the one running the app-image. */
export function appServiceNames(stack: DeployedStack): string[] {
  const model = buildModel(stack.files, stack.variables);
  const image = stack.variables.APP_IMAGE;
  return model.services.filter((s) => s.name === 'server' || (!!image && s.image?.value === image)).map((s) => s.name);
}

/**
 * The seed post's silent pitfall: the app writing its log files somewhere else than the
 * directory mounted from the host. Nothing written there since the app started is worth a
 * warning that names app-logs-dir and where Logback writes.
 */
export async function appLogsWarning(
  remote: RemoteHost,
  facts: HostFacts,
  stack: DeployedStack,
  layout: RemoteLayout,
  appLogsDir: string,
): Promise<string | undefined> {
  const model = buildModel(stack.files, stack.variables);
  const name = appServiceNames(stack)[0];
  const app = model.services.find((s) => s.name === name);
  const dir = app && hostDirOf(app, appLogsDir, layout.root);
  if (!app || !dir) return undefined;
  const docker = dockerCommand(facts);
  const container = app.containerName ?? app.name;
  const out = await remote.run(
    `started=$(${docker} inspect -f '{{.State.StartedAt}}' ${shq(container)} 2>/dev/null) || exit 0
wd=$(${docker} inspect -f '{{.Config.WorkingDir}}' ${shq(container)} 2>/dev/null)
ref=$(mktemp) && touch -d "$started" "$ref" 2>/dev/null || touch -d "@$(( $(date +%s) - 60 ))" "$ref"
n=$(find ${shq(dir)} -type f -newer "$ref" ! -name '*${CANARY_MARK}*' 2>/dev/null | head -n 3 | wc -l)
rm -f "$ref"
since=$(( $(date +%s) - $(date -d "$started" +%s 2>/dev/null || date +%s) ))
echo "@app $n $since $wd"`,
    { what: "Looking for the app's log files" },
  );
  const m = /^@app (\d+) (-?\d+) ?(.*)$/m.exec(out);
  if (!m || Number(m[1]) > 0) return undefined;
  const workdir = m[3] || '/';
  return `The app has written nothing to ${dir} since it started ${m[2]}s ago: its log files may not be where the log agent looks. app-logs-dir is ${appLogsDir} (mounted from ${dir}); Logback writes a relative path under the image's WORKDIR ${workdir} (e.g. ${workdir.replace(/\/$/, '')}/logs). Set app-logs-dir to the directory Logback writes to.`;
}

/** The Health gate step's line: what was proven, and on an agent, what was not. */
export function gateDetail(gate: GateResult, options: GateOptions): string {
  const parts = [`${gate.targets.length} targets up`, `${titles(probesFor(options.role, options.logAgent))} ready`];
  if (options.push) parts.push('remote write and Loki push accept the credentials');
  const metrics = gate.checks.find((c) => c.name === 'metrics arrival' && c.ok);
  if (metrics) parts.push(metrics.detail);
  const logs = gate.dataPath.logs.filter((l) => l.arrivedMs !== undefined);
  const lokiAt = options.arrival?.logs && shownUrl(options.arrival.logs.url);
  if (logs.length) parts.push(`canary lines of ${logs.length} log jobs ${lokiAt ? `found at ${lokiAt}` : 'in Loki'}`);
  if (options.role === 'agent') {
    const unchecked = [
      ...(options.arrival?.metrics ? [] : ['metrics-query-url']),
      ...(options.arrival?.logs ? [] : ['logs-query-url']),
    ];
    if (options.centralHost) parts.push(`arrival is checked at ${options.centralHost} once every host is deployed`);
    else if (unchecked.length === 2) parts.push('arrival was not checked (no metrics-query-url / logs-query-url)');
    else if (unchecked.length)
      parts.push(
        `${unchecked[0] === 'metrics-query-url' ? 'metrics' : 'log'} arrival was not checked (no ${unchecked[0]})`,
      );
  }
  if (options.grafana)
    parts.push(
      `Grafana reads ${options.grafana.datasources.length} data sources, ${gate.dataPath.alertRulesLoaded ?? 0} alert rules loaded`,
    );
  return parts.join('; ');
}
