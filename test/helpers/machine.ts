// The programs tests take from this machine (not from the realbin directory), each picked by where
// the sandbox puts it first and checked by its version: a machine may have another build of the
// same name earlier on the PATH (Debian bookworm's `prometheus` package is 2.42, which has no
// `--agent`), and a test that ran it would fail later and elsewhere (a refused connection, a
// config the old one does not know). A program of the wrong version is a failure that says which
// was found and where the right one comes from; a program not there at all is left to the caller
// (a test skips, saying so, or fails).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Where test/sandbox/install.sh extracts the Debian packages of other suites (pkg/NAME). */
export const SANDBOX_CACHE = process.env.SANDBOX_CACHE ?? '/var/cache/monitoring-deploy-sandbox';

export interface ProgramSpec {
  /** The program as messages name it. */
  readonly name: string;
  /** Where to look, in order: absolute paths; `PATH:NAME` stands for NAME in each directory of $PATH. */
  readonly candidates: readonly string[];
  /** The arguments that make it print its version (on stdout or stderr), and the version in that text. */
  readonly versionArgs: readonly string[];
  readonly versionRe: RegExp;
  /** The versions the tests are written for: at least `min`, below `below`. */
  readonly min: readonly number[];
  readonly below: readonly number[];
  /** Where the right one comes from, for the failure. */
  readonly source: string;
}

export interface Program {
  /** The program picked: of a version the tests are written for. */
  readonly path?: string;
  readonly version?: string;
  /** Set when programs of that name are here but none of the right version. */
  readonly problem?: string;
  /** Every candidate that exists, with the version it said (or why it said none). */
  readonly seen: readonly string[];
}

function compare(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** "3.x", or "1.28 or newer, before 2". */
export function versionRange(spec: Pick<ProgramSpec, 'min' | 'below'>): string {
  const { min, below } = spec;
  if (min.length === 1 && below.length === 1 && below[0] === (min[0] ?? 0) + 1) return `${min[0]}.x`;
  return `${min.join('.')} or newer, before ${below.join('.')}`;
}

/** Whether a version ("3.5.3", "1.29.2", "2.26.1-4", "3.5.3+ds1") is within the spec's range. */
export function versionFits(version: string, spec: Pick<ProgramSpec, 'min' | 'below'>): boolean {
  const parts = (version.match(/^\d+(\.\d+)*/)?.[0] ?? '').split('.').map(Number);
  if (parts.some(Number.isNaN)) return false;
  return compare(parts, spec.min) >= 0 && compare(parts, spec.below) < 0;
}

/** The version a program says, or why it says none. */
export function versionOf(path: string, spec: Pick<ProgramSpec, 'versionArgs' | 'versionRe'>): string | Error {
  const r = spawnSync(path, [...spec.versionArgs], { encoding: 'utf8', timeout: 30_000 });
  if (r.error) return r.error;
  const text = `${r.stdout ?? ''}\n${r.stderr ?? ''}`;
  const v = text.match(spec.versionRe)?.[1];
  if (r.status === 0 && v) return v;
  const said = text.trim().split('\n')[0] ?? '';
  const how = r.status === 0 ? 'said no version' : `exited ${r.status ?? r.signal}`;
  return new Error(`\`${[path, ...spec.versionArgs].join(' ')}\` ${how}${said ? `: ${said}` : ''}`);
}

function expand(candidates: readonly string[]): string[] {
  const paths = candidates.flatMap((c) =>
    c.startsWith('PATH:')
      ? (process.env.PATH ?? '')
          .split(':')
          .filter(Boolean)
          .map((d) => join(d, c.slice(5)))
      : [c],
  );
  return [...new Set(paths)].filter(existsSync);
}

/** The first candidate of a version the tests are written for; see Program. */
export function findProgram(spec: ProgramSpec): Program {
  const seen: string[] = [];
  for (const path of expand(spec.candidates)) {
    const v = versionOf(path, spec);
    if (typeof v === 'string' && versionFits(v, spec)) return { path, version: v, seen: [...seen, `${path} ${v}`] };
    seen.push(typeof v === 'string' ? `${path} is ${v}` : `${path}: ${v.message}`);
  }
  if (seen.length === 0) return { seen };
  return {
    seen,
    problem: `${spec.name}: these tests need ${spec.name} ${versionRange(spec)} (${spec.source}), and found only: ${seen.join('; ')}`,
  };
}

const picked = new Map<string, string>();
/** The program's path, or an error that says what was found instead and where the right one comes from. */
export function requireProgram(spec: ProgramSpec): string {
  const known = picked.get(spec.name);
  if (known) return known;
  const p = findProgram(spec);
  if (!p.path) {
    throw new Error(
      p.problem ??
        `${spec.name}: not on this machine (looked at ${spec.candidates.join(', ')}); these tests need ${spec.name} ${versionRange(spec)} (${spec.source})`,
    );
  }
  picked.set(spec.name, p.path);
  return p.path;
}

const INSTALL = 'bash test/sandbox/install.sh';

/** The sandbox's own Prometheus 3: Debian sid's package, extracted by install.sh (not installed). */
export const PROMETHEUS: ProgramSpec = {
  name: 'prometheus',
  candidates: [`${SANDBOX_CACHE}/pkg/prometheus/usr/bin/prometheus`, 'PATH:prometheus'],
  versionArgs: ['--version'],
  versionRe: /^prometheus, version (\S+)/m,
  min: [3],
  below: [4],
  source: `the sandbox's own, Debian sid's package, which \`${INSTALL}\` extracts to ${SANDBOX_CACHE}/pkg/prometheus`,
};

/** promtool of the same package (install.sh also links it as /usr/local/bin/promtool). */
export const PROMTOOL: ProgramSpec = {
  name: 'promtool',
  candidates: [`${SANDBOX_CACHE}/pkg/promtool/usr/bin/promtool`, 'PATH:promtool'],
  versionArgs: ['--version'],
  versionRe: /^promtool, version (\S+)/m,
  min: [3],
  below: [4],
  source: `Debian sid's package, which \`${INSTALL}\` extracts to ${SANDBOX_CACHE}/pkg/promtool`,
};

/** Debian bookworm's nginx-core, the nginx the sandbox's image is built from. */
export const NGINX: ProgramSpec = {
  name: 'nginx',
  candidates: ['/usr/sbin/nginx', 'PATH:nginx'],
  versionArgs: ['-v'],
  versionRe: /nginx version: nginx\/(\S+)/,
  min: [1, 22],
  below: [2],
  source: `Debian's nginx-core, which \`${INSTALL}\` installs`,
};

/** Compose v1 (Python): Debian bookworm's docker-compose 1.29, not a v2 binary of the same name. */
export const COMPOSE_V1: ProgramSpec = {
  name: 'docker-compose',
  candidates: ['/usr/bin/docker-compose', 'PATH:docker-compose'],
  versionArgs: ['version', '--short'],
  versionRe: /^(\d+\.\d+\.\d+)/m,
  min: [1, 28],
  below: [2],
  source: `Compose v1, Debian bookworm's docker-compose package, which \`${INSTALL}\` installs`,
};

/** The docker CLI whose `docker compose` is a Compose v2 plugin. */
export const COMPOSE_V2: ProgramSpec = {
  name: 'docker compose',
  candidates: ['PATH:docker'],
  versionArgs: ['compose', 'version', '--short'],
  versionRe: /^v?(\d+\.\d+\.\d+)/m,
  min: [2],
  below: [3],
  source: `the Compose v2 plugin, which \`${INSTALL}\` puts in /root/.docker/cli-plugins`,
};

/** Debian's busybox-static: the applets disk-guard's busybox image has. */
export const BUSYBOX: ProgramSpec = {
  name: 'busybox',
  candidates: ['/bin/busybox', 'PATH:busybox'],
  versionArgs: ['--help'],
  versionRe: /^BusyBox v(\S+)/m,
  min: [1, 35],
  below: [1, 40],
  source: `Debian's busybox-static, which \`${INSTALL}\` installs`,
};
