// The backup's and the restore's host scripts on this machine's own sh, with real files and the
// real tar, sha256sum and mktemp. Docker is a FAKE here (a script on PATH that keeps a log and a
// "paused" flag): the sandbox's dockerd runs only during the e2e tests, which run these scripts
// against the real one (test/e2e/16-backup-restore.test.ts). What it shows: Grafana is paused
// only while its directory is copied, and unpaused when the copy fails too; the staging
// directory is private and goes away; a restore checks the parts again, keeps issue 25's checks
// and modes, and moves what it replaces aside.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { invocation } from '../../src/connection/shell';
import {
  parseRestoreTarget,
  parseSnapshot,
  placeScript,
  restoreStateScript,
  snapshotScript,
  streamScript,
} from '../../src/host/backup';
import { lockScript } from '../../src/host/lock';
import { openInner, sha256Hex } from '../../src/model/backup';
import { type RemoteLayout, remoteLayout } from '../../src/model/layout';
import { innerArchive, PARTS } from '../helpers/backup';
import { privateTempDir } from '../helpers/private-tmp';

/** A fake docker: containers by Compose service label, pause/unpause/stop logged, a paused flag kept. */
const FAKE_DOCKER = `#!/bin/sh
log="$FAKE_STATE/log"
case "$1" in
  ps) for a in "$@"; do case "$a" in label=com.docker.compose.service=*) s=\${a#*service=} ;; esac; done
      [ -f "$FAKE_STATE/has-$s" ] && echo "c-$s"; exit 0 ;;
  inspect) case "$3" in *Config.Image*) echo "grafana/grafana:13.2.2" ;; *State.Status*) echo running ;; esac; exit 0 ;;
  pause) echo "pause $2" >> "$log"; touch "$FAKE_STATE/paused"; exit 0 ;;
  unpause) echo "unpause $2" >> "$log"; rm -f "$FAKE_STATE/paused"; exit 0 ;;
  stop) echo "stop $2" >> "$log"; exit 0 ;;
  volume) echo "$*" >> "$log"; [ "$2" = inspect ] && { [ -f "$FAKE_STATE/has-volume-$3" ]; exit $?; }; exit 0 ;;
  run) echo "$*" >> "$log"; case " $* " in *" -i "*) cat > "$FAKE_STATE/stdin-$(ls "$FAKE_STATE" | grep -c '^stdin-')" ;; esac; exit 0 ;;
esac
echo "fake docker: $*" >&2; exit 1
`;

/** tar that notes whether Grafana was paused while it read data/grafana, and fails when asked to. */
const WATCHING_TAR = `#!/bin/sh
for a in "$@"; do [ "$a" = grafana ] && { [ -f "$FAKE_STATE/paused" ] && echo "tar grafana while paused" >> "$FAKE_STATE/log" || echo "tar grafana while running" >> "$FAKE_STATE/log"; [ -f "$FAKE_STATE/fail-tar" ] && { echo "tar: read error" >&2; exit 2; }; }; done
exec /bin/tar "$@"
`;

interface Host {
  readonly layout: RemoteLayout;
  readonly state: string;
  readonly env: NodeJS.ProcessEnv;
}

function host(): Host {
  const home = privateTempDir('md-bhost-');
  const layout = remoteLayout('~/monitoring', home);
  const state = join(home, 'fake-state');
  const bin = join(home, 'bin');
  mkdirSync(state);
  mkdirSync(bin);
  writeFileSync(join(bin, 'docker'), FAKE_DOCKER, { mode: 0o755 });
  writeFileSync(join(bin, 'tar'), WATCHING_TAR, { mode: 0o755 });
  writeFileSync(join(state, 'has-grafana'), '');
  mkdirSync(join(layout.dataDir, 'grafana'), { recursive: true });
  mkdirSync(layout.secretsDir, { recursive: true, mode: 0o700 });
  chmodSync(layout.root, 0o700);
  writeFileSync(join(layout.dataDir, 'grafana', 'grafana.db'), 'SQLite format 3\0 db');
  writeFileSync(join(layout.dataDir, 'grafana', 'grafana.db-journal'), 'journal');
  writeFileSync(join(layout.secretsDir, 'grafana_secret_key'), 'K'.repeat(64), { mode: 0o600 });
  writeFileSync(join(layout.secretsDir, 'grafana_admin_password'), 'P'.repeat(32), { mode: 0o600 });
  writeFileSync(join(layout.root, '.env'), 'UID=1000\n', { mode: 0o600 });
  writeFileSync(join(layout.root, '.release'), '4e3056c69764\n');
  // The scripts' own PATH setup puts the system's directories first: the fakes are found through
  // a PATH they keep in front (as a host's sudo-less docker group user would have docker there).
  return { layout, state, env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, FAKE_STATE: state } };
}

/** A script as the host runs it (invocation: sh, the script whole; with input, the script as the argument). */
function sh(h: Host, script: string, input?: Buffer | string) {
  const { command, stdin } = invocation(script, input === undefined ? undefined : '');
  const r = spawnSync('sh', ['-c', command], { input: input ?? stdin, env: h.env });
  return { code: r.status, stdout: r.stdout, out: r.stdout.toString(), stderr: r.stderr.toString() };
}

const log = (h: Host) =>
  existsSync(join(h.state, 'log')) ? readFileSync(join(h.state, 'log'), 'utf8').trim().split('\n') : [];
const list = (dir: string) =>
  execFileSync('sh', ['-c', `cd "$1" && find . | sort && stat -c '%n %a %s' $(find . | sort)`, 'sh', dir], {
    encoding: 'utf8',
  });

describe('the backup script', () => {
  it('pauses Grafana only while its data dir is copied, prints the parts with their sha256, and keeps the stage private', () => {
    const h = host();
    const r = sh(h, snapshotScript(h.layout, 'docker', []));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(log(h)).toEqual(['pause c-grafana', 'tar grafana while paused', 'unpause c-grafana']);
    const snap = parseSnapshot(r.out);
    expect(snap.grafanaImage).toBe('grafana/grafana:13.2.2');
    expect(snap.release).toBe('4e3056c69764');
    expect(Object.keys(snap.pausedMs)).toEqual(['grafana']);
    expect(snap.pausedMs.grafana).toBeGreaterThanOrEqual(0);
    expect(snap.parts.map((p) => p.file).sort()).toEqual(['env', 'grafana.tar', 'release', 'secrets.tar']);
    for (const p of snap.parts) expect(p.sha256).toBe(sha256Hex(readFileSync(join(snap.stage, 'parts', p.file))));
    // No Prometheus or Loki container here: left out, size unknown.
    expect(snap.leftOut).toEqual([{ name: 'prometheus' }, { name: 'loki' }]);
    expect(statSync(snap.stage).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(join(snap.stage, 'parts')))
      expect(statSync(join(snap.stage, 'parts', f)).mode & 0o077).toBe(0);
    // The database went with its journal, as one moment.
    const files = execFileSync('tar', ['-tf', join(snap.stage, 'parts', 'grafana.tar')], { encoding: 'utf8' });
    expect(files).toMatch(/grafana\/grafana\.db\n/);
    expect(files).toMatch(/grafana\/grafana\.db-journal\n/);
    // Then the download: the manifest given on stdin, everything as one tar.gz that opens and checks.
    const manifest = {
      format: 'monitoring-deploy-backup/1',
      createdAt: '2026-12-03T22:00:00.000Z',
      host: 'h',
      grafana: { image: snap.grafanaImage, major: 13 },
      release: snap.release,
      parts: snap.parts.map((p) => ({
        ...p,
        name: { 'grafana.tar': 'grafana', 'secrets.tar': 'secrets', env: 'env', release: 'release' }[p.file],
      })),
      leftOut: [],
    };
    const stream = sh(
      h,
      streamScript(
        h.layout,
        snap.stage,
        snap.parts.map((p) => p.file),
      ),
      JSON.stringify(manifest),
    );
    expect(stream.code).toBe(0);
    expect(openInner(stream.stdout).manifest.release).toBe('4e3056c69764');
  });

  it('removes a stage a cut-off run left (it holds copies of the secrets), and only that', () => {
    const h = host();
    const stale = join(h.layout.root, '.backup-AbC123');
    mkdirSync(join(stale, 'parts'), { recursive: true });
    writeFileSync(join(stale, 'parts', 'secrets.tar'), 'old copy');
    const mine = join(h.layout.root, '.backup-notes1');
    writeFileSync(mine, 'not a stage');
    const r = sh(h, snapshotScript(h.layout, 'docker', []));
    expect(r.code).toBe(0);
    expect(r.out).toContain(`@removed-stale ${stale}\n`);
    expect(existsSync(stale)).toBe(false);
    expect(readFileSync(mine, 'utf8')).toBe('not a stage');
  });

  it('a copy that fails still unpauses Grafana, and removes the stage', () => {
    const h = host();
    writeFileSync(join(h.state, 'fail-tar'), '');
    const r = sh(h, snapshotScript(h.layout, 'docker', []));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/read error/);
    expect(log(h)).toEqual(['pause c-grafana', 'tar grafana while paused', 'unpause c-grafana']);
    expect(readdirSync(h.layout.root).filter((f) => f.startsWith('.backup-'))).toEqual([]);
  });

  it('no Grafana container: refused with its own exit code, nothing paused, no stage left', () => {
    const h = host();
    execFileSync('rm', [join(h.state, 'has-grafana')]);
    const r = sh(h, snapshotScript(h.layout, 'docker', []));
    expect(r.code).toBe(8);
    expect(r.stderr).toMatch(/no Grafana container in Compose project md-monitoring/);
    expect(log(h)).toEqual([]);
    expect(readdirSync(h.layout.root).filter((f) => f.startsWith('.backup-'))).toEqual([]);
  });
});

const STAMP = '20261203T220000Z';

function placement(h: Host, inner: Buffer, over: Partial<Parameters<typeof placeScript>[0]> = {}) {
  const parts = openInner(inner).manifest.parts.filter((p) => p.name === 'grafana' || p.name === 'secrets');
  return placeScript({
    dirs: { layout: h.layout, generatePassword: false, secretKey: true, agent: false, diskGuard: 'loki' },
    docker: 'docker',
    parts,
    ...over,
  });
}

describe('the restore script', () => {
  it('on a fresh host: the remote dir 700, secrets/ 700 with files 600, Grafana data with its modes, no stage left', () => {
    const h = host();
    execFileSync('rm', ['-rf', h.layout.root]);
    const inner = innerArchive(PARTS());
    const r = sh(h, placement(h, inner), inner);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const mode = (p: string) => statSync(p).mode & 0o777;
    expect(mode(h.layout.root)).toBe(0o700);
    expect(mode(h.layout.secretsDir)).toBe(0o700);
    for (const f of readdirSync(h.layout.secretsDir)) expect(mode(join(h.layout.secretsDir, f))).toBe(0o600);
    expect(readFileSync(join(h.layout.secretsDir, 'grafana_secret_key'), 'utf8')).toBe('k'.repeat(64));
    expect(readFileSync(join(h.layout.dataDir, 'grafana', 'grafana.db'), 'utf8')).toBe('SQLite format 3\0…');
    expect(readdirSync(h.layout.root).filter((f) => f.startsWith('.backup-'))).toEqual([]);
    expect(log(h)).toEqual([]);
  });

  it('a part whose sha256 on the host is not the manifest’s: refused (exit 9), the host as it was', () => {
    const h = host();
    const inner = innerArchive(PARTS());
    const before = list(h.layout.root);
    const parts = openInner(inner)
      .manifest.parts.filter((p) => p.name === 'grafana' || p.name === 'secrets')
      .map((p) => (p.name === 'secrets' ? { ...p, sha256: '0'.repeat(64) } : p));
    const r = sh(h, placement(h, inner, { parts, moveAside: { grafana: true, secrets: true, stamp: STAMP } }), inner);
    expect(r.code).toBe(9);
    expect(r.stderr).toMatch(/secrets\.tar: its sha256 on the host is not the one the manifest records/);
    expect(list(h.layout.root)).toBe(before);
    expect(log(h)).toEqual([]);
  });

  it('with restore-overwrite: Grafana stopped, the old data and secrets moved aside (named), never deleted', () => {
    const h = host();
    const inner = innerArchive(PARTS());
    const r = sh(h, placement(h, inner, { moveAside: { grafana: true, secrets: true, stamp: STAMP } }), inner);
    expect(r.code).toBe(0);
    expect(log(h)).toEqual(['stop c-grafana']);
    const grafanaAside = join(h.layout.dataDir, `grafana.before-restore-${STAMP}`);
    const secretsAside = join(h.layout.root, `secrets.before-restore-${STAMP}`);
    expect(r.out).toContain(`@moved ${grafanaAside}\n`);
    expect(r.out).toContain(`@moved ${secretsAside}\n`);
    expect(readFileSync(join(grafanaAside, 'grafana.db-journal'), 'utf8')).toBe('journal');
    expect(readFileSync(join(secretsAside, 'grafana_secret_key'), 'utf8')).toBe('K'.repeat(64));
    expect(statSync(secretsAside).mode & 0o777).toBe(0o700);
    expect(readFileSync(join(h.layout.secretsDir, 'grafana_secret_key'), 'utf8')).toBe('k'.repeat(64));
    expect(existsSync(join(h.layout.dataDir, 'grafana', 'grafana.db-journal'))).toBe(false);
  });

  it("keeps to issue 25's checks: secrets/ as a symbolic link is refused (exit 7), nothing changed", () => {
    const h = host();
    const elsewhere = privateTempDir('md-elsewhere-');
    execFileSync('rm', ['-rf', h.layout.secretsDir]);
    symlinkSync(elsewhere, h.layout.secretsDir);
    const inner = innerArchive(PARTS());
    const before = list(h.layout.root);
    const r = sh(h, placement(h, inner), inner);
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(/secrets is a symbolic link/);
    expect(list(h.layout.root)).toBe(before);
    expect(readdirSync(elsewhere)).toEqual([]);
  });
});

describe("the restore's look at the host, under the deploy lock", () => {
  it('runs inside the lock script and lets it go on holding the lock; names what Grafana data and secrets are there', () => {
    const h = host();
    const out = execFileSync('sh', ['-c', lockScript('deploy-abc', 'me', 5, restoreStateScript(h.layout))], {
      env: { ...h.env, HOME: h.layout.root.replace(/\/monitoring$/, '') },
      input: '',
      encoding: 'utf8',
    });
    expect(out).toMatch(/^LOCKED\n[\s\S]*@@lock-script-end\n$/);
    const target = parseRestoreTarget(out);
    expect([...target.grafanaData].sort()).toEqual(['grafana.db', 'grafana.db-journal']);
    expect(target.secretKeySha).toBe(sha256Hex(Buffer.from('K'.repeat(64))));
    // A fresh host: nothing there, and the lock still held to the end.
    execFileSync('rm', ['-rf', h.layout.root]);
    const fresh = execFileSync('sh', ['-c', lockScript('deploy-abc', 'me', 5, restoreStateScript(h.layout))], {
      env: { ...h.env, HOME: h.layout.root.replace(/\/monitoring$/, '') },
      input: '',
      encoding: 'utf8',
    });
    expect(fresh).toBe('LOCKED\n@@lock-script-end\n');
  });
});

describe("the restore script's volumes (backup-include)", () => {
  const withHistory = () =>
    innerArchive({
      ...PARTS(),
      'prometheus.tar.gz': Buffer.from('prometheus tsdb'),
      'loki.tar.gz': Buffer.from('loki chunks'),
    });
  const volumes = (moveAside: boolean) => ({
    helper: 'sandbox/busybox:1.35.0-debian',
    stamp: STAMP,
    each: [
      {
        part: 'prometheus' as const,
        volume: 'md-monitoring_prometheus-data',
        key: 'prometheus-data',
        service: 'prometheus',
        moveAside,
      },
      { part: 'loki' as const, volume: 'md-monitoring_loki-data', key: 'loki-data', service: 'loki', moveAside },
    ],
  });
  const partsOf = (inner: Buffer) => openInner(inner).manifest.parts;

  it('on a fresh host: each volume made with Compose labels, then its part extracted into it', () => {
    const h = host();
    const inner = withHistory();
    const r = sh(h, placement(h, inner, { parts: partsOf(inner), volumes: volumes(false) }), inner);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(log(h).filter((l) => !l.startsWith('volume inspect'))).toEqual([
      'volume create --label com.docker.compose.project=md-monitoring --label com.docker.compose.volume=prometheus-data md-monitoring_prometheus-data',
      'run --rm --network none -i -v md-monitoring_prometheus-data:/dst sandbox/busybox:1.35.0-debian tar -xzf - -C /dst',
      'volume create --label com.docker.compose.project=md-monitoring --label com.docker.compose.volume=loki-data md-monitoring_loki-data',
      'run --rm --network none -i -v md-monitoring_loki-data:/dst sandbox/busybox:1.35.0-debian tar -xzf - -C /dst',
    ]);
    expect(readFileSync(join(h.state, 'stdin-0'), 'utf8')).toBe('prometheus tsdb');
    expect(readFileSync(join(h.state, 'stdin-1'), 'utf8')).toBe('loki chunks');
    expect(r.out).toMatch(/@placed prometheus\n@placed loki\n/);
  });

  it('with restore-overwrite: the service stopped, what the volume held copied to a volume of its own, then emptied and filled', () => {
    const h = host();
    writeFileSync(join(h.state, 'has-prometheus'), '');
    writeFileSync(join(h.state, 'has-volume-md-monitoring_prometheus-data'), '');
    const inner = withHistory();
    const v = volumes(false);
    const r = sh(
      h,
      placement(h, inner, {
        parts: partsOf(inner),
        volumes: { ...v, each: [{ ...(v.each[0] as (typeof v.each)[0]), moveAside: true }] },
      }),
      inner,
    );
    expect(r.code).toBe(0);
    const aside = `md-monitoring_prometheus-data-before-restore-${STAMP}`;
    expect(log(h).filter((l) => !l.startsWith('volume inspect'))).toEqual([
      'stop c-prometheus',
      `volume create ${aside}`,
      `run --rm --network none -v md-monitoring_prometheus-data:/src:ro -v ${aside}:/dst sandbox/busybox:1.35.0-debian cp -a /src/. /dst/`,
      'run --rm --network none -v md-monitoring_prometheus-data:/d sandbox/busybox:1.35.0-debian sh -c rm -rf /d/* /d/.[!.]* /d/..?*',
      'run --rm --network none -i -v md-monitoring_prometheus-data:/dst sandbox/busybox:1.35.0-debian tar -xzf - -C /dst',
    ]);
    expect(r.out).toContain(`@moved volume ${aside}\n`);
  });
});
