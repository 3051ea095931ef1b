// Weeks on the host, end to end with the real Loki, Promtail, nginx and busybox (a stack that
// cannot fit on the disk is in 03-errors): nginx's log files rotate without losing a line; Loki
// stays within its budget when four times the budget is written at once, and the newest lines
// still arrive; the watchdog names a container that was OOM-killed or restarted, once.
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { deployWithCli, lokiGet, lokiLines, lokiStreams, sandboxInputs, sh } from '../helpers/deploy';
import { runCli } from '../helpers/dist';
import { connectionFlags, keyEnv, loadSandbox, type Sandbox } from '../helpers/sandbox';
import { until } from '../helpers/wait';

let s: Sandbox;
beforeAll(() => {
  s = loadSandbox();
});

const MiB = 1024 ** 2;
/** The bundled stack with a .env of the stack dir's own (merged into the one the deploy writes). */
function bundledWith(env: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'md-weeks-stack-'));
  cpSync(resolve(__dirname, '../../compose'), dir, { recursive: true });
  writeFileSync(
    join(dir, '.env'),
    Object.entries(env)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(''),
  );
  return dir;
}

/** GETs through nginx (published on port 80), a few at a time; resolves when all were answered. */
async function requests(paths: readonly string[], parallel = 8): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: parallel });
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const path = paths[next++] as string;
      await new Promise<void>((ok, fail) =>
        get({ host: '127.0.0.1', port: 80, path, agent }, (res) => {
          res.resume();
          res.on('end', () => ok());
        }).on('error', fail),
      );
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  agent.destroy();
}

describe("nginx's log files", () => {
  it('rotate by size, and every line written before a rotation reaches Loki', async () => {
    // 16 KiB segments, checked every second; disk-guard every 5 s; nginx keeps every segment, so
    // only disk-guard (which waits until Promtail has read one to its end) removes them.
    const stackDir = bundledWith({
      NGINX_LOG_SEGMENT_BYTES: '16384',
      NGINX_LOG_CHECK_SECONDS: '1',
      NGINX_LOG_SEGMENTS_KEPT: '1000',
      DISK_GUARD_INTERVAL: '5',
    });
    const deployed = await deployWithCli(sandboxInputs(s, { 'stack-dir': stackDir }));
    expect(deployed.code, deployed.stderr).toBe(0);

    const token = randomBytes(4).toString('hex');
    const n = 2000;
    await requests(Array.from({ length: n }, (_, i) => `/rotation-${token}-${i}`));
    // About 150 bytes a line: some 18 segments of 16 KiB.
    const lines = await until(`${n} access lines in Loki`, 120, () => {
      const got = lokiLines(`{job="nginx_log"} |= "rotation-${token}-"`);
      return got.length >= n ? got : undefined;
    });
    const ids = new Set(lines.map((l) => /rotation-[0-9a-f]+-(\d+)/.exec(l)?.[1]));
    expect(ids.size).toBe(n);
    expect(lines).toHaveLength(n);
    const files = new Set(
      lokiStreams()
        .map((l) => JSON.parse(l) as { job: string; filename?: string })
        .filter((l) => l.job === 'nginx_log' && /\/access-\d{8}T\d{6}\.log$/.test(l.filename ?? ''))
        .map((l) => l.filename),
    );
    expect(files.size).toBeGreaterThanOrEqual(8);
    // disk-guard removes the segments Promtail has read (after a minute without a write).
    const left = await until('disk-guard to remove read segments', 150, () => {
      const n = Number(sh(`ls ${s.home}/monitoring/logs/nginx | grep -c '^access-' || true`));
      return n <= 2 ? n : undefined;
    });
    expect(left).toBeGreaterThanOrEqual(1);
    expect(sh('docker logs disk-guard 2>&1')).toMatch(/nginx: removed \d+ log segment\(s\) the log agent had read/);
  });
});

describe("Loki's budget", () => {
  const budget = 48 * MiB;

  it('holds when four times the budget is written at once, and the newest lines still arrive', async () => {
    const deployed = await deployWithCli(sandboxInputs(s, { 'logs-disk-budget': '48M' }));
    expect(deployed.code, deployed.stderr).toBe(0);
    const env = sh(`cat ${s.home}/monitoring/.env`);
    expect(env).toContain(`LOGS_DISK_BUDGET_BYTES=${budget}`);
    expect(env).toMatch(/^LOKI_INGESTION_RATE_MB=0\.017$/m);

    // 192 MiB of app log lines that do not compress well, written as fast as the disk takes them.
    const flood = `${s.home}/monitoring/logs/app/debug/flood.log`;
    const line = () => `${new Date().toISOString()} DEBUG [main] c.e.Flood : ${randomBytes(96).toString('base64')}\n`;
    let written = 0;
    sh(`: > ${flood}`);
    while (written < 4 * budget) {
      const chunk = Array.from({ length: 4000 }, line).join('');
      writeFileSync(flood, chunk, { flag: 'a' });
      written += chunk.length;
    }
    // Promtail reads it all (what Loki refuses for its rate is dropped, not queued)...
    const size = Number(sh(`stat -c %s ${flood}`));
    await until('Promtail to read the flood to its end', 180, () => {
      const read = Number(
        /flood\.log: "(\d+)"/.exec(sh('docker exec disk-guard cat /agent/promtail/positions.yaml'))?.[1],
      );
      return read >= size ? read : undefined;
    });
    // ...and the lines written after it arrive, in the flooded job and in another.
    const newest = `newest-${randomBytes(6).toString('hex')}`;
    sh(`echo "$(date -u +%FT%TZ) DEBUG [main] c.e.App : ${newest}" >> ${flood}`);
    sh(
      `echo "$(date -u +%FT%TZ) INFO 1 --- [main] c.e.App : ${newest}" >> ${s.home}/monitoring/logs/app/info/info.log`,
    );
    for (const job of ['debug_logs', 'info_logs'])
      await until(`the newest line in ${job}`, 60, () =>
        lokiLines(`{job="${job}"} |= "${newest}"`).length ? true : undefined,
      );
    // Loki refused most of the flood for its rate, and its volume stayed within the budget.
    const refused = lokiGet('/metrics')
      .split('\n')
      .filter((l) => l.startsWith('loki_discarded_bytes_total') && l.includes('reason="rate_limited"'))
      .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
    expect(refused).toBeGreaterThan(2 * budget);
    const kib = Number(sh('docker exec disk-guard du -sk /loki | cut -f1'));
    expect(kib * 1024).toBeLessThanOrEqual(budget);
    sh(`rm -f ${flood}`);
  });
});

describe('the watchdog, after a container was OOM-killed or restarted', () => {
  const check = () => runCli(['check', '--json', ...connectionFlags(s), '--health-timeout', '60s'], keyEnv(s));
  const problems = async () => {
    const r = await check();
    return (JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { problems?: string[] }).problems ?? [];
  };

  it('names each, once', async () => {
    // The first look: what the containers have been through before is not news.
    await problems();
    // disk-guard (32 MiB) runs a command that outgrows its limit; nginx's master is stopped and
    // Docker starts it again.
    sh(`docker exec disk-guard sh -c 'x=$(head -c 200000000 /dev/zero | tr "\\0" x)' || true`);
    sh('docker exec nginx kill 1 || true');
    await until('nginx to be started again', 30, () =>
      sh("docker inspect -f '{{.State.Running}} {{.RestartCount}}' nginx").startsWith('true 1') ? true : undefined,
    );
    const found = await problems();
    expect(found).toContain(
      'Container disk-guard was OOM-killed (it reached its memory limit of 32 MiB) since the last check. Fix: raise its mem_limit in the compose file, or find what grew (`docker stats disk-guard`).',
    );
    expect(found).toContain(
      'Container nginx restarted once since the last check. Fix: see why it stopped: `docker logs nginx`.',
    );
    const again = await problems();
    expect(again.filter((p) => p.startsWith('Container '))).toEqual([]);
  });
});
