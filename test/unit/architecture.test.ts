// The layers of src/ as the README's Design section draws them: every import points down, and
// no modules import each other in a circle.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(__dirname, '../../src');

/**
 * The layers, top to bottom, as the README's Design table lists them: a module may import from
 * its own folder or from a layer further down.
 */
function designLayers(readme: string): string[][] {
  const design = readme.slice(readme.indexOf('## Design'));
  const table = design.slice(design.indexOf('| layer | folders |'));
  const rows = table.split('\n').slice(2);
  const layers: string[][] = [];
  for (const row of rows) {
    if (!row.startsWith('|')) break;
    const folders = (row.split('|')[2] ?? '').match(/`src\/[^`]+`/g) ?? [];
    layers.push(folders.map((f) => f.slice(5, -1).replace(/\/$/, '')));
  }
  return layers;
}

const LAYERS = designLayers(readFileSync(resolve(__dirname, '../../README.md'), 'utf8'));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? sources(full) : name.endsWith('.ts') ? [full] : [];
  });
}

/** Each module's relative imports, as paths under src/. */
function importGraph(files: readonly string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    // Data from outside src/ (package.json for the version) is no layer of the code.
    const targets = [...text.matchAll(/(?:from|import)\s+'(\.{1,2}\/[^']+)'/g)]
      .map((m) => relative(SRC, resolve(dirname(file), (m[1] as string).replace(/\.js$/, '.ts'))))
      .filter((t) => !t.startsWith('..'));
    graph.set(relative(SRC, file), targets);
  }
  return graph;
}

/** The folder (or top-level file) a module belongs to, and its layer. */
function placeOf(module: string): { unit: string; layer: number } {
  const unit = module.split('/')[0] as string;
  return { unit, layer: LAYERS.findIndex((l) => l.includes(unit)) };
}

/** Imports that run up the layers or across to another folder of the same layer. */
function upwardImports(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const out: string[] = [];
  for (const [from, targets] of graph) {
    const a = placeOf(from);
    for (const to of targets) {
      const b = placeOf(to);
      if (a.unit !== b.unit && !(b.layer > a.layer)) out.push(`${from} -> ${to}`);
    }
  }
  return out;
}

/** Every circle of imports, each once, as a path that comes back to its start. */
function importCircles(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const circles = new Set<string>();
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (m: string) => {
    state.set(m, 'open');
    path.push(m);
    for (const next of graph.get(m) ?? []) {
      if (state.get(next) === 'open') circles.add([...path.slice(path.indexOf(next)), next].join(' -> '));
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(m, 'done');
  };
  for (const m of graph.keys()) if (!state.has(m)) visit(m);
  return [...circles];
}

describe('the import graph of src/', () => {
  const graph = importGraph(sources(SRC));

  it('reads the layers from the README, each a folder that exists', () => {
    expect(LAYERS.length).toBeGreaterThan(5);
    for (const unit of LAYERS.flat())
      expect(statSync(join(SRC, unit)).isFile() || statSync(join(SRC, unit)).isDirectory()).toBe(true);
  });

  it('places every folder and top-level file in a layer', () => {
    const unplaced = [...graph.keys()].filter((m) => placeOf(m).layer < 0);
    expect(unplaced).toEqual([]);
  });

  it('has no import from a lower layer to a higher one, nor across folders of one layer', () => {
    expect(upwardImports(graph)).toEqual([]);
  });

  it('has no import circle', () => {
    expect(importCircles(graph)).toEqual([]);
  });

  it('the checks can fail: they catch an upward import and a circle', () => {
    const bad = new Map([
      ['report/summary.ts', ['engine/fleet.ts']],
      ['engine/fleet.ts', ['engine/deploy.ts']],
      ['engine/deploy.ts', ['engine/fleet.ts']],
    ]);
    expect(upwardImports(bad)).toEqual(['report/summary.ts -> engine/fleet.ts']);
    expect(importCircles(bad)).toEqual(['engine/fleet.ts -> engine/deploy.ts -> engine/fleet.ts']);
  });
});
