// Issue 25, finding 6: the canary script on this machine's own sh over real files. The level
// directories live in the app's log directory (1777), where the app can plant links; the canary
// neither writes nor removes anything through a link, says which link it met, and only the
// login user's writer removes earlier runs' files.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { invocation } from '../../src/connection/shell';
import type { RemoteHost } from '../../src/connection/ssh';
import {
  CANARY_MARK,
  type CanaryPlan,
  type CanarySpot,
  canaryFileName,
  canaryScript,
  parseCanaryWrites,
} from '../../src/health/canary';
import { type LogProgress, logPathChecks } from '../../src/health/log-path';
import { parseFacts } from '../../src/host/preflight';
import { privateTempDir } from '../helpers/private-tmp';

function sh(script: string): string {
  const { command, stdin } = invocation(script);
  return execFileSync('sh', ['-c', command], { input: stdin, encoding: 'utf8' });
}

/** This machine as the host: scripts run on its sh, as RemoteHost.run runs them. */
const here = { run: async (script: string) => sh(script) } as unknown as RemoteHost;

/** logs/app as the deploy makes it, with the app's debug level directory, and a victim next to it. */
function logsAndVictim() {
  const base = privateTempDir('md-hostile-canary-');
  const app = join(base, 'logs/app');
  mkdirSync(app, { recursive: true, mode: 0o1777 });
  const victim = join(base, 'victim');
  mkdirSync(victim);
  writeFileSync(join(victim, `old-${CANARY_MARK}-111.log`), 'not the canary\n');
  writeFileSync(join(victim, 'keep.txt'), 'x\n');
  return { app, victim };
}

const snapshot = (dir: string) =>
  Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8')]));

function planFor(app: string, below: string, token: string): CanaryPlan {
  return {
    agent: { service: 'promtail', title: 'Promtail', image: 'grafana/promtail:3' },
    spots: [
      {
        job: 'debug_logs',
        glob: `/var/log/app/${below}/*.log`,
        containerFile: `/var/log/app/${below}/${canaryFileName('*.log', token)}`,
        hostFile: join(app, below, canaryFileName('*.log', token)),
        hostRoot: app,
      },
    ],
  };
}

describe('the canary against links planted in the log directory', () => {
  it('debug -> victim/: nothing in victim/ is made or removed, and the check names the link', async () => {
    const { app, victim } = logsAndVictim();
    symlinkSync(victim, join(app, 'debug'));
    const before = snapshot(victim);
    const token = 'abc123';
    const canary = { ...planFor(app, 'debug', token), token };
    // No sudo here is asked for a password, and the docker stand-in would say so if it were run.
    expect(parseCanaryWrites(sh(canaryScript(canary, token, 'echo DOCKER-RAN; false'))).get('debug_logs')).toEqual({
      state: 'link',
      path: join(app, 'debug'),
    });
    expect(snapshot(victim)).toEqual(before);

    const progress: LogProgress = {
      started: Date.now(),
      writes: new Map(),
      arrivedMs: new Map(),
      misrouted: new Map(),
      appLines: { arrived: new Set() },
    };
    const facts = parseFacts(`uid=0\ngid=0\nhome=${app}\ndocker=direct\n`);
    const [check] = await logPathChecks(here, facts, canary, {}, undefined, progress);
    expect(check?.ok).toBe(false);
    expect(check?.detail).toContain(
      `but ${join(app, 'debug')} is a symbolic link: the canary is not written through it`,
    );
    expect(check?.detail).toContain('Make it a real directory');
    expect(snapshot(victim)).toEqual(before);
  });

  it('a link deeper down, or one that leaves by .., is met the same way', () => {
    const { app, victim } = logsAndVictim();
    mkdirSync(join(app, 'debug'));
    symlinkSync('../../victim', join(app, 'debug', 'more'));
    const before = snapshot(victim);
    const out = sh(canaryScript(planFor(app, 'debug/more', 't1'), 't1', 'false'));
    expect(parseCanaryWrites(out).get('debug_logs')).toEqual({ state: 'link', path: join(app, 'debug/more') });
    expect(snapshot(victim)).toEqual(before);
  });

  it("a link planted at the canary's own file name is not written through", () => {
    const { app, victim } = logsAndVictim();
    mkdirSync(join(app, 'debug'));
    const name = canaryFileName('*.log', 't2');
    symlinkSync(join(victim, 'keep.txt'), join(app, 'debug', name));
    const before = snapshot(victim);
    const out = sh(canaryScript(planFor(app, 'debug', 't2'), 't2', 'false'));
    expect(parseCanaryWrites(out).get('debug_logs')).toEqual({ state: 'taken', path: join(app, 'debug', name) });
    expect(snapshot(victim)).toEqual(before);
  });

  it("removes earlier runs' canary files in the real directory, but not a link named like one, nor what it points to", () => {
    const { app, victim } = logsAndVictim();
    const debug = join(app, 'debug');
    mkdirSync(debug);
    writeFileSync(join(debug, `${CANARY_MARK}-old1.log`), 'an earlier run\n');
    symlinkSync(join(victim, `old-${CANARY_MARK}-111.log`), join(debug, `${CANARY_MARK}-old2.log`));
    const before = snapshot(victim);
    const out = sh(canaryScript(planFor(app, 'debug', 't3'), 't3', 'false'));
    expect(parseCanaryWrites(out).get('debug_logs')).toEqual({ state: 'wrote' });
    expect(readdirSync(debug).sort()).toEqual([`${CANARY_MARK}-old2.log`, `${CANARY_MARK}-t3.log`]);
    expect(readFileSync(join(debug, `${CANARY_MARK}-t3.log`), 'utf8')).toMatch(/ t3 job=debug_logs\n$/);
    expect(snapshot(victim)).toEqual(before);
  });

  it("a glob naming one file (the app's own log): the login user appends to it, a real file in a real directory", () => {
    const { app } = logsAndVictim();
    mkdirSync(join(app, 'info'));
    writeFileSync(join(app, 'info', 'app.log'), 'the app wrote this\n');
    const plan = planFor(app, 'info', 't5');
    const spot = { ...plan.spots[0], job: 'info_logs', hostFile: join(app, 'info', 'app.log') } as CanarySpot;
    const out = sh(canaryScript({ ...plan, spots: [spot] }, 't5', 'false'));
    expect(parseCanaryWrites(out).get('info_logs')).toEqual({ state: 'wrote' });
    expect(readFileSync(join(app, 'info', 'app.log'), 'utf8')).toMatch(/^the app wrote this\n.* t5 job=info_logs\n$/);
  });

  it('the writers that run as root (sudo, a root container) are never asked to remove anything, nor to append', () => {
    const script = canaryScript(planFor('/r/logs/app', 'debug', 't4'), 't4', 'docker');
    const writers = script.split('\n').filter((l) => /r=\$\(/.test(l));
    expect(writers).toHaveLength(3);
    expect(writers[0]).toMatch(/^ {2}r=\$\(sh -c "\$W" _ .* own 2>/);
    expect(writers[1]).toContain('sudo -n sh -c');
    expect(writers[2]).toContain('docker run');
    for (const rootWriter of writers.slice(1)) expect(rootWriter).not.toMatch(/\bown\b/);
  });
});
