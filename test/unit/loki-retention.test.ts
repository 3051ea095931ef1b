// The other half of disk-guard, against the real Loki (realbin, as a local process, with the
// stack's loki-dev-config.yml and the flags of its compose file): the runtime overrides file it
// writes makes Loki's compactor delete, within minutes, the chunks that ended before the
// retention it names, and keep the newer ones. (disk-guard's choice of that retention is
// tested with the real busybox in disk-guard.test.ts.)
//
// Loki's ingester ships its index every 15 minutes, and retention reaches a chunk only once its
// index is shipped; it also ships the index when it stops. The test stops and starts Loki once,
// after the chunks were flushed, instead of waiting up to 15 minutes.
import { type ChildProcess, spawn } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePorts, realbin, unpacked } from '../helpers/realbin';

const LOKI = realbin('loki', 'loki-retention');
const work = mkdtempSync(join(tmpdir(), 'md-loki-retention-'));
let loki: ChildProcess | undefined;

afterAll(() => {
  loki?.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, seconds: number, fn: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    // A look that throws (the chunks directory not made yet) is a look that found nothing yet.
    if (await (async () => fn())().catch(() => false)) return;
    await sleep(1000);
  }
  const log = readFileSync(join(work, 'loki.log'), 'utf8').split('\n').slice(-15).join('\n');
  throw new Error(`${what} did not happen within ${seconds}s; Loki's log ends:\n${log}`);
}

/** Chunk files of the store, by size. */
function chunkFiles(): { path: string; bytes: number }[] {
  const root = join(work, 'data/chunks/fake');
  const out: { path: string; bytes: number }[] = [];
  for (const dir of readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()))
    for (const f of readdirSync(join(root, dir.name)))
      out.push({ path: f, bytes: statSync(join(root, dir.name, f)).size });
  return out;
}

describe.skipIf(!LOKI)("Loki's retention from disk-guard's overrides file (the real Loki)", () => {
  it('deletes the chunks older than the retention it names and keeps the newer, without a restart for the new value', async () => {
    const bin = await unpacked(LOKI as string);
    const [http, grpc] = await freePorts(2);
    const config = readFileSync(resolve(__dirname, '../../compose/loki-dev-config.yml'), 'utf8')
      .replace(/\/loki\b/g, join(work, 'data'))
      .replace('http_listen_port: 3100', `http_listen_port: ${http}\n  http_listen_address: 127.0.0.1`)
      .replace('grpc_listen_port: 9096', `grpc_listen_port: ${grpc}\n  grpc_listen_address: 127.0.0.1`);
    writeFileSync(join(work, 'loki.yml'), config);
    mkdirSync(join(work, 'disk-guard'));
    const overrides = join(work, 'disk-guard/loki-overrides.yaml');
    writeFileSync(overrides, 'overrides: {}\n');
    const url = `http://127.0.0.1:${http}`;
    const startLoki = () => {
      // The compose file's flags (rate limits as for a 768 MiB budget), and no 15 s ready wait.
      loki = spawn(
        bin,
        [
          `-config.file=${join(work, 'loki.yml')}`,
          `-runtime-config.file=${overrides}`,
          '-distributor.ingestion-rate-limit-mb=0.291',
          '-distributor.ingestion-burst-size-mb=2',
          '-ingester.min-ready-duration=1s',
        ],
        { stdio: ['ignore', openSync(join(work, 'loki.log'), 'a'), openSync(join(work, 'loki.log'), 'a')] },
      );
    };
    startLoki();
    await until('Loki ready', 60, async () => (await fetch(`${url}/ready`)).ok);

    // An old stream (its lines 3 to 2 hours ago) and a new one (a minute ago), flushed to chunks.
    const now = Date.now();
    const stream = (job: string, from: number, n: number) => ({
      stream: { job },
      values: Array.from({ length: n }, (_, i) => [
        String(BigInt(from + i * 1000) * 1_000_000n),
        `${job} ${i} ${'x'.repeat(200)}`,
      ]),
    });
    const push = await fetch(`${url}/loki/api/v1/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ streams: [stream('old', now - 3 * 3_600_000, 3000), stream('new', now - 60_000, 50)] }),
    });
    expect(push.status).toBe(204);
    expect((await fetch(`${url}/flush`, { method: 'POST' })).status).toBe(204);
    await until('the chunks written', 30, () => chunkFiles().length >= 2);
    const before = chunkFiles();
    const newest = Math.min(...before.map((c) => c.bytes));

    // Loki ships its index when it stops; started again, it reads the overrides as it runs.
    loki?.kill('SIGTERM');
    await new Promise((r) => loki?.once('exit', r));
    startLoki();
    await until('Loki ready again', 60, async () => (await fetch(`${url}/ready`)).ok);
    // What disk-guard writes when the newest chunks that fit end an hour back.
    writeFileSync(`${overrides}.tmp`, 'overrides:\n  fake:\n    retention_period: 60m\n');
    renameSync(`${overrides}.tmp`, overrides);

    // Retention runs every 1.5 minutes and deletes what it marked 2 minutes later.
    await until('the old chunks deleted', 420, () => chunkFiles().length < before.length);
    const after = chunkFiles();
    expect(after.length).toBeGreaterThanOrEqual(1);
    // The new stream's chunk (the smallest: 50 lines) is the one left.
    expect(after.every((c) => c.bytes <= newest)).toBe(true);
    expect(before.reduce((n, c) => n + c.bytes, 0)).toBeGreaterThan(10 * after.reduce((n, c) => n + c.bytes, 0));
  }, 600_000);
});
