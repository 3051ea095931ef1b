// action.yml and every workflow pass the action-validator schema checks (npm @action-validator/core).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { validateAction, validateWorkflow } from '@action-validator/core';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = resolve(__dirname, '../..');
const workflows = readdirSync(join(root, '.github/workflows')).filter((f) => f.endsWith('.yml'));

describe('workflow validation', () => {
  it('action.yml is a valid action', () => {
    expect(validateAction(readFileSync(join(root, 'action.yml'), 'utf8')).errors).toEqual([]);
  });

  it.each(workflows)('%s is a valid workflow', (f) => {
    expect(validateWorkflow(readFileSync(join(root, '.github/workflows', f), 'utf8')).errors).toEqual([]);
  });

  it('the validator rejects a broken workflow (the check can fail)', () => {
    expect(
      validateWorkflow('name: x\non: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    stepz: []\n').errors.length,
    ).toBeGreaterThan(0);
  });

  it('deploy-dev.yml: manual redeploy, push on monitoring changes, a concurrency group that never cancels, uses ./', () => {
    const wf = parse(readFileSync(join(root, '.github/workflows/deploy-dev.yml'), 'utf8'));
    expect(Object.keys(wf.on)).toEqual(['workflow_dispatch', 'push']);
    expect(wf.on.push.paths).toContain('compose/**');
    expect(wf.concurrency).toEqual({ group: 'deploy-dev', 'cancel-in-progress': false });
    expect(wf.jobs.deploy.steps.map((s: { uses?: string }) => s.uses)).toContain('./');
    for (const s of wf.jobs.deploy.steps) expect(s.run ?? '').not.toContain('${{');
  });

  it('watchdog.yml: check every 10 minutes, one at a time, with the webhook, uses ./', () => {
    const wf = parse(readFileSync(join(root, '.github/workflows/watchdog.yml'), 'utf8'));
    expect(wf.on.schedule).toEqual([{ cron: '*/10 * * * *' }]);
    expect(wf.concurrency.group).toBe('watchdog-dev');
    const step = wf.jobs.check.steps.find((s: { uses?: string }) => s.uses === './');
    expect(step.with.command).toBe('check');
    expect(step.with['discord-webhook-url']).toBe('${{ secrets.DISCORD_WEBHOOK_URL }}');
    // The job must end well before the next run starts.
    expect(wf.jobs.check['timeout-minutes']).toBeLessThan(10);
  });

  it('backup.yml: nightly, never next to a deploy, the archive uploaded from the backup-path output and kept 14 days', () => {
    const wf = parse(readFileSync(join(root, '.github/workflows/backup.yml'), 'utf8'));
    expect(wf.on.schedule).toEqual([{ cron: '17 3 * * *' }]);
    expect(wf.concurrency).toEqual({ group: 'deploy-dev', 'cancel-in-progress': false });
    const steps = wf.jobs.backup.steps as { id?: string; uses?: string; with?: Record<string, unknown> }[];
    const backup = steps.find((s) => s.uses === './');
    expect(backup?.with?.command).toBe('backup');
    expect(backup?.with?.['backup-key']).toBe('${{ secrets.BACKUP_KEY }}');
    const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'));
    expect(upload?.with?.path).toBe(`\${{ steps.${backup?.id}.outputs.backup-path }}`);
    expect(upload?.with?.['retention-days']).toBe(14);
    expect(steps.indexOf(upload as never)).toBeGreaterThan(steps.indexOf(backup as never));
  });

  it('release.yml: the major-tag step moves vX to the commit of the newest vX.Y.Z on the remote', () => {
    const wf = parse(readFileSync(join(root, '.github/workflows/release.yml'), 'utf8'));
    expect(wf.on.push.tags).toEqual(['v[0-9]+.[0-9]+.[0-9]+']);
    const steps = wf.jobs.release.steps as { run?: string; name?: string }[];
    expect(steps.findIndex((s) => s.run === 'npm run check-dist')).toBeLessThan(
      steps.findIndex((s) => s.name === 'Move the major tag'),
    );
    const script = steps.find((s) => s.name === 'Move the major tag')?.run ?? '';
    const dir = mkdtempSync(join(tmpdir(), 'md-release-'));
    const git = (...args: string[]) =>
      execFileSync('git', args, {
        cwd: join(dir, 'work'),
        encoding: 'utf8',
        env: {
          ...process.env,
          GIT_AUTHOR_NAME: 't',
          GIT_AUTHOR_EMAIL: 't@e',
          GIT_COMMITTER_NAME: 't',
          GIT_COMMITTER_EMAIL: 't@e',
        },
      }).trim();
    execFileSync('git', ['init', '-q', '--bare', join(dir, 'origin.git')]);
    execFileSync('git', ['init', '-q', join(dir, 'work')]);
    git('remote', 'add', 'origin', join(dir, 'origin.git'));
    const release = (tag: string) => {
      git('commit', '-q', '--allow-empty', '-m', tag);
      git('tag', '-a', tag, '-m', tag);
      execFileSync('bash', ['-e', '-c', script], {
        cwd: join(dir, 'work'),
        env: { ...process.env, TAG: tag },
        stdio: 'ignore',
      });
      return git('rev-parse', 'HEAD');
    };
    const first = release('v1.2.3');
    expect(git('ls-remote', 'origin', 'refs/tags/v1')).toBe(`${first}\trefs/tags/v1`);
    const second = release('v1.3.0');
    expect(git('ls-remote', 'origin', 'refs/tags/v1')).toBe(`${second}\trefs/tags/v1`);
    expect(second).not.toBe(first);
  });
});
