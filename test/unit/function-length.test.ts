// No function in src/ longer than 60 lines: one a person can read in one sitting. Counted from
// the line of its first token to the line of its closing brace, nested functions included in
// the function that holds them.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = resolve(__dirname, '../../src');
const MOST_LINES = 60;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? sources(full) : name.endsWith('.ts') ? [full] : [];
  });
}

/** "file:line name (N lines)" for every function-like body over the limit. */
function longFunctions(fileName: string, text: string, most = MOST_LINES): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const lineOf = (pos: number) => source.getLineAndCharacterOfPosition(pos).line + 1;
  const out: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = lineOf(node.getStart(source));
      const lines = lineOf(node.end) - first + 1;
      const named = node.name ?? (ts.isVariableDeclaration(node.parent) ? node.parent.name : undefined);
      if (lines > most)
        out.push(`${fileName}:${first} ${named ? named.getText(source) : '(anonymous)'} (${lines} lines)`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

describe('the functions of src/', () => {
  it(`are none longer than ${MOST_LINES} lines`, () => {
    const long = sources(SRC).flatMap((f) => longFunctions(relative(SRC, f), readFileSync(f, 'utf8')));
    expect(long).toEqual([]);
  });

  it('the measure can fail: it finds a long function, a long arrow and a long method', () => {
    const body = Array.from({ length: 4 }, (_, i) => `  const x${i} = ${i};`).join('\n');
    const text = [
      `function long() {\n${body}\n}`,
      `const arrow = () => {\n${body}\n};`,
      `class C {\n  method() {\n${body}\n  }\n}`,
      'function short() { return 1; }',
    ].join('\n');
    expect(longFunctions('x.ts', text, 5)).toEqual([
      'x.ts:1 long (6 lines)',
      'x.ts:7 arrow (6 lines)',
      'x.ts:14 method (6 lines)',
    ]);
  });
});
