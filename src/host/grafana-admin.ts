// Grafana takes GF_SECURITY_ADMIN_PASSWORD only when its database is first created; a changed
// grafana-admin-password must be applied to the running Grafana. Its own CLI resets the admin
// password from the mounted secret file: the password never appears on a command line.

import type { StepOutcome } from '../base/log.js';
import { shq } from '../connection/shell.js';
import type { RemoteHost } from '../connection/ssh.js';
import { DeployError } from '../errors.js';
import { PROJECT_NAMES, type RemoteLayout, SECRET_FILES } from '../model/layout.js';
import { dockerCommand } from './docker.js';
import type { HostFacts } from './preflight.js';

/** Where the compose file mounts the secret in the Grafana container. */
export const MOUNTED_PASSWORD_FILE = '/etc/grafana/secrets/grafana_admin_password';

function resetScript(docker: string): string {
  const reset = `grafana cli admin reset-admin-password --password-from-stdin < ${MOUNTED_PASSWORD_FILE}`;
  // By Compose's labels, not a name: a compose file may name the container as it likes.
  const find = `${docker} ps -q --filter label=com.docker.compose.project=${PROJECT_NAMES.monitoring} --filter label=com.docker.compose.service=grafana | head -n 1`;
  // Just (re)started, Grafana may still be migrating its database: try for up to a minute.
  return `c=$(${find})
[ -n "$c" ] || { echo 'no running Grafana container' >&2; exit 1; }
for i in $(seq 1 30); do
  if out=$(${docker} exec "$c" sh -c ${shq(reset)} 2>&1); then echo applied; exit 0; fi
  sleep 2
done
printf '%s\\n' "$out" >&2
exit 1`;
}

/** Makes the running Grafana's admin password the one in the stack's secret file. */
export async function applyGrafanaAdminPassword(remote: RemoteHost, facts: HostFacts): Promise<StepOutcome> {
  await remote.run(resetScript(dockerCommand(facts)), {
    what: "Setting Grafana's admin password",
    timeoutMs: 120_000,
    explain: (r) =>
      new DeployError(
        `Grafana's admin password could not be changed to the one in secrets/grafana_admin_password (its CLI said: ${r.stderr.trim().split('\n').slice(-3).join(' ')}).`,
        'run `docker exec grafana grafana cli admin reset-admin-password` on the host (with your container name), or keep the old password.',
      ),
  });
  return { changed: true, detail: "the stack's admin password is applied to the running Grafana" };
}

/** Prints `@grafana-password BASE64`: the admin password the host keeps (never printed in clear). */
export function passwordState(layout: RemoteLayout): string {
  const file = `${layout.root}/${SECRET_FILES.grafanaAdminPassword}`;
  return `echo "@grafana-password $(base64 < ${shq(file)} 2>/dev/null | tr -d '\\n')"`;
}

export function parsePassword(out: string): string | undefined {
  const b64 = /^@grafana-password ?(.*)$/m.exec(out)?.[1]?.trim();
  return b64 ? Buffer.from(b64, 'base64').toString('utf8').trim() : undefined;
}
