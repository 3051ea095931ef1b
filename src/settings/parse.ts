// Small parsers for input values. Each throws an Error whose message names the input and the fix.
// Values that end up in a file (.env, YAML, a config) or a command are held to characters that
// need no quoting there, so that no input can add a line, a key or a word of its own.
import { accessSync, constants, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { posix } from 'node:path';
import { MIN_MASKED_LENGTH } from '../base/log.js';

/** A value as a message shows it: quoted, newlines and quotes escaped, a long one cut short. */
export function shown(value: string): string {
  const s = JSON.stringify(value);
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}

// Numbers are decimal whole numbers only: no 0x1, 1e1, 2.5, +5 or -0 (Number() takes them all).
const WHOLE = /^[0-9]+$/;

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** 600000 -> "10m": a limit as a person writes it. */
function formatLimit(ms: number): string {
  for (const unit of ['h', 'm', 's'] as const) {
    const size = DURATION_UNITS[unit] ?? 1;
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

export interface Range {
  readonly min: number;
  readonly max: number;
}

/**
 * "30s", "2m", "1h", "1500ms", or a bare number of seconds -> milliseconds, within range (which
 * keeps it below what Node's timers hold, 2^31-1 ms). Whole numbers only: 90s, not 1.5m.
 */
export function parseDuration(value: string, input: string, range: Range): number {
  const limits = `${formatLimit(range.min)} to ${formatLimit(range.max)}`;
  const m = /^\s*([0-9]+)\s*(ms|s|m|h)?\s*$/.exec(value);
  if (!m?.[1])
    throw new Error(
      `${input}: ${shown(value)} is not a duration; use a whole number with a unit, e.g. 30s, 2m or 1h (${limits})`,
    );
  const ms = Number(m[1]) * (DURATION_UNITS[m[2] ?? 's'] ?? 1000);
  if (!(ms >= range.min && ms <= range.max))
    throw new Error(`${input}: ${shown(value)} is out of range; use ${limits}`);
  return ms;
}

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** A size limit in the largest binary unit that divides it: 64G, 1M. */
function formatSize(bytes: number): string {
  for (const unit of ['T', 'G', 'M', 'K'] as const) {
    const size = SIZE_UNITS[unit] ?? 1;
    if (bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

/** A size's range; `zero` says what 0 means where 0 is allowed (e.g. "leave swap alone"). */
export interface SizeRange extends Range {
  readonly zero?: string;
}

/** "2G", "512M", "512MiB" -> bytes (binary units, as fallocate/dd read them): within range, or 0 where allowed. */
export function parseSize(value: string, input: string, range: SizeRange): number {
  const span = `${formatSize(range.min)} to ${formatSize(range.max)}`;
  const limits = range.zero ? `0 (${range.zero}) or ${span}` : span;
  const m = /^\s*([0-9]+)\s*([KMGT]?)(?:i?B)?\s*$/i.exec(value);
  if (!m?.[1])
    throw new Error(
      `${input}: ${shown(value)} is not a size; use a whole number with a unit, e.g. 2G or 512M (${limits})`,
    );
  const bytes = Number(m[1]) * (SIZE_UNITS[(m[2] ?? '').toUpperCase()] ?? 1);
  if (!(bytes === 0 && range.zero) && !(bytes >= range.min && bytes <= range.max))
    throw new Error(`${input}: ${shown(value)} is out of range; use ${limits}`);
  return bytes;
}

export function parseBoolean(value: string, input: string): boolean {
  const v = value.trim().toLowerCase();
  if (['true', 'yes', '1', 'on'].includes(v)) return true;
  if (['false', 'no', '0', 'off'].includes(v)) return false;
  throw new Error(`${input}: ${shown(value)} is not true or false`);
}

export function parsePort(value: string, input: string): number {
  const v = value.trim();
  const n = WHOLE.test(v) ? Number(v) : Number.NaN;
  if (!(n >= 1 && n <= 65535)) throw new Error(`${input}: ${shown(value)} is not a port (1-65535)`);
  return n;
}

/** A decimal whole number from min to max. */
export function parseInteger(value: string, input: string, min: number, max: number): number {
  const v = value.trim();
  const n = WHOLE.test(v) ? Number(v) : Number.NaN;
  if (!(n >= min && n <= max)) throw new Error(`${input}: ${shown(value)} is not a whole number from ${min} to ${max}`);
  return n;
}

export function parseChoice<T extends string>(value: string, input: string, choices: readonly T[]): T {
  const v = value.trim() as T;
  if (!choices.includes(v)) throw new Error(`${input}: ${shown(value)} is not one of ${choices.join(', ')}`);
  return v;
}

/** Items separated by newlines and/or commas, trimmed, empties dropped. */
export function parseList(value: string): string[] {
  return value
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Lines `service=image`; blank lines and # comments ignored; each image a valid reference. */
export function parseImageOverrides(value: string, input: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [i, raw] of value.split('\n').entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const where = `${input} line ${i + 1}`;
    const m = /^([a-z0-9][a-z0-9_.-]*)\s*=\s*(\S+)$/i.exec(line);
    if (!m?.[1] || !m[2]) throw new Error(`${where}: ${shown(line)} is not service=image`);
    if (m[1] in out) throw new Error(`${where}: service "${m[1]}" is named twice`);
    out[m[1]] = parseImage(m[2], where);
  }
  return out;
}

// Docker image references, after the distribution reference grammar:
// [registry[:port]/]path[:tag][@digest]. The registry is recognized as Docker does (it has a dot
// or a port, or is localhost); the path's components are lowercase.
const DOMAIN_PART = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const IPV6_HOST = '\\[[0-9A-Fa-f:.]+\\]';
const REGISTRY = `(?:(?:${DOMAIN_PART}(?:\\.${DOMAIN_PART})*|${IPV6_HOST}):[0-9]+|localhost|${DOMAIN_PART}(?:\\.${DOMAIN_PART})+|${IPV6_HOST})`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const TAG = '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const IMAGE = new RegExp(`^(?:${REGISTRY}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*(?::${TAG})?(?:@${DIGEST})?$`);

/** A Docker image reference, as `docker pull` takes it. */
export function parseImage(value: string, input: string): string {
  const v = value.trim();
  // The name (without tag and digest) is at most 255 characters.
  const name = v.replace(/@.*$/, '').replace(/:[^:/]*$/, '');
  if (!IMAGE.test(v) || name.length > 255)
    throw new Error(
      `${input}: ${shown(value)} is not an image reference ([registry[:port]/]name[:tag][@digest], the name in lowercase)`,
    );
  return v;
}

// A path on the host or in a container: one line of these, nothing a shell, .env or YAML reads
// specially (no spaces, quotes, $, `, \\, #, newline; no : either, which Compose splits volumes on).
const PATH_CHARS = /^[A-Za-z0-9/._~@+-]+$/;

function checkPathChars(value: string, input: string): void {
  if (!PATH_CHARS.test(value))
    throw new Error(
      `${input}: ${shown(value)} may hold only letters, digits and / . _ - ~ @ + (one line; no spaces, quotes, $, \`, \\, # or :)`,
    );
  if (value.split('/').includes('..'))
    throw new Error(`${input}: ${shown(value)} must not contain .. (name the directory itself)`);
}

/** An absolute directory inside a container (app-logs-dir). */
export function parseContainerDir(value: string, input: string): string {
  const v = value.trim();
  checkPathChars(v, input);
  if (!v.startsWith('/'))
    throw new Error(`${input}: ${shown(v)} must be an absolute path in the container (e.g. /app/logs)`);
  const dir = posix.normalize(v).replace(/(.)\/+$/, '$1');
  if (dir === '/') throw new Error(`${input}: ${shown(v)} must be a directory of its own, not the container's root`);
  if (IMAGE_SYSTEM_DIR.test(dir))
    throw new Error(
      `${input}: ${shown(v)} is a system directory of the container; the log directory mounted there would hide the image's own files: use a directory of its own, e.g. /app/logs`,
    );
  return v;
}

// The directories of a Linux image that a mount over them would hide (its programs, libraries,
// settings): exact names only, since a directory below them (/usr/local/tomcat/logs,
// /var/log/app) is where many images keep their logs.
const IMAGE_SYSTEM_DIR =
  /^\/(?:bin|boot|dev|etc|home|lib(?:32|64|x32)?|media|mnt|opt|proc|root|run|sbin|srv|sys|tmp|usr|var|usr\/(?:bin|include|lib(?:32|64|x32|exec)?|local|sbin|share|src)|var\/(?:backups|cache|lib|local|lock|log|mail|opt|run|spool|tmp))$/;

// Directories a deploy must never take over: it writes data/, logs/, secrets/ and its releases
// there, and its rollback replaces what it wrote.
const SYSTEM_DIRS = new Set([
  '/',
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/home',
  '/lost+found',
  '/media',
  '/mnt',
  '/opt',
  '/proc',
  '/root',
  '/run',
  '/sbin',
  '/snap',
  '/srv',
  '/sys',
  '/tmp',
  '/usr',
  '/var',
  '/usr/bin',
  '/usr/include',
  '/usr/lib',
  '/usr/libexec',
  '/usr/local',
  '/usr/sbin',
  '/usr/share',
  '/usr/src',
  '/var/backups',
  '/var/cache',
  '/var/lib',
  '/var/local',
  '/var/lock',
  '/var/log',
  '/var/mail',
  '/var/opt',
  '/var/run',
  '/var/spool',
  '/var/tmp',
]);

/**
 * Trees a remote-dir must not be under, and why. The deploy keeps secrets and data there and
 * writes, replaces and removes its files as the login user or through sudo and root containers:
 * - trees the kernel, the init system or the package manager own (what is there is theirs
 *   to rewrite, and a deploy's files there could change how the host boots or runs);
 * - world-writable temporary directories (another user can plant files or links there first,
 *   and they are cleaned at boot or by age);
 * - the container runtime's and the system's own state (Docker rewrites and prunes it).
 * A new directory under /opt, /srv, /mnt, /var/lib or a home is fine.
 */
const REFUSED_TREES: readonly (readonly [string, string])[] = [
  ...['/proc', '/sys', '/dev', '/run', '/var/run', '/var/lock'].map(
    (t) => [t, 'a tree the kernel or the init system manages'] as const,
  ),
  ...['/tmp', '/var/tmp'].map(
    (t) => [t, 'a world-writable directory: another user can plant files or links there first'] as const,
  ),
  ...['/etc', '/boot', '/usr', '/bin', '/sbin', '/snap', '/lost+found'].map(
    (t) => [t, "the system's own files, which the package manager and the administrator own"] as const,
  ),
  ...['/var/cache', '/var/log', '/var/spool', '/var/mail', '/var/backups'].map(
    (t) => [t, 'a tree the system cleans, rotates or delivers into'] as const,
  ),
  ...['/var/lib/docker', '/var/lib/containerd', '/var/lib/dpkg', '/var/lib/apt', '/var/lib/systemd'].map(
    (t) => [t, "the container runtime's or the system's own state"] as const,
  ),
];

/** Why a normalized remote-dir is refused for the tree it is under; undefined when it is not. */
function refusedTree(dir: string): string | undefined {
  const under = (t: string) => dir === t || dir.startsWith(`${t}/`);
  const tree = REFUSED_TREES.find(([t]) => under(t));
  if (tree) return `is under ${tree[0]}, ${tree[1]}`;
  const lib = /^\/lib(?:32|64|x32)?(?=\/|$)/.exec(dir)?.[0];
  if (lib) return `is under ${lib}, the system's own files, which the package manager and the administrator own`;
  // A home's hidden directories hold programs' settings and credentials (.ssh, .gnupg, .docker,
  // .aws, .kube, .config) and this tool's own lock directory (.monitoring-deploy).
  const hidden = /^(~|\/root|\/home\/[^/]+)\/(\.[^/]+)/.exec(dir);
  if (hidden)
    return `is under ${hidden[1]}/${hidden[2]}, a hidden directory of a home, where programs keep their settings and credentials`;
  return undefined;
}

/** Where the stack lives on the host: an absolute path or ~/…, a directory of its own. */
export function parseRemoteDir(value: string, input: string, username: string): string {
  const v = value.trim();
  checkPathChars(v, input);
  if (!v.startsWith('/') && v !== '~' && !v.startsWith('~/'))
    throw new Error(`${input}: ${shown(v)} must be an absolute path or start with ~/ (e.g. ~/monitoring)`);
  const dir = posix.normalize(v).replace(/(.)\/+$/, '$1');
  const home = username ? `/home/${username}` : undefined;
  if (dir === '~' || dir === home)
    throw new Error(
      `${input}: ${shown(v)} is the login user's home directory; use a directory of its own, e.g. ~/monitoring`,
    );
  if (SYSTEM_DIRS.has(dir) || /^\/lib[a-z0-9]*$/.test(dir))
    throw new Error(`${input}: ${shown(v)} is a system directory; use a directory of its own, e.g. ~/monitoring`);
  const why = refusedTree(dir);
  if (why)
    throw new Error(`${input}: ${shown(v)} ${why}; use a directory of its own, e.g. ~/monitoring or /opt/monitoring`);
  return v;
}

// An absolute URL path: RFC 3986 path characters less those a YAML string, .env or a shell would
// read ($ & ' ( )), percent-escapes complete; no query or fragment.
const URL_PATH = /^\/(?:[A-Za-z0-9._~!*+,;=:@/-]|%[0-9A-Fa-f]{2})*$/;

export function parseUrlPath(value: string, input: string): string {
  const v = value.trim();
  if (!URL_PATH.test(v))
    throw new Error(
      `${input}: ${shown(v)} is not an absolute URL path (/ then letters, digits and - . _ ~ % ! * + , ; = : @ /; no ?, #, spaces or quotes)`,
    );
  return v;
}

// A DNS name (underscores allowed, as /etc/hosts allows them), labels of 1-63 characters.
const DNS_NAME =
  /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/** A host to connect to: a DNS name or an IPv4/IPv6 address (no brackets). */
export function parseHost(value: string, input: string): string {
  const v = value.trim();
  if (!isIP(v) && !DNS_NAME.test(v))
    throw new Error(
      `${input}: ${shown(v)} is not a host name or IP address (letters, digits, . - _; an IPv6 address without [ ])`,
    );
  return v;
}

/** An address to listen on: IPv4 or IPv6, no zone. */
export function parseIpAddress(value: string, input: string): string {
  const v = value.trim();
  if (!isIP(v) || v.includes('%'))
    throw new Error(
      `${input}: ${shown(v)} is not an IPv4 or IPv6 address (e.g. 0.0.0.0 or the host's private address)`,
    );
  return v;
}

// A host's name in labels, YAML and messages: characters that need no quoting anywhere; or an
// IP address (the default is host, which may be ::1).
const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,252}$/;

export function parseHostName(value: string, input: string): string {
  const v = value.trim();
  if (!HOST_NAME.test(v) && !(isIP(v) && !v.includes('%')))
    throw new Error(
      `${input}: ${shown(v)} may hold only letters, digits and . _ : - (starting with a letter or digit), or be an IP address`,
    );
  return v;
}

/** The basic-auth user agents send and the receiver checks (an htpasswd line: no colon). */
export function parsePushUsername(value: string, input: string): string {
  const v = value.trim();
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(v))
    throw new Error(`${input}: ${shown(v)} may hold only letters, digits and . _ - (at most 64)`);
  return v;
}

// URLs are judged by what new URL() makes of them (the host a request really goes to), after a
// look at the raw text: URL() drops tabs and newlines silently, and .env and YAML read $ and quotes.
const URL_UNSAFE = /[\s"'`\\$<>{}|^]/;
const HTTP_URL_START = /^https?:\/\/[^/?#]/i;

// A URL as written may have any shape (https:/user:pw@h, a password holding / # or ?, no scheme
// at all), so a message takes everything before the last @ for userinfo: it may all be.
const HTTP_SCHEME = /^https?:\/*/i;

/** The text with everything before its last @ cut out (an http(s) scheme kept), for messages. */
export function withoutUserinfo(text: string): string {
  const at = text.lastIndexOf('@');
  if (at < 0) return text;
  return `${HTTP_SCHEME.exec(text)?.[0] ?? ''}…${text.slice(at)}`;
}

/**
 * What may be the userinfo of a URL. An http(s) URL a URL parser reads has the userinfo it finds
 * (an @ in its path is no secret). Any other text, however written, may have its userinfo up to
 * the last @ (the widest reading), or up to the first / ? or # (as a parser would take it).
 */
function userinfoReadings(text: string): string[] {
  const at = text.lastIndexOf('@');
  if (at < 0) return [];
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (url && (url.protocol === 'http:' || url.protocol === 'https:'))
    // A user alone may be a token; beside a password it is a name (an account number, say).
    return url.password ? [`${url.username}:${url.password}`] : url.username ? [url.username] : [];
  const start = /^[a-z][a-z0-9+.-]*:\/*/i.exec(text)?.[0].length ?? 0;
  const parsed = /^[a-z][a-z0-9+.-]*:\/*([^/?#\\]*)@/i.exec(text)?.[1];
  return [text.slice(start, at), text.slice(0, at), ...(parsed ? [parsed] : [])];
}

/** The password of a URL's user:password@ as a URL parser reads it, percent-decoded; '' without one. */
export function urlPassword(url: string): string {
  try {
    const password = new URL(url).password;
    try {
      return decodeURIComponent(password);
    } catch {
      return password;
    }
  } catch {
    return '';
  }
}

/** An http(s) URL with a host name; user:password@ in it is allowed (secretValues masks it). */
export function parseHttpUrl(value: string, input: string): string {
  const v = value.trim();
  const refuse = () =>
    new Error(
      `${input}: ${shown(withoutUserinfo(v))} is not an http(s) URL with a host name (no spaces, quotes, $, \` or \\)`,
    );
  if (URL_UNSAFE.test(v) || !HTTP_URL_START.test(v)) throw refuse();
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw refuse();
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !url.hostname) throw refuse();
  const password = urlPassword(v);
  if (password && password.length < MIN_MASKED_LENGTH)
    throw new Error(
      `${input}: the password in ${shown(withoutUserinfo(v))} is shorter than ${MIN_MASKED_LENGTH} characters, too short to be masked in logs; use the endpoint's real token or password`,
    );
  return v;
}

/** The endpoint a query URL must be: the path it ends in, what it is, and what else users paste. */
export const QUERY_ENDPOINTS = {
  metrics: { path: '/api/v1/query', what: 'the Prometheus-compatible instant-query endpoint itself' },
  logs: { path: '/loki/api/v1/query_range', what: "Loki's query_range endpoint itself" },
} as const;

/**
 * A query endpoint (metrics-query-url, logs-query-url): an http(s) URL, as parseHttpUrl takes it,
 * whose path is the endpoint itself. The gate adds its own parameters to any query it holds.
 */
export function parseQueryUrl(value: string, input: string, kind: keyof typeof QUERY_ENDPOINTS): string {
  const v = parseHttpUrl(value, input);
  const { path, what } = QUERY_ENDPOINTS[kind];
  const url = new URL(v);
  const at = url.pathname.replace(/\/+$/, '');
  if (at.endsWith(path)) return v;
  const write = /\/(write|push)$/.test(at) ? ' (that is a write endpoint)' : '';
  // The URL's origin has no user:password@ in it.
  const hint = /\/api\//.test(at) ? '' : ` (e.g. ${url.origin}${at}${path})`;
  throw new Error(`${input}: ${shown(withoutUserinfo(v))} is not ${what}${write}: its path must end in ${path}${hint}`);
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The Discord webhook: https, or http to this machine only (a local stand-in). Its value is a
 * secret, so no message shows it.
 */
export function parseWebhookUrl(value: string, input: string): string {
  const v = value.trim();
  if (URL_UNSAFE.test(v)) throw new Error(`${input}: must be one URL without spaces, quotes, $, \` or \\`);
  const https = new Error(`${input}: must be an https:// URL (http:// only to localhost, 127.0.0.1 or [::1])`);
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw https;
  }
  if (url.username || url.password || /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(v))
    throw new Error(`${input}: must not hold user:password@ (the part before @ is not the host the URL goes to)`);
  if (!HTTP_URL_START.test(v)) throw https;
  if (url.protocol === 'https:' && url.hostname) return v;
  if (url.protocol === 'http:' && LOOPBACK.has(url.hostname)) return v;
  throw https;
}

/** The token of a Discord webhook URL (…/webhooks/ID/TOKEN), or undefined. */
export function webhookToken(url: string): string | undefined {
  return /\/webhooks\/[^/?#]+\/([^/?#]+)/.exec(url.trim())?.[1];
}

/**
 * What to mask of a URL's user:password@, in each reading of userinfoReadings: the whole
 * userinfo and the password, as written and percent-decoded (a request or an error may show
 * either). A rejected URL's are masked too, since the message that refuses it is printed.
 */
export function urlCredentials(url: string): string[] {
  const found: string[] = [];
  for (const userinfo of userinfoReadings(url.trim())) {
    const colon = userinfo.indexOf(':');
    found.push(userinfo, colon >= 0 ? userinfo.slice(colon + 1) : '');
  }
  for (const v of [...found]) {
    try {
      found.push(decodeURIComponent(v));
    } catch {
      // not valid percent-encoding: the raw form is masked
    }
  }
  return [...new Set(found)].filter((v) => v.length >= MIN_MASKED_LENGTH);
}

/**
 * A password we hand on as it is (grafana-admin-password): at least `min` characters, one line,
 * no control characters. Its value is never shown.
 */
export function parsePassword(value: string, input: string, min: number): string {
  // Grafana's CLI reads one line of it (reset-admin-password --password-from-stdin), while its
  // first start reads the whole file: a second line would make two passwords.
  if (/\p{Cc}/u.test(value))
    throw new Error(`${input}: must be one line without control characters (no newline, tab or escape)`);
  if (value.length < min)
    throw new Error(`${input}: must be at least ${min} characters (a random one, e.g. \`openssl rand -base64 24\`)`);
  return value;
}

/** Why a file or directory could not be read, in words: no such file, permission denied, … */
export function fileErrorReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return code ?? (e as Error)?.message ?? String(e);
}

/** A local directory that exists and can be read (stack-dir). */
export function parseLocalDir(value: string, input: string): string {
  const v = value.trim();
  const what = `(a directory with the compose files; leave ${input} empty for the bundled stack)`;
  let isDir: boolean;
  try {
    isDir = statSync(v).isDirectory();
  } catch (e) {
    const reason = fileErrorReason(e);
    throw new Error(
      reason === 'no such file'
        ? `${input}: ${shown(v)} does not exist ${what}`
        : `${input}: cannot read ${shown(v)} (${reason})`,
    );
  }
  if (!isDir) throw new Error(`${input}: ${shown(v)} is not a directory ${what}`);
  try {
    accessSync(v, constants.R_OK | constants.X_OK);
  } catch (e) {
    throw new Error(`${input}: cannot read ${shown(v)} (${fileErrorReason(e)})`);
  }
  return v;
}

// POSIX portable user names, as useradd takes them: no leading digit, dot or hyphen.
const USER_NAME = /^[A-Za-z_][A-Za-z0-9._-]{0,31}$/;

export function parseUserName(value: string, input: string): string {
  const v = value.trim();
  if (!USER_NAME.test(v))
    throw new Error(
      `${input}: ${shown(v)} is not a user name (letters, digits and . _ -, starting with a letter or _; at most 32)`,
    );
  return v;
}

/** A PEM certificate (as openssl writes it): one or more BEGIN/END CERTIFICATE blocks, nothing else. */
export function parseCertificate(value: string | undefined, input: string): string | undefined {
  if (value === undefined) return undefined;
  const pem = value.replace(/\r\n/g, '\n').trim();
  if (!/^(-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\s*)+$/.test(pem))
    throw new Error(
      `${input}: not a PEM certificate (expected -----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----, e.g. the receiver's receiver.crt)`,
    );
  return `${pem}\n`;
}

/** A jump host as OpenSSH's -J / ProxyJump writes one: `[user@]host[:port]` (IPv6 in [ ]). */
export interface JumpSpec {
  readonly user?: string;
  readonly host: string;
  readonly port?: number;
}

const JUMP_SPEC = /^(?:ssh:\/\/)?(?:([^@\s]+)@)?(\[[^\]\s]+\]|[^:@\s[\]]+)(?::([^:@\s]+))?$/;

/** One jump host, `[user@]host[:port]`; a chain of them (a,b) is not supported. */
export function parseJumpSpec(value: string, input: string): JumpSpec {
  const v = value.trim();
  if (v.includes(','))
    throw new Error(
      `${input}: ${shown(v)} names several jump hosts; one is supported (user@bastion:port), the target reached through it`,
    );
  const m = JUMP_SPEC.exec(v);
  if (!m?.[2])
    throw new Error(
      `${input}: ${shown(v)} is not [user@]host[:port] (e.g. ec2-user@bastion.example.com:22; an IPv6 address in [ ])`,
    );
  const host = m[2].replace(/^\[(.*)\]$/, '$1');
  return {
    user: m[1] ? parseUserName(m[1], `${input}: user`) : undefined,
    host: parseHost(host, `${input}: host`),
    port: m[3] ? parsePort(m[3], `${input}: port`) : undefined,
  };
}

/**
 * OpenSSH's ProxyCommand: one line for `sh -c`, with %h (host), %p (port), %r (login user), %n
 * (the host as given) and %% (a %). Any other %-token is refused: OpenSSH would expand it to
 * something this tool does not know, and a silent literal would reach the wrong place.
 */
export function parseProxyCommand(value: string, input: string): string {
  const v = value.trim();
  if (/[\r\n]/.test(v))
    throw new Error(`${input}: must be one line (a command for sh -c, e.g. nc %h %p); got ${shown(v)}`);
  if (!v) throw new Error(`${input}: is empty; leave it out to connect directly`);
  // Scanned left to right, so %% is taken whole before what follows it.
  const unknown = [...v.matchAll(/%(.?)/g)].find((m) => !'hprn%'.includes(m[1] || '?'));
  if (unknown)
    throw new Error(
      `${input}: ${shown(unknown[0])} is not a token here; use %h (host), %p (port), %r (user), %n or %% for a literal %`,
    );
  return v;
}

/** A local file that exists and can be read (restore-from). */
export function parseInputFile(value: string, input: string): string {
  const v = value.trim();
  if (/\p{Cc}/u.test(v)) throw new Error(`${input}: must be one line without control characters`);
  let isFile: boolean;
  try {
    isFile = statSync(v).isFile();
    accessSync(v, constants.R_OK);
  } catch (e) {
    throw new Error(`${input}: cannot read ${shown(v)} (${fileErrorReason(e)})`);
  }
  if (!isFile) throw new Error(`${input}: ${shown(v)} is not a file (give the archive a backup wrote)`);
  return v;
}

/**
 * A local file to write (backup-path): one line, in a directory that exists, not a directory
 * itself. Whether it may be written is found when it is written.
 */
export function parseOutputFile(value: string, input: string): string {
  const v = value.trim();
  if (/\p{Cc}/u.test(v)) throw new Error(`${input}: must be one line without control characters`);
  const dir = posix.dirname(v);
  let dirOk = false;
  try {
    dirOk = statSync(dir).isDirectory();
  } catch {
    dirOk = false;
  }
  if (!dirOk) throw new Error(`${input}: the directory ${shown(dir)} does not exist (make it first)`);
  if (
    v.endsWith('/') ||
    (() => {
      try {
        return statSync(v).isDirectory();
      } catch {
        return false;
      }
    })()
  )
    throw new Error(`${input}: ${shown(v)} is a directory; give the file's name`);
  return v;
}
