// The nginx configs, checked by the real nginx (`nginx -t`, Debian's nginx-core): the app's
// proxy looks `server` up per request through Docker's DNS, so it starts without `server` and
// follows a recreated one. The check runs on a copy whose absolute paths point into a temp dir.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { invocation } from '../../src/connection/shell';
import { dirsScriptFor, parseReceiverCert } from '../../src/host/dirs';
import { pinnedName, remoteLayout } from '../../src/model/layout';
import { readSettings } from '../../src/settings/settings';
import { planStack } from '../../src/stack/plan';

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
  const r = spawnSync('nginx', ['-t', '-p', `${dir}/`, '-e', `${dir}/error.log`, '-c', `${dir}/nginx.conf`], {
    encoding: 'utf8',
    stdio: ['ignore', out, 'pipe'],
  });
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
    const r = nginxTest(receiverConf('false'));
    expect(r.output).toContain('test is successful');
    expect(r.ok).toBe(true);
  });

  it("accepts the receiver's nginx.conf as rendered for TLS, with a certificate the deploy's own script makes", () => {
    const dir = mkdtempSync(join(tmpdir(), 'md-receiver-tls-'));
    const layout = remoteLayout(join(dir, 'monitoring'), dir);
    const script = dirsScriptFor({ layout, generatePassword: false, agent: false, receiverTls: true });
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

/** The receiver's nginx.conf as the deploy renders it, with receiver-tls given. */
function receiverConf(receiverTls: string): string {
  const settings = readSettings(
    {
      'app-image': 'me/back:1.4.2',
      'accept-agents': 'true',
      'push-password': 'pw-123456',
      'receiver-tls': receiverTls,
    },
    { needsConnection: false },
  );
  const file = planStack(settings).rendered.files.find((f) => f.path === 'receiver/nginx.conf');
  return file?.content.toString('utf8') ?? '';
}
