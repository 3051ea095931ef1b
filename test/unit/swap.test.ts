// The swap script, run by this machine's own sh as the host runs it (through invocation()), with
// the commands that would change the machine (dd, fallocate, mkswap, swapon, tee) replaced by
// shims in a temp dir at the front of PATH: each records its call in a log, and writes or fails
// as the test says. The swap file lives in a temp dir, never at the real path.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { invocation } from '../../src/connection/shell';
import { SWAP_FILE, swapError, swapScript } from '../../src/host/swap';

const MiB = 1024 ** 2;
const activeKb = () =>
  readFileSync('/proc/swaps', 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .reduce((n, l) => n + Number(l.split(/\s+/)[2] ?? 0), 0);

/** A df that reports this many KiB available on any path, in POSIX format. */
const df = (availKb: number) =>
  `echo 'Filesystem 1024-blocks Used Available Capacity Mounted on'; echo "/dev/shim 999999999 1 ${availKb} 1% /"`;
/** The of= (dd) or last (fallocate, mkswap, swapon) argument: the file. */
const target = `f=; for a; do case "$a" in of=*) f="\${a#of=}"; break;; *) f="$a";; esac; done`;
const ok = 'exit 0';
const fails = (message: string) => `echo "${message}" >&2; exit 1`;
const writesPart = `${target}; printf 'partial' > "$f"`;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  /** The shimmed commands that ran, one "name args" line each. */
  calls: string[];
  file: string;
}

function runSwap(want: number, shims: Record<string, string>, before?: (file: string) => void): Run {
  const dir = mkdtempSync(join(tmpdir(), 'md-swap-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const log = join(dir, 'calls');
  writeFileSync(log, '');
  const all: Record<string, string> = { dd: ok, fallocate: ok, mkswap: ok, swapon: fails('no swapon here'), tee: ok };
  for (const [name, body] of Object.entries({ ...all, ...shims })) {
    writeFileSync(join(bin, name), `#!/bin/sh\necho "${name} $*" >> '${log}'\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  const file = join(dir, 'swapfile');
  before?.(file);
  const script = swapScript(want, '', file);
  // Never the real swap file: the script must work on the file it is given.
  expect(script).toContain(file);
  expect(script).not.toContain(SWAP_FILE);
  const { command, stdin } = invocation(script);
  const r = spawnSync('sh', ['-c', command], {
    input: stdin,
    encoding: 'utf8',
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
  });
  const calls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, calls, file };
}

describe('swap script on a real sh', () => {
  it('refuses a swap size above the free disk (minus 1 GiB) before writing anything', () => {
    const want = activeKb() * 1024 + 2048 * MiB;
    // 1.5 GiB free: 2 GiB more swap does not fit, and neither would 0.5 GiB plus the margin.
    const r = runSwap(want, { df: df(1536 * 1024) }, (file) => writeFileSync(file, 'an old, too small swap file'));
    expect(r.status).toBe(8);
    expect(r.calls.filter((c) => !c.startsWith('df '))).toEqual([]);
    // Not even the old file was removed.
    expect(readFileSync(r.file, 'utf8')).toBe('an old, too small swap file');
    const e = swapError({ code: r.status, stdout: r.stdout, stderr: r.stderr }, want);
    expect(e?.message).toMatch(/swap-size 2\d{3} MiB does not fit/);
    expect(e?.message).toContain('1536 MiB free');
    expect(e?.message).toContain('Nothing was changed');
    expect(e?.fix).toMatch(/set swap-size to at most \d+M/);
    expect(e?.fix).toContain('swap-size: 0');
  });

  it('removes a partial swap file when dd fails, and says why', () => {
    const r = runSwap(activeKb() * 1024 + 64 * MiB, {
      df: df(100 * 1024 * 1024),
      fallocate: fails('fallocate: fallocate failed: Operation not supported'),
      dd: `${writesPart}; ${fails("dd: error writing '$f': No space left on device")}`,
    });
    expect(r.status).toBe(9);
    expect(r.calls.some((c) => c.startsWith('dd '))).toBe(true);
    expect(existsSync(r.file)).toBe(false);
    expect(r.stderr).toContain('No space left on device');
    expect(r.stderr).toContain(`${r.file} was removed`);
    expect(r.calls.some((c) => c.startsWith('swapon ') || c.startsWith('tee '))).toBe(false);
    const e = swapError({ code: r.status, stdout: r.stdout, stderr: r.stderr }, 64 * MiB);
    expect(e?.message).toMatch(/^Making the swap file failed on the host[\s\S]*No space left on device/);
  });

  it.each([
    ['mkswap', 'mkswap: error: swap area needs to be at least 40 KiB'],
    ['swapon', 'swapon: Invalid argument'],
  ])('removes the swap file when %s fails, and never writes fstab then', (command, message) => {
    const r = runSwap(activeKb() * 1024 + 64 * MiB, {
      df: df(100 * 1024 * 1024),
      fallocate: `${writesPart}; ${ok}`,
      [command]: fails(message),
    });
    expect(r.status).toBe(9);
    expect(existsSync(r.file)).toBe(false);
    expect(r.stderr).toContain(message);
    expect(r.calls.some((c) => c.startsWith('tee '))).toBe(false);
  });
});
