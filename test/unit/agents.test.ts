import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { invocation } from '../../src/connection/shell';
import { deployFleet, hostSettings, receiverTlsInRun, withLimit } from '../../src/engine/fleet';
import { canaryQuery } from '../../src/health/canary';
import { type GateOptions, gateOptions } from '../../src/health/gate';
import { logPathServices } from '../../src/health/plan';
import { probesFor } from '../../src/health/probes';
import { judgePush } from '../../src/health/push';
import { expectedTargets } from '../../src/health/targets';
import { dirsScript, parseReceiverCert } from '../../src/host/dirs';
import { remoteLayout } from '../../src/model/layout';
import { gateDetail } from '../../src/report/gate';
import { readSettings } from '../../src/settings/settings';
import { planStack } from '../../src/stack/plan';
import { htpasswdLine } from '../../src/stack/render';
import { PROMTOOL, requireProgram } from '../helpers/machine';
import { privateTempDir } from '../helpers/private-tmp';
import { problemsOf as problemsOfRead } from '../helpers/settings';

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----';
const FP = `SHA256:${'A'.repeat(43)}`;
const base = {
  host: 'dev.example.com',
  username: 'ec2-user',
  'ssh-key': KEY,
  // known-hosts pins each host of a hosts run by its name; one host-fingerprint list would pin them all alike.
  'known-hosts': `* ssh-ed25519 ${'A'.repeat(68)}`,
  'app-image': 'me/back:1',
};
const problemsOf = (raw: Record<string, string>) => problemsOfRead(() => readSettings(raw));

describe('role and hosts inputs', () => {
  it('an agent runs app + agent, and must be told where its data goes', () => {
    expect(problemsOf({ ...base, role: 'agent' })).toEqual([
      'role agent needs remote-write-url and loki-push-url (where its metrics and logs go)',
    ]);
    const s = readSettings({
      ...base,
      role: 'agent',
      'remote-write-url': 'https://prometheus-prod.example.net/api/prom/push',
      'loki-push-url': 'https://logs.example.net/loki/api/v1/push',
    });
    expect(s.stack.stacks).toEqual(['app', 'agent']);
    expect(
      problemsOf({
        ...base,
        role: 'agent',
        stacks: 'app,monitoring',
        'remote-write-url': 'https://a/x',
        'loki-push-url': 'https://a/y',
      }),
    ).toEqual(['stacks: "monitoring" does not run on a agent host (role: agent)']);
  });

  it('accepts alloy for agent hosts, alone or in the hosts input, as for the central stack', () => {
    const urls = { 'remote-write-url': 'https://a/x', 'loki-push-url': 'https://a/y' };
    expect(problemsOf({ ...base, ...urls, role: 'agent', 'log-agent': 'alloy' })).toEqual([]);
    const fleet = { ...base, 'push-password': 'pw-123456-long-enough', 'log-agent': 'alloy' };
    expect(problemsOf({ ...fleet, hosts: 'name=a role=monitoring host=x\nname=b role=agent host=y' })).toEqual([]);
    expect(problemsOf({ ...base, 'log-agent': 'alloy' })).toEqual([]);
  });

  it('never opens the receiver without a password', () => {
    expect(problemsOf({ ...base, 'accept-agents': 'true' })[0]).toMatch(/accept-agents: needs push-password/);
  });

  it('reads one host per line and says which line is wrong', () => {
    const s = readSettings({
      ...base,
      'push-password': 'pw-123456-long-enough',
      hosts: `# the dev server and its agents\nname=dev role=monitoring host=3.35.1.10 address=10.0.0.5\nname=prod-1 role=agent host=3.35.1.11 port=2222 user=ubuntu fingerprint=${FP}`,
    });
    expect(s.hosts).toEqual([
      {
        name: 'dev',
        role: 'monitoring',
        host: '3.35.1.10',
        address: '10.0.0.5',
        port: undefined,
        user: undefined,
        fingerprint: undefined,
      },
      {
        name: 'prod-1',
        role: 'agent',
        host: '3.35.1.11',
        port: 2222,
        user: 'ubuntu',
        fingerprint: FP,
        address: undefined,
      },
    ]);
    expect(problemsOf({ ...base, hosts: 'name=a role=agent' })).toEqual(['hosts line 1: needs name=, role= and host=']);
    expect(problemsOf({ ...base, hosts: 'name=a role=agent host=x colour=red' })[0]).toMatch(
      /hosts line 1: unknown key "colour"/,
    );
    expect(problemsOf({ ...base, hosts: 'name=a role=monitoring host=x\nname=b role=monitoring host=y' })[0]).toMatch(
      /at most one host has role=monitoring/,
    );
    expect(problemsOf({ ...base, hosts: 'name=a role=monitoring host=x\nname=b role=agent host=y' })).toEqual([
      'hosts: agents sending to the monitoring host need push-password (from a secret)',
    ]);
  });

  it('gives each host its own address, name, role, stacks and endpoints at the central host', () => {
    const s = readSettings({
      ...base,
      'push-password': 'pw-123456-long-enough',
      hosts:
        'name=dev role=monitoring host=3.35.1.10 address=10.0.0.5\nname=prod-1 role=agent host=3.35.1.11 user=ubuntu',
    });
    const [central, agent] = s.hosts;
    if (!central || !agent) throw new Error('two hosts expected');
    const c = hostSettings(s, central, central);
    expect(c.agents).toMatchObject({ role: 'monitoring', acceptAgents: true });
    expect(c.stack.stacks).toEqual(['app', 'monitoring']);
    expect(c.hostName).toBe('dev');
    const a = hostSettings(s, agent, central);
    expect(a.connection).toMatchObject({ host: '3.35.1.11', username: 'ubuntu', port: 22 });
    expect(a.stack.stacks).toEqual(['app', 'agent']);
    expect(a.hostName).toBe('prod-1');
    expect(a.agents).toMatchObject({
      role: 'agent',
      acceptAgents: false,
      // TLS by default when the run deploys agents with their central host.
      remoteWriteUrl: 'https://10.0.0.5:9095/api/v1/write',
      lokiPushUrl: 'https://10.0.0.5:9095/loki/api/v1/push',
    });
  });

  it("puts an IPv6 central address in brackets in the agents' URLs", () => {
    const s = readSettings({
      ...base,
      'push-password': 'pw-123456-long-enough',
      hosts: 'name=dev role=monitoring host=fd00::5\nname=prod-1 role=agent host=fd00::6',
    });
    const [central, agent] = s.hosts;
    if (!central || !agent) throw new Error('two hosts expected');
    expect(hostSettings(s, agent, central).agents.remoteWriteUrl).toBe('https://[fd00::5]:9095/api/v1/write');
  });
});

describe("where an agent's data is read back", () => {
  const agent = {
    ...base,
    role: 'agent',
    'host-name': 'prod-1',
    'remote-write-url': 'https://vm:8428/api/v1/write',
    'loki-push-url': 'https://loki:3100/loki/api/v1/push',
    'push-password': 'push-pw-1-long-enough',
  };
  const log = { info: () => {}, warn: () => {}, error: () => {} };
  const options = (raw: Record<string, string>) =>
    gateOptions(readSettings(raw), log, { sinceEpochSec: 1_000, restarted: [] });

  it('asks with the URL user:password@, else query-username / query-password, else the push credentials', () => {
    const urls = {
      'metrics-query-url': 'https://vm:8428/api/v1/query',
      'logs-query-url': 'https://reader:url-pw@loki:3100/loki/api/v1/query_range',
    };
    const byDefault = options({ ...agent, ...urls }).arrival;
    expect(byDefault?.host).toBe('prod-1');
    expect(byDefault?.metrics?.credentials).toEqual({
      username: 'agent',
      password: 'push-pw-1-long-enough',
      from: 'push-username / push-password (query-password is not set)',
    });
    expect(byDefault?.logs?.credentials).toEqual({
      username: 'reader',
      password: 'url-pw',
      from: 'the user:password@ of logs-query-url',
    });
    const own = options({ ...agent, ...urls, 'query-username': 'viewer', 'query-password': 'q-pw-1' }).arrival;
    expect(own?.metrics?.credentials).toEqual({
      username: 'viewer',
      password: 'q-pw-1',
      from: 'query-username / query-password',
    });
    // A URL's own user:password@ is what is sent for that URL.
    expect(own?.logs?.credentials).toMatchObject({ username: 'reader', password: 'url-pw' });
  });

  it('without query URLs (or on the central stack) there is nothing to read back', () => {
    expect(options(agent).arrival).toBeUndefined();
    expect(options({ ...base }).arrival).toBeUndefined();
  });

  it("each target's newest sample: newer than the run where the run (re)started it, else two intervals before", () => {
    const t = (job: string, instance: string) => ({
      job,
      instance,
      health: 'up',
      lastError: '',
      lastScrape: '',
      scrapeUrl: '',
      scrapeIntervalMs: 15_000,
    });
    const targets = [t('node', 'node-exporter:9100'), t('prometheus', 'localhost:9090')];
    expect(expectedTargets(targets, { sinceEpochSec: 1_000, restarted: ['node-exporter'] })).toEqual([
      { job: 'node', instance: 'node-exporter:9100', sinceMs: 1_000_000 },
      { job: 'prometheus', instance: 'localhost:9090', sinceMs: 1_000_000 - 31_000 },
    ]);
    expect(expectedTargets(targets, { sinceEpochSec: 1_000, restarted: 'all' }).map((x) => x.sinceMs)).toEqual([
      1_000_000, 1_000_000,
    ]);
  });

  it("the gate's line says where the data was found, or plainly that arrival was not checked", () => {
    const gate = {
      ok: true,
      checks: [],
      targets: [],
      elapsedMs: 0,
      dataPath: { logs: [] },
    };
    const detail = (raw: Record<string, string>, over: Partial<GateOptions> = {}) =>
      gateDetail(gate, { ...options(raw), ...over });
    expect(detail(agent)).toMatch(/; arrival was not checked \(no metrics-query-url \/ logs-query-url\)$/);
    expect(detail({ ...agent, 'metrics-query-url': 'https://vm:8428/api/v1/query' })).toMatch(
      /; log arrival was not checked \(no logs-query-url\)$/,
    );
    expect(detail(agent, { centralHost: 'dev' })).toMatch(/; arrival is checked at dev once every host is deployed$/);
    expect(detail({ ...base })).not.toMatch(/arrival/);
    const found = {
      ...gate,
      checks: [
        {
          name: 'metrics arrival',
          ok: true,
          detail: 'up{host="prod-1"} of 3 targets is 1 at https://vm:8428/api/v1/query',
        },
      ],
      dataPath: { logs: [{ job: 'info_logs', arrivedMs: 900 }] },
    };
    const urls = {
      ...agent,
      'metrics-query-url': 'https://vm:8428/api/v1/query',
      'logs-query-url': 'https://u:secret-pw@loki:3100/loki/api/v1/query_range',
    };
    expect(gateDetail(found, options(urls))).toMatch(
      /; up\{host="prod-1"\} of 3 targets is 1 at https:\/\/vm:8428\/api\/v1\/query; canary lines of 1 log jobs found at https:\/\/…@loki:3100\/loki\/api\/v1\/query_range$/,
    );
  });

  it("an agent in a run with the monitoring host: its arrival is the central host's to check", () => {
    const s = readSettings({
      ...base,
      'push-password': 'pw-123456-long-enough',
      hosts: 'name=dev role=monitoring host=3.35.1.10\nname=prod-1 role=agent host=3.35.1.11',
    });
    const [central, a] = s.hosts;
    if (!central || !a) throw new Error('two hosts expected');
    expect(hostSettings(s, a, central).agents.centralHost).toBe('dev');
    expect(hostSettings(s, central, central).agents.centralHost).toBeUndefined();
    expect(hostSettings(s, a).agents.centralHost).toBeUndefined();
  });

  it('the canary query carries the host label on a Loki shared by hosts', () => {
    expect(canaryQuery('tok1', ['info_logs', 'nginx_log'], 'prod-1')).toBe(
      '{job=~"info_logs|nginx_log", host="prod-1"} |= "tok1"',
    );
  });
});

describe('rendering per role', () => {
  it('an agent host gets only its own files, the host label, and a mode-600 password file', () => {
    const s = readSettings(
      {
        ...base,
        'host-name': 'prod-1',
        role: 'agent',
        'remote-write-url': 'https://10.0.0.5:9095/api/v1/write',
        'loki-push-url': 'https://10.0.0.5:9095/loki/api/v1/push',
        'push-password': 'pw-123456-long-enough',
      },
      { needsConnection: false },
    );
    const plan = planStack(s);
    const paths = plan.rendered.files.map((f) => f.path);
    expect(paths).toContain('docker-compose-agent.yml');
    expect(paths).not.toContain('docker-compose-dev-monitoring.yml');
    expect(paths.some((p) => p.startsWith('grafana/'))).toBe(false);
    expect(paths).not.toContain('loki-dev-config.yml');
    const file = (p: string) => plan.rendered.files.find((f) => f.path === p);
    expect(file('secrets/push_password')).toMatchObject({ mode: 0o600 });
    expect(file('secrets/push_password')?.content.toString()).toBe('pw-123456-long-enough');
    const prom = file('prometheus-agent.yml')?.content.toString() ?? '';
    expect(prom).toContain('url: "https://10.0.0.5:9095/api/v1/write"');
    expect(prom).toContain('host: "prod-1"');
    expect(file('promtail-agent-config.yml')?.content.toString()).toContain(
      'url: "https://10.0.0.5:9095/loki/api/v1/push"',
    );
    expect(plan.findings.filter((f) => f.severity === 'error')).toEqual([]);
    // No credential in them: readable configs.
    expect(file('prometheus-agent.yml')?.mode).toBe(0o644);
  });

  it('agent configs that carry credentials from an endpoint URL are mode 600, like the password file', () => {
    const s = readSettings(
      {
        ...base,
        role: 'agent',
        'remote-write-url': 'https://1234:glc_token-abcdef@prometheus-prod.example.net/api/prom/push',
        'loki-push-url': 'https://5678:glc_token-abcdef@logs.example.net/loki/api/v1/push',
      },
      { needsConnection: false },
    );
    const files = planStack(s).rendered.files;
    const file = (p: string) => files.find((f) => f.path === p);
    expect(file('prometheus-agent.yml')?.content.toString()).toContain('glc_token-abcdef');
    expect(file('prometheus-agent.yml')?.mode).toBe(0o600);
    expect(file('promtail-agent-config.yml')?.mode).toBe(0o600);
    expect(file('docker-compose-agent.yml')?.mode).toBe(0o644);
  });

  it("an agent pinning the receiver's certificate: tls_config with its name in both configs, and both real tools accept them", () => {
    const dir = privateTempDir('md-agent-tls-');
    const layout = remoteLayout(join(dir, 'monitoring'), dir);
    const { command, stdin } = invocation(
      dirsScript({ layout, generatePassword: false, secretKey: false, agent: false, receiverTls: true }),
    );
    const ca = parseReceiverCert(execFileSync('sh', ['-c', command], { input: stdin, encoding: 'utf8' })) ?? '';
    const s = readSettings(
      {
        ...base,
        'host-name': 'prod-1',
        role: 'agent',
        'remote-write-url': 'https://10.0.0.5:9095/api/v1/write',
        'loki-push-url': 'https://10.0.0.5:9095/loki/api/v1/push',
        'push-password': 'pw-123456-long-enough',
        'push-ca': ca,
      },
      { needsConnection: false },
    );
    const files = planStack(s).rendered.files;
    const text = (p: string) => files.find((f) => f.path === p)?.content.toString() ?? '';
    expect(text('push-ca.pem')).toBe(ca);
    const tls =
      '    tls_config:\n      ca_file: /etc/monitoring-deploy/push-ca.pem\n      server_name: monitoring-deploy-receiver\n';
    expect(text('prometheus-agent.yml')).toContain(tls);
    expect(text('promtail-agent-config.yml')).toContain(tls);
    // The real promtool reads the agent's Prometheus config (the CA file must exist for it).
    const out = mkdtempSync(join(tmpdir(), 'md-agent-tls-out-'));
    writeFileSync(join(out, 'ca.pem'), ca);
    writeFileSync(
      join(out, 'p.yml'),
      text('prometheus-agent.yml')
        .replace('/etc/monitoring-deploy/push-ca.pem', join(out, 'ca.pem'))
        .replace('/etc/prometheus/push_password', join(out, 'ca.pem')),
    );
    expect(
      execFileSync(requireProgram(PROMTOOL), ['check', 'config', '--agent', join(out, 'p.yml')], { encoding: 'utf8' }),
    ).toContain('SUCCESS');
    // Without push-ca: no tls_config at all, the system's CAs.
    const plain = readSettings(
      {
        ...base,
        role: 'agent',
        'remote-write-url': 'https://metrics.example.com/api/v1/write',
        'loki-push-url': 'https://logs.example.com/loki/api/v1/push',
        'push-password': 'pw-123456-long-enough',
      },
      { needsConnection: false },
    );
    const plainFiles = planStack(plain).rendered.files;
    expect(plainFiles.find((f) => f.path === 'prometheus-agent.yml')?.content.toString()).not.toMatch(
      /^\s+tls_config:/m,
    );
  });

  it('a run with agents and their central host: TLS by default, https URLs, the central certificate pinned', () => {
    const s = readSettings({
      ...base,
      'push-password': 'pw-123456-long-enough',
      hosts: 'name=dev role=monitoring host=3.35.1.10 address=10.0.0.5\nname=prod-1 role=agent host=3.35.1.11',
    });
    const [central, agent] = s.hosts;
    if (!central || !agent) throw new Error('two hosts expected');
    expect(receiverTlsInRun(s)).toBe(true);
    expect(hostSettings(s, central, central).agents.receiverTls).toBe('on');
    const a = hostSettings(s, agent, central, 'CERT');
    expect(a.agents).toMatchObject({ remoteWriteUrl: 'https://10.0.0.5:9095/api/v1/write', pushCa: 'CERT' });
    const off = readSettings({
      ...base,
      'push-password': 'pw-123456-long-enough',
      'receiver-tls': 'false',
      'receiver-bind': '10.0.0.5',
      hosts: s.hosts.map((h) => `name=${h.name} role=${h.role} host=${h.host}`).join('\n'),
    });
    expect(receiverTlsInRun(off)).toBe(false);
    expect(hostSettings(off, off.hosts[1] ?? agent, off.hosts[0], 'CERT').agents).toMatchObject({
      remoteWriteUrl: 'http://3.35.1.10:9095/api/v1/write',
      pushCa: undefined,
    });
  });

  it('the central host with accept-agents gets the receiver profile and a bcrypt htpasswd, never the password', () => {
    const s = readSettings(
      { ...base, 'accept-agents': 'true', 'push-password': 'pw-123456-long-enough' },
      { needsConnection: false },
    );
    const plan = planStack(s);
    const htpasswd = plan.rendered.files.find((f) => f.path === 'receiver/htpasswd');
    expect(htpasswd?.content.toString()).toMatch(/^agent:\$2b\$05\$[A-Za-z0-9./]{53}\n$/);
    expect(htpasswd?.content.toString()).not.toContain('pw-123456-long-enough');
    // Mode 600: only the login user reads it, and the receiver runs as the login user.
    expect(htpasswd?.mode).toBe(0o600);
    const compose = plan.rendered.files.find((f) => f.path === 'docker-compose-dev-monitoring.yml');
    expect(parse(compose?.content.toString() ?? '').services.receiver.user).toBe('${UID}:${GID}');
    expect(plan.rendered.variables.COMPOSE_PROFILES).toBe('promtail,receiver');
    expect(plan.rendered.files.map((f) => f.path)).not.toContain('prometheus-agent.yml');
  });

  it("a bcrypt line verifies the password through the C library's crypt(3), as nginx does, and stays the same for the same inputs", () => {
    const line = htpasswdLine('agent', 'pw-123456-long-enough', ['pw-123456-long-enough']);
    const hash = line.trim().split(':')[1] ?? '';
    // Perl's crypt is the C library's (libxcrypt here), which nginx's auth_basic calls.
    const crypt = (pw: string) =>
      execFileSync('perl', ['-e', 'print crypt($ARGV[0], $ARGV[1])', pw, hash], { encoding: 'utf8' });
    expect(crypt('pw-123456-long-enough')).toBe(hash);
    expect(crypt('wrong-password-long-enough')).not.toBe(hash);
    expect(htpasswdLine('agent', 'pw-123456-long-enough', ['pw-123456-long-enough'])).toBe(line);
    expect(htpasswdLine('agent', 'another-password-long', ['another-password-long'])).not.toBe(line);
  });
});

describe('push probe and fleet helpers', () => {
  const rw = { name: 'remote write' as const, url: 'https://10.0.0.5:9095/api/v1/write' };
  it('reads an empty write: let in (2xx/400/422), refused (401/403), wrong path (404)', () => {
    expect(judgePush(rw, 400, 'snappy: corrupt input')).toBeUndefined();
    const push = { name: 'Loki push' as const, url: 'https://10.0.0.5:9095/loki/api/v1/push' };
    // What the real Loki 3.6 answers an empty push behind the receiver's auth.
    expect(judgePush(push, 422, 'error at least one valid stream is required for ingestion')).toBeUndefined();
    expect(judgePush(rw, 204, '')).toBeUndefined();
    expect(judgePush(rw, 401, '')).toBe(
      'https://10.0.0.5:9095/api/v1/write answered 401 Unauthorized: push-username / push-password are not accepted there',
    );
    expect(judgePush(rw, 404, '')).toMatch(/404: no remote write endpoint at that path/);
    // Credentials in the URL are never part of what is printed.
    const withUser = {
      name: 'remote write' as const,
      url: 'https://1234:glc_secret@metrics.example.net/api/prom/push',
    };
    expect(judgePush(withUser, 401, '')).toBe(
      'https://…@metrics.example.net/api/prom/push answered 401 Unauthorized: the user:password@ in the URL is not accepted there',
    );
    expect(judgePush(rw, 502, 'Bad Gateway')).toBe('https://10.0.0.5:9095/api/v1/write answered 502 Bad Gateway');
    // nginx in front of a stopped engine: its own error page says nothing more than the status.
    expect(judgePush(rw, 502, '<html>\n<head><title>502 Bad Gateway</title></head>')).toBe(
      'https://10.0.0.5:9095/api/v1/write answered 502 Bad Gateway',
    );
  });

  it('runs at most N tasks at once and keeps each result in its place', async () => {
    let running = 0;
    let most = 0;
    const task = (v: number) => async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 10));
      running--;
      return v;
    };
    expect(await withLimit(2, [1, 2, 3, 4, 5].map(task))).toEqual([1, 2, 3, 4, 5]);
    expect(most).toBe(2);
  });
});

describe('a fleet whose central host fails', () => {
  it('with TLS, leaves the agents alone and says why: there is no certificate for them to pin', async () => {
    // A port nothing listens on: the central host cannot be reached, fast.
    const closed = await new Promise<number>((res) => {
      const srv = createServer();
      srv.listen(0, '127.0.0.1', () => {
        const port = (srv.address() as AddressInfo).port;
        srv.close(() => res(port));
      });
    });
    const s = readSettings({
      ...base,
      'push-password': 'pw-123456-long-enough',
      'connect-timeout': '2s',
      hosts: `name=dev role=monitoring host=127.0.0.1 port=${closed}\nname=prod-1 role=agent host=127.0.0.1 port=${closed}`,
    });
    const lines: string[] = [];
    const log = {
      info: (l: string) => lines.push(l),
      warn: (l: string) => lines.push(l),
      error: (l: string) => lines.push(l),
    };
    const outcomes = await deployFleet(s, log);
    expect(outcomes.map((o) => [o.name, o.ok])).toEqual([
      ['dev', false],
      ['prod-1', false],
    ]);
    expect(outcomes[1]?.steps).toEqual([]);
    expect(outcomes[1]?.error?.message).toBe(
      'Not deployed: dev failed, and the agents pin the receiver certificate it makes.\nFix: fix dev first (its error is above), then rerun.',
    );
    expect(lines).toContain('[prod-1] not deployed: dev failed, and the agents pin the receiver certificate it makes.');
  });
});

describe('an agent host with log-agent: alloy', () => {
  it('is planned and lints clean: Alloy in its profile, the host label, push auth and the pinned CA in its config', () => {
    const s = readSettings(
      {
        ...base,
        'host-name': 'prod-1',
        role: 'agent',
        'log-agent': 'alloy',
        'remote-write-url': 'https://10.0.0.5:9095/api/v1/write',
        'loki-push-url': 'https://10.0.0.5:9095/loki/api/v1/push',
        'push-password': 'pw-123456-long-enough',
        'push-ca': '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
      },
      { needsConnection: false },
    );
    const plan = planStack(s);
    expect(plan.findings).toEqual([]);
    expect(plan.rendered.variables.COMPOSE_PROFILES).toBe('alloy');
    const text = (p: string) => plan.rendered.files.find((f) => f.path === p)?.content.toString() ?? '';
    const alloy = text('alloy/agent.alloy');
    expect(alloy).toContain('"host" = "prod-1"');
    expect(alloy).toContain('url = "https://10.0.0.5:9095/loki/api/v1/push"');
    expect(alloy).toMatch(
      /basic_auth \{\n\s+username\s+= "[^"]+"\n\s+password_file = "\/etc\/alloy\/push_password"\n\s+\}/,
    );
    expect(alloy).toContain('    tls_config {\n      ca_file     = "/etc/monitoring-deploy/push-ca.pem"\n    }\n');
    expect(alloy).not.toContain('@@');
    const compose = parse(text('docker-compose-agent.yml')) as {
      services: Record<string, { profiles?: string[]; volumes: string[] }>;
    };
    expect(compose.services.alloy?.profiles).toEqual(['alloy']);
    expect(compose.services.promtail?.profiles).toEqual(['promtail']);
    expect(compose.services.alloy?.volumes).toEqual(
      expect.arrayContaining([
        './alloy/agent.alloy:/etc/alloy/config.alloy:ro',
        './secrets/push_password:/etc/alloy/push_password:ro',
        './push-ca.pem:/etc/monitoring-deploy/push-ca.pem:ro',
      ]),
    );
    // The gate waits for Alloy's readiness on the agent, and its canary lines go through Alloy.
    expect(probesFor('agent', 'alloy').map((p) => p.service)).toEqual(['prometheus', 'alloy']);
    expect(logPathServices(plan.rendered, 'alloy')).toContain('alloy');
  });
});
