// How to run docker on this host, as preflight found it.
import { shq } from '../connection/shell.js';
import type { RemoteHost } from '../connection/ssh.js';
import { DeployError } from '../errors.js';
import type { HostFacts } from './preflight.js';

export function dockerCommand(facts: HostFacts): string {
  return facts.dockerAccess === 'sudo' ? 'sudo -n docker' : 'docker';
}

/** Prints the container's IP address on each of its networks, on one line. */
function containerAddressScript(docker: string, container: string): string {
  return `${docker} inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' ${shq(container)}`;
}

/** The IP address of a container on its (first) network, for a tunnel to reach it. */
export async function containerAddress(remote: RemoteHost, facts: HostFacts, container: string): Promise<string> {
  const out = await remote.run(containerAddressScript(dockerCommand(facts), container), {
    what: `Finding container ${container}`,
    explain: (r) => new DeployError(`Container "${container}" is not running on the host (${r.stderr.trim()}).`),
  });
  const ip = out.trim().split(/\s+/)[0];
  if (!ip) throw new DeployError(`Container "${container}" is not running on the host or has no network address.`);
  return ip;
}
