// Reading a stack directory written by someone else: what it may hold and what is refused before
// anything leaves the runner (links out of it, special files).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readStackDir } from '../../src/model/files';

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
