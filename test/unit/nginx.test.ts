// The nginx configs, checked by the real nginx (`nginx -t`, Debian's nginx-core): the app's
// proxy looks `server` up per request through Docker's DNS, so it starts without `server` and
// follows a recreated one. The check runs on a copy whose absolute paths point into a temp dir.
// The receiver is also run, as an unprivileged user, as its container runs it (as the login
// user): it reads its mode-600 htpasswd and limits the request rate per address.
import { type ChildProcess, execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { invocation } from '../../src/connection/shell';
import { pinnedName } from '../../src/connection/tls';
import { dirsScript, parseReceiverCert } from '../../src/host/dirs';
import { remoteLayout } from '../../src/model/layout';
import { NGINX, requireProgram } from '../helpers/machine';
import { privateTempDir } from '../helpers/private-tmp';
import { NOBODY, receiverConf, startReceiver, status } from '../helpers/receiver';

const compose = resolve(__dirname, '../../compose');

/** `nginx -t` on a config, its /etc/nginx and /var/log/nginx moved under a temp prefix. */
function nginxTest(conf: string): { ok: boolean; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'md-nginx-'));
  mkdirSync(join(dir, 'logs'));
  writeFileSync(join(dir, 'mime.types'), 'types { text/html html; }\n');
  const moved = conf
    .replaceAll('/etc/nginx/', `${dir}/`)
    .replaceAll('/var/log/nginx/', `${dir}/logs/`)
    .replaceAll('/tmp/nginx.pid', `${dir}/nginx.pid`);
  writeFileSync(join(dir, 'nginx.conf'), moved);
  // stdout a file: the receiver logs to /dev/stdout, which nginx cannot open on a socket (what
  // Node gives a child for a pipe).
  const out = openSync(join(dir, 'stdout'), 'w');
  const r = spawnSync(
    requireProgram(NGINX),
    ['-t', '-p', `${dir}/`, '-e', `${dir}/error.log`, '-c', `${dir}/nginx.conf`],
    {
      encoding: 'utf8',
      stdio: ['ignore', out, 'pipe'],
    },
  );
  closeSync(out);
  return { ok: r.status === 0, output: r.stderr };
}

const appConf = () => readFileSync(join(compose, 'nginx/nginx.conf'), 'utf8');

// A name that never resolves (RFC 2606), like `server` before the app container exists.
const unresolvable = (conf: string) => conf.replaceAll('server:8080', 'server.invalid:8080');

describe('nginx -t', () => {
  it("accepts the app's nginx.conf, also while the app's name does not resolve", () => {
    for (const conf of [appConf(), unresolvable(appConf())]) {
      const r = nginxTest(conf);
      expect(r.output).toContain('test is successful');
      expect(r.ok).toBe(true);
    }
  });

  it('looks the app up per request through Docker DNS: a resolver and a variable, no upstream block', () => {
    const conf = appConf();
    expect(conf).toMatch(/^\s*resolver 127\.0\.0\.11 valid=10s ipv6=off;/m);
    expect(conf).toMatch(/^\s*set \$app http:\/\/server:8080;\s*proxy_pass \$app;/m);
    expect(conf).not.toMatch(/^\s*upstream\b/m);
  });

  it('the check can fail: the old upstream block, resolved once at start, is refused without the app', () => {
    const old = appConf()
      .replace(/^\s*resolver .*$/m, '  upstream app { server server:8080; }')
      .replace(/set \$app http:\/\/server:8080;\s*proxy_pass \$app;/, 'proxy_pass http://app;');
    const r = nginxTest(unresolvable(old));
    expect(r.output).toMatch(/host not found in upstream "server\.invalid:8080"/);
    expect(r.ok).toBe(false);
  });

  it("accepts the receiver's nginx.conf as rendered for plain HTTP", () => {
    const r = nginxTest(receiverConf());
    expect(r.output).toContain('test is successful');
    expect(r.ok).toBe(true);
  });

  it("accepts the receiver's nginx.conf as rendered for TLS, with a certificate the deploy's own script makes", () => {
    const dir = privateTempDir('md-receiver-tls-');
    const layout = remoteLayout(join(dir, 'monitoring'), dir);
    const script = dirsScript({ layout, generatePassword: false, secretKey: false, agent: false, receiverTls: true });
    const { command, stdin } = invocation(script);
    const out = execFileSync('sh', ['-c', command], { input: stdin, encoding: 'utf8' });
    const cert = parseReceiverCert(out);
    expect(cert).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(pinnedName(cert)).toBe('monitoring-deploy-receiver');
    expect(statSync(join(layout.root, 'receiver-tls/receiver.key')).mode & 0o777).toBe(0o600);
    // The receiver mounts that directory at /etc/nginx/tls: point the rendered config at it.
    const conf = receiverConf('true').replaceAll('/etc/nginx/tls/', `${layout.root}/receiver-tls/`);
    expect(conf).toMatch(/listen 8080 ssl;/);
    const r = nginxTest(conf);
    expect(r.output).toContain('test is successful');
    expect(r.ok).toBe(true);
  });
});

let running: ChildProcess | undefined;
afterEach(() => {
  running?.kill('SIGTERM');
  running = undefined;
});

/** The receiver run by the real nginx as uid 65534, its htpasswd mode 600 owned by `owner`. */
async function runReceiver(owner: number): Promise<number> {
  const r = await startReceiver(owner);
  running = r.child;
  return r.port;
}

describe.skipIf(process.getuid?.() !== 0)('the receiver, run by the real nginx as an unprivileged user', () => {
  it('runs without root (its pid and temp files under /tmp) and reads a mode-600 htpasswd its user owns', async () => {
    for (const kind of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'])
      expect(receiverConf()).toMatch(new RegExp(`^\\s*${kind}_temp_path /tmp/\\S+;`, 'm'));
    const port = await runReceiver(NOBODY);
    expect(await status(port, '/api/v1/write')).toBe(401);
    expect(await status(port, '/', 'agent:wrong')).toBe(401);
    // Let in: `/` is 404 behind the auth, so the worker read the file.
    expect(await status(port, '/', 'agent:pw-123456-long-enough')).toBe(404);
  });

  it('the check can fail: a mode-600 htpasswd of another user is unreadable to it (500)', async () => {
    const port = await runReceiver(0);
    expect(await status(port, '/', 'agent:pw-123456-long-enough')).toBe(500);
  });

  it('limits each address to 10 requests a second with a burst of 50, answering 503 (which senders retry)', async () => {
    const port = await runReceiver(NOBODY);
    const codes = await Promise.all(Array.from({ length: 120 }, () => status(port, '/', 'agent:wrong')));
    const count = (c: number) => codes.filter((x) => x === c).length;
    // The burst (less what the start-up probe took) gets through at once, then about 10 a second.
    expect(count(401)).toBeGreaterThanOrEqual(45);
    expect(count(503)).toBeGreaterThanOrEqual(20);
    expect(count(401) + count(503)).toBe(120);
  });
});
