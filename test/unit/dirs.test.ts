// The Directories step's scripts on this machine's own sh, in a temp dir, as the host runs them
// (through invocation(), as the login user): what they make, with which mode, and what they
// leave alone.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { invocation } from '../../src/connection/shell';
import { type DirsWanted, dirsScript, dirsState } from '../../src/host/dirs';
import { remoteLayout } from '../../src/model/layout';
import { privateTempDir } from '../helpers/private-tmp';

function sh(script: string): string {
  const { command, stdin } = invocation(script);
  return execFileSync('sh', ['-c', command], { input: stdin, encoding: 'utf8' });
}

function wanted(): DirsWanted {
  const home = privateTempDir('md-dirs-');
  return { layout: remoteLayout('~/monitoring', home), generatePassword: false, secretKey: false, agent: false };
}

const mode = (path: string) => statSync(path).mode & 0o7777;
const missing = (w: DirsWanted) =>
  sh(dirsState(w))
    .split('\n')
    .filter((l) => l.startsWith('@missing '));

describe('the directories script on a real sh', () => {
  it('makes logs/app writable by any user but sticky: one user cannot delete or replace what another wrote', () => {
    const w = wanted();
    sh(dirsScript(w));
    const { logsDir, dataDir, secretsDir, root } = w.layout;
    expect(mode(join(logsDir, 'app'))).toBe(0o1777);
    expect(mode(join(logsDir, 'nginx'))).toBe(0o755);
    expect(mode(secretsDir)).toBe(0o700);
    expect(mode(dataDir)).toBe(0o755);
    expect(mode(root)).toBe(0o700);
    expect(missing(w)).toEqual([]);
  });

  it('leaves the mode of a directory it did not make, and adds only the sticky bit to a logs/app an older deploy made 777', () => {
    const w = wanted();
    const { logsDir } = w.layout;
    mkdirSync(join(logsDir, 'nginx'), { recursive: true });
    chmodSync(join(logsDir, 'nginx'), 0o750);
    mkdirSync(join(logsDir, 'app'));
    chmodSync(join(logsDir, 'app'), 0o777);
    expect(missing(w)).toContain(`@missing ${join(logsDir, 'app')}`);
    const out = sh(dirsScript(w));
    expect(out).toContain(join(logsDir, 'app'));
    expect(mode(join(logsDir, 'nginx'))).toBe(0o750);
    expect(mode(join(logsDir, 'app'))).toBe(0o1777);
    expect(missing(w)).toEqual([]);

    // Someone chose 775 for it: kept, and not reported as missing.
    chmodSync(join(logsDir, 'app'), 0o775);
    expect(missing(w)).toEqual([]);
    sh(dirsScript(w));
    expect(mode(join(logsDir, 'app'))).toBe(0o775);
  });
});
