// The Grafana STAND-IN (plain Node) run as a local process on a data directory of the test's, as its
// image runs it (`grafana server`, GF_* settings), for tests of what survives a restart. The image's
// run.sh turns GF_SECURITY_SECRET_KEY__FILE into GF_SECURITY_SECRET_KEY; here it is given directly.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Grafana } from './grafana-api';
import { freePorts } from './realbin';

const STANDIN = resolve(__dirname, '../sandbox/images/grafana/grafana-standin.js');

export interface LocalGrafanaStandin extends Grafana {
  /** What it printed so far (its log). */
  log(): string;
  stop(): Promise<void>;
}

export interface LocalGrafanaOptions {
  /** Its GF_PATHS_DATA: the database file lives here. */
  readonly dataDir: string;
  readonly secretKey: string;
  /** The admin password it is started with (used only when it creates its database). */
  readonly adminPassword: string;
  /** GF_PATHS_PROVISIONING; an empty directory under dataDir's parent if not given. */
  readonly provisioningDir?: string;
}

export async function startLocalGrafanaStandin(o: LocalGrafanaOptions): Promise<LocalGrafanaStandin> {
  const [port] = await freePorts(1);
  const provisioning = o.provisioningDir ?? join(o.dataDir, '..', 'provisioning');
  mkdirSync(o.dataDir, { recursive: true });
  mkdirSync(provisioning, { recursive: true });
  const logFile = join(o.dataDir, '..', `grafana-${port}.log`);
  const out = openSync(logFile, 'w');
  const child: ChildProcess = spawn(process.execPath, [STANDIN, 'server'], {
    env: {
      PATH: process.env.PATH,
      GF_PATHS_DATA: o.dataDir,
      GF_PATHS_PROVISIONING: provisioning,
      GF_SERVER_HTTP_PORT: String(port),
      GF_SECURITY_ADMIN_USER: 'admin',
      GF_SECURITY_ADMIN_PASSWORD: o.adminPassword,
      GF_SECURITY_SECRET_KEY: o.secretKey,
    },
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  const log = () => readFileSync(logFile, 'utf8');
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    const up = await fetch(`${base}/api/health`).catch(() => undefined);
    if (up?.ok) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the Grafana stand-in did not start on ${base}; its log:\n${log()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    user: 'admin',
    password: o.adminPassword,
    log,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
