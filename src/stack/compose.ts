// Running the stacks with whichever Compose the host has, and knowing what it changed. Each
// operation over all stacks is one script, so it costs one round trip however many stacks run.
import { LOG_AGENTS } from '../base/log-agents.js';
import { shq } from '../connection/shell.js';
import type { ExecResult, RemoteHost } from '../connection/ssh.js';
import { DeployError } from '../errors.js';
import { dockerCommand } from '../host/docker.js';
import type { HostFacts } from '../host/preflight.js';
import { parseComposeFile, runsUnder, stackMounts } from '../model/compose.js';
import type { StackFile } from '../model/files.js';
import { PROJECT_NAMES, type StackKey, UP_RELEASE } from '../model/layout.js';
import type { PullPolicy } from '../settings/settings.js';
import type { RenderedStack } from './render.js';

/** Prints `@up RELEASE`: the release whose stacks were last brought up whole (a rerun of it need not run up). */
export function upState(root: string): string {
  return `echo "@up $(cat ${shq(`${root}/${UP_RELEASE}`)} 2>/dev/null)"`;
}

/**
 * Whether Compose need not run: the files are the release last brought up, nothing is pulled
 * on purpose, and every service the stacks run has a container up (running or paused).
 */
export function stacksUpToDate(
  upRelease: string | undefined,
  release: string,
  pull: PullPolicy,
  wanted: readonly { project: string; service: string }[],
  running: readonly { project: string; service: string; state: string }[],
): boolean {
  if (upRelease !== release || pull === 'always') return false;
  // A paused container is someone's choice, which `up` would not undo either.
  const present = (state: string) => state === 'running' || state === 'paused';
  const isWanted = (c: { project: string; service: string }) =>
    wanted.some((w) => w.project === c.project && w.service === c.service);
  // Only the stacks this run deploys: a stack taken out of `stacks` is left as it runs, not redone each time.
  const ours = new Set(wanted.map((w) => w.project));
  return (
    wanted.every((w) => running.some((c) => c.project === w.project && c.service === w.service && present(c.state))) &&
    // A container of ours that no longer runs (a profile switched off) must go.
    !running.some((c) => ours.has(c.project) && !isWanted(c))
  );
}

/** A stack's services, split by whether they run: no profile, or an active one (COMPOSE_PROFILES). */
function servicesOf(rendered: RenderedStack, file: string): { wanted: string[]; unwanted: string[] } {
  const compose = rendered.files.find((f) => f.path === file);
  const services = compose ? parseComposeFile(compose).services : [];
  const runs = (s: (typeof services)[number]) => runsUnder(s, rendered.variables);
  return {
    wanted: services.filter(runs).map((s) => s.name),
    unwanted: services.filter((s) => !runs(s)).map((s) => s.name),
  };
}

/** The services each stack runs: those without a profile, or with an active one. */
export function wantedServices(rendered: RenderedStack): { project: string; service: string }[] {
  return stacksOf(rendered).flatMap(([stack, files]) =>
    servicesOf(rendered, files[0] as string).wanted.map((service) => ({ project: PROJECT_NAMES[stack], service })),
  );
}

/** The app first: Prometheus scrapes it and nginx proxies to it. */
const STACK_ORDER: readonly StackKey[] = ['app', 'monitoring', 'agent'];

function composeCommand(facts: HostFacts): string {
  if (!facts.compose) throw new DeployError('Docker Compose is not installed on the host.');
  const sudo = facts.dockerAccess === 'sudo' ? 'sudo -n ' : '';
  return `${sudo}${facts.compose.command}`;
}

/** `compose -p PROJECT -f FILE…` for one stack (run in the stack's directory). */
function composeFor(facts: HostFacts, stack: StackKey, files: readonly string[]): string {
  return `${composeCommand(facts)} -p ${PROJECT_NAMES[stack]} ${files.map((f) => `-f ${shq(f)}`).join(' ')}`;
}

function stacksOf(rendered: Pick<RenderedStack, 'composeFiles'>): [StackKey, readonly string[]][] {
  return STACK_ORDER.flatMap((stack) => {
    const files = rendered.composeFiles[stack];
    return files ? [[stack, files] as [StackKey, readonly string[]]] : [];
  });
}

/** `compose config` for every stack in a directory: nothing running is touched. */
function validateScript(facts: HostFacts, dir: string, rendered: Pick<RenderedStack, 'composeFiles'>): string {
  return [
    `cd ${shq(dir)} || exit 9`,
    ...stacksOf(rendered).map(
      ([stack, files]) =>
        `out=$(${composeFor(facts, stack, files)} config -q 2>&1) || { echo "@rejected ${stack}"; printf '%s\\n' "$out"; exit 3; }`,
    ),
  ].join('\n');
}

export async function validateStacks(
  remote: RemoteHost,
  facts: HostFacts,
  dir: string,
  rendered: RenderedStack,
): Promise<void> {
  await remote.run(validateScript(facts, dir, rendered), {
    what: 'docker compose config',
    explain: (r) => {
      const stack = /^@rejected (\w+)$/m.exec(r.stdout)?.[1] as StackKey | undefined;
      if (!stack) return undefined;
      const output = r.stdout.slice(r.stdout.indexOf('\n', r.stdout.indexOf('@rejected')) + 1).trim();
      return new DeployError(
        `docker compose rejected the ${stack} stack (${rendered.composeFiles[stack]?.join(', ')}) on the host; nothing running was changed:\n${output}`,
        'fix the compose file; `monitoring-deploy plan` shows the rendered files.',
      );
    },
  });
}

/** Services of a stack whose bind mounts include one of the changed files. */
export function servicesMounting(composeFile: StackFile | undefined, changedPaths: readonly string[]): string[] {
  if (!composeFile) return [];
  return parseComposeFile(composeFile)
    .services.filter((svc) => stackMounts(svc).some((m) => changedPaths.some((p) => p === m || p.startsWith(`${m}/`))))
    .map((svc) => svc.name);
}

export interface UpResult {
  /** Services that Compose created or recreated, or that we restarted. */
  readonly restarted: readonly string[];
  /** Services stopped and removed: the settings no longer run them (a profile switched off). */
  readonly removed: readonly string[];
  /** The host's clock once every service was up: a restarted target's scrape must be newer. */
  readonly hostNowSec?: number;
}

/** What to bring up: the stack in root, the files this release changed, and how to pull. */
export interface UpRequest {
  readonly root: string;
  readonly rendered: RenderedStack;
  readonly changedPaths: readonly string[];
  readonly pull: PullPolicy;
  /** Recorded as the release last brought up whole. */
  readonly release: string;
}

/** Ends a script line that must succeed: says what failed in which stack, and stops. */
const fail = (stack: string, what: string) => `|| { echo "@failed ${stack} ${what}"; exit 3; }`;

/** One stack's Compose command and how its services split under the active profiles. */
interface StackServices {
  readonly compose: string;
  readonly project: string;
  readonly stack: StackKey;
  readonly unwanted: readonly string[];
  readonly wanted: readonly string[];
}

/**
 * `up --remove-orphans` keeps a service whose profile is off (it is still defined): stop and
 * remove it, or Promtail runs on next to Alloy, a receiver keeps its old password. Before `up`,
 * so that a log agent taking over starts only once its predecessor has stopped and written its
 * final positions (Compose stops with SIGTERM; Promtail saves its positions as it stops), and
 * with its own old positions gone, so that it reads the predecessor's.
 */
export function removalLines({ compose, project, stack, unwanted, wanted }: StackServices): string[] {
  return unwanted.map((svc) => {
    const successors = LOG_AGENTS.filter((a) => a.takesOver?.from === svc && wanted.includes(a.name));
    const handOver = successors.map(
      (a) =>
        `${compose} run --rm --no-deps -T --entrypoint /bin/sh ${shq(a.name)} -c ${shq(`rm -f ${a.takesOver?.ownPositions}`)} 2>&1 ${fail(stack, `clearing the old positions of ${a.name}`)}; echo "@handover ${project} ${svc} ${a.name}"; `,
    );
    return `if [ -n "$(id_of ${project} ${shq(svc)})" ]; then ${compose} rm -s -f ${shq(svc)} 2>&1 ${fail(stack, `removing ${svc}`)}; echo "@removed ${project} ${svc}"; ${handOver.join('')}fi`;
  });
}

/**
 * Brings every stack up in order. Compose does not notice a changed bind-mounted file, so the
 * services mounting one are restarted when Compose kept their container.
 */
function upScript(facts: HostFacts, { root, rendered, changedPaths, pull, release }: UpRequest): string {
  const docker = dockerCommand(facts);
  const v2 = facts.compose?.command === 'docker compose';
  const lines = [
    `cd ${shq(root)} || exit 9`,
    `list() { ${docker} ps -a --no-trunc --filter label=com.docker.compose.project --format '{{.Label "com.docker.compose.project"}} {{.Label "com.docker.compose.service"}} {{.ID}}'; }`,
    `id_of() { ${docker} ps -aq --no-trunc --filter label=com.docker.compose.project=$1 --filter label=com.docker.compose.service=$2; }`,
    `list | sed 's/^/@before /'`,
  ];
  for (const [stack, files] of stacksOf(rendered)) {
    const compose = composeFor(facts, stack, files);
    const project = PROJECT_NAMES[stack];
    const { wanted, unwanted } = servicesOf(rendered, files[0] as string);
    const stale = servicesMounting(
      rendered.files.find((f) => f.path === files[0]),
      changedPaths,
    ).filter((svc) => wanted.includes(svc));
    if (pull === 'always' && !v2) lines.push(`${compose} pull -q 2>&1 ${fail(stack, 'pulling')}`);
    stale.forEach((svc, i) => {
      lines.push(`kept${i}=$(id_of ${project} ${shq(svc)})`);
    });
    lines.push(...removalLines({ compose, project, stack, unwanted, wanted }));
    lines.push(`${compose} up -d --remove-orphans${v2 ? ` --pull ${pull}` : ''} 2>&1 ${fail(stack, 'starting')}`);
    stale.forEach((svc, i) => {
      lines.push(
        `if [ -n "$kept${i}" ] && [ "$(id_of ${project} ${shq(svc)})" = "$kept${i}" ]; then ${compose} restart ${shq(svc)} 2>&1 ${fail(stack, `restarting ${svc}`)}; echo "@restarted ${project} ${svc}"; fi`,
      );
    });
  }
  lines.push(
    `list | sed 's/^/@after /'`,
    `printf '%s\\n' ${shq(release)} > ${UP_RELEASE}`,
    // Scrapes of a (re)started service count from here on.
    'echo "@now $(date +%s)"',
  );
  return lines.join('\n');
}

/** Services (re)created by Compose or restarted by us, from the script's markers. */
export function parseUp(stdout: string): UpResult {
  const before = new Map<string, string>();
  const after = new Map<string, string>();
  const restarted: string[] = [];
  const removed: string[] = [];
  const ours = new Set(Object.values(PROJECT_NAMES));
  for (const line of stdout.split('\n')) {
    const [marker, project, service, id] = line.split(' ');
    if (!project || !service || !ours.has(project)) continue;
    if (marker === '@before' && id) before.set(`${project} ${service}`, id);
    else if (marker === '@after' && id) after.set(`${project} ${service}`, id);
    else if (marker === '@restarted') restarted.push(service);
    else if (marker === '@removed') removed.push(service);
  }
  const recreated = [...after.entries()]
    .filter(([key, id]) => before.get(key) !== id)
    .map(([key]) => key.split(' ')[1] as string);
  const now = Number(/^@now (\d+)$/m.exec(stdout)?.[1]);
  return { restarted: [...recreated, ...restarted], removed, hostNowSec: Number.isFinite(now) ? now : undefined };
}

export async function upStacks(remote: RemoteHost, facts: HostFacts, up: UpRequest): Promise<UpResult> {
  const stdout = await remote.run(upScript(facts, up), {
    what: 'Starting the stacks',
    timeoutMs: 900_000,
    explain: (r) => composeFailure(r, imagesOf(up.rendered)),
  });
  return parseUp(stdout);
}

/** Each service's image, as the stack's compose files (and the images overrides) set it. */
export function imagesOf(rendered: RenderedStack): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [, files] of stacksOf(rendered)) {
    for (const path of files) {
      const file = rendered.files.find((f) => f.path === path);
      if (!file) continue;
      for (const svc of parseComposeFile(file, rendered.variables).services) {
        if (svc.image) out[svc.name] = svc.image.value;
      }
    }
  }
  return out;
}

const NO_REGISTRY =
  /no such host|dial tcp|i\/o timeout|TLS handshake timeout|network is unreachable|connection refused|Temporary failure in name resolution|Client\.Timeout/i;

/** Why the host reached no registry, in plain words, from the daemon's error. */
function registryReason(out: string): string {
  if (/no such host|Temporary failure in name resolution/i.test(out))
    return "the registry's name does not resolve there";
  if (/i\/o timeout|TLS handshake timeout|Client\.Timeout/i.test(out)) return 'no answer from the registry in time';
  if (/connection refused/i.test(out)) return 'the connection to the registry was refused';
  if (/network is unreachable/i.test(out)) return 'the network is unreachable';
  return 'no connection to the registry';
}
const NOT_THERE =
  /pull access denied|manifest unknown|not found: manifest|repository does not exist|failed to resolve reference|denied: requested access/i;

/** Compose's own words, sorted into the failures a person can fix. */
export function composeFailure(r: ExecResult, images: Readonly<Record<string, string>> = {}): DeployError | undefined {
  const failed = /^@failed (\w+) (.*)$/m.exec(r.stdout);
  if (!failed) return undefined;
  const what = `${failed[2]} the ${failed[1]} stack`;
  const out = `${r.stdout}\n${r.stderr}`
    .split('\n')
    .filter((l) => !l.startsWith('@'))
    .join('\n')
    .trim();
  const tail = out.split('\n').slice(-12).join('\n');
  // Compose says which service's pull failed (" nginx Error"); the image is the stack's.
  const services = [...out.matchAll(/^\s*(\S+)\s+Error\b/gm)].map((m) => m[1] as string).filter((svc) => images[svc]);
  const image = services.length
    ? services.map((svc) => `${images[svc]} (service ${svc})`).join(', ')
    : // "No such image: NAME: No such image: NAME": the name, not the colon after it.
      /(?:image:?|for) ([a-z0-9][\w./:@-]+)/i.exec(out)?.[1]?.replace(/:+$/, '');
  const subject = image ? `The image ${image}` : 'An image';
  if (/No such image/i.test(out)) {
    return new DeployError(
      `${subject} is not on the host, and pull: never forbids pulling it, while ${what}:\n${tail}`,
      'load it on the host (docker load, or docker pull where a registry is reachable), or set pull: missing.',
    );
  }
  if (/pull|manifest|registry|Error response from daemon: Get/i.test(out) && NO_REGISTRY.test(out)) {
    return new DeployError(
      `${subject} could not be pulled: the host cannot reach its registry (${registryReason(out)}), while ${what}:\n${tail}`,
      'give the host access to the registry (DNS and outbound HTTPS), or point images: at a registry mirror it can reach (service=mirror/name:tag), or load the image on the host (docker load) and set pull: never.',
    );
  }
  if (NOT_THERE.test(out)) {
    return new DeployError(
      `${subject} could not be pulled: its registry has no such image, or wants a login, while ${what}:\n${tail}`,
      'check the image name and tag (images / app-image inputs), or log in on the host (docker login) for a private registry.',
    );
  }
  if (/port is already allocated|address already in use/i.test(out)) {
    const port = /0\.0\.0\.0:(\d+)/.exec(out)?.[1] ?? /:(\d+): bind: address already in use/.exec(out)?.[1];
    return new DeployError(
      `A host port is already in use${port ? ` (${port})` : ''} while ${what}:\n${tail}`,
      `stop what listens on that port on the host (sudo ss -ltnp${port ? ` 'sport = :${port}'` : ''}), or change the port mapping in the compose file.`,
    );
  }
  return new DeployError(`Compose failed while ${what} (exit ${r.code}):\n${tail}`);
}
