// The stack this action ships (compose/ at the repository root), deployed when no stack-dir is
// given. Found relative to this code both in dist/ and in src/.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function bundledStackDir(): string {
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'compose');
    if (existsSync(join(candidate, 'docker-compose-dev-monitoring.yml'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error(`the bundled stack (compose/) was not found above ${__dirname}`);
}
