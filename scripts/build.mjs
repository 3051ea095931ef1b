// Builds the two CommonJS bundles with ncc: <out>/index.js (the action) and <out>/cli.js (the CLI).
// CommonJS, not ESM: an ESM bundle crashes at load inside ssh2 (`__dirname is not defined`).
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const out = resolve(process.argv[2] ?? 'dist');
const ncc = resolve('node_modules/@vercel/ncc/dist/ncc/cli.js');
const entries = { index: 'src/index.ts', cli: 'src/cli.ts' };

rmSync(out, { recursive: true, force: true });
for (const [name, entry] of Object.entries(entries)) {
  const tmp = mkdtempSync(join(tmpdir(), `ncc-${name}-`));
  execFileSync(process.execPath, [ncc, 'build', entry, '-o', tmp, '--quiet', '--target', 'es2022'], {
    stdio: 'inherit',
  });
  // ncc names every bundle index.js; keep each entry's own name, and any asset it emitted.
  const bundle = readFileSync(join(tmp, 'index.js'), 'utf8');
  rmSync(join(tmp, 'index.js'));
  // ssh2's Windows Pageant helper: this tool never talks to an SSH agent, on any system.
  rmSync(join(tmp, 'pagent.exe'), { force: true });
  cpSync(tmp, out, { recursive: true });
  const banner = name === 'cli' ? '#!/usr/bin/env node\n' : '';
  writeFileSync(join(out, `${name}.js`), banner + bundle.replace(/^#!.*\n/, ''));
  rmSync(tmp, { recursive: true, force: true });
}
chmodSync(join(out, 'cli.js'), 0o755);
