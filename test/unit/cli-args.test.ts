// Finding 16: the command line's own errors name the flag and the fix, with no usage dump.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCliArgs } from '../../src/cli/args';
import { problemsOf as problemsOfRead } from '../helpers/settings';

const problemsOf = (argv: string[]) => problemsOfRead(() => parseCliArgs(argv, {}));

describe('parseCliArgs', () => {
  it('names a secret file that cannot be read, and why', () => {
    expect(problemsOf(['deploy', '--ssh-key-file', '/nonexistent'])).toEqual([
      'ssh-key-file: cannot read /nonexistent (no such file)',
    ]);
    expect(problemsOf(['deploy', '--ssh-key-file', tmpdir()])).toEqual([
      `ssh-key-file: cannot read ${tmpdir()} (it is a directory)`,
    ]);
  });

  it('reports every unreadable file at once', () => {
    expect(
      problemsOf(['deploy', '--ssh-key-file', '/nonexistent/a', '--push-password-file', '/nonexistent/b']),
    ).toEqual([
      'ssh-key-file: cannot read /nonexistent/a (no such file)',
      'push-password-file: cannot read /nonexistent/b (no such file)',
    ]);
  });

  it('reads a secret file, without its final newline', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-args-'));
    writeFileSync(join(dir, 'pw'), 'pass-word\n');
    chmodSync(join(dir, 'pw'), 0o600);
    expect(parseCliArgs(['deploy', '--push-password-file', join(dir, 'pw')], {}).raw['push-password']).toBe(
      'pass-word',
    );
  });

  it('says how to pass a value that starts with "-" (a pasted key)', () => {
    const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----';
    expect(problemsOf(['deploy', '--ssh-key', key])).toEqual([
      'ssh-key: the value starts with "-", so it reads as another flag; use --ssh-key-file PATH, or write --ssh-key=VALUE',
    ]);
    expect(parseCliArgs(['deploy', `--ssh-key=${key}`], {}).raw['ssh-key']).toBe(key);
    expect(problemsOf(['deploy', '--port', '-1'])).toEqual([
      'port: the value starts with "-", so it reads as another flag; write --port=VALUE',
    ]);
  });

  it('names a flag without its value, and an unknown flag', () => {
    expect(problemsOf(['deploy', '--port'])).toEqual(['port: --port needs a value']);
    expect(problemsOf(['deploy', '--colour', 'red'])).toEqual([
      'unknown flag --colour (monitoring-deploy --help lists the flags)',
    ]);
  });
});
