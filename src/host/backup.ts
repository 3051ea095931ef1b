// The host's half of backup and restore: scripts that copy Grafana's state (and, if asked, the
// Prometheus and Loki volumes) into a private staging directory, and that put an archive's
// parts in place. Grafana keeps SQLite: it is frozen (`docker pause`, the cgroup freezer) while
// its data directory is copied, and thawed on every way out of the script. A frozen process and
// a copy of the database with its journal or WAL files taken at one instant is what a power cut
// leaves behind, which SQLite recovers from at the next open: it rolls back a hot journal or
// replays a WAL found beside the database (sqlite.org/atomiccommit.html, "4.5
// Deleting The Hot Journal"). What corrupts a copy is taking it while a transaction is being
// written, so that it holds old and new pages, or without its hot journal
// (sqlite.org/howtocorrupt.html, "Backup or restore while a transaction is active", "1.3 Deleting
// a hot journal"): the freeze stops the writer for the length of the copy, and the journal goes
// with the database in the same tar. test/unit/backup-sqlite.test.ts shows it with the real SQLite.
import { shq } from '../connection/shell.js';
import type { RemoteHost } from '../connection/ssh.js';
import { DeployError } from '../errors.js';
import { OPTIONAL_PARTS, type OptionalPart, PART_FILES, type PartName, VOLUME_PARTS } from '../model/backup.js';
import { PROJECT_NAMES, RELEASE_FILE, type RemoteLayout } from '../model/layout.js';
import { type DirsWanted, dirsSafetyScript, unsafeExit } from './dirs.js';

/** The staging directory's name under the remote dir (mktemp: mode 700, a name no one chose). */
const STAGE_PREFIX = '.backup-';
const STAGE_TEMPLATE = `${STAGE_PREFIX}XXXXXX`;
/** Exit code of a script that found no container it needs. */
const NO_CONTAINER = 8;
/** Exit code of a part whose sha256 on the host is not the manifest's. */
const CHECKSUM_EXIT = 9;

/** Finds a service's container of the monitoring project by Compose's labels, as grafana-admin does. */
function findContainer(docker: string, service: string): string {
  return `${docker} ps -aq --filter label=com.docker.compose.project=${PROJECT_NAMES.monitoring} --filter label=com.docker.compose.service=${service} | head -n 1`;
}

/** Shell functions: pause a container while a command copies, thaw it on any exit, time it in ms. */
function freezeFunctions(docker: string): string {
  return `md_paused=
md_thaw() { if [ -n "$md_paused" ]; then ${docker} unpause "$md_paused" >/dev/null 2>&1 || echo "@thaw-failed $md_paused"; md_paused=; fi; }
trap 'md_thaw; rm -rf -- "$md_stage"' EXIT
trap 'md_thaw; exit 130' INT TERM HUP PIPE
md_ms() { date +%s%N | cut -c1-13; }
# md_frozen NAME CONTAINER COMMAND...: runs COMMAND with CONTAINER paused (when it runs), prints @paused NAME MS.
md_frozen() {
  md_name=$1; md_c=$2; shift 2
  md_t0=$(md_ms)
  if [ "$(${docker} inspect -f '{{.State.Status}}' "$md_c")" = running ]; then ${docker} pause "$md_c" >/dev/null; md_paused=$md_c; fi
  "$@"
  md_thaw
  echo "@paused $md_name $(( $(md_ms) - md_t0 ))"
}`;
}

/** Copies a volume (mounted at `mount` in container $1) through the helper image, frozen: tar.gz on stdout. */
function volumeFunctions(docker: string): string {
  return `md_volume() { ${docker} inspect -f '{{range .Mounts}}{{if eq .Destination "'"$2"'"}}{{.Name}}{{end}}{{end}}' "$1"; }
md_tar_volume() { ${docker} run --rm --network none -v "$1:/src:ro" "$md_helper" tar -czf - -C /src . > "$2"; }
md_du_volume() { ${docker} run --rm --network none -v "$1:/src:ro" "$md_helper" du -sk /src 2>/dev/null | cut -f1; }`;
}

function volumePart(docker: string, part: OptionalPart, include: boolean): string {
  const { service, mount } = VOLUME_PARTS[part];
  const c = `md_c_${part}`;
  const find = `${c}=$(${findContainer(docker, service)})`;
  const ready = `[ -n "$${c}" ] && [ -n "$md_helper" ]`;
  if (!include)
    return `md_left_${part}() {\n${find}\n${ready} || { echo "@left ${part} ?"; return 0; }\necho "@left ${part} $(md_du_volume "$(md_volume "$${c}" ${mount})")"\n}\nmd_left_${part}`;
  return `${find}
${ready} || { echo "no ${service} container, or no disk-guard image to read its volume with, in Compose project ${PROJECT_NAMES.monitoring}" >&2; exit ${NO_CONTAINER}; }
md_frozen ${part} "$${c}" md_tar_volume "$(md_volume "$${c}" ${mount})" "$md_stage/parts/${PART_FILES[part]}"`;
}

/**
 * Copies Grafana's data dir (frozen), secrets/, .env and the live release id into a new staging
 * directory under the remote dir, and the volumes `include` names (each frozen on its own).
 * Prints `@stage DIR`, `@grafana-image IMAGE`, `@paused NAME MS`, `@left NAME KIB` for volumes
 * left out, and `@part FILE BYTES SHA256` for each part. The staging directory stays for the
 * download; it is removed here only when the script fails.
 */
export function snapshotScript(layout: RemoteLayout, docker: string, include: readonly OptionalPart[]): string {
  const root = shq(layout.root);
  return `set -e
umask 077
md_stage=
${freezeFunctions(docker)}
${volumeFunctions(docker)}
# Under the deploy lock no other backup runs: a stage still here was left by a run cut off (it
# holds copies of the secrets), and goes.
for md_old in ${root}/${STAGE_PREFIX}??????; do if [ -d "$md_old" ] && [ ! -L "$md_old" ]; then rm -rf -- "$md_old"; echo "@removed-stale $md_old"; fi; done
md_stage=$(mktemp -d ${root}/${STAGE_TEMPLATE})
mkdir "$md_stage/parts"
md_grafana=$(${findContainer(docker, 'grafana')})
[ -n "$md_grafana" ] || { echo "no Grafana container in Compose project ${PROJECT_NAMES.monitoring}" >&2; exit ${NO_CONTAINER}; }
echo "@grafana-image $(${docker} inspect -f '{{.Config.Image}}' "$md_grafana")"
# The database with any -journal, -wal and -shm beside it: the whole directory, as one moment.
md_frozen grafana "$md_grafana" tar -cf "$md_stage/parts/${PART_FILES.grafana}" -C ${shq(layout.dataDir)} grafana
tar -cf "$md_stage/parts/${PART_FILES.secrets}" -C ${root} secrets
if [ -f ${root}/.env ]; then cp ${root}/.env "$md_stage/parts/${PART_FILES.env}"; fi
cat ${root}/${RELEASE_FILE} > "$md_stage/parts/${PART_FILES.release}" 2>/dev/null || : > "$md_stage/parts/${PART_FILES.release}"
echo "@release $(head -n 1 "$md_stage/parts/${PART_FILES.release}")"
md_d=$(${findContainer(docker, 'disk-guard')})
md_helper=$([ -z "$md_d" ] || ${docker} inspect -f '{{.Config.Image}}' "$md_d")
${OPTIONAL_PARTS.map((p) => volumePart(docker, p, include.includes(p))).join('\n')}
cd "$md_stage/parts"
for f in *; do echo "@part $f $(stat -c %s -- "$f") $(sha256sum < "$f" | cut -d' ' -f1)"; done
echo "@stage $md_stage"
trap - EXIT
`;
}

export interface Snapshot {
  readonly stage: string;
  readonly grafanaImage: string;
  /** The live release id the host recorded (empty if none). */
  readonly release: string;
  readonly pausedMs: Readonly<Record<string, number>>;
  readonly parts: readonly { readonly file: string; readonly bytes: number; readonly sha256: string }[];
  /** Volumes left out, with their size in bytes (undefined: it could not be measured). */
  readonly leftOut: readonly { readonly name: OptionalPart; readonly bytes?: number }[];
  readonly thawFailed: readonly string[];
}

export function parseSnapshot(out: string): Snapshot {
  const lines = out.split('\n');
  const tagged = (tag: string) =>
    lines.filter((l) => l.startsWith(`@${tag} `)).map((l) => l.slice(tag.length + 2).split(' '));
  const pausedMs: Record<string, number> = {};
  for (const [name = '', ms = ''] of tagged('paused')) pausedMs[name] = Number(ms);
  return {
    stage: tagged('stage')[0]?.join(' ') ?? '',
    grafanaImage: tagged('grafana-image')[0]?.join(' ') ?? '',
    release: tagged('release')[0]?.join(' ') ?? '',
    pausedMs,
    parts: tagged('part').map(([file = '', bytes = '', sha256 = '']) => ({ file, bytes: Number(bytes), sha256 })),
    leftOut: tagged('left').map(([name, kib]) => ({
      name: name as OptionalPart,
      bytes: kib && /^\d+$/.test(kib) ? Number(kib) * 1024 : undefined,
    })),
    thawFailed: tagged('thaw-failed').map((f) => f.join(' ')),
  };
}

/** A staging directory the snapshot made, and nothing else: the only path these scripts remove. */
function assertStage(layout: RemoteLayout, stage: string): string {
  const name = stage.slice(layout.root.length + 1);
  if (!stage.startsWith(`${layout.root}/`) || !/^\.backup-[A-Za-z0-9]{6}$/.test(name))
    throw new DeployError(`The host named ${JSON.stringify(stage)} as the backup's staging directory.`);
  return shq(stage);
}

/** Writes the manifest (stdin) next to the parts, then sends them all as one tar.gz on stdout. */
export function streamScript(layout: RemoteLayout, stage: string, files: readonly string[]): string {
  const s = assertStage(layout, stage);
  return `set -e
umask 077
cat > ${s}/parts/manifest.json
cd ${s}/parts
tar -czf - manifest.json ${files.map(shq).join(' ')}`;
}

export function dropStageScript(layout: RemoteLayout, stage: string): string {
  return `rm -rf -- ${assertStage(layout, stage)}`;
}

export async function takeSnapshot(
  remote: RemoteHost,
  layout: RemoteLayout,
  docker: string,
  include: readonly OptionalPart[],
): Promise<Snapshot> {
  const out = await remote.run(snapshotScript(layout, docker, include), {
    what: 'Copying Grafana, the secrets and .env on the host',
    timeoutMs: 30 * 60_000,
    explain: (r) =>
      r.code === NO_CONTAINER
        ? new DeployError(
            `Nothing to back up: ${r.stderr.trim()}.`,
            'deploy the monitoring stack to this host first (a backup copies what a deploy made).',
          )
        : undefined,
  });
  return parseSnapshot(out);
}

/** What a restore must know of the host before it changes it (read under the lock). */
export interface RestoreTarget {
  /** Names in data/grafana (a few), when it holds any. */
  readonly grafanaData: readonly string[];
  /** sha256 of secrets/grafana_secret_key, when there is one. */
  readonly secretKeySha?: string;
  /** Each file of secrets/ with its sha256. */
  readonly secrets: Readonly<Record<string, string>>;
}

export function restoreStateScript(layout: RemoteLayout): string {
  const g = shq(`${layout.dataDir}/grafana`);
  const sec = shq(layout.secretsDir);
  // A subshell: this runs inside the lock holder's script, which must go on after it.
  return `(
if [ -d ${g} ]; then ls -A ${g} | head -n 5 | sed 's/^/@grafana-data /'; fi
if [ -d ${sec} ]; then for f in ${sec}/* ${sec}/.[!.]*; do [ -f "$f" ] && echo "@secret \${f##*/} $(sha256sum < "$f" | cut -d' ' -f1)"; done; fi
) || :`;
}

export function parseRestoreTarget(out: string): RestoreTarget {
  const lines = out.split('\n');
  const secrets: Record<string, string> = {};
  for (const l of lines.filter((x) => x.startsWith('@secret '))) {
    const [, name = '', sha = ''] = l.split(' ');
    secrets[name] = sha;
  }
  return {
    grafanaData: lines.filter((l) => l.startsWith('@grafana-data ')).map((l) => l.slice(14)),
    secretKeySha: secrets.grafana_secret_key,
    secrets,
  };
}

export interface Placement {
  readonly dirs: DirsWanted;
  readonly docker: string;
  /** Each part's file and sha256, as the manifest records them: checked again on the host. */
  readonly parts: readonly { readonly name: PartName; readonly file: string; readonly sha256: string }[];
  /** Move the data and secrets there aside (named with this stamp) rather than refusing. */
  readonly moveAside?: { readonly grafana: boolean; readonly secrets: boolean; readonly stamp: string };
  /** Volumes to fill from the archive's Prometheus and Loki parts, before the stacks start. */
  readonly volumes?: VolumesBack;
}

/** A Prometheus or Loki part going back into the volume the deploy's stack mounts for it. */
export interface VolumeBack {
  readonly part: OptionalPart;
  /** Docker's name of the volume (project_volume) and the compose file's key for it. */
  readonly volume: string;
  readonly key: string;
  readonly service: string;
  /** The volume holds data now: copied to a volume of its own first (restore-overwrite). */
  readonly moveAside: boolean;
}

export interface VolumesBack {
  /** An image of the stack with sh, tar, cp and rm (disk-guard's busybox) to read and write volumes with. */
  readonly helper: string;
  readonly stamp: string;
  readonly each: readonly VolumeBack[];
}

/** Prints `@volume-full PART` for each volume that exists and holds anything. */
export function volumesStateScript(docker: string, v: VolumesBack): string {
  return v.each
    .map(
      (b) =>
        `( ${docker} volume inspect ${shq(b.volume)} >/dev/null 2>&1 && [ -n "$(${docker} run --rm --network none -v ${shq(`${b.volume}:/d:ro`)} ${shq(v.helper)} ls -A /d | head -n 1)" ] && echo "@volume-full ${b.part}" ) || :`,
    )
    .join('\n');
}

export const parseFullVolumes = (out: string): OptionalPart[] =>
  out
    .split('\n')
    .filter((l) => l.startsWith('@volume-full '))
    .map((l) => l.slice(13) as OptionalPart);

/**
 * Each volume filled from its part: its service stopped if it runs, what it held copied to a new
 * volume VOLUME-before-restore-STAMP (with restore-overwrite), the volume made with Compose's
 * labels when missing (so that Compose takes it as its own), then the part extracted as root
 * inside a container of the helper image, owners kept (Prometheus and Loki run as their own users).
 */
function volumeLines(p: Placement): string {
  const v = p.volumes;
  if (!v?.each.length) return '';
  const d = p.docker;
  const run = `${d} run --rm --network none`;
  return v.each
    .map((b) => {
      const vol = shq(b.volume);
      const aside = shq(`${b.volume}-before-restore-${v.stamp}`);
      return [
        `md_c=$(${findContainer(d, b.service)})`,
        `if [ -n "$md_c" ]; then ${d} stop "$md_c" >/dev/null; echo "@stopped ${b.service}"; fi`,
        b.moveAside
          ? `${d} volume create ${aside} >/dev/null; ${run} -v ${shq(`${b.volume}:/src:ro`)} -v ${shq(`${b.volume}-before-restore-${v.stamp}:/dst`)} ${shq(v.helper)} cp -a /src/. /dst/; ${run} -v ${shq(`${b.volume}:/d`)} ${shq(v.helper)} sh -c 'rm -rf /d/* /d/.[!.]* /d/..?*'; echo "@moved volume ${aside.slice(1, -1)}"`
          : '',
        `${d} volume inspect ${vol} >/dev/null 2>&1 || ${d} volume create --label com.docker.compose.project=${PROJECT_NAMES.monitoring} --label com.docker.compose.volume=${shq(b.key)} ${vol} >/dev/null`,
        `${run} -i -v ${shq(`${b.volume}:/dst`)} ${shq(v.helper)} tar -xzf - -C /dst < "$md_stage/in/${PART_FILES[b.part]}"`,
        `echo "@placed ${b.part}"`,
      ]
        .filter(Boolean)
        .join('\n');
    })
    .join('\n');
}

function checksumLines(parts: Placement['parts']): string {
  return parts
    .map(
      (p) =>
        `[ "$(sha256sum < "$md_stage/in/${p.file}" | cut -d' ' -f1)" = ${shq(p.sha256)} ] || { echo ${shq(`${p.file}: its sha256 on the host is not the one the manifest records`)} >&2; exit ${CHECKSUM_EXIT}; }`,
    )
    .join('\n');
}

/** With restore-overwrite: Grafana stopped, then what is there moved aside (never deleted). */
function moveAsideLines(p: Placement): string {
  const m = p.moveAside;
  if (!m || (!m.grafana && !m.secrets)) return '';
  const { layout } = p.dirs;
  const grafana = shq(`${layout.dataDir}/grafana`);
  const grafanaAside = shq(`${layout.dataDir}/grafana.before-restore-${m.stamp}`);
  const secretsAside = shq(`${layout.root}/secrets.before-restore-${m.stamp}`);
  return [
    `md_g=$(${findContainer(p.docker, 'grafana')})`,
    `if [ -n "$md_g" ]; then ${p.docker} stop "$md_g" >/dev/null; echo "@stopped grafana"; fi`,
    m.grafana ? `mv -- ${grafana} ${grafanaAside}; echo "@moved ${grafanaAside.slice(1, -1)}"` : '',
    m.secrets
      ? `mv -- ${shq(layout.secretsDir)} ${secretsAside}; chmod 700 ${secretsAside}; echo "@moved ${secretsAside.slice(1, -1)}"`
      : '',
  ]
    .filter(Boolean)
    .join('\n');
}

/**
 * Receives the inner tar.gz on stdin into a staging directory, checks every part's sha256 again,
 * then puts Grafana's data and secrets/ in place with the modes a deploy gives them (remote dir
 * and secrets/ 700, secrets 600). The checks of issue 25 run first; what is moved aside is named.
 */
export function placeScript(p: Placement): string {
  const { layout } = p.dirs;
  const root = shq(layout.root);
  const has = (n: PartName) => p.parts.some((x) => x.name === n);
  return `set -e
umask 077
${dirsSafetyScript(p.dirs)}
mkdir -p ${root} ${shq(layout.dataDir)}
chmod 700 ${root}
md_stage=$(mktemp -d ${root}/${STAGE_TEMPLATE})
trap 'rm -rf -- "$md_stage"' EXIT
cat > "$md_stage/archive.tar.gz"
mkdir "$md_stage/in"
tar -xzf "$md_stage/archive.tar.gz" -C "$md_stage/in"
${checksumLines(p.parts)}
${moveAsideLines(p)}
mkdir -p ${shq(layout.secretsDir)}
# Owned by the login user whoever made the archive (as root, tar would keep the archive's owners).
tar -xf "$md_stage/in/${PART_FILES.secrets}" --no-same-owner -C ${root}
chmod 700 ${shq(layout.secretsDir)}
find ${shq(layout.secretsDir)} -type f -exec chmod 600 {} +
${has('grafana') ? `tar -xpf "$md_stage/in/${PART_FILES.grafana}" --no-same-owner -C ${shq(layout.dataDir)}\necho "@placed grafana"` : ''}
echo "@placed secrets"
${volumeLines(p)}
`;
}

export interface Placed {
  readonly moved: readonly string[];
  readonly stoppedGrafana: boolean;
  /** The parts put back (grafana, secrets, prometheus, loki). */
  readonly placed: readonly string[];
}

export async function placeArchive(remote: RemoteHost, p: Placement, inner: Buffer): Promise<Placed> {
  const out = await remote.exchange(placeScript(p), {
    what: 'Putting the backup in place on the host',
    input: inner,
    timeoutMs: 30 * 60_000,
    explain: (r) =>
      unsafeExit(r.code, r.stderr) ??
      (r.code === CHECKSUM_EXIT
        ? new DeployError(
            `The archive arrived changed on the host: ${r.stderr.trim()}. The host's data was not touched.`,
            'run the restore again; if it repeats, check the host’s disk and memory.',
          )
        : undefined),
  });
  const lines = out.toString('utf8').split('\n');
  const tagged = (tag: string) => lines.filter((l) => l.startsWith(tag)).map((l) => l.slice(tag.length));
  return {
    moved: [...tagged('@moved volume '), ...tagged('@moved ').filter((m) => !m.startsWith('volume '))],
    stoppedGrafana: lines.includes('@stopped grafana'),
    placed: tagged('@placed '),
  };
}
