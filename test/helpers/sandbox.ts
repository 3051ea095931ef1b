// The sandbox host that test/sandbox/up.sh brought up, as the tests see it.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

export interface Sandbox {
  readonly dir: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly home: string;
  readonly compose: 'v1' | 'v2';
  readonly fingerprint: string;
  readonly knownHosts: string;
  readonly key: string;
  readonly keyWithPassphrase: string;
  readonly passphrase: string;
  readonly rsaKey: string;
  readonly unauthorizedKey: string;
  /** `service=image` lines for the `images` input. */
  readonly images: string;
}

const ENV_FILE = `${process.env.SANDBOX_DIR ?? '/var/tmp/monitoring-deploy-sandbox'}/sandbox.env`;

export function loadSandbox(envFile = ENV_FILE): Sandbox {
  const ENV_FILE = envFile;
  if (!existsSync(ENV_FILE)) {
    throw new Error(`No sandbox host: ${ENV_FILE} is missing. Bring it up first: sudo bash test/sandbox/up.sh`);
  }
  const env: Record<string, string> = {};
  for (const line of readFileSync(ENV_FILE, 'utf8').split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) env[line.slice(0, i)] = line.slice(i + 1);
  }
  const get = (k: string) => {
    const v = env[k];
    if (v === undefined) throw new Error(`${ENV_FILE} has no ${k}`);
    return v;
  };
  return {
    dir: get('SANDBOX_DIR'),
    host: get('SANDBOX_HOST'),
    port: Number(get('SANDBOX_PORT')),
    user: get('SANDBOX_USER'),
    home: get('SANDBOX_HOME'),
    compose: get('SANDBOX_COMPOSE') as 'v1' | 'v2',
    fingerprint: get('SANDBOX_FINGERPRINT'),
    knownHosts: readFileSync(get('SANDBOX_KNOWN_HOSTS'), 'utf8'),
    key: readFileSync(get('SANDBOX_KEY'), 'utf8'),
    keyWithPassphrase: readFileSync(get('SANDBOX_KEY_PASSPHRASE_FILE'), 'utf8'),
    passphrase: get('SANDBOX_KEY_PASSPHRASE'),
    rsaKey: readFileSync(get('SANDBOX_KEY_RSA'), 'utf8'),
    unauthorizedKey: readFileSync(get('SANDBOX_KEY_UNAUTHORIZED'), 'utf8'),
    images: readFileSync(get('SANDBOX_IMAGES'), 'utf8'),
  };
}

/** CLI flags that connect to the sandbox as its login user, host key pinned. */
export function connectionFlags(s: Sandbox): string[] {
  return ['--host', s.host, '--port', String(s.port), '--username', s.user, '--host-fingerprint', s.fingerprint];
}

/** Environment that hands the CLI the sandbox's key without putting it on the command line. */
export function keyEnv(s: Sandbox, key = s.key): NodeJS.ProcessEnv {
  return { MONITORING_DEPLOY_SSH_KEY: key };
}

/** docker on this machine, which is the sandbox host's engine. */
export function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/** Stops the sandbox's sshd listener: the host is "down" for SSH (open sessions end too). */
export function stopSshd(s: Sandbox): void {
  execFileSync('sh', [
    '-c',
    // [s]shd: a pattern that does not match this shell's own command line.
    `pid=$(cat ${s.dir}/sshd.pid); kill "$pid"; pkill -f '[s]shd: ${s.user}' || true; for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done; exit 1`,
  ]);
}

/** Starts it again, as test/sandbox/up.sh did, and waits until it listens. */
export function startSshd(s: Sandbox): void {
  execFileSync('sh', [
    '-c',
    `/usr/sbin/sshd -f ${s.dir}/sshd_config -E ${s.dir}/sshd.log && for _ in $(seq 1 50); do [ -s ${s.dir}/sshd.pid ] && exit 0; sleep 0.1; done; exit 1`,
  ]);
}
