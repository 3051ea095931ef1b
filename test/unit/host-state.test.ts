// The one read of the host a deploy makes under its lock: the lock script on a real sh and
// flock, the state script's parts parsed back, and when Compose need not run at all.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostStateScript, parseHostState } from '../../src/engine/host-state';
import { lockScript } from '../../src/host/lock';
import { olderThan, PREFLIGHT_SCRIPT, parseFacts, preflightProblems } from '../../src/host/preflight';
import { readSettings } from '../../src/settings/settings';
import { stacksUpToDate, wantedServices } from '../../src/stack/compose';
import { renderForHost } from '../../src/stack/plan';
import { privateTempDir } from '../helpers/private-tmp';

describe('the lock script', () => {
  it("takes the lock in the login user's own mode-700 directory, then runs the state read under it", () => {
    const home = mkdtempSync(join(tmpdir(), 'md-home-'));
    const out = execFileSync('sh', ['-c', lockScript('deploy-abc', 'me', 5, 'echo state-read')], {
      env: { ...process.env, HOME: home },
      input: '',
      encoding: 'utf8',
    });
    expect(out).toBe('LOCKED\nstate-read\n@@lock-script-end\n');
    expect(statSync(join(home, '.monitoring-deploy')).mode & 0o777).toBe(0o700);
  });

  it('a second deploy waits, naming the owner, and gives up after its timeout', async () => {
    const home = mkdtempSync(join(tmpdir(), 'md-home-'));
    const env = { ...process.env, HOME: home };
    const holder = spawn('sh', ['-c', lockScript('deploy-abc', 'the first deploy', 5)], { env });
    await new Promise<void>((res) => holder.stdout.on('data', (d) => String(d).includes('LOCKED') && res()));
    try {
      const second = (() => {
        try {
          execFileSync('sh', ['-c', lockScript('deploy-abc', 'the second', 1)], { env, input: '', encoding: 'utf8' });
          return { code: 0, out: '' };
        } catch (e) {
          return { code: (e as { status: number }).status, out: String((e as { stdout: string }).stdout) };
        }
      })();
      expect(second).toEqual({ code: 3, out: 'WAIT the first deploy\n' });
    } finally {
      holder.stdin.end();
    }
  });
});

describe('the host state', () => {
  const settings = readSettings({
    host: 'h',
    username: 'ec2-user',
    'ssh-key': '-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----',
    'host-fingerprint': `SHA256:${'a'.repeat(43)}`,
    'app-image': 'me/back:1.4.2',
    'insecure-skip-host-key-check': 'false',
  });

  it('reads swap, the network, missing directories, files, containers, dashboards, the last up and the password', () => {
    const root = privateTempDir('md-state-');
    const home = root;
    const facts = parseFacts(
      `uid=1000\ngid=1000\nhome=${home}\ndocker=direct\ncompose=docker compose\ncompose_version=2.26.1\n`,
    );
    const { layout, rendered } = renderForHost(settings, { uid: 1000, gid: 1000, home });
    // As a deploy leaves them: the remote dir and secrets/ the login user's own, mode 700.
    mkdirSync(join(layout.root, 'secrets'), { recursive: true, mode: 0o700 });
    mkdirSync(join(layout.dataDir, 'grafana-com-dashboards'), { recursive: true });
    writeFileSync(join(layout.dataDir, 'grafana-com-dashboards/1860.json'), '{}');
    writeFileSync(join(layout.root, 'secrets/grafana_admin_password'), 's3cret-Pw\n');
    writeFileSync(join(layout.root, '.up-release'), 'abcdef012345\n');
    // docker and awk stand-ins on the PATH: the parts that ask the engine get fixed answers.
    const bin = join(root, 'bin');
    mkdirSync(bin);
    writeFileSync(
      join(bin, 'docker'),
      `#!/bin/sh
case "$1 $2" in
  "network inspect") echo bridge ;;
  "ps -aq") [ "$4" = label=com.docker.compose.project ] && echo c1 c2 ;;
  "inspect -f") echo "@container loki|md-monitoring|/loki|running||0|172.18.0.5"
    echo "@container web|someone-elses-project|/web|running||0|" ;;
esac
`,
      { mode: 0o755 },
    );
    const out = execFileSync('sh', ['-c', hostStateScript({ settings, facts, layout, rendered })], {
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
      encoding: 'utf8',
    });
    const state = parseHostState(out, layout);
    expect(state.networkDriver).toBe('bridge');
    expect(state.missing).toContain(layout.logsDir);
    expect(state.missing).not.toContain(layout.secretsDir);
    expect(state.unsafeDirs).toEqual([]);
    expect(state.files).toMatchObject({ managed: [], release: undefined, saved: false });
    expect(state.containers).toEqual([
      {
        service: 'loki',
        project: 'md-monitoring',
        name: 'loki',
        state: 'running',
        health: undefined,
        restarts: 0,
        address: '172.18.0.5',
      },
    ]);
    expect(state.dashboards).toEqual(['1860.json']);
    expect(state.upRelease).toBe('abcdef012345');
    expect(state.grafanaPassword).toBe('s3cret-Pw');
    expect(state.swapActiveKb).toBeGreaterThanOrEqual(0);
  });

  it('Compose runs unless the release was brought up whole and every wanted service is up', () => {
    const { rendered } = renderForHost(settings, { uid: 1000, gid: 1000, home: '/home/ec2-user' });
    const wanted = wantedServices(rendered);
    expect(wanted.map((w) => w.service).sort()).toEqual(
      ['disk-guard', 'grafana', 'loki', 'nginx', 'node-exporter', 'prometheus', 'promtail', 'server'].sort(),
    );
    const all = wanted.map((w) => ({ ...w, state: 'running' }));
    expect(stacksUpToDate('r1', 'r1', 'missing', wanted, all)).toBe(true);
    expect(stacksUpToDate('r0', 'r1', 'missing', wanted, all)).toBe(false);
    expect(stacksUpToDate('r1', 'r1', 'always', wanted, all)).toBe(false);
    expect(stacksUpToDate('r1', 'r1', 'missing', wanted, all.slice(1))).toBe(false);
    const loki = all.map((c) => (c.service === 'loki' ? { ...c, state: 'exited' } : c));
    expect(stacksUpToDate('r1', 'r1', 'missing', wanted, loki)).toBe(false);
    const paused = all.map((c) => (c.service === 'loki' ? { ...c, state: 'paused' } : c));
    expect(stacksUpToDate('r1', 'r1', 'missing', wanted, paused)).toBe(true);
    // A container whose profile is off (Alloy after a switch back to Promtail) must be removed.
    const extra = [...all, { project: 'md-monitoring', service: 'alloy', state: 'running' }];
    expect(stacksUpToDate('r1', 'r1', 'missing', wanted, extra)).toBe(false);
    // The agent stack of an earlier run, no longer deployed here, does not make every run redo Compose.
    const otherStack = [...all, { project: 'md-agent', service: 'promtail', state: 'running' }];
    expect(stacksUpToDate('r1', 'r1', 'missing', wanted, otherStack)).toBe(true);
  });
});

describe('preflight', () => {
  const facts = (compose: string, version: string) =>
    parseFacts(
      `docker=direct\ndocker_version=26.1\ncompose=${compose}\ncompose_version=${version}\ndisk_free_kb=99999999\n`,
    );
  it('refuses Compose v1 older than 1.28 (no profiles), naming the version and the fix', () => {
    expect(preflightProblems(facts('docker-compose', '1.27.4'), 'ec2-user')).toEqual([
      'Docker Compose 1.27.4 (v1) is too old: the stack uses profiles, which Compose v1 reads from 1.28 on. Fix: install the Compose v2 plugin (package docker-compose-plugin), or docker-compose 1.28 or newer.',
    ]);
    expect(preflightProblems(facts('docker-compose', '1.29.2'), 'ec2-user')).toEqual([]);
    expect(preflightProblems(facts('docker compose', '2.26.1-4'), 'ec2-user')).toEqual([]);
    expect(olderThan('v2.9.0', [2, 10])).toBe(true);
    expect(olderThan('1.28.0', [1, 28])).toBe(false);
  });
  // The real script on a real sh, with docker, sudo and docker-compose stand-ins on the PATH.
  const runPreflight = (shims: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), 'md-preflight-'));
    for (const [name, body] of Object.entries(shims))
      writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    const out = execFileSync('sh', ['-c', PREFLIGHT_SCRIPT], {
      env: { PATH: `${dir}:/usr/bin:/bin`, HOME: dir },
      encoding: 'utf8',
    });
    return { facts: parseFacts(out), home: dir };
  };
  const dockerOk = `case "$1 $2" in "version --format") echo 26.1.4 ;; "compose version") echo 2.29.7 ;; *) exit 1 ;; esac`;

  it('reads Docker direct with its Compose plugin, and the host facts, in one script', () => {
    const { facts, home } = runPreflight({ docker: dockerOk, sudo: 'exit 1' });
    expect(facts).toMatchObject({
      dockerAccess: 'direct',
      dockerServerVersion: '26.1.4',
      compose: { command: 'docker compose', version: '2.29.7' },
      sudo: false,
      home,
    });
    expect(facts.uid).toBe(process.getuid?.());
    expect(facts.hostNowSec).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(facts.diskFreeBytes).toBeGreaterThan(0);
    expect(facts.memTotalBytes).toBeGreaterThan(0);
  });

  it("Docker through sudo only; Compose v1 when there is no plugin; Docker's own error when neither works", () => {
    const denied = `echo "permission denied while trying to connect to the Docker daemon socket" >&2; echo "second line" >&2; exit 1`;
    const viaSudo = runPreflight({
      docker: denied,
      sudo: `[ "$1" = -n ] && shift; [ "$1" = true ] && exit 0; [ "$1" = docker ] && shift && case "$1 $2" in "version --format") echo 26.1.4 ;; *) exit 1 ;; esac`,
      'docker-compose': 'echo 1.29.2',
    }).facts;
    expect(viaSudo).toMatchObject({
      dockerAccess: 'sudo',
      dockerServerVersion: '26.1.4',
      compose: { command: 'docker-compose', version: '1.29.2' },
      sudo: true,
    });
    const none = runPreflight({ docker: denied, sudo: 'exit 1' }).facts;
    expect(none.dockerAccess).toBe('none');
    expect(none.dockerError).toBe('permission denied while trying to connect to the Docker daemon socket second line');
  });
});
