// The containers of our Compose projects as the host sees them: state, restarts, address on the
// shared network (what a tunnel connects to), so that nothing needs publishing to be checked.
import type { RemoteHost } from '../connection/ssh.js';
import { dockerCommand, shq } from '../host/docker.js';
import { type HostFacts, REMOTE_PATH_PREFIX } from '../host/preflight.js';
import { PROJECT_NAMES } from '../stack/layout.js';

export interface ContainerInfo {
  readonly service: string;
  readonly project: string;
  readonly name: string;
  readonly state: string;
  readonly health?: string;
  readonly restarts: number;
  readonly address?: string;
}

export async function listContainers(remote: RemoteHost, facts: HostFacts, network: string): Promise<ContainerInfo[]> {
  const docker = dockerCommand(facts);
  const fmt = `{{index .Config.Labels "com.docker.compose.service"}}|{{index .Config.Labels "com.docker.compose.project"}}|{{.Name}}|{{.State.Status}}|{{if .State.Health}}{{.State.Health.Status}}{{end}}|{{.RestartCount}}|{{with index .NetworkSettings.Networks ${JSON.stringify(network)}}}{{.IPAddress}}{{end}}`;
  // docker ps takes one --filter per project as OR only for the same key: ask per project.
  const script = Object.values(PROJECT_NAMES)
    .map(
      (p) =>
        `ids=$(${docker} ps -aq --filter label=com.docker.compose.project=${p}); [ -z "$ids" ] || ${docker} inspect -f ${shq(fmt)} $ids`,
    )
    .join('\n');
  const r = await remote.exec(`${REMOTE_PATH_PREFIX}\n${script}`);
  return r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [service = '', project = '', name = '', state = '', health = '', restarts = '0', address = ''] =
        line.split('|');
      return {
        service,
        project,
        name: name.replace(/^\//, ''),
        state,
        health: health || undefined,
        restarts: Number(restarts),
        address: address || undefined,
      };
    });
}

export async function containerLogs(remote: RemoteHost, facts: HostFacts, name: string, lines = 15): Promise<string> {
  const r = await remote.exec(`${REMOTE_PATH_PREFIX} ${dockerCommand(facts)} logs --tail ${lines} ${shq(name)} 2>&1`);
  return r.stdout.trim();
}
