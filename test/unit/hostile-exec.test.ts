// Issue 25, finding 12: `exec -- ls 'a b;id'` ran `id` (the words were joined with spaces for the
// host's shell). The command lines are run here by a real `sh`, as the login shell runs them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { execCommandLine } from '../../src/connection/shell';

const sh = (line: string, cwd?: string) => execFileSync('sh', ['-c', line], { encoding: 'utf8', cwd });

/** A directory holding one file whose name a shell would split and run. */
function dirWithHostileName(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hostile-exec-'));
  writeFileSync(join(dir, 'a b;id'), '');
  return dir;
}

const HOSTILE_WORDS = [
  'a b;id',
  '$(id)',
  '`id`',
  "it's",
  '"quoted"',
  'line\nbreak',
  '*',
  '',
  '-n',
  '\\',
  '&& id',
  '|id',
  '~',
];

describe('execCommandLine', () => {
  it('several words reach the command as the same words, none read by the shell', () => {
    const line = execCommandLine(['printf', '[%s]\\n', ...HOSTILE_WORDS]);
    expect(sh(line)).toBe(HOSTILE_WORDS.map((w) => `[${w}]\n`).join(''));
  });

  it('ls with a name holding a space and a ";" lists that one file and runs no id', () => {
    const dir = dirWithHostileName();
    expect(sh(execCommandLine(['ls', 'a b;id']), dir)).toBe('a b;id\n');
    // What joining with spaces did: ls of "a" and "b", then id.
    expect(sh(['ls', 'a b;id'].join(' '), dir)).toMatch(/uid=\d+/);
  });

  it('one word is a shell line as written (pipes and ; work)', () => {
    expect(sh(execCommandLine(['echo one; echo two | tr a-z A-Z']))).toBe('one\nTWO\n');
  });
});

// The CLI's `exec` with the connection replaced: what it hands to the host is run by sh.
const sent: string[] = [];
vi.mock('../../src/engine/inspect', () => ({
  runExec: async (_settings: unknown, _log: unknown, command: string) => {
    sent.push(command);
    return { stdout: '', stderr: '', code: 0 };
  },
  runFetch: async () => undefined,
  runPreflight: async () => undefined,
}));

describe("the CLI's exec command", () => {
  it('sends a line that runs ls with the one argument "a b;id"', async () => {
    const { main } = await import('../../src/cli/main');
    const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----';
    const flags = ['--host', '127.0.0.1', '--username', 'u', '--insecure-skip-host-key-check', 'true'];
    const code = await main(['exec', ...flags, '--', 'ls', 'a b;id'], { MONITORING_DEPLOY_SSH_KEY: key });
    expect(code).toBe(0);
    expect(sent).toEqual(["'ls' 'a b;id'"]);
    expect(sh(sent[0] ?? '', dirWithHostileName())).toBe('a b;id\n');
  });
});
