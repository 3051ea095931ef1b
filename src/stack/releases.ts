// Rollback: the files of an earlier release, kept on the host under .releases/<id>, put back in
// place. Data lives in volumes and data/, which no release touches.
import type { RemoteHost } from '../connection/ssh.js';
import { DeployError } from '../errors.js';
import { shq } from '../host/docker.js';
import type { StackName } from '../settings/settings.js';
import type { StackFile } from './files.js';
import { COMPOSE_FILES, imagesOverrideFile, type RemoteLayout, type StackKey } from './layout.js';
import type { RenderedStack } from './render.js';
import { MANIFEST, RELEASE_FILE, RELEASES } from './upload.js';

export interface RestoredRelease {
  readonly release: string;
  readonly changedPaths: readonly string[];
  /** Enough of the restored stack to run it: its compose files and their -f lists. */
  readonly stack: RenderedStack;
}

export function restoreScript(release: string): string {
  const r = shq(`${RELEASES}/${release}`);
  const composeCandidates = Object.values(COMPOSE_FILES).flatMap((f) => [f, imagesOverrideFile(keyOf(f))]);
  return `set -e
[ -f ${r}/${MANIFEST} ] || { echo "no release ${release} on the host (kept: $(ls -1t ${RELEASES} 2>/dev/null | tr '\\n' ' '))" >&2; exit 7; }
for f in $(cat ${r}/${MANIFEST}); do
  if ! cmp -s ${r}/"$f" "$f"; then
    mkdir -p "$(dirname "$f")"; cp -p ${r}/"$f" "$f.md-tmp"; mv -f "$f.md-tmp" "$f"; echo "@changed $f"
  fi
done
if [ -f ${MANIFEST} ]; then
  for f in $(cat ${MANIFEST}); do grep -qxF "$f" ${r}/${MANIFEST} || { rm -f "$f"; echo "@changed $f"; }; done
fi
cp -p ${r}/${MANIFEST} ${MANIFEST}
cur=$(cat ${RELEASE_FILE} 2>/dev/null || true)
[ "$cur" = ${shq(release)} ] || { printf '%s\\n' "$cur" > ${RELEASE_FILE}.previous; printf '%s\\n' ${shq(release)} > ${RELEASE_FILE}; }
for f in ${composeCandidates.map(shq).join(' ')}; do
  [ -f "$f" ] && grep -qxF "$f" ${MANIFEST} && echo "@compose $f $(base64 -w0 < "$f")"
done
exit 0
`;
}

function keyOf(composeFile: string): StackKey {
  return (Object.entries(COMPOSE_FILES).find(([, f]) => f === composeFile)?.[0] ?? 'app') as StackKey;
}

export function parseRestore(release: string, stdout: string, stacks: readonly StackName[]): RestoredRelease {
  const changedPaths: string[] = [];
  const files: StackFile[] = [];
  for (const line of stdout.split('\n')) {
    if (line.startsWith('@changed ')) changedPaths.push(line.slice(9));
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
  return { release, changedPaths, stack: { files, variables: {}, composeFiles, services: {} } };
}

export async function restoreRelease(
  remote: RemoteHost,
  layout: RemoteLayout,
  release: string,
  stacks: readonly StackName[],
): Promise<RestoredRelease> {
  const r = await remote.exec(`cd ${shq(layout.root)} && sh -s`, { stdin: restoreScript(release) });
  if (r.code === 7) throw new DeployError(r.stderr.trim(), 'name a release that is kept on the host, or deploy again.');
  if (r.code !== 0) throw new DeployError(`Restoring release ${release} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return parseRestore(release, r.stdout, stacks);
}

/** The release before the current one, as the host recorded it. */
export async function previousRelease(remote: RemoteHost, layout: RemoteLayout): Promise<string | undefined> {
  const r = await remote.exec(`cat ${shq(`${layout.root}/${RELEASE_FILE}.previous`)} 2>/dev/null`);
  return r.stdout.trim() || undefined;
}
