// The app-logs look, run by this machine's sh as the host runs it, with a stand-in `docker`
// that answers inspect with a StartedAt the test chooses.
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { invocation } from '../../src/connection/shell';
import { appLogsScript } from '../../src/health/app-logs';

interface Look {
  /** How long ago the app started, in seconds. */
  readonly startedAgo: number;
  /** A file last written this many seconds ago, if any. */
  readonly fileAgo?: number;
  /** A file the app writes this many seconds after the look begins, if any. */
  readonly writesIn?: number;
  readonly settleSec?: number;
}

async function look(l: Look): Promise<{ files: number; since: number; tookMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'app-logs-'));
  const logs = join(dir, 'logs');
  mkdirSync(join(logs, 'info'), { recursive: true });
  const now = Date.now() / 1000;
  if (l.fileAgo !== undefined) {
    const f = join(logs, 'info', 'old.log');
    writeFileSync(f, 'a line\n');
    utimesSync(f, now - l.fileAgo, now - l.fileAgo);
  }
  const started = new Date((now - l.startedAgo) * 1000).toISOString();
  const docker = join(dir, 'docker');
  writeFileSync(docker, `#!/bin/sh\ncase "$3" in *StartedAt*) echo ${started} ;; *WorkingDir*) echo /app ;; esac\n`);
  chmodSync(docker, 0o755);
  const later =
    l.writesIn === undefined
      ? undefined
      : setTimeout(() => writeFileSync(join(logs, 'info', 'info.log'), 'a new line\n'), l.writesIn * 1000);
  const { command, stdin } = invocation(appLogsScript(docker, 'server', logs, l.settleSec));
  const t0 = Date.now();
  const child = promisify(execFile)('sh', ['-c', command], { encoding: 'utf8' });
  child.child.stdin?.end(stdin);
  const { stdout } = await child;
  clearTimeout(later);
  const m = /^@app (\d+) (-?\d+) \/app$/m.exec(stdout);
  if (!m) throw new Error(`no @app line in ${stdout}`);
  return { files: Number(m[1]), since: Number(m[2]), tookMs: Date.now() - t0 };
}

describe('the app-logs look', () => {
  it('counts a file written since the app started, at once', async () => {
    const r = await look({ startedAgo: 60, fileAgo: 10 });
    expect(r.files).toBe(1);
    expect(r.tookMs).toBeLessThan(2000);
  });

  it('counts no file written before the start (the container it replaced wrote it), nor an empty directory', async () => {
    expect(await look({ startedAgo: 60, fileAgo: 61 })).toMatchObject({ files: 0, since: 60 });
    expect((await look({ startedAgo: 60 })).files).toBe(0);
  });

  it('an app started moments ago: waits for its first line up to settleSec after its start', async () => {
    // The app's next line comes 2 s into the look: found.
    expect((await look({ startedAgo: 1, fileAgo: 2, writesIn: 2, settleSec: 6 })).files).toBe(1);
    // Nothing comes: it gives up once the app has run settleSec, and says how long that was.
    const quiet = await look({ startedAgo: 1, fileAgo: 2, settleSec: 3 });
    expect(quiet.files).toBe(0);
    expect(quiet.since).toBeGreaterThanOrEqual(3);
  }, 15_000);
});
