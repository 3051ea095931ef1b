// action.yml declares exactly the interface in src/settings/inputs.ts, and passes every input
// to the script as an environment variable (never interpolated into the script).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { envName } from '../../src/action/inputs';
import { stateFile } from '../../src/notify/outage';
import { INPUTS, OUTPUTS } from '../../src/settings/inputs';

const action = parse(readFileSync(resolve(__dirname, '../../action.yml'), 'utf8'));

describe('action.yml', () => {
  it('declares every input with its description, default and required flag', () => {
    expect(Object.keys(action.inputs)).toEqual(INPUTS.map((i) => i.name));
    for (const input of INPUTS) {
      const declared = action.inputs[input.name];
      expect(declared.description, input.name).toBe(input.description);
      expect(declared.required, input.name).toBe(input.required === true);
      expect(declared.default, input.name).toBe(input.default);
    }
  });

  it('declares every output from the deploy step', () => {
    expect(Object.keys(action.outputs)).toEqual(OUTPUTS.map((o) => o.name));
    for (const o of OUTPUTS) expect(action.outputs[o.name].value).toBe(`\${{ steps.deploy.outputs.${o.name} }}`);
  });

  it('is a composite action running the bundled dist/index.js, inputs passed only through env', () => {
    expect(action.runs.using).toBe('composite');
    const step = action.runs.steps.find((s: { id?: string }) => s.id === 'deploy');
    expect(step.run).toBe('node "$GITHUB_ACTION_PATH/dist/index.js"');
    for (const s of action.runs.steps) expect(s.run ?? '').not.toContain('${{');
    for (const input of INPUTS) expect(step.env[envName(input.name)], input.name).toBe(`\${{ inputs.${input.name} }}`);
    expect(Object.keys(step.env)).toHaveLength(INPUTS.length + 1);
  });

  it('keeps the watchdog state in one cache entry per host, restored before and saved after the run', () => {
    const steps = action.runs.steps as {
      id?: string;
      uses?: string;
      if?: string;
      with?: Record<string, string>;
      env?: Record<string, string>;
    }[];
    const at = (pred: (s: (typeof steps)[number]) => boolean) => steps.findIndex(pred);
    const restore = at((s) => s.uses === 'actions/cache/restore@v4');
    const run = at((s) => s.id === 'deploy');
    const save = at((s) => s.uses === 'actions/cache/save@v4');
    expect(restore).toBeGreaterThan(at((s) => s.id === 'state'));
    expect(run).toBeGreaterThan(restore);
    expect(save).toBeGreaterThan(run);
    const dir = steps[run]?.env?.MONITORING_DEPLOY_STATE_DIR;
    expect(dir).toBe('${{ runner.temp }}/monitoring-deploy-state');
    expect(steps[restore]?.with?.path).toBe(dir);
    expect(steps[save]?.with?.path).toBe(dir);
    // Cache entries are immutable: a new key per run, the newest found by its per-host prefix.
    expect(steps[save]?.with?.key).toBe(steps[restore]?.with?.key);
    expect(steps[restore]?.with?.key).toMatch(/^\$\{\{ steps\.state\.outputs\.key \}\}-\$\{\{ github\.run_id \}\}/);
    expect(steps[restore]?.with?.['restore-keys']).toBe('${{ steps.state.outputs.key }}-');
    // Saved even when the check failed (that is when an outage begins), but only on a change.
    expect(steps[save]?.if).toBe("always() && steps.deploy.outputs.state-changed == 'true'");
  });

  it('derives the per-host cache key as the script names its state file', () => {
    const state = action.runs.steps.find((s: { id?: string }) => s.id === 'state');
    const key = execFileSync('bash', ['-c', state.run.replace('>> "$GITHUB_OUTPUT"', '')], {
      env: { PATH: process.env.PATH, HOST: 'dev.example.com', PORT: '22' },
      encoding: 'utf8',
    }).trim();
    const file = basename(stateFile('/x', 'dev.example.com', 22), '.json');
    expect(key).toBe(`key=monitoring-deploy-state-${file}`);
  });
});

describe('scripts/action-yml.mjs', () => {
  it('generates exactly the committed action.yml', () => {
    const generated = execFileSync(process.execPath, [resolve(__dirname, '../../scripts/action-yml.mjs')], {
      encoding: 'utf8',
    });
    expect(generated).toBe(readFileSync(resolve(__dirname, '../../action.yml'), 'utf8'));
  });
});
