import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without types
import { interfaceTables } from '../../scripts/readme-table.mjs';
import { probesMarkdown } from '../../src/health/probes';
import { versionsMarkdown } from '../../src/model/versions';
import { generatedBlock } from '../helpers/docs';

describe('README', () => {
  it('has the inputs and outputs table of action.yml, exactly', () => {
    const readme = readFileSync(resolve(__dirname, '../../README.md'), 'utf8');
    const between = /<!-- interface:start -->\n([\s\S]*?)\n<!-- interface:end -->/.exec(readme)?.[1];
    expect(between, 'README needs an <!-- interface:start --> ... <!-- interface:end --> block').toBeDefined();
    expect(between).toBe(interfaceTables());
  });

  it("has the gate's probe table, exactly as the gate reads it (npm run docs rewrites it)", () => {
    expect(generatedBlock('probes', probesMarkdown())).toBe(probesMarkdown());
  });

  it('has the version table of src/model/versions.ts, exactly (npm run docs rewrites it)', () => {
    expect(generatedBlock('versions', versionsMarkdown())).toBe(versionsMarkdown());
  });

  it('gives the test command that CI runs', () => {
    const readme = readFileSync(resolve(__dirname, '../../README.md'), 'utf8');
    const ci = readFileSync(resolve(__dirname, '../../.ci/run'), 'utf8');
    expect(readme).toContain('bash .ci/run');
    expect(ci).toContain('npm run verify');
    expect(readme).toContain('npm run verify');
  });
});
