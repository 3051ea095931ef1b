// Runs the built bundles (dist/), as users and the action runner do.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

export const DIST_CLI = resolve(__dirname, '../../dist/cli.js');
export const DIST_ACTION = resolve(__dirname, '../../dist/index.js');

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runNode(
  script: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 600_000,
  executable = false,
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(executable ? script : process.execPath, executable ? args : [script, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/**
 * `deploy` with good connection flags to a closed port (9) on this machine: a run that got as far
 * as connecting says so and exits 1, so a bad input's exit 2 shows it was refused before.
 */
export function deployToClosedPort(keyFile: string): string[] {
  return [
    'deploy',
    '--host',
    '127.0.0.1',
    '--port',
    '9',
    '--username',
    'ec2-user',
    '--ssh-key-file',
    keyFile,
    '--insecure-skip-host-key-check',
    'true',
  ];
}

export const runCli = (args: readonly string[], env?: NodeJS.ProcessEnv, timeoutMs?: number) =>
  runNode(DIST_CLI, args, env, timeoutMs);
export const runAction = (env: NodeJS.ProcessEnv, timeoutMs?: number) => runNode(DIST_ACTION, [], env, timeoutMs);

/** The CLI on a pseudo-terminal (util-linux `script`), as a person runs it: stdout and stderr mixed. */
export function runCliOnTerminal(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  const quote = (a: string) => `'${a.replace(/'/g, "'\\''")}'`;
  const command = [process.execPath, DIST_CLI, ...args].map(quote).join(' ');
  return runNode(
    '/usr/bin/script',
    ['-qefc', command, '/dev/null'],
    { TERM: 'xterm', COLUMNS: '160', ...env },
    600_000,
    true,
  );
}
