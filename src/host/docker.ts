// How to run docker and Compose on this host, as preflight found them.
import type { RemoteHost } from '../connection/ssh.js';
import { DeployError } from '../errors.js';
import type { HostFacts } from './preflight.js';
import { REMOTE_PATH_PREFIX } from './preflight.js';

export function dockerCommand(facts: HostFacts): string {
  return facts.dockerAccess === 'sudo' ? 'sudo -n docker' : 'docker';
}

/** Single-quotes a string for a POSIX shell. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The IP address of a container on its (first) network, for a tunnel to reach it. */
export async function containerAddress(remote: RemoteHost, facts: HostFacts, container: string): Promise<string> {
  const r = await remote.exec(
    `${REMOTE_PATH_PREFIX} ${dockerCommand(facts)} inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' ${shq(container)}`,
  );
  const ip = r.stdout.trim().split(/\s+/)[0];
  if (r.code !== 0 || !ip) {
    throw new DeployError(
      `Container "${container}" is not running on the host or has no network address (${r.stderr.trim() || 'no address'}).`,
    );
  }
  return ip;
}
