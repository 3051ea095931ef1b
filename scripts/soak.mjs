// The soak: the stack on the soak host (scripts/soak.sh made it: its own engine, a small disk),
// a sustained log load (the app's files, written as a Logback app with a rolling policy would)
// and nginx traffic for --minutes, sampled every --every seconds. Prints, per service, peak
// memory against its limit; per budget item, disk use over time against its budget; restarts
// and OOM kills; and how long a query over the last hour takes at the end. Asserts nothing.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync, rmSync, statSync } from 'node:fs';
import { get } from 'node:http';
import { readEnv, sandboxDir, standins as standinServices } from './sandbox-env.mjs';

const argv = process.argv.slice(2);
const flags = Object.fromEntries(argv.flatMap((a, i) => (a.startsWith('--') ? [[a.slice(2), argv[i + 1]]] : [])));
const minutes = Number(flags.minutes ?? 5);
const logKbps = Number(flags['log-kbps'] ?? 100);
const everySec = Number(flags.every ?? 20);
const logsBudget = flags['logs-disk-budget'] ?? 'auto';

const dir = sandboxDir;
const sandbox = readEnv(`${dir}/sandbox.env`);
const host = readEnv(`${dir}/agents/soak/agent.env`);
const dockerEnv = { ...process.env, DOCKER_HOST: host.AGENT_DOCKER_HOST };
const docker = (...args) => execFileSync('docker', args, { env: dockerEnv, encoding: 'utf8' }).trim();
const sh = (cmd) => execFileSync('sh', ['-c', cmd], { env: dockerEnv, encoding: 'utf8' }).trim();
const root = `${host.AGENT_HOME}/monitoring`;
const MiB = 1024 ** 2;
const mib = (b) => `${(b / MiB).toFixed(b < 10 * MiB ? 1 : 0)} MiB`;

// --- deploy ---------------------------------------------------------------------------------
const started = new Date();
process.stdout.write(`monitoring-deploy soak, ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC\n`);
const deploy = spawnSync(
  process.execPath,
  [
    'dist/cli.js',
    'deploy',
    '--json',
    '--host',
    host.AGENT_HOST,
    '--username',
    host.AGENT_USER,
    '--host-fingerprint',
    host.AGENT_FINGERPRINT,
    '--images',
    readFileSync(sandbox.SANDBOX_IMAGES, 'utf8'),
    '--pull',
    'never',
    '--swap-size',
    '0',
    '--grafana-dashboards',
    'none',
    '--logs-disk-budget',
    logsBudget,
  ],
  { env: { ...process.env, MONITORING_DEPLOY_SSH_KEY: readFileSync(sandbox.SANDBOX_KEY, 'utf8') }, encoding: 'utf8' },
);
const deployed = JSON.parse(deploy.stdout.trim().split('\n').pop() || '{}');
if (!deployed.ok) {
  process.stderr.write(deploy.stderr);
  process.exit(1);
}
const env = readEnv(`${root}/.env`);
const lokiBudget = Number(env.LOGS_DISK_BUDGET_BYTES);
const standins = standinServices();
process.stdout.write(
  `  host: its own engine on a ${sh(`df -BM --output=size ${host.AGENT_HOME} | tail -1`).trim()} disk; stand-ins: ${standins.join(', ')}; every other service is the real program\n` +
    `  load: the app's debug log at ${logKbps} KB/s (random text, rolled at 32 MiB, 3 files kept), nginx 5 requests/s, for ${minutes} min\n` +
    `  budgets: logs ${mib(lokiBudget)} (Loki accepts ${env.LOKI_INGESTION_RATE_MB} MB/s), metrics ${env.METRICS_DISK_BUDGET}\n`,
);

// --- load -------------------------------------------------------------------------------------
const loadStart = Date.now();
let fileNo = 0;
let logFile = `${root}/logs/app/debug/soak-${fileNo}.log`;
let linesWritten = 0;
let bytesWritten = 0;
const line = () =>
  `${new Date().toISOString()} DEBUG 1 --- [http-nio-8080-exec-${linesWritten % 10}] c.e.api.OrderService : handled id=${randomBytes(8).toString('hex')} ${randomBytes(60).toString('base64')}\n`;
const writer = setInterval(() => {
  let text = '';
  while (text.length < (logKbps * 1000) / 5) {
    text += line();
    linesWritten++;
  }
  appendFileSync(logFile, text);
  bytesWritten += text.length;
  if (statSync(logFile).size > 32 * MiB) {
    fileNo++;
    logFile = `${root}/logs/app/debug/soak-${fileNo}.log`;
    rmSync(`${root}/logs/app/debug/soak-${fileNo - 3}.log`, { force: true });
  }
}, 200);
let requests = 0;
let answered = 0;
const traffic = setInterval(() => {
  get({ host: host.AGENT_HOST, port: 80, path: `/soak/${requests++}` }, (r) => {
    r.resume();
    r.on('end', () => answered++);
  }).on('error', () => {});
}, 200);

// --- samples ----------------------------------------------------------------------------------
const limits = Object.fromEntries(
  docker('ps', '--format', '{{.Names}}')
    .split('\n')
    .map((n) => [n, Number(docker('inspect', '-f', '{{.HostConfig.Memory}}', n))]),
);
const peak = {};
const samples = [];
function volumes() {
  const out = {};
  let on = 0;
  for (const l of docker('system', 'df', '-v').split('\n')) {
    if (l.startsWith('Local Volumes space usage')) on = 1;
    else if (on === 1 && l.startsWith('VOLUME NAME')) on = 2;
    else if (on === 2 && !l.trim()) on = 0;
    else if (on === 2) {
      const f = l.trim().split(/\s+/);
      const m = /^([0-9.]+)([kMG]?)B$/.exec(f[f.length - 1]);
      out[f[0].replace(/^md-monitoring_/, '')] = m ? Number(m[1]) * ({ '': 1, k: 1e3, M: 1e6, G: 1e9 }[m[2]] ?? 1) : 0;
    }
  }
  return out;
}
const du = (d) => Number(sh(`du -sk ${root}/${d} 2>/dev/null | cut -f1 || echo 0`)) * 1024;
function sample() {
  for (const l of docker('stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}}').split('\n')) {
    const [name, used] = l.split(' ');
    const m = /^([0-9.]+)([KMG]i?B)/.exec(used ?? '');
    if (!m) continue;
    const bytes = Number(m[1]) * ({ KiB: 1024, MiB: MiB, GiB: 1024 * MiB, B: 1 }[m[2]] ?? 1);
    peak[name] = Math.max(peak[name] ?? 0, bytes);
  }
  const v = volumes();
  samples.push({
    at: (Date.now() - loadStart) / 60_000,
    loki: v['loki-data'] ?? 0,
    prometheus: v['prometheus-data'] ?? 0,
    nginx: du('logs/nginx'),
    app: du('logs/app'),
    grafana: du('data/grafana'),
    free: Number(sh(`df -k --output=avail ${host.AGENT_HOME} | tail -1`)) * 1024,
  });
}
sample();
const end = loadStart + minutes * 60_000;
while (Date.now() < end) {
  await new Promise((r) => setTimeout(r, Math.min(everySec * 1000, Math.max(0, end - Date.now()))));
  sample();
}
clearInterval(writer);
clearInterval(traffic);

// --- what happened ----------------------------------------------------------------------------
const since = Math.floor(started.getTime() / 1000);
const restarts = docker('ps', '-aq')
  .split('\n')
  .map((id) =>
    docker('inspect', '-f', '{{.Name}} {{.RestartCount}} {{.State.OOMKilled}} {{.State.Status}}', id).replace(
      /^\//,
      '',
    ),
  );
const ooms = docker(
  'events',
  '--since',
  String(since),
  '--until',
  String(Math.floor(Date.now() / 1000)),
  '--filter',
  'event=oom',
  '--format',
  '{{.Actor.Attributes.name}}',
)
  .split('\n')
  .filter(Boolean);
const timedQuery = (container, url) => {
  const t = process.hrtime.bigint();
  const body = docker('exec', container, 'wget', '-qO-', url);
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, bytes: body.length, ok: body.includes('"success"') };
};
const nowNs = BigInt(Date.now()) * 1_000_000n;
const logQuery = timedQuery(
  'loki',
  `http://localhost:3100/loki/api/v1/query_range?query=${encodeURIComponent('sum by (job) (count_over_time({job=~".+"}[1m]))')}&start=${nowNs - 3_600_000_000_000n}&end=${nowNs}&step=60`,
);
const metricQuery = timedQuery(
  'prometheus',
  `http://localhost:9090/api/v1/query_range?query=${encodeURIComponent('avg by (job) (rate(process_cpu_seconds_total[1m]))')}&start=${Math.floor(Date.now() / 1000) - 3600}&end=${Math.floor(Date.now() / 1000)}&step=15`,
);
const guard = docker('logs', 'disk-guard').split('\n');

// --- report -----------------------------------------------------------------------------------
const out = (l) => process.stdout.write(`${l}\n`);
const ranMin = (Date.now() - loadStart) / 60_000;
out(
  `  ran ${ranMin.toFixed(1)} min: ${linesWritten} app log lines (${mib(bytesWritten)}, ${(bytesWritten / 1000 / (ranMin * 60)).toFixed(0)} KB/s), ${answered} of ${requests} nginx requests answered`,
);
out('  memory, peak of the samples (docker stats) against the limit:');
for (const [name, bytes] of Object.entries(peak).sort()) {
  const limit = limits[name];
  out(
    `    ${name.padEnd(14)} ${mib(bytes).padStart(9)} of ${limit ? mib(limit) : 'no limit'}${limit ? ` (${Math.round((100 * bytes) / limit)}%)` : ''}${standins.includes(name === 'server' ? 'server' : name) ? ' (stand-in)' : ''}`,
  );
}
const budgets = {
  loki: lokiBudget,
  prometheus: Number.parseInt(env.METRICS_DISK_BUDGET, 10) * MiB,
  nginx: 100 * MiB,
  app: 256 * MiB,
  grafana: 256 * MiB,
};
out('  disk over time (min: use), against the budget:');
const picks = [0, 0.25, 0.5, 0.75, 1].map((f) => samples[Math.round(f * (samples.length - 1))]);
for (const key of Object.keys(budgets)) {
  const max = Math.max(...samples.map((x) => x[key]));
  out(
    `    ${key.padEnd(11)} ${picks.map((p) => `${p.at.toFixed(0)}: ${mib(p[key])}`).join(', ')}; peak ${mib(max)} of ${mib(budgets[key])}${max > budgets[key] ? '  OVER' : ''}`,
  );
}
out(`    free disk   ${picks.map((p) => `${p.at.toFixed(0)}: ${mib(p.free)}`).join(', ')}`);
const restarted = restarts.filter((r) => r.split(' ')[1] !== '0' || r.split(' ')[2] === 'true');
out(
  `  restarts and OOM kills: ${restarted.length ? restarted.join('; ') : 'no container restarted'}; ${ooms.length ? `OOM events: ${ooms.join(', ')}` : 'no OOM event'}`,
);
const lowered = guard.filter((l) => l.includes('retention lowered')).length;
const removed = guard
  .filter((l) => l.includes('removed'))
  .map((l) => Number(/removed (\d+)/.exec(l)?.[1] ?? 0))
  .reduce((a, b) => a + b, 0);
out(
  `  disk-guard: retention lowered ${lowered} time(s)${
    lowered
      ? ` (last: ${guard
          .filter((l) => l.includes('retention'))
          .pop()
          ?.replace('disk-guard: ', '')})`
      : ''
  }; ${removed} nginx segment(s) removed`,
);
out(
  `  query over the last hour at the end: Loki ${logQuery.ms.toFixed(0)} ms (${logQuery.ok ? 'ok' : 'FAILED'}), Prometheus ${metricQuery.ms.toFixed(0)} ms (${metricQuery.ok ? 'ok' : 'FAILED'})`,
);
