// Losing the host and getting it back (issue 27), on the sandbox with the built dist/: a deploy
// whose Grafana admin password is made on the host, a dashboard and a data source with a password
// made through Grafana's HTTP API, a backup, the host torn down to a fresh one, a restore and
// deploy: the dashboard is there, the data source's password still decrypts (its health check
// passes through a proxy that refuses any other password), the old admin password logs in. Then
// the refusals, each leaving the host as it was: a changed byte, a wrong key, another Grafana
// major, and a host that holds other state (and with restore-overwrite, moved aside).
//
// Grafana here is the sandbox's STAND-IN (test/sandbox/images/grafana/): it keeps what its API is
// given in a database file under its data directory, the data sources' passwords encrypted with
// GF_SECURITY_SECRET_KEY, as Grafana keeps them in its database (see the README).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackupManifest, decryptArchive, openInner } from '../../src/model/backup';
import { deployWithAction, sandboxInputs, sh } from '../helpers/deploy';
import { runCli } from '../helpers/dist';
import {
  canLogIn,
  createDashboard,
  createDatasourceWithPassword,
  datasourceHealth,
  getDashboard,
  sandboxGrafana,
} from '../helpers/grafana-api';
import { sandboxPrometheus, startSandboxPasswordProxy } from '../helpers/password-proxy';
import { connectionFlags, keyEnv, loadSandbox, type Sandbox } from '../helpers/sandbox';

const BACKUP_KEY = 'e2e-backup-key-5b1d7c9a2f';
const DS_USER = 'reader';
const DS_PASSWORD = 'ds-password-3e8f1a';
const DASHBOARD_UID = 'md-backup-e2e';

let s: Sandbox;
let proxy: Awaited<ReturnType<typeof startSandboxPasswordProxy>>;
let root = '';
/** What the first test leaves for the refusals: the archive and the admin password in it. */
const made = { archive: '', adminPassword: '', datasourceUid: '', withHistory: '', historyAt: '' };

beforeAll(async () => {
  s = loadSandbox();
  root = `${s.home}/monitoring`;
  proxy = await startSandboxPasswordProxy(DS_USER, DS_PASSWORD);
}, 60_000);
afterAll(() => proxy?.stop());

/**
 * A fresh host, as far as the deploy can tell: both stacks' containers and volumes, the shared
 * network, the remote dir (data and secrets with it) and the login user's ~/.monitoring-deploy
 * are removed. What stays is the machine itself (Docker, its images, the swap file), as on a new
 * instance made from the same image.
 */
function freshHost(): void {
  sh(
    `for p in md-app md-monitoring; do docker ps -aq --filter label=com.docker.compose.project=$p | xargs -r docker rm -f; docker volume ls -q --filter label=com.docker.compose.project=$p | xargs -r docker volume rm; done; docker network rm monitoring >/dev/null 2>&1 || true; rm -rf ${root} ${s.home}/.monitoring-deploy`,
  );
}

/** Everything a refused restore must leave as it was: the remote dir's files and modes, and the containers. */
function hostState(): string {
  return [
    sh(
      `cd ${root} && find . -path ./logs -prune -o -path ./data/disk-guard -prune -o -print | sort | while IFS= read -r f; do if [ -f "$f" ]; then echo "$(stat -c '%a %U' "$f") $(sha256sum < "$f" | cut -c1-16) $f"; else echo "$(stat -c '%a %U' "$f") $f"; fi; done`,
    ),
    sh("docker ps -a --format '{{.Names}} {{.ID}} {{.State}}' | sort"),
    sh("docker inspect -f '{{.Name}} {{.State.StartedAt}}' $(docker ps -aq) | sort"),
  ].join('\n');
}

const cliFlags = () => [
  ...connectionFlags(s),
  '--images',
  s.images,
  '--pull',
  'never',
  '--swap-size',
  '256M',
  '--grafana-dashboards',
  'none',
];

describe('backup and restore (dist/ on the sandbox host)', () => {
  it('a host lost and restored: the dashboard, the data source password and the admin password come back', async () => {
    freshHost();
    const deployed = await deployWithAction(sandboxInputs(s));
    expect(deployed.stdout).not.toContain('::error::');
    expect(deployed.code).toBe(0);
    // No grafana-admin-password: the host made one.
    made.adminPassword = readFileSync(`${root}/secrets/grafana_admin_password`, 'utf8').trim();
    expect(made.adminPassword.length).toBeGreaterThanOrEqual(24);
    const key = readFileSync(`${root}/secrets/grafana_secret_key`, 'utf8');
    const g = sandboxGrafana(made.adminPassword);
    await createDashboard(g, 'Made in the UI before the host was lost', { uid: DASHBOARD_UID });
    const ds = await createDatasourceWithPassword(g, {
      name: 'Behind a password',
      url: proxy.datasourceUrl,
      basicAuthUser: DS_USER,
      basicAuthPassword: DS_PASSWORD,
    });
    made.datasourceUid = ds.uid;
    expect((await datasourceHealth(g, ds.uid)).body.status).toBe('OK');

    const runnerTemp = mkdtempSync(join(tmpdir(), 'md-runner-temp-'));
    const backup = await deployWithAction(sandboxInputs(s, { command: 'backup', 'backup-key': BACKUP_KEY }), {
      RUNNER_TEMP: runnerTemp,
    });
    expect(backup.stdout).not.toContain('::error::');
    expect(backup.code).toBe(0);
    made.archive = backup.outputs['backup-path'] ?? '';
    expect(made.archive).toMatch(new RegExp(`^${runnerTemp}/monitoring-backup-127\\.0\\.0\\.1-\\d{8}T\\d{6}Z\\.age$`));
    expect(statSync(made.archive).mode & 0o777).toBe(0o600);
    expect(Number(backup.outputs['backup-bytes'])).toBe(statSync(made.archive).size);
    // The figures a person reads, and what was left out with its size.
    const sentence = /backup: [\d.]+ [KMG]iB in [\d.]+m?s, Grafana paused \d+ ms, written to \S+, mode 600/.exec(
      backup.stdout,
    )?.[0];
    expect(sentence).toBeDefined();
    console.log(`measured: ${sentence}`);
    expect(backup.stdout).toMatch(/Prometheus data [\d.]+ [KMG]iB: not included, backup-include: prometheus/);
    expect(backup.stdout).toMatch(/Loki data [\d.]+ [KMG]iB: not included, backup-include: loki/);
    // Nothing unencrypted: the runner's directory holds the age file only, the host no staging copy,
    // and neither the admin password nor the secret key is in the archive's bytes or the log.
    expect(readdirSync(runnerTemp)).toEqual([made.archive.slice(runnerTemp.length + 1)]);
    expect(sh(`ls -A ${root} | grep -c '^.backup-' || true`)).toBe('0');
    const bytes = readFileSync(made.archive, 'latin1');
    expect(bytes.startsWith('age-encryption.org/v1\n-> scrypt ')).toBe(true);
    // (::add-mask:: lines tell the runner what to hide; they are not shown.)
    const shown = backup.stdout
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n');
    expect(backup.stdout).toContain(`::add-mask::${BACKUP_KEY}`);
    for (const secret of [made.adminPassword, key.trim(), BACKUP_KEY]) {
      expect(bytes).not.toContain(secret);
      expect(shown).not.toContain(secret);
      expect(backup.summary).not.toContain(secret);
    }
    // Grafana was unpaused: it answers.
    expect(await canLogIn(g, made.adminPassword)).toBe(true);

    freshHost();
    expect(sh(`[ -e ${root} ] && echo there || echo gone`)).toBe('gone');
    expect(sh('docker ps -aq --filter label=com.docker.compose.project=md-monitoring | wc -l')).toBe('0');

    const restored = await deployWithAction(
      sandboxInputs(s, { command: 'restore', 'backup-key': BACKUP_KEY, 'restore-from': made.archive }),
    );
    expect(restored.stdout).not.toContain('::error::');
    expect(restored.code).toBe(0);
    expect(restored.stdout).toMatch(/Open archive: ok .* backup of 127\.0\.0\.1 taken/);
    expect(restored.stdout).toMatch(/Restore: changed .* Grafana's data, \d secret file\(s\) from the backup of /);
    expect(restored.stdout).toMatch(/Health gate: ok/);
    const restoredLog = restored.stdout
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n');
    for (const secret of [made.adminPassword, key.trim(), BACKUP_KEY]) {
      expect(restoredLog).not.toContain(secret);
      expect(restored.summary).not.toContain(secret);
    }
    expect(readFileSync(`${root}/secrets/grafana_secret_key`, 'utf8')).toBe(key);
    expect(
      sh(
        `stat -c '%a' ${root} ${root}/secrets ${root}/secrets/grafana_secret_key ${root}/secrets/grafana_admin_password`,
      ),
    ).toBe('700\n700\n600\n600');
    const back = sandboxGrafana(made.adminPassword);
    expect(await canLogIn(back, made.adminPassword)).toBe(true);
    const dashboard = await getDashboard(back, DASHBOARD_UID);
    expect(dashboard.status).toBe(200);
    expect(dashboard.body.dashboard?.title).toBe('Made in the UI before the host was lost');
    const accepted = proxy.seen.accepted;
    const health = await datasourceHealth(back, ds.uid);
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('OK');
    // The password reached the proxy: it was decrypted with the restored secret key.
    expect(proxy.seen.accepted).toBeGreaterThan(accepted);
  }, 900_000);

  it('backup-include: the Prometheus and Loki volumes go in too, each paused only while it is read (CLI backup PATH)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'md-include-'));
    const path = join(dir, 'with-history.age');
    const r = await runCli(['backup', ...cliFlags(), '--backup-include', 'prometheus,loki', '--json', path], {
      ...keyEnv(s),
      MONITORING_DEPLOY_BACKUP_KEY: BACKUP_KEY,
    });
    expect(r.stderr).not.toMatch(/error:/);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as { path: string; pausedMs: Record<string, number>; manifest: BackupManifest };
    expect(json.path).toBe(path);
    expect(Object.keys(json.pausedMs).sort()).toEqual(['grafana', 'loki', 'prometheus']);
    console.log(`measured: paused ${JSON.stringify(json.pausedMs)} ms, archive ${statSync(path).size} bytes`);
    expect(json.manifest.parts.map((p) => p.name).sort()).toEqual([
      'env',
      'grafana',
      'loki',
      'prometheus',
      'release',
      'secrets',
    ]);
    expect(json.manifest.leftOut).toEqual([]);
    made.withHistory = path;
    made.historyAt = json.manifest.createdAt;
    // The volumes as the containers see them: Prometheus' TSDB and Loki's directories.
    const opened = openInner(await decryptArchive(readFileSync(path), BACKUP_KEY));
    const list = (file: string) =>
      execFileSync('tar', ['-tzf', '-'], { input: opened.files.get(file) ?? Buffer.alloc(0), encoding: 'utf8' });
    expect(list('prometheus.tar.gz')).toMatch(/^\.\/wal\//m);
    expect(list('loki.tar.gz')).toMatch(/^\.\/(chunks|tsdb-shipper-active|compactor|wal)\b/m);
    // Every container runs again.
    expect(sh('docker ps --filter status=paused -q | wc -l')).toBe('0');
  }, 300_000);

  it('a changed byte, a wrong key, another Grafana major: refused before the host is touched', async () => {
    expect(made.archive).not.toBe('');
    const before = hostState();
    const dir = mkdtempSync(join(tmpdir(), 'md-tampered-'));
    const tampered = join(dir, 'tampered.age');
    const body = readFileSync(made.archive);
    body[body.length - 100] = (body[body.length - 100] ?? 0) ^ 0x01;
    writeFileSync(tampered, body, { mode: 0o600 });
    const restore = (archive: string, key: string, more: string[] = []) =>
      runCli(['restore', ...cliFlags(), ...more, archive], { ...keyEnv(s), MONITORING_DEPLOY_BACKUP_KEY: key });

    const changed = await restore(tampered, BACKUP_KEY);
    expect(changed.code).toBe(1);
    expect(changed.stderr).toMatch(
      /The archive was changed or is damaged: age refused it \(invalid tag\)\. Nothing was restored\./,
    );

    const wrongKey = await restore(made.archive, 'not-the-backup-key-0000');
    expect(wrongKey.code).toBe(2);
    expect(wrongKey.stderr).toMatch(/backup-key: it does not open this archive/);

    const images = s.images.replace(/^grafana=.*$/m, 'grafana=sandbox/grafana-standin:2');
    const otherMajor = await restore(made.archive, BACKUP_KEY, ['--images', images]);
    expect(otherMajor.code).toBe(2);
    expect(otherMajor.stderr).toMatch(
      /restore-from: the archive holds the data of Grafana sandbox\/grafana-standin:1 \(major 1\), and this deploy runs sandbox\/grafana-standin:2 \(major 2\); nothing was changed on the host/,
    );
    expect(otherMajor.stderr).toMatch(
      /Fix: restore with the Grafana it was made with \(images: grafana=sandbox\/grafana-standin:1\)/,
    );
    for (const r of [changed, wrongKey, otherMajor]) expect(r.stderr).not.toMatch(/▶ Connect|Connect: ok/);
    expect(hostState()).toBe(before);
  }, 300_000);

  it('a host that holds other Grafana state is refused unchanged; with restore-overwrite it is moved aside, never deleted', async () => {
    const g = sandboxGrafana(made.adminPassword);
    await createDashboard(g, 'Made after the restore', { uid: 'md-after-restore' });
    const before = hostState();
    const refused = await runCli(['restore', ...cliFlags(), made.archive], {
      ...keyEnv(s),
      MONITORING_DEPLOY_BACKUP_KEY: BACKUP_KEY,
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /The host already holds other Grafana state; nothing was changed:\n\s+- \S+\/data\/grafana holds /,
    );
    expect(refused.stderr).toMatch(/Fix: set restore-overwrite: true/);
    expect(hostState()).toBe(before);

    const overwrite = await runCli(['restore', ...cliFlags(), '--restore-overwrite', 'true', made.archive], {
      ...keyEnv(s),
      MONITORING_DEPLOY_BACKUP_KEY: BACKUP_KEY,
    });
    expect(overwrite.stderr).not.toMatch(/error:/);
    expect(overwrite.code).toBe(0);
    const aside = /moved aside: (\S+\/data\/grafana\.before-restore-\d{8}T\d{6}Z)/.exec(overwrite.stdout)?.[1] ?? '';
    expect(aside).not.toBe('');
    // What was there is kept, with the dashboard made after the restore; Grafana has the archive's state.
    expect(Number(sh(`grep -c md-after-restore ${aside}/grafana-standin.db.json`))).toBeGreaterThan(0);
    const back = sandboxGrafana(made.adminPassword);
    expect((await getDashboard(back, 'md-after-restore')).status).toBe(404);
    expect((await getDashboard(back, DASHBOARD_UID)).status).toBe(200);
    expect((await datasourceHealth(back, made.datasourceUid)).body.status).toBe('OK');
  }, 600_000);

  it('onto a fresh host, a backup with backup-include brings the metrics and logs history back', async () => {
    expect(made.withHistory).not.toBe('');
    freshHost();
    const r = await runCli(['restore', ...cliFlags(), made.withHistory], {
      ...keyEnv(s),
      MONITORING_DEPLOY_BACKUP_KEY: BACKUP_KEY,
    });
    expect(r.stderr).not.toMatch(/error:/);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/Restore: changed .* and the (loki and prometheus|prometheus and loki) volume\(s\)/);
    // Samples from before the backup: a Prometheus started after the restore has them only from
    // the restored TSDB (its WAL, replayed at start).
    const before = Date.parse(made.historyAt) / 1000 - 1;
    const prometheus = await sandboxPrometheus();
    const answer = (await (await fetch(`${prometheus}/api/v1/query?query=up&time=${before}`)).json()) as {
      data: { result: unknown[] };
    };
    expect(answer.data.result.length).toBeGreaterThan(0);
    // Loki's volume holds what the archive had (its directories), as Loki's own user.
    const loki = sh('docker exec disk-guard sh -c "ls -A /loki; stat -c %u /loki/chunks"');
    expect(loki).toMatch(/chunks/);
    expect(loki.split('\n').at(-1)).toBe('10001');
    // Made with Compose's labels, so Compose takes them as its own (it warns of, and `down -v` skips, others).
    expect(
      sh(
        'docker volume inspect -f \'{{index .Labels "com.docker.compose.project"}}\' md-monitoring_prometheus-data md-monitoring_loki-data',
      ),
    ).toBe('md-monitoring\nmd-monitoring');
  }, 600_000);
});
