// Reading a stack directory: every file, as bytes, with a POSIX relative path.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

export interface StackFile {
  /** POSIX path relative to the stack directory. */
  readonly path: string;
  readonly content: Buffer;
  /** File mode on the host: 0o600 for secrets and .env, 0o644 otherwise. */
  readonly mode: number;
  /** Written by monitoring-deploy (.env, secrets, image overrides), not from the stack dir. */
  readonly generated?: boolean;
}

const IGNORED = new Set(['.git', 'node_modules', '.DS_Store']);

export function readStackDir(dir: string): StackFile[] {
  const out: StackFile[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      if (IGNORED.has(name)) continue;
      const full = join(d, name);
      const st = statSync(full);
      if (st.isDirectory()) walk(full);
      else if (st.isFile()) {
        out.push({ path: relative(dir, full).split(sep).join('/'), content: readFileSync(full), mode: 0o644 });
      }
    }
  };
  walk(dir);
  return out;
}

export function isText(content: Buffer): boolean {
  return !content.subarray(0, 8000).includes(0);
}
