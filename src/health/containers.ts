// The containers of our Compose projects as the host sees them: state, restarts, address on the
// shared network (what a tunnel connects to), so that nothing needs publishing to be checked.
import { shq } from '../connection/shell.js';
import type { RemoteHost } from '../connection/ssh.js';
import { dockerCommand } from '../host/docker.js';
import type { HostFacts } from '../host/preflight.js';
import { PROJECT_NAMES } from '../model/layout.js';

export interface ContainerInfo {
  readonly service: string;
  readonly project: string;
  readonly name: string;
  readonly state: string;
  readonly health?: string;
  readonly restarts: number;
  readonly address?: string;
}

/** Prints one `@container …` line per Compose container; parseContainers keeps those of our projects. */
export function containersScript(docker: string, network: string): string {
  const fmt = `{{index .Config.Labels "com.docker.compose.service"}}|{{index .Config.Labels "com.docker.compose.project"}}|{{.Name}}|{{.State.Status}}|{{if .State.Health}}{{.State.Health.Status}}{{end}}|{{.RestartCount}}|{{with index .NetworkSettings.Networks ${JSON.stringify(network)}}}{{.IPAddress}}{{end}}`;
  // One docker ps and one inspect for every Compose container, ours picked out by the parser: a
  // pair per project cost a third of a redeploy that changes nothing. An engine that is
  // restarting answers nothing: no containers, which the gate waits out.
  return `ids=$(${docker} ps -aq --filter label=com.docker.compose.project); [ -z "$ids" ] || ${docker} inspect -f ${shq(`@container ${fmt}`)} $ids || true`;
}

const OUR_PROJECTS: ReadonlySet<string> = new Set(Object.values(PROJECT_NAMES));

export function parseContainers(stdout: string): ContainerInfo[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('@container '))
    .map((line) => {
      const [service = '', project = '', name = '', state = '', health = '', restarts = '0', address = ''] = line
        .slice('@container '.length)
        .split('|');
      return {
        service,
        project,
        name: name.replace(/^\//, ''),
        state,
        health: health || undefined,
        restarts: Number(restarts),
        address: address || undefined,
      };
    })
    .filter((c) => OUR_PROJECTS.has(c.project));
}

export async function listContainers(remote: RemoteHost, facts: HostFacts, network: string): Promise<ContainerInfo[]> {
  const out = await remote.run(containersScript(dockerCommand(facts), network), { what: 'Listing the containers' });
  return parseContainers(out);
}

/** A container's last log lines, stdout and stderr together as `docker logs` interleaves them. */
export function containerLogsScript(docker: string, name: string, lines: number): string {
  return `${docker} logs --tail ${lines} ${shq(name)} 2>&1`;
}

export async function containerLogs(remote: RemoteHost, facts: HostFacts, name: string, lines = 15): Promise<string> {
  const out = await remote.run(containerLogsScript(dockerCommand(facts), name, lines), {
    what: `Reading the logs of ${name}`,
  });
  return out.trim();
}
