// The external bridge network both stacks join.
import type { RemoteHost } from '../connection/ssh.js';
import { DeployError } from '../errors.js';
import type { StepOutcome } from '../report/steps.js';
import { shq } from './docker.js';
import { REMOTE_PATH_PREFIX } from './preflight.js';

export async function ensureNetwork(remote: RemoteHost, docker: string, name: string): Promise<StepOutcome> {
  const n = shq(name);
  const r = await remote.exec(
    `${REMOTE_PATH_PREFIX}
if d=$(${docker} network inspect -f '{{.Driver}}' ${n} 2>/dev/null); then echo "exists $d"
else ${docker} network create --driver bridge ${n} >/dev/null && echo created; fi`,
  );
  const out = r.stdout.trim();
  if (r.code !== 0 || !out) throw new DeployError(`Could not create the Docker network "${name}": ${r.stderr.trim()}`);
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
