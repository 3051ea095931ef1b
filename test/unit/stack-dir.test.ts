// Reading a stack directory written by someone else: what it may hold and what is refused before
// anything leaves the runner (links out of it, special files, names the remote scripts would
// misread).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readStackDir, stackPathProblem } from '../../src/model/files';

function stackDir(files: Record<string, string> = { 'docker-compose-dev.yml': 'services: {}\n' }): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'md-stackdir-')), 'stack');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

const paths = (dir: string) => readStackDir(dir).map((f) => f.path);

describe('readStackDir: links and special files', () => {
  it('refuses a link that points outside the stack dir, naming the link and its target', () => {
    const dir = stackDir();
    symlinkSync('/proc/self/environ', join(dir, 'env.txt'));
    expect(() => readStackDir(dir)).toThrow(
      /stack-dir: "env\.txt" is a symbolic link to \/proc\/self\/environ, which is outside the stack directory/,
    );
    const other = stackDir();
    const secret = join(other, '..', 'id_ed25519');
    writeFileSync(secret, 'PRIVATE');
    mkdirSync(join(other, 'grafana'));
    symlinkSync('../../id_ed25519', join(other, 'grafana', 'key.json'));
    expect(() => readStackDir(other)).toThrow(/"grafana\/key\.json" is a symbolic link to \.\.\/\.\.\/id_ed25519/);
  });

  it('follows a link to a file or directory inside the stack dir', () => {
    const dir = stackDir({ 'docker-compose-dev.yml': 'services: {}\n', 'shared/a.json': '{}' });
    symlinkSync('shared/a.json', join(dir, 'b.json'));
    symlinkSync('shared', join(dir, 'again'));
    expect(paths(dir)).toEqual(['again/a.json', 'b.json', 'docker-compose-dev.yml', 'shared/a.json']);
    expect(
      readStackDir(dir)
        .find((f) => f.path === 'b.json')
        ?.content.toString(),
    ).toBe('{}');
  });

  it('refuses a dangling link and a link to a directory that holds it', () => {
    const dangling = stackDir();
    symlinkSync('missing.yml', join(dangling, 'x.yml'));
    expect(() => readStackDir(dangling)).toThrow(/"x\.yml" is a symbolic link to missing\.yml, which does not exist/);
    const loop = stackDir({ 'grafana/a.json': '{}' });
    symlinkSync('..', join(loop, 'grafana', 'up'));
    expect(() => readStackDir(loop)).toThrow(/"grafana\/up" is a symbolic link to \.\., a directory that holds it/);
  });

  it('refuses special files (a FIFO would block the read forever)', () => {
    const dir = stackDir();
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    expect(() => readStackDir(dir)).toThrow(/stack-dir: "pipe" is a FIFO, not a regular file or directory/);
  });
});

describe('readStackDir: names', () => {
  it.each([
    ['a\nb.json', 'a\nb.json', 'a line break'],
    ['a\rb.json', 'a\rb.json', 'a carriage return'],
    ['-rf', '-rf', 'starts with "-"'],
    ['grafana/-x.json', 'grafana/-x.json', 'starts with "-"'],
    ['a\\b.json', 'a\\b.json', '(U+005C)'],
    ['a"b.json', 'a"b.json', '(U+0022)'],
    ['a$(id).json', 'a$(id).json', '"$" (U+0024)'],
    ['.manifest', '.manifest', 'the deploy keeps its own .manifest there'],
    ['.staging/x.yml', '.staging', 'the deploy keeps its own .staging there'],
  ])('refuses %j, naming the file', (name, named, why) => {
    const dir = stackDir({ 'docker-compose-dev.yml': 'services: {}\n', [name]: 'x' });
    let error: (Error & { fix?: string }) | undefined;
    try {
      readStackDir(dir);
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toContain(`stack-dir: ${JSON.stringify(named)} `);
    expect(error?.message).toContain(why);
    expect(error?.fix).toMatch(/^rename it/);
  });

  it('refuses . and .. components (a path never made by reading a directory, refused all the same)', () => {
    expect(stackPathProblem('a/../b.json')).toContain('".."');
    expect(stackPathProblem('./b.json')).toContain('"."');
    expect(stackPathProblem('a//b.json')).toContain('an empty');
  });

  it('accepts letters and digits of any script, spaces and . _ - + @ = , ~ ( )', () => {
    const names = [
      'grafana/my dashboards/host board (copy).json',
      'grafana/대시보드.json',
      '.env',
      'a+b@c=d,e~f_g-h.json',
    ];
    const dir = stackDir(Object.fromEntries(names.map((n) => [n, '{}'])));
    expect(paths(dir).sort()).toEqual([...names].sort());
  });
});
