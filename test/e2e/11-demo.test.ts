// `npm run demo`, as a newcomer runs it, on a sandbox of its own: green, then a redeploy that
// changes nothing; `npm run demo:down` leaves no container, network, volume, swap file, user or
// sshd. Where the main sandbox's stacks ran before (the files before this one), the demo's deploy
// takes their volumes over, and demo:down removes those with the rest.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sh } from '../helpers/deploy';
import { loadSandbox, type Sandbox } from '../helpers/sandbox';

const ROOT = resolve(__dirname, '../..');
const DEMO_DIR = '/var/tmp/monitoring-deploy-demo';
const DEMO_USER = 'md-demo';
let main: Sandbox;

const env = { ...process.env, SANDBOX_DIR: DEMO_DIR, SANDBOX_USER: DEMO_USER };
const npm = (script: string) =>
  spawnSync('npm', ['run', '-s', script], {
    cwd: ROOT,
    env: { ...env, SANDBOX_UP_FLAGS: `--no-images --images-file ${main.dir}/images.txt` },
    encoding: 'utf8',
  });

/** The stacks' named volumes (md-monitoring_loki-data, …). */
const stackVolumes = () => sh("docker volume ls -q | grep '^md-' | sort || true");

/** What the demo may add to this machine (besides the stacks' volumes). */
const machine = () => ({
  containers: sh('docker ps -aq --no-trunc | sort'),
  networks: sh('docker network ls -q --no-trunc | sort'),
  volumes: sh("docker volume ls -q | grep -v '^md-' | sort || true"),
  swaps: sh('swapon --show=NAME --noheadings | sort'),
  user: sh(`id ${DEMO_USER} >/dev/null 2>&1 && echo present || echo absent`),
  sshd: sh(`pgrep -f '[s]shd.*${DEMO_DIR}' >/dev/null && echo running || echo stopped`),
});

beforeAll(() => {
  main = loadSandbox();
  // The main sandbox's stacks hold the container names and ports: clear them first.
  sh(
    'for p in md-app md-monitoring md-agent; do docker ps -aq --filter label=com.docker.compose.project=$p | xargs -r docker rm -f >/dev/null; done',
  );
});

afterAll(() => {
  // Whatever a failure left, the demo's own host goes.
  if (existsSync(DEMO_DIR)) spawnSync('npm', ['run', '-s', 'demo:down'], { cwd: ROOT, env });
});

describe('npm run demo', () => {
  it('deploys green, says so with the tables and the login, redeploys with nothing changed, and goes away whole', () => {
    const before = machine();
    expect(before.user).toBe('absent');
    console.info(`11-demo: the stacks' volumes before the demo: ${stackVolumes().split('\n').join(' ') || 'none'}`);
    const first = npm('demo');
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^JOB\s+INSTANCE\s+HEALTH/m);
    expect(first.stdout).toMatch(/^DATA PATH\s+OK\s+DETAIL/m);
    expect(first.stdout).toMatch(/^log job info_logs\s+yes\s+canary arrived in/m);
    expect(first.stdout).toMatch(/changed=true · Grafana http:\/\/127\.0\.0\.1:3000/);
    expect(first.stdout).toMatch(/Grafana: http:\/\/127\.0\.0\.1:3000 {3}login: admin \/ \S{16,}/);
    expect(first.stdout).toContain('npm run demo:down');
    expect(first.stderr).toMatch(/✓ Health gate: ok/);

    const again = npm('demo');
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/changed=false · Grafana/);

    const down = spawnSync('npm', ['run', '-s', 'demo:down'], { cwd: ROOT, env, encoding: 'utf8' });
    expect(down.status, down.stderr).toBe(0);
    expect(machine()).toEqual(before);
    expect(stackVolumes()).toBe('');
    expect(existsSync(DEMO_DIR)).toBe(false);
    expect(() => execFileSync('id', [DEMO_USER], { stdio: 'ignore' })).toThrow();
  });
});
