// Rendered stack files written to a temp directory, for the real tools (promtool, Compose) to read.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { StackFile } from '../../src/model/files';

export function writeStack(files: readonly StackFile[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'md-stack-'));
  for (const f of files) {
    mkdirSync(dirname(join(dir, f.path)), { recursive: true });
    writeFileSync(join(dir, f.path), f.content, { mode: f.mode });
  }
  return dir;
}
