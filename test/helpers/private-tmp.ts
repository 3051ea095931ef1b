// A temp directory for scripts that refuse a remote dir under a world-writable parent (as /tmp
// is, and so a checkout under /tmp): in a directory only its owner can change, on a path of
// directories only root or that owner can change, wherever the repository was cloned. Root's
// (the CI) is under /var/lib, which other users may traverse (tests run scripts as nobody there).
import { mkdirSync, mkdtempSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const ROOT =
  process.getuid?.() === 0 ? '/var/lib/monitoring-deploy-tests' : join(homedir(), '.cache', 'monitoring-deploy-tests');

export function privateTempDir(prefix: string): string {
  mkdirSync(ROOT, { recursive: true, mode: 0o755 });
  return mkdtempSync(join(ROOT, prefix));
}
