// The README's inputs/outputs table, made from action.yml: a test keeps the README equal to it
// (`npx vitest run test/unit/readme.test.ts` prints the table to paste when they differ).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function interfaceTables(): string {
  const action = parse(readFileSync(resolve(__dirname, '../../action.yml'), 'utf8'));
  const inputs = Object.entries(
    action.inputs as Record<string, { description: string; required: boolean; default?: string }>,
  );
  const outputs = Object.entries(action.outputs as Record<string, { description: string }>);
  return [
    '| input | required | default | description |',
    '| --- | --- | --- | --- |',
    ...inputs.map(
      ([n, i]) =>
        `| \`${n}\` | ${i.required ? 'yes' : 'no'} | ${i.default !== undefined ? `\`${i.default}\`` : ''} | ${cell(i.description)} |`,
    ),
    '',
    '| output | description |',
    '| --- | --- |',
    ...outputs.map(([n, o]) => `| \`${n}\` | ${cell(o.description)} |`),
  ].join('\n');
}
