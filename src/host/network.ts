// The external bridge network both stacks join.

import type { StepOutcome } from '../base/log.js';
import { shq } from '../connection/shell.js';
import type { RemoteHost } from '../connection/ssh.js';
import { DeployError } from '../errors.js';

function networkScript(docker: string, name: string): string {
  const n = shq(name);
  return `if d=$(${docker} network inspect -f '{{.Driver}}' ${n} 2>/dev/null); then echo "exists $d"
else ${docker} network create --driver bridge ${n} >/dev/null && echo created; fi`;
}

/** Prints `@network <driver>` (empty when there is no such network). */
export function networkState(docker: string, name: string): string {
  return `echo "@network $(${docker} network inspect -f '{{.Driver}}' ${shq(name)} 2>/dev/null)"`;
}

/** The network, created if missing; `driver` (from networkState) spares a round trip when it exists. */
export async function ensureNetwork(
  remote: RemoteHost,
  docker: string,
  name: string,
  known?: string,
): Promise<StepOutcome> {
  const out = known
    ? `exists ${known}`
    : (await remote.run(networkScript(docker, name), { what: `Creating the Docker network "${name}"` })).trim();
  if (out === 'created') return { changed: true, detail: `created bridge network ${name}` };
  const driver = out.split(' ')[1];
  if (driver !== 'bridge') {
    throw new DeployError(
      `A Docker network "${name}" already exists with driver "${driver}", not bridge.`,
      `set the network input to another name, or remove that network (docker network rm ${name}) if nothing uses it.`,
    );
  }
  return { changed: false, detail: `bridge network ${name} exists` };
}
