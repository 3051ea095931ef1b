// The central receiver's nginx.conf as the deploy renders it, run by the real nginx (Debian's)
// on this machine as an unprivileged user, as its container runs it (as the login user).
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, chownSync, closeSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { type Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSettings } from '../../src/settings/settings';
import { planStack } from '../../src/stack/plan';
import { htpasswdLine } from '../../src/stack/render';
import { NGINX, requireProgram } from './machine';

export const RECEIVER_PASSWORD = 'pw-123456-long-enough';
export const NOBODY = 65534;

/** The receiver's nginx.conf as the deploy renders it (receiver-tls off, on loopback, unless given). */
export function receiverConf(receiverTls = 'false'): string {
  const settings = readSettings(
    {
      'app-image': 'me/back:1.4.2',
      'accept-agents': 'true',
      'push-password': RECEIVER_PASSWORD,
      'receiver-tls': receiverTls,
      // Plain HTTP only on a loopback or private address (receiver-tls: false).
      'receiver-bind': '127.0.0.1',
    },
    { needsConnection: false },
  );
  const file = planStack(settings).rendered.files.find((f) => f.path === 'receiver/nginx.conf');
  return file?.content.toString('utf8') ?? '';
}

export function freePort(): Promise<number> {
  return new Promise((res) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

export interface StatusOptions {
  readonly auth?: string;
  /** The source address (another loopback address is another client to nginx). */
  readonly from?: string;
  readonly agent?: Agent;
}

/** The status of a GET to the receiver on 127.0.0.1. */
export function status(port: number, path: string, auth?: string, options: StatusOptions = {}): Promise<number> {
  return new Promise((res, rej) => {
    const headers = auth ? { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {};
    request({ host: '127.0.0.1', port, path, headers, localAddress: options.from, agent: options.agent }, (r) => {
      r.resume();
      res(r.statusCode ?? 0);
    })
      .on('error', rej)
      .end();
  });
}

export interface RunningReceiver {
  readonly port: number;
  readonly child: ChildProcess;
}

/** The rendered receiver run by the real nginx as uid 65534, its htpasswd mode 600 owned by `owner`. */
export async function startReceiver(owner: number): Promise<RunningReceiver> {
  const dir = mkdtempSync(join(tmpdir(), 'md-receiver-'));
  chmodSync(dir, 0o755);
  chownSync(dir, NOBODY, NOBODY);
  const port = await freePort();
  // /tmp first: the temp dir's own path starts with /tmp/.
  const conf = receiverConf()
    .replaceAll('/tmp/', `${dir}/`)
    .replaceAll('/etc/nginx/', `${dir}/`)
    .replace('listen 8080;', `listen 127.0.0.1:${port};`);
  writeFileSync(join(dir, 'nginx.conf'), conf);
  writeFileSync(join(dir, 'htpasswd'), htpasswdLine('agent', RECEIVER_PASSWORD, [RECEIVER_PASSWORD]), {
    mode: 0o600,
  });
  chownSync(join(dir, 'htpasswd'), owner, owner);
  // The access log is /dev/stdout: a file nginx (as nobody) may open again.
  const out = openSync(join(dir, 'stdout'), 'w');
  chownSync(join(dir, 'stdout'), NOBODY, NOBODY);
  const child = spawn(
    requireProgram(NGINX),
    ['-p', `${dir}/`, '-e', `${dir}/error.log`, '-c', `${dir}/nginx.conf`, '-g', 'daemon off;'],
    { uid: NOBODY, gid: NOBODY, stdio: ['ignore', out, 'pipe'] },
  );
  closeSync(out);
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited ${child.exitCode}: ${stderr}`);
    if (await status(port, '/').catch(() => 0)) return { port, child };
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGTERM');
  throw new Error(`nginx did not start: ${stderr}`);
}
