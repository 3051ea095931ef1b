// A host with only Compose v1 (`docker-compose`, Python 1.29) deploys green too: a second
// sandbox login user that has no Compose v2 plugin, on the same engine.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployWithAction, sandboxInputs, sh } from '../helpers/deploy';
import { runCli } from '../helpers/dist';
import { connectionFlags, keyEnv, loadSandbox, type Sandbox } from '../helpers/sandbox';

const V1_DIR = '/var/tmp/monitoring-deploy-sandbox-v1';
const SCRIPTS = resolve(__dirname, '../sandbox');
let main: Sandbox;
let v1: Sandbox;

const sandboxScript = (script: string, ...args: string[]) =>
  execFileSync('bash', [`${SCRIPTS}/${script}`, ...args], {
    env: { ...process.env, SANDBOX_DIR: V1_DIR, SANDBOX_USER: 'ubuntu' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

beforeAll(() => {
  main = loadSandbox();
  // The stacks of other tests hold the container names and ports: clear them first. Their
  // volumes go too: this is another host, and Promtail's saved read offsets for the same paths
  // inside the container would skip the first bytes of this host's new log files.
  sh(
    'for p in md-app md-monitoring; do docker ps -aq --filter label=com.docker.compose.project=$p | xargs -r docker rm -f; docker volume ls -q --filter label=com.docker.compose.project=$p | xargs -r docker volume rm; done',
  );
  sandboxScript('up.sh', '--compose', 'v1', '--no-images', '--images-file', `${main.dir}/images.txt`);
  v1 = loadSandbox(`${V1_DIR}/sandbox.env`);
}, 300_000);

afterAll(() => {
  sh(
    'for p in md-app md-monitoring; do docker ps -aq --filter label=com.docker.compose.project=$p | xargs -r docker rm -f; done',
  );
  sandboxScript('down.sh');
});

describe('Compose v1 only host', () => {
  it('has docker-compose and no docker compose', async () => {
    const r = await runCli(['preflight', '--json', ...connectionFlags(v1)], keyEnv(v1));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).facts.compose).toEqual({
      command: 'docker-compose',
      version: expect.stringMatching(/^1\.29/),
    });
  });

  it('deploys green', async () => {
    const r = await deployWithAction(sandboxInputs(v1));
    expect(r.stdout).not.toContain('::error::');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('docker-compose 1.29');
    const targets = JSON.parse(r.outputs.targets ?? '[]') as { job: string; health: string }[];
    expect(targets.map((t) => `${t.job}=${t.health}`).sort()).toEqual(['app=up', 'node=up', 'prometheus=up']);
    // Compose v1 names containers by container_name too, and labels them with the project.
    expect(
      sh("docker ps --filter label=com.docker.compose.project=md-monitoring --format '{{.Names}}' | sort").split('\n'),
    ).toEqual(['disk-guard', 'grafana', 'loki', 'node-exporter', 'prometheus', 'promtail']);
    expect(sh(`head -1 ${v1.home}/monitoring/docker-compose-dev-monitoring.yml`)).toBe('version: "2.4"');
  });
});
