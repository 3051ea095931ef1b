// Fault injection on the sandbox host: a failing metrics endpoint and a Loki that never gets
// ready (the gate fails, names why, and rolls back), a connection cut mid-upload, the Docker
// engine restarted during the gate. Data written before survives all of it.
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { containerIds, deployWithAction, deployWithCli, sandboxInputs, sh, spawnDeploy } from '../helpers/deploy';
import { runCli } from '../helpers/dist';
import { connectionFlags, keyEnv, loadSandbox, type Sandbox } from '../helpers/sandbox';

let s: Sandbox;
let goodRelease = '';
const MARKERS = ['docker exec prometheus ls /prometheus/md-marker', 'docker exec loki ls /loki/md-marker'];

function stackCopy(edit: (dir: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'md-fault-'));
  cpSync(resolve(__dirname, '../../compose'), dir, { recursive: true });
  edit(dir);
  return dir;
}

beforeAll(async () => {
  s = loadSandbox();
  const r = await deployWithCli(sandboxInputs(s));
  expect(r.code).toBe(0);
  goodRelease = String(r.json.release);
  // Data in the volumes and in Grafana's data dir, to find again after every fault.
  sh('docker exec prometheus touch /prometheus/md-marker && docker exec loki touch /loki/md-marker');
  sh(`touch ${s.home}/monitoring/data/grafana/md-marker`);
});

/** Prometheus' active targets, asked inside its container (its port is not published). */
function promTargets(): { labels: Record<string, string>; health: string }[] {
  return JSON.parse(sh('docker exec prometheus wget -qO- http://localhost:9090/api/v1/targets?state=active')).data
    .activeTargets;
}

function expectDataKept() {
  for (const m of MARKERS) expect(sh(m)).toContain('md-marker');
  expect(existsSync(`${s.home}/monitoring/data/grafana/md-marker`)).toBe(true);
}

describe('gate failures roll back to the last good release', () => {
  it("the app's metrics endpoint failing: the gate lists the target and its lastError, then rolls back", async () => {
    const r = await deployWithAction(
      sandboxInputs(s, { 'app-metrics-path': '/broken/prometheus', 'health-timeout': '45s' }),
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('did not become healthy within 45.0s');
    expect(r.stdout).toMatch(
      /target app http:\/\/server:19021\/broken\/prometheus: down, lastError: server returned HTTP status 404/,
    );
    expect(r.stdout).toContain(`Rolled back to release ${goodRelease}, which is healthy again`);
    expect(r.summary).toMatch(/\| app \| server:19021 \| 🔴 down \|/);
    // The good release is back and its targets are up again.
    expect(sh(`cat ${s.home}/monitoring/.release`)).toBe(goodRelease);
    expect(sh(`grep metrics_path ${s.home}/monitoring/prometheus-dev.yml`)).toContain('/myendpoint/prometheus');
    const check = await runCli(['check', '--json', ...connectionFlags(s), '--health-timeout', '60s'], keyEnv(s));
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout).targets.map((t: { health: string }) => t.health)).toEqual(['up', 'up', 'up']);
    expectDataKept();
  });

  it("Loki never ready: a timeout with Loki's last log lines, then rolled back", async () => {
    // The real Loki's own readiness wait, made an hour long: /ready stays 503. At level info it
    // logs as it starts (at the stack's warn it may say nothing within the gate's 40 s).
    const dir = stackCopy((d) => {
      const f = join(d, 'docker-compose-dev-monitoring.yml');
      writeFileSync(
        f,
        readFileSync(f, 'utf8').replace(
          '      - -config.file=/etc/loki/loki-config.yml\n',
          '      - -config.file=/etc/loki/loki-config.yml\n      - -ingester.min-ready-duration=1h\n      - -log.level=info\n',
        ),
      );
    });
    const r = await deployWithAction(sandboxInputs(s, { 'stack-dir': dir, 'health-timeout': '40s' }));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('loki: /ready answered 503 Ingester not ready: waiting for 1h0m0s after being ready');
    expect(r.stdout).toMatch(/Last log lines of loki:%0A {4}level=/);
    expect(r.stdout).toContain(`Rolled back to release ${goodRelease}, which is healthy again`);
    expect(sh("docker inspect -f '{{.Args}}' loki")).not.toContain('min-ready-duration');
    expectDataKept();
  });

  it('a target whose container this deploy restarted never counts on a scrape older than the restart', async () => {
    // The app's next container fails at once; the one it replaces was up a moment ago, and its
    // last scrape is recent: only a scrape after the restart may count.
    const dir = stackCopy((d) => {
      const f = join(d, 'docker-compose-dev.yml');
      const text = readFileSync(f, 'utf8');
      writeFileSync(f, text.replace('    environment:\n', '    environment:\n      - UNHEALTHY_FROM_START=1\n'));
    });
    const r = await deployWithAction(sandboxInputs(s, { 'stack-dir': dir, 'health-timeout': '40s' }));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /target app http:\/\/server:19021\/myendpoint\/prometheus: down, lastError: server returned HTTP status 500/,
    );
    expect(r.stdout).toContain(`Rolled back to release ${goodRelease}, which is healthy again`);
    expect(sh("docker inspect -f '{{.Config.Env}}' server")).not.toContain('UNHEALTHY_FROM_START');
  });

  it('on a no-op, a target that is down (its container paused) fails the gate within health-timeout, with its lastError', async () => {
    sh('docker pause node-exporter');
    try {
      // Prometheus has seen a scrape fail before the deploy starts.
      await expect
        .poll(() => promTargets().find((t) => t.labels.job === 'node')?.health, { timeout: 60_000, interval: 2_000 })
        .toBe('down');
      const started = Date.now();
      const r = await deployWithAction(sandboxInputs(s, { 'health-timeout': '20s' }));
      expect(r.code).toBe(1);
      expect(Date.now() - started).toBeLessThan(45_000);
      expect(r.stdout).toContain('did not become healthy within 20.0s');
      expect(r.stdout).toMatch(/target node http:\/\/node-exporter:9100\/metrics: down, lastError: \S+/);
      expect(r.stdout).toContain('Not rolled back: this deploy changed no files');
      expect(r.summary).toMatch(/\| Upload \| ⚪ unchanged \|/);
      expect(r.summary).toMatch(/\| Stacks \| ⚪ unchanged \|/);
    } finally {
      sh('docker unpause node-exporter');
    }
  });

  it('rollback by hand: monitoring-deploy rollback puts the previous release back', async () => {
    const dir = stackCopy((d) => {
      const f = join(d, 'prometheus-dev.yml');
      writeFileSync(f, readFileSync(f, 'utf8').replace('scrape_interval: 15s', 'scrape_interval: 5s'));
    });
    const next = await deployWithCli(sandboxInputs(s, { 'stack-dir': dir }));
    expect(next.code).toBe(0);
    expect(next.json.release).not.toBe(goodRelease);
    const r = await runCli(['rollback', '--json', ...connectionFlags(s), '--images', s.images], keyEnv(s));
    expect(r.stderr).toContain(`rolling back to release ${goodRelease}`);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, release: goodRelease });
    expect(sh(`cat ${s.home}/monitoring/.release`)).toBe(goodRelease);
    expect(sh(`grep scrape_interval ${s.home}/monitoring/prometheus-dev.yml | head -1`)).toContain('15s');
    expectDataKept();
  });
});

describe('interruptions', () => {
  it('the SSH connection cut during the upload: the stack keeps running, a rerun converges', async () => {
    const dir = stackCopy((d) => {
      mkdirSync(join(d, 'extra'));
      writeFileSync(join(d, 'extra/blob.bin'), randomBytes(12 * 1024 * 1024));
    });
    const root = `${s.home}/monitoring`;
    sh(`rm -rf ${root}/.staging`); // left by an earlier interrupted run, if any
    const idsBefore = containerIds();
    const filesBefore = sh(`cd ${root} && sha256sum $(cat .manifest)`);
    const inputs = sandboxInputs(s, { 'stack-dir': dir });
    const run = spawnDeploy(inputs);
    // Cut the connection as soon as the upload has started writing.
    for (let i = 0; i < 600 && !existsSync(`${root}/.staging`); i++) await new Promise((r) => setTimeout(r, 25));
    expect(existsSync(`${root}/.staging`)).toBe(true);
    sh(`pkill -f '^sshd: ${s.user}@' || true`);
    expect(await run.exited).toBe(1);
    expect(run.stderr()).toMatch(/SSH connection to 127\.0\.0\.1:\d+ was lost|Uploading the stack failed/);
    // Nothing running changed, and the live files are the old release's.
    expect(containerIds()).toEqual(idsBefore);
    expect(
      sh("docker ps --filter label=com.docker.compose.project=md-monitoring --format '{{.State}}' | sort -u"),
    ).toBe('running');
    expect(sh(`cd ${root} && sha256sum $(cat .manifest)`)).toBe(filesBefore);
    expect(sh(`cat ${root}/.release`)).toBe(goodRelease);
    // A rerun converges to the new release.
    const again = await deployWithCli(inputs);
    expect(again.code).toBe(0);
    expect(again.json.release).not.toBe(goodRelease);
    expect(sh(`sha256sum < ${root}/extra/blob.bin`)).toBe(sh(`sha256sum < ${dir}/extra/blob.bin`));
    expect(existsSync(`${root}/.staging`)).toBe(false);
    // back to the bundled stack: the blob goes away with its release
    const back = await deployWithCli(sandboxInputs(s));
    expect(back.code).toBe(0);
    expect(existsSync(`${root}/extra/blob.bin`)).toBe(false);
    expectDataKept();
  });

  it('the Docker engine restarted during the health gate: the gate waits it out', async () => {
    const dir = stackCopy((d) => {
      const f = join(d, 'prometheus-dev.yml');
      writeFileSync(f, readFileSync(f, 'utf8').replace('scrape_interval: 15s', 'scrape_interval: 10s'));
    });
    const run = spawnDeploy(sandboxInputs(s, { 'stack-dir': dir, 'health-timeout': '150s' }));
    await run.waitFor('▶ Health gate');
    restartDockerd();
    const code = await run.exited;
    const stderr = run.stderr();
    // The gate saw the engine go away and waited until the stack was back.
    expect(stderr).toMatch(/waiting .*(no \w+ container|is exited|docker|tunnel)/i);
    expect(stderr).toMatch(/Health gate: ok/);
    expect(code).toBe(0);
    const back = await deployWithCli(sandboxInputs(s));
    expect(back.code).toBe(0);
    expectDataKept();
  });
});

/** Stops dockerd and starts it again the way the sandbox started it. */
function restartDockerd() {
  // The main engine only (its default pid file): agent hosts run engines of their own.
  const pid = sh('cat /var/run/docker.pid');
  // Stopping takes a while: dockerd stops every container first (up to 10 s each).
  sh(`kill ${pid}; for i in $(seq 1 600); do kill -0 ${pid} 2>/dev/null || break; sleep 0.1; done`);
  // setsid: the new engine must outlive this test process.
  sh(`(setsid dockerd > ${s.dir}/dockerd.log 2>&1 < /dev/null & echo $! > ${s.dir}/state/dockerd.pid)`);
  sh('for i in $(seq 1 100); do docker info >/dev/null 2>&1 && break; sleep 0.2; done');
}
