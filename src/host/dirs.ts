// Directories the stacks bind-mount, made by the login user before Compose would make them
// as root (Grafana, running as the login user, could then not write its data). A directory the
// tool did not make keeps its mode: a deploy never loosens what someone set. The one exception
// tightens: a logs/app at exactly 777 (as deploys before the sticky bit made it) gets +t.
import { shq } from '../connection/shell.js';
import type { RemoteHost } from '../connection/ssh.js';
import { type RemoteLayout, SECRET_FILES } from '../model/layout.js';
import type { StepOutcome } from '../report/steps.js';

export interface DirsWanted {
  readonly layout: RemoteLayout;
  /** Make a Grafana admin password on the host (none was given). */
  readonly generatePassword: boolean;
  /** An agent host keeps its Prometheus WAL in data/. */
  readonly agent: boolean;
}

const STICKY = '1777';

function dirs(w: DirsWanted): [string, string][] {
  const { layout } = w;
  return [
    [layout.root, '755'],
    [layout.dataDir, '755'],
    [`${layout.dataDir}/grafana`, '755'],
    [`${layout.dataDir}/grafana-com-dashboards`, '755'],
    [layout.logsDir, '755'],
    // The app's image decides which user Logback writes as; let any user write its log dir,
    // sticky, as /tmp: no user can delete or replace another's files there.
    [`${layout.logsDir}/app`, STICKY],
    [`${layout.logsDir}/nginx`, '755'],
    [layout.secretsDir, '700'],
    ...(w.agent ? ([[`${layout.dataDir}/prometheus-agent`, '755']] as [string, string][]) : []),
  ];
}

const passwordFile = (w: DirsWanted) => `${w.layout.root}/${SECRET_FILES.grafanaAdminPassword}`;

/** Prints `@missing PATH` for each directory (or the password file) still to make, or to make sticky. */
export function dirsState(w: DirsWanted): string {
  return [
    ...dirs(w).map(([d, mode]) =>
      mode === STICKY
        ? `case "$(stat -c %a -- ${shq(d)} 2>/dev/null)" in 777|'') echo @missing ${shq(d)} ;; esac`
        : `[ -d ${shq(d)} ] || echo @missing ${shq(d)}`,
    ),
    ...(w.generatePassword ? [`[ -s ${shq(passwordFile(w))} ] || echo @missing ${shq(passwordFile(w))}`] : []),
  ].join('\n');
}

export function dirsScript(w: DirsWanted): string {
  return `set -e
changed=
mk() { [ -d "$1" ] || { mkdir -p "$1"; chmod "$2" "$1"; changed="$changed $1"; }; }
sticky() { if [ "$(stat -c %a -- "$1")" = 777 ]; then chmod +t "$1"; changed="$changed $1"; fi; }
${dirs(w)
  .map(([d, mode]) => `mk ${shq(d)} ${mode}${mode === STICKY ? `; sticky ${shq(d)}` : ''}`)
  .join('\n')}
${
  w.generatePassword
    ? `pw=${shq(passwordFile(w))}
if [ ! -s "$pw" ]; then (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=\\n' > "$pw"); changed="$changed $pw"; fi`
    : ''
}
echo "changed:$changed"
`;
}

/** Makes what dirsState found missing; nothing to run when all is there. */
export async function ensureDirs(remote: RemoteHost, w: DirsWanted, missing: readonly string[]): Promise<StepOutcome> {
  if (!missing.length) return { changed: false, detail: 'all present' };
  const out = await remote.run(dirsScript(w), { what: `Preparing ${w.layout.root}` });
  const made = (/changed:(.*)/.exec(out)?.[1] ?? '').trim();
  const generated = made.includes(SECRET_FILES.grafanaAdminPassword);
  return {
    changed: made.length > 0,
    detail: made
      ? `made ${made.split(' ').length} path(s)${generated ? `; a Grafana admin password was generated in ${passwordFile(w)} (mode 600)` : ''}`
      : 'all present',
  };
}
