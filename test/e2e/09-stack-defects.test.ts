// The stack defects a review against the real software found, each shown on the sandbox host:
// a profile switched off leaves nothing running, no app target without the app stack, nginx
// following a recreated app, log rotation everywhere, the Spring profile variable Spring reads.
import { beforeAll, describe, expect, it } from 'vitest';
import { deployWithAction, sandboxInputs, sh } from '../helpers/deploy';
import { loadSandbox, type Sandbox } from '../helpers/sandbox';

let s: Sandbox;
beforeAll(async () => {
  s = loadSandbox();
  const r = await deployWithAction(sandboxInputs(s));
  expect(r.code).toBe(0);
});

const ip = (container: string) =>
  sh(`docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' ${container}`).split(' ')[0];
const running = () => sh("docker ps --format '{{.Names}}'").split('\n');

describe('stack defects', () => {
  it('accept-agents switched off: the receiver is stopped and removed, not left listening', async () => {
    const nginx = /^nginx=(.+)$/m.exec(s.images)?.[1];
    const withReceiver = {
      images: `${s.images.trim()}\nreceiver=${nginx}`,
      'push-password': 'Receiver-Switch-5e6f',
    };
    const on = await deployWithAction(sandboxInputs(s, { ...withReceiver, 'accept-agents': 'true' }));
    expect(on.code).toBe(0);
    expect(running()).toContain('receiver');
    const off = await deployWithAction(sandboxInputs(s, withReceiver));
    expect(off.code).toBe(0);
    expect(off.summary).toMatch(
      /\| Stacks \| 🟡 changed \| [^|]+\| [^|]*stopped and removed receiver \(no longer run\)/,
    );
    expect(sh("docker ps -a --format '{{.Names}}'").split('\n')).not.toContain('receiver');
    // Nothing listens on the receiver's port any more.
    expect(sh("ss -ltn 'sport = :9095' | tail -n +2")).toBe('');
  });

  it('stacks: monitoring scrapes no app; with the app stack again, it does', async () => {
    const monitoringOnly = await deployWithAction(sandboxInputs(s, { stacks: 'monitoring' }));
    expect(monitoringOnly.code).toBe(0);
    const jobs = JSON.parse(monitoringOnly.outputs.targets ?? '[]').map(
      (t: { job: string; health: string }) => `${t.job} ${t.health}`,
    );
    expect(jobs.sort()).toEqual(['node up', 'prometheus up']);
    expect(sh(`grep -c 'job_name: app' ${s.home}/monitoring/prometheus-dev.yml || true`)).toBe('0');
    const both = await deployWithAction(sandboxInputs(s));
    expect(both.code).toBe(0);
    expect(JSON.parse(both.outputs.targets ?? '[]').map((t: { job: string }) => t.job)).toContain('app');
  });

  it('nginx follows the app to a new address (no 502), without a restart', async () => {
    const nginxStarted = sh("docker inspect -f '{{.State.StartedAt}}' nginx");
    const before = ip('server');
    sh('docker stop server >/dev/null');
    // Other containers take free addresses until one holds the app's; the app comes back on
    // another one.
    const app = /^server=(.+)$/m.exec(s.images)?.[1] ?? '';
    const squatters: string[] = [];
    try {
      for (let i = 0; i < 30 && !squatters.some((c) => ip(c) === before); i++) {
        sh(`docker run -d --name ipsquat${i} --network monitoring --entrypoint sleep ${app} 600 >/dev/null`);
        squatters.push(`ipsquat${i}`);
      }
      sh('docker start server >/dev/null');
      expect(ip('server')).not.toBe(before);
      const status = () => sh("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1/");
      await expect.poll(status, { timeout: 20_000, interval: 1_000 }).toBe('200');
      for (let i = 0; i < 5; i++) expect(status()).toBe('200');
      expect(sh("docker inspect -f '{{.State.StartedAt}}' nginx")).toBe(nginxStarted);
    } finally {
      if (squatters.length) sh(`docker rm -f ${squatters.join(' ')} >/dev/null`);
    }
  });

  it("every container's log is rotated; the app gets the profile variable Spring reads", () => {
    const logConfigs = sh(
      "docker inspect -f '{{.Name}} {{json .HostConfig.LogConfig}}' $(docker ps -q --filter label=com.docker.compose.project)",
    ).split('\n');
    expect(logConfigs.length).toBeGreaterThanOrEqual(7);
    for (const line of logConfigs) {
      expect(line).toMatch(/\{"Type":"json-file","Config":\{"max-file":"3","max-size":"10m"\}\}$/);
    }
    const env = sh("docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' server");
    expect(env).toContain('SPRING_PROFILES_ACTIVE=dev');
  });
});
