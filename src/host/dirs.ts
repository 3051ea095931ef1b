// Directories the stacks bind-mount, made by the login user before Compose would make them
// as root (Grafana, running as the login user, could then not write its data). A directory the
// tool did not make keeps its mode: a deploy never loosens what someone set. The exceptions
// tighten: a logs/app at exactly 777 (as deploys before the sticky bit made it) gets +t, and the
// remote dir, secrets/ and receiver-tls/ become mode 700, as no other user needs to reach them.
// Before anything is made, the way to the remote dir is checked: another user who can change a
// directory on it, or who owns the remote dir or a file in secrets/, could read or plant secrets.

import type { StepResult } from '../base/log.js';
import { shq } from '../connection/shell.js';
import type { RemoteHost } from '../connection/ssh.js';
import { RECEIVER_TLS_NAME } from '../connection/tls.js';
import { DeployError } from '../errors.js';
import { type RemoteLayout, SECRET_FILES } from '../model/layout.js';

export interface DirsWanted {
  readonly layout: RemoteLayout;
  /** Make a Grafana admin password on the host (none was given). */
  readonly generatePassword: boolean;
  /** Make Grafana's secret key on the host (the monitoring stack runs there); never replaced. */
  readonly secretKey: boolean;
  /** An agent host keeps its Prometheus WAL in data/. */
  readonly agent: boolean;
  /** The receiver speaks TLS: make its self-signed certificate and key once. */
  readonly receiverTls?: boolean;
  /** disk-guard runs (monitoring or agent stack); with Loki, Loki reads its overrides file from the start. */
  readonly diskGuard?: 'loki' | 'nginx-only';
}

/** disk-guard's directory: Loki's runtime overrides and its status, kept across deploys. */
export const diskGuardDir = (layout: RemoteLayout) => `${layout.dataDir}/disk-guard`;
const lokiOverrides = (layout: RemoteLayout) => `${diskGuardDir(layout)}/loki-overrides.yaml`;

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
  printf '%s\\n' '[req]' 'distinguished_name=dn' 'x509_extensions=ext' 'prompt=no' '[dn]' 'CN=${name}' '[ext]' \\
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

const STICKY = '1777';
const PRIVATE = '700';

/** The directories no other user may own or reach into: the remote dir and where keys live. */
function privateDirs(w: DirsWanted): string[] {
  return [w.layout.root, w.layout.secretsDir, ...(w.receiverTls ? [receiverTlsDir(w.layout)] : [])];
}

function dirs(w: DirsWanted): [string, string][] {
  const { layout } = w;
  return [
    [layout.root, PRIVATE],
    [layout.dataDir, '755'],
    [`${layout.dataDir}/grafana`, '755'],
    [`${layout.dataDir}/grafana-com-dashboards`, '755'],
    [layout.logsDir, '755'],
    // The app's image decides which user Logback writes as; let any user write its log dir,
    // sticky, as /tmp: no user can delete or replace another's files there.
    [`${layout.logsDir}/app`, STICKY],
    [`${layout.logsDir}/nginx`, '755'],
    [layout.secretsDir, PRIVATE],
    ...(w.agent ? ([[`${layout.dataDir}/prometheus-agent`, '755']] as [string, string][]) : []),
    ...(w.receiverTls ? ([[receiverTlsDir(layout), PRIVATE]] as [string, string][]) : []),
    ...(w.diskGuard ? ([[diskGuardDir(layout), '755']] as [string, string][]) : []),
  ];
}

/**
 * Files a service needs before it first starts, made once and then left to their owner: Loki
 * refuses to start without its runtime overrides file, which disk-guard rewrites.
 */
function seeds(w: DirsWanted): [string, string][] {
  return w.diskGuard === 'loki' ? [[lokiOverrides(w.layout), 'overrides: {}']] : [];
}

const passwordFile = (w: DirsWanted) => `${w.layout.root}/${SECRET_FILES.grafanaAdminPassword}`;
const secretKeyFile = (w: DirsWanted) => `${w.layout.root}/${SECRET_FILES.grafanaSecretKey}`;

/** The secret files made on the host, with their length in random bytes. */
function generated(w: DirsWanted): [string, number][] {
  return [
    ...(w.generatePassword ? ([[passwordFile(w), 24]] as [string, number][]) : []),
    ...(w.secretKey ? ([[secretKeyFile(w), 48]] as [string, number][]) : []),
  ];
}

/** Printed when the key is made for a Grafana that has run with the default key before. */
const KEY_FOR_EXISTING_DB = '@secret-key-for-existing-db';

/** Exit code of the directories script when it refuses the remote dir; it changed nothing. */
const UNSAFE_EXIT = 7;
const UNSAFE_TAG = '@unsafe-dir';

const CHOOSE_OWN = 'Choose a remote-dir under directories no other user can change (e.g. ~/monitoring)';

/**
 * Shell functions that find where another user could reach the deploy's secrets, each finding
 * handed to `unsafe` (defined by the caller): a directory on the way to the remote dir, as
 * written or as resolved, that is neither root's nor the login user's, or that every user may
 * write (its owner, or anyone, could put another directory or a link in the remote dir's place);
 * a remote dir, secrets/ or receiver-tls/ that is not the login user's (or, for the last two, is
 * a link); a file in those two that is a link (a new secret would be written where it points) or
 * someone else's (a key someone else made is a key they know, and an existing key is kept).
 */
function safetyFunctions(): string {
  return `md_me=$(id -u); md_login=$(id -un)
md_uid() { stat -L -c %u -- "$1" 2>/dev/null || echo '?'; }
md_user() { stat -L -c %U -- "$1" 2>/dev/null || echo 'a user the login user cannot see'; }
md_mode() { stat -L -c %a -- "$1" 2>/dev/null || echo '?'; }
md_way() {
  md_u=$(md_uid "$1"); md_m=$(md_mode "$1")
  if [ "$md_u" != 0 ] && [ "$md_u" != "$md_me" ]; then
    unsafe "$1, on the way to remote-dir $2, belongs to $(md_user "$1"), neither root nor the login user $md_login: that user could put another directory or a link in the remote dir's place. ${CHOOSE_OWN}."; return 1
  fi
  case $md_m in *[2367]) unsafe "$1, on the way to remote-dir $2, is writable by every user (mode $md_m): any user could put another directory or a link in the remote dir's place. ${CHOOSE_OWN}, or make it writable by its owner only: sudo chmod o-w $1"; return 1 ;; esac
}
md_parents() {
  md_p=$1; md_q=
  while [ "$md_p" != / ]; do
    md_p=\${md_p%/*}; md_p=\${md_p:-/}
    [ -e "$md_p" ] || continue
    md_way "$md_p" "$1" || return 1
    # The nearest existing parent: the directories it resolves through, too.
    if [ -z "$md_q" ]; then
      md_q=$(cd -P -- "$md_p" && pwd -P) || return 1
      while :; do md_way "$md_q" "$1" || return 1; [ "$md_q" = / ] && break; md_q=\${md_q%/*}; md_q=\${md_q:-/}; done
    fi
  done
}
md_own() {
  [ -e "$1" ] || [ -L "$1" ] || return 0
  if [ "$2" = private ] && [ -L "$1" ]; then unsafe "$1 is a symbolic link: the deploy's secrets would go where it points. Remove the link (rm $1) and deploy again."; return 1; fi
  [ -d "$1" ] || { unsafe "$1 is not a directory. Move it away, or choose another remote-dir."; return 1; }
  [ "$(md_uid "$1")" = "$md_me" ] || { unsafe "$1 belongs to $(md_user "$1"), not to $md_login, who deploys: its owner could read or replace the deploy's secrets. Make it $md_login's (sudo chown -R $md_login $1), or choose another remote-dir."; return 1; }
}
md_files() {
  for md_f in "$1"/* "$1"/.[!.]* "$1"/..?*; do
    [ -e "$md_f" ] || [ -L "$md_f" ] || continue
    if [ -L "$md_f" ]; then unsafe "$md_f is a symbolic link: a secret written there would go where it points. Remove it (rm $md_f) and deploy again."; return 1; fi
    [ "$(md_uid "$md_f")" = "$md_me" ] || { unsafe "$md_f belongs to $(md_user "$md_f"), not to $md_login: someone else made it, and a key someone else made is a key they know. Remove it (sudo rm $md_f) and deploy again: the deploy makes or uploads a new one."; return 1; }
  done
}`;
}

/** Runs every check of safetyFunctions on the remote dir, stopping at the first finding. */
function safetyChecks(w: DirsWanted): string {
  const [root, ...keyDirs] = privateDirs(w).map(shq);
  return [
    `md_parents ${root}`,
    `md_own ${root} root`,
    ...keyDirs.flatMap((d) => [`md_own ${d} private`, `md_files ${d}`]),
  ].join(' && ');
}

/**
 * The checks of the directories script on their own, refusing (exit UNSAFE_EXIT, the finding on
 * stderr) before a script that writes into the remote dir goes on: a restore keeps to them too.
 */
export function dirsSafetyScript(w: DirsWanted): string {
  return `unsafe() { echo "$1" >&2; exit ${UNSAFE_EXIT}; }\n${safetyFunctions()}\n${safetyChecks(w)}`;
}

/** The directories script's refusal, said as the deploy says it. */
export const unsafeExit = (code: number | null, stderr: string) =>
  code === UNSAFE_EXIT ? unsafeDirsError([stderr.trim()]) : undefined;

/** The findings the state script printed: each names the path, the danger and the fix. */
export function parseUnsafeDirs(out: string): string[] {
  return out
    .split('\n')
    .filter((l) => l.startsWith(`${UNSAFE_TAG} `))
    .map((l) => l.slice(UNSAFE_TAG.length + 1));
}

export function unsafeDirsError(findings: readonly string[]): DeployError {
  return new DeployError(
    `The remote dir is not safe for the deploy's secrets; nothing was changed:\n${findings.map((f) => `  ${f}`).join('\n')}`,
  );
}

/** Prints `@missing PATH` for each directory (or secret file) still to make, or to make sticky. */
export function dirsState(w: DirsWanted): string {
  return [
    `unsafe() { echo ${UNSAFE_TAG} "$1"; }`,
    safetyFunctions(),
    `${safetyChecks(w)} || :`,
    // Made by an older deploy, or by hand, with a looser mode: the directories script tightens it.
    ...privateDirs(w).map(
      (d) => `[ ! -d ${shq(d)} ] || [ "$(md_mode ${shq(d)})" = ${PRIVATE} ] || echo @missing ${shq(d)}`,
    ),
    ...dirs(w).map(([d, mode]) =>
      mode === STICKY
        ? `case "$(stat -c %a -- ${shq(d)} 2>/dev/null)" in 777|'') echo @missing ${shq(d)} ;; esac`
        : `[ -d ${shq(d)} ] || echo @missing ${shq(d)}`,
    ),
    ...[...generated(w), ...seeds(w)].map(([f]) => `[ -s ${shq(f)} ] || echo @missing ${shq(f)}`),
    ...(w.receiverTls ? [`[ -s ${shq(receiverCert(w.layout))} ] || echo @missing ${shq(receiverCert(w.layout))}`] : []),
  ].join('\n');
}

/** The script that makes what is missing (exported for the tests that run it). */
export function dirsScript(w: DirsWanted): string {
  return `set -e
changed=
unsafe() { echo "$1" >&2; exit ${UNSAFE_EXIT}; }
${safetyFunctions()}
${safetyChecks(w)}
mk() { [ -d "$1" ] || { mkdir -p "$1"; chmod "$2" "$1"; changed="$changed $1"; }; }
sticky() { if [ "$(stat -c %a -- "$1")" = 777 ]; then chmod +t "$1"; changed="$changed $1"; fi; }
private() { if [ "$(md_mode "$1")" != ${PRIVATE} ]; then chmod ${PRIVATE} "$1"; changed="$changed $1"; fi; }
# A random secret, unreadable to others from its first byte (mktemp makes a new file of mode 600,
# never one that is there); one that exists is never replaced.
gen() { if [ ! -s "$1" ]; then t=$(mktemp "$1.XXXXXX"); head -c "$2" /dev/urandom | base64 | tr -d '/+=\\n' > "$t"; mv -f -- "$t" "$1"; changed="$changed $1"; fi; }
${dirs(w)
  .map(([d, mode]) => `mk ${shq(d)} ${mode}${mode === STICKY ? `; sticky ${shq(d)}` : ''}`)
  .join('\n')}
${privateDirs(w)
  .map((d) => `private ${shq(d)}`)
  .join('\n')}
${secretFilesScript(w)}
${w.receiverTls ? certScript(w.layout, RECEIVER_TLS_NAME) : ''}
echo "changed:$changed"
${w.receiverTls ? receiverCertState(w.layout) : ''}
`;
}

/** Grafana's key and password made on the host, and the seed files services need first. */
function secretFilesScript(w: DirsWanted): string {
  const db = `${w.layout.dataDir}/grafana/grafana.db`;
  return [
    w.secretKey ? `[ -s ${shq(secretKeyFile(w))} ] || [ ! -s ${shq(db)} ] || echo ${KEY_FOR_EXISTING_DB}` : '',
    ...generated(w).map(([f, bytes]) => `gen ${shq(f)} ${bytes}`),
    ...seeds(w).map(
      ([f, text]) =>
        `[ -s ${shq(f)} ] || { printf '%s\\n' ${shq(text)} > ${shq(f)}; chmod 644 ${shq(f)}; changed="$changed ${f}"; }`,
    ),
  ].join('\n');
}

/**
 * Makes what dirsState found missing; nothing to run when all is there. Its value: a warning
 * when Grafana's key was made for a database that Grafana had used with its default key.
 */
/** What the Directories step found worth telling: a warning, the receiver's certificate. */
export interface MadeOnHost {
  readonly warning?: string;
  readonly receiverCert?: string;
}

export async function ensureDirs(
  remote: RemoteHost,
  w: DirsWanted,
  missing: readonly string[],
): Promise<StepResult<MadeOnHost>> {
  if (!missing.length) return { changed: false, detail: 'all present', value: {} };
  const out = await remote.run(dirsScript(w), {
    what: `Preparing ${w.layout.root}`,
    explain: (r) =>
      r.code === 6
        ? new DeployError(
            `The receiver's TLS certificate could not be made on the host: ${r.stderr.trim()}.`,
            'install openssl on the host, or set receiver-tls: false (plain HTTP, only on a private network).',
          )
        : r.code === UNSAFE_EXIT
          ? unsafeDirsError([r.stderr.trim()])
          : undefined,
  });
  const made = (/changed:(.*)/.exec(out)?.[1] ?? '').trim();
  const secrets = generated(w)
    .map(([f]) => f)
    .filter((f) => made.split(' ').includes(f));
  return {
    changed: made.length > 0,
    detail: made
      ? `made ${made.split(' ').length} path(s)${secrets.length ? `; generated ${secrets.join(', ')} (mode 600)` : ''}`
      : 'all present',
    value: {
      warning: out.includes(KEY_FOR_EXISTING_DB) ? existingDbWarning(w) : undefined,
      receiverCert: parseReceiverCert(out),
    },
  };
}

function existingDbWarning(w: DirsWanted): string {
  return (
    `Grafana's secret key was made now (${secretKeyFile(w)}), for a Grafana database that already exists: ` +
    "Grafana used its public default key before. Secrets it stored with the old key (passwords of data sources or contact points added in Grafana's UI) " +
    'can no longer be read and must be entered again; the provisioned data sources and the Discord contact point come from files and are not affected. ' +
    'Keep the key with the database (a backup of data/grafana needs it), and never change it.'
  );
}
