// Agents on more hosts: one run deploys the central stack to the sandbox host and an agent to a
// second host (its own network namespace, Docker engine and sshd). The central's real
// Prometheus must receive the agent's real node-exporter series by remote write, and the
// agent's app and nginx lines must reach the central (real) Loki with the agent's host label,
// before the run is green. The receiver speaks TLS with a certificate made on the central host,
// which the agents pin. Nothing central is reachable without the push credentials.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentHost,
  agentDocker,
  agentLine,
  agentAloneInputs as aloneInputs,
  centralLine as centralOf,
  fleetInputs as fleetOf,
  imagesWithReceiver,
  loadAgent,
} from '../helpers/agents';
import { deployWithAction, lokiStreams, sh } from '../helpers/deploy';
import { loadSandbox, type Sandbox } from '../helpers/sandbox';

let s: Sandbox;
let agent: AgentHost;
const PUSH_PASSWORD = 'Push-Secret-41c9e2d7';
const RECEIVER_PORT = 9095;

beforeAll(() => {
  s = loadSandbox();
  agent = loadAgent('agent1');
});

const images = () => imagesWithReceiver(s);
const centralLine = () => centralOf(s, agent);
const fleetInputs = (over: Record<string, string> = {}) => fleetOf(s, agent, PUSH_PASSWORD, over);

/** The certificate the central host made for its receiver (what agents pin). */
const receiverCert = () => readFileSync(`${s.home}/monitoring/receiver-tls/receiver.crt`, 'utf8');

/** An HTTPS request to the central receiver, its certificate pinned (as an agent does). */
function toReceiver(method: string, path: string, auth?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: agent.centralAddress,
        port: RECEIVER_PORT,
        method,
        path,
        ca: receiverCert(),
        servername: 'monitoring-deploy-receiver',
        headers: auth ? { Authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {},
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end(method === 'POST' ? '{}' : undefined);
  });
}

/** The agent deployed on its own (role agent), sending to the central receiver over TLS. */
function agentAloneInputs(over: Record<string, string>) {
  return aloneInputs(s, agent, {
    images: images(),
    'remote-write-url': `https://${agent.centralAddress}:${RECEIVER_PORT}/api/v1/write`,
    'loki-push-url': `https://${agent.centralAddress}:${RECEIVER_PORT}/loki/api/v1/push`,
    'push-password': PUSH_PASSWORD,
    'push-ca': receiverCert(),
    ...over,
  });
}

const containerIp = (name: string) =>
  sh(`docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' ${name}`).split(/\s+/)[0];

async function getJson(url: string): Promise<{ data?: unknown }> {
  const res = await fetch(url);
  return (await res.json()) as { data?: unknown };
}

describe('agents: the central stack and an agent host in one run', () => {
  it('goes green only once the agent data has arrived centrally', async () => {
    const r = await deployWithAction(fleetInputs());
    expect(r.stdout).not.toMatch(/::error::/);
    expect(r.code).toBe(0);
    const hosts = JSON.parse(r.outputs.hosts ?? '[]');
    expect(hosts).toEqual([
      expect.objectContaining({ name: 'central', role: 'monitoring', ok: true }),
      expect.objectContaining({ name: 'agent1', role: 'agent', ok: true }),
    ]);
    expect(r.summary).toMatch(/\| agent1 \| agent \| 🟢 green \|/);
    expect(r.summary).toMatch(/Data at the central host/);

    // Over TLS: the agent sends to https:// and pins the certificate its central host made.
    const agentProm = agentDocker(agent, 'exec', 'prometheus-agent', 'cat', '/etc/prometheus/prometheus.yml');
    expect(agentProm).toMatch(/url: "https:\/\/10\.77\.1\.1:9095\/api\/v1\/write"/);
    expect(agentProm).toContain('server_name: monitoring-deploy-receiver');
    expect(agentDocker(agent, 'exec', 'prometheus-agent', 'cat', '/etc/monitoring-deploy/push-ca.pem')).toBe(
      receiverCert().trim(),
    );

    // The real Prometheus on the central host holds the agent's real node-exporter series.
    const prom = `http://${containerIp('prometheus')}:9090`;
    const up = (await getJson(`${prom}/api/v1/query?query=${encodeURIComponent('up{host="agent1"}')}`)).data as {
      result: { metric: { job: string }; value: [number, string] }[];
    };
    expect(up.result.map((x) => x.metric.job).sort()).toEqual(['app', 'node', 'prometheus']);
    expect(up.result.every((x) => x.value[1] === '1')).toBe(true);
    const cpu = (
      await getJson(`${prom}/api/v1/query?query=${encodeURIComponent('count(node_cpu_seconds_total{host="agent1"})')}`)
    ).data as { result: { value: [number, string] }[] };
    expect(Number(cpu.result[0]?.value[1])).toBeGreaterThan(0);

    // The agent's app and nginx log lines reached the central Loki stand-in, labelled agent1.
    const fromAgent = () => lokiStreams().filter((l) => l.includes('"host":"agent1"'));
    expect(fromAgent().some((l) => /"job":"(debug|info|warn|error)_logs"/.test(l))).toBe(true);
    // A request to the agent's nginx (published on the agent host) makes an access-log line.
    const page = await fetch(`http://${agent.host}/`);
    expect(page.status).toBeLessThan(600);
    await expect
      .poll(() => fromAgent().some((l) => l.includes('"job":"nginx_log"')), { timeout: 30_000, interval: 1_000 })
      .toBe(true);

    // On the agent host: only what ships data out (and disk-guard, which removes the nginx log
    // segments Promtail has read), next to the app; only the app's nginx publishes.
    const names = agentDocker(agent, 'ps', '--format', '{{.Names}}').split('\n').sort();
    expect(names).toEqual(['disk-guard', 'nginx', 'node-exporter', 'prometheus-agent', 'promtail', 'server']);
    expect(
      agentDocker(agent, 'ps', '--format', '{{.Names}} {{.Ports}}')
        .split('\n')
        .filter((l) => l.includes('->')),
    ).toEqual([expect.stringMatching(/^nginx /)]);
  });

  it('one host failing is reported next to the others, which still go green', async () => {
    const agent2 = loadAgent('agent2');
    const wrongKey = `SHA256:${'B'.repeat(43)}`;
    const agent2Containers = () => agentDocker(agent2, 'ps', '-a', '--format', '{{.ID}} {{.State}}');
    const before = agent2Containers();
    const r = await deployWithAction(
      fleetInputs({
        hosts: `${centralLine()}\n${agentLine(agent)}\n${agentLine(agent2).replace(agent2.fingerprint, wrongKey)}`,
      }),
    );
    expect(r.code).toBe(1);
    const hosts = JSON.parse(r.outputs.hosts ?? '[]');
    expect(hosts.map((h: { name: string; ok: boolean }) => `${h.name}=${h.ok}`)).toEqual([
      'central=true',
      'agent1=true',
      'agent2=false',
    ]);
    expect(hosts[2].error).toMatch(/^Host key mismatch for 10\.77\.2\.2:22/);
    expect(r.summary).toMatch(/\| central \| monitoring \| 🟢 green \|/);
    expect(r.summary).toMatch(/\| agent1 \| agent \| 🟢 green \|/);
    expect(r.summary).toMatch(/\| agent2 \| agent \| 🔴 failed \| [^|]+ \| Host key mismatch/);
    expect(r.stdout).toMatch(/::error::1 of 3 hosts failed \(the others are green\)/);
    // Nothing changed on the host whose key did not match.
    expect(agent2Containers()).toBe(before);
  });

  it('exposes nothing central without the push credentials, and speaks only TLS', async () => {
    for (const [method, path] of [
      ['POST', '/api/v1/write'],
      ['POST', '/loki/api/v1/push'],
      ['GET', '/api/v1/query?query=up'],
      ['GET', '/loki/api/v1/label/host/values'],
      ['GET', '/'],
    ] as const) {
      expect(await toReceiver(method, path), `${method} ${path}`).toBe(401);
    }
    // With the credentials, only the two write endpoints exist: no queries through the receiver.
    expect(await toReceiver('GET', '/api/v1/query?query=up', `agent:${PUSH_PASSWORD}`)).toBe(404);
    // Plain HTTP to the receiver's port gets no further than nginx's refusal.
    const plain = await fetch(`http://${agent.centralAddress}:${RECEIVER_PORT}/api/v1/write`, { method: 'POST' });
    expect(plain.status).toBe(400);
    // Prometheus and Loki themselves publish nothing.
    const published = sh("docker ps --format '{{.Names}} {{.Ports}}' | grep -- '->' | cut -d' ' -f1 | sort").split(
      '\n',
    );
    expect(published).toEqual(['grafana', 'nginx', 'receiver']);
  });

  it('wrong credentials: the agent gate fails naming the 401, and the agent is rolled back', async () => {
    const r = await deployWithAction(
      agentAloneInputs({ 'push-password': 'not-the-password', 'health-timeout': '20s' }),
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /remote write: https:\/\/[\d.]+:9095\/api\/v1\/write answered 401 Unauthorized: push-username \/ push-password are not accepted there/,
    );
    expect(r.stdout).toMatch(/Loki push: https:\/\/[\d.]+:9095\/loki\/api\/v1\/push answered 401 Unauthorized/);
    expect(r.stdout).toContain('Rolled back to release');
    const shown = r.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::'));
    expect(shown.join('\n')).not.toContain('not-the-password');
  });

  it('a wrong certificate pin: the agent gate fails naming push-ca, and the agent is rolled back', async () => {
    const dir = join(tmpdir(), `md-other-ca-${Date.now()}`);
    execFileSync('sh', [
      '-c',
      `mkdir -p ${dir} && openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=someone-else -keyout ${dir}/k -out ${dir}/c 2>/dev/null`,
    ]);
    const r = await deployWithAction(
      agentAloneInputs({ 'push-ca': readFileSync(`${dir}/c`, 'utf8'), 'health-timeout': '20s' }),
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /remote write: https:\/\/[\d.]+:9095\/api\/v1\/write shows a TLS certificate that push-ca does not pin/,
    );
    expect(r.stdout).toContain('Rolled back to release');
  });

  it('an agent run on its own, with the right credentials, is green again', async () => {
    const r = await deployWithAction(agentAloneInputs({}));
    expect(r.stdout).not.toMatch(/::error::/);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('remote write and Loki push accept the credentials');
  });
});
