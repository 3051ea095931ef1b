// The app-logs look, run by this machine's sh as the host runs it, with a stand-in `docker`
// that answers inspect with a StartedAt the test chooses.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { invocation } from '../../src/connection/shell';
import { appLogsScript } from '../../src/health/app-logs';

function look(startedAgoSec: number, fileAgoSec: number | undefined): { files: number; since: number } {
  const dir = mkdtempSync(join(tmpdir(), 'app-logs-'));
  const logs = join(dir, 'logs');
  mkdirSync(join(logs, 'info'), { recursive: true });
  const now = Date.now() / 1000;
  if (fileAgoSec !== undefined) {
    const f = join(logs, 'info', 'info.log');
    writeFileSync(f, 'a line\n');
    utimesSync(f, now - fileAgoSec, now - fileAgoSec);
  }
  const started = new Date((now - startedAgoSec) * 1000).toISOString();
  const docker = join(dir, 'docker');
  writeFileSync(docker, `#!/bin/sh\ncase "$3" in *StartedAt*) echo ${started} ;; *WorkingDir*) echo /app ;; esac\n`);
  chmodSync(docker, 0o755);
  const { command, stdin } = invocation(appLogsScript(docker, 'server', logs));
  const out = execFileSync('sh', ['-c', command], { input: stdin, encoding: 'utf8' });
  const m = /^@app (\d+) (-?\d+) \/app$/m.exec(out);
  if (!m) throw new Error(`no @app line in ${out}`);
  return { files: Number(m[1]), since: Number(m[2]) };
}

describe('the app-logs look', () => {
  it('counts a file written since the app started, and one written as it started (Docker records StartedAt late)', () => {
    expect(look(60, 10).files).toBe(1);
    expect(look(3, 4).files).toBe(1);
  });

  it('counts no file written well before the start, nor an empty directory', () => {
    expect(look(60, 120)).toEqual({ files: 0, since: 60 });
    expect(look(60, undefined).files).toBe(0);
  });
});
