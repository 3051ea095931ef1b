// Blocks of the README made from the code (<!-- NAME:start --> … <!-- NAME:end -->). A test
// keeps each equal to its source; `npm run docs` (WRITE_DOCS=1) rewrites them instead.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const README = resolve(__dirname, '../../README.md');

/** The block's current text, after rewriting it when WRITE_DOCS is set. */
export function generatedBlock(name: string, content: string): string | undefined {
  const pattern = new RegExp(`(<!-- ${name}:start -->\\n)([\\s\\S]*?)(\\n<!-- ${name}:end -->)`);
  let readme = readFileSync(README, 'utf8');
  if (process.env.WRITE_DOCS) {
    readme = readme.replace(pattern, (_m, start: string, _old: string, end: string) => `${start}${content}${end}`);
    writeFileSync(README, readme);
  }
  return pattern.exec(readme)?.[2];
}
