// Measures, in one run against the sandbox host: a no-op redeploy's wall time and SSH round
// trips next to a bare `ssh host true`, the bytes a no-op uploads (goal 0), and the time from
// "stacks up" to green. Prints figures; asserts nothing.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const envFile = `${process.env.SANDBOX_DIR ?? '/var/tmp/monitoring-deploy-sandbox'}/sandbox.env`;
const env = Object.fromEntries(
  readFileSync(envFile, 'utf8')
    .split('\n')
    .filter((l) => l.includes('='))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);
const flags = [
  '--host',
  env.SANDBOX_HOST,
  '--port',
  env.SANDBOX_PORT,
  '--username',
  env.SANDBOX_USER,
  '--host-fingerprint',
  env.SANDBOX_FINGERPRINT,
  '--images',
  readFileSync(env.SANDBOX_IMAGES, 'utf8'),
  '--pull',
  'never',
  '--swap-size',
  '256M',
  '--grafana-dashboards',
  'none',
  '--json',
];
const key = readFileSync(env.SANDBOX_KEY, 'utf8');

function deploy() {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['dist/cli.js', 'deploy', ...flags], {
    env: { ...process.env, MONITORING_DEPLOY_SSH_KEY: key },
    encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  const json = JSON.parse(r.stdout.trim().split('\n').pop() || '{}');
  if (!json.ok) throw new Error(`deploy failed:\n${r.stderr}`);
  return { ms, ...json };
}

function sshTrue() {
  const t = process.hrtime.bigint();
  execFileSync('ssh', [
    '-i',
    env.SANDBOX_KEY,
    '-p',
    env.SANDBOX_PORT,
    '-o',
    'BatchMode=yes',
    '-o',
    `UserKnownHostsFile=${env.SANDBOX_KNOWN_HOSTS}`,
    '-o',
    'StrictHostKeyChecking=yes',
    `${env.SANDBOX_USER}@${env.SANDBOX_HOST}`,
    'true',
  ]);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;

const first = deploy();
const noops = [deploy(), deploy(), deploy()];
const ssh = Array.from({ length: 5 }, sshTrue);

console.log('monitoring-deploy bench (sandbox host on loopback)');
console.log(
  `  first deploy of this run:     ${fmt(first.ms)}, ${first.roundTrips} SSH round trips, ${first.uploadedBytes} bytes uploaded`,
);
console.log(`  first deploy, stacks up -> green: ${fmt(first.gateMs)}`);
console.log(
  `  no-op redeploy (median of 3): ${fmt(median(noops.map((n) => n.ms)))}, ${median(noops.map((n) => n.roundTrips))} SSH round trips`,
);
console.log(`  no-op redeploy, bytes uploaded: ${Math.max(...noops.map((n) => n.uploadedBytes))} (goal 0)`);
console.log(
  `  no-op redeploy, stacks up -> green: ${fmt(median(noops.map((n) => n.gateMs)))} (waits for a scrape newer than the deploy)`,
);
console.log(`  bare ssh host true (median of 5): ${fmt(median(ssh))}`);
console.log(
  `  no-op redeploy without the gate: ${fmt(median(noops.map((n) => n.ms - n.gateMs)))} = ${(median(noops.map((n) => n.ms - n.gateMs)) / median(ssh)).toFixed(1)} x a bare ssh`,
);

// Agents on two more hosts (test/sandbox/agent-up.sh): the same two agent deploys one after
// the other (parallel 1) and at once (parallel 2), after a first run that sets them up.
const agentEnv = (name) => {
  const file = `${env.SANDBOX_DIR}/agents/${name}/agent.env`;
  return Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
};
const agents = ['agent1', 'agent2'].map(agentEnv);
const central = agents[0].AGENT_CENTRAL_ADDRESS;
const nginxImage = /^nginx=(.+)$/m.exec(readFileSync(env.SANDBOX_IMAGES, 'utf8'))?.[1];
const hostLine = (a) =>
  `name=${a.AGENT_NAME} role=agent host=${a.AGENT_HOST} port=${a.AGENT_PORT} user=${a.AGENT_USER} fingerprint=${a.AGENT_FINGERPRINT}`;
const fleetFlags = (hosts, parallel) => [
  '--username',
  env.SANDBOX_USER,
  '--pull',
  'never',
  '--grafana-dashboards',
  'none',
  '--json',
  '--hosts',
  hosts.join('\n'),
  '--parallel',
  String(parallel),
  '--swap-size',
  '0',
  '--images',
  `${readFileSync(env.SANDBOX_IMAGES, 'utf8').trim()}\nreceiver=${nginxImage}`,
  '--push-password',
  'bench-push-password',
];
function fleet(hosts, parallel) {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['dist/cli.js', 'deploy', ...fleetFlags(hosts, parallel)], {
    env: { ...process.env, MONITORING_DEPLOY_SSH_KEY: key },
    encoding: 'utf8',
  });
  const json = JSON.parse(r.stdout.trim().split('\n').pop() || '{}');
  if (!json.ok) throw new Error(`fleet deploy failed:\n${r.stderr}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}
const centralLine = `name=central role=monitoring host=${env.SANDBOX_HOST} port=${env.SANDBOX_PORT} user=${env.SANDBOX_USER} fingerprint=${env.SANDBOX_FINGERPRINT} address=${central}`;
fleet([centralLine, ...agents.map(hostLine)], 3);
const oneByOne = fleet([centralLine, ...agents.map(hostLine)], 1);
const atOnce = fleet([centralLine, ...agents.map(hostLine)], 3);
console.log(`  central + two agents, one host after the other (parallel 1): ${fmt(oneByOne)}`);
console.log(`  central + two agents, all at once (parallel 3):               ${fmt(atOnce)}`);
