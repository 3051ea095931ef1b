// A temp directory for scripts that refuse a remote dir under a world-writable parent (as /tmp
// is): under the repository's own .tmp/ (ignored by git), which only its owner can change.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../.tmp');

export function privateTempDir(prefix: string): string {
  mkdirSync(ROOT, { recursive: true, mode: 0o755 });
  return mkdtempSync(join(ROOT, prefix));
}
