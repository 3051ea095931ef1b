// action.yml and every workflow pass the action-validator schema checks (npm @action-validator/core).
import { readdirSync, readFileSync } from 'node:fs';
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
});
