// Directories the stacks bind-mount, made by the login user before Compose would make them
// as root (Grafana, running as the login user, could then not write its data). A directory the
// tool did not make keeps its mode: a deploy never loosens what someone set.
import { shq } from '../connection/shell.js';
import type { RemoteHost } from '../connection/ssh.js';
import { DeployError } from '../errors.js';
import { RECEIVER_TLS_NAME, type RemoteLayout, SECRET_FILES } from '../model/layout.js';
import type { StepOutcome } from '../report/steps.js';

export interface DirsWanted {
  readonly layout: RemoteLayout;
  /** Make a Grafana admin password on the host (none was given). */
  readonly generatePassword: boolean;
  /** An agent host keeps its Prometheus WAL in data/. */
  readonly agent: boolean;
  /** The receiver speaks TLS: make its self-signed certificate and key once. */
  readonly receiverTls?: boolean;
}

/** The receiver's certificate and key on the host (not secret and secret): kept across deploys. */
export const receiverTlsDir = (layout: RemoteLayout) => `${layout.root}/receiver-tls`;
const receiverCert = (layout: RemoteLayout) => `${receiverTlsDir(layout)}/receiver.crt`;

/**
 * A self-signed certificate whose only name is RECEIVER_TLS_NAME: agents pin it as their CA and
 * ask for that name, whatever address they reach the host at. openssl's config file, not
 * -addext: the OpenSSL 1.0 of older distributions has no -addext.
 */
function certScript(layout: RemoteLayout, name: string): string {
  const dir = shq(receiverTlsDir(layout));
  return `if [ ! -s ${shq(receiverCert(layout))} ]; then
  command -v openssl >/dev/null || { echo "openssl is not installed on the host: it makes the receiver's certificate" >&2; exit 6; }
  cfg=$(mktemp)
  printf '%s\n' '[req]' 'distinguished_name=dn' 'x509_extensions=ext' 'prompt=no' '[dn]' 'CN=${name}' '[ext]' \
    'subjectAltName=DNS:${name}' 'basicConstraints=critical,CA:TRUE' 'keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign' 'extendedKeyUsage=serverAuth' > "$cfg"
  (umask 077; openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -config "$cfg" -keyout ${dir}/receiver.key -out ${dir}/receiver.crt) >/dev/null 2>&1 || { rm -f "$cfg" ${dir}/receiver.key ${dir}/receiver.crt; echo "openssl could not make the receiver's certificate" >&2; exit 6; }
  rm -f "$cfg"; chmod 644 ${dir}/receiver.crt
  changed="$changed ${receiverCert(layout)}"
fi`;
}

/** Prints `@receiver-cert BASE64`: the receiver's certificate, for the agents to pin. */
export function receiverCertState(layout: RemoteLayout): string {
  return `echo "@receiver-cert $(base64 < ${shq(receiverCert(layout))} 2>/dev/null | tr -d '\\n')"`;
}

export function parseReceiverCert(out: string): string | undefined {
  const b64 = /^@receiver-cert ?(.*)$/m.exec(out)?.[1]?.trim();
  return b64 ? Buffer.from(b64, 'base64').toString('utf8') : undefined;
}

function dirs(w: DirsWanted): [string, string][] {
  const { layout } = w;
  return [
    [layout.root, '755'],
    [layout.dataDir, '755'],
    [`${layout.dataDir}/grafana`, '755'],
    [`${layout.dataDir}/grafana-com-dashboards`, '755'],
    [layout.logsDir, '755'],
    // The app's image decides which user Logback writes as; let any user write its log dir.
    [`${layout.logsDir}/app`, '777'],
    [`${layout.logsDir}/nginx`, '755'],
    [layout.secretsDir, '700'],
    ...(w.agent ? ([[`${layout.dataDir}/prometheus-agent`, '755']] as [string, string][]) : []),
    ...(w.receiverTls ? ([[receiverTlsDir(layout), '700']] as [string, string][]) : []),
  ];
}

const passwordFile = (w: DirsWanted) => `${w.layout.root}/${SECRET_FILES.grafanaAdminPassword}`;

/** Prints `@missing PATH` for each directory (or the password file) still to make. */
export function dirsState(w: DirsWanted): string {
  return [
    ...dirs(w).map(([d]) => `[ -d ${shq(d)} ] || echo @missing ${shq(d)}`),
    ...(w.generatePassword ? [`[ -s ${shq(passwordFile(w))} ] || echo @missing ${shq(passwordFile(w))}`] : []),
    ...(w.receiverTls ? [`[ -s ${shq(receiverCert(w.layout))} ] || echo @missing ${shq(receiverCert(w.layout))}`] : []),
  ].join('\n');
}

/** The script that makes what is missing (exported for the tests that run it). */
export function dirsScriptFor(w: DirsWanted): string {
  return `set -e
changed=
mk() { [ -d "$1" ] || { mkdir -p "$1"; chmod "$2" "$1"; changed="$changed $1"; }; }
${dirs(w)
  .map(([d, mode]) => `mk ${shq(d)} ${mode}`)
  .join('\n')}
${
  w.generatePassword
    ? `pw=${shq(passwordFile(w))}
if [ ! -s "$pw" ]; then (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=\\n' > "$pw"); changed="$changed $pw"; fi`
    : ''
}
${w.receiverTls ? certScript(w.layout, RECEIVER_TLS_NAME) : ''}
echo "changed:$changed"
${w.receiverTls ? receiverCertState(w.layout) : ''}
`;
}

/** Makes what dirsState found missing; nothing to run when all is there. Its value: the receiver's certificate, when made. */
export async function ensureDirs(
  remote: RemoteHost,
  w: DirsWanted,
  missing: readonly string[],
): Promise<StepOutcome & { value?: string }> {
  if (!missing.length) return { changed: false, detail: 'all present' };
  const out = await remote.run(dirsScriptFor(w), {
    what: `Preparing ${w.layout.root}`,
    explain: (r) =>
      r.code === 6
        ? new DeployError(
            `The receiver's TLS certificate could not be made on the host: ${r.stderr.trim()}.`,
            'install openssl on the host, or set receiver-tls: false (plain HTTP, only on a private network).',
          )
        : undefined,
  });
  const made = (/changed:(.*)/.exec(out)?.[1] ?? '').trim();
  const generated = made.includes(SECRET_FILES.grafanaAdminPassword);
  return {
    value: parseReceiverCert(out),
    changed: made.length > 0,
    detail: made
      ? `made ${made.split(' ').length} path(s)${generated ? `; a Grafana admin password was generated in ${passwordFile(w)} (mode 600)` : ''}`
      : 'all present',
  };
}
