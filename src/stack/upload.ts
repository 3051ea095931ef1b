// Upload: only files whose sha256 or mode differs, staged first and moved into place at the
// end, so a cut connection never leaves a half-written stack. Works without SFTP (plain exec).
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { shq } from '../connection/shell.js';
import type { RemoteHost } from '../connection/ssh.js';
import { DeployError } from '../errors.js';
import type { StackFile } from '../model/files.js';
import { MANIFEST, RELEASE_FILE, RELEASES, type RemoteLayout, STAGING } from '../model/layout.js';

export interface RemoteState {
  /** Paths the previous deploy wrote (its manifest). */
  readonly managed: readonly string[];
  /** sha256 and octal mode of each file that exists now. */
  readonly files: ReadonlyMap<string, { sha256: string; mode: string }>;
  readonly release?: string;
  /** Whether the current release's files are kept under .releases (for rollback). */
  readonly saved: boolean;
}

export interface UploadPlan {
  readonly changed: readonly StackFile[];
  readonly unchanged: readonly StackFile[];
  readonly removed: readonly string[];
  readonly release: string;
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** A release id that is the same for the same files: a rerun with nothing new is a no-op. */
export function releaseId(files: readonly StackFile[]): string {
  const h = createHash('sha256');
  for (const f of [...files].sort((a, b) => a.path.localeCompare(b.path))) {
    h.update(`${f.path}\0${f.mode.toString(8)}\0${sha256(f.content)}\n`);
  }
  return h.digest('hex').slice(0, 12);
}

export function manifestText(files: readonly StackFile[]): string {
  return `${files.map((f) => f.path).join('\n')}\n`;
}

export function stateScript(root: string, paths: readonly string[]): string {
  return `cd ${shq(root)} 2>/dev/null || exit 0
echo "@release $(cat ${RELEASE_FILE} 2>/dev/null)"
[ -d "${RELEASES}/$(cat ${RELEASE_FILE} 2>/dev/null)" ] && echo "@saved"
[ -f ${MANIFEST} ] && sed 's/^/@managed /' ${MANIFEST}
# Each existing file once (the stack's and the manifest's, one path per line so a name with
# spaces stays one name), then one stat and one sha256sum for them all: a few forks per file
# made this the slowest part of a redeploy that changes nothing.
{ printf '%s\\n' ${paths.map(shq).join(' ')}; [ -f ${MANIFEST} ] && cat ${MANIFEST}; } | sort -u |
  while IFS= read -r p; do [ -f "$p" ] && printf '%s\\0' "$p"; done |
  xargs -0 -r sh -c 'stat -c "@mode %a %n" -- "$@" && sha256sum -- "$@" | sed "s/^/@sha256 /"' sh
exit 0`;
}

export function parseState(stdout: string): RemoteState {
  const managed: string[] = [];
  const modes = new Map<string, string>();
  const hashes = new Map<string, string>();
  let release: string | undefined;
  let saved = false;
  for (const line of stdout.split('\n')) {
    if (line === '@saved') saved = true;
    if (line.startsWith('@release ')) release = line.slice(9).trim() || undefined;
    else if (line.startsWith('@managed ')) managed.push(line.slice(9));
    else if (line.startsWith('@mode ')) {
      const [, mode = '', ...rest] = line.split(' ');
      modes.set(rest.join(' '), mode);
    } else {
      // sha256sum's own line: the hash, a space, a space (or * in binary mode), the path.
      const sum = /^@sha256 ([0-9a-f]{64}) [ *](.*)$/.exec(line);
      if (sum) hashes.set(sum[2] as string, sum[1] as string);
    }
  }
  const files = new Map<string, { sha256: string; mode: string }>();
  for (const [path, sha] of hashes) files.set(path, { sha256: sha, mode: modes.get(path) ?? '' });
  return { managed, files, release, saved };
}

/** `keep`: paths an earlier release wrote that stay when this one no longer has them. */
export function planUpload(files: readonly StackFile[], state: RemoteState, keep: readonly string[] = []): UploadPlan {
  const changed: StackFile[] = [];
  const unchanged: StackFile[] = [];
  for (const f of files) {
    const there = state.files.get(f.path);
    if (there && there.sha256 === sha256(f.content) && there.mode === f.mode.toString(8)) unchanged.push(f);
    else changed.push(f);
  }
  const wanted = new Set(files.map((f) => f.path));
  const removed = state.managed.filter((p) => !wanted.has(p) && state.files.has(p) && !keep.includes(p));
  return { changed, unchanged, removed, release: releaseId(files) };
}

const HEREDOC = '__MONITORING_DEPLOY_EOF__';

/** Writes the whole new tree into .staging (unchanged files copied from the current one). */
export function stagingScript(root: string, plan: UploadPlan, allFiles: readonly StackFile[]): string {
  const r = shq(root);
  const lines = [
    'set -e',
    `mkdir -p ${r} && cd ${r}`,
    `rm -rf ${STAGING} && mkdir -p ${STAGING} && chmod 700 ${STAGING}`,
    'd() { mkdir -p -- "$(dirname -- "$1")"; }',
    // Secrets are created unreadable to others from the first byte.
    `w() { d "${STAGING}/$1"; (umask 077; base64 -d > "${STAGING}/$1"); chmod "$2" "${STAGING}/$1"; }`,
  ];
  for (const f of plan.unchanged)
    lines.push(`d ${shq(`${STAGING}/${f.path}`)}; cp -p -- ${shq(f.path)} ${shq(`${STAGING}/${f.path}`)}`);
  for (const f of plan.changed) {
    lines.push(
      `w ${shq(f.path)} ${f.mode.toString(8)} <<'${HEREDOC}'`,
      f.content
        .toString('base64')
        .replace(/.{1,76}/g, '$&\n')
        .trimEnd(),
      HEREDOC,
    );
  }
  lines.push(`printf '%s' ${shq(manifestText(allFiles))} > ${STAGING}/${MANIFEST}`);
  return `${lines.join('\n')}\n`;
}

const KEEP_RELEASES = 5;

/**
 * Keeps a copy of the release's files (secrets included, so mode 700) for rollback; run in the
 * stack's directory, or in `root` when given.
 */
function saveReleaseScript(release: string, root?: string): string {
  const r = shq(`${RELEASES}/${release}`);
  return [
    ...(root === undefined ? [] : ['set -e', `cd ${shq(root)}`]),
    `mkdir -p ${RELEASES} && chmod 700 ${RELEASES}`,
    // Through a file, not a pipe: a pipe would hide the first tar's failure and keep half a release.
    `if [ ! -d ${r} ]; then rm -rf ${r}.tmp ${r}.tar && tar -cf ${r}.tar -T ${MANIFEST} ${MANIFEST} && mkdir ${r}.tmp && tar -xf ${r}.tar -C ${r}.tmp && rm -f ${r}.tar && mv ${r}.tmp ${r}; fi`,
    `touch ${r}`,
    // Five in all: the live release and the one before it (what a rollback puts back), kept
    // however many failed releases came after them, and the newest others.
    `(live=$(cat ${RELEASE_FILE} 2>/dev/null) || live=; before=$(cat ${RELEASE_FILE}.previous 2>/dev/null) || before=; cd ${RELEASES} && ls -1t | grep -vxF -e "$live" -e "$before" | tail -n +${KEEP_RELEASES - 1} | xargs -r rm -rf)`,
  ].join('\n');
}

/** Moves the changed files into place, removes the ones no longer managed, records the release. */
export function commitScript(root: string, plan: UploadPlan): string {
  const lines = ['set -e', `cd ${shq(root)}`];
  for (const f of plan.changed) {
    const dir = posix.dirname(f.path);
    if (dir !== '.') lines.push(`mkdir -p -- ${shq(dir)}`);
    // Docker makes an empty directory where a bind-mounted file is missing (a receiver started
    // once without its htpasswd): mv would put the file inside it. Empty, it goes (rmdir needs
    // only the parent, ours); with something in it, rmdir fails and says so.
    lines.push(`if [ -d ${shq(f.path)} ] && [ ! -L ${shq(f.path)} ]; then rmdir -- ${shq(f.path)}; fi`);
    lines.push(`mv -f -- ${shq(`${STAGING}/${f.path}`)} ${shq(f.path)}`);
  }
  for (const p of plan.removed) lines.push(`rm -f -- ${shq(p)}`);
  lines.push(
    `mv -f ${STAGING}/${MANIFEST} ${MANIFEST}`,
    `if [ -f ${RELEASE_FILE} ]; then cp -p ${RELEASE_FILE} ${RELEASE_FILE}.previous; fi`,
    `printf '%s\\n' ${shq(plan.release)} > ${RELEASE_FILE}`,
    `rm -rf ${STAGING}`,
    saveReleaseScript(plan.release),
  );
  return `${lines.join('\n')}\n`;
}

function dropStagingScript(root: string): string {
  return `rm -rf -- ${shq(`${root}/${STAGING}`)}`;
}

export async function stage(
  remote: RemoteHost,
  layout: RemoteLayout,
  plan: UploadPlan,
  all: readonly StackFile[],
): Promise<number> {
  await remote
    .run(stagingScript(layout.root, plan, all), {
      what: 'Uploading the stack',
      timeoutMs: 300_000,
      explain: (r) => {
        remote.assertConnected();
        return /No space left/i.test(r.stderr)
          ? new DeployError(
              `The host's disk is full: the upload to ${layout.root} failed. Nothing running was changed.`,
              'free disk space on the host (docker system prune, old logs) and rerun.',
            )
          : undefined;
      },
    })
    .catch(async (e) => {
      await dropStaging(remote, layout).catch(() => undefined);
      throw e;
    });
  return plan.changed.reduce((n, f) => n + f.content.length, 0);
}

/** Removes a staged tree that will not be committed. */
export async function dropStaging(remote: RemoteHost, layout: RemoteLayout): Promise<void> {
  await remote.run(dropStagingScript(layout.root), { what: 'Removing the staged files' });
}

/** Keeps the current release for rollback when an older deploy did not (a no-op otherwise). */
export async function saveRelease(remote: RemoteHost, layout: RemoteLayout, release: string): Promise<void> {
  await remote.run(saveReleaseScript(release, layout.root), {
    what: `Keeping release ${release}`,
  });
}

export async function commit(remote: RemoteHost, layout: RemoteLayout, plan: UploadPlan): Promise<void> {
  await remote.run(commitScript(layout.root, plan), { what: 'Moving the new files into place' });
}
