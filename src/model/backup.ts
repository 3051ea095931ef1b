// A backup archive as data: what it holds (the manifest), how it is read (a tar.gz inside an
// age file), and what must agree before a restore may touch a host. The encryption is age's
// passphrase (scrypt) recipient through age-encryption (typage, by age's author): any age 1.x
// CLI decrypts a backup (`age -d`), and nothing here is crypto of our own.
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { Decrypter, Encrypter } from 'age-encryption';
import { DeployError, InputError } from '../errors.js';
import { BACKUP_INCLUDE, type BackupInclude } from '../settings/settings.js';

export const BACKUP_FORMAT = 'monitoring-deploy-backup/1';
export const MANIFEST_NAME = 'manifest.json';

/** The volumes a backup may add (backup-include): the metrics and logs history. */
export const OPTIONAL_PARTS = BACKUP_INCLUDE;
export type OptionalPart = BackupInclude;

/** Each part's file in the archive. */
export const PART_FILES = {
  grafana: 'grafana.tar',
  secrets: 'secrets.tar',
  env: 'env',
  release: 'release',
  prometheus: 'prometheus.tar.gz',
  loki: 'loki.tar.gz',
} as const;
export type PartName = keyof typeof PART_FILES;

/** The service whose volume an optional part copies, and the container path it is mounted at. */
export const VOLUME_PARTS: Record<OptionalPart, { readonly service: string; readonly mount: string }> = {
  prometheus: { service: 'prometheus', mount: '/prometheus' },
  loki: { service: 'loki', mount: '/loki' },
};

export interface ManifestPart {
  readonly name: PartName;
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface LeftOut {
  readonly name: OptionalPart;
  readonly bytes: number;
}

export interface BackupManifest {
  readonly format: typeof BACKUP_FORMAT;
  readonly createdAt: string;
  readonly host: string;
  readonly grafana: { readonly image: string; readonly major: number | null };
  /** The release that was live when the backup was taken (empty if the host recorded none). */
  readonly release: string;
  readonly parts: readonly ManifestPart[];
  readonly leftOut: readonly LeftOut[];
}

/**
 * The major version in an image's tag (`grafana/grafana:13.2.2` → 13, `…:v12.3.6-ubuntu` → 12);
 * null when the tag says none (`latest`, a digest only).
 */
export function imageMajor(image: string): number | null {
  const name = image.split('@')[0] ?? '';
  const lastPart = name.slice(name.lastIndexOf('/') + 1);
  const tag = lastPart.includes(':') ? lastPart.slice(lastPart.indexOf(':') + 1) : '';
  const m = /^v?(\d+)(?:[.-]|$)/.exec(tag);
  return m ? Number(m[1]) : null;
}

export const sha256Hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * The regular files of a tar (ustar or GNU, as GNU tar and busybox write them), by path.
 * Directories are skipped; anything else (links, devices) is refused: a backup holds files.
 */
export function readTar(tar: Uint8Array): Map<string, Buffer> {
  const buf = Buffer.from(tar.buffer, tar.byteOffset, tar.byteLength);
  const files = new Map<string, Buffer>();
  let longName: string | undefined;
  for (let at = 0; at + 512 <= buf.length; ) {
    const header = buf.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const field = (from: number, len: number) => header.toString('latin1', from, from + len).replace(/\0.*$/s, '');
    const size = Number.parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1) || '0';
    const prefix = field(345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    const body = buf.subarray(at + 512, at + 512 + size);
    if (!Number.isFinite(size) || body.length !== size) throw new Error('the tar is cut short');
    longName = undefined;
    if (type === 'L') longName = body.toString('utf8').replace(/\0+$/, '');
    else if (type === '0' || type === '7') files.set(name.replace(/^\.\//, ''), Buffer.from(body));
    else if (type !== '5' && type !== 'x' && type !== 'g')
      throw new Error(`${name} is not a regular file (tar type ${type})`);
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

function isPart(p: unknown): p is ManifestPart {
  const x = p as ManifestPart;
  return (
    typeof x?.name === 'string' &&
    Object.hasOwn(PART_FILES, x.name) &&
    x.file === PART_FILES[x.name] &&
    Number.isSafeInteger(x.bytes) &&
    /^[0-9a-f]{64}$/.test(x.sha256)
  );
}

/** The manifest of an archive, its shape checked: a restore trusts nothing it did not check. */
export function parseManifest(text: string): BackupManifest {
  let m: BackupManifest;
  try {
    m = JSON.parse(text) as BackupManifest;
  } catch {
    throw new DeployError('The archive has no readable manifest.json.', 'restore an archive `backup` wrote.');
  }
  if (m?.format !== BACKUP_FORMAT)
    throw new DeployError(
      `The archive's format is ${JSON.stringify(m?.format)}, not ${BACKUP_FORMAT}.`,
      'restore it with the monitoring-deploy version that wrote it.',
    );
  const parts = Array.isArray(m.parts) ? m.parts : [];
  if (!parts.every(isPart) || !parts.some((p) => p.name === 'grafana') || !parts.some((p) => p.name === 'secrets'))
    throw new DeployError(
      "The archive's manifest does not list its parts as a backup does.",
      'restore an archive `backup` wrote.',
    );
  if (typeof m.grafana?.image !== 'string')
    throw new DeployError("The archive's manifest names no Grafana image.", 'restore an archive `backup` wrote.');
  return m;
}

/** Each part against the manifest: present, its size and sha256 as recorded. Empty when all agree. */
export function partProblems(manifest: BackupManifest, files: ReadonlyMap<string, Uint8Array>): string[] {
  const out: string[] = [];
  for (const p of manifest.parts) {
    const body = files.get(p.file);
    if (!body) out.push(`${p.file} is missing`);
    else if (body.length !== p.bytes) out.push(`${p.file} has ${body.length} bytes, the manifest says ${p.bytes}`);
    else if (sha256Hex(body) !== p.sha256) out.push(`${p.file}'s sha256 is not the one the manifest records`);
  }
  const listed = new Set([MANIFEST_NAME, ...manifest.parts.map((p) => p.file)]);
  for (const name of files.keys()) if (!listed.has(name)) out.push(`${name} is not in the manifest`);
  return out;
}

export interface OpenedArchive {
  readonly manifest: BackupManifest;
  /** The inner tar.gz as it was made on the host (what a restore uploads). */
  readonly inner: Buffer;
  readonly files: ReadonlyMap<string, Buffer>;
}

/** The inner tar.gz read and every part checked against its manifest. */
export function openInner(inner: Uint8Array): OpenedArchive {
  let files: Map<string, Buffer>;
  try {
    files = readTar(gunzipSync(inner));
  } catch (e) {
    throw new DeployError(
      `The archive's contents cannot be read (${(e as Error).message}).`,
      'restore an archive `backup` wrote.',
    );
  }
  const manifest = parseManifest(files.get(MANIFEST_NAME)?.toString('utf8') ?? '');
  const problems = partProblems(manifest, files);
  if (problems.length)
    throw new DeployError(
      `The archive's contents do not match its manifest; nothing was restored:\n  - ${problems.join('\n  - ')}`,
      'the archive was changed after it was written: restore another backup.',
    );
  return { manifest, inner: Buffer.from(inner), files };
}

/** age's default scrypt work factor (2^18), as the age CLI uses: about a second per try. */
export const SCRYPT_WORK_FACTOR = 18;

export async function encryptArchive(inner: Uint8Array, key: string, workFactor = SCRYPT_WORK_FACTOR): Promise<Buffer> {
  const e = new Encrypter();
  e.setPassphrase(key);
  e.setScryptWorkFactor(workFactor);
  return Buffer.from(await e.encrypt(inner));
}

/**
 * The age file opened with backup-key. A key that unwraps no file key is named as such; any
 * other failure is age's authentication refusing changed bytes (header MAC, payload tags).
 */
export async function decryptArchive(encrypted: Uint8Array, key: string): Promise<Buffer> {
  const d = new Decrypter();
  d.addPassphrase(key);
  try {
    return Buffer.from(await d.decrypt(encrypted));
  } catch (e) {
    const why = (e as Error).message;
    if (/no identity matched/.test(why))
      throw new InputError(
        'backup-key: it does not open this archive (age found no passphrase stanza it decrypts)',
        'give the backup-key the archive was written with.',
      );
    throw new DeployError(
      `The archive was changed or is damaged: age refused it (${why}). Nothing was restored.`,
      'restore another copy of the backup; this one cannot be trusted.',
    );
  }
}

/**
 * Why an archive of one Grafana must not go under another: a database is migrated forward by a
 * newer major at its first start and cannot go back, and an older one does not read it.
 */
export function majorProblem(archive: BackupManifest['grafana'], deployImage: string): string | undefined {
  const deployMajor = imageMajor(deployImage);
  if (archive.major !== null && archive.major === deployMajor) return undefined;
  if (archive.major === null && archive.image === deployImage) return undefined;
  const what = (image: string, major: number | null) => `${image} (major ${major ?? 'unknown'})`;
  return `the archive holds the data of Grafana ${what(archive.image, archive.major)}, and this deploy runs ${what(deployImage, deployMajor)}`;
}
