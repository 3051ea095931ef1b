// Reading a stack directory: every file, as bytes, with a POSIX relative path. What leaves the
// runner is only what the directory itself holds: a link out of it (to /proc/self/environ, to a
// key) and special files (a FIFO would block the read) are refused, naming the path. So are
// names the host's scripts would misread: the manifests hold one path per line (a line break
// would make two paths, one of them anywhere), and a leading "-" reads as an option.
import { lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync, type Stats, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { InputError } from '../errors.js';
import { fileErrorReason } from '../settings/parse.js';
import { RESERVED_NAMES } from './layout.js';

export interface StackFile {
  /** POSIX path relative to the stack directory. */
  readonly path: string;
  readonly content: Buffer;
  /** File mode on the host: 0o600 for secrets and .env, 0o644 otherwise. */
  readonly mode: number;
  /** Written by monitoring-deploy (.env, secrets, image overrides), not from the stack dir. */
  readonly generated?: boolean;
}

const IGNORED = new Set(['.git', 'node_modules', '.DS_Store']);

const within = (root: string, real: string) => real === root || real.startsWith(`${root}${sep}`);

function refuse(path: string, what: string, fix: string): InputError {
  return new InputError(`stack-dir: ${JSON.stringify(path)} ${what}`, fix);
}

/** A file system call on a stack path; one that cannot be read is refused, naming the path. */
function readAt<T>(path: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (!(e as NodeJS.ErrnoException).code) throw e;
    throw refuse(
      path,
      `cannot be read (${fileErrorReason(e)})`,
      'make it readable for the user who deploys, or remove it.',
    );
  }
}

/** Where a link in the stack dir leads, if it stays inside it (root: the dir's real path). */
function linkTarget(full: string, path: string, root: string): string {
  const to = readlinkSync(full);
  const copy = 'replace the link with a copy of the file, or remove it.';
  let real: string;
  try {
    real = realpathSync(full);
  } catch {
    throw refuse(path, `is a symbolic link to ${to}, which does not exist`, copy);
  }
  if (!within(root, real))
    throw refuse(
      path,
      `is a symbolic link to ${to}, which is outside the stack directory (${real}): only links to files inside it are followed`,
      copy,
    );
  return real;
}

function specialKind(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'a special file';
}

/** Letters, marks and digits of any script, space and . _ - + @ = , ~ ( ) — nothing a shell or a line-per-path file reads otherwise. */
const NAME_CHAR = /^[\p{L}\p{M}\p{N} ._+@=,~()-]$/u;
const ALLOWED = 'letters and digits (any script), spaces and . _ - + @ = , ~ ( )';

function describeChar(c: string): string {
  if (c === '\n') return 'a line break';
  if (c === '\r') return 'a carriage return';
  const code = `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
  return `${JSON.stringify(c)} (${code})`;
}

/** Why a stack path cannot be uploaded as it is named; undefined when it can. */
export function stackPathProblem(path: string): string | undefined {
  const parts = path.split('/');
  if (parts[0] && RESERVED_NAMES.includes(parts[0]))
    return `cannot be a stack file: the deploy keeps its own ${parts[0]} there`;
  for (const part of parts) {
    if (part === '') return 'has an empty path component';
    if (part === '.' || part === '..') return `has a ${JSON.stringify(part)} component`;
    if (part.startsWith('-'))
      return `has a name that starts with "-" (${JSON.stringify(part)}), which commands read as an option`;
    const bad = [...part].find((c) => !NAME_CHAR.test(c));
    if (bad) return `has a name with ${describeChar(bad)}; names may hold only ${ALLOWED}`;
  }
  return undefined;
}

export function readStackDir(dir: string): StackFile[] {
  const out: StackFile[] = [];
  const root = readAt(dir, () => realpathSync(dir));
  const shown = (full: string) => relative(dir, full).split(sep).join('/') || dir;
  // The real paths of the directories being walked: a link back to one of them is a loop.
  const walk = (d: string, ancestors: readonly string[]) => {
    for (const name of readAt(shown(d), () => readdirSync(d)).sort()) {
      if (IGNORED.has(name)) continue;
      const full = join(d, name);
      const path = shown(full);
      const problem = stackPathProblem(path);
      if (problem)
        throw refuse(
          path,
          problem,
          'rename it: names go into shell commands and one-path-a-line manifests on the host.',
        );
      // Errors of the walk below are already refusals; a file system error here names the path.
      readAt(path, () => {
        const link = lstatSync(full).isSymbolicLink();
        const real = link ? linkTarget(full, path, root) : join(ancestors.at(-1) ?? root, name);
        const st = statSync(real);
        if (st.isDirectory()) {
          if (ancestors.includes(real))
            throw refuse(
              path,
              `is a symbolic link to ${readlinkSync(full)}, a directory that holds it (a loop)`,
              'remove the link.',
            );
          walk(full, [...ancestors, real]);
        } else if (st.isFile()) {
          out.push({ path, content: readFileSync(real), mode: 0o644 });
        } else {
          throw refuse(
            path,
            `is ${specialKind(st)}, not a regular file or directory`,
            'remove it from the stack directory.',
          );
        }
      });
    }
  };
  walk(dir, [root]);
  return out;
}

export function isText(content: Buffer): boolean {
  return !content.subarray(0, 8000).includes(0);
}
