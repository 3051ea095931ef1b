// Fails when dist/ differs from a fresh build of the current sources: users and CI run dist/.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const fresh = mkdtempSync(join(tmpdir(), 'check-dist-'));
try {
  execFileSync(process.execPath, ['scripts/build.mjs', fresh], { stdio: 'inherit' });
  const list = (dir) =>
    readdirSync(dir, { recursive: true })
      .map(String)
      .filter((f) => statSync(join(dir, f)).isFile())
      .sort();
  const want = list(fresh);
  const have = list('dist');
  const problems = [];
  for (const f of new Set([...want, ...have])) {
    if (!want.includes(f)) problems.push(`dist/${f} is not produced by the build (delete it)`);
    else if (!have.includes(f)) problems.push(`dist/${f} is missing`);
    else if (!readFileSync(join(fresh, f)).equals(readFileSync(join('dist', f)))) problems.push(`dist/${f} differs`);
  }
  const native = have.filter((f) => f.endsWith('.node'));
  if (native.length)
    problems.push(`machine-built native add-ons in dist/: ${native.join(', ')} (install with npm ci --ignore-scripts)`);
  if (problems.length) {
    console.error(
      `dist/ does not match a fresh build:\n  ${problems.join('\n  ')}\nRun \`npm run build\` and commit dist/.`,
    );
    process.exit(1);
  }
  console.log(`dist/ matches a fresh build (${relative('.', 'dist')}: ${have.length} files)`);
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
