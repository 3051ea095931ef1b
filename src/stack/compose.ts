// Running the stacks with whichever Compose the host has, and knowing what it changed.
import { posix } from 'node:path';
import { parse } from 'yaml';
import type { RemoteHost } from '../connection/ssh.js';
import { DeployError } from '../errors.js';
import { dockerCommand, shq } from '../host/docker.js';
import { type HostFacts, REMOTE_PATH_PREFIX } from '../host/preflight.js';
import type { PullPolicy } from '../settings/settings.js';
import type { StackFile } from './files.js';
import { PROJECT_NAMES, type StackKey } from './layout.js';
import type { RenderedStack } from './render.js';

export function composeCommand(facts: HostFacts): string {
  if (!facts.compose) throw new DeployError('Docker Compose is not installed on the host.');
  const sudo = facts.dockerAccess === 'sudo' ? 'sudo -n ' : '';
  return `${sudo}${facts.compose.command}`;
}

function composeArgs(stack: StackKey, files: readonly string[]): string {
  return `-p ${PROJECT_NAMES[stack]} ${files.map((f) => `-f ${shq(f)}`).join(' ')}`;
}

/** `compose config` for every stack in a directory: nothing running is touched. */
export async function validateStacks(
  remote: RemoteHost,
  facts: HostFacts,
  dir: string,
  rendered: RenderedStack,
): Promise<void> {
  for (const [stack, files] of Object.entries(rendered.composeFiles) as [StackKey, string[]][]) {
    const r = await remote.exec(
      `${REMOTE_PATH_PREFIX} cd ${shq(dir)} && ${composeCommand(facts)} ${composeArgs(stack, files)} config -q`,
    );
    if (r.code !== 0) {
      throw new DeployError(
        `docker compose rejected the ${stack} stack (${files.join(', ')}) on the host; nothing running was changed:\n${(r.stderr || r.stdout).trim()}`,
        'fix the compose file; `monitoring-deploy plan` shows the rendered files.',
      );
    }
  }
}

/** Services of a stack whose bind mounts include one of the changed files. */
export function servicesMounting(composeFile: StackFile | undefined, changedPaths: readonly string[]): string[] {
  if (!composeFile) return [];
  const doc = parse(composeFile.content.toString('utf8')) as { services?: Record<string, { volumes?: unknown[] }> };
  const out: string[] = [];
  for (const [name, svc] of Object.entries(doc?.services ?? {})) {
    const sources = (svc.volumes ?? [])
      .map((v) => (typeof v === 'string' ? v.split(':')[0] : (v as { source?: string })?.source))
      .filter((s): s is string => !!s && s.startsWith('./'))
      .map((s) => posix.normalize(s.slice(2)).replace(/\/$/, ''));
    if (changedPaths.some((p) => sources.some((s) => p === s || p.startsWith(`${s}/`)))) out.push(name);
  }
  return out;
}

/** service -> container id, for the containers of a Compose project. */
async function containerIds(remote: RemoteHost, facts: HostFacts, project: string): Promise<Map<string, string>> {
  const r = await remote.exec(
    `${REMOTE_PATH_PREFIX} ${dockerCommand(facts)} ps -a --filter label=com.docker.compose.project=${project} --format '{{.Label "com.docker.compose.service"}} {{.ID}} {{.State}}'`,
  );
  const map = new Map<string, string>();
  for (const line of r.stdout.trim().split('\n')) {
    const [svc, id, state] = line.split(' ');
    if (svc && id) map.set(svc, `${id} ${state}`);
  }
  return map;
}

export interface UpResult {
  /** Services that Compose created or recreated, or that we restarted. */
  readonly restarted: readonly string[];
}

export async function upStacks(
  remote: RemoteHost,
  facts: HostFacts,
  root: string,
  rendered: RenderedStack,
  changedPaths: readonly string[],
  pull: PullPolicy,
): Promise<UpResult> {
  const compose = composeCommand(facts);
  const v2 = facts.compose?.command === 'docker compose';
  const restarted: string[] = [];
  // The app first: Prometheus scrapes it and nginx proxies to it.
  for (const stack of ['app', 'monitoring', 'agent'] as const) {
    const files = rendered.composeFiles[stack];
    if (!files) continue;
    const project = PROJECT_NAMES[stack];
    const base = `${REMOTE_PATH_PREFIX} cd ${shq(root)} && ${compose} ${composeArgs(stack, files)}`;
    const before = await containerIds(remote, facts, project);
    if (pull === 'always' && !v2) await runOrFail(remote, `${base} pull -q`, `pulling the ${stack} stack's images`);
    const pullFlag = v2 ? ` --pull ${pull}` : '';
    await runOrFail(remote, `${base} up -d --remove-orphans${pullFlag} 2>&1`, `starting the ${stack} stack`);
    const after = await containerIds(remote, facts, project);
    const idOf = (v?: string) => v?.split(' ')[0];
    const recreated = [...after.entries()].filter(([svc, v]) => idOf(before.get(svc)) !== idOf(v)).map(([svc]) => svc);
    // Compose does not notice a changed bind-mounted file: restart those services it kept.
    const composeFile = rendered.files.find((f) => f.path === files[0]);
    const stale = servicesMounting(composeFile, changedPaths).filter((s) => after.has(s) && !recreated.includes(s));
    if (stale.length) {
      await runOrFail(remote, `${base} restart ${stale.map(shq).join(' ')} 2>&1`, `restarting ${stale.join(', ')}`);
    }
    restarted.push(...recreated, ...stale);
  }
  return { restarted };
}

async function runOrFail(remote: RemoteHost, command: string, what: string): Promise<string> {
  const r = await remote.exec(command, { timeoutMs: 900_000 });
  if (r.code === 0) return r.stdout;
  const out = `${r.stdout}\n${r.stderr}`.trim();
  const tail = out.split('\n').slice(-12).join('\n');
  if (
    /pull access denied|manifest unknown|not found: manifest|repository does not exist|failed to resolve reference|No such image/i.test(
      out,
    )
  ) {
    throw new DeployError(
      `An image could not be pulled while ${what}:\n${tail}`,
      'check the image name and tag (images / app-image inputs), and that the host can reach its registry (or log in with docker login on the host).',
    );
  }
  if (/port is already allocated|address already in use/i.test(out)) {
    const port = /0\.0\.0\.0:(\d+)/.exec(out)?.[1] ?? /:(\d+): bind: address already in use/.exec(out)?.[1];
    throw new DeployError(
      `A host port is already in use${port ? ` (${port})` : ''} while ${what}:\n${tail}`,
      `stop what listens on that port on the host (sudo ss -ltnp${port ? ` 'sport = :${port}'` : ''}), or change the port mapping in the compose file.`,
    );
  }
  throw new DeployError(`Compose failed while ${what} (exit ${r.code}):\n${tail}`);
}
