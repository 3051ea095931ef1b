// Preflight: read-only facts about the host, gathered in one remote command, and the problems
// that would stop a deploy, each with its fix.
import type { RemoteHost } from '../connection/ssh.js';

export interface HostFacts {
  readonly os: string;
  readonly arch: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  readonly path: string;
  /** How docker is reached: directly (docker group), through `sudo -n`, or not at all. */
  readonly dockerAccess: 'direct' | 'sudo' | 'none';
  readonly dockerPath?: string;
  readonly dockerServerVersion?: string;
  readonly dockerError?: string;
  /** The Compose command that works here, v2 preferred. */
  readonly compose?: { readonly command: 'docker compose' | 'docker-compose'; readonly version: string };
  readonly sudo: boolean;
  readonly diskFreeBytes: number;
  readonly memTotalBytes: number;
  readonly memAvailableBytes: number;
  readonly swapTotalBytes: number;
  readonly swapFreeBytes: number;
  /** The host's clock (epoch seconds) when preflight ran: targets must be scraped after it. */
  readonly hostNowSec: number;
  /** Where Docker keeps images and volumes, and the size of that disk (auto budgets). */
  readonly dockerRootDir?: string;
  readonly volumeDiskBytes?: number;
}

// Docker's CLI takes a tenth of a second or more per call and every fork counts on a small host:
// the slow questions run at once, and plain values are printed without a subshell each.
export const PREFLIGHT_SCRIPT = `LC_ALL=C; export LC_ALL
t=$(mktemp -d) || exit 1
(sudo -n true >/dev/null 2>&1 && echo yes || echo no) > "$t/sudo" &
(docker version --format '{{.Server.Version}}' > "$t/docker" 2>&1; echo $? > "$t/docker_rc") &
(docker compose version --short > "$t/compose" 2>/dev/null; echo $? > "$t/compose_rc") &
(df -Pk "$HOME" 2>/dev/null | awk 'NR==2{print $4}') > "$t/df" &
(r=$(docker info --format '{{.DockerRootDir}}' 2>/dev/null || sudo -n docker info --format '{{.DockerRootDir}}' 2>/dev/null)
 df -Pk "\${r:-/var/lib/docker}" 2>/dev/null | awk -v r="\${r:-/var/lib/docker}" 'NR==2{print r; print $2}') > "$t/droot" &
printf 'now=%s\\narch=%s\\nuid=%s\\ngid=%s\\nhome=%s\\npath=%s\\n' "$(date +%s)" "$(uname -m)" "$(id -u)" "$(id -g)" "$HOME" "$PATH"
if [ -r /etc/os-release ]; then (. /etc/os-release; printf 'os=%s\\n' "$PRETTY_NAME"); else printf 'os=%s\\n' "$(uname -s)"; fi
printf 'docker_path=%s\\n' "$(command -v docker 2>/dev/null)"
awk '/^(MemTotal|MemAvailable|SwapTotal|SwapFree):/{gsub(":","",$1); print $1"_kb="$2}' /proc/meminfo
wait
# read, not $(cat …): a builtin, no fork. Each answer is one line; Docker's error may be more.
got() { v=; IFS= read -r v < "$t/$1" 2>/dev/null; }
got sudo; printf 'sudo=%s\\n' "$v"
got df; printf 'disk_free_kb=%s\\n' "$v"
{ IFS= read -r r; IFS= read -r k; } < "$t/droot" 2>/dev/null && printf 'docker_root=%s\\ndocker_disk_kb=%s\\n' "$r" "$k"
got docker_rc
if [ "$v" = 0 ]; then got docker; printf 'docker=direct\\ndocker_version=%s\\n' "$v"; D=docker
elif sudo -n docker version --format '{{.Server.Version}}' > "$t/sudo_docker" 2>/dev/null; then got sudo_docker; printf 'docker=sudo\\ndocker_version=%s\\n' "$v"; D="sudo -n docker"
else printf 'docker=none\\ndocker_error=%s\\n' "$(tr '\\n' ' ' < "$t/docker")"; D=; fi
got compose_rc
if [ "$D" = docker ] && [ "$v" = 0 ]; then got compose; printf 'compose=docker compose\\ncompose_version=%s\\n' "$v"
elif [ -n "$D" ] && [ "$D" != docker ] && c=$($D compose version --short 2>/dev/null); then printf 'compose=docker compose\\ncompose_version=%s\\n' "$c"
elif command -v docker-compose >/dev/null 2>&1 && c=$(docker-compose version --short 2>/dev/null); then printf 'compose=docker-compose\\ncompose_version=%s\\n' "$c"
fi
rm -rf "$t"
`;

export function parseFacts(stdout: string): HostFacts {
  const kv = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) kv.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  const num = (k: string) => Number(kv.get(k) ?? 0) || 0;
  const kb = (k: string) => num(k) * 1024;
  const composeCmd = kv.get('compose');
  const access = kv.get('docker');
  return {
    os: kv.get('os') ?? 'unknown',
    arch: kv.get('arch') ?? 'unknown',
    uid: num('uid'),
    gid: num('gid'),
    home: kv.get('home') ?? '',
    path: kv.get('path') ?? '',
    dockerAccess: access === 'direct' || access === 'sudo' ? access : 'none',
    dockerPath: kv.get('docker_path') || undefined,
    dockerServerVersion: kv.get('docker_version') || undefined,
    dockerError: kv.get('docker_error') || undefined,
    compose:
      composeCmd === 'docker compose' || composeCmd === 'docker-compose'
        ? { command: composeCmd, version: kv.get('compose_version') ?? '' }
        : undefined,
    sudo: kv.get('sudo') === 'yes',
    diskFreeBytes: kb('disk_free_kb'),
    memTotalBytes: kb('MemTotal_kb'),
    memAvailableBytes: kb('MemAvailable_kb'),
    swapTotalBytes: kb('SwapTotal_kb'),
    swapFreeBytes: kb('SwapFree_kb'),
    hostNowSec: num('now'),
    dockerRootDir: kv.get('docker_root') || undefined,
    volumeDiskBytes: kb('docker_disk_kb') || undefined,
  };
}

const MIN_FREE_DISK_BYTES = 1024 ** 3;

/** Whether a dotted version (1.27.4, v2.26.1-4) is older than major.minor. */
export function olderThan(version: string, [major, minor]: readonly [number, number]): boolean {
  const m = /(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a < major || (a === major && b < minor);
}

/** Problems that stop a deploy, each naming its fix. Empty when the host is fit. */
export function preflightProblems(f: HostFacts, username: string): string[] {
  const problems: string[] = [];
  if (f.dockerAccess === 'none') {
    problems.push(
      f.dockerPath
        ? `Docker is installed but user "${username}" cannot use it (${f.dockerError ?? 'permission denied'}). ` +
            `Fix: \`sudo usermod -aG docker ${username}\` (then log in again), or allow passwordless sudo.`
        : 'Docker is not installed on the host (no `docker` on the PATH). Fix: install Docker Engine, e.g. `sudo dnf install docker` or `sudo apt-get install docker.io`, and start it.',
    );
  } else if (!f.compose) {
    problems.push(
      'Docker Compose is not installed: neither `docker compose` (v2) nor `docker-compose` (v1) works. ' +
        'Fix: install the Compose v2 plugin (package docker-compose-plugin, or the binary in ~/.docker/cli-plugins/).',
    );
  } else if (f.compose.command === 'docker-compose' && olderThan(f.compose.version, [1, 28])) {
    problems.push(
      `Docker Compose ${f.compose.version} (v1) is too old: the stack uses profiles, which Compose v1 reads from 1.28 on. ` +
        'Fix: install the Compose v2 plugin (package docker-compose-plugin), or docker-compose 1.28 or newer.',
    );
  }
  if (f.diskFreeBytes > 0 && f.diskFreeBytes < MIN_FREE_DISK_BYTES) {
    problems.push(
      `Only ${Math.round(f.diskFreeBytes / 1024 ** 2)} MiB free on the disk of ${f.home}. Fix: free at least 1 GiB (\`docker system prune\`, old logs).`,
    );
  }
  return problems;
}

export async function preflight(remote: RemoteHost): Promise<HostFacts> {
  return parseFacts(await remote.run(PREFLIGHT_SCRIPT, { what: 'Preflight', timeoutMs: 60_000 }));
}

/** One line about the host for the Preflight step. */
export function describeHost(f: HostFacts): string {
  const mib = (b: number) => `${Math.round(b / 1024 ** 2)} MiB`;
  return `${f.os} ${f.arch}; Docker ${f.dockerServerVersion} (${f.dockerAccess}); ${f.compose?.command} ${f.compose?.version}; memory ${mib(f.memTotalBytes)}, swap ${mib(f.swapTotalBytes)}, disk free ${mib(f.diskFreeBytes)}`;
}
