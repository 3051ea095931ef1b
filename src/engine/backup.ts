// `command: backup` and `command: restore`. A backup copies Grafana's state on the host under
// the deploy lock, checks every part on the runner, encrypts the whole and writes it mode 600;
// nothing of it is ever on the runner's disk unencrypted. A restore opens and checks the archive
// on the runner before it connects, refuses a host that holds other state (unless told), puts
// the parts in place under the lock and then deploys as usual: the gate proves it.

import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { formatDuration, formatSize } from '../base/format.js';
import type { Log, StepRecord } from '../base/log.js';
import { DeployError, InputError } from '../errors.js';
import {
  dropStageScript,
  parseFullVolumes,
  parseRestoreTarget,
  placeArchive,
  restoreStateScript,
  type Snapshot,
  streamScript,
  takeSnapshot,
  type VolumesBack,
  volumesStateScript,
} from '../host/backup.js';
import { dockerCommand } from '../host/docker.js';
import {
  BACKUP_FORMAT,
  type BackupManifest,
  decryptArchive,
  encryptArchive,
  imageMajor,
  majorProblem,
  type OpenedArchive,
  type OptionalPart,
  openInner,
  PART_FILES,
  type PartName,
  readTar,
  sha256Hex,
  VOLUME_PARTS,
} from '../model/backup.js';
import { PROJECT_NAMES, remoteLayout, SECRET_FILES } from '../model/layout.js';
import type { Settings } from '../settings/settings.js';
import { planStack } from '../stack/plan.js';
import { imageOf, runningServices } from './budget.js';
import { type Deploying, type DeployResult, deploy } from './deploy.js';
import { dirsWanted } from './host-state.js';
import { type OnHost, onConnection, preflightStep, type Run, withLock } from './session.js';

/**
 * The archive is built and checked in the runner's memory (so that nothing of it is written
 * unencrypted): more than this is refused before the download, naming what takes the room.
 */
export const MAX_ARCHIVE_BYTES = 1024 ** 3;

export interface BackupOptions {
  /** Where the archive goes when backup-path is not given ($RUNNER_TEMP, or the CLI's directory). */
  readonly defaultDir: string;
  readonly now?: Date;
  /** scrypt's work factor (log2); lower only in tests. */
  readonly workFactor?: number;
}

export interface BackupResult {
  readonly path: string;
  readonly bytes: number;
  readonly elapsedMs: number;
  readonly pausedMs: Readonly<Record<string, number>>;
  readonly manifest: BackupManifest;
  readonly steps: readonly StepRecord[];
  /** One line a person reads: size, time, pause, where. */
  readonly sentence: string;
}

const stamp = (d: Date) =>
  d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');

export const defaultBackupName = (hostName: string, now: Date) =>
  `monitoring-backup-${hostName.replace(/[^A-Za-z0-9.-]/g, '_')}-${stamp(now)}.age`;

export async function backupHost(settings: Settings, log: Log, options: BackupOptions): Promise<BackupResult> {
  const started = Date.now();
  const now = options.now ?? new Date();
  const path = settings.backup.path ?? join(options.defaultDir, defaultBackupName(settings.hostName, now));
  return onConnection(settings, log, async (run, remote) => {
    const facts = await preflightStep(run, remote);
    const h: OnHost = { ...run, remote, facts };
    const layout = remoteLayout(settings.stack.remoteDir, facts.home);
    const inner = await withLock(h, layout.lockName, '', () => copyFromHost(h, layout, now));
    const bytes = await run.steps.run('Encrypt and write', async () => {
      const encrypted = await encryptArchive(inner.inner, settings.backup.key ?? '', options.workFactor);
      writePrivateFile(path, encrypted);
      return {
        value: encrypted.length,
        changed: true,
        detail: `${formatSize(encrypted.length)} to ${path} (mode 600)`,
      };
    });
    const elapsedMs = Date.now() - started;
    const paused = inner.pausedMs;
    const sentence = `backup: ${formatSize(bytes)} in ${formatDuration(elapsedMs)}, Grafana paused ${paused.grafana ?? 0} ms, written to ${path}, mode 600`;
    return { path, bytes, elapsedMs, pausedMs: paused, manifest: inner.manifest, steps: run.steps.records, sentence };
  });
}

type Copied = OpenedArchive & { readonly pausedMs: Readonly<Record<string, number>> };

/** Snapshot on the host, then the parts downloaded and checked against the host's checksums. */
async function copyFromHost(h: OnHost, layout: ReturnType<typeof remoteLayout>, now: Date): Promise<Copied> {
  const docker = dockerCommand(h.facts);
  const { include } = h.settings.backup;
  const snap = await h.steps.run('Snapshot', async () => {
    const s = await takeSnapshot(h.remote, layout, docker, include);
    for (const c of s.thawFailed)
      h.log.error(`container ${c} could not be unpaused: run \`docker unpause ${c}\` on the host`);
    return { value: s, detail: snapshotDetail(s) };
  });
  for (const left of snap.leftOut) h.log.info(leftOutLine(left));
  try {
    const manifest = manifestOf(h.settings, snap, now);
    const total = manifest.parts.reduce((n, p) => n + p.bytes, 0);
    if (total > MAX_ARCHIVE_BYTES)
      throw new DeployError(
        `The backup's parts add up to ${formatSize(total)}, more than the ${formatSize(MAX_ARCHIVE_BYTES)} a backup holds (it is built in the runner's memory, never unencrypted on its disk).`,
        'leave the largest volume out of backup-include.',
      );
    return await h.steps.run('Download', async () => {
      const files = manifest.parts.map((p) => p.file);
      const inner = await h.remote.exchange(streamScript(layout, snap.stage, files), {
        what: 'Sending the backup from the host',
        input: Buffer.from(JSON.stringify(manifest, null, 2)),
        timeoutMs: 30 * 60_000,
      });
      const opened = openInner(inner);
      return {
        value: { ...opened, pausedMs: snap.pausedMs },
        detail: `${formatSize(inner.length)} (gzip), ${manifest.parts.length} parts, each sha256 as on the host`,
      };
    });
  } finally {
    await h.remote
      .run(dropStageScript(layout, snap.stage), { what: 'Removing the staging copy' })
      .catch(() => undefined);
  }
}

const TITLES: Record<string, string> = { prometheus: 'Prometheus data', loki: 'Loki data' };

function leftOutLine(left: Snapshot['leftOut'][number]): string {
  const size = left.bytes === undefined ? 'size unknown' : formatSize(left.bytes);
  return `${TITLES[left.name]} ${size}: not included, backup-include: ${left.name}`;
}

function snapshotDetail(s: Snapshot): string {
  const bytes = s.parts.reduce((n, p) => n + p.bytes, 0);
  const paused = Object.entries(s.pausedMs)
    .map(([name, ms]) => `${name} paused ${ms} ms`)
    .join(', ');
  const left = s.leftOut.map((l) => `${l.name} left out`).join(', ');
  return `${s.parts.length} parts, ${formatSize(bytes)} on the host; ${paused}${left ? `; ${left}` : ''}`;
}

function manifestOf(settings: Settings, snap: Snapshot, now: Date): BackupManifest {
  const byFile = new Map(Object.entries(PART_FILES).map(([name, file]) => [file as string, name as PartName]));
  return {
    format: BACKUP_FORMAT,
    createdAt: now.toISOString(),
    host: settings.hostName,
    grafana: { image: snap.grafanaImage, major: imageMajor(snap.grafanaImage) },
    release: snap.release,
    parts: snap.parts.flatMap((p) => {
      const name = byFile.get(p.file);
      return name ? [{ name, file: p.file, bytes: p.bytes, sha256: p.sha256 }] : [];
    }),
    leftOut: snap.leftOut.map((l) => ({ name: l.name, bytes: l.bytes ?? -1 })),
  };
}

/**
 * Written where no one else can read it at any moment: a new file of mode 600 (O_EXCL, never one
 * someone left there), synced, then renamed over the path.
 */
export function writePrivateFile(path: string, data: Uint8Array): void {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

export interface RestoreOptions {
  readonly now?: Date;
}

export interface RestoreResult extends DeployResult {
  readonly manifest: BackupManifest;
  /** What was moved aside on the host (restore-overwrite). */
  readonly moved: readonly string[];
}

/** The Grafana image this deploy would run: the images input's, else its compose file's. */
export function deployGrafanaImage(settings: Settings): string {
  const { rendered } = planStack(settings);
  const grafana = runningServices(rendered).find((s) => s.name === 'grafana');
  if (!grafana)
    throw new InputError(
      'restore-from: this deploy runs no Grafana (stacks without monitoring), so there is nothing to restore to',
      'restore with the monitoring stack (stacks: app,monitoring).',
    );
  return imageOf(settings)(grafana);
}

/** Decrypted, every part checked against the manifest, and made for the Grafana this deploy runs. */
export async function openArchive(settings: Settings, encrypted: Uint8Array): Promise<OpenedArchive> {
  const opened = openInner(await decryptArchive(encrypted, settings.backup.key ?? ''));
  const image = deployGrafanaImage(settings);
  const mismatch = majorProblem(opened.manifest.grafana, image);
  if (mismatch)
    throw new InputError(
      `restore-from: ${mismatch}; nothing was changed on the host`,
      `restore with the Grafana it was made with (images: grafana=${opened.manifest.grafana.image}), then upgrade with a normal deploy, which lets Grafana migrate its database forward.`,
    );
  return opened;
}

export async function restoreHost(settings: Settings, log: Log, options: RestoreOptions = {}): Promise<RestoreResult> {
  const from = settings.backup.restoreFrom ?? '';
  let opened: OpenedArchive | undefined;
  let moved: readonly string[] = [];
  const result = await deploy(settings, log, {
    prepare: {
      first: async (run: Run) => {
        opened = await run.steps.run('Open archive', async () => {
          const o = await openArchive(settings, readFileSync(from));
          return { value: o, detail: archiveDetail(o.manifest) };
        });
      },
      stateScript: (h) =>
        `${restoreStateScript(h.layout)}\n${volumesStateScript(dockerCommand(h.facts), volumesBack(h, opened as OpenedArchive, [], ''))}`,
      run: async (h, output) => {
        moved = await putInPlace(h, output, opened as OpenedArchive, options.now ?? new Date());
      },
    },
  });
  return { ...result, manifest: (opened as OpenedArchive).manifest, moved };
}

function archiveDetail(m: BackupManifest): string {
  const parts = m.parts.map((p) => p.name).join(', ');
  return `backup of ${m.host} taken ${m.createdAt}, Grafana ${m.grafana.image}; ${parts}: each sha256 as recorded`;
}

/** The sha256 of each file the archive's secrets/ holds, by name. */
function archiveSecrets(opened: OpenedArchive): Record<string, string> {
  const tar = opened.files.get(PART_FILES.secrets) ?? Buffer.alloc(0);
  const out: Record<string, string> = {};
  for (const [path, body] of readTar(tar)) out[path.replace(/^secrets\//, '')] = sha256Hex(body);
  return out;
}

/** What on the host a restore would replace with something else: refused unless restore-overwrite. */
export function conflicts(
  target: ReturnType<typeof parseRestoreTarget>,
  archive: Readonly<Record<string, string>>,
): { grafana: boolean; secrets: string[] } {
  const secrets = Object.entries(target.secrets)
    .filter(([name, sha]) => archive[name] !== undefined && archive[name] !== sha)
    .map(([name]) => name);
  return { grafana: target.grafanaData.length > 0, secrets };
}

/**
 * The volumes the deploy's stack mounts for the archive's Prometheus and Loki parts (named
 * volumes of the monitoring project), read through the stack's disk-guard image.
 */
export function volumesBack(
  h: Deploying,
  opened: OpenedArchive,
  full: readonly OptionalPart[],
  at: string,
): VolumesBack {
  const services = runningServices(h.rendered);
  const helperService = services.find((x) => x.name === 'disk-guard');
  const each = opened.manifest.parts.flatMap((p) => {
    if (p.name !== 'prometheus' && p.name !== 'loki') return [];
    const { service, mount } = VOLUME_PARTS[p.name];
    const m = services.find((x) => x.name === service)?.mounts.find((x) => x.named && x.target === mount);
    if (!m || !helperService)
      throw new DeployError(
        `The archive holds ${TITLES[p.name]}, but this deploy's stack has no named volume for ${service} at ${mount}${helperService ? '' : ' (or no disk-guard service to write it with)'}; nothing was changed.`,
        'restore with the bundled stack, or take the backup without backup-include.',
      );
    const part: OptionalPart = p.name;
    return [
      {
        part,
        volume: `${PROJECT_NAMES.monitoring}_${m.source}`,
        key: m.source,
        service,
        moveAside: full.includes(part),
      },
    ];
  });
  return { helper: helperService ? imageOf(h.settings)(helperService) : '', stamp: at, each };
}

async function putInPlace(h: Deploying, output: string, opened: OpenedArchive, now: Date): Promise<string[]> {
  const target = parseRestoreTarget(output);
  const found = conflicts(target, archiveSecrets(opened));
  const full = parseFullVolumes(output);
  const differs = found.grafana || found.secrets.length > 0 || full.length > 0;
  if (differs && !h.settings.backup.overwrite) throw refusal(h, target.grafanaData, found.secrets, full);
  const placed = await h.steps.run('Restore', async () => {
    const p = await placeArchive(
      h.remote,
      {
        dirs: dirsWanted(h),
        docker: dockerCommand(h.facts),
        parts: opened.manifest.parts,
        moveAside: differs
          ? { grafana: found.grafana, secrets: found.secrets.length > 0, stamp: stamp(now) }
          : undefined,
        volumes: volumesBack(h, opened, full, stamp(now)),
      },
      opened.inner,
    );
    const aside = p.moved.length ? `; moved aside: ${p.moved.join(', ')}` : '';
    const volumes = p.placed.filter((x) => x === 'prometheus' || x === 'loki');
    return {
      value: p,
      changed: true,
      detail: `Grafana's data, ${Object.keys(archiveSecrets(opened)).length} secret file(s)${volumes.length ? ` and the ${volumes.join(' and ')} volume(s)` : ''} from the backup of ${opened.manifest.createdAt}${p.stoppedGrafana ? '; Grafana stopped first' : ''}${aside}`,
    };
  });
  return [...placed.moved];
}

function refusal(
  h: Deploying,
  grafanaData: readonly string[],
  secrets: readonly string[],
  volumes: readonly OptionalPart[],
): DeployError {
  const what = [
    ...volumes.map((v) => `the ${v} volume holds data (${TITLES[v]})`),
    grafanaData.length ? `${h.layout.dataDir}/grafana holds ${grafanaData.join(', ')}` : '',
    ...secrets.map((s) =>
      s === 'grafana_secret_key'
        ? `${h.layout.root}/${SECRET_FILES.grafanaSecretKey} is another key than the archive's`
        : `${h.layout.secretsDir}/${s} differs from the archive's`,
    ),
  ].filter(Boolean);
  return new DeployError(
    `The host already holds other Grafana state; nothing was changed:\n  - ${what.join('\n  - ')}`,
    'set restore-overwrite: true to stop Grafana (and Prometheus or Loki) and move these aside (never deleted) before the restore, or restore onto a fresh host.',
  );
}
