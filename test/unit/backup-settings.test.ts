// backup and restore's inputs, read once with the others: what each command needs, refused
// before any connection (the CLI exits 2), and the key kept out of every line.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main';
import { readSettings, secretValues } from '../../src/settings/settings';
import { privateTempDir } from '../helpers/private-tmp';
import { problemsOf as problemsOfRead } from '../helpers/settings';

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----';
const FP = `SHA256:${'x'.repeat(43)}`;
const base = { host: 'dev.example.com', username: 'ec2-user', 'ssh-key': KEY, 'host-fingerprint': FP };
const BACKUP_KEY = 'a-backup-passphrase-0123';
const problemsOf = (raw: Record<string, string>) => problemsOfRead(() => readSettings(raw));

describe('backup and restore inputs', () => {
  it('backup needs backup-key, at least 16 characters on one line', () => {
    expect(problemsOf({ ...base, command: 'backup' })).toEqual([
      'backup-key: backup needs it (from a secret): the passphrase the archive is encrypted with, at least 16 characters',
    ]);
    expect(problemsOf({ ...base, command: 'backup', 'backup-key': 'short-key' })).toEqual([
      'backup-key: must be at least 16 characters (a random one, e.g. `openssl rand -base64 24`)',
    ]);
    expect(problemsOf({ ...base, command: 'backup', 'backup-key': `${BACKUP_KEY}\nsecond line` })[0]).toMatch(
      /^backup-key: must be one line/,
    );
    const s = readSettings({ ...base, command: 'backup', 'backup-key': BACKUP_KEY });
    expect(s.backup).toEqual({
      key: BACKUP_KEY,
      path: undefined,
      include: [],
      restoreFrom: undefined,
      overwrite: false,
    });
    // A deploy is not asked for it.
    expect(problemsOf(base)).toEqual([]);
  });

  it('backup-include takes prometheus and loki only; backup-path a file in a directory that exists', () => {
    const dir = privateTempDir('md-bset-');
    const ok = { ...base, command: 'backup', 'backup-key': BACKUP_KEY };
    expect(readSettings({ ...ok, 'backup-include': 'loki, prometheus' }).backup.include).toEqual([
      'loki',
      'prometheus',
    ]);
    expect(problemsOf({ ...ok, 'backup-include': 'grafana' })[0]).toMatch(
      /^backup-include: "grafana" is not one of prometheus, loki/,
    );
    expect(readSettings({ ...ok, 'backup-path': join(dir, 'b.age') }).backup.path).toBe(join(dir, 'b.age'));
    expect(problemsOf({ ...ok, 'backup-path': join(dir, 'no/such/b.age') })).toEqual([
      `backup-path: the directory "${join(dir, 'no/such')}" does not exist (make it first)`,
    ]);
    mkdirSync(join(dir, 'sub'));
    expect(problemsOf({ ...ok, 'backup-path': join(dir, 'sub') })[0]).toMatch(/is a directory; give the file's name/);
  });

  it('restore needs backup-key and restore-from, a file that can be read; restore-overwrite a boolean', () => {
    const dir = privateTempDir('md-rset-');
    const archive = join(dir, 'b.age');
    writeFileSync(archive, 'age-encryption.org/v1\n');
    expect(problemsOf({ ...base, command: 'restore' })).toEqual([
      'backup-key: restore needs it (from a secret): the passphrase the archive is opened with, at least 16 characters',
      'restore-from: restore needs the archive to put on the host (a file a backup wrote)',
    ]);
    const restoreWith = (more: Record<string, string>) => ({
      ...base,
      command: 'restore',
      'backup-key': BACKUP_KEY,
      ...more,
    });
    expect(problemsOf(restoreWith({ 'restore-from': join(dir, 'nope') }))).toEqual([
      `restore-from: cannot read "${join(dir, 'nope')}" (no such file)`,
    ]);
    expect(problemsOf(restoreWith({ 'restore-from': dir }))[0]).toMatch(/is not a file/);
    expect(problemsOf(restoreWith({ 'restore-from': archive, 'restore-overwrite': 'yes please' }))[0]).toMatch(
      /^restore-overwrite:/,
    );
    expect(readSettings(restoreWith({ 'restore-from': archive, 'restore-overwrite': 'true' })).backup).toMatchObject({
      restoreFrom: archive,
      overwrite: true,
    });
    expect(problemsOf(restoreWith({ 'restore-from': archive, hosts: 'name=a role=monitoring host=h' }))).toContain(
      'hosts: restore works on one host; give host (run one restore per host)',
    );
  });

  it('backup-key is a secret: masked and redacted', () => {
    expect(secretValues({ 'backup-key': BACKUP_KEY })).toContain(BACKUP_KEY);
  });
});

describe('the CLI', () => {
  const stderr: string[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    stderr.length = 0;
  });
  const run = (argv: string[]) => {
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
      stderr.push(String(s));
      return true;
    });
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    return main(argv, {});
  };
  const flags = ['--host', 'dev.example.com', '--username', 'ec2-user', `--ssh-key=${KEY}`, '--host-fingerprint', FP];

  it('exits 2 before connecting for a missing or short backup-key, and restore without an archive', async () => {
    expect(await run(['backup', ...flags])).toBe(2);
    expect(stderr.join('')).toMatch(/backup-key: backup needs it/);
    stderr.length = 0;
    expect(await run(['backup', ...flags, '--backup-key', 'too-short'])).toBe(2);
    expect(stderr.join('')).toMatch(/backup-key: must be at least 16 characters/);
    expect(stderr.join('')).not.toContain('too-short');
    stderr.length = 0;
    expect(await run(['restore', ...flags, '--backup-key', BACKUP_KEY])).toBe(2);
    expect(stderr.join('')).toMatch(/restore-from: restore needs the archive/);
    expect(stderr.join('')).not.toMatch(/Connect/);
  });

  it('takes backup PATH and restore ARCHIVE as the one argument', async () => {
    const dir = privateTempDir('md-cliarg-');
    expect(await run(['restore', ...flags, '--backup-key', BACKUP_KEY, join(dir, 'missing.age')])).toBe(2);
    expect(stderr.join('')).toContain(`restore-from: cannot read "${join(dir, 'missing.age')}" (no such file)`);
    stderr.length = 0;
    expect(await run(['backup', ...flags, '--backup-key', BACKUP_KEY, join(dir, 'no-dir', 'b.age')])).toBe(2);
    expect(stderr.join('')).toContain('backup-path: the directory');
  });
});
