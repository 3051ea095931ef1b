// The sandbox's own files, as the bench and the soak read them: KEY=VALUE env files, and which
// services run as stand-ins.
import { readFileSync } from 'node:fs';

export const sandboxDir = process.env.SANDBOX_DIR ?? '/var/tmp/monitoring-deploy-sandbox';

/** A KEY=VALUE file (sandbox.env, agent.env, the stack's .env) as an object. */
export const readEnv = (file) =>
  Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );

/** The services whose image is a stand-in (standins.txt). */
export const standins = () =>
  readFileSync(`${sandboxDir}/standins.txt`, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('=')[0]);
