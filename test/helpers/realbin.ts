// The real programs of the realbin directory (SANDBOX_REALBIN, ../shared/realbin,
// /work/shared/realbin), as the sandbox builds its images from them, for tests that run them as
// local processes.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, renameSync, statSync } from 'node:fs';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

const REPO = resolve(__dirname, '../..');

/** Where a realbin program's .xz is; undefined (and said, naming who skips) when there is none. */
export function realbin(name: string, who: string): string | undefined {
  const dirs = [process.env.SANDBOX_REALBIN, resolve(REPO, '../shared/realbin'), '/work/shared/realbin'];
  const xz = dirs
    .filter(Boolean)
    .map((d) => `${d}/${name}.xz`)
    .find(existsSync);
  if (!xz) console.warn(`${who}: no ${name}.xz in ${dirs.filter(Boolean).join(', ')}: its tests are skipped`);
  return xz;
}

/** The program of a .xz, unpacked once per file (by size and time) and kept in the temp directory. */
export async function unpacked(xz: string): Promise<string> {
  const { size, mtimeMs } = statSync(xz);
  const dir = join(tmpdir(), 'md-realbin');
  mkdirSync(dir, { recursive: true });
  const bin = join(dir, `${basename(xz, '.xz')}-${size}-${Math.round(mtimeMs)}`);
  if (existsSync(bin)) return bin;
  const part = `${bin}.${process.pid}.part`;
  const out = openSync(part, 'w', 0o755);
  try {
    await new Promise<void>((ok, fail) => {
      const xzp = spawn('xz', ['-dc', xz], { stdio: ['ignore', out, 'inherit'] });
      xzp.once('error', fail);
      xzp.once('exit', (code) => (code === 0 ? ok() : fail(new Error(`xz -dc ${xz} exited with ${code}`))));
    });
  } finally {
    closeSync(out);
  }
  renameSync(part, bin);
  return bin;
}

/** Ports free on loopback, all different (each held until all are known). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Server>((ok) => {
          const s = createServer().listen(0, '127.0.0.1', () => ok(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((ok) => s.close(ok))));
  return ports;
}
