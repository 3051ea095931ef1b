// Green means the data flows, on the real Loki and Promtail: a broken log path fails the gate
// naming the job, the directory and the glob, and rolls back; an app writing elsewhere is
// warned about; a broken Grafana data source fails naming it; canary lines never look like app
// errors to the alert rule.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FRESH_MARGIN_SEC } from '../../src/health/app-lines';
import { deployWithAction, deployWithCli, lokiGet, sandboxInputs, sh } from '../helpers/deploy';
import { loadSandbox, type Sandbox } from '../helpers/sandbox';

let s: Sandbox;
let goodRelease = '';

function stackCopy(edit: (dir: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'md-datapath-'));
  cpSync(resolve(__dirname, '../../compose'), dir, { recursive: true });
  edit(dir);
  return dir;
}

/** The ::error:: annotation the action ends a failed job with, as a person reads it. */
function errorOf(stdout: string): string {
  const line = stdout.split('\n').find((l) => l.startsWith('::error::')) ?? '';
  return line.slice('::error::'.length).replace(/%0A/g, '\n').replace(/%25/g, '%');
}

function editFile(dir: string, path: string, from: string, to: string) {
  const f = join(dir, path);
  const text = readFileSync(f, 'utf8');
  if (!text.includes(from)) throw new Error(`${path} has no ${from}`);
  writeFileSync(f, text.replace(from, to));
}

beforeAll(async () => {
  s = loadSandbox();
  const r = await deployWithCli(sandboxInputs(s));
  expect(r.code).toBe(0);
  goodRelease = String(r.json.release);
});

describe('the data path', () => {
  it("a Promtail __path__ that misses the app's info directory: the gate names the job, the directory and the glob, then rolls back", async () => {
    const dir = stackCopy((d) =>
      editFile(
        d,
        'promtail-dev-config.yml',
        '__path__: /var/log/app/info/*.log',
        '__path__: /var/log/app/information/*.log',
      ),
    );
    const r = await deployWithAction(sandboxInputs(s, { 'stack-dir': dir, 'health-timeout': '30s' }));
    expect(r.code).toBe(1);
    // The job's error, not its progress lines (those show every job waiting at first).
    const message = errorOf(r.stdout);
    expect(message).toContain(
      `logs info_logs: Promtail watches /var/log/app/information/*.log, which is ${s.home}/monitoring/logs/app/information on the host, and that directory does not exist: nothing writes there (next to it: debug error info`,
    );
    // The other jobs' lines did arrive: the failure is this job's alone.
    expect(message).not.toMatch(/logs (debug|warn|error)_logs:/);
    expect(r.summary).toMatch(/\| log job info_logs \| 🔴 \|/);
    expect(r.summary).toMatch(/\| log job debug_logs \| 🟢 \| canary arrived in/);
    expect(message).toContain(`Rolled back to release ${goodRelease}, which is healthy again`);
    expect(sh(`cat ${s.home}/monitoring/.release`)).toBe(goodRelease);
    expect(sh(`grep -c information ${s.home}/monitoring/promtail-dev-config.yml || true`)).toBe('0');
  });

  it("a job's glob the app's file names do not match (*.json while the app writes info.log): the canary arrives, the gate fails naming job, glob and file", async () => {
    const dir = stackCopy((d) =>
      editFile(d, 'promtail-dev-config.yml', '__path__: /var/log/app/info/*.log', '__path__: /var/log/app/info/*.json'),
    );
    const r = await deployWithAction(sandboxInputs(s, { 'stack-dir': dir, 'health-timeout': '30s' }));
    expect(r.code).toBe(1);
    const message = errorOf(r.stdout);
    // The canary file is named to match the glob, so it arrives: only the app's own file tells.
    expect(r.summary).toMatch(
      /\| log job info_logs \| 🟢 \| canary arrived in [\d.]+m?s; the app has written nothing \/var\/log\/app\/info\/\*\.json matches yet \|/,
    );
    expect(message).toMatch(
      new RegExp(
        `unread logs: ${s.home}/monitoring/logs/app/info/ has info\\.log \\(written in the last 10 min\\), which job info_logs \\(glob /var/log/app/info/\\*\\.json, promtail-dev-config\\.yml:\\d+\\) does not match: Promtail never reads it`,
      ),
    );
    expect(message).toContain(`Rolled back to release ${goodRelease}, which is healthy again`);
  });

  it('an app logging as Spring Boot does by default (one spring.log): named, with the layout the jobs expect and the job to add', async () => {
    const dir = stackCopy((d) =>
      editFile(
        d,
        'docker-compose-dev.yml',
        '- SPRING_PROFILES_ACTIVE=dev',
        '- SPRING_PROFILES_ACTIVE=dev\n      - LOGGING_FILE_PATH=/app/logs',
      ),
    );
    const r = await deployWithAction(sandboxInputs(s, { 'stack-dir': dir, 'health-timeout': '30s' }));
    expect(r.code).toBe(1);
    const message = errorOf(r.stdout);
    expect(message).toMatch(
      new RegExp(
        `unread logs: ${s.home}/monitoring/logs/app/ has spring\\.log \\(written in the last 10 min\\), which no log job reads`,
      ),
    );
    expect(message).toContain('one file per level under debug/, info/, warn/ and error/ of the log directory');
    expect(message).toContain('add a job reading /var/log/app/spring.log to promtail-dev-config.yml');
    expect(message).toContain(`Rolled back to release ${goodRelease}, which is healthy again`);
    // Rolled back, the app writes its Logback files again; spring.log stays, no longer written.
    sh(`rm -f ${s.home}/monitoring/logs/app/spring.log`);
  });

  it('a no-op redeploy while the log agent cannot reach Loki (its packets to Loki dropped, every service still ready) is not green', async () => {
    const current = await deployWithAction(sandboxInputs(s));
    expect(current.code, current.stdout.slice(-4000)).toBe(0);
    const pid = sh("docker inspect -f '{{.State.Pid}}' promtail");
    const rule = 'OUTPUT -p tcp --dport 3100 -j DROP';
    const canaryFiles = () => sh(`find ${s.home}/monitoring/logs -name '*monitoring-deploy-canary*' | sort`);
    const canariesBefore = canaryFiles();
    sh(`nsenter -t ${pid} -n iptables -I ${rule}`);
    try {
      // Older than the margin, the break shows without writing a line.
      await new Promise((r) => setTimeout(r, (FRESH_MARGIN_SEC + 6) * 1000));
      const r = await deployWithAction(sandboxInputs(s, { 'health-timeout': '20s' }));
      expect(r.code, r.stdout.slice(-4000)).toBe(1);
      expect(r.stdout).toMatch(/Health gate/);
      const message = errorOf(r.stdout);
      expect(message).toMatch(
        new RegExp(
          `logs info_logs: ${s.home}/monitoring/logs/app/info/info\\.log is being written, but Loki has no line under \\{job="info_logs", host="[^"]+"\\} from ${FRESH_MARGIN_SEC}s before its newest: Promtail has stopped shipping it`,
        ),
      );
      expect(message).toContain('Not rolled back: this deploy changed no files');
      // Nothing was written to prove it: the canary files are those of the deploy before.
      expect(canaryFiles()).toBe(canariesBefore);
    } finally {
      sh(`nsenter -t ${pid} -n iptables -D ${rule}`);
    }
    // The path back, the same no-op is green and says what it saw.
    const back = await deployWithAction(sandboxInputs(s));
    expect(back.code).toBe(0);
    expect(back.summary).toMatch(/\| log job info_logs \| 🟢 \| Loki keeps up with info\.log \(written \d+s ago\)/);
  });

  it('app-logs-dir where the app does not write: a warning names app-logs-dir and the WORKDIR', async () => {
    const r = await deployWithAction(sandboxInputs(s, { 'app-logs-dir': '/var/app/logs' }));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `::warning::The app has written nothing to ${s.home}/monitoring/logs/app since it started \\d+s ago: .*app-logs-dir is /var/app/logs .*under the image's WORKDIR /app \\(e\\.g\\. /app/logs\\)`,
      ),
    );
    expect(r.summary).toContain('### Warnings');
    // Back to where the app writes: no warning.
    const back = await deployWithAction(sandboxInputs(s));
    expect(back.code).toBe(0);
    expect(back.stdout).not.toContain('The app has written nothing');
  });

  it('a Grafana data source whose URL goes nowhere: the gate fails naming the data source and what Grafana said', async () => {
    const dir = stackCopy((d) =>
      editFile(
        d,
        'grafana/provisioning/datasources/datasources.yaml',
        'url: http://loki:3100',
        'url: http://loki-gone:3100',
      ),
    );
    const r = await deployWithAction(sandboxInputs(s, { 'stack-dir': dir, 'health-timeout': '30s' }));
    expect(r.code).toBe(1);
    const message = errorOf(r.stdout);
    expect(message).toMatch(
      /grafana data source Loki: Grafana cannot use data source Loki \(uid loki, http:\/\/loki-gone:3100\): 400 .*loki-gone/,
    );
    expect(r.summary).toMatch(/\| Grafana data source Prometheus \| 🟢 \| healthy \|/);
    expect(message).toContain(`Rolled back to release ${goodRelease}, which is healthy again`);
  });

  it('a changed grafana-admin-password is applied to the running Grafana; the old one stops working', async () => {
    const grafana = sh("docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' grafana").split(
      ' ',
    )[0];
    const status = async (password: string) =>
      (
        await fetch(`http://${grafana}:3000/api/datasources/uid/loki/health`, {
          headers: { Authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` },
        })
      ).status;
    const first = await deployWithAction(sandboxInputs(s, { 'grafana-admin-password': 'First-Password-1a2b' }));
    expect(first.code, first.stdout.slice(-4000)).toBe(0);
    expect(await status('First-Password-1a2b')).toBe(200);
    const second = await deployWithAction(sandboxInputs(s, { 'grafana-admin-password': 'Second-Password-3c4d' }));
    expect(second.code).toBe(0);
    expect(second.summary).toMatch(/\| Grafana admin password \| 🟡 changed \|/);
    expect(await status('Second-Password-3c4d')).toBe(200);
    expect(await status('First-Password-1a2b')).toBe(401);
    // Without the input, the last password stays (its file is kept), and the gate still gets in.
    const without = await deployWithAction(sandboxInputs(s));
    expect(without.code).toBe(0);
    expect(sh(`cat ${s.home}/monitoring/secrets/grafana_admin_password`)).toBe('Second-Password-3c4d');
  });

  it("the error-log alert's query counts no canary line, and does count a real error line", async () => {
    // The rule's query as deployed, run by the real Loki at the time of a canary-only error file.
    const rules = parse(readFileSync(`${s.home}/monitoring/grafana/provisioning/alerting/rules.yaml`, 'utf8')) as {
      groups: { rules: { uid: string; data: { model: { expr?: string } }[] }[] }[];
    };
    const expr = rules.groups[0]?.rules.find((x) => x.uid === 'md-error-logs')?.data[0]?.model.expr ?? '';
    expect(expr).toContain('!= "monitoring-deploy-canary"');
    const instant = (q: string) =>
      (JSON.parse(lokiGet(`/loki/api/v1/query?query=${encodeURIComponent(q)}`)) as { data: { result: unknown[] } }).data
        .result;
    // The deploys above wrote canary lines into the error log directory, and Loki holds them.
    const unfiltered = expr.replace(' != "monitoring-deploy-canary"', '');
    await expect.poll(() => instant(unfiltered).length, { timeout: 30_000, interval: 1_000 }).toBeGreaterThan(0);
    expect(instant(expr)).toEqual([]);
    // A real error line from the app does count.
    sh('docker exec server touch /tmp/log-error');
    try {
      await expect.poll(() => instant(expr).length, { timeout: 30_000, interval: 1_000 }).toBeGreaterThan(0);
    } finally {
      sh('docker exec server rm -f /tmp/log-error');
    }
  });
});
