// Rollback: the files of an earlier release, kept on the host under .releases/<id>, put back in
// place. Data lives in volumes and data/, which no release touches.
import { shq } from '../connection/shell.js';
import type { RemoteHost } from '../connection/ssh.js';
import { DeployError, InputError } from '../errors.js';
import type { StackFile } from '../model/files.js';
import {
  COMPOSE_FILES,
  imagesOverrideFile,
  MANIFEST,
  RELEASE_FILE,
  RELEASES,
  type RemoteLayout,
  SECRET_FILES,
  type StackKey,
} from '../model/layout.js';
import type { StackName } from '../settings/settings.js';
import { parseEnv } from './deployed.js';
import type { RenderedStack } from './render.js';

export interface RestoredRelease {
  readonly release: string;
  /** The host's clock when the files went back: the restored stack's scrapes must be newer. */
  readonly hostNowSec: number;
  readonly changedPaths: readonly string[];
  /** Enough of the restored stack to run it: its compose files and their -f lists. */
  readonly stack: RenderedStack;
}

const NOT_A_RELEASE_ID = 'is not a release id: 12 hexadecimal characters (0-9, a-f), as the deploy prints them';
const NAME_A_RELEASE =
  'name a release the host keeps (monitoring-deploy rollback without a name takes the previous one).';
const isReleaseId = (release: string) => /^[0-9a-f]{12}$/.test(release);

/** A release id as releaseId() makes it: anything else never reaches a remote command. */
export function assertReleaseId(release: string): void {
  if (!isReleaseId(release)) throw new DeployError(`${JSON.stringify(release)} ${NOT_A_RELEASE_ID}.`, NAME_A_RELEASE);
}

/** The release a person named (`rollback RELEASE`), refused as an input before any connection. */
export function assertNamedRelease(release: string): void {
  if (!isReleaseId(release))
    throw new InputError(`release: ${JSON.stringify(release)} ${NOT_A_RELEASE_ID}`, NAME_A_RELEASE);
}

/**
 * Grafana's database holds the admin password and data encrypted with the secret key: a release
 * without these files (they were generated on the host then) must not take them away.
 */
const NEVER_REMOVED = [SECRET_FILES.grafanaAdminPassword, SECRET_FILES.grafanaSecretKey];

/**
 * Puts the release's files back; run in the stack's directory, or in `root` when given. Prints
 * `@now`, `@changed PATH` for each file it changed, the compose files and the .env.
 */
export function restoreScript(release: string, root?: string): string {
  assertReleaseId(release);
  const r = shq(`${RELEASES}/${release}`);
  const composeCandidates = (Object.keys(COMPOSE_FILES) as StackKey[]).flatMap((k) => [
    COMPOSE_FILES[k],
    imagesOverrideFile(k),
  ]);
  // Manifests are read one path per line: a name with spaces stays one name.
  return `${root === undefined ? '' : `cd ${shq(root)} || exit 1\n`}set -e
echo "@now $(date +%s)"
[ -f ${r}/${MANIFEST} ] || { echo "no release "${shq(release)}" on the host (kept: $(ls -1t ${RELEASES} 2>/dev/null | tr '\\n' ' '))" >&2; exit 7; }
while IFS= read -r f; do
  if ! cmp -s -- ${r}/"$f" "$f"; then
    mkdir -p -- "$(dirname -- "$f")"; cp -p -- ${r}/"$f" "$f.md-tmp"; mv -f -- "$f.md-tmp" "$f"; echo "@changed $f"
  fi
done < ${r}/${MANIFEST}
if [ -f ${MANIFEST} ]; then
  while IFS= read -r f; do
    case "$f" in ${NEVER_REMOVED.map(shq).join('|')}) continue ;; esac
    grep -qxF -- "$f" ${r}/${MANIFEST} || { rm -f -- "$f"; echo "@changed $f"; }
  done < ${MANIFEST}
fi
cp -p ${r}/${MANIFEST} ${MANIFEST}
cur=$(cat ${RELEASE_FILE} 2>/dev/null || true)
[ "$cur" = ${shq(release)} ] || { printf '%s\\n' "$cur" > ${RELEASE_FILE}.previous; printf '%s\\n' ${shq(release)} > ${RELEASE_FILE}; }
for f in ${composeCandidates.map(shq).join(' ')}; do
  [ -f "$f" ] && grep -qxF -- "$f" ${MANIFEST} && echo "@compose $f $(base64 -w0 < "$f")"
done
[ -f .env ] && echo "@env $(base64 -w0 < .env)"
exit 0
`;
}

/** Prints the release before the current one, as the host recorded it (nothing if none). */
export function previousReleaseScript(root: string): string {
  return `cat ${shq(`${root}/${RELEASE_FILE}.previous`)} 2>/dev/null || true`;
}

export function parseRestore(release: string, stdout: string, stacks: readonly StackName[]): RestoredRelease {
  const changedPaths: string[] = [];
  const files: StackFile[] = [];
  let hostNowSec = 0;
  let env = '';
  for (const line of stdout.split('\n')) {
    if (line.startsWith('@now ')) hostNowSec = Number(line.slice(5));
    else if (line.startsWith('@env ')) env = Buffer.from(line.slice(5), 'base64').toString('utf8');
    else if (line.startsWith('@changed ')) changedPaths.push(line.slice(9));
    else if (line.startsWith('@compose ')) {
      const [, path = '', b64 = ''] = line.split(' ');
      files.push({ path, content: Buffer.from(b64, 'base64'), mode: 0o644 });
    }
  }
  const has = new Set(files.map((f) => f.path));
  const composeFiles: Partial<Record<StackKey, string[]>> = {};
  for (const stack of stacks) {
    if (!has.has(COMPOSE_FILES[stack])) continue;
    composeFiles[stack] = [
      COMPOSE_FILES[stack],
      ...(has.has(imagesOverrideFile(stack)) ? [imagesOverrideFile(stack)] : []),
    ];
  }
  // Its .env says which profiles run, as Compose reads it.
  return { release, hostNowSec, changedPaths, stack: { files, variables: parseEnv(env), composeFiles, services: {} } };
}

export async function restoreRelease(
  remote: RemoteHost,
  layout: RemoteLayout,
  release: string,
  stacks: readonly StackName[],
): Promise<RestoredRelease> {
  const out = await remote.run(restoreScript(release, layout.root), {
    what: `Restoring release ${release}`,
    explain: (r) =>
      r.code === 7
        ? new DeployError(r.stderr.trim(), 'name a release that is kept on the host, or deploy again.')
        : undefined,
  });
  return parseRestore(release, out, stacks);
}

/** The release before the current one, as the host recorded it. */
export async function previousRelease(remote: RemoteHost, layout: RemoteLayout): Promise<string | undefined> {
  const out = await remote.run(previousReleaseScript(layout.root), {
    what: 'Reading the previous release',
  });
  return out.trim() || undefined;
}
