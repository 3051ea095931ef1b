// A backup archive read and refused on the runner: built with the real tar, encrypted by our code
// and opened by the real age CLI (the format is age's, not ours), and every way a restore must
// say no before it touches a host: a changed byte, a wrong key, contents that do not match the
// manifest, another Grafana major. The file is written mode 600 from its first byte.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writePrivateFile } from '../../src/engine/backup';
import { InputError } from '../../src/errors';
import {
  type BACKUP_FORMAT,
  decryptArchive,
  encryptArchive,
  imageMajor,
  majorProblem,
  openInner,
  readTar,
} from '../../src/model/backup';
import { innerArchive, PARTS } from '../helpers/backup';
import { privateTempDir } from '../helpers/private-tmp';

const KEY = 'correct-horse-battery-staple-42';
// Tests use a lower scrypt work factor (2^12): the format is the same, only the cost differs.
const FAST = 12;

describe('the archive format is age', () => {
  it('the real age CLI (Debian 1.1.x) decrypts a backup with the passphrase, and gets the inner tar.gz back', async () => {
    const version = spawnSync('age', ['--version'], { encoding: 'utf8' });
    expect(
      version.error,
      'the age CLI is missing: test/sandbox/install.sh installs Debian package age',
    ).toBeUndefined();
    expect(version.stdout.trim()).toMatch(/^v?1\.1\.\d/);
    const inner = innerArchive(PARTS());
    const dir = privateTempDir('md-age-');
    const file = join(dir, 'backup.age');
    writeFileSync(file, await encryptArchive(inner, KEY, FAST));
    expect(readFileSync(file).subarray(0, 21).toString()).toBe('age-encryption.org/v1');
    // age reads a passphrase only from a terminal: script(1) gives it one, fed from our stdin.
    const out = join(dir, 'inner.tar.gz');
    const r = spawnSync('script', ['-qec', `age -d -o ${out} ${file}`, '/dev/null'], { input: `${KEY}\n` });
    expect(r.status, r.stdout.toString()).toBe(0);
    expect(readFileSync(out).equals(inner)).toBe(true);
    const wrong = spawnSync('script', ['-qec', `age -d -o ${out}.x ${file}`, '/dev/null'], {
      input: 'not-the-key-at-all-000\n',
    });
    expect(wrong.status).not.toBe(0);
    expect(wrong.stdout.toString()).toMatch(/incorrect passphrase/);
  });

  it('opens what it wrote: manifest and parts, each sha256 checked', async () => {
    const parts = PARTS();
    const opened = openInner(await decryptArchive(await encryptArchive(innerArchive(parts), KEY, FAST), KEY));
    expect(opened.manifest.grafana).toEqual({ image: 'grafana/grafana:13.2.2', major: 13 });
    expect(opened.files.get('env')?.toString()).toBe('UID=1000\nGID=1000\n');
    const secrets = readTar(opened.files.get('secrets.tar') ?? Buffer.alloc(0));
    expect([...secrets.keys()].sort()).toEqual(['secrets/grafana_admin_password', 'secrets/grafana_secret_key']);
  });
});

describe('a restore refuses, before any host is touched', () => {
  it('a changed byte anywhere in the file: age authentication fails', async () => {
    const encrypted = await encryptArchive(innerArchive(PARTS()), KEY, FAST);
    for (const at of [encrypted.length - 30, Math.floor(encrypted.length / 2), 60]) {
      const tampered = Buffer.from(encrypted);
      tampered[at] = (tampered[at] ?? 0) ^ 0x01;
      const e = await decryptArchive(tampered, KEY).catch((x: Error) => x);
      expect(e).toBeInstanceOf(Error);
      expect((e as Error).message).toMatch(/changed or is damaged|backup-key/);
    }
    // In the payload (past the header) it is never taken for a wrong key.
    const payload = Buffer.from(encrypted);
    payload[payload.length - 30] = (payload[payload.length - 30] ?? 0) ^ 0x01;
    await expect(decryptArchive(payload, KEY)).rejects.toThrow(/The archive was changed or is damaged: age refused it/);
  });

  it('a wrong key: an input error naming backup-key', async () => {
    const encrypted = await encryptArchive(innerArchive(PARTS()), KEY, FAST);
    const e = await decryptArchive(encrypted, 'another-key-of-enough-length').catch((x: Error) => x);
    expect(e).toBeInstanceOf(InputError);
    expect((e as Error).message).toMatch(/^Invalid input: backup-key: it does not open this archive/);
  });

  it('contents that do not match the manifest (someone with the key changed a part): refused, naming the part', async () => {
    const parts = PARTS();
    const good = innerArchive(parts);
    // A manifest made for the original parts, put over other contents, encrypted with the right key.
    const dir = privateTempDir('md-swap-');
    execFileSync('tar', ['-xzf', '-', '-C', dir], { input: good });
    writeFileSync(join(dir, 'env'), 'UID=0000\nGID=0000\n'); // same length, other bytes
    const swapped = execFileSync('tar', ['-czf', '-', '-C', dir, 'manifest.json', ...Object.keys(parts)]);
    const opened = decryptArchive(await encryptArchive(swapped, KEY, FAST), KEY).then(openInner);
    await expect(opened).rejects.toThrow(
      /do not match its manifest[\s\S]*env's sha256 is not the one the manifest records/,
    );
    // A part added that the manifest does not list, and one listed but missing.
    const extra = innerArchive({ ...parts });
    execFileSync('tar', ['-xzf', '-', '-C', dir], { input: extra });
    writeFileSync(join(dir, 'planted.sh'), 'echo hi');
    const planted = execFileSync('tar', [
      '-czf',
      '-',
      '-C',
      dir,
      'manifest.json',
      'planted.sh',
      'grafana.tar',
      'secrets.tar',
      'release',
    ]);
    expect(() => openInner(planted)).toThrow(/env is missing[\s\S]*planted\.sh is not in the manifest/);
  });

  it('a manifest of another format, or without Grafana or secrets, is refused', () => {
    expect(() => openInner(innerArchive(PARTS(), { format: 'x/9' as typeof BACKUP_FORMAT }))).toThrow(
      /format is "x\/9", not monitoring-deploy-backup\/1/,
    );
    const { 'secrets.tar': _, ...noSecrets } = PARTS();
    expect(() => openInner(innerArchive(noSecrets))).toThrow(/does not list its parts as a backup does/);
  });

  it('another Grafana major: named with both versions', () => {
    const archive = { image: 'grafana/grafana:12.3.6', major: 12 };
    expect(majorProblem(archive, 'grafana/grafana:12.4.0')).toBeUndefined();
    expect(majorProblem(archive, 'grafana/grafana:13.2.2')).toBe(
      'the archive holds the data of Grafana grafana/grafana:12.3.6 (major 12), and this deploy runs grafana/grafana:13.2.2 (major 13)',
    );
    // No major in the tag: only the very same image passes.
    expect(majorProblem({ image: 'grafana/grafana:main', major: null }, 'grafana/grafana:main')).toBeUndefined();
    expect(majorProblem({ image: 'grafana/grafana:main', major: null }, 'grafana/grafana:13.2.2')).toMatch(
      /major unknown/,
    );
  });

  it('reads the major from the tag, not from a registry port or a digest', () => {
    expect(imageMajor('grafana/grafana:13.2.2')).toBe(13);
    expect(imageMajor('registry.local:5000/grafana/grafana:v12.3.6-ubuntu')).toBe(12);
    expect(imageMajor('registry.local:5000/grafana/grafana')).toBeNull();
    expect(imageMajor('grafana/grafana:latest')).toBeNull();
    expect(imageMajor(`grafana/grafana:11.6.0@sha256:${'a'.repeat(64)}`)).toBe(11);
    expect(imageMajor('sandbox/grafana-standin:1')).toBe(1);
  });
});

describe('the archive file', () => {
  it('is mode 600 even under umask 000, replaces an older file whole, and leaves no temp file', () => {
    const dir = privateTempDir('md-write-');
    const path = join(dir, 'b.age');
    const old = process.umask(0);
    try {
      writeFileSync(path, 'old', { mode: 0o644 });
      writePrivateFile(path, Buffer.from('new archive'));
    } finally {
      process.umask(old);
    }
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8')).toBe('new archive');
    expect(execFileSync('ls', ['-A', dir], { encoding: 'utf8' }).trim()).toBe('b.age');
  });
});
