// The README's inputs/outputs table, made from action.yml. A unit test keeps the README equal to
// it; `node scripts/readme-table.mjs` rewrites the table between the interface markers.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = new URL('../', import.meta.url);
const cell = (s) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function interfaceTables() {
  const action = parse(readFileSync(new URL('action.yml', root), 'utf8'));
  const inputs = Object.entries(action.inputs);
  const outputs = Object.entries(action.outputs);
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

export const README_INTERFACE = /(<!-- interface:start -->\n)[\s\S]*?(\n<!-- interface:end -->)/;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = new URL('README.md', root);
  writeFileSync(file, readFileSync(file, 'utf8').replace(README_INTERFACE, `$1${interfaceTables()}$2`));
}
