// Past one central host: an agent host writes to a real VictoriaMetrics (its default flags, so its
// 30 s latency offset too) and a real Loki, both behind the real nginx with basic auth as a
// managed service would be, with no central monitoring host in the run. The agent is green only
// once its data can be read back at the query URLs, and the summary says where it was found; a
// wrong query password fails naming the query URL and its 401; VictoriaMetrics stopped fails
// naming the remote-write endpoint, and started again is green.
//
// The engine runs on the main sandbox host's Docker engine, on a network of its own, published on
// ports the agent host reaches at its central address (10.77.1.1).
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentHost, agentAloneInputs, loadAgent } from '../helpers/agents';
import { deployWithAction, sh } from '../helpers/deploy';
import { docker, loadSandbox, type Sandbox } from '../helpers/sandbox';

let s: Sandbox;
let agent: AgentHost;
const PUSH_PASSWORD = 'Push-Secret-5e0a17c3';
const READ_PASSWORD = 'Read-Secret-9b24d6f1';
const VM_PORT = 18428;
const LOKI_PORT = 13100;
const NET = 'md-e2e-engine';
const VM = 'md-e2e-vm';
const LOKI = 'md-e2e-loki';
const PROXY = 'md-e2e-engine-proxy';

/** An image line of the sandbox (images.txt, or extra-images.txt for VictoriaMetrics). */
function image(name: string, text: string): string {
  const found = new RegExp(`^${name}=(.+)$`, 'm').exec(text)?.[1];
  if (!found) throw new Error(`the sandbox has no ${name}= image line (test/sandbox/build-images.sh makes it)`);
  return found.trim();
}

/** An htpasswd line nginx checks: salted SHA-1. */
function ssha(user: string, password: string): string {
  const salt = randomBytes(8);
  const digest = createHash('sha1').update(password).update(salt).digest();
  return `${user}:{SSHA}${Buffer.concat([digest, salt]).toString('base64')}\n`;
}

/** A managed engine's front: every request needs basic auth; VictoriaMetrics and Loki behind it. */
const NGINX_CONF = `worker_processes 1;
pid /tmp/nginx.pid;
events { worker_connections 256; }
http {
  access_log /dev/stdout;
  error_log stderr warn;
  server_tokens off;
  client_max_body_size 16m;
  # Looked up per request: a stopped VictoriaMetrics is a 502, a started one is found again.
  resolver 127.0.0.11 valid=5s ipv6=off;
  auth_basic "engine";
  auth_basic_user_file /etc/nginx/htpasswd;
  server {
    listen 8428;
    location / { set $vm http://${VM}:8428; proxy_pass $vm; }
  }
  server {
    listen 3100;
    location / { set $loki http://${LOKI}:3100; proxy_pass $loki; }
  }
}
`;

const auth = (user: string, password: string) => ({
  Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});
const READER = auth('reader', READ_PASSWORD);

async function waitUntil(what: string, fn: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${what} did not happen within ${timeoutMs / 1000}s`);
}

/** Removes what this file starts; nothing else is touched. */
function cleanUp(): void {
  sh(`docker rm -f ${PROXY} ${LOKI} ${VM} >/dev/null 2>&1 || true`);
  sh(`docker network rm ${NET} >/dev/null 2>&1 || true`);
}

beforeAll(async () => {
  s = loadSandbox();
  agent = loadAgent('agent1');
  const standins = existsSync(`${s.dir}/standins.txt`) ? readFileSync(`${s.dir}/standins.txt`, 'utf8') : '';
  if (/^loki=/m.test(standins)) throw new Error('this test needs the real Loki (realbin), not the stand-in');
  const extra = existsSync(`${s.dir}/extra-images.txt`) ? readFileSync(`${s.dir}/extra-images.txt`, 'utf8') : '';
  const vmImage = image('victoria-metrics', extra);
  cleanUp();
  const dir = mkdtempSync(join(tmpdir(), 'md-engine-'));
  // Read inside the containers by nginx's and Loki's own users.
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'nginx.conf'), NGINX_CONF, { mode: 0o644 });
  writeFileSync(join(dir, 'htpasswd'), ssha('agent', PUSH_PASSWORD) + ssha('reader', READ_PASSWORD), { mode: 0o644 });
  writeFileSync(join(dir, 'loki.yml'), readFileSync(resolve(__dirname, '../../compose/loki-dev-config.yml'), 'utf8'), {
    mode: 0o644,
  });
  docker('network', 'create', NET);
  // VictoriaMetrics with the image's default command: default flags, -search.latencyOffset 30s.
  docker('run', '-d', '--name', VM, '--network', NET, vmImage);
  docker(
    'run',
    '-d',
    '--name',
    LOKI,
    '--network',
    NET,
    '-v',
    `${dir}/loki.yml:/etc/loki/config.yml:ro`,
    image('loki', s.images),
    '-config.file=/etc/loki/config.yml',
  );
  docker(
    'run',
    '-d',
    '--name',
    PROXY,
    '--network',
    NET,
    '-p',
    `${VM_PORT}:8428`,
    '-p',
    `${LOKI_PORT}:3100`,
    '-v',
    `${dir}/nginx.conf:/etc/nginx/nginx.conf:ro`,
    '-v',
    `${dir}/htpasswd:/etc/nginx/htpasswd:ro`,
    image('nginx', s.images),
  );
  await waitUntil(
    'VictoriaMetrics behind nginx',
    async () => (await fetch(`http://127.0.0.1:${VM_PORT}/health`, { headers: READER })).ok,
    60_000,
  );
  await waitUntil(
    'Loki ready behind nginx',
    async () =>
      (await (await fetch(`http://127.0.0.1:${LOKI_PORT}/ready`, { headers: READER })).text()).trim() === 'ready',
    90_000,
  );
});

afterAll(() => {
  cleanUp();
});

const at = () => `http://${agent.centralAddress}`;
const queryUrls = () => ({
  'metrics-query-url': `${at()}:${VM_PORT}/api/v1/query`,
  'logs-query-url': `${at()}:${LOKI_PORT}/loki/api/v1/query_range`,
});

/** agent1 on its own (role agent), sending to the engine; no central host in the run. */
function engineInputs(over: Record<string, string> = {}) {
  return agentAloneInputs(s, agent, {
    'remote-write-url': `${at()}:${VM_PORT}/api/v1/write`,
    'loki-push-url': `${at()}:${LOKI_PORT}/loki/api/v1/push`,
    'push-password': PUSH_PASSWORD,
    // The engines listen in plain HTTP on the sandbox's private address: said explicitly.
    'receiver-tls': 'false',
    ...queryUrls(),
    // The action's default: the gate must pass against a default VictoriaMetrics within it.
    'health-timeout': '180s',
    ...over,
  });
}

/** The action's log and its error, %0A-decoded. */
const text = (r: { stdout: string }) => r.stdout.replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%25/g, '%');

describe('agents writing to a distributed engine (VictoriaMetrics and Loki behind basic auth)', () => {
  it('goes green only once its data is queryable in both, and the summary says where it was found', async () => {
    const r = await deployWithAction(engineInputs({ 'query-username': 'reader', 'query-password': READ_PASSWORD }));
    expect(r.stdout).not.toMatch(/::error::/);
    expect(r.code).toBe(0);
    const log = text(r);
    // It waited for the data, saying what for, before it was green.
    // (no series yet on a fresh engine; "none since …" where the host sent to it before)
    const waited = log.indexOf(`metrics arrival: waiting for up{host="agent1"} at ${at()}:${VM_PORT}/api/v1/query: `);
    expect(waited).toBeGreaterThan(-1);
    expect(log.indexOf('✓ green')).toBeGreaterThan(waited);

    // The summary: where the metrics and every log job's canary were found.
    expect(r.summary).toMatch(
      new RegExp(
        `\\| metrics arrival \\| 🟢 \\| up\\{host="agent1"\\} of 3 targets is 1 at http://${agent.centralAddress.replace(/\./g, '\\.')}:${VM_PORT}/api/v1/query \\(arrived in [\\dm.]+s\\) \\|`,
      ),
    );
    for (const job of ['debug_logs', 'info_logs', 'warn_logs', 'error_logs', 'nginx_log'])
      expect(r.summary).toMatch(
        new RegExp(
          `\\| log job ${job} \\| 🟢 \\| canary arrived in [\\dm.]+s at http://[\\d.]+:${LOKI_PORT}/loki/api/v1/query_range(; [^|]+)? \\|`,
        ),
      );
    expect(r.summary).toMatch(/canary lines of 5 log jobs found at http:\/\/[\d.]+:13100\/loki\/api\/v1\/query_range/);
    const shown = r.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::'));
    expect(shown.join('\n')).not.toContain(READ_PASSWORD);
    expect(shown.join('\n')).not.toContain(PUSH_PASSWORD);

    // The engine itself holds them: every target's up series, 1, and the agent's canary lines.
    const vm = (await (
      await fetch(
        `http://127.0.0.1:${VM_PORT}/api/v1/query?query=${encodeURIComponent('up{host="agent1"}')}&latency_offset=1ms`,
        { headers: READER },
      )
    ).json()) as { data: { result: { metric: { job: string }; value: [number, string] }[] } };
    expect(vm.data.result.map((x) => x.metric.job).sort()).toEqual(['app', 'node', 'prometheus']);
    expect(vm.data.result.every((x) => x.value[1] === '1')).toBe(true);
    const start = BigInt(Date.now() - 3_600_000) * 1_000_000n;
    const loki = (await (
      await fetch(
        `http://127.0.0.1:${LOKI_PORT}/loki/api/v1/query_range?query=${encodeURIComponent('{host="agent1"} |= "monitoring-deploy-canary"')}&start=${start}&limit=1000`,
        { headers: READER },
      )
    ).json()) as { data: { result: { stream: { job: string } }[] } };
    expect([...new Set(loki.data.result.map((x) => x.stream.job))].sort()).toEqual([
      'debug_logs',
      'error_logs',
      'info_logs',
      'nginx_log',
      'warn_logs',
    ]);
  });

  it('a wrong password for the query URL: fails naming the query URL and its 401', async () => {
    const r = await deployWithAction(
      engineInputs({ 'query-username': 'reader', 'query-password': 'not-the-read-password', 'health-timeout': '30s' }),
    );
    expect(r.code).toBe(1);
    const log = text(r);
    expect(log).toContain(
      `metrics arrival: ${at()}:${VM_PORT}/api/v1/query answered 401 Unauthorized: query-username / query-password are not accepted there`,
    );
    expect(log).toContain(
      `${at()}:${LOKI_PORT}/loki/api/v1/query_range answered 401 Unauthorized: query-username / query-password are not accepted there`,
    );
    // The push endpoints still take the push credentials: only reading was refused.
    expect(log).not.toMatch(/remote write: .* answered 401/);
    const shown = r.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::'));
    expect(shown.join('\n')).not.toContain('not-the-read-password');
  });

  it('without the query URLs, the gate says plainly that arrival was not checked', async () => {
    const { 'metrics-query-url': _m, 'logs-query-url': _l, ...inputs } = engineInputs();
    const r = await deployWithAction(inputs);
    expect(r.code).toBe(0);
    expect(r.summary).toContain('arrival was not checked (no metrics-query-url / logs-query-url)');
    expect(r.summary).not.toContain('metrics arrival');
  });

  it('VictoriaMetrics stopped: the gate fails naming the remote-write endpoint; started again: green', async () => {
    docker('stop', VM);
    try {
      const r = await deployWithAction(engineInputs({ 'health-timeout': '30s' }));
      expect(r.code).toBe(1);
      expect(text(r)).toContain(`remote write: ${at()}:${VM_PORT}/api/v1/write answered 502 Bad Gateway`);
    } finally {
      docker('start', VM);
    }
    const back = await deployWithAction(engineInputs());
    expect(back.stdout).not.toMatch(/::error::/);
    expect(back.code).toBe(0);
    // With the push credentials by default, read back at the same place.
    expect(back.summary).toMatch(
      /\| metrics arrival \| 🟢 \| up\{host="agent1"\} of 3 targets is 1 at http:\/\/[\d.]+:18428\/api\/v1\/query/,
    );
  });
});
