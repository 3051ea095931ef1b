// The watchdog's memory of the containers (restarts, OOM kills since the last check) and its
// look at what grows (disk-guard's status, the app's logs).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diskWatchProblems, parseDiskWatch } from '../../src/health/disk-watch';
import { containerIncidents, containerLookScript, parseContainerLook } from '../../src/health/incidents';

const MiB = 1024 ** 2;

/** A docker whose inspect says what the test says, and whose events list the OOM kills given. */
function fakeDocker(inspect: string, oom: string[]): string {
  return `docker() { case "$1" in
  ps) echo id1 id2 ;;
  inspect) printf '%s\\n' ${inspect
    .split('\n')
    .map((l) => `'${l}'`)
    .join(' ')} ;;
  events) ${oom.map((n) => `echo '@oom ${n}'`).join('; ') || ':'} ;;
esac; }`;
}

function look(home: string, inspect: string, oom: string[] = []) {
  const script = `${fakeDocker(inspect, oom)}\n${containerLookScript('docker', '/home/u/monitoring')}`;
  const r = spawnSync('sh', ['-c', script], { encoding: 'utf8', env: { ...process.env, HOME: home } });
  expect(r.status, r.stderr).toBe(0);
  return parseContainerLook(r.stdout);
}

const limit = (name: string) => (name === 'loki' ? '256 MiB' : undefined);

describe('containers since the last check', () => {
  it('says nothing the first time, then names a restart and an OOM kill once each', () => {
    const home = mkdtempSync(join(tmpdir(), 'md-look-'));
    const first = look(home, 'md-monitoring /loki aaa 0 false\nmd-app /nginx bbb 0 false\nelse /web ccc 5 false');
    expect(first.lastLookSec).toBeUndefined();
    expect(first.now.map((c) => c.name)).toEqual(['loki', 'nginx']);
    expect(containerIncidents(first, limit)).toEqual([]);
    // The host keeps what it saw, in the login user's own directory.
    const kept = readFileSync(join(home, '.monitoring-deploy', readdir(home)), 'utf8');
    expect(kept).toMatch(/^time \d+\nseen loki aaa 0 false\nseen nginx bbb 0 false\n$/);

    // Loki was OOM-killed and restarted by Docker (20.10 keeps OOMKilled true), nginx restarted.
    const second = look(home, 'md-monitoring /loki aaa 1 true\nmd-app /nginx bbb 2 false');
    expect(containerIncidents(second, limit)).toEqual([
      'Container loki was OOM-killed (it reached its memory limit of 256 MiB) and restarted once since the last check. Fix: raise its mem_limit in the compose file, or find what grew (`docker stats loki`).',
      'Container nginx restarted 2 times since the last check. Fix: see why it stopped: `docker logs nginx`.',
    ]);
    // Nothing new since: nothing said.
    expect(containerIncidents(look(home, 'md-monitoring /loki aaa 1 true\nmd-app /nginx bbb 2 false'), limit)).toEqual(
      [],
    );
  });

  it("takes the daemon's OOM events (Docker 24+ clears OOMKilled when it starts the container again)", () => {
    const home = mkdtempSync(join(tmpdir(), 'md-look-'));
    look(home, 'md-monitoring /loki aaa 0 false');
    const after = look(home, 'md-monitoring /loki aaa 1 false', ['loki']);
    expect(containerIncidents(after, limit)[0]).toMatch(/^Container loki was OOM-killed .* and restarted once/);
  });

  it('counts a recreated container (a deploy) from its own start', () => {
    const home = mkdtempSync(join(tmpdir(), 'md-look-'));
    look(home, 'md-monitoring /loki aaa 7 false');
    expect(containerIncidents(look(home, 'md-monitoring /loki new 0 false'), limit)).toEqual([]);
    expect(containerIncidents(look(home, 'md-monitoring /loki new 1 false'), limit)).toHaveLength(1);
  });
});

function readdir(home: string): string {
  return (
    spawnSync('ls', [join(home, '.monitoring-deploy')], { encoding: 'utf8' })
      .stdout.trim()
      .split('\n')[0] ?? ''
  );
}

describe('what grows, as the watchdog sees it', () => {
  const watch = (status: string, appKib?: number, now = 1000) =>
    parseDiskWatch(
      `${status
        .split('\n')
        .filter(Boolean)
        .map((l) => `@dg ${l}`)
        .join('\n')}\n@dg-now ${now}\n${appKib === undefined ? '' : `@app-logs-kib ${appKib}`}`,
    );

  it('is quiet when disk-guard is at work and everything is within its budget', () => {
    expect(diskWatchProblems(watch('time=990\nloki_kib=100\nloki_budget_kib=200', 1000), true, 256 * MiB)).toEqual([]);
  });

  it('names a disk-guard that stopped, Loki over its budget, and app logs over their share', () => {
    const problems = diskWatchProblems(
      watch('time=100\nloki_kib=300000\nloki_budget_kib=262144', 600_000, 1000),
      true,
      256 * MiB,
    );
    expect(problems).toEqual([
      "disk-guard is not at work (its status is 15 min old): Loki and nginx's log files are not kept within their budget. Fix: `docker logs disk-guard`, then redeploy.",
      'Loki takes 293 MiB, more than its logs-disk-budget of 256 MiB. Fix: `docker logs disk-guard`; a smaller logs-disk-budget lowers the rate Loki accepts.',
      "The app's log files take 586 MiB in logs/app, more than app-logs-disk-budget (256 MiB); nothing deletes them. Fix: a Logback rolling policy with totalSizeCap (see the README), or a larger app-logs-disk-budget.",
    ]);
    expect(diskWatchProblems(watch(''), true, 256 * MiB)[0]).toMatch(/^disk-guard is not at work \(no status yet\)/);
    expect(diskWatchProblems(watch(''), false, 256 * MiB)).toEqual([]);
  });
});
