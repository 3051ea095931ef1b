// action.yml declares exactly the interface in src/settings/inputs.ts, and passes every input
// to the script as an environment variable (never interpolated into the script).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { envName } from '../../src/action/inputs';
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
    expect(Object.keys(step.env)).toHaveLength(INPUTS.length);
  });
});
