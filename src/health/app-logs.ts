// The seed post's silent pitfall, looked for after a deploy that (re)started the app: its log
// files written somewhere else than the directory the log agent reads.
import { shq } from '../connection/shell.js';
import type { RemoteHost } from '../connection/ssh.js';
import { dockerCommand } from '../host/docker.js';
import type { HostFacts } from '../host/preflight.js';
import { buildModel } from '../model/compose.js';
import type { RemoteLayout } from '../model/layout.js';
import { hostDirOf } from '../model/logs.js';
import type { DeployedStack } from '../stack/deployed.js';
import { CANARY_MARK } from './canary.js';
import { appServiceNames } from './plan.js';

/**
 * Prints `@app N SECONDS WORKDIR`: files written in the app's log directory since it started.
 * An app that started moments ago may not have written since (Docker records StartedAt once the
 * process already runs, so a line written at once can look older than the start): with nothing
 * found, it looks again each second until the app has run `settleSec`.
 */
export function appLogsScript(docker: string, container: string, dir: string, settleSec = 10): string {
  return `started=$(${docker} inspect -f '{{.State.StartedAt}}' ${shq(container)} 2>/dev/null) || exit 0
wd=$(${docker} inspect -f '{{.Config.WorkingDir}}' ${shq(container)} 2>/dev/null)
at=$(date -d "$started" +%s 2>/dev/null || echo $(( $(date +%s) - 60 )))
ref=$(mktemp) && { touch -d "$started" "$ref" 2>/dev/null || touch -d "@$at" "$ref"; }
written() { find ${shq(dir)} -type f -newer "$ref" ! -name '*${CANARY_MARK}*' 2>/dev/null | head -n 3 | wc -l; }
n=$(( $(written) ))
while [ "$n" = 0 ] && [ $(( $(date +%s) - at )) -lt ${settleSec} ]; do sleep 1; n=$(( $(written) )); done
rm -f "$ref"
echo "@app $n $(( $(date +%s) - at )) $wd"`;
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
  const out = await remote.run(appLogsScript(dockerCommand(facts), app.containerName ?? app.name, dir), {
    what: "Looking for the app's log files",
  });
  const m = /^@app (\d+) (-?\d+) ?(.*)$/m.exec(out);
  if (!m || Number(m[1]) > 0) return undefined;
  const workdir = m[3] || '/';
  return `The app has written nothing to ${dir} since it started ${m[2]}s ago: its log files may not be where the log agent looks. app-logs-dir is ${appLogsDir} (mounted from ${dir}); Logback writes a relative path under the image's WORKDIR ${workdir} (e.g. ${workdir.replace(/\/$/, '')}/logs). Set app-logs-dir to the directory Logback writes to.`;
}
