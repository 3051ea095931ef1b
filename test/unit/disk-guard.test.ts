// disk-guard.sh, run once by the real busybox (the applets its container has: sh, find, stat,
// du, awk, sort) on directories laid out as Loki's volume, nginx's log segments and the log
// agent's positions files.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUSYBOX, requireProgram } from '../helpers/machine';

const SCRIPT = resolve(__dirname, '../../compose/disk-guard/disk-guard.sh');
const MiB = 1024 ** 2;

let applets = '';
beforeAll(() => {
  // The program this test picks from the machine: Debian's busybox-static, version-checked.
  const busybox = requireProgram(BUSYBOX);
  applets = mkdtempSync(join(tmpdir(), 'md-busybox-'));
  for (const a of ['sh', 'awk', 'find', 'stat', 'du', 'sort', 'cut', 'date', 'cat', 'mv', 'rm', 'ls', 'mkdir', 'sleep'])
    symlinkSync(busybox, join(applets, a));
});

interface Dirs {
  root: string;
  loki: string;
  out: string;
  nginx: string;
  agent: string;
}

function layout(): Dirs {
  const root = mkdtempSync(join(tmpdir(), 'md-disk-guard-'));
  const d = {
    root,
    loki: join(root, 'loki'),
    out: join(root, 'out'),
    nginx: join(root, 'nginx'),
    agent: join(root, 'agent'),
  };
  for (const p of [join(d.loki, 'chunks/fake/abc'), d.out, d.nginx, join(d.agent, 'promtail')])
    mkdirSync(p, { recursive: true });
  return d;
}

const now = () => Math.floor(Date.now() / 1000);

/** A file of this many bytes, last written this many minutes ago. */
function file(path: string, bytes: number, minutesAgo: number): void {
  writeFileSync(path, Buffer.alloc(bytes, 'x'));
  const t = now() - minutesAgo * 60;
  utimesSync(path, t, t);
}

function run(d: Dirs, env: Record<string, string>) {
  const r = spawnSync(join(applets, 'sh'), [SCRIPT], {
    encoding: 'utf8',
    env: {
      PATH: applets,
      DISK_GUARD_ONCE: '1',
      LOKI_DIR: d.loki,
      DISK_GUARD_DIR: d.out,
      NGINX_DIR: d.nginx,
      AGENT_DIR: d.agent,
      ...env,
    },
  });
  expect(r.status, r.stderr).toBe(0);
  const read = (f: string) => (readdirSync(d.out).includes(f) ? readFileSync(join(d.out, f), 'utf8') : '');
  return { stdout: r.stdout, overrides: read('loki-overrides.yaml'), status: read('status') };
}

describe('disk-guard: Loki within its budget', () => {
  it('leaves the configured retention while the volume is under the target', () => {
    const d = layout();
    file(join(d.loki, 'chunks/fake/abc/c1'), MiB, 10);
    const r = run(d, { LOKI_BUDGET_BYTES: String(100 * MiB) });
    expect(r.overrides).toBe('overrides: {}\n');
    expect(r.status).toMatch(/^loki_retention_minutes=10080$/m);
    expect(r.status).toMatch(/^loki_budget_kib=102400$/m);
    expect(Number(/^loki_kib=(\d+)$/m.exec(r.status)?.[1])).toBeGreaterThanOrEqual(1024);
  });

  it('lowers retention to the age of the newest chunks that fit in the target, so older ones go', () => {
    const d = layout();
    // Four 1 MiB chunks, written 10, 70, 130 and 190 minutes ago, and 1 MiB of WAL.
    for (const [i, age] of [10, 70, 130, 190].entries()) file(join(d.loki, `chunks/fake/abc/c${i}`), MiB, age);
    mkdirSync(join(d.loki, 'wal'));
    file(join(d.loki, 'wal/00000001'), MiB, 1);
    // 60% of 6 MiB is 3.6 MiB: the WAL (1 MiB) and the two newest chunks fit, the third does not.
    const r = run(d, { LOKI_BUDGET_BYTES: String(6 * MiB) });
    const minutes = Number(/retention_period: (\d+)m/.exec(r.overrides)?.[1]);
    expect(minutes).toBeGreaterThanOrEqual(129);
    expect(minutes).toBeLessThanOrEqual(130);
    expect(r.overrides).toBe(`overrides:\n  fake:\n    retention_period: ${minutes}m\n`);
    expect(r.stdout).toContain(`retention lowered to ${minutes}m`);
  });

  it('keeps only what the current period holds when even the newest chunks exceed the target', () => {
    const d = layout();
    file(join(d.loki, 'chunks/fake/abc/c0'), 4 * MiB, 30);
    const r = run(d, { LOKI_BUDGET_BYTES: String(4 * MiB) });
    expect(r.overrides).toContain('retention_period: 30m');
  });

  it('does nothing about Loki where there is none (an agent host)', () => {
    const d = layout();
    const r = run(d, { LOKI_BUDGET_BYTES: '0' });
    expect(readdirSync(d.out).sort()).toEqual(['status']);
    expect(r.status).not.toContain('loki_');
  });
});

describe("disk-guard: nginx's log segments", () => {
  function segments(d: Dirs) {
    file(join(d.nginx, 'access-20261201T000000.log'), 3000, 120); // read to its end
    file(join(d.nginx, 'access-20261201T010000.log'), 5000, 60); // read to its end: the newest, kept
    file(join(d.nginx, 'error-20261201T000000.log'), 4000, 120); // read halfway: kept
    file(join(d.nginx, 'error-20261201T010000.log'), 100, 60);
    file(join(d.nginx, 'access.log'), 700, 300); // an older deploy's, read to its end
    file(join(d.nginx, 'monitoring-deploy-canary-abc.log'), 80, 300); // the gate's: not disk-guard's
    file(join(d.nginx, 'other-20261201T000000.log'), 10, 0); // written just now: kept
    file(join(d.nginx, 'other-20261201T020000.log'), 10, 0);
  }
  const offsets = {
    'access-20261201T000000.log': 3000,
    'access-20261201T010000.log': 5000,
    'error-20261201T000000.log': 2000,
    'access.log': 700,
    'monitoring-deploy-canary-abc.log': 80,
    'other-20261201T000000.log': 10,
  };

  it('removes segments nginx moved on from and Promtail read to their end; keeps the rest', () => {
    const d = layout();
    segments(d);
    writeFileSync(
      join(d.agent, 'promtail/positions.yaml'),
      `positions:\n${Object.entries(offsets)
        .map(([f, o]) => `  ${d.nginx}/${f}: "${o}"\n`)
        .join('')}`,
    );
    const r = run(d, { LOKI_BUDGET_BYTES: '0' });
    expect(readdirSync(d.nginx).sort()).toEqual([
      'access-20261201T010000.log',
      'error-20261201T000000.log',
      'error-20261201T010000.log',
      'monitoring-deploy-canary-abc.log',
      'other-20261201T000000.log',
      'other-20261201T020000.log',
    ]);
    expect(r.stdout).toContain('removed 2 log segment(s)');
    expect(r.status).toMatch(/^nginx_kib=\d+$/m);
  });

  it("reads Alloy's positions file too (entries keyed by path and labels)", () => {
    const d = layout();
    segments(d);
    mkdirSync(join(d.agent, 'alloy/loki.source.file.logs'), { recursive: true });
    writeFileSync(
      join(d.agent, 'alloy/loki.source.file.logs/positions.yml'),
      `positions:\n${Object.entries(offsets)
        .map(([f, o]) => `  ? path: ${d.nginx}/${f}\n    labels: '{job="nginx_log"}'\n  : "${o}"\n`)
        .join('')}`,
    );
    run(d, { LOKI_BUDGET_BYTES: '0' });
    const left = readdirSync(d.nginx);
    expect(left).not.toContain('access-20261201T000000.log');
    expect(left).not.toContain('access.log');
    expect(left).toContain('error-20261201T000000.log');
  });

  it('after a Promtail → Alloy switch, a segment with several entries counts as read as far as the furthest says', () => {
    const d = layout();
    segments(d);
    // Promtail's last positions, stopped while the segment was half read.
    writeFileSync(
      join(d.agent, 'promtail/positions.yaml'),
      `positions:\n  ${d.nginx}/access-20261201T000000.log: "1500"\n`,
    );
    // Alloy: the copy it converted from Promtail's (labels "{}"), then its own as it read on.
    mkdirSync(join(d.agent, 'alloy/loki.source.file.logs'), { recursive: true });
    writeFileSync(
      join(d.agent, 'alloy/loki.source.file.logs/positions.yml'),
      `positions:\n  ? path: ${d.nginx}/access-20261201T000000.log\n    labels: '{}'\n  : "1500"\n` +
        `  ? path: ${d.nginx}/access-20261201T000000.log\n    labels: '{host="dev", job="nginx_log"}'\n  : "3000"\n` +
        `  ? path: ${d.nginx}/error-20261201T000000.log\n    labels: '{}'\n  : "2000"\n`,
    );
    run(d, { LOKI_BUDGET_BYTES: '0' });
    const left = readdirSync(d.nginx);
    expect(left).not.toContain('access-20261201T000000.log');
    expect(left).toContain('error-20261201T000000.log');
  });

  it('removes nothing that no positions file vouches for (no agent, or it has not read it)', () => {
    const d = layout();
    segments(d);
    const before = readdirSync(d.nginx).sort();
    run(d, { LOKI_BUDGET_BYTES: '0' });
    expect(readdirSync(d.nginx).sort()).toEqual(before);
  });
});
