// The one reading of a stack's compose files: services with the line each value is on, their
// images, mounts, profiles and commands, with Compose's ${VAR} interpolation applied. The linter,
// the renderer and the Compose runner all read services and mounts from here.
import { posix } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { StackFile } from './files.js';
import { COMPOSE_FILES } from './layout.js';

export interface Located<T> {
  readonly value: T;
  readonly file: string;
  readonly line: number;
}

export interface Mount {
  /** Host side as written (after interpolation): ./x, ~/x, /abs, or a named volume. */
  readonly source: string;
  readonly target: string;
  readonly named: boolean;
  readonly file: string;
  readonly line: number;
}

export interface ServiceModel {
  readonly name: string;
  readonly file: string;
  readonly line: number;
  readonly image?: Located<string>;
  readonly containerName?: string;
  readonly user?: Located<string>;
  readonly rawUser?: string;
  readonly ports: readonly Located<string>[];
  readonly mounts: readonly Mount[];
  readonly command: readonly string[];
  /** Compose profiles the service belongs to (empty: always runs). */
  readonly profiles: readonly string[];
  /** Its environment (list or map form), interpolated. */
  readonly environment: Readonly<Record<string, string>>;
  /** mem_limit in bytes, if it has one. */
  readonly memLimitBytes?: number;
  /** Most its container log may take (json-file or local driver, max-size x max-file); undefined: no bound. */
  readonly logMaxBytes?: number;
}

export interface YamlFile {
  readonly path: string;
  readonly data: unknown;
  /** Line of the node at a key path (1-based), or 1. */
  lineOf(path: readonly (string | number)[]): number;
}

export interface StackModel {
  readonly files: ReadonlyMap<string, StackFile>;
  readonly services: readonly ServiceModel[];
  readonly composeFiles: readonly string[];
  readonly vars: Readonly<Record<string, string>>;
  readonly parseErrors: readonly Located<string>[];
  yaml(path: string): YamlFile | undefined;
}

/** Compose-style interpolation: $$, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, $VAR. */
export function interpolate(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(
    /\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (_match, dollar, braced, op, arg, bare) => {
      if (dollar === '$') return '$';
      const name = braced ?? bare;
      const v = vars[name];
      if (op === ':-') return v ? v : arg;
      if (op === '-') return v ?? arg;
      return v ?? '';
    },
  );
}

function yamlFile(path: string, text: string): { file?: YamlFile; error?: Located<string> } {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: false });
  if (doc.errors.length) {
    const e = doc.errors[0];
    return { error: { value: e?.message ?? 'invalid YAML', file: path, line: e?.linePos?.[0]?.line ?? 1 } };
  }
  return {
    file: {
      path,
      data: doc.toJS(),
      lineOf: (keys) => {
        // The line of the key itself (or of the sequence item), where a reader looks.
        let node: unknown = doc.contents;
        let at: number | undefined = (node as Node | null)?.range?.[0];
        for (const k of keys) {
          if (isMap(node)) {
            const pair = node.items.find((p) => isScalar(p.key) && p.key.value === k);
            if (!pair) break;
            at = (pair.key as Node).range?.[0] ?? at;
            node = pair.value;
          } else if (isSeq(node) && typeof k === 'number') {
            const item = node.items[k] as Node | undefined;
            if (!item) break;
            at = item.range?.[0] ?? at;
            node = item;
          } else break;
        }
        return at === undefined ? 1 : lc.linePos(at).line;
      },
    },
  };
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
}

function parseMount(
  raw: unknown,
  vars: Readonly<Record<string, string>>,
  file: string,
  line: number,
): Mount | undefined {
  if (typeof raw === 'string') {
    const parts = interpolate(raw, vars).split(':');
    if (parts.length < 2) return { source: '', target: parts[0] ?? '', named: true, file, line };
    const [source = '', target = ''] = parts;
    const named = !/^[./~]/.test(source) && !source.startsWith('/');
    return { source, target, named, file, line };
  }
  if (raw && typeof raw === 'object') {
    const o = raw as Record<string, unknown>;
    const source = interpolate(str(o.source) ?? '', vars);
    const target = interpolate(str(o.target) ?? '', vars);
    return { source, target, named: o.type === 'volume', file, line };
  }
  return undefined;
}

/** The services of one compose file; a file that is not valid YAML has none and an error. */
export function parseComposeFile(
  file: StackFile,
  vars: Readonly<Record<string, string>> = {},
): { services: ServiceModel[]; yaml?: YamlFile; error?: Located<string> } {
  const { file: y, error } = yamlFile(file.path, file.content.toString('utf8'));
  if (!y) return { services: [], error };
  return { services: servicesOf(y, vars), yaml: y };
}

function servicesOf(y: YamlFile, vars: Readonly<Record<string, string>>): ServiceModel[] {
  const path = y.path;
  const svcs = (y.data as { services?: Record<string, Record<string, unknown>> } | null)?.services ?? {};
  return Object.entries(svcs).map(([name, svc]) => {
    const s = svc ?? {};
    const at = (...k: (string | number)[]) => y.lineOf(['services', name, ...k]);
    const image = str(s.image);
    const user = str(s.user);
    const command = Array.isArray(s.command)
      ? s.command.map(String)
      : typeof s.command === 'string'
        ? s.command.split(/\s+/)
        : [];
    return {
      name,
      file: path,
      line: at(),
      image: image === undefined ? undefined : { value: interpolate(image, vars), file: path, line: at('image') },
      containerName: str(s.container_name),
      user: user === undefined ? undefined : { value: interpolate(user, vars), file: path, line: at('user') },
      rawUser: user,
      ports: (Array.isArray(s.ports) ? s.ports : []).map((p, i) => ({
        value: interpolate(
          typeof p === 'object' && p
            ? `${(p as { published?: unknown }).published ?? ''}:${(p as { target?: unknown }).target ?? ''}`
            : String(p),
          vars,
        ),
        file: path,
        line: at('ports', i),
      })),
      mounts: (Array.isArray(s.volumes) ? s.volumes : [])
        .map((v, i) => parseMount(v, vars, path, at('volumes', i)))
        .filter((m): m is Mount => !!m),
      command: command.map((c) => interpolate(c, vars)),
      profiles: Array.isArray(s.profiles) ? s.profiles.map(String) : [],
      environment: environmentOf(s.environment, vars),
      memLimitBytes: byteSize(str(s.mem_limit), vars),
      logMaxBytes: logMaxBytes(s.logging, vars),
    };
  });
}

/** Compose's byte values (mem_limit: 256m, max-size: 10m): b, k, m, g (powers of 1024). */
function byteSize(raw: string | undefined, vars: Readonly<Record<string, string>>): number | undefined {
  const m = /^\s*([0-9.]+)\s*([bkmg]?)b?\s*$/i.exec(interpolate(raw ?? '', vars));
  if (!m?.[1]) return undefined;
  const unit = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? '').toLowerCase()] ?? 1;
  return Math.round(Number(m[1]) * unit);
}

/**
 * Docker's json-file and local drivers keep max-file files of max-size at most (json-file: 1
 * file when only max-size is set; local: 5 files of 20m by default); json-file without max-size
 * grows without bound, as do drivers whose files are not the container's (none, syslog: 0).
 */
function logMaxBytes(raw: unknown, vars: Readonly<Record<string, string>>): number | undefined {
  const logging = (raw ?? {}) as { driver?: unknown; options?: Record<string, unknown> };
  const driver = str(logging.driver) ?? 'json-file';
  const options = logging.options ?? {};
  const files = Number(interpolate(str(options['max-file']) ?? '', vars)) || undefined;
  const size = byteSize(str(options['max-size']), vars);
  if (driver === 'local') return (size ?? 20 * 1024 ** 2) * (files ?? 5);
  if (driver === 'json-file') return size === undefined ? undefined : size * (files ?? 1);
  return 0;
}

function environmentOf(raw: unknown, vars: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(raw)) {
    for (const item of raw.map(String)) {
      const i = item.indexOf('=');
      if (i > 0) out[item.slice(0, i)] = interpolate(item.slice(i + 1), vars);
    }
  } else if (raw && typeof raw === 'object') {
    for (const [k, v] of Object.entries(raw)) out[k] = interpolate(v === null ? '' : String(v), vars);
  }
  return out;
}

/** The stack-relative directories and files (`./x` → `x`) a service bind-mounts. */
export function stackMounts(service: ServiceModel): string[] {
  return service.mounts.filter((m) => m.source.startsWith('./')).map((m) => hostPathKey(m.source));
}

export function buildModel(files: readonly StackFile[], vars: Readonly<Record<string, string>>): StackModel {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const cache = new Map<string, YamlFile | undefined>();
  const parseErrors: Located<string>[] = [];
  const yaml = (path: string): YamlFile | undefined => {
    if (!cache.has(path)) {
      const f = byPath.get(path);
      if (!f) cache.set(path, undefined);
      else {
        const r = yamlFile(path, f.content.toString('utf8'));
        if (r.error) parseErrors.push(r.error);
        cache.set(path, r.file);
      }
    }
    return cache.get(path);
  };
  const composeFiles = Object.values(COMPOSE_FILES).filter((p) => byPath.has(p));
  const services = composeFiles.flatMap((path) => {
    const y = yaml(path);
    return y ? servicesOf(y, vars) : [];
  });
  return { files: byPath, services, composeFiles, vars, parseErrors, yaml };
}

/** Normalises a host path for comparison: ./x relative to the stack dir, ~ kept as written. */
export function hostPathKey(source: string): string {
  return posix.normalize(source.replace(/\/+$/, '').replace(/^\.\//, '')).replace(/\/$/, '');
}

const imageName = (s: ServiceModel) => s.image?.value.replace(/@.*$/, '').replace(/:[^/:]*$/, '') ?? '';

/** The tag of a service's image, if it names one. */
export const imageTag = (s: ServiceModel) => /:([^/:@]+)(?:@.*)?$/.exec(s.image?.value ?? '')?.[1];

/** A service runs the program `name`: its image's last path part, or its service name. */
/** The Compose profiles the stack's variables turn on (COMPOSE_PROFILES). */
export function activeProfiles(vars: Readonly<Record<string, string>>): string[] {
  return (vars.COMPOSE_PROFILES ?? '').split(',').filter(Boolean);
}

/** Whether Compose runs the service: it has no profile, or one of the active ones. */
export function runsUnder(s: Pick<ServiceModel, 'profiles'>, vars: Readonly<Record<string, string>>): boolean {
  const active = activeProfiles(vars);
  return s.profiles.length === 0 || s.profiles.some((p) => active.includes(p));
}

export const isImage = (s: ServiceModel, name: string) => imageName(s).split('/').pop() === name || s.name === name;

/** Whether a container path is the directory or inside it. */
export const within = (path: string, dir: string) => {
  const p = posix.normalize(path);
  const d = posix.normalize(dir).replace(/\/$/, '');
  return p === d || p.startsWith(`${d}/`);
};

/** The mount of a service that holds a container path, the deepest one. */
export function mountHolding(s: ServiceModel, containerPath: string): Mount | undefined {
  return s.mounts.filter((mt) => within(containerPath, mt.target)).sort((a, b) => b.target.length - a.target.length)[0];
}

/** The stack file a service mounts at a container path (its config), if it is in the stack. */
export function mountedConfig(m: StackModel, s: ServiceModel, containerPath: string): string | undefined {
  const mt = s.mounts.find((x) => x.target === containerPath);
  if (!mt || mt.named || !mt.source.startsWith('./')) return undefined;
  const rel = hostPathKey(mt.source);
  return m.files.has(rel) ? rel : undefined;
}

/** A command-line flag's value (`-flag=v`, `--flag v`), or the program's default. */
export function configFlag(s: ServiceModel, flag: string, fallback: string): string {
  for (const c of s.command) {
    const m = new RegExp(`^-?-${flag}=(.+)$`).exec(c);
    if (m?.[1]) return m[1];
  }
  const i = s.command.findIndex((c) => c === `--${flag}` || c === `-${flag}`);
  return (i >= 0 && s.command[i + 1]) || fallback;
}
