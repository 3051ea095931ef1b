// The disk budget: auto budgets from the disk's size, Loki's rate from its budget, the host's
// figures as the real df and docker print them, and the verdict per filesystem.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { budgetInputs, runningServices } from '../../src/engine/budget';
import {
  budgetItems,
  budgetReport,
  type DiskUsage,
  diskBudget,
  diskBudgetError,
  diskUsageScript,
  humanBytes,
  parseDiskUsage,
} from '../../src/host/disk-budget';
import { memoryBudget } from '../../src/host/memory-budget';
import { GiB, LOKI_UNREACHABLE_SECONDS, lokiLimits, MiB, resolveBudgets } from '../../src/model/budget';
import { remoteLayout } from '../../src/model/layout';
import { readSettings } from '../../src/settings/settings';
import { renderStack } from '../../src/stack/render';

const layout = remoteLayout('~/monitoring', '/home/ec2-user');
const settingsWith = (over: Record<string, string> = {}) =>
  readSettings({ 'app-image': 'me/back:1.4.2', ...over }, { needsConnection: false });
const render = (over: Record<string, string> = {}, diskBytes?: number) => {
  const settings = settingsWith(over);
  return { settings, rendered: renderStack(settings, { uid: 1000, gid: 1000, volumeDiskBytes: diskBytes }, layout) };
};

describe('budgets', () => {
  it('auto: 10% (logs) and 8% (metrics) of the disk, in 64 MiB steps, within bounds', () => {
    const auto = settingsWith().disk;
    expect(resolveBudgets(auto, 8 * GiB)).toMatchObject({ logsBytes: 768 * MiB, metricsBytes: 640 * MiB });
    expect(resolveBudgets(auto, 30 * GiB)).toMatchObject({ logsBytes: 3072 * MiB, metricsBytes: 2432 * MiB });
    expect(resolveBudgets(auto, 1 * GiB)).toMatchObject({ logsBytes: 256 * MiB, metricsBytes: 256 * MiB });
    expect(resolveBudgets(auto, 1024 * GiB)).toMatchObject({ logsBytes: 10 * GiB, metricsBytes: 4 * GiB });
    expect(resolveBudgets(settingsWith({ 'logs-disk-budget': '2G' }).disk, 8 * GiB).logsBytes).toBe(2 * GiB);
  });

  it('refuses a budget that is no size, or too small to work with', () => {
    expect(() => settingsWith({ 'logs-disk-budget': 'lots' })).toThrow(
      'logs-disk-budget: "lots" is not a size; use a whole number with a unit, e.g. 2G or 512M (32M to 1T; or auto)',
    );
    expect(() => settingsWith({ 'metrics-disk-budget': '1M' })).toThrow(/metrics-disk-budget: "1M" is out of range/);
  });

  it("holds Loki to the rate its retention can keep within the budget, never above Loki's default", () => {
    const l = lokiLimits(768 * MiB);
    expect(Number(l.ingestionRateMb) * MiB * LOKI_UNREACHABLE_SECONDS).toBeLessThanOrEqual(768 * MiB);
    expect(Number(l.ingestionRateMb)).toBeGreaterThan(0.28);
    expect(l.streamRate).toBe(`${Math.floor((768 * MiB) / LOKI_UNREACHABLE_SECONDS / 2 / 1024)}KB`);
    expect(lokiLimits(100 * GiB).ingestionRateMb).toBe('4');
    // A push of the log agent (1 MiB batches) always fits the burst.
    expect(Number(l.ingestionBurstMb)).toBeGreaterThan(1);
  });

  it('renders the budgets into .env for Compose: Prometheus size, Loki budget and rate flags', () => {
    const { rendered } = render({}, 8 * GiB);
    const env = rendered.files.find((f) => f.path === '.env')?.content.toString() ?? '';
    expect(env).toContain('METRICS_DISK_BUDGET=640MB');
    expect(env).toContain(`LOGS_DISK_BUDGET_BYTES=${768 * MiB}`);
    expect(env).toMatch(/^LOKI_INGESTION_RATE_MB=0\.2\d\d$/m);
  });
});

describe("the host's figures", () => {
  it("reads Docker's human sizes (powers of 1000)", () => {
    expect(humanBytes('186.5kB')).toBe(186_500);
    expect(humanBytes('1.2GB')).toBe(1_200_000_000);
    expect(humanBytes('610B')).toBe(610);
    expect(humanBytes('0B')).toBe(0);
  });

  it('parses df, docker system df -v, docker image inspect and du as the script prints them', () => {
    const out = [
      '@disk-fs root 1a2b 8310764 2097152 5021140 /',
      '@disk-fs docker 1a2b 8310764 2097152 5021140 /',
      '@disk-fs stack 1a2b 8310764 2097152 5021140 /',
      '@volume md-monitoring_loki-data 186.5kB',
      '@volume md-monitoring_prometheus-data 1.2GB',
      '@image 136620498 grafana/loki:3.6.15',
      '@du 88 /home/ec2-user/monitoring/logs/app',
    ].join('\n');
    // (the fields as printed: place, fs id, size KiB, available KiB, mount)
    const u = parseDiskUsage(out.replace(/(@disk-fs \S+ \S+) (\d+) \d+ (\d+)/g, '$1 $2 $3'), layout);
    expect(u.filesystems).toEqual([
      { place: 'root', id: '1a2b', mount: '/', sizeBytes: 8310764 * 1024, availBytes: 5021140 * 1024 },
      { place: 'docker', id: '1a2b', mount: '/', sizeBytes: 8310764 * 1024, availBytes: 5021140 * 1024 },
      { place: 'stack', id: '1a2b', mount: '/', sizeBytes: 8310764 * 1024, availBytes: 5021140 * 1024 },
    ]);
    expect(u.volumes).toEqual({ 'md-monitoring_loki-data': 186_500, 'md-monitoring_prometheus-data': 1_200_000_000 });
    expect(u.images).toEqual({ 'grafana/loki:3.6.15': 136620498 });
    expect(u.dirs).toEqual({ 'logs/app': 88 * 1024 });
  });

  it("runs on a real sh: df of three places, Docker's volume table, du", () => {
    // docker system df -v as Docker 20.10 to 28 print it (the images table comes first).
    const docker = `docker() { printf '%s\\n' 'Images space usage:' '' 'REPOSITORY TAG' 'sandbox/loki 3.6.15' '' 'Local Volumes space usage:' '' 'VOLUME NAME    LINKS   SIZE' 'md-monitoring_loki-data   2   186.5kB' '' 'Build cache usage: 0B'; }`;
    const script = `${docker}\n${diskUsageScript('docker', remoteLayout('/nonexistent/monitoring', '/root'), '/', [])}`;
    const r = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
    const u = parseDiskUsage(r.stdout, remoteLayout('/nonexistent/monitoring', '/root'));
    expect(u.filesystems.map((f) => f.place)).toEqual(['root', 'docker', 'stack']);
    // remote-dir does not exist yet: its nearest existing parent's filesystem is measured.
    expect(new Set(u.filesystems.map((f) => f.id)).size).toBe(1);
    expect(u.filesystems[0]?.sizeBytes).toBeGreaterThan(0);
    expect(u.volumes).toEqual({ 'md-monitoring_loki-data': 186_500 });
  });
});

/** The post's host: one 8 GiB volume, the OS on it, nothing of the stack yet. */
function host(freeBytes: number, sizeBytes = 8 * GiB): DiskUsage {
  const fs = (place: 'root' | 'docker' | 'stack') => ({
    place,
    id: 'xvda1',
    mount: '/',
    sizeBytes,
    availBytes: freeBytes,
  });
  return { filesystems: [fs('root'), fs('docker'), fs('stack')], volumes: {}, images: {}, dirs: {} };
}

describe('the budget on a host', () => {
  it("counts every item of the bundled stack once, on the one filesystem of the post's host", () => {
    const { settings, rendered } = render({}, 8 * GiB);
    const usage = host(6 * GiB);
    const items = budgetItems(budgetInputs(settings, rendered, usage, 8 * GiB, 0));
    expect(items.map((i) => i.what)).toEqual([
      'images to pull',
      'swap file',
      'Prometheus',
      'Loki',
      'container logs',
      'nginx log files',
      'app log files',
      'Grafana data',
      'stack files, releases, log positions',
    ]);
    expect(items.find((i) => i.what === 'swap file')?.capBytes).toBe(2 * GiB);
    expect(items.find((i) => i.what === 'Loki')?.capBytes).toBe(768 * MiB);
    expect(items.find((i) => i.what === 'container logs')?.capBytes).toBe(8 * 30 * MiB);
    const budget = diskBudget(items, usage);
    expect(budget.filesystems).toHaveLength(1);
    expect(budget.filesystems[0]?.places).toEqual(['root', 'docker', 'stack']);
  });

  it('refuses a stack that does not fit, naming what takes the room and the fixes', () => {
    const { settings, rendered } = render({}, 8 * GiB);
    const usage = host(5 * GiB);
    const budget = diskBudget(budgetItems(budgetInputs(settings, rendered, usage, 8 * GiB, 0)), usage);
    const error = diskBudgetError(budget);
    expect(error?.message).toMatch(
      /^The stack does not fit on the host's disk; nothing was changed:\n {2}the filesystem of \/ \(the swap file, Docker's images and volumes, remote-dir\) has 5\.0 GiB free; the stack may still take 6\.4 GiB there \(/,
    );
    for (const what of ['swap file 2.0 GiB', 'images to pull 2.0 GiB', 'Prometheus 768 MiB', 'Loki 768 MiB'])
      expect(error?.message).toContain(what);
    expect(error?.message).toMatch(/and 512 MiB stay free for the host: 1\.9 GiB short$/m);
    expect(error?.fix).toMatch(/^set a smaller swap-size \(e\.g\. 1G\), or a smaller logs-disk-budget/);
    expect(error?.fix).toMatch(/bigger volume \(at least [0-9.]+ GiB more/);
  });

  it('fits once the swap is smaller, and a redeploy counts only what may still grow', () => {
    const { settings, rendered } = render({ 'swap-size': '1G' }, 8 * GiB);
    // The post's host after the OS and Docker: about 6 GiB free.
    expect(
      diskBudgetError(
        diskBudget(budgetItems(budgetInputs(settings, rendered, host(6 * GiB), 8 * GiB, 0)), host(6 * GiB)),
      ),
    ).toBeUndefined();
    // Everything pulled, Loki at 700 MiB of its 768: the images and Loki's room no longer count.
    const images = Object.fromEntries(
      runningServices(rendered).map((s) => [settings.stack.images[s.name] ?? s.image?.value ?? '', 1]),
    );
    const usage = { ...host(3 * GiB), images, volumes: { 'md-monitoring_loki-data': 700 * MiB } };
    const items = budgetItems(budgetInputs(settings, rendered, usage, 8 * GiB, 1024 * 1024));
    expect(items.find((i) => i.what === 'images to pull')?.capBytes).toBe(0);
    expect(items.find((i) => i.what === 'Loki')?.usedBytes).toBe(700 * MiB);
    expect(items.some((i) => i.what === 'swap file')).toBe(false);
    const report = budgetReport(diskBudget(items, usage));
    expect(report.filesystems[0]).toMatch(/^\/ \(\/, Docker, remote-dir\): 3\.0 GiB free of 8\.0 GiB; .*: fits, /);
  });

  it('sums the memory limits against RAM and swap', () => {
    const { rendered } = render();
    const services = runningServices(rendered);
    const m = memoryBudget(services, 949 * MiB, 2 * GiB);
    expect(m.limitsBytes).toBe((512 + 64 + 256 + 48 + 256 + 32 + 64 + 448) * MiB);
    expect(m.fits).toBe(true);
    expect(memoryBudget(services, 949 * MiB, 0).fits).toBe(false);
  });
});
