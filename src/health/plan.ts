// What the gate must prove of the data path on this host, read from the stack as deployed: the
// log agent's jobs and where their files are (for the canary lines), Grafana's provisioned data
// sources, rules and contact points, and the admin credentials to ask Grafana with.
import { randomBytes } from 'node:crypto';
import type { RemoteHost } from '../connection/ssh.js';
import { parsePassword, passwordState } from '../host/grafana-admin.js';
import { buildModel, hostPathKey, runsUnder, type ServiceModel, type StackModel } from '../model/compose.js';
import type { RemoteLayout } from '../model/layout.js';
import { hostDirOf, logAgents } from '../model/logs.js';
import type { DeployedStack } from '../stack/deployed.js';
import { appLinesPlan } from './app-lines.js';
import { canaryPlan } from './canary.js';
import type { GateOptions } from './gate.js';
import { grafanaProvisioning } from './grafana.js';

/** The log agent that runs: the service of that name whose profile is active (or has none). */
function runningAgent(model: StackModel, logAgent: string): ServiceModel | undefined {
  return logAgents(model).find((s) => s.name === logAgent && runsUnder(s, model.vars));
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
    (s) =>
      s !== agent && runsUnder(s, model.vars) && s.mounts.some((m) => !m.named && read.includes(hostPathKey(m.source))),
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
  /** The app's log directory inside its container (app-logs-dir): its files no job reads are named. */
  readonly appLogsDir?: string;
}

export async function dataPathOptions(
  remote: RemoteHost,
  stack: DeployedStack,
  layout: RemoteLayout,
  logAgent: string,
  wanted: DataPathWanted,
): Promise<Pick<GateOptions, 'canary' | 'appLines' | 'grafana'>> {
  const model = buildModel(stack.files, stack.variables);
  const agent = runningAgent(model, logAgent);
  const token = randomBytes(6).toString('hex');
  const lokiToAsk = !!agent && (wanted.lokiElsewhere || model.services.some((s) => s.name === 'loki'));
  const canary =
    wanted.canary && agent && lokiToAsk ? { ...canaryPlan(model, agent, layout.root, token), token } : undefined;
  // Every run reads the app's files; one that proves the path anew looks for the newest lines themselves.
  const appLines =
    agent && lokiToAsk
      ? {
          plan: appLinesPlan(model, agent, layout.root, appLogHostDir(model, stack, layout, wanted.appLogsDir)),
          mode: wanted.canary ? ('content' as const) : ('fresh' as const),
        }
      : undefined;
  const provisioned = grafanaProvisioning(model);
  const grafanaService = model.services.find((s) => s.name === 'grafana');
  if (!provisioned || !grafanaService) return { canary, appLines };
  const password =
    wanted.adminPassword ??
    parsePassword(await remote.run(passwordState(layout), { what: "Reading Grafana's admin password" })) ??
    '';
  const user = grafanaService.environment.GF_SECURITY_ADMIN_USER || 'admin';
  return { canary, appLines, grafana: { ...provisioned, user, password } };
}

/** The app's log directory on the host, when it is mounted from there. */
function appLogHostDir(
  model: StackModel,
  stack: DeployedStack,
  layout: RemoteLayout,
  appLogsDir: string | undefined,
): string | undefined {
  const app = model.services.find((s) => s.name === appServiceNames(stack)[0]);
  return app && appLogsDir ? hostDirOf(app, appLogsDir, layout.root) : undefined;
}

/** The app: the service named server, or the one running the app-image. */
export function appServiceNames(stack: DeployedStack): string[] {
  const model = buildModel(stack.files, stack.variables);
  const image = stack.variables.APP_IMAGE;
  return model.services.filter((s) => s.name === 'server' || (!!image && s.image?.value === image)).map((s) => s.name);
}
