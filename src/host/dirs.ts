// Directories the stacks bind-mount, made by the login user before Compose would make them
// as root (Grafana, running as the login user, could then not write its data).
import { shq } from '../connection/shell.js';
import type { RemoteHost } from '../connection/ssh.js';
import { type RemoteLayout, SECRET_FILES } from '../model/layout.js';
import type { StepOutcome } from '../report/steps.js';

export function dirsScript(layout: RemoteLayout, generatePassword: boolean, agent = false): string {
  const q = shq;
  return `set -e
changed=
mk() { [ -d "$1" ] || { mkdir -p "$1"; changed="$changed $1"; }; chmod "$2" "$1"; }
mk ${q(layout.root)} 755
mk ${q(layout.dataDir)} 755
mk ${q(`${layout.dataDir}/grafana`)} 755
mk ${q(`${layout.dataDir}/grafana-com-dashboards`)} 755
mk ${q(layout.logsDir)} 755
# The app's image decides which user Logback writes as; let any user write its log dir.
mk ${q(`${layout.logsDir}/app`)} 777
mk ${q(`${layout.logsDir}/nginx`)} 755
mk ${q(layout.secretsDir)} 700
${agent ? `mk ${q(`${layout.dataDir}/prometheus-agent`)} 755` : ''}
${
  generatePassword
    ? `pw=${q(`${layout.root}/${SECRET_FILES.grafanaAdminPassword}`)}
if [ ! -s "$pw" ]; then (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=\\n' > "$pw"); changed="$changed $pw"; fi`
    : ''
}
echo "changed:$changed"
`;
}

export async function ensureDirs(
  remote: RemoteHost,
  layout: RemoteLayout,
  generatePassword: boolean,
  agent = false,
): Promise<StepOutcome> {
  const out = await remote.run(dirsScript(layout, generatePassword, agent), { what: `Preparing ${layout.root}` });
  const made = (/changed:(.*)/.exec(out)?.[1] ?? '').trim();
  const generated = made.includes(SECRET_FILES.grafanaAdminPassword);
  return {
    changed: made.length > 0,
    detail: made
      ? `made ${made.split(' ').length} path(s)${generated ? `; a Grafana admin password was generated in ${layout.root}/${SECRET_FILES.grafanaAdminPassword} (mode 600)` : ''}`
      : 'all present',
  };
}
