// The stack as it is deployed on the host now (its current release): what the watchdog reads to
// know which log files, data sources and rules to prove, whatever inputs it was started with.
import { DEFAULT_LOG_AGENT, LOG_AGENTS } from '../base/log-agents.js';
import { shq } from '../connection/shell.js';
import { activeProfiles } from '../model/compose.js';
import type { StackFile } from '../model/files.js';
import { MANIFEST } from '../model/layout.js';
import type { LogAgent } from '../settings/settings.js';

export interface DeployedStack {
  readonly files: readonly StackFile[];
  /** The variables the deploy wrote to .env (what Compose interpolates). */
  readonly variables: Readonly<Record<string, string>>;
}

/** Config files only: dashboards and other large files say nothing about the data path. */
const MAX_CONFIG_BYTES = 256 * 1024;

/** Prints `@file BASE64 PATH` for each config file of the current release. */
export function deployedScript(root: string): string {
  return `cd ${shq(root)} 2>/dev/null || exit 0
[ -f ${MANIFEST} ] || exit 0
while IFS= read -r f; do
  case "$f" in
    secrets/*) ;;
    ${['.env', '*.yml', '*.yaml', '*.conf', ...LOG_AGENTS.flatMap((a) => a.configGlob ?? [])].join('|')})
      if [ -f "$f" ] && [ "$(wc -c < "$f")" -le ${MAX_CONFIG_BYTES} ]; then
        printf '@file %s %s\\n' "$(base64 < "$f" | tr -d '\\n')" "$f"
      fi ;;
  esac
done < ${MANIFEST}`;
}

export function parseEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (m?.[1]) out[m[1]] = (m[2] ?? '').replace(/^(['"])(.*)\1$/, '$2');
  }
  return out;
}

export function parseDeployed(stdout: string): DeployedStack {
  const files: StackFile[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^@file (\S*) (.+)$/.exec(line);
    if (m?.[2]) files.push({ path: m[2], content: Buffer.from(m[1] ?? '', 'base64'), mode: 0o644 });
  }
  const env = files.find((f) => f.path === '.env')?.content.toString('utf8') ?? '';
  return { files, variables: parseEnv(env) };
}

/** The log agent the deployed stack runs (its active Compose profile). */
export function deployedLogAgent(stack: DeployedStack): LogAgent {
  const profiles = activeProfiles(stack.variables);
  return LOG_AGENTS.find((a) => profiles.includes(a.name))?.name ?? DEFAULT_LOG_AGENT;
}
