// Running the built action and CLI against the sandbox, and looking at the host afterwards.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIST_CLI, type RunResult, runAction, runCli } from './dist';
import type { Sandbox } from './sandbox';

/** The action's inputs for a deploy to the sandbox: local images, never pull, small swap. */
export function sandboxInputs(s: Sandbox, over: Record<string, string> = {}): Record<string, string> {
  return {
    host: s.host,
    port: String(s.port),
    username: s.user,
    'ssh-key': s.key,
    'host-fingerprint': s.fingerprint,
    images: s.images,
    pull: 'never',
    'swap-size': '256M',
    'health-timeout': '120s',
    'grafana-dashboards': 'none',
    ...over,
  };
}

export interface ActionRun extends RunResult {
  readonly outputs: Record<string, string>;
  readonly summary: string;
}

/** Parses GITHUB_OUTPUT as @actions/core writes it (name<<delimiter ... delimiter). */
export function parseOutputs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^([^<]+)<<(.+)$/.exec(lines[i] ?? '');
    if (!m?.[1] || !m[2]) continue;
    const value: string[] = [];
    for (i++; i < lines.length && lines[i] !== m[2]; i++) value.push(lines[i] ?? '');
    out[m[1]] = value.join('\n');
  }
  return out;
}

export async function deployWithAction(
  inputs: Record<string, string>,
  env: NodeJS.ProcessEnv = {},
): Promise<ActionRun> {
  const dir = mkdtempSync(join(tmpdir(), 'md-action-'));
  const outputFile = join(dir, 'output');
  const summaryFile = join(dir, 'summary');
  writeFileSync(outputFile, '');
  writeFileSync(summaryFile, '');
  const inputEnv: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(inputs)) inputEnv[`INPUT_${k.replace(/-/g, '_').toUpperCase()}`] = v;
  const r = await runAction({ ...inputEnv, GITHUB_OUTPUT: outputFile, GITHUB_STEP_SUMMARY: summaryFile, ...env });
  return { ...r, outputs: parseOutputs(readFileSync(outputFile, 'utf8')), summary: readFileSync(summaryFile, 'utf8') };
}

/** The CLI with --json: the same engine, machine-readable result. */
export async function deployWithCli(inputs: Record<string, string>, env: NodeJS.ProcessEnv = {}) {
  const { 'ssh-key': key, ...rest } = inputs;
  const args = ['deploy', '--json', ...Object.entries(rest).flatMap(([k, v]) => [`--${k}`, v])];
  const r = await runCli(args, { MONITORING_DEPLOY_SSH_KEY: key, ...env });
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
  } catch {}
  return { ...r, json };
}

const sh = (cmd: string) =>
  execFileSync('sh', ['-c', cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

/** What a deploy may change on the host, to compare before and after a run. */
export function hostSnapshot(s: Sandbox, remoteDir = `${s.home}/monitoring`) {
  return {
    swaps: sh('swapon --show=NAME --noheadings | sort'),
    fstab: sh('cat /etc/fstab'),
    networks: sh("docker network ls --format '{{.Name}} {{.Driver}}' | sort"),
    containers: sh("docker ps -a --format '{{.Names}} {{.ID}} {{.State}}' | sort"),
    files: sh(
      `[ -d ${remoteDir} ] && find ${remoteDir} -path ${remoteDir}/data -prune -o -path ${remoteDir}/logs -prune -o -type f -print | sort | xargs -r sha256sum || true`,
    ),
  };
}

export function containerIds(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of sh("docker ps -a --filter label=com.docker.compose.project --format '{{.Names}} {{.ID}}'").split(
    '\n',
  )) {
    const [name, id] = line.split(' ');
    if (name && id) out[name] = id;
  }
  return out;
}

export { sh };

/** An HTTP GET to the central Loki, from inside its container (not published on the host). */
export function lokiGet(path: string): string {
  return execFileSync('docker', ['exec', 'loki', 'wget', '-qO-', `http://localhost:3100${path}`], { encoding: 'utf8' });
}

/**
 * Each distinct label set of the last hour's log streams in the central Loki, as JSON text
 * (`{"filename":"…","host":"…","job":"…"}`), from Loki's series API.
 */
export function lokiStreams(): string[] {
  const start = BigInt(Date.now() - 3_600_000) * 1_000_000n;
  const match = encodeURIComponent('{job=~".+"}');
  const body = JSON.parse(lokiGet(`/loki/api/v1/series?match%5B%5D=${match}&start=${start}`)) as {
    data?: Record<string, string>[];
  };
  return (body.data ?? []).map((labels) => JSON.stringify(labels));
}

/** The lines of a LogQL query over the last hour, oldest first. */
export function lokiLines(query: string): string[] {
  const start = BigInt(Date.now() - 3_600_000) * 1_000_000n;
  const body = JSON.parse(
    lokiGet(`/loki/api/v1/query_range?query=${encodeURIComponent(query)}&start=${start}&limit=5000&direction=forward`),
  ) as { data?: { result?: { values?: [string, string][] }[] } };
  return (body.data?.result ?? []).flatMap((r) => (r.values ?? []).map(([, line]) => line));
}

/** A CLI deploy running in the background, for tests that interfere with it mid-way. */
export function spawnDeploy(inputs: Record<string, string>) {
  const { 'ssh-key': key, ...rest } = inputs;
  const child = spawn(
    process.execPath,
    [DIST_CLI, 'deploy', ...Object.entries(rest).flatMap(([k, v]) => [`--${k}`, v])],
    {
      env: { PATH: process.env.PATH, MONITORING_DEPLOY_SSH_KEY: key },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  child.stderr.on('data', (d) => {
    stderr += d;
    for (const w of waiters) if (stderr.includes(w.text)) w.resolve();
  });
  const exited = new Promise<number | null>((res) => child.on('close', res));
  return {
    stderr: () => stderr,
    exited,
    /** Resolves once stderr shows the text (e.g. a step starting). */
    waitFor: (text: string) => new Promise<void>((resolve) => waiters.push({ text, resolve })),
  };
}
