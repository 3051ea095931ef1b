// The app's own lines, without a host: the read-only script on a real sh over real files laid out
// as the bundled stack mounts them, then what the gate makes of its output (each job's newest
// line, quiet logs, files no job reads and their fix), and the Loki queries it asks.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type AppLinesPlan,
  appLineQuery,
  appLinesPlan,
  appLinesScript,
  appLineVerdict,
  expandBraces,
  FRESH_MARGIN_SEC,
  globRegExp,
  holdsLine,
  needleOf,
  parseDiskLook,
  unreadDetail,
  unreadFiles,
} from '../../src/health/app-lines';
import { CANARY_MARK } from '../../src/health/canary';
import { buildModel, type StackModel } from '../../src/model/compose';
import { hostDirOf } from '../../src/model/logs';
import { readSettings } from '../../src/settings/settings';
import { planStack } from '../../src/stack/plan';

/** The bundled stack rendered for a home in a scratch directory, so its log directories are real. */
function bundled(edit?: (model: StackModel) => void) {
  const home = mkdtempSync(join(tmpdir(), 'md-app-lines-'));
  const settings = readSettings({ 'app-image': 'me/back:1.4.2' }, { needsConnection: false });
  const r = planStack(settings, { uid: 1000, gid: 1000, home }).rendered;
  const model = buildModel(r.files, r.variables);
  edit?.(model);
  const agent = model.services.find((s) => s.name === 'promtail');
  const app = model.services.find((s) => s.name === 'server');
  if (!agent || !app) throw new Error('no promtail or server in the bundled stack');
  const root = join(home, 'monitoring');
  const appDir = hostDirOf(app, '/app/logs', root);
  if (!appDir) throw new Error('the app logs directory is not on the host');
  return { plan: appLinesPlan(model, agent, root, appDir), appDir };
}

/** Writes a file with lines, dated `agoSec` back. */
function put(path: string, text: string, agoSec = 0) {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  execFileSync('touch', ['-d', `@${Math.floor(Date.now() / 1000) - agoSec}`, path]);
}

const look = (plan: AppLinesPlan) => parseDiskLook(execFileSync('sh', ['-c', appLinesScript(plan)]).toString());

describe("the app's own lines", () => {
  it('finds each job’s newest complete line, calls an old log quiet, and leaves rotated copies and canaries alone', () => {
    const { plan, appDir } = bundled();
    put(join(appDir, 'info/info.log'), '2026-12-03 10:00:00.000 INFO first\n2026-12-03 10:00:03.000 INFO tick 2\n', 5);
    put(join(appDir, 'info/info.log.1'), 'rotated\n', 20);
    put(join(appDir, 'info/info-2026-12-02.0.log.gz'), 'gz', 10);
    put(join(appDir, `info/${CANARY_MARK}-abc.log`), 'canary\n', 1);
    // A segment just made, still empty: the file before it holds the newest line.
    put(join(appDir, 'info/info-next.log'), '', 0);
    put(join(appDir, 'debug/debug.log'), '2026-12-03 10:00:03.000 DEBUG tick 2\n2026-12-03 10:00:04.000 DEBUG par', 2);
    put(join(appDir, 'warn/warn.log'), '2026-12-03 07:00:00.000 WARN old\n', 3 * 3600);
    mkdirSync(join(appDir, 'error'), { recursive: true });
    const disk = look(plan);

    const info = disk.jobs.get('info_logs');
    expect(info).toMatchObject({ state: 'newest', path: join(appDir, 'info/info.log') });
    expect(info?.state === 'newest' && info.needle).toBe('2026-12-03 10:00:03.000 INFO tick 2');
    // The line being written (no newline yet) is not one the agent has shipped.
    const debug = disk.jobs.get('debug_logs');
    expect(debug?.state === 'newest' && debug.needle).toBe('2026-12-03 10:00:03.000 DEBUG tick 2');
    expect(disk.jobs.get('error_logs')).toEqual({ state: 'nofile' });
    expect(disk.jobs.get('nginx_log')).toEqual({ state: 'nodir' });
    expect(unreadFiles(plan, disk)).toEqual([]);

    const job = (name: string) => plan.jobs.find((j) => j.job === name) ?? plan.jobs[0];
    const infoJob = job('info_logs');
    if (!infoJob) throw new Error('no info job');
    expect(appLineVerdict(infoJob, disk, true, 'content', 'Promtail')).toEqual({
      ok: true,
      detail: "the app's newest line (info.log, written 5s ago) is in Loki",
    });
    expect(appLineVerdict(infoJob, disk, false, 'content', 'Promtail').ok).toBe(false);
    const warnJob = job('warn_logs');
    if (!warnJob) throw new Error('no warn job');
    expect(appLineVerdict(warnJob, disk, false, 'content', 'Promtail')).toMatchObject({
      ok: true,
      detail: expect.stringMatching(/^quiet: warn\.log last written 3 h ago$/),
    });
  });

  it('fails a file the app writes in a job’s directory that the job’s glob does not match, naming job, glob and file', () => {
    const { plan, appDir } = bundled((model) => {
      const config = model.yaml('promtail-dev-config.yml')?.data as {
        scrape_configs: { static_configs: { labels: Record<string, string> }[] }[];
      };
      const labels = config.scrape_configs[1]?.static_configs[0]?.labels as Record<string, string>;
      labels.__path__ = '/var/log/app/info/*.json';
    });
    put(join(appDir, 'info/app.log'), 'INFO hello\n', 3);
    const disk = look(plan);
    expect(disk.jobs.get('info_logs')).toEqual({ state: 'nofile' });
    const unread = unreadFiles(plan, disk);
    expect(unread.map((f) => [f.path, f.watchedBy.map((j) => j.job)])).toEqual([
      [join(appDir, 'info/app.log'), ['info_logs']],
    ]);
    expect(unreadDetail(plan, unread)).toMatch(
      new RegExp(
        `^${join(appDir, 'info')}/ has app\\.log \\(written in the last 10 min\\), which job info_logs \\(glob /var/log/app/info/\\*\\.json, promtail-dev-config\\.yml:\\d+\\) does not match: Promtail never reads it\\.`,
      ),
    );
  });

  it('names a default Spring Boot spring.log that no job reads, with the layout the jobs expect and the job to add', () => {
    const { plan, appDir } = bundled();
    put(join(appDir, 'spring.log'), '2026-12-03 10:00:00.000  INFO 1 --- [main] c.e.App : Started App\n', 4);
    put(join(appDir, 'old.log'), 'from last month\n', 3600);
    const disk = look(plan);
    const unread = unreadFiles(plan, disk);
    expect(unread.map((f) => [f.path, f.watchedBy.length])).toEqual([[join(appDir, 'spring.log'), 0]]);
    const detail = unreadDetail(plan, unread);
    expect(detail).toContain(`${appDir}/ has spring.log (written in the last 10 min), which no log job reads`);
    expect(detail).toContain('one file per level under debug/, info/, warn/ and error/');
    expect(detail).toContain('add a job reading /var/log/app/spring.log to promtail-dev-config.yml');
  });

  it('asks Loki for the newest line by its content, or on a no-op for any line as fresh, under the job’s labels', () => {
    const { plan } = bundled();
    const job = plan.jobs.find((j) => j.job === 'info_logs');
    if (!job) throw new Error('no info job');
    expect(job.labels).toEqual({ job: 'info_logs', host: expect.any(String) });
    const seen = { path: '/x/info.log', mtimeSec: 1_000_000, needle: 'a `quoted` "line"' };
    const content = appLineQuery(job, seen, 1_000_010, 'content');
    expect(content.query).toBe(
      `{job="info_logs", host=${JSON.stringify(job.labels.host)}} |= "a \`quoted\` \\"line\\""`,
    );
    const fresh = appLineQuery(job, seen, 1_000_010, 'fresh');
    expect(fresh.query).toMatch(new RegExp(`!= "${CANARY_MARK}"$`));
    expect(fresh.start).toBe(`${1_000_000 - FRESH_MARGIN_SEC}000000000`);
    expect(holdsLine('{"status":"success","data":{"resultType":"streams","result":[]}}')).toBe(false);
    expect(holdsLine('{"data":{"result":[{"stream":{},"values":[["1","x"]]}]}}')).toBe(true);
  });

  it('awaits no line written before the agent (re)started (it went with the previous run), and falls back to a later line', () => {
    const { plan } = bundled();
    const job = plan.jobs.find((j) => j.job === 'info_logs');
    if (!job) throw new Error('no info job');
    const seen = { state: 'newest' as const, path: '/x/info.log', mtimeSec: 1_000, needle: 'tick 1' };
    const disk = { nowSec: 1_030, agentStartSec: 1_010, jobs: new Map([['info_logs', seen]]), recent: [] };
    expect(appLineVerdict(job, disk, false, 'content', 'Promtail')).toEqual({
      ok: true,
      detail: 'info.log last written before Promtail (re)started: nothing new since',
    });
    expect(appLineVerdict(job, { ...disk, agentStartSec: 990 }, false, 'content', 'Promtail').ok).toBe(false);
    const after = appLineQuery(job, seen, 1_030, 'after');
    expect(after.start).toBe('1001000000000');
    expect(after.query).toMatch(new RegExp(`!= "${CANARY_MARK}"$`));
  });

  it('takes a needle from a line longer than the piece read from its end, and none from a half-written line', () => {
    expect(needleOf(Buffer.from('no newline yet'))).toBeUndefined();
    expect(needleOf(Buffer.from('one\r\ntwo\r\n\n'))).toBe('two');
    const long = Buffer.from(`${'x'.repeat(3000)} the end\n`).subarray(-2048);
    expect(needleOf(long)).toBe(`${'x'.repeat(152)} the end`);
  });

  it('matches globs as Promtail and Alloy do: one directory per *, any depth for **, braces and classes', () => {
    expect(expandBraces('a{b,c}d{1,2}')).toEqual(['abd1', 'abd2', 'acd1', 'acd2']);
    expect(globRegExp('/l/*.log').test('/l/a.log')).toBe(true);
    expect(globRegExp('/l/*.log').test('/l/x/a.log')).toBe(false);
    expect(globRegExp('/l/**/*.log').test('/l/a.log')).toBe(true);
    expect(globRegExp('/l/**/*.log').test('/l/x/y/a.log')).toBe(true);
    expect(globRegExp('/l/{info,warn}.[lj]og').test('/l/warn.jog')).toBe(true);
    expect(globRegExp('/l/{info,warn}.[lj]og').test('/l/debug.log')).toBe(false);
    // A comma outside braces is a plain character.
    expect(globRegExp('/l/{a,b}x,y.log').test('/l/ax,y.log')).toBe(true);
    expect(globRegExp('/l/{a,b}x,y.log').test('/l/y.log')).toBe(false);
  });
});
