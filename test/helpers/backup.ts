// Backup archives for tests, made as the host makes them: parts with the real tar, a manifest
// that lists them, the whole as a tar.gz.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BACKUP_FORMAT, type BackupManifest, PART_FILES, type PartName, sha256Hex } from '../../src/model/backup';
import { privateTempDir } from './private-tmp';

/** An inner archive as the host makes it: the real tar, parts and a manifest that lists them. */
export function innerArchive(parts: Record<string, Buffer>, over: Partial<BackupManifest> = {}): Buffer {
  const dir = privateTempDir('md-backup-');
  const names = Object.keys(parts);
  for (const [name, body] of Object.entries(parts)) writeFileSync(join(dir, name), body);
  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    createdAt: '2026-12-03T22:00:00.000Z',
    host: 'dev-server',
    grafana: { image: 'grafana/grafana:13.2.2', major: 13 },
    release: '4e3056c69764',
    parts: names.map((file) => ({
      name: (Object.keys(PART_FILES) as PartName[]).find((n) => PART_FILES[n] === file) as PartName,
      file,
      bytes: parts[file]?.length ?? 0,
      sha256: sha256Hex(parts[file] ?? Buffer.alloc(0)),
    })),
    leftOut: [{ name: 'prometheus', bytes: 412 * 1024 ** 2 }],
    ...over,
  };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  return execFileSync('tar', ['-czf', '-', '-C', dir, 'manifest.json', ...names]);
}

/** A tar of one directory with files, as tar -cf -C ROOT NAME makes it on the host. */
export function tarOf(name: string, files: Record<string, string>): Buffer {
  const dir = privateTempDir('md-part-');
  mkdirSync(join(dir, name));
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, name, f), text);
  return execFileSync('tar', ['-cf', '-', '-C', dir, name]);
}

export const PARTS = () => ({
  'grafana.tar': tarOf('grafana', { 'grafana.db': 'SQLite format 3\0…' }),
  'secrets.tar': tarOf('secrets', { grafana_secret_key: 'k'.repeat(64), grafana_admin_password: 'p'.repeat(32) }),
  env: Buffer.from('UID=1000\nGID=1000\n'),
  release: Buffer.from('4e3056c69764\n'),
});
