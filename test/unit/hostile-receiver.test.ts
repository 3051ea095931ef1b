// Issue 25, findings 3, 4, 7, 8 (push-password length, htpasswd hash) and 11: what the central
// receiver and Grafana expose, and what agents send in clear. Settings are read as a deploy reads
// them; the receiver's nginx.conf is run by the real nginx; bad inputs go through the built CLI
// (`npm run build` first), which must exit 2 before any connection.
import { type ChildProcess, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { invocation } from '../../src/connection/shell';
import { exposureWarnings } from '../../src/engine/deploy';
import { hostSettings } from '../../src/engine/fleet';
import { unreachable } from '../../src/health/push';
import type { StackFile } from '../../src/model/files';
import { PUSH_PASSWORD_MIN } from '../../src/settings/exposure';
import { readSettings, type Settings, SettingsError } from '../../src/settings/settings';
import { planStack } from '../../src/stack/plan';
import { HTPASSWD_BCRYPT_COST } from '../../src/stack/render';
import { commitScript, parseState, planUpload, stagingScript, stateScript } from '../../src/stack/upload';
import { deployToClosedPort, runCli } from '../helpers/dist';
import { NOBODY, RECEIVER_PASSWORD, receiverConf, startReceiver, status } from '../helpers/receiver';

const base = { 'app-image': 'me/back:1.4.2' };
const PW = 'a-push-password-of-24-ch';
const plan = (raw: Record<string, string>) => readSettings({ ...base, ...raw }, { needsConnection: false });
const problems = (raw: Record<string, string>): string[] => {
  try {
    plan(raw);
    return [];
  } catch (e) {
    if (e instanceof SettingsError) return [...e.problems];
    throw e;
  }
};
const agent = (urls: Record<string, string>, over: Record<string, string> = {}) => ({
  role: 'agent',
  'push-password': PW,
  'remote-write-url': 'https://10.0.0.5:9095/api/v1/write',
  'loki-push-url': 'https://10.0.0.5:9095/loki/api/v1/push',
  ...urls,
  ...over,
});
const centralOnly = 'name=dev role=monitoring host=3.35.1.10';
const rendered = (s: Settings) => planStack(s).rendered;

describe('finding 3: the receiver speaks TLS whenever it runs; plain HTTP only asked for, on a private network', () => {
  it('a central host accepting agents on its own (no agents in the run) listens with TLS by default', () => {
    const s = plan({ 'accept-agents': 'true', 'push-password': PW });
    expect(rendered(s).variables.RECEIVER_LISTEN).toBe('8080 ssl');
    const conf =
      rendered(s)
        .files.find((f) => f.path === 'receiver/nginx.conf')
        ?.content.toString() ?? '';
    expect(conf).toMatch(/^\s*listen 8080 ssl;$/m);
    expect(conf).toMatch(/^\s*ssl_certificate \/etc\/nginx\/tls\/receiver\.crt;$/m);
    // The same in the hosts input with only the central line.
    const fleet = plan({ hosts: centralOnly, 'accept-agents': 'true', 'push-password': PW });
    const central = hostSettings(fleet, fleet.hosts[0] as never, fleet.hosts[0]);
    expect(central.agents.receiverTls).toBe('on');
    expect(rendered(central).variables.RECEIVER_LISTEN).toBe('8080 ssl');
  });

  it('receiver-tls: false on every address or a public one is refused, naming receiver-tls, receiver-bind and the fixes', () => {
    for (const bind of [undefined, '0.0.0.0', '::', '3.35.1.10']) {
      const p = problems({
        'accept-agents': 'true',
        'push-password': PW,
        'receiver-tls': 'false',
        ...(bind ? { 'receiver-bind': bind } : {}),
      });
      expect(p, String(bind)).toEqual([
        expect.stringMatching(
          /^receiver-tls: false serves the receiver in plain HTTP, and receiver-bind \S+ publishes it on (every address of the host|a public address): .*Leave receiver-tls at auto .*or set receiver-bind to the host's private address/,
        ),
      ]);
    }
  });

  it('receiver-tls: false on a private address is taken, and the job log says what crosses that network in clear', () => {
    const s = plan({
      'accept-agents': 'true',
      'push-password': PW,
      'receiver-tls': 'false',
      'receiver-bind': '10.0.1.20',
    });
    expect(rendered(s).variables.RECEIVER_LISTEN).toBe('8080');
    expect(exposureWarnings({ ...s, grafana: { ...s.grafana, bind: '127.0.0.1' } })).toEqual([
      expect.stringMatching(
        /^The receiver speaks plain HTTP on 10\.0\.1\.20:9095 \(receiver-tls: false\): the push password crosses that network in clear.*To close it, leave receiver-tls at auto/,
      ),
    ]);
    const loopback = plan({
      'accept-agents': 'true',
      'push-password': PW,
      'receiver-tls': 'false',
      'receiver-bind': '127.0.0.1',
    });
    expect(exposureWarnings({ ...loopback, grafana: { ...loopback.grafana, bind: '127.0.0.1' } })).toEqual([]);
  });

  it('an agent refuses http:// push and query URLs to another host, without printing their user:password@', () => {
    const p = problems(
      agent({
        'remote-write-url': 'http://u:s3cret-in-url@10.0.0.5:9095/api/v1/write',
        'loki-push-url': 'http://logs.internal:3100/loki/api/v1/push',
        'metrics-query-url': 'http://vm.internal:8428/api/v1/query',
      }),
    );
    expect(p).toEqual([
      expect.stringMatching(
        /^remote-write-url: "http:\/\/…@10\.0\.0\.5:9095\/api\/v1\/write" is plain HTTP to another host: .*Use https:\/\/ \(with push-ca .*or set receiver-tls: false/,
      ),
      expect.stringMatching(
        /^loki-push-url: "http:\/\/logs\.internal:3100\/loki\/api\/v1\/push" is plain HTTP to another host/,
      ),
      expect.stringMatching(
        /^metrics-query-url: "http:\/\/vm\.internal:8428\/api\/v1\/query" is plain HTTP to another host/,
      ),
    ]);
    expect(p.join('\n')).not.toContain('s3cret-in-url');
    // In the hosts input too (agents with URLs of their own).
    expect(
      problems({
        hosts: 'name=a role=agent host=3.35.1.11',
        'push-password': PW,
        'remote-write-url': 'http://10.0.0.5:9095/api/v1/write',
        'loki-push-url': 'https://10.0.0.5:9095/loki/api/v1/push',
      }),
    ).toEqual([expect.stringMatching(/^remote-write-url: .* is plain HTTP to another host/)]);
  });

  it('an agent takes http:// to its own loopback, and http:// elsewhere when receiver-tls: false says so (warned)', () => {
    const local = {
      'remote-write-url': 'http://127.0.0.1:8428/api/v1/write',
      'loki-push-url': 'http://localhost:3100/loki/api/v1/push',
    };
    expect(problems(agent(local))).toEqual([]);
    expect(exposureWarnings(plan(agent(local)))).toEqual([]);
    const plain = agent({ 'remote-write-url': 'http://10.0.0.5:9095/api/v1/write' }, { 'receiver-tls': 'false' });
    expect(problems(plain)).toEqual([]);
    expect(exposureWarnings(plan(plain))).toEqual([
      expect.stringMatching(
        /^remote-write-url: plain HTTP to another host \(receiver-tls: false\): the push password crosses the network in clear/,
      ),
    ]);
  });

  it("an agent of a TLS receiver without push-ca is told where the receiver's certificate is", () => {
    const why = unreachable('https://10.0.0.5:9095/api/v1/write', 'self-signed certificate', undefined);
    expect(why).toMatch(
      /set push-ca to its certificate \(a monitoring-deploy receiver's own certificate is ~\/monitoring\/receiver-tls\/receiver\.crt on the central host/,
    );
  });
});

describe('finding 4: the receiver never runs without its htpasswd', () => {
  it('a hosts input with only a central line and no push-password runs no receiver', () => {
    const s = plan({ hosts: centralOnly });
    const central = hostSettings(s, s.hosts[0] as never, s.hosts[0]);
    expect(central.agents.acceptAgents).toBe(false);
    const r = rendered(central);
    expect(r.variables.COMPOSE_PROFILES).toBe('promtail');
    expect(r.files.map((f) => f.path)).not.toContain('receiver/htpasswd');
  });

  it('a central line with agents, or with accept-agents, needs push-password', () => {
    expect(problems({ hosts: centralOnly, 'accept-agents': 'true' })).toEqual([
      expect.stringMatching(/^accept-agents: needs push-password/),
    ]);
    expect(problems({ hosts: `${centralOnly}\nname=a role=agent host=3.35.1.11` })).toEqual([
      expect.stringMatching(/^hosts: agents sending to the monitoring host need push-password/),
    ]);
  });

  it('a host where Docker already made a directory of the htpasswd gets the file in its place (a real sh)', () => {
    const root = join(mkdtempSync(join(tmpdir(), 'md-htpasswd-dir-')), 'monitoring');
    const htpasswd: StackFile = { path: 'receiver/htpasswd', content: Buffer.from('agent:$2b$05$x\n'), mode: 0o600 };
    // What an earlier deploy left: the directory Docker made for the missing bind-mount source.
    mkdirSync(join(root, 'receiver/htpasswd'), { recursive: true });
    const run = (script: string) => {
      const { command, stdin } = invocation(script);
      return execFileSync('sh', ['-c', command], { input: stdin, encoding: 'utf8' });
    };
    const plan = planUpload([htpasswd], parseState(run(stateScript(root, [htpasswd.path]))));
    run(stagingScript(root, plan, [htpasswd]));
    run(commitScript(root, plan));
    expect(statSync(join(root, 'receiver/htpasswd')).isFile()).toBe(true);
    expect(readFileSync(join(root, 'receiver/htpasswd'), 'utf8')).toBe('agent:$2b$05$x\n');
  });

  it('rendering refuses a receiver without a password, rather than let Docker make a directory of its htpasswd', () => {
    const s = plan({ 'accept-agents': 'true', 'push-password': PW });
    const none = { ...s, agents: { ...s.agents, pushPassword: undefined } };
    expect(() => planStack(none)).toThrow(/The receiver runs .* but push-password is empty/);
  });
});

describe('finding 8: push-password length, and the htpasswd in bcrypt', () => {
  it(`push-password needs ${PUSH_PASSWORD_MIN} characters and one line; the message never shows it`, () => {
    for (const pw of ['a', 'fifteen-chars-x', 'sixteen-chars-x\n'])
      expect(problems({ 'accept-agents': 'true', 'push-password': pw }).join('\n'), JSON.stringify(pw)).toMatch(
        /^push-password: must be (at least 16 characters|one line without control characters)/,
      );
    expect(problems({ 'accept-agents': 'true', 'push-password': 'fifteen-chars-x' }).join('\n')).not.toContain(
      'fifteen-chars-x',
    );
    expect(problems({ 'accept-agents': 'true', 'push-password': 'sixteen-chars-xy' })).toEqual([]);
    // An agent's too: it sends the same password.
    expect(problems(agent({}, { 'push-password': 'short' }))).toEqual([
      expect.stringMatching(/^push-password: must be/),
    ]);
  });

  it('the htpasswd line is bcrypt ($2b$, cost 5), not the single-round {SSHA}', () => {
    const s = plan({ 'accept-agents': 'true', 'push-password': PW });
    const line = rendered(s)
      .files.find((f) => f.path === 'receiver/htpasswd')
      ?.content.toString();
    expect(line).toMatch(/^agent:\$2b\$05\$[./A-Za-z0-9]{53}\n$/);
    expect(line).not.toContain('{SSHA}');
    // musl's crypt (the receiver's Alpine image) takes costs 04 to 19 only.
    expect(HTPASSWD_BCRYPT_COST).toBeGreaterThanOrEqual(4);
    expect(HTPASSWD_BCRYPT_COST).toBeLessThanOrEqual(19);
  });
});

describe('finding 7: grafana-bind', () => {
  it('publishes Grafana on grafana-bind; 0.0.0.0 (the default) is warned about, naming the tunnel; 127.0.0.1 is not', () => {
    const open = plan({});
    expect(open.grafana.bind).toBe('0.0.0.0');
    const compose = (s: Settings) =>
      rendered(s)
        .files.find((f) => f.path === 'docker-compose-dev-monitoring.yml')
        ?.content.toString() ?? '';
    expect(compose(open)).toContain('"${GRAFANA_BIND}:3000:3000"');
    expect(rendered(open).variables.GRAFANA_BIND).toBe('0.0.0.0');
    expect(exposureWarnings(open)).toEqual([
      expect.stringMatching(
        /^Grafana is published on every address of the host \(grafana-bind: 0\.0\.0\.0\) in plain HTTP: .*Docker's published ports bypass ufw\. To close it, set grafana-bind: 127\.0\.0\.1 and reach Grafana through an SSH tunnel \(ssh -L 3000:127\.0\.0\.1:3000 user@host/,
      ),
    ]);
    const closed = plan({ 'grafana-bind': '127.0.0.1' });
    expect(rendered(closed).variables.GRAFANA_BIND).toBe('127.0.0.1');
    expect(exposureWarnings(closed)).toEqual([]);
    expect(exposureWarnings(plan({ 'grafana-bind': '10.0.1.20' }))[0]).toMatch(/^Grafana is published on 10\.0\.1\.20/);
    // An agent host runs no Grafana.
    expect(exposureWarnings(plan(agent({})))).toEqual([]);
  });
});

// The real nginx, as the receiver's container runs it (see test/helpers/receiver.ts).
const asRoot = process.getuid?.() === 0;
let receiver: ChildProcess | undefined;
const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  receiver?.kill('SIGTERM');
  receiver = undefined;
});

/** A TCP connection from `from` that sends nothing; resolves once connected. */
function idleConnection(port: number, from: string): Promise<Socket> {
  return new Promise((res, rej) => {
    const s = connect({ host: '127.0.0.1', port, localAddress: from }, () => res(s));
    s.on('error', rej);
    sockets.push(s);
  });
}

/** An authenticated write whose body never comes: a request in progress, as nginx counts them. */
function stalledWrite(port: number, from: string): void {
  const req = request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/api/v1/write',
    localAddress: from,
    headers: {
      authorization: `Basic ${Buffer.from(`agent:${RECEIVER_PASSWORD}`).toString('base64')}`,
      'content-length': '1000',
    },
  });
  req.on('error', () => undefined);
  req.write('x');
  req.on('socket', (s) => sockets.push(s));
}

const AUTH = `agent:${RECEIVER_PASSWORD}`;

describe.skipIf(!asRoot)('finding 11: the receiver is not held by idle or slow connections (the real nginx)', () => {
  it('its nginx.conf: per-address connection limit, short header, body, send and keep-alive timeouts', () => {
    const conf = receiverConf();
    expect(conf).toMatch(/^\s*limit_conn receiver_conns 16;$/m);
    expect(conf).toMatch(/^\s*client_header_timeout 5s;$/m);
    expect(conf).toMatch(/^\s*client_body_timeout 10s;$/m);
    expect(conf).toMatch(/^\s*keepalive_timeout 30s;$/m);
  });

  // A guard more than a proof: the old nginx also dropped the surplus and served this probe.
  it('300 idle connections from one address keep no agent out', async () => {
    const r = await startReceiver(NOBODY);
    receiver = r.child;
    for (let i = 0; i < 300; i++) await idleConnection(r.port, '127.0.0.3');
    expect(await status(r.port, '/', AUTH, { from: '127.0.0.2' })).toBe(404);
  }, 30_000);

  it('an idle connection is closed after the 5 s header timeout', async () => {
    const r = await startReceiver(NOBODY);
    receiver = r.child;
    const s = await idleConnection(r.port, '127.0.0.3');
    const opened = Date.now();
    const closedAfter = await new Promise<number>((res) => s.on('close', () => res(Date.now() - opened)));
    expect(closedAfter).toBeGreaterThan(4_000);
    expect(closedAfter).toBeLessThan(8_000);
  }, 20_000);

  it('16 requests in progress from one address: the 17th is refused with 503 (retried by agents), another address still pushes', async () => {
    const r = await startReceiver(NOBODY);
    receiver = r.child;
    for (let i = 0; i < 16; i++) stalledWrite(r.port, '127.0.0.4');
    await new Promise((res) => setTimeout(res, 500));
    expect(await status(r.port, '/', AUTH, { from: '127.0.0.4' })).toBe(503);
    expect(await status(r.port, '/', AUTH, { from: '127.0.0.5' })).toBe(404);
  }, 20_000);
});

describe('bad inputs through the built CLI: exit 2 before any connection', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hostile-receiver-'));
  const key = join(dir, 'id_ed25519');
  beforeAll(() => {
    writeFileSync(
      key,
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n',
    );
  });
  const cli = (...flags: string[]) =>
    runCli([...deployToClosedPort(key), '--app-image', 'me/back:1.4.2', ...flags], {}, 60_000);
  const rows: [string, string[], RegExp][] = [
    [
      'a short push-password',
      ['--accept-agents', 'true', '--push-password', 'abc'],
      /push-password: must be at least 16 characters/,
    ],
    [
      'central only, accept-agents, no push-password',
      ['--hosts', 'name=c role=monitoring host=127.0.0.1 port=9', '--accept-agents', 'true'],
      /accept-agents: needs push-password/,
    ],
    [
      'receiver-tls false on every address',
      ['--accept-agents', 'true', '--push-password', PW, '--receiver-tls', 'false'],
      /receiver-tls: false serves the receiver in plain HTTP, and receiver-bind 0\.0\.0\.0/,
    ],
    [
      'an agent pushing plain HTTP to another host',
      [
        '--role',
        'agent',
        '--push-password',
        PW,
        '--remote-write-url',
        'http://10.0.0.5:9095/api/v1/write',
        '--loki-push-url',
        'https://10.0.0.5:9095/loki/api/v1/push',
      ],
      /remote-write-url: .* is plain HTTP to another host/,
    ],
    [
      'grafana-bind not an address',
      ['--grafana-bind', 'everywhere'],
      /grafana-bind: "everywhere" is not an IPv4 or IPv6 address/,
    ],
  ];
  for (const [name, flags, message] of rows) {
    it(name, async () => {
      const r = await cli(...flags);
      expect(r.stderr + r.stdout).toMatch(message);
      expect(r.stderr + r.stdout).not.toMatch(/ECONNREFUSED|Connect/);
      expect(r.code).toBe(2);
    }, 60_000);
  }
});
