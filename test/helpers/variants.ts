// Extra sandbox login users with something missing (docker group, sudo, Compose), each with its
// own sshd, on the same engine and images as the main sandbox.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { loadSandbox, type Sandbox } from './sandbox';

const SCRIPTS = resolve(__dirname, '../sandbox');

export interface Variant {
  readonly sandbox: Sandbox;
  down(): void;
}

export function variantSandbox(name: string, main: Sandbox, ...flags: string[]): Variant {
  const dir = `/var/tmp/monitoring-deploy-sandbox-${name}`;
  const env = { ...process.env, SANDBOX_DIR: dir, SANDBOX_USER: `md-${name}` };
  const run = (script: string, ...args: string[]) =>
    execFileSync('bash', [`${SCRIPTS}/${script}`, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  run('up.sh', '--no-images', '--images-file', `${main.dir}/images.txt`, ...flags);
  return { sandbox: loadSandbox(`${dir}/sandbox.env`), down: () => run('down.sh') };
}
