// Measures, in one run against the sandbox host, and prints figures (asserts nothing):
// the CLI's start-up, a first deploy (stacks up -> green next to Loki's own readiness), each
// container's memory after 60 s green, a no-op redeploy and a healthy `check` next to a bare
// `ssh host true`, the central host plus two agents one by one against all at once, and an
// agent's first deploy against a real VictoriaMetrics (stacks up -> its data queryable there).
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readEnv, sandboxDir, standins as standinServices } from './sandbox-env.mjs';

const dir = sandboxDir;
const env = readEnv(`${dir}/sandbox.env`);
const images = readFileSync(env.SANDBOX_IMAGES, 'utf8');
const key = readFileSync(env.SANDBOX_KEY, 'utf8');
const standins = standinServices();
const connection = [
  '--host',
  env.SANDBOX_HOST,
  '--port',
  env.SANDBOX_PORT,
  '--username',
  env.SANDBOX_USER,
  '--host-fingerprint',
  env.SANDBOX_FINGERPRINT,
];
const deployFlags = [...connection, '--images', images, '--pull', 'never', '--swap-size', '256M'];
const dashboards = ['--grafana-dashboards', 'none'];

const sh = (cmd) => execFileSync('sh', ['-c', cmd], { encoding: 'utf8' }).trim();
const ms = (t) => Number(process.hrtime.bigint() - t) / 1e6;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const s = (x) => `${(x / 1000).toFixed(2)} s`;

/** The built CLI with --json; its parsed answer and wall time. */
function cli(args) {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['dist/cli.js', ...args, '--json'], {
    env: { ...process.env, MONITORING_DEPLOY_SSH_KEY: key },
    encoding: 'utf8',
  });
  const wall = ms(t);
  const json = JSON.parse(r.stdout.trim().split('\n').pop() || '{}');
  if (!json.ok) throw new Error(`${args[0]} failed:\n${r.stderr}`);
  return { wall, ...json };
}

function timed(command, args) {
  const t = process.hrtime.bigint();
  execFileSync(command, args, { stdio: 'ignore' });
  return ms(t);
}

const sshTrue = () =>
  timed('ssh', [
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

const out = (line = '') => console.log(line);
out(
  `monitoring-deploy bench, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC (sandbox host on loopback)`,
);
out(`  stand-ins: ${standins.join(', ') || 'none'}; every other service is the real program`);

// --- start-up ---------------------------------------------------------------------------------
const nodeBare = median(Array.from({ length: 5 }, () => timed(process.execPath, ['-e', '0'])));
const version = median(Array.from({ length: 5 }, () => timed(process.execPath, ['dist/cli.js', '--version'])));
out(`  start-up: node dist/cli.js --version ${s(version)} (node -e 0: ${s(nodeBare)})`);

// --- first deploy, from nothing ------------------------------------------------------------------
sh(
  'for p in md-app md-monitoring md-agent; do docker ps -aq --filter label=com.docker.compose.project=$p | xargs -r docker rm -f >/dev/null; done',
);
sh(
  'docker volume ls -q --filter label=com.docker.compose.project=md-monitoring | xargs -r docker volume rm >/dev/null',
);
sh(`rm -rf ${env.SANDBOX_HOME}/monitoring`);
const first = cli(['deploy', ...deployFlags, ...dashboards]);
const gateStep = first.steps.find((x) => x.name === 'Health gate');
// Loki's own readiness, the slowest service's: restart it and time /ready.
sh('docker restart loki >/dev/null');
const lokiT = process.hrtime.bigint();
while (sh('docker exec loki wget -qO- http://localhost:3100/ready 2>/dev/null || true') !== 'ready')
  execFileSync('sleep', ['0.2']);
const lokiReady = ms(lokiT);
out(
  `  first deploy: ${s(first.wall)}, ${first.roundTrips} SSH round trips; stacks up -> green ${s(gateStep.durationMs)} (Loki's own readiness after a restart: ${s(lokiReady)})`,
);

// --- memory after 60 s green --------------------------------------------------------------------
cli(['check', ...connection, '--health-timeout', '90s']);
execFileSync('sleep', ['60']);
const limits = Object.fromEntries(
  sh("docker inspect -f '{{.Name}} {{.HostConfig.Memory}}' $(docker ps -q --filter label=com.docker.compose.project)")
    .split('\n')
    .map((l) => l.replace(/^\//, '').split(' ')),
);
const usage = sh("docker stats --no-stream --format '{{.Name}} {{.MemUsage}}'")
  .split('\n')
  .map((l) => {
    const [name, used] = l.split(/\s+/);
    const unit = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };
    const m = /^([\d.]+)(B|KiB|MiB|GiB)$/.exec(used);
    return { name, bytes: m ? Number(m[1]) * unit[m[2]] : 0 };
  })
  .filter((u) => u.name in limits);
const mib = (b) => `${(b / 1024 ** 2).toFixed(0)} MiB`;
out('  memory after 60 s green (docker stats --no-stream):');
for (const u of usage.sort((a, b) => b.bytes - a.bytes)) {
  const limit = Number(limits[u.name]);
  const kind = standins.includes(u.name) || (u.name === 'server' && standins.includes('server')) ? 'stand-in' : 'real';
  out(`    ${u.name.padEnd(14)} ${mib(u.bytes).padStart(8)} of ${limit ? mib(limit) : 'no limit'} (${kind})`);
}
const withoutApp = usage.filter((u) => u.name !== 'server').reduce((n, u) => n + u.bytes, 0);
out(`    total without the app: ${mib(withoutApp)}`);

// --- no-op redeploy and check next to a bare ssh ----------------------------------------------
const noops = [1, 2, 3].map(() => cli(['deploy', ...deployFlags, ...dashboards]));
const checks = [1, 2, 3].map(() => cli(['check', ...connection]));
const ssh = median(Array.from({ length: 5 }, sshTrue));
const noop = median(noops.map((n) => n.wall));
const check = median(checks.map((c) => c.wall));
out(`  bare ssh host true (median of 5): ${s(ssh)}`);
out(
  `  no-op redeploy (median of 3): ${s(noop)} = ${(noop / ssh).toFixed(1)} x ssh; ${median(noops.map((n) => n.roundTrips))} SSH round trips; ${Math.max(...noops.map((n) => n.uploadedBytes))} bytes uploaded; ${Math.max(...noops.map((n) => n.restarted.length))} containers restarted`,
);
out(
  `  check of a healthy host (median of 3): ${s(check)} = ${(check / ssh).toFixed(1)} x ssh; ${median(checks.map((c) => c.roundTrips))} SSH round trips (with its canary lines)`,
);

// --- the central host and two agents --------------------------------------------------------
const agents = ['agent1', 'agent2'].map((n) => readEnv(`${dir}/agents/${n}/agent.env`));
const nginx = /^nginx=(.+)$/m.exec(images)?.[1];
const hostLine = (a) =>
  `name=${a.AGENT_NAME} role=agent host=${a.AGENT_HOST} port=${a.AGENT_PORT} user=${a.AGENT_USER} fingerprint=${a.AGENT_FINGERPRINT}`;
const centralLine = `name=central role=monitoring host=${env.SANDBOX_HOST} port=${env.SANDBOX_PORT} user=${env.SANDBOX_USER} fingerprint=${env.SANDBOX_FINGERPRINT} address=${agents[0].AGENT_CENTRAL_ADDRESS}`;
const fleet = (parallel) =>
  cli([
    'deploy',
    '--username',
    env.SANDBOX_USER,
    '--pull',
    'never',
    ...dashboards,
    '--hosts',
    [centralLine, ...agents.map(hostLine)].join('\n'),
    '--parallel',
    String(parallel),
    '--swap-size',
    '0',
    '--images',
    `${images.trim()}\nreceiver=${nginx}`,
    '--push-password',
    'bench-push-password',
  ]).wall;
fleet(3);
const oneByOne = fleet(1);
const atOnce = fleet(3);
out(`  central + two agents (no-op), one after the other: ${s(oneByOne)}; all at once: ${s(atOnce)}`);

// --- an agent's first deploy against VictoriaMetrics ---------------------------------------------
// VictoriaMetrics with its default flags (30 s latency offset) on the main host's engine, reached
// by agent1 at its central address; the agent's logs still go to the central receiver.
const vmImage = /^victoria-metrics=(.+)$/m.exec(readFileSync(`${dir}/extra-images.txt`, 'utf8'))?.[1];
if (!vmImage) {
  out('  an agent against VictoriaMetrics: skipped (no victoria-metrics= line in extra-images.txt)');
} else {
  const a = agents[0];
  const vmPort = 18429;
  sh('docker rm -f md-bench-vm >/dev/null 2>&1 || true');
  sh(`docker run -d --name md-bench-vm -p ${vmPort}:8428 ${vmImage} >/dev/null`);
  try {
    while (sh(`curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:${vmPort}/health || true`) !== '200')
      execFileSync('sleep', ['0.2']);
    // A first deploy: nothing of ours on the agent host (containers, volumes, files, the WAL).
    const onAgent = `DOCKER_HOST=${a.AGENT_DOCKER_HOST} docker`;
    sh(
      `for p in md-app md-agent; do ${onAgent} ps -aq --filter label=com.docker.compose.project=$p | xargs -r env ${onAgent} rm -f >/dev/null; ${onAgent} volume ls -q --filter label=com.docker.compose.project=$p | xargs -r env ${onAgent} volume rm >/dev/null; done`,
    );
    sh(`rm -rf ${a.AGENT_HOME}/monitoring`);
    const at = `http://${a.AGENT_CENTRAL_ADDRESS}`;
    const first = cli([
      'deploy',
      '--host',
      a.AGENT_HOST,
      '--port',
      a.AGENT_PORT,
      '--username',
      a.AGENT_USER,
      '--host-fingerprint',
      a.AGENT_FINGERPRINT,
      '--host-name',
      a.AGENT_NAME,
      '--role',
      'agent',
      '--images',
      images,
      '--pull',
      'never',
      '--swap-size',
      '0',
      '--remote-write-url',
      `${at}:${vmPort}/api/v1/write`,
      '--loki-push-url',
      `${at}:9095/loki/api/v1/push`,
      '--push-password',
      'bench-push-password',
      // VictoriaMetrics on the sandbox's private address, in plain HTTP on purpose.
      '--receiver-tls',
      'false',
      '--metrics-query-url',
      `${at}:${vmPort}/api/v1/query`,
    ]);
    const gate = first.steps.find((x) => x.name === 'Health gate');
    const arrived = /\(arrived in ([^)]+)\)/.exec(
      first.gate.checks.find((c) => c.name === 'metrics arrival')?.detail ?? '',
    );
    out(
      `  an agent's first deploy against VictoriaMetrics (default flags): stacks up -> data queryable ${s(gate.durationMs)} (its up series found ${arrived?.[1] ?? '?'} into the gate); whole deploy ${s(first.wall)}`,
    );
  } finally {
    sh('docker rm -f md-bench-vm >/dev/null 2>&1 || true');
  }
}
